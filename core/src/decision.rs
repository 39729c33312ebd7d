//! The decision: one pure function from settings, the user's state and the attempt to
//! allow / challenge / enroll / no factor / deny, always with its reason chain.
//!
//! Every fail-open or fail-closed choice is made here. Facts that need the store (is this
//! device cookie remembered? was this address seen?) are looked up by the caller and passed in.

use crate::clock::UnixTime;
use crate::proto::Method;
use crate::settings::{Enforcement, EnrollmentPolicy, Settings};
use crate::store::EnrollmentStatus;

/// What the decision needs to know about the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserFacts {
    /// Authenticator enrollment state.
    pub status: EnrollmentStatus,
    /// The user's own default method, if chosen.
    pub default_method: Option<Method>,
    /// A phone number is on file (E.164).
    pub has_phone: bool,
    /// An email address is on file.
    pub has_email: bool,
    /// Unused backup codes.
    pub backup_codes_left: u32,
    /// Consecutive failures across sessions.
    pub consecutive_failures: u32,
}

/// What the decision needs to know about the sign-in attempt.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AttemptFacts {
    /// `sshd`, `login`, `sudo`, `oidc:CLIENT`, ...
    pub service: String,
    /// Remote address, if any.
    pub rhost: Option<String>,
    /// The user's roles (Unix groups or directory groups).
    pub roles: Vec<String>,
    /// When the presented device cookie was remembered, if it is a live one of this user's.
    pub device_remembered: Option<UnixTime>,
    /// When the user last completed a second factor from this remote address, if within the
    /// recognition period and history depth.
    pub rhost_seen: Option<UnixTime>,
    /// Now.
    pub now: UnixTime,
}

/// The outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// No second factor this time.
    Allow,
    /// Ask for a code; the first method is the one to ask for now, the rest are the
    /// alternatives the user may switch to (empty when fallback is off).
    Challenge {
        /// Methods, default first.
        methods: Vec<Method>,
    },
    /// Enroll an authenticator app first.
    Enroll {
        /// `false`: the user may skip; then `on_skip` applies (empty: allow without a factor).
        required: bool,
        /// Methods to challenge with if an optional enrollment is skipped.
        on_skip: Vec<Method>,
    },
    /// The user has no usable second factor (PAM: AUTH_ERR, or IGNORE with `nullok`).
    NoFactor,
    /// Refused outright.
    Deny,
}

/// A verdict with the reasons that led to it, in plain words.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub struct Decision {
    /// The outcome.
    pub verdict: Verdict,
    /// Reasons, in the order they were weighed.
    pub reasons: Vec<String>,
}

impl Decision {
    /// The reasons joined for logs and the audit trail.
    pub fn reason_chain(&self) -> String {
        self.reasons.join("; ")
    }

    /// A short name of the verdict (`allow`, `challenge`, `enroll`, `no_factor`, `deny`).
    pub fn kind(&self) -> &'static str {
        match self.verdict {
            Verdict::Allow => "allow",
            Verdict::Challenge { .. } => "challenge",
            Verdict::Enroll { .. } => "enroll",
            Verdict::NoFactor => "no_factor",
            Verdict::Deny => "deny",
        }
    }
}

fn usable(m: Method, s: &Settings, u: &UserFacts) -> Result<(), String> {
    if !s.methods.allows(m) {
        return Err(format!("{m} is not an allowed method"));
    }
    match m {
        Method::AuthenticatorApp if u.status != EnrollmentStatus::Enrolled => {
            Err("the authenticator app is not enrolled".into())
        }
        Method::Sms if s.sms_provider.is_none() => {
            Err("no SMS provider integration is selected".into())
        }
        Method::Sms if !u.has_phone => Err("no phone number is on file".into()),
        Method::Email if !u.has_email => Err("no email address is on file".into()),
        Method::BackupCode if u.backup_codes_left == 0 => Err("no backup codes are left".into()),
        _ => Ok(()),
    }
}

