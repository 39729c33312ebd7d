//! The engine's SMS and email path on a real SQLite file: codes sent through delivery, single
//! use, expiry, binding to the session, resends and their limit, switching methods.

mod common;

use common::*;
use twofold_core::Error;
use twofold_core::engine::USER_LOCKED;
use twofold_core::proto::{Code, Method};
use twofold_core::settings::{MaxInvalidAttempts, ResendLimit};
use twofold_core::store::Store;

fn sms_harness() -> Harness {
    let h = Harness::with(|s| {
        s.methods.sms = true;
        s.methods.email = true;
        s.sms_provider = Some("twilio".into());
    });
    h.enroll("alice");
    h.engine
        .set_phone("admin:root", "alice", "+1 415 555 0100")
        .unwrap();
    h.engine
        .set_email("admin:root", "alice", "alice@Example.COM")
        .unwrap();
    h.engine
        .set_default_method("admin:root", "alice", Method::Sms)
        .unwrap();
    h
}

#[test]
fn an_sms_challenge_sends_a_code_that_works_once() {
    //
    let h = sms_harness();
    let c = h.challenge("alice");
    assert_eq!(c.method, Method::Sms);
    assert_eq!(
        c.info.as_deref(),
        Some("A code was sent to +1 *** *** 0100. It expires in 5 minutes.")
    );
    assert_eq!(c.resends_left, Some(3));
    let sent = h.outbox.last();
    assert_eq!(
        (sent.method, sent.destination.as_str()),
        (Method::Sms, "+14155550100")
    );
    assert_eq!(sent.code.len(), 6);
    assert_eq!(sent.expires_at, h.now() + 300);
    let code = Code::new(sent.code.clone());
    assert_accepted(
        h.engine.verify(&c.session, Method::Sms, &code).unwrap(),
        Method::Sms,
    );
    // The code is never in the audit trail.
    assert!(h.all_audit().iter().all(|e| !e.detail.contains(&sent.code)));
}

#[test]
fn an_expired_sms_code_is_refused_with_a_message_saying_so() {
    // valid at +299 s, refused at +300 s.
    let h = sms_harness();
    let c = h.challenge("alice");
    let code = Code::new(h.outbox.last().code);
    h.clock.advance(300);
    let (msg, _) = rejected(h.engine.verify(&c.session, Method::Sms, &code).unwrap());
    assert!(msg.contains("expired"), "{msg}");
    let c = h.challenge("alice");
    let code = Code::new(h.outbox.last().code);
    h.clock.advance(299);
    assert_accepted(
        h.engine.verify(&c.session, Method::Sms, &code).unwrap(),
        Method::Sms,
    );
}

#[test]
fn an_sms_code_is_bound_to_its_own_session() {
    //
    let h = sms_harness();
    let a = h.challenge("alice");
    let code_a = Code::new(h.outbox.last().code);
    let b = h.challenge("alice");
    rejected(h.engine.verify(&b.session, Method::Sms, &code_a).unwrap());
    assert_accepted(
        h.engine.verify(&a.session, Method::Sms, &code_a).unwrap(),
        Method::Sms,
    );
}

#[test]
fn a_resend_replaces_the_code_and_stops_at_the_limit() {
    // R-24 (a new code invalidates the old one) and the resend limit.
    let h = sms_harness();
    let c = h.challenge("alice");
    let first = Code::new(h.outbox.last().code);
    for left in [2, 1, 0] {
        let next = challenge_of(h.engine.switch(&c.session, Method::Sms).unwrap());
        assert_eq!(next.resends_left, Some(left));
    }
    assert_eq!(h.outbox.count(), 4);
    let (msg, _) = rejected(h.engine.switch(&c.session, Method::Sms).unwrap());
    assert!(msg.contains("resend limit 3"), "{msg}");
    assert_eq!(h.outbox.count(), 4, "nothing sent past the limit");
    let refused = h.audit("alice", "auth.resend");
    assert_eq!(refused[0].outcome, "refused");
    let (m, _) = rejected(h.engine.verify(&c.session, Method::Sms, &first).unwrap());
    assert!(m.contains("not valid"), "{m}");
    assert_accepted(
        h.engine
            .verify(&c.session, Method::Sms, &Code::new(h.outbox.last().code))
            .unwrap(),
        Method::Sms,
    );
}

