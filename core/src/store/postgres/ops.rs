//! The [`Store`] operations on PostgreSQL: the same statements as SQLite in PostgreSQL's
//! dialect. Single-use and counting operations are one conditional statement each; the few
//! multi-statement writes lock the user row (`FOR UPDATE`) inside a transaction.

use super::PgStore;
use super::db::USER_COLS;
use super::statements::{
    advance_totp_step, clear_failures, confirm_enrollment, consume_backup_code, consume_oob_code,
    end_session, insert_audit, insert_session, insert_signin, insert_user, put_oob_code,
    record_failure, replace_backup_codes, session_invalid_attempt, session_set_method,
};
use crate::clock::UnixTime;
use crate::error::{Error, Result};
use crate::proto::Method;
use crate::settings::Settings;
use crate::store::shared::{self, to_u32};
use crate::store::{
    AttemptCount, AuditEvent, AuditFilter, Consume, ConsumeOutcome, EnrollmentStatus, Failure,
    FailureCounts, FailureWrites, OobOutcome, SessionEnd, SignIn, Store, UserRecord,
    VerificationSession, VersionedSettings, Write,
};

/// Owned copies of borrowed arguments, for the `'static` futures the runtime runs.
fn own(s: &str) -> String {
    s.to_owned()
}

impl Store for PgStore {
    fn delivery(&self) -> Option<&dyn crate::store::delivery::DeliveryStore> {
        Some(self)
    }

    fn oidc(&self) -> Option<&dyn crate::store::oidc::OidcStore> {
        Some(self)
    }

    fn check_health(&self) -> Result<String> {
        self.health_text()
    }

    fn describe(&self) -> String {
        format!(
            "postgresql {}{} (synchronous_commit={}, pool {})",
            self.db.location,
            self.options
                .schema
                .as_deref()
                .map(|s| format!(" schema {s}"))
                .unwrap_or_default(),
            self.synchronous_commit,
            self.options.pool_size
        )
    }

    fn load_settings(&self) -> Result<VersionedSettings> {
        self.run(|db| async move { db.load_settings().await })
    }

    fn save_settings(&self, settings: &Settings, expected_version: i64) -> Result<i64> {
        let doc = shared::encode_settings(settings, expected_version)?;
        self.run(move |db| async move {
            let n = if expected_version == 0 {
                db.execute(
                    "INSERT INTO settings (id, version, document) VALUES (1, 1, $1)
                     ON CONFLICT (id) DO NOTHING",
                    &[&doc],
                )
                .await?
            } else {
                db.execute(
                    "UPDATE settings SET version = version + 1, document = $1
                     WHERE id = 1 AND version = $2",
                    &[&doc, &expected_version],
                )
                .await?
            };
            if n == 1 {
                return Ok(expected_version + 1);
            }
            let current = db.load_settings().await?.version;
            Err(shared::settings_conflict(current, expected_version))
        })
    }

    fn get_user(&self, name: &str) -> Result<Option<UserRecord>> {
        let name = own(name);
        self.run(move |db| async move { db.get_user(&name).await })
    }

    fn ensure_user(&self, name: &str, now: UnixTime) -> Result<UserRecord> {
        shared::check_user_name(name)?;
        let name = own(name);
        self.run(move |db| async move {
            if let Some(u) = db.get_user(&name).await? {
                return Ok(u);
            }
            insert_user(&db, &db.client().await?, &name, now).await?;
            db.get_user(&name)
                .await?
                .ok_or_else(|| shared::unknown_user(&name))
        })
    }

    fn list_users(&self, status: Option<EnrollmentStatus>) -> Result<Vec<UserRecord>> {
        let status = status.map(EnrollmentStatus::as_str);
        self.run(move |db| async move {
            let sql = format!(
                "SELECT {USER_COLS} FROM users WHERE ($1::TEXT IS NULL OR status = $1::TEXT)
                 ORDER BY name COLLATE \"C\""
            );
            let rows = db.query(&sql, &[&status]).await?;
            rows.iter().map(|r| db.user_from(r)).collect()
        })
    }

