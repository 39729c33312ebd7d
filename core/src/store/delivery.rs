//! Delivery state: integrations (SMS providers, SMTP relays) with encrypted credentials and a
//! health state, the outbox of SMS and email messages, every send attempt, the delivery log and
//! per-integration daily counts.
//!
//! The outbox is a queue with leases, so a restart or a second daemon node never sends a message
//! twice and never loses one:
//! - [`DeliveryStore::enqueue`] writes a row (`queued`) and returns; the message body is stored
//!   already encrypted by the caller (it holds the code), and is blanked once the row is final.
//! - [`DeliveryStore::claim_due`] takes due rows in one transaction, stamps them with the worker's
//!   lease (owner and expiry) and counts the attempt *before* anything is sent, so a crash can
//!   never make a message retry without bound.
//! - [`DeliveryStore::finish_attempt`] records the attempt and moves the row on (sent, retry at a
//!   time, failed) in one transaction. A row whose lease expired (its worker died) is claimed
//!   again by the next [`DeliveryStore::claim_due`].
//!
//! The one window for a duplicate is a crash between the provider accepting a message and
//! `finish_attempt` committing `sent`: the lease then expires and the message is sent again.

use crate::clock::UnixTime;
use crate::error::Result;
use serde::{Deserialize, Serialize};
use std::fmt;

/// How a message travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// A text message through an SMS provider integration.
    Sms,
    /// An email through an SMTP integration.
    Email,
}

impl Channel {
    /// Stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Sms => "sms",
            Channel::Email => "email",
        }
    }
    /// Parses the stored name.
    pub fn parse(s: &str) -> Option<Channel> {
        match s {
            "sms" => Some(Channel::Sms),
            "email" => Some(Channel::Email),
            _ => None,
        }
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What kind of service an integration talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IntegrationKind {
    /// A Twilio-compatible Messages API (SMS).
    Twilio,
    /// A generic JSON webhook signed with HMAC-SHA256 (SMS).
    Webhook,
    /// An SMTP relay (email).
    Smtp,
}

impl IntegrationKind {
    /// Stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            IntegrationKind::Twilio => "twilio",
            IntegrationKind::Webhook => "webhook",
            IntegrationKind::Smtp => "smtp",
        }
    }
    /// Parses the stored name.
    pub fn parse(s: &str) -> Option<IntegrationKind> {
        match s {
            "twilio" => Some(IntegrationKind::Twilio),
            "webhook" => Some(IntegrationKind::Webhook),
            "smtp" => Some(IntegrationKind::Smtp),
            _ => None,
        }
    }
    /// The channel this kind serves.
    pub fn channel(self) -> Channel {
        match self {
            IntegrationKind::Twilio | IntegrationKind::Webhook => Channel::Sms,
            IntegrationKind::Smtp => Channel::Email,
        }
    }
}

impl fmt::Display for IntegrationKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Health of an integration, from its last sends and its last explicit credential check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Health {
    /// Never checked and never used.
    Unknown,
    /// The last send or check succeeded.
    Healthy,
    /// The provider is rate-limiting us; sends are backed off.
    Throttled,
    /// Credentials refused, or sends keep failing; see the reason.
    Unhealthy,
}

impl Health {
    /// Stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Health::Unknown => "unknown",
            Health::Healthy => "healthy",
            Health::Throttled => "throttled",
            Health::Unhealthy => "unhealthy",
        }
    }
    /// Parses the stored name.
    pub fn parse(s: &str) -> Option<Health> {
        match s {
            "unknown" => Some(Health::Unknown),
            "healthy" => Some(Health::Healthy),
            "throttled" => Some(Health::Throttled),
            "unhealthy" => Some(Health::Unhealthy),
            _ => None,
        }
    }
}