#[test]
fn switching_to_email_sends_a_code_there_and_counts_as_a_resend() {
    let h = sms_harness();
    h.change(|s| s.resend_limit = ResendLimit::Five);
    let c = h.challenge("alice");
    assert!(
        c.alternatives.contains(&Method::Email)
            && c.alternatives.contains(&Method::AuthenticatorApp)
    );
    let e = challenge_of(h.engine.switch(&c.session, Method::Email).unwrap());
    assert_eq!(e.method, Method::Email);
    assert_eq!(e.resends_left, Some(4));
    assert_eq!(
        e.info.as_deref(),
        Some("A code was sent to a***@example.com. It expires in 5 minutes.")
    );
    let sent = h.outbox.last();
    assert_eq!(
        (sent.method, sent.destination.as_str()),
        (Method::Email, "alice@example.com")
    );
    assert_accepted(
        h.engine
            .verify(&c.session, Method::Email, &Code::new(sent.code))
            .unwrap(),
        Method::Email,
    );
}

#[test]
fn with_fallback_off_switching_is_refused_and_no_alternative_is_offered() {
    let h = sms_harness();
    h.change(|s| s.allow_fallback_methods = false);
    let c = h.challenge("alice");
    assert_eq!(c.method, Method::Sms);
    assert!(c.alternatives.is_empty());
    let r = h.engine.switch(&c.session, Method::AuthenticatorApp);
    assert!(
        matches!(&r, Err(Error::Invalid(m)) if m.contains("fallback methods are off")),
        "{r:?}"
    );
    let r = h
        .engine
        .verify(&c.session, Method::BackupCode, &Code::new("abcd-efgh-jkmn"));
    assert!(matches!(r, Err(Error::Invalid(_))), "{r:?}");
}

#[test]
fn switching_to_a_method_the_user_cannot_use_says_why() {
    let h = Harness::with(|s| {
        s.methods.email = true;
    });
    h.enroll("alice");
    let c = h.challenge("alice");
    let r = h.engine.switch(&c.session, Method::Email);
    assert!(
        matches!(&r, Err(Error::Invalid(m)) if m.contains("no email address is on file")),
        "{r:?}"
    );
    let r = h.engine.switch(&c.session, Method::AuthenticatorApp);
    assert!(
        matches!(&r, Err(Error::Invalid(m)) if m.contains("only SMS and email")),
        "{r:?}"
    );
}

#[test]
fn a_failed_delivery_is_reported_at_the_prompt_and_audited() {
    use std::sync::Arc;
    let mut h = sms_harness();
    h.engine.sender = Arc::new(twofold_core::engine::NoDelivery);
    let c = h.challenge("alice");
    let info = c.info.unwrap();
    assert!(
        info.contains("could not be sent") && info.contains("no delivery is configured"),
        "{info}"
    );
    let ev = h.audit("alice", "code.sent");
    assert_eq!(ev[0].outcome, "error");
}

#[test]
fn a_locked_user_gets_no_new_codes() {
    let h = sms_harness();
    h.change(|s| {
        s.max_consecutive_failures = 2;
        s.max_invalid_attempts = MaxInvalidAttempts::NoLimit;
    });
    let open = h.challenge("alice");
    let c = h.challenge("alice");
    let sent = h.outbox.count();
    let bad = if h.outbox.last().code == "000000" {
        "111111"
    } else {
        "000000"
    };
    for _ in 0..2 {
        let _ = h
            .engine
            .verify(&c.session, Method::Sms, &Code::new(bad))
            .unwrap();
    }
    assert_eq!(
        h.store
            .get_user("alice")
            .unwrap()
            .unwrap()
            .consecutive_failures,
        2
    );
    assert_eq!(
        locked(h.engine.switch(&open.session, Method::Sms).unwrap()),
        USER_LOCKED
    );
    assert_eq!(h.outbox.count(), sent, "no code was sent");
}
