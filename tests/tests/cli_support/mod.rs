//! Helpers for the `twofoldctl` tests: run the real binary against a real `twofoldd`, put users
//! in each state through the daemon's PAM socket, and small loopback fakes (a Twilio-style HTTP
//! provider, an SNTP server).
//!
//! Include with `mod common; mod cli_support;` in a `cli_*.rs` test file.

#![allow(dead_code)]

pub mod doctor;
pub mod fakes;

use super::common::{TestDaemon, artifacts, totp};
use serde_json::Value;
use std::os::unix::net::UnixStream;
use std::process::Command;
use twofold_core::proto::{
    Code, Method, PROTOCOL_VERSION, PamOp, PamReply, PamRequest, read_frame, write_frame,
};

/// What a `twofoldctl` run produced.
#[derive(Debug)]
pub struct Run {
    /// Exit status (-1 when killed by a signal).
    pub code: i32,
    /// Standard output.
    pub out: String,
    /// Standard error.
    pub err: String,
}

impl Run {
    /// Standard output parsed as JSON; panics with both streams if it is not.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.out).unwrap_or_else(|e| {
            panic!(
                "not JSON ({e}):\nstdout:\n{}\nstderr:\n{}",
                self.out, self.err
            )
        })
    }

    /// Asserts the exit status, showing the output on failure.
    #[track_caller]
    pub fn expect(&self, code: i32) -> &Run {
        assert_eq!(
            self.code, code,
            "exit status\nstdout:\n{}\nstderr:\n{}",
            self.out, self.err
        );
        self
    }

    /// Asserts standard output contains `s`.
    #[track_caller]
    pub fn says(&self, s: &str) -> &Run {
        assert!(
            self.out.contains(s),
            "stdout lacks {s:?}:\n{}\nstderr:\n{}",
            self.out,
            self.err
        );
        self
    }

    /// Asserts standard error contains `s`.
    #[track_caller]
    pub fn complains(&self, s: &str) -> &Run {
        assert!(
            self.err.contains(s),
            "stderr lacks {s:?}:\n{}\nstdout:\n{}",
            self.err,
            self.out
        );
        self
    }
}

/// Runs `twofoldctl --socket SOCKET ARGS`.
pub fn ctl(d: &TestDaemon, args: &[&str]) -> Run {
    ctl_at(&d.admin_socket, args)
}

/// Runs `twofoldctl --socket SOCKET --json ARGS` and parses the output.
pub fn ctl_json(d: &TestDaemon, args: &[&str]) -> (i32, Value) {
    let mut a = vec!["--json"];
    a.extend_from_slice(args);
    let r = ctl(d, &a);
    let v = r.json();
    (r.code, v)
}

