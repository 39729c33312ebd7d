//! `pam_twofold.so`: the second factor for sshd, login, sudo and any PAM service.
//!
//! A thin, panic-proof shell around the daemon. `pam_sm_authenticate` reads its options, asks
//! `twofoldd` over its PAM socket what to do for this user, and runs the conversation (code
//! prompt, method switch, enrollment with a terminal QR code, backup codes). It holds no state,
//! no database, no keys, no threads, no runtime and no TLS: one short-lived Unix-socket
//! connection per question, bounded by `timeout=`.
//!
//! ```text
//! auth required pam_twofold.so [socket=/run/twofold/pam.sock] [timeout=10] [nullok]
//!                              [failmode=secure|safe] [debug] [echo_verification_code]
//! ```
//!
//! Only the six `pam_sm_*` hooks are exported. `pam_sm_setcred` and `pam_sm_acct_mgmt` return
//! PAM_SUCCESS (the second factor is an auth-stack concern); sessions and password changes are
//! ignored. Panics are caught at every entry point (PAM_ABORT) by `pam-bindings`.

#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout,
    clippy::print_stderr
)]

pub mod client;
pub mod conversation;
pub mod display;
pub mod flow;
pub mod options;
pub mod syslog;

use pam::constants::{PAM_SILENT, PamFlag, PamResultCode};
use pam::conv::Conv;
use pam::items::{RHost, Service, Tty};
use pam::module::{PamHandle, PamHooks};
use pam::pam_hooks;
use std::ffi::CStr;

use crate::flow::{Outcome, Report, SignIn};
use crate::options::Options;

/// The module's hooks.
pub struct PamTwofold;
pam_hooks!(PamTwofold);

impl PamHooks for PamTwofold {
    fn sm_authenticate(pamh: &mut PamHandle, args: Vec<&CStr>, flags: PamFlag) -> PamResultCode {
        authenticate(pamh, &args, flags)
    }

    fn sm_setcred(_: &mut PamHandle, _: Vec<&CStr>, _: PamFlag) -> PamResultCode {
        PamResultCode::PAM_SUCCESS
    }

    fn acct_mgmt(_: &mut PamHandle, _: Vec<&CStr>, _: PamFlag) -> PamResultCode {
        PamResultCode::PAM_SUCCESS
    }
}

/// The PAM result for an outcome.
pub fn pam_code(o: Outcome) -> PamResultCode {
    match o {
        Outcome::Success => PamResultCode::PAM_SUCCESS,
        Outcome::AuthErr => PamResultCode::PAM_AUTH_ERR,
        Outcome::PermDenied => PamResultCode::PAM_PERM_DENIED,
        Outcome::MaxTries => PamResultCode::PAM_MAXTRIES,
        Outcome::Ignore => PamResultCode::PAM_IGNORE,
        Outcome::AuthinfoUnavail => PamResultCode::PAM_AUTHINFO_UNAVAIL,
        Outcome::ConvErr => PamResultCode::PAM_CONV_ERR,
    }
}

/// Checks a login name the way the daemon does, so an odd one is refused here with AUTH_ERR
/// rather than reported by the daemon as an error.
pub fn check_user_name(name: &str) -> Result<(), &'static str> {
    if name.is_empty() {
        return Err("the user name is empty");
    }
    if name.len() > 256 {
        return Err("the user name is longer than 256 bytes");
    }
    if name.starts_with('-') {
        return Err("the user name starts with '-'");
    }
    if name
        .chars()
        .any(|c| c.is_control() || c.is_whitespace() || c == '/')
    {
        return Err("the user name contains a control character, a space or '/'");
    }
    Ok(())
}

fn item_string(s: Option<&CStr>) -> Option<String> {
    s.map(|c| c.to_string_lossy().into_owned())
        .filter(|s| !s.is_empty())
}

