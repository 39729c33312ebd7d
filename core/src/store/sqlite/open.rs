//! Opening a SQLite database: checks that change nothing, atomic creation, connection
//! settings, and the numbered migrations.

use super::checkpoint::Checkpointer;
use super::{ConnectionPragmas, SqliteOptions, SqliteStore, map_err};
use crate::error::{Error, Result};
use crate::store::migrations::{SCHEMA_VERSION, SQLITE};
use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex};

const HEADER: &[u8; 16] = b"SQLite format 3\0";

pub(super) fn open(path: &Path, options: SqliteOptions) -> Result<SqliteStore> {
    let location = path.display().to_string();
    if !(1..=64).contains(&options.connections) {
        return Err(Error::Invalid(format!(
            "SQLite connections must be between 1 and 64, not {}",
            options.connections
        )));
    }
    if options.busy_timeout.is_zero() {
        return Err(Error::Invalid(
            "the SQLite busy timeout must be more than zero".into(),
        ));
    }
    let db_err = |detail: String| Error::Database {
        location: location.clone(),
        detail,
    };
    match std::fs::metadata(path) {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            create_database(path, &options, &location)?;
        }
        Err(e) => return Err(db_err(format!("cannot read the file: {e}"))),
    }
    preflight(path, &location)?;

    let open_conn = || {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| db_err(format!("cannot open: {e}")))?;
        configure(&conn, &options, &location)?;
        Ok::<_, Error>(conn)
    };
    let writer = Arc::new(Mutex::new(()));
    let checkpointer = Checkpointer::start(open_conn()?, writer.clone())
        .map_err(|e| db_err(format!("cannot start the checkpoint thread: {e}")))?;
    let mut conns = Vec::with_capacity(options.connections);
    for _ in 0..options.connections {
        let conn = open_conn()?;
        checkpointer
            .watch(&conn)
            .map_err(|e| map_err(&location, e))?;
        conns.push(conn);
    }
    if let Some(first) = conns.first_mut() {
        migrate(first, &location)?;
    }
    Ok(SqliteStore {
        path: path.to_path_buf(),
        location,
        options,
        conns: conns.into_iter().map(Mutex::new).collect(),
        next: AtomicUsize::new(0),
        writer,
        checkpointer,
    })
}

/// Creates a new database atomically: built and migrated under a temporary name, then linked
/// into place. So a database file is either absent or complete, and an empty file at `path` is
/// always damage (refused), never a half-finished first start.
fn create_database(path: &Path, options: &SqliteOptions, location: &str) -> Result<()> {
    let db_err = |detail: String| Error::Database {
        location: location.to_string(),
        detail,
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !dir.is_dir() {
        return Err(db_err(format!(
            "the directory {} does not exist",
            dir.display()
        )));
    }
    let file_name = path
        .file_name()
        .ok_or_else(|| db_err("the path names no file".into()))?
        .to_string_lossy()
        .into_owned();
    let tmp = dir.join(format!(".{file_name}.init-{}", std::process::id()));
    remove_with_sidecars(&tmp);
    {
        use std::os::unix::fs::OpenOptionsExt;
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(|e| db_err(format!("cannot create {}: {e}", tmp.display())))?;
    }
    let built = (|| -> Result<()> {
        let mut conn = Connection::open_with_flags(
            &tmp,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| db_err(format!("cannot create: {e}")))?;
        configure(&conn, options, location)?;
        migrate(&mut conn, location)?;
        // Closing the only connection checkpoints the WAL into the file.
        conn.close()
            .map_err(|(_, e)| db_err(format!("cannot close after creating: {e}")))?;
        std::fs::File::open(&tmp)
            .and_then(|f| f.sync_all())
            .map_err(|e| db_err(format!("cannot sync {}: {e}", tmp.display())))?;
        match std::fs::hard_link(&tmp, path) {
            Ok(()) => {}
            // Another process created it first: use theirs.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(db_err(format!("cannot create: {e}"))),
        }
        std::fs::File::open(&dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| db_err(format!("cannot sync {}: {e}", dir.display())))?;
        Ok(())
    })();
    remove_with_sidecars(&tmp);
    built
}

fn remove_with_sidecars(p: &Path) {
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut s = p.as_os_str().to_owned();
        s.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(s));
    }
}

