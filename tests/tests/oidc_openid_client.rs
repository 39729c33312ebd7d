//! The code flow completed by an independent, OpenID-certified relying party: npm
//! `openid-client` 6 (`tests/js/rp.mjs`) with ID token signature validation switched on,
//! against a real `twofoldd`. The browser part (password, enrollment by the text key, TOTP)
//! is walked through the real pages.
//!
//! Needs `node` and `npm`; runs `npm ci` in `tests/js` when `node_modules` is missing.

mod common;
mod oidc_support;

use oidc_support::*;
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};

fn js_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/js"))
}

fn ensure_node_modules() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        if js_dir().join("node_modules/openid-client").exists() {
            return;
        }
        let out = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(js_dir())
            .output()
            .expect("running npm ci (is npm installed?)");
        assert!(
            out.status.success(),
            "npm ci failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    });
}

async fn run_rp(op: &Op, user: &str, app: &mut Authenticator) -> serde_json::Value {
    ensure_node_modules();
    let mut child = Command::new("node")
        .arg(js_dir().join("rp.mjs"))
        .args([op.base.as_str(), CLIENT, SECRET, REDIRECT])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("starting node");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first: serde_json::Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    let url = first["authorization_url"]
        .as_str()
        .unwrap_or_else(|| panic!("openid-client refused the provider: {first}"))
        .to_string();
    let mut b = Browser::new(op);
    b.sign_in(&url, user, PASSWORD, app)
        .await
        .unwrap_or_else(|p| panic!("sign-in stopped at {} {}", p.status, p.body));
    let callback = b.last_redirect.clone().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "{callback}").unwrap();
    drop(stdin);
    let result: serde_json::Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    assert!(
        child.wait().unwrap().success(),
        "openid-client failed: {result}"
    );
    result
}

#[tokio::test]
async fn openid_client_completes_the_code_flow_with_signature_validation_after_enrollment() {
    let op = start_op(|b| b, |_| {});
    op.add_user("alice");
    let mut app = Authenticator::default();
    let r = run_rp(&op, "alice", &mut app).await;
    assert_eq!(r["claims"]["iss"], op.base);
    assert_eq!(r["claims"]["sub"], "alice");
    assert_eq!(r["claims"]["aud"], serde_json::json!([CLIENT]));
    assert_eq!(r["claims"]["amr"], serde_json::json!(["pwd", "otp", "mfa"]));
    assert_eq!(r["userinfo"]["sub"], "alice");
    assert_eq!(r["token_type"], "bearer");
    // A second flow: the enrolled user answers the TOTP prompt this time.
    let r = run_rp(&op, "alice", &mut app).await;
    assert_eq!(r["claims"]["acr"], "urn:twofold:acr:2fa");
}

#[tokio::test]
async fn openid_client_validates_eddsa_signed_id_tokens() {
    let op = start_op(
        |b| b.config("http", "id_token_alg = \"EdDSA\""),
        |s| s.enabled = false,
    );
    op.add_user("bob");
    let mut app = Authenticator::default();
    let r = run_rp(&op, "bob", &mut app).await;
    assert_eq!(r["claims"]["sub"], "bob");
}
