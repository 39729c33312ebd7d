-- 0001 initial: settings, users, backup codes, verification sessions, out-of-band codes,
-- remembered devices, sign-in history, audit trail.
-- Keep in step with ../sqlite/0001_initial.sql (same tables, columns and meaning).
-- Objects are created in the first schema of the connection's search_path.

-- The settings document (JSON) with its optimistic-concurrency version. One row.
CREATE TABLE settings (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    version  BIGINT  NOT NULL CHECK (version > 0),
    document TEXT    NOT NULL
);

CREATE TABLE users (
    name                 TEXT    PRIMARY KEY,
    status               TEXT    NOT NULL DEFAULT 'not_enrolled'
                                 CHECK (status IN ('not_enrolled', 'pending', 'enrolled')),
    -- key id prefix + XChaCha20-Poly1305 ciphertext; never plaintext
    totp_secret          BYTEA,
    -- TOTP high-water mark: this step and every earlier one are refused
    totp_last_step       BIGINT,
    secret_issued_at     BIGINT,
    default_method       TEXT,
    phone                TEXT,
    email                TEXT,
    consecutive_failures BIGINT  NOT NULL DEFAULT 0 CHECK (consecutive_failures >= 0),
    password_hash        TEXT,
    created_at           BIGINT  NOT NULL,
    enrolled_at          BIGINT,
    CHECK (status = 'not_enrolled' OR totp_secret IS NOT NULL)
);
CREATE INDEX users_status ON users (status, name);

-- Hashes only; a row is spent once used_at is set.
CREATE TABLE backup_codes (
    user_name  TEXT   NOT NULL REFERENCES users (name) ON DELETE CASCADE,
    hash       BYTEA  NOT NULL CHECK (length(hash) = 32),
    created_at BIGINT NOT NULL,
    used_at    BIGINT,
    PRIMARY KEY (user_name, hash)
);

CREATE TABLE verification_sessions (
    id               TEXT   PRIMARY KEY,
    user_name        TEXT   NOT NULL,
    service          TEXT   NOT NULL,
    rhost            TEXT,
    method           TEXT   NOT NULL,
    invalid_attempts BIGINT NOT NULL DEFAULT 0,
    resends          BIGINT NOT NULL DEFAULT 0,
    created_at       BIGINT NOT NULL,
    expires_at       BIGINT NOT NULL,
    ended            TEXT CHECK (ended IN ('success', 'locked', 'abandoned'))
);
CREATE INDEX verification_sessions_user ON verification_sessions (user_name, created_at);

-- At most one code per session (a new one replaces the old); hashed; single use.
CREATE TABLE oob_codes (
    session    TEXT   PRIMARY KEY REFERENCES verification_sessions (id) ON DELETE CASCADE,
    hash       BYTEA  NOT NULL CHECK (length(hash) = 32),
    expires_at BIGINT NOT NULL,
    used_at    BIGINT
);

-- Remembered-device tokens, hashed, with expiry.
CREATE TABLE devices (
    user_name  TEXT   NOT NULL REFERENCES users (name) ON DELETE CASCADE,
    token_hash BYTEA  NOT NULL CHECK (length(token_hash) = 32),
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (user_name, token_hash)
);

CREATE TABLE signins (
    id        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_name TEXT   NOT NULL,
    service   TEXT   NOT NULL,
    rhost     TEXT,
    outcome   TEXT   NOT NULL,
    reason    TEXT   NOT NULL,
    at        BIGINT NOT NULL
);
CREATE INDEX signins_user_at ON signins (user_name, at);
CREATE INDEX signins_user_outcome_rhost ON signins (user_name, outcome, rhost, at);

-- Append-only: updates and deletes are refused by a trigger.
CREATE TABLE audit (
    id        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at        BIGINT NOT NULL,
    actor     TEXT   NOT NULL,
    event     TEXT   NOT NULL,
    user_name TEXT,
    outcome   TEXT   NOT NULL,
    detail    TEXT   NOT NULL
);
CREATE INDEX audit_at ON audit (at);
CREATE INDEX audit_user_at ON audit (user_name, at);

CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit trail is append-only';
END
$$;
CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON audit
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();
