//! PAM checks per service: pam_twofold.so present, not bypassed by an earlier `sufficient` or
//! jump, a wrong code actually fails, `nullok` and `pam_permit.so` pitfalls, order after the
//! password module.

use super::check::Check;
use super::pam_stack::{self, Action, Entry, Stack};
use crate::cli::DoctorArgs;

/// Modules that check a first factor (a password or a directory credential).
const FIRST_FACTOR: [&str; 6] = [
    "pam_unix",
    "pam_sss",
    "pam_ldap",
    "pam_krb5",
    "pam_winbind",
    "pam_kanidm",
];

/// Runs the PAM checks for the configured services and common-auth.
pub fn checks(a: &DoctorArgs) -> Vec<Check> {
    if !a.pam_dir.is_dir() {
        return vec![Check::skip(
            "pam",
            format!(
                "{} is not a directory; PAM checks skipped (another: --pam-dir DIR)",
                a.pam_dir.display()
            ),
        )];
    }
    let services: Vec<String> = if a.pam_services.is_empty() {
        vec!["sshd".into(), "login".into(), "sudo".into()]
    } else {
        a.pam_services.clone()
    };
    let mut out = Vec::new();
    for s in &services {
        match pam_stack::read(&a.pam_dir, s) {
            None => out.push(Check::skip(
                format!("pam.{s}"),
                format!(
                    "{} does not exist (service not installed); not checked",
                    a.pam_dir.join(s).display()
                ),
            )),
            Some(st) => out.extend(service(
                s,
                &a.pam_dir.join(s).display().to_string(),
                &st,
                true,
            )),
        }
    }
    if !services.iter().any(|s| s == "common-auth")
        && let Some(st) = pam_stack::read(&a.pam_dir, "common-auth")
    {
        out.extend(service(
            "common-auth",
            &a.pam_dir.join("common-auth").display().to_string(),
            &st,
            false,
        ));
    }
    out
}

fn module_name(e: &Entry) -> String {
    e.module.clone()
}

