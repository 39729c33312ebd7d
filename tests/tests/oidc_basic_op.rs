//! The OpenID Foundation's Basic OP plan (`oidcc-basic-certification-test-plan`, Part D of the
//! reliability anchors), module by module, as black-box tests against a real `twofoldd` on an
//! ephemeral port. The relying party is the `openidconnect` crate (discovery, ID token
//! signature, issuer, audience, nonce and expiry checks), plus raw HTTP where the plan needs
//! requests a library will not send.

mod common;
mod oidc_support;

use oidc_support::*;
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreJwsSigningAlgorithm, CoreProviderMetadata,
    CoreUserInfoClaims,
};
use openidconnect::{
    AuthType, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce,
    OAuth2TokenResponse, PkceCodeChallenge, RedirectUrl, Scope, TokenResponse,
};
use std::collections::BTreeMap;
use twofold_core::store::Store;

fn rp_http() -> openidconnect::reqwest::Client {
    openidconnect::reqwest::Client::builder()
        .redirect(openidconnect::reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// What a completed relying-party flow yields.
struct Flow {
    params: BTreeMap<String, String>,
    claims: serde_json::Value,
    access_token: String,
    refresh_token: Option<String>,
    userinfo_sub: String,
}

/// A full code flow driven by the `openidconnect` crate: discovery, authorization URL with
/// nonce, state and PKCE, sign-in through the pages, code exchange, ID token verification
/// (signature, iss, aud, exp, nonce), userinfo.
async fn rp_flow(
    op: &Op,
    browser: &mut Browser,
    app: &mut Authenticator,
    auth_type: AuthType,
    algs: Vec<CoreJwsSigningAlgorithm>,
    extra: &[(&str, &str)],
) -> Flow {
    let http = rp_http();
    let meta =
        CoreProviderMetadata::discover_async(IssuerUrl::new(op.base.clone()).unwrap(), &http)
            .await
            .expect("discovery accepted by openidconnect");
    let client = CoreClient::from_provider_metadata(
        meta,
        ClientId::new(CLIENT.into()),
        Some(ClientSecret::new(SECRET.into())),
    )
    .set_redirect_uri(RedirectUrl::new(REDIRECT.into()).unwrap())
    .set_auth_type(auth_type);
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut req = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("profile".into()))
        .set_pkce_challenge(challenge);
    for (k, v) in extra {
        req = req.add_extra_param(*k, *v);
    }
    let (url, csrf, nonce) = req.url();
    let params = browser
        .sign_in(url.as_str(), "alice", PASSWORD, app)
        .await
        .unwrap_or_else(|p| panic!("sign-in stopped at {} {}", p.status, p.body));
    assert_eq!(params.get("state"), Some(csrf.secret()), "state echoed");
    assert_eq!(params.get("iss"), Some(&op.base), "RFC 9207 iss");
    let code = params.get("code").expect("a code").clone();
    let tokens = client
        .exchange_code(AuthorizationCode::new(code))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .expect("token response");
    let id_token = tokens.id_token().expect("an ID token");
    let verifier = client.id_token_verifier().set_allowed_algs(algs);
    let verified = id_token
        .claims(&verifier, &nonce)
        .expect("ID token verified by openidconnect");
    assert_eq!(verified.issuer().as_str(), op.base);
    let info: CoreUserInfoClaims = client
        .user_info(tokens.access_token().clone(), None)
        .unwrap()
        .request_async(&http)
        .await
        .expect("userinfo");
    Flow {
        params,
        claims: claims(&id_token.to_string()),
        access_token: tokens.access_token().secret().clone(),
        refresh_token: tokens.refresh_token().map(|r| r.secret().clone()),
        userinfo_sub: info.subject().as_str().to_string(),
    }
}

fn two_factor_op() -> Op {
    let op = start_op(|b| b, |_| {});
    op.add_user("alice");
    op
}

fn password_only_op() -> Op {
    let op = start_op(|b| b, |s| s.enabled = false);
    op.add_user("alice");
    op
}

/// Signs alice in once (password only) and returns the code's parameters.
async fn sign_in(op: &Op, b: &mut Browser, extra: &[(&str, &str)]) -> BTreeMap<String, String> {
    let mut app = Authenticator::default();
    b.sign_in(&op.auth_url(CLIENT, extra), "alice", PASSWORD, &mut app)
        .await
        .unwrap_or_else(|p| panic!("sign-in stopped at {} {}", p.status, p.body))
}

async fn id_token_of(op: &Op, code: &str) -> serde_json::Value {
    let r = op.redeem(CLIENT, SECRET, code, &[]).await;
    assert_eq!(r.status(), 200);
    let j: serde_json::Value = r.json().await.unwrap();
    claims(j["id_token"].as_str().unwrap())
}

// 1 oidcc-server (+ 3 idtoken-signature, 38 valid PKCE)
#[tokio::test]
async fn oidcc_server_a_code_flow_with_enrollment_and_totp_verifies_with_openidconnect() {
    let op = two_factor_op();
    let mut b = Browser::new(&op);
    let mut app = Authenticator::default();
    let f = rp_flow(
        &op,
        &mut b,
        &mut app,
        AuthType::BasicAuth,
        vec![CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256],
        &[],
    )
    .await;
    assert!(
        app.key.is_some(),
        "the user enrolled by reading the text key"
    );
    assert_eq!(f.claims["sub"], "alice");
    assert_eq!(f.userinfo_sub, "alice");
    assert_eq!(f.claims["amr"], serde_json::json!(["pwd", "otp", "mfa"]));
    assert_eq!(f.claims["acr"], "urn:twofold:acr:2fa");
    assert!(f.claims["auth_time"].as_i64().unwrap() > 0);
    assert!(f.claims["at_hash"].is_string());
    assert!(f.refresh_token.is_some());
    assert!(!f.params.contains_key("error"));
    let raw: serde_json::Value = raw_client()
        .get(format!("{}/userinfo", op.base))
        .bearer_auth(&f.access_token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(raw["sub"], "alice");
}

// 3 oidcc-idtoken-signature
#[tokio::test]
async fn oidcc_idtoken_signature_defaults_to_rs256_with_a_kid_in_the_jwks() {
    let op = password_only_op();
    let mut b = Browser::new(&op);
    let p = sign_in(&op, &mut b, &[]).await;
    let r = op.redeem(CLIENT, SECRET, &p["code"], &[]).await;
    let j: serde_json::Value = r.json().await.unwrap();
    let t = j["id_token"].as_str().unwrap();
    let header: serde_json::Value = serde_json::from_slice(
        &data_encoding::BASE64URL_NOPAD
            .decode(t.split('.').next().unwrap().as_bytes())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(header["alg"], "RS256");
    let jwks: serde_json::Value = reqwest::get(format!("{}/jwks.json", op.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k["kid"] == header["kid"] && k["kty"] == "RSA")
    );
}

// EdDSA offered
#[tokio::test]
async fn an_eddsa_provider_signs_id_tokens_that_openidconnect_verifies() {
    let op = start_op(
        |b| b.config("http", "id_token_alg = \"EdDSA\""),
        |s| s.enabled = false,
    );
    op.add_user("alice");
    let mut b = Browser::new(&op);
    let mut app = Authenticator::default();
    let f = rp_flow(
        &op,
        &mut b,
        &mut app,
        AuthType::BasicAuth,
        vec![CoreJwsSigningAlgorithm::EdDsa],
        &[],
    )
    .await;
    assert_eq!(f.claims["amr"], serde_json::json!(["pwd"]));
    assert_eq!(f.claims["acr"], "urn:twofold:acr:1fa");
}

// 4 oidcc-idtoken-unsigned
#[tokio::test]
async fn oidcc_idtoken_unsigned_none_is_never_advertised() {
    let op = password_only_op();
    let d: serde_json::Value =
        reqwest::get(format!("{}/.well-known/openid-configuration", op.base))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    let algs = d["id_token_signing_alg_values_supported"]
        .as_array()
        .unwrap();
    assert!(algs.contains(&serde_json::json!("RS256")));
    assert!(!algs.contains(&serde_json::json!("none")));
}

// 2 oidcc-response-type-missing
#[tokio::test]
async fn oidcc_response_type_missing_is_an_error_redirect_with_state() {
    let op = password_only_op();
    let url = op.auth_url(CLIENT, &[]).replace("response_type=code&", "");
    let r = raw_client().get(url).send().await.unwrap();
    assert_eq!(r.status(), 303);
    let q = query_of(r.headers()["location"].to_str().unwrap());
    assert_eq!(q["error"], "invalid_request");
    assert_eq!(q["state"], "st-1");
}

// 5, 6, 7 oidcc-userinfo-get / -post-header / -post-body
#[tokio::test]
async fn oidcc_userinfo_answers_get_post_header_and_post_body() {
    let op = password_only_op();
    let mut b = Browser::new(&op);
    let p = sign_in(&op, &mut b, &[]).await;
    let r = op.redeem(CLIENT, SECRET, &p["code"], &[]).await;
    let at = r.json::<serde_json::Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let url = format!("{}/userinfo", op.base);
    let c = raw_client();
    let get: serde_json::Value = c
        .get(&url)
        .bearer_auth(&at)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let post: serde_json::Value = c
        .post(&url)
        .bearer_auth(&at)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let body = c
        .post(&url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("access_token={at}"))
        .send()
        .await
        .unwrap();
    assert_eq!(body.status(), 200);
    let body: serde_json::Value = body.json().await.unwrap();
    for v in [get, post, body] {
        assert_eq!(v["sub"], "alice");
    }
    let bad = c.get(&url).bearer_auth("nope").send().await.unwrap();
    assert_eq!(bad.status(), 401);
    assert!(
        bad.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer")
    );
}

// 8 oidcc-ensure-request-without-nonce-succeeds-for-code-flow
#[tokio::test]
async fn oidcc_a_code_flow_without_nonce_succeeds_and_the_id_token_has_none() {
    let op = password_only_op();
    let mut b = Browser::new(&op);
    let p = sign_in(&op, &mut b, &[]).await;
    let c = id_token_of(&op, &p["code"]).await;
    assert!(c.get("nonce").is_none());
    let p = sign_in(&op, &mut b, &[("nonce", "ü-\"><&'-nonce")]).await;
    assert_eq!(
        id_token_of(&op, &p["code"]).await["nonce"],
        "ü-\"><&'-nonce"
    );
}

// 9–13 oidcc-scope-profile / -email / -address / -phone / -all
#[tokio::test]
async fn oidcc_scopes_return_their_claims_from_userinfo() {
    let op = password_only_op();
    op.d.store()
        .set_contact(
            "alice",
            Some("+14155550123"),
            Some("alice@example.com"),
            None,
        )
        .unwrap();
    let mut b = Browser::new(&op);
    for (scope, want, absent) in [
        ("openid profile", "preferred_username", "email"),
        ("openid email", "email", "phone_number"),
        ("openid phone", "phone_number", "email"),
        ("openid address", "sub", "email"),
        ("openid profile email phone address", "email", "nothing"),
    ] {
        let p = sign_in(&op, &mut b, &[("scope", scope)]).await;
        let r = op.redeem(CLIENT, SECRET, &p["code"], &[]).await;
        let at = r.json::<serde_json::Value>().await.unwrap()["access_token"]
            .as_str()
            .unwrap()
            .to_string();
        let u: serde_json::Value = raw_client()
            .get(format!("{}/userinfo", op.base))
            .bearer_auth(at)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(u.get(want).is_some(), "{scope}: {u}");
        assert!(u.get(absent).is_none(), "{scope}: {u}");
    }
}

// 14 oidcc-alternate-happy-flow, 15–16 display, 22 unknown parameter, 24–27 hints and locales, 35 claims
#[tokio::test]
async fn oidcc_reordered_parameters_and_harmless_extras_do_not_cause_errors() {
    let op = password_only_op();
    let mut b = Browser::new(&op);
    let reordered = format!(
        "{}/authorize?state=s2&scope=profile%20openid&redirect_uri={}&client_id={CLIENT}&response_type=code",
        op.base, "http%3A%2F%2F127.0.0.1%3A9%2Fcb"
    );
    let mut app = Authenticator::default();
    let p = b
        .sign_in(&reordered, "alice", PASSWORD, &mut app)
        .await
        .unwrap();
    assert!(p.contains_key("code"), "{p:?}");
    for extra in [
        ("display", "page"),
        ("display", "popup"),
        ("extra", "foobar"),
        ("login_hint", "alice"),
        ("ui_locales", "de-CH de en"),
        ("claims_locales", "de en"),
        ("acr_values", "urn:twofold:acr:2fa"),
        ("claims", r#"{"userinfo":{"name":{"essential":true}}}"#),
    ] {
        let p = sign_in(&op, &mut b, &[extra]).await;
        assert!(p.contains_key("code"), "{extra:?}: {p:?}");
    }
}

// 17 oidcc-prompt-login
#[tokio::test]
async fn oidcc_prompt_login_forces_a_new_sign_in_with_a_later_auth_time() {
    let op = password_only_op();
    let mut b = Browser::new(&op);
    let p = sign_in(&op, &mut b, &[]).await;
    let first = id_token_of(&op, &p["code"]).await["auth_time"]
        .as_i64()
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let page = b.get(&op.auth_url(CLIENT, &[("prompt", "login")])).await;
    let page = b.follow(page).await;
    assert!(page.has_form("/signin"), "the password is asked again");
    let mut app = Authenticator::default();
    let p = b
        .sign_in(
            &op.auth_url(CLIENT, &[("prompt", "login")]),
            "alice",
            PASSWORD,
            &mut app,
        )
        .await
        .unwrap();
    let second = id_token_of(&op, &p["code"]).await["auth_time"]
        .as_i64()
        .unwrap();
    assert!(second > first, "{second} > {first}");
}

// 18 oidcc-prompt-none-not-logged-in, 19 oidcc-prompt-none-logged-in, 23 id-token-hint
#[tokio::test]
async fn oidcc_prompt_none_answers_login_required_or_a_silent_code() {
    let op = password_only_op();
    let mut b = Browser::new(&op);
    let r = b.get(&op.auth_url(CLIENT, &[("prompt", "none")])).await;
    assert_eq!(r.status, 303);
    let q = query_of(r.location.as_deref().unwrap());
    assert_eq!(q["error"], "login_required");
    assert_eq!(q["state"], "st-1");
    let p = sign_in(&op, &mut b, &[]).await;
    let tok: serde_json::Value = op
        .redeem(CLIENT, SECRET, &p["code"], &[])
        .await
        .json()
        .await
        .unwrap();
    let first = claims(tok["id_token"].as_str().unwrap());
    let r = b
        .get(&op.auth_url(
            CLIENT,
            &[
                ("prompt", "none"),
                ("id_token_hint", tok["id_token"].as_str().unwrap()),
            ],
        ))
        .await;
    let q = query_of(r.location.as_deref().unwrap());
    let silent = id_token_of(&op, &q["code"]).await;
    assert_eq!(
        silent["auth_time"], first["auth_time"],
        "auth_time unchanged"
    );
}

// 20 oidcc-max-age-1, 21 oidcc-max-age-10000
#[tokio::test]
async fn oidcc_max_age_reauthenticates_when_exceeded_and_always_returns_auth_time() {
    let op = password_only_op();
    let mut b = Browser::new(&op);
    let p = sign_in(&op, &mut b, &[]).await;
    let t0 = id_token_of(&op, &p["code"]).await["auth_time"]
        .as_i64()
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let r = b.get(&op.auth_url(CLIENT, &[("max_age", "1")])).await;
    assert_eq!(
        r.location.as_deref(),
        Some("/signin"),
        "re-authentication asked"
    );
    let p = sign_in(&op, &mut b, &[("max_age", "1")]).await;
    let t1 = id_token_of(&op, &p["code"]).await["auth_time"]
        .as_i64()
        .unwrap();
    assert!(t1 > t0);
    let r = b.get(&op.auth_url(CLIENT, &[("max_age", "10000")])).await;
    let q = query_of(r.location.as_deref().unwrap());
    assert_eq!(
        id_token_of(&op, &q["code"]).await["auth_time"].as_i64(),
        Some(t1)
    );
}

// 28 oidcc-codereuse (+ R-71 revocation)
#[tokio::test]
async fn oidcc_codereuse_is_invalid_grant_and_revokes_the_first_tokens() {
    let op = password_only_op();
    let mut b = Browser::new(&op);
    let p = sign_in(&op, &mut b, &[]).await;
    let first: serde_json::Value = op
        .redeem(CLIENT, SECRET, &p["code"], &[])
        .await
        .json()
        .await
        .unwrap();
    let again = op.redeem(CLIENT, SECRET, &p["code"], &[]).await;
    assert_eq!(again.status(), 400);
    assert_eq!(
        again.json::<serde_json::Value>().await.unwrap()["error"],
        "invalid_grant"
    );
    let u = raw_client()
        .get(format!("{}/userinfo", op.base))
        .bearer_auth(first["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(u.status(), 401, "the first access token was revoked");
    let r = raw_client()
        .post(format!("{}/token", op.base))
        .basic_auth(CLIENT, Some(SECRET))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form_encode(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", first["refresh_token"].as_str().unwrap()),
        ]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400, "the refresh token was revoked too");
}

// 29 oidcc-codereuse-30seconds
#[tokio::test]
async fn oidcc_codereuse_after_30_seconds_is_invalid_grant() {
    let op = password_only_op();
    let mut b = Browser::new(&op);
    let p = sign_in(&op, &mut b, &[]).await;
    assert_eq!(
        op.redeem(CLIENT, SECRET, &p["code"], &[]).await.status(),
        200
    );
    tokio::time::sleep(std::time::Duration::from_secs(30)).await;
    let again = op.redeem(CLIENT, SECRET, &p["code"], &[]).await;
    assert_eq!(
        again.json::<serde_json::Value>().await.unwrap()["error"],
        "invalid_grant"
    );
}

// 30 oidcc-ensure-registered-redirect-uri
#[tokio::test]
async fn oidcc_an_unregistered_redirect_uri_gets_an_error_page_and_no_redirect() {
    let op = password_only_op();
    let r = raw_client()
        .get(op.auth_url(CLIENT, &[("redirect_uri", "http://127.0.0.1:9/evil")]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.headers().get("location").is_none());
    assert!(r.text().await.unwrap().contains("not registered"));
}

// 31 oidcc-ensure-post-request-succeeds
#[tokio::test]
async fn oidcc_an_authorization_request_by_post_succeeds() {
    let op = password_only_op();
    let mut b = Browser::new(&op);
    sign_in(&op, &mut b, &[]).await;
    let url = op.auth_url(CLIENT, &[]);
    let (_, q) = url.split_once('?').unwrap();
    let p: Vec<(String, String)> = query_of(&url).into_iter().collect();
    let fields: Vec<(&str, &str)> = p.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert!(!q.is_empty());
    let r = b.post("/authorize", &fields).await;
    assert_eq!(r.status, 303);
    assert!(query_of(r.location.as_deref().unwrap()).contains_key("code"));
}

// 32 oidcc-server-client-secret-post
#[tokio::test]
async fn oidcc_server_client_secret_post_flow_verifies_with_openidconnect() {
    let op = password_only_op();
    let mut b = Browser::new(&op);
    let mut app = Authenticator::default();
    let f = rp_flow(
        &op,
        &mut b,
        &mut app,
        AuthType::RequestBody,
        vec![CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256],
        &[],
    )
    .await;
    assert_eq!(f.claims["aud"], serde_json::json!([CLIENT]));
}

#[tokio::test]
async fn a_web_sign_in_that_needs_no_second_factor_is_recorded_with_the_code_it_grants() {
    let op = password_only_op();
    let mut b = Browser::new(&op);
    let got = sign_in(&op, &mut b, &[]).await;
    assert!(got.contains_key("code"), "{got:?}");
    let store = op.d.store();
    let seen = store.recent_signins("alice", 10).unwrap();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].outcome, "allow");
    assert!(
        seen[0].reason.contains("master toggle is off"),
        "{}",
        seen[0].reason
    );
    let decisions = store
        .query_audit(&twofold_core::store::AuditFilter {
            user: Some("alice".into()),
            event_prefix: Some("auth.decision".into()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(decisions.len(), 1, "{decisions:?}");
    assert_eq!(decisions[0].outcome, "ok");
}

// 33, 34 request_uri / request objects
#[tokio::test]
async fn oidcc_request_and_request_uri_are_rejected_as_unsupported_without_fetching() {
    let op = password_only_op();
    let trap = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    trap.set_nonblocking(true).unwrap();
    let trap_url = format!("http://{}/req.jwt", trap.local_addr().unwrap());
    for (k, v, want) in [
        (
            "request_uri",
            trap_url.as_str(),
            "request_uri_not_supported",
        ),
        (
            "request",
            "eyJhbGciOiJub25lIn0.e30.",
            "request_not_supported",
        ),
    ] {
        let r = raw_client()
            .get(op.auth_url(CLIENT, &[(k, v)]))
            .send()
            .await
            .unwrap();
        let q = query_of(r.headers()["location"].to_str().unwrap());
        assert_eq!(q["error"], want);
    }
    assert!(
        trap.accept().is_err(),
        "the provider never fetched request_uri"
    );
}

// 37 oidcc-refresh-token
#[tokio::test]
async fn oidcc_refresh_tokens_rotate_are_bound_to_the_client_and_reuse_revokes_the_grant() {
    let op = password_only_op();
    let mut b = Browser::new(&op);
    let p = sign_in(&op, &mut b, &[]).await;
    let t: serde_json::Value = op
        .redeem(CLIENT, SECRET, &p["code"], &[])
        .await
        .json()
        .await
        .unwrap();
    let rt1 = t["refresh_token"].as_str().unwrap().to_string();
    let refresh = |client: &'static str, secret: &'static str, rt: String| {
        let base = op.base.clone();
        async move {
            raw_client()
                .post(format!("{base}/token"))
                .basic_auth(client, Some(secret))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(form_encode(&[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", &rt),
                ]))
                .send()
                .await
                .unwrap()
        }
    };
    let other = refresh(OTHER, OTHER_SECRET, rt1.clone()).await;
    assert_eq!(other.status(), 400, "another client cannot use it");
    let r2 = refresh(CLIENT, SECRET, rt1.clone()).await;
    assert_eq!(r2.status(), 200);
    let j: serde_json::Value = r2.json().await.unwrap();
    let rt2 = j["refresh_token"].as_str().unwrap().to_string();
    assert_ne!(rt1, rt2);
    assert_eq!(claims(j["id_token"].as_str().unwrap())["sub"], "alice");
    let reuse = refresh(CLIENT, SECRET, rt1).await;
    assert_eq!(
        reuse.json::<serde_json::Value>().await.unwrap()["error"],
        "invalid_grant"
    );
    let after = refresh(CLIENT, SECRET, rt2).await;
    assert_eq!(after.status(), 400, "reuse revoked the whole grant");
}

// Config OP: oidcc-discovery-endpoint-verification
#[tokio::test]
async fn the_discovery_document_matches_its_issuer_and_lists_s256() {
    let op = password_only_op();
    let r = reqwest::get(format!("{}/.well-known/openid-configuration", op.base))
        .await
        .unwrap();
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let d: serde_json::Value = r.json().await.unwrap();
    assert_eq!(d["issuer"], op.base);
    for k in [
        "authorization_endpoint",
        "token_endpoint",
        "userinfo_endpoint",
        "jwks_uri",
        "end_session_endpoint",
    ] {
        assert!(d[k].as_str().unwrap().starts_with(&op.base), "{k}");
    }
    assert!(
        d["scopes_supported"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!("openid"))
    );
    assert_eq!(
        d["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    assert_eq!(d["response_types_supported"], serde_json::json!(["code"]));
    // The Host header changes nothing (B.5).
    let evil: serde_json::Value = raw_client()
        .get(format!("{}/.well-known/openid-configuration", op.base))
        .header("host", "evil.example")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(evil["issuer"], op.base);
}

// RP-initiated logout
#[tokio::test]
async fn rp_initiated_logout_with_a_valid_hint_ends_the_session_and_redirects_with_state() {
    let op = password_only_op();
    let mut b = Browser::new(&op);
    let p = sign_in(&op, &mut b, &[]).await;
    let t: serde_json::Value = op
        .redeem(CLIENT, SECRET, &p["code"], &[])
        .await
        .json()
        .await
        .unwrap();
    let old_cookies = b.cookies.clone();
    let url = format!(
        "{}/logout?{}",
        op.base,
        form_encode(&[
            ("id_token_hint", t["id_token"].as_str().unwrap()),
            ("post_logout_redirect_uri", BYE),
            ("state", "bye-1")
        ])
    );
    let r = b.get(&url).await;
    assert_eq!(r.status, 303);
    assert_eq!(r.location.as_deref(), Some(&*format!("{BYE}?state=bye-1")));
    // The old cookie is worthless now (R-54).
    b.cookies = old_cookies;
    let r = b.get(&op.auth_url(CLIENT, &[("prompt", "none")])).await;
    assert_eq!(
        query_of(r.location.as_deref().unwrap())["error"],
        "login_required"
    );
    // An unregistered post-logout URI is never followed.
    let r = b
        .get(&format!(
            "{}/logout?{}",
            op.base,
            form_encode(&[
                ("client_id", CLIENT),
                ("post_logout_redirect_uri", "https://evil.example/")
            ])
        ))
        .await;
    assert_eq!(r.status, 400);
    assert!(r.location.is_none());
}
