//! `twofoldctl doctor`: the support guide's symptoms as checks, each naming its cause and fix.
//!
//! Host checks (sshd, PAM, clock) run here; daemon checks use what the daemon reports
//! (`doctor.facts`). Exit status 1 when anything is a warning or a failure.

pub mod check;
mod clock;
mod daemon;
mod pam;
pub mod pam_stack;
mod sshd;
pub mod sshd_config;

use crate::cli::DoctorArgs;
use crate::client::Client;
use crate::error::CtlError;
use crate::output::{Out, str_of};
use check::{Check, Status};
use serde_json::json;

/// Runs every check and prints the report.
pub fn run(c: &Client, out: Out, a: &DoctorArgs) -> Result<(), CtlError> {
    let mut checks = Vec::new();
    match c.call(
        "doctor.facts",
        json!({ "check_integrations": !a.no_provider_check }),
    ) {
        Ok(f) => {
            checks.push(Check::ok(
                "daemon",
                format!(
                    "twofoldd {} answers at {}",
                    str_of(&f, "version"),
                    c.socket().display()
                ),
            ));
            checks.extend(daemon::checks(&f, a.pending_threshold));
        }
        Err(e) => checks.push(Check::fail(
            "daemon",
            format!("twofoldd did not answer: {e}"),
            "without the daemon every sign-in that needs a second factor fails closed, and settings and users cannot be checked",
            "start it and read why it stopped: systemctl start twofoldd; journalctl -u twofoldd -e",
        )),
    }
    if !a.daemon_only {
        checks.extend(sshd::checks(a));
        checks.extend(pam::checks(a));
        checks.push(clock::check(a));
    }
    let count = |s: Status| checks.iter().filter(|c| c.status == s).count();
    let (ok, warn, fail, skip) = (
        count(Status::Ok),
        count(Status::Warn),
        count(Status::Fail),
        count(Status::Skip),
    );
    let all_clear = warn == 0 && fail == 0;
    let doc = json!({
        "all_clear": all_clear,
        "counts": { "ok": ok, "warn": warn, "fail": fail, "skip": skip },
        "checks": checks,
    });
    out.emit(&doc, || {
        for ch in &checks {
            println!("{} {}: {}", ch.status.tag(), ch.id, ch.summary);
            if let Some(cause) = &ch.cause {
                println!("       cause: {cause}");
            }
            if let Some(fix) = &ch.fix {
                println!("       fix:   {fix}");
            }
        }
        println!();
        if all_clear {
            println!("all clear: {ok} checks passed, {skip} skipped");
        } else {
            println!(
                "{fail} problem(s) and {warn} warning(s) found; {ok} checks passed, {skip} skipped"
            );
        }
    });
    if all_clear {
        Ok(())
    } else {
        Err(CtlError::Reported)
    }
}
