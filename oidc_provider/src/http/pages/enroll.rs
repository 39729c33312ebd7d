//! Enrollment of an authenticator app during sign-in: the offer (required or skippable), the
//! secret as an SVG QR code **and** as the text key, the confirmation code; then the backup
//! codes, shown once (see [`super::flow`]).

use crate::http::csrf;
use crate::http::errors::{HttpError, HttpResult};
use crate::http::pages::flow::{PendingSecret, apply, go};
use crate::http::pages::{engine, form, render, stale_flow};
use crate::http::session::{Stage, Web, unseal};
use crate::http::state::AppState;
use crate::http::throttle::Purpose;
use askama::Template;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use std::net::SocketAddr;
use std::sync::Arc;
use twofold_core::proto::Code;

/// `enroll_offer.html`.
#[derive(Template)]
#[template(path = "enroll_offer.html")]
pub struct OfferPage<'a> {
    /// User.
    pub user: &'a str,
    /// No skip.
    pub required: bool,
    /// CSRF token.
    pub csrf: &'a str,
    /// Flow id.
    pub flow: &'a str,
}

/// `enroll_secret.html`.
#[derive(Template)]
#[template(path = "enroll_secret.html")]
pub struct SecretPage<'a> {
    /// User.
    pub user: &'a str,
    /// The QR code (SVG markup made by `twofold_core::totp::qr_svg`, not user input).
    pub qr_svg: &'a str,
    /// The manual-entry key.
    pub text_key: &'a str,
    /// Message of the last attempt.
    pub notice: Option<&'a str>,
    /// CSRF token.
    pub csrf: &'a str,
    /// Flow id.
    pub flow: &'a str,
}

async fn finish(r: HttpResult<Response>) -> Response {
    match r {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

/// The SVG for inline use (without an XML declaration).
fn inline_svg(uri: &str) -> Result<String, HttpError> {
    let svg = twofold_core::totp::qr_svg(uri).map_err(HttpError::Internal)?;
    Ok(match svg.find("<svg") {
        Some(i) => svg[i..].to_string(),
        None => svg,
    })
}

/// `GET /signin/enroll`.
pub async fn get(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    finish(
        async {
            let web = Web::load(&state, &headers).await?;
            let flow = web.flow(None).ok_or_else(stale_flow)?.clone();
            let user = flow.user.clone().unwrap_or_default();
            let body = match flow.stage {
                Stage::EnrollOffer => render(&OfferPage {
                    user: &user,
                    required: flow.enroll_required,
                    csrf: &web.data.csrf,
                    flow: &flow.id,
                }),
                Stage::EnrollConfirm => {
                    let sealed = flow.enroll_secret.as_deref().ok_or_else(stale_flow)?;
                    let plain = unseal(&state, &flow.id, sealed).ok_or_else(stale_flow)?;
                    let secret: PendingSecret = serde_json::from_slice(&plain)
                        .map_err(|e| HttpError::Internal(format!("pending secret: {e}")))?;
                    let svg = inline_svg(&secret.otpauth_uri)?;
                    render(&SecretPage {
                        user: &user,
                        qr_svg: &svg,
                        text_key: &secret.text_key,
                        notice: flow.notice.as_deref(),
                        csrf: &web.data.csrf,
                        flow: &flow.id,
                    })
                }
                Stage::Enrolled => {
                    // The codes were shown once; a reload does not show them again.
                    crate::http::pages::message_page(
                        axum::http::StatusCode::OK,
                        "Backup codes",
                        "Your backup codes were shown once and are not shown again. You can make new ones on your security settings page.",
                    )
                }
                Stage::Password => return go(&state, web, "/signin").await,
                Stage::Challenge | Stage::Locked => return go(&state, web, "/signin/code").await,
            };
            let cookie = web.save(&state).await?;
            Ok(crate::http::respond::with_cookie(body, cookie))
        }
        .await,
    )
    .await
}

/// Loads the session and the flow of a form at `stage`, checking CSRF.
async fn form_flow(
    state: &Arc<AppState>,
    headers: &HeaderMap,
    body: &[u8],
    stage: Stage,
) -> HttpResult<(Web, crate::http::params::Params, String)> {
    let f = form(headers, body)?;
    let web = Web::load(state, headers).await?;
    csrf::check(state, &web, headers, f.get("csrf"))?;
    let flow = web.flow(f.get("flow")).ok_or_else(stale_flow)?;
    if flow.stage != stage {
        return Err(stale_flow());
    }
    let vs = flow.vsession.clone().ok_or_else(stale_flow)?;
    Ok((web, f, vs))
}

/// `POST /signin/enroll/start`: issue a secret.
pub async fn start(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    finish(
        async {
            let (web, _, vs) = form_flow(&state, &headers, &body, Stage::EnrollOffer).await?;
            let reply = engine(&state, move |e| e.enroll_start(&vs)).await?;
            apply(&state, web, reply).await
        }
        .await,
    )
    .await
}

/// `POST /signin/enroll/skip`: decline an optional enrollment.
pub async fn skip(State(state): State<Arc<AppState>>, headers: HeaderMap, body: Bytes) -> Response {
    finish(
        async {
            let (web, _, vs) = form_flow(&state, &headers, &body, Stage::EnrollOffer).await?;
            let reply = engine(&state, move |e| e.enroll_skip(&vs)).await?;
            apply(&state, web, reply).await
        }
        .await,
    )
    .await
}

/// `POST /signin/enroll/confirm`: the first code from the new authenticator entry.
pub async fn confirm(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    finish(
        async {
            state.throttle(peer, &headers, Purpose::SignIn)?;
            let (web, mut f, vs) = form_flow(&state, &headers, &body, Stage::EnrollConfirm).await?;
            let code = Code::new(f.take("code").unwrap_or_default());
            let reply = engine(&state, move |e| e.enroll_confirm(&vs, &code)).await?;
            apply(&state, web, reply).await
        }
        .await,
    )
    .await
}
