//! Conformance cases: the batches ([`Store::apply`], [`Store::consume_then`],
//! [`Store::record_failure_then`]) apply all their writes or none, a refused consume writes
//! nothing, a failed follow-up write undoes the consume, and single use and counters hold
//! under 32-way concurrency through them.

use super::concurrency::race;
use super::{T0, THREADS, enrolled_user, h, new_user, open_session, session};
use crate::error::Error;
use crate::proto::Method;
use crate::store::{
    AttemptCount, AuditEvent, AuditFilter, Consume, ConsumeOutcome, EnrollmentStatus, Failure,
    FailureCounts, FailureWrites, SessionEnd, SignIn, Store, Write,
};
use std::sync::Arc;

fn audit(user: &str, event: &str, detail: &str) -> Write {
    Write::Audit(AuditEvent {
        at: T0,
        actor: user.into(),
        event: event.into(),
        user: Some(user.into()),
        outcome: "ok".into(),
        detail: detail.into(),
    })
}

fn signin(user: &str, outcome: &str) -> Write {
    Write::RecordSignin(SignIn {
        user: user.into(),
        service: "sshd".into(),
        rhost: Some("192.0.2.7".into()),
        outcome: outcome.into(),
        reason: format!("{outcome} in a batch"),
        at: T0,
    })
}

/// The details of the user's audit events, oldest first.
fn details(store: &dyn Store, user: &str) -> Vec<String> {
    let mut v: Vec<String> = store
        .query_audit(&AuditFilter {
            user: Some(user.into()),
            ..AuditFilter::default()
        })
        .unwrap()
        .into_iter()
        .map(|e| e.detail)
        .collect();
    v.reverse();
    v
}

fn failures(store: &dyn Store, user: &str) -> u32 {
    store.get_user(user).unwrap().unwrap().consecutive_failures
}

fn totp(user: &str, step: i64) -> Consume {
    Consume::TotpStep {
        user: user.into(),
        step,
    }
}

/// A success's follow-up writes for `id` (the engine's order: user row, then session row).
fn success(user: &str, id: &str) -> Vec<Write> {
    vec![
        Write::ClearFailures { user: user.into() },
        Write::FinishSession {
            id: id.into(),
            how: SessionEnd::Success,
        },
        signin(user, "success"),
        audit(user, "auth.success", &format!("accepted in {id}")),
    ]
}

/// Every write of an applied batch is visible afterwards, a new user included.
pub fn writes_are_visible_after_apply(store: &dyn Store) {
    let mut s = session("s1", "alice", Method::Sms);
    s.rhost = None;
    store
        .apply(&[
            Write::EnsureUser {
                name: "alice".into(),
                now: T0,
            },
            signin("alice", "challenge"),
            audit("alice", "auth.decision", "challenge"),
            Write::CreateSession(s.clone()),
            Write::SessionSetMethod {
                id: "s1".into(),
                method: Method::Email,
            },
            Write::PutOobCode {
                session: "s1".into(),
                hash: h(9),
                expires_at: T0 + 300,
            },
            Write::ReplaceBackupCodes {
                user: "alice".into(),
                hashes: vec![h(1), h(2)],
                now: T0,
            },
        ])
        .unwrap();
    let u = store.get_user("alice").unwrap().unwrap();
    assert_eq!(
        (u.status, u.created_at),
        (EnrollmentStatus::NotEnrolled, T0)
    );
    s.method = Method::Email;
    assert_eq!(store.get_session("s1").unwrap(), Some(s));
    assert_eq!(store.recent_signins("alice", 10).unwrap().len(), 1);
    assert_eq!(details(store, "alice"), vec!["challenge"]);
    assert_eq!(store.backup_codes_left("alice").unwrap(), 2);
    assert!(store.consume_backup_code("alice", &h(2), T0).unwrap());
    assert_eq!(
        store.consume_oob_code("s1", &h(9), T0 + 1).unwrap(),
        crate::store::OobOutcome::Accepted
    );
    // EnsureUser keeps a known user as it is; EndSession ends an open session once.
    store
        .set_contact("alice", Some("+14155550100"), None, None)
        .unwrap();
    store
        .apply(&[
            Write::EnsureUser {
                name: "alice".into(),
                now: T0 + 99,
            },
            Write::EndSession {
                id: "s1".into(),
                how: SessionEnd::Abandoned,
            },
            Write::EndSession {
                id: "s1".into(),
                how: SessionEnd::Success,
            },
        ])
        .unwrap();
    let u = store.get_user("alice").unwrap().unwrap();
    assert_eq!(
        (u.created_at, u.phone.as_deref()),
        (T0, Some("+14155550100"))
    );
    assert_eq!(
        store.get_session("s1").unwrap().unwrap().ended,
        Some(SessionEnd::Abandoned)
    );
    store.apply(&[]).unwrap();
}

