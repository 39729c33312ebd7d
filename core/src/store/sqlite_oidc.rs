//! The SQLite implementation of [`OidcStore`], on the connections of [`SqliteStore`].
//!
//! Single use is one conditional statement (`UPDATE ... WHERE used_at IS NULL RETURNING`), so
//! concurrent redemptions of one code or one refresh token have exactly one winner. Rotation of
//! a refresh token (spend + insert the successor) runs in one `BEGIN IMMEDIATE` transaction, and
//! so do the redemption of a code with its tokens and a new code with the session it completes.
//! The statements of the sign-in path are prepared once per connection (`prepare_cached`).

use super::oidc::IssuedTokens;
use super::oidc::{
    AccessToken, AuthCode, AuthContext, CodeUse, OidcClient, OidcStore, RefreshToken, RefreshUse,
    SigningKey, WebSession,
};
use super::sqlite::{Durability, SqliteStore};
use super::{Commit, Write};
use crate::clock::UnixTime;
use crate::error::{Error, Result};
use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};

fn to_json(v: &[String]) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "[]".into())
}

fn from_json(s: &str) -> Vec<String> {
    serde_json::from_str(s).unwrap_or_default()
}

fn hash32(v: Vec<u8>) -> rusqlite::Result<[u8; 32]> {
    v.try_into().map_err(|v: Vec<u8>| {
        rusqlite::Error::FromSqlConversionFailure(
            v.len(),
            rusqlite::types::Type::Blob,
            "a stored hash is not 32 bytes".into(),
        )
    })
}

const CLIENT_COLS: &str = "client_id, name, secret_hash, redirect_uris, post_logout_redirect_uris, \
     created_at, grant_types";

fn client_row(r: &Row<'_>) -> rusqlite::Result<OidcClient> {
    Ok(OidcClient {
        client_id: r.get(0)?,
        name: r.get(1)?,
        secret_hash: r.get(2)?,
        redirect_uris: from_json(&r.get::<_, String>(3)?),
        post_logout_redirect_uris: from_json(&r.get::<_, String>(4)?),
        created_at: r.get(5)?,
        grant_types: from_json(&r.get::<_, String>(6)?),
    })
}

const CODE_COLS: &str = "hash, grant_id, client_id, redirect_uri, scope, nonce, code_challenge, \
     user_name, auth_time, amr, acr, created_at, expires_at";

fn code_row(r: &Row<'_>) -> rusqlite::Result<AuthCode> {
    Ok(AuthCode {
        hash: hash32(r.get(0)?)?,
        grant_id: r.get(1)?,
        client_id: r.get(2)?,
        redirect_uri: r.get(3)?,
        scope: r.get(4)?,
        nonce: r.get(5)?,
        code_challenge: r.get(6)?,
        auth: AuthContext {
            user: r.get(7)?,
            auth_time: r.get(8)?,
            amr: from_json(&r.get::<_, String>(9)?),
            acr: r.get(10)?,
        },
        created_at: r.get(11)?,
        expires_at: r.get(12)?,
    })
}

const REFRESH_COLS: &str = "hash, grant_id, client_id, scope, user_name, auth_time, amr, acr, \
     created_at, expires_at";

fn refresh_row(r: &Row<'_>) -> rusqlite::Result<RefreshToken> {
    Ok(RefreshToken {
        hash: hash32(r.get(0)?)?,
        grant_id: r.get(1)?,
        client_id: r.get(2)?,
        scope: r.get(3)?,
        auth: AuthContext {
            user: r.get(4)?,
            auth_time: r.get(5)?,
            amr: from_json(&r.get::<_, String>(6)?),
            acr: r.get(7)?,
        },
        created_at: r.get(8)?,
        expires_at: r.get(9)?,
    })
}

fn insert_access(conn: &Connection, t: &AccessToken) -> rusqlite::Result<usize> {
    conn.prepare_cached(
        "INSERT INTO oidc_access_tokens (hash, grant_id, client_id, scope, user_name, expires_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        &t.hash[..],
        t.grant_id,
        t.client_id,
        t.scope,
        t.user,
        t.expires_at
    ])
}

