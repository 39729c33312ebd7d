//! The [`Store`] operations on SQLite. Every single-use or counting operation is one
//! conditional statement; the few multi-statement writes run in `BEGIN IMMEDIATE` transactions.

use super::SqliteStore;
use super::statements::{
    advance_totp_step, clear_failures, confirm_enrollment, consume_backup_code, consume_oob_code,
    end_session, get_session, insert_audit, insert_session, insert_signin, insert_user,
    put_oob_code, record_failure, replace_backup_codes, session_invalid_attempt,
    session_set_method,
};
use crate::clock::UnixTime;
use crate::error::{Error, Result};
use crate::proto::Method;
use crate::settings::Settings;
use crate::store::shared::{self, to_u32};
use crate::store::{
    AttemptCount, AuditEvent, AuditFilter, Commit, Consume, ConsumeOutcome, EnrollmentStatus,
    Failure, FailureCounts, FailureWrites, OobOutcome, SessionEnd, SignIn, Store, UserRecord,
    VerificationSession, VersionedSettings, Write,
};
use rusqlite::types::Type;
use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};

const USER_COLS: &str = "name, status, totp_secret, totp_last_step, default_method, phone, email, \
     consecutive_failures, password_hash, created_at, enrolled_at";

pub(super) const SESSION_COLS: &str = "id, user_name, service, rhost, method, invalid_attempts, resends, \
     created_at, expires_at, ended";

fn bad_value(idx: usize, what: &str, value: &str) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(
        idx,
        Type::Text,
        format!("unknown stored {what} {value:?}").into(),
    )
}

fn method_at(row: &Row<'_>, idx: usize) -> rusqlite::Result<Method> {
    let s: String = row.get(idx)?;
    Method::parse(&s).ok_or_else(|| bad_value(idx, "method", &s))
}

fn user_from(row: &Row<'_>) -> rusqlite::Result<UserRecord> {
    let status: String = row.get(1)?;
    let default_method: Option<String> = row.get(4)?;
    Ok(UserRecord {
        name: row.get(0)?,
        status: EnrollmentStatus::parse(&status).ok_or_else(|| bad_value(1, "status", &status))?,
        totp_secret: row.get(2)?,
        totp_last_step: row.get(3)?,
        default_method: match default_method {
            None => None,
            Some(s) => Some(Method::parse(&s).ok_or_else(|| bad_value(4, "method", &s))?),
        },
        phone: row.get(5)?,
        email: row.get(6)?,
        consecutive_failures: to_u32(row.get(7)?),
        password_hash: row.get(8)?,
        created_at: row.get(9)?,
        enrolled_at: row.get(10)?,
    })
}

pub(super) fn session_from(row: &Row<'_>) -> rusqlite::Result<VerificationSession> {
    let ended: Option<String> = row.get(9)?;
    Ok(VerificationSession {
        id: row.get(0)?,
        user: row.get(1)?,
        service: row.get(2)?,
        rhost: row.get(3)?,
        method: method_at(row, 4)?,
        invalid_attempts: to_u32(row.get(5)?),
        resends: to_u32(row.get(6)?),
        created_at: row.get(7)?,
        expires_at: row.get(8)?,
        ended: match ended {
            None => None,
            Some(s) => Some(SessionEnd::parse(&s).ok_or_else(|| bad_value(9, "session end", &s))?),
        },
    })
}

fn signin_from(row: &Row<'_>) -> rusqlite::Result<SignIn> {
    Ok(SignIn {
        user: row.get(0)?,
        service: row.get(1)?,
        rhost: row.get(2)?,
        outcome: row.get(3)?,
        reason: row.get(4)?,
        at: row.get(5)?,
    })
}

pub(super) fn user_exists(c: &Connection, name: &str) -> rusqlite::Result<bool> {
    c.prepare_cached("SELECT 1 FROM users WHERE name = ?1")?
        .query_row([name], |_| Ok(()))
        .optional()
        .map(|o| o.is_some())
}