/// One refused write (a taken session id, an unknown user, a session not open) undoes the
/// whole batch; a bad input is refused before anything is written.
pub fn a_batch_with_a_refused_write_applies_nothing(store: &dyn Store) {
    open_session(store, "s1", "alice", Method::AuthenticatorApp);
    let dup = store.apply(&[
        signin("alice", "challenge"),
        audit("alice", "auth.decision", "dup"),
        Write::CreateSession(session("s1", "alice", Method::Sms)),
    ]);
    assert!(matches!(dup, Err(Error::Conflict(_))), "{dup:?}");
    let unknown = store.apply(&[
        audit("alice", "auth.decision", "unknown"),
        Write::ClearFailures {
            user: "nobody".into(),
        },
    ]);
    assert!(matches!(unknown, Err(Error::NotFound(_))), "{unknown:?}");
    store.end_session("s1", SessionEnd::Success).unwrap();
    let ended = store.apply(&[
        audit("alice", "auth.decision", "ended"),
        Write::FinishSession {
            id: "s1".into(),
            how: SessionEnd::Locked,
        },
    ]);
    assert!(matches!(ended, Err(Error::Conflict(_))), "{ended:?}");
    let bad = store.apply(&[
        audit("alice", "auth.decision", "bad"),
        Write::EnsureUser {
            name: String::new(),
            now: T0,
        },
    ]);
    assert!(matches!(bad, Err(Error::Invalid(_))), "{bad:?}");
    let repeated = store.apply(&[Write::ReplaceBackupCodes {
        user: "alice".into(),
        hashes: vec![h(1), h(1)],
        now: T0,
    }]);
    assert!(matches!(repeated, Err(Error::Invalid(_))), "{repeated:?}");
    assert!(details(store, "alice").is_empty());
    assert!(store.recent_signins("alice", 10).unwrap().is_empty());
    assert_eq!(
        store.get_session("s1").unwrap().unwrap().ended,
        Some(SessionEnd::Success)
    );
}

/// A consume this call does not win (replayed step, used backup code, wrong or expired OOB
/// code, a user not pending) writes nothing of `then`.
pub fn a_refused_consume_applies_nothing(store: &dyn Store) {
    enrolled_user(store, "alice", 100);
    store.record_failure("alice").unwrap();
    store.replace_backup_codes("alice", &[h(1)], T0).unwrap();
    assert!(store.consume_backup_code("alice", &h(1), T0).unwrap());
    store
        .create_session(&session("s1", "alice", Method::Sms))
        .unwrap();
    store.put_oob_code("s1", &h(7), T0 + 60).unwrap();
    let cases = [
        (totp("alice", 100), ConsumeOutcome::Refused),
        (totp("alice", 99), ConsumeOutcome::Refused),
        (
            Consume::BackupCode {
                user: "alice".into(),
                hash: h(1),
                now: T0,
            },
            ConsumeOutcome::Refused,
        ),
        (
            Consume::OobCode {
                session: "s1".into(),
                hash: h(8),
                now: T0 + 1,
            },
            ConsumeOutcome::Refused,
        ),
        (
            Consume::OobCode {
                session: "s1".into(),
                hash: h(7),
                now: T0 + 60,
            },
            ConsumeOutcome::Expired,
        ),
        (
            Consume::ConfirmEnrollment {
                user: "alice".into(),
                step: 200,
                now: T0,
            },
            ConsumeOutcome::Refused,
        ),
    ];
    for (consume, expected) in cases {
        let got = store
            .consume_then(&consume, &success("alice", "s1"))
            .unwrap();
        assert_eq!(got, expected, "{consume:?}");
    }
    assert!(details(store, "alice").is_empty());
    assert!(store.recent_signins("alice", 10).unwrap().is_empty());
    assert_eq!(failures(store, "alice"), 1);
    let s = store.get_session("s1").unwrap().unwrap();
    assert_eq!(s.ended, None);
    let u = store.get_user("alice").unwrap().unwrap();
    assert_eq!(
        (u.status, u.totp_last_step),
        (EnrollmentStatus::Enrolled, Some(100))
    );
}

