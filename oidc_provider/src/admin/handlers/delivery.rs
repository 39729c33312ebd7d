//! `integrations.*`, `email.test`, `delivery.log`, `users.remind_pending`, and the delivery part
//! of `doctor.facts`: thin adapters over [`crate::delivery::admin`].

use super::{AdminError, Reply, flag, opt_i64, opt_str, req_str};
use crate::Daemon;
use crate::delivery::admin::{self as dadmin, DeliveryError, IntegrationInput, TestSendReport};
use crate::delivery::outbox::{Outbox, company, selected_integration};
use crate::delivery::templates::Rendered;
use serde_json::{Value, json};
use std::time::Duration;
use twofold_core::settings::Settings;
use twofold_core::store::EnrollmentStatus;
use twofold_core::store::delivery::{Channel, DeliveryFilter, Health, IntegrationKind, Purpose};
use zeroize::Zeroizing;

/// How long a test send waits for the provider's answer.
const TEST_WAIT: Duration = Duration::from_secs(20);

impl From<DeliveryError> for AdminError {
    fn from(e: DeliveryError) -> Self {
        match e {
            DeliveryError::Usage(m) => AdminError::Usage(m),
            DeliveryError::NotFound(m) => AdminError::Refused(m),
            DeliveryError::Core(c) => c.into(),
        }
    }
}

fn to_json<T: serde::Serialize>(v: &T) -> Reply {
    serde_json::to_value(v).map_err(|e| AdminError::Internal(format!("to JSON: {e}")))
}

pub(super) fn add(d: &Daemon, admin: &str, a: &Value) -> Reply {
    let name = req_str(a, "name")?;
    let kind_raw = req_str(a, "kind")?;
    let kind = IntegrationKind::parse(kind_raw).ok_or_else(|| {
        AdminError::Usage(format!(
            "kind must be twilio, webhook or smtp, not {kind_raw:?}"
        ))
    })?;
    let input = IntegrationInput {
        name: name.to_string(),
        kind,
        settings: a.get("settings").cloned().unwrap_or(Value::Null),
        secrets: a.get("secrets").cloned().unwrap_or(Value::Null),
    };
    let v = dadmin::add_integration(d, admin, &input, flag(a, "replace"))?;
    to_json(&v)
}

pub(super) fn show(d: &Daemon, a: &Value) -> Reply {
    to_json(&dadmin::show_integration(d, req_str(a, "name")?)?)
}

pub(super) fn list(d: &Daemon, _a: &Value) -> Reply {
    Ok(json!({ "integrations": to_json(&dadmin::list_integrations(d)?)? }))
}

pub(super) fn use_for_sms(d: &Daemon, admin: &str, a: &Value) -> Reply {
    let name = req_str(a, "name")?;
    let version = dadmin::select_integration(d, admin, Channel::Sms, Some(name))?;
    Ok(json!({ "name": name, "version": version }))
}

pub(super) fn check(d: &Daemon, admin: &str, a: &Value) -> Reply {
    let name = match opt_str(a, "name")? {
        Some(n) => n.to_string(),
        None => {
            let s = d.engine.store.load_settings()?.settings;
            selected_integration(&s, Channel::Sms)
                .map_err(|e| AdminError::Refused(e.to_string()))?
        }
    };
    let r = dadmin::check_integration(d, admin, &name)?;
    Ok(json!({
        "name": r.name, "healthy": r.ok, "detail": r.detail, "health": to_json(&r.health)?,
    }))
}

fn send_report(r: &TestSendReport) -> Reply {
    let m = &r.message;
    Ok(json!({
        "id": m.id,
        "destination": m.destination,
        "integration": m.integration,
        "outcome": if r.finished { m.state.as_str() } else { "still sending" },
        "finished": r.finished,
        "detail": m.last_error,
        "attempts": to_json(&r.attempts)?,
    }))
}

