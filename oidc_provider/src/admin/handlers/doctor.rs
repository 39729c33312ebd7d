//! `doctor.facts`: what `twofoldctl doctor` needs from the daemon: the settings, the store's
//! durability and health, the users' states, users whose default method is unavailable, and
//! the delivery integrations' health.

use super::users::facts_of;
use super::{AdminError, Reply, flag};
use crate::Daemon;
use serde_json::{Value, json};
use twofold_core::decision::{self, AttemptFacts, Verdict};

pub(super) fn facts(d: &Daemon, admin: &str, a: &Value) -> Reply {
    let store = d.engine.store.as_ref();
    let now = d.engine.clock.now();
    // Asked now (PostgreSQL: reachable, and `synchronous_commit` as the server has it today).
    let health = store.check_health();
    let settings = match health
        .as_ref()
        .map_err(|e| e.to_string())
        .and_then(|_| store.load_settings().map_err(|e| e.to_string()))
    {
        Ok(vs) => vs.settings,
        Err(e) => {
            return Ok(json!({
                "version": env!("CARGO_PKG_VERSION"),
                "now": now,
                "store": store.describe(),
                "store_ok": false,
                "store_error": e,
                "settings": Value::Null,
                "delivery": Value::Null,
            }));
        }
    };
    let store_text = health.unwrap_or_else(|_| store.describe());
    let ov = d.engine.overview()?;
    let mut unavailable = Vec::new();
    if !settings.allow_fallback_methods {
        let attempt = AttemptFacts {
            service: "sshd".into(),
            now,
            ..AttemptFacts::default()
        };
        for u in store.list_users(None)? {
            let f = facts_of(store, &u)?;
            let dec = decision::decide(&settings, &f, &attempt);
            if dec.verdict == Verdict::NoFactor {
                let m = decision::effective_default(&settings, &f);
                let why = decision::unusable_reason(m, &settings, &f)
                    .unwrap_or_else(|| dec.reason_chain());
                unavailable.push(json!({ "user": u.name, "method": m.as_str(), "why": why }));
            }
        }
    }
    let settings_json = serde_json::to_value(&settings)
        .map_err(|e| AdminError::Internal(format!("settings to JSON: {e}")))?;
    Ok(json!({
        "version": env!("CARGO_PKG_VERSION"),
        "now": now,
        "store": store_text,
        "store_ok": true,
        "settings": settings_json,
        "overview": {
            "not_enrolled": ov.not_enrolled, "pending": ov.pending,
            "enrolled": ov.enrolled, "locked": ov.locked,
            "total": ov.not_enrolled + ov.pending + ov.enrolled,
        },
        "default_unavailable": unavailable,
        "delivery": super::delivery::health(d, admin, &settings, flag(a, "check_integrations")),
    }))
}
