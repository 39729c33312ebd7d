//! Conformance cases: the delivery half ([`DeliveryStore`]): integrations and their health, the
//! leased outbox (claims, retries, give-ups, expiry, throttling), the log and the daily counts,
//! and 32 workers claiming from one outbox.

use super::{T0, THREADS, race};
use crate::store::Store;
use crate::store::delivery::{
    AttemptOutcome, AttemptRecord, Channel, DeliveryFilter, DeliveryState, DeliveryStore, Health,
    IntegrationHealth, IntegrationKind, IntegrationRecord, NewMessage, NextStep, Purpose,
};
use std::collections::HashSet;

fn d(store: &dyn Store) -> &dyn DeliveryStore {
    store
        .delivery()
        .expect("this backend must keep the delivery half")
}

fn msg(user: &str, at: i64) -> NewMessage {
    NewMessage {
        user: user.into(),
        channel: Channel::Sms,
        integration: "tw".into(),
        destination: "+14155550123".into(),
        sealed_body: vec![1, 2, 3],
        purpose: Purpose::Code,
        queued_at: at,
        expires_at: at + 300,
    }
}

fn rec(attempt: u32, outcome: AttemptOutcome, at: i64) -> AttemptRecord {
    AttemptRecord {
        attempt,
        started_at: at,
        finished_at: at,
        outcome,
        status: Some("500".into()),
        error: Some("server error".into()),
        provider_id: None,
    }
}

fn twilio(name: &str) -> IntegrationRecord {
    IntegrationRecord {
        name: name.into(),
        kind: IntegrationKind::Twilio,
        config: serde_json::json!({"account_sid": "AC1", "from": "+15005550006"}),
        credentials: Some(vec![9; 40]),
        created_at: T0,
        updated_at: T0,
        health: IntegrationHealth::default(),
    }
}

/// A claimed message is leased: nobody else claims it until the lease expires; then the next
/// worker takes over, the attempt count goes on, and the dead worker's late retry is ignored.
pub fn a_claimed_message_is_not_claimed_again_until_its_lease_expires(store: &dyn Store) {
    let s = d(store);
    let id = s.enqueue(&msg("alice", T0)).unwrap();
    let a = s.claim_due("a", T0, T0 + 30, 10).unwrap();
    assert_eq!(a.len(), 1);
    assert_eq!((a[0].id, a[0].attempt), (id, 1));
    assert_eq!(a[0].sealed_body, vec![1, 2, 3]);
    assert_eq!(a[0].lease_until, T0 + 30);
    assert!(s.claim_due("b", T0 + 20, T0 + 50, 10).unwrap().is_empty());
    let b = s.claim_due("b", T0 + 30, T0 + 60, 10).unwrap();
    assert_eq!((b[0].id, b[0].attempt), (id, 2));
    let stale = s
        .finish_attempt(
            id,
            "a",
            &rec(1, AttemptOutcome::Transient, T0 + 31),
            &NextStep::RetryAt(T0 + 40),
        )
        .unwrap();
    assert!(!stale, "a worker that lost its lease cannot requeue");
    let mut ok = rec(2, AttemptOutcome::Sent, T0 + 32);
    ok.provider_id = Some("SM1".into());
    assert!(s.finish_attempt(id, "b", &ok, &NextStep::Done).unwrap());
    let e = s.delivery_entry(id).unwrap().unwrap();
    assert_eq!(e.state, DeliveryState::Sent);
    assert_eq!(e.attempts, 2);
    assert_eq!(e.provider_id.as_deref(), Some("SM1"));
    assert_eq!(e.destination, "+1 *** *** 0123");
    assert_eq!(e.finished_at, Some(T0 + 32));
    assert_eq!(e.next_attempt_at, None);
    let attempts = s.delivery_attempts(id).unwrap();
    assert_eq!(
        attempts.iter().map(|a| a.attempt).collect::<Vec<_>>(),
        [1, 2]
    );
    assert_eq!(attempts[1].outcome, AttemptOutcome::Sent);
    assert!(
        s.claim_due("c", T0 + 1000, T0 + 1030, 10)
            .unwrap()
            .is_empty()
    );
    assert_eq!(s.next_due().unwrap(), None);
}

