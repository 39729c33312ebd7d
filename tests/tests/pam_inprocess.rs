//! `pam_twofold.so` through real libpam, in-process: a tiny PAM application
//! (`pam_start_confdir` on a scratch service directory that loads the built module by absolute
//! path) with scripted users, against a real `twofoldd` on a real SQLite file, one per test.
//!
//! Runs without root. Codes are computed with the tests' own TOTP (checked against `oathtool`).

mod common;

use common::pam::{self, Stack, answers, code, enroll, typing_code};
use common::{TestDaemon, totp};
use pam_testkit::{Handler, Message, Reply, Style};
use std::time::{Duration, Instant};
use twofold_core::proto::Method;
use twofold_core::settings::{EnrollmentPolicy, MaxInvalidAttempts, RoleSetting};
use twofold_core::store::{EnrollmentStatus, Store};

/// A code no enrolled secret produces now (the code of another secret).
fn foreign_code() -> String {
    totp::code_now("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", 0)
}

fn daemon_and_stack(args: &str) -> (TestDaemon, Stack) {
    let d = TestDaemon::start();
    let s = Stack::for_daemon(&d, args);
    (d, s)
}

/// Enrolls `user` through the conversation; returns the text key and the backup codes.
fn enrolled(stack: &Stack, user: &str) -> (String, Vec<String>) {
    let e = enroll(stack, user);
    assert_eq!(
        e.login.code,
        code::SUCCESS,
        "enrollment failed: {}\n{:?}",
        code::name(e.login.code),
        e.login.transcript
    );
    (e.key, e.backup_codes)
}

/// A user who answers the prompts in order with these texts.
fn typing(list: &[&str]) -> Handler<'static> {
    answers(list.iter().map(|s| s.to_string()).collect::<Vec<_>>())
}

/// A stack that shows whether the module returned PAM_IGNORE: after an ignore the stack goes
/// on to `pam_echo` (which says MARKER) and `pam_permit`; any other result ends it.
fn ignore_probe(d: &TestDaemon, args: &str) -> Stack {
    Stack::with_auth(&format!(
        "auth [success=done ignore=ignore default=die] {} socket={} {args}\nauth optional pam_echo.so MODULE-WAS-IGNORED\nauth required pam_permit.so",
        pam::module_path(),
        d.pam_socket.display()
    ))
}

fn was_ignored(l: &pam::Login) -> bool {
    l.code == code::SUCCESS && l.infos().contains("MODULE-WAS-IGNORED")
}

#[test]
fn the_tests_totp_matches_oathtool() {
    let key = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
    let before = totp::now_step();
    let out = std::process::Command::new("oathtool")
        .args(["--totp", "-b", key])
        .output()
        .expect("oathtool (Debian package oathtool) is needed");
    let after = totp::now_step();
    let theirs = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    assert!(
        theirs == totp::code_at(key, before) || theirs == totp::code_at(key, after),
        "oathtool says {theirs}"
    );
}

#[test]
fn only_the_pam_hooks_are_exported() {
    let out = std::process::Command::new("nm")
        .args(["-D", "--defined-only"])
        .arg(pam::module_path())
        .output()
        .expect("nm (binutils)");
    assert!(out.status.success());
    let mut names: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().nth(2).map(str::to_owned))
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "pam_sm_acct_mgmt",
            "pam_sm_authenticate",
            "pam_sm_chauthtok",
            "pam_sm_close_session",
            "pam_sm_open_session",
            "pam_sm_setcred"
        ]
    );
}

#[test]
fn a_new_user_enrolls_in_the_conversation_then_signs_in_with_a_code() {
    let (d, stack) = daemon_and_stack("");
    let e = enroll(&stack, "alice");
    assert_eq!(e.login.code, code::SUCCESS, "{:?}", e.login.transcript);
    let infos = e.login.infos();
    assert!(
        infos.contains("required for your account"),
        "required enrollment is announced: {infos}"
    );
    assert!(
        infos.contains('█') || infos.contains('▀') || infos.contains('▄'),
        "a QR code is drawn: {infos}"
    );
    assert_eq!(e.key.len(), 32, "a 160-bit key in base32: {}", e.key);
    assert_eq!(e.backup_codes.len(), 10, "{infos}");
    assert!(
        e.backup_codes
            .iter()
            .all(|c| c.len() == 14 && c.matches('-').count() == 2)
    );
    let user = d.store().get_user("alice").unwrap().unwrap();
    assert_eq!(user.status, EnrollmentStatus::Enrolled);

    let again = stack.login("alice", typing_code(&e.key, 1, 1));
    assert_eq!(again.code, code::SUCCESS, "{:?}", again.transcript);
    assert_eq!(again.prompts(), ["Verification code: "]);
    assert!(again.errors().is_empty());
}

