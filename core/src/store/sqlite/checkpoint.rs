//! WAL checkpoints on a thread of their own.
//!
//! SQLite's default is that the commit which pushes the WAL past 1 000 pages copies the WAL
//! into the database file and syncs it, in the committing request. With twofold's ~10-page
//! sign-in commits that is every ~100th sign-in paying for the other 99 (several milliseconds
//! of writes and two fsyncs in one request). Here every pool connection has
//! `wal_autocheckpoint = 0`, and this thread runs a `PASSIVE` checkpoint on its own connection
//! after every [`WAKE_AFTER`] commits (counted by a commit hook on each pool connection), or [`IDLE`] after the last write.
//!
//! Durability does not change: each commit is still synced to the WAL as `synchronous` says
//! before it returns; a checkpoint only moves committed pages into the main file.
//!
//! A passive checkpoint never waits for readers or writers, so under a steady stream of writes
//! it never catches up with the end of the log, and SQLite only starts the log over from its
//! beginning once a checkpoint has copied all of it. So when the log has grown past
//! [`RESTART_FRAMES`], the thread takes this process's writer turn (the same mutex every
//! write transaction takes) and runs a `RESTART` checkpoint, which copies the rest and makes
//! the next writer start the log over: the WAL stays bounded (a few MiB) under any load, and the
//! writers that wait for it are the ones after the commit, never the commit itself.

use rusqlite::Connection;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// Write transactions after which the checkpointer is woken.
pub(super) const WAKE_AFTER: u64 = 512;
/// How long after the last write the checkpointer runs anyway.
pub(super) const IDLE: Duration = Duration::from_secs(1);
/// Log frames (pages) past which the log is made to start over (4 096 pages: 16 MiB).
pub(super) const RESTART_FRAMES: i64 = 4096;
/// Commits after which, if the thread has not made the log start over (it got no core in
/// time), the next store call does it itself before its own work: the WAL stays bounded
/// even when this thread is starved.
pub(super) const OVERDUE_COMMITS: u64 = 2048;

#[derive(Default)]
struct State {
    /// Write transactions since the last checkpoint.
    writes: u64,
    /// The store is being dropped.
    stop: bool,
    /// The last checkpoint's error other than busy, cleared by the next success.
    failure: Option<String>,
}

#[derive(Default)]
struct Shared {
    state: Mutex<State>,
    wake: Condvar,
    /// Commits since the log was last seen short (a checkpoint reported fewer than
    /// [`RESTART_FRAMES`] frames). Outside the mutex: every store call reads it.
    since_short: AtomicU64,
}

/// The checkpointer thread and its wake-up.
pub(super) struct Checkpointer {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    /// Starts the thread on `conn` (a connection of its own, configured like the pool's).
    /// `writer` is the store's writer turn (see `SqliteStore::write_conn`).
    pub(super) fn start(conn: Connection, writer: Arc<Mutex<()>>) -> std::io::Result<Checkpointer> {
        let shared = Arc::new(Shared::default());
        let s = shared.clone();
        let thread = std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || run(&s, &conn, &writer))?;
        Ok(Checkpointer {
            shared,
            thread: Some(thread),
        })
    }

    /// Makes every commit on `conn` (a pool connection) count towards the next checkpoint.
    pub(super) fn watch(&self, conn: &Connection) -> rusqlite::Result<()> {
        let shared = self.shared.clone();
        conn.commit_hook(Some(move || {
            let mut st = lock(&shared.state);
            st.writes += 1;
            shared.since_short.fetch_add(1, Ordering::Relaxed);
            if st.writes == WAKE_AFTER {
                shared.wake.notify_one();
            }
            false // never veto the commit
        }))
    }
}

impl Checkpointer {
    /// Why the last checkpoint failed, if it did (shown by `twofoldctl doctor`).
    pub(super) fn failure(&self) -> Option<String> {
        lock(&self.shared.state).failure.clone()
    }

    /// The log has not been seen short for [`OVERDUE_COMMITS`] commits.
    pub(super) fn overdue(&self) -> bool {
        self.shared.since_short.load(Ordering::Relaxed) >= OVERDUE_COMMITS
    }

    /// Makes the log start over on `conn`, by a caller holding the writer turn.
    pub(super) fn restart_on(&self, conn: &Connection) {
        let r = checkpoint(conn, "RESTART");
        record(&self.shared, &r);
    }
}

/// Notes a checkpoint's result: a short log resets the overdue count; an error other than busy
/// is kept for `twofoldctl doctor`.
fn record(shared: &Shared, r: &rusqlite::Result<Pass>) {
    let mut st = lock(&shared.state);
    match r {
        Ok(p) => {
            if p.restarted || p.frames < RESTART_FRAMES {
                shared.since_short.store(0, Ordering::Relaxed);
            }
            st.failure = None;
        }
        // Busy is normal under load: the next round copies the rest.
        Err(e) if e.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseBusy) => {}
        Err(e) => st.failure = Some(e.to_string()),
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        lock(&self.shared.state).stop = true;
        self.shared.wake.notify_one();
        if let Some(t) = self.thread.take() {
            // A panic in the thread was already reported by the panic hook.
            let _ = t.join();
        }
    }
}

fn lock(m: &Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// What a checkpoint found.
struct Pass {
    /// The log's size in frames when it ran.
    frames: i64,
    /// A `RESTART` that completed: the next writer starts the log over.
    restarted: bool,
}

/// One checkpoint in `mode` (`PASSIVE` or `RESTART`).
fn checkpoint(conn: &Connection, mode: &str) -> rusqlite::Result<Pass> {
    let (busy, frames): (i64, i64) =
        conn.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
    Ok(Pass {
        frames,
        restarted: mode == "RESTART" && busy == 0,
    })
}

fn run(shared: &Shared, conn: &Connection, writer: &Mutex<()>) {
    loop {
        {
            let mut st = lock(&shared.state);
            // Sleep until enough writes, or until the idle time has passed with some.
            loop {
                if st.stop {
                    return;
                }
                if st.writes >= WAKE_AFTER {
                    break;
                }
                let (g, timeout) = shared
                    .wake
                    .wait_timeout(st, IDLE)
                    .unwrap_or_else(|p| p.into_inner());
                st = g;
                if timeout.timed_out() && st.writes > 0 {
                    break;
                }
            }
            st.writes = 0;
        }
        let result = checkpoint(conn, "PASSIVE").and_then(|p| {
            if p.frames < RESTART_FRAMES {
                return Ok(p);
            }
            let _turn = writer.lock().unwrap_or_else(|p| p.into_inner());
            checkpoint(conn, "RESTART")
        });
        record(shared, &result);
    }
}
