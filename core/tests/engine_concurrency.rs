//! Single use under concurrency through the engine on a real SQLite file:
//! 32 threads present the same valid code, each in its own verification session, released
//! together by a barrier. Exactly one succeeds; failure counters lose no increments.

mod common;

use common::*;
use std::sync::{Arc, Barrier};
use twofold_core::proto::{Code, Method, PamReply};
use twofold_core::settings::MaxInvalidAttempts;
use twofold_core::store::Store;

const THREADS: usize = 32;

/// Opens one session per thread, then verifies `code` in all of them at once.
fn race(h: &Harness, method: Method, code: &Code) -> Vec<PamReply> {
    let sessions: Vec<String> = (0..THREADS).map(|_| h.challenge("alice").session).collect();
    let barrier = Arc::new(Barrier::new(THREADS));
    let handles: Vec<_> = sessions
        .into_iter()
        .map(|s| {
            let engine = h.engine.clone();
            let barrier = barrier.clone();
            let code = code.clone();
            std::thread::spawn(move || {
                barrier.wait();
                engine.verify(&s, method, &code).unwrap()
            })
        })
        .collect();
    handles.into_iter().map(|t| t.join().unwrap()).collect()
}

/// A cap above the thread count, so no thread meets a user lock (which would burn the code).
fn roomy() -> Harness {
    Harness::with(|s| s.max_consecutive_failures = 100)
}

fn successes(replies: &[PamReply]) -> usize {
    replies
        .iter()
        .filter(|r| matches!(r, PamReply::Accepted { .. }))
        .count()
}

#[test]
fn thirty_two_threads_with_one_backup_code_succeed_exactly_once() {
    let h = roomy();
    let (_, codes) = h.enroll("alice");
    let replies = race(&h, Method::BackupCode, &Code::new(codes[3].clone()));
    assert_eq!(successes(&replies), 1, "{replies:?}");
    assert!(
        replies
            .iter()
            .all(|r| matches!(r, PamReply::Accepted { .. } | PamReply::Rejected { .. }))
    );
    assert_eq!(h.store.backup_codes_left("alice").unwrap(), 9);
    assert_eq!(h.audit("alice", "auth.success").len(), 1);
}

#[test]
fn thirty_two_threads_with_one_totp_code_succeed_exactly_once() {
    let h = roomy();
    let (secret, _) = h.enroll("alice");
    let replies = race(&h, Method::AuthenticatorApp, &code_now(&secret, h.now()));
    assert_eq!(successes(&replies), 1, "{replies:?}");
    assert!(
        replies
            .iter()
            .all(|r| matches!(r, PamReply::Accepted { .. } | PamReply::Rejected { .. }))
    );
    assert_eq!(h.audit("alice", "auth.success").len(), 1);
    assert_eq!(h.audit("alice", "auth.failure").len(), THREADS - 1);
}

#[test]
fn thirty_two_wrong_codes_at_once_are_all_counted() {
    let h = Harness::with(|s| {
        s.max_consecutive_failures = 100;
        s.max_invalid_attempts = MaxInvalidAttempts::Three;
    });
    let (secret, _) = h.enroll("alice");
    let replies = race(&h, Method::AuthenticatorApp, &wrong_code(&secret, h.now()));
    assert_eq!(successes(&replies), 0);
    let u = h.store.get_user("alice").unwrap().unwrap();
    assert_eq!(u.consecutive_failures, THREADS as u32);
    assert_eq!(h.audit("alice", "auth.failure").len(), THREADS);
}

#[test]
fn thirty_two_wrong_codes_in_one_session_end_it_at_the_limit() {
    let h = Harness::new();
    let (secret, _) = h.enroll("alice");
    let c = h.challenge("alice");
    let bad = wrong_code(&secret, h.now());
    let barrier = Arc::new(Barrier::new(THREADS));
    let handles: Vec<_> = (0..THREADS)
        .map(|_| {
            let (engine, barrier, bad, s) = (
                h.engine.clone(),
                barrier.clone(),
                bad.clone(),
                c.session.clone(),
            );
            std::thread::spawn(move || {
                barrier.wait();
                engine.verify(&s, Method::AuthenticatorApp, &bad).unwrap()
            })
        })
        .collect();
    let replies: Vec<PamReply> = handles.into_iter().map(|t| t.join().unwrap()).collect();
    let rejected = replies
        .iter()
        .filter(|r| matches!(r, PamReply::Rejected { .. }))
        .count();
    assert!(
        rejected <= 2,
        "at most max_invalid_attempts - 1 rejections: {rejected}"
    );
    assert!(
        replies
            .iter()
            .filter(|r| matches!(r, PamReply::Locked { .. }))
            .count()
            >= THREADS - 2
    );
    assert!(
        h.store
            .get_session(&c.session)
            .unwrap()
            .unwrap()
            .ended
            .is_some()
    );
}
