//! `twofoldctl doctor` against a real twofoldd and deliberately broken fixtures
//! (`tests/fixtures/doctor/*`): each symptom is named with its fix, and a healthy setup reports
//! all clear.

mod cli_support;
#[allow(unused_imports)]
mod common;

use cli_support::fakes::{FakeProvider, Sntp};
use cli_support::{Run, ctl, ctl_at, enrolled, pending};
use common::TestDaemon;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// A copy of `tests/fixtures/doctor/NAME` with `@DIR@` replaced by the copy's path.
struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new(name: &str) -> Fixture {
        let src = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/doctor")
            .join(name);
        assert!(src.is_dir(), "no fixture {}", src.display());
        let dir = tempfile::tempdir().expect("tempdir");
        copy(&src, dir.path(), dir.path());
        Fixture { dir }
    }
    fn sshd_config(&self) -> PathBuf {
        self.dir.path().join("sshd_config")
    }
    fn pam_dir(&self) -> PathBuf {
        self.dir.path().join("pam.d")
    }
}

fn copy(src: &Path, dst: &Path, root: &Path) {
    std::fs::create_dir_all(dst).expect("mkdir");
    for e in std::fs::read_dir(src).expect("read fixture") {
        let e = e.expect("entry");
        let to = dst.join(e.file_name());
        if e.path().is_dir() {
            copy(&e.path(), &to, root);
        } else {
            let text = std::fs::read_to_string(e.path()).expect("read");
            std::fs::write(&to, text.replace("@DIR@", &root.display().to_string())).expect("write");
        }
    }
}

/// The doctor's report on `fixture` (sshd read from the files), clock against a correct SNTP
/// server; human and JSON runs.
fn doctor(d: &TestDaemon, fx: &Fixture, extra: &[&str]) -> (Run, Run) {
    let sntp = Sntp::start(0.0);
    let cfg = fx.sshd_config();
    let pam = fx.pam_dir();
    let mut args = vec![
        "doctor",
        "--sshd-mode",
        "files",
        "--sshd-config",
        cfg.to_str().expect("path"),
        "--pam-dir",
        pam.to_str().expect("path"),
        "--time-source",
        &sntp.addr,
    ];
    args.extend_from_slice(extra);
    let human = ctl(d, &args);
    let mut j = vec!["--json"];
    j.extend_from_slice(&args);
    let json = ctl(d, &j);
    (human, json)
}

fn checks(v: &Value) -> &[Value] {
    v["checks"].as_array().map(Vec::as_slice).unwrap_or(&[])
}

/// The check with this id; panics listing the ids present.
#[track_caller]
fn check<'a>(v: &'a Value, id: &str) -> &'a Value {
    checks(v).iter().find(|c| c["id"] == id).unwrap_or_else(|| {
        let ids: Vec<&str> = checks(v).iter().filter_map(|c| c["id"].as_str()).collect();
        panic!("no check {id}; present: {ids:?}")
    })
}

/// Asserts one finding: its status, words in its summary and fix, in JSON and in the table;
/// and that it is the only problem in the report.
#[track_caller]
fn finding(human: &Run, json: &Run, id: &str, status: &str, summary: &[&str], fix: &str) {
    json.expect(1);
    human.expect(1);
    let v = json.json();
    assert_eq!(v["all_clear"], false);
    let c = check(&v, id);
    assert_eq!(c["status"], status, "{c}");
    let s = c["summary"].as_str().unwrap_or("");
    for w in summary {
        assert!(s.contains(w), "summary of {id} lacks {w:?}: {s}");
    }
    assert!(c["cause"].as_str().is_some_and(|x| !x.is_empty()), "{c}");
    let f = c["fix"].as_str().unwrap_or("");
    assert!(f.contains(fix), "fix of {id} lacks {fix:?}: {f}");
    let problems: Vec<&str> = checks(&v)
        .iter()
        .filter(|c| c["status"] == "warn" || c["status"] == "fail")
        .filter_map(|c| c["id"].as_str())
        .collect();
    // A problem in common-auth shows in every service that includes it, under the same kind.
    let kind = id.rsplit('.').next().unwrap_or(id);
    assert!(
        problems.contains(&id)
            && problems
                .iter()
                .all(|p| *p == id || (id.starts_with("pam.") && p.ends_with(&format!(".{kind}")))),
        "other problems were reported: {v}"
    );
    let tag = if status == "fail" { "[FAIL]" } else { "[WARN]" };
    human
        .says(&format!("{tag} {id}: "))
        .says("fix:   ")
        .says(fix);
}