fn insert_session(conn: &Connection, s: &WebSession) -> rusqlite::Result<usize> {
    conn.prepare_cached(
        "INSERT OR REPLACE INTO oidc_web_sessions (hash, user_name, data, created_at, expires_at) \
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        &s.hash[..],
        s.user,
        s.data,
        s.created_at,
        s.expires_at
    ])
}

fn delete_session(conn: &Connection, hash: &[u8; 32]) -> rusqlite::Result<usize> {
    conn.prepare_cached("DELETE FROM oidc_web_sessions WHERE hash = ?1")?
        .execute(params![&hash[..]])
}

/// Stores `s` and deletes `old` in the open transaction `tx`.
fn replace_session(
    tx: &Connection,
    old: Option<&[u8; 32]>,
    s: &WebSession,
) -> rusqlite::Result<()> {
    insert_session(tx, s)?;
    if let Some(o) = old {
        delete_session(tx, o)?;
    }
    Ok(())
}

fn insert_code(conn: &Connection, c: &AuthCode) -> rusqlite::Result<usize> {
    conn.prepare_cached(&format!(
        "INSERT INTO oidc_codes ({CODE_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"
    ))?
    .execute(params![
        &c.hash[..],
        c.grant_id,
        c.client_id,
        c.redirect_uri,
        c.scope,
        c.nonce,
        c.code_challenge,
        c.auth.user,
        c.auth.auth_time,
        to_json(&c.auth.amr),
        c.auth.acr,
        c.created_at,
        c.expires_at
    ])
}

/// Spends the code (one conditional statement), or finds why it cannot be.
fn spend_code(conn: &Connection, hash: &[u8; 32], now: UnixTime) -> rusqlite::Result<CodeUse> {
    let fresh = conn
        .prepare_cached(&format!(
            "UPDATE oidc_codes SET used_at = ?2 WHERE hash = ?1 AND used_at IS NULL RETURNING {CODE_COLS}"
        ))?
        .query_row(params![&hash[..], now], code_row)
        .optional()?;
    if let Some(c) = fresh {
        return Ok(CodeUse::Fresh(Box::new(c)));
    }
    let spent: Option<String> = conn
        .prepare_cached("SELECT grant_id FROM oidc_codes WHERE hash = ?1")?
        .query_row(params![&hash[..]], |r| r.get(0))
        .optional()?;
    Ok(match spent {
        Some(grant_id) => CodeUse::Replayed { grant_id },
        None => CodeUse::Unknown,
    })
}

/// `PRAGMA synchronous` on one connection.
fn set_synchronous(conn: &Connection, d: Durability) -> rusqlite::Result<()> {
    conn.prepare_cached(match d {
        Durability::Full => "PRAGMA synchronous = FULL",
        Durability::Normal => "PRAGMA synchronous = NORMAL",
    })?
    .execute([])
    .map(|_| ())
}

fn insert_refresh(conn: &Connection, t: &RefreshToken) -> rusqlite::Result<usize> {
    conn.prepare_cached(&format!(
        "INSERT INTO oidc_refresh_tokens ({REFRESH_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
    ))?
    .execute(params![
            &t.hash[..],
            t.grant_id,
            t.client_id,
            t.scope,
            t.auth.user,
            t.auth.auth_time,
            to_json(&t.auth.amr),
            t.auth.acr,
            t.created_at,
            t.expires_at
    ])
}

impl OidcStore for SqliteStore {
    fn put_client(&self, c: &OidcClient) -> Result<()> {
        super::oidc::check_client(c)?;
        let conn = self.conn();
        conn.execute(
            &format!("INSERT OR REPLACE INTO oidc_clients ({CLIENT_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"),
            params![
                c.client_id,
                c.name,
                c.secret_hash,
                to_json(&c.redirect_uris),
                to_json(&c.post_logout_redirect_uris),
                c.created_at,
                to_json(&c.grant_types)
            ],
        )
        .map_err(|e| self.err(e))?;
        Ok(())
    }

