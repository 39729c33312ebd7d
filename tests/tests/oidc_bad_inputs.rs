//! Bad inputs of Part B.3–B.6 against a real `twofoldd`, by raw HTTP (what an RP library will
//! not send): each gets the specified error and changes no state.

mod common;
mod oidc_support;

use oidc_support::*;
use twofold_core::store::Store;
use twofold_core::store::oidc::{OidcClient, OidcStore};
use twofoldd::http::first_factor::hash_password;

fn op() -> Op {
    let op = start_op(|b| b, |s| s.enabled = false);
    op.add_user("alice");
    op
}

async fn code(op: &Op, b: &mut Browser, extra: &[(&str, &str)]) -> String {
    let mut app = Authenticator::default();
    let p = b
        .sign_in(&op.auth_url(CLIENT, extra), "alice", PASSWORD, &mut app)
        .await
        .unwrap_or_else(|p| panic!("{} {}", p.status, p.body));
    p["code"].clone()
}

async fn error_of(r: reqwest::Response) -> (u16, String) {
    let s = r.status().as_u16();
    let j: serde_json::Value = r.json().await.unwrap_or_default();
    (s, j["error"].as_str().unwrap_or_default().to_string())
}

async fn token_raw(
    op: &Op,
    basic: Option<(&str, &str)>,
    ctype: &str,
    body: String,
) -> reqwest::Response {
    let mut r = raw_client()
        .post(format!("{}/token", op.base))
        .header("content-type", ctype)
        .body(body);
    if let Some((u, p)) = basic {
        r = r.basic_auth(u, Some(p));
    }
    r.send().await.unwrap()
}

