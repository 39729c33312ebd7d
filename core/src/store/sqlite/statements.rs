//! The statements of the [`Store`] operations that run on one connection: the single
//! operations ([`super::ops`]) and the batches ([`super::batch`]) share them, so a batch runs
//! exactly the statements the single calls run. The outer `Result` is SQLite's, the inner one
//! the store's refusal.

use super::ops::{SESSION_COLS, session_from, session_state, user_exists};
use crate::clock::UnixTime;
use crate::error::{Error, Result};
use crate::proto::Method;
use crate::store::shared::{self, to_u32};
use crate::store::{AttemptCount, AuditEvent, OobOutcome, SessionEnd, SignIn, VerificationSession};
use rusqlite::{Connection, OptionalExtension, params};

#[cfg(doc)]
use crate::store::Store;

/// Explains why an operation on an open session changed nothing.
pub(super) fn session_not_open(c: &Connection, id: &str) -> rusqlite::Result<Error> {
    Ok(match session_state(c, id)? {
        None => shared::unknown_session(),
        Some(None) => Error::Conflict("the verification session changed meanwhile".into()),
        Some(Some(how)) => shared::ended_session(&how),
    })
}

pub(super) fn insert_user(c: &Connection, name: &str, now: UnixTime) -> rusqlite::Result<()> {
    c.prepare_cached(
        "INSERT INTO users (name, status, created_at) VALUES (?1, 'not_enrolled', ?2)
         ON CONFLICT (name) DO NOTHING",
    )?
    .execute(params![name, now])?;
    Ok(())
}

pub(super) fn confirm_enrollment(
    c: &Connection,
    name: &str,
    step: i64,
    now: UnixTime,
) -> rusqlite::Result<bool> {
    let n = c
        .prepare_cached(
            "UPDATE users SET status = 'enrolled', totp_last_step = ?2, enrolled_at = ?3
             WHERE name = ?1 AND status = 'pending'",
        )?
        .execute(params![name, step, now])?;
    Ok(n == 1)
}

pub(super) fn advance_totp_step(c: &Connection, name: &str, step: i64) -> rusqlite::Result<bool> {
    let n = c
        .prepare_cached(
            "UPDATE users SET totp_last_step = ?2
             WHERE name = ?1 AND status = 'enrolled'
               AND (totp_last_step IS NULL OR totp_last_step < ?2)",
        )?
        .execute(params![name, step])?;
    Ok(n == 1)
}

pub(super) fn replace_backup_codes(
    c: &Connection,
    name: &str,
    hashes: &[[u8; 32]],
    now: UnixTime,
) -> rusqlite::Result<Result<()>> {
    if !user_exists(c, name)? {
        return Ok(Err(shared::unknown_user(name)));
    }
    c.prepare_cached("DELETE FROM backup_codes WHERE user_name = ?1")?
        .execute([name])?;
    let mut ins = c.prepare_cached(
        "INSERT INTO backup_codes (user_name, hash, created_at) VALUES (?1, ?2, ?3)",
    )?;
    for h in hashes {
        ins.execute(params![name, &h[..], now])?;
    }
    Ok(Ok(()))
}

pub(super) fn consume_backup_code(
    c: &Connection,
    name: &str,
    hash: &[u8; 32],
    now: UnixTime,
) -> rusqlite::Result<bool> {
    let n = c
        .prepare_cached(
            "UPDATE backup_codes SET used_at = ?3
             WHERE user_name = ?1 AND hash = ?2 AND used_at IS NULL",
        )?
        .execute(params![name, &hash[..], now])?;
    Ok(n == 1)
}

pub(super) fn record_failure(c: &Connection, name: &str) -> rusqlite::Result<Result<u32>> {
    let n: Option<i64> = c
        .prepare_cached(
            "UPDATE users SET consecutive_failures = consecutive_failures + 1
             WHERE name = ?1 RETURNING consecutive_failures",
        )?
        .query_row([name], |r| r.get(0))
        .optional()?;
    Ok(n.map(to_u32).ok_or_else(|| shared::unknown_user(name)))
}

pub(super) fn clear_failures(c: &Connection, name: &str) -> rusqlite::Result<Result<()>> {
    let n = c
        .prepare_cached("UPDATE users SET consecutive_failures = 0 WHERE name = ?1")?
        .execute([name])?;
    Ok(if n == 0 {
        Err(shared::unknown_user(name))
    } else {
        Ok(())
    })
}

pub(super) fn insert_session(
    c: &Connection,
    s: &VerificationSession,
) -> rusqlite::Result<Result<()>> {
    let n = c
        .prepare_cached(&format!(
            "INSERT INTO verification_sessions ({SESSION_COLS})
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
             ON CONFLICT (id) DO NOTHING"
        ))?
        .execute(params![
            s.id,
            s.user,
            s.service,
            s.rhost,
            s.method.as_str(),
            i64::from(s.invalid_attempts),
            i64::from(s.resends),
            s.created_at,
            s.expires_at,
            s.ended.map(SessionEnd::as_str),
        ])?;
    Ok(if n == 0 {
        Err(Error::Conflict(
            "a verification session with this id already exists".into(),
        ))
    } else {
        Ok(())
    })
}