/// A retry waits for its time; a give-up is final and keeps its reason; throttling is flagged.
pub fn a_retry_waits_for_its_time_and_a_give_up_is_final(store: &dyn Store) {
    let s = d(store);
    let id = s.enqueue(&msg("bob", T0)).unwrap();
    assert_eq!(s.next_due().unwrap(), Some(T0));
    s.claim_due("w", T0, T0 + 30, 10).unwrap();
    assert_eq!(s.next_due().unwrap(), Some(T0 + 30), "the lease expiry");
    assert!(
        s.finish_attempt(
            id,
            "w",
            &rec(1, AttemptOutcome::Throttled, T0 + 1),
            &NextStep::RetryAt(T0 + 10),
        )
        .unwrap()
    );
    let e = s.delivery_entry(id).unwrap().unwrap();
    assert_eq!(e.state, DeliveryState::Queued);
    assert_eq!(e.next_attempt_at, Some(T0 + 10));
    assert_eq!(e.last_error.as_deref(), Some("server error"));
    assert_eq!(s.next_due().unwrap(), Some(T0 + 10));
    assert!(s.claim_due("w", T0 + 9, T0 + 40, 10).unwrap().is_empty());
    let again = s.claim_due("w", T0 + 10, T0 + 40, 10).unwrap();
    assert_eq!(again[0].attempt, 2);
    s.finish_attempt(
        id,
        "w",
        &rec(2, AttemptOutcome::Permanent, T0 + 11),
        &NextStep::GiveUp("refused".into()),
    )
    .unwrap();
    let e = s.delivery_entry(id).unwrap().unwrap();
    assert_eq!(e.state, DeliveryState::Failed);
    assert!(e.throttled);
    assert_eq!(e.last_error.as_deref(), Some("refused"));
    assert_eq!(e.finished_at, Some(T0 + 11));
    assert!(s.claim_due("w", T0 + 100, T0 + 130, 10).unwrap().is_empty());
}

/// A code that could not be sent before its expiry is given up with the reason.
pub fn an_unsent_code_expires_with_its_reason(store: &dyn Store) {
    let s = d(store);
    let leased = s.enqueue(&msg("carol", T0)).unwrap();
    let queued = s.enqueue(&msg("carol", T0)).unwrap();
    assert_eq!(s.claim_due("w", T0, T0 + 30, 1).unwrap()[0].id, leased);
    // Both expire: the queued one, and the leased one once its lease is over too.
    assert!(s.claim_due("w", T0 + 300, T0 + 330, 10).unwrap().is_empty());
    for i in [leased, queued] {
        let e = s.delivery_entry(i).unwrap().unwrap();
        assert_eq!(e.state, DeliveryState::Expired, "message {i}");
        assert!(e.last_error.unwrap().contains("expired"));
        assert_eq!(e.finished_at, Some(T0 + 300));
    }
}

/// Rows of an integration the provider throttles wait until the throttle ends; others go on.
pub fn a_throttled_integration_is_left_alone_until_the_throttle_ends(store: &dyn Store) {
    let s = d(store);
    s.put_integration(&twilio("tw")).unwrap();
    s.set_integration_health(
        "tw",
        &IntegrationHealth {
            state: Health::Throttled,
            throttled_until: Some(T0 + 20),
            ..IntegrationHealth::default()
        },
    )
    .unwrap();
    let slow = s.enqueue(&msg("dave", T0)).unwrap();
    let other = s
        .enqueue(&NewMessage {
            integration: "smtp".into(),
            channel: Channel::Email,
            destination: "dave@example.com".into(),
            ..msg("dave", T0)
        })
        .unwrap();
    let now: Vec<i64> = s
        .claim_due("w", T0, T0 + 30, 10)
        .unwrap()
        .iter()
        .map(|m| m.id)
        .collect();
    assert_eq!(now, [other]);
    let later: Vec<i64> = s
        .claim_due("w", T0 + 20, T0 + 50, 10)
        .unwrap()
        .iter()
        .map(|m| m.id)
        .collect();
    assert_eq!(later, [slow]);
}

