//! The combined reads of a sign-in step on PostgreSQL ([`Store::signin_facts`],
//! [`Store::verify_facts`]): each is ONE statement (one round trip) returning one row, instead
//! of the four separate reads the default implementation makes.
//!
//! The address history comes back as the address's last success and its rank among the user's
//! distinct successful addresses (newest first, ties by address), so the window of the settings
//! read in the same statement applies afterwards exactly as [`Store::rhost_seen`] applies it.

use super::db::{SESSION_COLS, USER_COLS};
use super::{Db, PgStore};
use crate::clock::UnixTime;
use crate::error::Result;
use crate::settings::Settings;
use crate::store::shared::{self, to_u32};
use crate::store::{SigninFacts, VerifyFacts, VersionedSettings, rhost_window};
use tokio_postgres::Row;

#[cfg(doc)]
use crate::store::Store;

impl Db {
    /// The settings in columns `at` (version) and `at + 1` (document), both `NULL` when never
    /// saved.
    fn settings_at(&self, r: &Row, at: usize) -> Result<VersionedSettings> {
        let version: Option<i64> = self.get(r, at)?;
        let doc: Option<String> = self.get(r, at + 1)?;
        match (version, doc) {
            (Some(version), Some(doc)) => shared::decode_settings(&self.location, version, &doc),
            _ => Ok(VersionedSettings {
                settings: Settings::default(),
                version: 0,
            }),
        }
    }
}

impl PgStore {
    pub(super) fn signin_facts_one(
        &self,
        user: &str,
        rhost: Option<&str>,
        now: UnixTime,
    ) -> Result<SigninFacts> {
        let user = user.to_owned();
        let rhost = rhost
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .map(str::to_owned);
        self.run(move |db| async move {
            let sql = format!(
                "SELECT u.*,
                        (SELECT version FROM settings WHERE id = 1),
                        (SELECT document FROM settings WHERE id = 1),
                        (SELECT count(*) FROM backup_codes
                         WHERE user_name = $1 AND used_at IS NULL),
                        h.last, h.rank
                 FROM (SELECT 1) AS one
                 LEFT JOIN (SELECT {USER_COLS} FROM users WHERE name = $1) AS u ON true
                 LEFT JOIN (
                     SELECT rhost, last, row_number() OVER (ORDER BY last DESC, rhost COLLATE \"C\") AS rank
                     FROM (SELECT rhost, MAX(at) AS last FROM signins
                           WHERE user_name = $1 AND outcome = 'success' AND rhost IS NOT NULL
                           GROUP BY rhost) AS a
                 ) AS h ON h.rhost = $2"
            );
            let rows = db.query(&sql, &[&user, &rhost]).await?;
            let Some(r) = rows.first() else {
                return Err(db.bad("sign-in facts", "no row"));
            };
            let name: Option<String> = db.get(r, 0)?;
            let record = match name {
                Some(_) => Some(db.user_from(r)?),
                None => None,
            };
            let settings = db.settings_at(r, 11)?;
            let backup: i64 = db.get(r, 13)?;
            let last: Option<i64> = db.get(r, 14)?;
            let rank: Option<i64> = db.get(r, 15)?;
            let rhost_seen = match (
                &record,
                rhost_window(&settings.settings, rhost.as_deref(), now),
                last,
                rank,
            ) {
                (Some(_), Some((_, since, depth)), Some(last), Some(rank))
                    if rank <= i64::from(depth) && last > since =>
                {
                    Some(last)
                }
                _ => None,
            };
            Ok(SigninFacts {
                backup_codes_left: if record.is_some() { to_u32(backup) } else { 0 },
                settings,
                user: record,
                rhost_seen,
            })
        })
    }

    pub(super) fn verify_facts_one(&self, session: &str) -> Result<VerifyFacts> {
        let session = session.to_owned();
        self.run(move |db| async move {
            let sql = format!(
                "SELECT s.*, u.*,
                        (SELECT version FROM settings WHERE id = 1),
                        (SELECT document FROM settings WHERE id = 1),
                        (SELECT count(*) FROM backup_codes b
                         WHERE b.user_name = u.name AND b.used_at IS NULL)
                 FROM (SELECT 1) AS one
                 LEFT JOIN (SELECT {SESSION_COLS} FROM verification_sessions WHERE id = $1) AS s
                     ON true
                 LEFT JOIN (SELECT {USER_COLS} FROM users) AS u ON u.name = s.user_name"
            );
            let rows = db.query(&sql, &[&session]).await?;
            let Some(r) = rows.first() else {
                return Err(db.bad("verification facts", "no row"));
            };
            let id: Option<String> = db.get(r, 0)?;
            let s = match id {
                Some(_) => Some(db.session_from(r)?),
                None => None,
            };
            let name: Option<String> = db.get(r, 10)?;
            let user = match name {
                Some(_) => Some(db.user_from_at(r, 10)?),
                None => None,
            };
            let settings = db.settings_at(r, 21)?;
            let backup: i64 = db.get(r, 23)?;
            Ok(VerifyFacts {
                session: s,
                settings,
                backup_codes_left: if user.is_some() { to_u32(backup) } else { 0 },
                user,
            })
        })
    }
}
