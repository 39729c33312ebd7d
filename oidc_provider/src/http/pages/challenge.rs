//! The second-factor page: the code prompt with the remaining attempts, a resend button for SMS
//! and email codes, the other methods when fallback is allowed, and (under
//! `unrecognized_devices`) "remember this device". Also the lockout page and the "continue"
//! after the backup codes.

use crate::http::csrf;
use crate::http::errors::{HttpError, HttpResult};
use crate::http::pages::flow::{apply, complete, go};
use crate::http::pages::{engine, form, render, stale_flow};
use crate::http::session::{Stage, Web};
use crate::http::state::AppState;
use crate::http::throttle::Purpose;
use askama::Template;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use std::net::SocketAddr;
use std::sync::Arc;
use twofold_core::proto::{Code, Method};
use twofold_core::settings::Enforcement;

/// `challenge.html`.
#[derive(Template)]
#[template(path = "challenge.html")]
pub struct ChallengePage<'a> {
    /// User signing in.
    pub user: &'a str,
    /// Method asked for (settings name).
    pub method: &'a str,
    /// Label of the code field.
    pub prompt: String,
    /// Information ("a code was sent to ...").
    pub info: Option<&'a str>,
    /// Message of the last attempt.
    pub notice: Option<&'a str>,
    /// Attempts left.
    pub attempts_left: Option<u32>,
    /// Other methods: (settings name, label).
    pub alternatives: Vec<(&'static str, &'static str)>,
    /// Show the resend button.
    pub resend: bool,
    /// Resends left.
    pub resends_left: Option<u32>,
    /// Offer "remember this device".
    pub remember_offer: bool,
    /// For how long.
    pub remember_days: u32,
    /// CSRF token.
    pub csrf: &'a str,
    /// Flow id.
    pub flow: &'a str,
}

/// `locked.html`.
#[derive(Template)]
#[template(path = "locked.html")]
pub struct LockedPage<'a> {
    /// What the engine said.
    pub message: &'a str,
    /// CSRF token.
    pub csrf: &'a str,
    /// Flow id.
    pub flow: &'a str,
}

fn prompt_of(m: Method) -> String {
    match m {
        Method::AuthenticatorApp => "Code from your authenticator app".into(),
        Method::Sms => "Code from the text message".into(),
        Method::Email => "Code from the email".into(),
        Method::BackupCode => "One of your backup codes".into(),
    }
}

async fn run<F>(f: F) -> Response
where
    F: std::future::Future<Output = HttpResult<Response>>,
{
    match f.await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

/// `GET /signin/code`.
pub async fn get(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    run(page(state, headers)).await
}

async fn page(state: Arc<AppState>, headers: HeaderMap) -> HttpResult<Response> {
    let web = Web::load(&state, &headers).await?;
    let flow = web.flow(None).ok_or_else(stale_flow)?.clone();
    let body = match flow.stage {
        Stage::Locked => render(&LockedPage {
            message: flow
                .notice
                .as_deref()
                .unwrap_or("Too many invalid attempts."),
            csrf: &web.data.csrf,
            flow: &flow.id,
        }),
        Stage::Challenge => {
            let c = flow.challenge.clone().ok_or_else(stale_flow)?;
            let settings = engine(&state, |e| e.store.load_settings()).await?.settings;
            let user = flow.user.clone().unwrap_or_default();
            render(&ChallengePage {
                user: &user,
                method: c.method.as_str(),
                prompt: prompt_of(c.method),
                info: c.info.as_deref(),
                notice: flow.notice.as_deref(),
                attempts_left: c.attempts_left,
                alternatives: c
                    .alternatives
                    .iter()
                    .filter(|m| **m != c.method)
                    .map(|m| (m.as_str(), m.label()))
                    .collect(),
                resend: c.method.is_out_of_band() && c.resends_left != Some(0),
                resends_left: c.resends_left,
                remember_offer: settings.enforcement == Enforcement::UnrecognizedDevices
                    && matches!(flow.target, crate::http::session::Target::Authorize(_)),
                remember_days: settings.device_recognition.remember_days,
                csrf: &web.data.csrf,
                flow: &flow.id,
            })
        }
        Stage::Password => return go(&state, web, "/signin").await,
        Stage::EnrollOffer | Stage::EnrollConfirm | Stage::Enrolled => {
            return go(&state, web, "/signin/enroll").await;
        }
    };
    let cookie = web.save(&state).await?;
    Ok(crate::http::respond::with_cookie(body, cookie))
}

/// `POST /signin/code`: checks the code with the engine.
pub async fn post(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    run(async move {
        state.throttle(peer, &headers, Purpose::SignIn)?;
        let mut f = form(&headers, &body)?;
        let mut web = Web::load(&state, &headers).await?;
        csrf::check(&state, &web, &headers, f.get("csrf"))?;
        let flow = web.flow(f.get("flow")).ok_or_else(stale_flow)?.clone();
        if flow.stage != Stage::Challenge {
            return Err(stale_flow());
        }
        let c = flow.challenge.clone().ok_or_else(stale_flow)?;
        let method = match f.get("method").and_then(Method::parse) {
            Some(m) if m == c.method => m,
            _ => {
                return Err(HttpError::bad_page(
                    "Invalid form",
                    "The method of this form is not the one asked for.",
                ));
            }
        };
        let code = Code::new(f.take("code").unwrap_or_default());
        if let Some(fl) = web.data.flow.as_mut() {
            fl.remember = f.get("remember") == Some("1");
        }
        let session = c.session.clone();
        let reply = engine(&state, move |e| e.verify(&session, method, &code)).await?;
        apply(&state, web, reply).await
    })
    .await
}

/// `POST /signin/method`: switch to another method, or the same one again to resend.
pub async fn switch(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    run(async move {
        state.throttle(peer, &headers, Purpose::SignIn)?;
        let f = form(&headers, &body)?;
        let web = Web::load(&state, &headers).await?;
        csrf::check(&state, &web, &headers, f.get("csrf"))?;
        let flow = web.flow(f.get("flow")).ok_or_else(stale_flow)?.clone();
        if flow.stage != Stage::Challenge {
            return Err(stale_flow());
        }
        let c = flow.challenge.clone().ok_or_else(stale_flow)?;
        let method = f
            .get("method")
            .and_then(Method::parse)
            .ok_or_else(|| HttpError::bad_page("Invalid form", "Unknown method."))?;
        if method != c.method && !c.alternatives.contains(&method) {
            return Err(HttpError::bad_page(
                "Invalid form",
                "That method is not available for this sign-in.",
            ));
        }
        let session = c.session.clone();
        let reply = engine(&state, move |e| e.switch(&session, method)).await?;
        apply(&state, web, reply).await
    })
    .await
}

/// `POST /signin/continue`: after the backup codes were shown, finish the sign-in.
pub async fn continue_after_codes(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    run(async move {
        let f = form(&headers, &body)?;
        let web = Web::load(&state, &headers).await?;
        csrf::check(&state, &web, &headers, f.get("csrf"))?;
        let flow = web.flow(f.get("flow")).ok_or_else(stale_flow)?.clone();
        if flow.stage != Stage::Enrolled {
            return Err(stale_flow());
        }
        complete(
            &state,
            web,
            flow.second_factor.or(Some(Method::AuthenticatorApp)),
        )
        .await
    })
    .await
}
