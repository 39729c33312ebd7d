//! The batch operations on SQLite ([`Store::apply`], [`Store::consume_then`],
//! [`Store::record_failure_then`]): several writes in one `BEGIN IMMEDIATE` transaction, so a
//! sign-in step costs one durable commit (one WAL fsync under `synchronous=FULL`) instead of one
//! per write.
//!
//! `BEGIN IMMEDIATE` takes the database's write lock before the first statement, so the
//! transactions of concurrent callers run one after the other: the single-use consume of one
//! sees every earlier winner's commit, and exactly one of them wins. Every write is the same
//! statement the single operation runs ([`super::statements`]).

use super::statements;
use super::{Durability, SqliteStore};
use crate::error::{Error, Result};
use crate::store::shared;
use crate::store::{
    Commit, Consume, ConsumeOutcome, Failure, FailureCounts, FailureWrites, OobOutcome, Write,
};
use rusqlite::{Connection, Transaction, TransactionBehavior};

#[cfg(doc)]
use crate::store::Store;

/// How a run of writes ended, when SQLite itself did not fail.
enum Applied {
    /// Every write was applied.
    All,
    /// A [`Write::FinishSession`] found its session no longer open; the error says how it ended.
    SessionNotOpen(Error),
    /// A write was refused (the store's error, as the single operation gives it).
    Refused(Error),
}

/// Applies `writes` in order on `c`, stopping at the first that does not go through.
fn apply_writes(c: &Connection, writes: &[Write]) -> rusqlite::Result<Applied> {
    for w in writes {
        let refused = match w {
            Write::EnsureUser { name, now } => {
                statements::insert_user(c, name, *now)?;
                None
            }
            Write::RecordSignin(s) => {
                statements::insert_signin(c, s)?;
                None
            }
            Write::Audit(e) => {
                statements::insert_audit(c, e)?;
                None
            }
            Write::CreateSession(s) => statements::insert_session(c, s)?.err(),
            Write::EndSession { id, how } => {
                statements::end_session(c, id, *how)?;
                None
            }
            Write::FinishSession { id, how } => {
                if !statements::end_session(c, id, *how)? {
                    return Ok(Applied::SessionNotOpen(statements::session_not_open(
                        c, id,
                    )?));
                }
                None
            }
            Write::ClearFailures { user } => statements::clear_failures(c, user)?.err(),
            Write::SessionSetMethod { id, method } => {
                statements::session_set_method(c, id, *method)?.err()
            }
            Write::PutOobCode {
                session,
                hash,
                expires_at,
            } => statements::put_oob_code(c, session, hash, *expires_at)?.err(),
            Write::ReplaceBackupCodes { user, hashes, now } => {
                statements::replace_backup_codes(c, user, hashes, *now)?.err()
            }
        };
        if let Some(e) = refused {
            return Ok(Applied::Refused(e));
        }
    }
    Ok(Applied::All)
}

/// Runs the consume; `Accepted` means this transaction won it.
fn consume(c: &Connection, what: &Consume) -> rusqlite::Result<ConsumeOutcome> {
    let won = |w: bool| {
        if w {
            ConsumeOutcome::Accepted
        } else {
            ConsumeOutcome::Refused
        }
    };
    Ok(match what {
        Consume::TotpStep { user, step } => won(statements::advance_totp_step(c, user, *step)?),
        Consume::BackupCode { user, hash, now } => {
            won(statements::consume_backup_code(c, user, hash, *now)?)
        }
        Consume::OobCode { session, hash, now } => {
            match statements::consume_oob_code(c, session, hash, *now)? {
                OobOutcome::Accepted => ConsumeOutcome::Accepted,
                OobOutcome::Expired => ConsumeOutcome::Expired,
                OobOutcome::NoMatch => ConsumeOutcome::Refused,
            }
        }
        Consume::ConfirmEnrollment { user, step, now } => {
            won(statements::confirm_enrollment(c, user, *step, *now)?)
        }
    })
}

