//! The statements of the [`Store`] operations that run on a pooled connection or inside a
//! transaction (any `GenericClient`): the single operations ([`super::ops`]) and the batches
//! ([`super::batch`]) share them, so a batch runs exactly the statements the single calls run.

use super::Db;
use super::db::SESSION_COLS;
use crate::clock::UnixTime;
use crate::error::{Error, Result};
use crate::proto::Method;
use crate::store::shared::{self, to_u32};
use crate::store::{
    AttemptCount, AuditEvent, OobOutcome, SessionEnd, SignIn, VerificationSession, Write,
};
use deadpool_postgres::GenericClient;
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

#[cfg(doc)]
use crate::store::Store;

const INSERT_USER: &str = "INSERT INTO users (name, status, created_at) \
     VALUES ($1, 'not_enrolled', $2) ON CONFLICT (name) DO NOTHING";
const CLEAR_FAILURES: &str = "UPDATE users SET consecutive_failures = 0 WHERE name = $1";
const INSERT_SESSION: &str = "INSERT INTO verification_sessions (id, user_name, service, rhost, \
     method, invalid_attempts, resends, created_at, expires_at, ended) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";
const SET_METHOD: &str =
    "UPDATE verification_sessions SET method = $2 WHERE id = $1 AND ended IS NULL";
const END_SESSION: &str =
    "UPDATE verification_sessions SET ended = $2 WHERE id = $1 AND ended IS NULL";
const PUT_OOB_CODE: &str = "INSERT INTO oob_codes (session, hash, expires_at, used_at) \
     SELECT $1::TEXT, $2::BYTEA, $3::BIGINT, NULL::BIGINT \
     WHERE EXISTS (SELECT 1 FROM verification_sessions WHERE id = $1::TEXT AND ended IS NULL) \
     ON CONFLICT (session) DO UPDATE \
     SET hash = EXCLUDED.hash, expires_at = EXCLUDED.expires_at, used_at = NULL";
const INSERT_SIGNIN: &str = "INSERT INTO signins (user_name, service, rhost, outcome, reason, at) \
     VALUES ($1, $2, $3, $4, $5, $6)";
const INSERT_AUDIT: &str = "INSERT INTO audit (at, actor, event, user_name, outcome, detail) \
     VALUES ($1, $2, $3, $4, $5, $6)";

/// The one statement a write runs (a refusal may add a query to explain itself), or `None`
/// for a write of several statements. A batch prepares these first, then sends them without
/// waiting for each other's answers (pipelined, in order).
pub(super) fn single_statement(w: &Write) -> Option<&'static str> {
    Some(match w {
        Write::EnsureUser { .. } => INSERT_USER,
        Write::RecordSignin(_) => INSERT_SIGNIN,
        Write::Audit(_) => INSERT_AUDIT,
        Write::CreateSession(_) => INSERT_SESSION,
        Write::EndSession { .. } | Write::FinishSession { .. } => END_SESSION,
        Write::ClearFailures { .. } => CLEAR_FAILURES,
        Write::SessionSetMethod { .. } => SET_METHOD,
        Write::PutOobCode { .. } => PUT_OOB_CODE,
        Write::ReplaceBackupCodes { .. } => return None,
    })
}

type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

async fn exec<C: GenericClient>(db: &Db, c: &C, sql: &str, p: Params<'_>) -> Result<u64> {
    let st = c.prepare_cached(sql).await.map_err(|e| db.e(e))?;
    c.execute(&st, p).await.map_err(|e| db.e(e))
}

async fn query_opt<C: GenericClient>(
    db: &Db,
    c: &C,
    sql: &str,
    p: Params<'_>,
) -> Result<Option<Row>> {
    let st = c.prepare_cached(sql).await.map_err(|e| db.e(e))?;
    c.query_opt(&st, p).await.map_err(|e| db.e(e))
}

pub(super) async fn get_session<C: GenericClient>(
    db: &Db,
    c: &C,
    id: &str,
) -> Result<Option<VerificationSession>> {
    let sql = format!("SELECT {SESSION_COLS} FROM verification_sessions WHERE id = $1");
    match query_opt(db, c, &sql, &[&id]).await? {
        Some(r) => db.session_from(&r).map(Some),
        None => Ok(None),
    }
}

/// Explains why an operation on an open session changed nothing.
pub(super) async fn session_not_open<C: GenericClient>(db: &Db, c: &C, id: &str) -> Error {
    match get_session(db, c, id).await {
        Err(e) => e,
        Ok(None) => shared::unknown_session(),
        Ok(Some(s)) => match s.ended {
            None => Error::Conflict("the verification session changed meanwhile".into()),
            Some(how) => shared::ended_session(how.as_str()),
        },
    }
}

