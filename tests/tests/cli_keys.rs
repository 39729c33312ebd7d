//! `twofoldctl keys list` and `twofoldctl keys rotate` against a real twofoldd: the keys the
//! provider signs ID tokens with, a rotation the JWKS publishes at once, its audit event, and
//! ID tokens signed before it that still verify.

mod cli_support;
mod common;
mod oidc_support;

use cli_support::{Run, admin_name, audit, ctl, ctl_json};
use common::{TestDaemon, artifacts};
use oidc_support::*;
use openidconnect::core::{CoreIdToken, CoreIdTokenVerifier, CoreJsonWebKeySet};
use openidconnect::{ClientId, ClientSecret, IssuerUrl, Nonce};
use serde_json::Value;
use std::collections::BTreeSet;
use std::process::Command;

/// The `kid`s of the provider's JWKS and the document itself.
async fn jwks(base: &str) -> (BTreeSet<String>, String) {
    let body = raw_client()
        .get(format!("{base}/jwks.json"))
        .send()
        .await
        .expect("JWKS request")
        .text()
        .await
        .expect("JWKS body");
    let v: Value = serde_json::from_str(&body).expect("JWKS is JSON");
    let kids = v["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .map(|k| k["kid"].as_str().expect("kid").to_owned())
        .collect();
    (kids, body)
}

/// Signs alice in (password only) and returns the ID token the token endpoint gives `app`.
async fn id_token(op: &Op) -> String {
    let mut b = Browser::new(op);
    let mut app = Authenticator::default();
    let p = b
        .sign_in(&op.auth_url(CLIENT, &[]), "alice", PASSWORD, &mut app)
        .await
        .unwrap_or_else(|p| panic!("sign-in stopped at {} {}", p.status, p.body));
    let r = op.redeem(CLIENT, SECRET, &p["code"], &[]).await;
    assert_eq!(r.status(), 200);
    let j: Value = r.json().await.expect("token response");
    j["id_token"].as_str().expect("an ID token").to_owned()
}

/// The `kid` in a JWT's header.
fn kid_of(jwt: &str) -> String {
    let h = jwt.split('.').next().expect("header");
    let h: Value = serde_json::from_slice(
        &data_encoding::BASE64URL_NOPAD
            .decode(h.as_bytes())
            .expect("base64url"),
    )
    .expect("json");
    h["kid"].as_str().expect("kid").to_owned()
}

/// `keys list --json` as (kid, algorithm, state) triples.
fn listed(d: &TestDaemon) -> Vec<(String, String, String)> {
    let (code, v) = ctl_json(d, &["keys", "list"]);
    assert_eq!(code, 0, "{v}");
    v["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .map(|k| {
            let s = |f: &str| k[f].as_str().unwrap_or_default().to_owned();
            (s("kid"), s("algorithm"), s("state"))
        })
        .collect()
}

fn password_only_op() -> Op {
    let op = start_op(|b| b, |s| s.enabled = false);
    op.add_user("alice");
    op
}

#[test]
fn keys_list_shows_an_active_rs256_key_and_an_active_eddsa_key() {
    let d = TestDaemon::start();
    let keys = listed(&d);
    assert_eq!(keys.len(), 2, "{keys:?}");
    for alg in ["RS256", "EdDSA"] {
        assert!(
            keys.iter().any(|(_, a, s)| a == alg && s == "active"),
            "no active {alg} key: {keys:?}"
        );
    }
    let (_, v) = ctl_json(&d, &["keys", "list"]);
    for k in v["keys"].as_array().expect("keys") {
        assert!(k["signs_from"].as_i64() <= v["now"].as_i64(), "{k}");
        assert!(k["created_at"].is_i64(), "{k}");
        assert!(k["retire_after"].is_null(), "{k}");
    }

    let r = ctl(&d, &["keys", "list"]);
    r.expect(0)
        .says("KID")
        .says("ALGORITHM")
        .says("STATE")
        .says("SIGNS FROM")
        .says("RETIRE AFTER");
    for (kid, _, _) in &keys {
        r.says(kid);
    }
    assert_eq!(r.out.matches("active").count(), 2, "{}", r.out);
}

