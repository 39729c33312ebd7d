//! Checking a code: burn before issue in one transaction with the success's writes, and
//! counting a wrong code per user and per session in one transaction with its audit and
//! history lines.

use super::signin::rhost_note;
use super::{Engine, SESSION_LOCKED, USER_LOCKED, audit_event, signin_row};
use crate::codes::{self, BackupCode};
use crate::decision::{self, UserFacts};
use crate::error::{Error, Result};
use crate::proto::{Code, Method, PamReply};
use crate::settings::Settings;
use crate::store::{
    Consume, ConsumeOutcome, EnrollmentStatus, Failure, FailureCounts, SessionEnd, UserRecord,
    VerificationSession, Write,
};
use crate::totp;
use std::sync::Arc;

/// Result of looking at one code, before anything is written.
enum Check {
    /// Right if this caller wins the consume; the words say what a lost consume means.
    Candidate {
        consume: Consume,
        refused: (String, String),
        expired: (String, String),
    },
    /// Wrong; the reason is for the audit trail, the message for the user.
    Wrong { why: String, message: String },
}

fn wrong(why: impl Into<String>, message: impl Into<String>) -> Check {
    Check::Wrong {
        why: why.into(),
        message: message.into(),
    }
}

fn words(why: impl Into<String>, message: impl Into<String>) -> (String, String) {
    (why.into(), message.into())
}

/// The reply when another request ended the session first (a success or a lockout).
pub(super) fn already_ended() -> PamReply {
    PamReply::Locked {
        message: "This verification session has already ended. Start a new sign-in.".into(),
    }
}

