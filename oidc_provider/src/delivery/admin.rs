//! Admin operations on delivery, for `twofoldctl` (through the admin socket): integrations
//! (add, show, list, remove, select, check credentials), test sends, the delivery log and the
//! per-integration daily counts. Every change is an audit event naming the admin.
//!
//! These are plain blocking functions: call them from a blocking thread (the admin socket runs
//! its handlers with `spawn_blocking`). The ones that talk to a provider run their future on the
//! current tokio runtime, or on a private one outside a runtime.

use super::integration::{self, Provider, SendResult};
use super::outbox::{Outbox, delivery_store, selected_integration};
use super::templates::Rendered;
use super::{health, smtp, twilio, webhook, worker};
use crate::Daemon;
use serde::{Deserialize, Serialize};
use std::time::Duration;
use twofold_core::store::AuditEvent;
use twofold_core::store::delivery::{
    AttemptRecord, Channel, DailyCount, DeliveryFilter, DeliveryLogEntry, DeliveryState,
    IntegrationHealth, IntegrationKind, IntegrationRecord, Purpose,
};
use zeroize::Zeroizing;

/// Why an admin delivery operation was refused.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    /// Bad input, in words for the admin.
    #[error("{0}")]
    Usage(String),
    /// No such integration or message.
    #[error("{0}")]
    NotFound(String),
    /// The store or keys failed.
    #[error(transparent)]
    Core(#[from] twofold_core::Error),
}

impl DeliveryError {
    /// The admin reply `kind`: `usage`, `not_found` or `internal`.
    pub fn kind(&self) -> &'static str {
        match self {
            DeliveryError::Usage(_) => "usage",
            DeliveryError::NotFound(_) => "not_found",
            DeliveryError::Core(twofold_core::Error::Invalid(_)) => "usage",
            DeliveryError::Core(twofold_core::Error::NotFound(_)) => "not_found",
            DeliveryError::Core(_) => "internal",
        }
    }
}

type R<T> = Result<T, DeliveryError>;

/// What an admin gives to add or replace an integration.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct IntegrationInput {
    /// Name (letters, digits, `-`, `_`, `.`; up to 64).
    pub name: String,
    /// `twilio`, `webhook` or `smtp`.
    pub kind: IntegrationKind,
    /// Non-secret settings: twilio `{account_sid, from | messaging_service_sid, api_key_sid?,
    /// base_url?}`, webhook `{url}`, smtp `{host, port?, security?, username?}`.
    #[serde(default)]
    pub settings: serde_json::Value,
    /// Secrets: twilio `{auth_token}`, webhook `{signing_key}`, smtp `{password}`.
    #[serde(default)]
    pub secrets: serde_json::Value,
}

/// An integration as an admin sees it: never a secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntegrationView {
    /// Name.
    pub name: String,
    /// Kind.
    pub kind: IntegrationKind,
    /// SMS or email.
    pub channel: Channel,
    /// Non-secret settings.
    pub settings: serde_json::Value,
    /// Whether secrets are stored (their values are never shown).
    pub has_secrets: bool,
    /// Selected in the settings for its channel.
    pub selected: bool,
    /// Health.
    pub health: IntegrationHealth,
    /// When added.
    pub created_at: i64,
    /// When last changed.
    pub updated_at: i64,
}

/// Result of an explicit credential check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckReport {
    /// Integration.
    pub name: String,
    /// Whether the provider accepted the credentials.
    pub ok: bool,
    /// What the provider said, in words.
    pub detail: String,
    /// Health after the check.
    pub health: IntegrationHealth,
}

/// Result of a test send: the message's log line once final, or as it stands when the wait ran
/// out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestSendReport {
    /// The log line.
    pub message: DeliveryLogEntry,
    /// Its attempts.
    pub attempts: Vec<AttemptRecord>,
    /// Whether the message reached a final state within the wait.
    pub finished: bool,
}

/// One message with all its attempts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageDetail {
    /// The log line.
    pub message: DeliveryLogEntry,
    /// Every attempt, in order.
    pub attempts: Vec<AttemptRecord>,
}

/// Which template file is in use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateSource {
    /// `sms.txt`, `email_subject.txt`, `email_body.txt`.
    pub file: String,
    /// The operator's file path, or `built-in NAME`.
    pub source: String,
}

