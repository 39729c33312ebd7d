//! `twofoldctl doctor`'s daemon checks against a real twofoldd: settings, users, the store and
//! the delivery integrations, each symptom named with the support guide's fix.

mod cli_support;
#[allow(unused_imports)]
mod common;

use cli_support::doctor::{Fixture, check, doctor, finding};
use cli_support::fakes::FakeProvider;
use cli_support::{ctl, enrolled, pending};
use common::TestDaemon;

#[test]
fn the_master_toggle_off_is_named_with_its_fix() {
    let d = TestDaemon::start();
    cli_support::set(&d, &["enabled", "false"]);
    let (human, json) = doctor(&d, &Fixture::new("healthy"), &[]);
    finding(
        &human,
        &json,
        "settings.enabled",
        "fail",
        &["master toggle) is off"],
        "twofoldctl settings set enabled true",
    );
}

#[test]
fn required_enrollment_with_the_app_disallowed_is_named() {
    let d = TestDaemon::start();
    cli_support::set(
        &d,
        &[
            "methods.email",
            "true",
            "default_method",
            "email",
            "methods.authenticator_app",
            "false",
        ],
    );
    let (human, json) = doctor(&d, &Fixture::new("healthy"), &[]);
    human.expect(1);
    let v = json.json();
    let c = check(&v, "settings.required_enrollment");
    assert_eq!(c["status"], "fail");
    assert!(
        c["summary"]
            .as_str()
            .unwrap_or("")
            .contains("Required, but Allow the Authenticator App is off")
    );
    assert!(
        c["fix"]
            .as_str()
            .unwrap_or("")
            .contains("twofoldctl settings set methods.authenticator_app true")
    );
    human.says("[FAIL] settings.required_enrollment");
}

#[test]
fn fallback_off_with_a_user_whose_default_is_unavailable_is_named_with_both_fixes() {
    let d = TestDaemon::start();
    enrolled(&d, "alice");
    cli_support::set(
        &d,
        &[
            "methods.email",
            "true",
            "default_method",
            "email",
            "allow_fallback_methods",
            "false",
        ],
    );
    let (human, json) = doctor(&d, &Fixture::new("healthy"), &[]);
    human.expect(1).says("[FAIL] users.default_unavailable");
    let v = json.json();
    let c = check(&v, "users.default_unavailable");
    assert_eq!(c["status"], "fail");
    let s = c["summary"].as_str().unwrap_or("");
    assert!(
        s.contains("alice (default email: no email address is on file)"),
        "{s}"
    );
    let f = c["fix"].as_str().unwrap_or("");
    assert!(f.contains("twofoldctl users reset alice"), "{f}");
    assert!(
        f.contains("twofoldctl settings set allow_fallback_methods true"),
        "{f}"
    );
    // The guide's first fix works: after a reset alice is no longer stuck.
    ctl(&d, &["users", "reset", "alice"]).expect(0);
    let (_, json) = doctor(&d, &Fixture::new("healthy"), &[]);
    assert_eq!(
        check(&json.json(), "users.default_unavailable")["status"],
        "ok"
    );
}

#[test]
fn a_pending_backlog_is_a_warning_with_reminder_and_reset_fixes() {
    let d = TestDaemon::start();
    pending(&d, "dave");
    pending(&d, "erin");
    let (human, json) = doctor(&d, &Fixture::new("healthy"), &["--pending-threshold", "2"]);
    finding(
        &human,
        &json,
        "users.pending",
        "warn",
        &["2 user(s) are pending"],
        "twofoldctl users remind-pending",
    );
    let v = json.json();
    assert!(
        check(&v, "users.pending")["fix"]
            .as_str()
            .unwrap_or("")
            .contains("twofoldctl users reset-pending --yes")
    );
    // Under the threshold it is fine.
    let (_, json) = doctor(&d, &Fixture::new("healthy"), &["--pending-threshold", "3"]);
    json.expect(0);
}

