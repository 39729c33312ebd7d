//! `twofoldctl integrations ...`, `email test`, `delivery log` and `users remind-pending`
//! against a real twofoldd, a loopback Twilio-style provider and a loopback SMTP server.

mod cli_support;
#[allow(unused_imports)]
mod common;

use cli_support::fakes::{FakeProvider, Smtp};
use cli_support::{audit, ctl, ctl_json, pending};
use common::TestDaemon;

const SID: &str = "AC0123456789abcdef0123456789abcdef";
const TOKEN: &str = "s3cret-auth-token-value";

fn add_twilio(d: &TestDaemon, p: &FakeProvider, token: &str, replace: bool) -> cli_support::Run {
    let token_file = d.dir().join("token");
    std::fs::write(&token_file, format!("{token}\n")).expect("write");
    let base = format!("base_url={}", p.url);
    let secret = format!("auth_token={}", token_file.display());
    let sid = format!("account_sid={SID}");
    let mut args = vec![
        "integrations",
        "add",
        "twilio-main",
        "--kind",
        "twilio",
        "--set",
        &sid,
        "--set",
        "from=+14155550100",
        "--set",
        &base,
        "--secret-file",
        &secret,
    ];
    if replace {
        args.push("--replace");
    }
    ctl(d, &args)
}

#[test]
fn an_integration_is_added_listed_shown_selected_and_checked_without_showing_its_secret() {
    let d = TestDaemon::start();
    let p = FakeProvider::start(SID, TOKEN);
    add_twilio(&d, &p, TOKEN, false)
        .expect(0)
        .says("integration twilio-main (twilio) saved");
    let r = ctl(&d, &["integrations", "list"]);
    r.expect(0).says("NAME").says("twilio-main").says("unknown");
    let (code, v) = ctl_json(&d, &["integrations", "show", "twilio-main"]);
    assert_eq!(code, 0);
    assert_eq!(v["kind"], "twilio");
    assert_eq!(v["channel"], "sms");
    assert_eq!(v["has_secrets"], true);
    assert_eq!(v["selected"], false);
    assert_eq!(v["settings"]["account_sid"], SID);

    ctl(&d, &["integrations", "use-for-sms", "twilio-main"])
        .expect(0)
        .says("SMS codes are now sent through twilio-main");
    let (_, v) = ctl_json(&d, &["integrations", "list"]);
    assert_eq!(v["integrations"][0]["selected"], true);
    assert_eq!(cli_support::settings(&d).0["sms_provider"], "twilio-main");

    ctl(&d, &["integrations", "check"])
        .expect(0)
        .says("twilio-main: credentials accepted by the provider");
    let (code, v) = ctl_json(&d, &["integrations", "check", "twilio-main"]);
    assert_eq!(code, 0);
    assert_eq!(v["healthy"], true);
    ctl(&d, &["integrations", "show", "twilio-main"])
        .expect(0)
        .says("health:")
        .says("healthy")
        .says("stored (encrypted; never shown)");

    // A wrong token: the check says so, exits 1, and the health is recorded.
    add_twilio(&d, &p, "wrong-token", true).expect(0);
    let r = ctl(&d, &["integrations", "check", "twilio-main"]);
    r.expect(1).says("twilio-main: UNHEALTHY");
    let (code, v) = ctl_json(&d, &["integrations", "check", "twilio-main"]);
    assert_eq!(code, 1);
    assert_eq!(v["healthy"], false);
    let (_, v) = ctl_json(&d, &["integrations", "show", "twilio-main"]);
    assert_eq!(v["health"]["state"], "unhealthy");

    // The secret is never shown, nor written to the audit trail.
    for out in [
        ctl(&d, &["--json", "integrations", "list"]).out,
        ctl(&d, &["--json", "integrations", "show", "twilio-main"]).out,
        ctl(&d, &["--json", "audit"]).out,
    ] {
        assert!(
            !out.contains(TOKEN) && !out.contains("wrong-token"),
            "{out}"
        );
    }
    let events = audit(&d, &["--type", "integration."]);
    assert!(events.iter().any(|e| e["event"] == "integration.add"));
    assert!(events.iter().any(|e| e["event"] == "integration.check"));
}

