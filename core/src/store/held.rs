//! Verification sessions held in the daemon's memory, for PAM conversations.
//!
//! A PAM conversation never leaves the host: the module talks to its own daemon from `Begin` to
//! the last code. So its verification session (method, invalid attempts, resends, the SMS/email
//! code's hash) needs no row in the database, and opening a challenge needs no transaction.
//! [`HeldSessions`] wraps the real store: sessions created through it live in a map; every other
//! operation goes to the store.
//!
//! What is still written, and when:
//! - the decision's history and audit lines of a challenge are kept with the session and written
//!   in the same transaction as its next write to the store: the outcome (a consumed code, a
//!   counted wrong code) or a switch of method. A session abandoned at the prompt has them
//!   written when it expires (or when the daemon stops).
//! - consumed codes (TOTP step, backup code), the user's consecutive failures, enrollment and
//!   every outcome line go to the store exactly as without this wrapper, with the same commits.
//!
//! Sessions opened with an SMS or email code are kept in the store as before: the code is on
//! its way and must stay valid if the daemon restarts before the user types it (that batch is
//! durable anyway, for the outbox).
//!
//! What changes: a crash of the daemon loses the conversations in progress (their clients fail
//! closed, the users sign in again) and the decision lines of those not yet ended. Counters
//! that outlive a conversation (the user's consecutive failures, TOTP replay) are in the store.
//! The web keeps its sessions in the store: a browser's requests may reach any node.

mod book;

use super::{
    AttemptCount, AuditEvent, AuditFilter, Consume, ConsumeOutcome, EnrollmentStatus, Failure,
    FailureCounts, FailureWrites, OobOutcome, SessionEnd, SignIn, SigninFacts, Store, UserRecord,
    VerificationSession, VerifyFacts, VersionedSettings, Write, delivery, oidc, shared,
};
use crate::clock::UnixTime;
use crate::error::{Error, Result};
use crate::proto::Method;
use crate::settings::Settings;
use crate::store::Commit;
use book::Book;
use std::sync::{Arc, Mutex, MutexGuard};

/// Most sessions held at once; beyond, a new sign-in is refused as unavailable (the module
/// fails closed) until older ones end or expire.
pub const MAX_HELD: usize = 100_000;

/// A store whose verification sessions are held in memory (see the module documentation).
pub struct HeldSessions {
    inner: Arc<dyn Store>,
    book: Mutex<Book>,
    /// Operations that change a held session and write to the store take turns here, so a
    /// session's state and the store's agree (the store's own writes are serialised anyway).
    turn: Mutex<()>,
}

impl std::fmt::Debug for HeldSessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HeldSessions")
            .field("inner", &self.inner.describe())
            .field("held", &self.book().len())
            .finish()
    }
}

fn relock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while the lock was held left the map consistent: every change is one step.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl HeldSessions {
    /// Wraps `inner`.
    pub fn new(inner: Arc<dyn Store>) -> HeldSessions {
        HeldSessions {
            inner,
            book: Mutex::new(Book::default()),
            turn: Mutex::new(()),
        }
    }

    fn book(&self) -> MutexGuard<'_, Book> {
        relock(&self.book)
    }

    /// Sessions held now (open or recently ended).
    pub fn held(&self) -> usize {
        self.book().len()
    }

    /// Writes the decision lines of every session that has not written them yet (at shutdown).
    pub fn flush(&self) -> Result<()> {
        let _turn = relock(&self.turn);
        let pending = self.book().take_all_deferred();
        if pending.is_empty() {
            return Ok(());
        }
        self.inner.apply_with(&pending, Commit::Lazy)
    }

    /// Removes expired sessions, writing the decision lines of those abandoned at the prompt.
    fn sweep(&self, now: UnixTime) -> Result<()> {
        let abandoned = self.book().sweep(now);
        if abandoned.is_empty() {
            return Ok(());
        }
        self.inner.apply_with(&abandoned, Commit::Lazy)
    }
}

impl Drop for HeldSessions {
    fn drop(&mut self) {
        // Best effort: the daemon is stopping; a store error has nobody left to tell.
        let _ = self.flush();
    }
}

/// The session a write changes, if it is one of the session writes.
fn session_of(w: &Write) -> Option<&str> {
    match w {
        Write::CreateSession(s) => Some(&s.id),
        Write::EndSession { id, .. }
        | Write::FinishSession { id, .. }
        | Write::SessionSetMethod { id, .. } => Some(id),
        Write::PutOobCode { session, .. } => Some(session),
        _ => None,
    }
}

