//! SQLite backend of the store: the embedded default for one host.
//!
//! - WAL journal, `synchronous=FULL` by default (an acknowledged write survives a power loss;
//!   [`Durability::Normal`] is an explicit opt-out that [`Store::describe`] reports),
//!   `busy_timeout` (5 s by default), `foreign_keys=ON`, set and checked on every connection.
//! - A few connections, each behind a `Mutex`, so the daemon's threads read in parallel; write
//!   transactions of the process take turns on one more `Mutex` before SQLite's lock, so a
//!   waiting writer starts the moment the previous one commits (no busy-handler sleeps).
//! - Single-use and counter operations are single conditional statements
//!   (`UPDATE ... WHERE used_at IS NULL`, `SET n = n + 1 RETURNING n`); multi-statement writes run
//!   in `BEGIN IMMEDIATE` transactions, so they never hit an unrecoverable `SQLITE_BUSY` upgrade.
//! - At start: a file that exists but is not a database, is empty, is truncated or fails
//!   `PRAGMA quick_check`, or was written by a newer schema, is refused with an error naming it;
//!   nothing in it is changed (the checks run on a read-only connection first).
//! - Numbered migrations ([`super::migrations::SQLITE`]), one transaction each.
//!
//! A busy database (locked longer than `busy_timeout`) is [`Error::Unavailable`]: callers fail
//! closed and retry later.

mod batch;
mod checkpoint;
mod open;
mod ops;
mod statements;

use crate::error::{Error, Result};
use rusqlite::Connection;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

#[cfg(doc)]
use super::Store;

/// How hard a commit is pushed to the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// `synchronous=FULL`: a commit is on the disk before it is acknowledged (survives power loss).
    #[default]
    Full,
    /// `synchronous=NORMAL`: survives a crash of any process, but the last commits may roll back
    /// after a power loss or OS crash. Must be chosen explicitly; `describe()` says so.
    Normal,
}

impl Durability {
    /// The `PRAGMA synchronous` name.
    pub fn pragma(self) -> &'static str {
        match self {
            Durability::Full => "FULL",
            Durability::Normal => "NORMAL",
        }
    }
    /// The `PRAGMA synchronous` number SQLite reports back.
    fn pragma_value(self) -> i64 {
        match self {
            Durability::Full => 2,
            Durability::Normal => 1,
        }
    }
}

/// Options of [`SqliteStore::open_with`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqliteOptions {
    /// Default [`Durability::Full`].
    pub durability: Durability,
    /// How long a statement waits for another writer's lock before failing with
    /// [`Error::Unavailable`]. Default 5 s.
    pub busy_timeout: Duration,
    /// Connections kept open (1..=64). Default 4.
    pub connections: usize,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        SqliteOptions {
            durability: Durability::Full,
            busy_timeout: Duration::from_secs(5),
            connections: 4,
        }
    }
}

/// What one pool connection reports about its durability settings (for `doctor`, R-113).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionPragmas {
    /// `PRAGMA journal_mode` (expected `wal`).
    pub journal_mode: String,
    /// `PRAGMA synchronous` (2 = FULL, 1 = NORMAL, 3 = EXTRA).
    pub synchronous: i64,
    /// `PRAGMA foreign_keys` (1).
    pub foreign_keys: i64,
    /// `PRAGMA busy_timeout` in milliseconds.
    pub busy_timeout_ms: i64,
    /// `PRAGMA wal_autocheckpoint` (0: checkpoints run on the store's own thread).
    pub wal_autocheckpoint: i64,
}

/// The SQLite store. Cheap to share behind an `Arc`; every method may be called from any thread.
pub struct SqliteStore {
    path: PathBuf,
    location: String,
    options: SqliteOptions,
    conns: Vec<Mutex<Connection>>,
    next: AtomicUsize,
    /// Write transactions of this process take turns here, before SQLite's own lock. Waiting
    /// on a mutex wakes the next writer the moment the last one commits; waiting in SQLite's
    /// busy handler sleeps in steps of up to 100 ms, which made concurrent sign-ins wait for
    /// each other's sleeps. SQLite's lock (and `busy_timeout`) still arbitrates between
    /// processes.
    writer: Arc<Mutex<()>>,
    /// Copies the WAL into the database file off the request path.
    checkpointer: checkpoint::Checkpointer,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens (creating if absent, mode 0600) the database at `path` with the default options:
    /// WAL, `synchronous=FULL`, 5 s busy timeout. Applies pending migrations.
    ///
    /// Errors name the file: [`Error::Database`] for a file that is not a usable database
    /// (empty, corrupt, truncated, unreadable, missing directory), [`Error::SchemaTooNew`] for a
    /// database written by a newer twofold. Such a file is never modified.
    pub fn open(path: &Path) -> Result<SqliteStore> {
        SqliteStore::open_with(path, SqliteOptions::default())
    }

