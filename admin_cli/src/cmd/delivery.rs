//! `twofoldctl integrations ...`, `email test`, `delivery log`.

use crate::cli::{DeliveryCmd, EmailCmd, IntegrationAddArgs, IntegrationKind, IntegrationsCmd};
use crate::client::Client;
use crate::error::{CtlError, file_error};
use crate::output::{Out, field, int_of, kv, list_of, str_of, table, text};
use crate::time;
use serde_json::{Map, Value, json};

/// Runs an `integrations` subcommand.
pub fn integrations(c: &Client, out: Out, cmd: &IntegrationsCmd) -> Result<(), CtlError> {
    match cmd {
        IntegrationsCmd::Add(a) => {
            let (settings, secrets) = add_args(a)?;
            let kind = match a.kind {
                IntegrationKind::Twilio => "twilio",
                IntegrationKind::Webhook => "webhook",
                IntegrationKind::Smtp => "smtp",
            };
            let d = c.call(
                "integrations.add",
                json!({
                    "name": a.name, "kind": kind, "settings": settings,
                    "secrets": secrets, "replace": a.replace,
                }),
            )?;
            out.emit(&d, || {
                let next = if kind == "smtp" {
                    format!("twofoldctl settings set email.smtp_integration {}", a.name)
                } else {
                    format!("twofoldctl integrations use-for-sms {}", a.name)
                };
                println!(
                    "integration {} ({kind}) saved; check it with `twofoldctl integrations check {}`, select it with `{next}`",
                    a.name, a.name
                )
            });
        }
        IntegrationsCmd::Show { name } => {
            let d = c.call("integrations.show", json!({ "name": name }))?;
            out.emit(&d, || print_integration(&d));
        }
        IntegrationsCmd::List => {
            let d = c.call("integrations.list", json!({}))?;
            out.emit(&d, || {
                let list = list_of(&d, "integrations");
                if list.is_empty() {
                    println!("no integrations; add one with `twofoldctl integrations add NAME --kind twilio|webhook|smtp --set KEY=VALUE --secret-file KEY=FILE`");
                    return;
                }
                println!(
                    "{}",
                    table(
                        &["NAME", "KIND", "CHANNEL", "SELECTED", "HEALTH"],
                        list.iter().map(|i| vec![
                            field(i, "name"),
                            field(i, "kind"),
                            field(i, "channel"),
                            if i["selected"] == Value::Bool(true) { "yes".into() } else { "-".into() },
                            health_text(&i["health"]),
                        ])
                    )
                );
            });
        }
        IntegrationsCmd::UseForSms { name } => {
            let d = c.call("integrations.use_for_sms", json!({ "name": name }))?;
            out.emit(&d, || {
                println!(
                    "SMS codes are now sent through {name} (settings version {})",
                    d["version"]
                )
            });
        }
        IntegrationsCmd::Check { name } => {
            let d = c.call("integrations.check", json!({ "name": name }))?;
            let healthy = d["healthy"] == Value::Bool(true);
            out.emit(&d, || {
                if healthy {
                    println!(
                        "{}: credentials accepted by the provider",
                        field(&d, "name")
                    );
                } else {
                    println!("{}: UNHEALTHY: {}", field(&d, "name"), field(&d, "detail"));
                }
            });
            if !healthy {
                return Err(CtlError::Reported);
            }
        }
        IntegrationsCmd::TestSms {
            number,
            integration,
        } => {
            let d = c.call(
                "integrations.test_sms",
                json!({ "number": number, "integration": integration }),
            )?;
            out.emit(&d, || print_send(&d, "test SMS"));
        }
    }
    Ok(())
}

/// Runs an `email` subcommand.
pub fn email(c: &Client, out: Out, cmd: &EmailCmd) -> Result<(), CtlError> {
    match cmd {
        EmailCmd::Test { address } => {
            let d = c.call("email.test", json!({ "address": address }))?;
            out.emit(&d, || print_send(&d, "test email"));
        }
    }
    Ok(())
}

