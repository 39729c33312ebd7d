//! The engine's sign-in path on a real SQLite file: challenges, TOTP with replay protection,
//! backup codes, per-session and per-user limits, device recognition, and the audit trail.
//! (SMS and email codes: `engine_oob.rs`.)

mod common;

use common::*;
use twofold_core::Error;
use twofold_core::engine::{SESSION_LOCKED, SignInAttempt, USER_LOCKED};
use twofold_core::proto::{Code, Method, PamReply};
use twofold_core::settings::{Enforcement, MaxInvalidAttempts};
use twofold_core::store::{SessionEnd, Store};
use twofold_core::totp;

#[test]
fn with_the_master_toggle_off_a_sign_in_is_allowed_and_audited() {
    let h = Harness::with(|s| s.enabled = false);
    match h.engine.begin(&attempt("alice")).unwrap() {
        PamReply::Allow { reason } => assert!(reason.contains("master toggle is off"), "{reason}"),
        other => panic!("{other:?}"),
    }
    let ev = h.audit("alice", "auth.decision");
    assert_eq!(ev.len(), 1);
    assert!(ev[0].detail.contains("allow for sshd"), "{}", ev[0].detail);
}

#[test]
fn an_allow_decision_begun_carrying_returns_its_lines_unwritten_until_the_caller_applies_them() {
    let h = Harness::with(|s| s.enabled = false);
    let (reply, carried) = h.engine.begin_carrying(&attempt("alice")).unwrap();
    assert!(matches!(reply, PamReply::Allow { .. }), "{reply:?}");
    assert!(h.audit("alice", "auth.decision").is_empty());
    assert!(!carried.is_empty());
    h.engine.store.apply(&carried).unwrap();
    let ev = h.audit("alice", "auth.decision");
    assert_eq!(ev.len(), 1);
    assert!(ev[0].detail.contains("allow for sshd"), "{}", ev[0].detail);
}

#[test]
fn a_challenge_begun_carrying_carries_nothing_and_is_recorded_as_begin_records_it() {
    let h = Harness::new();
    h.enroll("alice");
    let (reply, carried) = h.engine.begin_carrying(&attempt("alice")).unwrap();
    assert!(matches!(reply, PamReply::Challenge(_)), "{reply:?}");
    assert!(carried.is_empty());
    assert_eq!(h.audit("alice", "auth.decision").len(), 2);
}

#[test]
fn an_enrolled_user_is_challenged_and_the_right_code_is_accepted() {
    let h = Harness::new();
    let (secret, _) = h.enroll("alice");
    let c = h.challenge("alice");
    assert_eq!(c.method, Method::AuthenticatorApp);
    assert_eq!(c.alternatives, vec![Method::BackupCode]);
    assert_eq!(c.attempts_left, Some(3));
    assert_eq!(c.resends_left, None);
    assert!(c.info.unwrap().contains("authenticator app"));
    let r = h.engine.verify(
        &c.session,
        Method::AuthenticatorApp,
        &code_now(&secret, h.now()),
    );
    assert_accepted(r.unwrap(), Method::AuthenticatorApp);
    let s = h.store.get_session(&c.session).unwrap().unwrap();
    assert_eq!(s.ended, Some(SessionEnd::Success));
    let ok = h.audit("alice", "auth.success");
    assert_eq!(ok.len(), 1);
    assert!(ok[0].detail.contains("authenticator_app") && ok[0].detail.contains("192.0.2.7"));
    // A second verify on the finished session is refused.
    let again = h.engine.verify(
        &c.session,
        Method::AuthenticatorApp,
        &code_now(&secret, h.now()),
    );
    assert!(matches!(again, Err(Error::Invalid(_))), "{again:?}");
}

#[test]
fn a_reused_totp_code_is_refused_as_a_replay() {
    //
    let h = Harness::new();
    let (secret, _) = h.enroll("alice");
    let code = code_now(&secret, h.now());
    let c1 = h.challenge("alice");
    assert_accepted(
        h.engine
            .verify(&c1.session, Method::AuthenticatorApp, &code)
            .unwrap(),
        Method::AuthenticatorApp,
    );
    let c2 = h.challenge("alice");
    let (msg, next) = rejected(
        h.engine
            .verify(&c2.session, Method::AuthenticatorApp, &code)
            .unwrap(),
    );
    assert!(msg.contains("already used"), "{msg}");
    assert_eq!(next.attempts_left, Some(2));
    let f = h.audit("alice", "auth.failure");
    assert!(f[0].detail.contains("replayed"), "{}", f[0].detail);
}

