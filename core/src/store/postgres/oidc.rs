//! [`OidcStore`] on PostgreSQL (tables of `migrations/postgres/0003_oidc.sql`).
//!
//! Single use is one conditional statement (`UPDATE ... WHERE used_at IS NULL RETURNING`):
//! under READ COMMITTED a second concurrent redeemer waits for the first and then finds
//! `used_at` set, so exactly one caller wins, on any node. Rotating a refresh token spends the
//! presented one and inserts its successor in one statement (a data-modifying `WITH`), so both
//! happen or neither does. Multi-table deletes are single statements as well.

use super::{Db, PgStore};
use crate::clock::UnixTime;
use crate::error::{Error, Result};
use crate::store::Write;
use crate::store::oidc::{
    AccessToken, AuthCode, AuthContext, CodeUse, OidcClient, OidcStore, RefreshToken, RefreshUse,
    SigningKey, WebSession,
};
use tokio_postgres::Row;

fn to_json(v: &[String]) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "[]".into())
}

fn from_json(s: &str) -> Vec<String> {
    serde_json::from_str(s).unwrap_or_default()
}

const CLIENT_COLS: &str = "client_id, name, secret_hash, redirect_uris, post_logout_redirect_uris, \
     created_at, grant_types";

const CODE_COLS: &str = "hash, grant_id, client_id, redirect_uri, scope, nonce, code_challenge, \
     user_name, auth_time, amr, acr, created_at, expires_at";

const REFRESH_COLS: &str = "hash, grant_id, client_id, scope, user_name, auth_time, amr, acr, \
     created_at, expires_at";

impl Db {
    fn hash32(&self, r: &Row, i: usize) -> Result<[u8; 32]> {
        let v: Vec<u8> = self.get(r, i)?;
        v.try_into().map_err(|_| Error::Database {
            location: self.location.to_string(),
            detail: "a stored hash is not 32 bytes".into(),
        })
    }

    fn client_from(&self, r: &Row) -> Result<OidcClient> {
        Ok(OidcClient {
            client_id: self.get(r, 0)?,
            name: self.get(r, 1)?,
            secret_hash: self.get(r, 2)?,
            redirect_uris: from_json(&self.get::<String>(r, 3)?),
            post_logout_redirect_uris: from_json(&self.get::<String>(r, 4)?),
            created_at: self.get(r, 5)?,
            grant_types: from_json(&self.get::<String>(r, 6)?),
        })
    }

    fn code_from(&self, r: &Row) -> Result<AuthCode> {
        Ok(AuthCode {
            hash: self.hash32(r, 0)?,
            grant_id: self.get(r, 1)?,
            client_id: self.get(r, 2)?,
            redirect_uri: self.get(r, 3)?,
            scope: self.get(r, 4)?,
            nonce: self.get(r, 5)?,
            code_challenge: self.get(r, 6)?,
            auth: AuthContext {
                user: self.get(r, 7)?,
                auth_time: self.get(r, 8)?,
                amr: from_json(&self.get::<String>(r, 9)?),
                acr: self.get(r, 10)?,
            },
            created_at: self.get(r, 11)?,
            expires_at: self.get(r, 12)?,
        })
    }

    /// A refresh token row (columns [`REFRESH_COLS`], then `used_at`, `revoked_at` if asked).
    fn refresh_from(&self, r: &Row) -> Result<RefreshToken> {
        Ok(RefreshToken {
            hash: self.hash32(r, 0)?,
            grant_id: self.get(r, 1)?,
            client_id: self.get(r, 2)?,
            scope: self.get(r, 3)?,
            auth: AuthContext {
                user: self.get(r, 4)?,
                auth_time: self.get(r, 5)?,
                amr: from_json(&self.get::<String>(r, 6)?),
                acr: self.get(r, 7)?,
            },
            created_at: self.get(r, 8)?,
            expires_at: self.get(r, 9)?,
        })
    }
}

impl OidcStore for PgStore {
    fn put_client(&self, c: &OidcClient) -> Result<()> {
        crate::store::oidc::check_client(c)?;
        let c = c.clone();
        self.run(move |db| async move {
            let sql = format!(
                "INSERT INTO oidc_clients ({CLIENT_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7)
                 ON CONFLICT (client_id) DO UPDATE SET name = EXCLUDED.name,
                     secret_hash = EXCLUDED.secret_hash, redirect_uris = EXCLUDED.redirect_uris,
                     post_logout_redirect_uris = EXCLUDED.post_logout_redirect_uris,
                     created_at = EXCLUDED.created_at, grant_types = EXCLUDED.grant_types"
            );
            db.execute(
                &sql,
                &[
                    &c.client_id,
                    &c.name,
                    &c.secret_hash,
                    &to_json(&c.redirect_uris),
                    &to_json(&c.post_logout_redirect_uris),
                    &c.created_at,
                    &to_json(&c.grant_types),
                ],
            )
            .await?;
            Ok(())
        })
    }

