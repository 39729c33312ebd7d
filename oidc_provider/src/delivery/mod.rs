//! Delivery of SMS and email codes: the outbox, the worker, the integrations.
//!
//! - [`outbox`]: the engine's [`CodeSender`]: renders ([`templates`]), seals ([`seal`]) and
//!   queues a message, and returns at once; a sign-in never waits on a provider.
//! - [`worker`]: drains the outbox under leases with timeouts, retries and back-off, records
//!   every attempt, keeps each integration's [`health`].
//! - Integrations ([`integration`]): a Twilio-compatible API ([`twilio`]), a signed JSON webhook
//!   ([`webhook`]), SMTP ([`smtp`]); secrets encrypted at rest.
//! - [`admin`]: what `twofoldctl` calls: integrations, checks, test sends, the delivery log,
//!   daily counts.
//!
//! Phone numbers are parsed to E.164 by `twofold_core::engine::parse_phone`.

pub mod admin;
pub mod health;
pub mod integration;
pub mod outbox;
pub mod seal;
pub mod smtp;
pub mod templates;
pub mod twilio;
pub mod webhook;
pub mod worker;

use crate::Daemon;
use serde::Deserialize;
use std::path::PathBuf;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;
use twofold_core::clock::{Clock, Rng};
use twofold_core::crypto::Keyring;
use twofold_core::engine::CodeSender;
use twofold_core::store::Store;

/// `[delivery]` section of the daemon's configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliveryConfig {
    /// Run the delivery worker on this node (default true). Several nodes may run one.
    #[serde(default = "yes")]
    pub worker: bool,
    /// Name of this node in leases (default: the host name).
    #[serde(default)]
    pub node_id: Option<String>,
    /// How often an idle worker looks for due messages, in milliseconds (default 250).
    #[serde(default = "default_poll")]
    pub poll_interval_ms: u64,
    /// Messages sent at once (default 4).
    #[serde(default = "default_concurrency")]
    pub concurrency: usize,
    /// Time to connect to a provider, in milliseconds (default 3000).
    #[serde(default = "default_connect")]
    pub connect_timeout_ms: u64,
    /// Time for a whole provider call, in milliseconds (default 10000).
    #[serde(default = "default_total")]
    pub total_timeout_ms: u64,
    /// Attempts before a message is given up (default 5).
    #[serde(default = "default_attempts")]
    pub max_attempts: u32,
    /// First retry delay in seconds, doubled on each retry (default 2).
    #[serde(default = "default_backoff_base")]
    pub backoff_base_secs: u64,
    /// Longest retry delay in seconds (default 60).
    #[serde(default = "default_backoff_max")]
    pub backoff_max_secs: u64,
    /// How long a claimed message stays leased, in seconds (default 30; always longer than the
    /// total timeout). A message whose worker died is retried after this.
    #[serde(default = "default_lease")]
    pub lease_secs: u64,
    /// Operator templates (`sms.txt`, `email_subject.txt`, `email_body.txt`); built-ins otherwise.
    #[serde(default)]
    pub templates_dir: Option<PathBuf>,
    /// Days the delivery log is kept (default 90; 0 keeps it forever).
    #[serde(default = "default_retention")]
    pub log_retention_days: u32,
    /// Codes queued for one user in any hour, across sign-ins (default 10; 0: no limit). Bounds
    /// SMS pumping and cost beyond the per-session resend limit.
    #[serde(default = "default_per_user_hour")]
    pub max_messages_per_user_per_hour: u32,
}

fn yes() -> bool {
    true
}
fn default_poll() -> u64 {
    250
}
fn default_concurrency() -> usize {
    4
}
fn default_connect() -> u64 {
    3000
}
fn default_total() -> u64 {
    10_000
}
fn default_attempts() -> u32 {
    5
}
fn default_backoff_base() -> u64 {
    2
}
fn default_backoff_max() -> u64 {
    60
}
fn default_lease() -> u64 {
    30
}
fn default_retention() -> u32 {
    90
}
fn default_per_user_hour() -> u32 {
    10
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        DeliveryConfig {
            worker: true,
            node_id: None,
            poll_interval_ms: default_poll(),
            concurrency: default_concurrency(),
            connect_timeout_ms: default_connect(),
            total_timeout_ms: default_total(),
            max_attempts: default_attempts(),
            backoff_base_secs: default_backoff_base(),
            backoff_max_secs: default_backoff_max(),
            lease_secs: default_lease(),
            templates_dir: None,
            log_retention_days: default_retention(),
            max_messages_per_user_per_hour: default_per_user_hour(),
        }
    }
}

impl DeliveryConfig {
    /// The lease in seconds: as configured, but always above the total timeout (+ 2 s).
    pub fn lease_secs(&self) -> i64 {
        let floor = self.total_timeout_ms.div_ceil(1000) + 2;
        i64::try_from(self.lease_secs.max(floor)).unwrap_or(3600)
    }

