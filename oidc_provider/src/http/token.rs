//! The token endpoint (`POST /token`): `authorization_code` and `refresh_token` grants.
//!
//! - Body `application/x-www-form-urlencoded` only; a parameter twice is `invalid_request`.
//! - Client authentication: `client_secret_basic` or `client_secret_post` (both at once is
//!   `invalid_request`); public clients send only `client_id` and must have used PKCE. Failures
//!   are `401 invalid_client` with `WWW-Authenticate`.
//! - A code is spent by one conditional statement before anything is checked or issued (burn
//!   before issue): of N concurrent redemptions exactly one gets tokens. A replayed code is
//!   `invalid_grant` and revokes every token of its grant (RFC 6749 §4.1.2). Wrong client,
//!   redirect URI, PKCE verifier or an expired code: `invalid_grant`, the code stays spent.
//! - Refresh tokens rotate: each use spends the token and returns a new one; presenting a spent
//!   one revokes the grant (RFC 9700 reuse detection).
//! - A client gets refresh tokens only if it registered the `refresh_token` grant type
//!   (RFC 7591 `grant_types`); a grant type the client did not register is
//!   `unauthorized_client` (RFC 6749 §5.2), refused before the store is touched.
//! - Responses carry `Cache-Control: no-store`.

use crate::http::clients::Client;
use crate::http::errors::{HttpError, HttpResult, OAuthError};
use crate::http::params::{ParamError, Params};
use crate::http::state::AppState;
use crate::http::throttle::Purpose;
use crate::http::{authorize, idtoken, pkce, respond};
use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use std::net::SocketAddr;
use std::sync::Arc;
use twofold_core::clock::UnixTime;
use twofold_core::store::AuditEvent;
use twofold_core::store::oidc::{
    AccessToken, AuthCode, AuthContext, CodeUse, GRANT_AUTHORIZATION_CODE, GRANT_REFRESH_TOKEN,
    RefreshToken, RefreshUse,
};
use zeroize::Zeroizing;

/// `POST /token`.
pub async fn post(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match token(&state, peer, &headers, &body).await {
        Ok(r) => r,
        Err(HttpError::Throttled { retry_after }) => {
            let mut r = HttpError::OAuthJson(
                axum::http::StatusCode::TOO_MANY_REQUESTS,
                OAuthError::new("slow_down", "too many requests from this address"),
            )
            .into_response();
            if let Ok(v) = retry_after.to_string().parse() {
                r.headers_mut().insert(header::RETRY_AFTER, v);
            }
            r
        }
        Err(HttpError::Unavailable(detail)) => {
            // The store is down (fail closed): nothing was issued; the client may retry.
            tracing::warn!(%detail, "token endpoint: store unavailable");
            let mut r = HttpError::OAuthJson(
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                OAuthError::new(
                    "temporarily_unavailable",
                    "the authorization server cannot reach its database; retry shortly",
                ),
            )
            .into_response();
            r.headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from_static("5"));
            r
        }
        Err(HttpError::Internal(detail)) => {
            tracing::error!(%detail, "token endpoint");
            HttpError::OAuthJson(
                axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                OAuthError::new("server_error", "the request could not be completed"),
            )
            .into_response()
        }
        Err(HttpError::Busy) => HttpError::OAuthJson(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            OAuthError::new("temporarily_unavailable", "busy; retry shortly"),
        )
        .into_response(),
        Err(e) => e.into_response(),
    }
}

fn basic_credentials(
    headers: &HeaderMap,
) -> Result<Option<(String, Zeroizing<String>)>, HttpError> {
    let Some(v) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let bad = || HttpError::InvalidClient("malformed Basic credentials".into());
    let v = v.to_str().map_err(|_| bad())?;
    let Some(b64) = v
        .strip_prefix("Basic ")
        .or_else(|| v.strip_prefix("basic "))
    else {
        return Err(HttpError::InvalidClient(
            "only Basic client authentication is accepted in the Authorization header".into(),
        ));
    };
    let raw = Zeroizing::new(
        data_encoding::BASE64
            .decode(b64.trim().as_bytes())
            .map_err(|_| bad())?,
    );
    let text = std::str::from_utf8(&raw).map_err(|_| bad())?;
    let (id, secret) = text.split_once(':').ok_or_else(bad)?;
    // RFC 6749 §2.3.1: both parts are form-urlencoded.
    let id = Params::parse(format!("v={id}").as_bytes())
        .ok()
        .and_then(|mut p| p.take("v"))
        .ok_or_else(bad)?;
    let secret = Params::parse(format!("v={secret}").as_bytes())
        .ok()
        .and_then(|mut p| p.take("v"))
        .map(Zeroizing::new)
        .ok_or_else(bad)?;
    Ok(Some((id, secret)))
}

