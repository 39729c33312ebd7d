//! Output: human tables (comfy-table) by default, one JSON document with `--json`.

use comfy_table::{Table, presets};
use serde_json::Value;

/// Where a command's result goes: tables and lines, or one JSON document.
#[derive(Debug, Clone, Copy)]
pub struct Out {
    /// `--json` was given.
    pub json: bool,
}

impl Out {
    /// Prints `doc` as pretty JSON when `--json`, else calls `human`.
    pub fn emit(&self, doc: &Value, human: impl FnOnce()) {
        if self.json {
            println!(
                "{}",
                serde_json::to_string_pretty(doc).unwrap_or_else(|_| doc.to_string())
            );
        } else {
            human();
        }
    }
}

/// A borderless table with a header row.
pub fn table<I, R>(headers: &[&str], rows: I) -> String
where
    I: IntoIterator<Item = R>,
    R: IntoIterator<Item = String>,
{
    let mut t = Table::new();
    t.load_style(presets::NOTHING);
    t.set_header(headers.iter().map(|h| h.to_string()));
    for r in rows {
        t.add_row(r.into_iter().collect::<Vec<_>>());
    }
    // comfy-table pads the first column with a space; trim it so lines start at the margin.
    t.to_string()
        .lines()
        .map(|l| l.strip_prefix(' ').unwrap_or(l).trim_end().to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Two columns, key then value.
pub fn kv(rows: &[(&str, String)]) -> String {
    let mut t = Table::new();
    t.load_style(presets::NOTHING);
    for (k, v) in rows {
        t.add_row(vec![format!("{k}:"), v.clone()]);
    }
    t.to_string()
        .lines()
        .map(|l| l.strip_prefix(' ').unwrap_or(l).trim_end().to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

/// A JSON value as a person reads it: strings bare, null as `-`, lists joined by commas.
pub fn text(v: &Value) -> String {
    match v {
        Value::Null => "-".into(),
        Value::String(s) => s.clone(),
        Value::Array(a) if a.is_empty() => "-".into(),
        Value::Array(a) => a.iter().map(text).collect::<Vec<_>>().join(", "),
        other => other.to_string(),
    }
}

/// `v[key]` as text.
pub fn field(v: &Value, key: &str) -> String {
    text(v.get(key).unwrap_or(&Value::Null))
}

/// `v[key]` as a string slice, empty when absent.
pub fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

/// `v[key]` as an integer, 0 when absent.
pub fn int_of(v: &Value, key: &str) -> i64 {
    v.get(key).and_then(Value::as_i64).unwrap_or(0)
}

/// `v[key]` as a list, empty when absent.
pub fn list_of<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v.get(key)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// A reason chain (`a; b; c`) as numbered lines indented by `indent`.
pub fn reasons(chain: &[String], indent: &str) -> String {
    chain
        .iter()
        .enumerate()
        .map(|(i, r)| format!("{indent}{}. {r}", i + 1))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_read_as_words() {
        assert_eq!(text(&json!(null)), "-");
        assert_eq!(text(&json!(["sms", "email"])), "sms, email");
        assert_eq!(text(&json!(5)), "5");
        assert_eq!(text(&json!("x")), "x");
    }

    #[test]
    fn a_table_starts_at_the_margin_with_its_header() {
        let t = table(
            &["NAME", "STATUS"],
            [vec!["alice".to_string(), "enrolled".into()]],
        );
        let first = t.lines().next().unwrap();
        assert!(first.starts_with("NAME"), "{t}");
        assert!(t.contains("alice"), "{t}");
    }
}
