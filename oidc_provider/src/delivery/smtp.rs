//! Email over SMTP with lettre: STARTTLS (required, default: a server that does not offer it
//! gets nothing in the clear), implicit TLS, or plain (AUTH over plain only to a loopback relay);
//! SMTP AUTH when a user name and password are set. Certificates are checked against the public
//! roots and, when `ca_file` is set, a private CA.
//!
//! The sender is the Company Preferences address and name (`settings.email.from_address`,
//! `from_name`). A reply of 4xx is transient (retried); 5xx is a rejection (recorded, not
//! retried); 535 means the credentials were refused (the integration turns unhealthy); a refused
//! connection, a timeout or a TLS failure is transient.
//!
//! Bounces that arrive later as separate mail (DSNs to the sender address) are not seen here:
//! what is recorded is the SMTP server's acceptance or rejection at send time.

use super::integration::{
    FailureKind, Outgoing, SendResult, SmtpSecrets, SmtpSecurity, SmtpSettings,
};
use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{Address, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::time::Duration;

/// The sender identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sender {
    /// Address (`security@example.com`).
    pub address: String,
    /// Display name (`Example IT`).
    pub name: Option<String>,
}

fn transport(
    s: &SmtpSettings,
    sec: Option<&SmtpSecrets>,
    timeout: Duration,
) -> Result<AsyncSmtpTransport<Tokio1Executor>, String> {
    let tls = |wrap: fn(TlsParameters) -> Tls| -> Result<Tls, String> {
        let mut p = TlsParameters::builder(s.host.clone());
        if let Some(ca) = &s.ca_file {
            let pem = std::fs::read(ca).map_err(|e| format!("ca_file {}: {e}", ca.display()))?;
            let cert = Certificate::from_pem(&pem)
                .map_err(|e| format!("ca_file {}: {e}", ca.display()))?;
            p = p.add_root_certificate(cert);
        }
        let p = p
            .build_rustls()
            .map_err(|e| format!("TLS setup for {}: {e}", s.host))?;
        Ok(wrap(p))
    };
    let mode = match s.security {
        // STARTTLS is required: a server that does not offer it gets nothing in the clear.
        SmtpSecurity::Starttls => tls(Tls::Required)?,
        SmtpSecurity::Tls => tls(Tls::Wrapper)?,
        SmtpSecurity::None => Tls::None,
    };
    let mut b = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&s.host)
        .tls(mode)
        .port(s.port())
        .timeout(Some(timeout));
    if let (Some(user), Some(sec)) = (&s.username, sec) {
        b = b.credentials(Credentials::new(user.clone(), sec.password.clone()));
    }
    Ok(b.build())
}

fn where_(s: &SmtpSettings) -> String {
    format!("{}:{}", s.host, s.port())
}

fn classify(s: &SmtpSettings, e: &lettre::transport::smtp::Error) -> SendResult {
    let code = e.status().map(|c| c.to_string());
    let text = super::clip(&e.to_string(), 300);
    let (kind, message) = if code.as_deref() == Some("535") || code.as_deref() == Some("530") {
        (
            FailureKind::Auth,
            format!(
                "the SMTP server {} refused the credentials ({text})",
                where_(s)
            ),
        )
    } else if e.is_permanent() {
        (
            FailureKind::Permanent,
            format!(
                "the SMTP server {} rejected the message ({text})",
                where_(s)
            ),
        )
    } else if e.is_transient() {
        (
            FailureKind::Transient,
            format!(
                "the SMTP server {} deferred the message ({text})",
                where_(s)
            ),
        )
    } else if e.is_timeout() {
        (
            FailureKind::Transient,
            format!(
                "the SMTP server {} did not answer in time ({text})",
                where_(s)
            ),
        )
    } else if text.contains("STARTTLS is not supported") {
        (
            FailureKind::Transient,
            format!(
                "the SMTP server {} does not offer STARTTLS, which security = \"starttls\" requires; nothing was sent in the clear",
                where_(s)
            ),
        )
    } else if e.is_tls() || text.contains("certificate") {
        (
            FailureKind::Transient,
            format!(
                "TLS with the SMTP server {} failed: its certificate was not accepted ({text}); set ca_file for a private CA",
                where_(s)
            ),
        )
    } else {
        (
            FailureKind::Transient,
            format!("cannot reach the SMTP server {} ({text})", where_(s)),
        )
    };
    SendResult::Failed {
        kind,
        status: code,
        message,
        retry_after: None,
    }
}

/// Builds the email.
pub fn build_message(from: &Sender, m: &Outgoing<'_>) -> Result<Message, String> {
    let from_addr: Address = from.address.parse().map_err(|e| {
        format!(
            "sender address {:?} (settings email.from_address): {e}",
            from.address
        )
    })?;
    let to: Address =
        m.to.parse()
            .map_err(|e| format!("recipient address {:?}: {e}", m.to))?;
    Message::builder()
        .from(Mailbox::new(from.name.clone(), from_addr))
        .to(Mailbox::new(None, to))
        .subject(m.subject.unwrap_or("Security code"))
        .header(ContentType::TEXT_PLAIN)
        .body(m.text.to_string())
        .map_err(|e| format!("cannot build the email: {e}"))
}

/// Sends one email.
pub async fn send(
    s: &SmtpSettings,
    sec: Option<&SmtpSecrets>,
    from: &Sender,
    timeout: Duration,
    m: &Outgoing<'_>,
) -> SendResult {
    let msg = match build_message(from, m) {
        Ok(x) => x,
        Err(e) => return SendResult::failed(FailureKind::Permanent, e),
    };
    let t = match transport(s, sec, timeout) {
        Ok(t) => t,
        Err(e) => return SendResult::failed(FailureKind::Transient, e),
    };
    match t.send(msg).await {
        Ok(resp) => SendResult::Accepted {
            provider_id: resp.first_line().map(|l| super::clip(l, 200)),
            status: Some(resp.code().to_string()),
        },
        Err(e) => classify(s, &e),
    }
}

/// Connects, says EHLO, and authenticates when credentials are set.
pub async fn check(s: &SmtpSettings, sec: Option<&SmtpSecrets>, timeout: Duration) -> SendResult {
    let t = match transport(s, sec, timeout) {
        Ok(t) => t,
        Err(e) => return SendResult::failed(FailureKind::Transient, e),
    };
    match t.test_connection().await {
        Ok(true) => SendResult::Accepted {
            provider_id: None,
            status: None,
        },
        Ok(false) => SendResult::failed(
            FailureKind::Transient,
            format!("the SMTP server {} closed the connection", where_(s)),
        ),
        Err(e) => classify(s, &e),
    }
}