/// Runs `twofoldctl --socket PATH ARGS`.
pub fn ctl_at(socket: &std::path::Path, args: &[&str]) -> Run {
    let out = Command::new(artifacts::twofoldctl())
        .arg("--socket")
        .arg(socket)
        .args(args)
        .env_remove("TWOFOLD_ADMIN_SOCKET")
        .output()
        .expect("running twofoldctl");
    Run {
        code: out.status.code().unwrap_or(-1),
        out: String::from_utf8_lossy(&out.stdout).into_owned(),
        err: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// One request on the daemon's PAM socket, as `pam_twofold.so` sends it.
pub fn pam(d: &TestDaemon, op: PamOp) -> PamReply {
    let mut s = UnixStream::connect(&d.pam_socket).expect("connecting to the PAM socket");
    s.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .expect("timeout");
    write_frame(
        &mut s,
        &PamRequest {
            v: PROTOCOL_VERSION,
            op,
        },
    )
    .expect("writing to the PAM socket");
    read_frame(&mut s).expect("reading the PAM reply")
}

/// Starts a sign-in of `user` through `service` from `rhost`.
pub fn begin(d: &TestDaemon, user: &str, service: &str, rhost: Option<&str>) -> PamReply {
    pam(
        d,
        PamOp::Begin {
            user: user.into(),
            service: service.into(),
            rhost: rhost.map(str::to_string),
            tty: None,
            groups: None,
        },
    )
}

/// A user twofold has seen sign in once, not enrolled (the enrollment offer is left unanswered).
pub fn seen(d: &TestDaemon, user: &str) {
    match begin(d, user, "sshd", Some("192.0.2.1")) {
        PamReply::Enroll(_) | PamReply::Allow { .. } | PamReply::NotEnrolled { .. } => {}
        other => panic!("unexpected first sign-in reply for {user}: {other:?}"),
    }
}

/// A user with a secret issued but never confirmed (pending).
pub fn pending(d: &TestDaemon, user: &str) {
    let PamReply::Enroll(offer) = begin(d, user, "sshd", Some("192.0.2.1")) else {
        panic!("{user} was not offered enrollment");
    };
    match pam(
        d,
        PamOp::EnrollStart {
            session: offer.session,
        },
    ) {
        PamReply::EnrollSecret(_) => {}
        other => panic!("enroll_start for {user}: {other:?}"),
    }
}

/// An enrolled user: returns the text key and the backup codes shown at enrollment.
pub fn enrolled(d: &TestDaemon, user: &str) -> (String, Vec<String>) {
    let PamReply::Enroll(offer) = begin(d, user, "sshd", Some("192.0.2.1")) else {
        panic!("{user} was not offered enrollment");
    };
    let PamReply::EnrollSecret(secret) = pam(
        d,
        PamOp::EnrollStart {
            session: offer.session.clone(),
        },
    ) else {
        panic!("no secret for {user}");
    };
    let key: String = secret.text_key.split_whitespace().collect();
    match pam(
        d,
        PamOp::EnrollConfirm {
            session: offer.session,
            code: Code::new(totp::code_now(&key, 0)),
        },
    ) {
        PamReply::Enrolled { backup_codes } => (key, backup_codes),
        other => panic!("enroll_confirm for {user}: {other:?}"),
    }
}

/// Signs an enrolled user in and types `n` wrong codes (each a consecutive failure).
pub fn wrong_codes(d: &TestDaemon, user: &str, n: usize) {
    let PamReply::Challenge(ch) = begin(d, user, "sshd", Some("192.0.2.1")) else {
        panic!("{user} was not challenged");
    };
    let mut session = ch.session;
    for _ in 0..n {
        match pam(
            d,
            PamOp::Verify {
                session: session.clone(),
                method: Method::AuthenticatorApp,
                code: Code::new("000000"),
            },
        ) {
            PamReply::Rejected { challenge, .. } => session = challenge.session,
            PamReply::Locked { .. } => return,
            other => panic!("a wrong code for {user}: {other:?}"),
        }
    }
}

/// The daemon's view of a user (`users show --json`), for before/after comparisons.
pub fn user_state(d: &TestDaemon, user: &str) -> Value {
    let (code, v) = ctl_json(d, &["users", "show", user]);
    assert_eq!(code, 0, "{v}");
    v
}

/// The settings document (`settings show --json`'s `settings`) and its version.
pub fn settings(d: &TestDaemon) -> (Value, i64) {
    let (code, v) = ctl_json(d, &["settings", "show"]);
    assert_eq!(code, 0, "{v}");
    (v["settings"].clone(), v["version"].as_i64().unwrap_or(-1))
}

/// Sets settings (`KEY VALUE` pairs) and asserts it worked.
pub fn set(d: &TestDaemon, pairs: &[&str]) {
    let mut a = vec!["settings", "set"];
    a.extend_from_slice(pairs);
    ctl(d, &a).expect(0);
}

/// The audit events (`audit --json`) matching `args`.
pub fn audit(d: &TestDaemon, args: &[&str]) -> Vec<Value> {
    let mut a = vec!["audit"];
    a.extend_from_slice(args);
    let (code, v) = ctl_json(d, &a);
    assert_eq!(code, 0, "{v}");
    v["events"].as_array().cloned().unwrap_or_default()
}

/// The admin name the daemon records for this test process (`admin:root` as root).
pub fn admin_name() -> String {
    let uid = super::common::current_uid();
    if uid == 0 {
        "admin:root".into()
    } else {
        format!("admin:{uid}")
    }
}
