//! The sign-in state machine: what each engine reply does to the flow, and how a sign-in
//! completes (new session id, `auth_time`/`amr`/`acr`, remembered device, code to the client).
//!
//! Form posts answer with a redirect to the page of the new stage (POST-redirect-GET), except
//! the backup codes after enrollment, which are rendered once in the response and never stored.

use crate::http::authorize::{flow_error, new_code};
use crate::http::errors::{HttpError, HttpResult, OAuthError};
use crate::http::idtoken::amr_acr;
use crate::http::pages::{engine, render};
use crate::http::respond;
use crate::http::session::{Stage, Target, Web, seal};
use crate::http::state::AppState;
use askama::Template;
use axum::http::HeaderValue;
use axum::response::{IntoResponse, Redirect, Response};
use std::sync::Arc;
use twofold_core::proto::{Method, PamReply};
use twofold_core::store::Write;
use twofold_core::store::oidc::AuthContext;

/// `backup_codes.html`.
#[derive(Template)]
#[template(path = "backup_codes.html")]
pub struct BackupCodesPage<'a> {
    /// Why they are shown.
    pub intro: &'a str,
    /// The codes, shown once.
    pub codes: &'a [String],
    /// Where "continue" posts.
    pub action: &'a str,
    /// CSRF token.
    pub csrf: &'a str,
    /// Flow id.
    pub flow: &'a str,
}

/// Sealed form of a pending enrollment secret.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct PendingSecret {
    /// Manual-entry key.
    pub text_key: String,
    /// `otpauth://` URI.
    pub otpauth_uri: String,
}

/// A redirect answered after saving the session.
pub async fn go(state: &Arc<AppState>, web: Web, to: &str) -> HttpResult<Response> {
    let cookie = web.save(state).await?;
    Ok(respond::with_cookie(
        respond::no_store(Redirect::to(to).into_response()),
        cookie,
    ))
}

/// Applies an engine reply to the session's flow and answers the browser.
pub async fn apply(state: &Arc<AppState>, web: Web, reply: PamReply) -> HttpResult<Response> {
    apply_carrying(state, web, reply, Vec::new()).await
}

