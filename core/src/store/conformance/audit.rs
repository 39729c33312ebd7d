//! Conformance cases: the append-only audit trail and its filters.

use super::T0;
use crate::store::{AuditEvent, AuditFilter, Store};

fn ev(at: i64, event: &str, user: Option<&str>) -> AuditEvent {
    AuditEvent {
        at,
        actor: user.map_or("admin:root".into(), |u| u.to_string()),
        event: event.into(),
        user: user.map(Into::into),
        outcome: "ok".into(),
        detail: format!("{event} for {user:?}; reason: enforcement is every_login"),
    }
}

fn seed(store: &dyn Store) -> Vec<AuditEvent> {
    let events = vec![
        ev(T0, "auth.success", Some("alice")),
        ev(T0 + 10, "auth.failure", Some("bob")),
        ev(T0 + 20, "settings.change", None),
        ev(T0 + 30, "auth.failure", Some("alice")),
        ev(T0 + 30, "user.reset", Some("alice")),
        ev(T0 + 40, "authz.code", Some("alice")),
    ];
    for e in &events {
        store.audit(e).unwrap();
    }
    events
}

fn events(store: &dyn Store, f: AuditFilter) -> Vec<String> {
    store
        .query_audit(&f)
        .unwrap()
        .into_iter()
        .map(|e| format!("{}@{}", e.event, e.at - T0))
        .collect()
}

/// Events read back whole, newest first (ties in insertion order, newest first).
pub fn audit_events_round_trip_newest_first(store: &dyn Store) {
    let seeded = seed(store);
    let all = store.query_audit(&AuditFilter::default()).unwrap();
    let mut expected = seeded.clone();
    expected.reverse();
    assert_eq!(all, expected);
}

/// Only the named user's events.
pub fn audit_queries_filter_by_user(store: &dyn Store) {
    seed(store);
    let f = AuditFilter {
        user: Some("alice".into()),
        ..AuditFilter::default()
    };
    assert_eq!(
        events(store, f),
        [
            "authz.code@40",
            "user.reset@30",
            "auth.failure@30",
            "auth.success@0"
        ]
    );
}

/// The prefix matches the start of the type, literally (no wildcards).
pub fn audit_queries_filter_by_literal_event_prefix(store: &dyn Store) {
    seed(store);
    let by = |p: &str| {
        events(
            store,
            AuditFilter {
                event_prefix: Some(p.into()),
                ..AuditFilter::default()
            },
        )
    };
    assert_eq!(
        by("auth."),
        ["auth.failure@30", "auth.failure@10", "auth.success@0"]
    );
    assert_eq!(
        by("auth"),
        [
            "authz.code@40",
            "auth.failure@30",
            "auth.failure@10",
            "auth.success@0"
        ]
    );
    assert!(by("auth%").is_empty(), "% is not a wildcard");
    assert!(by("auth_").is_empty(), "_ is not a wildcard");
    assert!(by("success").is_empty(), "a prefix, not a substring");
}

/// `since` and `until` are inclusive bounds.
pub fn audit_queries_filter_by_time_range_inclusive(store: &dyn Store) {
    seed(store);
    let f = AuditFilter {
        since: Some(T0 + 10),
        until: Some(T0 + 30),
        ..AuditFilter::default()
    };
    assert_eq!(
        events(store, f),
        [
            "user.reset@30",
            "auth.failure@30",
            "settings.change@20",
            "auth.failure@10"
        ]
    );
    let f = AuditFilter {
        user: Some("alice".into()),
        event_prefix: Some("auth.".into()),
        since: Some(T0 + 1),
        ..AuditFilter::default()
    };
    assert_eq!(events(store, f), ["auth.failure@30"]);
}

/// At most `limit` events, the newest; 0 means no limit.
pub fn audit_queries_honour_the_limit(store: &dyn Store) {
    seed(store);
    let f = AuditFilter {
        limit: 2,
        ..AuditFilter::default()
    };
    assert_eq!(events(store, f), ["authz.code@40", "user.reset@30"]);
    assert_eq!(events(store, AuditFilter::default()).len(), 6);
}

/// `describe` names the backend and its durability.
pub fn describe_names_the_backend(store: &dyn Store) {
    let d = store.describe();
    assert!(
        d.starts_with("sqlite ") || d.starts_with("postgresql "),
        "describe: {d}"
    );
    assert!(
        d.contains("synchronous"),
        "describe names the durability: {d}"
    );
}
