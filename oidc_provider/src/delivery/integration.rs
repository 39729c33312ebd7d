//! Integration settings and secrets: what an admin gives, how it is checked, how the secrets
//! are sealed in the store, and the common result type of every provider call.
//!
//! Non-secret settings are stored as JSON in the clear (they show in `twofoldctl integrations
//! show`); secrets (auth tokens, API key secrets, webhook keys, SMTP passwords) are stored only
//! encrypted ([`super::seal`]) and never shown or logged.

use super::seal;
use serde::{Deserialize, Serialize};
use twofold_core::clock::Rng;
use twofold_core::crypto::Keyring;
use twofold_core::store::delivery::{IntegrationKind, IntegrationRecord};
use zeroize::Zeroizing;

/// Settings of a Twilio-compatible Messages API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TwilioSettings {
    /// API base, default `https://api.twilio.com` (a compatible provider or a test fake may differ).
    #[serde(default = "default_twilio_base")]
    pub base_url: String,
    /// Account SID (`AC...`), part of every URL.
    pub account_sid: String,
    /// Sender number in E.164, unless a messaging service is used.
    #[serde(default)]
    pub from: Option<String>,
    /// Messaging service SID (`MG...`), instead of `from`.
    #[serde(default)]
    pub messaging_service_sid: Option<String>,
    /// API key SID (`SK...`) when an API key is used instead of the account's auth token.
    #[serde(default)]
    pub api_key_sid: Option<String>,
}

fn default_twilio_base() -> String {
    "https://api.twilio.com".into()
}

/// Secrets of a Twilio-compatible integration: the auth token, or the API key secret.
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TwilioSecrets {
    /// The account's auth token, or the API key's secret when `api_key_sid` is set.
    pub auth_token: String,
}

/// Settings of a generic JSON webhook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookSettings {
    /// Where messages are POSTed (`https://sms-gateway.example.com/send`).
    pub url: String,
}

/// Secrets of a webhook: the HMAC-SHA256 signing key.
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookSecrets {
    /// Shared signing key (at least 16 characters).
    pub signing_key: String,
}

/// How an SMTP connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SmtpSecurity {
    /// Plain connection upgraded with STARTTLS (required), usually port 587.
    Starttls,
    /// TLS from the first byte ("SMTPS"), usually port 465.
    Tls,
    /// No encryption: only for a relay on the loopback interface.
    None,
}

/// Settings of an SMTP relay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpSettings {
    /// Host name (checked against the TLS certificate).
    pub host: String,
    /// Port; default 587 for STARTTLS, 465 for TLS, 25 without encryption.
    #[serde(default)]
    pub port: Option<u16>,
    /// `starttls` (default), `tls` or `none`.
    #[serde(default = "default_security")]
    pub security: SmtpSecurity,
    /// User name for SMTP AUTH, if the relay needs it.
    #[serde(default)]
    pub username: Option<String>,
    /// PEM file of additional trusted CA certificates (a private CA), besides the public roots.
    #[serde(default)]
    pub ca_file: Option<std::path::PathBuf>,
}

fn default_security() -> SmtpSecurity {
    SmtpSecurity::Starttls
}

impl SmtpSettings {
    /// The port in use.
    pub fn port(&self) -> u16 {
        self.port.unwrap_or(match self.security {
            SmtpSecurity::Starttls => 587,
            SmtpSecurity::Tls => 465,
            SmtpSecurity::None => 25,
        })
    }
}

/// Secrets of an SMTP relay.
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpSecrets {
    /// Password for SMTP AUTH.
    pub password: String,
}

/// An integration ready to use: settings and opened secrets.
#[derive(Clone)]
pub enum Provider {
    /// Twilio-compatible.
    Twilio(TwilioSettings, TwilioSecrets),
    /// Generic webhook.
    Webhook(WebhookSettings, WebhookSecrets),
    /// SMTP.
    Smtp(SmtpSettings, Option<SmtpSecrets>),
}

