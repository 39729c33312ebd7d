//! SQLite durability and damage: what was acknowledged survives `kill -9` (R-113…R-118), and a
//! damaged, foreign or newer database is refused by name with its bytes left untouched.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use twofold_core::Error;
use twofold_core::store::Store;
use twofold_core::store::conformance::{T0, enrolled_user, h};
use twofold_core::store::migrations::SCHEMA_VERSION;
use twofold_core::store::sqlite::SqliteStore;

const CHILD_ENV: &str = "TWOFOLD_TEST_SIGKILL_CHILD_DB";
const CODES: u8 = 40;
const KILL_AFTER_ACK: u8 = 12;

/// The child's side: consume codes, win TOTP steps and count failures one by one, printing
/// `ACK n` only after the store returned; then keep going until killed.
fn sigkill_child(path: &Path) -> ! {
    let store = SqliteStore::open(path).expect("child open");
    let mut out = std::io::stdout();
    for i in 0..CODES {
        assert!(
            store
                .consume_backup_code("alice", &h(i), T0)
                .expect("consume")
        );
        assert!(
            store
                .advance_totp_step("alice", 1000 + i64::from(i))
                .expect("step")
        );
        assert_eq!(
            store.record_failure("alice").expect("failure"),
            u32::from(i) + 1
        );
        writeln!(out, "ACK {i}").expect("stdout");
        out.flush().expect("flush");
    }
    loop {
        std::thread::sleep(std::time::Duration::from_secs(1));
    }
}

#[test]
fn what_the_store_acknowledged_survives_sigkill_of_the_process() {
    if let Some(path) = std::env::var_os(CHILD_ENV) {
        sigkill_child(Path::new(&path));
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("twofold.db");
    {
        let store = SqliteStore::open(&path).unwrap();
        enrolled_user(&store, "alice", 999);
        let codes: Vec<[u8; 32]> = (0..CODES).map(h).collect();
        store.replace_backup_codes("alice", &codes, T0).unwrap();
    }
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "what_the_store_acknowledged_survives_sigkill_of_the_process",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, &path)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut acked: Option<u8> = None;
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        if let Some(n) = line.strip_prefix("ACK ") {
            let n: u8 = n.trim().parse().unwrap();
            acked = Some(n);
            if n == KILL_AFTER_ACK {
                child.kill().unwrap(); // SIGKILL
                break;
            }
        }
    }
    let status = child.wait().unwrap();
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(
        status.signal(),
        Some(9),
        "the child was killed by SIGKILL: {status:?}"
    );
    let last = acked.expect("the child acknowledged nothing");
    assert_eq!(last, KILL_AFTER_ACK);

    let store = SqliteStore::open(&path).unwrap();
    for i in 0..=last {
        assert!(
            !store.consume_backup_code("alice", &h(i), T0).unwrap(),
            "acknowledged code {i} is consumed after the kill"
        );
        assert!(
            !store
                .advance_totp_step("alice", 1000 + i64::from(i))
                .unwrap(),
            "acknowledged step {i} stays spent"
        );
    }
    let u = store.get_user("alice").unwrap().unwrap();
    assert!(
        u.consecutive_failures > u32::from(last),
        "{}",
        u.consecutive_failures
    );
    assert!(u.totp_last_step.unwrap() >= 1000 + i64::from(last));
    assert!(store.backup_codes_left("alice").unwrap() <= u32::from(CODES - last - 1));
}

/// A real database with some hundred users and audit events, closed cleanly.
fn populated_db(dir: &Path) -> PathBuf {
    let path = dir.join("twofold.db");
    let store = SqliteStore::open(&path).unwrap();
    for i in 0..300 {
        let name = format!("user{i:04}");
        store.ensure_user(&name, T0).unwrap();
        store
            .set_contact(
                &name,
                Some("+15551234567"),
                Some("someone@example.com"),
                None,
            )
            .unwrap();
        store
            .audit(&twofold_core::store::AuditEvent {
                at: T0 + i,
                actor: "daemon".into(),
                event: "auth.success".into(),
                user: Some(name),
                outcome: "ok".into(),
                detail: "x".repeat(200),
            })
            .unwrap();
    }
    drop(store);
    assert!(!wal_of(&path).exists(), "a clean close checkpoints the WAL");
    path
}