fn audit(d: &Daemon, actor: &str, event: &str, outcome: &str, detail: String) -> R<()> {
    d.engine.store.audit(&AuditEvent {
        at: d.engine.clock.now(),
        actor: actor.to_string(),
        event: event.to_string(),
        user: None,
        outcome: outcome.to_string(),
        detail,
    })?;
    Ok(())
}

fn check_name(name: &str) -> R<()> {
    if name.is_empty()
        || name.len() > 64
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return Err(DeliveryError::Usage(format!(
            "integration name {name:?} must be 1 to 64 letters, digits, '-', '_' or '.'"
        )));
    }
    Ok(())
}

fn view(d: &Daemon, r: IntegrationRecord) -> R<IntegrationView> {
    let s = d.engine.store.load_settings()?.settings;
    let selected = match r.kind.channel() {
        Channel::Sms => s.sms_provider.as_deref() == Some(&r.name),
        Channel::Email => s.email.smtp_integration.as_deref() == Some(&r.name),
    };
    Ok(IntegrationView {
        channel: r.kind.channel(),
        name: r.name,
        kind: r.kind,
        settings: r.config,
        has_secrets: r.credentials.is_some(),
        selected,
        health: r.health,
        created_at: r.created_at,
        updated_at: r.updated_at,
    })
}

fn get(d: &Daemon, name: &str) -> R<IntegrationRecord> {
    delivery_store(d.engine.store.as_ref())?
        .get_integration(name)?
        .ok_or_else(|| {
            DeliveryError::NotFound(format!(
                "no integration named {name:?} (see `twofoldctl integrations list`)"
            ))
        })
}

/// Adds an integration, or replaces one when `replace` is set (its health is kept). Secrets are
/// encrypted before they reach the store.
pub fn add_integration(
    d: &Daemon,
    actor: &str,
    input: &IntegrationInput,
    replace: bool,
) -> R<IntegrationView> {
    check_name(&input.name)?;
    let ds = delivery_store(d.engine.store.as_ref())?;
    let existing = ds.get_integration(&input.name)?;
    if existing.is_some() && !replace {
        return Err(DeliveryError::Usage(format!(
            "an integration named {:?} already exists (replace it explicitly, or choose another name)",
            input.name
        )));
    }
    let (config, secrets): (serde_json::Value, Option<Zeroizing<String>>) =
        integration::validate(input.kind, &input.settings, &input.secrets)
            .map_err(DeliveryError::Usage)?;
    let credentials = match &secrets {
        Some(json) => Some(
            integration::seal_secrets(&d.engine.keys, d.engine.rng.as_ref(), &input.name, json)
                .map_err(|e| DeliveryError::Core(twofold_core::Error::Unavailable(e)))?,
        ),
        None => None,
    };
    let now = d.engine.clock.now();
    ds.put_integration(&IntegrationRecord {
        name: input.name.clone(),
        kind: input.kind,
        config: config.clone(),
        credentials,
        created_at: existing.as_ref().map_or(now, |e| e.created_at),
        updated_at: now,
        health: IntegrationHealth::default(),
    })?;
    let event = if existing.is_some() {
        "integration.replace"
    } else {
        "integration.add"
    };
    audit(
        d,
        actor,
        event,
        "ok",
        format!("{} integration {:?}: {config}", input.kind, input.name),
    )?;
    view(d, get(d, &input.name)?)
}

/// One integration.
pub fn show_integration(d: &Daemon, name: &str) -> R<IntegrationView> {
    view(d, get(d, name)?)
}

/// Every integration, by name.
pub fn list_integrations(d: &Daemon) -> R<Vec<IntegrationView>> {
    let all = delivery_store(d.engine.store.as_ref())?.list_integrations()?;
    all.into_iter().map(|r| view(d, r)).collect()
}

/// Removes an integration; refused while it is selected in the settings.
pub fn remove_integration(d: &Daemon, actor: &str, name: &str) -> R<()> {
    let v = show_integration(d, name)?;
    if v.selected {
        return Err(DeliveryError::Usage(format!(
            "integration {name:?} is selected for {}; select another one (or none) first",
            v.channel
        )));
    }
    delivery_store(d.engine.store.as_ref())?.delete_integration(name)?;
    audit(
        d,
        actor,
        "integration.remove",
        "ok",
        format!("integration {name:?}"),
    )
}

