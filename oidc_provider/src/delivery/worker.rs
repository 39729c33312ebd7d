//! The delivery worker: drains the outbox.
//!
//! Loop: claim due rows under a lease (at most `concurrency` in flight), send each through its
//! integration with connect and total timeouts, record the attempt and the next step in one
//! transaction, update the integration's health. Transient errors (5xx, timeouts, refused
//! connections, SMTP 4xx) are retried with exponential back-off (`backoff_base_secs` doubling up
//! to `backoff_max_secs`); throttling waits for the provider's `Retry-After`, and nothing is sent
//! through a throttled integration until then. A message is given up after `max_attempts`, on a
//! permanent error, or when its code would expire first.
//!
//! Exactly-once: a row is claimed in a transaction that stamps this worker's lease (owner and
//! expiry, longer than the total timeout) and counts the attempt; its result is committed before
//! the slot is reused. A worker that dies leaves leases that expire, and the rows are claimed
//! again, by this node after a restart or by another node. The single duplicate window is a crash
//! after the provider accepted a message and before `sent` was committed. On shutdown the worker
//! waits (up to the total timeout) for sends in flight, so their results are recorded.

use super::integration::{self, FailureKind, Outgoing, Provider, SendResult};
use super::outbox::{BODY_DOMAIN, Body, body_binding};
use super::{DeliveryConfig, health, seal, smtp, twilio, webhook};
use crate::Daemon;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use twofold_core::clock::{UnixTime, random_id};
use twofold_core::store::delivery::{
    AttemptOutcome, AttemptRecord, ClaimedMessage, DeliveryStore, IntegrationRecord, NextStep,
};

/// One worker's state, shared by its send tasks.
#[derive(Clone)]
pub struct Worker {
    d: Arc<Daemon>,
    cfg: DeliveryConfig,
    owner: String,
    http: reqwest::Client,
}

/// Runs `f` on the store's delivery half on the blocking pool.
pub(crate) async fn on_store<T: Send + 'static>(
    d: &Arc<Daemon>,
    f: impl FnOnce(&dyn DeliveryStore) -> twofold_core::Result<T> + Send + 'static,
) -> twofold_core::Result<T> {
    let d = d.clone();
    tokio::task::spawn_blocking(move || {
        let ds = super::outbox::delivery_store(d.engine.store.as_ref())?;
        f(ds)
    })
    .await
    .map_err(|e| twofold_core::Error::Unavailable(format!("store task failed: {e}")))?
}

/// The HTTP client of the SMS integrations, with the configured timeouts.
pub fn http_client(cfg: &DeliveryConfig) -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_millis(cfg.connect_timeout_ms))
        .timeout(Duration::from_millis(cfg.total_timeout_ms))
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("twofold/", env!("CARGO_PKG_VERSION")))
        .build()
        .unwrap_or_else(|_| reqwest::Client::new())
}

impl Worker {
    /// A worker for this daemon; its lease owner is `NODE:PID:RANDOM`.
    pub fn new(d: Arc<Daemon>) -> Worker {
        let cfg = d.config.delivery.clone();
        let node = cfg.node_id.clone().unwrap_or_else(hostname);
        let owner = format!(
            "{node}:{}:{}",
            std::process::id(),
            &random_id(d.engine.rng.as_ref())[..8]
        );
        let http = http_client(&cfg);
        Worker {
            d,
            cfg,
            owner,
            http,
        }
    }

    /// Runs until `shutdown` is cancelled, then waits for sends in flight.
    pub async fn run(self, shutdown: CancellationToken) {
        let poll = Duration::from_millis(self.cfg.poll_interval_ms.max(10));
        let concurrency = self.cfg.concurrency.max(1);
        tracing::info!(owner = %self.owner, concurrency, "delivery worker started");
        let mut inflight: JoinSet<()> = JoinSet::new();
        let mut last_purge: UnixTime = 0;
        while !shutdown.is_cancelled() {
            let free = concurrency.saturating_sub(inflight.len());
            let mut claimed = 0usize;
            if free > 0 {
                let now = self.d.engine.clock.now();
                let lease_until = now + self.cfg.lease_secs();
                let owner = self.owner.clone();
                let limit = u32::try_from(free).unwrap_or(u32::MAX);
                match on_store(&self.d, move |ds| {
                    ds.claim_due(&owner, now, lease_until, limit)
                })
                .await
                {
                    Ok(msgs) => {
                        claimed = msgs.len();
                        for m in msgs {
                            let w = self.clone();
                            inflight.spawn(async move { w.send_one(m).await });
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "delivery worker: cannot claim messages"),
                }
                if now - last_purge > 3600 && self.cfg.log_retention_days > 0 {
                    last_purge = now;
                    let before = now - i64::from(self.cfg.log_retention_days) * 86_400;
                    if let Err(e) = on_store(&self.d, move |ds| ds.purge_delivery_log(before)).await
                    {
                        tracing::warn!(error = %e, "delivery worker: cannot purge the old log");
                    }
                }
            }
            if claimed > 0 && claimed == free {
                // Every free slot was filled: there may be more due; wait for a slot first.
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    Some(r) = inflight.join_next() => log_join(r),
                }
                continue;
            }
            tokio::select! {
                _ = shutdown.cancelled() => break,
                Some(r) = inflight.join_next(), if !inflight.is_empty() => log_join(r),
                _ = tokio::time::sleep(poll) => {}
            }
        }
        let grace = Duration::from_millis(self.cfg.total_timeout_ms + 2000);
        let drained = tokio::time::timeout(grace, async {
            while let Some(r) = inflight.join_next().await {
                log_join(r);
            }
        })
        .await;
        if drained.is_err() {
            inflight.abort_all();
            tracing::warn!(
                "delivery worker: sends still running at shutdown were abandoned; their leases expire and they are retried"
            );
        }
        tracing::info!("delivery worker stopped");
    }

