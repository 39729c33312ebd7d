//! The engine: runs a sign-in's second factor for the PAM and web paths alike.
//!
//! It loads facts from the store, calls [`crate::decision::decide`], opens verification
//! sessions, checks codes (burn before issue), counts failures, enrolls, and writes the audit
//! trail and sign-in history. The daemon serves the PAM socket and the web pages with it, so
//! SSH and the web share one policy, one enrollment and one set of counters.
//!
//! Each step of a sign-in writes in one store transaction (one durable commit): `begin` one
//! [`Store::apply`], a right code one [`Store::consume_then`] (the code is burned in the same
//! transaction that records the success, and the reply is sent only after it commits), a wrong
//! code one [`Store::record_failure_then`].

mod admin;
mod contact;
mod enroll;
mod signin;
#[cfg(test)]
mod tests;
mod verify;

pub use contact::{mask_email, mask_phone, parse_email, parse_phone};

use crate::clock::{Clock, Rng, UnixTime};
use crate::crypto::Keyring;
use crate::decision::{self, UserFacts};
use crate::error::{Error, Result};
use crate::proto::{Challenge, Method};
use crate::settings::Settings;
use crate::store::{AuditEvent, SessionEnd, SignIn, Store, UserRecord, VerificationSession, Write};
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
    /// Roles (Unix groups or directory groups), when the caller resolved them.
    pub roles: Vec<String>,
    /// The caller did not resolve `roles`: the engine asks its [`RoleSource`], and only when the
    /// policy names at least one role (a lookup through NSS costs more than the rest of a
    /// decision).
    pub look_up_roles: bool,
    /// Raw remembered-device token from the web cookie, if any.
    pub device_token: Option<String>,
}

/// Where the roles of a user come from when a sign-in does not carry them (the daemon: the
/// user's Unix groups through NSS).
pub trait RoleSource: Send + Sync {
    /// The user's roles; none when the user is unknown.
    fn roles_of(&self, user: &str) -> Vec<String>;
}

/// A source that knows no roles (tests and tools that pass roles in the attempt).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoRoles;

impl RoleSource for NoRoles {
    fn roles_of(&self, _user: &str) -> Vec<String> {
        Vec::new()
    }
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
    /// Roles of users whose sign-in does not carry them.
    pub roles: Arc<dyn RoleSource>,
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

/// Said when a session ends after `max_invalid_attempts`.
pub const SESSION_LOCKED: &str =
    "Too many invalid codes: this verification session has ended. Start a new sign-in.";
/// Said when the per-user consecutive-failure cap is reached.
pub const USER_LOCKED: &str =
    "Too many failed codes for this account: it is locked. Contact an administrator to unlock it.";
/// Shortest lifetime of a verification session, in seconds.
pub const MIN_SESSION_SECS: i64 = 600;
/// Longest user name accepted.
pub const MAX_USER_NAME: usize = 256;

impl Engine {
    /// An engine over these parts.
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        rng: Arc<dyn Rng>,
        keys: Arc<Keyring>,
        sender: Arc<dyn CodeSender>,
    ) -> Engine {
        Engine {
            store,
            clock,
            rng,
            keys,
            sender,
            roles: Arc::new(NoRoles),
        }
    }

    /// The same engine, looking roles up in `roles` when a sign-in does not carry them.
    pub fn with_role_source(self, roles: Arc<dyn RoleSource>) -> Engine {
        Engine { roles, ..self }
    }

    fn now(&self) -> UnixTime {
        self.clock.now()
    }

    fn settings(&self) -> Result<Settings> {
        Ok(self.store.load_settings()?.settings)
    }

    fn facts(&self, u: &UserRecord) -> Result<UserFacts> {
        Ok(Self::facts_with(u, self.store.backup_codes_left(&u.name)?))
    }

    /// The user's facts, with the backup codes left already read.
    fn facts_with(u: &UserRecord, backup_codes_left: u32) -> UserFacts {
        UserFacts {
            status: u.status,
            default_method: u.default_method,
            has_phone: u.phone.is_some(),
            has_email: u.email.is_some(),
            backup_codes_left,
            consecutive_failures: u.consecutive_failures,
        }
    }

    fn audit(
        &self,
        actor: &str,
        event: &str,
        user: Option<&str>,
        outcome: &str,
        detail: impl Into<String>,
    ) -> Result<()> {
        self.store.audit(&audit_event(
            self.now(),
            actor,
            event,
            user,
            outcome,
            detail,
        ))
    }

    /// The audit write of an event by the session's user about themself, stamped now.
    fn audit_write(
        &self,
        s: &VerificationSession,
        event: &str,
        outcome: &str,
        detail: impl Into<String>,
    ) -> Write {
        Write::Audit(audit_event(
            self.now(),
            &s.user,
            event,
            Some(&s.user),
            outcome,
            detail,
        ))
    }

