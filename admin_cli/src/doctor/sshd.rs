//! sshd checks: `UsePAM`, `KbdInteractiveAuthentication`, `AuthenticationMethods`, with the file
//! and line (often a `sshd_config.d` drop-in) that decides each.
//!
//! Effective values come from `sshd -T -f FILE` when sshd runs, else from reading the files;
//! where a value comes from is always worked out from the files.

use super::check::Check;
use super::sshd_config::{self, SshdFiles};
use crate::cli::{DoctorArgs, SshdMode};
use std::collections::BTreeMap;
use std::process::Command;

/// Runs the sshd checks.
pub fn checks(a: &DoctorArgs) -> Vec<Check> {
    if !a.sshd_config.exists() {
        return vec![Check::skip(
            "sshd",
            format!(
                "{} does not exist; sshd checks skipped (another file: --sshd-config PATH)",
                a.sshd_config.display()
            ),
        )];
    }
    let files = sshd_config::read(&a.sshd_config);
    let mut out = Vec::new();
    let mut source = "the configuration files".to_string();
    let effective = match a.sshd_mode {
        SshdMode::Files => files.effective(),
        mode => match sshd_t(a) {
            Ok(m) => {
                source = format!("`{} -T`", a.sshd_bin.display());
                m
            }
            Err(SshdT::Rejected(msg)) => {
                out.push(Check::fail(
                    "sshd.config_valid",
                    format!("sshd refuses {}: {msg}", a.sshd_config.display()),
                    "sshd does not start (or keeps its old settings on reload) with a configuration it refuses",
                    format!(
                        "correct the line sshd names, then check with `sshd -t -f {}` before `systemctl reload ssh`",
                        a.sshd_config.display()
                    ),
                ));
                files.effective()
            }
            Err(SshdT::NotRun(why)) if mode == SshdMode::SshdT => {
                out.push(Check::fail(
                    "sshd.effective",
                    format!("cannot run sshd -T: {why}"),
                    "--sshd-mode sshd-t asks for sshd's own view of its configuration",
                    "install openssh-server, create /run/sshd, or use --sshd-mode files",
                ));
                return out;
            }
            Err(SshdT::NotRun(why)) => {
                source = format!("the configuration files (sshd -T did not run: {why})");
                files.effective()
            }
        },
    };
    for p in &files.problems {
        out.push(Check::fail(
            "sshd.include",
            format!("reading the sshd configuration: {p}"),
            "sshd fails to start when an included file is missing or unreadable",
            "fix or remove the Include line, then `sshd -t`",
        ));
    }
    out.push(use_pam(&files, &effective, &source));
    out.push(kbd_interactive(&files, &effective, &source));
    out.push(auth_methods(&files, &effective, &source));
    out
}

enum SshdT {
    /// sshd could not be run here (missing binary, privilege separation directory, ...).
    NotRun(String),
    /// sshd ran and refused the configuration.
    Rejected(String),
}

fn sshd_t(a: &DoctorArgs) -> Result<BTreeMap<String, String>, SshdT> {
    if !a.sshd_bin.exists() {
        return Err(SshdT::NotRun(format!(
            "{} is not installed",
            a.sshd_bin.display()
        )));
    }
    let out = Command::new(&a.sshd_bin)
        .arg("-T")
        .arg("-f")
        .arg(&a.sshd_config)
        .output()
        .map_err(|e| SshdT::NotRun(format!("{}: {e}", a.sshd_bin.display())))?;
    let stderr = String::from_utf8_lossy(&out.stderr).trim().to_string();
    if !out.status.success() {
        let first = stderr.lines().next().unwrap_or("").to_string();
        let environmental = [
            "privilege separation",
            "Permission denied",
            "no hostkeys",
            "Could not load host key",
        ]
        .iter()
        .any(|s| stderr.contains(s));
        return Err(if environmental {
            SshdT::NotRun(first)
        } else {
            SshdT::Rejected(if first.is_empty() {
                format!("exit status {}", out.status)
            } else {
                first
            })
        });
    }
    let mut m = BTreeMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        if let Some((k, v)) = line.split_once(' ') {
            m.entry(k.to_ascii_lowercase())
                .or_insert_with(|| v.trim().to_string());
        }
    }
    Ok(m)
}

/// Where a keyword's value comes from, and which lines it overrides, in words.
fn attribution(files: &SshdFiles, keyword: &str, shown: &str) -> String {
    match files.winner(keyword) {
        None => format!("{shown} is not set in any file, so sshd's built-in default applies"),
        Some(w) => {
            let mut s = format!("{shown} {} is set at {}", w.value, w.place());
            let over = files.overridden(keyword);
            if !over.is_empty() {
                let list: Vec<String> = over
                    .iter()
                    .map(|d| format!("`{shown} {}` at {}", d.value, d.place()))
                    .collect();
                let via_include = over.iter().any(|d| d.file != w.file);
                s.push_str(&format!(
                    "; it overrides {} because sshd keeps the first value it reads{}",
                    list.join(" and "),
                    if via_include {
                        " (the Include of the drop-in comes first)"
                    } else {
                        ""
                    }
                ));
            }
            s
        }
    }
}

