//! `twofoldctl users ...` against a real twofoldd whose users reached each state through the
//! daemon's PAM socket.

mod cli_support;
#[allow(unused_imports)]
mod common;

use cli_support::{admin_name, audit, ctl, ctl_json, enrolled, pending, seen, user_state};
use common::TestDaemon;
use serde_json::Value;

/// carol not enrolled, dave pending, alice and bob enrolled, bob locked.
fn four_states() -> TestDaemon {
    let d = TestDaemon::start();
    cli_support::set(&d, &["max_consecutive_failures", "2"]);
    seen(&d, "carol");
    pending(&d, "dave");
    enrolled(&d, "alice");
    enrolled(&d, "bob");
    cli_support::wrong_codes(&d, "bob", 2);
    d
}

fn names(v: &Value) -> Vec<String> {
    v["users"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|u| u["name"].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn overview_counts_users_per_state() {
    let d = four_states();
    ctl(&d, &["users", "overview"])
        .expect(0)
        .says("STATE")
        .says("pending       1")
        .says("enrolled      2")
        .says("not enrolled  1")
        .says("locked        1")
        .says("twofoldctl users remind-pending");
    let (code, v) = ctl_json(&d, &["users", "overview"]);
    assert_eq!(code, 0);
    assert_eq!(
        v,
        serde_json::json!({"not_enrolled": 1, "pending": 1, "enrolled": 2, "locked": 1, "total": 4})
    );
}

#[test]
fn list_shows_status_and_methods_and_filters_by_status() {
    let d = four_states();
    let r = ctl(&d, &["users", "list"]);
    r.expect(0).says("USER").says("METHODS");
    let alice = r
        .out
        .lines()
        .find(|l| l.starts_with("alice"))
        .expect("alice row");
    assert!(alice.contains("enrolled"), "{alice}");
    assert!(alice.contains("authenticator_app, backup_code"), "{alice}");
    let bob = r
        .out
        .lines()
        .find(|l| l.starts_with("bob"))
        .expect("bob row");
    assert!(bob.contains("locked"), "{bob}");

    let (code, v) = ctl_json(&d, &["users", "list"]);
    assert_eq!(code, 0);
    assert_eq!(names(&v), vec!["alice", "bob", "carol", "dave"]);
    assert_eq!(v["users"][0]["backup_codes_left"], 10);
    for (status, want) in [
        ("pending", vec!["dave"]),
        ("enrolled", vec!["alice", "bob"]),
        ("not_enrolled", vec!["carol"]),
        ("locked", vec!["bob"]),
    ] {
        let (code, v) = ctl_json(&d, &["users", "list", "--status", status]);
        assert_eq!(code, 0);
        assert_eq!(names(&v), want, "{status}");
    }
    ctl(&d, &["users", "list", "--status", "sleepy"])
        .expect(2)
        .complains("invalid value 'sleepy'");
}

#[test]
fn show_masks_contact_details_and_lists_sign_ins_with_their_reasons() {
    let d = four_states();
    ctl(&d, &["users", "set-phone", "alice", "+1 415 555 0123"])
        .expect(0)
        .says("+14155550123");
    ctl(&d, &["users", "set-email", "alice", "alice@example.com"]).expect(0);
    let r = ctl(&d, &["users", "show", "alice"]);
    r.expect(0)
        .says("status:")
        .says("enrolled")
        .says("backup codes left:")
        .says("last sign-ins:")
        .says("sshd from 192.0.2.1")
        .says("1. ");
    assert!(
        !r.out.contains("4155550123"),
        "phone shown unmasked:\n{}",
        r.out
    );
    assert!(
        !r.out.contains("alice@example.com"),
        "email unmasked:\n{}",
        r.out
    );
    let (code, v) = ctl_json(&d, &["users", "show", "alice"]);
    assert_eq!(code, 0);
    assert_eq!(v["status"], "enrolled");
    assert_eq!(v["default_method"], "authenticator_app");
    assert_eq!(v["backup_codes_left"], 10);
    let phone = v["phone"].as_str().unwrap_or("");
    assert!(phone.ends_with("0123") && phone.contains('*'), "{phone}");
    assert!(v["email"].as_str().unwrap_or("").contains("***"), "{v}");
    let recent = v["recent"].as_array().expect("recent");
    assert!(!recent.is_empty());
    assert_eq!(recent[0]["service"], "sshd");
    assert!(!recent[0]["reasons"].as_array().expect("reasons").is_empty());

    let b = user_state(&d, "bob");
    assert_eq!(b["locked"], true);
    ctl(&d, &["users", "show", "bob"])
        .expect(0)
        .says("twofoldctl users unlock bob");
}

#[test]
fn an_unknown_user_is_refused_everywhere_and_nothing_is_created() {
    let d = four_states();
    for args in [
        vec!["users", "show", "mallory"],
        vec!["users", "reset", "mallory"],
        vec!["users", "unlock", "mallory"],
        vec!["users", "backup-codes", "mallory"],
        vec!["users", "set-phone", "mallory", "+14155550123"],
        vec!["users", "set-email", "mallory", "m@example.com"],
        vec!["why", "mallory"],
    ] {
        ctl(&d, &args)
            .expect(1)
            .complains("unknown user \"mallory\"");
    }
    let (_, v) = ctl_json(&d, &["users", "show", "mallory"]);
    assert_eq!(v["kind"], "refused");
    let (_, v) = ctl_json(&d, &["users", "list"]);
    assert!(!names(&v).contains(&"mallory".to_string()));
    ctl(&d, &["users", "show", "-rf"]).expect(2);
    ctl(&d, &["users", "show", "a b"])
        .expect(2)
        .complains("not valid");
}

#[test]
fn an_invalid_phone_number_is_refused_and_the_old_one_stays() {
    let d = four_states();
    ctl(&d, &["users", "set-phone", "alice", "+14155550123"]).expect(0);
    let before = user_state(&d, "alice");
    for bad in ["12345", "+1 555", "phone", "+999 123 456"] {
        let r = ctl(&d, &["users", "set-phone", "alice", bad]);
        r.expect(2);
        assert!(!r.err.is_empty(), "no message for {bad}");
    }
    let (code, v) = ctl_json(&d, &["users", "set-phone", "alice", "12345"]);
    assert_eq!(code, 2);
    assert_eq!(v["kind"], "usage");
    ctl(&d, &["users", "set-email", "alice", "not-an-address"]).expect(2);
    assert_eq!(user_state(&d, "alice"), before);
    assert_eq!(audit(&d, &["--type", "user.phone"]).len(), 1);
}

#[test]
fn set_phone_with_create_registers_a_user_not_yet_seen() {
    let d = TestDaemon::start();
    let (code, v) = ctl_json(
        &d,
        &["users", "set-phone", "erin", "+44 20 7946 0958", "--create"],
    );
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["phone"], "+442079460958");
    assert_eq!(user_state(&d, "erin")["status"], "not_enrolled");
    let (code, v) = ctl_json(&d, &["users", "set-email", "erin", "Erin@Example.com"]);
    assert_eq!(code, 0, "{v}");
    let ev = audit(&d, &["--user", "erin", "--type", "user."]);
    assert_eq!(ev.len(), 2, "{ev:?}");
    assert!(ev.iter().all(|e| e["actor"] == admin_name()));
}

#[test]
fn reset_returns_a_user_to_not_enrolled_and_names_the_admin_in_the_audit() {
    let d = four_states();
    ctl(&d, &["users", "reset", "alice"])
        .expect(0)
        .says("alice: enrollment reset");
    let s = user_state(&d, "alice");
    assert_eq!(s["status"], "not_enrolled");
    assert_eq!(s["backup_codes_left"], 0);
    let (code, v) = ctl_json(&d, &["users", "reset", "bob"]);
    assert_eq!(code, 0);
    assert_eq!(v["was"], "enrolled");
    let ev = audit(&d, &["--type", "user.reset", "--user", "alice"]);
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0]["actor"], admin_name());
    // The next sign-in enrolls again.
    assert!(matches!(
        cli_support::begin(&d, "alice", "sshd", None),
        twofold_core::proto::PamReply::Enroll(_)
    ));
}

