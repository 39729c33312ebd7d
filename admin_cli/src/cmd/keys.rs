//! `twofoldctl keys ...`: the OpenID Connect provider's ID-token signing keys.

use crate::cli::KeysCmd;
use crate::client::Client;
use crate::error::CtlError;
use crate::output::{Out, field, int_of, list_of, table};
use crate::time;
use serde_json::{Value, json};

/// Runs a `keys` subcommand.
pub fn run(c: &Client, out: Out, cmd: &KeysCmd) -> Result<(), CtlError> {
    match cmd {
        KeysCmd::List => {
            let d = c.call("keys.list", json!({}))?;
            out.emit(&d, || print_list(&d));
        }
        KeysCmd::Rotate { yes } => rotate(c, out, *yes)?,
    }
    Ok(())
}

fn rotate(c: &Client, out: Out, yes: bool) -> Result<(), CtlError> {
    if !yes {
        // Asking the daemon first also reports a provider that is off before asking the admin.
        let now_keys = c.call("keys.list", json!({}))?;
        let now = int_of(&now_keys, "now");
        let ahead = int_of(&now_keys["rotation"], "publish_ahead_secs");
        let plan = format!(
            "this publishes a new RS256 and a new EdDSA signing key now; they start signing {} and the keys they replace stay published until the ID tokens they signed have expired",
            when(now + ahead, now)
        );
        super::confirm(out, &plan, "Rotate the signing keys now?")?;
    }
    let d = c.call("keys.rotate", json!({ "confirm": true }))?;
    out.emit(&d, || print_rotated(&d));
    Ok(())
}

fn print_list(d: &Value) {
    let keys = list_of(d, "keys");
    if keys.is_empty() {
        println!("no signing keys (the provider creates them when it starts)");
        return;
    }
    println!(
        "{}",
        table(
            &[
                "KID",
                "ALGORITHM",
                "STATE",
                "CREATED",
                "SIGNS FROM",
                "RETIRE AFTER"
            ],
            keys.iter().map(|k| {
                vec![
                    field(k, "kid"),
                    field(k, "algorithm"),
                    field(k, "state"),
                    time_of(k, "created_at"),
                    time_of(k, "signs_from"),
                    time_of(k, "retire_after"),
                ]
            })
        )
    );
}

fn print_rotated(d: &Value) {
    let now = int_of(d, "now");
    println!("new signing keys, published in the JWKS now:");
    for k in list_of(d, "rotated") {
        println!(
            "  {}  {}  signs {}",
            field(k, "kid"),
            field(k, "algorithm"),
            when(int_of(k, "signs_from"), now)
        );
    }
    let replaced = list_of(d, "replaced");
    if !replaced.is_empty() {
        println!("replaced keys (they sign until the new ones start, then stay published):");
        for k in replaced {
            println!(
                "  {}  {}  published until {}",
                field(k, "kid"),
                field(k, "algorithm"),
                time_of(k, "retire_after")
            );
        }
    }
    println!(
        "other twofoldd nodes on the same store publish the new keys at their next key check (within 5 minutes)"
    );
}

/// A time field as `YYYY-MM-DD HH:MM:SS UTC`, `-` when absent.
fn time_of(v: &Value, key: &str) -> String {
    v.get(key)
        .and_then(Value::as_i64)
        .map_or_else(|| "-".into(), time::fmt)
}

/// `from 2026-11-21 10:00:00 UTC (in 1 day)`, or `now` when `at` is not after `now`.
fn when(at: i64, now: i64) -> String {
    if at <= now {
        return "now".into();
    }
    format!("from {} (in {})", time::fmt(at), span(at - now))
}

/// A positive number of seconds in the largest whole unit: `1 day`, `36 hours`, `90 seconds`.
fn span(secs: i64) -> String {
    let (n, unit) = [(86_400, "day"), (3_600, "hour"), (60, "minute")]
        .into_iter()
        .find(|(u, _)| secs % u == 0)
        .map_or((secs, "second"), |(u, name)| (secs / u, name));
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

#[cfg(test)]
mod tests {
    use super::{span, when};

    #[test]
    fn waits_read_in_the_largest_whole_unit() {
        assert_eq!(span(86_400), "1 day");
        assert_eq!(span(2 * 86_400), "2 days");
        assert_eq!(span(90_000), "25 hours");
        assert_eq!(span(120), "2 minutes");
        assert_eq!(span(90), "90 seconds");
    }

    #[test]
    fn a_key_that_already_signs_signs_now() {
        assert_eq!(when(100, 100), "now");
        assert_eq!(when(86_400, 0), "from 1970-01-02 00:00:00 UTC (in 1 day)");
    }
}
