//! The batch operations on PostgreSQL ([`Store::apply`], [`Store::consume_then`],
//! [`Store::record_failure_then`]): several writes in one transaction on one pooled connection,
//! so a sign-in step costs one commit (one WAL flush under `synchronous_commit=on`) instead of
//! one per write.
//!
//! BEGIN leaves in one flight with the first statements, and a batch whose writes can only be
//! refused by the server itself (an error that aborts the transaction, so the pipelined COMMIT
//! becomes a ROLLBACK) sends its COMMIT in that flight too: [`Store::apply`] of a sign-in's
//! start is one round trip; [`Store::consume_then`] is three (BEGIN and the consume, then the
//! writes, then COMMIT).
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
    Commit, Consume, ConsumeOutcome, Failure, FailureCounts, FailureWrites, OobOutcome, Write,
};
use deadpool_postgres::{GenericClient, Object};
use std::future::Future;
use std::pin::Pin;
use std::task::Poll;

#[cfg(doc)]
use crate::store::Store;

/// How a run of writes ended when none was refused.
enum Applied {
    /// Every write was applied.
    All,
    /// A [`Write::FinishSession`] found its session no longer open; the error says how it ended.
    SessionNotOpen(Error),
}

/// What one write did when it was not refused.
enum Step {
    Done,
    /// A [`Write::FinishSession`] found its session no longer open.
    SessionNotOpen(Error),
}

/// Applies one write on `c`; a refused write is the store's error, as the single operation
/// gives it.
async fn apply_one<C: GenericClient>(db: &Db, c: &C, w: &Write) -> Result<Step> {
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
                let e = statements::session_not_open(db, c, id).await;
                return Ok(Step::SessionNotOpen(e));
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
    Ok(Step::Done)
}

type Boxed<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Runs the futures concurrently on this task and returns their outputs in order. The first
/// poll visits them in order, so requests they send on their first poll leave in that order:
/// the server runs pipelined statements one after the other as they arrive.
async fn join_in_order<T>(mut futs: Vec<Boxed<'_, T>>) -> Vec<T> {
    let mut out: Vec<Option<T>> = futs.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (f, o) in futs.iter_mut().zip(out.iter_mut()) {
            if o.is_none() {
                match f.as_mut().poll(cx) {
                    Poll::Ready(v) => *o = Some(v),
                    Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    })
    .await;
    out.into_iter().flatten().collect()
}

/// Applies `writes` in order on `c`. Runs of one-statement writes are pipelined (their
/// statements prepared first, then sent without waiting for each other's answers, so the run
/// costs one round trip); a write of several statements runs alone. The first write in order
/// that is refused or finds its session ended decides the result, as if they had run one by
/// one: the caller rolls back (or back to a savepoint), undoing whatever ran after it.
async fn apply_writes<C: GenericClient>(db: &Db, c: &C, writes: &[Write]) -> Result<Applied> {
    // Every statement cached first: a cached one is sent on the first poll of its write.
    prepare_writes(db, c, writes).await?;
    let mut rest = writes;
    while let Some(first) = rest.first() {
        let n = if statements::single_statement(first).is_none() {
            1
        } else {
            rest.iter()
                .take_while(|w| statements::single_statement(w).is_some())
                .count()
        };
        let (run, tail) = rest.split_at(n);
        rest = tail;
        let steps = join_in_order(
            run.iter()
                .map(|w| Box::pin(apply_one(db, c, w)) as Boxed<'_, Result<Step>>)
                .collect(),
        )
        .await;
        for step in steps {
            if let Step::SessionNotOpen(e) = step? {
                return Ok(Applied::SessionNotOpen(e));
            }
        }
    }
    Ok(Applied::All)
}

/// A transaction on a pooled connection whose BEGIN is sent by hand, so that it can leave in
/// one flight with the first statements. Dropped while still open (an error, a timeout), it
/// rolls back in the background; a connection that cannot roll back leaves the pool.
struct Tx {
    obj: Option<Object>,
    open: bool,
}

impl Tx {
    fn new(obj: Object) -> Tx {
        Tx {
            obj: Some(obj),
            open: true,
        }
    }

    fn client(&self) -> Option<&Object> {
        self.obj.as_ref()
    }

    /// Sends `sql` (COMMIT, ROLLBACK, ...) and marks the transaction as ended.
    async fn end(&mut self, db: &Db, sql: &str) -> Result<()> {
        let r = match self.obj.as_ref() {
            Some(c) => c.batch_execute(sql).await.map_err(|e| db.e(e)),
            None => Ok(()),
        };
        if r.is_ok() {
            self.open = false;
        }
        r
    }
}

impl Drop for Tx {
    fn drop(&mut self) {
        let Some(obj) = self.obj.take() else { return };
        if !self.open {
            return;
        }
        match tokio::runtime::Handle::try_current() {
            Ok(rt) => {
                rt.spawn(async move {
                    if obj.batch_execute("ROLLBACK").await.is_err() {
                        drop(Object::take(obj));
                    }
                });
            }
            Err(_) => drop(Object::take(obj)),
        }
    }
}

/// The unusable-connection error of a transaction whose connection is gone.
fn no_client() -> Error {
    Error::Unavailable("PostgreSQL connection of the transaction is gone".into())
}

/// `BEGIN`, as a future of a flight. A [`Commit::Lazy`] transaction turns off
/// `synchronous_commit` for itself only (`SET LOCAL`, in the same round trip).
fn begin<'a, T: Send + 'a>(
    db: &'a Db,
    c: &'a Object,
    commit: Commit,
    ok: T,
) -> Boxed<'a, Result<T>> {
    Box::pin(async move {
        c.batch_execute(begin_sql(commit))
            .await
            .map_err(|e| db.e(e))?;
        Ok(ok)
    })
}

fn begin_sql(commit: Commit) -> &'static str {
    match commit {
        Commit::Durable => "BEGIN",
        Commit::Lazy => "BEGIN; SET LOCAL synchronous_commit = off",
    }
}