fn sms_through(d: &TestDaemon, provider: &FakeProvider, token: &str) {
    let token_file = d.dir().join("twilio.token");
    std::fs::write(&token_file, format!("{token}\n")).expect("write");
    let base = format!("base_url={}", provider.url);
    let secret = format!("auth_token={}", token_file.display());
    ctl(
        d,
        &[
            "integrations",
            "add",
            "twilio-main",
            "--kind",
            "twilio",
            "--set",
            "account_sid=AC0123456789abcdef0123456789abcdef",
            "--set",
            "from=+14155550100",
            "--set",
            &base,
            "--secret-file",
            &secret,
        ],
    )
    .expect(0);
    ctl(d, &["integrations", "use-for-sms", "twilio-main"]).expect(0);
    cli_support::set(d, &["methods.sms", "true"]);
}

#[test]
fn an_unhealthy_sms_integration_is_named_with_its_fix() {
    let d = TestDaemon::start();
    let provider = FakeProvider::start("AC0123456789abcdef0123456789abcdef", "right-token");
    sms_through(&d, &provider, "wrong-token");
    let (human, json) = doctor(&d, &Fixture::new("healthy"), &[]);
    finding(
        &human,
        &json,
        "delivery.sms",
        "fail",
        &["SMS provider integration twilio-main is unhealthy"],
        "twofoldctl integrations check twilio-main",
    );
    let v = json.json();
    assert!(
        check(&v, "delivery.sms")["cause"]
            .as_str()
            .unwrap_or("")
            .contains("SMS provider Integration is unhealthy")
    );
    assert!(
        provider
            .seen
            .lock()
            .expect("lock")
            .iter()
            .any(|r| r.starts_with("GET /2010-04-01/Accounts/")),
        "the doctor did not check the credentials with the provider"
    );
    // Without contacting the provider, the last known health is reported.
    let seen = provider.seen.lock().expect("lock").len();
    let (_, json) = doctor(&d, &Fixture::new("healthy"), &["--no-provider-check"]);
    assert_eq!(check(&json.json(), "delivery.sms")["status"], "fail");
    assert_eq!(provider.seen.lock().expect("lock").len(), seen);
}

#[test]
fn a_healthy_sms_integration_passes() {
    let d = TestDaemon::start();
    let provider = FakeProvider::start("AC0123456789abcdef0123456789abcdef", "right-token");
    sms_through(&d, &provider, "right-token");
    // Never checked and never used: without contacting the provider there is nothing to say.
    let (_, json) = doctor(&d, &Fixture::new("healthy"), &["--no-provider-check"]);
    assert_eq!(check(&json.json(), "delivery.sms")["status"], "skip");
    assert!(provider.seen.lock().expect("lock").is_empty());
    let (_, json) = doctor(&d, &Fixture::new("healthy"), &[]);
    let v = json.json();
    assert_eq!(check(&v, "delivery.sms")["status"], "ok", "{v}");
    json.expect(0);
}

#[test]
fn an_unreachable_smtp_relay_is_named_with_its_fix() {
    let d = TestDaemon::start();
    // A port nothing listens on.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let port_s = format!("port={port}");
    ctl(
        &d,
        &[
            "integrations",
            "add",
            "relay",
            "--kind",
            "smtp",
            "--set",
            "host=127.0.0.1",
            "--set",
            &port_s,
            "--set",
            "security=none",
        ],
    )
    .expect(0);
    cli_support::set(
        &d,
        &[
            "email.from_address",
            "security@example.com",
            "email.smtp_integration",
            "relay",
            "methods.email",
            "true",
        ],
    );
    let (human, json) = doctor(&d, &Fixture::new("healthy"), &[]);
    finding(
        &human,
        &json,
        "delivery.smtp",
        "fail",
        &["the SMTP relay is not reachable"],
        "twofoldctl email test ADDR",
    );
}
