//! CSRF protection of every state-changing form (sign-in, second factor, enrollment, profile,
//! logout).
//!
//! Two checks, both required (R-96, B.6):
//! - the form's `csrf` field equals the token of the browser's own session (a token from another
//!   session, or none, is refused; compared in constant time);
//! - the browser's own signals, when it sends them: `Sec-Fetch-Site` must be `same-origin` or
//!   `none`, and an `Origin` header must be the issuer's origin.
//!
//! State-changing endpoints are POST-only, so a top-level cross-site GET changes nothing.

use crate::http::errors::HttpError;
use crate::http::session::Web;
use crate::http::state::AppState;
use axum::http::HeaderMap;
use subtle::ConstantTimeEq;

/// The issuer's origin (`scheme://host[:port]`).
pub fn origin_of(issuer: &str) -> String {
    match url::Url::parse(issuer) {
        Ok(u) => u.origin().ascii_serialization(),
        Err(_) => issuer.to_string(),
    }
}

/// Checks a form submission.
pub fn check(
    state: &AppState,
    web: &Web,
    headers: &HeaderMap,
    token: Option<&str>,
) -> Result<(), HttpError> {
    let site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
    if let Some(site) = site
        && !matches!(site, "same-origin" | "none")
    {
        return Err(HttpError::forbidden(
            "This form was sent from another site, so it was refused.",
        ));
    }
    // Browsers that send Sec-Fetch-Site were judged above (with `Referrer-Policy: no-referrer`
    // they send `Origin: null` even for their own forms); for others, an Origin must match.
    if site.is_none()
        && let Some(origin) = headers.get("origin").and_then(|v| v.to_str().ok())
        && origin != origin_of(&state.issuer)
    {
        return Err(HttpError::forbidden(
            "This form was sent from another site, so it was refused.",
        ));
    }
    let expected = web.data.csrf.as_bytes();
    let ok = web.hash.is_some()
        && !expected.is_empty()
        && token.is_some_and(|t| bool::from(t.as_bytes().ct_eq(expected)));
    if ok {
        Ok(())
    } else {
        Err(HttpError::forbidden(
            "This form has expired or did not come from this sign-in page. Go back to the application and start again.",
        ))
    }
}