fn authenticate(pamh: &mut PamHandle, args: &[&CStr], flags: PamFlag) -> PamResultCode {
    let opts = match Options::from_args(args) {
        Ok(o) => o,
        Err(e) => {
            syslog::log(
                pamh,
                syslog::LOG_ERR,
                &format!(
                    "refusing to authenticate: {e} (options: socket=, timeout=, nullok, failmode=secure|safe, debug, echo_verification_code)"
                ),
            );
            return PamResultCode::PAM_SERVICE_ERR;
        }
    };
    let user = match pamh.get_user(None) {
        Ok(u) => u,
        Err(PamResultCode::PAM_CONV_ERR) => return PamResultCode::PAM_CONV_ERR,
        Err(_) => {
            syslog::log(
                pamh,
                syslog::LOG_NOTICE,
                "outcome=auth_err event=bad_user reason=the user name is unavailable or not UTF-8",
            );
            return PamResultCode::PAM_AUTH_ERR;
        }
    };
    let service = item_string(pamh.get_item::<Service>().ok().flatten().map(|s| s.0));
    let rhost = item_string(pamh.get_item::<RHost>().ok().flatten().map(|s| s.0));
    let tty = item_string(pamh.get_item::<Tty>().ok().flatten().map(|s| s.0));
    let who = SignIn {
        user,
        service: service.unwrap_or_else(|| "unknown".into()),
        rhost,
        tty,
    };
    if let Err(why) = check_user_name(&who.user) {
        log_report(
            pamh,
            &opts,
            &who,
            &Report {
                outcome: Outcome::AuthErr,
                event: "bad_user",
                method: None,
                detail: why.into(),
                notes: Vec::new(),
            },
        );
        return PamResultCode::PAM_AUTH_ERR;
    }
    let conv = match pamh.get_item::<Conv>() {
        Ok(Some(c)) => c,
        _ => {
            syslog::log(
                pamh,
                syslog::LOG_ERR,
                "outcome=conv_err reason=the application gave no conversation function",
            );
            return PamResultCode::PAM_CONV_ERR;
        }
    };
    let mut conv = conversation::PamConversation::new(conv);
    let mut daemon = client::SocketDaemon::new(opts.socket.clone(), opts.timeout);
    let silent = flags & PAM_SILENT != 0;
    let report = flow::authenticate(&opts, &who, silent, &mut daemon, &mut conv);
    log_report(pamh, &opts, &who, &report);
    pam_code(report.outcome)
}

fn log_report(pamh: &PamHandle, opts: &Options, who: &SignIn, r: &Report) {
    if opts.debug {
        for note in &r.notes {
            syslog::log(
                pamh,
                syslog::LOG_DEBUG,
                &format!("user={} {note}", who.user),
            );
        }
    }
    let priority = match r.outcome {
        Outcome::Success | Outcome::Ignore if r.event != "daemon_unavailable_failmode_safe" => {
            syslog::LOG_INFO
        }
        Outcome::Ignore => syslog::LOG_WARNING,
        Outcome::AuthinfoUnavail => syslog::LOG_ERR,
        _ => syslog::LOG_NOTICE,
    };
    let line = format!(
        "user={} service={} rhost={} tty={} outcome={} event={} method={} reason={}",
        who.user,
        who.service,
        who.rhost.as_deref().unwrap_or("-"),
        who.tty.as_deref().unwrap_or("-"),
        r.outcome.word(),
        r.event,
        r.method.map_or("-", |m| m.as_str()),
        r.detail
    );
    syslog::log(pamh, priority, &line);
}

#[cfg(test)]
mod tests {
    use super::check_user_name;

    #[test]
    fn odd_user_names_are_refused_before_the_daemon_is_asked() {
        for bad in [
            "",
            "-root",
            "a b",
            "a\nb",
            "a/b",
            "a\u{1b}b",
            &"x".repeat(300),
        ] {
            assert!(check_user_name(bad).is_err(), "{bad:?}");
        }
        for good in ["alice", "bob.smith", "user@example.com", "jürgen"] {
            assert!(check_user_name(good).is_ok(), "{good:?}");
        }
    }
}