impl fmt::Display for Health {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The health record of an integration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntegrationHealth {
    /// Current state.
    pub state: Health,
    /// Why, in words (for `unhealthy` and `throttled`); never a secret.
    pub reason: Option<String>,
    /// When the state was last set.
    pub updated_at: Option<UnixTime>,
    /// When a send or check last succeeded.
    pub last_success_at: Option<UnixTime>,
    /// When a send or check last failed.
    pub last_failure_at: Option<UnixTime>,
    /// Sends that failed in a row since the last success.
    pub consecutive_failures: u32,
    /// Sends wait until then (provider throttling).
    pub throttled_until: Option<UnixTime>,
}

impl Default for IntegrationHealth {
    fn default() -> Self {
        IntegrationHealth {
            state: Health::Unknown,
            reason: None,
            updated_at: None,
            last_success_at: None,
            last_failure_at: None,
            consecutive_failures: 0,
            throttled_until: None,
        }
    }
}

/// An integration as stored. `config` holds the non-secret settings (URLs, sender numbers, host
/// and port) as JSON; `credentials` is the encrypted JSON of the secrets (tokens, passwords).
#[derive(Clone, PartialEq, Eq)]
pub struct IntegrationRecord {
    /// Unique name, chosen by the admin (`twilio-main`).
    pub name: String,
    /// What it talks to.
    pub kind: IntegrationKind,
    /// Non-secret settings (JSON object).
    pub config: serde_json::Value,
    /// Encrypted secrets (key id ‖ nonce ‖ ciphertext ‖ tag), if any.
    pub credentials: Option<Vec<u8>>,
    /// When added.
    pub created_at: UnixTime,
    /// When last changed.
    pub updated_at: UnixTime,
    /// Health.
    pub health: IntegrationHealth,
}

impl fmt::Debug for IntegrationRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IntegrationRecord")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("config", &self.config)
            .field(
                "credentials",
                &self.credentials.as_ref().map(|_| "[encrypted]"),
            )
            .field("health", &self.health)
            .finish_non_exhaustive()
    }
}

/// Why a message is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    /// A sign-in security code.
    Code,
    /// An admin's test message (`twofoldctl integrations test-sms|test-email`).
    Test,
    /// A notice without a code (enrollment reminder).
    Notice,
}

impl Purpose {
    /// Stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Code => "code",
            Purpose::Test => "test",
            Purpose::Notice => "notice",
        }
    }
    /// Parses the stored name.
    pub fn parse(s: &str) -> Option<Purpose> {
        match s {
            "code" => Some(Purpose::Code),
            "test" => Some(Purpose::Test),
            "notice" => Some(Purpose::Notice),
            _ => None,
        }
    }
}

/// State of an outbox row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// Waiting for its first or next attempt.
    Queued,
    /// Claimed by a worker (under lease).
    Sending,
    /// Accepted by the provider or SMTP server.
    Sent,
    /// Given up: a permanent error, or the attempt bound reached.
    Failed,
    /// Given up: the code expired before it could be sent.
    Expired,
}

impl DeliveryState {
    /// Stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Queued => "queued",
            DeliveryState::Sending => "sending",
            DeliveryState::Sent => "sent",
            DeliveryState::Failed => "failed",
            DeliveryState::Expired => "expired",
        }
    }
    /// Parses the stored name.
    pub fn parse(s: &str) -> Option<DeliveryState> {
        match s {
            "queued" => Some(DeliveryState::Queued),
            "sending" => Some(DeliveryState::Sending),
            "sent" => Some(DeliveryState::Sent),
            "failed" => Some(DeliveryState::Failed),
            "expired" => Some(DeliveryState::Expired),
            _ => None,
        }
    }
    /// Whether the row will not change any more.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            DeliveryState::Sent | DeliveryState::Failed | DeliveryState::Expired
        )
    }
}

impl fmt::Display for DeliveryState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A message to queue.
#[derive(Clone, PartialEq, Eq)]
pub struct NewMessage {
    /// Whose message (log only).
    pub user: String,
    /// SMS or email.
    pub channel: Channel,
    /// The integration chosen at queue time.
    pub integration: String,
    /// E.164 number or email address.
    pub destination: String,
    /// The rendered message, encrypted (it holds the code).
    pub sealed_body: Vec<u8>,
    /// Why.
    pub purpose: Purpose,
    /// When queued.
    pub queued_at: UnixTime,
    /// Give up (state `expired`) when not sent by then: the code's expiry.
    pub expires_at: UnixTime,
}

impl fmt::Debug for NewMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewMessage")
            .field("user", &self.user)
            .field("channel", &self.channel)
            .field("integration", &self.integration)
            .field("purpose", &self.purpose)
            .field("queued_at", &self.queued_at)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// A row a worker claimed: it holds the lease until `lease_until`.
#[derive(Clone, PartialEq, Eq)]
pub struct ClaimedMessage {
    /// Outbox id.
    pub id: i64,
    /// Whose.
    pub user: String,
    /// SMS or email.
    pub channel: Channel,
    /// Integration to send through.
    pub integration: String,
    /// E.164 number or email address.
    pub destination: String,
    /// The encrypted rendered message.
    pub sealed_body: Vec<u8>,
    /// Why.
    pub purpose: Purpose,
    /// This attempt's number (1 for the first).
    pub attempt: u32,
    /// When queued.
    pub queued_at: UnixTime,
    /// Give up at.
    pub expires_at: UnixTime,
    /// The lease expiry.
    pub lease_until: UnixTime,
}

