//! Helpers of the OpenID Connect end-to-end tests: a `twofoldd` with registered clients and
//! local users, and a cookie-keeping HTTP "browser" that walks the real sign-in pages
//! (password, enrollment with the text key, second factor) like a person would.
//!
//! Include with `mod common; mod oidc_support;`.

#![allow(dead_code)]

use crate::common::{TestDaemon, daemon::TestDaemonBuilder, totp};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use twofold_core::settings::Settings;
use twofold_core::store::Store;

/// The confidential client.
pub const CLIENT: &str = "app";
/// Its secret.
pub const SECRET: &str = "app-secret-0123456789abcdef0123456789abcdef";
/// A second confidential client.
pub const OTHER: &str = "other";
/// Its secret.
pub const OTHER_SECRET: &str = "other-secret-0123456789abcdef0123456789abcdef";
/// The public client (PKCE required).
pub const PUBLIC: &str = "spa";
/// Redirect URI of every client (nothing listens there; the test reads the Location).
pub const REDIRECT: &str = "http://127.0.0.1:9/cb";
/// Post-logout redirect URI.
pub const BYE: &str = "http://127.0.0.1:9/bye";
/// The test user's password.
pub const PASSWORD: &str = "correct horse battery staple";

/// A provider under test.
pub struct Op {
    /// The daemon.
    pub d: TestDaemon,
    /// Its issuer (`http://127.0.0.1:PORT`).
    pub base: String,
}

fn phc(secret: &str) -> String {
    twofoldd::http::first_factor::hash_password(secret, &[3u8; 16]).expect("hashing")
}

/// Starts a provider with the clients `app`, `other` (confidential) and `spa` (public), high
/// throttles, and `settings` applied; `tweak` adds configuration lines.
pub fn start_op(
    tweak: impl FnOnce(TestDaemonBuilder) -> TestDaemonBuilder,
    settings: impl FnOnce(&mut Settings),
) -> Op {
    start_op_with(tweak, settings, &[])
}

/// Like [`start_op`], with more redirect URIs registered for `app`.
pub fn start_op_with(
    tweak: impl FnOnce(TestDaemonBuilder) -> TestDaemonBuilder,
    settings: impl FnOnce(&mut Settings),
    more_redirects: &[String],
) -> Op {
    let mut redirects = vec![format!("{REDIRECT:?}")];
    redirects.extend(more_redirects.iter().map(|r| format!("{r:?}")));
    let redirects = redirects.join(", ");
    let clients = format!(
        r#"[[http.clients]]
client_id = "{CLIENT}"
name = "Test App"
client_secret_hash = "{}"
redirect_uris = [{redirects}]
post_logout_redirect_uris = ["{BYE}"]
[[http.clients]]
client_id = "{OTHER}"
client_secret_hash = "{}"
redirect_uris = ["{REDIRECT}"]
[[http.clients]]
client_id = "{PUBLIC}"
redirect_uris = ["{REDIRECT}"]"#,
        phc(SECRET),
        phc(OTHER_SECRET)
    );
    // The client tables go last: lines after `[[http.clients]]` would belong to a client.
    let d = tweak(TestDaemon::builder())
        .config("http", &clients)
        .start();
    d.update_settings(settings);
    let base = d.http_url().expect("http listener").to_string();
    Op { d, base }
}

impl Op {
    /// Creates a local web user with [`PASSWORD`].
    pub fn add_user(&self, name: &str) {
        let store = self.d.store();
        store.ensure_user(name, 1).expect("user");
        store
            .set_password_hash(name, &phc(PASSWORD))
            .expect("password");
    }

    /// `BASE/authorize?...` for `client` with these extra parameters.
    pub fn auth_url(&self, client: &str, extra: &[(&str, &str)]) -> String {
        let mut p: Vec<(&str, &str)> = vec![
            ("response_type", "code"),
            ("client_id", client),
            ("redirect_uri", REDIRECT),
            ("scope", "openid"),
            ("state", "st-1"),
        ];
        for (k, v) in extra {
            p.retain(|(pk, _)| pk != k);
            p.push((k, v));
        }
        format!("{}/authorize?{}", self.base, form_encode(&p))
    }

    /// Redeems a code with `client_secret_basic` (raw HTTP).
    pub async fn redeem(
        &self,
        client: &str,
        secret: &str,
        code: &str,
        extra: &[(&str, &str)],
    ) -> reqwest::Response {
        let mut p = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
        ];
        p.extend_from_slice(extra);
        raw_client()
            .post(format!("{}/token", self.base))
            .basic_auth(client, Some(secret))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form_encode(&p))
            .send()
            .await
            .expect("token request")
    }
}