/// Only history and audit lines: they can wait for the session's next write.
fn deferrable(w: &Write) -> bool {
    matches!(w, Write::RecordSignin(_) | Write::Audit(_))
}

impl HeldSessions {
    /// Splits a batch into the writes on held sessions and the writes for the store.
    fn split(&self, book: &Book, writes: &[Write]) -> (Vec<Write>, Vec<Write>) {
        let (mut mem, mut rest) = (Vec::new(), Vec::new());
        let mut created: Vec<&str> = Vec::new();
        for w in writes {
            if let Write::CreateSession(s) = w {
                created.push(&s.id);
            }
            match session_of(w) {
                Some(id) if created.contains(&id) || book.holds(id) => mem.push(w.clone()),
                _ => rest.push(w.clone()),
            }
        }
        (mem, rest)
    }
}

impl Store for HeldSessions {
    fn delivery(&self) -> Option<&dyn delivery::DeliveryStore> {
        self.inner.delivery()
    }

    fn oidc(&self) -> Option<&dyn oidc::OidcStore> {
        self.inner.oidc()
    }

    fn describe(&self) -> String {
        self.inner.describe()
    }

    fn check_health(&self) -> Result<String> {
        self.inner.check_health()
    }

    fn load_settings(&self) -> Result<VersionedSettings> {
        self.inner.load_settings()
    }

    fn save_settings(&self, settings: &Settings, expected_version: i64) -> Result<i64> {
        self.inner.save_settings(settings, expected_version)
    }

    fn get_user(&self, name: &str) -> Result<Option<UserRecord>> {
        self.inner.get_user(name)
    }

    fn ensure_user(&self, name: &str, now: UnixTime) -> Result<UserRecord> {
        self.inner.ensure_user(name, now)
    }

    fn list_users(&self, status: Option<EnrollmentStatus>) -> Result<Vec<UserRecord>> {
        self.inner.list_users(status)
    }

    fn holds_totp_secrets(&self) -> Result<bool> {
        self.inner.holds_totp_secrets()
    }

    fn set_pending_secret(&self, name: &str, ciphertext: &[u8], now: UnixTime) -> Result<()> {
        self.inner.set_pending_secret(name, ciphertext, now)
    }

    fn confirm_enrollment(&self, name: &str, step: i64, now: UnixTime) -> Result<bool> {
        self.inner.confirm_enrollment(name, step, now)
    }

    fn advance_totp_step(&self, name: &str, step: i64) -> Result<bool> {
        self.inner.advance_totp_step(name, step)
    }

    fn reset_enrollment(&self, name: &str) -> Result<bool> {
        self.inner.reset_enrollment(name)
    }

    fn reset_pending(&self) -> Result<Vec<String>> {
        self.inner.reset_pending()
    }

    fn set_contact(
        &self,
        name: &str,
        phone: Option<&str>,
        email: Option<&str>,
        default_method: Option<Method>,
    ) -> Result<()> {
        self.inner.set_contact(name, phone, email, default_method)
    }

    fn clear_contact(&self, name: &str, field: &str) -> Result<()> {
        self.inner.clear_contact(name, field)
    }

    fn set_password_hash(&self, name: &str, phc: &str) -> Result<()> {
        self.inner.set_password_hash(name, phc)
    }

    fn replace_backup_codes(&self, name: &str, hashes: &[[u8; 32]], now: UnixTime) -> Result<()> {
        self.inner.replace_backup_codes(name, hashes, now)
    }

    fn consume_backup_code(&self, name: &str, hash: &[u8; 32], now: UnixTime) -> Result<bool> {
        self.inner.consume_backup_code(name, hash, now)
    }

    fn backup_codes_left(&self, name: &str) -> Result<u32> {
        self.inner.backup_codes_left(name)
    }

    fn record_failure(&self, name: &str) -> Result<u32> {
        self.inner.record_failure(name)
    }

    fn clear_failures(&self, name: &str) -> Result<()> {
        self.inner.clear_failures(name)
    }

    fn create_session(&self, s: &VerificationSession) -> Result<()> {
        self.apply_with(&[Write::CreateSession(s.clone())], Commit::Lazy)
    }

    fn get_session(&self, id: &str) -> Result<Option<VerificationSession>> {
        match self.book().session(id) {
            Some(s) => Ok(Some(s)),
            None => self.inner.get_session(id),
        }
    }