impl fmt::Debug for ClaimedMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClaimedMessage")
            .field("id", &self.id)
            .field("user", &self.user)
            .field("channel", &self.channel)
            .field("integration", &self.integration)
            .field("attempt", &self.attempt)
            .finish_non_exhaustive()
    }
}

/// How one attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttemptOutcome {
    /// Accepted by the provider or server.
    Sent,
    /// A temporary error (5xx, 4xx SMTP, timeout, connection refused): retried.
    Transient,
    /// The provider throttled us (HTTP 429, provider rate-limit codes): retried later.
    Throttled,
    /// A permanent error (bad number, rejected recipient, refused credentials): not retried.
    Permanent,
}

impl AttemptOutcome {
    /// Stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            AttemptOutcome::Sent => "sent",
            AttemptOutcome::Transient => "transient",
            AttemptOutcome::Throttled => "throttled",
            AttemptOutcome::Permanent => "permanent",
        }
    }
    /// Parses the stored name.
    pub fn parse(s: &str) -> Option<AttemptOutcome> {
        match s {
            "sent" => Some(AttemptOutcome::Sent),
            "transient" => Some(AttemptOutcome::Transient),
            "throttled" => Some(AttemptOutcome::Throttled),
            "permanent" => Some(AttemptOutcome::Permanent),
            _ => None,
        }
    }
}

/// One recorded attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttemptRecord {
    /// The attempt's number (1 for the first).
    pub attempt: u32,
    /// When it started.
    pub started_at: UnixTime,
    /// When it ended.
    pub finished_at: UnixTime,
    /// How it ended.
    pub outcome: AttemptOutcome,
    /// HTTP status or SMTP reply code, when there was one.
    pub status: Option<String>,
    /// The error in words (provider message and code); never the message body.
    pub error: Option<String>,
    /// The provider's id for the message (Twilio `sid`), when accepted.
    pub provider_id: Option<String>,
}

/// What happens to the row after an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NextStep {
    /// Sent: final, body blanked.
    Done,
    /// Try again at this time (row back to `queued`, lease released).
    RetryAt(UnixTime),
    /// Give up: final, body blanked, `reason` kept in the log.
    GiveUp(String),
}

/// One line of the delivery log (never the message body or code).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryLogEntry {
    /// Outbox id.
    pub id: i64,
    /// Whose.
    pub user: String,
    /// SMS or email.
    pub channel: Channel,
    /// Integration.
    pub integration: String,
    /// Why.
    pub purpose: Purpose,
    /// Destination, masked (`+1 *** *** 4567`, `a***@example.com`).
    pub destination: String,
    /// When queued.
    pub queued_at: UnixTime,
    /// State.
    pub state: DeliveryState,
    /// Attempts so far.
    pub attempts: u32,
    /// When the next attempt is due (queued rows).
    pub next_attempt_at: Option<UnixTime>,
    /// When it became final.
    pub finished_at: Option<UnixTime>,
    /// Whether any attempt was throttled by the provider.
    pub throttled: bool,
    /// The last error, in words.
    pub last_error: Option<String>,
    /// The provider's message id.
    pub provider_id: Option<String>,
}

/// Filter for delivery log queries.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct DeliveryFilter {
    /// Only this user.
    pub user: Option<String>,
    /// Only this channel.
    pub channel: Option<Channel>,
    /// Only this integration.
    pub integration: Option<String>,
    /// Only this state.
    pub state: Option<DeliveryState>,
    /// Only throttled messages.
    pub throttled_only: bool,
    /// Queued not before.
    pub since: Option<UnixTime>,
    /// Queued not after.
    pub until: Option<UnixTime>,
    /// At most this many, newest first (0 = 100).
    pub limit: u32,
}

/// Messages per integration per day (UTC), for the cost question.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DailyCount {
    /// `YYYY-MM-DD` (UTC) of queueing.
    pub day: String,
    /// Integration.
    pub integration: String,
    /// SMS or email.
    pub channel: Channel,
    /// Messages queued that day.
    pub queued: u32,
    /// Of those, sent.
    pub sent: u32,
    /// Of those, given up (failed or expired).
    pub failed: u32,
    /// Provider calls made for them (each may be billed).
    pub attempts: u32,
    /// Of those calls, throttled by the provider.
    pub throttled: u32,
}

/// Delivery state operations. Each method is atomic (one statement or one transaction).
pub trait DeliveryStore: Send + Sync {
    // --- integrations ---
    /// Adds an integration, or replaces its kind, config and credentials (health is kept).
    fn put_integration(&self, r: &IntegrationRecord) -> Result<()>;
    /// The integration, if it exists.
    fn get_integration(&self, name: &str) -> Result<Option<IntegrationRecord>>;
    /// Every integration, by name.
    fn list_integrations(&self) -> Result<Vec<IntegrationRecord>>;
    /// Deletes an integration; `false` if unknown. Its log lines stay.
    fn delete_integration(&self, name: &str) -> Result<bool>;
    /// Replaces the health record.
    fn set_integration_health(&self, name: &str, h: &IntegrationHealth) -> Result<()>;

