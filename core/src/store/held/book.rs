//! The map of held sessions: each operation is one step under the map's lock, with the same
//! rules as the store's rows (see `sqlite/statements.rs`).

use super::{MAX_HELD, not_open};
use crate::clock::UnixTime;
use crate::error::{Error, Result};
use crate::store::{AttemptCount, OobOutcome, SessionEnd, VerificationSession, Write, shared};
use std::collections::HashMap;
use subtle::ConstantTimeEq;

/// How long an ended session is kept, so a late request learns how it ended.
const KEEP_ENDED_SECS: i64 = 120;
/// Sweeps run at most this often.
const SWEEP_EVERY_SECS: i64 = 10;

struct Oob {
    hash: [u8; 32],
    expires_at: UnixTime,
    used: bool,
}

struct Held {
    s: VerificationSession,
    oob: Option<Oob>,
    /// History and audit lines of the decision, written with the session's next store write.
    deferred: Vec<Write>,
    /// When it ended (for how long it is kept).
    ended_at: Option<UnixTime>,
}

#[derive(Default)]
pub(super) struct Book {
    held: HashMap<String, Held>,
    last_sweep: UnixTime,
}

/// The session ids a batch of session writes touches.
fn ids(mem: &[Write]) -> impl Iterator<Item = &str> {
    mem.iter().filter_map(super::session_of)
}

impl Book {
    pub(super) fn len(&self) -> usize {
        self.held.len()
    }

    pub(super) fn holds(&self, id: &str) -> bool {
        self.held.contains_key(id)
    }

    pub(super) fn session(&self, id: &str) -> Option<VerificationSession> {
        self.held.get(id).map(|h| h.s.clone())
    }

    fn open(&self, id: &str) -> Result<&Held> {
        match self.held.get(id) {
            Some(h) if h.s.ended.is_none() => Ok(h),
            other => Err(not_open(other.map(|h| &h.s))),
        }
    }

