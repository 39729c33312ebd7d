//! The batch operations on PostgreSQL ([`Store::apply`], [`Store::consume_then`],
//! [`Store::record_failure_then`]): several writes in one transaction on one pooled connection,
//! so a sign-in step costs one commit (one WAL flush under `synchronous_commit=on`) instead of
//! one per write.
//!
//! Single use holds across connections and nodes because the consume is the same guarded
//! `UPDATE` as the single operation: under READ COMMITTED a concurrent consumer of the same row
//! waits for the first one's row lock, re-evaluates the `WHERE` clause after its commit and
//! matches nothing. The follow-up writes take the user row before the session row (the order of
//! [`Store::record_failure_then`] too), so a success and a failure of one session never deadlock.

use super::statements;
use super::{Db, PgStore};
use crate::error::{Error, Result};
use crate::store::shared;
use crate::store::{
    Consume, ConsumeOutcome, Failure, FailureCounts, FailureWrites, OobOutcome, Write,
};
use deadpool_postgres::GenericClient;

#[cfg(doc)]
use crate::store::Store;

/// How a run of writes ended when none was refused.
enum Applied {
    /// Every write was applied.
    All,
    /// A [`Write::FinishSession`] found its session no longer open; the error says how it ended.
    SessionNotOpen(Error),
}

/// Applies `writes` in order on `c`; a refused write is the store's error, as the single
/// operation gives it.
async fn apply_writes<C: GenericClient>(db: &Db, c: &C, writes: &[Write]) -> Result<Applied> {
    for w in writes {
        match w {
            Write::EnsureUser { name, now } => statements::insert_user(db, c, name, *now).await?,
            Write::RecordSignin(s) => statements::insert_signin(db, c, s).await?,
            Write::Audit(e) => statements::insert_audit(db, c, e).await?,
            Write::CreateSession(s) => statements::insert_session(db, c, s).await?,
            Write::EndSession { id, how } => {
                statements::end_session(db, c, id, *how).await?;
            }
            Write::FinishSession { id, how } => {
                if !statements::end_session(db, c, id, *how).await? {
                    return Ok(Applied::SessionNotOpen(
                        statements::session_not_open(db, c, id).await,
                    ));
                }
            }
            Write::ClearFailures { user } => statements::clear_failures(db, c, user).await?,
            Write::SessionSetMethod { id, method } => {
                statements::session_set_method(db, c, id, *method).await?
            }
            Write::PutOobCode {
                session,
                hash,
                expires_at,
            } => statements::put_oob_code(db, c, session, hash, *expires_at).await?,
            Write::ReplaceBackupCodes { user, hashes, now } => {
                statements::replace_backup_codes(db, c, user, hashes, *now).await?
            }
        }
    }
    Ok(Applied::All)
}

/// Runs the consume; `Accepted` means this transaction won it.
async fn consume<C: GenericClient>(db: &Db, c: &C, what: &Consume) -> Result<ConsumeOutcome> {
    let won = |w: bool| {
        if w {
            ConsumeOutcome::Accepted
        } else {
            ConsumeOutcome::Refused
        }
    };
    Ok(match what {
        Consume::TotpStep { user, step } => {
            won(statements::advance_totp_step(db, c, user, *step).await?)
        }
        Consume::BackupCode { user, hash, now } => {
            won(statements::consume_backup_code(db, c, user, hash, *now).await?)
        }
        Consume::OobCode { session, hash, now } => {
            match statements::consume_oob_code(db, c, session, hash, *now).await? {
                OobOutcome::Accepted => ConsumeOutcome::Accepted,
                OobOutcome::Expired => ConsumeOutcome::Expired,
                OobOutcome::NoMatch => ConsumeOutcome::Refused,
            }
        }
        Consume::ConfirmEnrollment { user, step, now } => {
            won(statements::confirm_enrollment(db, c, user, *step, *now).await?)
        }
    })
}

impl PgStore {
    pub(super) fn apply_batch(&self, writes: &[Write]) -> Result<()> {
        shared::check_writes(writes)?;
        if writes.is_empty() {
            return Ok(());
        }
        let writes = writes.to_vec();
        self.run(move |db| async move {
            let mut c = db.client().await?;
            let tx = c.transaction().await.map_err(|e| db.e(e))?;
            match apply_writes(&db, &tx, &writes).await? {
                Applied::All => tx.commit().await.map_err(|e| db.e(e)),
                // Dropping the transaction rolls it back.
                Applied::SessionNotOpen(e) => Err(e),
            }
        })
    }

    pub(super) fn consume_then_batch(
        &self,
        what: &Consume,
        then: &[Write],
    ) -> Result<ConsumeOutcome> {
        shared::check_writes(then)?;
        let (what, then) = (what.clone(), then.to_vec());
        let guarded = then
            .iter()
            .any(|w| matches!(w, Write::FinishSession { .. }));
        self.run(move |db| async move {
            let mut c = db.client().await?;
            let tx = c.transaction().await.map_err(|e| db.e(e))?;
            let outcome = consume(&db, &tx, &what).await?;
            if outcome != ConsumeOutcome::Accepted {
                tx.rollback().await.map_err(|e| db.e(e))?;
                return Ok(outcome);
            }
            // A savepoint, so a session that ended meanwhile undoes the follow-up writes but
            // keeps the consume (the code stays burned). The commit releases it.
            if guarded {
                tx.batch_execute("SAVEPOINT then_writes")
                    .await
                    .map_err(|e| db.e(e))?;
            }
            let outcome = match apply_writes(&db, &tx, &then).await? {
                Applied::All => ConsumeOutcome::Accepted,
                Applied::SessionNotOpen(_) => {
                    tx.batch_execute("ROLLBACK TO SAVEPOINT then_writes")
                        .await
                        .map_err(|e| db.e(e))?;
                    ConsumeOutcome::AcceptedSessionEnded
                }
            };
            tx.commit().await.map_err(|e| db.e(e))?;
            Ok(outcome)
        })
    }

    pub(super) fn record_failure_then_batch(
        &self,
        failure: &Failure,
        then: FailureWrites,
    ) -> Result<FailureCounts> {
        let failure = failure.clone();
        self.run(move |db| async move {
            let mut c = db.client().await?;
            let tx = c.transaction().await.map_err(|e| db.e(e))?;
            let failures = statements::record_failure(&db, &tx, &failure.user).await?;
            let attempt = match statements::session_invalid_attempt(
                &db,
                &tx,
                &failure.session,
                failure.max_attempts,
            )
            .await
            {
                Ok(a) => Some(a),
                // Ended other than locked: the user's failure still counts.
                Err(Error::Conflict(_)) => None,
                Err(e) => return Err(e),
            };
            let counts = FailureCounts { failures, attempt };
            let writes = then(&counts);
            shared::check_writes(&writes)?;
            match apply_writes(&db, &tx, &writes).await? {
                Applied::All => {
                    tx.commit().await.map_err(|e| db.e(e))?;
                    Ok(counts)
                }
                Applied::SessionNotOpen(e) => Err(e),
            }
        })
    }
}
