//! The authorization endpoint (`GET` and `POST /authorize`, code flow) and the issuing of
//! authorization codes when a sign-in completes.
//!
//! Order of checks (RFC 6749 §4.1.2.1, OIDC Core 3.1.2.2 and 3.1.2.6):
//! 1. parameters parse (valid UTF-8); `client_id` and `redirect_uri` each present once, the
//!    client known and the URI registered (exact string match) — otherwise an **error page**,
//!    never a redirect;
//! 2. everything else is answered by a redirect to that URI with `error`, `state` and `iss`:
//!    duplicated parameters, `response_type` (only `code`), `request`/`request_uri` (not
//!    supported), `response_mode` (only `query`), `scope` (must contain `openid`, known values
//!    only), PKCE (S256 only; required for public clients), `prompt`, `max_age`, `nonce`,
//!    `id_token_hint`;
//! 3. then the session decides: a signed-in user within `max_age` and without `prompt=login`
//!    gets a code at once (`prompt=none` too); `prompt=none` without one gets `login_required`;
//!    anyone else starts a sign-in.

use crate::http::errors::{HttpError, HttpResult, OAuthError};
use crate::http::idtoken;
use crate::http::params::{self, ParamError, Params};
use crate::http::session::{AuthRequest, Flow, Stage, Target, Web};
use crate::http::state::AppState;
use crate::http::{pkce, respond};
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use std::sync::Arc;
use twofold_core::store::oidc::{AuthCode, AuthContext};

/// Scopes the provider knows.
pub const SCOPES: [&str; 6] = [
    "openid",
    "profile",
    "email",
    "phone",
    "address",
    "offline_access",
];
/// Longest `nonce` accepted.
pub const MAX_NONCE: usize = 2048;

/// `GET /authorize`.
pub async fn get(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    let raw = q.unwrap_or_default();
    handle(&state, &headers, raw.as_bytes()).await
}

