//! `twofoldctl integrations ...`, `email test`, `delivery log`.

use crate::cli::{DeliveryCmd, EmailCmd, IntegrationKind, IntegrationsCmd};
use crate::client::Client;
use crate::error::{CtlError, file_error};
use crate::output::{Out, field, int_of, kv, list_of, str_of, table};
use crate::time;
use serde_json::{Value, json};

/// Runs an `integrations` subcommand.
pub fn integrations(c: &Client, out: Out, cmd: &IntegrationsCmd) -> Result<(), CtlError> {
    match cmd {
        IntegrationsCmd::Add(a) => {
            let token = match &a.token_file {
                Some(p) => Some(
                    std::fs::read_to_string(p)
                        .map_err(|e| file_error(p, e))?
                        .trim()
                        .to_string(),
                ),
                None => None,
            };
            let kind = match a.kind {
                IntegrationKind::Twilio => "twilio",
                IntegrationKind::Webhook => "webhook",
            };
            let d = c.call(
                "integrations.add",
                json!({
                    "name": a.name, "kind": kind, "url": a.url,
                    "account": a.account, "token": token, "from": a.from,
                }),
            )?;
            out.emit(&d, || {
                println!(
                    "integration {} ({kind}) saved; select it with `twofoldctl integrations use-for-sms {}`",
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
                    println!("no integrations; add one with `twofoldctl integrations add NAME --kind twilio|webhook --url URL`");
                    return;
                }
                println!(
                    "{}",
                    table(
                        &["NAME", "KIND", "URL", "SMS PROVIDER", "HEALTH"],
                        list.iter().map(|i| vec![
                            field(i, "name"),
                            field(i, "kind"),
                            field(i, "url"),
                            if i["selected"] == Value::Bool(true) { "selected".into() } else { "-".into() },
                            field(i, "health"),
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
    }
    Ok(())
}

fn print_integration(d: &Value) {
    let mut rows: Vec<(&str, String)> = Vec::new();
    if let Some(m) = d.as_object() {
        for (k, v) in m {
            rows.push((k.as_str(), crate::output::text(v)));
        }
    }
    println!("{}", kv(&rows));
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
