-- 0001 initial: settings, users, backup codes, verification sessions, out-of-band codes,
-- remembered devices, sign-in history, audit trail.
-- Keep in step with ../postgres/0001_initial.sql (same tables, columns and meaning).

-- The settings document (JSON) with its optimistic-concurrency version. One row.
CREATE TABLE settings (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    version  INTEGER NOT NULL CHECK (version > 0),
    document TEXT    NOT NULL
);

CREATE TABLE users (
    name                 TEXT    PRIMARY KEY,
    status               TEXT    NOT NULL DEFAULT 'not_enrolled'
                                 CHECK (status IN ('not_enrolled', 'pending', 'enrolled')),
    -- key id prefix + XChaCha20-Poly1305 ciphertext; never plaintext
    totp_secret          BLOB,
    -- TOTP high-water mark: this step and every earlier one are refused
    totp_last_step       INTEGER,
    secret_issued_at     INTEGER,
    default_method       TEXT,
    phone                TEXT,
    email                TEXT,
    consecutive_failures INTEGER NOT NULL DEFAULT 0 CHECK (consecutive_failures >= 0),
    password_hash        TEXT,
    created_at           INTEGER NOT NULL,
    enrolled_at          INTEGER,
    CHECK (status = 'not_enrolled' OR totp_secret IS NOT NULL)
);
CREATE INDEX users_status ON users (status, name);

-- Hashes only; a row is spent once used_at is set.
CREATE TABLE backup_codes (
    user_name  TEXT    NOT NULL REFERENCES users (name) ON DELETE CASCADE,
    hash       BLOB    NOT NULL CHECK (length(hash) = 32),
    created_at INTEGER NOT NULL,
    used_at    INTEGER,
    PRIMARY KEY (user_name, hash)
);

CREATE TABLE verification_sessions (
    id               TEXT    PRIMARY KEY,
    user_name        TEXT    NOT NULL,
    service          TEXT    NOT NULL,
    rhost            TEXT,
    method           TEXT    NOT NULL,
    invalid_attempts INTEGER NOT NULL DEFAULT 0,
    resends          INTEGER NOT NULL DEFAULT 0,
    created_at       INTEGER NOT NULL,
    expires_at       INTEGER NOT NULL,
    ended            TEXT CHECK (ended IN ('success', 'locked', 'abandoned'))
);
CREATE INDEX verification_sessions_user ON verification_sessions (user_name, created_at);

-- At most one code per session (a new one replaces the old); hashed; single use.
CREATE TABLE oob_codes (
    session    TEXT    PRIMARY KEY REFERENCES verification_sessions (id) ON DELETE CASCADE,
    hash       BLOB    NOT NULL CHECK (length(hash) = 32),
    expires_at INTEGER NOT NULL,
    used_at    INTEGER
);

-- Remembered-device tokens, hashed, with expiry.
CREATE TABLE devices (
    user_name  TEXT    NOT NULL REFERENCES users (name) ON DELETE CASCADE,
    token_hash BLOB    NOT NULL CHECK (length(token_hash) = 32),
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (user_name, token_hash)
);

CREATE TABLE signins (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    user_name TEXT    NOT NULL,
    service   TEXT    NOT NULL,
    rhost     TEXT,
    outcome   TEXT    NOT NULL,
    reason    TEXT    NOT NULL,
    at        INTEGER NOT NULL
);
CREATE INDEX signins_user_at ON signins (user_name, at);
CREATE INDEX signins_user_outcome_rhost ON signins (user_name, outcome, rhost, at);

-- Append-only: updates and deletes are refused by triggers.
CREATE TABLE audit (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    at        INTEGER NOT NULL,
    actor     TEXT    NOT NULL,
    event     TEXT    NOT NULL,
    user_name TEXT,
    outcome   TEXT    NOT NULL,
    detail    TEXT    NOT NULL
);
CREATE INDEX audit_at ON audit (at);
CREATE INDEX audit_user_at ON audit (user_name, at);

CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN
    SELECT RAISE(ABORT, 'the audit trail is append-only');
END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN
    SELECT RAISE(ABORT, 'the audit trail is append-only');
END;
