//! The state every HTTP handler shares: configuration, issuer, store handles, signing keys,
//! clients, throttles, the password-hashing pool.

use crate::Daemon;
use crate::http::clients::ClientRegistry;
use crate::http::config::{FirstFactor, HttpConfig};
use crate::http::errors::HttpError;
use crate::http::hashpool::HashPool;
use crate::http::jwks::keys::{self, KeySet, Rotation};
use crate::http::throttle::{Purpose, Throttle};
use crate::http::workers::Workers;
use axum::http::{HeaderMap, HeaderValue};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, RwLock};
use twofold_core::clock::{Rng, UnixTime};
use twofold_core::crypto::Keyring;
use twofold_core::store::oidc::OidcStore;

/// How the HTTP side runs its store operations.
#[derive(Debug)]
pub enum StoreMode {
    /// PostgreSQL (network round trips, several nodes): each on a blocking thread, in parallel.
    Parallel,
    /// SQLite: one at a time, in arrival order, through this lane.
    Lane {
        /// The lane.
        turn: tokio::sync::Mutex<()>,
        /// Commits wait for a disk flush (`synchronous=FULL`): writes run on this one thread
        /// (they take turns anyway). `None` (`NORMAL`): writes, like reads,
        /// run in place: they take microseconds.
        flusher: Option<Workers>,
    },
}

impl StoreMode {
    /// The mode for the daemon's store configuration. Fails if the store thread cannot start.
    pub fn for_store(cfg: &crate::config::StoreConfig) -> std::io::Result<StoreMode> {
        Ok(if cfg.backend == "postgres" {
            StoreMode::Parallel
        } else {
            StoreMode::Lane {
                turn: tokio::sync::Mutex::new(()),
                flusher: if cfg.sqlite_synchronous == "normal" {
                    None
                } else {
                    // One warm thread instead of a blocking-pool thread per call (which, handed
                    // over back to back, kept growing the pool).
                    Some(Workers::start("twofold-store", 1)?)
                },
            }
        })
    }
}

/// Shared state of the HTTP listener.
pub struct AppState {
    /// The daemon (engine, store, configuration).
    pub daemon: Arc<Daemon>,
    /// The `[http]` section.
    pub cfg: HttpConfig,
    /// Issuer identifier (no trailing slash).
    pub issuer: String,
    /// Cookies carry `Secure` and the `__Host-` prefix (false only for a plain-HTTP loopback issuer).
    pub secure_cookies: bool,
    /// The OIDC store.
    pub oidc: Arc<dyn OidcStore>,
    /// Signing keys in use.
    pub keyset: RwLock<Arc<KeySet>>,
    /// Registered clients.
    pub clients: ClientRegistry,
    /// Per-source throttles.
    pub throttle: Throttle,
    /// Password-check pool.
    pub pool: HashPool,
    /// First factor.
    pub first_factor: FirstFactor,
    /// argon2id hash checked for unknown users (equal timing).
    pub dummy_hash: Arc<str>,
    /// The discovery document, serialized once.
    pub discovery_json: Arc<[u8]>,
    /// How the HTTP side runs its store operations (see [`AppState::store`]).
    pub store_mode: StoreMode,
}