    /// Checks a batch of session writes against the sessions as they are, changing nothing.
    pub(super) fn check(&self, mem: &[Write]) -> Result<()> {
        let mut created: Vec<&str> = Vec::new();
        for w in mem {
            match w {
                Write::CreateSession(s) => {
                    shared::check_id(&s.id)?;
                    shared::check_user_name(&s.user)?;
                    if self.holds(&s.id) || created.contains(&s.id.as_str()) {
                        return Err(Error::Conflict(
                            "a verification session with this id already exists".into(),
                        ));
                    }
                    if self.held.len() + created.len() >= MAX_HELD {
                        return Err(Error::Unavailable(format!(
                            "{MAX_HELD} sign-ins are in progress on this host; try again shortly"
                        )));
                    }
                    created.push(&s.id);
                }
                Write::FinishSession { id, .. }
                | Write::SessionSetMethod { id, .. }
                | Write::PutOobCode { session: id, .. }
                    if !created.contains(&id.as_str()) =>
                {
                    self.open(id)?;
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Applies a checked batch of session writes; `deferred` goes with the session created.
    pub(super) fn apply(&mut self, mem: &[Write], mut deferred: Vec<Write>) {
        for w in mem {
            match w {
                Write::CreateSession(s) => {
                    self.held.insert(
                        s.id.clone(),
                        Held {
                            s: s.clone(),
                            oob: None,
                            deferred: std::mem::take(&mut deferred),
                            ended_at: None,
                        },
                    );
                }
                Write::EndSession { id, how } | Write::FinishSession { id, how } => {
                    self.end(id, *how);
                }
                Write::SessionSetMethod { id, method } => {
                    if let Some(h) = self.held.get_mut(id).filter(|h| h.s.ended.is_none()) {
                        h.s.method = *method;
                    }
                }
                Write::PutOobCode {
                    session,
                    hash,
                    expires_at,
                } => {
                    if let Some(h) = self.held.get_mut(session).filter(|h| h.s.ended.is_none()) {
                        h.oob = Some(Oob {
                            hash: *hash,
                            expires_at: *expires_at,
                            used: false,
                        });
                    }
                }
                _ => {}
            }
        }
    }

    /// The deferred lines of the sessions a batch touches (kept until [`Book::clear_deferred`]).
    pub(super) fn deferred_of(&self, mem: &[Write]) -> Vec<Write> {
        let mut out = Vec::new();
        for id in ids(mem) {
            if let Some(h) = self.held.get(id) {
                out.extend(h.deferred.iter().cloned());
            }
        }
        out
    }

    /// Forgets the deferred lines of the sessions a batch touches (they were written).
    pub(super) fn clear_deferred(&mut self, mem: &[Write]) {
        let touched: Vec<String> = ids(mem).map(str::to_string).collect();
        for id in touched {
            self.clear_deferred_of(&id);
        }
    }

    pub(super) fn deferred(&self, id: &str) -> Vec<Write> {
        self.held
            .get(id)
            .map(|h| h.deferred.clone())
            .unwrap_or_default()
    }

    pub(super) fn clear_deferred_of(&mut self, id: &str) {
        if let Some(h) = self.held.get_mut(id) {
            h.deferred.clear();
        }
    }

    pub(super) fn take_deferred(&mut self, id: &str) -> Vec<Write> {
        self.held
            .get_mut(id)
            .map(|h| std::mem::take(&mut h.deferred))
            .unwrap_or_default()
    }

    pub(super) fn take_all_deferred(&mut self) -> Vec<Write> {
        let mut out = Vec::new();
        for h in self.held.values_mut() {
            out.append(&mut h.deferred);
        }
        out
    }

    /// Drops sessions past their life (and ended ones after a while); returns the deferred lines
    /// of those dropped, which were abandoned at the prompt.
    pub(super) fn sweep(&mut self, now: UnixTime) -> Vec<Write> {
        if now < self.last_sweep.saturating_add(SWEEP_EVERY_SECS) {
            return Vec::new();
        }
        self.last_sweep = now;
        let mut out = Vec::new();
        self.held.retain(|_, h| {
            let ended_long_ago = h
                .ended_at
                .is_some_and(|t| now >= t.saturating_add(KEEP_ENDED_SECS));
            let keep = h.s.expires_at > now && !ended_long_ago;
            if !keep {
                out.append(&mut h.deferred);
            }
            keep
        });
        out
    }

    /// The count one more invalid attempt gives ([`crate::store::Store::session_invalid_attempt`]).
    pub(super) fn next_attempt(&self, id: &str, max: Option<u32>) -> Result<AttemptCount> {
        match self.attempt_after_failure(id, max)? {
            Some(a) => Ok(a),
            None => Err(not_open(self.held.get(id).map(|h| &h.s))),
        }
    }

    /// Like [`Book::next_attempt`], but a session ended other than locked is `None` (the
    /// user's failure still counts).
    pub(super) fn attempt_after_failure(
        &self,
        id: &str,
        max: Option<u32>,
    ) -> Result<Option<AttemptCount>> {
        let Some(h) = self.held.get(id) else {
            return Err(shared::unknown_session());
        };
        Ok(match h.s.ended {
            None => {
                let attempts = h.s.invalid_attempts.saturating_add(1);
                Some(AttemptCount {
                    attempts,
                    locked: max.is_some_and(|m| attempts >= m),
                })
            }
            Some(SessionEnd::Locked) => Some(AttemptCount {
                attempts: h.s.invalid_attempts,
                locked: true,
            }),
            Some(_) => None,
        })
    }

    /// Records a count from [`Book::next_attempt`].
    pub(super) fn count_attempt(&mut self, id: &str, a: &AttemptCount) {
        let open = self.held.get(id).is_some_and(|h| h.s.ended.is_none());
        if !open {
            return;
        }
        if let Some(h) = self.held.get_mut(id) {
            h.s.invalid_attempts = a.attempts;
        }
        if a.locked {
            self.end(id, SessionEnd::Locked);
        }
    }

    pub(super) fn resend(&mut self, id: &str, limit: Option<u32>) -> Result<Option<u32>> {
        self.open(id)?;
        let Some(h) = self.held.get_mut(id) else {
            return Err(shared::unknown_session());
        };
        if limit.is_some_and(|l| h.s.resends >= l) {
            return Ok(None);
        }
        h.s.resends += 1;
        Ok(Some(h.s.resends))
    }

    /// Ends an open session; `false` when it was not open.
    pub(super) fn end(&mut self, id: &str, how: SessionEnd) -> bool {
        match self.held.get_mut(id) {
            Some(h) if h.s.ended.is_none() => {
                h.s.ended = Some(how);
                h.ended_at = Some(h.s.created_at.max(self.last_sweep));
                true
            }
            _ => false,
        }
    }

    /// Whether `hash` is the session's live code ([`crate::store::Store::consume_oob_code`]).
    pub(super) fn check_oob(&self, session: &str, hash: &[u8; 32], now: UnixTime) -> OobOutcome {
        let Ok(h) = self.open(session) else {
            return OobOutcome::NoMatch;
        };
        match &h.oob {
            Some(o) if !o.used && bool::from(o.hash.ct_eq(hash)) => {
                if o.expires_at > now {
                    OobOutcome::Accepted
                } else {
                    OobOutcome::Expired
                }
            }
            _ => OobOutcome::NoMatch,
        }
    }

    pub(super) fn use_oob(&mut self, session: &str) {
        if let Some(o) = self.held.get_mut(session).and_then(|h| h.oob.as_mut()) {
            o.used = true;
        }
    }
}