    fn session_invalid_attempt(&self, id: &str, max: Option<u32>) -> Result<AttemptCount> {
        let _turn = relock(&self.turn);
        let mut book = self.book();
        if !book.holds(id) {
            drop(book);
            return self.inner.session_invalid_attempt(id, max);
        }
        let a = book.next_attempt(id, max)?;
        book.count_attempt(id, &a);
        Ok(a)
    }

    fn session_resend(&self, id: &str, limit: Option<u32>) -> Result<Option<u32>> {
        let mut book = self.book();
        if !book.holds(id) {
            drop(book);
            return self.inner.session_resend(id, limit);
        }
        book.resend(id, limit)
    }

    fn session_set_method(&self, id: &str, method: Method) -> Result<()> {
        self.apply_with(
            &[Write::SessionSetMethod {
                id: id.into(),
                method,
            }],
            Commit::Lazy,
        )
    }

    fn end_session(&self, id: &str, how: SessionEnd) -> Result<bool> {
        let _turn = relock(&self.turn);
        let mut book = self.book();
        if !book.holds(id) {
            drop(book);
            return self.inner.end_session(id, how);
        }
        let ended = book.end(id, how);
        let deferred = book.take_deferred(id);
        drop(book);
        if !deferred.is_empty() {
            self.inner.apply_with(&deferred, Commit::Lazy)?;
        }
        Ok(ended)
    }

    fn put_oob_code(&self, session: &str, hash: &[u8; 32], expires_at: UnixTime) -> Result<()> {
        self.apply_with(
            &[Write::PutOobCode {
                session: session.into(),
                hash: *hash,
                expires_at,
            }],
            Commit::Lazy,
        )
    }

    fn consume_oob_code(
        &self,
        session: &str,
        hash: &[u8; 32],
        now: UnixTime,
    ) -> Result<OobOutcome> {
        let _turn = relock(&self.turn);
        let mut book = self.book();
        if !book.holds(session) {
            drop(book);
            return self.inner.consume_oob_code(session, hash, now);
        }
        let r = book.check_oob(session, hash, now);
        if r == OobOutcome::Accepted {
            book.use_oob(session);
        }
        Ok(r)
    }

    fn add_device(&self, name: &str, token_hash: &[u8; 32], expires_at: UnixTime) -> Result<()> {
        self.inner.add_device(name, token_hash, expires_at)
    }

    fn device_known(&self, name: &str, token_hash: &[u8; 32], now: UnixTime) -> Result<bool> {
        self.inner.device_known(name, token_hash, now)
    }

    fn forget_devices(&self, name: &str) -> Result<()> {
        self.inner.forget_devices(name)
    }

    fn record_signin(&self, s: &SignIn) -> Result<()> {
        self.inner.record_signin(s)
    }

    fn rhost_seen(
        &self,
        name: &str,
        rhost: &str,
        since: UnixTime,
        depth: u32,
    ) -> Result<Option<UnixTime>> {
        self.inner.rhost_seen(name, rhost, since, depth)
    }

    fn recent_signins(&self, name: &str, limit: u32) -> Result<Vec<SignIn>> {
        self.inner.recent_signins(name, limit)
    }

    fn audit(&self, e: &AuditEvent) -> Result<()> {
        self.inner.audit(e)
    }

    fn query_audit(&self, f: &AuditFilter) -> Result<Vec<AuditEvent>> {
        self.inner.query_audit(f)
    }

    fn signin_facts(&self, user: &str, rhost: Option<&str>, now: UnixTime) -> Result<SigninFacts> {
        self.inner.signin_facts(user, rhost, now)
    }

    fn verify_facts(&self, session: &str) -> Result<VerifyFacts> {
        let Some(s) = self.book().session(session) else {
            return self.inner.verify_facts(session);
        };
        // The user's row, settings and backup codes in one go (no remote address: no history
        // lookup).
        let f = self.inner.signin_facts(&s.user, None, s.created_at)?;
        Ok(VerifyFacts {
            session: Some(s),
            settings: f.settings,
            user: f.user,
            backup_codes_left: f.backup_codes_left,
        })
    }

