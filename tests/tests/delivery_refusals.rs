//! Codes that must be refused, with the refusal in the audit trail: an expired code, codes past
//! the resend limit, and a code from another user's session. Real engine, worker, SQLite file and
//! a Twilio fake; the daemon's clock is moved forward for expiry.

mod delivery_support;

use delivery_support::fake_twilio::{Behavior, FakeTwilio, code_in};
use delivery_support::{FAST_DELIVERY, Harness, SID, TOKEN};
use std::time::Duration;
use twofold_core::proto::{Method, PamReply};

const WAIT: Duration = Duration::from_secs(30);

fn sms_to(fake: &FakeTwilio, to: &str, n: usize) -> Vec<String> {
    assert!(
        fake.wait_for(WAIT, |r| r
            .iter()
            .filter(|m| m.to == to && m.answer == "201")
            .count()
            >= n),
        "{n} messages to {to} never arrived"
    );
    fake.received()
        .into_iter()
        .filter(|m| m.to == to && m.answer == "201")
        .map(|m| code_in(&m.body))
        .collect()
}

fn setup() -> (FakeTwilio, Harness) {
    let fake = FakeTwilio::start(SID, TOKEN, Behavior::Accept);
    let h = Harness::start(FAST_DELIVERY);
    h.use_twilio("twilio-main", &fake.base_url(), TOKEN);
    (fake, h)
}

#[test]
fn an_expired_sms_code_is_refused_and_the_refusal_is_audited() {
    let (fake, h) = setup();
    h.user_with_phone("alice", "+14155550131");
    let c = h.begin("alice");
    let code = sms_to(&fake, "+14155550131", 1).remove(0);
    // security_code_timeout is 300 s by default.
    h.clock.advance(301);
    match h.verify(&c.session, Method::Sms, &code) {
        PamReply::Rejected { message, .. } => assert!(message.contains("expired"), "{message}"),
        other => panic!("an expired code was not refused: {other:?}"),
    }
    let audit = h.audit("alice", "auth.");
    assert!(
        audit.iter().any(|(ev, outcome, d)| ev == "auth.failure"
            && outcome == "refused"
            && d.contains("expired")),
        "{audit:?}"
    );
    assert!(!audit.iter().any(|(ev, _, _)| ev == "auth.success"));
}