async fn client_auth(
    state: &Arc<AppState>,
    headers: &HeaderMap,
    p: &mut Params,
) -> HttpResult<Arc<Client>> {
    let basic = basic_credentials(headers)?;
    let post_secret = p.take("client_secret").map(Zeroizing::new);
    let body_id = p.take("client_id");
    let (id, secret) = match (basic, post_secret) {
        (Some(_), Some(_)) => {
            return Err(HttpError::oauth(OAuthError::invalid_request(
                "use one client authentication method, not both",
            )));
        }
        (Some((id, s)), None) => {
            if body_id.as_deref().is_some_and(|b| b != id) {
                return Err(HttpError::oauth(OAuthError::invalid_request(
                    "client_id in the body differs from the Authorization header",
                )));
            }
            (id, Some(s))
        }
        (None, s) => (
            body_id.ok_or_else(|| {
                HttpError::InvalidClient("client authentication is required".into())
            })?,
            s,
        ),
    };
    state.clients.authenticate(state, &id, secret).await
}

async fn token(
    state: &Arc<AppState>,
    peer: SocketAddr,
    headers: &HeaderMap,
    body: &[u8],
) -> HttpResult<Response> {
    state.throttle(peer, headers, Purpose::Token)?;
    if !authorize::is_form(headers) {
        return Err(HttpError::oauth(OAuthError::invalid_request(
            "the body must be application/x-www-form-urlencoded",
        )));
    }
    let mut p = Params::parse(body).map_err(|e| match e {
        ParamError::Duplicate(n) => HttpError::oauth(OAuthError::invalid_request(format!(
            "parameter {n} is included more than once"
        ))),
        ParamError::Encoding => {
            HttpError::oauth(OAuthError::invalid_request("the body is not valid UTF-8"))
        }
    })?;
    let client = client_auth(state, headers, &mut p).await?;
    match p.get("grant_type") {
        Some(g @ (GRANT_AUTHORIZATION_CODE | GRANT_REFRESH_TOKEN)) if !client.allows_grant(g) => {
            Err(HttpError::oauth(OAuthError::new(
                "unauthorized_client",
                format!("this client is not registered for the {g} grant type"),
            )))
        }
        Some(GRANT_AUTHORIZATION_CODE) => code_grant(state, &client, &p).await,
        Some(GRANT_REFRESH_TOKEN) => refresh_grant(state, &client, &p).await,
        None => Err(HttpError::oauth(OAuthError::invalid_request(
            "grant_type is missing",
        ))),
        Some(g) => Err(HttpError::oauth(OAuthError::new(
            "unsupported_grant_type",
            format!("grant_type {g:?} is not supported"),
        ))),
    }
}

fn audit(state: &Arc<AppState>, event: &str, user: Option<String>, outcome: &str, detail: String) {
    let st = state.clone();
    let e = AuditEvent {
        at: state.now(),
        actor: "daemon".into(),
        event: event.into(),
        user,
        outcome: outcome.into(),
        detail,
    };
    tokio::task::spawn_blocking(move || {
        if let Err(err) = st.daemon.engine.store.audit(&e) {
            tracing::warn!(error = %err, "audit write failed");
        }
    });
}