/// Whether a write can be refused only by the server itself (an error that aborts the
/// transaction): then a COMMIT pipelined after it becomes a ROLLBACK when it fails.
fn server_refused_only(w: &Write) -> bool {
    matches!(
        w,
        Write::EnsureUser { .. }
            | Write::RecordSignin(_)
            | Write::Audit(_)
            | Write::CreateSession(_)
            | Write::EndSession { .. }
    )
}

/// Prepares (or finds cached) every one-statement write's statement, so that the writes of a
/// flight send their statements on its first poll.
async fn prepare_writes<C: GenericClient>(db: &Db, c: &C, writes: &[Write]) -> Result<()> {
    let mut sqls: Vec<&'static str> = writes
        .iter()
        .filter_map(statements::single_statement)
        .collect();
    sqls.sort_unstable();
    sqls.dedup();
    let prepared = join_in_order(
        sqls.into_iter()
            .map(|sql| {
                Box::pin(c.prepare_cached(sql))
                    as Boxed<
                        '_,
                        std::result::Result<tokio_postgres::Statement, tokio_postgres::Error>,
                    >
            })
            .collect(),
    )
    .await;
    for p in prepared {
        p.map_err(|e| db.e(e))?;
    }
    Ok(())
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
    pub(super) fn apply_batch(&self, writes: &[Write], commit: Commit) -> Result<()> {
        shared::check_writes(writes)?;
        if writes.is_empty() {
            return Ok(());
        }
        let writes = writes.to_vec();
        // All one statement and refused only by the server: COMMIT goes in the same flight.
        let one_flight = writes
            .iter()
            .all(|w| server_refused_only(w) && statements::single_statement(w).is_some());
        self.run(move |db| async move {
            let mut tx = Tx::new(db.client().await?);
            let c = tx.client().ok_or_else(no_client)?;
            prepare_writes(&db, c, &writes).await?;
            let mut flight = vec![
                begin(&db, c, commit, Applied::All),
                Box::pin(apply_writes(&db, c, &writes)) as Boxed<'_, Result<Applied>>,
            ];
            if one_flight {
                flight.push(Box::pin(async {
                    c.batch_execute("COMMIT").await.map_err(|e| db.e(e))?;
                    Ok(Applied::All)
                }));
            }
            let results = join_in_order(flight).await;
            let began = results.first().is_some_and(|r| r.is_ok());
            let mut applied = Applied::All;
            let mut failed = None;
            for r in results {
                match r {
                    Ok(Applied::All) => {}
                    Ok(not_open) => applied = not_open,
                    Err(e) => {
                        failed.get_or_insert(e);
                    }
                }
            }
            if one_flight {
                // After a BEGIN, the COMMIT ended the transaction either way (a failed statement
                // made it a ROLLBACK). Without one, the guard rolls back whatever is left.
                if began {
                    tx.open = false;
                }
                return match failed {
                    Some(e) => Err(e),
                    None => Ok(()),
                };
            }
            if let Some(e) = failed {
                tx.end(&db, "ROLLBACK").await?;
                return Err(e);
            }
            match applied {
                Applied::All => tx.end(&db, "COMMIT").await,
                Applied::SessionNotOpen(e) => {
                    tx.end(&db, "ROLLBACK").await?;
                    Err(e)
                }
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
            let mut tx = Tx::new(db.client().await?);
            let c = tx.client().ok_or_else(no_client)?;
            // BEGIN and the consume: one flight.
            let mut first = None;
            let mut outcome = ConsumeOutcome::Refused;
            let flight = vec![
                begin(&db, c, Commit::Durable, None),
                Box::pin(async { consume(&db, c, &what).await.map(Some) })
                    as Boxed<'_, Result<Option<ConsumeOutcome>>>,
            ];
            for r in join_in_order(flight).await {
                match r {
                    Ok(Some(o)) => outcome = o,
                    Ok(None) => {}
                    Err(e) => {
                        first.get_or_insert(e);
                    }
                }
            }
            if let Some(e) = first {
                tx.end(&db, "ROLLBACK").await?;
                return Err(e);
            }
            if outcome != ConsumeOutcome::Accepted {
                tx.end(&db, "ROLLBACK").await?;
                return Ok(outcome);
            }
            // A savepoint, so a session that ended meanwhile undoes the follow-up writes but
            // keeps the consume (the code stays burned); sent in one flight with the writes.
            // The commit releases it.
            let mut steps: Vec<Boxed<'_, Result<Applied>>> = Vec::with_capacity(2);
            if guarded {
                steps.push(Box::pin(async {
                    c.batch_execute("SAVEPOINT then_writes")
                        .await
                        .map_err(|e| db.e(e))?;
                    Ok(Applied::All)
                }));
            }
            steps.push(Box::pin(apply_writes(&db, c, &then)));
            let mut applied = Applied::All;
            let mut failed = None;
            for step in join_in_order(steps).await {
                match step {
                    Ok(Applied::All) => {}
                    Ok(not_open) => applied = not_open,
                    Err(e) => {
                        failed.get_or_insert(e);
                    }
                }
            }
            if let Some(e) = failed {
                tx.end(&db, "ROLLBACK").await?;
                return Err(e);
            }
            // The savepoint's rollback and the commit: one round trip.
            match applied {
                Applied::All => {
                    tx.end(&db, "COMMIT").await?;
                    Ok(ConsumeOutcome::Accepted)
                }
                Applied::SessionNotOpen(_) => {
                    tx.end(&db, "ROLLBACK TO SAVEPOINT then_writes; COMMIT")
                        .await?;
                    Ok(ConsumeOutcome::AcceptedSessionEnded)
                }
            }
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
            // A wrong code is counted without waiting for the WAL flush (Commit::Lazy).
            tx.batch_execute("SET LOCAL synchronous_commit = off")
                .await
                .map_err(|e| db.e(e))?;
            let failures = statements::record_failure(&db, &tx, &failure.user).await?;
            let attempt = match failure.session.as_deref() {
                None => None,
                Some(id) => {
                    match statements::session_invalid_attempt(&db, &tx, id, failure.max_attempts)
                        .await
                    {
                        Ok(a) => Some(a),
                        // Ended other than locked: the user's failure still counts.
                        Err(Error::Conflict(_)) => None,
                        Err(e) => return Err(e),
                    }
                }
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