pub(super) fn get_session(
    c: &Connection,
    id: &str,
) -> rusqlite::Result<Option<VerificationSession>> {
    c.prepare_cached(&format!(
        "SELECT {SESSION_COLS} FROM verification_sessions WHERE id = ?1"
    ))?
    .query_row([id], session_from)
    .optional()
}

pub(super) fn session_invalid_attempt(
    c: &Connection,
    id: &str,
    max: Option<u32>,
) -> rusqlite::Result<Result<AttemptCount>> {
    let row: Option<(i64, Option<String>)> = c
        .prepare_cached(
            "UPDATE verification_sessions
             SET invalid_attempts = invalid_attempts + 1,
                 ended = CASE WHEN ?2 IS NOT NULL AND invalid_attempts + 1 >= ?2
                              THEN 'locked' ELSE ended END
             WHERE id = ?1 AND ended IS NULL
             RETURNING invalid_attempts, ended",
        )?
        .query_row(params![id, max.map(i64::from)], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()?;
    if let Some((n, ended)) = row {
        return Ok(Ok(AttemptCount {
            attempts: to_u32(n),
            locked: ended.as_deref() == Some("locked"),
        }));
    }
    // Not open: a session already locked stays locked (a racing attempt learns so).
    Ok(match get_session(c, id)? {
        None => Err(shared::unknown_session()),
        Some(s) if s.ended == Some(SessionEnd::Locked) => Ok(AttemptCount {
            attempts: s.invalid_attempts,
            locked: true,
        }),
        Some(s) => Err(shared::ended_session(
            s.ended.map(SessionEnd::as_str).unwrap_or("changed"),
        )),
    })
}

pub(super) fn session_set_method(
    c: &Connection,
    id: &str,
    method: Method,
) -> rusqlite::Result<Result<()>> {
    let n = c
        .prepare_cached(
            "UPDATE verification_sessions SET method = ?2 WHERE id = ?1 AND ended IS NULL",
        )?
        .execute([id, method.as_str()])?;
    Ok(if n == 1 {
        Ok(())
    } else {
        Err(session_not_open(c, id)?)
    })
}

pub(super) fn end_session(c: &Connection, id: &str, how: SessionEnd) -> rusqlite::Result<bool> {
    let n = c
        .prepare_cached(
            "UPDATE verification_sessions SET ended = ?2 WHERE id = ?1 AND ended IS NULL",
        )?
        .execute([id, how.as_str()])?;
    Ok(n == 1)
}

pub(super) fn put_oob_code(
    c: &Connection,
    session: &str,
    hash: &[u8; 32],
    expires_at: UnixTime,
) -> rusqlite::Result<Result<()>> {
    let n = c
        .prepare_cached(
            "INSERT INTO oob_codes (session, hash, expires_at, used_at)
             SELECT ?1, ?2, ?3, NULL
             WHERE EXISTS (SELECT 1 FROM verification_sessions WHERE id = ?1 AND ended IS NULL)
             ON CONFLICT (session) DO UPDATE
             SET hash = excluded.hash, expires_at = excluded.expires_at, used_at = NULL",
        )?
        .execute(params![session, &hash[..], expires_at])?;
    Ok(if n == 1 {
        Ok(())
    } else {
        Err(session_not_open(c, session)?)
    })
}

pub(super) fn consume_oob_code(
    c: &Connection,
    session: &str,
    hash: &[u8; 32],
    now: UnixTime,
) -> rusqlite::Result<OobOutcome> {
    let n = c
        .prepare_cached(
            "UPDATE oob_codes SET used_at = ?3
             WHERE session = ?1 AND hash = ?2 AND used_at IS NULL AND expires_at > ?3
               AND EXISTS (SELECT 1 FROM verification_sessions
                           WHERE id = ?1 AND ended IS NULL)",
        )?
        .execute(params![session, &hash[..], now])?;
    if n == 1 {
        return Ok(OobOutcome::Accepted);
    }
    let unused_expired: Option<i64> = c
        .prepare_cached(
            "SELECT 1 FROM oob_codes o JOIN verification_sessions s ON s.id = o.session
             WHERE o.session = ?1 AND o.hash = ?2 AND o.used_at IS NULL
               AND o.expires_at <= ?3 AND s.ended IS NULL",
        )?
        .query_row(params![session, &hash[..], now], |r| r.get(0))
        .optional()?;
    Ok(match unused_expired {
        Some(_) => OobOutcome::Expired,
        None => OobOutcome::NoMatch,
    })
}

pub(super) fn insert_signin(c: &Connection, s: &SignIn) -> rusqlite::Result<()> {
    c.prepare_cached(
        "INSERT INTO signins (user_name, service, rhost, outcome, reason, at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        s.user, s.service, s.rhost, s.outcome, s.reason, s.at
    ])?;
    Ok(())
}

pub(super) fn insert_audit(c: &Connection, e: &AuditEvent) -> rusqlite::Result<()> {
    c.prepare_cached(
        "INSERT INTO audit (at, actor, event, user_name, outcome, detail)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![e.at, e.actor, e.event, e.user, e.outcome, e.detail])?;
    Ok(())
}
