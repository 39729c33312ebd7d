//! Sign-in: decide, open a verification session, check codes (burn before issue), count
//! failures, switch methods and resend codes.

use super::{Engine, SESSION_LOCKED, SignInAttempt, USER_LOCKED, check_user_name};
use crate::clock::random_id;
use crate::codes::{self, BackupCode};
use crate::decision::{self, AttemptFacts, Decision, UserFacts, Verdict};
use crate::error::{Error, Result};
use crate::proto::{Code, EnrollOffer, Method, PamReply};
use crate::settings::Settings;
use crate::store::{OobOutcome, SessionEnd, SignIn, UserRecord, VerificationSession};
use crate::totp;

/// Result of checking one code.
enum Check {
    /// Right, and burned by this caller.
    Ok,
    /// Wrong; the reason is for the audit trail, the message for the user.
    Wrong { why: String, message: String },
}

fn wrong(why: impl Into<String>, message: impl Into<String>) -> Check {
    Check::Wrong {
        why: why.into(),
        message: message.into(),
    }
}

impl Engine {
    /// Gathers the facts and decides, without side effects other than reading.
    fn decide_with(
        &self,
        a: &SignInAttempt,
        settings: &Settings,
        user: Option<&UserRecord>,
    ) -> Result<Decision> {
        let now = self.now();
        let facts = match user {
            Some(u) => self.facts(u)?,
            None => UserFacts {
                status: crate::store::EnrollmentStatus::NotEnrolled,
                default_method: None,
                has_phone: false,
                has_email: false,
                backup_codes_left: 0,
                consecutive_failures: 0,
            },
        };
        let device_remembered = match (&a.device_token, user) {
            (Some(token), Some(_)) => self.device_remembered(&a.user, token)?,
            _ => None,
        };
        let dr = &settings.device_recognition;
        let rhost_seen = match a.rhost.as_deref().map(str::trim) {
            Some(r) if !r.is_empty() && dr.ip_history_depth > 0 && user.is_some() => {
                let since = now.saturating_sub(i64::from(dr.remember_days) * 86_400);
                self.store
                    .rhost_seen(&a.user, r, since, dr.ip_history_depth)?
            }
            _ => None,
        };
        let attempt = AttemptFacts {
            service: a.service.clone(),
            rhost: a.rhost.clone(),
            roles: a.roles.clone(),
            device_remembered,
            rhost_seen,
            now,
        };
        Ok(decision::decide(settings, &facts, &attempt))
    }

    /// When a presented device token was remembered, if it is a live one of this user's.
    fn device_remembered(&self, user: &str, token: &str) -> Result<Option<i64>> {
        if token.is_empty() || token.len() > 256 {
            return Ok(None);
        }
        let hash = codes::hash_device_token(&self.keys, user, token);
        if !self.store.device_known(user, &hash, self.now())? {
            return Ok(None);
        }
        // The token carries its issue time (`v1.<unix time>.<random>`); it is trustworthy here
        // because its hash matched a stored one.
        let at = token
            .split('.')
            .nth(1)
            .and_then(|t| t.parse::<i64>().ok())
            .unwrap_or(0);
        Ok(Some(at))
    }

    /// Decides a sign-in without side effects (for `twofoldctl why`).
    pub fn decide_for(&self, a: &SignInAttempt) -> Result<Decision> {
        check_user_name(&a.user)?;
        let settings = self.settings()?;
        let user = self.store.get_user(&a.user)?;
        self.decide_with(a, &settings, user.as_ref())
    }