/// `None`: no such session; `Some(None)`: open; `Some(Some(how))`: ended.
pub(super) fn session_state(c: &Connection, id: &str) -> rusqlite::Result<Option<Option<String>>> {
    c.prepare_cached("SELECT ended FROM verification_sessions WHERE id = ?1")?
        .query_row([id], |r| r.get::<_, Option<String>>(0))
        .optional()
}

impl SqliteStore {
    /// Runs `f` on a connection, mapping errors to the store's.
    fn with<T>(&self, f: impl FnOnce(&mut Connection) -> rusqlite::Result<T>) -> Result<T> {
        let mut c = self.conn_for_statement();
        f(&mut c).map_err(|e| self.err(e))
    }

    /// Runs `f` in a `BEGIN IMMEDIATE` transaction; commits only if `f` returns `Ok(Ok(_))`.
    fn write_tx<T>(
        &self,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> rusqlite::Result<Result<T>>,
    ) -> Result<T> {
        let (_turn, mut c) = self.write_conn();
        let tx = c
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| self.err(e))?;
        match f(&tx).map_err(|e| self.err(e))? {
            Ok(v) => {
                tx.commit().map_err(|e| self.err(e))?;
                Ok(v)
            }
            // Dropping the transaction rolls it back.
            Err(e) => Err(e),
        }
    }
}

impl Store for SqliteStore {
    fn delivery(&self) -> Option<&dyn crate::store::delivery::DeliveryStore> {
        Some(self)
    }

    fn oidc(&self) -> Option<&dyn crate::store::oidc::OidcStore> {
        Some(self)
    }

    fn describe(&self) -> String {
        format!(
            "sqlite {} (WAL, synchronous={})",
            self.path.display(),
            self.options.durability.pragma()
        )
    }

    fn check_health(&self) -> Result<String> {
        match self.checkpoint_failure() {
            None => Ok(self.describe()),
            Some(why) => Ok(format!(
                "{}; the last WAL checkpoint failed ({why}): the WAL file grows until one succeeds",
                self.describe()
            )),
        }
    }

    fn holds_totp_secrets(&self) -> Result<bool> {
        self.with(|c| {
            c.prepare_cached("SELECT EXISTS (SELECT 1 FROM users WHERE totp_secret IS NOT NULL)")?
                .query_row([], |r| r.get(0))
        })
    }

    fn load_settings(&self) -> Result<VersionedSettings> {
        let row = self.with(|c| {
            c.prepare_cached("SELECT version, document FROM settings WHERE id = 1")?
                .query_row([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))
                .optional()
        })?;
        match row {
            None => Ok(VersionedSettings {
                settings: Settings::default(),
                version: 0,
            }),
            Some((version, doc)) => shared::decode_settings(&self.location, version, &doc),
        }
    }

    fn save_settings(&self, settings: &Settings, expected_version: i64) -> Result<i64> {
        let doc = shared::encode_settings(settings, expected_version)?;
        let changed = self.with(|c| {
            if expected_version == 0 {
                c.prepare_cached(
                    "INSERT INTO settings (id, version, document) VALUES (1, 1, ?1)
                     ON CONFLICT (id) DO NOTHING",
                )?
                .execute([&doc])
            } else {
                c.prepare_cached(
                    "UPDATE settings SET version = version + 1, document = ?1
                     WHERE id = 1 AND version = ?2",
                )?
                .execute(params![doc, expected_version])
            }
        })?;
        if changed == 1 {
            return Ok(expected_version + 1);
        }
        let current = self.load_settings()?.version;
        Err(shared::settings_conflict(current, expected_version))
    }

    fn get_user(&self, name: &str) -> Result<Option<UserRecord>> {
        self.with(|c| {
            c.prepare_cached(&format!("SELECT {USER_COLS} FROM users WHERE name = ?1"))?
                .query_row([name], user_from)
                .optional()
        })
    }

    fn ensure_user(&self, name: &str, now: UnixTime) -> Result<UserRecord> {
        shared::check_user_name(name)?;
        if let Some(u) = self.get_user(name)? {
            return Ok(u);
        }
        self.with(|c| insert_user(c, name, now))?;
        self.get_user(name)?
            .ok_or_else(|| shared::unknown_user(name))
    }