    // --- outbox ---
    /// Queues a message, due at once; returns its id.
    fn enqueue(&self, m: &NewMessage) -> Result<i64>;
    /// Expires queued rows past their `expires_at`, then claims up to `limit` due rows
    /// (`queued` with `next_attempt_at <= now`, or `sending` with an expired lease) for `owner`
    /// until `lease_until`, counting one attempt on each. Rows of an integration whose
    /// `throttled_until` is later than `now` are left alone. One transaction.
    fn claim_due(
        &self,
        owner: &str,
        now: UnixTime,
        lease_until: UnixTime,
        limit: u32,
    ) -> Result<Vec<ClaimedMessage>>;
    /// Records the attempt and applies `next`, in one transaction. `Done` always applies (the
    /// provider has the message); `RetryAt`/`GiveUp` apply only while `owner` holds the lease.
    /// Returns whether the row was changed.
    fn finish_attempt(
        &self,
        id: i64,
        owner: &str,
        rec: &AttemptRecord,
        next: &NextStep,
    ) -> Result<bool>;
    /// When the earliest queued row is due, if any (lets an idle worker sleep).
    fn next_due(&self) -> Result<Option<UnixTime>>;

    // --- log and counts ---
    /// The delivery log, newest first.
    fn delivery_log(&self, f: &DeliveryFilter) -> Result<Vec<DeliveryLogEntry>>;
    /// One message's log line.
    fn delivery_entry(&self, id: i64) -> Result<Option<DeliveryLogEntry>>;
    /// Every attempt of one message, in order.
    fn delivery_attempts(&self, id: i64) -> Result<Vec<AttemptRecord>>;
    /// Counts per integration per UTC day, for messages queued in `[since, until)`, newest day first.
    fn daily_counts(
        &self,
        since: UnixTime,
        until: UnixTime,
        integration: Option<&str>,
    ) -> Result<Vec<DailyCount>>;
    /// Deletes final log rows queued before `before`; returns how many.
    fn purge_delivery_log(&self, before: UnixTime) -> Result<u32>;
}

/// Masks a phone number or email address for logs and views: `+1 *** *** 4567`,
/// `a***@example.com`.
pub fn mask_destination(d: &str) -> String {
    if let Some((local, domain)) = d.split_once('@') {
        let first: String = local.chars().take(1).collect();
        return format!("{first}***@{domain}");
    }
    let digits: Vec<char> = d.chars().filter(|c| c.is_ascii_digit()).collect();
    if digits.len() <= 4 {
        return "***".into();
    }
    let tail: String = digits[digits.len() - 4..].iter().collect();
    match phonenumber::parse(None, d) {
        Ok(n) => format!("+{} *** *** {tail}", n.code().value()),
        Err(_) => format!("+*** *** {tail}"),
    }
}

/// Formats a Unix time as a UTC `YYYY-MM-DD` (civil-from-days, no calendar crate needed).
pub fn utc_day(t: UnixTime) -> String {
    let days = t.div_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!("{y:04}-{m:02}-{d:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destinations_are_masked() {
        assert_eq!(mask_destination("+14155550123"), "+1 *** *** 0123");
        assert_eq!(mask_destination("alice@example.com"), "a***@example.com");
        assert_eq!(mask_destination("12"), "***");
        assert_eq!(mask_destination("+442079460958"), "+44 *** *** 0958");
    }

    #[test]
    fn utc_days_are_civil_dates() {
        assert_eq!(utc_day(0), "1970-01-01");
        assert_eq!(utc_day(951_782_400), "2000-02-29");
        assert_eq!(utc_day(1_795_000_000), "2026-11-18");
    }

    #[test]
    fn names_round_trip() {
        for s in [
            DeliveryState::Queued,
            DeliveryState::Sending,
            DeliveryState::Sent,
            DeliveryState::Failed,
            DeliveryState::Expired,
        ] {
            assert_eq!(DeliveryState::parse(s.as_str()), Some(s));
        }
        for h in [
            Health::Unknown,
            Health::Healthy,
            Health::Throttled,
            Health::Unhealthy,
        ] {
            assert_eq!(Health::parse(h.as_str()), Some(h));
        }
        for k in [
            IntegrationKind::Twilio,
            IntegrationKind::Webhook,
            IntegrationKind::Smtp,
        ] {
            assert_eq!(IntegrationKind::parse(k.as_str()), Some(k));
        }
    }
}