#[test]
fn abandoning_enrollment_leaves_the_user_pending() {
    let (d, stack) = daemon_and_stack("");
    // Reads the screen, then gives no code.
    let l = stack.login("bob", answers(Vec::<String>::new()));
    assert_eq!(l.code, code::CONV_ERR);
    assert!(pam::text_key(&l.infos()).is_some(), "{}", l.infos());
    let user = d.store().get_user("bob").unwrap().unwrap();
    assert_eq!(user.status, EnrollmentStatus::Pending);
    // The next sign-in enrolls again with a fresh secret.
    let (key, _) = enrolled(&stack, "bob");
    assert_ne!(Some(key), pam::text_key(&l.infos()));
}

#[test]
fn a_wrong_code_is_explained_and_asked_again() {
    let (_d, stack) = daemon_and_stack("");
    let (key, _) = enrolled(&stack, "carol");
    let right = totp::code_now(&key, 1);
    let l = stack.login("carol", typing(&[&foreign_code(), &right]));
    assert_eq!(l.code, code::SUCCESS, "{:?}", l.transcript);
    assert_eq!(l.prompts().len(), 2);
    assert!(l.errors().contains("not valid"), "{}", l.errors());
    assert!(l.infos().contains("2 attempts left."), "{}", l.infos());
}

#[test]
fn a_reused_code_is_refused() {
    let (_d, stack) = daemon_and_stack("");
    let (key, _) = enrolled(&stack, "dave");
    let c = totp::code_now(&key, 1);
    let first = stack.login("dave", typing(&[&c]));
    assert_eq!(first.code, code::SUCCESS, "{:?}", first.transcript);
    let second = stack.login("dave", typing(&[&c, &c, &c]));
    assert_eq!(second.code, code::MAXTRIES, "{:?}", second.transcript);
    assert!(
        second.errors().contains("already used"),
        "{}",
        second.errors()
    );
}

#[test]
fn a_code_from_a_far_step_is_refused() {
    let (_d, stack) = daemon_and_stack("");
    let (key, _) = enrolled(&stack, "erin");
    let far = [
        totp::code_now(&key, 10),
        totp::code_now(&key, -10),
        totp::code_now(&key, 2880),
    ];
    let l = stack.login("erin", typing(&[&far[0], &far[1], &far[2]]));
    assert_eq!(l.code, code::MAXTRIES, "{:?}", l.transcript);
    assert!(l.errors().contains("not valid"), "{}", l.errors());
    // None of them was burned: the current code still works.
    let ok = stack.login("erin", typing_code(&key, 1, 1));
    assert_eq!(ok.code, code::SUCCESS, "{:?}", ok.transcript);
}

#[test]
fn empty_and_non_digit_answers_are_refused() {
    let (_d, stack) = daemon_and_stack("");
    let (key, _) = enrolled(&stack, "frank");
    let l = stack.login("frank", typing(&["", "abcdef", "12345"]));
    assert_eq!(l.code, code::MAXTRIES, "{:?}", l.transcript);
    assert!(l.errors().contains("not a 6-digit code"), "{}", l.errors());
    let l = stack.login("frank", typing(&["12 34 56x", "\u{1b}[2J", "123456789"]));
    assert_eq!(l.code, code::MAXTRIES, "{:?}", l.transcript);
    let ok = stack.login("frank", typing_code(&key, 1, 1));
    assert_eq!(ok.code, code::SUCCESS, "{:?}", ok.transcript);
}

#[test]
fn no_answer_is_a_conversation_error() {
    let (_d, stack) = daemon_and_stack("");
    let (_key, _) = enrolled(&stack, "gina");
    let l = stack.login("gina", answers(Vec::<String>::new()));
    assert_eq!(l.code, code::CONV_ERR);
    let l = stack.login("gina", Box::new(|_: &Message| Reply::Null));
    assert_eq!(l.code, code::CONV_ERR);
}