/// Why a spent code gives no tokens: wrong client, expired, another redirect URI, PKCE.
/// Checked inside the redemption's transaction (pure and quick).
fn check_code(
    row: &AuthCode,
    client: &Client,
    redirect_uri: Option<&str>,
    verifier: Option<&str>,
    now: UnixTime,
) -> Result<(), OAuthError> {
    if row.client_id != client.id {
        return Err(OAuthError::invalid_grant(
            "the authorization code was issued to another client",
        ));
    }
    if row.expires_at <= now {
        return Err(OAuthError::invalid_grant(
            "the authorization code has expired",
        ));
    }
    if redirect_uri != Some(row.redirect_uri.as_str()) {
        return Err(OAuthError::invalid_grant(
            "redirect_uri differs from the authorization request",
        ));
    }
    match (&row.code_challenge, verifier) {
        (Some(ch), Some(v)) => pkce::verify(v, ch).map_err(OAuthError::invalid_grant),
        (Some(_), None) => Err(OAuthError::invalid_grant("code_verifier is missing")),
        (None, Some(_)) => Err(OAuthError::invalid_grant(
            "code_verifier sent, but the authorization request had no code_challenge",
        )),
        (None, None) if client.is_public() => {
            Err(OAuthError::invalid_grant("a public client must use PKCE"))
        }
        (None, None) => Ok(()),
    }
}

/// The `authorization_code` grant for an authenticated client: the code is spent and, when it
/// passes the checks, the tokens stored, in one transaction ([`OidcStore::redeem_code`]); the ID
/// token is signed after that commit. A refresh token is issued (and stored) only for a client
/// with the `refresh_token` grant type.
pub(crate) async fn code_grant(
    state: &Arc<AppState>,
    client: &Client,
    p: &Params,
) -> HttpResult<Response> {
    let code = p
        .get("code")
        .ok_or_else(|| HttpError::oauth(OAuthError::invalid_request("code is missing")))?;
    let redirect_uri = p.get("redirect_uri").map(str::to_string);
    let verifier = p.get("code_verifier").map(str::to_string);
    let hash = state.token_hash("code", code);
    let now = state.now();
    let issued = NewTokens::new(state, client.allows_grant(GRANT_REFRESH_TOKEN));
    let access_hash = issued.access_hash;
    let refresh_hash = issued.refresh.as_ref().map(|(_, h)| *h);
    let (access_ttl, refresh_ttl) = (
        state.cfg.access_token_ttl_secs,
        state.cfg.refresh_token_ttl_secs,
    );
    let store = state.oidc.clone();
    let cl = client.clone();
    let (used, refused) = state
        .store(move || {
            let mut refused = None;
            let used = store.redeem_code(&hash, now, &mut |row: &AuthCode| {
                if let Err(e) =
                    check_code(row, &cl, redirect_uri.as_deref(), verifier.as_deref(), now)
                {
                    refused = Some(e);
                    return None;
                }
                let access = AccessToken {
                    hash: access_hash,
                    grant_id: row.grant_id.clone(),
                    client_id: cl.id.clone(),
                    scope: row.scope.clone(),
                    user: row.auth.user.clone(),
                    expires_at: now + access_ttl,
                };
                let refresh = refresh_hash.map(|hash| RefreshToken {
                    hash,
                    grant_id: row.grant_id.clone(),
                    client_id: cl.id.clone(),
                    scope: row.scope.clone(),
                    auth: row.auth.clone(),
                    created_at: now,
                    expires_at: now + refresh_ttl,
                });
                Some((access, refresh))
            })?;
            twofold_core::Result::Ok((used, refused))
        })
        .await??;
    let row = match used {
        CodeUse::Fresh(row) => row,
        CodeUse::Replayed { grant_id } => {
            let store = state.oidc.clone();
            let g = grant_id.clone();
            state.store(move || store.revoke_grant(&g, now)).await??;
            audit(
                state,
                "oidc.code_replay",
                None,
                "refused",
                format!(
                    "an authorization code of client {} was presented again; its grant was revoked",
                    client.id
                ),
            );
            return Err(HttpError::oauth(OAuthError::invalid_grant(
                "the authorization code was already used",
            )));
        }
        CodeUse::Unknown => {
            return Err(HttpError::oauth(OAuthError::invalid_grant(
                "the authorization code is invalid",
            )));
        }
    };
    if let Some(e) = refused {
        return Err(HttpError::oauth(e));
    }
    token_response(
        state,
        client,
        &issued.access,
        issued.refresh.as_ref().map(|(raw, _)| raw.as_str()),
        &row.scope,
        &row.auth,
        row.nonce.as_deref(),
    )
}

/// A fresh access token value and, when asked for, a refresh token value, with their stored
/// hashes.
struct NewTokens {
    access: String,
    access_hash: [u8; 32],
    refresh: Option<(String, [u8; 32])>,
}