/// Every check that can be made without writing: runs on a read-only connection, so a damaged
/// or foreign file is left exactly as it was.
fn preflight(path: &Path, location: &str) -> Result<()> {
    let db_err = |detail: String| Error::Database {
        location: location.to_string(),
        detail,
    };
    const RESTORE: &str = "refusing to use it (nothing was changed): restore it from a backup";
    let meta = std::fs::metadata(path).map_err(|e| db_err(format!("cannot read: {e}")))?;
    if !meta.is_file() {
        return Err(db_err("is not a regular file".into()));
    }
    if meta.len() == 0 {
        return Err(db_err(format!(
            "is empty (0 bytes) although it should hold the twofold database; {RESTORE}, \
             or remove it to start over (every user would have to enroll again)"
        )));
    }
    let mut header = [0u8; 100];
    let mut f = std::fs::File::open(path).map_err(|e| db_err(format!("cannot read: {e}")))?;
    let n = read_up_to(&mut f, &mut header).map_err(|e| db_err(format!("cannot read: {e}")))?;
    if n < header.len() || &header[..16] != HEADER {
        return Err(db_err(format!(
            "is not a SQLite database (its header is wrong); {RESTORE}"
        )));
    }
    let wal = {
        let mut s = path.as_os_str().to_owned();
        s.push("-wal");
        PathBuf::from(s)
    };
    let wal_len = std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
    if let Some(expected) = size_from_header(&header).filter(|_| wal_len == 0)
        && (meta.len() < expected || meta.len() % page_size_from_header(&header) != 0)
    {
        return Err(db_err(format!(
            "is truncated ({} bytes, its header says {expected}); {RESTORE}",
            meta.len()
        )));
    }
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| db_err(format!("cannot open: {e}; {RESTORE}")))?;
    let q = |e: rusqlite::Error| db_err(format!("{e}; {RESTORE}"));

    let problems: Vec<String> = {
        let mut st = conn.prepare("PRAGMA quick_check(5)").map_err(q)?;
        let rows = st.query_map([], |r| r.get::<_, String>(0)).map_err(q)?;
        rows.collect::<rusqlite::Result<_>>().map_err(q)?
    };
    if problems.first().map(String::as_str) != Some("ok") {
        return Err(db_err(format!(
            "is damaged (PRAGMA quick_check: {}); {RESTORE}",
            problems.join("; ")
        )));
    }
    let has_schema_table = table_exists(&conn, "twofold_schema").map_err(q)?;
    if !has_schema_table {
        let tables: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'",
                [],
                |r| r.get(0),
            )
            .map_err(q)?;
        if tables > 0 {
            return Err(db_err(
                "is a SQLite database of another program (it has tables but no twofold schema); \
                 refusing to use it (nothing was changed)"
                    .into(),
            ));
        }
    }
    let found = recorded_version(&conn).map_err(q)?;
    if found > SCHEMA_VERSION {
        return Err(Error::SchemaTooNew {
            location: location.to_string(),
            found,
            supported: SCHEMA_VERSION,
        });
    }
    Ok(())
}

/// The page size the header declares (bytes 16-17; 1 means 65536).
fn page_size_from_header(h: &[u8; 100]) -> u64 {
    match u16::from_be_bytes([h[16], h[17]]) {
        1 => 65_536,
        n => u64::from(n).max(512),
    }
}

/// The database size the header declares, when the header says it is valid (bytes 28-31, valid
/// when the file change counter at 24 equals the version-valid-for number at 92).
fn size_from_header(h: &[u8; 100]) -> Option<u64> {
    let pages = u32::from_be_bytes([h[28], h[29], h[30], h[31]]);
    let valid = h[24..28] == h[92..96] && pages > 0;
    valid.then(|| u64::from(pages) * page_size_from_header(h))
}

fn read_up_to(f: &mut std::fs::File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match f.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

fn table_exists(conn: &Connection, name: &str) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1",
        [name],
        |_| Ok(()),
    )
    .optional()
    .map(|o| o.is_some())
}

