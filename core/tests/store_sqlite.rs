//! The store conformance suite on a real SQLite file (a fresh temporary database per case),
//! plus the SQLite-specific connection checks.

use std::time::Duration;
use twofold_core::Error;
use twofold_core::store::Store;
use twofold_core::store::conformance::{Fixture, T0, h, new_user};
use twofold_core::store::sqlite::{Durability, SqliteOptions, SqliteStore};

fn sqlite_fixture() -> Option<Fixture<tempfile::TempDir>> {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqliteStore::open(&dir.path().join("twofold.db")).expect("open");
    Some(Fixture::new(Box::new(store), dir))
}

twofold_core::store_conformance_tests!(sqlite_fixture());

#[test]
fn every_pool_connection_uses_wal_synchronous_full_foreign_keys_and_a_busy_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("t.db")).unwrap();
    let pragmas = store.connection_pragmas().unwrap();
    assert_eq!(pragmas.len(), SqliteOptions::default().connections);
    for p in pragmas {
        assert_eq!(p.journal_mode, "wal");
        assert_eq!(p.synchronous, 2, "FULL");
        assert_eq!(p.foreign_keys, 1);
        assert_eq!(p.busy_timeout_ms, 5000);
        assert_eq!(
            p.wal_autocheckpoint, 0,
            "no checkpoint in a committing request"
        );
    }
    assert_eq!(store.durability(), Durability::Full);
    let d = store.describe();
    assert!(
        d.contains("t.db") && d.contains("WAL, synchronous=FULL"),
        "{d}"
    );
}

#[test]
fn normal_durability_is_only_used_when_chosen_and_is_described() {
    let dir = tempfile::tempdir().unwrap();
    let opts = SqliteOptions {
        durability: Durability::Normal,
        ..SqliteOptions::default()
    };
    let store = SqliteStore::open_with(&dir.path().join("t.db"), opts).unwrap();
    assert!(
        store
            .connection_pragmas()
            .unwrap()
            .iter()
            .all(|p| p.synchronous == 1)
    );
    assert!(
        store.describe().contains("synchronous=NORMAL"),
        "{}",
        store.describe()
    );
    drop(store);
    // Reopening with the defaults is FULL again: the choice is per open, not sticky.
    let store = SqliteStore::open(&dir.path().join("t.db")).unwrap();
    assert!(
        store
            .connection_pragmas()
            .unwrap()
            .iter()
            .all(|p| p.synchronous == 2)
    );
}

#[test]
fn lazy_commits_leave_every_connection_at_synchronous_full() {
    use twofold_core::proto::Method;
    use twofold_core::store::conformance::session;
    use twofold_core::store::{Commit, Failure, Write};
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("t.db")).unwrap();
    new_user(&store, "alice");
    let s = session("s1", "alice", Method::AuthenticatorApp);
    store
        .apply_with(&[Write::CreateSession(s.clone())], Commit::Lazy)
        .unwrap();
    let fail = |session: &str| Failure {
        user: "alice".into(),
        session: Some(session.into()),
        max_attempts: Some(3),
    };
    let counts = store
        .record_failure_then(&fail("s1"), std::sync::Arc::new(|_| Vec::new()))
        .unwrap();
    assert_eq!(counts.failures, 1);
    // A lazy batch that is refused (unknown session) rolls back and also restores FULL.
    let refused = store.apply_with(&[Write::CreateSession(s.clone())], Commit::Lazy);
    assert!(refused.is_err(), "a duplicate session must be refused");
    // What the lazy commits wrote is there for every connection.
    assert!(store.get_session("s1").unwrap().is_some());
    assert_eq!(
        store
            .get_user("alice")
            .unwrap()
            .unwrap()
            .consecutive_failures,
        1
    );
    for p in store.connection_pragmas().unwrap() {
        assert_eq!(p.synchronous, 2, "a connection was left at {p:?}");
    }
}

