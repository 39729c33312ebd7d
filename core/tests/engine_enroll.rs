//! Enrollment through the engine on a real SQLite file: a pending secret, confirmation with the
//! first code, backup codes shown once, replacing a pending secret, and skipping when optional.

mod common;

use common::*;
use twofold_core::Error;
use twofold_core::proto::{Code, Method, PamReply};
use twofold_core::settings::EnrollmentPolicy;
use twofold_core::store::{EnrollmentStatus, SessionEnd, Store};

fn enroll_session(h: &Harness, user: &str) -> (String, bool) {
    match h.engine.begin(&attempt(user)).unwrap() {
        PamReply::Enroll(o) => (o.session, o.required),
        other => panic!("expected an enrollment offer, got {other:?}"),
    }
}

fn start(h: &Harness, session: &str) -> twofold_core::proto::EnrollSecret {
    match h.engine.enroll_start(session).unwrap() {
        PamReply::EnrollSecret(e) => e,
        other => panic!("expected a secret, got {other:?}"),
    }
}

#[test]
fn required_enrollment_issues_a_pending_secret_then_confirms_with_backup_codes() {
    let h = Harness::with(|s| s.totp_issuer = "Example IT".into());
    let (session, required) = enroll_session(&h, "alice");
    assert!(required);
    let e = start(&h, &session);
    assert!(
        e.otpauth_uri
            .starts_with("otpauth://totp/Example%20IT:alice?secret="),
        "{}",
        e.otpauth_uri
    );
    assert!(
        e.otpauth_uri
            .ends_with("&issuer=Example%20IT&algorithm=SHA1&digits=6&period=30")
    );
    assert_eq!(e.text_key.split(' ').count(), 8, "{}", e.text_key);
    assert!(e.qr_terminal.contains('\u{2588}'));
    assert!(!format!("{e:?}").contains(&e.text_key));
    let secret = secret_of(&e.otpauth_uri);
    let u = h.store.get_user("alice").unwrap().unwrap();
    assert_eq!(u.status, EnrollmentStatus::Pending);
    let blob = u.totp_secret.unwrap();
    assert!(
        !blob.windows(20).any(|w| w == secret.expose()),
        "stored in clear"
    );
    let code = code_now(&secret, h.now());
    let codes = match h.engine.enroll_confirm(&session, &code).unwrap() {
        PamReply::Enrolled { backup_codes } => backup_codes,
        other => panic!("{other:?}"),
    };
    assert_eq!(codes.len(), 10);
    let u = h.store.get_user("alice").unwrap().unwrap();
    assert_eq!(u.status, EnrollmentStatus::Enrolled);
    assert_eq!(
        u.totp_last_step,
        Some(h.now() / 30),
        "the confirming step is the high-water mark"
    );
    assert_eq!(h.store.backup_codes_left("alice").unwrap(), 10);
    assert_eq!(
        h.store.get_session(&session).unwrap().unwrap().ended,
        Some(SessionEnd::Success)
    );
    assert_eq!(h.audit("alice", "enroll.confirm").len(), 1);
    // The confirming code cannot be used to sign in.
    let c = h.challenge("alice");
    rejected(
        h.engine
            .verify(&c.session, Method::AuthenticatorApp, &code)
            .unwrap(),
    );
    // Neither the secret nor a code is in the database file or its WAL.
    let b32 = secret.to_base32();
    for f in std::fs::read_dir(h.dir.path()).unwrap() {
        let bytes = std::fs::read(f.unwrap().path()).unwrap();
        assert!(!bytes.windows(b32.len()).any(|w| w == b32.as_bytes()));
        assert!(!bytes.windows(20).any(|w| w == secret.expose()));
        for c in &codes {
            let canon = c.replace('-', "");
            assert!(!bytes.windows(12).any(|w| w == canon.as_bytes()));
        }
    }
}

#[test]
fn a_wrong_enrollment_code_counts_like_a_wrong_code_and_keeps_the_user_pending() {
    let h = Harness::new();
    let (session, _) = enroll_session(&h, "alice");
    let secret = secret_of(&start(&h, &session).otpauth_uri);
    let bad = wrong_code(&secret, h.now());
    let (msg, c) = rejected(h.engine.enroll_confirm(&session, &bad).unwrap());
    assert!(msg.contains("does not match"), "{msg}");
    assert_eq!(c.attempts_left, Some(2));
    assert!(c.alternatives.is_empty());
    let (msg, _) = rejected(
        h.engine
            .enroll_confirm(&session, &Code::new("12 34"))
            .unwrap(),
    );
    assert!(msg.contains("6-digit"), "{msg}");
    assert!(!locked(h.engine.enroll_confirm(&session, &bad).unwrap()).is_empty());
    let u = h.store.get_user("alice").unwrap().unwrap();
    assert_eq!(
        (u.status, u.consecutive_failures),
        (EnrollmentStatus::Pending, 3)
    );
    // The ended session cannot confirm even with the right code.
    let r = h
        .engine
        .enroll_confirm(&session, &code_now(&secret, h.now()));
    assert!(matches!(r, Ok(PamReply::Locked { .. })), "{r:?}");
}

