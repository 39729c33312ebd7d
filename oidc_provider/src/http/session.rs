//! Web sign-in sessions: the browser holds a random 256-bit cookie, the store holds its HMAC and
//! the session's state (flow in progress, CSRF token, who is signed in and how).
//!
//! - Cookie `__Host-twofold` (`Secure; HttpOnly; SameSite=Lax; Path=/`, no `Domain`); on a
//!   plain-HTTP loopback issuer (the demo) the `__Host-` prefix and `Secure` cannot be used and
//!   the cookie is `twofold_session`.
//! - A new session id is issued on every authentication (R-51: session fixation).
//! - Idle limit (30 min) and absolute limit (12 h) by default; logout deletes the row
//!
//! - Secrets that must survive between two pages (a pending TOTP secret during enrollment) are
//!   sealed with XChaCha20-Poly1305 under a key derived from the deployment key file, bound to
//!   the flow id.

use crate::http::errors::HttpError;
use crate::http::state::AppState;
use axum::http::{HeaderMap, HeaderValue, header};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use twofold_core::clock::{UnixTime, random_bytes};
use twofold_core::proto::{Challenge, Method};
use twofold_core::store::oidc::{AuthCode, AuthContext, WebSession};
use twofold_core::store::{Commit, Write};
use zeroize::Zeroizing;

/// What an authorization request asked for, kept while the user signs in.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AuthRequest {
    /// Client.
    pub client_id: String,
    /// Registered redirect URI (exact match checked).
    pub redirect_uri: String,
    /// Scopes granted, space-separated.
    pub scope: String,
    /// `state`, echoed.
    pub state: Option<String>,
    /// `nonce`, echoed into the ID token.
    pub nonce: Option<String>,
    /// PKCE S256 challenge.
    pub code_challenge: Option<String>,
    /// `login_hint`.
    pub login_hint: Option<String>,
}

/// Where a finished sign-in goes.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub enum Target {
    /// Back to the client with a code.
    Authorize(AuthRequest),
    /// To the profile page (sign-in or re-authentication).
    Profile,
}

/// Where a sign-in stands.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub enum Stage {
    /// Asking for the user name and password.
    Password,
    /// Asking for a second-factor code.
    Challenge,
    /// Offering (or requiring) authenticator enrollment.
    EnrollOffer,
    /// Showing a new secret and asking for the first code.
    EnrollConfirm,
    /// Enrollment done; backup codes were shown; waiting for "continue".
    Enrolled,
    /// Too many invalid attempts: this sign-in is over.
    Locked,
}

/// A sign-in in progress.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Flow {
    /// Random id, carried in the pages' forms.
    pub id: String,
    /// Where it goes when done.
    pub target: Target,
    /// Where it stands.
    pub stage: Stage,
    /// The user, once the first factor passed.
    pub user: Option<String>,
    /// The engine's verification session.
    pub vsession: Option<String>,
    /// The challenge shown.
    pub challenge: Option<Challenge>,
    /// Enrollment is required (no skip).
    pub enroll_required: bool,
    /// The pending TOTP secret, sealed (text key and otpauth URI as JSON).
    pub enroll_secret: Option<String>,
    /// A message for the next page (wrong code, code sent...).
    pub notice: Option<String>,
    /// The user asked to remember this device.
    pub remember: bool,
    /// The second-factor method that succeeded, once one did.
    pub second_factor: Option<Method>,
    /// When the flow started.
    pub started_at: UnixTime,
    /// `prompt=login` or `max_age` forced this sign-in: a remembered device is not honoured
    ///
    #[serde(default)]
    pub step_up: bool,
}

/// The session's state as stored (JSON).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SessionData {
    /// Anti-CSRF token for this session's forms.
    pub csrf: String,
    /// The signed-in user and how they authenticated.
    #[serde(default)]
    pub auth: Option<AuthContext>,
    /// The sign-in in progress.
    #[serde(default)]
    pub flow: Option<Flow>,
    /// Last request seen.
    #[serde(default)]
    pub last_seen: UnixTime,
    /// A one-time message for the next page (profile changes).
    #[serde(default)]
    pub flash: Option<String>,
}

