//! The batches are durable and atomic across `kill -9`: a child process burns codes through
//! `consume_then` and counts failures through `record_failure_then`, printing `ACK n` only
//! after each returned; after SIGKILL every acknowledged consume is still spent, and each one's
//! follow-up rows exist exactly when the consume does (R-113…R-117, burn before issue).

use std::io::{BufRead, BufReader, Write as _};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use twofold_core::store::conformance::{T0, enrolled_user, h, session};
use twofold_core::store::sqlite::SqliteStore;
use twofold_core::store::{
    AuditEvent, AuditFilter, Consume, ConsumeOutcome, Failure, FailureCounts, SessionEnd, Store,
    Write,
};

const CHILD_ENV: &str = "TWOFOLD_TEST_BATCH_SIGKILL_CHILD_DB";
const CODES: u8 = 40;
const KILL_AFTER_ACK: u8 = 12;

fn audit(detail: String) -> Write {
    Write::Audit(AuditEvent {
        at: T0,
        actor: "alice".into(),
        event: "auth.success".into(),
        user: Some("alice".into()),
        outcome: "ok".into(),
        detail,
    })
}

/// The child's side: per round, one backup code and one TOTP step burned with their follow-up
/// writes, and one failure counted with its line; `ACK n` after all three returned.
fn sigkill_child(path: &Path) -> ! {
    let store = SqliteStore::open(path).expect("child open");
    let mut out = std::io::stdout();
    for i in 0..CODES {
        let id = format!("s{i}");
        let code = Consume::BackupCode {
            user: "alice".into(),
            hash: h(i),
            now: T0,
        };
        let then = [
            Write::FinishSession {
                id: id.clone(),
                how: SessionEnd::Success,
            },
            audit(format!("backup {i}")),
        ];
        assert_eq!(
            store.consume_then(&code, &then).expect("consume"),
            ConsumeOutcome::Accepted
        );
        let step = Consume::TotpStep {
            user: "alice".into(),
            step: 1000 + i64::from(i),
        };
        assert_eq!(
            store
                .consume_then(&step, &[audit(format!("step {i}"))])
                .expect("step"),
            ConsumeOutcome::Accepted
        );
        let failure = Failure {
            user: "alice".into(),
            session: Some(format!("f{i}")),
            max_attempts: None,
        };
        let line =
            Arc::new(move |c: &FailureCounts| vec![audit(format!("failure {}", c.failures))]);
        let counts = store.record_failure_then(&failure, line).expect("failure");
        assert_eq!(counts.failures, u32::from(i) + 1);
        writeln!(out, "ACK {i}").expect("stdout");
        out.flush().expect("flush");
    }
    loop {
        std::thread::sleep(std::time::Duration::from_secs(1));
    }
}

#[test]
fn what_a_batch_acknowledged_survives_sigkill_with_all_its_writes() {
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
        for i in 0..CODES {
            for id in [format!("s{i}"), format!("f{i}")] {
                let mut s = session(&id, "alice", twofold_core::proto::Method::BackupCode);
                s.expires_at = i64::MAX;
                store.create_session(&s).unwrap();
            }
        }
    }
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "what_a_batch_acknowledged_survives_sigkill_with_all_its_writes",
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
    assert_eq!(status.signal(), Some(9), "killed by SIGKILL: {status:?}");
    let last = acked.expect("the child acknowledged nothing");
    assert_eq!(last, KILL_AFTER_ACK);

    let store = SqliteStore::open(&path).unwrap();
    let details: Vec<String> = store
        .query_audit(&AuditFilter::default())
        .unwrap()
        .into_iter()
        .map(|e| e.detail)
        .collect();
    let has = |d: String| details.contains(&d);
    for i in 0..CODES {
        let spent = !store.consume_backup_code("alice", &h(i), T0).unwrap();
        if i <= last {
            assert!(spent, "acknowledged code {i} is consumed after the kill");
            assert!(
                !store
                    .advance_totp_step("alice", 1000 + i64::from(i))
                    .unwrap(),
                "acknowledged step {i} stays spent"
            );
        }
        // A consume and its follow-up writes are one transaction: both or neither.
        let ended = store.get_session(&format!("s{i}")).unwrap().unwrap().ended;
        assert_eq!(spent, has(format!("backup {i}")), "code {i}");
        assert_eq!(spent, ended == Some(SessionEnd::Success), "session s{i}");
    }
    let u = store.get_user("alice").unwrap().unwrap();
    assert!(u.consecutive_failures > u32::from(last));
    for n in 1..=u.consecutive_failures {
        assert!(has(format!("failure {n}")), "failure {n} has its line");
    }
    assert!(!has(format!("failure {}", u.consecutive_failures + 1)));
}
