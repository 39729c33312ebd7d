//! SMS delivery against a fake that speaks Twilio's Messages API (path, form fields, Basic auth,
//! JSON bodies and error codes), with the real engine, delivery worker and SQLite file.

mod delivery_support;

use delivery_support::fake_twilio::{Behavior, FakeTwilio, code_in};
use delivery_support::{ADMIN, FAST_DELIVERY, FROM, Harness, SID, TOKEN, is_sent};
use std::time::Duration;
use twofold_core::proto::{Method, PamReply};
use twofold_core::store::delivery::{AttemptOutcome, DeliveryState, Health};
use twofoldd::delivery::admin;

const WAIT: Duration = Duration::from_secs(30);

#[test]
fn an_sms_code_is_delivered_through_twilio_and_verifies() {
    let fake = FakeTwilio::start(SID, TOKEN, Behavior::Accept);
    let h = Harness::start(FAST_DELIVERY);
    h.use_twilio("twilio-main", &fake.base_url(), TOKEN);
    let phone = h.user_with_phone("alice", "+1 (415) 555-0123");
    assert_eq!(phone, "+14155550123");

    let c = h.begin("alice");
    assert_eq!(c.method, Method::Sms);
    let sent = h.wait_final("alice", WAIT);
    assert!(is_sent(&sent), "{sent:?}");
    assert_eq!(sent.attempts, 1);
    assert!(sent.provider_id.as_deref().unwrap_or("").starts_with("SM"));

    let got = fake.received();
    assert_eq!(got.len(), 1);
    let m = &got[0];
    assert_eq!((m.account.as_str(), m.auth_user.as_str()), (SID, SID));
    assert_eq!(m.to, "+14155550123");
    assert_eq!(m.from.as_deref(), Some(FROM));
    assert!(
        m.body.contains("expires in 5 minutes"),
        "the text says how long the code lives: {}",
        m.body
    );
    let code = code_in(&m.body);

    match h.verify(&c.session, Method::Sms, &code) {
        PamReply::Accepted { method } => assert_eq!(method, Method::Sms),
        other => panic!("the delivered code was not accepted: {other:?}"),
    }

    // The code is in no log line, no attempt, no audit event, and not in the database files.
    let log = serde_json::to_string(&admin::delivery_log(&h.daemon, &Default::default()).unwrap())
        .unwrap();
    let detail =
        serde_json::to_string(&admin::delivery_message(&h.daemon, sent.id).unwrap()).unwrap();
    let audit = format!("{:?}", h.audit("alice", ""));
    for (what, text) in [("log", &log), ("attempts", &detail), ("audit", &audit)] {
        assert!(
            !text.contains(&code),
            "the code leaked into the {what}: {text}"
        );
    }
    for f in ["twofold.db", "twofold.db-wal"] {
        let p = h.path.join(f);
        if let Ok(bytes) = std::fs::read(&p) {
            assert!(
                !bytes.windows(code.len()).any(|w| w == code.as_bytes()),
                "the code is readable in {}",
                p.display()
            );
        }
    }
    h.wait_health("twilio-main", Health::Healthy);
}