/// The findings for one service's auth stack.
pub fn service(name: &str, file: &str, st: &Stack, required: bool) -> Vec<Check> {
    let id = |k: &str| format!("pam.{name}.{k}");
    let mut out = Vec::new();
    for p in &st.problems {
        out.push(Check::fail(
            id("read"),
            format!("reading the {name} PAM stack: {p}"),
            "libpam refuses a stack it cannot read; the service then denies every sign-in (or worse, runs a partial stack)",
            "fix the line or the include it names",
        ));
    }
    let tf: Vec<usize> = st
        .entries
        .iter()
        .enumerate()
        .filter(|(_, e)| e.is("pam_twofold"))
        .map(|(i, _)| i)
        .collect();
    let Some(&t) = tf.first() else {
        if required {
            out.push(Check::fail(
                id("missing"),
                format!("pam_twofold.so is not in the auth stack of {name} ({file})"),
                format!("sign-ins through {name} never ask for a second factor"),
                format!(
                    "add `auth required pam_twofold.so` to {file} after `@include common-auth` (or enable the profile for every service: `pam-auth-update --enable twofold`)"
                ),
            ));
        } else if out.is_empty() {
            out.push(Check::ok(
                format!("pam.{name}"),
                format!("{file} does not run pam_twofold.so (it may be added per service instead); no pitfalls found"),
            ));
        }
        return out;
    };
    let me = &st.entries[t];
    for (i, e) in st.entries[..t].iter().enumerate() {
        if e.is("pam_deny") {
            continue;
        }
        let skips = match e.control.on("success") {
            Action::Done => Some("ends the stack with success"),
            Action::Jump(n) if i + 1 + n > t => Some("jumps over pam_twofold.so on success"),
            _ => None,
        };
        if let Some(how) = skips {
            let permit = if e.is("pam_permit") {
                " pam_permit.so always succeeds, so every sign-in is let in with neither a password nor a code."
            } else {
                ""
            };
            out.push(Check::fail(
                id("bypass"),
                format!("`{}` at {} {how} before pam_twofold.so runs", e.text(), e.place()),
                format!("sign-ins through {name} that pass {} are never asked for a second factor.{permit}", module_name(e)),
                format!(
                    "change its control to `required` (or `[success=ok default=die]`), or remove it; pam_twofold.so must be reached on every successful path (see {})",
                    me.place()
                ),
            ));
        }
    }
    let on_err = me.control.on("auth_err");
    if matches!(
        on_err,
        Action::Ignore | Action::Ok | Action::Done | Action::Jump(_)
    ) {
        out.push(Check::fail(
            id("control"),
            format!("`{}` at {}: a wrong code does not fail the sign-in", me.text(), me.place()),
            format!(
                "with control {} a failed second factor is ignored and the stack still succeeds on the first factor",
                me.control.written
            ),
            format!("use `auth required pam_twofold.so` (or requisite) at {}", me.place()),
        ));
    }
    let later_first = st.entries[t + 1..]
        .iter()
        .find(|e| FIRST_FACTOR.iter().any(|m| e.is(m)));
    if let Some(pw) = later_first {
        let status_done = me.control.on("success") == Action::Done;
        let check = if status_done {
            Check::fail(
                id("order"),
                format!(
                    "pam_twofold.so ({}) ends the stack on a correct code before {} ({}) checks the password",
                    me.place(),
                    pw.module,
                    pw.place()
                ),
                "a correct code alone signs the user in: the password is never checked",
                format!(
                    "use `auth required pam_twofold.so` and put it after {}",
                    pw.module
                ),
            )
        } else {
            Check::warn(
                id("order"),
                format!(
                    "pam_twofold.so ({}) runs before {} ({})",
                    me.place(),
                    pw.module,
                    pw.place()
                ),
                "the code is asked before the password: anyone who knows a user name can tell whether that user is enrolled and burn the user's codes and attempts",
                format!(
                    "move `auth required pam_twofold.so` after {} (after `@include common-auth`)",
                    pw.module
                ),
            )
        };
        out.push(check);
    }
    if me.has_arg("nullok") {
        match st.entries[t + 1..].iter().find(|e| e.is("pam_permit")) {
            Some(p) => out.push(Check::fail(
                id("nullok_permit"),
                format!("`{}` ({}) is followed by `{}` ({})", me.text(), me.place(), p.text(), p.place()),
                "nullok makes pam_twofold.so return PAM_IGNORE for a user with no usable second factor, and pam_permit.so after it turns that into success: such users sign in with no second factor (and with no first factor at all when nothing else in the stack checks one)",
                format!("remove `nullok` from {} (users then enroll or are refused), or drop pam_permit.so after it", me.place()),
            )),
            None => out.push(Check::warn(
                id("nullok"),
                format!("`{}` ({}) has nullok", me.text(), me.place()),
                "with nullok, a user with no usable second factor is let through on the first factor alone",
                format!("remove `nullok` from {} once every user can enroll", me.place()),
            )),
        }
    }
    if tf.len() > 1 {
        let places: Vec<String> = tf.iter().map(|i| st.entries[*i].place()).collect();
        out.push(Check::warn(
            id("duplicate"),
            format!("pam_twofold.so appears {} times in the {name} stack: {}", tf.len(), places.join(", ")),
            "users are asked for a code twice (usually both common-auth and the service file add it)",
            "keep one: either the per-service line or the common-auth profile",
        ));
    }
    if out.is_empty() {
        let after = st.entries[..t]
            .iter()
            .rev()
            .find(|e| FIRST_FACTOR.iter().any(|m| e.is(m)))
            .map(|e| format!(" after {}", e.module))
            .unwrap_or_default();
        out.push(Check::ok(
            format!("pam.{name}"),
            format!(
                "{name}: pam_twofold.so runs{after} ({}, control {}); nothing skips it, a wrong code fails, no nullok",
                me.place(),
                me.control.written
            ),
        ));
    }
    out
}