#[test]
fn a_healthy_setup_reports_all_clear() {
    let d = TestDaemon::start();
    let fx = Fixture::new("healthy");
    let (human, json) = doctor(&d, &fx, &[]);
    json.expect(0);
    let v = json.json();
    assert_eq!(v["all_clear"], true, "{v}");
    assert_eq!(v["counts"]["fail"], 0);
    assert_eq!(v["counts"]["warn"], 0);
    for id in [
        "daemon",
        "settings.enabled",
        "settings.methods",
        "settings.required_enrollment",
        "store.durability",
        "users.default_unavailable",
        "users.pending",
        "delivery.sms",
        "delivery.smtp",
        "sshd.use_pam",
        "sshd.kbd_interactive",
        "sshd.authentication_methods",
        "pam.sshd",
        "pam.login",
        "pam.sudo",
        "pam.common-auth",
        "clock.skew",
    ] {
        assert_eq!(check(&v, id)["status"], "ok", "{id}: {}", check(&v, id));
    }
    assert!(
        check(&v, "store.durability")["summary"]
            .as_str()
            .unwrap_or("")
            .contains("synchronous=FULL")
    );
    human
        .expect(0)
        .says("[ ok ] sshd.kbd_interactive: KbdInteractiveAuthentication yes")
        .says("all clear:");
}

#[test]
fn a_drop_in_that_turns_keyboard_interactive_off_is_named_with_its_fix() {
    let d = TestDaemon::start();
    let fx = Fixture::new("kbdint_dropin");
    let (human, json) = doctor(&d, &fx, &[]);
    finding(
        &human,
        &json,
        "sshd.kbd_interactive",
        "fail",
        &[
            "KbdInteractiveAuthentication is no",
            "50-cloud-init.conf line 1",
            "sshd_config line 4",
            "sshd keeps the first value it reads",
        ],
        "change it to `KbdInteractiveAuthentication yes` in",
    );
    human.says("50-cloud-init.conf");
}

#[test]
fn use_pam_off_is_named_with_its_fix() {
    let d = TestDaemon::start();
    let (human, json) = doctor(&d, &Fixture::new("usepam_no"), &[]);
    finding(
        &human,
        &json,
        "sshd.use_pam",
        "fail",
        &["UsePAM is no", "sshd_config line 3"],
        "set `UsePAM yes`",
    );
}

#[test]
fn an_authentication_methods_list_without_keyboard_interactive_is_named() {
    let d = TestDaemon::start();
    let (human, json) = doctor(&d, &Fixture::new("authmethods_publickey"), &[]);
    finding(
        &human,
        &json,
        "sshd.authentication_methods",
        "fail",
        &["AuthenticationMethods publickey keyboard-interactive"],
        "publickey,keyboard-interactive",
    );
    let v = json.json();
    let cause = check(&v, "sshd.authentication_methods")["cause"].to_string();
    assert!(cause.contains("publickey"), "{cause}");
}

#[test]
fn key_users_skipping_pam_is_a_warning() {
    let d = TestDaemon::start();
    let (human, json) = doctor(&d, &Fixture::new("authmethods_any"), &[]);
    finding(
        &human,
        &json,
        "sshd.authentication_methods",
        "warn",
        &["AuthenticationMethods is any", "not set in any file"],
        "AuthenticationMethods publickey,keyboard-interactive",
    );
}

#[test]
fn nullok_before_pam_permit_is_named_with_its_fix() {
    let d = TestDaemon::start();
    let (human, json) = doctor(&d, &Fixture::new("pam_nullok_permit"), &[]);
    finding(
        &human,
        &json,
        "pam.sshd.nullok_permit",
        "fail",
        &[
            "pam_twofold.so nullok",
            "pam_permit.so",
            "pam.d/sshd line 3",
        ],
        "remove `nullok`",
    );
}

#[test]
fn a_sufficient_password_module_before_pam_twofold_is_a_bypass() {
    let d = TestDaemon::start();
    let v = {
        let (human, json) = doctor(&d, &Fixture::new("pam_sufficient_bypass"), &[]);
        human.expect(1).says("[FAIL] pam.sshd.bypass");
        json.expect(1);
        json.json()
    };
    // common-auth is included by sshd, login and sudo: each is named, and common-auth itself.
    for id in [
        "pam.sshd.bypass",
        "pam.login.bypass",
        "pam.sudo.bypass",
        "pam.common-auth.bypass",
    ] {
        let c = check(&v, id);
        assert_eq!(c["status"], "fail");
        let s = c["summary"].as_str().unwrap_or("");
        assert!(
            s.contains("auth sufficient pam_unix.so nullok") && s.contains("common-auth line 1"),
            "{s}"
        );
        assert!(
            c["fix"]
                .as_str()
                .unwrap_or("")
                .contains("change its control to `required`"),
            "{c}"
        );
    }
}

