//! Enrollment inside a sign-in: issue a pending secret, confirm it with a first code (which
//! becomes the TOTP high-water mark), show backup codes once; or skip when it is optional.

use super::Engine;
use crate::codes;
use crate::decision::{self, AttemptFacts, Verdict};
use crate::error::{Error, Result};
use crate::proto::{Code, EnrollSecret, Method, PamReply};
use crate::settings::{EnrollmentPolicy, Settings};
use crate::store::{EnrollmentStatus, SessionEnd, UserRecord, VerificationSession};
use crate::totp::{self, TotpSecret};

impl Engine {
    /// An open session that is waiting for enrollment, with its user and the settings.
    fn enrollment_session(
        &self,
        session: &str,
    ) -> Result<std::result::Result<(VerificationSession, UserRecord, Settings), PamReply>> {
        let s = match self.open_session(session)? {
            Ok(s) => s,
            Err(reply) => return Ok(Err(reply)),
        };
        let settings = self.settings()?;
        let user = self.session_user(&s)?;
        if s.method != Method::AuthenticatorApp || user.status == EnrollmentStatus::Enrolled {
            return Err(Error::Invalid(
                "this verification session is not waiting for enrollment".into(),
            ));
        }
        if !settings.methods.authenticator_app {
            return Err(Error::Invalid(
                "the authenticator app is not an allowed method, so it cannot be enrolled".into(),
            ));
        }
        Ok(Ok((s, user, settings)))
    }

    /// Issues a new pending secret for the session's user (replacing an unconfirmed one) and
    /// returns the text key, the `otpauth://` URI and a terminal QR code.
    pub fn enroll_start(&self, session: &str) -> Result<PamReply> {
        let (s, user, settings) = match self.enrollment_session(session)? {
            Ok(t) => t,
            Err(reply) => return Ok(reply),
        };
        let secret = TotpSecret::generate(self.rng.as_ref());
        let blob = self
            .keys
            .encrypt_secret(self.rng.as_ref(), &user.name, &secret)?;
        self.store
            .set_pending_secret(&user.name, &blob, self.now())?;
        let uri = secret.otpauth_uri(&settings.totp_issuer, &user.name);
        let qr = totp::qr_terminal(&uri).map_err(Error::Invalid)?;
        let replaced = if user.status == EnrollmentStatus::Pending {
            "; an earlier unconfirmed secret was replaced"
        } else {
            ""
        };
        self.audit(
            &user.name,
            "enroll.start",
            Some(&user.name),
            "ok",
            format!(
                "authenticator secret issued (pending) for {}{replaced}",
                s.service
            ),
        )?;
        Ok(PamReply::EnrollSecret(EnrollSecret {
            session: s.id,
            text_key: secret.text_key(),
            otpauth_uri: uri,
            qr_terminal: qr,
        }))
    }

    /// Confirms the pending secret with its first code: the user becomes enrolled, the step
    /// becomes the high-water mark, and a batch of backup codes is shown once. A wrong code
    /// counts like a wrong code at a challenge.
    pub fn enroll_confirm(&self, session: &str, code: &Code) -> Result<PamReply> {
        let (s, user, settings) = match self.enrollment_session(session)? {
            Ok(t) => t,
            Err(reply) => return Ok(reply),
        };
        let Some(blob) = user
            .totp_secret
            .as_deref()
            .filter(|_| user.status == EnrollmentStatus::Pending)
        else {
            return Err(Error::Invalid(
                "no secret has been issued yet; start enrollment first".into(),
            ));
        };
        let secret = self.keys.decrypt_secret(&user.name, blob)?;
        let Some(step) = totp::verify(&secret, code.expose(), self.now(), settings.totp_window)
        else {
            let malformed = totp::normalize_code(code.expose()).is_none();
            let (why, msg) = if malformed {
                (
                    "malformed enrollment code",
                    "That is not a 6-digit code. Enter the code your authenticator app shows for the new entry.",
                )
            } else {
                (
                    "wrong enrollment code",
                    "That code does not match. Check that the app's clock is right and enter the current code.",
                )
            };
            return self.fail(&s, &settings, Method::AuthenticatorApp, why, msg.into());
        };
        // Burn before issue: the step is the high-water mark before anything is shown.
        if !self
            .store
            .confirm_enrollment(&user.name, step, self.now())?
        {
            return Err(Error::Conflict(
                "the enrollment was confirmed or reset by another request; start a new sign-in"
                    .into(),
            ));
        }
        if !self.store.end_session(&s.id, SessionEnd::Success)? {
            return Ok(PamReply::Locked {
                message: "This verification session has already ended. Start a new sign-in.".into(),
            });
        }
        let shown = if settings.methods.backup_codes {
            self.issue_backup_codes(&user.name)?
        } else {
            Vec::new()
        };
        self.store.clear_failures(&user.name)?;
        self.record(&s, "success", "authenticator app enrolled")?;
        self.audit(
            &user.name,
            "enroll.confirm",
            Some(&user.name),
            "ok",
            format!(
                "authenticator app enrolled for {}; {} backup codes issued",
                s.service,
                shown.len()
            ),
        )?;
        Ok(PamReply::Enrolled {
            backup_codes: shown,
        })
    }

