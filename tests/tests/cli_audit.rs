//! `twofoldctl audit` and `twofoldctl why` against a real twofoldd.

mod cli_support;
#[allow(unused_imports)]
mod common;

use cli_support::{audit, begin, ctl, ctl_json, enrolled, pam, seen};
use common::{TestDaemon, totp};
use twofold_core::proto::{Code, Method, PamOp, PamReply};

/// alice enrolled, then signed in with a code from 192.0.2.7.
fn alice_signed_in() -> TestDaemon {
    let d = TestDaemon::start();
    let (key, _) = enrolled(&d, "alice");
    let PamReply::Challenge(ch) = begin(&d, "alice", "sshd", Some("192.0.2.7")) else {
        panic!("alice was not challenged");
    };
    // The enrollment used this step's code: the next step's is the first one still unused.
    let r = pam(
        &d,
        PamOp::Verify {
            session: ch.session,
            method: Method::AuthenticatorApp,
            code: Code::new(totp::code_now(&key, 1)),
        },
    );
    assert!(matches!(r, PamReply::Accepted { .. }), "{r:?}");
    d
}

#[test]
fn audit_filters_by_user_type_time_and_limit() {
    let d = alice_signed_in();
    seen(&d, "bob");
    cli_support::set(&d, &["resend_limit", "5"]);
    let r = ctl(&d, &["audit"]);
    r.expect(0)
        .says("TIME")
        .says("ACTOR")
        .says("settings.change")
        .says("auth.");
    let all = audit(&d, &[]);
    assert!(all.len() >= 4, "{all:?}");
    let bob = audit(&d, &["--user", "bob"]);
    assert!(!bob.is_empty());
    assert!(bob.iter().all(|e| e["user"] == "bob"), "{bob:?}");
    let settings = audit(&d, &["--type", "settings."]);
    assert_eq!(settings.len(), 1);
    assert_eq!(settings[0]["event"], "settings.change");
    assert_eq!(audit(&d, &["--limit", "2"]).len(), 2);
    // Newest first.
    let at: Vec<i64> = all.iter().map(|e| e["at"].as_i64().unwrap_or(0)).collect();
    assert!(at.windows(2).all(|w| w[0] >= w[1]), "{at:?}");
    // Everything happened within the last hour, nothing before it, nothing in the future.
    assert_eq!(audit(&d, &["--since", "1h"]).len(), all.len());
    assert!(audit(&d, &["--until", "1h"]).is_empty());
    assert!(audit(&d, &["--since", "2999-01-01"]).is_empty());
    assert_eq!(
        audit(
            &d,
            &["--since", "2000-01-01", "--until", "2999-01-01T00:00:00Z"]
        )
        .len(),
        all.len()
    );
}

#[test]
fn audit_refuses_times_it_cannot_read() {
    let d = TestDaemon::start();
    ctl(&d, &["audit", "--since", "yesterday"])
        .expect(2)
        .complains("cannot read the time \"yesterday\"");
    ctl(
        &d,
        &["audit", "--since", "2026-02-01", "--until", "2026-01-01"],
    )
    .expect(2)
    .complains("is after --until");
    let (code, v) = ctl_json(&d, &["audit", "--limit", "0"]);
    assert_eq!(code, 2);
    assert_eq!(v["kind"], "usage");
}

#[test]
fn why_explains_the_last_decisions_reason_by_reason() {
    let d = alice_signed_in();
    let r = ctl(&d, &["why", "alice"]);
    r.expect(0)
        .says("alice's last decisions, newest first:")
        .says("sshd from 192.0.2.7")
        .says("1. enforcement is every_login")
        .says("If alice signed in now through sshd from no remote address: challenge")
        .says("challenge with the default method authenticator_app");
    let (code, v) = ctl_json(&d, &["why", "alice", "--limit", "2"]);
    assert_eq!(code, 0, "{v}");
    let history = v["history"].as_array().expect("history");
    assert_eq!(history.len(), 2);
    assert_eq!(history[0]["rhost"], "192.0.2.7");
    assert!(
        !history[0]["reasons"]
            .as_array()
            .expect("reasons")
            .is_empty()
    );
    assert_eq!(v["hypothetical"]["verdict"], "challenge");
    assert_eq!(
        v["hypothetical"]["methods"],
        serde_json::json!(["authenticator_app", "backup_code"])
    );
}

#[test]
fn why_decides_a_hypothetical_sign_in_by_address_and_role() {
    let d = alice_signed_in();
    cli_support::set(
        &d,
        &[
            "enforcement",
            "unrecognized_devices",
            "roles.wheel.exempt",
            "true",
        ],
    );
    let (_, before) = ctl_json(&d, &["why", "alice", "--limit", "100"]);
    let r = ctl(&d, &["why", "alice", "--rhost", "192.0.2.7"]);
    r.expect(0)
        .says("from 192.0.2.7: allow")
        .says("address 192.0.2.7 matches a sign-in with a second factor");
    let (code, v) = ctl_json(&d, &["why", "alice", "--rhost", "203.0.113.9"]);
    assert_eq!(code, 0);
    assert_eq!(v["hypothetical"]["verdict"], "challenge");
    assert!(
        v["hypothetical"]["reasons"]
            .to_string()
            .contains("neither a remembered device nor a known address matched"),
        "{v}"
    );
    let (code, v) = ctl_json(
        &d,
        &["why", "alice", "--service", "sudo", "--role", "wheel"],
    );
    assert_eq!(code, 0);
    assert_eq!(v["hypothetical"]["verdict"], "allow");
    assert_eq!(v["hypothetical"]["service"], "sudo");
    assert_eq!(v["hypothetical"]["roles_from"], "the command line");
    assert!(
        v["hypothetical"]["reasons"][0]
            .as_str()
            .unwrap_or("")
            .contains("role wheel is exempt"),
        "{v}"
    );
    // `why` decides without side effects: no sign-in was recorded.
    let (_, after) = ctl_json(&d, &["why", "alice", "--limit", "100"]);
    assert_eq!(after["history"], before["history"]);
    assert!(audit(&d, &["--type", "auth.", "--since", "1h"]).len() >= 2);
}

#[test]
fn why_for_a_user_who_never_finished_enrolling_says_so() {
    let d = TestDaemon::start();
    cli_support::pending(&d, "dave");
    let (code, v) = ctl_json(&d, &["why", "dave"]);
    assert_eq!(code, 0);
    assert_eq!(v["hypothetical"]["verdict"], "enroll");
    let reasons = v["hypothetical"]["reasons"].to_string();
    assert!(reasons.contains("pending"), "{reasons}");
    ctl(&d, &["why", "dave", "--limit", "500"])
        .expect(2)
        .complains("--limit must be at most 100");
}
