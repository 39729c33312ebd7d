//! `clients.list`, `clients.add` and `clients.remove`: the OpenID Connect clients registered in
//! the store (those of the configuration file are listed, never changed here).
//!
//! A confidential client's secret is generated here, returned once and stored only as its
//! argon2id hash. After a change the running provider's client cache is cleared, so this
//! daemon sees the change at once; other daemons on the same store within their cache time
//! (30 s).

use super::{AdminError, Reply, flag, opt_str, req_str};
use crate::Daemon;
use crate::http::first_factor::hash_password;
use serde_json::{Value, json};
use std::sync::Weak;
use twofold_core::store::AuditEvent;
use twofold_core::store::oidc::{OidcClient, OidcStore, check_grant_types, default_grant_types};
use zeroize::Zeroizing;

/// The store's OpenID Connect half, or a refusal.
fn store(d: &Daemon) -> Result<&dyn OidcStore, AdminError> {
    d.engine.store.oidc().ok_or_else(|| {
        AdminError::Refused(format!(
            "the store {} does not keep OpenID Connect clients",
            d.engine.store.describe()
        ))
    })
}

/// Clears the running provider's cache of store clients (nothing when it is off).
fn invalidate(d: &Daemon) {
    if let Some(st) = d.http.get().and_then(Weak::upgrade) {
        st.clients.invalidate();
    }
}

fn in_config(d: &Daemon, id: &str) -> bool {
    d.config.http.clients.iter().any(|c| c.client_id == id)
}

/// `clients.list`: the configuration's clients (marked `config`) then the store's.
pub(super) fn list(d: &Daemon) -> Reply {
    let mut out: Vec<Value> = d
        .config
        .http
        .clients
        .iter()
        .map(|c| {
            json!({
                "client_id": c.client_id,
                "name": c.name.clone().unwrap_or_else(|| c.client_id.clone()),
                "public": c.client_secret_hash.is_none(),
                "redirect_uris": c.redirect_uris,
                "post_logout_redirect_uris": c.post_logout_redirect_uris,
                "grant_types": c.grant_types,
                "source": "config",
                "created_at": Value::Null,
            })
        })
        .collect();
    for c in store(d)?.list_clients()? {
        out.push(client_json(&c, "store"));
    }
    Ok(json!({ "clients": out }))
}

fn client_json(c: &OidcClient, source: &str) -> Value {
    json!({
        "client_id": c.client_id,
        "name": c.name,
        "public": c.secret_hash.is_none(),
        "redirect_uris": c.redirect_uris,
        "post_logout_redirect_uris": c.post_logout_redirect_uris,
        "grant_types": c.grant_types,
        "source": source,
        "created_at": c.created_at,
    })
}

/// A list of strings argument (absent: empty).
fn str_list(a: &Value, key: &str) -> Result<Vec<String>, AdminError> {
    match a.get(key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(v)) => v
            .iter()
            .map(|x| {
                x.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| AdminError::Usage(format!("{key} must be a list of strings")))
            })
            .collect(),
        Some(_) => Err(AdminError::Usage(format!(
            "{key} must be a list of strings"
        ))),
    }
}

/// Checks a client id: 1–256 bytes, no control characters or whitespace.
fn check_id(id: &str) -> Result<(), AdminError> {
    if id.is_empty() || id.len() > 256 {
        return Err(AdminError::Usage(
            "a client id must be 1 to 256 bytes long".into(),
        ));
    }
    if id.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(AdminError::Usage(
            "a client id must not contain spaces or control characters".into(),
        ));
    }
    Ok(())
}

/// Checks a redirect URI: an absolute http(s) URL with a host and no fragment.
pub(crate) fn check_redirect_uri(uri: &str) -> Result<(), String> {
    let u = url::Url::parse(uri).map_err(|e| format!("{uri:?} is not an absolute URL: {e}"))?;
    if !matches!(u.scheme(), "http" | "https") {
        return Err(format!("{uri:?} must be an http or https URL"));
    }
    if u.host_str().is_none_or(str::is_empty) {
        return Err(format!("{uri:?} has no host"));
    }
    if u.fragment().is_some() {
        return Err(format!("{uri:?} must not have a fragment (#...)"));
    }
    Ok(())
}

