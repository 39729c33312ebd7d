//! Email over STARTTLS and implicit TLS with SMTP AUTH, against aiosmtpd on 127.0.0.1 with a
//! certificate from a private test CA (made here with the `openssl` command): delivery works,
//! a wrong password makes the relay unhealthy with the server's reason, and a server that does
//! not offer STARTTLS gets nothing in the clear.

mod delivery_support;

use delivery_support::smtp_server::{Options, SmtpServer, free_port, header};
use delivery_support::{ADMIN, FAST_DELIVERY, Harness, SENDER_ADDRESS, is_sent};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;
use twofold_core::store::delivery::{DeliveryState, Health, IntegrationKind};
use twofoldd::delivery::admin::{self, IntegrationInput};

const WAIT: Duration = Duration::from_secs(30);

struct Pki {
    ca: PathBuf,
    cert: PathBuf,
    key: PathBuf,
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("the openssl command must be installed");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA and a server certificate for 127.0.0.1 signed by it.
fn pki(dir: &Path) -> Pki {
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    let mut a = vec!["req", "-x509"];
    a.extend(ec);
    a.extend([
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=twofold test CA",
    ]);
    openssl(dir, &a);
    let mut a = vec!["req"];
    a.extend(ec);
    a.extend([
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=127.0.0.1",
    ]);
    openssl(dir, &a);
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.pem",
            "-days",
            "2",
            "-extfile",
            "ext.cnf",
        ],
    );
    Pki {
        ca: dir.join("ca.pem"),
        cert: dir.join("server.pem"),
        key: dir.join("server.key"),
    }
}

fn server(mode: &'static str, p: &Pki, auth: Option<(&str, &str)>) -> SmtpServer {
    let mut s = SmtpServer::on_port(free_port());
    s.options = Options {
        mode,
        cert: Some((p.cert.clone(), p.key.clone())),
        auth: auth.map(|(u, p)| (u.to_string(), p.to_string())),
    };
    s.run();
    s
}

fn relay(h: &Harness, port: u16, security: &str, ca: &Path, password: &str) {
    h.use_smtp("relay", port);
    let input = IntegrationInput {
        name: "relay".into(),
        kind: IntegrationKind::Smtp,
        settings: serde_json::json!({
            "host": "127.0.0.1", "port": port, "security": security,
            "username": "mailer", "ca_file": ca,
        }),
        secrets: serde_json::json!({"password": password}),
    };
    admin::add_integration(&h.daemon, ADMIN, &input, true).unwrap();
}

#[test]
fn starttls_with_auth_delivers_and_a_wrong_password_makes_the_relay_unhealthy() {
    let tmp = tempfile::tempdir().unwrap();
    let p = pki(tmp.path());
    let smtp = server("starttls", &p, Some(("mailer", "s3cret-relay-pass")));
    let h = Harness::start(FAST_DELIVERY);
    relay(&h, smtp.port, "starttls", &p.ca, "s3cret-relay-pass");

    let check = h.blocking(|d| admin::check_integration(d, ADMIN, "relay").unwrap());
    assert!(check.ok, "{}", check.detail);
    h.user_with_email("alice", "alice@example.com");
    h.begin("alice");
    let e = h.wait_final("alice", WAIT);
    assert!(is_sent(&e), "{e:?}");
    let mails = smtp.wait_for(1, WAIT);
    assert_eq!(mails[0].mail_from, SENDER_ADDRESS);
    assert!(header(&mails[0].data, "Subject").is_some());

    relay(&h, smtp.port, "starttls", &p.ca, "the-wrong-password");
    let check = h.blocking(|d| admin::check_integration(d, ADMIN, "relay").unwrap());
    assert!(!check.ok);
    assert!(
        check.detail.contains("refused the credentials") && check.detail.contains("535"),
        "{}",
        check.detail
    );
    assert_eq!(check.health.state, Health::Unhealthy);
    h.user_with_email("bob", "bob@example.com");
    h.begin("bob");
    let e = h.wait_final("bob", WAIT);
    assert_eq!(e.state, DeliveryState::Failed, "{e:?}");
    assert_eq!(e.attempts, 1, "refused credentials are not retried");
    assert_eq!(smtp.mails().len(), 1);
}

#[test]
fn implicit_tls_with_a_private_ca_delivers() {
    let tmp = tempfile::tempdir().unwrap();
    let p = pki(tmp.path());
    let smtp = server("tls", &p, Some(("mailer", "s3cret-relay-pass")));
    let h = Harness::start(FAST_DELIVERY);
    relay(&h, smtp.port, "tls", &p.ca, "s3cret-relay-pass");
    let r = h.blocking(|d| {
        admin::send_test_email(d, ADMIN, "ops@example.com", None, Duration::from_secs(20)).unwrap()
    });
    assert!(
        r.finished && r.message.state == DeliveryState::Sent,
        "{r:?}"
    );
    assert_eq!(smtp.wait_for(1, WAIT).len(), 1);
}

#[test]
fn a_server_without_starttls_gets_nothing_in_the_clear() {
    let tmp = tempfile::tempdir().unwrap();
    let p = pki(tmp.path());
    let smtp = SmtpServer::start();
    let h = Harness::start(FAST_DELIVERY);
    relay(&h, smtp.port, "starttls", &p.ca, "s3cret-relay-pass");
    h.user_with_email("carol", "carol@example.com");
    h.begin("carol");
    let e = h.wait_message("carol", WAIT, |e| e.attempts >= 1 && e.last_error.is_some());
    assert!(smtp.mails().is_empty(), "no mail went out in the clear");
    let why = e.last_error.unwrap_or_default();
    assert!(why.contains("does not offer STARTTLS"), "{why}");
}

#[test]
fn an_untrusted_certificate_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let p = pki(tmp.path());
    let smtp = server("tls", &p, None);
    let h = Harness::start(FAST_DELIVERY);
    // Without the private CA the certificate does not verify against the public roots.
    h.use_smtp("relay", smtp.port);
    let input = IntegrationInput {
        name: "relay".into(),
        kind: IntegrationKind::Smtp,
        settings: serde_json::json!({"host": "127.0.0.1", "port": smtp.port, "security": "tls"}),
        secrets: serde_json::Value::Null,
    };
    admin::add_integration(&h.daemon, ADMIN, &input, true).unwrap();
    let check = h.blocking(|d| admin::check_integration(d, ADMIN, "relay").unwrap());
    assert!(!check.ok);
    assert!(
        check.detail.contains("certificate was not accepted")
            && check.detail.contains("UnknownIssuer"),
        "{}",
        check.detail
    );
    assert!(smtp.mails().is_empty());
}
