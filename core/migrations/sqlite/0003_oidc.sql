-- 0003 OpenID Connect provider: clients, authorization codes, access and refresh tokens,
-- web sign-in sessions, ID-token signing keys.
-- Keep in step with ../postgres/0003_oidc.sql (same tables, columns and meaning).
-- Bearer values (codes, tokens, session cookies) are stored only as 32-byte HMACs.

CREATE TABLE oidc_clients (
    client_id                 TEXT    PRIMARY KEY,
    name                      TEXT    NOT NULL,
    -- argon2id PHC string; NULL for a public client (PKCE required)
    secret_hash               TEXT,
    -- JSON arrays of strings, compared by exact match
    redirect_uris             TEXT    NOT NULL,
    post_logout_redirect_uris TEXT    NOT NULL DEFAULT '[]',
    created_at                INTEGER NOT NULL
);

-- A grant is one authorization; codes and tokens carry its id so that it can be revoked whole.
CREATE TABLE oidc_codes (
    hash           BLOB    PRIMARY KEY CHECK (length(hash) = 32),
    grant_id       TEXT    NOT NULL,
    client_id      TEXT    NOT NULL,
    redirect_uri   TEXT    NOT NULL,
    scope          TEXT    NOT NULL,
    nonce          TEXT,
    code_challenge TEXT,
    user_name      TEXT    NOT NULL,
    auth_time      INTEGER NOT NULL,
    amr            TEXT    NOT NULL,
    acr            TEXT    NOT NULL,
    created_at     INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL,
    -- set once, by the one redemption that wins
    used_at        INTEGER
);
CREATE INDEX oidc_codes_expiry ON oidc_codes (expires_at);

CREATE TABLE oidc_access_tokens (
    hash       BLOB    PRIMARY KEY CHECK (length(hash) = 32),
    grant_id   TEXT    NOT NULL,
    client_id  TEXT    NOT NULL,
    scope      TEXT    NOT NULL,
    user_name  TEXT    NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX oidc_access_tokens_grant ON oidc_access_tokens (grant_id);
CREATE INDEX oidc_access_tokens_user ON oidc_access_tokens (user_name);
CREATE INDEX oidc_access_tokens_expiry ON oidc_access_tokens (expires_at);

CREATE TABLE oidc_refresh_tokens (
    hash       BLOB    PRIMARY KEY CHECK (length(hash) = 32),
    grant_id   TEXT    NOT NULL,
    client_id  TEXT    NOT NULL,
    scope      TEXT    NOT NULL,
    user_name  TEXT    NOT NULL,
    auth_time  INTEGER NOT NULL,
    amr        TEXT    NOT NULL,
    acr        TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    -- set when rotated (spent); presenting it again revokes the grant
    used_at    INTEGER,
    revoked_at INTEGER
);
CREATE INDEX oidc_refresh_tokens_grant ON oidc_refresh_tokens (grant_id);
CREATE INDEX oidc_refresh_tokens_user ON oidc_refresh_tokens (user_name);
CREATE INDEX oidc_refresh_tokens_expiry ON oidc_refresh_tokens (expires_at);

CREATE TABLE oidc_web_sessions (
    hash       BLOB    PRIMARY KEY CHECK (length(hash) = 32),
    user_name  TEXT,
    -- provider-defined JSON: flow state, CSRF token, authentication context
    data       TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX oidc_web_sessions_user ON oidc_web_sessions (user_name);
CREATE INDEX oidc_web_sessions_expiry ON oidc_web_sessions (expires_at);

CREATE TABLE oidc_signing_keys (
    kid          TEXT    PRIMARY KEY,
    alg          TEXT    NOT NULL CHECK (alg IN ('RS256', 'EdDSA')),
    -- PKCS#8 DER, encrypted (XChaCha20-Poly1305 under a key derived from the deployment key file)
    private_key  BLOB    NOT NULL,
    created_at   INTEGER NOT NULL,
    activates_at INTEGER NOT NULL,
    retires_at   INTEGER
);