fn wal_of(path: &Path) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push("-wal");
    PathBuf::from(s)
}

/// Opens `path`, expects an error naming it, and checks its bytes did not change.
fn refused_unchanged(path: &Path) -> Error {
    let before = std::fs::read(path).unwrap();
    let err = SqliteStore::open(path).expect_err("a damaged database must be refused");
    let msg = err.to_string();
    assert!(
        msg.contains(&path.display().to_string()),
        "the error names the file: {msg}"
    );
    assert_eq!(
        std::fs::read(path).unwrap(),
        before,
        "the file was modified"
    );
    err
}

#[test]
fn a_file_that_is_not_a_database_is_refused_by_name_and_left_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("twofold.db");
    let junk: Vec<u8> = (0..20_000u32).map(|i| (i * 7919 % 251) as u8).collect();
    std::fs::write(&path, &junk).unwrap();
    let err = refused_unchanged(&path);
    assert!(matches!(err, Error::Database { .. }), "{err:?}");
    assert!(err.to_string().contains("not a SQLite database"), "{err}");
}

#[test]
fn a_database_with_damaged_pages_is_refused_by_name_and_left_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let path = populated_db(dir.path());
    let mut bytes = std::fs::read(&path).unwrap();
    // Keep page 1 (header and schema), scribble over every other page.
    for (i, b) in bytes.iter_mut().enumerate().skip(4096) {
        *b = (i % 253) as u8 ^ 0x5a;
    }
    std::fs::write(&path, &bytes).unwrap();
    let err = refused_unchanged(&path);
    assert!(matches!(err, Error::Database { .. }), "{err:?}");
}

#[test]
fn a_truncated_database_is_refused_by_name_and_left_unchanged() {
    for keep in [0.5, 0.1] {
        let dir = tempfile::tempdir().unwrap();
        let path = populated_db(dir.path());
        let len = std::fs::metadata(&path).unwrap().len();
        let f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        f.set_len((len as f64 * keep) as u64 + 100).unwrap();
        drop(f);
        let err = refused_unchanged(&path);
        assert!(matches!(err, Error::Database { .. }), "{err:?}");
        assert!(err.to_string().contains("truncated"), "{err}");
    }
}

#[test]
fn an_empty_database_file_is_refused_rather_than_silently_reset() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("twofold.db");
    std::fs::write(&path, b"").unwrap();
    let err = refused_unchanged(&path);
    assert!(err.to_string().contains("empty"), "{err}");
    assert_eq!(std::fs::metadata(&path).unwrap().len(), 0);
}

#[test]
fn a_database_from_a_newer_schema_is_refused_by_name_and_left_unchanged() {
    for how in ["user_version", "schema table"] {
        let dir = tempfile::tempdir().unwrap();
        let path = populated_db(dir.path());
        {
            let raw = rusqlite::Connection::open(&path).unwrap();
            match how {
                "user_version" => raw.pragma_update(None, "user_version", 99).unwrap(),
                _ => {
                    raw.execute(
                        "INSERT INTO twofold_schema (version, name) VALUES (99, '0099_future')",
                        [],
                    )
                    .unwrap();
                }
            }
        }
        let err = refused_unchanged(&path);
        match err {
            Error::SchemaTooNew {
                found, supported, ..
            } => {
                assert_eq!((found, supported), (99, SCHEMA_VERSION), "{how}");
            }
            e => panic!("{how}: expected SchemaTooNew, got {e:?}"),
        }
    }
}

#[test]
fn a_sqlite_database_of_another_program_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("other.db");
    {
        let raw = rusqlite::Connection::open(&path).unwrap();
        raw.execute_batch("CREATE TABLE photos (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO photos (name) VALUES ('cat');")
            .unwrap();
    }
    let err = refused_unchanged(&path);
    assert!(err.to_string().contains("another program"), "{err}");
}

#[test]
fn a_missing_directory_is_a_clear_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("no-such-dir").join("twofold.db");
    let err = SqliteStore::open(&path).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains(&path.display().to_string()) && msg.contains("does not exist"),
        "{msg}"
    );
}
