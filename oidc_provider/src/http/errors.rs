//! Errors of the HTTP layer and how each is answered.
//!
//! - OAuth errors at the token and userinfo endpoints: JSON `{"error", "error_description"}`
//!   (RFC 6749 §5.2), `401` + `WWW-Authenticate` for client and bearer failures.
//! - Authorization errors are redirected to the client's registered redirect URI with `error`,
//!   `error_description`, `state` and `iss` — except when the client or the redirect URI cannot be
//!   trusted, which gets an HTML error page and never a redirect (RFC 6749 §4.1.2.1).
//! - Internal failures (store, engine) are logged with their detail and answered with a generic
//!   page or body: no SQL, no paths, no stack traces reach the browser (ASVS 16.5.1).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// An OAuth 2.0 / OpenID Connect error code with its description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    /// `error` (`invalid_request`, `invalid_grant`, ...).
    pub code: &'static str,
    /// `error_description`, safe to show.
    pub description: String,
}

impl OAuthError {
    /// An error with a description.
    pub fn new(code: &'static str, description: impl Into<String>) -> OAuthError {
        OAuthError {
            code,
            description: description.into(),
        }
    }
    /// `invalid_request`.
    pub fn invalid_request(d: impl Into<String>) -> OAuthError {
        OAuthError::new("invalid_request", d)
    }
    /// `invalid_grant`.
    pub fn invalid_grant(d: impl Into<String>) -> OAuthError {
        OAuthError::new("invalid_grant", d)
    }
}

/// Errors a handler may end with.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// A JSON OAuth error (token, userinfo) with this status.
    #[error("{}: {}", .1.code, .1.description)]
    OAuthJson(StatusCode, OAuthError),
    /// `invalid_client` (401 with `WWW-Authenticate: Basic`).
    #[error("invalid_client: {0}")]
    InvalidClient(String),
    /// A bearer-token failure at userinfo (401 with `WWW-Authenticate: Bearer`).
    #[error("invalid_token: {0}")]
    InvalidToken(String),
    /// An HTML error page for a person (bad request that cannot be redirected).
    #[error("{title}: {message}")]
    Page {
        /// Status code.
        status: StatusCode,
        /// Heading.
        title: String,
        /// Explanation, in words for the person.
        message: String,
    },
    /// Too many requests from this source.
    #[error("too many requests")]
    Throttled {
        /// Seconds until a retry may succeed.
        retry_after: u64,
    },
    /// Password hashing queue is full.
    #[error("busy")]
    Busy,
    /// The engine refused the input (bad phone number, ...); the message is for the person.
    #[error("refused: {0}")]
    Refused(String),
    /// The store is unavailable (fail closed, retry later).
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// Something failed inside; the detail is logged, never shown.
    #[error("internal: {0}")]
    Internal(String),
}

impl HttpError {
    /// A 400 page.
    pub fn bad_page(title: impl Into<String>, message: impl Into<String>) -> HttpError {
        HttpError::Page {
            status: StatusCode::BAD_REQUEST,
            title: title.into(),
            message: message.into(),
        }
    }
    /// A 403 page (CSRF and origin checks).
    pub fn forbidden(message: impl Into<String>) -> HttpError {
        HttpError::Page {
            status: StatusCode::FORBIDDEN,
            title: "Request refused".into(),
            message: message.into(),
        }
    }
    /// A JSON 400.
    pub fn oauth(e: OAuthError) -> HttpError {
        HttpError::OAuthJson(StatusCode::BAD_REQUEST, e)
    }
}

impl From<twofold_core::Error> for HttpError {
    fn from(e: twofold_core::Error) -> Self {
        match e {
            twofold_core::Error::Invalid(m) => HttpError::Refused(m),
            twofold_core::Error::Unavailable(m) => HttpError::Unavailable(m),
            other => HttpError::Internal(other.to_string()),
        }
    }
}

impl From<tokio::task::JoinError> for HttpError {
    fn from(e: tokio::task::JoinError) -> Self {
        HttpError::Internal(format!("blocking task failed: {e}"))
    }
}

pub use crate::http::respond::no_store;

fn json_error(status: StatusCode, e: &OAuthError) -> Response {
    let body = serde_json::json!({"error": e.code, "error_description": e.description});
    no_store((status, axum::Json(body)).into_response())
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        match self {
            HttpError::OAuthJson(status, e) => json_error(status, &e),
            HttpError::InvalidClient(d) => {
                let mut r = json_error(
                    StatusCode::UNAUTHORIZED,
                    &OAuthError::new("invalid_client", d),
                );
                r.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Basic realm=\"twofold\""),
                );
                r
            }
            HttpError::InvalidToken(d) => {
                let mut r = json_error(
                    StatusCode::UNAUTHORIZED,
                    &OAuthError::new("invalid_token", d),
                );
                r.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"twofold\", error=\"invalid_token\""),
                );
                r
            }
            HttpError::Page {
                status,
                title,
                message,
            } => crate::http::pages::message_page(status, &title, &message),
            HttpError::Throttled { retry_after } => {
                let mut r = crate::http::pages::message_page(
                    StatusCode::TOO_MANY_REQUESTS,
                    "Too many attempts",
                    "Too many requests came from your address. Wait a minute and try again.",
                );
                if let Ok(v) = HeaderValue::from_str(&retry_after.to_string()) {
                    r.headers_mut().insert(header::RETRY_AFTER, v);
                }
                r
            }
            HttpError::Busy => {
                let mut r = crate::http::pages::message_page(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Busy",
                    "The sign-in service is busy. Try again in a few seconds.",
                );
                r.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("2"));
                r
            }
            HttpError::Refused(message) => {
                crate::http::pages::message_page(StatusCode::BAD_REQUEST, "Not accepted", &message)
            }
            HttpError::Unavailable(detail) => {
                tracing::error!(%detail, "store unavailable");
                let mut r = crate::http::pages::message_page(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Temporarily unavailable",
                    "The sign-in service cannot reach its database right now. Try again in a moment.",
                );
                r.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
                r
            }
            HttpError::Internal(detail) => {
                tracing::error!(%detail, "internal error");
                crate::http::pages::message_page(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong",
                    "The sign-in service could not complete the request. Try again later; if it keeps happening, tell your administrator.",
                )
            }
        }
    }
}

/// Result of a handler.
pub type HttpResult<T> = Result<T, HttpError>;