#[tokio::test]
async fn a_rotation_publishes_new_keys_at_once_and_tokens_signed_before_it_still_verify() {
    let op = password_only_op();
    let before_token = id_token(&op).await;
    let (old_kids, _) = jwks(&op.base).await;
    assert_eq!(old_kids.len(), 2);
    assert!(old_kids.contains(&kid_of(&before_token)));

    let (code, v) = ctl_json(&op.d, &["keys", "rotate", "--yes"]);
    assert_eq!(code, 0, "{v}");
    let rotated: BTreeSet<String> = v["rotated"]
        .as_array()
        .expect("rotated")
        .iter()
        .map(|k| k["kid"].as_str().expect("kid").to_owned())
        .collect();
    assert_eq!(rotated.len(), 2, "{v}");
    assert!(rotated.is_disjoint(&old_kids));
    let now = v["now"].as_i64().expect("now");
    for k in v["rotated"].as_array().expect("rotated") {
        // The default `key_publish_ahead_secs`: published now, signing after a day.
        assert_eq!(k["signs_from"].as_i64(), Some(now + 86_400), "{k}");
        assert_eq!(k["state"], "next", "{k}");
    }
    let replaced: BTreeSet<&str> = v["replaced"]
        .as_array()
        .expect("replaced")
        .iter()
        .map(|k| k["kid"].as_str().expect("kid"))
        .collect();
    assert_eq!(replaced, old_kids.iter().map(String::as_str).collect());

    // The JWKS publishes the new keys at once and keeps the old ones.
    let (kids, body) = jwks(&op.base).await;
    assert!(kids.is_superset(&rotated), "{kids:?}");
    assert!(kids.is_superset(&old_kids), "{kids:?}");
    assert_eq!(kids.len(), 4, "{kids:?}");

    // A token signed before the rotation verifies against the JWKS served after it.
    let jwks_doc: CoreJsonWebKeySet = serde_json::from_str(&body).expect("a JWK set");
    let verifier = CoreIdTokenVerifier::new_confidential_client(
        ClientId::new(CLIENT.into()),
        ClientSecret::new(SECRET.into()),
        IssuerUrl::new(op.base.clone()).expect("issuer"),
        jwks_doc,
    );
    let token: CoreIdToken = before_token.parse().expect("an ID token");
    let claims = token
        .claims(&verifier, |_: Option<&Nonce>| Ok(()))
        .expect("the old token verifies against the new JWKS");
    assert_eq!(claims.issuer().as_str(), op.base);

    // The old keys sign until the new ones start.
    let after_token = id_token(&op).await;
    assert!(old_kids.contains(&kid_of(&after_token)));

    let keys = listed(&op.d);
    for (kid, _, state) in &keys {
        let want = if rotated.contains(kid) {
            "next"
        } else {
            "active"
        };
        assert_eq!(state, want, "{kid}: {keys:?}");
    }

    let events = audit(&op.d, &["--type", "keys.rotate"]);
    assert_eq!(events.len(), 1, "{events:?}");
    let e = &events[0];
    assert_eq!(e["actor"], admin_name().as_str(), "{e}");
    assert_eq!(e["outcome"], "ok", "{e}");
    let detail = e["detail"].as_str().unwrap_or_default();
    for kid in rotated.iter().chain(&old_kids) {
        assert!(detail.contains(kid.as_str()), "{kid} not in {detail}");
    }
}

#[test]
fn a_rotation_prints_the_new_kids_and_when_they_start_signing() {
    let d = TestDaemon::start();
    let r = ctl(&d, &["keys", "rotate", "--yes"]);
    r.expect(0)
        .says("new signing keys, published in the JWKS now")
        .says("(in 1 day)")
        .says("published until");
    let new: Vec<String> = listed(&d)
        .into_iter()
        .filter(|(_, _, s)| s == "next")
        .map(|(kid, _, _)| kid)
        .collect();
    assert_eq!(new.len(), 2);
    for kid in &new {
        r.says(kid);
    }
}

#[test]
fn rotate_without_yes_changes_nothing_and_says_how_to_confirm() {
    let d = TestDaemon::start();
    let r = ctl(&d, &["keys", "rotate"]);
    r.expect(2)
        .complains("--yes")
        .complains("nothing was changed");
    assert_eq!(listed(&d).len(), 2);
    assert!(audit(&d, &["--type", "keys.rotate"]).is_empty());
}

#[test]
fn a_second_rotation_while_the_first_waits_to_sign_is_refused() {
    let d = TestDaemon::start();
    ctl(&d, &["keys", "rotate", "--yes"]).expect(0);
    let r = ctl(&d, &["keys", "rotate", "--yes"]);
    r.expect(1)
        .complains("already under way")
        .complains("nothing was changed");
    assert_eq!(listed(&d).len(), 4);
    assert_eq!(audit(&d, &["--type", "keys.rotate"]).len(), 1);
}

#[test]
fn keys_commands_on_a_daemon_without_the_provider_say_it_is_off() {
    let d = TestDaemon::builder()
        .config("http", "listen = \"\"")
        .start();
    for args in [&["keys", "list"][..], &["keys", "rotate", "--yes"]] {
        ctl(&d, args)
            .expect(1)
            .complains("OpenID Connect provider is off")
            .complains("[http] listen");
    }
    let (code, v) = ctl_json(&d, &["keys", "list"]);
    assert_eq!(code, 1);
    assert_eq!(v["kind"], "refused", "{v}");
}

#[test]
fn a_remote_admin_rotates_the_keys_and_is_named_in_the_audit() {
    let out = Command::new(artifacts::twofoldctl())
        .args(["--json", "admin-token", "new", "ops"])
        .output()
        .expect("running twofoldctl");
    let t: Value = serde_json::from_slice(&out.stdout).expect("json");
    let d = TestDaemon::builder()
        .config(
            "admin",
            &format!(
                "api_tokens = [ {} ]",
                t["config_entry"].as_str().expect("entry")
            ),
        )
        .start();
    let file = d.dir().join("token");
    std::fs::write(&file, t["token"].as_str().expect("token")).expect("token file");
    let out = Command::new(artifacts::twofoldctl())
        .arg("--url")
        .arg(d.http_url().expect("http listener"))
        .arg("--token-file")
        .arg(&file)
        .args(["--socket", "/nonexistent/admin.sock"])
        .args(["keys", "rotate", "--yes"])
        .env_remove("TWOFOLD_ADMIN_SOCKET")
        .output()
        .expect("running twofoldctl");
    let r = Run {
        code: out.status.code().unwrap_or(-1),
        out: String::from_utf8_lossy(&out.stdout).into_owned(),
        err: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    r.expect(0).says("new signing keys");
    let events = audit(&d, &["--type", "keys.rotate"]);
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["actor"], "admin-token:ops");
}
