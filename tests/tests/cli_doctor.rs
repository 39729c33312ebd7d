//! `twofoldctl doctor`'s host checks against deliberately broken fixtures
//! (`tests/fixtures/doctor/*`: sshd drop-ins, PAM stacks) and a loopback SNTP server: each
//! symptom is named with its fix, and a healthy setup reports all clear.

mod cli_support;
#[allow(unused_imports)]
mod common;

use cli_support::doctor::{Fixture, check, checks, doctor, finding};
use cli_support::fakes::Sntp;
use cli_support::{ctl, ctl_at};
use common::TestDaemon;
use std::path::Path;

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