#[test]
fn a_user_without_a_factor_is_refused_or_ignored_with_nullok() {
    let d = TestDaemon::start();
    // Email only, and the user has no address: no usable second factor.
    d.update_settings(|s| {
        s.methods.authenticator_app = false;
        s.methods.backup_codes = false;
        s.methods.email = true;
        s.default_method = Method::Email;
    });
    let strict = Stack::for_daemon(&d, "");
    let l = strict.login("hank", answers(Vec::<String>::new()));
    assert_eq!(l.code, code::AUTH_ERR, "{:?}", l.transcript);
    assert!(l.prompts().is_empty());
    let l = ignore_probe(&d, "nullok").login("hank", answers(Vec::<String>::new()));
    assert!(was_ignored(&l), "{} {:?}", code::name(l.code), l.transcript);
    let l = ignore_probe(&d, "").login("hank", answers(Vec::<String>::new()));
    assert_eq!(l.code, code::AUTH_ERR);
}

#[test]
fn lockout_after_max_invalid_attempts_is_maxtries_and_a_fresh_login_works() {
    let (d, stack) = daemon_and_stack("");
    d.update_settings(|s| s.max_invalid_attempts = MaxInvalidAttempts::Five);
    let (key, _) = enrolled(&stack, "ivan");
    let wrong = foreign_code();
    let l = stack.login(
        "ivan",
        typing(&[&wrong, &wrong, &wrong, &wrong, &wrong, &wrong]),
    );
    assert_eq!(l.code, code::MAXTRIES, "{:?}", l.transcript);
    assert_eq!(
        l.prompts().len(),
        5,
        "the fifth invalid code ends the session"
    );
    assert!(l.infos().contains("1 attempt left."), "{}", l.infos());
    // The lockout counter is per verification session: a new sign-in starts clean.
    let fresh = stack.login("ivan", typing_code(&key, 1, 1));
    assert_eq!(fresh.code, code::SUCCESS, "{:?}", fresh.transcript);
}

#[test]
fn an_exempt_group_signs_in_without_a_prompt() {
    let (d, stack) = daemon_and_stack("");
    // `root` is in the `root` group and `daemon` in `daemon` on every Debian system (NSS).
    let before = stack.login("root", answers(Vec::<String>::new()));
    assert_ne!(before.code, code::SUCCESS, "not exempt yet");
    d.update_settings(|s| {
        s.roles.insert("root".into(), RoleSetting { exempt: true });
    });
    let l = stack.login("root", answers(Vec::<String>::new()));
    assert_eq!(l.code, code::SUCCESS, "{:?}", l.transcript);
    assert!(
        l.transcript.is_empty(),
        "nothing is shown: {:?}",
        l.transcript
    );
    let other = stack.login("daemon", answers(Vec::<String>::new()));
    assert_ne!(other.code, code::SUCCESS, "{:?}", other.transcript);
}

#[test]
fn fallback_on_lets_the_user_switch_to_a_backup_code() {
    let (_d, stack) = daemon_and_stack("");
    let (_key, backup) = enrolled(&stack, "judy");
    let l = stack.login("judy", typing(&["backup", &backup[0]]));
    assert_eq!(l.code, code::SUCCESS, "{:?}", l.transcript);
    assert!(l.infos().contains("'backup'"), "{}", l.infos());
    assert_eq!(l.prompts(), ["Verification code: ", "Backup code: "]);
    // A backup code works once.
    let again = stack.login(
        "judy",
        typing(&["backup", &backup[0], &backup[0], &backup[0]]),
    );
    assert_eq!(again.code, code::MAXTRIES, "{:?}", again.transcript);
}