#[test]
fn reset_pending_refuses_without_yes_and_changes_nothing() {
    let d = four_states();
    pending(&d, "frank");
    let r = ctl(&d, &["users", "reset-pending"]);
    r.expect(2)
        .complains("this would reset 2 pending user(s)")
        .complains("--yes")
        .complains("nothing was changed");
    let (code, v) = ctl_json(&d, &["users", "reset-pending"]);
    assert_eq!(code, 2);
    assert_eq!(v["kind"], "usage");
    assert_eq!(user_state(&d, "dave")["status"], "pending");
    assert!(audit(&d, &["--type", "user.reset"]).is_empty());

    let (code, v) = ctl_json(&d, &["users", "reset-pending", "--yes"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["count"], 2);
    assert_eq!(v["reset"], serde_json::json!(["dave", "frank"]));
    assert_eq!(user_state(&d, "dave")["status"], "not_enrolled");
    assert_eq!(user_state(&d, "alice")["status"], "enrolled");
    ctl(&d, &["users", "reset-pending", "--yes"])
        .expect(0)
        .says("no user was pending");
}

#[test]
fn unlock_clears_the_consecutive_failure_lock() {
    let d = four_states();
    let (code, v) = ctl_json(&d, &["users", "list", "--status", "locked"]);
    assert_eq!(code, 0);
    assert_eq!(names(&v), vec!["bob"]);
    ctl(&d, &["users", "unlock", "bob"])
        .expect(0)
        .says("bob: unlocked (2 consecutive failed codes cleared)");
    assert_eq!(user_state(&d, "bob")["locked"], false);
    let (code, v) = ctl_json(&d, &["users", "unlock", "bob"]);
    assert_eq!(code, 0);
    assert_eq!(v["failures_cleared"], 0);
    assert_eq!(audit(&d, &["--type", "user.unlock"]).len(), 2);
    assert!(matches!(
        cli_support::begin(&d, "bob", "sshd", None),
        twofold_core::proto::PamReply::Challenge(_)
    ));
}

#[test]
fn backup_codes_are_regenerated_shown_once_and_the_old_ones_stop_working() {
    let d = four_states();
    let (_, old) = enrolled(&d, "gina");
    let r = ctl(&d, &["users", "backup-codes", "gina"]);
    r.expect(0).says("shown only now");
    let (code, v) = ctl_json(&d, &["users", "backup-codes", "gina"]);
    assert_eq!(code, 0);
    let codes: Vec<String> = v["codes"]
        .as_array()
        .expect("codes")
        .iter()
        .map(|c| c.as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(codes.len(), 10);
    assert!(codes.iter().all(|c| !old.contains(c)));
    assert!(codes.iter().all(|c| !r.out.contains(c.as_str())));
    // An old code no longer signs in; a new one does.
    let try_code = |code: &str| {
        let twofold_core::proto::PamReply::Challenge(ch) =
            cli_support::begin(&d, "gina", "sshd", None)
        else {
            panic!("gina was not challenged");
        };
        cli_support::pam(
            &d,
            twofold_core::proto::PamOp::Verify {
                session: ch.session,
                method: twofold_core::proto::Method::BackupCode,
                code: twofold_core::proto::Code::new(code),
            },
        )
    };
    assert!(
        matches!(
            try_code(&old[0]),
            twofold_core::proto::PamReply::Rejected { .. }
        ),
        "an old backup code still works"
    );
    assert!(matches!(
        try_code(&codes[0]),
        twofold_core::proto::PamReply::Accepted { .. }
    ));
    // The codes are never written to the audit trail.
    for e in audit(&d, &["--user", "gina"]) {
        let detail = e["detail"].as_str().unwrap_or("");
        assert!(
            codes.iter().all(|c| !detail.contains(c.as_str())),
            "{detail}"
        );
    }
    // Not enrolled: refused, nothing issued.
    ctl(&d, &["users", "backup-codes", "carol"])
        .expect(1)
        .complains("has not enrolled");
}

#[test]
fn remind_pending_is_refused_clearly_when_email_cannot_be_sent() {
    let d = four_states();
    let r = ctl(&d, &["users", "remind-pending"]);
    r.expect(1).complains("email cannot be sent");
    let (code, v) = ctl_json(&d, &["users", "remind-pending"]);
    assert_eq!(code, 1);
    assert_eq!(v["kind"], "refused");
    assert!(audit(&d, &["--type", "user.remind"]).is_empty());
}