/// Selects the integration that sends `channel` (`settings.sms_provider`, or
/// `settings.email.smtp_integration`), or none. Returns the new settings version.
pub fn select_integration(d: &Daemon, actor: &str, channel: Channel, name: Option<&str>) -> R<i64> {
    if let Some(n) = name {
        let r = get(d, n)?;
        if r.kind.channel() != channel {
            return Err(DeliveryError::Usage(format!(
                "integration {n:?} is a {} integration; it cannot send {channel}",
                r.kind
            )));
        }
    }
    let cur = d.engine.store.load_settings()?;
    let mut s = cur.settings.clone();
    match channel {
        Channel::Sms => s.sms_provider = name.map(str::to_string),
        Channel::Email => s.email.smtp_integration = name.map(str::to_string),
    }
    s.validate()
        .map_err(|p| DeliveryError::Usage(format!("the settings would be invalid: {p}")))?;
    // The engine validates, saves with the version check, and audits old and new values.
    Ok(d.engine.update_settings(actor, s, cur.version)?)
}

/// Runs `f` to completion from blocking code.
fn block_on<F: std::future::Future>(f: F) -> R<F::Output> {
    match tokio::runtime::Handle::try_current() {
        Ok(h) => Ok(h.block_on(f)),
        Err(_) => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map(|rt| rt.block_on(f))
            .map_err(|e| {
                DeliveryError::Core(twofold_core::Error::Unavailable(format!(
                    "cannot start a runtime: {e}"
                )))
            }),
    }
}

/// Checks an integration's credentials with the provider (Twilio: reads the Account; webhook: a
/// signed `check` call; SMTP: connect, EHLO and AUTH) and records the health.
pub fn check_integration(d: &Daemon, actor: &str, name: &str) -> R<CheckReport> {
    let r = get(d, name)?;
    let cfg = &d.config.delivery;
    let now = d.engine.clock.now();
    let result = match integration::open(&d.engine.keys, &r) {
        Err(e) => SendResult::failed(integration::FailureKind::Auth, e),
        Ok(p) => {
            let http = worker::http_client(cfg);
            let total = Duration::from_millis(cfg.total_timeout_ms);
            block_on(async {
                let fut = async {
                    match &p {
                        Provider::Twilio(s, sec) => twilio::check(&http, s, sec).await,
                        Provider::Webhook(s, sec) => webhook::check(&http, s, sec, now).await,
                        Provider::Smtp(s, sec) => smtp::check(s, sec.as_ref(), total).await,
                    }
                };
                tokio::time::timeout(total, fut).await.unwrap_or_else(|_| {
                    SendResult::failed(
                        integration::FailureKind::Transient,
                        format!("no answer within {} ms", cfg.total_timeout_ms),
                    )
                })
            })?
        }
    };
    let done = d.engine.clock.now();
    let delay = match &result {
        SendResult::Failed {
            retry_after: Some(s),
            ..
        } => i64::try_from(*s).unwrap_or(60),
        _ => cfg.backoff(1),
    };
    let h = health::next(&r.health, &result, done, done + delay);
    delivery_store(d.engine.store.as_ref())?.set_integration_health(name, &h)?;
    let (ok, detail) = match &result {
        SendResult::Accepted { .. } => (true, "the provider accepted the credentials".to_string()),
        SendResult::Failed { message, .. } => (false, message.clone()),
    };
    audit(
        d,
        actor,
        "integration.check",
        if ok { "ok" } else { "error" },
        format!("integration {name:?}: {detail}"),
    )?;
    Ok(CheckReport {
        name: name.to_string(),
        ok,
        detail,
        health: h,
    })
}

fn outbox(d: &Daemon) -> Outbox {
    Outbox {
        store: d.engine.store.clone(),
        keys: d.engine.keys.clone(),
        clock: d.engine.clock.clone(),
        rng: d.engine.rng.clone(),
        templates: d.config.delivery.templates(),
    }
}