/// Counts are per integration and UTC day, with attempts and outcomes.
pub fn delivery_counts_are_per_integration_and_day(store: &dyn Store) {
    let s = d(store);
    let day = 20_000 * 86_400;
    for i in 0..3 {
        let id = s.enqueue(&msg("u", day + i)).unwrap();
        s.claim_due("w", day + i, day + i + 30, 10).unwrap();
        s.finish_attempt(
            id,
            "w",
            &rec(1, AttemptOutcome::Sent, day + i),
            &NextStep::Done,
        )
        .unwrap();
    }
    s.enqueue(&msg("u", day + 86_400)).unwrap();
    let c = s.daily_counts(day, day + 2 * 86_400, Some("tw")).unwrap();
    assert_eq!(c.len(), 2);
    assert_eq!(
        (c[1].day.as_str(), c[1].queued, c[1].sent, c[1].attempts),
        ("2024-10-04", 3, 3, 3)
    );
    assert_eq!((c[1].failed, c[1].throttled), (0, 0));
    assert_eq!(
        (c[0].day.as_str(), c[0].queued, c[0].sent),
        ("2024-10-05", 1, 0)
    );
    assert!(
        s.daily_counts(day, day + 2 * 86_400, Some("other"))
            .unwrap()
            .is_empty()
    );
    assert_eq!(s.daily_counts(day, day + 2 * 86_400, None).unwrap(), c);
}

/// Replacing an integration keeps its health; deleting it makes health updates not found.
pub fn integrations_keep_their_health_across_a_replace(store: &dyn Store) {
    let s = d(store);
    let mut r = twilio("tw");
    s.put_integration(&r).unwrap();
    s.put_integration(&IntegrationRecord {
        kind: IntegrationKind::Smtp,
        credentials: None,
        ..twilio("a-smtp")
    })
    .unwrap();
    let h = IntegrationHealth {
        state: Health::Unhealthy,
        reason: Some("HTTP 401".into()),
        updated_at: Some(T0 + 1),
        last_success_at: None,
        last_failure_at: Some(T0 + 1),
        consecutive_failures: 3,
        throttled_until: None,
    };
    s.set_integration_health("tw", &h).unwrap();
    r.updated_at = T0 + 2;
    r.config = serde_json::json!({"account_sid": "AC2"});
    s.put_integration(&r).unwrap();
    let back = s.get_integration("tw").unwrap().unwrap();
    assert_eq!(back.health, h);
    assert_eq!(back.updated_at, T0 + 2);
    assert_eq!(back.created_at, T0);
    assert_eq!(back.config, serde_json::json!({"account_sid": "AC2"}));
    assert_eq!(back.credentials, Some(vec![9; 40]));
    let names: Vec<String> = s
        .list_integrations()
        .unwrap()
        .into_iter()
        .map(|i| i.name)
        .collect();
    assert_eq!(names, ["a-smtp", "tw"]);
    assert!(s.delete_integration("tw").unwrap());
    assert!(!s.delete_integration("tw").unwrap());
    assert!(s.get_integration("tw").unwrap().is_none());
    assert!(matches!(
        s.set_integration_health("tw", &h),
        Err(crate::Error::NotFound(_))
    ));
}