#[test]
fn refused_credentials_mark_the_integration_unhealthy_with_a_clear_reason() {
    let fake = FakeTwilio::start(SID, TOKEN, Behavior::Accept);
    let h = Harness::start(FAST_DELIVERY);
    h.use_twilio("twilio-main", &fake.base_url(), "a-revoked-token");
    h.user_with_phone("bob", "+14155550124");

    let c = h.begin("bob");
    assert_eq!(c.method, Method::Sms);
    let e = h.wait_final("bob", WAIT);
    assert_eq!(e.state, DeliveryState::Failed, "{e:?}");
    assert_eq!(e.attempts, 1, "refused credentials are not retried");
    let why = e.last_error.unwrap_or_default();
    assert!(why.contains("HTTP 401") && why.contains("20003"), "{why}");
    let hl = h.wait_health("twilio-main", Health::Unhealthy);
    let reason = hl.reason.unwrap_or_default();
    assert!(reason.contains("refused the credentials"), "{reason}");

    // The explicit check reads the Account resource and says the same.
    let r = h.blocking(|d| admin::check_integration(d, ADMIN, "twilio-main").unwrap());
    assert!(!r.ok);
    assert!(r.detail.contains("401"), "{}", r.detail);
    assert_eq!(r.health.state, Health::Unhealthy);
    assert!(fake.state.lock().unwrap().account_checks >= 1);

    // With the right token the check passes and the integration is healthy again.
    h.use_twilio("twilio-main", &fake.base_url(), TOKEN);
    let r = h.blocking(|d| admin::check_integration(d, ADMIN, "twilio-main").unwrap());
    assert!(r.ok, "{}", r.detail);
    assert_eq!(h.health("twilio-main").state, Health::Healthy);
    let audit = h.audit_all("integration.check");
    assert!(
        audit
            .iter()
            .any(|(_, o, d)| o == "error" && d.contains("401")),
        "{audit:?}"
    );
}

#[test]
fn throttling_is_recorded_and_the_message_is_retried_after_the_providers_delay() {
    let fake = FakeTwilio::start(SID, TOKEN, Behavior::Accept);
    fake.script([Behavior::Fail {
        status: 429,
        code: 20429,
        message: "Too Many Requests".into(),
        retry_after: Some(2),
    }]);
    let h = Harness::start(FAST_DELIVERY);
    h.use_twilio("twilio-main", &fake.base_url(), TOKEN);
    h.user_with_phone("carol", "+14155550125");

    let c = h.begin("carol");
    let e = h.wait_final("carol", WAIT);
    assert!(is_sent(&e), "{e:?}");
    assert!(e.throttled, "the log line says the provider throttled");
    assert_eq!(e.attempts, 2);
    let d = admin::delivery_message(&h.daemon, e.id).unwrap();
    assert_eq!(d.attempts[0].outcome, AttemptOutcome::Throttled);
    assert_eq!(d.attempts[0].status.as_deref(), Some("429"));
    assert!(
        d.attempts[0]
            .error
            .as_deref()
            .unwrap_or("")
            .contains("20429")
    );
    assert_eq!(d.attempts[1].outcome, AttemptOutcome::Sent);
    assert!(
        d.attempts[1].started_at > d.attempts[0].finished_at,
        "the retry waited for Retry-After: {:?}",
        d.attempts
    );
    let got = fake.received();
    assert_eq!(got.len(), 2);
    assert!(got[1].at.duration_since(got[0].at) >= Duration::from_secs(1));
    // Health recorded the throttle, then the success.
    let hl = h.wait_health("twilio-main", Health::Healthy);
    assert!(hl.last_failure_at.is_some());

    let counts = h.blocking(|d| admin::daily_counts(d, 1, Some("twilio-main")).unwrap());
    assert_eq!(counts.len(), 1);
    assert_eq!(
        (
            counts[0].queued,
            counts[0].sent,
            counts[0].attempts,
            counts[0].throttled
        ),
        (1, 1, 2, 1)
    );
    let code = code_in(&got[1].body);
    assert!(matches!(
        h.verify(&c.session, Method::Sms, &code),
        PamReply::Accepted { .. }
    ));
}

#[test]
fn server_errors_are_retried_within_the_bound_and_then_given_up() {
    let fake = FakeTwilio::start(
        SID,
        TOKEN,
        Behavior::fail(500, 20500, "Internal Server Error"),
    );
    let h = Harness::start(FAST_DELIVERY);
    h.use_twilio("twilio-main", &fake.base_url(), TOKEN);
    h.user_with_phone("dave", "+14155550126");

    let c = h.begin("dave");
    assert_eq!(c.method, Method::Sms);
    let e = h.wait_final("dave", WAIT);
    assert_eq!(e.state, DeliveryState::Failed, "{e:?}");
    assert_eq!(e.attempts, 3, "max_attempts = 3");
    let why = e.last_error.unwrap_or_default();
    assert!(
        why.contains("gave up after 3 attempts") && why.contains("HTTP 500"),
        "{why}"
    );
    assert_eq!(fake.received().len(), 3, "no more calls than the bound");
    let d = admin::delivery_message(&h.daemon, e.id).unwrap();
    assert!(
        d.attempts
            .iter()
            .all(|a| a.outcome == AttemptOutcome::Transient && a.status.as_deref() == Some("500")),
        "{:?}",
        d.attempts
    );
    // Three transient failures in a row: unhealthy, with the last error.
    let hl = h.wait_health("twilio-main", Health::Unhealthy);
    assert!(
        hl.reason
            .unwrap_or_default()
            .contains("last 3 sends failed")
    );
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(
        fake.received().len(),
        3,
        "a given-up message is not sent again"
    );
}