// B.3: redirect URI variants are never followed.
#[tokio::test]
async fn every_redirect_uri_variant_gets_an_error_page_and_no_redirect() {
    let op = op();
    for bad in [
        "http://127.0.0.1:9/cb/",
        "http://127.0.0.1:9/CB",
        "http://127.0.0.1:9/cb?x=1",
        "http://127.0.0.1:9/cb#x",
        "http://127.0.0.1:9/%63b",
        "https://127.0.0.1:9/cb",
        "http://127.0.0.1:10/cb",
        "http://127.0.0.1:9.evil.com/cb",
        "https://evil.com/?http://127.0.0.1:9/cb",
        "http://127.0.0.1:9@evil.com/cb",
        "javascript:alert(1)",
        "data:text/html,x",
        "http://127.0.0.1:9/cb/../evil",
    ] {
        let r = raw_client()
            .get(op.auth_url(CLIENT, &[("redirect_uri", bad)]))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{bad}");
        assert!(r.headers().get("location").is_none(), "{bad}");
        let body = r.text().await.unwrap();
        assert!(!body.contains("<script"), "{bad}");
    }
    let r = raw_client()
        .get(op.auth_url("nobody", &[]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.headers().get("location").is_none());
}

// B.3: response types, scopes, PKCE, prompt, max_age, duplicates.
#[tokio::test]
async fn bad_authorization_parameters_are_redirected_errors_with_state() {
    let op = op();
    let long = "a".repeat(129);
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (
            vec![("response_type", "token")],
            "unsupported_response_type",
        ),
        (
            vec![("response_type", "id_token token")],
            "unsupported_response_type",
        ),
        (
            vec![("response_type", "code token")],
            "unsupported_response_type",
        ),
        (vec![("scope", "profile")], "invalid_scope"),
        (vec![("scope", "")], "invalid_scope"),
        (vec![("scope", "openid bogus")], "invalid_scope"),
        (
            vec![
                (
                    "code_challenge",
                    "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
                ),
                ("code_challenge_method", "plain"),
            ],
            "invalid_request",
        ),
        (
            vec![
                (
                    "code_challenge",
                    "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
                ),
                ("code_challenge_method", "s256"),
            ],
            "invalid_request",
        ),
        (
            vec![
                (
                    "code_challenge",
                    "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-c",
                ),
                ("code_challenge_method", "S256"),
            ],
            "invalid_request",
        ),
        (
            vec![("code_challenge", &long), ("code_challenge_method", "S256")],
            "invalid_request",
        ),
        (
            vec![
                (
                    "code_challenge",
                    "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw+c/",
                ),
                ("code_challenge_method", "S256"),
            ],
            "invalid_request",
        ),
        (vec![("prompt", "none login")], "invalid_request"),
        (vec![("prompt", "bogus")], "invalid_request"),
        (vec![("max_age", "-1")], "invalid_request"),
        (vec![("max_age", "abc")], "invalid_request"),
        (vec![("response_mode", "fragment")], "invalid_request"),
        (
            vec![("id_token_hint", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJhbGljZSJ9.")],
            "invalid_request",
        ),
    ];
    for (extra, want) in cases {
        let r = raw_client()
            .get(op.auth_url(CLIENT, &extra))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303, "{extra:?}");
        let q = query_of(r.headers()["location"].to_str().unwrap());
        assert_eq!(
            q.get("error").map(String::as_str),
            Some(want),
            "{extra:?}: {q:?}"
        );
        assert_eq!(q["state"], "st-1", "{extra:?}");
        assert!(!q.contains_key("code"), "{extra:?}");
    }
    // A public client must use PKCE.
    let r = raw_client()
        .get(op.auth_url(PUBLIC, &[]))
        .send()
        .await
        .unwrap();
    assert_eq!(
        query_of(r.headers()["location"].to_str().unwrap())["error"],
        "invalid_request"
    );
    // Duplicates: of client_id → a page; of anything else → invalid_request to the client.
    let base = op.auth_url(CLIENT, &[]);
    let r = raw_client()
        .get(format!("{base}&client_id=other"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.headers().get("location").is_none());
    let r = raw_client()
        .get(format!("{base}&scope=openid"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        query_of(r.headers()["location"].to_str().unwrap())["error"],
        "invalid_request"
    );
}

// B.3: id_token_hint forgeries.
#[tokio::test]
async fn forged_id_token_hints_are_refused() {
    let op = op();
    let mut b = Browser::new(&op);
    let c = code(&op, &mut b, &[]).await;
    let t: serde_json::Value = op
        .redeem(CLIENT, SECRET, &c, &[])
        .await
        .json()
        .await
        .unwrap();
    let real = t["id_token"].as_str().unwrap().to_string();
    let parts: Vec<&str> = real.split('.').collect();
    let b64 = data_encoding::BASE64URL_NOPAD;
    let header: serde_json::Value =
        serde_json::from_slice(&b64.decode(parts[0].as_bytes()).unwrap()).unwrap();
    let forge = |h: serde_json::Value, sig: &str| {
        format!(
            "{}.{}.{sig}",
            b64.encode(h.to_string().as_bytes()),
            parts[1]
        )
    };
    let hs256 = forge(
        serde_json::json!({"alg": "HS256", "kid": header["kid"]}),
        parts[2],
    );
    let foreign = forge(
        serde_json::json!({"alg": "RS256", "kid": "someone-else"}),
        parts[2],
    );
    let jku = forge(
        serde_json::json!({"alg": "RS256", "jku": "http://127.0.0.1:9/keys", "kid": "x"}),
        parts[2],
    );
    let none = forge(serde_json::json!({"alg": "none"}), "");
    let mut flipped = real.clone();
    flipped.pop();
    flipped.push(if real.ends_with('A') { 'B' } else { 'A' });
    for hint in [hs256, foreign, jku, none, flipped] {
        let r = b
            .get(&op.auth_url(CLIENT, &[("prompt", "none"), ("id_token_hint", &hint)]))
            .await;
        let q = query_of(r.location.as_deref().unwrap());
        assert_eq!(q["error"], "invalid_request", "{hint}");
        assert!(!q.contains_key("code"));
    }
}

// B.3: state is echoed encoded, never rendered.
#[tokio::test]
async fn a_long_or_hostile_state_is_echoed_exactly_and_encoded() {
    let op = op();
    let mut b = Browser::new(&op);
    code(&op, &mut b, &[]).await;
    for state in [
        "\"><script>alert(1)</script>".to_string(),
        "s".repeat(10 * 1024),
    ] {
        let r = b.get(&op.auth_url(CLIENT, &[("state", &state)])).await;
        let loc = r.location.unwrap();
        assert!(!loc.contains('<') && !loc.contains('"'));
        assert_eq!(query_of(&loc)["state"], state);
    }
}

// B.3: a POST whose query and body disagree is refused.
#[tokio::test]
async fn a_post_authorization_request_with_a_query_string_is_refused() {
    let op = op();
    let url = op.auth_url(CLIENT, &[]);
    let r = raw_client()
        .post(&url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("client_id=other")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.headers().get("location").is_none());
}

// B.4 / R-72: concurrent redemption of one code.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_redemptions_of_one_code_give_exactly_one_token_response() {
    let op = op();
    let mut b = Browser::new(&op);
    let c = code(&op, &mut b, &[]).await;
    // Prime the secret cache so that every request races on the code, not on argon2.
    let _ = op.redeem(CLIENT, SECRET, "not-a-code", &[]).await;
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(50));
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let (base, c, bar) = (op.base.clone(), c.clone(), barrier.clone());
        tasks.push(tokio::spawn(async move {
            let body = form_encode(&[
                ("grant_type", "authorization_code"),
                ("code", &c),
                ("redirect_uri", REDIRECT),
            ]);
            let req = raw_client()
                .post(format!("{base}/token"))
                .basic_auth(CLIENT, Some(SECRET))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body);
            bar.wait().await;
            let r = req.send().await.unwrap();
            let s = r.status().as_u16();
            let j: serde_json::Value = r.json().await.unwrap_or_default();
            (s, j["error"].as_str().unwrap_or_default().to_string())
        }));
    }
    let mut ok = 0;
    for t in tasks {
        match t.await.unwrap() {
            (200, _) => ok += 1,
            (400, e) => assert_eq!(e, "invalid_grant"),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(ok, 1);
}

// B.4: PKCE failures at the token endpoint.
#[tokio::test]
async fn bad_code_verifiers_are_invalid_grant_and_the_code_is_spent() {
    let op = op();
    let mut b = Browser::new(&op);
    let (v, ch) = pkce();
    let with = [
        ("code_challenge", ch.as_str()),
        ("code_challenge_method", "S256"),
    ];
    let short = "a".repeat(42);
    let long = "a".repeat(129);
    let odd = format!("{}!", "a".repeat(43));
    let wrong = v.replace('v', "w");
    for verifier in [
        Some(wrong.as_str()),
        None,
        Some(short.as_str()),
        Some(long.as_str()),
        Some(odd.as_str()),
    ] {
        let c = code(&op, &mut b, &with).await;
        let extra: Vec<(&str, &str)> = verifier
            .map(|x| vec![("code_verifier", x)])
            .unwrap_or_default();
        let (s, e) = error_of(op.redeem(CLIENT, SECRET, &c, &extra).await).await;
        assert_eq!((s, e.as_str()), (400, "invalid_grant"), "{verifier:?}");
        // The right verifier afterwards does not revive the code.
        let (s, _) = error_of(
            op.redeem(CLIENT, SECRET, &c, &[("code_verifier", &v)])
                .await,
        )
        .await;
        assert_eq!(s, 400);
    }
    // A verifier without a challenge (downgrade).
    let c = code(&op, &mut b, &[]).await;
    let (s, e) = error_of(
        op.redeem(CLIENT, SECRET, &c, &[("code_verifier", &v)])
            .await,
    )
    .await;
    assert_eq!((s, e.as_str()), (400, "invalid_grant"));
    // The right one works.
    let c = code(&op, &mut b, &with).await;
    assert_eq!(
        op.redeem(CLIENT, SECRET, &c, &[("code_verifier", &v)])
            .await
            .status(),
        200
    );
}

// B.4: redirect URI and client mismatches.
#[tokio::test]
async fn a_code_with_another_redirect_uri_or_client_is_invalid_grant_and_burned() {
    let op = op();
    let mut b = Browser::new(&op);
    let c = code(&op, &mut b, &[]).await;
    let r = token_raw(
        &op,
        Some((CLIENT, SECRET)),
        "application/x-www-form-urlencoded",
        form_encode(&[
            ("grant_type", "authorization_code"),
            ("code", &c),
            ("redirect_uri", "http://127.0.0.1:9/cb/"),
        ]),
    )
    .await;
    assert_eq!(error_of(r).await, (400, "invalid_grant".into()));
    assert_eq!(
        op.redeem(CLIENT, SECRET, &c, &[]).await.status(),
        400,
        "burned"
    );
    let c = code(&op, &mut b, &[]).await;
    assert_eq!(
        error_of(op.redeem(OTHER, OTHER_SECRET, &c, &[]).await).await,
        (400, "invalid_grant".into())
    );
    assert_eq!(
        op.redeem(CLIENT, SECRET, &c, &[]).await.status(),
        400,
        "burned"
    );
}

// B.4: client authentication and request format.
#[tokio::test]
async fn bad_client_authentication_and_grant_types_get_the_specified_errors() {
    let op = op();
    let mut b = Browser::new(&op);
    let form = "application/x-www-form-urlencoded";
    let c = code(&op, &mut b, &[]).await;
    let body = form_encode(&[
        ("grant_type", "authorization_code"),
        ("code", &c),
        ("redirect_uri", REDIRECT),
    ]);
    let r = token_raw(&op, Some((CLIENT, "wrong")), form, body.clone()).await;
    assert_eq!(r.status(), 401);
    assert!(
        r.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Basic")
    );
    assert_eq!(error_of(r).await.1, "invalid_client");
    for header in ["Basic !!!notbase64", "Basic YXBw", "Bearer x"] {
        let r = raw_client()
            .post(format!("{}/token", op.base))
            .header("content-type", form)
            .header("authorization", header)
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "{header}");
    }
    let both = format!("{body}&client_secret={SECRET}");
    assert_eq!(
        error_of(token_raw(&op, Some((CLIENT, SECRET)), form, both).await).await,
        (400, "invalid_request".into())
    );
    let mismatch = format!("{body}&client_id={OTHER}");
    assert_eq!(
        error_of(token_raw(&op, Some((CLIENT, SECRET)), form, mismatch).await).await,
        (400, "invalid_request".into())
    );
    let json = token_raw(
        &op,
        Some((CLIENT, SECRET)),
        "application/json",
        "{\"grant_type\":\"authorization_code\"}".into(),
    )
    .await;
    assert_eq!(json.status(), 400);
    let dup = format!("{body}&code=again");
    assert_eq!(
        error_of(token_raw(&op, Some((CLIENT, SECRET)), form, dup).await).await,
        (400, "invalid_request".into())
    );
    for g in [
        "password",
        "client_credentials",
        "urn:ietf:params:oauth:grant-type:device_code",
    ] {
        let r = token_raw(
            &op,
            Some((CLIENT, SECRET)),
            form,
            form_encode(&[
                ("grant_type", g),
                ("username", "alice"),
                ("password", PASSWORD),
            ]),
        )
        .await;
        assert_eq!(
            error_of(r).await,
            (400, "unsupported_grant_type".into()),
            "{g}"
        );
    }
    // None of this spent the code: it still redeems once.
    let ok = op.redeem(CLIENT, SECRET, &c, &[]).await;
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.headers()["cache-control"], "no-store");
}