#[test]
fn a_lazy_batch_that_panics_rolls_back_and_leaves_the_connection_at_full() {
    use twofold_core::proto::Method;
    use twofold_core::store::conformance::session;
    use twofold_core::store::{Failure, Write};
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("t.db")).unwrap();
    new_user(&store, "alice");
    store
        .apply(&[Write::CreateSession(session(
            "s1",
            "alice",
            Method::AuthenticatorApp,
        ))])
        .unwrap();
    let fail = Failure {
        user: "alice".into(),
        session: Some("s1".into()),
        max_attempts: Some(3),
    };
    let unwound = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        store.record_failure_then(&fail, std::sync::Arc::new(|_| panic!("a writer bug")))
    }));
    assert!(unwound.is_err());
    // Nothing of the batch is kept, and every connection flushes its commits again.
    assert_eq!(
        store
            .get_user("alice")
            .unwrap()
            .unwrap()
            .consecutive_failures,
        0
    );
    for p in store.connection_pragmas().unwrap() {
        assert_eq!(p.synchronous, 2, "a connection was left at {p:?}");
    }
    // The store goes on working.
    let counts = store
        .record_failure_then(&fail, std::sync::Arc::new(|_| Vec::new()))
        .unwrap();
    assert_eq!(counts.failures, 1);
}

#[test]
fn a_new_database_file_is_readable_by_its_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let store = SqliteStore::open(&path).unwrap();
    new_user(&store, "alice");
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "database mode {mode:o}");
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".init-"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}

#[test]
fn data_and_schema_version_survive_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    {
        let store = SqliteStore::open(&path).unwrap();
        new_user(&store, "alice");
        store
            .replace_backup_codes("alice", &[h(1), h(2)], T0)
            .unwrap();
        assert!(store.consume_backup_code("alice", &h(1), T0).unwrap());
    }
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(
        store.schema_version().unwrap(),
        twofold_core::store::migrations::SCHEMA_VERSION
    );
    assert!(!store.consume_backup_code("alice", &h(1), T0).unwrap());
    assert_eq!(store.backup_codes_left("alice").unwrap(), 1);
}

#[test]
fn a_database_held_by_another_writer_fails_closed_as_unavailable_then_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let opts = SqliteOptions {
        busy_timeout: Duration::from_millis(200),
        ..SqliteOptions::default()
    };
    let store = SqliteStore::open_with(&path, opts).unwrap();
    new_user(&store, "alice");
    store.replace_backup_codes("alice", &[h(1)], T0).unwrap();

    let other = rusqlite::Connection::open(&path).unwrap();
    other.execute_batch("BEGIN EXCLUSIVE").unwrap();
    match store.consume_backup_code("alice", &h(1), T0) {
        Err(Error::Unavailable(msg)) => assert!(msg.contains("t.db"), "{msg}"),
        r => panic!("expected Unavailable while locked, got {r:?}"),
    }
    assert!(matches!(
        store.record_failure("alice"),
        Err(Error::Unavailable(_))
    ));
    other.execute_batch("ROLLBACK").unwrap();

    assert!(store.consume_backup_code("alice", &h(1), T0).unwrap());
    assert_eq!(store.record_failure("alice").unwrap(), 1);
}

#[test]
fn the_audit_trail_refuses_updates_and_deletes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let store = SqliteStore::open(&path).unwrap();
    store
        .audit(&twofold_core::store::AuditEvent {
            at: T0,
            actor: "admin:root".into(),
            event: "user.reset".into(),
            user: Some("alice".into()),
            outcome: "ok".into(),
            detail: "reset by admin".into(),
        })
        .unwrap();
    let raw = rusqlite::Connection::open(&path).unwrap();
    assert!(
        raw.execute("UPDATE audit SET outcome = 'refused'", [])
            .is_err()
    );
    assert!(raw.execute("DELETE FROM audit", []).is_err());
    assert_eq!(
        store
            .query_audit(&twofold_core::store::AuditFilter::default())
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn bad_options_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    for opts in [
        SqliteOptions {
            connections: 0,
            ..SqliteOptions::default()
        },
        SqliteOptions {
            busy_timeout: Duration::ZERO,
            ..SqliteOptions::default()
        },
    ] {
        assert!(matches!(
            SqliteStore::open_with(&path, opts),
            Err(Error::Invalid(_))
        ));
    }
    assert!(!path.exists(), "nothing is created for refused options");
}