    /// Sends one claimed message and records the result.
    async fn send_one(&self, m: ClaimedMessage) {
        let clock = self.d.engine.clock.clone();
        let started = clock.now();
        let name = m.integration.clone();
        let rec = on_store(&self.d, move |ds| ds.get_integration(&name)).await;
        let (result, body_text) = match rec {
            Ok(Some(rec)) => self.attempt(&m, &rec).await,
            Ok(None) => (
                SendResult::failed(
                    FailureKind::Permanent,
                    format!("the integration {:?} no longer exists", m.integration),
                ),
                None,
            ),
            Err(e) => (
                SendResult::failed(FailureKind::Transient, format!("store: {e}")),
                None,
            ),
        };
        let result = scrub(result, body_text.as_deref());
        let now = clock.now();
        let (rec, next, delay) = self.decide(&m, &result, started, now);
        tracing::info!(
            id = m.id,
            user = %m.user,
            channel = %m.channel,
            integration = %m.integration,
            attempt = m.attempt,
            outcome = rec.outcome.as_str(),
            status = rec.status.as_deref().unwrap_or("-"),
            error = rec.error.as_deref().unwrap_or("-"),
            "delivery attempt"
        );
        let owner = self.owner.clone();
        let id = m.id;
        let (rec2, next2) = (rec.clone(), next.clone());
        match on_store(&self.d, move |ds| {
            ds.finish_attempt(id, &owner, &rec2, &next2)
        })
        .await
        {
            Ok(true) => {}
            Ok(false) => tracing::warn!(
                id,
                "delivery: the lease on this message was lost before its result was recorded"
            ),
            Err(e) => {
                tracing::error!(id, error = %e, "delivery: cannot record the attempt; the lease will expire and the message is retried")
            }
        }
        let name = m.integration.clone();
        let throttle_until = now + delay;
        let res = result.clone();
        let updated = on_store(&self.d, move |ds| {
            if let Some(r) = ds.get_integration(&name)? {
                let h = health::next(&r.health, &res, now, throttle_until);
                if h != r.health {
                    ds.set_integration_health(&name, &h)?;
                }
            }
            Ok(())
        })
        .await;
        if let Err(e) = updated {
            tracing::warn!(error = %e, "delivery: cannot update the integration's health");
        }
    }

    /// The attempt's record, the row's next step and the delay used for a retry.
    fn decide(
        &self,
        m: &ClaimedMessage,
        result: &SendResult,
        started: UnixTime,
        now: UnixTime,
    ) -> (AttemptRecord, NextStep, i64) {
        let mut rec = AttemptRecord {
            attempt: m.attempt,
            started_at: started,
            finished_at: now,
            outcome: AttemptOutcome::Sent,
            status: None,
            error: None,
            provider_id: None,
        };
        match result {
            SendResult::Accepted {
                provider_id,
                status,
            } => {
                rec.provider_id = provider_id.clone();
                rec.status = status.clone();
                (rec, NextStep::Done, 0)
            }
            SendResult::Failed {
                kind,
                status,
                message,
                retry_after,
            } => {
                rec.status = status.clone();
                rec.error = Some(message.clone());
                rec.outcome = match kind {
                    FailureKind::Transient => AttemptOutcome::Transient,
                    FailureKind::Throttled => AttemptOutcome::Throttled,
                    FailureKind::Permanent | FailureKind::Auth => AttemptOutcome::Permanent,
                };
                if matches!(kind, FailureKind::Permanent | FailureKind::Auth) {
                    return (rec, NextStep::GiveUp(message.clone()), 0);
                }
                let backoff = self.cfg.backoff(m.attempt);
                let delay = match retry_after {
                    Some(s) => i64::try_from(*s).unwrap_or(i64::MAX).clamp(1, 3600),
                    None => backoff,
                };
                let at = now.saturating_add(delay);
                let next = if m.attempt >= self.cfg.max_attempts.max(1) {
                    NextStep::GiveUp(format!(
                        "gave up after {} attempts; last error: {message}",
                        m.attempt
                    ))
                } else if at >= m.expires_at {
                    NextStep::GiveUp(format!(
                        "gave up: the code expires before the next attempt (due in {delay} s); last error: {message}"
                    ))
                } else {
                    NextStep::RetryAt(at)
                };
                (rec, next, delay)
            }
        }
    }