    fn set_pending_secret(&self, name: &str, ciphertext: &[u8], now: UnixTime) -> Result<()> {
        if ciphertext.is_empty() {
            return Err(Error::Invalid("the encrypted secret is empty".into()));
        }
        let (name, ct) = (own(name), ciphertext.to_vec());
        self.run(move |db| async move {
            let mut c = db.client().await?;
            let tx = c.transaction().await.map_err(|e| db.e(e))?;
            let row = tx
                .query_opt(
                    "SELECT status FROM users WHERE name = $1 FOR UPDATE",
                    &[&name],
                )
                .await
                .map_err(|e| db.e(e))?;
            let status: Option<String> = row.map(|r| db.get(&r, 0)).transpose()?;
            match status.as_deref() {
                None => return Err(shared::unknown_user(&name)),
                Some("enrolled") => return Err(shared::already_enrolled(&name)),
                Some(_) => {}
            }
            tx.execute(
                "UPDATE users SET status = 'pending', totp_secret = $2, totp_last_step = NULL,
                     secret_issued_at = $3, enrolled_at = NULL
                 WHERE name = $1",
                &[&name, &ct, &now],
            )
            .await
            .map_err(|e| db.e(e))?;
            tx.commit().await.map_err(|e| db.e(e))
        })
    }

    fn confirm_enrollment(&self, name: &str, step: i64, now: UnixTime) -> Result<bool> {
        let name = own(name);
        self.run(move |db| async move {
            confirm_enrollment(&db, &db.client().await?, &name, step, now).await
        })
    }

    fn advance_totp_step(&self, name: &str, step: i64) -> Result<bool> {
        let name = own(name);
        self.run(
            move |db| async move { advance_totp_step(&db, &db.client().await?, &name, step).await },
        )
    }

    fn reset_enrollment(&self, name: &str) -> Result<bool> {
        let name = own(name);
        self.run(move |db| async move {
            // One statement: both changes commit together.
            let row = db
                .query_opt(
                    "WITH gone AS (DELETE FROM backup_codes WHERE user_name = $1)
                     UPDATE users SET status = 'not_enrolled', totp_secret = NULL,
                         totp_last_step = NULL, secret_issued_at = NULL, enrolled_at = NULL
                     WHERE name = $1 RETURNING name",
                    &[&name],
                )
                .await?;
            Ok(row.is_some())
        })
    }