impl AppState {
    /// Runs a store operation that may write (or an engine step).
    ///
    /// With SQLite the operations of the HTTP side run one at a time, in arrival order: SQLite
    /// has a single writer anyway (the store's own writer turn orders the writes of the whole
    /// daemon), and concurrent requests would otherwise spread over the pool's connections and
    /// make each connection drop its page cache whenever another one wrote. Queued here they
    /// use one warm connection. A write that waits for a disk flush (`synchronous=FULL`) runs on the
    /// lane's own thread; without flushes it runs in place (no thread hand-off). Password
    /// hashing never takes this lane; the PAM socket does not either. With PostgreSQL every
    /// operation runs on a blocking thread, in parallel.
    pub async fn store<T, F>(&self, f: F) -> Result<T, HttpError>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        match &self.store_mode {
            StoreMode::Parallel => Ok(tokio::task::spawn_blocking(f).await?),
            StoreMode::Lane { turn, flusher } => {
                let _turn = turn.lock().await;
                match flusher {
                    Some(t) => t.run(f).await,
                    None => Ok(f()),
                }
            }
        }
    }

    /// Runs a store operation that only reads: in place with SQLite (after its turn in the
    /// lane: a point lookup on a warm connection takes microseconds), on a blocking thread with
    /// PostgreSQL.
    pub async fn store_read<T, F>(&self, f: F) -> Result<T, HttpError>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        match &self.store_mode {
            StoreMode::Parallel => Ok(tokio::task::spawn_blocking(f).await?),
            StoreMode::Lane { turn, .. } => {
                let _turn = turn.lock().await;
                Ok(f())
            }
        }
    }

    /// Now, from the engine's clock.
    pub fn now(&self) -> UnixTime {
        self.daemon.engine.clock.now()
    }

    /// The engine's RNG.
    pub fn rng(&self) -> &dyn Rng {
        &*self.daemon.engine.rng
    }

    /// The deployment keys.
    pub fn keys(&self) -> &Keyring {
        &self.daemon.engine.keys
    }

    /// The current key set.
    pub fn keyset(&self) -> Arc<KeySet> {
        match self.keyset.read() {
            Ok(k) => k.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// Rotation policy from the configuration.
    pub fn rotation(&self) -> Rotation {
        Rotation {
            period_secs: self.cfg.key_rotation_days * 86_400,
            publish_ahead_secs: self.cfg.key_publish_ahead_secs,
            keep_after_secs: self.cfg.id_token_ttl_secs + 86_400,
        }
    }

    /// Runs key maintenance (creation, rotation, retirement) and swaps in the result.
    pub async fn maintain_keys(self: &Arc<Self>) -> Result<(), String> {
        let st = self.clone();
        let set = tokio::task::spawn_blocking(move || {
            keys::maintain(&*st.oidc, st.keys(), st.rng(), st.now(), st.rotation())
        })
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
        match self.keyset.write() {
            Ok(mut k) => *k = Arc::new(set),
            Err(p) => *p.into_inner() = Arc::new(set),
        }
        Ok(())
    }

    /// Name of the session cookie.
    pub fn session_cookie_name(&self) -> &'static str {
        if self.secure_cookies {
            "__Host-twofold"
        } else {
            "twofold_session"
        }
    }

    /// Name of the remember-this-device cookie.
    pub fn device_cookie_name(&self) -> &'static str {
        if self.secure_cookies {
            "__Host-twofold_device"
        } else {
            "twofold_device"
        }
    }

    /// A `Set-Cookie` value: `HttpOnly; SameSite=Lax; Path=/`, `Secure` unless plain-HTTP
    /// loopback, `Max-Age` when given (0 deletes).
    pub fn cookie_header(
        &self,
        name: &str,
        value: &str,
        max_age: Option<i64>,
    ) -> Option<HeaderValue> {
        let mut s = format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax");
        if self.secure_cookies {
            s.push_str("; Secure");
        }
        if let Some(m) = max_age {
            s.push_str(&format!("; Max-Age={m}"));
        }
        HeaderValue::from_str(&s).ok()
    }

    /// The client's address: the TCP peer, or the last `X-Forwarded-For` hop when the peer is a
    /// trusted proxy.
    pub fn source(&self, peer: SocketAddr, headers: &HeaderMap) -> IpAddr {
        let ip = peer.ip();
        if !self.cfg.trusted_proxies.contains(&ip) {
            return ip;
        }
        headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|s| s.trim().parse::<IpAddr>().ok())
            .next_back()
            .unwrap_or(ip)
    }

    /// Takes a throttle token for the source.
    pub fn throttle(
        &self,
        peer: SocketAddr,
        headers: &HeaderMap,
        purpose: Purpose,
    ) -> Result<(), crate::http::errors::HttpError> {
        self.throttle
            .check(
                self.source(peer, headers),
                purpose,
                std::time::Instant::now(),
            )
            .map_err(|retry_after| crate::http::errors::HttpError::Throttled { retry_after })
    }

    /// A fresh random token of 256 bits, base64url.
    pub fn token(&self) -> String {
        let b: [u8; 32] = twofold_core::clock::random_bytes(self.rng());
        data_encoding::BASE64URL_NOPAD.encode(&b)
    }

    /// The stored hash of a code or token (`kind` separates the domains).
    pub fn token_hash(&self, kind: &str, raw: &str) -> [u8; 32] {
        self.keys()
            .mac(&format!("twofold oidc {kind} v1"), &[raw.as_bytes()])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::StoreConfig;

    fn mode(backend: &str, sync: &str) -> StoreMode {
        StoreMode::for_store(&StoreConfig {
            backend: backend.into(),
            sqlite_synchronous: sync.into(),
            ..StoreConfig::default()
        })
        .expect("the store thread starts")
    }

    #[test]
    fn sqlite_takes_turns_and_flushing_writes_leave_the_runtime_thread() {
        assert!(matches!(
            mode("sqlite", "full"),
            StoreMode::Lane {
                flusher: Some(_),
                ..
            }
        ));
        assert!(matches!(
            mode("sqlite", "normal"),
            StoreMode::Lane { flusher: None, .. }
        ));
        assert!(matches!(mode("postgres", "full"), StoreMode::Parallel));
    }
}