/// A request's session: loaded (or new), changed by the handler, saved by [`save`].
#[derive(Debug)]
pub struct Web {
    /// Hash of the current cookie, if the browser presented a live one.
    pub hash: Option<[u8; 32]>,
    /// The state.
    pub data: SessionData,
    /// When the session was created.
    pub created_at: UnixTime,
    /// A new cookie value to send (new or rotated session).
    new_cookie: Option<String>,
    /// An old row to delete (rotation).
    retired: Option<[u8; 32]>,
    /// Must be written back.
    pub dirty: bool,
}

fn random_token(state: &AppState) -> String {
    let b: [u8; 32] = random_bytes(state.rng());
    data_encoding::BASE64URL_NOPAD.encode(&b)
}

/// The HMAC under which a session cookie is stored.
pub fn session_hash(state: &AppState, raw: &str) -> [u8; 32] {
    state
        .keys()
        .mac("twofold web session v1", &[raw.as_bytes()])
}

/// The value of cookie `name` in the request, if present once.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    let mut found = None;
    for v in headers.get_all(header::COOKIE) {
        let Ok(s) = v.to_str() else { continue };
        for part in s.split(';') {
            let part = part.trim();
            if let Some(rest) = part.strip_prefix(name)
                && let Some(val) = rest.strip_prefix('=')
            {
                if found.is_some() {
                    return None;
                }
                found = Some(val);
            }
        }
    }
    found
}

impl Web {
    /// Loads the browser's session, or starts a fresh one (not stored until saved).
    pub async fn load(state: &Arc<AppState>, headers: &HeaderMap) -> Result<Web, HttpError> {
        let now = state.now();
        if let Some(raw) = cookie(headers, state.session_cookie_name())
            && raw.len() == 43
        {
            let hash = session_hash(state, raw);
            let store = state.oidc.clone();
            let found = state
                .store_read(move || store.get_web_session(&hash, now))
                .await??;
            if let Some(row) = found
                && let Ok(mut data) = serde_json::from_str::<SessionData>(&row.data)
            {
                let idle_ok = now - data.last_seen < state.cfg.session_idle_secs;
                if idle_ok {
                    let stale = now - data.last_seen >= 30;
                    data.last_seen = now;
                    return Ok(Web {
                        hash: Some(hash),
                        data,
                        created_at: row.created_at,
                        new_cookie: None,
                        retired: None,
                        dirty: stale,
                    });
                }
            }
        }
        Ok(Web::fresh(state, now))
    }

    fn fresh(state: &AppState, now: UnixTime) -> Web {
        Web {
            hash: None,
            data: SessionData {
                csrf: random_token(state),
                auth: None,
                flow: None,
                last_seen: now,
                flash: None,
            },
            created_at: now,
            new_cookie: None,
            retired: None,
            dirty: true,
        }
    }

    /// Issues a new session id (and CSRF token) keeping the state: on every authentication.
    pub fn rotate(&mut self, state: &AppState) {
        if let Some(old) = self.hash.take() {
            self.retired = Some(old);
        }
        self.data.csrf = random_token(state);
        self.created_at = state.now();
        self.dirty = true;
    }

    /// Ends the session (logout): the row is deleted and the cookie cleared.
    pub async fn destroy(self, state: &Arc<AppState>) -> Result<(), HttpError> {
        if let Some(h) = self.hash {
            let store = state.oidc.clone();
            state.store(move || store.delete_web_session(&h)).await??;
        }
        Ok(())
    }

    /// The signed-in user's authentication, if the session holds one within the absolute limit.
    pub fn authenticated(&self, state: &AppState) -> Option<AuthContext> {
        let a = self.data.auth.as_ref()?;
        if state.now() - a.auth_time >= state.cfg.session_max_secs {
            return None;
        }
        Some(a.clone())
    }

    /// Writes the session back if it changed; returns the `Set-Cookie` value to send, if any.
    ///
    /// A session that holds no authentication and replaces no other (a sign-in in progress) is
    /// committed lazily ([`Commit::Lazy`]: no disk flush; after a power loss the user starts
    /// that sign-in again). Everything else is durable.
    pub async fn save(self, state: &Arc<AppState>) -> Result<Option<HeaderValue>, HttpError> {
        self.save_with_code(state, None, Vec::new()).await
    }

