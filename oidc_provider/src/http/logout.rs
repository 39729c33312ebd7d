//! RP-initiated logout (`GET|POST /logout`, OpenID Connect RP-Initiated Logout 1.0).
//!
//! - `post_logout_redirect_uri` must be registered (exact match) for the client named by
//!   `client_id` or by the hint's `aud`; otherwise an error page, never a redirect.
//! - With a valid `id_token_hint` (signed by this provider) for the signed-in user, or for no
//!   session at all, the session is ended at once and the browser sent back.
//! - Without a valid hint the user confirms on a page (a CSRF-protected POST), so a third party
//!   cannot sign anyone out with a link.
//!
//! Ending the session deletes its row: the old cookie is worthless afterwards.

use crate::http::csrf;
use crate::http::errors::{HttpError, HttpResult};
use crate::http::idtoken::check_hint;
use crate::http::pages::{form, message_page, render};
use crate::http::params::{self, Params};
use crate::http::respond;
use crate::http::session::Web;
use crate::http::state::AppState;
use askama::Template;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use std::sync::Arc;

/// `logout_confirm.html`.
#[derive(Template)]
#[template(path = "logout_confirm.html")]
pub struct ConfirmPage<'a> {
    /// Signed-in user.
    pub user: Option<&'a str>,
    /// Where to go after.
    pub post_logout_redirect_uri: Option<&'a str>,
    /// `state` to echo.
    pub state: Option<&'a str>,
    /// Client.
    pub client_id: Option<&'a str>,
    /// CSRF token.
    pub csrf: &'a str,
}

async fn finish(r: HttpResult<Response>) -> Response {
    match r {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

/// `GET|POST /logout`.
pub async fn handle(
    State(state): State<Arc<AppState>>,
    method: Method,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Response {
    finish(
        async {
            let p = if method == Method::POST {
                form(&headers, &body)?
            } else {
                Params::parse(q.unwrap_or_default().as_bytes()).map_err(|e| {
                    HttpError::bad_page("Invalid sign-out request", format!("invalid_request: {e}"))
                })?
            };
            logout(&state, &headers, &p).await
        }
        .await,
    )
    .await
}

/// Checks `post_logout_redirect_uri` against the client's registration.
async fn checked_redirect(
    state: &Arc<AppState>,
    p: &Params,
    hint_aud: &[String],
) -> HttpResult<Option<String>> {
    let Some(uri) = p.get("post_logout_redirect_uri") else {
        return Ok(None);
    };
    let client_id = match (p.get("client_id"), hint_aud.first()) {
        (Some(c), _) => c.to_string(),
        (None, Some(a)) => a.clone(),
        (None, None) => {
            return Err(HttpError::bad_page(
                "Invalid sign-out request",
                "invalid_request: post_logout_redirect_uri needs client_id or id_token_hint.",
            ));
        }
    };
    if !hint_aud.is_empty() && !hint_aud.contains(&client_id) {
        return Err(HttpError::bad_page(
            "Invalid sign-out request",
            "invalid_request: client_id does not match the id_token_hint.",
        ));
    }
    let client = state.clients.get(state, &client_id).await?;
    match client {
        Some(c) if c.post_logout_redirect_uris.iter().any(|r| r == uri) => {
            Ok(Some(uri.to_string()))
        }
        _ => Err(HttpError::bad_page(
            "Invalid sign-out request",
            "invalid_request: post_logout_redirect_uri is not registered for this application.",
        )),
    }
}

async fn logout(state: &Arc<AppState>, headers: &HeaderMap, p: &Params) -> HttpResult<Response> {
    let hint = match p.get("id_token_hint") {
        Some(h) => Some(check_hint(state, h).map_err(|e| {
            HttpError::bad_page("Invalid sign-out request", format!("invalid_request: {e}"))
        })?),
        None => None,
    };
    let aud = hint.as_ref().map(|h| h.aud.clone()).unwrap_or_default();
    let target = checked_redirect(state, p, &aud).await?;
    let web = Web::load(state, headers).await?;
    let current = web.authenticated(state).map(|a| a.user);
    let hinted_ok = match (&hint, &current) {
        (Some(h), Some(u)) => h.sub == *u,
        (Some(_), None) => true,
        (None, _) => false,
    };
    if !hinted_ok {
        let body = render(&ConfirmPage {
            user: current.as_deref(),
            post_logout_redirect_uri: target.as_deref(),
            state: p.get("state"),
            client_id: p.get("client_id").or(aud.first().map(String::as_str)),
            csrf: &web.data.csrf,
        });
        let cookie = web.save(state).await?;
        return Ok(respond::with_cookie(body, cookie));
    }
    web.destroy(state).await?;
    Ok(done(state, target.as_deref(), p.get("state")))
}

fn done(state: &AppState, target: Option<&str>, rp_state: Option<&str>) -> Response {
    let mut r = match target {
        Some(uri) => {
            let q = params::query(&[("state", rp_state)]);
            let to = if q.is_empty() {
                uri.to_string()
            } else {
                let sep = if uri.contains('?') { '&' } else { '?' };
                format!("{uri}{sep}{q}")
            };
            respond::no_store(Redirect::to(&to).into_response())
        }
        None => message_page(StatusCode::OK, "Signed out", "You are signed out."),
    };
    if let Some(c) = state.cookie_header(state.session_cookie_name(), "", Some(0)) {
        r.headers_mut().append(header::SET_COOKIE, c);
    }
    r
}

/// `POST /logout/confirm`.
pub async fn confirm(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    finish(
        async {
            let p = form(&headers, &body)?;
            let web = Web::load(&state, &headers).await?;
            csrf::check(&state, &web, &headers, p.get("csrf"))?;
            let target = checked_redirect(&state, &p, &[]).await?;
            web.destroy(&state).await?;
            Ok(done(&state, target.as_deref(), p.get("state")))
        }
        .await,
    )
    .await
}
