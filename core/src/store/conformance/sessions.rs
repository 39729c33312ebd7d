//! Conformance cases: verification sessions (attempts, lockout, resends) and out-of-band codes.

use super::{T0, h, open_session, session};
use crate::error::Error;
use crate::proto::Method;
use crate::store::{AttemptCount, OobOutcome, SessionEnd, Store};

/// A stored session reads back field for field; a duplicate id is a conflict.
pub fn a_session_round_trips(store: &dyn Store) {
    open_session(store, "s1", "alice", Method::AuthenticatorApp);
    assert_eq!(
        store.get_session("s1").unwrap(),
        Some(session("s1", "alice", Method::AuthenticatorApp))
    );
    let mut s2 = session("s2", "alice", Method::Email);
    s2.rhost = None;
    s2.service = "oidc:wiki".into();
    store.create_session(&s2).unwrap();
    assert_eq!(store.get_session("s2").unwrap(), Some(s2));
    assert!(store.get_session("nope").unwrap().is_none());
    assert!(matches!(
        store.create_session(&session("s1", "alice", Method::Sms)),
        Err(Error::Conflict(_))
    ));
    assert_eq!(
        store.get_session("s1").unwrap().unwrap().method,
        Method::AuthenticatorApp
    );
}

/// With a maximum of 3 the third invalid attempt locks the session (the guide's lockout).
pub fn invalid_attempts_lock_the_session_at_the_maximum(store: &dyn Store) {
    open_session(store, "s1", "alice", Method::AuthenticatorApp);
    let a = |n, locked| AttemptCount {
        attempts: n,
        locked,
    };
    assert_eq!(
        store.session_invalid_attempt("s1", Some(3)).unwrap(),
        a(1, false)
    );
    assert_eq!(
        store.session_invalid_attempt("s1", Some(3)).unwrap(),
        a(2, false)
    );
    assert_eq!(
        store.session_invalid_attempt("s1", Some(3)).unwrap(),
        a(3, true)
    );
    let s = store.get_session("s1").unwrap().unwrap();
    assert_eq!(s.ended, Some(SessionEnd::Locked));
    assert_eq!(s.invalid_attempts, 3);
    assert!(!store.end_session("s1", SessionEnd::Success).unwrap());
}

/// `None` (no limit) counts every attempt and never locks.
pub fn without_a_limit_invalid_attempts_never_lock(store: &dyn Store) {
    open_session(store, "s1", "alice", Method::AuthenticatorApp);
    for n in 1..=25 {
        let c = store.session_invalid_attempt("s1", None).unwrap();
        assert_eq!(
            c,
            AttemptCount {
                attempts: n,
                locked: false
            }
        );
    }
    assert_eq!(store.get_session("s1").unwrap().unwrap().ended, None);
}

/// A fresh sign-in opens a new session whose counters start at zero.
pub fn a_new_session_starts_with_clean_counters(store: &dyn Store) {
    open_session(store, "s1", "alice", Method::Sms);
    for _ in 0..3 {
        store.session_invalid_attempt("s1", Some(3)).unwrap();
    }
    store.session_resend("s1", Some(3)).ok();
    open_session(store, "s2", "alice", Method::Sms);
    let s2 = store.get_session("s2").unwrap().unwrap();
    assert_eq!((s2.invalid_attempts, s2.resends, s2.ended), (0, 0, None));
    assert_eq!(
        store.session_invalid_attempt("s2", Some(3)).unwrap(),
        AttemptCount {
            attempts: 1,
            locked: false
        }
    );
}

/// A locked session stays locked: a further attempt says so and is not counted.
pub fn an_attempt_on_a_locked_session_reports_locked_without_counting(store: &dyn Store) {
    open_session(store, "s1", "alice", Method::AuthenticatorApp);
    for _ in 0..3 {
        store.session_invalid_attempt("s1", Some(3)).unwrap();
    }
    let c = store.session_invalid_attempt("s1", Some(3)).unwrap();
    assert_eq!(
        c,
        AttemptCount {
            attempts: 3,
            locked: true
        }
    );
    assert_eq!(
        store.get_session("s1").unwrap().unwrap().invalid_attempts,
        3
    );
}