pub(super) async fn insert_user<C: GenericClient>(
    db: &Db,
    c: &C,
    name: &str,
    now: UnixTime,
) -> Result<()> {
    exec(db, c, INSERT_USER, &[&name, &now]).await?;
    Ok(())
}

pub(super) async fn confirm_enrollment<C: GenericClient>(
    db: &Db,
    c: &C,
    name: &str,
    step: i64,
    now: UnixTime,
) -> Result<bool> {
    let n = exec(
        db,
        c,
        "UPDATE users SET status = 'enrolled', totp_last_step = $2, enrolled_at = $3
         WHERE name = $1 AND status = 'pending'",
        &[&name, &step, &now],
    )
    .await?;
    Ok(n == 1)
}

pub(super) async fn advance_totp_step<C: GenericClient>(
    db: &Db,
    c: &C,
    name: &str,
    step: i64,
) -> Result<bool> {
    let n = exec(
        db,
        c,
        "UPDATE users SET totp_last_step = $2
         WHERE name = $1 AND status = 'enrolled'
           AND (totp_last_step IS NULL OR totp_last_step < $2)",
        &[&name, &step],
    )
    .await?;
    Ok(n == 1)
}

/// Run inside a transaction (it is three statements).
pub(super) async fn replace_backup_codes<C: GenericClient>(
    db: &Db,
    c: &C,
    name: &str,
    hashes: &[[u8; 32]],
    now: UnixTime,
) -> Result<()> {
    let hashes: Vec<&[u8]> = hashes.iter().map(|h| &h[..]).collect();
    let user = query_opt(
        db,
        c,
        "SELECT 1 FROM users WHERE name = $1 FOR UPDATE",
        &[&name],
    )
    .await?;
    if user.is_none() {
        return Err(shared::unknown_user(name));
    }
    exec(
        db,
        c,
        "DELETE FROM backup_codes WHERE user_name = $1",
        &[&name],
    )
    .await?;
    exec(
        db,
        c,
        "INSERT INTO backup_codes (user_name, hash, created_at)
         SELECT $1, h, $3 FROM unnest($2::BYTEA[]) AS h",
        &[&name, &hashes, &now],
    )
    .await?;
    Ok(())
}

pub(super) async fn consume_backup_code<C: GenericClient>(
    db: &Db,
    c: &C,
    name: &str,
    hash: &[u8; 32],
    now: UnixTime,
) -> Result<bool> {
    let n = exec(
        db,
        c,
        "UPDATE backup_codes SET used_at = $3
         WHERE user_name = $1 AND hash = $2 AND used_at IS NULL",
        &[&name, &&hash[..], &now],
    )
    .await?;
    Ok(n == 1)
}

pub(super) async fn record_failure<C: GenericClient>(db: &Db, c: &C, name: &str) -> Result<u32> {
    let row = query_opt(
        db,
        c,
        "UPDATE users SET consecutive_failures = consecutive_failures + 1
         WHERE name = $1 RETURNING consecutive_failures",
        &[&name],
    )
    .await?;
    match row {
        Some(r) => Ok(to_u32(db.get(&r, 0)?)),
        None => Err(shared::unknown_user(name)),
    }
}

pub(super) async fn clear_failures<C: GenericClient>(db: &Db, c: &C, name: &str) -> Result<()> {
    let n = exec(db, c, CLEAR_FAILURES, &[&name]).await?;
    if n == 0 {
        return Err(shared::unknown_user(name));
    }
    Ok(())
}

/// A taken id is refused by the server (a unique violation, which aborts a transaction, so a
/// COMMIT pipelined after it rolls back) and reported as `Conflict`.
pub(super) async fn insert_session<C: GenericClient>(
    db: &Db,
    c: &C,
    s: &VerificationSession,
) -> Result<()> {
    let st = c
        .prepare_cached(INSERT_SESSION)
        .await
        .map_err(|e| db.e(e))?;
    let r = c
        .execute(
            &st,
            &[
                &s.id,
                &s.user,
                &s.service,
                &s.rhost,
                &s.method.as_str(),
                &i64::from(s.invalid_attempts),
                &i64::from(s.resends),
                &s.created_at,
                &s.expires_at,
                &s.ended.map(SessionEnd::as_str),
            ],
        )
        .await;
    match r {
        Ok(_) => Ok(()),
        Err(e) if e.code() == Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION) => Err(
            Error::Conflict("a verification session with this id already exists".into()),
        ),
        Err(e) => Err(db.e(e)),
    }
}

