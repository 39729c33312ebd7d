//! Query helpers of the PostgreSQL store: pooled statements with cached preparation, and rows
//! mapped to the store's records.

use super::Db;
use crate::error::{Error, Result};
use crate::proto::Method;
use crate::settings::Settings;
use crate::store::shared::{self, to_u32};
use crate::store::{
    EnrollmentStatus, SessionEnd, UserRecord, VerificationSession, VersionedSettings,
};
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

pub(super) type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

pub(super) const USER_COLS: &str = "name, status, totp_secret, totp_last_step, default_method, phone, email, \
     consecutive_failures, password_hash, created_at, enrolled_at";

pub(super) const SESSION_COLS: &str = "id, user_name, service, rhost, method, invalid_attempts, resends, \
     created_at, expires_at, ended";

impl Db {
    pub(super) async fn execute(&self, sql: &str, params: Params<'_>) -> Result<u64> {
        let c = self.client().await?;
        let st = c.prepare_cached(sql).await.map_err(|e| self.e(e))?;
        c.execute(&st, params).await.map_err(|e| self.e(e))
    }

    pub(super) async fn query_opt(&self, sql: &str, params: Params<'_>) -> Result<Option<Row>> {
        let c = self.client().await?;
        let st = c.prepare_cached(sql).await.map_err(|e| self.e(e))?;
        c.query_opt(&st, params).await.map_err(|e| self.e(e))
    }

    pub(super) async fn query(&self, sql: &str, params: Params<'_>) -> Result<Vec<Row>> {
        let c = self.client().await?;
        let st = c.prepare_cached(sql).await.map_err(|e| self.e(e))?;
        c.query(&st, params).await.map_err(|e| self.e(e))
    }

    pub(super) fn get<'a, T: tokio_postgres::types::FromSql<'a>>(
        &self,
        r: &'a Row,
        i: usize,
    ) -> Result<T> {
        r.try_get(i).map_err(|e| self.e(e))
    }

    pub(super) fn bad(&self, what: &str, v: &str) -> Error {
        Error::Database {
            location: self.location.to_string(),
            detail: format!("unknown stored {what} {v:?}"),
        }
    }

    pub(super) fn method(&self, s: &str) -> Result<Method> {
        Method::parse(s).ok_or_else(|| self.bad("method", s))
    }

    pub(super) fn user_from(&self, r: &Row) -> Result<UserRecord> {
        self.user_from_at(r, 0)
    }

    /// The user in [`USER_COLS`] order from column `at` on.
    pub(super) fn user_from_at(&self, r: &Row, at: usize) -> Result<UserRecord> {
        let status: String = self.get(r, at + 1)?;
        let default_method: Option<String> = self.get(r, at + 4)?;
        Ok(UserRecord {
            name: self.get(r, at)?,
            status: EnrollmentStatus::parse(&status).ok_or_else(|| self.bad("status", &status))?,
            totp_secret: self.get(r, at + 2)?,
            totp_last_step: self.get(r, at + 3)?,
            default_method: default_method.map(|m| self.method(&m)).transpose()?,
            phone: self.get(r, at + 5)?,
            email: self.get(r, at + 6)?,
            consecutive_failures: to_u32(self.get(r, at + 7)?),
            password_hash: self.get(r, at + 8)?,
            created_at: self.get(r, at + 9)?,
            enrolled_at: self.get(r, at + 10)?,
        })
    }

    pub(super) fn session_from(&self, r: &Row) -> Result<VerificationSession> {
        let method: String = self.get(r, 4)?;
        let ended: Option<String> = self.get(r, 9)?;
        Ok(VerificationSession {
            id: self.get(r, 0)?,
            user: self.get(r, 1)?,
            service: self.get(r, 2)?,
            rhost: self.get(r, 3)?,
            method: self.method(&method)?,
            invalid_attempts: to_u32(self.get(r, 5)?),
            resends: to_u32(self.get(r, 6)?),
            created_at: self.get(r, 7)?,
            expires_at: self.get(r, 8)?,
            ended: ended
                .map(|s| SessionEnd::parse(&s).ok_or_else(|| self.bad("session end", &s)))
                .transpose()?,
        })
    }

    pub(super) async fn get_user(&self, name: &str) -> Result<Option<UserRecord>> {
        let sql = format!("SELECT {USER_COLS} FROM users WHERE name = $1");
        match self.query_opt(&sql, &[&name]).await? {
            Some(r) => self.user_from(&r).map(Some),
            None => Ok(None),
        }
    }

    pub(super) async fn get_session(&self, id: &str) -> Result<Option<VerificationSession>> {
        let sql = format!("SELECT {SESSION_COLS} FROM verification_sessions WHERE id = $1");
        match self.query_opt(&sql, &[&id]).await? {
            Some(r) => self.session_from(&r).map(Some),
            None => Ok(None),
        }
    }

    pub(super) async fn load_settings(&self) -> Result<VersionedSettings> {
        let row = self
            .query_opt("SELECT version, document FROM settings WHERE id = 1", &[])
            .await?;
        match row {
            None => Ok(VersionedSettings {
                settings: Settings::default(),
                version: 0,
            }),
            Some(r) => {
                let version: i64 = self.get(&r, 0)?;
                let doc: String = self.get(&r, 1)?;
                shared::decode_settings(&self.location, version, &doc)
            }
        }
    }
}