    fn get_client(&self, client_id: &str) -> Result<Option<OidcClient>> {
        let id = client_id.to_owned();
        self.run(move |db| async move {
            let sql = format!("SELECT {CLIENT_COLS} FROM oidc_clients WHERE client_id = $1");
            match db.query_opt(&sql, &[&id]).await? {
                Some(r) => db.client_from(&r).map(Some),
                None => Ok(None),
            }
        })
    }

    fn list_clients(&self) -> Result<Vec<OidcClient>> {
        self.run(|db| async move {
            let sql =
                format!("SELECT {CLIENT_COLS} FROM oidc_clients ORDER BY client_id COLLATE \"C\"");
            let rows = db.query(&sql, &[]).await?;
            rows.iter().map(|r| db.client_from(r)).collect()
        })
    }

    fn delete_client(&self, client_id: &str) -> Result<bool> {
        let id = client_id.to_owned();
        self.run(move |db| async move {
            let n = db
                .execute(
                    "WITH a AS (DELETE FROM oidc_access_tokens WHERE client_id = $1),
                          r AS (DELETE FROM oidc_refresh_tokens WHERE client_id = $1),
                          c AS (DELETE FROM oidc_codes WHERE client_id = $1)
                     DELETE FROM oidc_clients WHERE client_id = $1",
                    &[&id],
                )
                .await?;
            Ok(n > 0)
        })
    }

    fn put_code(&self, c: &AuthCode) -> Result<()> {
        let c = c.clone();
        self.run(move |db| async move {
            let sql = format!(
                "INSERT INTO oidc_codes ({CODE_COLS})
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
            );
            db.execute(
                &sql,
                &[
                    &&c.hash[..],
                    &c.grant_id,
                    &c.client_id,
                    &c.redirect_uri,
                    &c.scope,
                    &c.nonce,
                    &c.code_challenge,
                    &c.auth.user,
                    &c.auth.auth_time,
                    &to_json(&c.auth.amr),
                    &c.auth.acr,
                    &c.created_at,
                    &c.expires_at,
                ],
            )
            .await?;
            Ok(())
        })
    }

    fn consume_code(&self, hash: &[u8; 32], now: UnixTime) -> Result<CodeUse> {
        let hash = hash.to_vec();
        self.run(move |db| async move {
            let sql = format!(
                "UPDATE oidc_codes SET used_at = $2 WHERE hash = $1 AND used_at IS NULL
                 RETURNING {CODE_COLS}"
            );
            if let Some(r) = db.query_opt(&sql, &[&hash, &now]).await? {
                return db.code_from(&r).map(|c| CodeUse::Fresh(Box::new(c)));
            }
            let spent = db
                .query_opt("SELECT grant_id FROM oidc_codes WHERE hash = $1", &[&hash])
                .await?;
            Ok(match spent {
                Some(r) => CodeUse::Replayed {
                    grant_id: db.get(&r, 0)?,
                },
                None => CodeUse::Unknown,
            })
        })
    }

    fn put_code_and_session(
        &self,
        c: &AuthCode,
        old: Option<&[u8; 32]>,
        s: &WebSession,
        then: &[Write],
    ) -> Result<()> {
        // Three steps, each durable: a failure after the first leaves the decision's lines
        // without a code (the sign-in did not complete), never a code without its lines.
        crate::store::Store::apply(self, then)?;
        self.put_code(c)?;
        self.replace_web_session(old, s)
    }

    fn put_access_token(&self, t: &AccessToken) -> Result<()> {
        let t = t.clone();
        self.run(move |db| async move {
            db.execute(
                "INSERT INTO oidc_access_tokens
                     (hash, grant_id, client_id, scope, user_name, expires_at)
                 VALUES ($1, $2, $3, $4, $5, $6)",
                &[
                    &&t.hash[..],
                    &t.grant_id,
                    &t.client_id,
                    &t.scope,
                    &t.user,
                    &t.expires_at,
                ],
            )
            .await?;
            Ok(())
        })
    }