#[test]
fn commits_reach_the_main_database_file_without_a_request_checkpointing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let store = SqliteStore::open(&path).unwrap();
    for i in 0..200 {
        store.ensure_user(&format!("user{i:03}"), T0).unwrap();
    }
    // `immutable=1` reads the main file alone, ignoring the WAL: the users are there only once
    // the background checkpointer has copied them.
    let uri = format!("file:{}?immutable=1", path.display());
    let in_main_file = || -> i64 {
        let c = rusqlite::Connection::open_with_flags(
            &uri,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_URI,
        )
        .unwrap();
        c.query_row("SELECT count(*) FROM users", [], |r| r.get(0))
            .unwrap()
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let mut seen = in_main_file();
    while seen < 200 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
        seen = in_main_file();
    }
    assert_eq!(seen, 200, "the checkpointer copied every committed user");
    assert_eq!(store.checkpoint_failure(), None);
    assert!(!store.check_health().unwrap().contains("checkpoint failed"));
}

#[test]
fn the_wal_stays_bounded_under_a_steady_stream_of_writes_and_reads() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let store = std::sync::Arc::new(
        SqliteStore::open_with(
            &path,
            SqliteOptions {
                durability: Durability::Normal,
                ..SqliteOptions::default()
            },
        )
        .unwrap(),
    );
    store.ensure_user("alice", T0).unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut threads = Vec::new();
    for w in 0..2 {
        let (store, stop) = (store.clone(), stop.clone());
        threads.push(std::thread::spawn(move || {
            let mut n = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                store
                    .audit(&twofold_core::store::AuditEvent {
                        at: T0,
                        actor: "test".into(),
                        event: "test.write".into(),
                        user: Some("alice".into()),
                        outcome: "ok".into(),
                        detail: format!("writer {w} line {n} {}", "x".repeat(200)),
                    })
                    .unwrap();
                n += 1;
            }
            n
        }));
    }
    for _ in 0..2 {
        let (store, stop) = (store.clone(), stop.clone());
        threads.push(std::thread::spawn(move || {
            let mut n = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                store.get_user("alice").unwrap();
                n += 1;
            }
            n
        }));
    }
    // The WAL header's salt changes each time the log starts over from its beginning.
    let wal = dir.path().join("t.db-wal");
    let salt = || -> Option<[u8; 8]> {
        use std::io::Read;
        let mut h = [0u8; 32];
        std::fs::File::open(&wal).ok()?.read_exact(&mut h).ok()?;
        h[16..24].try_into().ok()
    };
    let mut salts = std::collections::HashSet::new();
    let mut largest = 0u64;
    let until = std::time::Instant::now() + Duration::from_secs(4);
    while std::time::Instant::now() < until {
        std::thread::sleep(Duration::from_millis(10));
        largest = largest.max(std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0));
        salts.extend(salt());
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let counts: Vec<u64> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    let writes: u64 = counts[..2].iter().sum();
    assert!(
        writes > 1000,
        "only {writes} writes: the test did not load the store"
    );
    // Passive checkpoints alone never let the log start over under this load (the WAL grew by
    // hundreds of MiB in seconds); the checkpoint thread's RESTART does, again and again. How
    // large the file gets between two restarts depends on how soon the thread gets a core.
    assert!(
        salts.len() >= 3,
        "the log started over {} times in {writes} writes (WAL up to {largest} bytes)",
        salts.len().saturating_sub(1)
    );
    // Between restarts: at most ~2 048 commits when the thread is starved (then the next
    // store call restarts the log itself), each a few pages here.
    assert!(
        largest < 96 << 20,
        "the WAL grew to {largest} bytes over {writes} writes"
    );
    assert_eq!(store.checkpoint_failure(), None);
}
