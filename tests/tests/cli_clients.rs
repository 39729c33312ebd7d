//! `twofoldctl clients list|add|remove` against a real twofoldd: a client registered by the
//! administrator completes a code flow with the secret printed once, is listed with its grant
//! types, and after removal is refused at the token endpoint; configuration-file clients and
//! bad registrations are refused with nothing changed.

mod cli_support;
mod common;
mod oidc_support;

use cli_support::{admin_name, audit, ctl, ctl_json};
use oidc_support::*;
use serde_json::Value;

fn password_only_op() -> Op {
    let op = start_op(|b| b, |s| s.enabled = false);
    op.add_user("alice");
    op
}

/// `clients add ID --redirect-uri REDIRECT --json ...`: the reply.
fn add(op: &Op, id: &str, extra: &[&str]) -> Value {
    let mut args = vec!["clients", "add", id, "--redirect-uri", REDIRECT];
    args.extend_from_slice(extra);
    let (code, v) = ctl_json(&op.d, &args);
    assert_eq!(code, 0, "{v}");
    v
}

/// `clients list --json`: the entry for `id`, if listed.
fn listed(op: &Op, id: &str) -> Option<Value> {
    let (code, v) = ctl_json(&op.d, &["clients", "list"]);
    assert_eq!(code, 0, "{v}");
    v["clients"]
        .as_array()
        .expect("clients")
        .iter()
        .find(|c| c["client_id"] == id)
        .cloned()
}

