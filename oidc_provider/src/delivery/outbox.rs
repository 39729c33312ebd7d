//! The request side of delivery: render the message, seal it, write an outbox row, return.
//!
//! [`Outbox`] is the [`CodeSender`] the engine calls when a sign-in needs an SMS or email code.
//! It never talks to a provider: a sign-in never waits on Twilio or SMTP. The integration is the
//! one selected in the settings when the code is queued (`sms_provider`,
//! `email.smtp_integration`); the code is sealed with the deployment's keys, bound to the user
//! and destination, and the row's body is blanked once the message is final.

use super::seal;
use super::templates::{Rendered, Templates, Vars, minutes_left};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use twofold_core::clock::{Clock, Rng, UnixTime};
use twofold_core::crypto::Keyring;
use twofold_core::engine::CodeSender;
use twofold_core::proto::Method;
use twofold_core::settings::Settings;
use twofold_core::store::Store;
use twofold_core::store::delivery::{Channel, DeliveryFilter, DeliveryStore, NewMessage, Purpose};
use twofold_core::{Error, Result};
use zeroize::Zeroizing;

/// The sealing domain of message bodies.
pub const BODY_DOMAIN: &str = "message";

/// What is sealed in an outbox row.
#[derive(Serialize, Deserialize)]
pub struct Body {
    /// Email subject.
    pub subject: Option<String>,
    /// The text.
    pub text: String,
}

/// The association of a sealed body with its row.
pub fn body_binding(user: &str, destination: &str) -> String {
    format!("{user}\0{destination}")
}

/// Queues messages. Cheap to clone.
#[derive(Clone)]
pub struct Outbox {
    /// The store (must offer [`DeliveryStore`]).
    pub store: Arc<dyn Store>,
    /// Keys for sealing bodies.
    pub keys: Arc<Keyring>,
    /// The clock.
    pub clock: Arc<dyn Clock>,
    /// The RNG (nonces).
    pub rng: Arc<dyn Rng>,
    /// Message templates.
    pub templates: Templates,
}

/// The store's delivery half, or a clear error.
pub fn delivery_store(store: &dyn Store) -> Result<&dyn DeliveryStore> {
    store.delivery().ok_or_else(|| {
        Error::Unavailable(format!(
            "the store {} keeps no delivery outbox",
            store.describe()
        ))
    })
}

/// The organisation's name for messages: the email sender name, else the TOTP issuer.
pub fn company(s: &Settings) -> String {
    s.email
        .from_name
        .clone()
        .filter(|n| !n.trim().is_empty())
        .unwrap_or_else(|| s.totp_issuer.clone())
}

/// The integration selected in the settings for `channel`, or why there is none.
pub fn selected_integration(s: &Settings, channel: Channel) -> Result<String> {
    match channel {
        Channel::Sms => s.sms_provider.clone().ok_or_else(|| {
            Error::Unavailable(
                "SMS cannot be sent: no SMS provider integration is selected (settings sms_provider)"
                    .into(),
            )
        }),
        Channel::Email => {
            if s.email.from_address.as_deref().is_none_or(|a| a.trim().is_empty()) {
                return Err(Error::Unavailable(
                    "email cannot be sent: no sender address is set (settings email.from_address, the Company Preferences)".into(),
                ));
            }
            s.email.smtp_integration.clone().ok_or_else(|| {
                Error::Unavailable(
                    "email cannot be sent: no SMTP integration is selected (settings email.smtp_integration)".into(),
                )
            })
        }
    }
}