impl std::fmt::Debug for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Provider::Twilio(s, _) => f.debug_tuple("Twilio").field(s).finish_non_exhaustive(),
            Provider::Webhook(s, _) => f.debug_tuple("Webhook").field(s).finish_non_exhaustive(),
            Provider::Smtp(s, _) => f.debug_tuple("Smtp").field(s).finish_non_exhaustive(),
        }
    }
}

const AAD: &str = "integration credentials";

fn invalid(kind: IntegrationKind, what: &str, e: impl std::fmt::Display) -> String {
    format!("{kind} integration {what}: {e}")
}

fn is_http_url(u: &str) -> bool {
    let rest = u
        .strip_prefix("https://")
        .or_else(|| u.strip_prefix("http://"));
    rest.is_some_and(|r| {
        !r.is_empty() && !r.starts_with('/') && !r.chars().any(|c| c.is_whitespace())
    })
}

/// Checks the settings and secrets an admin gave for `kind`, returning them normalised.
/// Errors name the field and say what is wrong.
pub fn validate(
    kind: IntegrationKind,
    settings: &serde_json::Value,
    secrets: &serde_json::Value,
) -> Result<(serde_json::Value, Option<Zeroizing<String>>), String> {
    let settings = if settings.is_null() {
        serde_json::json!({})
    } else {
        settings.clone()
    };
    let no_secrets = secrets.is_null() || secrets.as_object().is_some_and(|o| o.is_empty());
    let secret_json = |v: &serde_json::Value| Zeroizing::new(v.to_string());
    match kind {
        IntegrationKind::Twilio => {
            let mut s: TwilioSettings =
                serde_json::from_value(settings).map_err(|e| invalid(kind, "settings", e))?;
            s.base_url = s.base_url.trim_end_matches('/').to_string();
            if !is_http_url(&s.base_url) {
                return Err(format!("base_url {:?} is not an http(s) URL", s.base_url));
            }
            if s.account_sid.is_empty() || !s.account_sid.chars().all(|c| c.is_ascii_alphanumeric())
            {
                return Err(
                    "account_sid must be the account's SID (AC followed by 32 hex digits)".into(),
                );
            }
            match (&s.from, &s.messaging_service_sid) {
                (None, None) => {
                    return Err(
                        "give either from (the sender number in E.164) or messaging_service_sid"
                            .into(),
                    );
                }
                (Some(_), Some(_)) => {
                    return Err("give from or messaging_service_sid, not both".into());
                }
                (Some(f), None) => {
                    s.from = Some(
                        twofold_core::engine::parse_phone(f).map_err(|e| format!("from: {e}"))?,
                    );
                }
                (None, Some(_)) => {}
            }
            if no_secrets {
                return Err("twilio integration needs the secret auth_token (the account's auth token, or the API key secret with api_key_sid)".into());
            }
            let sec: TwilioSecrets =
                serde_json::from_value(secrets.clone()).map_err(|e| invalid(kind, "secrets", e))?;
            if sec.auth_token.is_empty() {
                return Err("auth_token is empty".into());
            }
            Ok((to_json(&s)?, Some(secret_json(secrets))))
        }
        IntegrationKind::Webhook => {
            let s: WebhookSettings =
                serde_json::from_value(settings).map_err(|e| invalid(kind, "settings", e))?;
            if !is_http_url(&s.url) {
                return Err(format!("url {:?} is not an http(s) URL", s.url));
            }
            if no_secrets {
                return Err("webhook integration needs the secret signing_key".into());
            }
            let sec: WebhookSecrets =
                serde_json::from_value(secrets.clone()).map_err(|e| invalid(kind, "secrets", e))?;
            if sec.signing_key.len() < 16 {
                return Err("signing_key must be at least 16 characters".into());
            }
            Ok((to_json(&s)?, Some(secret_json(secrets))))
        }
        IntegrationKind::Smtp => {
            let s: SmtpSettings =
                serde_json::from_value(settings).map_err(|e| invalid(kind, "settings", e))?;
            if s.host.is_empty() || s.host.chars().any(|c| c.is_whitespace() || c == '/') {
                return Err(format!("host {:?} is not a host name", s.host));
            }
            if s.port == Some(0) {
                return Err("port 0 is not a port".into());
            }
            let sec = if no_secrets {
                None
            } else {
                let sec: SmtpSecrets = serde_json::from_value(secrets.clone())
                    .map_err(|e| invalid(kind, "secrets", e))?;
                Some(sec)
            };
            if s.security == SmtpSecurity::None && s.username.is_some() && !is_loopback(&s.host) {
                return Err(format!(
                    "security = \"none\" would send the SMTP password in the clear to {}; use starttls or tls (plain is only for a relay on the loopback interface)",
                    s.host
                ));
            }
            if let Some(ca) = &s.ca_file {
                let pem =
                    std::fs::read(ca).map_err(|e| format!("ca_file {}: {e}", ca.display()))?;
                lettre::transport::smtp::client::Certificate::from_pem(&pem).map_err(|e| {
                    format!("ca_file {} holds no PEM certificate: {e}", ca.display())
                })?;
            }
            if s.username.is_some() != sec.is_some() {
                return Err(
                    "SMTP AUTH needs both username (setting) and password (secret), or neither"
                        .into(),
                );
            }
            Ok((to_json(&s)?, sec.map(|_| secret_json(secrets))))
        }
    }
}