/// The schema version the database records: the highest of the `twofold_schema` table and
/// `PRAGMA user_version` (0 for a new database).
pub(super) fn recorded_version(conn: &Connection) -> rusqlite::Result<i64> {
    let user_version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let table = if table_exists(conn, "twofold_schema")? {
        conn.query_row(
            "SELECT COALESCE(MAX(version), 0) FROM twofold_schema",
            [],
            |r| r.get(0),
        )?
    } else {
        0
    };
    Ok(user_version.max(table))
}

/// Per-connection settings, read back and checked.
fn configure(conn: &Connection, options: &SqliteOptions, location: &str) -> Result<()> {
    let e = |e: rusqlite::Error| map_err(location, e);
    conn.busy_timeout(options.busy_timeout).map_err(e)?;
    // The engine's, delivery's and the provider's statements together are more than rusqlite's
    // default of 16: keep them all prepared.
    conn.set_prepared_statement_cache_capacity(128);
    // Checkpoints run on their own thread (checkpoint.rs), not in a committing request.
    conn.execute_batch("PRAGMA foreign_keys = ON; PRAGMA wal_autocheckpoint = 0")
        .map_err(e)?;
    let mode: String = conn
        .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
        .map_err(e)?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(Error::Database {
            location: location.to_string(),
            detail: format!(
                "cannot use the WAL journal (SQLite chose {mode}); is the file on a network filesystem?"
            ),
        });
    }
    conn.execute_batch(&format!(
        "PRAGMA synchronous = {}",
        options.durability.pragma()
    ))
    .map_err(e)?;
    let p = read_pragmas(conn).map_err(e)?;
    if p.synchronous != options.durability.pragma_value() || p.foreign_keys != 1 {
        return Err(Error::Database {
            location: location.to_string(),
            detail: format!(
                "connection settings did not take effect (synchronous={}, foreign_keys={})",
                p.synchronous, p.foreign_keys
            ),
        });
    }
    Ok(())
}

pub(super) fn read_pragmas(conn: &Connection) -> rusqlite::Result<ConnectionPragmas> {
    Ok(ConnectionPragmas {
        journal_mode: conn.query_row("PRAGMA journal_mode", [], |r| r.get(0))?,
        synchronous: conn.query_row("PRAGMA synchronous", [], |r| r.get(0))?,
        foreign_keys: conn.query_row("PRAGMA foreign_keys", [], |r| r.get(0))?,
        busy_timeout_ms: conn.query_row("PRAGMA busy_timeout", [], |r| r.get(0))?,
        wal_autocheckpoint: conn.query_row("PRAGMA wal_autocheckpoint", [], |r| r.get(0))?,
    })
}

/// Applies every pending migration, each in its own `BEGIN IMMEDIATE` transaction (so two
/// processes starting at once apply each migration exactly once).
fn migrate(conn: &mut Connection, location: &str) -> Result<()> {
    let e = |e: rusqlite::Error| map_err(location, e);
    for m in SQLITE {
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(e)?;
        tx.execute_batch(
            "CREATE TABLE IF NOT EXISTS twofold_schema (
                 version    INTEGER PRIMARY KEY,
                 name       TEXT NOT NULL,
                 applied_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP
             )",
        )
        .map_err(e)?;
        let current = recorded_version(&tx).map_err(e)?;
        if current > SCHEMA_VERSION {
            return Err(Error::SchemaTooNew {
                location: location.to_string(),
                found: current,
                supported: SCHEMA_VERSION,
            });
        }
        if current >= m.version {
            continue;
        }
        tx.execute_batch(m.sql).map_err(|err| Error::Database {
            location: location.to_string(),
            detail: format!("migration {} failed: {err}", m.name),
        })?;
        tx.execute(
            "INSERT INTO twofold_schema (version, name) VALUES (?1, ?2)",
            rusqlite::params![m.version, m.name],
        )
        .map_err(e)?;
        tx.pragma_update(None, "user_version", m.version)
            .map_err(e)?;
        tx.commit().map_err(e)?;
    }
    Ok(())
}
