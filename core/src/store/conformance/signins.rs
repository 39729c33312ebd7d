//! Conformance cases: remembered devices and the sign-in history behind risk-based enforcement.

use super::{T0, h, new_user};
use crate::store::{SignIn, Store};

fn signin(user: &str, rhost: Option<&str>, outcome: &str, at: i64) -> SignIn {
    SignIn {
        user: user.into(),
        service: "sshd".into(),
        rhost: rhost.map(Into::into),
        outcome: outcome.into(),
        reason: format!("{outcome} at {at}"),
        at,
    }
}

/// A device token is known before its expiry and unknown from it on.
pub fn a_remembered_device_is_known_until_it_expires(store: &dyn Store) {
    new_user(store, "alice");
    store.add_device("alice", &h(1), T0 + 100).unwrap();
    assert!(store.device_known("alice", &h(1), T0).unwrap());
    assert!(store.device_known("alice", &h(1), T0 + 99).unwrap());
    assert!(!store.device_known("alice", &h(1), T0 + 100).unwrap());
    assert!(!store.device_known("alice", &h(2), T0).unwrap());
    // Remembering the same device again extends it.
    store.add_device("alice", &h(1), T0 + 500).unwrap();
    assert!(store.device_known("alice", &h(1), T0 + 400).unwrap());
}

/// Another user's token is not recognized; forgetting drops every token of the user only.
pub fn a_device_belongs_to_its_user_and_can_be_forgotten(store: &dyn Store) {
    new_user(store, "alice");
    new_user(store, "bob");
    store.add_device("alice", &h(1), T0 + 100).unwrap();
    store.add_device("alice", &h(2), T0 + 100).unwrap();
    store.add_device("bob", &h(3), T0 + 100).unwrap();
    assert!(!store.device_known("bob", &h(1), T0).unwrap());
    store.forget_devices("alice").unwrap();
    assert!(!store.device_known("alice", &h(1), T0).unwrap());
    assert!(!store.device_known("alice", &h(2), T0).unwrap());
    assert!(store.device_known("bob", &h(3), T0).unwrap());
}

/// History is per user, newest first, at most `limit`.
pub fn recent_signins_are_newest_first_and_limited(store: &dyn Store) {
    for (i, outcome) in ["challenge", "success", "failure", "success"]
        .iter()
        .enumerate()
    {
        store
            .record_signin(&signin("alice", Some("192.0.2.1"), outcome, T0 + i as i64))
            .unwrap();
    }
    store
        .record_signin(&signin("bob", None, "allow", T0 + 10))
        .unwrap();
    let all = store.recent_signins("alice", 10).unwrap();
    let outcomes: Vec<&str> = all.iter().map(|s| s.outcome.as_str()).collect();
    assert_eq!(outcomes, ["success", "failure", "success", "challenge"]);
    assert_eq!(
        all[0],
        signin("alice", Some("192.0.2.1"), "success", T0 + 3)
    );
    assert_eq!(store.recent_signins("alice", 2).unwrap().len(), 2);
    assert_eq!(
        store.recent_signins("bob", 10).unwrap(),
        [signin("bob", None, "allow", T0 + 10)]
    );
    assert!(store.recent_signins("carol", 10).unwrap().is_empty());
}

/// The answer is the time of the last successful second factor from that address.
pub fn rhost_seen_gives_the_last_success_from_that_address(store: &dyn Store) {
    store
        .record_signin(&signin("alice", Some("192.0.2.7"), "success", T0))
        .unwrap();
    store
        .record_signin(&signin("alice", Some("192.0.2.7"), "success", T0 + 50))
        .unwrap();
    store
        .record_signin(&signin("alice", Some("192.0.2.8"), "success", T0 + 60))
        .unwrap();
    assert_eq!(
        store.rhost_seen("alice", "192.0.2.7", T0 - 1, 10).unwrap(),
        Some(T0 + 50)
    );
    assert_eq!(
        store.rhost_seen("alice", "192.0.2.9", T0 - 1, 10).unwrap(),
        None
    );
    assert_eq!(
        store.rhost_seen("bob", "192.0.2.7", T0 - 1, 10).unwrap(),
        None
    );
}

/// Failures, challenges and sign-ins allowed without a second factor do not make an address known.
pub fn rhost_seen_ignores_failures_and_sign_ins_without_a_second_factor(store: &dyn Store) {
    for outcome in ["failure", "allow", "challenge", "deny", "locked", "enroll"] {
        store
            .record_signin(&signin("alice", Some("192.0.2.7"), outcome, T0))
            .unwrap();
    }
    store
        .record_signin(&signin("alice", None, "success", T0))
        .unwrap();
    assert_eq!(
        store
            .rhost_seen("alice", "192.0.2.7", T0 - 100, 10)
            .unwrap(),
        None
    );
}

/// Only the `depth` most recent distinct successful addresses count.
pub fn rhost_seen_looks_only_at_the_most_recent_distinct_addresses(store: &dyn Store) {
    // .1 oldest ... .5 newest; .1 has many old successes, which must not count as many addresses.
    for i in 0..5 {
        store
            .record_signin(&signin("alice", Some("198.51.100.1"), "success", T0 + i))
            .unwrap();
    }
    for (i, host) in [
        "198.51.100.2",
        "198.51.100.3",
        "198.51.100.4",
        "198.51.100.5",
    ]
    .iter()
    .enumerate()
    {
        store
            .record_signin(&signin("alice", Some(host), "success", T0 + 100 + i as i64))
            .unwrap();
    }
    let seen = |host: &str, depth: u32| store.rhost_seen("alice", host, T0 - 1, depth).unwrap();
    assert_eq!(seen("198.51.100.5", 1), Some(T0 + 103));
    assert_eq!(seen("198.51.100.4", 1), None);
    assert_eq!(seen("198.51.100.2", 4), Some(T0 + 100));
    assert_eq!(
        seen("198.51.100.1", 4),
        None,
        "fifth most recent address with depth 4"
    );
    assert_eq!(seen("198.51.100.1", 5), Some(T0 + 4));
    assert_eq!(seen("198.51.100.5", 0), None, "depth 0 recognizes nothing");
    // A new success from the oldest address makes it the most recent.
    store
        .record_signin(&signin("alice", Some("198.51.100.1"), "success", T0 + 200))
        .unwrap();
    assert_eq!(seen("198.51.100.1", 1), Some(T0 + 200));
}

/// Successes at or before `since` are too old.
pub fn rhost_seen_ignores_successes_before_since(store: &dyn Store) {
    store
        .record_signin(&signin("alice", Some("192.0.2.7"), "success", T0))
        .unwrap();
    assert_eq!(
        store.rhost_seen("alice", "192.0.2.7", T0 - 1, 10).unwrap(),
        Some(T0)
    );
    assert_eq!(
        store.rhost_seen("alice", "192.0.2.7", T0, 10).unwrap(),
        None
    );
    assert_eq!(
        store
            .rhost_seen("alice", "192.0.2.7", T0 + 30 * 86_400, 10)
            .unwrap(),
        None
    );
}