/// The `error` of a token request by `client` with a made-up code.
async fn bogus_code_error(op: &Op, client: &str, secret: &str) -> String {
    let r = op.redeem(client, secret, "not-a-real-code", &[]).await;
    let j: Value = r.json().await.expect("token error response");
    j["error"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn an_added_client_gets_its_secret_once_and_completes_a_code_flow_with_it() {
    let op = password_only_op();
    let r = ctl(
        &op.d,
        &[
            "clients",
            "add",
            "rp1",
            "--redirect-uri",
            REDIRECT,
            "--name",
            "Relying Party",
        ],
    );
    r.expect(0).says("rp1").says("will not be shown again");
    let secret = r
        .out
        .lines()
        .find_map(|l| l.strip_prefix("client secret: "))
        .expect("a secret line")
        .trim()
        .to_owned();
    assert!(secret.len() >= 32, "{secret}");

    // A full code flow with the new client and its secret.
    let mut b = Browser::new(&op);
    let mut app = Authenticator::default();
    let p = b
        .sign_in(&op.auth_url("rp1", &[]), "alice", PASSWORD, &mut app)
        .await
        .unwrap_or_else(|p| panic!("sign-in stopped at {} {}", p.status, p.body));
    let t = op.redeem("rp1", &secret, &p["code"], &[]).await;
    assert_eq!(t.status(), 200);
    let j: Value = t.json().await.expect("token response");
    assert!(j["id_token"].is_string(), "{j}");
    assert_eq!(
        claims(j["id_token"].as_str().unwrap_or_default())["aud"],
        serde_json::json!(["rp1"])
    );

    // A wrong secret is not the client; the secret is never shown again.
    assert_eq!(
        bogus_code_error(&op, "rp1", "wrong").await,
        "invalid_client"
    );
    let l = ctl(&op.d, &["clients", "list"]);
    l.expect(0).says("rp1");
    assert!(!l.out.contains(&secret), "{}", l.out);
    let (_, v) = ctl_json(&op.d, &["clients", "list"]);
    assert!(!v.to_string().contains(&secret), "{v}");

    let events = audit(&op.d, &["--type", "clients.add"]);
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["actor"], admin_name().as_str());
    assert!(!events[0].to_string().contains(&secret));
}

#[tokio::test]
async fn the_json_form_gives_the_secret_as_a_field_and_list_shows_the_grant_types() {
    let op = password_only_op();
    let v = add(&op, "rp2", &["--grant-types", "authorization_code"]);
    let secret = v["client_secret"]
        .as_str()
        .expect("a client_secret")
        .to_owned();
    assert_eq!(bogus_code_error(&op, "rp2", &secret).await, "invalid_grant");

    let c = listed(&op, "rp2").expect("rp2 listed");
    assert_eq!(
        c["grant_types"],
        serde_json::json!(["authorization_code"]),
        "{c}"
    );
    assert_eq!(c["public"], false, "{c}");
    assert_eq!(c["source"], "store", "{c}");
    assert_eq!(c["redirect_uris"], serde_json::json!([REDIRECT]), "{c}");
    let app = listed(&op, CLIENT).expect("the configuration's client is listed");
    assert_eq!(app["source"], "config", "{app}");

    let r = ctl(&op.d, &["clients", "list"]);
    r.expect(0)
        .says("CLIENT ID")
        .says("GRANT TYPES")
        .says("confidential")
        .says("config");
    let line = r
        .out
        .lines()
        .find(|l| l.starts_with("rp2"))
        .expect("rp2 row");
    assert!(line.contains("authorization_code"), "{line}");
    assert!(!line.contains("refresh_token"), "{line}");

    let p = add(&op, "spa2", &["--public"]);
    assert!(p["client_secret"].is_null(), "{p}");
    assert_eq!(listed(&op, "spa2").expect("spa2")["public"], true);
}

#[test]
fn a_duplicate_client_id_is_refused_and_changes_nothing() {
    let op = password_only_op();
    add(&op, "rp3", &["--name", "First"]);
    let before = listed(&op, "rp3").expect("rp3");
    for id in ["rp3", CLIENT] {
        ctl(
            &op.d,
            &[
                "clients",
                "add",
                id,
                "--redirect-uri",
                "https://x.example/cb",
                "--name",
                "Second",
            ],
        )
        .expect(1)
        .complains(id)
        .complains("nothing was changed");
    }
    assert_eq!(listed(&op, "rp3"), Some(before));
    assert_eq!(listed(&op, CLIENT).expect("app")["source"], "config");
    assert_eq!(audit(&op.d, &["--type", "clients.add"]).len(), 1);
}

#[test]
fn a_bad_redirect_uri_or_id_or_grant_type_is_refused() {
    let op = password_only_op();
    let long = "x".repeat(257);
    for args in [
        &["clients", "add", "rp4", "--redirect-uri", "/relative"][..],
        &[
            "clients",
            "add",
            "rp4",
            "--redirect-uri",
            "ftp://rp.example/cb",
        ],
        &[
            "clients",
            "add",
            "rp4",
            "--redirect-uri",
            "https://rp.example/cb#x",
        ],
        &[
            "clients",
            "add",
            "rp4",
            "--redirect-uri",
            REDIRECT,
            "--grant-types",
            "refresh_token",
        ],
        &[
            "clients",
            "add",
            "rp4",
            "--redirect-uri",
            REDIRECT,
            "--grant-types",
            "implicit",
        ],
        &["clients", "add", &long, "--redirect-uri", REDIRECT],
        &["clients", "add", "", "--redirect-uri", REDIRECT],
    ] {
        let r = ctl(&op.d, args);
        r.expect(2);
        assert!(!r.err.is_empty(), "{args:?}");
    }
    ctl(
        &op.d,
        &["clients", "add", "rp4", "--redirect-uri", "/relative"],
    )
    .complains("/relative");
    assert!(listed(&op, "rp4").is_none());
    assert!(audit(&op.d, &["--type", "clients.add"]).is_empty());
}

#[tokio::test]
async fn a_removed_client_is_refused_at_the_token_endpoint() {
    let op = password_only_op();
    let v = add(&op, "rp5", &[]);
    let secret = v["client_secret"].as_str().expect("secret").to_owned();
    assert_eq!(bogus_code_error(&op, "rp5", &secret).await, "invalid_grant");

    ctl(&op.d, &["clients", "remove", "rp5"])
        .expect(2)
        .complains("--yes")
        .complains("nothing was changed");
    assert!(listed(&op, "rp5").is_some());

    ctl(&op.d, &["clients", "remove", "rp5", "--yes"])
        .expect(0)
        .says("rp5");
    assert!(listed(&op, "rp5").is_none());
    assert_eq!(
        bogus_code_error(&op, "rp5", &secret).await,
        "invalid_client"
    );
    let events = audit(&op.d, &["--type", "clients.remove"]);
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["actor"], admin_name().as_str());

    ctl(&op.d, &["clients", "remove", "rp5", "--yes"])
        .expect(1)
        .complains("rp5");
}

#[tokio::test]
async fn removing_a_configuration_client_is_refused_and_says_to_edit_the_config() {
    let op = password_only_op();
    ctl(&op.d, &["clients", "remove", CLIENT, "--yes"])
        .expect(1)
        .complains("configuration file")
        .complains("twofoldd.toml")
        .complains("nothing was changed");
    assert_eq!(listed(&op, CLIENT).expect("app")["source"], "config");
    assert_eq!(bogus_code_error(&op, CLIENT, SECRET).await, "invalid_grant");
    assert!(audit(&op.d, &["--type", "clients.remove"]).is_empty());
}
