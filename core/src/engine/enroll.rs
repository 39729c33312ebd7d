//! Enrollment inside a sign-in: issue a pending secret, confirm it with a first code (which
//! becomes the TOTP high-water mark), show backup codes once; or skip when it is optional.

use super::Engine;
use crate::codes;
use crate::decision::{self, AttemptFacts, Verdict};
use crate::error::{Error, Result};
use crate::proto::{Code, EnrollSecret, Method, PamReply};
use crate::settings::{EnrollmentPolicy, Settings};
use crate::store::{
    Consume, ConsumeOutcome, EnrollmentStatus, SessionEnd, UserRecord, VerificationSession, Write,
};
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
            let wrong = (why.to_string(), msg.to_string());
            return self.fail(&s, &settings, &user, None, Method::AuthenticatorApp, wrong);
        };
        // Burn before issue: one transaction makes the step the high-water mark, ends the
        // session and stores the backup codes' hashes; they are shown only after it commits.
        let now = self.now();
        let (shown, hashes) = if settings.methods.backup_codes {
            self.new_backup_batch(&user.name)
        } else {
            (Vec::new(), Vec::new())
        };
        let mut then = vec![Write::FinishSession {
            id: s.id.clone(),
            how: SessionEnd::Success,
        }];
        if !hashes.is_empty() {
            then.push(Write::ReplaceBackupCodes {
                user: user.name.clone(),
                hashes,
                now,
            });
        }
        then.push(Write::ClearFailures {
            user: user.name.clone(),
        });
        then.push(self.record_write(&s, "success", "authenticator app enrolled"));
        then.push(self.audit_write(
            &s,
            "enroll.confirm",
            "ok",
            format!(
                "authenticator app enrolled for {}; {} backup codes issued",
                s.service,
                shown.len()
            ),
        ));
        let consume = Consume::ConfirmEnrollment {
            user: user.name.clone(),
            step,
            now,
        };
        match self.store.consume_then(&consume, &then)? {
            ConsumeOutcome::Accepted => Ok(PamReply::Enrolled {
                backup_codes: shown,
            }),
            // Enrolled, but another request ended the session first: no codes are issued.
            ConsumeOutcome::AcceptedSessionEnded => Ok(super::verify::already_ended()),
            ConsumeOutcome::Refused | ConsumeOutcome::Expired => Err(Error::Conflict(
                "the enrollment was confirmed or reset by another request; start a new sign-in"
                    .into(),
            )),
        }
    }

    /// A fresh batch of backup codes: display forms and hashes (nothing stored).
    fn new_backup_batch(&self, user: &str) -> (Vec<String>, Vec<[u8; 32]>) {
        let batch = codes::backup_batch(self.rng.as_ref(), codes::BACKUP_BATCH);
        let hashes = batch.iter().map(|c| c.hash(&self.keys, user)).collect();
        (
            batch.iter().map(codes::BackupCode::display).collect(),
            hashes,
        )
    }

    /// Replaces the user's backup codes with a fresh batch; returns them in display form.
    pub(super) fn issue_backup_codes(&self, user: &str) -> Result<Vec<String>> {
        let (shown, hashes) = self.new_backup_batch(user);
        self.store.replace_backup_codes(user, &hashes, self.now())?;
        Ok(shown)
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
                let reason = d.reason_chain();
                self.store.apply(&[
                    Write::EndSession {
                        id: s.id.clone(),
                        how: SessionEnd::Abandoned,
                    },
                    self.audit_write(&s, "enroll.skip", "refused", &reason),
                ])?;
                return Ok(if d.verdict == Verdict::Deny {
                    PamReply::Deny { reason }
                } else {
                    PamReply::NotEnrolled { reason }
                });
            }
        };
        let Some(first) = methods.first().copied() else {
            let reason = "enrollment was skipped and no other method is usable, so the sign-in goes on without a second factor".to_string();
            let done = self.store.apply(&[
                Write::FinishSession {
                    id: s.id.clone(),
                    how: SessionEnd::Success,
                },
                self.record_write(&s, "allow", &reason),
                self.audit_write(&s, "enroll.skip", "ok", &reason),
            ]);
            return match done {
                Ok(()) => Ok(PamReply::Allow { reason }),
                Err(Error::Conflict(_)) => Err(Error::Invalid(
                    "this verification session has already ended; start a new sign-in".into(),
                )),
                Err(e) => Err(e),
            };
        };
        // The method change, its audit line and a fresh SMS/email code: one transaction.
        let mut fresh = s.clone();
        fresh.method = first;
        let pending = vec![
            Write::SessionSetMethod {
                id: s.id.clone(),
                method: first,
            },
            self.audit_write(
                &s,
                "enroll.skip",
                "ok",
                format!("enrollment skipped; challenged with {first}"),
            ),
        ];
        let info = self.prompt_info(&fresh, &user, &settings, pending)?;
        Ok(PamReply::Challenge(self.challenge(
            &fresh,
            &settings,
            &facts,
            Some(info),
        )))
    }
}