    fn get_client(&self, client_id: &str) -> Result<Option<OidcClient>> {
        let conn = self.conn();
        conn.query_row(
            &format!("SELECT {CLIENT_COLS} FROM oidc_clients WHERE client_id = ?1"),
            params![client_id],
            client_row,
        )
        .optional()
        .map_err(|e| self.err(e))
    }

    fn list_clients(&self) -> Result<Vec<OidcClient>> {
        let conn = self.conn();
        let mut st = conn
            .prepare(&format!(
                "SELECT {CLIENT_COLS} FROM oidc_clients ORDER BY client_id"
            ))
            .map_err(|e| self.err(e))?;
        let rows = st.query_map([], client_row).map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| self.err(e))
    }

    fn delete_client(&self, client_id: &str) -> Result<bool> {
        let mut conn = self.conn();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| self.err(e))?;
        let n = tx
            .execute(
                "DELETE FROM oidc_clients WHERE client_id = ?1",
                params![client_id],
            )
            .map_err(|e| self.err(e))?;
        for table in ["oidc_access_tokens", "oidc_refresh_tokens", "oidc_codes"] {
            tx.execute(
                &format!("DELETE FROM {table} WHERE client_id = ?1"),
                params![client_id],
            )
            .map_err(|e| self.err(e))?;
        }
        tx.commit().map_err(|e| self.err(e))?;
        Ok(n > 0)
    }

    fn put_code(&self, c: &AuthCode) -> Result<()> {
        let conn = self.conn();
        insert_code(&conn, c).map_err(|e| self.err(e))?;
        Ok(())
    }

    fn consume_code(&self, hash: &[u8; 32], now: UnixTime) -> Result<CodeUse> {
        let conn = self.conn();
        spend_code(&conn, hash, now).map_err(|e| self.err(e))
    }

    fn redeem_code(
        &self,
        hash: &[u8; 32],
        now: UnixTime,
        issue: &mut dyn FnMut(&AuthCode) -> IssuedTokens,
    ) -> Result<CodeUse> {
        let mut conn = self.conn();
        let mut run = |conn: &mut Connection| -> rusqlite::Result<CodeUse> {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let used = spend_code(&tx, hash, now)?;
            if let CodeUse::Fresh(c) = &used
                && let Some((access, refresh)) = issue(c)
            {
                insert_access(&tx, &access)?;
                if let Some(r) = refresh {
                    insert_refresh(&tx, &r)?;
                }
            }
            tx.commit()?;
            Ok(used)
        };
        run(&mut conn).map_err(|e| self.err(e))
    }

    fn put_code_and_session(
        &self,
        c: &AuthCode,
        old: Option<&[u8; 32]>,
        s: &WebSession,
        then: &[Write],
    ) -> Result<()> {
        self.apply_batch_and(then, |tx| {
            insert_code(tx, c)?;
            replace_session(tx, old, s)
        })
    }

    fn put_access_token(&self, t: &AccessToken) -> Result<()> {
        let conn = self.conn();
        insert_access(&conn, t).map_err(|e| self.err(e))?;
        Ok(())
    }

    fn get_access_token(&self, hash: &[u8; 32], now: UnixTime) -> Result<Option<AccessToken>> {
        let conn = self.conn();
        let mut st = conn
            .prepare_cached(
                "SELECT hash, grant_id, client_id, scope, user_name, expires_at \
                 FROM oidc_access_tokens WHERE hash = ?1 AND expires_at > ?2",
            )
            .map_err(|e| self.err(e))?;
        st.query_row(params![&hash[..], now], |r| {
            Ok(AccessToken {
                hash: hash32(r.get(0)?)?,
                grant_id: r.get(1)?,
                client_id: r.get(2)?,
                scope: r.get(3)?,
                user: r.get(4)?,
                expires_at: r.get(5)?,
            })
        })
        .optional()
        .map_err(|e| self.err(e))
    }

    fn put_refresh_token(&self, t: &RefreshToken) -> Result<()> {
        let conn = self.conn();
        insert_refresh(&conn, t).map_err(|e| self.err(e))?;
        Ok(())
    }

    fn put_tokens(&self, access: &AccessToken, refresh: Option<&RefreshToken>) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| self.err(e))?;
        insert_access(&tx, access).map_err(|e| self.err(e))?;
        if let Some(r) = refresh {
            insert_refresh(&tx, r).map_err(|e| self.err(e))?;
        }
        tx.commit().map_err(|e| self.err(e))
    }

    fn rotate_refresh_token(
        &self,
        hash: &[u8; 32],
        client_id: &str,
        now: UnixTime,
        next: &mut dyn FnMut(&RefreshToken) -> RefreshToken,
    ) -> Result<RefreshUse> {
        let mut conn = self.conn();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| self.err(e))?;
        let spent = tx
            .query_row(
                &format!(
                    "UPDATE oidc_refresh_tokens SET used_at = ?3 \
                     WHERE hash = ?1 AND client_id = ?2 AND used_at IS NULL AND revoked_at IS NULL \
                     RETURNING {REFRESH_COLS}"
                ),
                params![&hash[..], client_id, now],
                refresh_row,
            )
            .optional()
            .map_err(|e| self.err(e))?;
        let outcome = match spent {
            Some(old) if old.expires_at <= now => RefreshUse::Expired,
            Some(old) => {
                let new = next(&old);
                insert_refresh(&tx, &new).map_err(|e| self.err(e))?;
                RefreshUse::Rotated(Box::new(new))
            }
            None => {
                let known: Option<String> = tx
                    .query_row(
                        "SELECT grant_id FROM oidc_refresh_tokens WHERE hash = ?1 AND client_id = ?2",
                        params![&hash[..], client_id],
                        |r| r.get(0),
                    )
                    .optional()
                    .map_err(|e| self.err(e))?;
                match known {
                    Some(grant_id) => RefreshUse::Reused { grant_id },
                    None => RefreshUse::Unknown,
                }
            }
        };
        tx.commit().map_err(|e| self.err(e))?;
        Ok(outcome)
    }

    fn revoke_grant(&self, grant_id: &str, now: UnixTime) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| self.err(e))?;
        tx.execute(
            "DELETE FROM oidc_access_tokens WHERE grant_id = ?1",
            params![grant_id],
        )
        .map_err(|e| self.err(e))?;
        tx.execute(
            "UPDATE oidc_refresh_tokens SET revoked_at = COALESCE(revoked_at, ?2) WHERE grant_id = ?1",
            params![grant_id, now],
        )
        .map_err(|e| self.err(e))?;
        tx.commit().map_err(|e| self.err(e))
    }

    fn revoke_user_tokens(&self, user: &str, now: UnixTime) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| self.err(e))?;
        tx.execute(
            "DELETE FROM oidc_access_tokens WHERE user_name = ?1",
            params![user],
        )
        .map_err(|e| self.err(e))?;
        tx.execute(
            "UPDATE oidc_refresh_tokens SET revoked_at = COALESCE(revoked_at, ?2) WHERE user_name = ?1",
            params![user, now],
        )
        .map_err(|e| self.err(e))?;
        tx.commit().map_err(|e| self.err(e))
    }

    fn put_web_session(&self, s: &WebSession) -> Result<()> {
        let conn = self.conn();
        insert_session(&conn, s).map_err(|e| self.err(e))?;
        Ok(())
    }

    fn replace_web_session(&self, old: Option<&[u8; 32]>, s: &WebSession) -> Result<()> {
        self.replace_web_session_with(old, s, Commit::Durable)
    }

    fn replace_web_session_with(
        &self,
        old: Option<&[u8; 32]>,
        s: &WebSession,
        commit: Commit,
    ) -> Result<()> {
        let mut conn = self.conn();
        // Lazy on a synchronous=FULL store: this one commit is written to the WAL without a
        // flush; the connection is set back to FULL before it is released (or the call fails).
        let lazy = commit == Commit::Lazy && self.durability() == Durability::Full;
        if lazy {
            set_synchronous(&conn, Durability::Normal).map_err(|e| self.err(e))?;
        }
        let run = |conn: &mut Connection| -> rusqlite::Result<()> {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            replace_session(&tx, old, s)?;
            tx.commit()
        };
        let r = run(&mut conn);
        if lazy {
            set_synchronous(&conn, Durability::Full).map_err(|e| self.err(e))?;
        }
        r.map_err(|e| self.err(e))
    }

    fn get_web_session(&self, hash: &[u8; 32], now: UnixTime) -> Result<Option<WebSession>> {
        let conn = self.conn();
        let mut st = conn
            .prepare_cached(
                "SELECT hash, user_name, data, created_at, expires_at FROM oidc_web_sessions \
                 WHERE hash = ?1 AND expires_at > ?2",
            )
            .map_err(|e| self.err(e))?;
        st.query_row(params![&hash[..], now], |r| {
            Ok(WebSession {
                hash: hash32(r.get(0)?)?,
                user: r.get(1)?,
                data: r.get(2)?,
                created_at: r.get(3)?,
                expires_at: r.get(4)?,
            })
        })
        .optional()
        .map_err(|e| self.err(e))
    }

    fn delete_web_session(&self, hash: &[u8; 32]) -> Result<bool> {
        let conn = self.conn();
        let n = delete_session(&conn, hash).map_err(|e| self.err(e))?;
        Ok(n > 0)
    }

    fn delete_user_web_sessions(&self, user: &str) -> Result<u64> {
        let conn = self.conn();
        let n = conn
            .execute(
                "DELETE FROM oidc_web_sessions WHERE user_name = ?1",
                params![user],
            )
            .map_err(|e| self.err(e))?;
        Ok(n as u64)
    }

    fn put_signing_key(&self, k: &SigningKey) -> Result<()> {
        let conn = self.conn();
        conn.execute(
            "INSERT INTO oidc_signing_keys (kid, alg, private_key, created_at, activates_at, retires_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![k.kid, k.alg, k.private_key, k.created_at, k.activates_at, k.retires_at],
        )
        .map_err(|e| self.err(e))?;
        Ok(())
    }

    fn list_signing_keys(&self) -> Result<Vec<SigningKey>> {
        let conn = self.conn();
        let mut st = conn
            .prepare(
                "SELECT kid, alg, private_key, created_at, activates_at, retires_at \
                 FROM oidc_signing_keys ORDER BY created_at, kid",
            )
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map([], |r| {
                Ok(SigningKey {
                    kid: r.get(0)?,
                    alg: r.get(1)?,
                    private_key: r.get(2)?,
                    created_at: r.get(3)?,
                    activates_at: r.get(4)?,
                    retires_at: r.get(5)?,
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| self.err(e))
    }

    fn retire_signing_key(&self, kid: &str, retires_at: UnixTime) -> Result<()> {
        let conn = self.conn();
        let n = conn
            .execute(
                "UPDATE oidc_signing_keys SET retires_at = ?2 WHERE kid = ?1",
                params![kid, retires_at],
            )
            .map_err(|e| self.err(e))?;
        if n == 0 {
            return Err(Error::NotFound(format!("no signing key with kid {kid}")));
        }
        Ok(())
    }

    fn purge_expired(&self, now: UnixTime) -> Result<u64> {
        let mut conn = self.conn();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| self.err(e))?;
        let mut n = 0u64;
        // Spent codes are kept for an hour past their expiry so that a late replay is still
        // recognized and its grant revoked.
        for sql in [
            "DELETE FROM oidc_codes WHERE expires_at <= ?1 - 3600",
            "DELETE FROM oidc_access_tokens WHERE expires_at <= ?1",
            "DELETE FROM oidc_refresh_tokens WHERE expires_at <= ?1",
            "DELETE FROM oidc_web_sessions WHERE expires_at <= ?1",
            "DELETE FROM oidc_signing_keys WHERE retires_at IS NOT NULL AND retires_at <= ?1",
        ] {
            n += tx.execute(sql, params![now]).map_err(|e| self.err(e))? as u64;
        }
        tx.commit().map_err(|e| self.err(e))?;
        Ok(n)
    }
}

#[cfg(test)]
mod tests;