    /// Delay before retry number `attempt` (1-based): base × 2^(attempt−1), capped.
    pub fn backoff(&self, attempt: u32) -> i64 {
        let base = self.backoff_base_secs.max(1);
        let exp = attempt.saturating_sub(1).min(20);
        let d = base
            .saturating_mul(1u64 << exp)
            .min(self.backoff_max_secs.max(base));
        i64::try_from(d).unwrap_or(3600)
    }

    /// The message templates.
    pub fn templates(&self) -> templates::Templates {
        templates::Templates::new(self.templates_dir.clone())
    }
}

/// The code sender the engine uses: writes outbox rows, at most
/// `max_messages_per_user_per_hour` codes per user.
pub fn sender(
    store: Arc<dyn Store>,
    keys: Arc<Keyring>,
    clock: Arc<dyn Clock>,
    rng: Arc<dyn Rng>,
    cfg: &DeliveryConfig,
) -> Arc<dyn CodeSender> {
    Arc::new(outbox::RateLimited {
        outbox: outbox::Outbox {
            store,
            keys,
            clock,
            rng,
            templates: cfg.templates(),
        },
        per_user_hour: cfg.max_messages_per_user_per_hour,
    })
}

/// Whether the store holds secrets sealed under the key file (integration credentials, or
/// message bodies still waiting): then a missing key file must not be replaced by a fresh one.
pub fn holds_sealed_secrets(store: &dyn Store) -> twofold_core::Result<bool> {
    let Some(ds) = store.delivery() else {
        return Ok(false);
    };
    if ds
        .list_integrations()?
        .iter()
        .any(|i| i.credentials.is_some())
    {
        return Ok(true);
    }
    Ok(ds.next_due()?.is_some())
}

/// Runs the delivery worker until `shutdown` is cancelled (idles when `[delivery] worker =
/// false` or the store keeps no outbox).
pub async fn run_worker(daemon: Arc<Daemon>, shutdown: CancellationToken) {
    if !daemon.config.delivery.worker {
        tracing::info!("delivery worker disabled on this node ([delivery] worker = false)");
        shutdown.cancelled().await;
        return;
    }
    if daemon.engine.store.delivery().is_none() {
        tracing::warn!(store = %daemon.engine.store.describe(), "this store keeps no outbox: SMS and email codes cannot be sent");
        shutdown.cancelled().await;
        return;
    }
    if let Err(e) = daemon.config.delivery.templates().check() {
        tracing::error!(error = %e, "a message template is broken; codes using it cannot be sent until it is fixed");
    }
    worker::Worker::new(daemon).run(shutdown).await;
}

/// A transport error in words and kind: timeouts and connection failures are transient.
pub(crate) fn http_error(e: &reqwest::Error) -> integration::SendResult {
    use integration::{FailureKind, SendResult};
    let mut detail = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        detail.push_str(": ");
        detail.push_str(&s.to_string());
        src = s.source();
    }
    let msg = if e.is_timeout() {
        format!(
            "the provider did not answer in time ({})",
            clip(&detail, 300)
        )
    } else if e.is_connect() {
        format!("cannot connect to the provider ({})", clip(&detail, 300))
    } else {
        format!(
            "the request to the provider failed ({})",
            clip(&detail, 300)
        )
    };
    SendResult::failed(FailureKind::Transient, msg)
}

/// `Retry-After` in seconds (the delta form; an HTTP date counts as 60 s).
pub(crate) fn retry_after(h: &reqwest::header::HeaderMap) -> Option<u64> {
    let v = h.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?.trim();
    match v.parse::<u64>() {
        Ok(s) => Some(s),
        Err(_) if !v.is_empty() => Some(60),
        Err(_) => None,
    }
}

/// At most `n` characters of `s`, on one line.
pub(crate) fn clip(s: &str, n: usize) -> String {
    let one: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(n)
        .collect();
    if s.chars().count() > n {
        format!("{one}…")
    } else {
        one
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let c = DeliveryConfig::default();
        assert_eq!(
            (1..=7).map(|a| c.backoff(a)).collect::<Vec<_>>(),
            vec![2, 4, 8, 16, 32, 60, 60]
        );
    }

    #[test]
    fn the_lease_outlives_the_total_timeout() {
        let c = DeliveryConfig {
            lease_secs: 1,
            total_timeout_ms: 10_500,
            ..DeliveryConfig::default()
        };
        assert_eq!(c.lease_secs(), 13);
    }

    #[test]
    fn the_section_refuses_unknown_keys() {
        let e = toml::from_str::<DeliveryConfig>("max_attemps = 3").unwrap_err();
        assert!(e.to_string().contains("max_attemps"));
    }
}