pub(super) fn test_sms(d: &Daemon, admin: &str, a: &Value) -> Reply {
    let raw = req_str(a, "number")?;
    let number = twofold_core::engine::parse_phone(raw)?;
    let r = dadmin::send_test_sms(d, admin, &number, opt_str(a, "integration")?, TEST_WAIT)
        .map_err(unavailable_is_refused)?;
    send_report(&r)
}

pub(super) fn test_email(d: &Daemon, admin: &str, a: &Value) -> Reply {
    let raw = req_str(a, "address")?;
    let to = twofold_core::engine::parse_email(raw)?;
    let r = dadmin::send_test_email(d, admin, &to, opt_str(a, "integration")?, TEST_WAIT)
        .map_err(unavailable_is_refused)?;
    send_report(&r)
}

/// "Cannot be sent: nothing selected" is a refusal the admin can act on, not an internal error.
fn unavailable_is_refused(e: DeliveryError) -> AdminError {
    match e {
        DeliveryError::Core(twofold_core::Error::Unavailable(m)) => AdminError::Refused(m),
        other => other.into(),
    }
}

pub(super) fn log(d: &Daemon, a: &Value) -> Reply {
    let channel = match opt_str(a, "channel")? {
        None => None,
        Some(c) => Some(Channel::parse(c).ok_or_else(|| {
            AdminError::Usage(format!("channel must be sms or email, not {c:?}"))
        })?),
    };
    let limit = opt_i64(a, "limit")?.unwrap_or(50);
    let limit = u32::try_from(limit)
        .ok()
        .filter(|l| (1..=10_000).contains(l))
        .ok_or_else(|| AdminError::Usage("limit must be between 1 and 10000".into()))?;
    let f = DeliveryFilter {
        user: opt_str(a, "user")?.map(str::to_string),
        channel,
        since: opt_i64(a, "since")?,
        limit,
        ..DeliveryFilter::default()
    };
    let entries: Vec<Value> = dadmin::delivery_log(d, &f)?
        .into_iter()
        .map(|e| {
            json!({
                "id": e.id, "at": e.queued_at, "user": e.user, "channel": e.channel.as_str(),
                "integration": e.integration, "purpose": e.purpose.as_str(),
                "destination": e.destination, "outcome": e.state.as_str(),
                "attempts": e.attempts, "throttled": e.throttled,
                "detail": e.last_error, "finished_at": e.finished_at,
            })
        })
        .collect();
    Ok(json!({ "entries": entries }))
}

/// `delivery.counts`: messages per integration and day.
pub(super) fn counts(d: &Daemon, a: &Value) -> Reply {
    let days = opt_i64(a, "days")?.unwrap_or(7);
    let days = u32::try_from(days)
        .map_err(|_| AdminError::Usage(format!("days must be between 1 and 3660, not {days}")))?;
    let rows: Vec<Value> = dadmin::daily_counts(d, days, opt_str(a, "integration")?)?
        .into_iter()
        .map(|c| {
            json!({
                "day": c.day, "integration": c.integration, "channel": c.channel.as_str(),
                "queued": c.queued, "sent": c.sent, "failed": c.failed, "attempts": c.attempts,
            })
        })
        .collect();
    Ok(json!({ "days": days, "counts": rows }))
}

/// The reminder: what to do with the text key when the QR code does not scan.
fn reminder(company: &str, user: &str) -> Rendered {
    Rendered {
        subject: Some(format!(
            "{company}: finish setting up two-factor authentication"
        )),
        text: Zeroizing::new(format!(
            "Hello {user},\n\n\
             You started setting up two-factor authentication for your {company} account but did not finish.\n\n\
             Sign in again and the setup starts over with a fresh code. If your authenticator app cannot scan the QR code:\n\
             1. In the app, choose to add an account by entering a setup key (\"Enter a setup key\" or \"Enter key manually\").\n\
             2. Type the text key shown beside the QR code (spaces do not matter); choose \"time-based\" if asked.\n\
             3. Type the 6-digit code the app then shows to finish.\n\n\
             Keep the backup codes shown at the end in a safe place.\n\n\
             This message holds no code or key. If you did not start this, tell your IT team."
        )),
    }
}