/// `localhost`, `127.0.0.0/8` or `::1`.
fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host
            .trim_matches(['[', ']'])
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

fn to_json<T: Serialize>(v: &T) -> Result<serde_json::Value, String> {
    serde_json::to_value(v).map_err(|e| e.to_string())
}

/// Encrypts the secrets JSON of integration `name`.
pub fn seal_secrets(
    keys: &Keyring,
    rng: &dyn Rng,
    name: &str,
    json: &str,
) -> Result<Vec<u8>, String> {
    seal::seal(keys, rng, AAD, name, json.as_bytes())
}

/// Opens a stored integration into a usable provider.
pub fn open(keys: &Keyring, r: &IntegrationRecord) -> Result<Provider, String> {
    let secrets: Option<Zeroizing<Vec<u8>>> = match &r.credentials {
        Some(blob) => Some(seal::open(keys, AAD, &r.name, blob)?),
        None => None,
    };
    let parse_secrets = |what: &str| -> Result<serde_json::Value, String> {
        let s = secrets
            .as_ref()
            .ok_or_else(|| format!("integration {} has no stored {what}", r.name))?;
        serde_json::from_slice(s).map_err(|e| format!("stored secrets of {}: {e}", r.name))
    };
    let bad = |e: serde_json::Error| format!("stored settings of integration {}: {e}", r.name);
    Ok(match r.kind {
        IntegrationKind::Twilio => Provider::Twilio(
            serde_json::from_value(r.config.clone()).map_err(bad)?,
            serde_json::from_value(parse_secrets("auth token")?).map_err(bad)?,
        ),
        IntegrationKind::Webhook => Provider::Webhook(
            serde_json::from_value(r.config.clone()).map_err(bad)?,
            serde_json::from_value(parse_secrets("signing key")?).map_err(bad)?,
        ),
        IntegrationKind::Smtp => Provider::Smtp(
            serde_json::from_value(r.config.clone()).map_err(bad)?,
            match &secrets {
                Some(_) => Some(serde_json::from_value(parse_secrets("password")?).map_err(bad)?),
                None => None,
            },
        ),
    })
}

/// How a provider call failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// Worth retrying (5xx, SMTP 4xx, timeout, connection refused).
    Transient,
    /// The provider throttled us (HTTP 429, rate-limit codes): retry later.
    Throttled,
    /// This message will never go through (invalid number, recipient rejected).
    Permanent,
    /// The credentials were refused (HTTP 401/403, SMTP 535): the integration is unhealthy.
    Auth,
}