#[test]
fn a_hanging_provider_never_blocks_a_sign_in_and_is_retried_within_bounds() {
    let fake = FakeTwilio::start(SID, TOKEN, Behavior::Hang);
    let h = Harness::start(FAST_DELIVERY);
    h.use_twilio("twilio-main", &fake.base_url(), TOKEN);
    h.user_with_phone("erin", "+14155550127");
    h.user_with_phone("frank", "+14155550128");

    h.begin("erin");
    assert!(
        fake.wait_for(WAIT, |r| r.iter().any(|m| m.to == "+14155550127")),
        "the worker reached the provider"
    );
    // The provider now holds erin's request without answering, and never will: a sign-in that
    // waited on it would never return. frank's sign-in returns its challenge all the same.
    let c = h.begin("frank");
    assert_eq!(c.method, Method::Sms);
    assert!(c.info.unwrap_or_default().contains("A code was sent"));

    let e = h.wait_final("erin", WAIT);
    assert_eq!(e.state, DeliveryState::Failed, "{e:?}");
    assert_eq!(e.attempts, 3);
    let why = e.last_error.unwrap_or_default();
    assert!(
        why.contains("did not answer in time") || why.contains("no answer within"),
        "{why}"
    );
    let erin_calls = fake
        .received()
        .iter()
        .filter(|m| m.to == "+14155550127")
        .count();
    assert_eq!(erin_calls, 3);
}

#[test]
fn a_test_sms_goes_through_the_selected_integration_and_reports_its_outcome() {
    let fake = FakeTwilio::start(SID, TOKEN, Behavior::Accept);
    let h = Harness::start(FAST_DELIVERY);
    h.use_twilio("twilio-main", &fake.base_url(), TOKEN);
    let r = h.blocking(|d| {
        admin::send_test_sms(d, ADMIN, "+44 20 7946 0958", None, Duration::from_secs(20)).unwrap()
    });
    assert!(r.finished);
    assert_eq!(r.message.state, DeliveryState::Sent);
    assert_eq!(r.message.destination, "+44 *** *** 0958");
    let got = fake.received();
    assert_eq!(got[0].to, "+442079460958");
    assert!(got[0].body.contains("test message"), "{}", got[0].body);

    let bad = h.blocking(|d| {
        admin::send_test_sms(d, ADMIN, "020 7946 0958", None, Duration::from_secs(1))
            .unwrap_err()
            .to_string()
    });
    assert!(bad.contains("international format"), "{bad}");
    let list = h.blocking(|d| admin::list_integrations(d).unwrap());
    assert_eq!(list.len(), 1);
    assert!(list[0].selected && list[0].has_secrets);
    assert!(
        !serde_json::to_string(&list).unwrap().contains(TOKEN),
        "a secret is never shown"
    );
}

