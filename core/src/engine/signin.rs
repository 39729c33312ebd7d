//! Sign-in: decide, open a verification session (one store transaction with the decision's
//! history and audit lines), switch methods and resend codes. Checking codes: [`super::verify`].

use super::{Engine, SignInAttempt, USER_LOCKED, check_user_name};
use crate::clock::{UnixTime, random_id};
use crate::codes;
use crate::decision::{self, AttemptFacts, Decision, UserFacts, Verdict};
use crate::error::{Error, Result};
use crate::proto::{EnrollOffer, Method, PamReply};
use crate::settings::Settings;
use crate::store::{
    Commit, EnrollmentStatus, SessionEnd, SignIn, SigninFacts, UserRecord, VerificationSession,
    Write,
};

impl Engine {
    /// Decides from the facts read by [`crate::store::Store::signin_facts`], without side
    /// effects other than reading (a presented device token is looked up). A user the store
    /// does not know has the facts of a new one.
    fn decide_with(&self, a: &SignInAttempt, f: &SigninFacts) -> Result<(Decision, UserFacts)> {
        let now = self.now();
        let user = f.user.as_ref();
        let facts = match user {
            Some(u) => Self::facts_with(u, f.backup_codes_left),
            None => UserFacts {
                status: EnrollmentStatus::NotEnrolled,
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
        let roles = if a.look_up_roles && !f.settings.settings.roles.is_empty() {
            self.roles.roles_of(&a.user)
        } else {
            a.roles.clone()
        };
        let attempt = AttemptFacts {
            service: a.service.clone(),
            rhost: a.rhost.clone(),
            roles,
            device_remembered,
            rhost_seen: f.rhost_seen,
            now,
        };
        Ok((
            decision::decide(&f.settings.settings, &facts, &attempt),
            facts,
        ))
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
        let f = self
            .store
            .signin_facts(&a.user, a.rhost.as_deref(), self.now())?;
        Ok(self.decide_with(a, &f)?.0)
    }

    /// Starts a sign-in: decides, records history and audit, opens a verification session when a
    /// code or enrollment is needed, and queues an SMS/email code when that is the method asked.
    /// Reads, then one store transaction (a user seen for the first time is created in it);
    /// an SMS/email code adds the outbox row and its `code.sent` line.
    pub fn begin(&self, a: &SignInAttempt) -> Result<PamReply> {
        let (reply, carried) = self.begin_carrying(a)?;
        if !carried.is_empty() {
            self.store.apply(&carried)?;
        }
        Ok(reply)
    }

    /// [`Engine::begin`], except that an `Allow` decision's history and audit lines (and the
    /// creation of a user seen for the first time) are returned instead of written: the caller
    /// must commit them durably, in the transaction that grants the sign-in, before it lets the
    /// user in (the web provider writes them with the authorization code). Every other verdict
    /// writes as `begin` does and carries nothing.
    pub fn begin_carrying(&self, a: &SignInAttempt) -> Result<(PamReply, Vec<Write>)> {
        check_user_name(&a.user)?;
        let now = self.now();
        let f = self.store.signin_facts(&a.user, a.rhost.as_deref(), now)?;
        let (d, facts) = self.decide_with(a, &f)?;
        let (settings, known) = (f.settings.settings, f.user);
        let mut writes = Vec::with_capacity(5);
        let user = match known {
            Some(u) => u,
            None => {
                writes.push(Write::EnsureUser {
                    name: a.user.clone(),
                    now,
                });
                new_user(&a.user, now)
            }
        };
        let reason = d.reason_chain();
        writes.push(Write::RecordSignin(SignIn {
            user: a.user.clone(),
            service: a.service.clone(),
            rhost: a.rhost.clone(),
            outcome: d.kind().to_string(),
            reason: reason.clone(),
            at: now,
        }));
        let outcome = match d.verdict {
            Verdict::Deny | Verdict::NoFactor => "refused",
            _ => "ok",
        };
        writes.push(Write::Audit(super::audit_event(
            now,
            &a.user,
            "auth.decision",
            Some(&a.user),
            outcome,
            format!("{} for {}: {reason}", d.kind(), a.service),
        )));
        match d.verdict {
            Verdict::Allow => Ok((PamReply::Allow { reason }, writes)),
            Verdict::Deny => {
                self.store.apply(&writes)?;
                Ok((PamReply::Deny { reason }, Vec::new()))
            }
            Verdict::NoFactor => {
                self.store.apply(&writes)?;
                Ok((PamReply::NotEnrolled { reason }, Vec::new()))
            }
            Verdict::Enroll { required, .. } => {
                let s = self.new_session(a, &settings, Method::AuthenticatorApp);
                writes.push(Write::CreateSession(s.clone()));
                // Opening an enrollment grants nothing: no disk flush for it.
                self.store.apply_with(&writes, Commit::Lazy)?;
                Ok((
                    PamReply::Enroll(EnrollOffer {
                        session: s.id,
                        required,
                    }),
                    Vec::new(),
                ))
            }
            Verdict::Challenge { methods } => {
                let Some(first) = methods.first().copied() else {
                    self.store.apply(&writes)?;
                    return Ok((PamReply::NotEnrolled { reason }, Vec::new()));
                };
                let s = self.new_session(a, &settings, first);
                writes.push(Write::CreateSession(s.clone()));
                let info = self.prompt_info(&s, &user, &settings, writes)?;
                let c = self.challenge(&s, &settings, &facts, Some(info));
                Ok((PamReply::Challenge(c), Vec::new()))
            }
        }
    }

    /// A new verification session for the attempt (not stored yet).
    fn new_session(
        &self,
        a: &SignInAttempt,
        settings: &Settings,
        method: Method,
    ) -> VerificationSession {
        let now = self.now();
        let life = i64::from(settings.security_code_timeout_secs).max(super::MIN_SESSION_SECS);
        VerificationSession {
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
        }
    }

    /// Applies `pending` (in one transaction) and returns the line shown before a prompt; for
    /// SMS and email, a fresh code is stored in that transaction and sent after it.
    pub(super) fn prompt_info(
        &self,
        s: &VerificationSession,
        user: &UserRecord,
        settings: &Settings,
        pending: Vec<Write>,
    ) -> Result<String> {
        let line = match s.method {
            Method::AuthenticatorApp => "Enter the 6-digit code from your authenticator app.",
            Method::BackupCode => "Enter one of your backup codes (xxxx-xxxx-xxxx).",
            Method::Sms | Method::Email => return self.send_oob(s, user, settings, pending),
        };
        if !pending.is_empty() {
            // Opening a challenge grants nothing: if a power loss took it, the login in
            // progress would fail and the user would try again. No disk flush for it.
            self.store.apply_with(&pending, Commit::Lazy)?;
        }
        Ok(line.to_string())
    }

    /// Issues an out-of-band code for the session (replacing any earlier one), stores it with
    /// `pending` in one transaction and hands it to delivery. Returns the line to show.
    fn send_oob(
        &self,
        s: &VerificationSession,
        user: &UserRecord,
        settings: &Settings,
        mut pending: Vec<Write>,
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
        pending.push(Write::PutOobCode {
            session: s.id.clone(),
            hash: codes::hash_oob(&self.keys, &s.id, &code),
            expires_at: expires,
        });
        self.store.apply(&pending)?;
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
            self.store.apply(&[
                Write::EndSession {
                    id: s.id.clone(),
                    how: SessionEnd::Locked,
                },
                self.audit_write(
                    &s,
                    "auth.resend",
                    "refused",
                    format!(
                        "switch to {method} refused: the user is locked by consecutive failures"
                    ),
                ),
            ])?;
            return Ok(PamReply::Locked {
                message: USER_LOCKED.into(),
            });
        }
        let offered = decision::session_methods(&settings, &facts, s.method);
        if user.status != EnrollmentStatus::Enrolled && s.method == Method::AuthenticatorApp {
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
        let mut fresh = s.clone();
        if method.is_out_of_band() {
            let limit = settings.resend_limit.get();
            match self.store.session_resend(&s.id, limit)? {
                Some(n) => fresh.resends = n,
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
        // The method change, its audit line and a fresh SMS/email code: one transaction.
        let mut pending = Vec::with_capacity(3);
        if method != s.method {
            pending.push(Write::SessionSetMethod {
                id: s.id.clone(),
                method,
            });
            fresh.method = method;
        }
        let detail = if method == s.method {
            format!("{method} code sent again")
        } else {
            format!("switched from {} to {method}", s.method)
        };
        pending.push(self.audit_write(&s, "auth.resend", "ok", detail));
        let info = self.prompt_info(&fresh, &user, &settings, pending)?;
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

/// The record of a user seen for the first time, as the store creates it.
fn new_user(name: &str, now: UnixTime) -> UserRecord {
    UserRecord {
        name: name.to_string(),
        status: EnrollmentStatus::NotEnrolled,
        totp_secret: None,
        totp_last_step: None,
        default_method: None,
        phone: None,
        email: None,
        consecutive_failures: 0,
        password_hash: None,
        created_at: now,
        enrolled_at: None,
    }
}

/// ` from ADDRESS` for audit lines, when the remote address is known.
pub(super) fn rhost_note(s: &VerificationSession) -> String {
    match &s.rhost {
        Some(r) => format!(" from {r}"),
        None => String::new(),
    }
}
