//! The Twilio-compatible Messages API.
//!
//! Send: `POST {base}/2010-04-01/Accounts/{AccountSid}/Messages.json`, form fields `To`,
//! `From` (or `MessagingServiceSid`) and `Body`, HTTP Basic `AccountSid:AuthToken` (or
//! `ApiKeySid:ApiKeySecret`). A `201` carries the message `sid`. Errors carry Twilio's JSON
//! (`{"code": 20003, "message": "Authenticate", "more_info": ..., "status": 401}`).
//!
//! Credential check: `GET {base}/2010-04-01/Accounts/{AccountSid}.json`; `200` with
//! `"status": "active"` is healthy.
//!
//! Classification: 401/403 → credentials refused; 429 or a rate-limit code (20429, 14107,
//! 30022) → throttled, honouring `Retry-After`; other 4xx → permanent (bad number, ...); 5xx,
//! timeouts and connection errors → transient.

use super::integration::{FailureKind, Outgoing, SendResult, TwilioSecrets, TwilioSettings};
use serde::Deserialize;

/// Twilio error codes that mean "slow down".
pub const THROTTLE_CODES: [i64; 3] = [20429, 14107, 30022];

#[derive(Debug, Default, Deserialize)]
struct ApiError {
    #[serde(default)]
    code: Option<i64>,
    #[serde(default)]
    message: Option<String>,
}

#[derive(Debug, Deserialize)]
struct MessageResource {
    sid: Option<String>,
}

#[derive(Debug, Deserialize)]
struct AccountResource {
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    friendly_name: Option<String>,
}

fn user(s: &TwilioSettings) -> &str {
    s.api_key_sid.as_deref().unwrap_or(&s.account_sid)
}

/// Sends one message.
pub async fn send(
    http: &reqwest::Client,
    s: &TwilioSettings,
    sec: &TwilioSecrets,
    m: &Outgoing<'_>,
) -> SendResult {
    let url = format!(
        "{}/2010-04-01/Accounts/{}/Messages.json",
        s.base_url, s.account_sid
    );
    let mut form: Vec<(&str, &str)> = vec![("To", m.to), ("Body", m.text)];
    match (&s.messaging_service_sid, &s.from) {
        (Some(ms), _) => form.push(("MessagingServiceSid", ms)),
        (None, Some(f)) => form.push(("From", f)),
        (None, None) => {
            return SendResult::failed(
                FailureKind::Permanent,
                "the integration has neither a from number nor a messaging service",
            );
        }
    }
    let req = http
        .post(&url)
        .basic_auth(user(s), Some(&sec.auth_token))
        .form(&form);
    let resp = match req.send().await {
        Ok(r) => r,
        Err(e) => return super::http_error(&e),
    };
    let status = resp.status();
    let retry_after = super::retry_after(resp.headers());
    let text = resp.text().await.unwrap_or_default();
    if status.is_success() {
        let sid = serde_json::from_str::<MessageResource>(&text)
            .ok()
            .and_then(|m| m.sid);
        return SendResult::Accepted {
            provider_id: sid,
            status: Some(status.as_u16().to_string()),
        };
    }
    classify(status.as_u16(), &text, retry_after)
}

/// Turns an error response into a result.
fn classify(status: u16, body: &str, retry_after: Option<u64>) -> SendResult {
    let err: ApiError = serde_json::from_str(body).unwrap_or_default();
    let detail = match (err.code, err.message.as_deref()) {
        (Some(c), Some(m)) => format!("Twilio error {c}: {}", super::clip(m, 300)),
        (Some(c), None) => format!("Twilio error {c}"),
        (None, Some(m)) => super::clip(m, 300),
        (None, None) => "no error details in the response".into(),
    };
    let throttle_code = err.code.is_some_and(|c| THROTTLE_CODES.contains(&c));
    let (kind, message) = match status {
        401 | 403 => (
            FailureKind::Auth,
            format!(
                "the provider refused the credentials (HTTP {status}, {detail}); check the account SID and auth token or API key"
            ),
        ),
        429 => (
            FailureKind::Throttled,
            format!("the provider is throttling sends (HTTP 429, {detail})"),
        ),
        _ if throttle_code => (
            FailureKind::Throttled,
            format!("the provider is throttling sends (HTTP {status}, {detail})"),
        ),
        500..=599 => (
            FailureKind::Transient,
            format!("the provider had a server error (HTTP {status}, {detail})"),
        ),
        408 => (
            FailureKind::Transient,
            format!("the provider timed out the request (HTTP 408, {detail})"),
        ),
        _ => (
            FailureKind::Permanent,
            format!("the provider refused the message (HTTP {status}, {detail})"),
        ),
    };
    SendResult::Failed {
        kind,
        status: Some(status.to_string()),
        message,
        retry_after,
    }
}

/// Checks the credentials by reading the Account resource.
pub async fn check(http: &reqwest::Client, s: &TwilioSettings, sec: &TwilioSecrets) -> SendResult {
    let url = format!("{}/2010-04-01/Accounts/{}.json", s.base_url, s.account_sid);
    let resp = match http
        .get(&url)
        .basic_auth(user(s), Some(&sec.auth_token))
        .send()
        .await
    {
        Ok(r) => r,
        Err(e) => return super::http_error(&e),
    };
    let status = resp.status();
    let retry_after = super::retry_after(resp.headers());
    let text = resp.text().await.unwrap_or_default();
    if !status.is_success() {
        return classify(status.as_u16(), &text, retry_after);
    }
    let acct: Option<AccountResource> = serde_json::from_str(&text).ok();
    match acct.as_ref().and_then(|a| a.status.as_deref()) {
        Some("active") | None => SendResult::Accepted {
            provider_id: acct.and_then(|a| a.friendly_name),
            status: Some(status.as_u16().to_string()),
        },
        Some(other) => SendResult::Failed {
            kind: FailureKind::Auth,
            status: Some(status.as_u16().to_string()),
            message: format!("the provider account is {other}, not active"),
            retry_after: None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(r: &SendResult) -> Option<FailureKind> {
        match r {
            SendResult::Failed { kind, .. } => Some(*kind),
            SendResult::Accepted { .. } => None,
        }
    }

    #[test]
    fn twilio_errors_are_classified() {
        let auth = classify(
            401,
            r#"{"code":20003,"message":"Authenticate","status":401}"#,
            None,
        );
        assert_eq!(kind(&auth), Some(FailureKind::Auth));
        let SendResult::Failed { message, .. } = &auth else {
            unreachable!()
        };
        assert!(
            message.contains("20003") && message.contains("credentials"),
            "{message}"
        );
        assert_eq!(
            kind(&classify(
                429,
                r#"{"code":20429,"message":"Too Many Requests"}"#,
                Some(3)
            )),
            Some(FailureKind::Throttled)
        );
        assert_eq!(
            kind(&classify(
                400,
                r#"{"code":14107,"message":"rate limit"}"#,
                None
            )),
            Some(FailureKind::Throttled)
        );
        assert_eq!(
            kind(&classify(
                400,
                r#"{"code":21211,"message":"Invalid 'To' Phone Number"}"#,
                None
            )),
            Some(FailureKind::Permanent)
        );
        assert_eq!(
            kind(&classify(503, "oops", None)),
            Some(FailureKind::Transient)
        );
    }
}