impl NewTokens {
    fn new(state: &AppState, with_refresh: bool) -> NewTokens {
        let access = state.token();
        let refresh = with_refresh.then(|| {
            let raw = state.token();
            let hash = state.token_hash("refresh", &raw);
            (raw, hash)
        });
        NewTokens {
            access_hash: state.token_hash("access", &access),
            access,
            refresh,
        }
    }
}

async fn refresh_grant(state: &Arc<AppState>, client: &Client, p: &Params) -> HttpResult<Response> {
    let presented = p
        .get("refresh_token")
        .ok_or_else(|| HttpError::oauth(OAuthError::invalid_request("refresh_token is missing")))?;
    let hash = state.token_hash("refresh", presented);
    let now = state.now();
    let next_raw = state.token();
    let next_hash = state.token_hash("refresh", &next_raw);
    let requested: Option<Vec<String>> = p.get("scope").map(|s| {
        s.split(' ')
            .filter(|x| !x.is_empty())
            .map(str::to_string)
            .collect()
    });
    let store = state.oidc.clone();
    let cid = client.id.clone();
    let used = state
        .store(move || {
            let mut next = |old: &RefreshToken| RefreshToken {
                hash: next_hash,
                created_at: now,
                ..old.clone()
            };
            store.rotate_refresh_token(&hash, &cid, now, &mut next)
        })
        .await??;
    let row = match used {
        RefreshUse::Rotated(row) => row,
        RefreshUse::Reused { grant_id } => {
            let store = state.oidc.clone();
            state
                .store(move || store.revoke_grant(&grant_id, now))
                .await??;
            audit(
                state,
                "oidc.refresh_reuse",
                None,
                "refused",
                format!(
                    "a spent refresh token of client {} was presented again; its grant was revoked",
                    client.id
                ),
            );
            return Err(HttpError::oauth(OAuthError::invalid_grant(
                "the refresh token was already used; the grant is revoked",
            )));
        }
        RefreshUse::Expired => {
            return Err(HttpError::oauth(OAuthError::invalid_grant(
                "the refresh token has expired",
            )));
        }
        RefreshUse::Unknown => {
            return Err(HttpError::oauth(OAuthError::invalid_grant(
                "the refresh token is invalid",
            )));
        }
    };
    let scope = match requested {
        None => row.scope.clone(),
        Some(req) => {
            let granted: Vec<&str> = row.scope.split(' ').collect();
            if let Some(extra) = req.iter().find(|s| !granted.contains(&s.as_str())) {
                return Err(HttpError::oauth(OAuthError::new(
                    "invalid_scope",
                    format!("scope {extra:?} was not granted"),
                )));
            }
            req.join(" ")
        }
    };
    respond_tokens(state, client, &row.grant_id, &scope, &row.auth, next_raw).await
}

/// Issues an access token for a rotated refresh token and answers.
async fn respond_tokens(
    state: &Arc<AppState>,
    client: &Client,
    grant_id: &str,
    scope: &str,
    auth: &AuthContext,
    refresh: String,
) -> HttpResult<Response> {
    let now = state.now();
    let access = state.token();
    let at = AccessToken {
        hash: state.token_hash("access", &access),
        grant_id: grant_id.to_string(),
        client_id: client.id.clone(),
        scope: scope.to_string(),
        user: auth.user.clone(),
        expires_at: now + state.cfg.access_token_ttl_secs,
    };
    let store = state.oidc.clone();
    state.store(move || store.put_tokens(&at, None)).await??;
    token_response(state, client, &access, Some(&refresh), scope, auth, None)
}

/// The token response for tokens already stored: the ID token is signed here. Without a
/// refresh token the response has no `refresh_token` member.
fn token_response(
    state: &AppState,
    client: &Client,
    access: &str,
    refresh: Option<&str>,
    scope: &str,
    auth: &AuthContext,
    nonce: Option<&str>,
) -> HttpResult<Response> {
    let id_token = idtoken::issue(state, &client.id, auth, nonce, Some(access))?;
    let mut body = serde_json::json!({
        "access_token": access,
        "token_type": "Bearer",
        "expires_in": state.cfg.access_token_ttl_secs,
        "id_token": id_token,
        "scope": scope,
    });
    if let Some(r) = refresh {
        body["refresh_token"] = serde_json::Value::from(r);
    }
    Ok(respond::no_store(axum::Json(body).into_response()))
}