pub(super) async fn session_invalid_attempt<C: GenericClient>(
    db: &Db,
    c: &C,
    id: &str,
    max: Option<u32>,
) -> Result<AttemptCount> {
    let max = max.map(i64::from);
    let row = query_opt(
        db,
        c,
        "UPDATE verification_sessions
         SET invalid_attempts = invalid_attempts + 1,
             ended = CASE WHEN $2::BIGINT IS NOT NULL
                               AND invalid_attempts + 1 >= $2::BIGINT
                          THEN 'locked' ELSE ended END
         WHERE id = $1 AND ended IS NULL
         RETURNING invalid_attempts, ended",
        &[&id, &max],
    )
    .await?;
    if let Some(r) = row {
        let ended: Option<String> = db.get(&r, 1)?;
        return Ok(AttemptCount {
            attempts: to_u32(db.get(&r, 0)?),
            locked: ended.as_deref() == Some("locked"),
        });
    }
    // Not open: a session already locked stays locked (a racing attempt learns so).
    match get_session(db, c, id).await? {
        None => Err(shared::unknown_session()),
        Some(s) if s.ended == Some(SessionEnd::Locked) => Ok(AttemptCount {
            attempts: s.invalid_attempts,
            locked: true,
        }),
        Some(s) => Err(shared::ended_session(
            s.ended.map(SessionEnd::as_str).unwrap_or("changed"),
        )),
    }
}

pub(super) async fn session_set_method<C: GenericClient>(
    db: &Db,
    c: &C,
    id: &str,
    method: Method,
) -> Result<()> {
    let n = exec(db, c, SET_METHOD, &[&id, &method.as_str()]).await?;
    if n == 1 {
        return Ok(());
    }
    Err(session_not_open(db, c, id).await)
}

pub(super) async fn end_session<C: GenericClient>(
    db: &Db,
    c: &C,
    id: &str,
    how: SessionEnd,
) -> Result<bool> {
    let n = exec(db, c, END_SESSION, &[&id, &how.as_str()]).await?;
    Ok(n == 1)
}

pub(super) async fn put_oob_code<C: GenericClient>(
    db: &Db,
    c: &C,
    id: &str,
    hash: &[u8; 32],
    expires_at: UnixTime,
) -> Result<()> {
    let n = exec(db, c, PUT_OOB_CODE, &[&id, &&hash[..], &expires_at]).await?;
    if n == 1 {
        return Ok(());
    }
    Err(session_not_open(db, c, id).await)
}

pub(super) async fn consume_oob_code<C: GenericClient>(
    db: &Db,
    c: &C,
    id: &str,
    hash: &[u8; 32],
    now: UnixTime,
) -> Result<OobOutcome> {
    let hash = &hash[..];
    let n = exec(
        db,
        c,
        "UPDATE oob_codes SET used_at = $3
         WHERE session = $1 AND hash = $2 AND used_at IS NULL AND expires_at > $3
           AND EXISTS (SELECT 1 FROM verification_sessions
                       WHERE id = $1 AND ended IS NULL)",
        &[&id, &hash, &now],
    )
    .await?;
    if n == 1 {
        return Ok(OobOutcome::Accepted);
    }
    let expired = query_opt(
        db,
        c,
        "SELECT 1 FROM oob_codes o JOIN verification_sessions s ON s.id = o.session
         WHERE o.session = $1 AND o.hash = $2 AND o.used_at IS NULL
           AND o.expires_at <= $3 AND s.ended IS NULL",
        &[&id, &hash, &now],
    )
    .await?;
    Ok(match expired {
        Some(_) => OobOutcome::Expired,
        None => OobOutcome::NoMatch,
    })
}

pub(super) async fn insert_signin<C: GenericClient>(db: &Db, c: &C, s: &SignIn) -> Result<()> {
    exec(
        db,
        c,
        INSERT_SIGNIN,
        &[&s.user, &s.service, &s.rhost, &s.outcome, &s.reason, &s.at],
    )
    .await?;
    Ok(())
}

pub(super) async fn insert_audit<C: GenericClient>(db: &Db, c: &C, e: &AuditEvent) -> Result<()> {
    exec(
        db,
        c,
        INSERT_AUDIT,
        &[&e.at, &e.actor, &e.event, &e.user, &e.outcome, &e.detail],
    )
    .await?;
    Ok(())
}
