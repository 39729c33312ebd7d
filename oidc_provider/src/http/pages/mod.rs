//! The server-rendered pages: sign-in, second factor, enrollment, backup codes, profile, and
//! the message pages. Templates are askama (compiled in, HTML auto-escaped); no page needs
//! JavaScript.

pub mod challenge;
pub mod enroll;
pub mod flow;
pub mod profile;
pub mod signin;

use crate::http::errors::{HttpError, HttpResult};
use crate::http::params::{ParamError, Params};
use crate::http::respond;
use crate::http::state::AppState;
use askama::Template;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use std::sync::Arc;
use twofold_core::engine::Engine;

/// `message.html`.
#[derive(Template)]
#[template(path = "message.html")]
pub struct MessagePage<'a> {
    /// Heading.
    pub title: &'a str,
    /// Text.
    pub message: &'a str,
    /// Optional link.
    pub link: Option<&'a str>,
    /// Its text.
    pub link_text: &'a str,
}

/// Renders a template, or a minimal generic page if rendering fails.
pub fn render<T: Template>(t: &T) -> Response {
    match t.render() {
        Ok(s) => respond::html(s),
        Err(e) => {
            tracing::error!(error = %e, "template rendering failed");
            respond::no_store(
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "The page could not be shown. Try again later.",
                )
                    .into_response(),
            )
        }
    }
}

/// A page with a heading and a message, with a status.
pub fn message_page(status: StatusCode, title: &str, message: &str) -> Response {
    let mut r = render(&MessagePage {
        title,
        message,
        link: None,
        link_text: "",
    });
    *r.status_mut() = status;
    r
}

/// Parses a page's form body: URL-encoded, each field once.
pub fn form(headers: &HeaderMap, body: &[u8]) -> HttpResult<Params> {
    if !crate::http::authorize::is_form(headers) {
        return Err(HttpError::bad_page(
            "Invalid form",
            "The form was not sent as a web form.",
        ));
    }
    Params::parse(body).map_err(|e| match e {
        ParamError::Duplicate(n) => {
            HttpError::bad_page("Invalid form", format!("The field {n} was sent twice."))
        }
        ParamError::Encoding => HttpError::bad_page("Invalid form", "The form is not valid UTF-8."),
    })
}

/// Runs an engine operation on a blocking thread.
pub async fn engine<T, F>(state: &Arc<AppState>, f: F) -> HttpResult<T>
where
    T: Send + 'static,
    F: FnOnce(&Engine) -> twofold_core::Result<T> + Send + 'static,
{
    let st = state.clone();
    let out = state.store(move || f(&st.daemon.engine)).await??;
    Ok(out)
}

/// The page shown when a form's flow is not the session's (expired, replaced, other tab).
pub fn stale_flow() -> HttpError {
    HttpError::bad_page(
        "This sign-in has expired",
        "This sign-in is no longer active (it expired, finished, or was replaced by a newer one). Go back to the application and sign in again.",
    )
}
