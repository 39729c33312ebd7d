//! `twofoldctl settings show|set|export|import`.

use crate::cli::SettingsCmd;
use crate::client::Client;
use crate::error::{CtlError, file_error};
use crate::output::{Out, list_of, str_of, table, text};
use serde_json::{Map, Value, json};

/// Runs a `settings` subcommand.
pub fn run(c: &Client, out: Out, cmd: &SettingsCmd) -> Result<(), CtlError> {
    match cmd {
        SettingsCmd::Show => show(c, out),
        SettingsCmd::Set { pairs } => set(c, out, pairs),
        SettingsCmd::Export { output } => {
            let d = c.call("settings.export", json!({}))?;
            let toml = str_of(&d, "toml").to_string();
            if let Some(path) = output {
                std::fs::write(path, &toml).map_err(|e| file_error(path, e))?;
            }
            out.emit(&d, || {
                if let Some(path) = output {
                    println!(
                        "settings (version {}) written to {}",
                        d["version"],
                        path.display()
                    );
                } else {
                    print!("{toml}");
                }
            });
            Ok(())
        }
        SettingsCmd::Import { file } => {
            let toml = std::fs::read_to_string(file).map_err(|e| file_error(file, e))?;
            let d = c.call("settings.import", json!({ "toml": toml }))?;
            out.emit(&d, || print_changes(&d));
            Ok(())
        }
    }
}

/// Flattens a settings document into dotted keys; empty tables stay as one key.
pub fn flatten(prefix: &str, v: &Value, into: &mut Vec<(String, Value)>) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            for (k, sub) in m {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&key, sub, into);
            }
        }
        other => into.push((prefix.to_string(), other.clone())),
    }
}

fn show(c: &Client, out: Out) -> Result<(), CtlError> {
    let d = c.call("settings.show", json!({}))?;
    let mut cur = Vec::new();
    flatten("", &d["settings"], &mut cur);
    let mut defs = Vec::new();
    flatten("", &d["defaults"], &mut defs);
    let defaults: Map<String, Value> = defs.into_iter().collect();
    let rows: Vec<Value> = cur
        .iter()
        .map(|(k, v)| {
            let def = defaults.get(k).cloned().unwrap_or(Value::Null);
            json!({ "key": k, "value": v, "default": def, "is_default": *v == def })
        })
        .collect();
    let doc = json!({ "version": d["version"], "settings": d["settings"], "rows": rows });
    out.emit(&doc, || {
        println!(
            "settings version {} (\"default\" marks a value left at its default)",
            d["version"]
        );
        println!(
            "{}",
            table(
                &["SETTING", "VALUE", "DEFAULT"],
                rows.iter().map(|r| {
                    let mark = if r["is_default"] == Value::Bool(true) {
                        "default".to_string()
                    } else {
                        format!("changed (default {})", show_value(&r["default"]))
                    };
                    vec![str_of(r, "key").to_string(), show_value(&r["value"]), mark]
                })
            )
        );
    });
    Ok(())
}

fn show_value(v: &Value) -> String {
    match v {
        Value::Object(m) if m.is_empty() => "(none)".into(),
        Value::Null => "(not set)".into(),
        other => text(other),
    }
}

/// Splits `KEY VALUE...` pairs or `KEY=VALUE` words into changes.
pub fn parse_pairs(pairs: &[String]) -> Result<Vec<(String, String)>, CtlError> {
    let first_has_eq = pairs.first().is_some_and(|p| p.contains('='));
    if first_has_eq {
        return pairs
            .iter()
            .map(|p| match p.split_once('=') {
                Some((k, v)) if !k.trim().is_empty() => {
                    Ok((k.trim().to_string(), v.trim().to_string()))
                }
                _ => Err(CtlError::Usage(format!(
                    "{p:?} is not KEY=VALUE (give every change as KEY=VALUE, or all as KEY VALUE pairs)"
                ))),
            })
            .collect();
    }
    if !pairs.len().is_multiple_of(2) {
        return Err(CtlError::Usage(format!(
            "settings set takes KEY VALUE pairs; {:?} has no value (e.g. `twofoldctl settings set max_invalid_attempts 5`)",
            pairs.last().map(String::as_str).unwrap_or("")
        )));
    }
    Ok(pairs
        .chunks(2)
        .map(|p| (p[0].clone(), p[1].clone()))
        .collect())
}

fn set(c: &Client, out: Out, pairs: &[String]) -> Result<(), CtlError> {
    let changes: Vec<Value> = parse_pairs(pairs)?
        .into_iter()
        .map(|(k, v)| json!({ "key": k, "value": v }))
        .collect();
    let d = c.call("settings.set", json!({ "changes": changes }))?;
    out.emit(&d, || print_changes(&d));
    Ok(())
}

fn print_changes(d: &Value) {
    let changed = list_of(d, "changed");
    if changed.is_empty() {
        println!("no setting changed (version {})", d["version"]);
        return;
    }
    println!("settings saved (version {}):", d["version"]);
    for ch in changed {
        println!(
            "  {}: {} -> {}",
            str_of(ch, "key"),
            show_value(&ch["old"]),
            show_value(&ch["new"])
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_and_key_value_words_both_parse() {
        let p = parse_pairs(&["a".into(), "1".into(), "b.c".into(), "x y".into()]).unwrap();
        assert_eq!(
            p,
            vec![("a".into(), "1".into()), ("b.c".into(), "x y".into())]
        );
        let p = parse_pairs(&["a=1".into(), "b=\"no_limit\"".into()]).unwrap();
        assert_eq!(p[1], ("b".into(), "\"no_limit\"".into()));
    }

    #[test]
    fn a_key_without_a_value_is_a_usage_error() {
        let e = parse_pairs(&["a".into(), "1".into(), "b".into()]).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(e.to_string().contains("\"b\" has no value"), "{e}");
    }

    #[test]
    fn nested_settings_flatten_to_dotted_keys() {
        let mut v = Vec::new();
        flatten(
            "",
            &json!({"methods": {"sms": false}, "roles": {}, "enabled": true}),
            &mut v,
        );
        let keys: Vec<&str> = v.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, vec!["enabled", "methods.sms", "roles"]);
    }
}