    fn get_access_token(&self, hash: &[u8; 32], now: UnixTime) -> Result<Option<AccessToken>> {
        let hash = hash.to_vec();
        self.run(move |db| async move {
            let row = db
                .query_opt(
                    "SELECT hash, grant_id, client_id, scope, user_name, expires_at
                     FROM oidc_access_tokens WHERE hash = $1 AND expires_at > $2",
                    &[&hash, &now],
                )
                .await?;
            row.map(|r| {
                Ok(AccessToken {
                    hash: db.hash32(&r, 0)?,
                    grant_id: db.get(&r, 1)?,
                    client_id: db.get(&r, 2)?,
                    scope: db.get(&r, 3)?,
                    user: db.get(&r, 4)?,
                    expires_at: db.get(&r, 5)?,
                })
            })
            .transpose()
        })
    }

    fn put_refresh_token(&self, t: &RefreshToken) -> Result<()> {
        let t = t.clone();
        self.run(move |db| async move {
            let sql = format!(
                "INSERT INTO oidc_refresh_tokens ({REFRESH_COLS})
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
            );
            db.execute(
                &sql,
                &[
                    &&t.hash[..],
                    &t.grant_id,
                    &t.client_id,
                    &t.scope,
                    &t.auth.user,
                    &t.auth.auth_time,
                    &to_json(&t.auth.amr),
                    &t.auth.acr,
                    &t.created_at,
                    &t.expires_at,
                ],
            )
            .await?;
            Ok(())
        })
    }