#[test]
fn fallback_on_and_off_decide_whether_another_method_is_offered() {
    let (d, stack) = daemon_and_stack("");
    d.update_settings(|s| s.methods.email = true);
    let (key, _) = enrolled(&stack, "kim");
    d.store()
        .set_contact("kim", None, Some("kim@example.com"), None)
        .unwrap();

    // On: 'email' is offered, and typing it switches the session to an emailed code.
    let on = stack.login("kim", typing(&["email"]));
    assert!(on.infos().contains("'email'"), "{}", on.infos());
    assert_eq!(on.prompts().len(), 2, "{:?}", on.transcript);
    assert!(
        on.infos().contains("k***@example.com"),
        "the email challenge names the masked address: {}",
        on.infos()
    );

    // Off: users are locked to their default method; 'email' is not offered nor accepted.
    d.update_settings(|s| s.allow_fallback_methods = false);
    let right = totp::code_now(&key, 1);
    let off = stack.login("kim", typing(&["email", &right]));
    assert_eq!(off.code, code::SUCCESS, "{:?}", off.transcript);
    assert!(!off.infos().contains("'email'"), "{}", off.infos());
    assert!(off.errors().contains("not available"), "{}", off.errors());
}

#[test]
fn optional_enrollment_can_be_declined() {
    let (d, stack) = daemon_and_stack("");
    d.update_settings(|s| s.authenticator_enrollment = EnrollmentPolicy::Optional);
    let l = stack.login("lena", typing(&["n"]));
    assert_eq!(l.code, code::SUCCESS, "{:?}", l.transcript);
    assert_eq!(l.prompts(), ["Set up an authenticator app now? [y/N] "]);
    let user = d.store().get_user("lena").unwrap().unwrap();
    assert_eq!(user.status, EnrollmentStatus::NotEnrolled);
    // Accepting the offer enrolls.
    let (_key, codes) = enrolled(&stack, "lena");
    assert_eq!(codes.len(), 10);
}

#[test]
fn a_stopped_daemon_gives_authinfo_unavail_and_never_success() {
    let (mut d, stack) = daemon_and_stack("timeout=3");
    d.kill9();
    let l = stack.login("mike", answers(Vec::<String>::new()));
    assert_eq!(l.code, code::AUTHINFO_UNAVAIL, "{:?}", l.transcript);
    assert!(l.errors().contains("unavailable"), "{}", l.errors());
    // failmode=safe lets the rest of the stack decide, never admits by itself.
    let safe = ignore_probe(&d, "failmode=safe").login("mike", answers(Vec::<String>::new()));
    assert!(
        was_ignored(&safe),
        "{} {:?}",
        code::name(safe.code),
        safe.transcript
    );
    let alone = Stack::for_daemon(&d, "failmode=safe").login("mike", answers(Vec::<String>::new()));
    assert_ne!(alone.code, code::SUCCESS);
    // Back up: sign-ins work again.
    d.restart();
    let (_key, _) = enrolled(&stack, "mike");
}

#[test]
fn a_hung_daemon_gives_authinfo_unavail_within_the_timeout() {
    let (d, stack) = daemon_and_stack("timeout=2");
    d.freeze(true);
    let start = Instant::now();
    let l = stack.login("nina", answers(Vec::<String>::new()));
    let took = start.elapsed();
    d.freeze(false);
    assert_eq!(l.code, code::AUTHINFO_UNAVAIL, "{:?}", l.transcript);
    // A bound on hanging, not a performance figure: the 2 s budget plus generous slack.
    assert!(took < Duration::from_secs(15), "took {took:?}");
}

#[test]
fn an_unknown_module_option_is_a_service_error() {
    let d = TestDaemon::start();
    for bad in ["nulok", "timeout=0", "failmode=open", "socket=relative"] {
        let l = Stack::for_daemon(&d, bad).login("olga", answers(Vec::<String>::new()));
        assert_eq!(l.code, code::SERVICE_ERR, "{bad}: {:?}", l.transcript);
        assert!(l.transcript.is_empty(), "{bad}: nothing is asked");
    }
}

#[test]
fn echo_verification_code_echoes_the_code_prompt() {
    let (_d, stack) = daemon_and_stack("");
    let (key, _) = enrolled(&stack, "pete");
    let echo = Stack::for_daemon(&_d, "echo_verification_code");
    let mut styles = Vec::new();
    let l = {
        let k = key.clone();
        echo.login(
            "pete",
            Box::new(|m: &Message| {
                if m.style.is_prompt() {
                    styles.push(m.style);
                    Reply::Text(totp::code_now(&k, 1))
                } else {
                    Reply::Null
                }
            }),
        )
    };
    assert_eq!(l.code, code::SUCCESS, "{:?}", l.transcript);
    assert_eq!(styles, [Style::PromptEchoOn]);
}