    /// Starts a sign-in: decides, records history and audit, opens a verification session when a
    /// code or enrollment is needed, and queues an SMS/email code when that is the method asked.
    pub fn begin(&self, a: &SignInAttempt) -> Result<PamReply> {
        check_user_name(&a.user)?;
        let now = self.now();
        let user = self.store.ensure_user(&a.user, now)?;
        let settings = self.settings()?;
        let d = self.decide_with(a, &settings, Some(&user))?;
        let reason = d.reason_chain();
        self.store.record_signin(&SignIn {
            user: a.user.clone(),
            service: a.service.clone(),
            rhost: a.rhost.clone(),
            outcome: d.kind().to_string(),
            reason: reason.clone(),
            at: now,
        })?;
        let outcome = match d.verdict {
            Verdict::Deny | Verdict::NoFactor => "refused",
            _ => "ok",
        };
        self.audit(
            &a.user,
            "auth.decision",
            Some(&a.user),
            outcome,
            format!("{} for {}: {reason}", d.kind(), a.service),
        )?;
        match d.verdict {
            Verdict::Allow => Ok(PamReply::Allow { reason }),
            Verdict::Deny => Ok(PamReply::Deny { reason }),
            Verdict::NoFactor => Ok(PamReply::NotEnrolled { reason }),
            Verdict::Enroll { required, .. } => {
                let s = self.new_session(a, &settings, Method::AuthenticatorApp)?;
                Ok(PamReply::Enroll(EnrollOffer {
                    session: s.id,
                    required,
                }))
            }
            Verdict::Challenge { methods } => {
                let Some(first) = methods.first().copied() else {
                    return Ok(PamReply::NotEnrolled { reason });
                };
                let s = self.new_session(a, &settings, first)?;
                let facts = self.facts(&user)?;
                let info = self.prompt_info(&s, &user, &settings)?;
                Ok(PamReply::Challenge(self.challenge(
                    &s,
                    &settings,
                    &facts,
                    Some(info),
                )))
            }
        }
    }

    fn new_session(
        &self,
        a: &SignInAttempt,
        settings: &Settings,
        method: Method,
    ) -> Result<VerificationSession> {
        let now = self.now();
        let life = i64::from(settings.security_code_timeout_secs).max(super::MIN_SESSION_SECS);
        let s = VerificationSession {
            id: random_id(self.rng.as_ref()),
            user: a.user.clone(),
            service: a.service.clone(),
            rhost: a.rhost.clone(),
            method,
            invalid_attempts: 0,
            resends: 0,
            created_at: now,
            expires_at: now.saturating_add(life),
            ended: None,
        };
        self.store.create_session(&s)?;
        Ok(s)
    }

    /// The line shown before a prompt; for SMS and email, sends a fresh code first.
    pub(super) fn prompt_info(
        &self,
        s: &VerificationSession,
        user: &UserRecord,
        settings: &Settings,
    ) -> Result<String> {
        Ok(match s.method {
            Method::AuthenticatorApp => {
                "Enter the 6-digit code from your authenticator app.".to_string()
            }
            Method::BackupCode => "Enter one of your backup codes (xxxx-xxxx-xxxx).".to_string(),
            Method::Sms | Method::Email => self.send_oob(s, user, settings)?,
        })
    }

    /// Issues an out-of-band code for the session (replacing any earlier one) and hands it to
    /// delivery. Returns the line to show.
    fn send_oob(
        &self,
        s: &VerificationSession,
        user: &UserRecord,
        settings: &Settings,
    ) -> Result<String> {
        let (dest, shown) = match s.method {
            Method::Sms => user.phone.as_deref().map(|p| (p, super::mask_phone(p))),
            Method::Email => user.email.as_deref().map(|e| (e, super::mask_email(e))),
            _ => None,
        }
        .ok_or_else(|| {
            Error::Invalid(format!(
                "{} codes cannot be sent: no destination is on file for {}",
                s.method, s.user
            ))
        })?;
        let now = self.now();
        let timeout = i64::from(settings.security_code_timeout_secs);
        let expires = now.saturating_add(timeout);
        let code = codes::oob_code(self.rng.as_ref(), codes::OOB_DIGITS);
        // Stored (hashed) before it is sent: a code the user can see always exists.
        self.store
            .put_oob_code(&s.id, &codes::hash_oob(&self.keys, &s.id, &code), expires)?;
        let minutes = (timeout + 59) / 60;
        match self
            .sender
            .send_code(&s.user, s.method, dest, &code, expires)
        {
            Ok(()) => {
                self.audit(
                    &s.user,
                    "code.sent",
                    Some(&s.user),
                    "ok",
                    format!("{} code queued for {shown}, valid {timeout} s", s.method),
                )?;
                Ok(format!(
                    "A code was sent to {shown}. It expires in {minutes} minute{}.",
                    if minutes == 1 { "" } else { "s" }
                ))
            }
            Err(e) => {
                self.audit(
                    &s.user,
                    "code.sent",
                    Some(&s.user),
                    "error",
                    format!("{} code for {shown} could not be queued: {e}", s.method),
                )?;
                Ok(format!(
                    "The code could not be sent to {shown} ({e}). Ask for a new code or choose another method."
                ))
            }
        }
    }

