//! `twofoldctl settings show|set|export|import` against a real twofoldd.

mod cli_support;
#[allow(unused_imports)]
mod common;

use cli_support::{admin_name, audit, ctl, ctl_json, settings};
use common::TestDaemon;

#[test]
fn settings_show_lists_every_setting_and_marks_the_defaults() {
    let d = TestDaemon::start();
    cli_support::set(&d, &["max_invalid_attempts", "5"]);
    let r = ctl(&d, &["settings", "show"]);
    r.expect(0)
        .says("SETTING")
        .says("max_invalid_attempts")
        .says("changed (default 3)")
        .says("enforcement")
        .says("every_login");
    let line = r
        .out
        .lines()
        .find(|l| l.starts_with("allow_fallback_methods"))
        .expect("allow_fallback_methods row");
    assert!(line.ends_with("default"), "{line}");

    let (code, v) = ctl_json(&d, &["settings", "show"]);
    assert_eq!(code, 0);
    assert_eq!(v["version"], 1);
    assert_eq!(v["settings"]["max_invalid_attempts"], 5);
    let rows = v["rows"].as_array().expect("rows");
    let row = |k: &str| {
        rows.iter()
            .find(|r| r["key"] == k)
            .unwrap_or_else(|| panic!("no row {k}"))
    };
    assert_eq!(row("max_invalid_attempts")["is_default"], false);
    assert_eq!(row("max_invalid_attempts")["default"], 3);
    assert_eq!(row("methods.authenticator_app")["is_default"], true);
    assert_eq!(row("resend_limit")["value"], 3);
}

#[test]
fn settings_set_saves_a_new_version_and_audits_old_and_new_values_with_the_admin() {
    let d = TestDaemon::start();
    let r = ctl(
        &d,
        &[
            "settings",
            "set",
            "max_invalid_attempts",
            "no_limit",
            "methods.email",
            "true",
        ],
    );
    r.expect(0)
        .says("settings saved (version 1)")
        .says("max_invalid_attempts: 3 -> no_limit")
        .says("methods.email: false -> true");
    let (code, v) = ctl_json(&d, &["settings", "set", "resend_limit=5"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["version"], 2);
    assert_eq!(v["changed"][0]["key"], "resend_limit");
    assert_eq!(v["changed"][0]["old"], 3);
    assert_eq!(v["changed"][0]["new"], 5);
    let (s, version) = settings(&d);
    assert_eq!(version, 2);
    assert_eq!(s["max_invalid_attempts"], "no_limit");
    assert_eq!(s["methods"]["email"], true);
    let events = audit(&d, &["--type", "settings.change"]);
    assert_eq!(events.len(), 2, "{events:?}");
    assert_eq!(events[1]["actor"], admin_name());
    let detail = events[1]["detail"].as_str().unwrap_or("");
    assert!(
        detail.contains("max_invalid_attempts") && detail.contains("no_limit"),
        "{detail}"
    );
}

#[test]
fn a_value_outside_its_choices_is_a_usage_error_and_changes_nothing() {
    let d = TestDaemon::start();
    let before = settings(&d);
    let r = ctl(&d, &["settings", "set", "max_invalid_attempts", "7"]);
    r.expect(2)
        .complains("max_invalid_attempts must be one of 3, 5, 10 or \"no_limit\"")
        .complains("nothing was changed");
    let (code, v) = ctl_json(&d, &["settings", "set", "enforcement", "sometimes"]);
    assert_eq!(code, 2);
    assert_eq!(v["ok"], false);
    assert_eq!(v["kind"], "usage");
    ctl(&d, &["settings", "set", "methods.fax", "true"])
        .expect(2)
        .complains("unknown setting \"methods.fax\"");
    ctl(&d, &["settings", "set", "max_invalid_attempts"])
        .expect(2)
        .complains("has no value");
    assert_eq!(settings(&d), before);
    assert!(audit(&d, &["--type", "settings."]).is_empty());
}

#[test]
fn settings_that_fail_validation_as_a_whole_are_refused_with_the_daemons_message() {
    let d = TestDaemon::start();
    let before = settings(&d);
    let r = ctl(
        &d,
        &[
            "settings",
            "set",
            "methods.authenticator_app",
            "false",
            "methods.backup_codes",
            "false",
        ],
    );
    r.expect(1)
        .complains("settings refused")
        .complains("default method authenticator_app is not allowed")
        .complains("nothing was changed");
    let (code, v) = ctl_json(&d, &["settings", "set", "methods.sms", "true"]);
    assert_eq!(code, 1);
    assert_eq!(v["kind"], "refused");
    assert!(
        v["error"]
            .as_str()
            .unwrap_or("")
            .contains("no SMS provider integration is selected"),
        "{v}"
    );
    assert_eq!(settings(&d), before);
}

#[test]
fn settings_export_and_import_round_trip_through_toml() {
    let d = TestDaemon::start();
    cli_support::set(
        &d,
        &[
            "enforcement",
            "unrecognized_devices",
            "roles.wheel.exempt",
            "true",
        ],
    );
    let r = ctl(&d, &["settings", "export"]);
    r.expect(0).says("enforcement = \"unrecognized_devices\"");
    let toml_text = r.out.clone();
    let (code, v) = ctl_json(&d, &["settings", "export"]);
    assert_eq!(code, 0);
    assert_eq!(v["toml"], toml_text.as_str());

    let d2 = TestDaemon::start();
    let file = d2.dir().join("settings.toml");
    std::fs::write(&file, &toml_text).expect("write");
    let file_s = file.to_str().expect("path");
    ctl(&d2, &["settings", "import", file_s])
        .expect(0)
        .says("enforcement: every_login -> unrecognized_devices")
        .says("roles.wheel.exempt: (not set) -> true");
    assert_eq!(settings(&d2).0, settings(&d).0);

    // An invalid file is refused and changes nothing.
    let before = settings(&d2);
    std::fs::write(&file, "max_invalid_attempts = 4\n").expect("write");
    ctl(&d2, &["settings", "import", file_s])
        .expect(2)
        .complains("3, 5, 10");
    std::fs::write(
        &file,
        "enabled = true\n[methods]\nauthenticator_app = false\nbackup_codes = false\n",
    )
    .expect("write");
    let (code, v) = ctl_json(&d2, &["settings", "import", file_s]);
    assert_eq!(code, 1, "{v}");
    assert!(
        v["error"]
            .as_str()
            .unwrap_or("")
            .contains("no method is allowed"),
        "{v}"
    );
    ctl(&d2, &["settings", "import", "/nonexistent/settings.toml"])
        .expect(2)
        .complains("/nonexistent/settings.toml");
    assert_eq!(settings(&d2), before);
}

#[test]
fn an_oversized_settings_file_is_refused_before_it_reaches_the_daemon() {
    let d = TestDaemon::start();
    let before = settings(&d);
    let file = d.dir().join("huge.toml");
    let mut text = String::from("totp_issuer = \"x\"\n");
    text.push_str(&format!("# {}\n", "a".repeat(100_000)));
    std::fs::write(&file, text).expect("write");
    ctl(&d, &["settings", "import", file.to_str().expect("path")])
        .expect(2)
        .complains("more than the daemon accepts");
    assert_eq!(settings(&d), before);
}
