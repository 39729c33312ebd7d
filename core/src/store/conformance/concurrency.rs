//! Conformance cases: single use and counters under 32-way concurrency.
//! Every thread waits at a barrier so the presentations really overlap.

use super::{T0, THREADS, enrolled_user, h, new_user, open_session};
use crate::error::Error;
use crate::proto::Method;
use crate::settings::Settings;
use crate::store::{OobOutcome, SessionEnd, Store};
use std::sync::Barrier;

/// Runs `f(i)` on `n` threads released together; returns the results in thread order.
pub fn race<T: Send>(n: usize, f: impl Fn(usize) -> T + Sync) -> Vec<T> {
    let barrier = Barrier::new(n);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..n)
            .map(|i| {
                let (b, f) = (&barrier, &f);
                s.spawn(move || {
                    b.wait();
                    f(i)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a racing thread panicked"))
            .collect()
    })
}

/// One backup code, 32 simultaneous presentations: exactly one `true`.
pub fn thirty_two_threads_presenting_one_backup_code_give_exactly_one_success(store: &dyn Store) {
    new_user(store, "alice");
    store
        .replace_backup_codes("alice", &[h(1), h(2)], T0)
        .unwrap();
    let wins = race(THREADS, |_| {
        store.consume_backup_code("alice", &h(1), T0).unwrap()
    });
    assert_eq!(wins.iter().filter(|w| **w).count(), 1, "{wins:?}");
    assert_eq!(store.backup_codes_left("alice").unwrap(), 1);
}

/// One TOTP step, 32 simultaneous presentations: exactly one `true`.
pub fn thirty_two_threads_presenting_one_totp_step_give_exactly_one_success(store: &dyn Store) {
    enrolled_user(store, "alice", 100);
    let wins = race(THREADS, |_| store.advance_totp_step("alice", 101).unwrap());
    assert_eq!(wins.iter().filter(|w| **w).count(), 1, "{wins:?}");
    assert_eq!(
        store.get_user("alice").unwrap().unwrap().totp_last_step,
        Some(101)
    );
}

/// One SMS/email code, 32 simultaneous presentations: exactly one `Accepted`.
pub fn thirty_two_threads_presenting_one_oob_code_give_exactly_one_success(store: &dyn Store) {
    open_session(store, "s1", "alice", Method::Sms);
    store.put_oob_code("s1", &h(7), T0 + 300).unwrap();
    let out = race(THREADS, |_| {
        store.consume_oob_code("s1", &h(7), T0 + 1).unwrap()
    });
    assert_eq!(
        out.iter().filter(|o| **o == OobOutcome::Accepted).count(),
        1,
        "{out:?}"
    );
    assert!(
        out.iter()
            .all(|o| matches!(o, OobOutcome::Accepted | OobOutcome::NoMatch))
    );
}

/// 32 threads × 20 failures: the count is exactly 640 and every caller saw a distinct count.
pub fn concurrent_failures_lose_no_increments(store: &dyn Store) {
    const PER_THREAD: usize = 20;
    new_user(store, "alice");
    let seen = race(THREADS, |_| {
        (0..PER_THREAD)
            .map(|_| store.record_failure("alice").unwrap())
            .collect::<Vec<u32>>()
    });
    let total = (THREADS * PER_THREAD) as u32;
    assert_eq!(
        store
            .get_user("alice")
            .unwrap()
            .unwrap()
            .consecutive_failures,
        total
    );
    let mut all: Vec<u32> = seen.into_iter().flatten().collect();
    all.sort_unstable();
    assert_eq!(
        all,
        (1..=total).collect::<Vec<u32>>(),
        "each increment returned once"
    );
}

/// 32 simultaneous invalid attempts with a maximum of 10: counts 1..9 open, the 10th locks,
/// the rest learn it is locked; the session records exactly 10.
pub fn concurrent_invalid_attempts_lock_a_session_exactly_once(store: &dyn Store) {
    open_session(store, "s1", "alice", Method::AuthenticatorApp);
    let out = race(THREADS, |_| {
        store.session_invalid_attempt("s1", Some(10)).unwrap()
    });
    let mut open: Vec<u32> = out
        .iter()
        .filter(|c| !c.locked)
        .map(|c| c.attempts)
        .collect();
    open.sort_unstable();
    assert_eq!(open, (1..=9).collect::<Vec<u32>>());
    assert!(out.iter().filter(|c| c.locked).all(|c| c.attempts == 10));
    let s = store.get_session("s1").unwrap().unwrap();
    assert_eq!(
        (s.invalid_attempts, s.ended),
        (10, Some(SessionEnd::Locked))
    );
}

/// 32 simultaneous resends with a limit of 5: exactly five are counted.
pub fn concurrent_resends_never_exceed_the_limit(store: &dyn Store) {
    open_session(store, "s1", "alice", Method::Sms);
    let out = race(THREADS, |_| store.session_resend("s1", Some(5)).unwrap());
    let mut counted: Vec<u32> = out.iter().flatten().copied().collect();
    counted.sort_unstable();
    assert_eq!(counted, [1, 2, 3, 4, 5]);
    assert_eq!(store.get_session("s1").unwrap().unwrap().resends, 5);
}

/// 32 admins saving from version 0 at once: one wins version 1, the others get `Conflict`.
pub fn concurrent_settings_saves_from_one_version_give_exactly_one_winner(store: &dyn Store) {
    let out = race(THREADS, |i| {
        let s = Settings {
            totp_issuer: format!("issuer {i}"),
            ..Settings::default()
        };
        store.save_settings(&s, 0)
    });
    let winners: Vec<usize> = out
        .iter()
        .enumerate()
        .filter_map(|(i, r)| match r {
            Ok(v) => {
                assert_eq!(*v, 1);
                Some(i)
            }
            Err(Error::Conflict(_)) => None,
            Err(e) => panic!("unexpected error {e}"),
        })
        .collect();
    assert_eq!(winners.len(), 1);
    let v = store.load_settings().unwrap();
    assert_eq!(v.version, 1);
    assert_eq!(v.settings.totp_issuer, format!("issuer {}", winners[0]));
}
