//! A generic JSON webhook for SMS gateways, signed with HMAC-SHA256.
//!
//! `POST {url}` with `Content-Type: application/json` and the body
//! `{"type": "message", "id": "twofold-42", "channel": "sms", "to": "+14155550123", "text": "..."}`.
//! Headers:
//! - `X-Twofold-Timestamp`: Unix seconds when signed;
//! - `X-Twofold-Signature`: `v1=` and the lowercase hex HMAC-SHA256, under the shared signing
//!   key, of `{timestamp}.{body}` (the receiver recomputes it, compares in constant time, and
//!   refuses a timestamp more than 5 minutes away from its clock);
//! - `Idempotency-Key`: the message id, the same on every retry, so a receiver can drop a
//!   duplicate.
//!
//! Any 2xx is accepted (a JSON `{"id": "..."}` in the reply is kept as the provider id);
//! 401/403 → credentials refused; 429 → throttled (honouring `Retry-After`); other 4xx →
//! permanent; 5xx, timeouts and connection errors → transient.
//!
//! Credential check: the same POST with `{"type": "check"}`, which a receiver answers with 2xx
//! without sending anything.

use super::integration::{FailureKind, Outgoing, SendResult, WebhookSecrets, WebhookSettings};
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The signature header's value for `body` signed at `timestamp`.
pub fn signature(key: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = match <Hmac<Sha256> as Mac>::new_from_slice(key.as_bytes()) {
        Ok(m) => m,
        // HMAC accepts keys of any length.
        Err(_) => return String::new(),
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let tag = mac.finalize().into_bytes();
    let hex: String = tag.iter().map(|b| format!("{b:02x}")).collect();
    format!("v1={hex}")
}

async fn post(
    http: &reqwest::Client,
    s: &WebhookSettings,
    sec: &WebhookSecrets,
    now: i64,
    idempotency: Option<String>,
    body: Vec<u8>,
) -> SendResult {
    let mut req = http
        .post(&s.url)
        .header("Content-Type", "application/json")
        .header("X-Twofold-Timestamp", now.to_string())
        .header(
            "X-Twofold-Signature",
            signature(&sec.signing_key, now, &body),
        );
    if let Some(k) = idempotency {
        req = req.header("Idempotency-Key", k);
    }
    let resp = match req.body(body).send().await {
        Ok(r) => r,
        Err(e) => return super::http_error(&e),
    };
    let status = resp.status().as_u16();
    let retry_after = super::retry_after(resp.headers());
    let text = resp.text().await.unwrap_or_default();
    if (200..300).contains(&status) {
        let id = serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| v.get("id").and_then(|i| i.as_str()).map(str::to_string));
        return SendResult::Accepted {
            provider_id: id,
            status: Some(status.to_string()),
        };
    }
    let detail = if text.trim().is_empty() {
        "no details in the response".to_string()
    } else {
        super::clip(text.trim(), 300)
    };
    let (kind, message) = match status {
        401 | 403 => (
            FailureKind::Auth,
            format!(
                "the webhook refused the signature (HTTP {status}: {detail}); check the signing key"
            ),
        ),
        429 => (
            FailureKind::Throttled,
            format!("the webhook is throttling sends (HTTP 429: {detail})"),
        ),
        408 | 500..=599 => (
            FailureKind::Transient,
            format!("the webhook had a server error (HTTP {status}: {detail})"),
        ),
        _ => (
            FailureKind::Permanent,
            format!("the webhook refused the message (HTTP {status}: {detail})"),
        ),
    };
    SendResult::Failed {
        kind,
        status: Some(status.to_string()),
        message,
        retry_after,
    }
}

/// Sends one message.
pub async fn send(
    http: &reqwest::Client,
    s: &WebhookSettings,
    sec: &WebhookSecrets,
    now: i64,
    m: &Outgoing<'_>,
) -> SendResult {
    let id = format!("twofold-{}", m.id);
    let body = serde_json::json!({
        "type": "message",
        "id": id,
        "channel": "sms",
        "to": m.to,
        "text": m.text,
    });
    let bytes = serde_json::to_vec(&body).unwrap_or_default();
    post(http, s, sec, now, Some(id), bytes).await
}

/// Checks that the webhook accepts our signature.
pub async fn check(
    http: &reqwest::Client,
    s: &WebhookSettings,
    sec: &WebhookSecrets,
    now: i64,
) -> SendResult {
    let bytes = serde_json::to_vec(&serde_json::json!({"type": "check"})).unwrap_or_default();
    post(http, s, sec, now, None, bytes).await
}

#[cfg(test)]
mod tests {
    use super::signature;

    #[test]
    fn the_signature_is_hmac_sha256_of_timestamp_dot_body() {
        // Computed independently: printf '1700000000.{}' | openssl dgst -sha256 -hmac 0123456789abcdef
        assert_eq!(
            signature("0123456789abcdef", 1_700_000_000, b"{}"),
            "v1=e4f8e2ecae2295b2ddb2f0b5584c8275e226c0ebe9b3b819e70156bb67122e3e"
        );
    }
}