    /// The history write of the session's sign-in, stamped now.
    fn record_write(
        &self,
        s: &VerificationSession,
        outcome: &str,
        reason: impl Into<String>,
    ) -> Write {
        Write::RecordSignin(signin_row(self.now(), s, outcome, reason))
    }

    /// The user of an existing session (it must exist: sessions are opened for known users).
    fn session_user(&self, s: &VerificationSession) -> Result<UserRecord> {
        self.store
            .get_user(&s.user)?
            .ok_or_else(|| Error::NotFound(format!("user {} no longer exists", s.user)))
    }

    /// An open, unexpired session, or the reply that ends the exchange.
    fn open_session(
        &self,
        id: &str,
    ) -> Result<std::result::Result<VerificationSession, crate::proto::PamReply>> {
        let s = self.store.get_session(id)?;
        self.check_open(s)
    }

    /// The session if it is open and unexpired, or the reply that ends the exchange (an
    /// expired one is ended as abandoned).
    fn check_open(
        &self,
        s: Option<VerificationSession>,
    ) -> Result<std::result::Result<VerificationSession, crate::proto::PamReply>> {
        use crate::proto::PamReply;
        let Some(s) = s else {
            return Err(Error::Invalid(
                "unknown verification session; start a new sign-in".into(),
            ));
        };
        match s.ended {
            Some(SessionEnd::Locked) => {
                return Ok(Err(PamReply::Locked {
                    message: SESSION_LOCKED.into(),
                }));
            }
            Some(_) => {
                return Err(Error::Invalid(
                    "this verification session has already ended; start a new sign-in".into(),
                ));
            }
            None => {}
        }
        if self.now() >= s.expires_at {
            self.store.end_session(&s.id, SessionEnd::Abandoned)?;
            return Ok(Err(PamReply::Locked {
                message: "This verification session has expired. Start a new sign-in.".into(),
            }));
        }
        Ok(Ok(s))
    }

    /// The challenge to show for a session, with what is left of its limits.
    fn challenge(
        &self,
        s: &VerificationSession,
        settings: &Settings,
        facts: &UserFacts,
        info: Option<String>,
    ) -> Challenge {
        // An enrollment session offers nothing else until enrollment is done or skipped.
        let enrolling = s.method == Method::AuthenticatorApp
            && facts.status != crate::store::EnrollmentStatus::Enrolled;
        let methods = if enrolling {
            Vec::new()
        } else {
            decision::session_methods(settings, facts, s.method)
        };
        Challenge {
            session: s.id.clone(),
            method: s.method,
            alternatives: methods.into_iter().filter(|m| *m != s.method).collect(),
            info,
            attempts_left: settings
                .max_invalid_attempts
                .get()
                .map(|m| m.saturating_sub(s.invalid_attempts)),
            resends_left: if s.method.is_out_of_band() {
                settings
                    .resend_limit
                    .get()
                    .map(|l| l.saturating_sub(s.resends))
            } else {
                None
            },
        }
    }
}

/// An audit event at `at`.
fn audit_event(
    at: UnixTime,
    actor: &str,
    event: &str,
    user: Option<&str>,
    outcome: &str,
    detail: impl Into<String>,
) -> AuditEvent {
    AuditEvent {
        at,
        actor: actor.to_string(),
        event: event.to_string(),
        user: user.map(str::to_string),
        outcome: outcome.to_string(),
        detail: detail.into(),
    }
}

/// The history row of the session's sign-in at `at`.
fn signin_row(
    at: UnixTime,
    s: &VerificationSession,
    outcome: &str,
    reason: impl Into<String>,
) -> SignIn {
    SignIn {
        user: s.user.clone(),
        service: s.service.clone(),
        rhost: s.rhost.clone(),
        outcome: outcome.to_string(),
        reason: reason.into(),
        at,
    }
}

/// Checks a user name from PAM, the web or the CLI: 1 to 256 bytes, no whitespace or control
/// characters, none of `: , / \\`, and not starting with `-`, `+` or `~`.
pub fn check_user_name(name: &str) -> Result<()> {
    let bad = name.is_empty()
        || name.len() > MAX_USER_NAME
        || name.starts_with(['-', '+', '~'])
        || name
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || matches!(c, ':' | ',' | '/' | '\\'));
    if bad {
        let shown: String = name.chars().take(40).flat_map(char::escape_debug).collect();
        return Err(Error::Invalid(format!(
            "user name \"{shown}\" is not valid (1 to {MAX_USER_NAME} characters, no spaces, control characters, ':', ',', '/' or '\\', not starting with '-', '+' or '~')"
        )));
    }
    Ok(())
}