impl Outbox {
    /// Seals `rendered` and queues it for `destination`; returns the outbox id.
    #[allow(clippy::too_many_arguments)]
    pub fn queue(
        &self,
        user: &str,
        channel: Channel,
        destination: &str,
        purpose: Purpose,
        rendered: &Rendered,
        expires_at: UnixTime,
        integration: Option<&str>,
    ) -> Result<i64> {
        let ds = delivery_store(self.store.as_ref())?;
        let settings = self.store.load_settings()?.settings;
        let name = match integration {
            Some(n) => n.to_string(),
            None => selected_integration(&settings, channel)?,
        };
        let rec = ds.get_integration(&name)?.ok_or_else(|| {
            Error::Unavailable(format!(
                "{channel} cannot be sent: the selected integration {name:?} does not exist"
            ))
        })?;
        if rec.kind.channel() != channel {
            return Err(Error::Invalid(format!(
                "integration {name:?} is a {} integration and cannot send {channel}",
                rec.kind
            )));
        }
        if channel == Channel::Email && settings.email.from_address.is_none() {
            return Err(Error::Unavailable(
                "email cannot be sent: no sender address is set (settings email.from_address, the Company Preferences)".into(),
            ));
        }
        let destination = check_destination(channel, destination)?;
        let plain = Zeroizing::new(
            serde_json::to_vec(&Body {
                subject: rendered.subject.clone(),
                text: rendered.text.to_string(),
            })
            .map_err(|e| Error::Invalid(e.to_string()))?,
        );
        let sealed = seal::seal(
            &self.keys,
            self.rng.as_ref(),
            BODY_DOMAIN,
            &body_binding(user, &destination),
            &plain,
        )
        .map_err(Error::Unavailable)?;
        let id = ds.enqueue(&NewMessage {
            user: user.to_string(),
            channel,
            integration: name.clone(),
            destination,
            sealed_body: sealed,
            purpose,
            queued_at: self.clock.now(),
            expires_at,
        })?;
        tracing::info!(id, user, %channel, integration = %name, purpose = purpose.as_str(), "message queued");
        Ok(id)
    }

    /// Renders a code message for `channel` with the current settings and templates.
    pub fn render_code(
        &self,
        user: &str,
        channel: Channel,
        code: &str,
        expires_at: UnixTime,
    ) -> Result<Rendered> {
        let settings = self.store.load_settings()?.settings;
        let company = company(&settings);
        let vars = Vars {
            code,
            minutes: minutes_left(self.clock.now(), expires_at),
            user,
            company: &company,
        };
        let r = match channel {
            Channel::Sms => self.templates.sms(&vars),
            Channel::Email => self.templates.email(&vars),
        };
        r.map_err(|e| Error::Invalid(e.to_string()))
    }
}

/// Checks a destination before it is queued: E.164 for SMS, an address for email.
pub fn check_destination(channel: Channel, d: &str) -> Result<String> {
    match channel {
        Channel::Sms => twofold_core::engine::parse_phone(d),
        Channel::Email => {
            let d = twofold_core::engine::parse_email(d)?;
            d.parse::<lettre::Address>()
                .map_err(|e| Error::Invalid(format!("{d:?} is not an email address: {e}")))?;
            Ok(d)
        }
    }
}

impl CodeSender for Outbox {
    fn send_code(
        &self,
        user: &str,
        method: Method,
        destination: &str,
        code: &str,
        expires_at: UnixTime,
    ) -> Result<()> {
        let channel = match method {
            Method::Sms => Channel::Sms,
            Method::Email => Channel::Email,
            other => {
                return Err(Error::Invalid(format!(
                    "{other} codes are not sent by SMS or email"
                )));
            }
        };
        let rendered = self.render_code(user, channel, code, expires_at)?;
        self.queue(
            user,
            channel,
            destination,
            Purpose::Code,
            &rendered,
            expires_at,
            None,
        )
        .map(|_| ())
    }
}

/// The engine's sender: an [`Outbox`] that refuses a code when `per_user_hour` codes were
/// already queued for the user in the last hour (across sign-ins; SMS pumping and cost), on top
/// of the engine's per-session resend limit.
#[derive(Clone)]
pub struct RateLimited {
    /// Where codes go.
    pub outbox: Outbox,
    /// Codes per user per hour (0: no limit).
    pub per_user_hour: u32,
}

impl RateLimited {
    /// Refuses when the user's hourly budget of codes is spent.
    pub fn check(&self, user: &str) -> Result<()> {
        if self.per_user_hour == 0 {
            return Ok(());
        }
        let ds = delivery_store(self.outbox.store.as_ref())?;
        let recent = ds.delivery_log(&DeliveryFilter {
            user: Some(user.to_string()),
            since: Some(self.outbox.clock.now() - 3600),
            limit: self.per_user_hour.saturating_mul(4),
            ..DeliveryFilter::default()
        })?;
        let codes = recent.iter().filter(|e| e.purpose == Purpose::Code).count();
        if codes >= self.per_user_hour as usize {
            return Err(Error::Unavailable(format!(
                "{codes} codes were already sent to {user} in the last hour (limit {}, [delivery] max_messages_per_user_per_hour); wait, or use another method",
                self.per_user_hour
            )));
        }
        Ok(())
    }
}

impl CodeSender for RateLimited {
    fn send_code(
        &self,
        user: &str,
        method: Method,
        destination: &str,
        code: &str,
        expires_at: UnixTime,
    ) -> Result<()> {
        self.check(user)?;
        self.outbox
            .send_code(user, method, destination, code, expires_at)
    }
}