#[test]
fn starting_again_replaces_the_pending_secret() {
    let h = Harness::new();
    let (session, _) = enroll_session(&h, "alice");
    let first = secret_of(&start(&h, &session).otpauth_uri);
    let second = secret_of(&start(&h, &session).otpauth_uri);
    assert_ne!(first, second);
    rejected(
        h.engine
            .enroll_confirm(&session, &code_now(&first, h.now()))
            .unwrap(),
    );
    let r = h
        .engine
        .enroll_confirm(&session, &code_now(&second, h.now()))
        .unwrap();
    assert!(matches!(r, PamReply::Enrolled { .. }), "{r:?}");
    assert!(
        h.audit("alice", "enroll.start")[0]
            .detail
            .contains("replaced")
    );
}

#[test]
fn a_pending_user_is_offered_enrollment_again_at_the_next_sign_in() {
    let h = Harness::new();
    let (session, _) = enroll_session(&h, "alice");
    start(&h, &session);
    let (again, _) = enroll_session(&h, "alice");
    assert_ne!(again, session);
}

#[test]
fn codes_and_switches_are_refused_while_a_session_waits_for_enrollment() {
    let h = Harness::new();
    let (session, _) = enroll_session(&h, "alice");
    let r = h
        .engine
        .verify(&session, Method::AuthenticatorApp, &Code::new("123456"));
    assert!(matches!(r, Err(Error::Invalid(_))), "{r:?}");
    let r = h.engine.switch(&session, Method::BackupCode);
    assert!(matches!(r, Err(Error::Invalid(_))), "{r:?}");
    let r = h.engine.enroll_confirm(&session, &Code::new("123456"));
    assert!(
        matches!(&r, Err(Error::Invalid(m)) if m.contains("start enrollment first")),
        "{r:?}"
    );
}

#[test]
fn required_enrollment_cannot_be_skipped() {
    let h = Harness::new();
    let (session, _) = enroll_session(&h, "alice");
    let r = h.engine.enroll_skip(&session);
    assert!(
        matches!(&r, Err(Error::Invalid(m)) if m.contains("cannot be skipped")),
        "{r:?}"
    );
}

#[test]
fn optional_enrollment_skipped_without_other_methods_allows_the_sign_in() {
    let h = Harness::with(|s| s.authenticator_enrollment = EnrollmentPolicy::Optional);
    let (session, required) = enroll_session(&h, "alice");
    assert!(!required);
    match h.engine.enroll_skip(&session).unwrap() {
        PamReply::Allow { reason } => assert!(reason.contains("skipped"), "{reason}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(h.audit("alice", "enroll.skip").len(), 1);
    assert_eq!(
        h.store.get_user("alice").unwrap().unwrap().status,
        EnrollmentStatus::NotEnrolled
    );
}

#[test]
fn optional_enrollment_skipped_goes_on_with_an_email_code() {
    let h = Harness::with(|s| {
        s.authenticator_enrollment = EnrollmentPolicy::Optional;
        s.methods.email = true;
    });
    h.engine
        .set_email("admin:root", "alice", "alice@example.com")
        .unwrap();
    let (session, _) = enroll_session(&h, "alice");
    let c = challenge_of(h.engine.enroll_skip(&session).unwrap());
    assert_eq!(c.method, Method::Email);
    assert!(c.info.unwrap().contains("a***@example.com"));
    let code = Code::new(h.outbox.last().code);
    assert_accepted(
        h.engine.verify(&c.session, Method::Email, &code).unwrap(),
        Method::Email,
    );
}

#[test]
fn an_enrolled_user_cannot_start_enrollment_in_a_challenge_session() {
    let h = Harness::new();
    h.enroll("alice");
    let c = h.challenge("alice");
    let r = h.engine.enroll_start(&c.session);
    assert!(matches!(r, Err(Error::Invalid(_))), "{r:?}");
}
