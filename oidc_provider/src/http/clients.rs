//! Registered clients: those of the configuration file and those of the store, and client
//! authentication at the token endpoint.
//!
//! Secrets are stored as argon2id PHC strings only. A secret that verified once is remembered
//! as an HMAC (under the deployment pepper, bound to the client and its stored hash), so the
//! token endpoint does not pay a full argon2id run on every request; a wrong secret always pays
//! it (and is throttled per source).

use crate::http::config::ClientConfig;
use crate::http::errors::HttpError;
use crate::http::first_factor::verify_password_kept;
use crate::http::state::AppState;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use subtle::ConstantTimeEq;
use twofold_core::store::oidc::OidcClient;
use zeroize::Zeroizing;

/// A client as the provider uses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    /// `client_id`.
    pub id: String,
    /// Name shown on pages.
    pub name: String,
    /// argon2id PHC of the secret; `None`: public client.
    pub secret_hash: Option<String>,
    /// Exact redirect URIs.
    pub redirect_uris: Vec<String>,
    /// Exact post-logout redirect URIs.
    pub post_logout_redirect_uris: Vec<String>,
    /// Registered grant types (RFC 7591): `authorization_code`, and `refresh_token` if the
    /// client gets refresh tokens.
    pub grant_types: Vec<String>,
}

impl Client {
    /// A public client authenticates with PKCE only.
    pub fn is_public(&self) -> bool {
        self.secret_hash.is_none()
    }

    /// Whether `uri` is registered (simple string comparison, OIDC Core 3.1.2.1).
    pub fn has_redirect(&self, uri: &str) -> bool {
        self.redirect_uris.iter().any(|r| r == uri)
    }

    /// Whether the client registered `grant_type` (`authorization_code`, `refresh_token`).
    pub fn allows_grant(&self, grant_type: &str) -> bool {
        self.grant_types.iter().any(|g| g == grant_type)
    }
}

impl From<&ClientConfig> for Client {
    fn from(c: &ClientConfig) -> Client {
        Client {
            id: c.client_id.clone(),
            name: c.name.clone().unwrap_or_else(|| c.client_id.clone()),
            secret_hash: c.client_secret_hash.clone(),
            redirect_uris: c.redirect_uris.clone(),
            post_logout_redirect_uris: c.post_logout_redirect_uris.clone(),
            grant_types: c.grant_types.clone(),
        }
    }
}

impl From<OidcClient> for Client {
    fn from(c: OidcClient) -> Client {
        Client {
            id: c.client_id,
            name: c.name,
            secret_hash: c.secret_hash,
            redirect_uris: c.redirect_uris,
            post_logout_redirect_uris: c.post_logout_redirect_uris,
            grant_types: c.grant_types,
        }
    }
}

const STORE_CACHE: Duration = Duration::from_secs(30);

/// A store lookup remembered with its time (`None`: no such client).
type Cached = (Option<Arc<Client>>, Instant);

/// Clients of the configuration (fixed) and of the store (cached for 30 s).
#[derive(Debug, Default)]
pub struct ClientRegistry {
    config: HashMap<String, Arc<Client>>,
    cache: Mutex<HashMap<String, Cached>>,
    verified: Mutex<HashMap<String, [u8; 32]>>,
}

impl ClientRegistry {
    /// A registry over the configuration's clients.
    pub fn new(config: &[ClientConfig]) -> ClientRegistry {
        ClientRegistry {
            config: config
                .iter()
                .map(|c| (c.client_id.clone(), Arc::new(Client::from(c))))
                .collect(),
            ..Default::default()
        }
    }

    /// Forgets cached store clients (after a registration change).
    pub fn invalidate(&self) {
        if let Ok(mut c) = self.cache.lock() {
            c.clear();
        }
    }

    /// The client with this id, from the configuration or the store.
    pub async fn get(
        &self,
        state: &Arc<AppState>,
        id: &str,
    ) -> Result<Option<Arc<Client>>, HttpError> {
        if let Some(c) = self.config.get(id) {
            return Ok(Some(c.clone()));
        }
        if id.is_empty() || id.len() > 256 {
            return Ok(None);
        }
        if let Ok(cache) = self.cache.lock()
            && let Some((c, at)) = cache.get(id)
            && at.elapsed() < STORE_CACHE
        {
            return Ok(c.clone());
        }
        let store = state.oidc.clone();
        let key = id.to_string();
        let found = state
            .store_read(move || store.get_client(&key))
            .await??
            .map(|c| Arc::new(Client::from(c)));
        if let Ok(mut cache) = self.cache.lock() {
            if cache.len() > 10_000 {
                cache.clear();
            }
            cache.insert(id.to_string(), (found.clone(), Instant::now()));
        }
        Ok(found)
    }

    /// Authenticates a confidential client by its secret, or accepts a public client that
    /// presents no secret. Any failure is `invalid_client`.
    pub async fn authenticate(
        &self,
        state: &Arc<AppState>,
        id: &str,
        secret: Option<Zeroizing<String>>,
    ) -> Result<Arc<Client>, HttpError> {
        let client = self
            .get(state, id)
            .await?
            .ok_or_else(|| HttpError::InvalidClient("unknown client or wrong secret".into()))?;
        let (hash, secret) = match (&client.secret_hash, secret) {
            (None, None) => return Ok(client),
            (None, Some(_)) => {
                return Err(HttpError::InvalidClient(
                    "this client is public and has no secret".into(),
                ));
            }
            (Some(_), None) => {
                return Err(HttpError::InvalidClient(
                    "client authentication is required".into(),
                ));
            }
            (Some(h), Some(s)) => (h.clone(), s),
        };
        let mac = state.keys().mac(
            "twofold client secret cache v1",
            &[id.as_bytes(), hash.as_bytes(), secret.as_bytes()],
        );
        let cached = self.verified.lock().ok().and_then(|v| v.get(id).copied());
        if let Some(known) = cached
            && bool::from(known.ct_eq(&mac))
        {
            return Ok(client);
        }
        let ok = state
            .pool
            .run(move || verify_password_kept(&secret, &hash))
            .await?;
        if !ok {
            return Err(HttpError::InvalidClient(
                "unknown client or wrong secret".into(),
            ));
        }
        if let Ok(mut v) = self.verified.lock() {
            v.insert(id.to_string(), mac);
        }
        Ok(client)
    }
}
