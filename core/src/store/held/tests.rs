//! Unit tests of the session map; the whole wrapper runs the store conformance suite in
//! `core/tests/store_held.rs` and the PAM tests through the daemon.

use super::book::Book;
use crate::proto::Method;
use crate::store::{AttemptCount, OobOutcome, SessionEnd, VerificationSession, Write};

fn session(id: &str, at: i64) -> VerificationSession {
    VerificationSession {
        id: id.into(),
        user: "alice".into(),
        service: "sshd".into(),
        rhost: None,
        method: Method::Sms,
        invalid_attempts: 0,
        resends: 0,
        created_at: at,
        expires_at: at + 600,
        ended: None,
    }
}

fn line(n: i64) -> Write {
    Write::Audit(crate::store::AuditEvent {
        at: n,
        actor: "alice".into(),
        event: "auth.decision".into(),
        user: Some("alice".into()),
        outcome: "ok".into(),
        detail: format!("line {n}"),
    })
}

#[test]
fn the_third_wrong_code_of_three_locks_the_session() {
    let mut b = Book::default();
    b.apply(&[Write::CreateSession(session("s1", 1000))], vec![]);
    for n in 1..=3 {
        let a = b.next_attempt("s1", Some(3)).unwrap();
        assert_eq!(
            a,
            AttemptCount {
                attempts: n,
                locked: n == 3
            }
        );
        b.count_attempt("s1", &a);
    }
    assert_eq!(b.session("s1").unwrap().ended, Some(SessionEnd::Locked));
    // A racing attempt learns that it is locked; nothing moves.
    let again = b.next_attempt("s1", Some(3)).unwrap();
    assert!(again.locked && again.attempts == 3);
}

#[test]
fn an_sms_code_is_accepted_once_and_not_after_it_expires() {
    let mut b = Book::default();
    let put = |h: u8, exp: i64| Write::PutOobCode {
        session: "s1".into(),
        hash: [h; 32],
        expires_at: exp,
    };
    b.apply(
        &[Write::CreateSession(session("s1", 1000)), put(7, 1300)],
        vec![],
    );
    assert_eq!(b.check_oob("s1", &[8; 32], 1001), OobOutcome::NoMatch);
    assert_eq!(b.check_oob("s1", &[7; 32], 1300), OobOutcome::Expired);
    assert_eq!(b.check_oob("s1", &[7; 32], 1001), OobOutcome::Accepted);
    b.use_oob("s1");
    assert_eq!(b.check_oob("s1", &[7; 32], 1001), OobOutcome::NoMatch);
}

#[test]
fn a_resend_limit_of_two_allows_two_resends() {
    let mut b = Book::default();
    b.apply(&[Write::CreateSession(session("s1", 1000))], vec![]);
    assert_eq!(b.resend("s1", Some(2)).unwrap(), Some(1));
    assert_eq!(b.resend("s1", Some(2)).unwrap(), Some(2));
    assert_eq!(b.resend("s1", Some(2)).unwrap(), None);
    b.end("s1", SessionEnd::Success);
    assert!(
        b.resend("s1", Some(2)).is_err(),
        "an ended session sends nothing"
    );
}

#[test]
fn an_abandoned_session_gives_back_its_decision_lines_when_it_expires() {
    let mut b = Book::default();
    b.apply(
        &[Write::CreateSession(session("s1", 1000))],
        vec![line(1), line(2)],
    );
    assert!(b.sweep(1100).is_empty(), "still alive");
    assert_eq!(b.sweep(1600), vec![line(1), line(2)]);
    assert!(!b.holds("s1"));
}

#[test]
fn session_writes_on_an_ended_session_are_refused_before_anything_changes() {
    let mut b = Book::default();
    b.apply(&[Write::CreateSession(session("s1", 1000))], vec![]);
    b.end("s1", SessionEnd::Locked);
    let set = Write::SessionSetMethod {
        id: "s1".into(),
        method: Method::Email,
    };
    let e = b.check(&[set]).unwrap_err();
    assert!(e.to_string().contains("locked"), "{e}");
    let dup = b
        .check(&[Write::CreateSession(session("s1", 1001))])
        .unwrap_err();
    assert!(matches!(dup, crate::Error::Conflict(_)), "{dup}");
}