#[test]
fn an_earlier_step_is_refused_after_a_later_one_was_accepted() {
    // accept the code of T+1, then the code of T (still inside the window) is refused.
    let h = Harness::new();
    let (secret, _) = h.enroll("alice");
    let now = h.now();
    let c1 = h.challenge("alice");
    let later = code_now(&secret, now + 30);
    assert_accepted(
        h.engine
            .verify(&c1.session, Method::AuthenticatorApp, &later)
            .unwrap(),
        Method::AuthenticatorApp,
    );
    let c2 = h.challenge("alice");
    let (msg, _) = rejected(
        h.engine
            .verify(
                &c2.session,
                Method::AuthenticatorApp,
                &code_now(&secret, now),
            )
            .unwrap(),
    );
    assert!(msg.contains("already used"), "{msg}");
    // The next step after the high-water mark works.
    h.clock.set(now + 60);
    let c3 = h.challenge("alice");
    assert_accepted(
        h.engine
            .verify(
                &c3.session,
                Method::AuthenticatorApp,
                &code_now(&secret, now + 60),
            )
            .unwrap(),
        Method::AuthenticatorApp,
    );
}

#[test]
fn codes_outside_the_window_are_refused_and_window_zero_is_strict() {
    let h = Harness::new();
    let (secret, _) = h.enroll("alice");
    let now = h.now();
    for off in [-2i64, 2] {
        let c = h.challenge("alice");
        let r = h.engine.verify(
            &c.session,
            Method::AuthenticatorApp,
            &code_now(&secret, now + off * 30),
        );
        rejected(r.unwrap());
    }
    h.change(|s| s.totp_window = 0);
    let c = h.challenge("alice");
    rejected(
        h.engine
            .verify(
                &c.session,
                Method::AuthenticatorApp,
                &code_now(&secret, now + 30),
            )
            .unwrap(),
    );
    let c = h.challenge("alice");
    assert_accepted(
        h.engine
            .verify(
                &c.session,
                Method::AuthenticatorApp,
                &code_now(&secret, now),
            )
            .unwrap(),
        Method::AuthenticatorApp,
    );
}

#[test]
fn three_wrong_codes_end_the_session_and_a_new_sign_in_starts_clean() {
    let h = Harness::new();
    let (secret, _) = h.enroll("alice");
    let c = h.challenge("alice");
    let bad = wrong_code(&secret, h.now());
    let (_, n1) = rejected(
        h.engine
            .verify(&c.session, Method::AuthenticatorApp, &bad)
            .unwrap(),
    );
    assert_eq!(n1.attempts_left, Some(2));
    let (_, n2) = rejected(
        h.engine
            .verify(&c.session, Method::AuthenticatorApp, &bad)
            .unwrap(),
    );
    assert_eq!(n2.attempts_left, Some(1));
    let msg = locked(
        h.engine
            .verify(&c.session, Method::AuthenticatorApp, &bad)
            .unwrap(),
    );
    assert_eq!(msg, SESSION_LOCKED);
    assert_eq!(h.audit("alice", "auth.locked").len(), 1);
    assert_eq!(h.audit("alice", "auth.failure").len(), 3);
    // Even the right code is refused in the ended session.
    let msg = locked(
        h.engine
            .verify(
                &c.session,
                Method::AuthenticatorApp,
                &code_now(&secret, h.now()),
            )
            .unwrap(),
    );
    assert_eq!(msg, SESSION_LOCKED);
    // A fresh sign-in starts with a clean per-session count.
    let fresh = h.challenge("alice");
    assert_eq!(fresh.attempts_left, Some(3));
    assert_accepted(
        h.engine
            .verify(
                &fresh.session,
                Method::AuthenticatorApp,
                &code_now(&secret, h.now()),
            )
            .unwrap(),
        Method::AuthenticatorApp,
    );
}

