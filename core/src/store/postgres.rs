//! PostgreSQL backend of the store (feature `postgres`): several `twofoldd` nodes share one
//! database, and PostgreSQL's replication gives high availability.
//!
//! - `tokio-postgres` with a `deadpool-postgres` pool (size, connect/wait/operation timeouts),
//!   prepared statements cached per connection. No TLS yet: use a loopback or Unix-socket
//!   connection, or a TLS tunnel.
//! - [`Store`] is synchronous. A [`PgStore`] owns a small tokio runtime (2 worker threads) that
//!   runs the pool; each call hands its query to that runtime and blocks the calling thread until
//!   the answer (or the operation timeout). Call it from blocking threads (the daemon uses
//!   `spawn_blocking`), never from inside an async task: it would stall that task's worker.
//! - Durability: `synchronous_commit` is read at start and `off` is refused (an acknowledged
//!   consume could be lost in a crash) unless [`PgOptions::allow_async_commit`] says otherwise;
//!   `describe()` reports the value.
//! - Single use and counters are single conditional statements; under READ COMMITTED a second
//!   concurrent updater waits for the first and re-evaluates the `WHERE` clause, so exactly one
//!   wins, across connections and across nodes.
//! - Migrations: the same numbered list as SQLite ([`super::migrations::POSTGRES`]), each in
//!   its own transaction under an advisory lock, so nodes starting together apply each once.
//! - Outages fail closed: a lost connection, a terminated backend, a refused connect or a
//!   timeout is [`Error::Unavailable`]; the pool drops dead connections and reconnects by itself
//!   when the server is back.
//! - Settings changed through one node are read by the others at their next `load_settings`
//!   (every call reads the database: the bound is one round trip, no cache).

mod batch;
mod db;
mod delivery;
mod facts;
mod oidc;
mod ops;
mod setup;
mod statements;

use crate::error::{Error, Result};
use deadpool_postgres::{Object, Pool};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

#[cfg(doc)]
use super::Store;

/// Options of [`PgStore::connect`].
#[derive(Clone, PartialEq, Eq)]
pub struct PgOptions {
    /// `postgresql://user[:password]@host[:port]/dbname[?options]` or `key=value` form.
    pub url: String,
    /// Schema holding twofold's tables (created if missing); `None`: the server's `search_path`.
    pub schema: Option<String>,
    /// Connections in the pool. Default 16.
    pub pool_size: usize,
    /// Connecting to the server. Default 5 s.
    pub connect_timeout: Duration,
    /// One store call, waiting for a pooled connection included. Default 10 s.
    pub op_timeout: Duration,
    /// `application_name` of the connections (shown in `pg_stat_activity`). Default `twofoldd`.
    pub application_name: String,
    /// Accept a server with `synchronous_commit=off` (acknowledged writes may be lost in a crash).
    /// Default `false`: such a server is refused at start.
    pub allow_async_commit: bool,
}

impl std::fmt::Debug for PgOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgOptions")
            .field("url", &"[redacted]")
            .field("schema", &self.schema)
            .field("pool_size", &self.pool_size)
            .field("connect_timeout", &self.connect_timeout)
            .field("op_timeout", &self.op_timeout)
            .field("application_name", &self.application_name)
            .field("allow_async_commit", &self.allow_async_commit)
            .finish()
    }
}

impl PgOptions {
    /// The defaults for `url`.
    pub fn new(url: impl Into<String>) -> PgOptions {
        PgOptions {
            url: url.into(),
            schema: None,
            pool_size: 16,
            connect_timeout: Duration::from_secs(5),
            op_timeout: Duration::from_secs(10),
            application_name: "twofoldd".into(),
            allow_async_commit: false,
        }
    }
}

/// What the server reports about itself (for `twofoldctl doctor`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgHealth {
    /// `SHOW synchronous_commit` (`on`, `remote_apply`, `remote_write`, `local` or `off`).
    pub synchronous_commit: String,
    /// `SHOW server_version`.
    pub server_version: String,
    /// Schema version recorded in the database.
    pub schema_version: i64,
}

/// The database handle the operations run with: the pool and the redacted location.
#[derive(Clone)]
pub(crate) struct Db {
    pool: Pool,
    location: Arc<str>,
}

impl Db {
    /// Maps a driver error to the store's error.
    pub(crate) fn e(&self, e: tokio_postgres::Error) -> Error {
        map_pg_err(&self.location, &e)
    }

    /// A pooled connection, or `Unavailable`.
    pub(crate) async fn client(&self) -> Result<Object> {
        use deadpool_postgres::PoolError;
        self.pool.get().await.map_err(|e| match e {
            PoolError::Backend(pg) => self.e(pg),
            PoolError::Timeout(_) => Error::Unavailable(format!(
                "PostgreSQL {}: no connection became free or could be made in time",
                self.location
            )),
            PoolError::Closed => {
                Error::Unavailable(format!("PostgreSQL {}: the pool is closed", self.location))
            }
            other => Error::Database {
                location: self.location.to_string(),
                detail: other.to_string(),
            },
        })
    }
}

