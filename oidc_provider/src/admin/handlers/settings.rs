//! `settings.show|export|set|import`: the settings document, changed only as a validated whole.

use super::{AdminError, Reply, req_str};
use crate::Daemon;
use serde_json::{Value, json};
use twofold_core::settings::Settings;

pub(super) fn show(d: &Daemon) -> Reply {
    let vs = d.engine.store.load_settings()?;
    Ok(json!({
        "version": vs.version,
        "settings": to_json(&vs.settings)?,
        "defaults": to_json(&Settings::default())?,
    }))
}

pub(super) fn export(d: &Daemon) -> Reply {
    let vs = d.engine.store.load_settings()?;
    Ok(json!({ "version": vs.version, "toml": vs.settings.to_toml() }))
}

pub(super) fn set(d: &Daemon, admin: &str, a: &Value) -> Reply {
    let changes = a
        .get("changes")
        .and_then(Value::as_array)
        .filter(|c| !c.is_empty())
        .ok_or_else(|| {
            AdminError::Usage("changes must be a non-empty list of {key, value}".into())
        })?;
    let vs = d.engine.store.load_settings()?;
    let mut new = vs.settings.clone();
    for ch in changes {
        let key = req_str(ch, "key")?;
        let value = req_str(ch, "value")?;
        new = new
            .with_change(key, value)
            .map_err(|e| AdminError::Usage(format!("{e}; nothing was changed")))?;
    }
    save(d, admin, &vs.settings, new, vs.version)
}

pub(super) fn import(d: &Daemon, admin: &str, a: &Value) -> Reply {
    let text = req_str(a, "toml")?;
    let new = Settings::from_toml(text).map_err(|e| {
        AdminError::Usage(format!(
            "the settings file is not valid: {e}; nothing was changed"
        ))
    })?;
    let vs = d.engine.store.load_settings()?;
    save(d, admin, &vs.settings, new, vs.version)
}

fn save(d: &Daemon, admin: &str, old: &Settings, new: Settings, version: i64) -> Reply {
    if let Err(p) = new.validate() {
        return Err(AdminError::Refused(format!(
            "settings refused: {p}; nothing was changed"
        )));
    }
    let changed = diff(&to_json(old)?, &to_json(&new)?);
    let version = d.engine.update_settings(admin, new, version)?;
    Ok(json!({ "version": version, "changed": changed }))
}

fn to_json(s: &Settings) -> Result<Value, AdminError> {
    serde_json::to_value(s).map_err(|e| AdminError::Internal(format!("settings to JSON: {e}")))
}

fn flatten(prefix: &str, v: &Value, out: &mut Vec<(String, Value)>) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            for (k, sub) in m {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&key, sub, out);
            }
        }
        other => out.push((prefix.to_string(), other.clone())),
    }
}

/// The dotted keys whose values differ, with old and new values (`null` for absent).
pub(super) fn diff(old: &Value, new: &Value) -> Vec<Value> {
    let (mut a, mut b) = (Vec::new(), Vec::new());
    flatten("", old, &mut a);
    flatten("", new, &mut b);
    let a: std::collections::BTreeMap<String, Value> = a.into_iter().collect();
    let b: std::collections::BTreeMap<String, Value> = b.into_iter().collect();
    let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    // An empty table on one side and its first key on the other is not a change of its own.
    let get = |m: &std::collections::BTreeMap<String, Value>, k: &str| {
        m.get(k)
            .filter(|v| !matches!(v, Value::Object(o) if o.is_empty()))
            .cloned()
    };
    keys.into_iter()
        .filter(|k| get(&a, k) != get(&b, k))
        .map(|k| json!({ "key": k, "old": a.get(k), "new": b.get(k) }))
        .collect()
}