fn fix_line(files: &SshdFiles, keyword: &str, shown: &str, want: &str) -> String {
    match files.winner(keyword) {
        Some(w) if files.files.first() != Some(&w.file) => format!(
            "change it to `{shown} {want}` in {} (line {}), or add a drop-in that sorts before it (e.g. sshd_config.d/00-twofold.conf) with `{shown} {want}`; then `sshd -t` and `systemctl reload ssh`",
            w.file.display(),
            w.line
        ),
        Some(w) => format!(
            "set `{shown} {want}` in {} (line {}); then `sshd -t` and `systemctl reload ssh`",
            w.file.display(),
            w.line
        ),
        None => format!(
            "add `{shown} {want}` to sshd_config (or a drop-in in sshd_config.d); then `sshd -t` and `systemctl reload ssh`"
        ),
    }
}

fn use_pam(files: &SshdFiles, eff: &BTreeMap<String, String>, source: &str) -> Check {
    let v = eff.get("usepam").map(String::as_str).unwrap_or("no");
    let at = attribution(files, "usepam", "UsePAM");
    if v.eq_ignore_ascii_case("yes") {
        Check::ok("sshd.use_pam", format!("UsePAM yes (from {source}); {at}"))
    } else {
        Check::fail(
            "sshd.use_pam",
            format!("UsePAM is {v} (from {source}); {at}"),
            "without UsePAM sshd never runs the PAM stack, so pam_twofold.so is never asked and SSH users are not prompted for a second factor",
            fix_line(files, "usepam", "UsePAM", "yes"),
        )
    }
}

fn kbd_interactive(files: &SshdFiles, eff: &BTreeMap<String, String>, source: &str) -> Check {
    let v = eff
        .get("kbdinteractiveauthentication")
        .map(String::as_str)
        .unwrap_or("yes");
    let at = attribution(
        files,
        "kbdinteractiveauthentication",
        "KbdInteractiveAuthentication",
    );
    if v.eq_ignore_ascii_case("yes") {
        Check::ok(
            "sshd.kbd_interactive",
            format!("KbdInteractiveAuthentication yes (from {source}); {at}"),
        )
    } else {
        Check::fail(
            "sshd.kbd_interactive",
            format!("KbdInteractiveAuthentication is {v} (from {source}); {at}"),
            "the code prompt is a keyboard-interactive exchange; with it off, sshd cannot ask for the second factor (Debian's sshd_config and cloud-init drop-ins set it to no)",
            fix_line(
                files,
                "kbdinteractiveauthentication",
                "KbdInteractiveAuthentication",
                "yes",
            ),
        )
    }
}

fn auth_methods(files: &SshdFiles, eff: &BTreeMap<String, String>, source: &str) -> Check {
    let v = eff
        .get("authenticationmethods")
        .cloned()
        .unwrap_or_else(|| "any".into());
    let at = attribution(files, "authenticationmethods", "AuthenticationMethods");
    let fix = fix_line(
        files,
        "authenticationmethods",
        "AuthenticationMethods",
        "publickey,keyboard-interactive keyboard-interactive",
    );
    if v.trim().eq_ignore_ascii_case("any") {
        let pubkey_on = eff
            .get("pubkeyauthentication")
            .is_none_or(|p| p.eq_ignore_ascii_case("yes"));
        if !pubkey_on {
            return Check::ok(
                "sshd.authentication_methods",
                format!(
                    "AuthenticationMethods any with public keys off (from {source}): every sign-in goes through PAM"
                ),
            );
        }
        return Check::warn(
            "sshd.authentication_methods",
            format!("AuthenticationMethods is any (from {source}); {at}"),
            "a user with an SSH key signs in by public key alone: public-key authentication never runs the PAM auth stack, so no second factor is asked",
            fix,
        );
    }
    let bypass: Vec<&str> = v
        .split_whitespace()
        .filter(|list| {
            !list
                .split(',')
                .any(|m| m.starts_with("keyboard-interactive"))
        })
        .collect();
    if bypass.is_empty() {
        Check::ok(
            "sshd.authentication_methods",
            format!(
                "AuthenticationMethods {v} (from {source}): every list includes keyboard-interactive; {at}"
            ),
        )
    } else {
        Check::fail(
            "sshd.authentication_methods",
            format!("AuthenticationMethods {v} (from {source}); {at}"),
            format!(
                "the list(s) {} complete without keyboard-interactive, so sign-ins through them never reach pam_twofold.so",
                bypass.join(" and ")
            ),
            fix,
        )
    }
}