/// [`apply`] for a reply of [`Engine::begin_carrying`](twofold_core::engine::Engine): an
/// `Allow` completes the sign-in with `carried` (the decision's history and audit lines)
/// committed in the transaction that stores the code.
pub async fn apply_carrying(
    state: &Arc<AppState>,
    mut web: Web,
    reply: PamReply,
    carried: Vec<Write>,
) -> HttpResult<Response> {
    let Some(flow) = web.data.flow.as_mut() else {
        return Err(crate::http::pages::stale_flow());
    };
    web.dirty = true;
    match reply {
        PamReply::Allow { reason } => {
            tracing::info!(user = ?flow.user, %reason, "second factor not required");
            complete_carrying(state, web, None, carried).await
        }
        PamReply::Accepted { method } => complete(state, web, Some(method)).await,
        PamReply::Deny { reason } | PamReply::NotEnrolled { reason } => {
            tracing::info!(user = ?flow.user, %reason, "web sign-in refused");
            let target = flow.target.clone();
            web.data.flow = None;
            let cookie = web.save(state).await?;
            Ok(respond::with_cookie(
                flow_error(
                    state,
                    &target,
                    OAuthError::new(
                        "access_denied",
                        "the sign-in was refused: no usable second factor is available for this account, or it is locked; contact your administrator",
                    ),
                ),
                cookie,
            ))
        }
        PamReply::Challenge(c) => {
            flow.stage = Stage::Challenge;
            flow.vsession = Some(c.session.clone());
            flow.notice = None;
            flow.challenge = Some(c);
            go(state, web, "/signin/code").await
        }
        PamReply::Enroll(o) => {
            flow.stage = Stage::EnrollOffer;
            flow.vsession = Some(o.session);
            flow.enroll_required = o.required;
            flow.notice = None;
            go(state, web, "/signin/enroll").await
        }
        PamReply::EnrollSecret(s) => {
            let pending = PendingSecret {
                text_key: s.text_key.clone(),
                otpauth_uri: s.otpauth_uri.clone(),
            };
            let json = zeroize::Zeroizing::new(
                serde_json::to_vec(&pending)
                    .map_err(|e| HttpError::Internal(format!("encoding: {e}")))?,
            );
            let flow_id = flow.id.clone();
            let sealed = seal(state, &flow_id, &json)?;
            let flow = web
                .data
                .flow
                .as_mut()
                .ok_or_else(crate::http::pages::stale_flow)?;
            flow.stage = Stage::EnrollConfirm;
            flow.vsession = Some(s.session.clone());
            flow.enroll_secret = Some(sealed);
            flow.notice = None;
            go(state, web, "/signin/enroll").await
        }
        PamReply::Enrolled { backup_codes } => {
            flow.stage = Stage::Enrolled;
            flow.enroll_secret = None;
            flow.second_factor = Some(Method::AuthenticatorApp);
            let flow_id = flow.id.clone();
            let csrf = web.data.csrf.clone();
            let cookie = web.save(state).await?;
            let page = render(&BackupCodesPage {
                intro: "Your authenticator app is set up. If you ever lose your phone, a backup code lets you sign in.",
                codes: &backup_codes,
                action: "/signin/continue",
                csrf: &csrf,
                flow: &flow_id,
            });
            Ok(respond::with_cookie(page, cookie))
        }
        PamReply::Rejected { message, challenge } => {
            flow.notice = Some(message);
            if flow.stage == Stage::EnrollConfirm {
                go(state, web, "/signin/enroll").await
            } else {
                flow.stage = Stage::Challenge;
                flow.challenge = Some(challenge);
                go(state, web, "/signin/code").await
            }
        }
        PamReply::Locked { message } => {
            flow.stage = Stage::Locked;
            flow.notice = Some(message);
            flow.enroll_secret = None;
            go(state, web, "/signin/code").await
        }
        PamReply::Error { message } => Err(HttpError::Internal(format!("engine: {message}"))),
    }
}

/// Completes the sign-in: a new session id holding the authentication, an optional
/// remembered-device cookie, and the code sent to the client (or the profile page).
pub async fn complete(
    state: &Arc<AppState>,
    web: Web,
    second: Option<Method>,
) -> HttpResult<Response> {
    complete_carrying(state, web, second, Vec::new()).await
}

/// [`complete`], committing `carried` (engine writes that grant this sign-in) with the code
/// and the new session, in one durable transaction.
async fn complete_carrying(
    state: &Arc<AppState>,
    mut web: Web,
    second: Option<Method>,
    carried: Vec<Write>,
) -> HttpResult<Response> {
    let flow = web
        .data
        .flow
        .take()
        .ok_or_else(crate::http::pages::stale_flow)?;
    let user = flow
        .user
        .clone()
        .ok_or_else(crate::http::pages::stale_flow)?;
    let (amr, acr) = amr_acr(second);
    let auth = AuthContext {
        user: user.clone(),
        auth_time: state.now(),
        amr,
        acr,
    };
    web.data.auth = Some(auth.clone());
    web.rotate(state);
    let mut device_cookie: Option<HeaderValue> = None;
    if flow.remember && second.is_some() {
        let u = user.clone();
        let (token, days) = engine(state, move |e| {
            let days = e
                .store
                .load_settings()?
                .settings
                .device_recognition
                .remember_days;
            Ok((e.remember_device(&u)?, days))
        })
        .await?;
        device_cookie = state.cookie_header(
            state.device_cookie_name(),
            &token,
            Some(i64::from(days) * 86_400),
        );
    }
    let (code, resp) = match &flow.target {
        Target::Authorize(req) => {
            let (code, resp) = new_code(state, req, &auth);
            (Some(code), resp)
        }
        Target::Profile => (
            None,
            respond::no_store(Redirect::to("/profile").into_response()),
        ),
    };
    // The code and the new session in one durable commit, before the browser is sent on.
    let cookie = web.save_with_code(state, code, carried).await?;
    Ok(respond::with_cookie(
        respond::with_cookie(resp, cookie),
        device_cookie,
    ))
}