    /// Checks a code for an open session.
    pub fn verify(&self, session: &str, method: Method, code: &Code) -> Result<PamReply> {
        let s = match self.open_session(session)? {
            Ok(s) => s,
            Err(reply) => return Ok(reply),
        };
        let settings = self.settings()?;
        let user = self.session_user(&s)?;
        let facts = self.facts(&user)?;
        if method == Method::AuthenticatorApp
            && user.status != crate::store::EnrollmentStatus::Enrolled
        {
            return Err(Error::Invalid(
                "the authenticator app is not enrolled; this session is waiting for enrollment"
                    .into(),
            ));
        }
        if !decision::session_methods(&settings, &facts, s.method).contains(&method) {
            return Err(Error::Invalid(format!(
                "{method} is not offered in this verification session"
            )));
        }
        let check = self.check_code(&s, &user, &settings, method, code)?;
        let locked_user = user.consecutive_failures >= settings.max_consecutive_failures;
        match check {
            Check::Ok if locked_user => {
                // the code is burned, but a locked user does not get in.
                self.store.end_session(&s.id, SessionEnd::Locked)?;
                self.audit(
                    &s.user,
                    "auth.locked",
                    Some(&s.user),
                    "refused",
                    format!(
                        "a correct {method} code was presented while the user is locked after {} consecutive failures; the code was burned",
                        user.consecutive_failures
                    ),
                )?;
                self.record(&s, "locked", "user locked by consecutive failures")?;
                Ok(PamReply::Locked {
                    message: USER_LOCKED.into(),
                })
            }
            Check::Ok => self.succeed(&s, method, &format!("{method} code accepted")),
            Check::Wrong { why, message } => self.fail(&s, &settings, method, &why, message),
        }
    }

    /// Checks and, when right, burns one code. Never issues anything.
    fn check_code(
        &self,
        s: &VerificationSession,
        user: &UserRecord,
        settings: &Settings,
        method: Method,
        code: &Code,
    ) -> Result<Check> {
        let now = self.now();
        Ok(match method {
            Method::AuthenticatorApp => {
                let Some(blob) = user.totp_secret.as_deref() else {
                    return Err(Error::Invalid(
                        "the authenticator app is not enrolled".into(),
                    ));
                };
                let secret = self.keys.decrypt_secret(&user.name, blob)?;
                match totp::verify(&secret, code.expose(), now, settings.totp_window) {
                    None if totp::normalize_code(code.expose()).is_none() => wrong(
                        "malformed authenticator code",
                        "That is not a 6-digit code. Enter the code from your authenticator app.",
                    ),
                    None => wrong(
                        "wrong authenticator code",
                        "That code is not valid. Check the time on your phone and try the current code.",
                    ),
                    Some(step) => {
                        if self.store.advance_totp_step(&user.name, step)? {
                            Check::Ok
                        } else {
                            wrong(
                                format!(
                                    "replayed authenticator code: step {step} or a later one was already used"
                                ),
                                "That code was already used. Wait for the next code and enter it.",
                            )
                        }
                    }
                }
            }
            Method::BackupCode => match BackupCode::parse(code.expose()) {
                None => wrong(
                    "malformed backup code",
                    "That is not a backup code (12 letters and digits, xxxx-xxxx-xxxx).",
                ),
                Some(c) => {
                    let hash = c.hash(&self.keys, &user.name);
                    if self.store.consume_backup_code(&user.name, &hash, now)? {
                        Check::Ok
                    } else {
                        wrong(
                            "wrong or already used backup code",
                            "That backup code is not valid or was already used.",
                        )
                    }
                }
            },
            Method::Sms | Method::Email => match codes::normalize_oob(code.expose()) {
                None => wrong(
                    format!("malformed {method} code"),
                    format!(
                        "That is not a valid code. Enter the digits from the {}.",
                        method.label()
                    ),
                ),
                Some(c) => {
                    let hash = codes::hash_oob(&self.keys, &s.id, &c);
                    match self.store.consume_oob_code(&s.id, &hash, now)? {
                        OobOutcome::Accepted => Check::Ok,
                        OobOutcome::Expired => wrong(
                            format!("expired {method} code"),
                            "That code has expired. Ask for a new code.",
                        ),
                        OobOutcome::NoMatch => {
                            wrong(format!("wrong {method} code"), "That code is not valid.")
                        }
                    }
                }
            },
        })
    }