/// The log filters by user, channel, state and time, newest first, and honours the limit.
pub fn the_delivery_log_filters_newest_first(store: &dyn Store) {
    let s = d(store);
    let a = s.enqueue(&msg("alice", T0)).unwrap();
    let b = s
        .enqueue(&NewMessage {
            channel: Channel::Email,
            integration: "smtp".into(),
            destination: "bob@example.com".into(),
            ..msg("bob", T0 + 5)
        })
        .unwrap();
    let c = s.enqueue(&msg("alice", T0 + 10)).unwrap();
    let ids = |f: DeliveryFilter| -> Vec<i64> {
        s.delivery_log(&f)
            .unwrap()
            .into_iter()
            .map(|e| e.id)
            .collect()
    };
    assert_eq!(ids(DeliveryFilter::default()), [c, b, a]);
    let alice = DeliveryFilter {
        user: Some("alice".into()),
        ..DeliveryFilter::default()
    };
    assert_eq!(ids(alice.clone()), [c, a]);
    let email = DeliveryFilter {
        channel: Some(Channel::Email),
        ..DeliveryFilter::default()
    };
    assert_eq!(ids(email), [b]);
    let window = DeliveryFilter {
        since: Some(T0 + 5),
        until: Some(T0 + 10),
        ..DeliveryFilter::default()
    };
    assert_eq!(ids(window), [c, b]);
    let one = DeliveryFilter { limit: 1, ..alice };
    assert_eq!(ids(one), [c]);
    let queued = DeliveryFilter {
        state: Some(DeliveryState::Queued),
        integration: Some("smtp".into()),
        ..DeliveryFilter::default()
    };
    assert_eq!(ids(queued), [b]);
    let e = s.delivery_entry(b).unwrap().unwrap();
    assert_eq!(e.destination, "b***@example.com");
    assert_eq!(e.next_attempt_at, Some(T0 + 5));
    assert!(s.delivery_entry(b + 1000).unwrap().is_none());
    assert!(
        ids(DeliveryFilter {
            throttled_only: true,
            ..DeliveryFilter::default()
        })
        .is_empty()
    );
}

/// Purging removes only final rows queued before the cut-off.
pub fn purging_the_delivery_log_removes_only_old_final_rows(store: &dyn Store) {
    let s = d(store);
    let old_sent = s.enqueue(&msg("u", T0)).unwrap();
    s.claim_due("w", T0, T0 + 30, 10).unwrap();
    s.finish_attempt(
        old_sent,
        "w",
        &rec(1, AttemptOutcome::Sent, T0),
        &NextStep::Done,
    )
    .unwrap();
    let old_queued = s
        .enqueue(&NewMessage {
            expires_at: T0 + 10_000,
            ..msg("u", T0 + 1)
        })
        .unwrap();
    let new_sent = s.enqueue(&msg("u", T0 + 100)).unwrap();
    s.claim_due("w", T0 + 100, T0 + 130, 10).unwrap();
    s.finish_attempt(
        new_sent,
        "w",
        &rec(1, AttemptOutcome::Sent, T0 + 100),
        &NextStep::Done,
    )
    .unwrap();
    assert_eq!(s.purge_delivery_log(T0 + 50).unwrap(), 1);
    assert!(s.delivery_entry(old_sent).unwrap().is_none());
    assert!(s.delivery_attempts(old_sent).unwrap().is_empty());
    assert!(s.delivery_entry(old_queued).unwrap().is_some());
    assert!(s.delivery_entry(new_sent).unwrap().is_some());
}

/// 32 workers claiming from one outbox at once: every message is claimed exactly once.
pub fn thirty_two_workers_never_claim_one_message_twice(store: &dyn Store) {
    let s = d(store);
    let ids: HashSet<i64> = (0..20)
        .map(|i| s.enqueue(&msg("u", T0 + i)).unwrap())
        .collect();
    let claims = race(THREADS, |i| {
        s.claim_due(&format!("w{i}"), T0 + 20, T0 + 50, 1).unwrap()
    });
    let claimed: Vec<i64> = claims.iter().flatten().map(|m| m.id).collect();
    let unique: HashSet<i64> = claimed.iter().copied().collect();
    assert_eq!(claimed.len(), unique.len(), "a message was claimed twice");
    assert!(unique.is_subset(&ids));
    // Whatever the race left unclaimed is still there for the next round, never lost.
    let rest = s.claim_due("late", T0 + 21, T0 + 51, 100).unwrap();
    let all: HashSet<i64> = unique
        .union(&rest.iter().map(|m| m.id).collect())
        .copied()
        .collect();
    assert_eq!(all, ids);
    assert!(rest.iter().all(|m| m.attempt == 1));
}