impl SqliteStore {
    /// Runs `f` in a `BEGIN IMMEDIATE` transaction; commits when `f` returns `Ok((v, true))`,
    /// rolls back when it returns `Ok((v, false))` or an error.
    ///
    /// A [`Commit::Lazy`] batch on a `synchronous=FULL` store runs with `synchronous=NORMAL`
    /// on its connection (in WAL mode: the commit is written to the WAL but not flushed); the
    /// connection is set back to FULL before it is released, so every other write stays
    /// durable. A connection that cannot be set back is an error (fail closed).
    fn batch_tx<T>(
        &self,
        commit: Commit,
        f: impl FnOnce(&mut Transaction<'_>) -> rusqlite::Result<Result<(T, bool)>>,
    ) -> Result<T> {
        let (_turn, mut c) = self.write_conn();
        if commit == Commit::Lazy && self.durability() == Durability::Full {
            set_synchronous(&c, Durability::Normal).map_err(|e| self.err(e))?;
            let mut lazy = LazyGuard {
                conn: &mut c,
                armed: true,
            };
            let r = Self::run_batch(lazy.conn, f);
            lazy.armed = false;
            set_synchronous(lazy.conn, Durability::Full).map_err(|e| self.err(e))?;
            return r.map_err(|e| self.err(e))?;
        }
        Self::run_batch(&mut c, f).map_err(|e| self.err(e))?
    }

    fn run_batch<T>(
        c: &mut Connection,
        f: impl FnOnce(&mut Transaction<'_>) -> rusqlite::Result<Result<(T, bool)>>,
    ) -> rusqlite::Result<Result<T>> {
        let mut tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let (v, commit) = match f(&mut tx)? {
            Ok(x) => x,
            Err(e) => return Ok(Err(e)),
        };
        if commit {
            tx.commit()?;
        }
        // Otherwise dropping the transaction rolls it back.
        Ok(Ok(v))
    }

    pub(super) fn apply_batch(&self, writes: &[Write], commit: Commit) -> Result<()> {
        shared::check_writes(writes)?;
        if writes.is_empty() {
            return Ok(());
        }
        self.batch_tx(commit, |tx| {
            Ok(match apply_writes(tx, writes)? {
                Applied::All => Ok(((), true)),
                Applied::SessionNotOpen(e) | Applied::Refused(e) => Err(e),
            })
        })
    }

    /// `writes`, then `and` (statements of another half of the store: the OIDC provider's code
    /// and session), in one durable transaction; nothing is kept if either fails.
    pub(crate) fn apply_batch_and(
        &self,
        writes: &[Write],
        and: impl FnOnce(&Transaction<'_>) -> rusqlite::Result<()>,
    ) -> Result<()> {
        shared::check_writes(writes)?;
        self.batch_tx(Commit::Durable, |tx| {
            if let Applied::SessionNotOpen(e) | Applied::Refused(e) = apply_writes(tx, writes)? {
                return Ok(Err(e));
            }
            and(tx)?;
            Ok(Ok(((), true)))
        })
    }

    pub(super) fn consume_then_batch(
        &self,
        what: &Consume,
        then: &[Write],
    ) -> Result<ConsumeOutcome> {
        shared::check_writes(then)?;
        self.batch_tx(Commit::Durable, |tx| {
            let outcome = consume(tx, what)?;
            if outcome != ConsumeOutcome::Accepted {
                // Nothing was written: roll back.
                return Ok(Ok((outcome, false)));
            }
            // The follow-up writes in a savepoint, so a session that ended meanwhile undoes
            // them but keeps the consume (the code stays burned).
            let sp = tx.savepoint()?;
            match apply_writes(&sp, then)? {
                Applied::All => {
                    sp.commit()?;
                    Ok(Ok((ConsumeOutcome::Accepted, true)))
                }
                Applied::SessionNotOpen(_) => {
                    drop(sp);
                    Ok(Ok((ConsumeOutcome::AcceptedSessionEnded, true)))
                }
                Applied::Refused(e) => Ok(Err(e)),
            }
        })
    }

    pub(super) fn record_failure_then_batch(
        &self,
        failure: &Failure,
        then: FailureWrites,
    ) -> Result<FailureCounts> {
        self.batch_tx(Commit::Lazy, |tx| {
            let failures = match statements::record_failure(tx, &failure.user)? {
                Ok(n) => n,
                Err(e) => return Ok(Err(e)),
            };
            let attempt = match failure.session.as_deref() {
                None => None,
                Some(id) => {
                    match statements::session_invalid_attempt(tx, id, failure.max_attempts)? {
                        Ok(a) => Some(a),
                        // Ended other than locked: the user's failure still counts.
                        Err(Error::Conflict(_)) => None,
                        Err(e) => return Ok(Err(e)),
                    }
                }
            };
            let counts = FailureCounts { failures, attempt };
            let writes = then(&counts);
            if let Err(e) = shared::check_writes(&writes) {
                return Ok(Err(e));
            }
            Ok(match apply_writes(tx, &writes)? {
                Applied::All => Ok((counts, true)),
                Applied::SessionNotOpen(e) | Applied::Refused(e) => Err(e),
            })
        })
    }
}

/// Sets a lazily committing connection back to FULL if the batch unwound (a panic) before it
/// could be set back in order: no later write on it may skip the flush.
struct LazyGuard<'a> {
    conn: &'a mut Connection,
    armed: bool,
}

impl Drop for LazyGuard<'_> {
    fn drop(&mut self) {
        if self.armed {
            if !self.conn.is_autocommit() {
                let _ = self.conn.execute_batch("ROLLBACK");
            }
            let _ = set_synchronous(self.conn, Durability::Full);
        }
    }
}

/// Sets `PRAGMA synchronous` on one connection (outside a transaction).
fn set_synchronous(c: &Connection, d: Durability) -> rusqlite::Result<()> {
    c.execute_batch(match d {
        Durability::Full => "PRAGMA synchronous = FULL",
        Durability::Normal => "PRAGMA synchronous = NORMAL",
    })
}