    /// A code was right and burned: end the session, clear the counter, record and audit.
    pub(super) fn succeed(
        &self,
        s: &VerificationSession,
        method: Method,
        why: &str,
    ) -> Result<PamReply> {
        if !self.store.end_session(&s.id, SessionEnd::Success)? {
            // Another request ended this session first (a success or a lockout).
            return Ok(PamReply::Locked {
                message: "This verification session has already ended. Start a new sign-in.".into(),
            });
        }
        self.store.clear_failures(&s.user)?;
        self.record(s, "success", why)?;
        self.audit(
            &s.user,
            "auth.success",
            Some(&s.user),
            "ok",
            format!("{why} for {}{}", s.service, rhost_note(s)),
        )?;
        Ok(PamReply::Accepted { method })
    }

    /// A code was wrong: count it per user and per session, audit, and say what is left.
    pub(super) fn fail(
        &self,
        s: &VerificationSession,
        settings: &Settings,
        method: Method,
        why: &str,
        message: String,
    ) -> Result<PamReply> {
        let count = self.store.record_failure(&s.user)?;
        let max = settings.max_invalid_attempts.get();
        let attempt = self.store.session_invalid_attempt(&s.id, max)?;
        let limit = max.map_or("no limit".to_string(), |m| m.to_string());
        self.audit(
            &s.user,
            "auth.failure",
            Some(&s.user),
            "refused",
            format!(
                "{method}: {why}; invalid attempt {} of {limit} in this session; {count} consecutive failures (cap {}){}",
                attempt.attempts,
                settings.max_consecutive_failures,
                rhost_note(s)
            ),
        )?;
        self.record(s, "failure", why)?;
        if count >= settings.max_consecutive_failures {
            self.store.end_session(&s.id, SessionEnd::Locked)?;
            self.audit(
                &s.user,
                "auth.locked",
                Some(&s.user),
                "refused",
                format!(
                    "user locked after {count} consecutive failed codes (cap {}); an administrator must unlock it (twofoldctl users unlock {})",
                    settings.max_consecutive_failures, s.user
                ),
            )?;
            self.record(s, "locked", "user locked by consecutive failures")?;
            return Ok(PamReply::Locked {
                message: USER_LOCKED.into(),
            });
        }
        if attempt.locked {
            self.audit(
                &s.user,
                "auth.locked",
                Some(&s.user),
                "refused",
                format!(
                    "verification session ended after {} invalid attempts (max_invalid_attempts {limit})",
                    attempt.attempts
                ),
            )?;
            self.record(s, "locked", "too many invalid attempts in this session")?;
            return Ok(PamReply::Locked {
                message: SESSION_LOCKED.into(),
            });
        }
        let mut s2 = s.clone();
        s2.invalid_attempts = attempt.attempts;
        let user = self.session_user(s)?;
        let facts = self.facts(&user)?;
        Ok(PamReply::Rejected {
            message,
            challenge: self.challenge(&s2, settings, &facts, None),
        })
    }