    /// Replaces the user's backup codes with a fresh batch; returns them in display form.
    pub(super) fn issue_backup_codes(&self, user: &str) -> Result<Vec<String>> {
        let batch = codes::backup_batch(self.rng.as_ref(), codes::BACKUP_BATCH);
        let hashes: Vec<[u8; 32]> = batch.iter().map(|c| c.hash(&self.keys, user)).collect();
        self.store.replace_backup_codes(user, &hashes, self.now())?;
        Ok(batch.iter().map(codes::BackupCode::display).collect())
    }

    /// Declines an optional enrollment: the sign-in goes on with the other usable methods, or
    /// without a second factor when none is usable. Refused when enrollment is required.
    pub fn enroll_skip(&self, session: &str) -> Result<PamReply> {
        let (s, user, settings) = match self.enrollment_session(session)? {
            Ok(t) => t,
            Err(reply) => return Ok(reply),
        };
        if settings.authenticator_enrollment != EnrollmentPolicy::Optional {
            return Err(Error::Invalid(
                "enrollment is required by the settings and cannot be skipped".into(),
            ));
        }
        let facts = self.facts(&user)?;
        let attempt = AttemptFacts {
            service: s.service.clone(),
            rhost: s.rhost.clone(),
            roles: Vec::new(),
            device_remembered: None,
            rhost_seen: None,
            now: self.now(),
        };
        let d = decision::decide(&settings, &facts, &attempt);
        let methods = match d.verdict {
            Verdict::Enroll {
                required: false,
                on_skip,
            } => on_skip,
            Verdict::Challenge { methods } => methods,
            Verdict::Allow => Vec::new(),
            Verdict::Enroll { required: true, .. } => {
                return Err(Error::Invalid(
                    "enrollment is required by the settings and cannot be skipped".into(),
                ));
            }
            Verdict::Deny | Verdict::NoFactor => {
                self.store.end_session(&s.id, SessionEnd::Abandoned)?;
                let reason = d.reason_chain();
                self.audit(
                    &user.name,
                    "enroll.skip",
                    Some(&user.name),
                    "refused",
                    &reason,
                )?;
                return Ok(if d.verdict == Verdict::Deny {
                    PamReply::Deny { reason }
                } else {
                    PamReply::NotEnrolled { reason }
                });
            }
        };
        let Some(first) = methods.first().copied() else {
            let reason = "enrollment was skipped and no other method is usable, so the sign-in goes on without a second factor".to_string();
            if !self.store.end_session(&s.id, SessionEnd::Success)? {
                return Err(Error::Invalid(
                    "this verification session has already ended; start a new sign-in".into(),
                ));
            }
            self.record(&s, "allow", &reason)?;
            self.audit(&user.name, "enroll.skip", Some(&user.name), "ok", &reason)?;
            return Ok(PamReply::Allow { reason });
        };
        self.store.session_set_method(&s.id, first)?;
        let fresh = self.reload(&s)?;
        self.audit(
            &user.name,
            "enroll.skip",
            Some(&user.name),
            "ok",
            format!("enrollment skipped; challenged with {first}"),
        )?;
        let info = self.prompt_info(&fresh, &user, &settings)?;
        Ok(PamReply::Challenge(self.challenge(
            &fresh,
            &settings,
            &facts,
            Some(info),
        )))
    }
}
