//! The UserInfo endpoint (`GET` and `POST /userinfo`): the bearer token in the
//! `Authorization` header, or (POST) as `access_token` in a form body — never both.
//!
//! Claims by scope (OIDC Core 5.4): `sub` always; `profile` → `name`, `preferred_username`;
//! `email` → `email`, `email_verified` (false: twofold does not verify addresses); `phone` →
//! `phone_number`, `phone_number_verified`.

use crate::http::authorize::is_form;
use crate::http::errors::{HttpError, HttpResult};
use crate::http::params::Params;
use crate::http::respond;
use crate::http::state::AppState;
use crate::http::throttle::Purpose;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, Method, header};
use axum::response::{IntoResponse, Response};
use std::net::SocketAddr;
use std::sync::Arc;

/// `GET|POST /userinfo`.
pub async fn handle(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match userinfo(&state, peer, &method, &headers, &body).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

fn bearer(headers: &HeaderMap) -> Result<Option<String>, HttpError> {
    let Some(v) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let v = v
        .to_str()
        .map_err(|_| HttpError::InvalidToken("malformed Authorization header".into()))?;
    match v.split_once(' ') {
        Some((scheme, tok)) if scheme.eq_ignore_ascii_case("bearer") && !tok.trim().is_empty() => {
            Ok(Some(tok.trim().to_string()))
        }
        _ => Err(HttpError::InvalidToken("expected a Bearer token".into())),
    }
}

async fn userinfo(
    state: &Arc<AppState>,
    peer: SocketAddr,
    method: &Method,
    headers: &HeaderMap,
    body: &[u8],
) -> HttpResult<Response> {
    state.throttle(peer, headers, Purpose::Token)?;
    let header_token = bearer(headers)?;
    let body_token = if *method == Method::POST && is_form(headers) && !body.is_empty() {
        Params::parse(body)
            .map_err(|_| HttpError::InvalidToken("malformed body".into()))?
            .take("access_token")
    } else {
        None
    };
    let token = match (header_token, body_token) {
        (Some(_), Some(_)) => {
            return Err(HttpError::oauth(
                crate::http::errors::OAuthError::invalid_request(
                    "send the access token in one place only",
                ),
            ));
        }
        (Some(t), None) | (None, Some(t)) => t,
        (None, None) => return Err(HttpError::InvalidToken("no access token".into())),
    };
    let hash = state.token_hash("access", &token);
    let now = state.now();
    let st = state.clone();
    let found = state
        .store_read(move || -> twofold_core::Result<_> {
            let Some(at) = st.oidc.get_access_token(&hash, now)? else {
                return Ok(None);
            };
            let user = st.daemon.engine.store.get_user(&at.user)?;
            Ok(Some((at, user)))
        })
        .await??;
    let Some((at, user)) = found else {
        return Err(HttpError::InvalidToken(
            "the access token is invalid, expired or revoked".into(),
        ));
    };
    let scopes: Vec<&str> = at.scope.split(' ').collect();
    let mut claims = serde_json::Map::new();
    claims.insert("sub".into(), at.user.clone().into());
    if scopes.contains(&"profile") {
        claims.insert("preferred_username".into(), at.user.clone().into());
        claims.insert("name".into(), at.user.clone().into());
    }
    if scopes.contains(&"email")
        && let Some(email) = user.as_ref().and_then(|u| u.email.clone())
    {
        claims.insert("email".into(), email.into());
        claims.insert("email_verified".into(), false.into());
    }
    if scopes.contains(&"phone")
        && let Some(phone) = user.as_ref().and_then(|u| u.phone.clone())
    {
        claims.insert("phone_number".into(), phone.into());
        claims.insert("phone_number_verified".into(), false.into());
    }
    Ok(respond::no_store(
        axum::Json(serde_json::Value::Object(claims)).into_response(),
    ))
}