#[test]
fn bad_integration_arguments_are_refused_and_change_nothing() {
    let d = TestDaemon::start();
    let p = FakeProvider::start(SID, TOKEN);
    ctl(
        &d,
        &["integrations", "add", "x", "--kind", "fax", "--set", "a=b"],
    )
    .expect(2)
    .complains("invalid value 'fax'");
    ctl(
        &d,
        &[
            "integrations",
            "add",
            "x",
            "--kind",
            "twilio",
            "--set",
            "nonsense",
        ],
    )
    .expect(2)
    .complains("is not KEY=VALUE");
    let r = ctl(
        &d,
        &[
            "integrations",
            "add",
            "x",
            "--kind",
            "twilio",
            "--set",
            "account_sid=AC1",
            "--set",
            "from=+14155550100",
        ],
    );
    r.expect(2).complains("auth_token");
    ctl(
        &d,
        &[
            "integrations",
            "add",
            "x",
            "--kind",
            "twilio",
            "--secret-file",
            "auth_token=/nonexistent/token",
        ],
    )
    .expect(2)
    .complains("/nonexistent/token");
    add_twilio(&d, &p, TOKEN, false).expect(0);
    add_twilio(&d, &p, TOKEN, false)
        .expect(2)
        .complains("already exists");
    ctl(&d, &["integrations", "show", "nope"])
        .expect(1)
        .complains("no integration named \"nope\"");
    ctl(&d, &["integrations", "use-for-sms", "nope"]).expect(1);
    let (_, v) = ctl_json(&d, &["integrations", "list"]);
    assert_eq!(v["integrations"].as_array().map(Vec::len), Some(1));
    assert!(cli_support::settings(&d).0["sms_provider"].is_null());
}

#[test]
fn a_test_sms_goes_through_the_provider_and_shows_in_the_delivery_log() {
    let d = TestDaemon::start();
    let p = FakeProvider::start(SID, TOKEN);
    ctl(&d, &["integrations", "test-sms", "+14155550123"])
        .expect(1)
        .complains("no SMS provider integration is selected");
    add_twilio(&d, &p, TOKEN, false).expect(0);
    ctl(&d, &["integrations", "use-for-sms", "twilio-main"]).expect(0);
    ctl(&d, &["integrations", "test-sms", "12345"]).expect(2);
    let r = ctl(&d, &["integrations", "test-sms", "+1 415 555 0123"]);
    r.expect(0).says("test SMS to").says(": sent");
    let (code, v) = ctl_json(&d, &["integrations", "test-sms", "+14155550123"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["outcome"], "sent");
    assert_eq!(v["integration"], "twilio-main");
    let posts = p
        .seen
        .lock()
        .expect("lock")
        .iter()
        .filter(|r| r.starts_with("POST") && r.ends_with("/Messages.json"))
        .count();
    assert_eq!(posts, 2);

    let r = ctl(&d, &["delivery", "log"]);
    r.expect(0).says("CHANNEL").says("sms").says("sent");
    assert!(
        !r.out.contains("4155550123"),
        "destination unmasked: {}",
        r.out
    );
    let (code, v) = ctl_json(
        &d,
        &["delivery", "log", "--channel", "sms", "--since", "1h"],
    );
    assert_eq!(code, 0);
    let entries = v["entries"].as_array().expect("entries");
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0]["outcome"], "sent");
    assert_eq!(entries[0]["purpose"], "test");
    let (_, v) = ctl_json(&d, &["delivery", "log", "--channel", "email"]);
    assert_eq!(v["entries"].as_array().map(Vec::len), Some(0));
    let (_, v) = ctl_json(&d, &["delivery", "log", "--since", "2999-01-01"]);
    assert_eq!(v["entries"].as_array().map(Vec::len), Some(0));
    ctl(&d, &["delivery", "log", "--channel", "fax"]).expect(2);

    // The cost question: messages per integration and day.
    let (code, v) = ctl_json(&d, &["delivery", "counts", "--days", "1"]);
    assert_eq!(code, 0);
    let counts = v["counts"].as_array().expect("counts");
    let queued: i64 = counts.iter().filter_map(|c| c["queued"].as_i64()).sum();
    let sent: i64 = counts.iter().filter_map(|c| c["sent"].as_i64()).sum();
    assert_eq!((queued, sent), (2, 2), "{v}");
    assert!(counts.iter().all(|c| c["channel"] == "sms"), "{v}");
    ctl(&d, &["delivery", "counts"])
        .expect(0)
        .says("PROVIDER CALLS");
    ctl(&d, &["delivery", "counts", "--days", "0"]).expect(2);
}

