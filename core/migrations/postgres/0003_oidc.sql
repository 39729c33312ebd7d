-- 0003 OpenID Connect provider: clients, authorization codes, access and refresh tokens,
-- web sign-in sessions, ID-token signing keys.
-- Keep in step with ../sqlite/0003_oidc.sql (same tables, columns and meaning).
-- Bearer values (codes, tokens, session cookies) are stored only as 32-byte HMACs.

CREATE TABLE oidc_clients (
    client_id                 TEXT   PRIMARY KEY,
    name                      TEXT   NOT NULL,
    secret_hash               TEXT,
    redirect_uris             TEXT   NOT NULL,
    post_logout_redirect_uris TEXT   NOT NULL DEFAULT '[]',
    created_at                BIGINT NOT NULL
);

CREATE TABLE oidc_codes (
    hash           BYTEA  PRIMARY KEY CHECK (length(hash) = 32),
    grant_id       TEXT   NOT NULL,
    client_id      TEXT   NOT NULL,
    redirect_uri   TEXT   NOT NULL,
    scope          TEXT   NOT NULL,
    nonce          TEXT,
    code_challenge TEXT,
    user_name      TEXT   NOT NULL,
    auth_time      BIGINT NOT NULL,
    amr            TEXT   NOT NULL,
    acr            TEXT   NOT NULL,
    created_at     BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL,
    used_at        BIGINT
);
CREATE INDEX oidc_codes_expiry ON oidc_codes (expires_at);

CREATE TABLE oidc_access_tokens (
    hash       BYTEA  PRIMARY KEY CHECK (length(hash) = 32),
    grant_id   TEXT   NOT NULL,
    client_id  TEXT   NOT NULL,
    scope      TEXT   NOT NULL,
    user_name  TEXT   NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX oidc_access_tokens_grant ON oidc_access_tokens (grant_id);
CREATE INDEX oidc_access_tokens_user ON oidc_access_tokens (user_name);
CREATE INDEX oidc_access_tokens_expiry ON oidc_access_tokens (expires_at);

CREATE TABLE oidc_refresh_tokens (
    hash       BYTEA  PRIMARY KEY CHECK (length(hash) = 32),
    grant_id   TEXT   NOT NULL,
    client_id  TEXT   NOT NULL,
    scope      TEXT   NOT NULL,
    user_name  TEXT   NOT NULL,
    auth_time  BIGINT NOT NULL,
    amr        TEXT   NOT NULL,
    acr        TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT,
    revoked_at BIGINT
);
CREATE INDEX oidc_refresh_tokens_grant ON oidc_refresh_tokens (grant_id);
CREATE INDEX oidc_refresh_tokens_user ON oidc_refresh_tokens (user_name);
CREATE INDEX oidc_refresh_tokens_expiry ON oidc_refresh_tokens (expires_at);

CREATE TABLE oidc_web_sessions (
    hash       BYTEA  PRIMARY KEY CHECK (length(hash) = 32),
    user_name  TEXT,
    data       TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX oidc_web_sessions_user ON oidc_web_sessions (user_name);
CREATE INDEX oidc_web_sessions_expiry ON oidc_web_sessions (expires_at);

CREATE TABLE oidc_signing_keys (
    kid          TEXT   PRIMARY KEY,
    alg          TEXT   NOT NULL CHECK (alg IN ('RS256', 'EdDSA')),
    private_key  BYTEA  NOT NULL,
    created_at   BIGINT NOT NULL,
    activates_at BIGINT NOT NULL,
    retires_at   BIGINT
);