    /// Switches the session to another method (fallback), or resends an SMS/email code when
    /// `method` is the one already asked for.
    pub fn switch(&self, session: &str, method: Method) -> Result<PamReply> {
        let s = match self.open_session(session)? {
            Ok(s) => s,
            Err(reply) => return Ok(reply),
        };
        let settings = self.settings()?;
        let user = self.session_user(&s)?;
        let facts = self.facts(&user)?;
        if user.consecutive_failures >= settings.max_consecutive_failures {
            // A locked user gets no new codes (no SMS cost, no fresh guesses).
            self.store.end_session(&s.id, SessionEnd::Locked)?;
            self.audit(
                &s.user,
                "auth.resend",
                Some(&s.user),
                "refused",
                format!("switch to {method} refused: the user is locked by consecutive failures"),
            )?;
            return Ok(PamReply::Locked {
                message: USER_LOCKED.into(),
            });
        }
        let offered = decision::session_methods(&settings, &facts, s.method);
        if user.status != crate::store::EnrollmentStatus::Enrolled
            && s.method == Method::AuthenticatorApp
        {
            return Err(Error::Invalid(
                "this session is waiting for enrollment; enroll or skip first".into(),
            ));
        }
        if method != s.method && !offered.contains(&method) {
            let why = if !settings.allow_fallback_methods {
                format!(
                    "fallback methods are off, so this sign-in can only use {}",
                    s.method
                )
            } else {
                decision::unusable_reason(method, &settings, &facts)
                    .unwrap_or_else(|| "it is not offered in this session".into())
            };
            return Err(Error::Invalid(format!("cannot switch to {method}: {why}")));
        }
        if method == s.method && !method.is_out_of_band() {
            return Err(Error::Invalid(format!(
                "only SMS and email codes can be sent again, not {method}"
            )));
        }
        if method.is_out_of_band() {
            let limit = settings.resend_limit.get();
            match self.store.session_resend(&s.id, limit)? {
                Some(_) => {}
                None => {
                    let n = limit.unwrap_or(0);
                    self.audit(
                        &s.user,
                        "auth.resend",
                        Some(&s.user),
                        "refused",
                        format!("{method} code not sent: resend limit {n} reached in this session"),
                    )?;
                    let fresh = self.reload(&s)?;
                    return Ok(PamReply::Rejected {
                        message: format!(
                            "No more codes can be sent in this sign-in (resend limit {n}). Enter the last code you received, or start a new sign-in."
                        ),
                        challenge: self.challenge(&fresh, &settings, &facts, None),
                    });
                }
            }
        }
        if method != s.method {
            self.store.session_set_method(&s.id, method)?;
        }
        let fresh = self.reload(&s)?;
        let detail = if method == s.method {
            format!("{method} code sent again")
        } else {
            format!("switched from {} to {method}", s.method)
        };
        self.audit(&s.user, "auth.resend", Some(&s.user), "ok", detail)?;
        let info = self.prompt_info(&fresh, &user, &settings)?;
        Ok(PamReply::Challenge(self.challenge(
            &fresh,
            &settings,
            &facts,
            Some(info),
        )))
    }

    pub(super) fn reload(&self, s: &VerificationSession) -> Result<VerificationSession> {
        self.store
            .get_session(&s.id)?
            .ok_or_else(|| Error::NotFound(format!("verification session {} vanished", s.id)))
    }

    /// Remembers a device for `user` (after a completed second factor on the web) and returns
    /// the raw token for the cookie; only its hash is stored, valid for `remember_days`.
    pub fn remember_device(&self, user: &str) -> Result<String> {
        check_user_name(user)?;
        if self.store.get_user(user)?.is_none() {
            return Err(Error::NotFound(format!("no user {user}")));
        }
        let settings = self.settings()?;
        let now = self.now();
        let token = format!("v1.{now}.{}", random_id(self.rng.as_ref()));
        let days = i64::from(settings.device_recognition.remember_days);
        let expires = now.saturating_add(days * 86_400);
        self.store.add_device(
            user,
            &codes::hash_device_token(&self.keys, user, &token),
            expires,
        )?;
        self.audit(
            user,
            "device.remember",
            Some(user),
            "ok",
            format!("device remembered for {days} days"),
        )?;
        Ok(token)
    }
}

fn rhost_note(s: &VerificationSession) -> String {
    match &s.rhost {
        Some(r) => format!(" from {r}"),
        None => String::new(),
    }
}