/// `clients.add`: registers a client in the store; a confidential one gets a fresh secret,
/// returned here once (`client_secret`) and stored hashed.
pub(super) fn add(d: &Daemon, admin: &str, a: &Value) -> Reply {
    let id = req_str(a, "client_id")?;
    check_id(id)?;
    let redirect_uris = str_list(a, "redirect_uris")?;
    if redirect_uris.is_empty() {
        return Err(AdminError::Usage(
            "a client needs at least one redirect URI (--redirect-uri)".into(),
        ));
    }
    let post_logout = str_list(a, "post_logout_redirect_uris")?;
    for u in redirect_uris.iter().chain(&post_logout) {
        check_redirect_uri(u)
            .map_err(|e| AdminError::Usage(format!("{e}; nothing was changed")))?;
    }
    let mut grant_types = str_list(a, "grant_types")?;
    if grant_types.is_empty() {
        grant_types = default_grant_types();
    }
    check_grant_types(&grant_types)
        .map_err(|e| AdminError::Usage(format!("{e}; nothing was changed")))?;
    let public = flag(a, "public");
    let name = opt_str(a, "name")?.unwrap_or(id).to_string();
    if in_config(d, id) {
        return Err(AdminError::Refused(format!(
            "client {id:?} is registered in the configuration file (twofoldd.toml [[http.clients]]); nothing was changed"
        )));
    }
    let oidc = store(d)?;
    if oidc.get_client(id)?.is_some() {
        return Err(AdminError::Refused(format!(
            "client {id:?} is already registered in the store; remove it first to replace it; nothing was changed"
        )));
    }
    let secret = if public {
        None
    } else {
        let mut raw = Zeroizing::new([0u8; 32]);
        d.engine.rng.fill(&mut raw[..]);
        Some(Zeroizing::new(
            data_encoding::BASE64URL_NOPAD.encode(&raw[..]),
        ))
    };
    let secret_hash = match &secret {
        None => None,
        Some(s) => {
            let mut salt = [0u8; 16];
            d.engine.rng.fill(&mut salt);
            Some(hash_password(s, &salt).map_err(AdminError::Internal)?)
        }
    };
    let now = d.engine.clock.now();
    let client = OidcClient {
        client_id: id.to_string(),
        name,
        secret_hash,
        redirect_uris,
        post_logout_redirect_uris: post_logout,
        grant_types,
        created_at: now,
    };
    oidc.put_client(&client)?;
    invalidate(d);
    d.engine.store.audit(&AuditEvent {
        at: now,
        actor: admin.to_string(),
        event: "clients.add".into(),
        user: None,
        outcome: "ok".into(),
        detail: format!(
            "client {id:?} ({}), redirect URIs: {}; grant types: {}",
            if public { "public" } else { "confidential" },
            client.redirect_uris.join(", "),
            client.grant_types.join(", ")
        ),
    })?;
    tracing::info!(
        admin,
        client = id,
        public,
        "OpenID Connect client registered"
    );
    let mut out = client_json(&client, "store");
    out["client_secret"] = secret.as_ref().map_or(Value::Null, |s| json!(s.as_str()));
    Ok(out)
}

/// `clients.remove` (`confirm: true`): removes a store client and revokes its tokens.
pub(super) fn remove(d: &Daemon, admin: &str, a: &Value) -> Reply {
    let id = req_str(a, "client_id")?;
    if in_config(d, id) {
        return Err(AdminError::Refused(format!(
            "client {id:?} is registered in the configuration file; remove it from [[http.clients]] in twofoldd.toml and restart twofoldd; nothing was changed"
        )));
    }
    let oidc = store(d)?;
    if oidc.get_client(id)?.is_none() {
        return Err(AdminError::Refused(format!(
            "no client {id:?} is registered in the store"
        )));
    }
    if !flag(a, "confirm") {
        return Err(AdminError::Usage(
            "removing a client needs confirmation (confirm: true; twofoldctl clients remove --yes); nothing was changed".into(),
        ));
    }
    let removed = oidc.delete_client(id)?;
    invalidate(d);
    if !removed {
        return Err(AdminError::Refused(format!(
            "no client {id:?} is registered in the store"
        )));
    }
    let now = d.engine.clock.now();
    d.engine.store.audit(&AuditEvent {
        at: now,
        actor: admin.to_string(),
        event: "clients.remove".into(),
        user: None,
        outcome: "ok".into(),
        detail: format!("client {id:?} removed; its tokens are revoked"),
    })?;
    tracing::info!(admin, client = id, "OpenID Connect client removed");
    Ok(json!({ "client_id": id, "removed": true }))
}

#[cfg(test)]
mod tests {
    use super::check_redirect_uri;

    #[test]
    fn only_absolute_http_urls_without_fragment_are_redirect_uris() {
        assert!(check_redirect_uri("https://rp.example/cb").is_ok());
        assert!(check_redirect_uri("http://127.0.0.1:9000/cb?x=1").is_ok());
        assert!(check_redirect_uri("/cb").is_err());
        assert!(check_redirect_uri("ftp://rp.example/cb").is_err());
        assert!(check_redirect_uri("https://rp.example/cb#frag").is_err());
    }
}