    /// Makes one provider call, bounded by the total timeout. Returns the result and the
    /// message text (to scrub it from provider errors).
    async fn attempt(
        &self,
        m: &ClaimedMessage,
        rec: &IntegrationRecord,
    ) -> (SendResult, Option<String>) {
        let keys = &self.d.engine.keys;
        let provider = match integration::open(keys, rec) {
            Ok(p) => p,
            Err(e) => return (SendResult::failed(FailureKind::Auth, e), None),
        };
        let plain = match seal::open(
            keys,
            BODY_DOMAIN,
            &body_binding(&m.user, &m.destination),
            &m.sealed_body,
        ) {
            Ok(p) => p,
            Err(e) => return (SendResult::failed(FailureKind::Permanent, e), None),
        };
        let body: Body = match serde_json::from_slice(&plain) {
            Ok(b) => b,
            Err(e) => {
                return (
                    SendResult::failed(FailureKind::Permanent, format!("stored message: {e}")),
                    None,
                );
            }
        };
        let out = Outgoing {
            id: m.id,
            to: &m.destination,
            subject: body.subject.as_deref(),
            text: &body.text,
        };
        let total = Duration::from_millis(self.cfg.total_timeout_ms);
        let now = self.d.engine.clock.now();
        let sender = if matches!(provider, Provider::Smtp(..)) {
            let d = self.d.clone();
            match tokio::task::spawn_blocking(move || d.engine.store.load_settings()).await {
                Ok(Ok(s)) => Some(smtp::Sender {
                    address: s.settings.email.from_address.clone().unwrap_or_default(),
                    name: s.settings.email.from_name.clone(),
                }),
                _ => {
                    return (
                        SendResult::failed(FailureKind::Transient, "cannot read the settings"),
                        Some(body.text),
                    );
                }
            }
        } else {
            None
        };
        let fut = async {
            match &provider {
                Provider::Twilio(s, sec) => twilio::send(&self.http, s, sec, &out).await,
                Provider::Webhook(s, sec) => webhook::send(&self.http, s, sec, now, &out).await,
                Provider::Smtp(s, sec) => {
                    let from = sender.clone().unwrap_or(smtp::Sender {
                        address: String::new(),
                        name: None,
                    });
                    smtp::send(s, sec.as_ref(), &from, total, &out).await
                }
            }
        };
        let r = match tokio::time::timeout(total, fut).await {
            Ok(r) => r,
            Err(_) => SendResult::failed(
                FailureKind::Transient,
                format!(
                    "no answer within the total timeout of {} ms",
                    self.cfg.total_timeout_ms
                ),
            ),
        };
        (r, Some(body.text))
    }
}

fn log_join(r: Result<(), tokio::task::JoinError>) {
    if let Err(e) = r {
        tracing::error!(error = %e, "delivery send task failed");
    }
}

/// Removes the message text and any run of 4+ digits it contains (the code) from a provider's
/// error text, in case a provider echoes the message back.
fn scrub(r: SendResult, text: Option<&str>) -> SendResult {
    let Some(text) = text else { return r };
    let SendResult::Failed {
        kind,
        status,
        mut message,
        retry_after,
    } = r
    else {
        return r;
    };
    if !text.is_empty() {
        message = message.replace(text, "[message]");
    }
    for run in text
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| s.len() >= 4)
    {
        message = message.replace(run, "[code]");
    }
    SendResult::Failed {
        kind,
        status,
        message,
        retry_after,
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "node".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_provider_echo_of_the_code_is_scrubbed() {
        let r = SendResult::failed(
            FailureKind::Permanent,
            "bad request: body '042917 is your code' refused (error 21211)",
        );
        let SendResult::Failed { message, .. } = scrub(r, Some("042917 is your code")) else {
            unreachable!()
        };
        assert!(!message.contains("042917"), "{message}");
        assert!(message.contains("21211"), "{message}");
    }
}
