//! The engine over [`HeldSessions`], as the daemon runs PAM conversations: a challenge opens
//! without a write, its decision lines reach the store with its outcome, and counters that
//! outlive the conversation are in the store.

mod common;

use common::*;
use std::sync::Arc;
use twofold_core::engine::Engine;
use twofold_core::proto::Method;
use twofold_core::settings::MaxInvalidAttempts;
use twofold_core::store::Store;
use twofold_core::store::held::HeldSessions;

/// The harness's engine with its sessions held in memory (the store stays the harness's).
fn held(h: &Harness) -> (Engine, Arc<HeldSessions>) {
    let held = Arc::new(HeldSessions::new(h.store.clone()));
    (
        Engine {
            store: held.clone(),
            ..h.engine.clone()
        },
        held,
    )
}

fn events(h: &Harness, user: &str) -> Vec<String> {
    let mut e: Vec<String> = h
        .audit(user, "auth.")
        .into_iter()
        .map(|e| e.event)
        .collect();
    e.reverse(); // oldest first
    e
}

#[test]
fn opening_a_challenge_writes_nothing_and_its_session_is_not_in_the_database() {
    let h = Harness::new();
    h.enroll("alice");
    let (engine, held) = held(&h);
    let before = h.all_audit().len();
    let c = challenge_of(engine.begin(&attempt("alice")).unwrap());
    assert_eq!(h.all_audit().len(), before, "no audit line yet");
    assert_eq!(h.store.get_session(&c.session).unwrap(), None);
    assert_eq!(held.held(), 1);
    assert_eq!(c.method, Method::AuthenticatorApp);
}

#[test]
fn a_right_code_writes_the_decision_and_the_success_in_that_order() {
    let h = Harness::new();
    let (secret, _) = h.enroll("bob");
    let (engine, _held) = held(&h);
    let before = events(&h, "bob");
    let c = challenge_of(engine.begin(&attempt("bob")).unwrap());
    let r = engine
        .verify(&c.session, c.method, &code_now(&secret, h.now()))
        .unwrap();
    assert_accepted(r, Method::AuthenticatorApp);
    let after = events(&h, "bob");
    assert_eq!(&after[before.len()..], ["auth.decision", "auth.success"]);
    let hist = h.store.recent_signins("bob", 2).unwrap();
    let outcomes: Vec<&str> = hist.iter().map(|s| s.outcome.as_str()).collect();
    assert!(outcomes.contains(&"success"), "{outcomes:?}");
}

#[test]
fn wrong_codes_count_in_the_store_and_lock_the_held_session_at_the_limit() {
    let h = Harness::with(|s| s.max_invalid_attempts = MaxInvalidAttempts::Three);
    let (secret, _) = h.enroll("carol");
    let (engine, _held) = held(&h);
    let c = challenge_of(engine.begin(&attempt("carol")).unwrap());
    for n in 1..=2 {
        let (_, c2) = rejected(
            engine
                .verify(&c.session, c.method, &wrong_code(&secret, h.now()))
                .unwrap(),
        );
        assert_eq!(c2.session, c.session);
        assert_eq!(c2.attempts_left, Some(3 - n));
    }
    assert_eq!(
        h.store
            .get_user("carol")
            .unwrap()
            .unwrap()
            .consecutive_failures,
        2,
        "the user's counter is in the store"
    );
    locked(
        engine
            .verify(&c.session, c.method, &wrong_code(&secret, h.now()))
            .unwrap(),
    );
    // The session is over, even for the right code; a new sign-in starts clean.
    let late = engine
        .verify(&c.session, c.method, &code_now(&secret, h.now()))
        .unwrap();
    locked(late);
    let fresh = challenge_of(engine.begin(&attempt("carol")).unwrap());
    assert_accepted(
        engine
            .verify(&fresh.session, fresh.method, &code_now(&secret, h.now()))
            .unwrap(),
        Method::AuthenticatorApp,
    );
    let ev = events(&h, "carol");
    assert!(
        ev.iter().filter(|e| *e == "auth.decision").count() >= 2,
        "{ev:?}"
    );
    assert!(ev.contains(&"auth.locked".to_string()), "{ev:?}");
}

#[test]
fn a_challenge_abandoned_at_the_prompt_is_recorded_when_it_expires() {
    let h = Harness::new();
    h.enroll("dave");
    let (engine, held) = held(&h);
    let before = events(&h, "dave").len();
    let _abandoned = challenge_of(engine.begin(&attempt("dave")).unwrap());
    assert_eq!(events(&h, "dave").len(), before);
    // Long after it expired, the next sign-in sweeps it and writes its decision line.
    h.clock.set(h.now() + 3_600);
    let _next = challenge_of(engine.begin(&attempt("dave")).unwrap());
    assert_eq!(events(&h, "dave").len(), before + 1);
    assert_eq!(held.held(), 1, "only the new one is held");
    // At shutdown the rest is written too.
    held.flush().unwrap();
    assert_eq!(events(&h, "dave").len(), before + 2);
}