// B.5: size limits and encodings.
#[tokio::test]
async fn oversized_bodies_and_headers_and_invalid_utf8_are_refused() {
    let op = op();
    let big = vec![b'a'; 10 * 1024 * 1024];
    for path in ["/token", "/signin", "/signin/code"] {
        let r = raw_client()
            .post(format!("{}{path}", op.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(big.clone())
            .send()
            .await;
        if let Ok(r) = r {
            assert_eq!(r.status(), 413, "{path}");
        }
    }
    let r = raw_client()
        .get(format!("{}/.well-known/openid-configuration", op.base))
        .header("x-big", "h".repeat(100 * 1024))
        .send()
        .await;
    if let Ok(r) = r {
        assert_eq!(r.status(), 431);
    }
    let mut many = raw_client().get(format!("{}/.well-known/openid-configuration", op.base));
    for i in 0..500 {
        many = many.header(format!("x-h{i}"), "1");
    }
    if let Ok(r) = many.send().await {
        assert_eq!(r.status(), 431);
    }
    let r = token_raw(
        &op,
        Some((CLIENT, SECRET)),
        "application/x-www-form-urlencoded",
        "grant_type=%ff%fe".into(),
    )
    .await;
    assert_eq!(error_of(r).await, (400, "invalid_request".into()));
}

// B.5: X-Forwarded-For from an untrusted peer does not evade the throttle.
#[tokio::test]
async fn the_sign_in_throttle_uses_the_socket_address_not_x_forwarded_for() {
    let op = start_op(
        |b| b.config("http", "signin_per_minute = 3"),
        |s| s.enabled = false,
    );
    op.add_user("alice");
    let mut statuses = Vec::new();
    for i in 0..5 {
        let r = raw_client()
            .post(format!("{}/signin", op.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("x-forwarded-for", format!("10.0.0.{i}"))
            .body("username=alice&password=x")
            .send()
            .await
            .unwrap();
        statuses.push(r.status().as_u16());
        if r.status() == 429 {
            assert!(r.headers().get("retry-after").is_some());
        }
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 429).count(),
        2,
        "{statuses:?}"
    );
}

// B.6: CSRF and origin checks on the sign-in form; nothing changes.
#[tokio::test]
async fn sign_in_posts_without_the_sessions_own_token_or_from_another_origin_are_refused() {
    let op = op();
    let mut a = Browser::new(&op);
    let page = a.get(&op.auth_url(CLIENT, &[])).await;
    let page = a.follow(page).await;
    let flow = page.field("flow").unwrap();
    let csrf_a = page.field("csrf").unwrap();
    let mut other = Browser::new(&op);
    let p2 = other.get(&op.auth_url(CLIENT, &[])).await;
    let p2 = other.follow(p2).await;
    let csrf_b = p2.field("csrf").unwrap();
    let creds = [("username", "alice"), ("password", PASSWORD)];
    for csrf in ["", "forged", csrf_b.as_str()] {
        let mut f = vec![("csrf", csrf), ("flow", flow.as_str())];
        f.extend_from_slice(&creds);
        let r = a.post("/signin", &f).await;
        assert_eq!(r.status, 403, "csrf {csrf:?}");
    }
    let cross = raw_client()
        .post(format!("{}/signin", op.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("origin", "https://evil.example")
        .header(
            "cookie",
            a.cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; "),
        )
        .body(form_encode(&[
            ("csrf", &csrf_a),
            ("flow", &flow),
            ("username", "alice"),
            ("password", PASSWORD),
        ]))
        .send()
        .await
        .unwrap();
    assert_eq!(cross.status(), 403);
    let store = op.d.store();
    assert!(
        store.recent_signins("alice", 10).unwrap().is_empty(),
        "no sign-in happened"
    );
    // A top-level GET to a state-changing endpoint does nothing.
    assert_eq!(a.get("/signin/code").await.status / 100, 3);
    assert_eq!(
        raw_client()
            .get(format!("{}/profile/backup-codes", op.base))
            .send()
            .await
            .unwrap()
            .status(),
        405
    );
    // The genuine form still works afterwards.
    let mut f = vec![("csrf", csrf_a.as_str()), ("flow", flow.as_str())];
    f.extend_from_slice(&creds);
    let r = a.post("/signin", &f).await;
    assert_eq!(r.status, 303);
    assert!(query_of(r.location.as_deref().unwrap()).contains_key("code"));
}

// B.6 / R-51: session fixation.
#[tokio::test]
async fn the_session_cookie_changes_at_sign_in_and_the_old_one_is_worthless() {
    let op = op();
    let mut b = Browser::new(&op);
    let page = b.get(&op.auth_url(CLIENT, &[])).await;
    let before = b
        .cookies
        .get("twofold_session")
        .cloned()
        .expect("a pre-login cookie");
    let set = page.headers.get("set-cookie").unwrap();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Lax") && set.contains("Path=/"),
        "{set}"
    );
    let page = b.follow(page).await;
    let r = b
        .submit(
            &page,
            "/signin",
            &[("username", "alice"), ("password", PASSWORD)],
        )
        .await;
    assert!(query_of(r.location.as_deref().unwrap()).contains_key("code"));
    let after = b.cookies.get("twofold_session").cloned().unwrap();
    assert_ne!(before, after);
    b.cookies.insert("twofold_session".into(), before);
    let r = b.get(&op.auth_url(CLIENT, &[("prompt", "none")])).await;
    assert_eq!(
        query_of(r.location.as_deref().unwrap())["error"],
        "login_required"
    );
}

// headers of the pages.
#[tokio::test]
async fn pages_carry_csp_frame_ancestors_none_and_no_store() {
    let op = op();
    let mut b = Browser::new(&op);
    let p = b.get(&op.auth_url(CLIENT, &[])).await;
    let p = b.follow(p).await;
    assert_eq!(p.status, 200);
    let csp = &p.headers["content-security-policy"];
    assert!(
        csp.contains("frame-ancestors 'none'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert_eq!(p.headers["x-frame-options"], "DENY");
    assert_eq!(p.headers["x-content-type-options"], "nosniff");
    assert_eq!(p.headers["referrer-policy"], "no-referrer");
    assert_eq!(p.headers["cache-control"], "no-store");
    assert!(!p.body.contains("<script"));
}

// unknown user and wrong password look the same.
#[tokio::test]
async fn an_unknown_user_and_a_wrong_password_get_the_same_answer() {
    let op = op();
    let mut texts = Vec::new();
    for (user, pw) in [
        ("alice", "wrong"),
        ("nobody", "wrong"),
        ("<script>alert(1)</script>", "x"),
        ("' OR '1'='1", "x"),
    ] {
        let mut b = Browser::new(&op);
        let p = b.get(&op.auth_url(CLIENT, &[])).await;
        let p = b.follow(p).await;
        let r = b
            .submit(&p, "/signin", &[("username", user), ("password", pw)])
            .await;
        assert_eq!(r.status, 200, "{user}");
        assert!(!r.body.contains("<script>alert"), "{user}");
        texts.push(r.text_of("notice").unwrap());
    }
    assert!(texts.iter().all(|t| *t == texts[0]), "{texts:?}");
}

// RFC 7591 grant_types: a client registered without the refresh grant.
#[tokio::test]
async fn a_client_without_the_refresh_grant_gets_no_refresh_token_and_may_not_refresh() {
    const WEB_SECRET: &str = "web-secret-0123456789abcdef0123456789abcdef";
    let op = op();
    let form = "application/x-www-form-urlencoded";
    op.d.store()
        .put_client(&OidcClient {
            client_id: "web".into(),
            name: "Web".into(),
            secret_hash: Some(hash_password(WEB_SECRET, &[4u8; 16]).unwrap()),
            redirect_uris: vec![REDIRECT.into()],
            post_logout_redirect_uris: vec![],
            grant_types: vec!["authorization_code".into()],
            created_at: 1,
        })
        .unwrap();
    let mut b = Browser::new(&op);
    let web = b
        .sign_in(
            &op.auth_url("web", &[]),
            "alice",
            PASSWORD,
            &mut Authenticator::default(),
        )
        .await
        .unwrap_or_else(|p| panic!("{} {}", p.status, p.body));
    let r = op.redeem("web", WEB_SECRET, &web["code"], &[]).await;
    assert_eq!(r.status(), 200);
    let t: serde_json::Value = r.json().await.unwrap();
    assert!(
        t["access_token"].is_string() && t["id_token"].is_string(),
        "{t}"
    );
    assert!(t.get("refresh_token").is_none(), "{t}");
    // A client with both grants (the default) still gets one.
    let c = code(&op, &mut b, &[]).await;
    let t: serde_json::Value = op
        .redeem(CLIENT, SECRET, &c, &[])
        .await
        .json()
        .await
        .unwrap();
    let rt = t["refresh_token"]
        .as_str()
        .expect("app's refresh token")
        .to_string();
    let refresh_rows = |client: &str| -> i64 {
        let db = rusqlite::Connection::open(op.d.sqlite_path()).unwrap();
        db.query_row(
            "SELECT count(*) FROM oidc_refresh_tokens WHERE client_id = ?1",
            [client],
            |r| r.get(0),
        )
        .unwrap()
    };
    assert_eq!((refresh_rows("web"), refresh_rows(CLIENT)), (0, 1));
    // The refresh grant from `web` is unauthorized_client whatever the token, and changes nothing.
    for token in [rt.as_str(), "made-up"] {
        let body = form_encode(&[("grant_type", "refresh_token"), ("refresh_token", token)]);
        let r = token_raw(&op, Some(("web", WEB_SECRET)), form, body).await;
        assert_eq!(
            error_of(r).await,
            (400, "unauthorized_client".into()),
            "{token}"
        );
    }
    let body = form_encode(&[("grant_type", "refresh_token"), ("refresh_token", &rt)]);
    let r = token_raw(&op, Some((CLIENT, SECRET)), form, body).await;
    assert_eq!(r.status(), 200, "app's refresh token was left alone");
    assert_eq!((refresh_rows("web"), refresh_rows(CLIENT)), (0, 2));
}

#[test]
fn a_config_file_client_with_an_unknown_grant_type_fails_to_load_with_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let check = |grant_types: &str| {
        let path = dir.path().join("twofoldd.toml");
        let text = format!(
            "version = 1\nstate_dir = {:?}\n[http]\nlisten = \"127.0.0.1:0\"\n[[http.clients]]\n\
             client_id = \"web\"\nredirect_uris = [\"{REDIRECT}\"]\ngrant_types = {grant_types}\n",
            dir.path()
        );
        std::fs::write(&path, text).unwrap();
        std::process::Command::new(common::artifacts::twofoldd())
            .args(["--check", "--config"])
            .arg(&path)
            .output()
            .unwrap()
    };
    let ok = check("[\"authorization_code\"]");
    assert!(ok.status.success(), "{ok:?}");
    let bad = check("[\"authorization_code\", \"client_credentials\"]");
    assert_eq!(bad.status.code(), Some(1), "{bad:?}");
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(
        err.contains("http.clients \"web\": grant_types")
            && err.contains("grant type \"client_credentials\" is not supported"),
        "{err}"
    );
}