    fn list_users(&self, status: Option<EnrollmentStatus>) -> Result<Vec<UserRecord>> {
        self.with(|c| {
            let mut st = c.prepare_cached(&format!(
                "SELECT {USER_COLS} FROM users WHERE (?1 IS NULL OR status = ?1) ORDER BY name"
            ))?;
            let rows = st.query_map([status.map(EnrollmentStatus::as_str)], user_from)?;
            rows.collect()
        })
    }

    fn set_pending_secret(&self, name: &str, ciphertext: &[u8], now: UnixTime) -> Result<()> {
        if ciphertext.is_empty() {
            return Err(Error::Invalid("the encrypted secret is empty".into()));
        }
        self.write_tx(|tx| {
            let status: Option<String> = tx
                .prepare_cached("SELECT status FROM users WHERE name = ?1")?
                .query_row([name], |r| r.get(0))
                .optional()?;
            match status.as_deref() {
                None => return Ok(Err(shared::unknown_user(name))),
                Some("enrolled") => return Ok(Err(shared::already_enrolled(name))),
                Some(_) => {}
            }
            tx.prepare_cached(
                "UPDATE users SET status = 'pending', totp_secret = ?2, totp_last_step = NULL,
                     secret_issued_at = ?3, enrolled_at = NULL
                 WHERE name = ?1",
            )?
            .execute(params![name, ciphertext, now])?;
            Ok(Ok(()))
        })
    }

    fn confirm_enrollment(&self, name: &str, step: i64, now: UnixTime) -> Result<bool> {
        self.with(|c| confirm_enrollment(c, name, step, now))
    }

    fn advance_totp_step(&self, name: &str, step: i64) -> Result<bool> {
        self.with(|c| advance_totp_step(c, name, step))
    }

    fn reset_enrollment(&self, name: &str) -> Result<bool> {
        self.write_tx(|tx| {
            let n = tx
                .prepare_cached(
                    "UPDATE users SET status = 'not_enrolled', totp_secret = NULL,
                         totp_last_step = NULL, secret_issued_at = NULL, enrolled_at = NULL
                     WHERE name = ?1",
                )?
                .execute([name])?;
            tx.prepare_cached("DELETE FROM backup_codes WHERE user_name = ?1")?
                .execute([name])?;
            Ok(Ok(n == 1))
        })
    }

    fn reset_pending(&self) -> Result<Vec<String>> {
        self.write_tx(|tx| {
            let names: Vec<String> = {
                let mut st = tx.prepare_cached(
                    "SELECT name FROM users WHERE status = 'pending' ORDER BY name",
                )?;
                let rows = st.query_map([], |r| r.get(0))?;
                rows.collect::<rusqlite::Result<_>>()?
            };
            tx.execute(
                "DELETE FROM backup_codes
                 WHERE user_name IN (SELECT name FROM users WHERE status = 'pending')",
                [],
            )?;
            tx.execute(
                "UPDATE users SET status = 'not_enrolled', totp_secret = NULL,
                     totp_last_step = NULL, secret_issued_at = NULL, enrolled_at = NULL
                 WHERE status = 'pending'",
                [],
            )?;
            Ok(Ok(names))
        })
    }

    fn set_contact(
        &self,
        name: &str,
        phone: Option<&str>,
        email: Option<&str>,
        default_method: Option<Method>,
    ) -> Result<()> {
        shared::check_not_empty("phone number", phone)?;
        shared::check_not_empty("email address", email)?;
        let n = self.with(|c| {
            c.prepare_cached(
                "UPDATE users SET phone = COALESCE(?2, phone), email = COALESCE(?3, email),
                     default_method = COALESCE(?4, default_method)
                 WHERE name = ?1",
            )?
            .execute(params![
                name,
                phone,
                email,
                default_method.map(Method::as_str)
            ])
        })?;
        if n == 0 {
            return Err(shared::unknown_user(name));
        }
        Ok(())
    }

    fn clear_contact(&self, name: &str, field: &str) -> Result<()> {
        let col = shared::contact_column(field)?;
        let n = self.with(|c| {
            c.prepare_cached(&format!("UPDATE users SET {col} = NULL WHERE name = ?1"))?
                .execute([name])
        })?;
        if n == 0 {
            return Err(shared::unknown_user(name));
        }
        Ok(())
    }