/// `a=1&b=2`, percent-encoded.
pub fn form_encode(p: &[(&str, &str)]) -> String {
    p.iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn enc(v: &str) -> String {
    v.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn dec(v: &str) -> String {
    let b = v.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Some(x) = std::str::from_utf8(&b[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(x);
            i += 3;
            continue;
        }
        out.push(if b[i] == b'+' { b' ' } else { b[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The query parameters of a URL.
pub fn query_of(url: &str) -> BTreeMap<String, String> {
    url.split_once('?')
        .map(|(_, q)| q)
        .unwrap_or("")
        .split('&')
        .filter(|s| !s.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (dec(k), dec(v))
        })
        .collect()
}

/// An HTTP client that does not follow redirects.
pub fn raw_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// A PKCE pair (verifier, S256 challenge).
pub fn pkce() -> (String, String) {
    let v = format!("verifier-{}-{}", std::process::id(), totp::now_step()) + &"x".repeat(40);
    let c = data_encoding::BASE64URL_NOPAD.encode(&Sha256::digest(v.as_bytes()));
    (v, c)
}

/// A response as the browser saw it.
#[derive(Debug, Clone)]
pub struct Page {
    /// Status.
    pub status: u16,
    /// `Location`, if any.
    pub location: Option<String>,
    /// Headers (lower-case names; repeated ones joined by "\n").
    pub headers: HashMap<String, String>,
    /// Body.
    pub body: String,
}

impl Page {
    /// The `value` of the hidden input `name`.
    pub fn field(&self, name: &str) -> Option<String> {
        let needle = format!("name=\"{name}\" value=\"");
        let i = self.body.find(&needle)? + needle.len();
        let rest = &self.body[i..];
        Some(rest[..rest.find('"')?].to_string())
    }
    /// The text of the element with this id.
    pub fn text_of(&self, id: &str) -> Option<String> {
        let needle = format!("id=\"{id}\"");
        let i = self.body.find(&needle)?;
        let rest = &self.body[i..];
        let start = rest.find('>')? + 1;
        let end = rest[start..].find('<')? + start;
        Some(rest[start..end].to_string())
    }
    /// Whether the page has a form posting to `action`.
    pub fn has_form(&self, action: &str) -> bool {
        self.body.contains(&format!("action=\"{action}\""))
    }
}

/// What the TOTP side of a user knows.
#[derive(Debug, Default, Clone)]
pub struct Authenticator {
    /// Base32 key read from the enrollment page.
    pub key: Option<String>,
    /// Last step used (codes are single use).
    pub last_step: u64,
    /// Backup codes shown at enrollment.
    pub backup_codes: Vec<String>,
}

impl Authenticator {
    /// A fresh code: never a step used before, waiting for the next step when needed.
    pub async fn next_code(&mut self) -> String {
        let key = self.key.clone().expect("enrolled");
        loop {
            let now = totp::now_step();
            let step = now.max(self.last_step + 1);
            if step <= now + 1 {
                self.last_step = step;
                return totp::code_at(&key, step);
            }
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        }
    }
}

/// A cookie-keeping HTTP client that signs in through the pages.
pub struct Browser {
    /// The last redirect to the client that [`Browser::sign_in`] stopped at.
    pub last_redirect: Option<String>,
    http: reqwest::Client,
    /// Cookies by name.
    pub cookies: BTreeMap<String, String>,
    base: String,
}

impl Browser {
    /// A browser for this provider.
    pub fn new(op: &Op) -> Browser {
        Browser {
            last_redirect: None,
            http: raw_client(),
            cookies: BTreeMap::new(),
            base: op.base.clone(),
        }
    }

    fn absolute(&self, url: &str) -> String {
        if url.starts_with("http") {
            url.to_string()
        } else {
            format!("{}{url}", self.base)
        }
    }

    async fn page(&mut self, r: reqwest::RequestBuilder) -> Page {
        let cookie = self
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        let r = if cookie.is_empty() {
            r
        } else {
            r.header("cookie", cookie)
        };
        let resp = r.send().await.expect("request");
        let status = resp.status().as_u16();
        let mut headers: HashMap<String, String> = HashMap::new();
        for (k, v) in resp.headers() {
            let v = v.to_str().unwrap_or("").to_string();
            if k == "set-cookie" {
                let first = v.split(';').next().unwrap_or("");
                if let Some((n, val)) = first.split_once('=') {
                    if v.contains("Max-Age=0") || val.is_empty() {
                        self.cookies.remove(n);
                    } else {
                        self.cookies.insert(n.to_string(), val.to_string());
                    }
                }
            }
            headers
                .entry(k.as_str().to_string())
                .and_modify(|e| {
                    e.push('\n');
                    e.push_str(&v);
                })
                .or_insert(v);
        }
        let location = headers.get("location").cloned();
        let body = resp.text().await.unwrap_or_default();
        Page {
            status,
            location,
            headers,
            body,
        }
    }

    /// GET without following redirects.
    pub async fn get(&mut self, url: &str) -> Page {
        let u = self.absolute(url);
        let r = self.http.get(u);
        self.page(r).await
    }

    /// POST a form without following redirects.
    pub async fn post(&mut self, url: &str, fields: &[(&str, &str)]) -> Page {
        let u = self.absolute(url);
        let r = self
            .http
            .post(u)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form_encode(fields));
        self.page(r).await
    }

    /// Follows redirects within the provider; stops at a redirect elsewhere (the client).
    pub async fn follow(&mut self, mut p: Page) -> Page {
        for _ in 0..10 {
            match &p.location {
                Some(l)
                    if p.status / 100 == 3 && (l.starts_with('/') || l.starts_with(&self.base)) =>
                {
                    let l = l.clone();
                    p = self.get(&l).await;
                }
                _ => return p,
            }
        }
        p
    }

    /// Posts a form of `page` (its `csrf` and `flow` fields plus `fields`) and follows.
    pub async fn submit(&mut self, page: &Page, action: &str, fields: &[(&str, &str)]) -> Page {
        let csrf = page.field("csrf").unwrap_or_default();
        let flow = page.field("flow").unwrap_or_default();
        let mut all: Vec<(&str, &str)> = vec![("csrf", &csrf), ("flow", &flow)];
        all.extend_from_slice(fields);
        let r = self.post(action, &all).await;
        self.follow(r).await
    }

    /// Starts at `auth_url` and walks the pages (password, enrollment, second factor) until
    /// the provider redirects to the client: returns that URL's parameters. `Err(page)` when a
    /// page it does not know how to answer appears.
    pub async fn sign_in(
        &mut self,
        auth_url: &str,
        user: &str,
        password: &str,
        app: &mut Authenticator,
    ) -> Result<BTreeMap<String, String>, Page> {
        let first = self.get(auth_url).await;
        let mut p = self.follow(first).await;
        for _ in 0..12 {
            if p.status / 100 == 3 {
                let l = p.location.clone().unwrap_or_default();
                self.last_redirect = Some(l.clone());
                return Ok(query_of(&l));
            }
            p = if p.has_form("/signin") {
                self.submit(&p, "/signin", &[("username", user), ("password", password)])
                    .await
            } else if p.has_form("/signin/enroll/start") {
                self.submit(&p, "/signin/enroll/start", &[]).await
            } else if p.has_form("/signin/enroll/confirm") {
                let key = p.text_of("text-key").expect("text key on the page");
                app.key = Some(key.replace(' ', ""));
                let code = app.next_code().await;
                self.submit(&p, "/signin/enroll/confirm", &[("code", &code)])
                    .await
            } else if p.has_form("/signin/continue") {
                app.backup_codes = codes_on(&p);
                self.submit(&p, "/signin/continue", &[]).await
            } else if p.has_form("/signin/code") {
                let method = p.field("method").unwrap_or_default();
                let code = app.next_code().await;
                self.submit(&p, "/signin/code", &[("method", &method), ("code", &code)])
                    .await
            } else {
                return Err(p);
            };
        }
        Err(p)
    }
}

/// The backup codes listed on a page.
pub fn codes_on(p: &Page) -> Vec<String> {
    p.body
        .split("<li><code>")
        .skip(1)
        .filter_map(|s| s.split("</code>").next())
        .map(str::to_string)
        .collect()
}

/// Decodes a JWT's payload without checking it (the tests check signatures separately).
pub fn claims(jwt: &str) -> serde_json::Value {
    let p = jwt.split('.').nth(1).expect("payload");
    serde_json::from_slice(
        &data_encoding::BASE64URL_NOPAD
            .decode(p.as_bytes())
            .expect("base64url"),
    )
    .expect("json")
}