fn smtp_relay(d: &TestDaemon, smtp: &Smtp) {
    let port = format!("port={}", smtp.port);
    ctl(
        d,
        &[
            "integrations",
            "add",
            "relay",
            "--kind",
            "smtp",
            "--set",
            "host=127.0.0.1",
            "--set",
            &port,
            "--set",
            "security=none",
        ],
    )
    .expect(0)
    .says("twofoldctl settings set email.smtp_integration relay");
    cli_support::set(
        d,
        &[
            "email.from_address",
            "security@example.com",
            "email.from_name",
            "Example IT",
            "email.smtp_integration",
            "relay",
        ],
    );
}

fn unfold(data: &str) -> String {
    data.replace("=\r\n", "")
        .replace("=\n", "")
        .replace("\r\n", "\n")
}

#[test]
fn a_test_email_is_sent_through_the_smtp_relay() {
    let d = TestDaemon::start();
    let smtp = Smtp::start();
    ctl(&d, &["email", "test", "ops@example.com"])
        .expect(1)
        .complains("email cannot be sent");
    smtp_relay(&d, &smtp);
    ctl(&d, &["email", "test", "not an address"]).expect(2);
    let (code, v) = ctl_json(&d, &["email", "test", "ops@example.com"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["outcome"], "sent");
    let mail = smtp.wait_for(1);
    assert_eq!(mail.len(), 1);
    assert_eq!(mail[0].to, vec!["ops@example.com"]);
    assert!(
        unfold(&mail[0].data).contains("test message"),
        "{}",
        mail[0].data
    );
    ctl(&d, &["delivery", "log", "--channel", "email"])
        .expect(0)
        .says("email")
        .says("relay")
        .says("sent");
}

#[test]
fn remind_pending_emails_the_manual_entry_instructions_to_pending_users() {
    let d = TestDaemon::start();
    let smtp = Smtp::start();
    smtp_relay(&d, &smtp);
    pending(&d, "dave");
    pending(&d, "erin");
    cli_support::enrolled(&d, "alice");
    ctl(&d, &["users", "set-email", "dave", "dave@example.com"]).expect(0);
    ctl(&d, &["users", "set-email", "alice", "alice@example.com"]).expect(0);
    let r = ctl(&d, &["users", "remind-pending"]);
    r.expect(0)
        .says("reminder queued for 1 pending user(s): dave")
        .says("not sent to erin: no email address on file");
    let mail = smtp.wait_for(1);
    assert_eq!(mail.len(), 1, "{mail:?}");
    assert_eq!(mail[0].to, vec!["dave@example.com"]);
    let body = unfold(&mail[0].data);
    assert!(body.contains("Example IT"), "{body}");
    assert!(body.contains("text key shown beside the QR code"), "{body}");
    let ev = audit(&d, &["--type", "user.remind"]);
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0]["user"], "dave");
    assert_eq!(ev[0]["actor"], cli_support::admin_name());

    let (code, v) = ctl_json(&d, &["users", "remind-pending"]);
    assert_eq!(code, 0);
    assert_eq!(v["queued"], serde_json::json!(["dave"]));
    assert_eq!(v["skipped"][0]["user"], "erin");
    assert_eq!(smtp.wait_for(2).len(), 2);
    assert!(
        smtp.wait_for(2)
            .iter()
            .all(|m| m.to == vec!["dave@example.com"]),
        "an enrolled user was reminded"
    );
}
