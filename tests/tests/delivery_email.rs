//! Email delivery against a real SMTP server on 127.0.0.1 (Debian's `python3-aiosmtpd`), with
//! the real engine, delivery worker and SQLite file.

mod delivery_support;

use delivery_support::smtp_server::{Mail, SmtpServer, body, free_port, header};
use delivery_support::{ADMIN, FAST_DELIVERY, Harness, SENDER_ADDRESS, SENDER_NAME, is_sent};
use std::time::Duration;
use twofold_core::proto::{Method, PamReply};
use twofold_core::store::delivery::{AttemptOutcome, DeliveryState};
use twofoldd::delivery::admin;

const WAIT: Duration = Duration::from_secs(30);

/// The 6-digit code in a message body (quoted-printable soft breaks removed).
fn code_in_mail(m: &Mail) -> String {
    let b = body(&m.data).replace("=\r\n", "").replace("=\n", "");
    b.split(|c: char| !c.is_ascii_digit())
        .find(|w| w.len() == 6)
        .unwrap_or_else(|| panic!("no code in {b:?}"))
        .to_string()
}

#[test]
fn an_email_code_arrives_from_the_company_sender_and_verifies() {
    let smtp = SmtpServer::start();
    let h = Harness::start(FAST_DELIVERY);
    h.use_smtp("relay", smtp.port);
    h.user_with_email("alice", "Alice@Example.COM");

    let c = h.begin("alice");
    assert_eq!(c.method, Method::Email);
    let e = h.wait_final("alice", WAIT);
    assert!(is_sent(&e), "{e:?}");
    assert!(
        e.provider_id.as_deref().unwrap_or("").contains("queued as"),
        "the server's acceptance is kept: {e:?}"
    );
    let mails = smtp.wait_for(1, WAIT);
    assert_eq!(mails.len(), 1);
    let m = &mails[0];
    assert_eq!(m.mail_from, SENDER_ADDRESS);
    assert_eq!(m.rcpt_tos, vec!["Alice@example.com".to_string()]);
    let from = header(&m.data, "From").unwrap();
    assert!(
        from.contains(SENDER_NAME) && from.contains(&format!("<{SENDER_ADDRESS}>")),
        "{from}"
    );
    assert_eq!(
        header(&m.data, "Subject").as_deref(),
        Some("Your Example IT security code")
    );
    let code = code_in_mail(m);
    match h.verify(&c.session, Method::Email, &code) {
        PamReply::Accepted { method } => assert_eq!(method, Method::Email),
        other => panic!("the emailed code was not accepted: {other:?}"),
    }
}

#[test]
fn with_the_smtp_server_stopped_the_email_is_retried_and_the_log_says_why() {
    let port = free_port();
    let mut smtp = SmtpServer::on_port(port);
    let h = Harness::start(
        "poll_interval_ms = 50\nconnect_timeout_ms = 1000\ntotal_timeout_ms = 1500\nmax_attempts = 6\nbackoff_base_secs = 1\nbackoff_max_secs = 1\nlease_secs = 4\n",
    );
    h.use_smtp("relay", port);
    h.user_with_email("bob", "bob@example.com");

    let c = h.begin("bob");
    // Nothing listens: the worker retries, and the log line says why.
    let e = h.wait_message("bob", WAIT, |e| {
        e.attempts >= 2 && e.state == DeliveryState::Queued
    });
    let why = e.last_error.unwrap_or_default();
    assert!(
        why.contains(&format!("cannot reach the SMTP server 127.0.0.1:{port}")),
        "{why}"
    );
    let d = admin::delivery_message(&h.daemon, e.id).unwrap();
    assert!(
        d.attempts
            .iter()
            .all(|a| a.outcome == AttemptOutcome::Transient),
        "{:?}",
        d.attempts
    );

    // The server comes back: the next retry delivers, and the code still verifies.
    smtp.run();
    let e = h.wait_final("bob", WAIT);
    assert!(is_sent(&e), "{e:?}");
    assert!(e.attempts >= 3, "{e:?}");
    let mails = smtp.wait_for(1, WAIT);
    assert_eq!(mails.len(), 1, "sent exactly once");
    let code = code_in_mail(&mails[0]);
    assert!(matches!(
        h.verify(&c.session, Method::Email, &code),
        PamReply::Accepted { .. }
    ));
}

#[test]
fn a_rejected_recipient_is_recorded_and_not_retried() {
    let smtp = SmtpServer::start();
    let h = Harness::start(FAST_DELIVERY);
    h.use_smtp("relay", smtp.port);
    h.user_with_email("carol", "reject-carol@example.com");

    h.begin("carol");
    let e = h.wait_final("carol", WAIT);
    assert_eq!(e.state, DeliveryState::Failed, "{e:?}");
    assert_eq!(e.attempts, 1, "a 5xx rejection is final");
    let why = e.last_error.unwrap_or_default();
    assert!(
        why.contains("rejected the message") && why.contains("550"),
        "{why}"
    );
    assert!(smtp.mails().is_empty());
}

#[test]
fn a_test_email_reports_the_servers_answer() {
    let smtp = SmtpServer::start();
    let h = Harness::start(FAST_DELIVERY);
    h.use_smtp("relay", smtp.port);
    let r = h.blocking(|d| {
        admin::send_test_email(d, ADMIN, "ops@example.com", None, Duration::from_secs(20)).unwrap()
    });
    assert!(
        r.finished && r.message.state == DeliveryState::Sent,
        "{r:?}"
    );
    let mails = smtp.wait_for(1, WAIT);
    assert_eq!(
        header(&mails[0].data, "Subject").as_deref(),
        Some("Example IT: test message")
    );
    let check = h.blocking(|d| admin::check_integration(d, ADMIN, "relay").unwrap());
    assert!(check.ok, "{}", check.detail);
}
