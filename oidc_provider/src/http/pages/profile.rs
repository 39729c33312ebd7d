//! The profile page of a signed-in user: enrollment state, default method, phone, email,
//! backup codes left; regenerate backup codes and change the default method, phone and email.
//!
//! Changing a factor needs a recent full sign-in (`reauth_secs`, default 5 minutes, R-38/R-57):
//! otherwise the page offers "sign in again", which runs the whole sign-in (first and second
//! factor, without honouring a remembered device). Every change goes through the engine, which
//! validates it and writes the audit event with the user as the actor.

use crate::http::csrf;
use crate::http::errors::{HttpError, HttpResult};
use crate::http::pages::flow::{BackupCodesPage, go};
use crate::http::pages::{engine, form, render};
use crate::http::session::{Flow, Stage, Target, Web};
use crate::http::state::AppState;
use crate::http::throttle::Purpose;
use askama::Template;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use std::net::SocketAddr;
use std::sync::Arc;
use twofold_core::proto::Method;
use twofold_core::store::oidc::AuthContext;

/// `profile.html`.
#[derive(Template)]
#[template(path = "profile.html")]
pub struct ProfilePage<'a> {
    /// User.
    pub user: &'a str,
    /// Enrollment state in words.
    pub status: &'a str,
    /// Default method label.
    pub default_method: &'a str,
    /// Masked phone.
    pub phone: &'a str,
    /// Masked email.
    pub email: &'a str,
    /// Backup codes left.
    pub backup_left: u32,
    /// Recent full sign-in: changes allowed.
    pub fresh: bool,
    /// Methods to choose as default: (settings name, label).
    pub methods: Vec<(&'static str, &'static str)>,
    /// Message of the last change.
    pub notice: Option<&'a str>,
    /// CSRF token.
    pub csrf: &'a str,
}