    fn reset_pending(&self) -> Result<Vec<String>> {
        self.run(|db| async move {
            let mut c = db.client().await?;
            let tx = c.transaction().await.map_err(|e| db.e(e))?;
            let rows = tx
                .query(
                    "SELECT name FROM users WHERE status = 'pending'
                     ORDER BY name COLLATE \"C\" FOR UPDATE",
                    &[],
                )
                .await
                .map_err(|e| db.e(e))?;
            let names: Vec<String> = rows.iter().map(|r| db.get(r, 0)).collect::<Result<_>>()?;
            tx.execute(
                "DELETE FROM backup_codes WHERE user_name = ANY($1)",
                &[&names],
            )
            .await
            .map_err(|e| db.e(e))?;
            tx.execute(
                "UPDATE users SET status = 'not_enrolled', totp_secret = NULL,
                     totp_last_step = NULL, secret_issued_at = NULL, enrolled_at = NULL
                 WHERE name = ANY($1)",
                &[&names],
            )
            .await
            .map_err(|e| db.e(e))?;
            tx.commit().await.map_err(|e| db.e(e))?;
            Ok(names)
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
        let (name, phone, email) = (own(name), phone.map(own), email.map(own));
        let method = default_method.map(Method::as_str);
        self.run(move |db| async move {
            let n = db
                .execute(
                    "UPDATE users SET phone = COALESCE($2::TEXT, phone),
                         email = COALESCE($3::TEXT, email),
                         default_method = COALESCE($4::TEXT, default_method)
                     WHERE name = $1",
                    &[&name, &phone, &email, &method],
                )
                .await?;
            if n == 0 {
                return Err(shared::unknown_user(&name));
            }
            Ok(())
        })
    }

    fn clear_contact(&self, name: &str, field: &str) -> Result<()> {
        let col = shared::contact_column(field)?;
        let name = own(name);
        self.run(move |db| async move {
            let sql = format!("UPDATE users SET {col} = NULL WHERE name = $1");
            if db.execute(&sql, &[&name]).await? == 0 {
                return Err(shared::unknown_user(&name));
            }
            Ok(())
        })
    }

    fn set_password_hash(&self, name: &str, phc: &str) -> Result<()> {
        shared::check_not_empty("password hash", Some(phc))?;
        let (name, phc) = (own(name), own(phc));
        self.run(move |db| async move {
            let n = db
                .execute(
                    "UPDATE users SET password_hash = $2 WHERE name = $1",
                    &[&name, &phc],
                )
                .await?;
            if n == 0 {
                return Err(shared::unknown_user(&name));
            }
            Ok(())
        })
    }

    fn replace_backup_codes(&self, name: &str, hashes: &[[u8; 32]], now: UnixTime) -> Result<()> {
        shared::check_unique_hashes(hashes)?;
        let name = own(name);
        let hashes = hashes.to_vec();
        self.run(move |db| async move {
            let mut c = db.client().await?;
            let tx = c.transaction().await.map_err(|e| db.e(e))?;
            replace_backup_codes(&db, &tx, &name, &hashes, now).await?;
            tx.commit().await.map_err(|e| db.e(e))
        })
    }

    fn consume_backup_code(&self, name: &str, hash: &[u8; 32], now: UnixTime) -> Result<bool> {
        let (name, hash) = (own(name), *hash);
        self.run(move |db| async move {
            consume_backup_code(&db, &db.client().await?, &name, &hash, now).await
        })
    }

    fn holds_totp_secrets(&self) -> Result<bool> {
        self.run(move |db| async move {
            let rows = db
                .query(
                    "SELECT EXISTS (SELECT 1 FROM users WHERE totp_secret IS NOT NULL)",
                    &[],
                )
                .await?;
            match rows.first() {
                Some(r) => db.get(r, 0),
                None => Ok(false),
            }
        })
    }

    fn backup_codes_left(&self, name: &str) -> Result<u32> {
        let name = own(name);
        self.run(move |db| async move {
            let rows = db
                .query(
                    "SELECT count(*) FROM backup_codes WHERE user_name = $1 AND used_at IS NULL",
                    &[&name],
                )
                .await?;
            let n: i64 = match rows.first() {
                Some(r) => db.get(r, 0)?,
                None => 0,
            };
            Ok(to_u32(n))
        })
    }

    fn record_failure(&self, name: &str) -> Result<u32> {
        let name = own(name);
        self.run(move |db| async move { record_failure(&db, &db.client().await?, &name).await })
    }

    fn clear_failures(&self, name: &str) -> Result<()> {
        let name = own(name);
        self.run(move |db| async move { clear_failures(&db, &db.client().await?, &name).await })
    }

    fn create_session(&self, s: &VerificationSession) -> Result<()> {
        shared::check_id(&s.id)?;
        shared::check_user_name(&s.user)?;
        let s = s.clone();
        self.run(move |db| async move { insert_session(&db, &db.client().await?, &s).await })
    }

    fn get_session(&self, id: &str) -> Result<Option<VerificationSession>> {
        let id = own(id);
        self.run(move |db| async move { db.get_session(&id).await })
    }

    fn session_invalid_attempt(&self, id: &str, max: Option<u32>) -> Result<AttemptCount> {
        let id = own(id);
        self.run(move |db| async move {
            session_invalid_attempt(&db, &db.client().await?, &id, max).await
        })
    }

    fn session_resend(&self, id: &str, limit: Option<u32>) -> Result<Option<u32>> {
        let id = own(id);
        let limit = limit.map(i64::from);
        self.run(move |db| async move {
            let row = db
                .query_opt(
                    "UPDATE verification_sessions SET resends = resends + 1
                     WHERE id = $1 AND ended IS NULL
                       AND ($2::BIGINT IS NULL OR resends < $2::BIGINT)
                     RETURNING resends",
                    &[&id, &limit],
                )
                .await?;
            if let Some(r) = row {
                return Ok(Some(to_u32(db.get(&r, 0)?)));
            }
            match db.get_session(&id).await? {
                None => Err(shared::unknown_session()),
                Some(s) => match s.ended {
                    Some(how) => Err(shared::ended_session(how.as_str())),
                    None => Ok(None),
                },
            }
        })
    }

    fn session_set_method(&self, id: &str, method: Method) -> Result<()> {
        let id = own(id);
        self.run(move |db| async move {
            session_set_method(&db, &db.client().await?, &id, method).await
        })
    }

    fn end_session(&self, id: &str, how: SessionEnd) -> Result<bool> {
        let id = own(id);
        self.run(move |db| async move { end_session(&db, &db.client().await?, &id, how).await })
    }

    fn put_oob_code(&self, session: &str, hash: &[u8; 32], expires_at: UnixTime) -> Result<()> {
        let (id, hash) = (own(session), *hash);
        self.run(move |db| async move {
            put_oob_code(&db, &db.client().await?, &id, &hash, expires_at).await
        })
    }

    fn consume_oob_code(
        &self,
        session: &str,
        hash: &[u8; 32],
        now: UnixTime,
    ) -> Result<OobOutcome> {
        let (id, hash) = (own(session), *hash);
        self.run(move |db| async move {
            consume_oob_code(&db, &db.client().await?, &id, &hash, now).await
        })
    }

    fn add_device(&self, name: &str, token_hash: &[u8; 32], expires_at: UnixTime) -> Result<()> {
        let (name, hash) = (own(name), token_hash.to_vec());
        self.run(move |db| async move {
            let n = db
                .execute(
                    "INSERT INTO devices (user_name, token_hash, expires_at)
                     SELECT $1::TEXT, $2::BYTEA, $3::BIGINT
                     WHERE EXISTS (SELECT 1 FROM users WHERE name = $1::TEXT)
                     ON CONFLICT (user_name, token_hash)
                     DO UPDATE SET expires_at = EXCLUDED.expires_at",
                    &[&name, &hash, &expires_at],
                )
                .await?;
            if n == 0 {
                return Err(shared::unknown_user(&name));
            }
            Ok(())
        })
    }

    fn device_known(&self, name: &str, token_hash: &[u8; 32], now: UnixTime) -> Result<bool> {
        let (name, hash) = (own(name), token_hash.to_vec());
        self.run(move |db| async move {
            let hit = db
                .query_opt(
                    "SELECT 1 FROM devices
                     WHERE user_name = $1 AND token_hash = $2 AND expires_at > $3",
                    &[&name, &hash, &now],
                )
                .await?;
            Ok(hit.is_some())
        })
    }

    fn forget_devices(&self, name: &str) -> Result<()> {
        let name = own(name);
        self.run(move |db| async move {
            let row = db
                .query_opt(
                    "WITH gone AS (DELETE FROM devices WHERE user_name = $1)
                     SELECT 1 FROM users WHERE name = $1",
                    &[&name],
                )
                .await?;
            if row.is_none() {
                return Err(shared::unknown_user(&name));
            }
            Ok(())
        })
    }

    fn record_signin(&self, s: &SignIn) -> Result<()> {
        shared::check_user_name(&s.user)?;
        let s = s.clone();
        self.run(move |db| async move { insert_signin(&db, &db.client().await?, &s).await })
    }

    fn rhost_seen(
        &self,
        name: &str,
        rhost: &str,
        since: UnixTime,
        depth: u32,
    ) -> Result<Option<UnixTime>> {
        let (name, rhost, depth) = (own(name), own(rhost), i64::from(depth));
        self.run(move |db| async move {
            let row = db
                .query_opt(
                    "WITH recent AS (
                         SELECT rhost, MAX(at) AS last FROM signins
                         WHERE user_name = $1 AND outcome = 'success' AND rhost IS NOT NULL
                         GROUP BY rhost ORDER BY last DESC, rhost COLLATE \"C\" LIMIT $4
                     )
                     SELECT last FROM recent WHERE rhost = $2 AND last > $3",
                    &[&name, &rhost, &since, &depth],
                )
                .await?;
            row.map(|r| db.get(&r, 0)).transpose()
        })
    }

    fn recent_signins(&self, name: &str, limit: u32) -> Result<Vec<SignIn>> {
        let (name, limit) = (own(name), i64::from(limit));
        self.run(move |db| async move {
            let rows = db
                .query(
                    "SELECT user_name, service, rhost, outcome, reason, at FROM signins
                     WHERE user_name = $1 ORDER BY at DESC, id DESC LIMIT $2",
                    &[&name, &limit],
                )
                .await?;
            rows.iter()
                .map(|r| {
                    Ok(SignIn {
                        user: db.get(r, 0)?,
                        service: db.get(r, 1)?,
                        rhost: db.get(r, 2)?,
                        outcome: db.get(r, 3)?,
                        reason: db.get(r, 4)?,
                        at: db.get(r, 5)?,
                    })
                })
                .collect()
        })
    }

    fn audit(&self, e: &AuditEvent) -> Result<()> {
        let e = e.clone();
        self.run(move |db| async move { insert_audit(&db, &db.client().await?, &e).await })
    }

    fn signin_facts(
        &self,
        user: &str,
        rhost: Option<&str>,
        now: UnixTime,
    ) -> Result<crate::store::SigninFacts> {
        self.signin_facts_one(user, rhost, now)
    }

    fn verify_facts(&self, session: &str) -> Result<crate::store::VerifyFacts> {
        self.verify_facts_one(session)
    }

    fn apply_with(&self, writes: &[Write], commit: crate::store::Commit) -> Result<()> {
        self.apply_batch(writes, commit)
    }

    fn consume_then(&self, consume: &Consume, then: &[Write]) -> Result<ConsumeOutcome> {
        self.consume_then_batch(consume, then)
    }

    fn record_failure_then(&self, failure: &Failure, then: FailureWrites) -> Result<FailureCounts> {
        self.record_failure_then_batch(failure, then)
    }

    fn query_audit(&self, f: &AuditFilter) -> Result<Vec<AuditEvent>> {
        let f = f.clone();
        self.run(move |db| async move {
            let limit = shared::audit_limit(f.limit);
            let rows = db
                .query(
                    "SELECT at, actor, event, user_name, outcome, detail FROM audit
                     WHERE ($1::TEXT IS NULL OR user_name = $1::TEXT)
                       AND ($2::TEXT IS NULL OR substr(event, 1, length($2::TEXT)) = $2::TEXT)
                       AND ($3::BIGINT IS NULL OR at >= $3::BIGINT)
                       AND ($4::BIGINT IS NULL OR at <= $4::BIGINT)
                     ORDER BY at DESC, id DESC
                     LIMIT $5::BIGINT",
                    &[&f.user, &f.event_prefix, &f.since, &f.until, &limit],
                )
                .await?;
            rows.iter()
                .map(|r| {
                    Ok(AuditEvent {
                        at: db.get(r, 0)?,
                        actor: db.get(r, 1)?,
                        event: db.get(r, 2)?,
                        user: db.get(r, 3)?,
                        outcome: db.get(r, 4)?,
                        detail: db.get(r, 5)?,
                    })
                })
                .collect()
        })
    }
}
