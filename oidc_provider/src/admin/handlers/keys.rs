//! `keys.list` and `keys.rotate`: the OpenID Connect provider's ID-token signing keys.
//!
//! Both need the provider running in this daemon. A rotation writes the new keys to the store
//! and swaps the new key set into the provider's memory, so this daemon's JWKS publishes them
//! at once. Other daemons on the same store load them at their next key maintenance (every
//! five minutes), long before the new keys sign (`[http] key_publish_ahead_secs`, one day by
//! default).

use super::{AdminError, Reply, flag};
use crate::Daemon;
use crate::http::jwks::keys::{self, Alg, KeyError};
use crate::http::state::AppState;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};
use twofold_core::clock::UnixTime;
use twofold_core::decision::fmt_time;
use twofold_core::store::AuditEvent;
use twofold_core::store::oidc::SigningKey;

/// One rotation at a time in this daemon (two at once would each add a key per algorithm).
static ROTATING: Mutex<()> = Mutex::new(());

impl From<KeyError> for AdminError {
    fn from(e: KeyError) -> Self {
        match e {
            KeyError::Store(c) => c.into(),
            other => AdminError::Internal(other.to_string()),
        }
    }
}

/// How long a command waits for a provider that is still starting (the admin socket answers
/// as soon as the daemon is ready; the provider may still be creating its first keys).
const START_WAIT: Duration = Duration::from_secs(20);