async fn finish(r: HttpResult<Response>) -> Response {
    match r {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

fn new_flow(state: &AppState, target: Target) -> Flow {
    Flow {
        step_up: true,
        id: state.token(),
        target,
        stage: Stage::Password,
        user: None,
        vsession: None,
        challenge: None,
        enroll_required: false,
        enroll_secret: None,
        notice: None,
        remember: false,
        second_factor: None,
        started_at: state.now(),
    }
}

/// `GET /profile`: the page, or a sign-in first.
pub async fn get(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    finish(
        async {
            let mut web = Web::load(&state, &headers).await?;
            let Some(auth) = web.authenticated(&state) else {
                web.data.flow = Some(new_flow(&state, Target::Profile));
                web.dirty = true;
                return go(&state, web, "/signin").await;
            };
            let user = auth.user.clone();
            let view = engine(&state, move |e| e.user_view(&user)).await?;
            let fresh = state.now() - auth.auth_time <= state.cfg.reauth_secs;
            let notice = web.data.flash.take();
            if notice.is_some() {
                web.dirty = true;
            }
            let phone = view.phone_masked.unwrap_or_else(|| "not set".into());
            let email = view.email_masked.unwrap_or_else(|| "not set".into());
            let body = render(&ProfilePage {
                user: &auth.user,
                status: match view.status {
                    twofold_core::store::EnrollmentStatus::Enrolled => "set up",
                    twofold_core::store::EnrollmentStatus::Pending => "set-up not finished",
                    twofold_core::store::EnrollmentStatus::NotEnrolled => "not set up",
                },
                default_method: view.default_method.label(),
                phone: &phone,
                email: &email,
                backup_left: view.backup_codes_left,
                fresh,
                methods: view
                    .methods
                    .iter()
                    .filter(|m| **m != Method::BackupCode)
                    .map(|m| (m.as_str(), m.label()))
                    .collect(),
                notice: notice.as_deref(),
                csrf: &web.data.csrf,
            });
            let cookie = web.save(&state).await?;
            Ok(crate::http::respond::with_cookie(body, cookie))
        }
        .await,
    )
    .await
}

/// A profile form: CSRF checked, the signed-in user, and whether a change is allowed now.
async fn profile_form(
    state: &Arc<AppState>,
    headers: &HeaderMap,
    body: &[u8],
    needs_fresh: bool,
) -> HttpResult<(Web, crate::http::params::Params, AuthContext)> {
    let f = form(headers, body)?;
    let web = Web::load(state, headers).await?;
    csrf::check(state, &web, headers, f.get("csrf"))?;
    let auth = web.authenticated(state).ok_or_else(|| {
        HttpError::forbidden("You are not signed in any more. Open the profile page again.")
    })?;
    if needs_fresh && state.now() - auth.auth_time > state.cfg.reauth_secs {
        return Err(HttpError::forbidden(
            "Changing a factor needs a recent sign-in. Open the profile page and sign in again.",
        ));
    }
    Ok((web, f, auth))
}

/// `POST /profile/reauth`: a full sign-in before changes.
pub async fn reauth(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    finish(
        async {
            let (mut web, _, _) = profile_form(&state, &headers, &body, false).await?;
            web.data.flow = Some(new_flow(&state, Target::Profile));
            web.dirty = true;
            go(&state, web, "/signin").await
        }
        .await,
    )
    .await
}

/// `POST /profile/backup-codes`: a new set (the old one stops working), shown once.
pub async fn regenerate(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    finish(
        async {
            state.throttle(peer, &headers, Purpose::SignIn)?;
            let (web, _, auth) = profile_form(&state, &headers, &body, true).await?;
            let user = auth.user.clone();
            let codes = engine(&state, move |e| e.regenerate_backup_codes(&user, &user)).await?;
            let csrf_token = web.data.csrf.clone();
            let cookie = web.save(&state).await?;
            let page = render(&BackupCodesPage {
                intro: "Here are your new backup codes. The old ones no longer work.",
                codes: &codes,
                action: "/profile/done",
                csrf: &csrf_token,
                flow: "",
            });
            Ok(crate::http::respond::with_cookie(page, cookie))
        }
        .await,
    )
    .await
}

/// `POST /profile/done`: back to the profile after the codes were shown.
pub async fn done(State(state): State<Arc<AppState>>, headers: HeaderMap, body: Bytes) -> Response {
    finish(
        async {
            let (web, _, _) = profile_form(&state, &headers, &body, false).await?;
            go(&state, web, "/profile").await
        }
        .await,
    )
    .await
}

async fn change(
    state: &Arc<AppState>,
    peer: SocketAddr,
    headers: &HeaderMap,
    body: &[u8],
    what: &'static str,
) -> HttpResult<Response> {
    state.throttle(peer, headers, Purpose::SignIn)?;
    let (mut web, mut f, auth) = profile_form(state, headers, body, true).await?;
    let user = auth.user.clone();
    let value = f.take(what).unwrap_or_default();
    let result = match what {
        "method" => {
            let m = Method::parse(&value)
                .ok_or_else(|| HttpError::bad_page("Invalid form", "Unknown method."))?;
            engine(state, move |e| {
                e.set_default_method(&user, &user, m)
                    .map(|_| format!("Your default method is now {}.", m.label()))
            })
            .await
        }
        "phone" => {
            engine(state, move |e| {
                e.set_phone(&user, &user, &value).map(|p| {
                    format!(
                        "Your phone number is now {}.",
                        twofold_core::engine::mask_phone(&p)
                    )
                })
            })
            .await
        }
        _ => {
            engine(state, move |e| {
                e.set_email(&user, &user, &value).map(|m| {
                    format!(
                        "Your email address is now {}.",
                        twofold_core::engine::mask_email(&m)
                    )
                })
            })
            .await
        }
    };
    web.data.flash = Some(match result {
        Ok(msg) => msg,
        Err(HttpError::Refused(why)) => why,
        Err(e) => return Err(e),
    });
    web.dirty = true;
    go(state, web, "/profile").await
}

/// `POST /profile/default-method`.
pub async fn default_method(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    finish(change(&state, peer, &headers, &body, "method").await).await
}

/// `POST /profile/phone`.
pub async fn phone(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    finish(change(&state, peer, &headers, &body, "phone").await).await
}

/// `POST /profile/email`.
pub async fn email(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    finish(change(&state, peer, &headers, &body, "email").await).await
}

/// `POST /profile/signout`.
pub async fn signout(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    finish(
        async {
            let (web, _, _) = profile_form(&state, &headers, &body, false).await?;
            web.destroy(&state).await?;
            let mut r = crate::http::pages::message_page(
                axum::http::StatusCode::OK,
                "Signed out",
                "You are signed out.",
            );
            if let Some(c) = state.cookie_header(state.session_cookie_name(), "", Some(0)) {
                r.headers_mut().append(axum::http::header::SET_COOKIE, c);
            }
            Ok(r)
        }
        .await,
    )
    .await
}