/// A provider call's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendResult {
    /// Accepted.
    Accepted {
        /// Provider message id (Twilio `sid`, SMTP reply).
        provider_id: Option<String>,
        /// HTTP status or SMTP code.
        status: Option<String>,
    },
    /// Failed.
    Failed {
        /// Why, in kind.
        kind: FailureKind,
        /// HTTP status or SMTP code.
        status: Option<String>,
        /// The error in words (provider code and message); never the body.
        message: String,
        /// Seconds the provider asked us to wait (`Retry-After`).
        retry_after: Option<u64>,
    },
}

impl SendResult {
    /// A failure without status.
    pub fn failed(kind: FailureKind, message: impl Into<String>) -> SendResult {
        SendResult::Failed {
            kind,
            status: None,
            message: message.into(),
            retry_after: None,
        }
    }
}

/// A message as handed to a provider.
pub struct Outgoing<'a> {
    /// Outbox id (sent as an idempotency key where the API has one).
    pub id: i64,
    /// E.164 number or email address.
    pub to: &'a str,
    /// Email subject.
    pub subject: Option<&'a str>,
    /// The text (holds the code).
    pub text: &'a str,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn twilio_settings_are_checked_field_by_field() {
        let k = IntegrationKind::Twilio;
        let ok = validate(
            k,
            &json!({"account_sid": "AC0123", "from": "+1 415 555 0100"}),
            &json!({"auth_token": "tok"}),
        )
        .unwrap();
        assert_eq!(ok.0["from"], "+14155550100");
        assert_eq!(ok.0["base_url"], "https://api.twilio.com");
        let e = validate(
            k,
            &json!({"account_sid": "AC0123"}),
            &json!({"auth_token": "t"}),
        )
        .unwrap_err();
        assert!(e.contains("messaging_service_sid"), "{e}");
        let e = validate(
            k,
            &json!({"account_sid": "AC0123", "from": "+14155550100", "form": "x"}),
            &json!({"auth_token": "t"}),
        )
        .unwrap_err();
        assert!(e.contains("form"), "{e}");
        let e = validate(
            k,
            &json!({"account_sid": "AC0123", "from": "+14155550100"}),
            &json!(null),
        )
        .unwrap_err();
        assert!(e.contains("auth_token"), "{e}");
    }

    #[test]
    fn smtp_auth_needs_both_halves() {
        let k = IntegrationKind::Smtp;
        assert!(validate(k, &json!({"host": "mail.example.com"}), &json!(null)).is_ok());
        let e = validate(k, &json!({"host": "mail", "username": "u"}), &json!(null)).unwrap_err();
        assert!(e.contains("both username"), "{e}");
        let e = validate(
            k,
            &json!({"host": "mail.example.com", "security": "none", "username": "u"}),
            &json!({"password": "p"}),
        )
        .unwrap_err();
        assert!(e.contains("in the clear"), "{e}");
        assert!(
            validate(
                k,
                &json!({"host": "127.0.0.1", "security": "none", "username": "u"}),
                &json!({"password": "p"}),
            )
            .is_ok()
        );
        let e = validate(
            k,
            &json!({"host": "mail", "ca_file": "/nonexistent.pem"}),
            &json!(null),
        )
        .unwrap_err();
        assert!(e.contains("/nonexistent.pem"), "{e}");
        let e = validate(k, &json!({"host": "mail", "security": "ssl"}), &json!(null)).unwrap_err();
        assert!(e.contains("ssl"), "{e}");
    }

    #[test]
    fn a_webhook_needs_a_url_and_a_long_key() {
        let k = IntegrationKind::Webhook;
        let e = validate(
            k,
            &json!({"url": "ftp://x"}),
            &json!({"signing_key": "0123456789abcdef"}),
        )
        .unwrap_err();
        assert!(e.contains("not an http"), "{e}");
        let e = validate(
            k,
            &json!({"url": "https://x/send"}),
            &json!({"signing_key": "short"}),
        )
        .unwrap_err();
        assert!(e.contains("16"), "{e}");
    }
}
