//! `twofoldctl audit` and `twofoldctl why`.

use crate::cli::{AuditArgs, WhyArgs};
use crate::client::Client;
use crate::error::CtlError;
use crate::output::{Out, field, int_of, list_of, reasons, table, text};
use crate::time;
use serde_json::{Value, json};

/// Queries the audit trail.
pub fn audit(c: &Client, out: Out, a: &AuditArgs) -> Result<(), CtlError> {
    let now = time::now();
    let since = a
        .since
        .as_deref()
        .map(|s| time::parse(s, now))
        .transpose()?;
    let until = a
        .until
        .as_deref()
        .map(|s| time::parse(s, now))
        .transpose()?;
    if let (Some(s), Some(u)) = (since, until)
        && s > u
    {
        return Err(CtlError::Usage(format!(
            "--since ({}) is after --until ({})",
            time::fmt(s),
            time::fmt(u)
        )));
    }
    if a.limit == 0 || a.limit > 10_000 {
        return Err(CtlError::Usage(
            "--limit must be between 1 and 10000".into(),
        ));
    }
    let d = c.call(
        "audit.query",
        json!({
            "user": a.user, "since": since, "until": until,
            "type": a.event_type, "limit": a.limit,
        }),
    )?;
    out.emit(&d, || {
        let events = list_of(&d, "events");
        if events.is_empty() {
            println!("no audit events match");
            return;
        }
        println!(
            "{}",
            table(
                &["TIME", "ACTOR", "EVENT", "USER", "OUTCOME", "DETAIL"],
                events.iter().map(|e| vec![
                    time::fmt(int_of(e, "at")),
                    field(e, "actor"),
                    field(e, "event"),
                    field(e, "user"),
                    field(e, "outcome"),
                    field(e, "detail"),
                ])
            )
        );
    });
    Ok(())
}

/// Explains a user's last decisions and a hypothetical sign-in.
pub fn why(c: &Client, out: Out, a: &WhyArgs) -> Result<(), CtlError> {
    if a.limit > 100 {
        return Err(CtlError::Usage("--limit must be at most 100".into()));
    }
    let (roles, roles_from) = if a.roles.is_empty() {
        match unix_groups(&a.user) {
            Some(g) => (g, "the user's Unix groups (id -Gn)"),
            None => (
                Vec::new(),
                "none: not a user on this host; give --role GROUP",
            ),
        }
    } else {
        (a.roles.clone(), "the command line")
    };
    let mut d = c.call(
        "why",
        json!({
            "user": a.user, "service": a.service, "rhost": a.rhost,
            "roles": roles, "limit": a.limit,
        }),
    )?;
    if let Some(h) = d.get_mut("hypothetical").and_then(Value::as_object_mut) {
        h.insert("roles_from".into(), Value::String(roles_from.into()));
    }
    out.emit(&d, || print_why(&d));
    Ok(())
}

/// The user's Unix groups as PAM would see them, if the user exists on this host.
fn unix_groups(user: &str) -> Option<Vec<String>> {
    let out = std::process::Command::new("id")
        .arg("-Gn")
        .arg("--")
        .arg(user)
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    Some(
        String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .map(str::to_string)
            .collect(),
    )
}

fn chain(v: &Value) -> Vec<String> {
    list_of(v, "reasons").iter().map(text).collect()
}

fn print_why(d: &Value) {
    let user = field(d, "user");
    let history = list_of(d, "history");
    if history.is_empty() {
        println!("{user} has no recorded sign-ins.");
    } else {
        println!("{user}'s last decisions, newest first:");
        for h in history {
            println!(
                "\n  {}  {} from {}: {}",
                time::fmt(int_of(h, "at")),
                field(h, "service"),
                if h["rhost"].is_null() {
                    "(local)".to_string()
                } else {
                    field(h, "rhost")
                },
                field(h, "outcome")
            );
            println!("{}", reasons(&chain(h), "    "));
        }
    }
    let hyp = &d["hypothetical"];
    if hyp.is_object() {
        let roles = list_of(hyp, "roles");
        println!(
            "\nIf {user} signed in now through {} from {}{}: {}",
            field(hyp, "service"),
            if hyp["rhost"].is_null() {
                "no remote address".to_string()
            } else {
                field(hyp, "rhost")
            },
            if roles.is_empty() {
                String::new()
            } else {
                format!(
                    " with roles {} (from {})",
                    text(&hyp["roles"]),
                    field(hyp, "roles_from")
                )
            },
            field(hyp, "verdict")
        );
        if !list_of(hyp, "methods").is_empty() {
            println!("  methods offered: {}", field(hyp, "methods"));
        }
        println!("{}", reasons(&chain(hyp), "    "));
    }
}
