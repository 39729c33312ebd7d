//! twofoldd: the daemon behind every face of twofold.
//!
//! It owns the store, the encryption keys and all sending. It serves
//! - the PAM socket ([`pam_socket`]) for `pam_twofold.so`,
//! - the admin socket ([`admin`]) for `twofoldctl`,
//! - the HTTP listener ([`http`]): the OpenID Connect provider and its pages,
//! - the delivery worker ([`delivery`]) that drains the outbox of SMS and email codes.
//!
//! Entry point: [`run`], which takes the configuration and a shutdown token.

pub mod admin;
pub mod config;
pub mod delivery;
pub mod http;
pub mod nss;
pub mod pam_socket;
pub mod startup;
pub mod unix;

use std::sync::Arc;
use twofold_core::engine::Engine;

pub use startup::{DaemonError, run};

/// Everything the servers share, passed explicitly.
pub struct Daemon {
    /// The configuration the daemon started with.
    pub config: Arc<config::Config>,
    /// The engine (store, clock, RNG, keys, sender).
    pub engine: Engine,
    /// The same engine for PAM conversations: their verification sessions are held in memory
    /// ([`twofold_core::store::held`]), everything else is the same store.
    pub pam_engine: Engine,
    /// The held sessions behind `pam_engine` (their pending lines are written at shutdown).
    pub held: Arc<twofold_core::store::held::HeldSessions>,
    /// Started with `--demo`: a demo user and client exist.
    pub demo: bool,
    /// The OpenID Connect provider once it serves (never set with `[http] listen = ""`): the
    /// admin commands that change what it holds in memory (`keys.rotate`) reach it here.
    pub http: std::sync::OnceLock<std::sync::Weak<http::state::AppState>>,
}

/// Checks a login name before it reaches the store: 1–256 bytes, no control characters,
/// no whitespace, no `/`, not starting with `-`.
pub fn validate_username(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("the user name is empty".into());
    }
    if name.len() > 256 {
        return Err("the user name is longer than 256 bytes".into());
    }
    if name.starts_with('-') {
        return Err("a user name must not start with '-'".into());
    }
    if name
        .chars()
        .any(|c| c.is_control() || c.is_whitespace() || c == '/' || c == '\0')
    {
        return Err("the user name contains a control character, a space or '/'".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::validate_username;

    #[test]
    fn odd_user_names_are_refused() {
        for bad in ["", "-root", "a b", "a\nb", "a/b", "a\0b", &"x".repeat(300)] {
            assert!(validate_username(bad).is_err(), "{bad:?}");
        }
        for good in ["alice", "bob.smith", "user@example.com", "jürgen"] {
            assert!(validate_username(good).is_ok(), "{good:?}");
        }
    }
}