/// A won consume and its writes commit together.
pub fn a_won_consume_commits_with_its_writes(store: &dyn Store) {
    enrolled_user(store, "alice", 100);
    store.record_failure("alice").unwrap();
    store
        .create_session(&session("s1", "alice", Method::AuthenticatorApp))
        .unwrap();
    assert_eq!(
        store
            .consume_then(&totp("alice", 101), &success("alice", "s1"))
            .unwrap(),
        ConsumeOutcome::Accepted
    );
    let u = store.get_user("alice").unwrap().unwrap();
    assert_eq!((u.totp_last_step, u.consecutive_failures), (Some(101), 0));
    assert_eq!(
        store.get_session("s1").unwrap().unwrap().ended,
        Some(SessionEnd::Success)
    );
    assert_eq!(details(store, "alice"), vec!["accepted in s1"]);
    // Enrollment: confirm and store the backup codes in one transaction.
    new_user(store, "bob");
    store.set_pending_secret("bob", b"k1:ct", T0).unwrap();
    store
        .create_session(&session("s2", "bob", Method::AuthenticatorApp))
        .unwrap();
    let mut then = success("bob", "s2");
    then.insert(
        2,
        Write::ReplaceBackupCodes {
            user: "bob".into(),
            hashes: vec![h(3), h(4), h(5)],
            now: T0,
        },
    );
    let confirm = Consume::ConfirmEnrollment {
        user: "bob".into(),
        step: 500,
        now: T0 + 5,
    };
    assert_eq!(
        store.consume_then(&confirm, &then).unwrap(),
        ConsumeOutcome::Accepted
    );
    let b = store.get_user("bob").unwrap().unwrap();
    assert_eq!(
        (b.status, b.totp_last_step, b.enrolled_at),
        (EnrollmentStatus::Enrolled, Some(500), Some(T0 + 5))
    );
    assert_eq!(store.backup_codes_left("bob").unwrap(), 3);
}

/// A failing follow-up write undoes the consume too: the code is still unused afterwards.
pub fn a_failed_write_after_a_consume_undoes_the_consume(store: &dyn Store) {
    enrolled_user(store, "alice", 100);
    store.replace_backup_codes("alice", &[h(1)], T0).unwrap();
    let code = Consume::BackupCode {
        user: "alice".into(),
        hash: h(1),
        now: T0,
    };
    let then = [
        audit("alice", "auth.success", "never"),
        Write::ClearFailures {
            user: "nobody".into(),
        },
    ];
    let r = store.consume_then(&code, &then);
    assert!(matches!(r, Err(Error::NotFound(_))), "{r:?}");
    let r = store.consume_then(&totp("alice", 101), &then);
    assert!(matches!(r, Err(Error::NotFound(_))), "{r:?}");
    assert_eq!(store.backup_codes_left("alice").unwrap(), 1);
    assert_eq!(
        store.get_user("alice").unwrap().unwrap().totp_last_step,
        Some(100)
    );
    assert!(details(store, "alice").is_empty());
    // A bad write is refused before the transaction: nothing consumed either.
    let bad = [Write::EnsureUser {
        name: String::new(),
        now: T0,
    }];
    assert!(matches!(
        store.consume_then(&code, &bad),
        Err(Error::Invalid(_))
    ));
    assert!(store.consume_backup_code("alice", &h(1), T0).unwrap());
}

