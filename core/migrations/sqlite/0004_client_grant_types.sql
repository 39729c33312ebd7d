-- 0004 client grant types.
-- Keep in step with ../postgres/0004_client_grant_types.sql (same columns and meaning).
-- A client's registered grant types (RFC 7591 `grant_types`): a JSON array of strings,
-- "authorization_code" and, when the client may refresh, "refresh_token".
-- Clients registered before this migration keep both grants, as before.
ALTER TABLE oidc_clients
    ADD COLUMN grant_types TEXT NOT NULL DEFAULT '["authorization_code","refresh_token"]';
