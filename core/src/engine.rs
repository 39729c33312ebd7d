//! The engine: runs a sign-in's second factor for the PAM and web paths alike.
//!
//! It loads facts from the store, calls [`crate::decision::decide`], opens verification
//! sessions, checks codes (burn before issue), counts failures, enrolls, and writes the audit
//! trail and sign-in history. The daemon serves the PAM socket and the web pages with it, so
//! SSH and the web share one policy, one enrollment and one set of counters.

use crate::clock::{Clock, Rng, UnixTime};
use crate::crypto::Keyring;
use crate::decision::Decision;
use crate::error::Result;
use crate::proto::{Code, Method, PamReply};
use crate::store::Store;
use std::sync::Arc;

/// Hands an SMS or email code to delivery. The daemon implements it by writing an outbox row
/// (the request returns at once; a worker sends). The code must never be logged.
pub trait CodeSender: Send + Sync {
    /// Queues `code` for `user` on `method` (SMS or email) to `destination`.
    fn send_code(
        &self,
        user: &str,
        method: Method,
        destination: &str,
        code: &str,
        expires_at: UnixTime,
    ) -> Result<()>;
}

/// A sender for deployments without SMS/email delivery: every send is refused.
#[derive(Debug, Default)]
pub struct NoDelivery;

impl CodeSender for NoDelivery {
    fn send_code(&self, _: &str, m: Method, _: &str, _: &str, _: UnixTime) -> Result<()> {
        Err(crate::Error::Unavailable(format!(
            "no delivery is configured for {m} codes"
        )))
    }
}

/// A sign-in attempt as the daemon sees it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SignInAttempt {
    /// Login name.
    pub user: String,
    /// `sshd`, `login`, `sudo`, `oidc:CLIENT`.
    pub service: String,
    /// Remote address.
    pub rhost: Option<String>,
    /// Roles (Unix groups or directory groups).
    pub roles: Vec<String>,
    /// Raw remembered-device token from the web cookie, if any.
    pub device_token: Option<String>,
}

/// Everything the engine needs, passed explicitly.
#[derive(Clone)]
pub struct Engine {
    /// The store.
    pub store: Arc<dyn Store>,
    /// The clock.
    pub clock: Arc<dyn Clock>,
    /// The RNG.
    pub rng: Arc<dyn Rng>,
    /// Encryption keys for TOTP secrets and the HMAC pepper for code hashes.
    pub keys: Arc<Keyring>,
    /// Delivery of SMS and email codes.
    pub sender: Arc<dyn CodeSender>,
}

/// What an admin sees of one user (`twofoldctl users show`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserView {
    /// Login name.
    pub name: String,
    /// Enrollment state.
    pub status: crate::store::EnrollmentStatus,
    /// Usable methods for this user under the current settings.
    pub methods: Vec<Method>,
    /// Effective default method.
    pub default_method: Method,
    /// Phone, masked (`+1 *** *** 4567`).
    pub phone_masked: Option<String>,
    /// Email, masked (`a***@example.com`).
    pub email_masked: Option<String>,
    /// Unused backup codes.
    pub backup_codes_left: u32,
    /// Consecutive failures, and whether that locks the user.
    pub consecutive_failures: u32,
    /// Locked by consecutive failures.
    pub locked: bool,
    /// Recent sign-ins, newest first.
    pub recent: Vec<crate::store::SignIn>,
}

/// Counts per state for the Overview tab.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Overview {
    /// Users known but not enrolled.
    pub not_enrolled: u32,
    /// Users with a secret issued but never confirmed.
    pub pending: u32,
    /// Users enrolled.
    pub enrolled: u32,
    /// Users locked by consecutive failures.
    pub locked: u32,
}

impl Engine {
    // The method set below is the engine's API; see ARCHITECTURE.md.
    //
    // Sign-in (PAM socket and web):
    //   begin(&SignInAttempt) -> Result<PamReply>
    //   verify(session, Method, &Code) -> Result<PamReply>
    //   switch(session, Method) -> Result<PamReply>          (fallback pick, or resend when same method)
    //   enroll_start(session) -> Result<PamReply>            (EnrollSecret)
    //   enroll_confirm(session, &Code) -> Result<PamReply>   (Enrolled with backup codes, or Rejected)
    //   enroll_skip(session) -> Result<PamReply>
    //   remember_device(user) -> Result<String>              (raw token for the web cookie)
    // Admin:
    //   decide_for(&SignInAttempt) -> Result<Decision>       (`why`, no side effects)
    //   user_view(user) -> Result<UserView>; overview() -> Result<Overview>
    //   reset_enrollment(admin, user) -> Result<bool>; reset_pending(admin) -> Result<Vec<String>>
    //   unlock(admin, user) -> Result<()>; regenerate_backup_codes(actor, user) -> Result<Vec<String>>
    //   update_settings(admin, Settings, expected_version) -> Result<i64>
    //   set_phone(actor, user, raw) -> Result<String> (E.164); set_email(actor, user, raw)
    //   set_default_method(actor, user, Method)

    /// Decides a sign-in without side effects (for `twofoldctl why`).
    pub fn decide_for(&self, a: &SignInAttempt) -> Result<Decision> {
        let _ = a;
        Err(crate::Error::Unavailable(
            "engine not implemented yet".into(),
        ))
    }

    /// Starts a sign-in: decides, records history and audit, opens a verification session when a
    /// code or enrollment is needed, and queues an SMS/email code when that is the method asked.
    pub fn begin(&self, a: &SignInAttempt) -> Result<PamReply> {
        let _ = a;
        Err(crate::Error::Unavailable(
            "engine not implemented yet".into(),
        ))
    }

    /// Checks a code for an open session.
    pub fn verify(&self, session: &str, method: Method, code: &Code) -> Result<PamReply> {
        let _ = (session, method, code);
        Err(crate::Error::Unavailable(
            "engine not implemented yet".into(),
        ))
    }
}
