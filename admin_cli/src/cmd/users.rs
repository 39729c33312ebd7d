//! `twofoldctl users ...`: list, overview, show, resets, unlock, backup codes, contact details.

use crate::cli::UsersCmd;
use crate::client::Client;
use crate::error::CtlError;
use crate::output::{Out, field, int_of, kv, list_of, reasons, str_of, table, text};
use crate::time;
use serde_json::{Value, json};

/// Runs a `users` subcommand.
pub fn run(c: &Client, out: Out, cmd: &UsersCmd) -> Result<(), CtlError> {
    match cmd {
        UsersCmd::List { status } => {
            let d = c.call(
                "users.list",
                json!({ "status": status.map(|s| s.as_str()) }),
            )?;
            out.emit(&d, || print_list(&d));
        }
        UsersCmd::Overview => {
            let d = c.call("users.overview", json!({}))?;
            out.emit(&d, || print_overview(&d));
        }
        UsersCmd::Show { user } => {
            let d = c.call("users.show", json!({ "user": user }))?;
            out.emit(&d, || print_user(&d));
        }
        UsersCmd::Reset { user } => {
            let d = c.call("users.reset", json!({ "user": user }))?;
            out.emit(&d, || {
                println!(
                    "{user}: enrollment reset (secret and backup codes deleted); they enroll again at their next sign-in"
                )
            });
        }
        UsersCmd::ResetPending { yes } => reset_pending(c, out, *yes)?,
        UsersCmd::Unlock { user } => {
            let d = c.call("users.unlock", json!({ "user": user }))?;
            out.emit(&d, || {
                println!(
                    "{user}: unlocked ({} consecutive failed codes cleared)",
                    int_of(&d, "failures_cleared")
                )
            });
        }
        UsersCmd::BackupCodes { user } => {
            let d = c.call("users.backup_codes", json!({ "user": user }))?;
            out.emit(&d, || {
                println!(
                    "New backup codes for {user}. They are shown only now; the old ones no longer work."
                );
                println!("Hand them over privately; each works once.\n");
                for code in list_of(&d, "codes") {
                    println!("  {}", text(code));
                }
            });
        }
        UsersCmd::RemindPending => {
            let d = c.call("users.remind_pending", json!({}))?;
            out.emit(&d, || print_reminders(&d));
        }
        UsersCmd::SetPhone {
            user,
            number,
            create,
        } => {
            let d = c.call(
                "users.set_phone",
                json!({ "user": user, "phone": number, "create": create }),
            )?;
            out.emit(&d, || {
                println!("{user}: phone number set to {}", field(&d, "phone"))
            });
        }
        UsersCmd::SetEmail {
            user,
            address,
            create,
        } => {
            let d = c.call(
                "users.set_email",
                json!({ "user": user, "email": address, "create": create }),
            )?;
            out.emit(&d, || {
                println!("{user}: email address set to {}", field(&d, "email"))
            });
        }
        UsersCmd::SetDefaultMethod { user, method } => {
            let d = c.call(
                "users.set_default_method",
                json!({ "user": user, "method": method }),
            )?;
            out.emit(&d, || {
                println!("{user}: default method set to {}", field(&d, "method"))
            });
        }
    }
    Ok(())
}

fn reset_pending(c: &Client, out: Out, yes: bool) -> Result<(), CtlError> {
    if !yes {
        let count = c
            .call("users.overview", json!({}))
            .map(|o| int_of(&o, "pending").to_string())
            .unwrap_or_else(|_| "every".into());
        return Err(CtlError::Usage(format!(
            "this would reset {count} pending user(s) (their unconfirmed secrets are deleted; they enroll again at their next sign-in); nothing was changed. Re-run with --yes to do it"
        )));
    }
    let d = c.call("users.reset_pending", json!({ "confirm": true }))?;
    out.emit(&d, || {
        let names = list_of(&d, "reset");
        if names.is_empty() {
            println!("no user was pending; nothing to reset");
        } else {
            println!(
                "reset {} pending user(s): {}",
                names.len(),
                text(&d["reset"])
            );
        }
    });
    Ok(())
}

fn print_list(d: &Value) {
    let users = list_of(d, "users");
    if users.is_empty() {
        println!("no users");
        return;
    }
    println!(
        "{}",
        table(
            &[
                "USER",
                "STATUS",
                "LOCKED",
                "DEFAULT",
                "METHODS",
                "BACKUP CODES"
            ],
            users.iter().map(|u| {
                vec![
                    field(u, "name"),
                    field(u, "status"),
                    if u["locked"] == Value::Bool(true) {
                        "locked".into()
                    } else {
                        "no".into()
                    },
                    field(u, "default_method"),
                    field(u, "methods"),
                    field(u, "backup_codes_left"),
                ]
            })
        )
    );
}

fn print_overview(d: &Value) {
    println!(
        "{}",
        table(
            &["STATE", "USERS"],
            [
                ("not enrolled", "not_enrolled"),
                ("pending", "pending"),
                ("enrolled", "enrolled"),
                ("locked", "locked"),
                ("total", "total"),
            ]
            .iter()
            .map(|(label, key)| vec![label.to_string(), field(d, key)])
        )
    );
    if int_of(d, "pending") > 0 {
        println!(
            "\n{} user(s) started enrollment but never finished: `twofoldctl users remind-pending` sends them the manual-entry instructions; `twofoldctl users reset-pending --yes` clears them.",
            int_of(d, "pending")
        );
    }
}

fn print_user(d: &Value) {
    let locked = if d["locked"] == Value::Bool(true) {
        format!(
            "yes, after {} consecutive failed codes (clear: twofoldctl users unlock {})",
            int_of(d, "consecutive_failures"),
            str_of(d, "name")
        )
    } else {
        format!(
            "no ({} consecutive failed codes)",
            int_of(d, "consecutive_failures")
        )
    };
    println!(
        "{}",
        kv(&[
            ("user", field(d, "name")),
            ("status", field(d, "status")),
            ("methods", field(d, "methods")),
            ("default method", field(d, "default_method")),
            ("phone", field(d, "phone")),
            ("email", field(d, "email")),
            ("backup codes left", field(d, "backup_codes_left")),
            ("locked", locked),
        ])
    );
    let recent = list_of(d, "recent");
    println!("\nlast sign-ins:");
    if recent.is_empty() {
        println!("  none recorded");
        return;
    }
    for s in recent {
        println!(
            "  {}  {} from {}  -> {}",
            time::fmt(int_of(s, "at")),
            field(s, "service"),
            if s["rhost"].is_null() {
                "(local)".to_string()
            } else {
                field(s, "rhost")
            },
            field(s, "outcome")
        );
        let chain: Vec<String> = list_of(s, "reasons").iter().map(text).collect();
        if !chain.is_empty() {
            println!("{}", reasons(&chain, "      "));
        }
    }
}

fn print_reminders(d: &Value) {
    let sent = list_of(d, "queued");
    let skipped = list_of(d, "skipped");
    if sent.is_empty() && skipped.is_empty() {
        println!("no user is pending; no reminder sent");
        return;
    }
    if !sent.is_empty() {
        println!(
            "reminder queued for {} pending user(s): {}",
            sent.len(),
            text(&d["queued"])
        );
    }
    for s in skipped {
        println!("  not sent to {}: {}", field(s, "user"), field(s, "why"));
    }
}
