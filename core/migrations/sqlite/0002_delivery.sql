-- 0002 delivery: SMS and email integrations with encrypted credentials and health, the outbox of
-- messages (leased by the delivery worker), and every send attempt.
-- Keep in step with ../postgres/0002_delivery.sql (same tables, columns and meaning).

CREATE TABLE integrations (
    name                 TEXT    PRIMARY KEY,
    kind                 TEXT    NOT NULL CHECK (kind IN ('twilio', 'webhook', 'smtp')),
    -- non-secret settings (JSON object): base URL, sender number, host, port, ...
    config               TEXT    NOT NULL,
    -- key id prefix + XChaCha20-Poly1305 ciphertext of the secrets (JSON); never plaintext
    credentials          BLOB,
    created_at           INTEGER NOT NULL,
    updated_at           INTEGER NOT NULL,
    health               TEXT    NOT NULL DEFAULT 'unknown'
                                 CHECK (health IN ('unknown', 'healthy', 'throttled', 'unhealthy')),
    health_reason        TEXT,
    health_updated_at    INTEGER,
    last_success_at      INTEGER,
    last_failure_at      INTEGER,
    consecutive_failures INTEGER NOT NULL DEFAULT 0 CHECK (consecutive_failures >= 0),
    throttled_until      INTEGER
);

-- One row per message. The body (which holds the code) is encrypted and set to NULL once the
-- row is final (sent, failed, expired); the row stays as the delivery log.
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    user_name       TEXT    NOT NULL,
    channel         TEXT    NOT NULL CHECK (channel IN ('sms', 'email')),
    integration     TEXT    NOT NULL,
    purpose         TEXT    NOT NULL CHECK (purpose IN ('code', 'test', 'notice')),
    destination     TEXT    NOT NULL,
    body            BLOB,
    state           TEXT    NOT NULL DEFAULT 'queued'
                            CHECK (state IN ('queued', 'sending', 'sent', 'failed', 'expired')),
    queued_at       INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    lease_owner     TEXT,
    lease_until     INTEGER,
    throttled       INTEGER NOT NULL DEFAULT 0 CHECK (throttled IN (0, 1)),
    last_error      TEXT,
    provider_id     TEXT,
    finished_at     INTEGER,
    CHECK (state IN ('queued', 'sending') OR body IS NULL)
);
CREATE INDEX outbox_due ON outbox (state, next_attempt_at);
CREATE INDEX outbox_queued_at ON outbox (queued_at);
CREATE INDEX outbox_user ON outbox (user_name, queued_at);
CREATE INDEX outbox_integration ON outbox (integration, queued_at);

-- Every attempt, in order; never the body.
CREATE TABLE delivery_attempts (
    outbox_id   INTEGER NOT NULL REFERENCES outbox (id) ON DELETE CASCADE,
    attempt     INTEGER NOT NULL CHECK (attempt > 0),
    started_at  INTEGER NOT NULL,
    finished_at INTEGER NOT NULL,
    outcome     TEXT    NOT NULL CHECK (outcome IN ('sent', 'transient', 'throttled', 'permanent')),
    status      TEXT,
    error       TEXT,
    provider_id TEXT,
    PRIMARY KEY (outbox_id, attempt)
);
