-- 0002 delivery: SMS and email integrations with encrypted credentials and health, the outbox of
-- messages (leased by the delivery worker), and every send attempt.
-- Keep in step with ../sqlite/0002_delivery.sql (same tables, columns and meaning).
-- Objects are created in the first schema of the connection's search_path.

CREATE TABLE integrations (
    name                 TEXT    PRIMARY KEY,
    kind                 TEXT    NOT NULL CHECK (kind IN ('twilio', 'webhook', 'smtp')),
    -- non-secret settings (JSON object): base URL, sender number, host, port, ...
    config               TEXT    NOT NULL,
    -- key id prefix + XChaCha20-Poly1305 ciphertext of the secrets (JSON); never plaintext
    credentials          BYTEA,
    created_at           BIGINT  NOT NULL,
    updated_at           BIGINT  NOT NULL,
    health               TEXT    NOT NULL DEFAULT 'unknown'
                                 CHECK (health IN ('unknown', 'healthy', 'throttled', 'unhealthy')),
    health_reason        TEXT,
    health_updated_at    BIGINT,
    last_success_at      BIGINT,
    last_failure_at      BIGINT,
    consecutive_failures BIGINT  NOT NULL DEFAULT 0 CHECK (consecutive_failures >= 0),
    throttled_until      BIGINT
);

-- One row per message. The body (which holds the code) is encrypted and set to NULL once the
-- row is final (sent, failed, expired); the row stays as the delivery log.
CREATE TABLE outbox (
    id              BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_name       TEXT    NOT NULL,
    channel         TEXT    NOT NULL CHECK (channel IN ('sms', 'email')),
    integration     TEXT    NOT NULL,
    purpose         TEXT    NOT NULL CHECK (purpose IN ('code', 'test', 'notice')),
    destination     TEXT    NOT NULL,
    body            BYTEA,
    state           TEXT    NOT NULL DEFAULT 'queued'
                            CHECK (state IN ('queued', 'sending', 'sent', 'failed', 'expired')),
    queued_at       BIGINT  NOT NULL,
    expires_at      BIGINT  NOT NULL,
    next_attempt_at BIGINT  NOT NULL,
    attempts        BIGINT  NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    lease_owner     TEXT,
    lease_until     BIGINT,
    throttled       BOOLEAN NOT NULL DEFAULT FALSE,
    last_error      TEXT,
    provider_id     TEXT,
    finished_at     BIGINT,
    CHECK (state IN ('queued', 'sending') OR body IS NULL)
);
CREATE INDEX outbox_due ON outbox (state, next_attempt_at);
CREATE INDEX outbox_queued_at ON outbox (queued_at);
CREATE INDEX outbox_user ON outbox (user_name, queued_at);
CREATE INDEX outbox_integration ON outbox (integration, queued_at);

-- Every attempt, in order; never the body.
CREATE TABLE delivery_attempts (
    outbox_id   BIGINT  NOT NULL REFERENCES outbox (id) ON DELETE CASCADE,
    attempt     BIGINT  NOT NULL CHECK (attempt > 0),
    started_at  BIGINT  NOT NULL,
    finished_at BIGINT  NOT NULL,
    outcome     TEXT    NOT NULL CHECK (outcome IN ('sent', 'transient', 'throttled', 'permanent')),
    status      TEXT,
    error       TEXT,
    provider_id TEXT,
    PRIMARY KEY (outbox_id, attempt)
);