    fn put_tokens(&self, access: &AccessToken, refresh: Option<&RefreshToken>) -> Result<()> {
        let Some(r) = refresh else {
            return self.put_access_token(access);
        };
        let (a, r) = (access.clone(), r.clone());
        self.run(move |db| async move {
            // One statement: both tokens or neither.
            let sql = format!(
                "WITH a AS (
                     INSERT INTO oidc_access_tokens
                         (hash, grant_id, client_id, scope, user_name, expires_at)
                     VALUES ($1, $2, $3, $4, $5, $6)
                 )
                 INSERT INTO oidc_refresh_tokens ({REFRESH_COLS})
                 VALUES ($7, $8, $9, $10, $11, $12, $13, $14, $15, $16)"
            );
            db.execute(
                &sql,
                &[
                    &&a.hash[..],
                    &a.grant_id,
                    &a.client_id,
                    &a.scope,
                    &a.user,
                    &a.expires_at,
                    &&r.hash[..],
                    &r.grant_id,
                    &r.client_id,
                    &r.scope,
                    &r.auth.user,
                    &r.auth.auth_time,
                    &to_json(&r.auth.amr),
                    &r.auth.acr,
                    &r.created_at,
                    &r.expires_at,
                ],
            )
            .await?;
            Ok(())
        })
    }

    fn rotate_refresh_token(
        &self,
        hash: &[u8; 32],
        client_id: &str,
        now: UnixTime,
        next: &mut dyn FnMut(&RefreshToken) -> RefreshToken,
    ) -> Result<RefreshUse> {
        // 1. Read the presented token. Its fields never change (only `used_at`/`revoked_at`),
        //    so the successor can be built from this read.
        let (h, cid) = (hash.to_vec(), client_id.to_owned());
        let found = self.run(move |db| async move {
            let sql = format!(
                "SELECT {REFRESH_COLS}, used_at IS NULL AND revoked_at IS NULL
                 FROM oidc_refresh_tokens WHERE hash = $1 AND client_id = $2"
            );
            match db.query_opt(&sql, &[&h, &cid]).await? {
                None => Ok(None),
                Some(r) => Ok(Some((db.refresh_from(&r)?, db.get::<bool>(&r, 10)?))),
            }
        })?;
        let Some((old, live)) = found else {
            return Ok(RefreshUse::Unknown);
        };
        if !live {
            return Ok(RefreshUse::Reused {
                grant_id: old.grant_id,
            });
        }
        let (h, cid) = (hash.to_vec(), client_id.to_owned());
        if old.expires_at <= now {
            // Expired: spend it (one winner); a loser sees a spent token.
            return self.run(move |db| async move {
                let n = db
                    .execute(
                        "UPDATE oidc_refresh_tokens SET used_at = $3
                         WHERE hash = $1 AND client_id = $2
                           AND used_at IS NULL AND revoked_at IS NULL",
                        &[&h, &cid, &now],
                    )
                    .await?;
                Ok(if n == 1 {
                    RefreshUse::Expired
                } else {
                    RefreshUse::Reused {
                        grant_id: old.grant_id,
                    }
                })
            });
        }
        // 2. Spend it and insert the successor in one statement: both or neither.
        let new = next(&old);
        let grant = old.grant_id.clone();
        self.run(move |db| async move {
            let sql = format!(
                "WITH spent AS (
                     UPDATE oidc_refresh_tokens SET used_at = $3
                     WHERE hash = $1 AND client_id = $2
                       AND used_at IS NULL AND revoked_at IS NULL
                     RETURNING 1
                 )
                 INSERT INTO oidc_refresh_tokens ({REFRESH_COLS})
                 SELECT $4::BYTEA, $5::TEXT, $6::TEXT, $7::TEXT, $8::TEXT, $9::BIGINT,
                        $10::TEXT, $11::TEXT, $12::BIGINT, $13::BIGINT
                 FROM spent"
            );
            let n = db
                .execute(
                    &sql,
                    &[
                        &h,
                        &cid,
                        &now,
                        &&new.hash[..],
                        &new.grant_id,
                        &new.client_id,
                        &new.scope,
                        &new.auth.user,
                        &new.auth.auth_time,
                        &to_json(&new.auth.amr),
                        &new.auth.acr,
                        &new.created_at,
                        &new.expires_at,
                    ],
                )
                .await?;
            Ok(if n == 1 {
                RefreshUse::Rotated(Box::new(new))
            } else {
                // Spent or revoked meanwhile by another presentation.
                RefreshUse::Reused { grant_id: grant }
            })
        })
    }

    fn revoke_grant(&self, grant_id: &str, now: UnixTime) -> Result<()> {
        let g = grant_id.to_owned();
        self.run(move |db| async move {
            db.execute(
                "WITH a AS (DELETE FROM oidc_access_tokens WHERE grant_id = $1)
                 UPDATE oidc_refresh_tokens SET revoked_at = COALESCE(revoked_at, $2)
                 WHERE grant_id = $1",
                &[&g, &now],
            )
            .await?;
            Ok(())
        })
    }

    fn revoke_user_tokens(&self, user: &str, now: UnixTime) -> Result<()> {
        let u = user.to_owned();
        self.run(move |db| async move {
            db.execute(
                "WITH a AS (DELETE FROM oidc_access_tokens WHERE user_name = $1)
                 UPDATE oidc_refresh_tokens SET revoked_at = COALESCE(revoked_at, $2)
                 WHERE user_name = $1",
                &[&u, &now],
            )
            .await?;
            Ok(())
        })
    }

    fn put_web_session(&self, s: &WebSession) -> Result<()> {
        let s = s.clone();
        self.run(move |db| async move {
            db.execute(
                "INSERT INTO oidc_web_sessions (hash, user_name, data, created_at, expires_at)
                 VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (hash) DO UPDATE SET user_name = EXCLUDED.user_name,
                     data = EXCLUDED.data, created_at = EXCLUDED.created_at,
                     expires_at = EXCLUDED.expires_at",
                &[&&s.hash[..], &s.user, &s.data, &s.created_at, &s.expires_at],
            )
            .await?;
            Ok(())
        })
    }

    fn get_web_session(&self, hash: &[u8; 32], now: UnixTime) -> Result<Option<WebSession>> {
        let hash = hash.to_vec();
        self.run(move |db| async move {
            let row = db
                .query_opt(
                    "SELECT hash, user_name, data, created_at, expires_at
                     FROM oidc_web_sessions WHERE hash = $1 AND expires_at > $2",
                    &[&hash, &now],
                )
                .await?;
            row.map(|r| {
                Ok(WebSession {
                    hash: db.hash32(&r, 0)?,
                    user: db.get(&r, 1)?,
                    data: db.get(&r, 2)?,
                    created_at: db.get(&r, 3)?,
                    expires_at: db.get(&r, 4)?,
                })
            })
            .transpose()
        })
    }

    fn replace_web_session(&self, old: Option<&[u8; 32]>, s: &WebSession) -> Result<()> {
        let Some(old) = old.filter(|o| **o != s.hash) else {
            return self.put_web_session(s);
        };
        let (old, s) = (old.to_vec(), s.clone());
        self.run(move |db| async move {
            // One statement: the new session is stored and the old one gone, or neither.
            db.execute(
                "WITH gone AS (DELETE FROM oidc_web_sessions WHERE hash = $6)
                 INSERT INTO oidc_web_sessions (hash, user_name, data, created_at, expires_at)
                 VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (hash) DO UPDATE SET user_name = EXCLUDED.user_name,
                     data = EXCLUDED.data, created_at = EXCLUDED.created_at,
                     expires_at = EXCLUDED.expires_at",
                &[
                    &&s.hash[..],
                    &s.user,
                    &s.data,
                    &s.created_at,
                    &s.expires_at,
                    &old,
                ],
            )
            .await?;
            Ok(())
        })
    }

    fn delete_web_session(&self, hash: &[u8; 32]) -> Result<bool> {
        let hash = hash.to_vec();
        self.run(move |db| async move {
            let n = db
                .execute("DELETE FROM oidc_web_sessions WHERE hash = $1", &[&hash])
                .await?;
            Ok(n > 0)
        })
    }

    fn delete_user_web_sessions(&self, user: &str) -> Result<u64> {
        let u = user.to_owned();
        self.run(move |db| async move {
            db.execute("DELETE FROM oidc_web_sessions WHERE user_name = $1", &[&u])
                .await
        })
    }

    fn put_signing_key(&self, k: &SigningKey) -> Result<()> {
        let k = k.clone();
        self.run(move |db| async move {
            db.execute(
                "INSERT INTO oidc_signing_keys
                     (kid, alg, private_key, created_at, activates_at, retires_at)
                 VALUES ($1, $2, $3, $4, $5, $6)",
                &[
                    &k.kid,
                    &k.alg,
                    &k.private_key,
                    &k.created_at,
                    &k.activates_at,
                    &k.retires_at,
                ],
            )
            .await?;
            Ok(())
        })
    }

    fn list_signing_keys(&self) -> Result<Vec<SigningKey>> {
        self.run(|db| async move {
            let rows = db
                .query(
                    "SELECT kid, alg, private_key, created_at, activates_at, retires_at
                     FROM oidc_signing_keys ORDER BY created_at, kid COLLATE \"C\"",
                    &[],
                )
                .await?;
            rows.iter()
                .map(|r| {
                    Ok(SigningKey {
                        kid: db.get(r, 0)?,
                        alg: db.get(r, 1)?,
                        private_key: db.get(r, 2)?,
                        created_at: db.get(r, 3)?,
                        activates_at: db.get(r, 4)?,
                        retires_at: db.get(r, 5)?,
                    })
                })
                .collect()
        })
    }

    fn retire_signing_key(&self, kid: &str, retires_at: UnixTime) -> Result<()> {
        let kid = kid.to_owned();
        self.run(move |db| async move {
            let n = db
                .execute(
                    "UPDATE oidc_signing_keys SET retires_at = $2 WHERE kid = $1",
                    &[&kid, &retires_at],
                )
                .await?;
            if n == 0 {
                return Err(Error::NotFound(format!("no signing key with kid {kid}")));
            }
            Ok(())
        })
    }

    fn purge_expired(&self, now: UnixTime) -> Result<u64> {
        self.run(move |db| async move {
            // Spent codes are kept for an hour past their expiry so that a late replay is still
            // recognized and its grant revoked.
            let row = db
                .query_opt(
                    "WITH c AS (DELETE FROM oidc_codes WHERE expires_at <= $1::BIGINT - 3600 RETURNING 1),
                          a AS (DELETE FROM oidc_access_tokens WHERE expires_at <= $1::BIGINT RETURNING 1),
                          r AS (DELETE FROM oidc_refresh_tokens WHERE expires_at <= $1::BIGINT RETURNING 1),
                          w AS (DELETE FROM oidc_web_sessions WHERE expires_at <= $1::BIGINT RETURNING 1),
                          k AS (DELETE FROM oidc_signing_keys
                                WHERE retires_at IS NOT NULL AND retires_at <= $1::BIGINT RETURNING 1)
                     SELECT ((SELECT count(*) FROM c) + (SELECT count(*) FROM a)
                           + (SELECT count(*) FROM r) + (SELECT count(*) FROM w)
                           + (SELECT count(*) FROM k))::BIGINT",
                    &[&now],
                )
                .await?;
            let n: i64 = match row {
                Some(r) => db.get(&r, 0)?,
                None => 0,
            };
            Ok(u64::try_from(n).unwrap_or(0))
        })
    }
}
