//! The discovery document (`/.well-known/openid-configuration`, also served as
//! `/.well-known/oauth-authorization-server`), built once at start from the issuer.
//!
//! Every URL is the issuer plus a fixed path; nothing comes from the request's `Host` header.

use crate::http::state::AppState;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

/// Endpoint paths below the issuer.
pub mod paths {
    /// Authorization endpoint.
    pub const AUTHORIZE: &str = "/authorize";
    /// Token endpoint.
    pub const TOKEN: &str = "/token";
    /// UserInfo endpoint.
    pub const USERINFO: &str = "/userinfo";
    /// JWKS.
    pub const JWKS: &str = "/jwks.json";
    /// RP-initiated logout.
    pub const LOGOUT: &str = "/logout";
}

/// The document's JSON.
pub fn document(issuer: &str) -> Vec<u8> {
    let u = |p: &str| format!("{issuer}{p}");
    let doc = serde_json::json!({
        "issuer": issuer,
        "authorization_endpoint": u(paths::AUTHORIZE),
        "token_endpoint": u(paths::TOKEN),
        "userinfo_endpoint": u(paths::USERINFO),
        "jwks_uri": u(paths::JWKS),
        "end_session_endpoint": u(paths::LOGOUT),
        "scopes_supported": ["openid", "profile", "email", "phone", "offline_access"],
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256", "EdDSA"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "azp",
                             "name", "preferred_username", "email", "email_verified", "phone_number", "phone_number_verified"],
        "acr_values_supported": [crate::http::idtoken::ACR_2FA, crate::http::idtoken::ACR_1FA],
        "prompt_values_supported": ["none", "login", "consent"],
        "display_values_supported": ["page"],
        "claims_parameter_supported": false,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "require_request_uri_registration": true,
        "authorization_response_iss_parameter_supported": true,
        "userinfo_signing_alg_values_supported": [],
        "ui_locales_supported": ["en"],
    });
    serde_json::to_vec(&doc).unwrap_or_default()
}

/// `GET /.well-known/openid-configuration`.
pub async fn get(State(state): State<Arc<AppState>>) -> Response {
    let mut r = state.discovery_json.to_vec().into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    r
}