    /// Like [`SqliteStore::open`] with explicit options.
    pub fn open_with(path: &Path, options: SqliteOptions) -> Result<SqliteStore> {
        open::open(path, options)
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The durability chosen at open.
    pub fn durability(&self) -> Durability {
        self.options.durability
    }

    /// The schema version recorded in the database.
    pub fn schema_version(&self) -> Result<i64> {
        let conn = self.conn();
        open::recorded_version(&conn).map_err(|e| self.err(e))
    }

    /// Reads back the durability pragmas of every pool connection (R-113: `wal` and 2 on each).
    pub fn connection_pragmas(&self) -> Result<Vec<ConnectionPragmas>> {
        let mut out = Vec::with_capacity(self.conns.len());
        for m in &self.conns {
            let conn = lock(m);
            out.push(open::read_pragmas(&conn).map_err(|e| self.err(e))?);
        }
        Ok(out)
    }

    /// A free connection if there is one, else waits for the next in turn.
    pub(crate) fn conn(&self) -> MutexGuard<'_, Connection> {
        for m in &self.conns {
            if let Ok(g) = m.try_lock() {
                return g;
            }
        }
        let i = self.next.fetch_add(1, Ordering::Relaxed) % self.conns.len();
        lock(&self.conns[i])
    }

    /// A connection for a write transaction: this process's writers take turns first (see
    /// the `writer` field). Hold the returned guard until the transaction has ended.
    pub(crate) fn write_conn(&self) -> (MutexGuard<'_, ()>, MutexGuard<'_, Connection>) {
        let turn = match self.writer.lock() {
            Ok(g) => g,
            // A writer that panicked left nothing behind: its transaction rolled back.
            Err(poisoned) => poisoned.into_inner(),
        };
        let conn = self.conn();
        if self.checkpointer.overdue() {
            self.checkpointer.restart_on(&conn);
        }
        (turn, conn)
    }

    /// A connection for a single statement (which may write): like [`SqliteStore::conn`], but
    /// when the checkpoint thread is overdue the log is made to start over first, on the
    /// writers' turn.
    pub(crate) fn conn_for_statement(&self) -> MutexGuard<'_, Connection> {
        let conn = self.conn();
        if self.checkpointer.overdue() {
            let _turn = self.writer.lock().unwrap_or_else(|p| p.into_inner());
            self.checkpointer.restart_on(&conn);
        }
        conn
    }

    /// Why the last background WAL checkpoint failed, if it did.
    pub fn checkpoint_failure(&self) -> Option<String> {
        self.checkpointer.failure()
    }

    /// Maps a SQLite error to the store's error, naming the file.
    pub(crate) fn err(&self, e: rusqlite::Error) -> Error {
        map_err(&self.location, e)
    }
}

/// Locks a connection; a panic in another thread while it held the lock does not poison the
/// store: SQLite rolled back whatever that thread had not committed.
fn lock(m: &Mutex<Connection>) -> MutexGuard<'_, Connection> {
    match m.lock() {
        Ok(g) => g,
        Err(poisoned) => {
            let g = poisoned.into_inner();
            if !g.is_autocommit() {
                let _ = g.execute_batch("ROLLBACK");
            }
            g
        }
    }
}

/// Busy or locked (after `busy_timeout`) is a temporary outage; anything else is a database error.
pub(crate) fn map_err(location: &str, e: rusqlite::Error) -> Error {
    use rusqlite::ErrorCode;
    match e.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => Error::Unavailable(format!(
            "database {location} is busy (locked by another writer): {e}"
        )),
        _ => Error::Database {
            location: location.to_string(),
            detail: e.to_string(),
        },
    }
}