#[test]
fn a_code_that_expires_before_it_could_be_sent_is_never_sent_late() {
    let fake = FakeTwilio::start(
        SID,
        TOKEN,
        Behavior::fail(503, 20503, "Service Unavailable"),
    );
    let h = Harness::start(
        "poll_interval_ms = 50\nconnect_timeout_ms = 1000\ntotal_timeout_ms = 1500\nmax_attempts = 10\nbackoff_base_secs = 2\nbackoff_max_secs = 2\nlease_secs = 4\n",
    );
    h.use_twilio("twilio-main", &fake.base_url(), TOKEN);
    h.user_with_phone("gina", "+14155550129");
    h.begin("gina");
    h.wait_message("gina", WAIT, |e| {
        e.attempts >= 1 && e.state == DeliveryState::Queued
    });
    // The code's life (security_code_timeout, 300 s) runs out while the provider is down.
    h.clock.advance(301);
    let e = h.wait_final("gina", WAIT);
    assert!(
        matches!(e.state, DeliveryState::Expired | DeliveryState::Failed),
        "{e:?}"
    );
    assert!(
        e.last_error.unwrap_or_default().contains("expire"),
        "the log says the code expired"
    );
    let calls = fake.received().len();
    fake.set_default(Behavior::Accept);
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(
        fake.received().len(),
        calls,
        "an expired code is never sent"
    );
}

#[test]
fn an_operator_template_shapes_the_sms() {
    let fake = FakeTwilio::start(SID, TOKEN, Behavior::Accept);
    let templates = tempfile::tempdir().unwrap();
    std::fs::write(
        templates.path().join("sms.txt"),
        "ACME sign-in code: {code} (valid {minutes} min). Questions? Call the helpdesk.\n",
    )
    .unwrap();
    let h = Harness::start(&format!(
        "{FAST_DELIVERY}templates_dir = \"{}\"\n",
        templates.path().display()
    ));
    h.use_twilio("twilio-main", &fake.base_url(), TOKEN);
    h.user_with_phone("hank", "+14155550130");
    let c = h.begin("hank");
    assert!(is_sent(&h.wait_final("hank", WAIT)));
    let body = fake.received()[0].body.clone();
    assert!(
        body.starts_with("ACME sign-in code: ")
            && body.ends_with("(valid 5 min). Questions? Call the helpdesk."),
        "{body}"
    );
    assert!(matches!(
        h.verify(&c.session, Method::Sms, &code_in(&body)),
        PamReply::Accepted { .. }
    ));
    // A broken template refuses to queue, with the file and the placeholder named; the sign-in
    // still returns and says the code could not be sent.
    std::fs::write(templates.path().join("sms.txt"), "Code: {kode}").unwrap();
    let c = h.begin("hank");
    let info = c.info.unwrap_or_default();
    assert!(
        info.contains("could not be sent") && info.contains("{kode}"),
        "{info}"
    );
    assert_eq!(fake.received().len(), 1);
}

#[test]
fn an_api_key_and_a_messaging_service_replace_the_auth_token_and_sender_number() {
    let fake = FakeTwilio::start(SID, TOKEN, Behavior::Accept);
    let key = "SK0123456789abcdef0123456789abcdef";
    fake.state.lock().unwrap().api_key = Some((key.into(), "api-key-secret-42".into()));
    let h = Harness::start(FAST_DELIVERY);
    h.use_twilio("twilio-main", &fake.base_url(), TOKEN);
    let input = admin::IntegrationInput {
        name: "twilio-main".into(),
        kind: twofold_core::store::delivery::IntegrationKind::Twilio,
        settings: serde_json::json!({
            "base_url": fake.base_url(), "account_sid": SID, "api_key_sid": key,
            "messaging_service_sid": "MG0123456789abcdef0123456789abcdef",
        }),
        secrets: serde_json::json!({"auth_token": "api-key-secret-42"}),
    };
    admin::add_integration(&h.daemon, ADMIN, &input, true).unwrap();
    let r = h.blocking(|d| admin::check_integration(d, ADMIN, "twilio-main").unwrap());
    assert!(r.ok, "{}", r.detail);
    h.user_with_phone("ivy", "+14155550135");
    h.begin("ivy");
    assert!(is_sent(&h.wait_final("ivy", WAIT)));
    let m = &fake.received()[0];
    assert_eq!((m.account.as_str(), m.auth_user.as_str()), (SID, key));
    assert_eq!(m.from, None);
    assert_eq!(
        m.messaging_service_sid.as_deref(),
        Some("MG0123456789abcdef0123456789abcdef")
    );
}