    fn set_password_hash(&self, name: &str, phc: &str) -> Result<()> {
        shared::check_not_empty("password hash", Some(phc))?;
        let n = self.with(|c| {
            c.prepare_cached("UPDATE users SET password_hash = ?2 WHERE name = ?1")?
                .execute([name, phc])
        })?;
        if n == 0 {
            return Err(shared::unknown_user(name));
        }
        Ok(())
    }

    fn replace_backup_codes(&self, name: &str, hashes: &[[u8; 32]], now: UnixTime) -> Result<()> {
        shared::check_unique_hashes(hashes)?;
        self.write_tx(|tx| replace_backup_codes(tx, name, hashes, now))
    }

    fn consume_backup_code(&self, name: &str, hash: &[u8; 32], now: UnixTime) -> Result<bool> {
        self.with(|c| consume_backup_code(c, name, hash, now))
    }

    fn backup_codes_left(&self, name: &str) -> Result<u32> {
        let n: i64 = self.with(|c| {
            c.prepare_cached(
                "SELECT count(*) FROM backup_codes WHERE user_name = ?1 AND used_at IS NULL",
            )?
            .query_row([name], |r| r.get(0))
        })?;
        Ok(to_u32(n))
    }

    fn record_failure(&self, name: &str) -> Result<u32> {
        self.with(|c| record_failure(c, name))?
    }

    fn clear_failures(&self, name: &str) -> Result<()> {
        self.with(|c| clear_failures(c, name))?
    }

    fn create_session(&self, s: &VerificationSession) -> Result<()> {
        shared::check_id(&s.id)?;
        shared::check_user_name(&s.user)?;
        self.with(|c| insert_session(c, s))?
    }

    fn get_session(&self, id: &str) -> Result<Option<VerificationSession>> {
        self.with(|c| get_session(c, id))
    }

    fn session_invalid_attempt(&self, id: &str, max: Option<u32>) -> Result<AttemptCount> {
        self.with(|c| session_invalid_attempt(c, id, max))?
    }

    fn session_resend(&self, id: &str, limit: Option<u32>) -> Result<Option<u32>> {
        let n: Option<i64> = self.with(|c| {
            c.prepare_cached(
                "UPDATE verification_sessions SET resends = resends + 1
                 WHERE id = ?1 AND ended IS NULL AND (?2 IS NULL OR resends < ?2)
                 RETURNING resends",
            )?
            .query_row(params![id, limit.map(i64::from)], |r| r.get(0))
            .optional()
        })?;
        if let Some(n) = n {
            return Ok(Some(to_u32(n)));
        }
        match self.with(|c| session_state(c, id))? {
            None => Err(shared::unknown_session()),
            Some(Some(how)) => Err(shared::ended_session(&how)),
            Some(None) => Ok(None),
        }
    }

    fn session_set_method(&self, id: &str, method: Method) -> Result<()> {
        self.with(|c| session_set_method(c, id, method))?
    }

    fn end_session(&self, id: &str, how: SessionEnd) -> Result<bool> {
        self.with(|c| end_session(c, id, how))
    }

    fn put_oob_code(&self, session: &str, hash: &[u8; 32], expires_at: UnixTime) -> Result<()> {
        self.with(|c| put_oob_code(c, session, hash, expires_at))?
    }

    fn consume_oob_code(
        &self,
        session: &str,
        hash: &[u8; 32],
        now: UnixTime,
    ) -> Result<OobOutcome> {
        self.with(|c| consume_oob_code(c, session, hash, now))
    }

    fn add_device(&self, name: &str, token_hash: &[u8; 32], expires_at: UnixTime) -> Result<()> {
        let n = self.with(|c| {
            c.prepare_cached(
                "INSERT INTO devices (user_name, token_hash, expires_at)
                 SELECT ?1, ?2, ?3 WHERE EXISTS (SELECT 1 FROM users WHERE name = ?1)
                 ON CONFLICT (user_name, token_hash) DO UPDATE SET expires_at = excluded.expires_at",
            )?
            .execute(params![name, &token_hash[..], expires_at])
        })?;
        if n == 0 {
            return Err(shared::unknown_user(name));
        }
        Ok(())
    }