/// When the session ended meanwhile, the consume stays (the code is burned) and nothing else of
/// `then` is applied, not even the writes before the session's.
pub fn a_consume_for_an_ended_session_is_kept_and_its_writes_are_not(store: &dyn Store) {
    enrolled_user(store, "alice", 100);
    store.record_failure("alice").unwrap();
    store
        .create_session(&session("s1", "alice", Method::AuthenticatorApp))
        .unwrap();
    assert!(store.end_session("s1", SessionEnd::Locked).unwrap());
    assert_eq!(
        store
            .consume_then(&totp("alice", 101), &success("alice", "s1"))
            .unwrap(),
        ConsumeOutcome::AcceptedSessionEnded
    );
    let u = store.get_user("alice").unwrap().unwrap();
    assert_eq!((u.totp_last_step, u.consecutive_failures), (Some(101), 1));
    assert_eq!(
        store.get_session("s1").unwrap().unwrap().ended,
        Some(SessionEnd::Locked)
    );
    assert!(details(store, "alice").is_empty());
    assert!(store.recent_signins("alice", 10).unwrap().is_empty());
}

/// 32 threads present one TOTP step, each for its own session, through `consume_then`:
/// exactly one wins, and exactly one set of follow-up writes exists.
pub fn thirty_two_threads_through_consume_then_give_exactly_one_winner(store: &dyn Store) {
    enrolled_user(store, "alice", 100);
    for i in 0..THREADS {
        store
            .create_session(&session(
                &format!("s{i}"),
                "alice",
                Method::AuthenticatorApp,
            ))
            .unwrap();
    }
    let out = race(THREADS, |i| {
        store
            .consume_then(&totp("alice", 101), &success("alice", &format!("s{i}")))
            .unwrap()
    });
    let wins: Vec<usize> = (0..THREADS)
        .filter(|i| out[*i] == ConsumeOutcome::Accepted)
        .collect();
    assert_eq!(wins.len(), 1, "{out:?}");
    assert!(
        out.iter()
            .all(|o| matches!(o, ConsumeOutcome::Accepted | ConsumeOutcome::Refused))
    );
    assert_eq!(
        details(store, "alice"),
        vec![format!("accepted in s{}", wins[0])]
    );
    let ended = (0..THREADS)
        .filter(|i| {
            store
                .get_session(&format!("s{i}"))
                .unwrap()
                .unwrap()
                .ended
                .is_some()
        })
        .count();
    assert_eq!(ended, 1);
}

/// 32 threads present one backup code in one session, each with its own follow-up lines:
/// exactly one wins.
pub fn thirty_two_threads_with_one_backup_code_through_consume_then_give_one_winner(
    store: &dyn Store,
) {
    open_session(store, "s1", "alice", Method::BackupCode);
    store
        .replace_backup_codes("alice", &[h(1), h(2)], T0)
        .unwrap();
    let code = Consume::BackupCode {
        user: "alice".into(),
        hash: h(1),
        now: T0,
    };
    let out = race(THREADS, |i| {
        let then = [audit("alice", "auth.success", &format!("thread {i}"))];
        store.consume_then(&code, &then).unwrap()
    });
    let wins = out
        .iter()
        .filter(|o| **o == ConsumeOutcome::Accepted)
        .count();
    assert_eq!(wins, 1, "{out:?}");
    assert_eq!(details(store, "alice").len(), 1);
    assert_eq!(store.backup_codes_left("alice").unwrap(), 1);
}

/// Writes that quote the counts, as the engine's audit lines do.
fn quoting(user: &'static str) -> FailureWrites {
    Arc::new(move |c: &FailureCounts| match c.attempt {
        Some(a) => vec![
            audit(
                user,
                "auth.failure",
                &format!("failure {} attempt {}", c.failures, a.attempts),
            ),
            signin(user, "failure"),
        ],
        None => Vec::new(),
    })
}

fn failure(user: &str, id: &str, max: Option<u32>) -> Failure {
    Failure {
        user: user.into(),
        session: Some(id.into()),
        max_attempts: max,
    }
}