impl Engine {
    /// Checks a code for an open session.
    pub fn verify(&self, session: &str, method: Method, code: &Code) -> Result<PamReply> {
        let f = self.store.verify_facts(session)?;
        let s = match self.check_open(f.session)? {
            Ok(s) => s,
            Err(reply) => return Ok(reply),
        };
        let settings = f.settings.settings;
        let user = f
            .user
            .ok_or_else(|| Error::NotFound(format!("user {} no longer exists", s.user)))?;
        let facts = Self::facts_with(&user, f.backup_codes_left);
        if method == Method::AuthenticatorApp && user.status != EnrollmentStatus::Enrolled {
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
        let (consume, refused, expired) =
            match self.check_code(&s, &user, &settings, method, code)? {
                Check::Wrong { why, message } => {
                    return self.fail(&s, &settings, &user, Some(facts), method, (why, message));
                }
                Check::Candidate {
                    consume,
                    refused,
                    expired,
                } => (consume, refused, expired),
            };
        let locked_user = user.consecutive_failures >= settings.max_consecutive_failures;
        let then = if locked_user {
            // the code is burned, but a locked user does not get in.
            vec![
                Write::EndSession {
                    id: s.id.clone(),
                    how: SessionEnd::Locked,
                },
                self.audit_write(
                    &s,
                    "auth.locked",
                    "refused",
                    format!(
                        "a correct {method} code was presented while the user is locked after {} consecutive failures; the code was burned",
                        user.consecutive_failures
                    ),
                ),
                self.record_write(&s, "locked", "user locked by consecutive failures"),
            ]
        } else {
            self.success_writes(&s, &format!("{method} code accepted"))
        };
        let wrong = match self.store.consume_then(&consume, &then)? {
            ConsumeOutcome::Accepted if locked_user => {
                return Ok(PamReply::Locked {
                    message: USER_LOCKED.into(),
                });
            }
            ConsumeOutcome::Accepted => return Ok(PamReply::Accepted { method }),
            ConsumeOutcome::AcceptedSessionEnded => return Ok(already_ended()),
            ConsumeOutcome::Refused => refused,
            ConsumeOutcome::Expired => expired,
        };
        self.fail(&s, &settings, &user, Some(facts), method, wrong)
    }

    /// Looks at one code: either wrong on its face, or the consume that makes it right.
    /// Reads only; never issues anything.
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
                        let refused = words(
                            format!(
                                "replayed authenticator code: step {step} or a later one was already used"
                            ),
                            "That code was already used. Wait for the next code and enter it.",
                        );
                        Check::Candidate {
                            consume: Consume::TotpStep {
                                user: user.name.clone(),
                                step,
                            },
                            expired: refused.clone(),
                            refused,
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
                    let refused = words(
                        "wrong or already used backup code",
                        "That backup code is not valid or was already used.",
                    );
                    Check::Candidate {
                        consume: Consume::BackupCode {
                            user: user.name.clone(),
                            hash: c.hash(&self.keys, &user.name),
                            now,
                        },
                        expired: refused.clone(),
                        refused,
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
                Some(c) => Check::Candidate {
                    consume: Consume::OobCode {
                        session: s.id.clone(),
                        hash: codes::hash_oob(&self.keys, &s.id, &c),
                        now,
                    },
                    refused: words(format!("wrong {method} code"), "That code is not valid."),
                    expired: words(
                        format!("expired {method} code"),
                        "That code has expired. Ask for a new code.",
                    ),
                },
            },
        })
    }

    /// The writes of a right code, applied in the consume's transaction: clear the user's
    /// counter, end the session (which must still be open), record and audit. The user row is
    /// written before the session row, as a failure does.
    pub(super) fn success_writes(&self, s: &VerificationSession, why: &str) -> Vec<Write> {
        vec![
            Write::ClearFailures {
                user: s.user.clone(),
            },
            Write::FinishSession {
                id: s.id.clone(),
                how: SessionEnd::Success,
            },
            self.record_write(s, "success", why),
            self.audit_write(
                s,
                "auth.success",
                "ok",
                format!("{why} for {}{}", s.service, rhost_note(s)),
            ),
        ]
    }

    /// A code was wrong: count it per user and per session, audit and record it (one
    /// transaction), and say what is left. `facts` are the user's before this failure, when
    /// the caller has them; `wrong` is the reason for the audit trail and the message for the
    /// user.
    pub(super) fn fail(
        &self,
        s: &VerificationSession,
        settings: &Settings,
        user: &UserRecord,
        facts: Option<UserFacts>,
        method: Method,
        wrong: (String, String),
    ) -> Result<PamReply> {
        let (why, message) = wrong;
        let max = settings.max_invalid_attempts.get();
        let limit = max.map_or("no limit".to_string(), |m| m.to_string());
        let cap = settings.max_consecutive_failures;
        let (now, session) = (self.now(), s.clone());
        let then = Arc::new(move |c: &FailureCounts| {
            let Some(attempt) = c.attempt else {
                return Vec::new();
            };
            let s = &session;
            let audit = |event: &str, detail: String| {
                Write::Audit(audit_event(
                    now,
                    &s.user,
                    event,
                    Some(&s.user),
                    "refused",
                    detail,
                ))
            };
            let record = |outcome: &str, reason: &str| {
                Write::RecordSignin(signin_row(now, s, outcome, reason))
            };
            let mut w = vec![
                audit(
                    "auth.failure",
                    format!(
                        "{method}: {why}; invalid attempt {} of {limit} in this session; {} consecutive failures (cap {cap}){}",
                        attempt.attempts,
                        c.failures,
                        rhost_note(s)
                    ),
                ),
                record("failure", &why),
            ];
            if c.failures >= cap {
                w.push(Write::EndSession {
                    id: s.id.clone(),
                    how: SessionEnd::Locked,
                });
                w.push(audit(
                    "auth.locked",
                    format!(
                        "user locked after {} consecutive failed codes (cap {cap}); an administrator must unlock it (twofoldctl users unlock {})",
                        c.failures, s.user
                    ),
                ));
                w.push(record("locked", "user locked by consecutive failures"));
            } else if attempt.locked {
                w.push(audit(
                    "auth.locked",
                    format!(
                        "verification session ended after {} invalid attempts (max_invalid_attempts {limit})",
                        attempt.attempts
                    ),
                ));
                w.push(record(
                    "locked",
                    "too many invalid attempts in this session",
                ));
            }
            w
        });
        let counts = self.store.record_failure_then(
            &Failure {
                user: s.user.clone(),
                session: Some(s.id.clone()),
                max_attempts: max,
            },
            then,
        )?;
        let Some(attempt) = counts.attempt else {
            // Another request ended the session (not by a lockout); the failure still counts.
            return Err(Error::Conflict(
                "the verification session has already ended; start a new sign-in".into(),
            ));
        };
        if counts.failures >= cap {
            return Ok(PamReply::Locked {
                message: USER_LOCKED.into(),
            });
        }
        if attempt.locked {
            return Ok(PamReply::Locked {
                message: SESSION_LOCKED.into(),
            });
        }
        let mut s2 = s.clone();
        s2.invalid_attempts = attempt.attempts;
        let mut facts = match facts {
            Some(f) => f,
            None => self.facts(user)?,
        };
        facts.consecutive_failures = counts.failures;
        Ok(PamReply::Rejected {
            message,
            challenge: self.challenge(&s2, settings, &facts, None),
        })
    }
}