#[test]
fn sign_ins_are_recorded_with_the_remote_host_and_audited() {
    let (d, stack) = daemon_and_stack("");
    let (key, _) = enrolled(&stack, "quinn");
    let l = stack.login_from("quinn", Some("198.51.100.23"), typing_code(&key, 1, 1));
    assert_eq!(l.code, code::SUCCESS, "{:?}", l.transcript);
    let store = d.store();
    let recent = store.recent_signins("quinn", 10).unwrap();
    assert!(
        recent
            .iter()
            .any(|s| s.rhost.as_deref() == Some("198.51.100.23") && s.outcome == "success"),
        "{recent:?}"
    );
    assert!(
        recent.iter().all(|s| s.service == pam::SERVICE),
        "{recent:?}"
    );
    let events = store
        .query_audit(&twofold_core::store::AuditFilter {
            user: Some("quinn".into()),
            limit: 100,
            ..Default::default()
        })
        .unwrap();
    assert!(
        events.iter().any(|e| e.event == "auth.success"),
        "{events:?}"
    );
    assert!(
        events.iter().any(|e| e.event == "enroll.confirm"),
        "{events:?}"
    );
}

#[test]
fn setcred_and_acct_mgmt_succeed() {
    let d = TestDaemon::start();
    let dir = pam_testkit::ServiceDir::new().unwrap();
    let line = format!("{} socket={}", pam::module_path(), d.pam_socket.display());
    dir.add(
        "creds",
        &format!("auth required {line}\naccount required {line}\n"),
    )
    .unwrap();
    let mut t = pam_testkit::Transaction::start(
        dir.path(),
        "creds",
        Some("rita"),
        answers(Vec::<String>::new()),
    )
    .unwrap();
    assert_eq!(t.setcred(pam_testkit::PAM_ESTABLISH_CRED), code::SUCCESS);
    assert_eq!(t.acct_mgmt(0), code::SUCCESS);
}

#[test]
fn resend_honours_the_resend_limit() {
    let d = TestDaemon::start();
    // Email codes only (sent by the daemon through its outbox; the prompt returns at once).
    d.update_settings(|s| {
        s.methods.authenticator_app = false;
        s.methods.email = true;
        s.default_method = Method::Email;
    });
    let store = d.store();
    store.ensure_user("sam", 0).unwrap();
    store
        .set_contact("sam", None, Some("sam@example.com"), None)
        .unwrap();
    let stack = Stack::for_daemon(&d, "");
    let l = stack.login("sam", typing(&["resend", "resend", "resend", "resend"]));
    assert_eq!(l.code, code::CONV_ERR, "{:?}", l.transcript);
    let infos = l.infos();
    assert_eq!(
        infos.matches("s***@example.com").count(),
        4,
        "the first code and three resends: {infos}"
    );
    assert!(infos.contains("'resend'"), "{infos}");
    assert!(
        l.errors().contains("No more codes can be sent"),
        "the fourth resend is refused: {}",
        l.errors()
    );
}

#[test]
fn a_known_remote_host_skips_the_code_under_unrecognized_devices() {
    let (d, stack) = daemon_and_stack("");
    let (key, _) = enrolled(&stack, "tina");
    let ok = stack.login_from("tina", Some("203.0.113.5"), typing_code(&key, 1, 1));
    assert_eq!(ok.code, code::SUCCESS, "{:?}", ok.transcript);
    d.update_settings(|s| s.enforcement = twofold_core::settings::Enforcement::UnrecognizedDevices);
    let known = stack.login_from("tina", Some("203.0.113.5"), answers(Vec::<String>::new()));
    assert_eq!(known.code, code::SUCCESS, "{:?}", known.transcript);
    assert!(known.transcript.is_empty(), "{:?}", known.transcript);
    let unknown = stack.login_from("tina", Some("198.51.100.77"), answers(Vec::<String>::new()));
    assert_eq!(unknown.code, code::CONV_ERR, "{:?}", unknown.transcript);
    assert_eq!(unknown.prompts(), ["Verification code: "]);
}