    fn apply_with(&self, writes: &[Write], commit: Commit) -> Result<()> {
        shared::check_writes(writes)?;
        let created = writes.iter().find_map(|w| match w {
            Write::CreateSession(s) => Some(s.created_at),
            _ => None,
        });
        if let Some(now) = created {
            self.sweep(now)?;
            if writes.iter().any(|w| matches!(w, Write::PutOobCode { .. })) {
                // Opened with an SMS/email code: kept in the store, so the code already on its
                // way stays valid if the daemon restarts before the user types it.
                return self.inner.apply_with(writes, commit);
            }
        }
        if self.split(&self.book(), writes).0.is_empty() {
            // Nothing on a held session: no turn to take (sessions are only created in it).
            return self.inner.apply_with(writes, commit);
        }
        let _turn = relock(&self.turn);
        let mut book = self.book();
        let (mem, mut rest) = self.split(&book, writes);
        book.check(&mem)?;
        if created.is_some() && rest.iter().all(deferrable) {
            // A challenge being opened: its lines wait for the session's next write.
            book.apply(&mem, rest);
            return Ok(());
        }
        let mut pending = book.deferred_of(&mem);
        pending.append(&mut rest);
        drop(book);
        if !pending.is_empty() {
            self.inner.apply_with(&pending, commit)?;
        }
        let mut book = self.book();
        book.apply(&mem, Vec::new());
        book.clear_deferred(&mem);
        Ok(())
    }

    fn consume_then(&self, consume: &Consume, then: &[Write]) -> Result<ConsumeOutcome> {
        shared::check_writes(then)?;
        let oob = match consume {
            Consume::OobCode { session, hash, now } => Some((session.as_str(), hash, *now)),
            _ => None,
        };
        let _turn = relock(&self.turn);
        let mut book = self.book();
        let (mem, rest) = self.split(&book, then);
        let held_oob = oob.filter(|(s, _, _)| book.holds(s));
        if mem.is_empty() && held_oob.is_none() {
            drop(book);
            return self.inner.consume_then(consume, then);
        }
        let finish_ok = book.check(&mem).is_ok();
        let mut pending = if finish_ok {
            book.deferred_of(&mem)
        } else {
            Vec::new()
        };
        if finish_ok {
            pending.extend(rest);
        }
        let outcome = match held_oob {
            Some((session, hash, now)) => match book.check_oob(session, hash, now) {
                OobOutcome::NoMatch => return Ok(ConsumeOutcome::Refused),
                OobOutcome::Expired => return Ok(ConsumeOutcome::Expired),
                OobOutcome::Accepted => {
                    drop(book);
                    if !pending.is_empty() {
                        self.inner.apply(&pending)?;
                    }
                    book = self.book();
                    book.use_oob(session);
                    ConsumeOutcome::Accepted
                }
            },
            None => {
                drop(book);
                let r = self.inner.consume_then(consume, &pending)?;
                book = self.book();
                r
            }
        };
        Ok(match outcome {
            ConsumeOutcome::Accepted if finish_ok => {
                book.apply(&mem, Vec::new());
                book.clear_deferred(&mem);
                ConsumeOutcome::Accepted
            }
            ConsumeOutcome::Accepted => ConsumeOutcome::AcceptedSessionEnded,
            other => other,
        })
    }

    fn record_failure_then(&self, failure: &Failure, then: FailureWrites) -> Result<FailureCounts> {
        let id = match failure.session.as_deref() {
            Some(id) if self.book().holds(id) => id.to_string(),
            _ => return self.inner.record_failure_then(failure, then),
        };
        let _turn = relock(&self.turn);
        let book = self.book();
        let attempt = book.attempt_after_failure(&id, failure.max_attempts)?;
        let deferred = book.deferred(&id);
        drop(book);
        let later: Arc<Mutex<Vec<Write>>> = Arc::default();
        let (sink, held_id) = (later.clone(), id.clone());
        let counted = self.inner.record_failure_then(
            &Failure {
                user: failure.user.clone(),
                session: None,
                max_attempts: failure.max_attempts,
            },
            Arc::new(move |c: &FailureCounts| {
                let counts = FailureCounts {
                    failures: c.failures,
                    attempt,
                };
                let mut out = deferred.clone();
                for w in then(&counts) {
                    match session_of(&w) {
                        Some(s) if s == held_id => relock(&sink).push(w),
                        _ => out.push(w),
                    }
                }
                out
            }),
        )?;
        let mut book = self.book();
        if let Some(a) = &attempt {
            book.count_attempt(&id, a);
        }
        let mem = std::mem::take(&mut *relock(&later));
        book.apply(&mem, Vec::new());
        book.clear_deferred_of(&id);
        Ok(FailureCounts {
            failures: counted.failures,
            attempt,
        })
    }
}

/// The error for a session that is not open, as the store gives it.
fn not_open(s: Option<&VerificationSession>) -> Error {
    match s {
        None => shared::unknown_session(),
        Some(s) => match s.ended {
            Some(how) => shared::ended_session(how.as_str()),
            None => Error::Conflict("the verification session changed meanwhile".into()),
        },
    }
}

#[cfg(test)]
mod tests;