#[test]
fn with_no_limit_the_session_is_not_ended_by_invalid_attempts() {
    let h = Harness::with(|s| s.max_invalid_attempts = MaxInvalidAttempts::NoLimit);
    let (secret, _) = h.enroll("alice");
    let c = h.challenge("alice");
    assert_eq!(c.attempts_left, None);
    let bad = wrong_code(&secret, h.now());
    for _ in 0..12 {
        let (_, next) = rejected(
            h.engine
                .verify(&c.session, Method::AuthenticatorApp, &bad)
                .unwrap(),
        );
        assert_eq!(next.attempts_left, None);
    }
}

#[test]
fn consecutive_failures_across_sessions_lock_the_user_until_an_admin_unlocks() {
    // a new session per guess does not reset the per-user count.
    let h = Harness::with(|s| s.max_consecutive_failures = 5);
    let (secret, _) = h.enroll("alice");
    let bad = wrong_code(&secret, h.now());
    for i in 1..=4 {
        let c = h.challenge("alice");
        let (_, _) = rejected(
            h.engine
                .verify(&c.session, Method::AuthenticatorApp, &bad)
                .unwrap(),
        );
        assert_eq!(
            h.store
                .get_user("alice")
                .unwrap()
                .unwrap()
                .consecutive_failures,
            i
        );
    }
    let c = h.challenge("alice");
    let msg = locked(
        h.engine
            .verify(&c.session, Method::AuthenticatorApp, &bad)
            .unwrap(),
    );
    assert_eq!(msg, USER_LOCKED);
    // Time does not clear it.
    h.clock.advance(30 * 86_400);
    match h.engine.begin(&attempt("alice")).unwrap() {
        PamReply::Deny { reason } => {
            assert!(reason.contains("twofoldctl users unlock"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
    h.engine.unlock("admin:root", "alice").unwrap();
    let ev = h.audit("alice", "user.unlock");
    assert_eq!(ev[0].actor, "admin:root");
    let c = h.challenge("alice");
    assert_accepted(
        h.engine
            .verify(
                &c.session,
                Method::AuthenticatorApp,
                &code_now(&secret, h.now()),
            )
            .unwrap(),
        Method::AuthenticatorApp,
    );
}

#[test]
fn a_correct_code_presented_while_locked_is_burned() {
    // lock alice with a session left open, present the right code, unlock, replay it.
    let h = Harness::with(|s| {
        s.max_consecutive_failures = 2;
        s.max_invalid_attempts = MaxInvalidAttempts::NoLimit;
    });
    let (secret, _) = h.enroll("alice");
    let open = h.challenge("alice");
    let c = h.challenge("alice");
    let bad = wrong_code(&secret, h.now());
    rejected(
        h.engine
            .verify(&c.session, Method::AuthenticatorApp, &bad)
            .unwrap(),
    );
    assert_eq!(
        locked(
            h.engine
                .verify(&c.session, Method::AuthenticatorApp, &bad)
                .unwrap()
        ),
        USER_LOCKED
    );
    let good = code_now(&secret, h.now());
    assert_eq!(
        locked(
            h.engine
                .verify(&open.session, Method::AuthenticatorApp, &good)
                .unwrap()
        ),
        USER_LOCKED
    );
    h.engine.unlock("admin:root", "alice").unwrap();
    let c = h.challenge("alice");
    let (msg, _) = rejected(
        h.engine
            .verify(&c.session, Method::AuthenticatorApp, &good)
            .unwrap(),
    );
    assert!(msg.contains("already used"), "{msg}");
}

#[test]
fn a_success_clears_the_consecutive_failure_count() {
    // 3 failures, 1 success, then cap-1 failures: not locked.
    let h = Harness::with(|s| {
        s.max_consecutive_failures = 4;
        s.max_invalid_attempts = MaxInvalidAttempts::NoLimit;
    });
    let (secret, _) = h.enroll("alice");
    let bad = wrong_code(&secret, h.now());
    let c = h.challenge("alice");
    for _ in 0..3 {
        rejected(
            h.engine
                .verify(&c.session, Method::AuthenticatorApp, &bad)
                .unwrap(),
        );
    }
    assert_accepted(
        h.engine
            .verify(
                &c.session,
                Method::AuthenticatorApp,
                &code_now(&secret, h.now()),
            )
            .unwrap(),
        Method::AuthenticatorApp,
    );
    assert_eq!(
        h.store
            .get_user("alice")
            .unwrap()
            .unwrap()
            .consecutive_failures,
        0
    );
    h.next_step();
    let c = h.challenge("alice");
    let bad = wrong_code(&secret, h.now());
    for _ in 0..3 {
        rejected(
            h.engine
                .verify(&c.session, Method::AuthenticatorApp, &bad)
                .unwrap(),
        );
    }
}

#[test]
fn a_backup_code_works_once_typed_in_any_case_with_or_without_dashes() {
    //
    let h = Harness::new();
    let (_, codes) = h.enroll("alice");
    assert_eq!(codes.len(), 10);
    let typed = codes[0].to_uppercase().replace('-', " ");
    let c = h.challenge("alice");
    assert_accepted(
        h.engine
            .verify(&c.session, Method::BackupCode, &Code::new(typed))
            .unwrap(),
        Method::BackupCode,
    );
    assert_eq!(h.store.backup_codes_left("alice").unwrap(), 9);
    let c = h.challenge("alice");
    let (msg, _) = rejected(
        h.engine
            .verify(&c.session, Method::BackupCode, &Code::new(codes[0].clone()))
            .unwrap(),
    );
    assert!(msg.contains("already used"), "{msg}");
}

#[test]
fn a_backup_code_of_another_user_is_refused() {
    let h = Harness::new();
    let (_, alice_codes) = h.enroll("alice");
    h.enroll("bob");
    let c = h.challenge("bob");
    rejected(
        h.engine
            .verify(
                &c.session,
                Method::BackupCode,
                &Code::new(alice_codes[0].clone()),
            )
            .unwrap(),
    );
    assert_eq!(h.store.backup_codes_left("alice").unwrap(), 10);
}

#[test]
fn a_totp_code_in_the_backup_field_and_garbage_count_as_one_failure_each() {
    let h = Harness::new();
    let (secret, _) = h.enroll("alice");
    let c = h.challenge("alice");
    let (m1, _) = rejected(
        h.engine
            .verify(&c.session, Method::BackupCode, &code_now(&secret, h.now()))
            .unwrap(),
    );
    assert!(m1.contains("not a backup code"), "{m1}");
    let (m2, next) = rejected(
        h.engine
            .verify(
                &c.session,
                Method::AuthenticatorApp,
                &Code::new("12345\u{0}"),
            )
            .unwrap(),
    );
    assert!(m2.contains("6-digit"), "{m2}");
    assert_eq!(next.attempts_left, Some(1));
    // The right TOTP code still works: the misplaced one was not burned.
    assert_accepted(
        h.engine
            .verify(
                &c.session,
                Method::AuthenticatorApp,
                &code_now(&secret, h.now()),
            )
            .unwrap(),
        Method::AuthenticatorApp,
    );
}

#[test]
fn a_method_that_is_not_offered_is_refused_without_counting() {
    let h = Harness::new();
    let (_, _) = h.enroll("alice");
    let c = h.challenge("alice");
    let r = h
        .engine
        .verify(&c.session, Method::Sms, &Code::new("123456"));
    assert!(
        matches!(&r, Err(Error::Invalid(m)) if m.contains("not offered")),
        "{r:?}"
    );
    assert_eq!(
        h.store
            .get_session(&c.session)
            .unwrap()
            .unwrap()
            .invalid_attempts,
        0
    );
}

#[test]
fn unknown_and_expired_sessions_are_refused() {
    let h = Harness::new();
    let (secret, _) = h.enroll("alice");
    let r = h
        .engine
        .verify("00ff", Method::AuthenticatorApp, &Code::new("123456"));
    assert!(matches!(r, Err(Error::Invalid(_))), "{r:?}");
    let c = h.challenge("alice");
    h.clock.advance(601);
    let msg = locked(
        h.engine
            .verify(
                &c.session,
                Method::AuthenticatorApp,
                &code_now(&secret, h.now()),
            )
            .unwrap(),
    );
    assert!(msg.contains("expired"), "{msg}");
    assert_eq!(
        h.store.get_session(&c.session).unwrap().unwrap().ended,
        Some(SessionEnd::Abandoned)
    );
}

#[test]
fn a_bad_user_name_is_refused_before_anything_is_stored() {
    let h = Harness::new();
    for bad in [
        "",
        "alice bob",
        "../etc/passwd",
        "-alice",
        "a:b",
        "x\u{0}y",
        &"a".repeat(300),
    ] {
        let r = h.engine.begin(&attempt(bad));
        assert!(matches!(r, Err(Error::Invalid(_))), "{bad:?}: {r:?}");
    }
    assert!(h.store.list_users(None).unwrap().is_empty());
}

#[test]
fn unrecognized_devices_mode_skips_for_a_remembered_device_or_a_known_address() {
    let h = Harness::with(|s| s.enforcement = Enforcement::UnrecognizedDevices);
    let (secret, _) = h.enroll("alice");
    // Enrollment was a completed second factor from 192.0.2.7: that address is now known.
    match h.engine.begin(&attempt("alice")).unwrap() {
        PamReply::Allow { reason } => assert!(reason.contains("192.0.2.7"), "{reason}"),
        other => panic!("{other:?}"),
    }
    // Another address is challenged.
    let mut other = attempt("alice");
    other.rhost = Some("198.51.100.9".into());
    let c = challenge_of(h.engine.begin(&other).unwrap());
    assert_accepted(
        h.engine
            .verify(
                &c.session,
                Method::AuthenticatorApp,
                &code_now(&secret, h.now()),
            )
            .unwrap(),
        Method::AuthenticatorApp,
    );
    // A remembered device is recognized from any address, and only for its user.
    let token = h.engine.remember_device("alice").unwrap();
    let web = SignInAttempt {
        user: "alice".into(),
        service: "oidc:wiki".into(),
        rhost: Some("203.0.113.5".into()),
        roles: vec![],
        look_up_roles: false,
        device_token: Some(token.clone()),
    };
    match h.engine.begin(&web).unwrap() {
        PamReply::Allow { reason } => assert!(reason.contains("device cookie"), "{reason}"),
        other => panic!("{other:?}"),
    }
    h.enroll("bob");
    let mut stolen = web.clone();
    stolen.user = "bob".into();
    challenge_of(h.engine.begin(&stolen).unwrap());
    // After remember_days the device and the address are no longer recognized.
    h.clock.advance(31 * 86_400);
    challenge_of(h.engine.begin(&web).unwrap());
    challenge_of(h.engine.begin(&attempt("alice")).unwrap());
}

#[test]
fn every_login_ignores_recognition() {
    let h = Harness::new();
    h.enroll("alice");
    let token = h.engine.remember_device("alice").unwrap();
    let mut a = attempt("alice");
    a.device_token = Some(token);
    challenge_of(h.engine.begin(&a).unwrap());
}

#[test]
fn failures_are_audited_with_the_reason_but_never_the_code() {
    let h = Harness::new();
    let (secret, codes) = h.enroll("alice");
    let c = h.challenge("alice");
    let bad = wrong_code(&secret, h.now());
    rejected(
        h.engine
            .verify(&c.session, Method::AuthenticatorApp, &bad)
            .unwrap(),
    );
    let f = &h.audit("alice", "auth.failure")[0];
    assert!(
        f.detail.contains("wrong authenticator code")
            && f.detail.contains("invalid attempt 1 of 3"),
        "{}",
        f.detail
    );
    assert_eq!(f.outcome, "refused");
    for e in h.all_audit() {
        assert!(!e.detail.contains(bad.expose()), "{}", e.detail);
        for c in &codes {
            assert!(!e.detail.contains(c.as_str()), "{}", e.detail);
        }
        assert!(!e.detail.contains(&secret.to_base32()));
    }
    let recent = h.store.recent_signins("alice", 5).unwrap();
    assert_eq!(recent[0].outcome, "failure");
}

#[test]
fn decide_for_explains_without_changing_anything() {
    let h = Harness::new();
    let d = h.engine.decide_for(&attempt("carol")).unwrap();
    assert_eq!(d.kind(), "enroll");
    assert!(h.store.get_user("carol").unwrap().is_none());
    assert!(h.all_audit().is_empty());
    let _ = totp::PERIOD;
}