/// Runs a `delivery` subcommand.
pub fn delivery(c: &Client, out: Out, cmd: &DeliveryCmd) -> Result<(), CtlError> {
    match cmd {
        DeliveryCmd::Log {
            user,
            channel,
            since,
            limit,
        } => {
            let since = since
                .as_deref()
                .map(|s| time::parse(s, time::now()))
                .transpose()?;
            let d = c.call(
                "delivery.log",
                json!({ "user": user, "channel": channel, "since": since, "limit": limit }),
            )?;
            out.emit(&d, || {
                let rows = list_of(&d, "entries");
                if rows.is_empty() {
                    println!("no delivery attempts match");
                    return;
                }
                println!(
                    "{}",
                    table(
                        &["TIME", "USER", "CHANNEL", "TO", "VIA", "OUTCOME", "DETAIL"],
                        rows.iter().map(|r| vec![
                            time::fmt(int_of(r, "at")),
                            field(r, "user"),
                            field(r, "channel"),
                            field(r, "destination"),
                            field(r, "integration"),
                            field(r, "outcome"),
                            field(r, "detail"),
                        ])
                    )
                );
            });
        }
        DeliveryCmd::Counts { days, integration } => {
            let d = c.call(
                "delivery.counts",
                json!({ "days": days, "integration": integration }),
            )?;
            out.emit(&d, || {
                let rows = list_of(&d, "counts");
                if rows.is_empty() {
                    println!("no messages in the last {days} days");
                    return;
                }
                println!(
                    "{}",
                    table(
                        &[
                            "DAY",
                            "INTEGRATION",
                            "CHANNEL",
                            "QUEUED",
                            "SENT",
                            "FAILED",
                            "PROVIDER CALLS"
                        ],
                        rows.iter().map(|r| vec![
                            field(r, "day"),
                            field(r, "integration"),
                            field(r, "channel"),
                            int_of(r, "queued").to_string(),
                            int_of(r, "sent").to_string(),
                            int_of(r, "failed").to_string(),
                            int_of(r, "attempts").to_string(),
                        ])
                    )
                );
            });
        }
    }
    Ok(())
}

/// `--set KEY=VALUE` words as a JSON object (numbers and booleans typed), `--secret-file
/// KEY=FILE` as an object of the files' contents (trimmed).
fn add_args(a: &IntegrationAddArgs) -> Result<(Value, Value), CtlError> {
    let split = |w: &str, what: &str| {
        w.split_once('=')
            .filter(|(k, _)| !k.trim().is_empty())
            .map(|(k, v)| (k.trim().to_string(), v.to_string()))
            .ok_or_else(|| CtlError::Usage(format!("{what} {w:?} is not KEY=VALUE")))
    };
    let mut settings = Map::new();
    for w in &a.settings {
        let (k, v) = split(w, "--set")?;
        let typed = match serde_json::from_str::<Value>(&v) {
            Ok(x @ (Value::Number(_) | Value::Bool(_))) => x,
            _ => Value::String(v),
        };
        settings.insert(k, typed);
    }
    let mut secrets = Map::new();
    for w in &a.secret_files {
        let (k, f) = split(w, "--secret-file")?;
        let path = std::path::Path::new(&f);
        let text = std::fs::read_to_string(path).map_err(|e| file_error(path, e))?;
        secrets.insert(k, Value::String(text.trim().to_string()));
    }
    Ok((Value::Object(settings), Value::Object(secrets)))
}

fn health_text(h: &Value) -> String {
    match h.get("reason").and_then(Value::as_str) {
        Some(r) if !r.is_empty() => format!("{} ({r})", str_of(h, "state")),
        _ => str_of(h, "state").to_string(),
    }
}

fn when(v: &Value) -> String {
    v.as_i64().map(time::fmt).unwrap_or_else(|| "never".into())
}

fn print_integration(d: &Value) {
    let settings: Vec<String> = d["settings"]
        .as_object()
        .map(|m| m.iter().map(|(k, v)| format!("{k}={}", text(v))).collect())
        .unwrap_or_default();
    let h = &d["health"];
    println!(
        "{}",
        kv(&[
            ("name", field(d, "name")),
            ("kind", field(d, "kind")),
            ("channel", field(d, "channel")),
            (
                "selected",
                if d["selected"] == Value::Bool(true) {
                    "yes".into()
                } else {
                    "no".into()
                }
            ),
            (
                "settings",
                if settings.is_empty() {
                    "-".into()
                } else {
                    settings.join(", ")
                }
            ),
            (
                "secrets",
                if d["has_secrets"] == Value::Bool(true) {
                    "stored (encrypted; never shown)".into()
                } else {
                    "none".into()
                }
            ),
            ("health", health_text(h)),
            ("last success", when(&h["last_success_at"])),
            ("last failure", when(&h["last_failure_at"])),
        ])
    );
}

fn print_send(d: &Value, what: &str) {
    let outcome = str_of(d, "outcome");
    println!(
        "{what} to {}: {}{}",
        field(d, "destination"),
        if outcome.is_empty() {
            "queued"
        } else {
            outcome
        },
        match d.get("detail").and_then(Value::as_str) {
            Some(x) if !x.is_empty() => format!(" ({x})"),
            _ => String::new(),
        }
    );
}
