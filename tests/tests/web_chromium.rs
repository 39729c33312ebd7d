//! Headless Chromium drives the real pages of `twofoldd` through chromedriver (W3C WebDriver
//! over HTTP): a new user enrolls by reading the text key from the page, signs in with
//! password + TOTP, is locked out after `max_invalid_attempts` wrong codes and signs in again
//! in a fresh sign-in; under `unrecognized_devices`, "remember this device" skips the prompt on
//! the next sign-in.
//!
//! Needs the Debian packages `chromium` and `chromium-driver`.

mod common;
mod oidc_support;

use common::totp;
use oidc_support::*;
use serde_json::{Value, json};
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use twofold_core::settings::Enforcement;

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A chromedriver process with one headless Chromium session on a fresh profile.
struct Driver {
    child: Child,
    base: String,
    session: String,
    http: reqwest::Client,
    _profile: tempfile::TempDir,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Driver {
    async fn start() -> Driver {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting chromedriver (apt-get install chromium chromium-driver)");
        let base = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        for _ in 0..100 {
            if let Ok(r) = http.get(format!("{base}/status")).send().await
                && r.status().is_success()
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let profile = tempfile::tempdir().unwrap();
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "args": ["--headless", "--no-sandbox", "--disable-gpu",
                         "--disable-background-networking", "--disable-component-update",
                         "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
                         format!("--user-data-dir={}", profile.path().display())]
            }
        }}});
        let r: Value = http
            .post(format!("{base}/session"))
            .json(&caps)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let session = r["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {r}"))
            .to_string();
        let d = Driver {
            child,
            base,
            session,
            http,
            _profile: profile,
        };
        // Element lookups wait for the page that a click or a form submission is loading.
        d.cmd(
            reqwest::Method::POST,
            "/timeouts",
            Some(json!({"implicit": 5000, "pageLoad": 20000})),
        )
        .await;
        d
    }

    async fn cmd(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}/session/{}{path}", self.base, self.session);
        let mut r = self.http.request(method, url);
        if let Some(b) = body {
            r = r.json(&b);
        }
        let v: Value = r.send().await.unwrap().json().await.unwrap();
        v["value"].clone()
    }

    async fn goto(&self, url: &str) {
        self.cmd(reqwest::Method::POST, "/url", Some(json!({"url": url})))
            .await;
    }

    async fn url(&self) -> String {
        self.cmd(reqwest::Method::GET, "/url", None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    async fn find(&self, css: &str) -> Option<String> {
        let v = self
            .cmd(
                reqwest::Method::POST,
                "/element",
                Some(json!({"using": "css selector", "value": css})),
            )
            .await;
        v[ELEMENT].as_str().map(str::to_string)
    }

    async fn must(&self, css: &str) -> String {
        match self.find(css).await {
            Some(e) => e,
            None => panic!("no {css} on {}:\n{}", self.url().await, self.source().await),
        }
    }

    async fn text(&self, css: &str) -> String {
        let e = self.must(css).await;
        self.cmd(reqwest::Method::GET, &format!("/element/{e}/text"), None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Waits (up to 5 s) until the element's text satisfies `ok`; returns the last text.
    async fn text_until(&self, css: &str, ok: impl Fn(&str) -> bool) -> String {
        let mut last = String::new();
        for _ in 0..50 {
            if self.find(css).await.is_some() {
                last = self.text(css).await;
                if ok(&last) {
                    break;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        last
    }

    async fn type_into(&self, css: &str, text: &str) {
        let e = self.must(css).await;
        self.cmd(
            reqwest::Method::POST,
            &format!("/element/{e}/clear"),
            Some(json!({})),
        )
        .await;
        self.cmd(
            reqwest::Method::POST,
            &format!("/element/{e}/value"),
            Some(json!({"text": text})),
        )
        .await;
    }

    async fn click(&self, css: &str) {
        let e = self.must(css).await;
        self.cmd(
            reqwest::Method::POST,
            &format!("/element/{e}/click"),
            Some(json!({})),
        )
        .await;
    }

    async fn source(&self) -> String {
        self.cmd(reqwest::Method::GET, "/source", None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }
}

/// A relying party's callback that just answers 200, so the browser lands somewhere real.
fn callback_server() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    std::thread::spawn(move || {
        use std::io::{Read, Write};
        for mut s in l.incoming().flatten() {
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            let _ = s.write_all(
                b"HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: 25\r\nconnection: close\r\n\r\n<h1 id=\"rp\">signed in</h1>",
            );
        }
    });
    format!("http://{addr}/cb")
}

fn auth_url(op: &Op, cb: &str, extra: &str) -> String {
    format!(
        "{}/authorize?response_type=code&client_id={CLIENT}&scope=openid&state=web-1&redirect_uri={}{extra}",
        op.base,
        cb.replace(':', "%3A").replace('/', "%2F")
    )
}

async fn password(d: &Driver, user: &str) {
    d.type_into("#username", user).await;
    d.type_into("#password", PASSWORD).await;
    d.click("#submit").await;
}

async fn wait_for_callback(d: &Driver, cb: &str) -> String {
    for _ in 0..50 {
        let u = d.url().await;
        if u.starts_with(cb) {
            return u;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "not at the callback: {}\n{}",
        d.url().await,
        d.source().await
    );
}

async fn fresh_code(key: &str, last: &mut u64) -> String {
    loop {
        let now = totp::now_step();
        let step = now.max(*last + 1);
        if step <= now + 1 {
            *last = step;
            return totp::code_at(key, step);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[tokio::test]
async fn a_new_user_enrolls_from_the_text_key_signs_in_with_totp_is_locked_out_and_signs_in_again()
{
    let cb = callback_server();
    let op = start_op_with(|b| b, |_| {}, std::slice::from_ref(&cb));
    op.add_user("carol");
    let d = Driver::start().await;

    // Enrollment at the first sign-in.
    d.goto(&auth_url(&op, &cb, "")).await;
    password(&d, "carol").await;
    d.click("#start").await;
    assert!(d.find("#qr svg").await.is_some(), "an SVG QR code is shown");
    let key = d.text("#text-key").await.replace(' ', "");
    assert!(key.len() >= 32, "{key}");
    let mut last = 0u64;
    let code = fresh_code(&key, &mut last).await;
    d.type_into("#code", &code).await;
    d.click("#submit").await;
    let codes = d.text("#backup-codes").await;
    assert!(codes.lines().count() >= 10, "{codes}");
    d.click("#continue").await;
    let u = wait_for_callback(&d, &cb).await;
    assert!(query_of(&u).contains_key("code"));

    // Password + TOTP.
    d.goto(&auth_url(&op, &cb, "&prompt=login")).await;
    password(&d, "carol").await;
    assert!(
        d.text_until("#attempts", |t| t.starts_with("3 attempts"))
            .await
            .starts_with("3 attempts")
    );
    let code = fresh_code(&key, &mut last).await;
    d.type_into("#code", &code).await;
    d.click("#submit").await;
    wait_for_callback(&d, &cb).await;

    // Three wrong codes end the sign-in.
    d.goto(&auth_url(&op, &cb, "&prompt=login")).await;
    password(&d, "carol").await;
    for left in ["2 attempts left", "1 attempt left"] {
        d.type_into("#code", "000000").await;
        d.click("#submit").await;
        assert_eq!(d.text_until("#attempts", |t| t == left).await, left);
        assert!(!d.text("#notice").await.is_empty());
    }
    d.type_into("#code", "000000").await;
    d.click("#submit").await;
    d.text_until("h1", |t| t.contains("Too many")).await;
    assert!(d.source().await.contains("Too many invalid attempts"));
    assert!(d.find("#code").await.is_none(), "no more code prompt");

    // A fresh sign-in starts with clean counters and succeeds.
    d.click("#restart").await;
    password(&d, "carol").await;
    let t = d
        .text_until("#attempts", |t| t.starts_with("3 attempts"))
        .await;
    assert!(t.starts_with("3 attempts"), "{t}\n{}", d.source().await);
    let code = fresh_code(&key, &mut last).await;
    d.type_into("#code", &code).await;
    d.click("#submit").await;
    let u = wait_for_callback(&d, &cb).await;
    assert_eq!(query_of(&u)["state"], "web-1");
}

#[tokio::test]
async fn remember_this_device_skips_the_prompt_on_the_next_sign_in_under_unrecognized_devices() {
    let cb = callback_server();
    let op = start_op_with(
        |b| b,
        |s| {
            s.enforcement = Enforcement::UnrecognizedDevices;
            // Only the cookie may recognize the device here, not the address.
            s.device_recognition.ip_history_depth = 0;
        },
        std::slice::from_ref(&cb),
    );
    op.add_user("dave");
    let d = Driver::start().await;
    d.goto(&auth_url(&op, &cb, "")).await;
    password(&d, "dave").await;
    d.click("#start").await;
    let key = d.text("#text-key").await.replace(' ', "");
    let mut last = 0u64;
    let code = fresh_code(&key, &mut last).await;
    d.type_into("#code", &code).await;
    d.click("#submit").await;
    d.click("#continue").await;
    wait_for_callback(&d, &cb).await;

    // Second sign-in: the prompt, with "remember this device" ticked.
    d.goto(&auth_url(&op, &cb, "&prompt=login")).await;
    password(&d, "dave").await;
    let code = fresh_code(&key, &mut last).await;
    d.type_into("#code", &code).await;
    d.click("#remember").await;
    d.click("#submit").await;
    wait_for_callback(&d, &cb).await;

    // A forced sign-in (prompt=login) never honours a remembered device.
    d.goto(&auth_url(&op, &cb, "&prompt=login")).await;
    password(&d, "dave").await;
    assert!(
        d.find("#code").await.is_some(),
        "prompt=login still asks for the code"
    );

    // Third sign-in, in a new session on the same browser: password only.
    d.cmd(reqwest::Method::DELETE, "/cookie/twofold_session", None)
        .await;
    d.goto(&auth_url(&op, &cb, "")).await;
    password(&d, "dave").await;
    let u = wait_for_callback(&d, &cb).await;
    assert!(query_of(&u).contains_key("code"));

    // Another browser (no cookie) is asked for the code.
    let other = Driver::start().await;
    other.goto(&auth_url(&op, &cb, "")).await;
    password(&other, "dave").await;
    assert!(
        other.find("#code").await.is_some(),
        "an unrecognized device is challenged"
    );
}