/// A session that ended otherwise refuses further attempts, resends and method changes.
pub fn an_attempt_on_a_finished_session_is_refused(store: &dyn Store) {
    open_session(store, "s1", "alice", Method::Sms);
    assert!(store.end_session("s1", SessionEnd::Success).unwrap());
    assert!(matches!(
        store.session_invalid_attempt("s1", Some(3)),
        Err(Error::Conflict(_))
    ));
    assert!(matches!(
        store.session_resend("s1", Some(3)),
        Err(Error::Conflict(_))
    ));
    assert!(matches!(
        store.session_set_method("s1", Method::Email),
        Err(Error::Conflict(_))
    ));
    let s = store.get_session("s1").unwrap().unwrap();
    assert_eq!(
        (s.invalid_attempts, s.resends, s.method),
        (0, 0, Method::Sms)
    );
}

/// Resends count up to the limit; the next one is `None` and not counted.
pub fn resends_stop_at_the_limit(store: &dyn Store) {
    open_session(store, "s1", "alice", Method::Sms);
    assert_eq!(store.session_resend("s1", Some(3)).unwrap(), Some(1));
    assert_eq!(store.session_resend("s1", Some(3)).unwrap(), Some(2));
    assert_eq!(store.session_resend("s1", Some(3)).unwrap(), Some(3));
    assert_eq!(store.session_resend("s1", Some(3)).unwrap(), None);
    assert_eq!(store.session_resend("s1", Some(3)).unwrap(), None);
    assert_eq!(store.get_session("s1").unwrap().unwrap().resends, 3);
}

/// With no limit resends keep counting.
pub fn without_a_limit_resends_never_stop(store: &dyn Store) {
    open_session(store, "s1", "alice", Method::Email);
    for n in 1..=12 {
        assert_eq!(store.session_resend("s1", None).unwrap(), Some(n));
    }
}

/// The first `end_session` ends it and records how; later calls report `false`.
pub fn a_session_ends_only_once(store: &dyn Store) {
    open_session(store, "s1", "alice", Method::AuthenticatorApp);
    assert!(store.end_session("s1", SessionEnd::Abandoned).unwrap());
    assert!(!store.end_session("s1", SessionEnd::Success).unwrap());
    assert_eq!(
        store.get_session("s1").unwrap().unwrap().ended,
        Some(SessionEnd::Abandoned)
    );
    assert!(!store.end_session("nope", SessionEnd::Success).unwrap());
}

/// The method asked for can change while the session is open.
pub fn the_method_of_an_open_session_can_change(store: &dyn Store) {
    open_session(store, "s1", "alice", Method::AuthenticatorApp);
    store.session_set_method("s1", Method::BackupCode).unwrap();
    assert_eq!(
        store.get_session("s1").unwrap().unwrap().method,
        Method::BackupCode
    );
}

/// Counting, resending, switching or putting a code on an unknown session is `NotFound`.
pub fn operations_on_an_unknown_session_are_not_found(store: &dyn Store) {
    let nf = |r: crate::Result<()>, what: &str| {
        assert!(matches!(r, Err(Error::NotFound(_))), "{what}: {r:?}");
    };
    nf(
        store.session_invalid_attempt("nope", Some(3)).map(|_| ()),
        "attempt",
    );
    nf(store.session_resend("nope", Some(3)).map(|_| ()), "resend");
    nf(store.session_set_method("nope", Method::Sms), "set_method");
    nf(store.put_oob_code("nope", &h(1), T0 + 300), "put_oob_code");
    assert_eq!(
        store.consume_oob_code("nope", &h(1), T0).unwrap(),
        OobOutcome::NoMatch
    );
}