    fn device_known(&self, name: &str, token_hash: &[u8; 32], now: UnixTime) -> Result<bool> {
        let hit: Option<i64> = self.with(|c| {
            c.prepare_cached(
                "SELECT 1 FROM devices WHERE user_name = ?1 AND token_hash = ?2 AND expires_at > ?3",
            )?
            .query_row(params![name, &token_hash[..], now], |r| r.get(0))
            .optional()
        })?;
        Ok(hit.is_some())
    }

    fn forget_devices(&self, name: &str) -> Result<()> {
        self.write_tx(|tx| {
            if !user_exists(tx, name)? {
                return Ok(Err(shared::unknown_user(name)));
            }
            tx.prepare_cached("DELETE FROM devices WHERE user_name = ?1")?
                .execute([name])?;
            Ok(Ok(()))
        })
    }

    fn record_signin(&self, s: &SignIn) -> Result<()> {
        shared::check_user_name(&s.user)?;
        self.with(|c| insert_signin(c, s))
    }

    fn rhost_seen(
        &self,
        name: &str,
        rhost: &str,
        since: UnixTime,
        depth: u32,
    ) -> Result<Option<UnixTime>> {
        // The depth is written into the statement (one cached statement per depth setting): a
        // bound LIMIT made SQLite prepare this statement again at every call.
        self.with(|c| {
            c.prepare_cached(&format!(
                "WITH recent AS (
                     SELECT rhost, MAX(at) AS last FROM signins
                     WHERE user_name = ?1 AND outcome = 'success' AND rhost IS NOT NULL
                     GROUP BY rhost ORDER BY last DESC, rhost LIMIT {depth}
                 )
                 SELECT last FROM recent WHERE rhost = ?2 AND last > ?3"
            ))?
            .query_row(params![name, rhost, since], |r| r.get(0))
            .optional()
        })
    }

    fn recent_signins(&self, name: &str, limit: u32) -> Result<Vec<SignIn>> {
        self.with(|c| {
            let mut st = c.prepare_cached(
                "SELECT user_name, service, rhost, outcome, reason, at FROM signins
                 WHERE user_name = ?1 ORDER BY at DESC, id DESC LIMIT ?2",
            )?;
            let rows = st.query_map(params![name, i64::from(limit)], signin_from)?;
            rows.collect()
        })
    }

    fn audit(&self, e: &AuditEvent) -> Result<()> {
        self.with(|c| insert_audit(c, e))
    }

    fn apply_with(&self, writes: &[Write], commit: Commit) -> Result<()> {
        self.apply_batch(writes, commit)
    }

    fn consume_then(&self, consume: &Consume, then: &[Write]) -> Result<ConsumeOutcome> {
        self.consume_then_batch(consume, then)
    }

    fn record_failure_then(&self, failure: &Failure, then: FailureWrites) -> Result<FailureCounts> {
        self.record_failure_then_batch(failure, then)
    }

    fn query_audit(&self, f: &AuditFilter) -> Result<Vec<AuditEvent>> {
        self.with(|c| {
            let mut st = c.prepare_cached(
                "SELECT at, actor, event, user_name, outcome, detail FROM audit
                 WHERE (?1 IS NULL OR user_name = ?1)
                   AND (?2 IS NULL OR substr(event, 1, length(?2)) = ?2)
                   AND (?3 IS NULL OR at >= ?3)
                   AND (?4 IS NULL OR at <= ?4)
                 ORDER BY at DESC, id DESC
                 LIMIT ?5",
            )?;
            let rows = st.query_map(
                params![
                    f.user,
                    f.event_prefix,
                    f.since,
                    f.until,
                    shared::audit_limit(f.limit).unwrap_or(-1)
                ],
                |r| {
                    Ok(AuditEvent {
                        at: r.get(0)?,
                        actor: r.get(1)?,
                        event: r.get(2)?,
                        user: r.get(3)?,
                        outcome: r.get(4)?,
                        detail: r.get(5)?,
                    })
                },
            )?;
            rows.collect()
        })
    }
}