/// The running provider, or a refusal saying why there is none.
fn provider(d: &Daemon) -> Result<Arc<AppState>, AdminError> {
    if d.config.http.listen.is_empty() {
        return Err(AdminError::Refused(
            "the OpenID Connect provider is off on this daemon ([http] listen = \"\"), so it has no ID-token signing keys; set [http] listen in twofoldd.toml, or run this against a daemon that serves HTTP".into(),
        ));
    }
    let deadline = Instant::now() + START_WAIT;
    loop {
        if let Some(st) = d.http.get().and_then(Weak::upgrade) {
            return Ok(st);
        }
        if Instant::now() >= deadline {
            return Err(AdminError::Refused(format!(
                "the OpenID Connect provider has not finished starting after {}s; see the daemon's log",
                START_WAIT.as_secs()
            )));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `keys.list`: every stored key with its state.
pub(super) fn list(d: &Daemon) -> Reply {
    let st = provider(d)?;
    let now = st.now();
    let stored = st.oidc.list_signing_keys()?;
    Ok(listing(&st, &stored, now))
}

/// `keys.rotate` (`confirm: true`): a new key per algorithm, published now, signing after
/// `key_publish_ahead_secs`; the keys they replace stay published until the ID tokens they
/// signed have expired.
pub(super) fn rotate(d: &Daemon, admin: &str, a: &Value) -> Reply {
    if !flag(a, "confirm") {
        return Err(AdminError::Usage(
            "rotating the signing keys needs confirmation (confirm: true; twofoldctl keys rotate --yes); nothing was changed".into(),
        ));
    }
    let st = provider(d)?;
    let _turn = ROTATING.lock().unwrap_or_else(|p| p.into_inner());
    let now = st.now();
    let before = st.oidc.list_signing_keys()?;
    // `rotate_now` adds nothing while a key waits to sign: say so instead of answering "done".
    let pending: Vec<String> = before
        .iter()
        .filter(|k| k.activates_at > now && k.retires_at.is_none())
        .map(|k| {
            format!(
                "{} ({}) signs from {}",
                k.kid,
                k.alg,
                fmt_time(k.activates_at)
            )
        })
        .collect();
    if !pending.is_empty() {
        return Err(AdminError::Refused(format!(
            "a rotation is already under way: {} (published, not signing yet); nothing was changed",
            pending.join(", ")
        )));
    }
    let set = keys::rotate_now(&*st.oidc, st.keys(), st.rng(), now, st.rotation())?;
    let set = Arc::new(set);
    match st.keyset.write() {
        Ok(mut k) => *k = set,
        Err(p) => *p.into_inner() = set,
    }
    let after = st.oidc.list_signing_keys()?;
    let mut new: Vec<&SigningKey> = after
        .iter()
        .filter(|k| !before.iter().any(|b| b.kid == k.kid))
        .collect();
    let mut replaced: Vec<&SigningKey> = after
        .iter()
        .filter(|k| {
            before
                .iter()
                .any(|b| b.kid == k.kid && b.retires_at.is_none() && k.retires_at.is_some())
        })
        .collect();
    new.sort_by_key(|k| order(k));
    replaced.sort_by_key(|k| order(k));
    let published: Vec<String> = new
        .iter()
        .map(|k| {
            let from = fmt_time(k.activates_at);
            format!("{} ({}) signing from {from}", k.kid, k.alg)
        })
        .collect();
    let kept: Vec<String> = replaced
        .iter()
        .map(|k| {
            let until = k.retires_at.map_or_else(|| "-".into(), fmt_time);
            format!("{} ({}) until {until}", k.kid, k.alg)
        })
        .collect();
    let detail = format!(
        "new keys published: {}; replaced keys stay published: {}",
        published.join(", "),
        if kept.is_empty() {
            "none".to_string()
        } else {
            kept.join(", ")
        }
    );
    d.engine.store.audit(&AuditEvent {
        at: now,
        actor: admin.to_string(),
        event: "keys.rotate".into(),
        user: None,
        outcome: "ok".into(),
        detail,
    })?;
    tracing::info!(admin, new = new.len(), "ID-token signing keys rotated");
    let mut out = listing(&st, &after, now);
    out["rotated"] = new.iter().map(|k| key_json(k, &after, now)).collect();
    out["replaced"] = replaced.iter().map(|k| key_json(k, &after, now)).collect();
    Ok(out)
}

/// The keys (by algorithm, then when they sign) with the rotation policy.
fn listing(st: &AppState, stored: &[SigningKey], now: UnixTime) -> Value {
    let mut sorted: Vec<&SigningKey> = stored.iter().collect();
    sorted.sort_by_key(|k| order(k));
    let p = st.rotation();
    json!({
        "now": now,
        "keys": sorted.iter().map(|k| key_json(k, stored, now)).collect::<Vec<_>>(),
        "rotation": {
            "period_days": st.cfg.key_rotation_days,
            "publish_ahead_secs": p.publish_ahead_secs,
            "keep_after_secs": p.keep_after_secs,
        },
    })
}

/// Default algorithm first, then by when the key signs.
fn order(k: &SigningKey) -> (usize, UnixTime) {
    let alg = Alg::ALL
        .iter()
        .position(|a| a.as_str() == k.alg)
        .unwrap_or(Alg::ALL.len());
    (alg, k.activates_at)
}

fn key_json(k: &SigningKey, all: &[SigningKey], now: UnixTime) -> Value {
    json!({
        "kid": k.kid,
        "algorithm": k.alg,
        "state": state_of(k, all, now),
        "created_at": k.created_at,
        "signs_from": k.activates_at,
        "retire_after": k.retires_at,
    })
}

/// `active` (signs now), `next` (published, signs later), `published` (replaced, kept until
/// the tokens it signed expire) or `retired` (no longer published).
fn state_of(k: &SigningKey, all: &[SigningKey], now: UnixTime) -> &'static str {
    let published = |x: &SigningKey| x.retires_at.is_none_or(|r| r > now);
    if !published(k) {
        return "retired";
    }
    if k.activates_at > now {
        return "next";
    }
    // The signer is the newest published key of the algorithm that has started (as
    // `KeySet::signer` picks it).
    let signer = all
        .iter()
        .filter(|x| x.alg == k.alg && x.activates_at <= now && published(x))
        .max_by_key(|x| x.activates_at);
    if signer.is_some_and(|s| s.kid == k.kid) {
        "active"
    } else {
        "published"
    }
}

#[cfg(test)]
mod tests {
    use super::state_of;
    use twofold_core::store::oidc::SigningKey;

    fn key(kid: &str, alg: &str, activates_at: i64, retires_at: Option<i64>) -> SigningKey {
        SigningKey {
            kid: kid.into(),
            alg: alg.into(),
            private_key: Vec::new(),
            created_at: 0,
            activates_at,
            retires_at,
        }
    }

    #[test]
    fn each_key_is_named_by_what_it_does_at_the_time() {
        let all = vec![
            key("gone", "RS256", 0, Some(50)),
            key("old", "RS256", 10, Some(500)),
            key("cur", "RS256", 20, Some(400)),
            key("nxt", "RS256", 200, None),
            key("ed", "EdDSA", 5, None),
        ];
        let at = |kid: &str| state_of(all.iter().find(|k| k.kid == kid).unwrap(), &all, 100);
        assert_eq!(at("gone"), "retired");
        assert_eq!(at("old"), "published");
        assert_eq!(at("cur"), "active");
        assert_eq!(at("nxt"), "next");
        assert_eq!(at("ed"), "active");
    }
}
