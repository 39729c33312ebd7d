//! End to end with real OpenSSH: a throwaway sshd on 127.0.0.1 with `UsePAM yes` and
//! keyboard-interactive, whose PAM service (in a private mount namespace) stacks pam_unix and the
//! built `pam_twofold.so` against a real `twofoldd`; the real `ssh` client driven by expect
//! (`tests/scripts/ssh-login.exp`); test users made with useradd and removed afterwards.
//!
//! Needs root (sshd, useradd, mount namespaces): as another user each test prints
//! "SKIPPED: needs root" and returns.

mod common;

use common::pam::{Stack, enroll};
use common::sshd::{SshdConfig, TestSshd, TestUser, ssh_login};
use common::{TestDaemon, is_root, totp};

fn skipped() -> bool {
    if is_root() {
        return false;
    }
    println!("SKIPPED: needs root");
    true
}

fn module_line(d: &TestDaemon, args: &str) -> String {
    format!(
        "auth required {} socket={} {args}",
        common::pam::module_path(),
        d.pam_socket.display()
    )
}

/// Password (pam_unix) then code: the stack `/etc/pam.d/sshd` gets in packaging/pam.d/sshd.
fn password_then_code(d: &TestDaemon) -> TestSshd {
    TestSshd::start(&SshdConfig {
        pam: &format!(
            "auth required pam_unix.so\n{}\naccount required pam_unix.so\nsession required pam_permit.so\npassword required pam_deny.so\n",
            module_line(d, "")
        ),
        methods: "keyboard-interactive",
        authorized_keys: None,
    })
}

/// Enrolls `user` through PAM in-process against the same daemon; returns the text key.
fn enrolled(d: &TestDaemon, user: &str) -> String {
    let e = enroll(&Stack::for_daemon(d, ""), user);
    assert_eq!(e.login.code, 0, "{:?}", e.login.transcript);
    e.key
}

#[test]
fn password_then_code_is_accepted() {
    if skipped() {
        return;
    }
    let d = TestDaemon::start();
    let user = TestUser::create("pw");
    let key = enrolled(&d, &user.name);
    let sshd = password_then_code(&d);
    let code = totp::code_now(&key, 1);
    let l = ssh_login(sshd.port, &user.name, &[&user.password, &code], None);
    assert_eq!(l.status, 0, "{}\nsshd:\n{}", l.output, sshd.log());
    assert!(l.output.contains("Verification code: "), "{}", l.output);
}

#[test]
fn a_wrong_code_is_rejected() {
    if skipped() {
        return;
    }
    let d = TestDaemon::start();
    let user = TestUser::create("wrong");
    let key = enrolled(&d, &user.name);
    let sshd = password_then_code(&d);
    let wrong = totp::code_now("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", 0);
    let l = ssh_login(
        sshd.port,
        &user.name,
        &[&user.password, &wrong, &wrong, &wrong],
        None,
    );
    assert_eq!(l.status, 1, "{}", l.output);
    assert!(l.output.contains("That code is not valid"), "{}", l.output);
    assert!(l.output.contains("Permission denied"), "{}", l.output);
    // A wrong password still gets the code prompt (no oracle), and is refused.
    let right = totp::code_now(&key, 1);
    let l = ssh_login(sshd.port, &user.name, &["not-the-password", &right], None);
    assert_eq!(l.status, 1, "{}", l.output);
    assert!(l.output.contains("Verification code: "), "{}", l.output);
}

#[test]
fn publickey_then_code_is_accepted() {
    if skipped() {
        return;
    }
    let d = TestDaemon::start();
    let user = TestUser::create("pubkey");
    let key = enrolled(&d, &user.name);
    let keys = tempfile::tempdir().unwrap();
    let client_key = keys.path().join("id_ed25519");
    let st = std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&client_key)
        .status()
        .unwrap();
    assert!(st.success());
    let sshd = TestSshd::start(&SshdConfig {
        pam: &format!(
            "{}\naccount required pam_unix.so\nsession required pam_permit.so\npassword required pam_deny.so\n",
            module_line(&d, "")
        ),
        methods: "publickey,keyboard-interactive:pam",
        authorized_keys: Some(&keys.path().join("id_ed25519.pub")),
    });
    let code = totp::code_now(&key, 1);
    let l = ssh_login(sshd.port, &user.name, &[&code], Some(&client_key));
    assert_eq!(l.status, 0, "{}\nsshd:\n{}", l.output, sshd.log());
    assert!(
        sshd.logged("Partial publickey") && sshd.logged("Accepted keyboard-interactive/pam"),
        "{}",
        sshd.log()
    );
    // The code alone is not enough.
    let l = ssh_login(sshd.port, &user.name, &[&totp::code_now(&key, 1)], None);
    assert_eq!(l.status, 1, "{}", l.output);
}

#[test]
fn a_new_user_enrolls_in_the_ssh_session_then_logs_in_with_a_code() {
    if skipped() {
        return;
    }
    let d = TestDaemon::start();
    let user = TestUser::create("enroll");
    let sshd = password_then_code(&d);
    let l = ssh_login(
        sshd.port,
        &user.name,
        &[&user.password, "@enroll", ""],
        None,
    );
    assert_eq!(l.status, 0, "{}\nsshd:\n{}", l.output, sshd.log());
    assert!(l.output.contains('█'), "the QR code is drawn: {}", l.output);
    assert!(l.output.contains("this key (time-based):"), "{}", l.output);
    assert!(l.output.contains("Backup codes"), "{}", l.output);
    let backup_shown = l
        .output
        .split_whitespace()
        .filter(|w| w.len() == 14 && w.matches('-').count() == 2)
        .count();
    assert_eq!(backup_shown, 10, "{}", l.output);
    let key = l
        .output
        .lines()
        .find_map(|x| x.trim().strip_prefix("ssh-login.exp: text key "))
        .expect("the script reports the key it read")
        .to_owned();
    let again = ssh_login(
        sshd.port,
        &user.name,
        &[&user.password, &totp::code_now(&key, 1)],
        None,
    );
    assert_eq!(again.status, 0, "{}", again.output);
    assert!(!again.output.contains("this key"), "no second enrollment");
}

#[test]
fn a_killed_daemon_refuses_logins_until_it_is_restarted() {
    if skipped() {
        return;
    }
    let mut d = TestDaemon::start();
    let user = TestUser::create("kill");
    let key = enrolled(&d, &user.name);
    let sshd = password_then_code(&d);
    d.kill9();
    let l = ssh_login(
        sshd.port,
        &user.name,
        &[&user.password, &totp::code_now(&key, 1)],
        None,
    );
    assert_eq!(l.status, 1, "{}", l.output);
    // The password was asked; the module failed before any code prompt (sshd reports every
    // PAM failure to the client alike; the exact PAM_AUTHINFO_UNAVAIL is asserted in-process).
    assert!(l.output.contains("Password: "), "{}", l.output);
    assert!(!l.output.contains("Verification code"), "{}", l.output);
    assert!(
        sshd.logged("Failed keyboard-interactive/pam"),
        "{}",
        sshd.log()
    );
    d.restart();
    let l = ssh_login(
        sshd.port,
        &user.name,
        &[&user.password, &totp::code_now(&key, 1)],
        None,
    );
    assert_eq!(l.status, 0, "{}\nsshd:\n{}", l.output, sshd.log());
}