#[test]
fn codes_past_the_resend_limit_are_not_sent_and_the_refusal_is_audited() {
    let (fake, h) = setup();
    h.user_with_phone("bob", "+14155550132");
    let c = h.begin("bob");
    // resend_limit is 3 by default: three resends go out...
    for _ in 0..3 {
        match h.engine().switch(&c.session, Method::Sms).unwrap() {
            PamReply::Challenge(_) => {}
            other => panic!("a resend within the limit was refused: {other:?}"),
        }
    }
    // ...the fourth is refused and no message is queued for it.
    match h.engine().switch(&c.session, Method::Sms).unwrap() {
        PamReply::Rejected { message, .. } => {
            assert!(message.contains("resend limit"), "{message}")
        }
        other => panic!("a resend past the limit was not refused: {other:?}"),
    }
    let queued = h
        .ds()
        .delivery_log(&twofold_core::store::delivery::DeliveryFilter {
            user: Some("bob".into()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(
        queued.len(),
        4,
        "1 code + 3 resends, and nothing past the limit"
    );
    let codes = sms_to(&fake, "+14155550132", 4);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        fake.received()
            .iter()
            .filter(|m| m.to == "+14155550132")
            .count(),
        4,
        "the provider saw no message past the limit"
    );
    let audit = h.audit("bob", "auth.resend");
    assert!(
        audit
            .iter()
            .any(|(_, outcome, d)| outcome == "refused" && d.contains("resend limit 3")),
        "{audit:?}"
    );
    // A resend replaces the code: an earlier one is refused, the last one works. The provider
    // id the fake returned (`SM` + its request number) says which request carried which row.
    assert_eq!(codes.len(), 4);
    let end = std::time::Instant::now() + WAIT;
    let rows = loop {
        let rows = h
            .ds()
            .delivery_log(&twofold_core::store::delivery::DeliveryFilter {
                user: Some("bob".into()),
                ..Default::default()
            })
            .unwrap();
        if rows.iter().all(|r| r.state.is_final()) {
            break rows;
        }
        assert!(std::time::Instant::now() < end, "{rows:?}");
        std::thread::sleep(Duration::from_millis(25));
    };
    let received = fake.received();
    let code_of = |row: &twofold_core::store::delivery::DeliveryLogEntry| {
        let sid = row
            .provider_id
            .clone()
            .expect("sent rows carry the provider id");
        let n = usize::from_str_radix(sid.trim_start_matches("SM"), 16).unwrap();
        code_in(&received[n - 1].body)
    };
    let newest = rows.iter().max_by_key(|r| r.id).unwrap();
    let oldest = rows.iter().min_by_key(|r| r.id).unwrap();
    let (last, first) = (code_of(newest), code_of(oldest));
    if first != last {
        assert!(matches!(
            h.verify(&c.session, Method::Sms, &first),
            PamReply::Rejected { .. }
        ));
    }
    assert!(matches!(
        h.verify(&c.session, Method::Sms, &last),
        PamReply::Accepted { .. }
    ));
}

#[test]
fn a_code_from_another_users_session_is_refused_and_the_refusal_is_audited() {
    let (fake, h) = setup();
    h.user_with_phone("carol", "+14155550133");
    h.user_with_phone("dave", "+14155550134");
    let carol = h.begin("carol");
    let dave = h.begin("dave");
    let carol_code = sms_to(&fake, "+14155550133", 1).remove(0);
    let dave_code = sms_to(&fake, "+14155550134", 1).remove(0);
    if carol_code != dave_code {
        match h.verify(&dave.session, Method::Sms, &carol_code) {
            PamReply::Rejected { message, .. } => {
                assert!(message.contains("not valid"), "{message}")
            }
            other => panic!("carol's code opened dave's session: {other:?}"),
        }
        let audit = h.audit("dave", "auth.failure");
        assert!(
            audit
                .iter()
                .any(|(_, outcome, d)| outcome == "refused" && d.contains("wrong sms code")),
            "{audit:?}"
        );
    }
    // Each code still works in its own session.
    assert!(matches!(
        h.verify(&dave.session, Method::Sms, &dave_code),
        PamReply::Accepted { .. }
    ));
    assert!(matches!(
        h.verify(&carol.session, Method::Sms, &carol_code),
        PamReply::Accepted { .. }
    ));
}

#[test]
fn codes_past_the_hourly_budget_of_a_user_are_not_sent() {
    let fake = FakeTwilio::start(SID, TOKEN, Behavior::Accept);
    let h = Harness::start(&format!(
        "{FAST_DELIVERY}max_messages_per_user_per_hour = 2\n"
    ));
    h.use_twilio("twilio-main", &fake.base_url(), TOKEN);
    h.user_with_phone("erin", "+14155550136");
    // Fresh sign-ins each start a new session (and a new resend budget): the hourly cap holds.
    for _ in 0..2 {
        let c = h.begin("erin");
        assert!(c.info.unwrap_or_default().contains("A code was sent"));
    }
    let c = h.begin("erin");
    let info = c.info.unwrap_or_default();
    assert!(
        info.contains("could not be sent") && info.contains("in the last hour"),
        "{info}"
    );
    sms_to(&fake, "+14155550136", 2);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(fake.received().len(), 2);
    let audit = h.audit("erin", "code.sent");
    assert!(
        audit
            .iter()
            .any(|(_, outcome, d)| outcome == "error" && d.contains("limit 2")),
        "{audit:?}"
    );
    // An hour later the budget is back.
    h.clock.advance(3601);
    let c = h.begin("erin");
    assert!(c.info.unwrap_or_default().contains("A code was sent"));
}