pub(super) fn remind_pending(d: &Daemon, admin: &str, _a: &Value) -> Reply {
    let store = &d.engine.store;
    let settings = store.load_settings()?.settings;
    let pending = store.list_users(Some(EnrollmentStatus::Pending))?;
    if pending.is_empty() {
        return Ok(json!({ "queued": [], "skipped": [] }));
    }
    // Refuse before queueing anything when email cannot be sent at all.
    selected_integration(&settings, Channel::Email)
        .map_err(|e| AdminError::Refused(e.to_string()))?;
    let outbox = Outbox {
        store: store.clone(),
        keys: d.engine.keys.clone(),
        clock: d.engine.clock.clone(),
        rng: d.engine.rng.clone(),
        templates: d.config.delivery.templates(),
    };
    let company = company(&settings);
    let now = d.engine.clock.now();
    let (mut queued, mut skipped) = (Vec::new(), Vec::new());
    for u in pending {
        let Some(email) = u.email.as_deref() else {
            skipped.push(json!({ "user": u.name, "why": "no email address on file (twofoldctl users set-email)" }));
            continue;
        };
        let msg = reminder(&company, &u.name);
        match outbox.queue(
            &u.name,
            Channel::Email,
            email,
            Purpose::Notice,
            &msg,
            now + 86_400,
            None,
        ) {
            Ok(id) => {
                store.audit(&twofold_core::store::AuditEvent {
                    at: now,
                    actor: admin.to_string(),
                    event: "user.remind".into(),
                    user: Some(u.name.clone()),
                    outcome: "ok".into(),
                    detail: format!("enrollment reminder queued as message {id} by {admin}"),
                })?;
                queued.push(Value::String(u.name));
            }
            Err(e) => skipped.push(json!({ "user": u.name, "why": e.to_string() })),
        }
    }
    Ok(json!({ "queued": queued, "skipped": skipped }))
}

/// One integration's health for doctor: checked now with the provider when `check` is set.
fn integration_health(d: &Daemon, admin: &str, name: &str, check: bool) -> Value {
    if check {
        return match dadmin::check_integration(d, admin, name) {
            Ok(r) => json!({ "name": name, "healthy": r.ok, "detail": r.detail, "checked": true }),
            Err(e) => {
                json!({ "name": name, "healthy": false, "detail": e.to_string(), "checked": true })
            }
        };
    }
    match dadmin::show_integration(d, name) {
        Ok(v) => {
            let detail = v
                .health
                .reason
                .clone()
                .unwrap_or_else(|| v.health.state.as_str().to_string());
            json!({
                "name": name,
                "state": v.health.state.as_str(),
                "healthy": matches!(v.health.state, Health::Healthy | Health::Unknown),
                "detail": format!("last known state {}: {detail}", v.health.state.as_str()),
                "checked": false,
            })
        }
        Err(e) => {
            json!({ "name": name, "healthy": false, "detail": e.to_string(), "checked": false })
        }
    }
}

/// The delivery facts for `doctor`: the selected SMS provider's health and the SMTP relay's
/// reachability (checked with the provider when `check` is set), and messages still waiting.
pub(super) fn health(d: &Daemon, admin: &str, s: &Settings, check: bool) -> Value {
    if d.engine.store.delivery().is_none() {
        return Value::Null;
    }
    let sms = s
        .sms_provider
        .as_deref()
        .map(|n| integration_health(d, admin, n, check))
        .unwrap_or(Value::Null);
    let smtp = match s.email.smtp_integration.as_deref() {
        None => json!({ "configured": false }),
        Some(_) if s.email.from_address.is_none() => json!({
            "configured": false, "detail": "no sender address (email.from_address)",
        }),
        Some(n) => {
            let h = integration_health(d, admin, n, check);
            json!({
                "configured": true, "reachable": h["healthy"], "detail": h["detail"],
                "name": n, "state": h["state"], "checked": h["checked"],
            })
        }
    };
    json!({
        "sms": sms,
        "smtp": smtp,
        "waiting": dadmin::pending_count(d).ok(),
    })
}