/// The right unexpired code is accepted once; a wrong code does not match.
pub fn an_oob_code_is_accepted_once(store: &dyn Store) {
    open_session(store, "s1", "alice", Method::Sms);
    store.put_oob_code("s1", &h(1), T0 + 300).unwrap();
    assert_eq!(
        store.consume_oob_code("s1", &h(2), T0 + 10).unwrap(),
        OobOutcome::NoMatch
    );
    assert_eq!(
        store.consume_oob_code("s1", &h(1), T0 + 10).unwrap(),
        OobOutcome::Accepted
    );
    assert_eq!(
        store.consume_oob_code("s1", &h(1), T0 + 11).unwrap(),
        OobOutcome::NoMatch
    );
}

/// At and after `expires_at` the code is `Expired`, and it is not consumed by trying.
pub fn an_expired_oob_code_is_reported_expired_and_stays_unused(store: &dyn Store) {
    open_session(store, "s1", "alice", Method::Email);
    store.put_oob_code("s1", &h(1), T0 + 300).unwrap();
    assert_eq!(
        store.consume_oob_code("s1", &h(1), T0 + 300).unwrap(),
        OobOutcome::Expired
    );
    assert_eq!(
        store.consume_oob_code("s1", &h(1), T0 + 301).unwrap(),
        OobOutcome::Expired
    );
    assert_eq!(
        store.consume_oob_code("s1", &h(2), T0 + 301).unwrap(),
        OobOutcome::NoMatch
    );
    // The second before expiry it still works (time passed in, not read).
    assert_eq!(
        store.consume_oob_code("s1", &h(1), T0 + 299).unwrap(),
        OobOutcome::Accepted
    );
}

/// One live code per session: a new code (a resend) makes the earlier one useless.
pub fn a_new_oob_code_replaces_the_earlier_one(store: &dyn Store) {
    open_session(store, "s1", "alice", Method::Sms);
    store.put_oob_code("s1", &h(1), T0 + 300).unwrap();
    store.put_oob_code("s1", &h(2), T0 + 400).unwrap();
    assert_eq!(
        store.consume_oob_code("s1", &h(1), T0 + 10).unwrap(),
        OobOutcome::NoMatch
    );
    assert_eq!(
        store.consume_oob_code("s1", &h(2), T0 + 350).unwrap(),
        OobOutcome::Accepted
    );
    // A new code after a consumed one is live again.
    store.put_oob_code("s1", &h(3), T0 + 400).unwrap();
    assert_eq!(
        store.consume_oob_code("s1", &h(3), T0 + 360).unwrap(),
        OobOutcome::Accepted
    );
}

/// A locked (or otherwise ended) session's code is no longer accepted.
pub fn an_oob_code_of_an_ended_session_is_refused(store: &dyn Store) {
    open_session(store, "s1", "alice", Method::Sms);
    store.put_oob_code("s1", &h(1), T0 + 300).unwrap();
    for _ in 0..3 {
        store.session_invalid_attempt("s1", Some(3)).unwrap();
    }
    assert_eq!(
        store.consume_oob_code("s1", &h(1), T0 + 10).unwrap(),
        OobOutcome::NoMatch
    );
}

/// A code cannot be put on an ended session, nor codes of one session used in another.
pub fn an_oob_code_needs_an_open_session(store: &dyn Store) {
    open_session(store, "s1", "alice", Method::Sms);
    open_session(store, "s2", "alice", Method::Sms);
    store.put_oob_code("s1", &h(1), T0 + 300).unwrap();
    assert_eq!(
        store.consume_oob_code("s2", &h(1), T0 + 10).unwrap(),
        OobOutcome::NoMatch
    );
    store.end_session("s2", SessionEnd::Abandoned).unwrap();
    assert!(matches!(
        store.put_oob_code("s2", &h(2), T0 + 300),
        Err(Error::Conflict(_))
    ));
    assert_eq!(
        store.consume_oob_code("s1", &h(1), T0 + 10).unwrap(),
        OobOutcome::Accepted
    );
}
