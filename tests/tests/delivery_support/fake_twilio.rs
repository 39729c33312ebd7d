//! A fake SMS provider on 127.0.0.1 that speaks Twilio's Messages API: the real paths
//! (`/2010-04-01/Accounts/{AccountSid}/Messages.json`, `/2010-04-01/Accounts/{AccountSid}.json`),
//! form fields (`To`, `From` | `MessagingServiceSid`, `Body`), HTTP Basic auth checked against
//! the account SID and auth token, and Twilio's JSON bodies for success and errors
//! (20003 Authenticate, 20429 Too Many Requests, 21604 missing To, ...).
//!
//! Each Messages request takes the next scripted [`Behavior`], or the default one.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What the fake does with one Messages request.
#[derive(Debug, Clone)]
pub enum Behavior {
    /// 201 Created with a message resource.
    Accept,
    /// An error status with Twilio's error JSON, and optionally `Retry-After`.
    Fail {
        status: u16,
        code: i64,
        message: String,
        retry_after: Option<u64>,
    },
    /// Never answers.
    Hang,
}

impl Behavior {
    pub fn fail(status: u16, code: i64, message: &str) -> Behavior {
        Behavior::Fail {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }
}

/// One request as the fake saw it.
#[derive(Debug, Clone)]
pub struct Received {
    pub account: String,
    pub auth_user: String,
    pub to: String,
    pub from: Option<String>,
    pub messaging_service_sid: Option<String>,
    pub body: String,
    pub at: Instant,
    /// What the fake answered (`201`, `429`, `hang`, ...).
    pub answer: String,
}

#[derive(Debug)]
pub struct FakeState {
    pub sid: String,
    pub token: String,
    pub script: VecDeque<Behavior>,
    pub default: Behavior,
    pub received: Vec<Received>,
    pub account_checks: u32,
    /// An API key (`SK...`, secret) accepted besides the account SID and auth token.
    pub api_key: Option<(String, String)>,
}

type Shared = Arc<Mutex<FakeState>>;

/// The running fake. Dropping it stops the server.
pub struct FakeTwilio {
    pub addr: SocketAddr,
    pub state: Shared,
    rt: Option<tokio::runtime::Runtime>,
}

impl Drop for FakeTwilio {
    fn drop(&mut self) {
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

fn twilio_error(status: u16, code: i64, message: &str, retry_after: Option<u64>) -> Response {
    let body = serde_json::json!({
        "code": code,
        "message": message,
        "more_info": format!("https://www.twilio.com/docs/errors/{code}"),
        "status": status,
    });
    let mut r = (
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        axum::Json(body),
    )
        .into_response();
    if let Some(s) = retry_after {
        r.headers_mut()
            .insert("retry-after", s.to_string().parse().unwrap());
    }
    r
}

/// Decodes `Authorization: Basic ...` into (user, password).
fn basic_auth(h: &HeaderMap) -> Option<(String, String)> {
    let v = h.get("authorization")?.to_str().ok()?;
    let b64 = v.strip_prefix("Basic ")?;
    let raw = data_encoding::BASE64.decode(b64.as_bytes()).ok()?;
    let s = String::from_utf8(raw).ok()?;
    let (u, p) = s.split_once(':')?;
    Some((u.to_string(), p.to_string()))
}

/// The authenticated user, or `None` (answered with Twilio's 401, error 20003).
fn authorized(st: &FakeState, account: &str, h: &HeaderMap) -> Option<String> {
    match basic_auth(h) {
        Some((u, p)) if u == st.sid && p == st.token && account == st.sid => Some(u),
        Some((u, p))
            if account == st.sid
                && st.api_key.as_ref().is_some_and(|(k, s)| *k == u && *s == p) =>
        {
            Some(u)
        }
        _ => None,
    }
}

fn unauthorized() -> Response {
    twilio_error(401, 20003, "Authenticate", None)
}

async fn messages(
    State(state): State<Shared>,
    Path(account): Path<String>,
    headers: HeaderMap,
    axum::Form(form): axum::Form<HashMap<String, String>>,
) -> Response {
    let account = account.trim_end_matches(".json").to_string();
    let behavior = {
        let mut st = state.lock().unwrap();
        let user = match authorized(&st, &account, &headers) {
            Some(u) => u,
            None => {
                st.received.push(Received {
                    account: account.clone(),
                    auth_user: basic_auth(&headers).map(|a| a.0).unwrap_or_default(),
                    to: form.get("To").cloned().unwrap_or_default(),
                    from: form.get("From").cloned(),
                    messaging_service_sid: form.get("MessagingServiceSid").cloned(),
                    body: form.get("Body").cloned().unwrap_or_default(),
                    at: Instant::now(),
                    answer: "401".into(),
                });
                return unauthorized();
            }
        };
        let Some(to) = form.get("To").cloned() else {
            return twilio_error(400, 21604, "A 'To' phone number is required.", None);
        };
        if !form.contains_key("From") && !form.contains_key("MessagingServiceSid") {
            return twilio_error(
                400,
                21603,
                "A 'From' or 'MessagingServiceSid' parameter is required to send a message",
                None,
            );
        }
        let Some(body) = form.get("Body").cloned() else {
            return twilio_error(400, 21602, "Message body is required.", None);
        };
        let b = st.script.pop_front().unwrap_or_else(|| st.default.clone());
        let answer = match &b {
            Behavior::Accept => "201".to_string(),
            Behavior::Fail { status, .. } => status.to_string(),
            Behavior::Hang => "hang".to_string(),
        };
        st.received.push(Received {
            account: account.clone(),
            auth_user: user,
            to,
            from: form.get("From").cloned(),
            messaging_service_sid: form.get("MessagingServiceSid").cloned(),
            body,
            at: Instant::now(),
            answer,
        });
        b
    };
    match behavior {
        Behavior::Accept => {
            let st = state.lock().unwrap();
            let n = st.received.len();
            let r = st.received.last().cloned();
            drop(st);
            let r = r.unwrap();
            let sid = format!("SM{:032x}", n);
            let body = serde_json::json!({
                "account_sid": account,
                "api_version": "2010-04-01",
                "body": r.body,
                "date_created": "Wed, 25 Nov 2026 02:00:00 +0000",
                "direction": "outbound-api",
                "error_code": null,
                "error_message": null,
                "from": r.from,
                "messaging_service_sid": r.messaging_service_sid,
                "num_media": "0",
                "num_segments": "1",
                "price": null,
                "sid": sid,
                "status": "queued",
                "to": r.to,
                "uri": format!("/2010-04-01/Accounts/{account}/Messages/{sid}.json"),
            });
            (StatusCode::CREATED, axum::Json(body)).into_response()
        }
        Behavior::Fail {
            status,
            code,
            message,
            retry_after,
        } => twilio_error(status, code, &message, retry_after),
        Behavior::Hang => {
            std::future::pending::<()>().await;
            StatusCode::GATEWAY_TIMEOUT.into_response()
        }
    }
}

async fn account(
    State(state): State<Shared>,
    Path(account): Path<String>,
    headers: HeaderMap,
) -> Response {
    let account = account.trim_end_matches(".json").to_string();
    let mut st = state.lock().unwrap();
    st.account_checks += 1;
    if authorized(&st, &account, &headers).is_none() {
        return unauthorized();
    }
    let body = serde_json::json!({
        "sid": account,
        "friendly_name": "twofold test account",
        "status": "active",
        "type": "Full",
        "uri": format!("/2010-04-01/Accounts/{account}.json"),
    });
    (StatusCode::OK, axum::Json(body)).into_response()
}

impl FakeTwilio {
    /// Starts the fake for account `sid` with auth token `token`; answers `default` unless
    /// scripted otherwise.
    pub fn start(sid: &str, token: &str, default: Behavior) -> FakeTwilio {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let state: Shared = Arc::new(Mutex::new(FakeState {
            sid: sid.into(),
            token: token.into(),
            script: VecDeque::new(),
            default,
            received: Vec::new(),
            account_checks: 0,
            api_key: None,
        }));
        let app = Router::new()
            .route(
                "/2010-04-01/Accounts/{account}/Messages.json",
                post(messages),
            )
            .route("/2010-04-01/Accounts/{account}", get(account))
            .with_state(state.clone());
        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let addr = listener.local_addr().unwrap();
        rt.spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeTwilio {
            addr,
            state,
            rt: Some(rt),
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Queues behaviours for the next Messages requests.
    pub fn script(&self, b: impl IntoIterator<Item = Behavior>) {
        self.state.lock().unwrap().script.extend(b);
    }

    /// Changes the default behaviour.
    pub fn set_default(&self, b: Behavior) {
        self.state.lock().unwrap().default = b;
    }

    /// Every Messages request so far.
    pub fn received(&self) -> Vec<Received> {
        self.state.lock().unwrap().received.clone()
    }

    /// Messages accepted (answered 201), by destination.
    pub fn accepted_by_to(&self) -> HashMap<String, usize> {
        let mut m = HashMap::new();
        for r in self.received().iter().filter(|r| r.answer == "201") {
            *m.entry(r.to.clone()).or_insert(0) += 1;
        }
        m
    }

    /// Waits until `f(received)` holds, up to `limit`.
    pub fn wait_for(&self, limit: Duration, f: impl Fn(&[Received]) -> bool) -> bool {
        let end = Instant::now() + limit;
        loop {
            if f(&self.received()) {
                return true;
            }
            if Instant::now() > end {
                return false;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }
}

/// The 6-digit code in an SMS text.
pub fn code_in(text: &str) -> String {
    text.split(|c: char| !c.is_ascii_digit())
        .find(|w| w.len() == 6)
        .unwrap_or_else(|| panic!("no 6-digit code in {text:?}"))
        .to_string()
}