fn test_send(
    d: &Daemon,
    actor: &str,
    channel: Channel,
    to: &str,
    integration: Option<&str>,
    wait: Duration,
) -> R<TestSendReport> {
    let s = d.engine.store.load_settings()?.settings;
    let name = match integration {
        Some(n) => n.to_string(),
        None => selected_integration(&s, channel)?,
    };
    let company = super::outbox::company(&s);
    let rendered = Rendered {
        subject: (channel == Channel::Email).then(|| format!("{company}: test message")),
        text: Zeroizing::new(format!(
            "This is a test message from {company} (twofold), sent through the {channel} integration {name:?} by an administrator. No action is needed."
        )),
    };
    let now = d.engine.clock.now();
    let id = outbox(d).queue(
        actor,
        channel,
        to,
        Purpose::Test,
        &rendered,
        now + 600,
        Some(&name),
    )?;
    audit(
        d,
        actor,
        "delivery.test",
        "ok",
        format!("test {channel} queued as message {id} through {name:?}"),
    )?;
    let ds = delivery_store(d.engine.store.as_ref())?;
    let deadline = std::time::Instant::now() + wait;
    loop {
        let entry = ds
            .delivery_entry(id)?
            .ok_or_else(|| DeliveryError::NotFound(format!("message {id} vanished")))?;
        let finished = entry.state.is_final();
        if finished || std::time::Instant::now() >= deadline {
            return Ok(TestSendReport {
                attempts: ds.delivery_attempts(id)?,
                message: entry,
                finished,
            });
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Queues a test SMS to `to` (E.164) through `integration` (default: the selected SMS provider)
/// and waits up to `wait` for its outcome.
pub fn send_test_sms(
    d: &Daemon,
    actor: &str,
    to: &str,
    integration: Option<&str>,
    wait: Duration,
) -> R<TestSendReport> {
    test_send(d, actor, Channel::Sms, to, integration, wait)
}

/// Queues a test email to `to` through `integration` (default: the selected SMTP integration)
/// and waits up to `wait` for its outcome.
pub fn send_test_email(
    d: &Daemon,
    actor: &str,
    to: &str,
    integration: Option<&str>,
    wait: Duration,
) -> R<TestSendReport> {
    test_send(d, actor, Channel::Email, to, integration, wait)
}

/// The delivery log, newest first.
pub fn delivery_log(d: &Daemon, filter: &DeliveryFilter) -> R<Vec<DeliveryLogEntry>> {
    Ok(delivery_store(d.engine.store.as_ref())?.delivery_log(filter)?)
}

/// One message with every attempt.
pub fn delivery_message(d: &Daemon, id: i64) -> R<MessageDetail> {
    let ds = delivery_store(d.engine.store.as_ref())?;
    let message = ds
        .delivery_entry(id)?
        .ok_or_else(|| DeliveryError::NotFound(format!("no message with id {id}")))?;
    Ok(MessageDetail {
        message,
        attempts: ds.delivery_attempts(id)?,
    })
}

/// Messages per integration per UTC day over the last `days` days (today included).
pub fn daily_counts(d: &Daemon, days: u32, integration: Option<&str>) -> R<Vec<DailyCount>> {
    if days == 0 || days > 3660 {
        return Err(DeliveryError::Usage(format!(
            "days must be between 1 and 3660, not {days}"
        )));
    }
    let now = d.engine.clock.now();
    let today = now - now.rem_euclid(86_400);
    let since = today - i64::from(days - 1) * 86_400;
    Ok(delivery_store(d.engine.store.as_ref())?.daily_counts(since, now + 1, integration)?)
}

/// Which template files are in use, after checking each renders.
pub fn check_templates(d: &Daemon) -> R<Vec<TemplateSource>> {
    let t = d.config.delivery.templates();
    let files = t.check().map_err(|e| DeliveryError::Usage(e.to_string()))?;
    Ok(files
        .into_iter()
        .map(|(file, source)| TemplateSource { file, source })
        .collect())
}

/// Messages still waiting (queued or being sent), for `doctor`.
pub fn pending_count(d: &Daemon) -> R<usize> {
    let ds = delivery_store(d.engine.store.as_ref())?;
    let mut n = 0;
    for state in [DeliveryState::Queued, DeliveryState::Sending] {
        n += ds
            .delivery_log(&DeliveryFilter {
                state: Some(state),
                limit: 10_000,
                ..DeliveryFilter::default()
            })?
            .len();
    }
    Ok(n)
}