#[test]
fn pam_permit_sufficient_before_pam_twofold_lets_everyone_in() {
    let d = TestDaemon::start();
    let (human, json) = doctor(&d, &Fixture::new("pam_permit_sufficient"), &[]);
    finding(
        &human,
        &json,
        "pam.sshd.bypass",
        "fail",
        &[
            "auth sufficient pam_permit.so",
            "ends the stack with success",
        ],
        "change its control",
    );
    let v = json.json();
    assert!(
        check(&v, "pam.sshd.bypass")["cause"]
            .as_str()
            .unwrap_or("")
            .contains("pam_permit.so always succeeds")
    );
}

#[test]
fn a_success_jump_over_pam_twofold_is_a_bypass() {
    let d = TestDaemon::start();
    let (human, json) = doctor(&d, &Fixture::new("pam_jump"), &["--pam-service", "sshd"]);
    human.expect(1);
    let v = json.json();
    let c = check(&v, "pam.sshd.bypass");
    assert_eq!(c["status"], "fail");
    assert!(
        c["summary"]
            .as_str()
            .unwrap_or("")
            .contains("jumps over pam_twofold.so on success"),
        "{c}"
    );
}

#[test]
fn a_service_without_pam_twofold_is_named_for_each_service() {
    let d = TestDaemon::start();
    let (human, json) = doctor(&d, &Fixture::new("pam_missing"), &[]);
    human.expect(1).says("[FAIL] pam.sshd.missing");
    let v = json.json();
    for s in ["sshd", "login", "sudo"] {
        let c = check(&v, &format!("pam.{s}.missing"));
        assert_eq!(c["status"], "fail");
        assert!(
            c["fix"]
                .as_str()
                .unwrap_or("")
                .contains("add `auth required pam_twofold.so`"),
            "{c}"
        );
    }
    assert_eq!(check(&v, "pam.common-auth")["status"], "ok");
}

#[test]
fn an_optional_pam_twofold_that_ignores_wrong_codes_is_named() {
    let d = TestDaemon::start();
    let (human, json) = doctor(
        &d,
        &Fixture::new("pam_optional"),
        &["--pam-service", "sshd"],
    );
    finding(
        &human,
        &json,
        "pam.sshd.control",
        "fail",
        &[
            "a wrong code does not fail the sign-in",
            "auth optional pam_twofold.so",
        ],
        "use `auth required pam_twofold.so`",
    );
}

#[test]
fn a_code_asked_before_the_password_is_a_warning() {
    let d = TestDaemon::start();
    let (human, json) = doctor(&d, &Fixture::new("pam_order"), &["--pam-service", "sshd"]);
    finding(
        &human,
        &json,
        "pam.sshd.order",
        "warn",
        &["runs before pam_unix.so"],
        "move `auth required pam_twofold.so` after pam_unix.so",
    );
}

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
}

