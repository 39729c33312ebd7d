//! `twofoldd --demo DIR`: a demo local user and a demo client, created once (idempotently) and
//! printed at every start with the URLs to open, and a built-in demo application at
//! `/demo/callback` that redeems the code at the token endpoint and shows the ID token's claims.
//!
//! The demo credentials are kept in `DIR/demo-credentials.json` (mode 0600) so that a restart
//! prints the same ones; the store keeps only their argon2id hashes.

use crate::http::errors::{HttpError, HttpResult};
use crate::http::first_factor::{hash_password, verify_password};
use crate::http::pages::render;
use crate::http::params::{self, Params};
use crate::http::state::AppState;
use askama::Template;
use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::sync::Arc;
use twofold_core::clock::random_bytes;
use twofold_core::store::oidc::OidcClient;
use zeroize::Zeroizing;

/// Demo user and client id.
pub const DEMO_USER: &str = "demo";
/// Demo client id.
pub const DEMO_CLIENT: &str = "demo";

#[derive(Serialize, Deserialize)]
struct Credentials {
    user: String,
    password: String,
    client_id: String,
    client_secret: String,
}

fn random_secret(state: &AppState, bytes: usize) -> String {
    let b: [u8; 32] = random_bytes(state.rng());
    data_encoding::BASE64URL_NOPAD.encode(&b[..bytes.min(32)])
}

fn salt(state: &AppState) -> [u8; 16] {
    random_bytes(state.rng())
}

/// The demo application's redirect URI.
pub fn redirect_uri(state: &AppState) -> String {
    format!("{}/demo/callback", state.issuer)
}

/// Creates (or checks) the demo user and client, then prints what to open.
pub fn setup(state: &Arc<AppState>) -> Result<(), String> {
    let path = state.daemon.config.state_dir.join("demo-credentials.json");
    let creds: Credentials = match std::fs::read(&path) {
        Ok(raw) => serde_json::from_slice(&raw).map_err(|e| format!("{}: {e}", path.display()))?,
        Err(_) => {
            let c = Credentials {
                user: DEMO_USER.into(),
                password: random_secret(state, 12),
                client_id: DEMO_CLIENT.into(),
                client_secret: random_secret(state, 32),
            };
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&path)
                .map_err(|e| format!("{}: {e}", path.display()))?;
            let json = serde_json::to_vec_pretty(&c).map_err(|e| e.to_string())?;
            f.write_all(&json)
                .and_then(|_| f.sync_all())
                .map_err(|e| format!("{}: {e}", path.display()))?;
            c
        }
    };
    let engine = &state.daemon.engine;
    let now = state.now();
    let user = engine
        .store
        .ensure_user(&creds.user, now)
        .map_err(|e| e.to_string())?;
    if !user
        .password_hash
        .as_deref()
        .is_some_and(|h| verify_password(&creds.password, h))
    {
        let h = hash_password(&creds.password, &salt(state))?;
        engine
            .store
            .set_password_hash(&creds.user, &h)
            .map_err(|e| e.to_string())?;
    }
    let redirect = redirect_uri(state);
    let existing = state
        .oidc
        .get_client(&creds.client_id)
        .map_err(|e| e.to_string())?;
    let current = existing.as_ref().is_some_and(|c| {
        c.redirect_uris == [redirect.clone()]
            && c.secret_hash
                .as_deref()
                .is_some_and(|h| verify_password(&creds.client_secret, h))
    });
    if !current {
        state
            .oidc
            .put_client(&OidcClient {
                client_id: creds.client_id.clone(),
                name: "twofold demo application".into(),
                secret_hash: Some(hash_password(&creds.client_secret, &salt(state))?),
                redirect_uris: vec![redirect.clone()],
                post_logout_redirect_uris: vec![format!("{}/demo/signed-out", state.issuer)],
                grant_types: twofold_core::store::oidc::default_grant_types(),
                created_at: now,
            })
            .map_err(|e| e.to_string())?;
        state.clients.invalidate();
    }
    let iss = &state.issuer;
    eprintln!("twofoldd: demo user:   {} / {}", creds.user, creds.password);
    eprintln!(
        "twofoldd: demo client: client_id={} client_secret={} redirect_uri={redirect}",
        creds.client_id, creds.client_secret
    );
    eprintln!("twofoldd: discovery:   {iss}/.well-known/openid-configuration");
    eprintln!(
        "twofoldd: sign in:     {}",
        authorize_url(state, &creds.client_id)
    );
    eprintln!("twofoldd: profile:     {iss}/profile");
    Ok(())
}

fn authorize_url(state: &AppState, client_id: &str) -> String {
    format!(
        "{}/authorize?{}",
        state.issuer,
        params::query(&[
            ("response_type", Some("code")),
            ("client_id", Some(client_id)),
            ("redirect_uri", Some(&redirect_uri(state))),
            ("scope", Some("openid profile email")),
            ("state", Some("demo")),
            ("nonce", Some("demo")),
        ])
    )
}

/// `demo_callback.html`.
#[derive(Template)]
#[template(path = "demo_callback.html")]
pub struct CallbackPage<'a> {
    /// The ID token's claims, pretty-printed.
    pub claims: &'a str,
    /// Link to sign in again.
    pub again: &'a str,
}

/// `GET /demo/callback`: redeems the code like a client would and shows the claims.
pub async fn callback(State(state): State<Arc<AppState>>, RawQuery(q): RawQuery) -> Response {
    match exchange(&state, q.unwrap_or_default()).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

async fn exchange(state: &Arc<AppState>, q: String) -> HttpResult<Response> {
    let p = Params::parse(q.as_bytes())
        .map_err(|e| HttpError::bad_page("Demo application", e.to_string()))?;
    if let Some(err) = p.get("error") {
        return Err(HttpError::bad_page(
            "Sign-in did not complete",
            format!("{err}: {}", p.get("error_description").unwrap_or_default()),
        ));
    }
    let code = p
        .get("code")
        .ok_or_else(|| HttpError::bad_page("Demo application", "No code in the response."))?;
    let client = state
        .clients
        .get(state, DEMO_CLIENT)
        .await?
        .ok_or_else(|| HttpError::Internal("the demo client is missing".into()))?;
    let form = params::query(&[
        ("grant_type", Some("authorization_code")),
        ("code", Some(code)),
        ("redirect_uri", Some(&redirect_uri(state))),
    ]);
    let form = Params::parse(form.as_bytes()).map_err(|e| HttpError::Internal(e.to_string()))?;
    let resp = crate::http::token::code_grant(state, &client, &form).await?;
    let body = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .map_err(|e| HttpError::Internal(e.to_string()))?;
    let json: serde_json::Value =
        serde_json::from_slice(&body).map_err(|e| HttpError::Internal(e.to_string()))?;
    let id_token = json["id_token"].as_str().unwrap_or_default();
    let payload = id_token.split('.').nth(1).unwrap_or_default();
    let claims = Zeroizing::new(
        data_encoding::BASE64URL_NOPAD
            .decode(payload.as_bytes())
            .ok()
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
            .and_then(|v| serde_json::to_string_pretty(&v).ok())
            .unwrap_or_default(),
    );
    Ok(render(&CallbackPage {
        claims: &claims,
        again: &authorize_url(state, DEMO_CLIENT),
    }))
}