    /// Like [`Web::save`], storing `code` (a sign-in just completed) in the same transaction:
    /// one durable commit for the code, the session that goes with it and `carried` (the
    /// engine's lines for the decision that granted it). The code is stored even when the
    /// session did not change.
    pub async fn save_with_code(
        mut self,
        state: &Arc<AppState>,
        code: Option<AuthCode>,
        mut carried: Vec<Write>,
    ) -> Result<Option<HeaderValue>, HttpError> {
        let store = state.oidc.clone();
        let unchanged = !self.dirty && self.new_cookie.is_none();
        if !carried.is_empty() && (code.is_none() || unchanged) {
            // No code to carry them (a sign-in to the profile page): their own durable commit.
            let (st, writes) = (state.clone(), std::mem::take(&mut carried));
            state
                .store(move || st.daemon.engine.store.apply(&writes))
                .await??;
        }
        if unchanged {
            if let Some(c) = code {
                state.store(move || store.put_code(&c)).await??;
            }
            return Ok(None);
        }
        let raw = match self.hash {
            Some(_) => None,
            None => Some(random_token(state)),
        };
        let hash = match (&raw, self.hash) {
            (Some(r), _) => session_hash(state, r),
            (None, Some(h)) => h,
            (None, None) => return Ok(None),
        };
        let now = state.now();
        let auth_start = self.data.auth.as_ref().map(|a| a.auth_time);
        let absolute = auth_start.unwrap_or(self.created_at) + state.cfg.session_max_secs;
        let expires_at = (now + state.cfg.session_idle_secs).min(absolute.max(now + 60));
        let row = WebSession {
            hash,
            user: self.data.auth.as_ref().map(|a| a.user.clone()),
            data: serde_json::to_string(&self.data)
                .map_err(|e| HttpError::Internal(format!("session encoding: {e}")))?,
            created_at: self.created_at,
            expires_at,
        };
        let retired = self.retired.take();
        let commit = if row.user.is_none() && retired.is_none() {
            Commit::Lazy
        } else {
            Commit::Durable
        };
        state
            .store(move || match code {
                Some(c) => store.put_code_and_session(&c, retired.as_ref(), &row, &carried),
                None => store.replace_web_session_with(retired.as_ref(), &row, commit),
            })
            .await??;
        self.new_cookie = raw;
        Ok(self
            .new_cookie
            .as_deref()
            .and_then(|v| state.cookie_header(state.session_cookie_name(), v, None)))
    }

    /// The flow in progress, if its id matches the form's.
    pub fn flow(&self, id: Option<&str>) -> Option<&Flow> {
        let f = self.data.flow.as_ref()?;
        match id {
            Some(id) if id == f.id => Some(f),
            Some(_) => None,
            None => Some(f),
        }
    }
}

fn seal_cipher(state: &AppState) -> Option<XChaCha20Poly1305> {
    let k = Zeroizing::new(state.keys().mac("twofold web session seal v1", &[]));
    XChaCha20Poly1305::new_from_slice(&k[..]).ok()
}

/// Seals `plain` for storage in the session, bound to `context` (the flow id).
pub fn seal(state: &AppState, context: &str, plain: &[u8]) -> Result<String, HttpError> {
    let nonce: [u8; 24] = random_bytes(state.rng());
    let ct = seal_cipher(state)
        .ok_or_else(|| HttpError::Internal("sealing key".into()))?
        .encrypt(
            &XNonce::from(nonce),
            Payload {
                msg: plain,
                aad: context.as_bytes(),
            },
        )
        .map_err(|_| HttpError::Internal("sealing failed".into()))?;
    let mut out = nonce.to_vec();
    out.extend_from_slice(&ct);
    Ok(data_encoding::BASE64URL_NOPAD.encode(&out))
}

/// Opens what [`seal`] sealed.
pub fn unseal(state: &AppState, context: &str, sealed: &str) -> Option<Zeroizing<Vec<u8>>> {
    let raw = data_encoding::BASE64URL_NOPAD
        .decode(sealed.as_bytes())
        .ok()?;
    if raw.len() < 24 + 16 {
        return None;
    }
    let nonce: [u8; 24] = raw[..24].try_into().ok()?;
    seal_cipher(state)?
        .decrypt(
            &XNonce::from(nonce),
            Payload {
                msg: &raw[24..],
                aad: context.as_bytes(),
            },
        )
        .ok()
        .map(Zeroizing::new)
}