/// `POST /authorize` (form body; a query string alongside it is refused as ambiguous).
pub async fn post(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Response {
    if q.as_deref().is_some_and(|q| !q.is_empty()) {
        return HttpError::bad_page(
            "Invalid sign-in request",
            "invalid_request: an authorization request sent by POST must carry its parameters in the body only.",
        )
        .into_response();
    }
    if !is_form(&headers) {
        return HttpError::bad_page(
            "Invalid sign-in request",
            "invalid_request: the body must be application/x-www-form-urlencoded.",
        )
        .into_response();
    }
    handle(&state, &headers, &body).await
}

/// Whether the request body is a URL-encoded form.
pub fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

async fn handle(state: &Arc<AppState>, headers: &HeaderMap, raw: &[u8]) -> Response {
    match authorize(state, headers, raw).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

/// Parameters, tolerating duplicates long enough to find a trustworthy redirect URI.
fn lenient(raw: &[u8]) -> Result<(Params, Option<String>), HttpError> {
    match Params::parse(raw) {
        Ok(p) => Ok((p, None)),
        Err(ParamError::Encoding) => Err(HttpError::bad_page(
            "Invalid sign-in request",
            "invalid_request: the request parameters are not valid UTF-8.",
        )),
        Err(ParamError::Duplicate(name)) => {
            // Keep the first value of each name to locate the client, then refuse.
            let mut seen = std::collections::HashSet::new();
            let deduped: Vec<&[u8]> = raw
                .split(|b| *b == b'&')
                .filter(|part| {
                    let k = part.split(|b| *b == b'=').next().unwrap_or_default();
                    seen.insert(k.to_vec())
                })
                .collect();
            let p = Params::parse(&deduped.join(&b'&')).map_err(|_| {
                HttpError::bad_page(
                    "Invalid sign-in request",
                    "invalid_request: the request parameters are malformed.",
                )
            })?;
            Ok((p, Some(name)))
        }
    }
}

/// A redirect back to the client carrying an error.
pub fn error_redirect(
    state: &AppState,
    redirect_uri: &str,
    rp_state: Option<&str>,
    e: &OAuthError,
) -> Response {
    let q = params::query(&[
        ("error", Some(e.code)),
        ("error_description", Some(&e.description)),
        ("state", rp_state),
        ("iss", Some(&state.issuer)),
    ]);
    redirect_to(redirect_uri, &q)
}

fn redirect_to(uri: &str, query: &str) -> Response {
    let sep = if uri.contains('?') { '&' } else { '?' };
    respond::no_store(Redirect::to(&format!("{uri}{sep}{query}")).into_response())
}

/// A validated request with its session-related parameters.
struct Validated {
    req: AuthRequest,
    prompt_none: bool,
    force_login: bool,
    max_age: Option<i64>,
    hint_sub: Option<String>,
}

async fn authorize(state: &Arc<AppState>, headers: &HeaderMap, raw: &[u8]) -> HttpResult<Response> {
    let (p, duplicate) = lenient(raw)?;
    if matches!(duplicate.as_deref(), Some("client_id" | "redirect_uri")) {
        return Err(HttpError::bad_page(
            "Invalid sign-in request",
            "invalid_request: client_id or redirect_uri is included more than once.",
        ));
    }
    let client_id = p.get("client_id").ok_or_else(|| {
        HttpError::bad_page(
            "Invalid sign-in request",
            "invalid_request: client_id is missing.",
        )
    })?;
    let client = state.clients.get(state, client_id).await?.ok_or_else(|| {
        HttpError::bad_page(
            "Unknown application",
            "invalid_client: the application that sent you here is not registered with this sign-in service.",
        )
    })?;
    let redirect_uri = p.get("redirect_uri").ok_or_else(|| {
        HttpError::bad_page(
            "Invalid sign-in request",
            "invalid_request: redirect_uri is missing.",
        )
    })?;
    if !client.has_redirect(redirect_uri) {
        return Err(HttpError::bad_page(
            "Invalid sign-in request",
            "invalid_request: the redirect_uri is not registered for this application, so you are not sent back to it.",
        ));
    }
    let rp_state = p.get("state");
    let fail = |e: OAuthError| Ok(error_redirect(state, redirect_uri, rp_state, &e));
    if let Some(name) = duplicate {
        return fail(OAuthError::invalid_request(format!(
            "parameter {name} is included more than once"
        )));
    }
    let v = match validate(state, &p, &client) {
        Ok(v) => v,
        Err(e) => return fail(e),
    };
    let mut web = Web::load(state, headers).await?;
    let now = state.now();
    let current = web.authenticated(state);
    let stale = match (&current, v.max_age) {
        (Some(a), Some(m)) => now - a.auth_time > m,
        _ => false,
    };
    let usable = current.filter(|a| {
        !v.force_login
            && !stale
            && v.hint_sub.as_deref().is_none_or(|s| s == a.user)
            && (v.prompt_none || v.req.login_hint.as_deref().is_none_or(|h| h == a.user))
    });
    if let Some(auth) = usable {
        let (code, resp) = new_code(state, &v.req, &auth);
        let cookie = web.save_with_code(state, Some(code), Vec::new()).await?;
        return Ok(respond::with_cookie(resp, cookie));
    }
    if v.prompt_none {
        return fail(OAuthError::new(
            "login_required",
            "the user is not signed in (or must sign in again), and prompt=none forbids asking",
        ));
    }
    let step_up = v.force_login || stale;
    let flow = Flow {
        step_up,
        id: state.token(),
        target: Target::Authorize(v.req),
        stage: Stage::Password,
        user: None,
        vsession: None,
        challenge: None,
        enroll_required: false,
        enroll_secret: None,
        notice: None,
        remember: false,
        second_factor: None,
        started_at: now,
    };
    web.data.flow = Some(flow);
    web.dirty = true;
    let cookie = web.save(state).await?;
    Ok(respond::with_cookie(
        respond::no_store(Redirect::to("/signin").into_response()),
        cookie,
    ))
}

fn validate(
    state: &AppState,
    p: &Params,
    client: &crate::http::clients::Client,
) -> Result<Validated, OAuthError> {
    match p.get("response_type") {
        None => return Err(OAuthError::invalid_request("response_type is missing")),
        Some("code") => {}
        Some(other) => {
            return Err(OAuthError::new(
                "unsupported_response_type",
                format!("response_type {other:?} is not supported; use code"),
            ));
        }
    }
    if p.has("request") {
        return Err(OAuthError::new(
            "request_not_supported",
            "request objects are not supported",
        ));
    }
    if p.has("request_uri") {
        return Err(OAuthError::new(
            "request_uri_not_supported",
            "request_uri is not supported",
        ));
    }
    if let Some(m) = p.get("response_mode")
        && m != "query"
    {
        return Err(OAuthError::invalid_request(format!(
            "response_mode {m:?} is not supported; use query"
        )));
    }
    let scope = p.get("scope").unwrap_or_default();
    let mut scopes: Vec<&str> = Vec::new();
    for s in scope.split(' ').filter(|s| !s.is_empty()) {
        if !SCOPES.contains(&s) {
            return Err(OAuthError::new(
                "invalid_scope",
                format!("scope {s:?} is not supported"),
            ));
        }
        if !scopes.contains(&s) {
            scopes.push(s);
        }
    }
    if !scopes.contains(&"openid") {
        return Err(OAuthError::new(
            "invalid_scope",
            "scope must include openid",
        ));
    }
    let code_challenge = match (p.get("code_challenge"), p.get("code_challenge_method")) {
        (Some(c), m) => {
            pkce::check_challenge(c, m).map_err(OAuthError::invalid_request)?;
            Some(c.to_string())
        }
        (None, Some(_)) => {
            return Err(OAuthError::invalid_request(
                "code_challenge_method without code_challenge",
            ));
        }
        (None, None) if client.is_public() => {
            return Err(OAuthError::invalid_request(
                "PKCE is required for public clients: send code_challenge with code_challenge_method=S256",
            ));
        }
        (None, None) => None,
    };
    let prompts: Vec<&str> = p
        .get("prompt")
        .unwrap_or_default()
        .split(' ')
        .filter(|s| !s.is_empty())
        .collect();
    for pr in &prompts {
        if !matches!(*pr, "none" | "login" | "consent" | "select_account") {
            return Err(OAuthError::invalid_request(format!(
                "prompt value {pr:?} is not supported"
            )));
        }
    }
    let prompt_none = prompts.contains(&"none");
    if prompt_none && prompts.len() > 1 {
        return Err(OAuthError::invalid_request(
            "prompt=none cannot be combined with other values",
        ));
    }
    let max_age = match p.get("max_age") {
        None => None,
        Some(m) => match m.parse::<i64>() {
            Ok(v) if v >= 0 => Some(v),
            _ => {
                return Err(OAuthError::invalid_request(
                    "max_age must be a non-negative integer",
                ));
            }
        },
    };
    let force_login = prompts.contains(&"login") || max_age == Some(0);
    if prompt_none && max_age == Some(0) {
        return Err(OAuthError::new(
            "login_required",
            "max_age=0 requires a new sign-in, which prompt=none forbids",
        ));
    }
    let nonce = p.get("nonce").map(str::to_string);
    if nonce.as_ref().is_some_and(|n| n.len() > MAX_NONCE) {
        return Err(OAuthError::invalid_request(format!(
            "nonce is longer than {MAX_NONCE} bytes"
        )));
    }
    let hint_sub = match p.get("id_token_hint") {
        None => None,
        Some(h) => Some(
            idtoken::check_hint(state, h)
                .map_err(OAuthError::invalid_request)?
                .sub,
        ),
    };
    let login_hint = p
        .get("login_hint")
        .filter(|h| h.len() <= 256)
        .map(str::to_string);
    Ok(Validated {
        req: AuthRequest {
            client_id: client.id.clone(),
            redirect_uri: p.get("redirect_uri").unwrap_or_default().to_string(),
            scope: scopes.join(" "),
            state: p.get("state").map(str::to_string),
            nonce,
            code_challenge,
            login_hint,
        },
        prompt_none,
        force_login,
        max_age,
        hint_sub,
    })
}

/// A new code for a completed sign-in (not stored yet: the caller stores it with the session,
/// [`Web::save_with_code`], before the response is sent) and the redirect that carries it to
/// the client.
pub fn new_code(state: &AppState, req: &AuthRequest, auth: &AuthContext) -> (AuthCode, Response) {
    let now = state.now();
    let code = state.token();
    let row = AuthCode {
        hash: state.token_hash("code", &code),
        grant_id: state.token(),
        client_id: req.client_id.clone(),
        redirect_uri: req.redirect_uri.clone(),
        scope: req.scope.clone(),
        nonce: req.nonce.clone(),
        code_challenge: req.code_challenge.clone(),
        auth: auth.clone(),
        created_at: now,
        expires_at: now + state.cfg.code_ttl_secs,
    };
    let q = params::query(&[
        ("code", Some(&code)),
        ("state", req.state.as_deref()),
        ("iss", Some(&state.issuer)),
    ]);
    (row, redirect_to(&req.redirect_uri, &q))
}

/// Ends a flow that cannot complete with an error sent to the client (or a page when the flow
/// was not an authorization).
pub fn flow_error(state: &AppState, target: &Target, e: OAuthError) -> Response {
    match target {
        Target::Authorize(req) => {
            error_redirect(state, &req.redirect_uri, req.state.as_deref(), &e)
        }
        Target::Profile => crate::http::pages::message_page(
            StatusCode::FORBIDDEN,
            "Sign-in refused",
            &e.description,
        ),
    }
}
