//! The generic SMS webhook: a JSON POST signed with HMAC-SHA256 over `timestamp.body`, checked
//! by a receiver on 127.0.0.1 that verifies the signature independently (hmac crate, constant
//! time) and refuses a bad one with 401, as a real gateway would.

mod delivery_support;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use delivery_support::fake_twilio::code_in;
use delivery_support::{ADMIN, FAST_DELIVERY, Harness};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use twofold_core::proto::{Method, PamReply};
use twofold_core::store::delivery::{DeliveryState, Health, IntegrationKind};
use twofoldd::delivery::admin::{self, IntegrationInput};

const KEY: &str = "webhook-signing-key-0123456789";
const WAIT: Duration = Duration::from_secs(30);

#[derive(Debug, Clone)]
struct Hit {
    body: serde_json::Value,
    idempotency_key: Option<String>,
    status: u16,
}

struct Gateway {
    key: String,
    script: VecDeque<u16>,
    hits: Vec<Hit>,
}

type Shared = Arc<Mutex<Gateway>>;

fn verify(key: &str, h: &HeaderMap, body: &[u8]) -> bool {
    let (Some(ts), Some(sig)) = (
        h.get("x-twofold-timestamp").and_then(|v| v.to_str().ok()),
        h.get("x-twofold-signature").and_then(|v| v.to_str().ok()),
    ) else {
        return false;
    };
    let Ok(ts) = ts.parse::<i64>() else {
        return false;
    };
    let now = twofold_core::clock::Clock::now(&twofold_core::clock::SystemClock);
    if (now - ts).abs() > 300 {
        return false;
    }
    let Some(hex) = sig.strip_prefix("v1=") else {
        return false;
    };
    let Ok(tag) = data_encoding::HEXLOWER.decode(hex.as_bytes()) else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).unwrap();
    mac.update(ts.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.verify_slice(&tag).is_ok()
}

async fn receive(State(g): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let mut g = g.lock().unwrap();
    let ok = verify(&g.key, &headers, &body);
    let status = if !ok {
        401
    } else {
        g.script.pop_front().unwrap_or(200)
    };
    g.hits.push(Hit {
        body: serde_json::from_slice(&body).unwrap_or_default(),
        idempotency_key: headers
            .get("idempotency-key")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
        status,
    });
    match status {
        200 => (
            StatusCode::OK,
            axum::Json(serde_json::json!({"id": format!("gw-{}", g.hits.len())})),
        )
            .into_response(),
        401 => (StatusCode::UNAUTHORIZED, "bad signature").into_response(),
        s => StatusCode::from_u16(s).unwrap().into_response(),
    }
}

fn start_gateway(key: &str, script: &[u16]) -> (String, Shared, tokio::runtime::Runtime) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let g: Shared = Arc::new(Mutex::new(Gateway {
        key: key.into(),
        script: script.iter().copied().collect(),
        hits: Vec::new(),
    }));
    let app = Router::new()
        .route("/sms/send", post(receive))
        .with_state(g.clone());
    let l = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let url = format!("http://{}/sms/send", l.local_addr().unwrap());
    rt.spawn(async move {
        let _ = axum::serve(l, app).await;
    });
    (url, g, rt)
}

fn use_webhook(h: &Harness, url: &str, key: &str) {
    let input = IntegrationInput {
        name: "gateway".into(),
        kind: IntegrationKind::Webhook,
        settings: serde_json::json!({"url": url}),
        secrets: serde_json::json!({"signing_key": key}),
    };
    admin::add_integration(&h.daemon, ADMIN, &input, true).unwrap();
    let e = h.engine();
    let cur = e.store.load_settings().unwrap();
    let mut s = cur.settings;
    s.methods.authenticator_app = false;
    s.methods.sms = true;
    s.default_method = Method::Sms;
    s.sms_provider = Some("gateway".into());
    e.update_settings(ADMIN, s, cur.version).unwrap();
}

#[test]
fn a_signed_webhook_delivers_the_code_and_a_retry_reuses_the_idempotency_key() {
    let (url, g, _rt) = start_gateway(KEY, &[503]);
    let h = Harness::start(FAST_DELIVERY);
    use_webhook(&h, &url, KEY);
    h.user_with_phone("alice", "+14155550151");
    let c = h.begin("alice");
    let e = h.wait_final("alice", WAIT);
    assert_eq!(e.state, DeliveryState::Sent, "{e:?}");
    assert_eq!(e.attempts, 2, "the 503 was retried");
    assert_eq!(e.provider_id.as_deref(), Some("gw-2"));
    let hits = g.lock().unwrap().hits.clone();
    assert_eq!(hits.len(), 2);
    assert_eq!(hits[0].status, 503);
    assert_eq!(hits[1].body["type"], "message");
    assert_eq!(hits[1].body["channel"], "sms");
    assert_eq!(hits[1].body["to"], "+14155550151");
    let key = hits[0].idempotency_key.clone().unwrap();
    assert_eq!(key, format!("twofold-{}", e.id));
    assert_eq!(hits[1].idempotency_key.as_deref(), Some(key.as_str()));
    let code = code_in(hits[1].body["text"].as_str().unwrap());
    assert!(matches!(
        h.verify(&c.session, Method::Sms, &code),
        PamReply::Accepted { .. }
    ));
}

#[test]
fn a_webhook_that_refuses_the_signature_makes_the_integration_unhealthy() {
    let (url, g, _rt) = start_gateway("the-gateway-has-another-key", &[]);
    let h = Harness::start(FAST_DELIVERY);
    use_webhook(&h, &url, KEY);
    h.user_with_phone("bob", "+14155550152");
    h.begin("bob");
    let e = h.wait_final("bob", WAIT);
    assert_eq!(e.state, DeliveryState::Failed, "{e:?}");
    assert_eq!(e.attempts, 1);
    assert!(
        e.last_error
            .unwrap_or_default()
            .contains("refused the signature")
    );
    let hl = h.wait_health("gateway", Health::Unhealthy);
    assert!(hl.reason.unwrap_or_default().contains("HTTP 401"));
    let r = h.blocking(|d| admin::check_integration(d, ADMIN, "gateway").unwrap());
    assert!(!r.ok);
    assert_eq!(
        g.lock().unwrap().hits.last().unwrap().body["type"],
        "check",
        "the check is a signed call that sends nothing"
    );
}