/// Decides a sign-in. Pure: no I/O, no clock, no randomness.
pub fn decide(s: &Settings, u: &UserFacts, a: &AttemptFacts) -> Decision {
    let mut reasons = Vec::new();
    let done = |verdict, reasons| Decision { verdict, reasons };

    if !s.enabled {
        reasons.push("two-factor authentication is disabled (the master toggle is off)".into());
        return done(Verdict::Allow, reasons);
    }
    if let Some(role) = a
        .roles
        .iter()
        .find(|r| s.roles.get(r.as_str()).is_some_and(|rs| rs.exempt))
    {
        reasons.push(format!(
            "role {role} is exempt from two-factor authentication"
        ));
        return done(Verdict::Allow, reasons);
    }
    if u.consecutive_failures >= s.max_consecutive_failures {
        reasons.push(format!(
            "the user is locked after {} consecutive failed codes (limit {}); an administrator must clear it (twofoldctl users unlock USER)",
            u.consecutive_failures, s.max_consecutive_failures
        ));
        return done(Verdict::Deny, reasons);
    }
    match s.enforcement {
        Enforcement::EveryLogin => reasons.push("enforcement is every_login".into()),
        Enforcement::UnrecognizedDevices
            if s.methods.authenticator_app
                && u.status != EnrollmentStatus::Enrolled
                && s.authenticator_enrollment == EnrollmentPolicy::Required =>
        {
            // Recognition skips a second factor, never a required enrollment (after an admin
            // reset the user must enroll again at the next sign-in, from any address).
            reasons.push(
                "enforcement is unrecognized_devices, but recognition does not skip a required enrollment".into(),
            );
        }
        Enforcement::UnrecognizedDevices => {
            if let Some(t) = a.device_remembered {
                reasons.push(format!(
                    "enforcement is unrecognized_devices; the device cookie was remembered at {} and is still valid; second factor not required",
                    fmt_time(t)
                ));
                return done(Verdict::Allow, reasons);
            }
            if let (Some(t), Some(rhost)) = (a.rhost_seen, &a.rhost) {
                reasons.push(format!(
                    "enforcement is unrecognized_devices; address {rhost} matches a sign-in with a second factor at {}; second factor not required",
                    fmt_time(t)
                ));
                return done(Verdict::Allow, reasons);
            }
            reasons.push(
                "enforcement is unrecognized_devices; neither a remembered device nor a known address matched".into(),
            );
        }
    }

    let default = effective_default(s, u);
    let mut methods: Vec<Method> = Vec::new();
    if usable(default, s, u).is_ok() {
        methods.push(default);
    }
    if s.allow_fallback_methods {
        for m in s.allowed_methods() {
            if m != default && usable(m, s, u).is_ok() {
                methods.push(m);
            }
        }
    } else if default == Method::AuthenticatorApp
        && usable(Method::BackupCode, s, u).is_ok()
        && !methods.is_empty()
    {
        // Backup codes are the authenticator enrollment's own recovery codes.
        methods.push(Method::BackupCode);
    }

    let needs_enrollment = s.methods.authenticator_app && u.status != EnrollmentStatus::Enrolled;
    if needs_enrollment {
        let state = if u.status == EnrollmentStatus::Pending {
            "pending (a secret was issued but never confirmed)"
        } else {
            "not enrolled"
        };
        match s.authenticator_enrollment {
            EnrollmentPolicy::Required => {
                reasons.push(format!(
                    "the authenticator app is allowed and enrollment is required; the user is {state}"
                ));
                return done(
                    Verdict::Enroll {
                        required: true,
                        on_skip: Vec::new(),
                    },
                    reasons,
                );
            }
            EnrollmentPolicy::Optional => {
                reasons.push(format!(
                    "enrollment is optional; the user is {state}; enrollment is offered"
                ));
                if methods.is_empty() {
                    reasons.push("if skipped, no other method is usable, so the sign-in goes on without a second factor".into());
                } else {
                    reasons.push(format!("if skipped, the user is asked for {}", methods[0]));
                }
                return done(
                    Verdict::Enroll {
                        required: false,
                        on_skip: methods,
                    },
                    reasons,
                );
            }
        }
    } else if !s.methods.authenticator_app {
        reasons.push("the authenticator app is not allowed, so enrollment is not forced".into());
    }

    if methods.is_empty() {
        match usable(default, s, u) {
            Err(why) if !s.allow_fallback_methods => reasons.push(format!(
                "the default method {default} is unavailable ({why}) and fallback methods are off; reset the user's enrollment or allow fallback methods"
            )),
            Err(why) => reasons.push(format!(
                "no allowed method is usable: default {default} is unavailable ({why}) and no fallback is usable"
            )),
            Ok(()) => reasons.push("no allowed method is usable".into()),
        }
        return done(Verdict::NoFactor, reasons);
    }
    if methods[0] != default {
        reasons.push(format!(
            "the default method {default} is unavailable ({}); falling back to {}",
            usable(default, s, u).err().unwrap_or_default(),
            methods[0]
        ));
    } else {
        reasons.push(format!("challenge with the default method {default}"));
    }
    if !s.allow_fallback_methods {
        reasons.push("fallback methods are off".into());
    }
    done(Verdict::Challenge { methods }, reasons)
}

/// Every allowed method the user can use now, the effective default first (`twofoldctl users show`).
pub fn usable_methods(s: &Settings, u: &UserFacts) -> Vec<Method> {
    let default = effective_default(s, u);
    let mut v: Vec<Method> = Method::ALL
        .iter()
        .copied()
        .filter(|m| usable(*m, s, u).is_ok())
        .collect();
    v.sort_by_key(|m| *m != default);
    v
}

/// The methods a verification session that currently asks for `current` may be answered with
/// or switched to, `current` first, by the same rules as [`decide`]: with fallback on, every
/// other usable allowed method; with fallback off, only backup codes as the authenticator app's
/// own recovery codes. `current` itself is listed only while it is allowed.
pub fn session_methods(s: &Settings, u: &UserFacts, current: Method) -> Vec<Method> {
    let mut v = Vec::new();
    if s.methods.allows(current) {
        v.push(current);
    }
    if s.allow_fallback_methods {
        for m in s.allowed_methods() {
            if m != current && usable(m, s, u).is_ok() {
                v.push(m);
            }
        }
    } else if current == Method::AuthenticatorApp
        && usable(Method::AuthenticatorApp, s, u).is_ok()
        && usable(Method::BackupCode, s, u).is_ok()
    {
        v.push(Method::BackupCode);
    }
    v
}

/// Why `m` cannot be used by this user now, or `None` when it can.
pub fn unusable_reason(m: Method, s: &Settings, u: &UserFacts) -> Option<String> {
    usable(m, s, u).err()
}

/// The user's own default when it is allowed, else the settings' default.
pub fn effective_default(s: &Settings, u: &UserFacts) -> Method {
    match u.default_method {
        Some(m) if s.methods.allows(m) && m != Method::BackupCode => m,
        _ => s.default_method,
    }
}

/// Formats a Unix time as `YYYY-MM-DD HH:MM:SS UTC` without a time crate.
pub fn fmt_time(t: UnixTime) -> String {
    let days = t.div_euclid(86_400);
    let secs = t.rem_euclid(86_400);
    // Civil-from-days (Howard Hinnant).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        secs / 3600,
        (secs % 3600) / 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests;
