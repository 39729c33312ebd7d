//! The remote admin API: `POST /admin/api` with `Authorization: Bearer TOKEN` and an
//! [`AdminRequest`] as JSON, answered with an [`AdminReply`]. The same handlers as the admin
//! socket; the admin is named `admin-token:NAME` from the token that matched.
//!
//! Off unless `[admin] api_tokens` lists tokens (stored as SHA-256; tokens are 256-bit random,
//! so a plain hash is enough). Serve it through HTTPS: the token is a bearer credential.

use super::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use std::sync::Arc;
use subtle::ConstantTimeEq;
use twofold_core::proto::{AdminReply, AdminRequest, PROTOCOL_VERSION};

/// `POST /admin/api`.
pub async fn post(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let tokens = &st.daemon.config.admin.api_tokens;
    if tokens.is_empty() {
        return (StatusCode::NOT_FOUND, "the remote admin API is off").into_response();
    }
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let Some(name) = presented.and_then(|t| matching_token(tokens, t)) else {
        tracing::warn!("remote admin API: a request with a missing or unknown token was refused");
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            Json(crate::admin::refusal(
                "refused",
                "unauthorized: unknown or missing admin token",
            )),
        )
            .into_response();
    };
    let mut req: AdminRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            let reply = crate::admin::refusal("usage", &format!("malformed request: {e}"));
            return (StatusCode::BAD_REQUEST, Json(reply)).into_response();
        }
    };
    if req.v != PROTOCOL_VERSION {
        let reply = crate::admin::refusal(
            "usage",
            &format!(
                "protocol version {} is not supported (daemon speaks {PROTOCOL_VERSION})",
                req.v
            ),
        );
        return (StatusCode::BAD_REQUEST, Json(reply)).into_response();
    }
    // The admin's identity comes from the token, never from the body.
    req.admin = Some(format!("admin-token:{name}"));
    let daemon = st.daemon.clone();
    let reply: AdminReply =
        tokio::task::spawn_blocking(move || crate::admin::handle(&daemon, &req))
            .await
            .unwrap_or_else(|_| crate::admin::refusal("internal", "internal error"));
    (StatusCode::OK, Json(reply)).into_response()
}

/// The name of the configured token whose SHA-256 equals the presented token's, compared in
/// constant time over every entry.
fn matching_token<'a>(tokens: &'a [crate::config::ApiToken], presented: &str) -> Option<&'a str> {
    let digest = Sha256::digest(presented.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    let mut found = None;
    for t in tokens {
        let stored = t.sha256.to_ascii_lowercase();
        if bool::from(stored.as_bytes().ct_eq(hex.as_bytes())) {
            found = Some(t.name.as_str());
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::matching_token;
    use crate::config::ApiToken;

    #[test]
    fn only_the_token_whose_hash_is_configured_matches() {
        // sha256("secret-token")
        let tokens = vec![ApiToken {
            name: "ci".into(),
            sha256: "4d5a8b6a9a3c5c2f3d5b0e0b8b0a7b0b4c3e1b2a3f4e5d6c7b8a9f0e1d2c3b4a".into(),
        }];
        assert_eq!(matching_token(&tokens, "secret-token"), None);
        let real = {
            use sha2::{Digest, Sha256};
            Sha256::digest(b"secret-token")
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        };
        let tokens = vec![ApiToken {
            name: "ci".into(),
            sha256: real,
        }];
        assert_eq!(matching_token(&tokens, "secret-token"), Some("ci"));
        assert_eq!(matching_token(&tokens, "secret-tokeN"), None);
        assert_eq!(matching_token(&tokens, ""), None);
    }
}