/// A failure counts per user and per session, and the writes built from the counts commit
/// with them; the session locks at the maximum.
pub fn record_failure_then_counts_and_writes_together(store: &dyn Store) {
    open_session(store, "s1", "alice", Method::AuthenticatorApp);
    let f = failure("alice", "s1", Some(2));
    let c1 = store.record_failure_then(&f, quoting("alice")).unwrap();
    let c2 = store.record_failure_then(&f, quoting("alice")).unwrap();
    let attempt = |attempts, locked| Some(AttemptCount { attempts, locked });
    assert_eq!(
        (c1.failures, c1.attempt, c2.failures, c2.attempt),
        (1, attempt(1, false), 2, attempt(2, true))
    );
    assert_eq!(
        details(store, "alice"),
        vec!["failure 1 attempt 1", "failure 2 attempt 2"]
    );
    assert_eq!(store.recent_signins("alice", 10).unwrap().len(), 2);
    let s = store.get_session("s1").unwrap().unwrap();
    assert_eq!((s.invalid_attempts, s.ended), (2, Some(SessionEnd::Locked)));
    // A locked session reports locked without counting; the user's failure still counts.
    let c3 = store.record_failure_then(&f, quoting("alice")).unwrap();
    assert_eq!((c3.failures, c3.attempt), (3, attempt(2, true)));
}

/// A session that ended other than locked counts only the user's failure; an unknown session
/// or user, or a refused write, counts nothing.
pub fn record_failure_then_refusals_count_nothing(store: &dyn Store) {
    open_session(store, "s1", "alice", Method::AuthenticatorApp);
    store
        .create_session(&session("s2", "alice", Method::AuthenticatorApp))
        .unwrap();
    store.end_session("s2", SessionEnd::Success).unwrap();
    let c = store
        .record_failure_then(&failure("alice", "s2", Some(3)), quoting("alice"))
        .unwrap();
    assert_eq!((c.failures, c.attempt), (1, None));
    assert_eq!(
        store.get_session("s2").unwrap().unwrap().invalid_attempts,
        0
    );
    let r = store.record_failure_then(&failure("alice", "nope", Some(3)), quoting("alice"));
    assert!(matches!(r, Err(Error::NotFound(_))), "{r:?}");
    let r = store.record_failure_then(&failure("nobody", "s1", Some(3)), quoting("alice"));
    assert!(matches!(r, Err(Error::NotFound(_))), "{r:?}");
    let refused: FailureWrites = Arc::new(|_: &FailureCounts| {
        vec![
            audit("alice", "auth.failure", "never"),
            Write::ClearFailures {
                user: "nobody".into(),
            },
        ]
    });
    let r = store.record_failure_then(&failure("alice", "s1", Some(3)), refused);
    assert!(matches!(r, Err(Error::NotFound(_))), "{r:?}");
    assert_eq!(failures(store, "alice"), 1);
    assert_eq!(
        store.get_session("s1").unwrap().unwrap().invalid_attempts,
        0
    );
    assert!(details(store, "alice").is_empty());
}

/// 32 threads × 5 failures through `record_failure_then` on one session without a limit:
/// every increment counts once, every caller saw distinct counts, and one line each exists.
pub fn concurrent_failures_through_record_failure_then_lose_no_increments(store: &dyn Store) {
    const PER_THREAD: usize = 5;
    open_session(store, "s1", "alice", Method::AuthenticatorApp);
    let f = failure("alice", "s1", None);
    let seen = race(THREADS, |_| {
        (0..PER_THREAD)
            .map(|_| {
                let c = store.record_failure_then(&f, quoting("alice")).unwrap();
                (c.failures, c.attempt.map(|a| a.attempts))
            })
            .collect::<Vec<_>>()
    });
    let total = (THREADS * PER_THREAD) as u32;
    let mut users: Vec<u32> = seen.iter().flatten().map(|c| c.0).collect();
    let mut sessions: Vec<u32> = seen.iter().flatten().filter_map(|c| c.1).collect();
    users.sort_unstable();
    sessions.sort_unstable();
    assert_eq!(users, (1..=total).collect::<Vec<_>>());
    assert_eq!(sessions, (1..=total).collect::<Vec<_>>());
    assert_eq!(failures(store, "alice"), total);
    assert_eq!(details(store, "alice").len(), total as usize);
}