/// The PostgreSQL store. Share it behind an `Arc`; call it from blocking threads.
pub struct PgStore {
    db: Db,
    rt: Option<tokio::runtime::Runtime>,
    options: PgOptions,
    synchronous_commit: String,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore")
            .field("location", &self.db.location)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl PgStore {
    /// Connects, checks `synchronous_commit`, creates the schema if one is named, and applies
    /// pending migrations.
    ///
    /// Errors name the server without its password: [`Error::Invalid`] for a bad URL or options,
    /// [`Error::Unavailable`] when the server cannot be reached, [`Error::Database`] when it
    /// refuses (for example `synchronous_commit=off`), [`Error::SchemaTooNew`] for a database
    /// written by a newer twofold.
    pub fn connect(options: PgOptions) -> Result<PgStore> {
        setup::connect(options)
    }

    /// Where the store is, without the password (`postgresql://user@host:port/db`).
    pub fn location(&self) -> &str {
        &self.db.location
    }

    /// Asks the server now (reachability, `synchronous_commit`, version, schema version).
    pub fn health(&self) -> Result<PgHealth> {
        self.run(setup::health)
    }

    /// [`PgStore::health`] in words, as `doctor` shows it: `postgresql URL [schema S]
    /// (synchronous_commit=on, server 15.2, schema version 3, pool 16)`, the durability value
    /// being the one the server reports now.
    pub fn health_text(&self) -> Result<String> {
        let h = self.health()?;
        Ok(format!(
            "postgresql {}{} (synchronous_commit={}, server {}, schema version {}, pool {})",
            self.db.location,
            self.options
                .schema
                .as_deref()
                .map(|s| format!(" schema {s}"))
                .unwrap_or_default(),
            h.synchronous_commit,
            h.server_version,
            h.schema_version,
            self.options.pool_size
        ))
    }

    /// The schema version recorded in the database.
    pub fn schema_version(&self) -> Result<i64> {
        self.run(|db| async move { setup::health(db).await.map(|h| h.schema_version) })
    }

    /// Runs `f` on the store's runtime and waits for it, at most the operation timeout.
    pub(crate) fn run<T, F, Fut>(&self, f: F) -> Result<T>
    where
        F: FnOnce(Db) -> Fut,
        Fut: Future<Output = Result<T>> + Send + 'static,
        T: Send + 'static,
    {
        let Some(rt) = self.rt.as_ref() else {
            return Err(Error::Unavailable(
                "the PostgreSQL store is shut down".into(),
            ));
        };
        let fut = f(self.db.clone());
        let timeout = self.options.op_timeout;
        let location = self.db.location.clone();
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        rt.spawn(async move {
            let r = match tokio::time::timeout(timeout, fut).await {
                Ok(r) => r,
                Err(_) => Err(Error::Unavailable(format!(
                    "PostgreSQL {location} did not answer within {} ms",
                    timeout.as_millis()
                ))),
            };
            let _ = tx.send(r);
        });
        rx.recv().unwrap_or_else(|_| {
            Err(Error::Unavailable(
                "the PostgreSQL store's runtime stopped".into(),
            ))
        })
    }
}

impl Drop for PgStore {
    fn drop(&mut self) {
        // Dropping a runtime inside an async context panics; this is safe anywhere.
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

/// Connection-level trouble (lost, terminated, refused, overloaded, timed out) is `Unavailable`;
/// anything the server said about the statement itself is a database error.
pub(crate) fn map_pg_err(location: &str, e: &tokio_postgres::Error) -> Error {
    use std::error::Error as _;
    if let Some(db) = e.as_db_error() {
        let code = db.code().code();
        let unavailable = code.starts_with("08") // connection exception
            || code.starts_with("53") // insufficient resources (too many connections, ...)
            || code.starts_with("57P") // admin / crash shutdown, cannot connect now
            || code == "40001" // serialization failure
            || code == "40P01" // deadlock detected
            || code == "55P03" // lock not available
            || code == "57014"; // statement timeout / query canceled
        let text = format!("{} ({code})", db.message());
        return if unavailable {
            Error::Unavailable(format!("PostgreSQL {location}: {text}"))
        } else {
            Error::Database {
                location: location.to_string(),
                detail: text,
            }
        };
    }
    let io = e
        .source()
        .is_some_and(|s| s.downcast_ref::<std::io::Error>().is_some());
    if e.is_closed() || io || e.to_string().contains("timeout") {
        return Error::Unavailable(format!("PostgreSQL {location}: {e}"));
    }
    Error::Database {
        location: location.to_string(),
        detail: e.to_string(),
    }
}
