//! The sign-in page (user name and password) and the restart of a locked sign-in.
//!
//! A wrong password and an unknown user get the same message, in the same time (the unknown
//! user is checked against a dummy hash). After the first factor the session id is replaced
//! (fixation) and the engine decides the second factor, exactly as for PAM, under the service
//! name `oidc:CLIENT_ID`.

use crate::http::csrf;
use crate::http::errors::{HttpError, HttpResult};
use crate::http::first_factor;
use crate::http::pages::flow::{apply_carrying, go};
use crate::http::pages::{engine, form, render, stale_flow};
use crate::http::session::{Stage, Target, Web, cookie};
use crate::http::state::AppState;
use crate::http::throttle::Purpose;
use askama::Template;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use std::net::SocketAddr;
use std::sync::Arc;
use twofold_core::engine::SignInAttempt;
use twofold_core::store::AuditEvent;
use zeroize::Zeroizing;

/// `signin.html`.
#[derive(Template)]
#[template(path = "signin.html")]
pub struct SignInPage<'a> {
    /// The application's name.
    pub client_name: &'a str,
    /// Prefilled user name.
    pub username: &'a str,
    /// Message from the last attempt.
    pub notice: Option<&'a str>,
    /// CSRF token.
    pub csrf: &'a str,
    /// Flow id.
    pub flow: &'a str,
}

/// The service name the engine sees for a flow.
pub fn service_of(target: &Target) -> String {
    match target {
        Target::Authorize(r) => format!("oidc:{}", r.client_id),
        Target::Profile => "oidc:profile".into(),
    }
}

/// `GET /signin`.
pub async fn get(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    match page(&state, &headers).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

async fn page(state: &Arc<AppState>, headers: &HeaderMap) -> HttpResult<Response> {
    let web = Web::load(state, headers).await?;
    let flow = web.flow(None).ok_or_else(stale_flow)?;
    match flow.stage {
        Stage::Password => {}
        Stage::Challenge | Stage::Locked => return go(state, web, "/signin/code").await,
        Stage::EnrollOffer | Stage::EnrollConfirm | Stage::Enrolled => {
            return go(state, web, "/signin/enroll").await;
        }
    }
    let client_name = match &flow.target {
        Target::Authorize(r) => state
            .clients
            .get(state, &r.client_id)
            .await?
            .map(|c| c.name.clone())
            .unwrap_or_else(|| r.client_id.clone()),
        Target::Profile => "your security settings".into(),
    };
    let hint = match &flow.target {
        Target::Authorize(r) => r.login_hint.clone(),
        Target::Profile => web.data.auth.as_ref().map(|a| a.user.clone()),
    };
    let username = flow.user.clone().or(hint).unwrap_or_default();
    let body = render(&SignInPage {
        client_name: &client_name,
        username: &username,
        notice: flow.notice.as_deref(),
        csrf: &web.data.csrf,
        flow: &flow.id,
    });
    let cookie = web.save(state).await?;
    Ok(crate::http::respond::with_cookie(body, cookie))
}

/// `POST /signin`.
pub async fn post(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match submit(&state, peer, &headers, &body).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

async fn submit(
    state: &Arc<AppState>,
    peer: SocketAddr,
    headers: &HeaderMap,
    body: &[u8],
) -> HttpResult<Response> {
    state.throttle(peer, headers, Purpose::SignIn)?;
    let mut f = form(headers, body)?;
    let mut web = Web::load(state, headers).await?;
    csrf::check(state, &web, headers, f.get("csrf"))?;
    let flow = web.flow(f.get("flow")).ok_or_else(stale_flow)?.clone();
    if flow.stage != Stage::Password {
        return Err(stale_flow());
    }
    let username = f.take("username").unwrap_or_default();
    let password = Zeroizing::new(f.take("password").unwrap_or_default());
    let valid_name = crate::validate_username(&username).is_ok() && password.len() <= 1024;
    let ok = if valid_name {
        first_factor::check(state, username.clone(), password).await?
    } else {
        let dummy = state.dummy_hash.clone();
        state
            .pool
            .run(move || first_factor::verify_password_kept(&password, &dummy))
            .await?;
        false
    };
    let service = service_of(&flow.target);
    let source = state.source(peer, headers);
    if !ok {
        let (st, svc, user) = (state.clone(), service.clone(), username.clone());
        let at = state.now();
        tokio::task::spawn_blocking(move || {
            let e = AuditEvent {
                at,
                actor: "daemon".into(),
                event: "auth.first_factor".into(),
                user: crate::validate_username(&user).ok().map(|_| user),
                outcome: "refused".into(),
                detail: format!("wrong user name or password at {svc} from {source}"),
            };
            if let Err(err) = st.daemon.engine.store.audit(&e) {
                tracing::warn!(error = %err, "audit write failed");
            }
        });
        if let Some(fl) = web.data.flow.as_mut() {
            fl.notice = Some("Wrong user name or password.".into());
            fl.user = None;
        }
        web.dirty = true;
        return go(state, web, "/signin").await;
    }
    // First factor passed: a new session id before anything else.
    web.rotate(state);
    // A remembered device never skips a forced or step-up sign-in.
    let device_token = if flow.step_up || matches!(flow.target, Target::Profile) {
        None
    } else {
        cookie(headers, state.device_cookie_name())
            .filter(|t| t.len() <= 128)
            .map(str::to_string)
    };
    if let Some(fl) = web.data.flow.as_mut() {
        fl.user = Some(username.clone());
        fl.notice = None;
    }
    let attempt_user = username.clone();
    let attempt = SignInAttempt {
        user: username,
        service,
        rhost: Some(source.to_string()),
        roles: crate::http::roles::of(&state.first_factor, &attempt_user),
        look_up_roles: false,
        device_token,
    };
    let (reply, carried) = engine(state, move |e| e.begin_carrying(&attempt)).await?;
    apply_carrying(state, web, reply, carried).await
}

/// `POST /signin/restart`: after a lockout, a fresh sign-in for the same request (the engine
/// opens a new verification session with clean counters at the next password).
pub async fn restart(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let run = async {
        let f = form(&headers, &body)?;
        let mut web = Web::load(&state, &headers).await?;
        csrf::check(&state, &web, &headers, f.get("csrf"))?;
        let flow = web.flow(f.get("flow")).ok_or_else(stale_flow)?;
        if flow.stage != Stage::Locked {
            return Err(stale_flow());
        }
        if let Some(fl) = web.data.flow.as_mut() {
            fl.stage = Stage::Password;
            fl.vsession = None;
            fl.challenge = None;
            fl.notice = None;
            fl.second_factor = None;
            fl.remember = false;
        }
        web.dirty = true;
        go(&state, web, "/signin").await
    };
    match run.await {
        Ok(r) => r,
        Err::<_, HttpError>(e) => e.into_response(),
    }
}