#[test]
fn a_healthy_sms_integration_passes() {
    let d = TestDaemon::start();
    let provider = FakeProvider::start("AC0123456789abcdef0123456789abcdef", "right-token");
    sms_through(&d, &provider, "right-token");
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

#[test]
fn clock_skew_against_a_time_source_is_judged_by_the_totp_step() {
    let d = TestDaemon::start();
    let fx = Fixture::new("healthy");
    let run = |skew: f64| {
        let sntp = Sntp::start(skew);
        let r = ctl(
            &d,
            &[
                "--json",
                "doctor",
                "--daemon-only",
                "--time-source",
                &sntp.addr,
            ],
        );
        let _ = &fx;
        (r, sntp.answered.load(std::sync::atomic::Ordering::SeqCst))
    };
    // --daemon-only skips the host checks, clock included.
    let (r, answered) = run(95.0);
    assert_eq!(answered, 0);
    r.expect(0);

    let check_clock = |skew: f64| {
        let sntp = Sntp::start(skew);
        let cfg = fx.sshd_config();
        let pam = fx.pam_dir();
        let r = ctl(
            &d,
            &[
                "--json",
                "doctor",
                "--sshd-mode",
                "files",
                "--sshd-config",
                cfg.to_str().expect("path"),
                "--pam-dir",
                pam.to_str().expect("path"),
                "--time-source",
                &sntp.addr,
            ],
        );
        assert!(sntp.answered.load(std::sync::atomic::Ordering::SeqCst) >= 1);
        (r.code, check(&r.json(), "clock.skew").clone())
    };
    let (code, c) = check_clock(95.0);
    assert_eq!(code, 1);
    assert_eq!(c["status"], "fail");
    assert!(
        c["summary"].as_str().unwrap_or("").contains("behind"),
        "{c}"
    );
    assert!(
        c["fix"]
            .as_str()
            .unwrap_or("")
            .contains("timedatectl set-ntp true")
    );
    let (code, c) = check_clock(-12.0);
    assert_eq!((code, c["status"].as_str()), (1, Some("warn")), "{c}");
    assert!(
        c["summary"].as_str().unwrap_or("").contains("ahead of"),
        "{c}"
    );
    let (code, c) = check_clock(0.0);
    assert_eq!((code, c["status"].as_str()), (0, Some("ok")), "{c}");

    // A source that does not answer is reported, not guessed.
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
    let addr = silent.local_addr().expect("addr").to_string();
    let r = ctl(&d, &["doctor", "--daemon-only", "--time-source", &addr]);
    r.expect(0);
    let r = ctl(
        &d,
        &[
            "doctor",
            "--sshd-mode",
            "files",
            "--sshd-config",
            fx.sshd_config().to_str().expect("path"),
            "--pam-dir",
            fx.pam_dir().to_str().expect("path"),
            "--time-source",
            &addr,
        ],
    );
    r.expect(1)
        .says("[FAIL] clock.skew: cannot measure the clock");
}

#[test]
fn an_unreachable_daemon_is_named_and_the_host_checks_still_run() {
    let fx = Fixture::new("healthy");
    let gone = fx.dir.path().join("nobody.sock");
    let r = ctl_at(
        &gone,
        &[
            "--json",
            "doctor",
            "--sshd-mode",
            "files",
            "--sshd-config",
            fx.sshd_config().to_str().expect("path"),
            "--pam-dir",
            fx.pam_dir().to_str().expect("path"),
        ],
    );
    r.expect(1);
    let v = r.json();
    let c = check(&v, "daemon");
    assert_eq!(c["status"], "fail");
    assert!(
        c["summary"]
            .as_str()
            .unwrap_or("")
            .contains("cannot reach twofoldd")
    );
    assert!(
        c["fix"]
            .as_str()
            .unwrap_or("")
            .contains("systemctl start twofoldd")
    );
    assert_eq!(check(&v, "sshd.use_pam")["status"], "ok");
    assert_eq!(check(&v, "pam.sshd")["status"], "ok");
    ctl_at(&gone, &["doctor", "--daemon-only"])
        .expect(1)
        .says("[FAIL] daemon: twofoldd did not answer");
}

/// `sshd -T` on the real sshd, when it is installed: the same findings as reading the files.
#[test]
fn the_real_sshd_t_agrees_with_the_file_reader() {
    let sshd = Path::new("/usr/sbin/sshd");
    if !sshd.exists() {
        println!("SKIPPED: /usr/sbin/sshd is not installed");
        return;
    }
    // sshd -T needs its privilege separation directory (root only).
    if common::is_root() {
        let _ = std::fs::create_dir_all("/run/sshd");
    }
    let d = TestDaemon::start();
    for (name, id, status) in [
        ("healthy", "sshd.kbd_interactive", "ok"),
        ("usepam_no", "sshd.use_pam", "fail"),
        ("authmethods_any", "sshd.authentication_methods", "warn"),
    ] {
        let fx = Fixture::new(name);
        let r = ctl(
            &d,
            &[
                "--json",
                "doctor",
                "--sshd-mode",
                "sshd-t",
                "--sshd-config",
                fx.sshd_config().to_str().expect("path"),
                "--pam-dir",
                fx.pam_dir().to_str().expect("path"),
            ],
        );
        let v = r.json();
        if let Some(c) = checks(&v).iter().find(|c| c["id"] == "sshd.effective") {
            println!("SKIPPED: sshd -T cannot run here: {}", c["summary"]);
            return;
        }
        let c = check(&v, id);
        assert_eq!(c["status"], status, "{name}: {c}");
        assert!(
            c["summary"].as_str().unwrap_or("").contains("-T`"),
            "{name}: the value did not come from sshd -T: {c}"
        );
    }
    // sshd refuses a configuration whose AuthenticationMethods names a disabled method; the
    // doctor reports sshd's own words and still attributes the drop-in from the files.
    let fx = Fixture::new("kbdint_dropin");
    let r = ctl(
        &d,
        &[
            "--json",
            "doctor",
            "--sshd-config",
            fx.sshd_config().to_str().expect("path"),
            "--pam-dir",
            fx.pam_dir().to_str().expect("path"),
        ],
    );
    let v = r.json();
    assert_eq!(check(&v, "sshd.config_valid")["status"], "fail", "{v}");
    let c = check(&v, "sshd.kbd_interactive");
    assert_eq!(c["status"], "fail");
    assert!(
        c["summary"]
            .as_str()
            .unwrap_or("")
            .contains("50-cloud-init.conf")
    );
}
