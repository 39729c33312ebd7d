//! Checks on what the daemon reports (`doctor.facts`): the settings, the store, the users and
//! the delivery integrations, each named with the support guide's resolution.

use super::check::Check;
use crate::output::{int_of, list_of, str_of, text};
use serde_json::Value;

/// Every daemon-side check, from the facts the daemon sent.
pub fn checks(f: &Value, pending_threshold: u32) -> Vec<Check> {
    if f["store_ok"] == Value::Bool(false) {
        return vec![store(f)];
    }
    let s = &f["settings"];
    let mut out = vec![master_toggle(s), methods(s), required_enrollment(s)];
    out.push(store(f));
    out.push(fallback(f, s));
    out.push(pending(f, pending_threshold));
    out.push(sms(f, s));
    out.push(smtp(f, s));
    out
}

fn flag(v: &Value, path: &[&str]) -> bool {
    let mut cur = v;
    for p in path {
        cur = &cur[*p];
    }
    cur.as_bool().unwrap_or(false)
}

fn master_toggle(s: &Value) -> Check {
    if flag(s, &["enabled"]) {
        Check::ok("settings.enabled", "Enable Two-Factor Authentication is on")
    } else {
        Check::fail(
            "settings.enabled",
            "Enable Two-Factor Authentication (the master toggle) is off",
            "with the master toggle off every sign-in goes through without a second factor; users are never prompted",
            "twofoldctl settings set enabled true",
        )
    }
}

fn allowed(s: &Value) -> Vec<&'static str> {
    [
        ("authenticator_app", "authenticator_app"),
        ("sms", "sms"),
        ("email", "email"),
        ("backup_codes", "backup_code"),
    ]
    .iter()
    .filter(|(k, _)| flag(s, &["methods", k]))
    .map(|(_, n)| *n)
    .collect()
}

fn methods(s: &Value) -> Check {
    let a = allowed(s);
    let primary: Vec<&&str> = a.iter().filter(|m| **m != "backup_code").collect();
    if primary.is_empty() {
        Check::fail(
            "settings.methods",
            format!(
                "no method besides backup codes is allowed (allowed: {})",
                if a.is_empty() {
                    "none".into()
                } else {
                    a.join(", ")
                }
            ),
            "users cannot enroll or receive a code, so no one can complete a second factor",
            "allow at least one method: twofoldctl settings set methods.authenticator_app true",
        )
    } else {
        Check::ok(
            "settings.methods",
            format!(
                "allowed methods: {}; default method {}",
                a.join(", "),
                str_of(s, "default_method")
            ),
        )
    }
}

fn required_enrollment(s: &Value) -> Check {
    let exempt: Vec<String> = s["roles"]
        .as_object()
        .map(|m| {
            m.iter()
                .filter(|(_, r)| r["exempt"] == Value::Bool(true))
                .map(|(k, _)| k.clone())
                .collect()
        })
        .unwrap_or_default();
    let roles_note = if exempt.is_empty() {
        String::new()
    } else {
        format!(
            "; roles exempt from two-factor authentication: {}",
            exempt.join(", ")
        )
    };
    let required = str_of(s, "authenticator_enrollment") == "required";
    if required && !flag(s, &["methods", "authenticator_app"]) {
        Check::fail(
            "settings.required_enrollment",
            "Authenticator Enrollment is Required, but Allow the Authenticator App is off",
            "the Required policy only triggers when the Authenticator App method is allowed, so users sign in with email or SMS and are never forced to enroll",
            "twofoldctl settings set methods.authenticator_app true (or set authenticator_enrollment optional if that is the intent)",
        )
    } else {
        Check::ok(
            "settings.required_enrollment",
            format!(
                "authenticator enrollment is {}{roles_note}",
                str_of(s, "authenticator_enrollment")
            ),
        )
    }
}

fn store(f: &Value) -> Check {
    if f["store_ok"] == Value::Bool(false) {
        return Check::fail(
            "store",
            format!("the database does not answer: {}", str_of(f, "store_error")),
            "every sign-in that needs the database fails closed",
            "check the database (disk space, permissions, PostgreSQL reachable) and `journalctl -u twofoldd`",
        );
    }
    let d = str_of(f, "store");
    let lower = d.to_ascii_lowercase();
    let weak = [
        "synchronous=normal",
        "synchronous=off",
        "synchronous_commit=off",
        "synchronous_commit=local",
    ]
    .iter()
    .find(|w| lower.contains(**w));
    match weak {
        Some(w) => Check::warn(
            "store.durability",
            format!("database durability: {d}"),
            format!(
                "with {w} a power loss may roll back the last acknowledged writes: a consumed code could work again, a confirmed enrollment could vanish"
            ),
            "use the default: store.sqlite_synchronous = \"full\" in twofoldd.toml (PostgreSQL: synchronous_commit = on), then restart twofoldd",
        ),
        None => Check::ok("store.durability", format!("database durability: {d}")),
    }
}

fn fallback(f: &Value, s: &Value) -> Check {
    if flag(s, &["allow_fallback_methods"]) {
        return Check::ok(
            "users.default_unavailable",
            "Allow Fallback Methods is on: a user whose default method is unavailable can pick another",
        );
    }
    let list = list_of(f, "default_unavailable");
    if list.is_empty() {
        return Check::ok(
            "users.default_unavailable",
            "Allow Fallback Methods is off and every user's default method is available",
        );
    }
    let who: Vec<String> = list
        .iter()
        .map(|u| {
            format!(
                "{} (default {}: {})",
                text(&u["user"]),
                text(&u["method"]),
                text(&u["why"])
            )
        })
        .collect();
    Check::fail(
        "users.default_unavailable",
        format!(
            "Allow Fallback Methods is off and {} user(s) cannot use their default method: {}",
            list.len(),
            who.join("; ")
        ),
        "when fallback is off users are locked to their default method, so these users are offered no alternate and cannot complete a second factor",
        format!(
            "if the policy is intentional, reset each user's enrollment (twofoldctl users reset {}) and have them re-enroll with the default method; if not, enable fallback: twofoldctl settings set allow_fallback_methods true",
            text(&list[0]["user"])
        ),
    )
}

fn pending(f: &Value, threshold: u32) -> Check {
    let ov = &f["overview"];
    let n = int_of(ov, "pending");
    if n >= i64::from(threshold.max(1)) {
        Check::warn(
            "users.pending",
            format!("{n} user(s) are pending: they started enrollment but never confirmed a code"),
            "users got stuck on the QR scan, or skipped an optional enrollment",
            "send the manual-entry instructions: twofoldctl users remind-pending; or clear them: twofoldctl users reset-pending --yes; if 2FA adoption is mandatory: twofoldctl settings set authenticator_enrollment required",
        )
    } else {
        Check::ok(
            "users.pending",
            format!(
                "{n} pending, {} enrolled, {} not enrolled, {} locked",
                int_of(ov, "enrolled"),
                int_of(ov, "not_enrolled"),
                int_of(ov, "locked")
            ),
        )
    }
}

fn sms(f: &Value, s: &Value) -> Check {
    let allowed = flag(s, &["methods", "sms"]);
    let provider = s["sms_provider"].as_str();
    if !allowed && provider.is_none() {
        return Check::ok(
            "delivery.sms",
            "SMS is not allowed; no SMS provider to check",
        );
    }
    let Some(name) = provider else {
        return Check::fail(
            "delivery.sms",
            "SMS is allowed but no SMS provider integration is selected",
            "SMS provider Integration is not configured: SMS verification cannot send codes",
            "twofoldctl integrations add NAME --kind twilio --url URL --account SID --token-file FILE; then twofoldctl integrations use-for-sms NAME",
        );
    };
    let d = &f["delivery"];
    if !d.is_object() {
        return Check::skip(
            "delivery.sms",
            format!(
                "SMS provider {name} is selected; this twofoldd cannot report integration health"
            ),
        );
    }
    let sms = &d["sms"];
    if sms["checked"] == Value::Bool(false) && str_of(sms, "state") == "unknown" {
        return Check::skip(
            "delivery.sms",
            format!(
                "SMS provider {name} has never been checked or used; run doctor without --no-provider-check, or twofoldctl integrations check {name}"
            ),
        );
    }
    if sms["healthy"] == Value::Bool(true) {
        Check::ok(
            "delivery.sms",
            format!("SMS provider {name} is healthy: {}", str_of(sms, "detail")),
        )
    } else {
        Check::fail(
            "delivery.sms",
            format!(
                "SMS provider integration {name} is unhealthy: {}",
                str_of(sms, "detail")
            ),
            "SMS provider Integration is unhealthy: codes are not sent (or the provider refuses them)",
            format!(
                "check the credentials (twofoldctl integrations check {name}; replace them with twofoldctl integrations add {name} ...), look at the provider's console for throttle errors, and send a test: twofoldctl integrations test-sms +NUMBER"
            ),
        )
    }
}

fn smtp(f: &Value, s: &Value) -> Check {
    let allowed = flag(s, &["methods", "email"]);
    let d = &f["delivery"];
    if !allowed {
        return Check::ok(
            "delivery.smtp",
            "email codes are not allowed; SMTP not needed for codes",
        );
    }
    if !d.is_object() {
        return Check::skip(
            "delivery.smtp",
            "email codes are allowed; this twofoldd cannot report SMTP reachability",
        );
    }
    let m = &d["smtp"];
    if m["configured"] != Value::Bool(true) {
        return Check::fail(
            "delivery.smtp",
            "email codes are allowed but no SMTP relay is configured",
            "Email Delivery Issues: with no sender configured, email codes are never sent",
            "configure [delivery.smtp] in twofoldd.toml and the sender: twofoldctl settings set email.from_address security@example.com",
        );
    }
    if m["checked"] == Value::Bool(false) && str_of(m, "state") == "unknown" {
        return Check::skip(
            "delivery.smtp",
            format!(
                "SMTP relay {} has never been checked or used; run doctor without --no-provider-check",
                str_of(m, "name")
            ),
        );
    }
    if m["reachable"] == Value::Bool(true) {
        Check::ok(
            "delivery.smtp",
            format!("SMTP relay reachable: {}", str_of(m, "detail")),
        )
    } else {
        Check::fail(
            "delivery.smtp",
            format!("the SMTP relay is not reachable: {}", str_of(m, "detail")),
            "Email Delivery Issues: codes wait in the outbox and expire before they are sent",
            "check the relay's host and port in twofoldd.toml and the network path, then send a test: twofoldctl email test ADDR; see twofoldctl delivery log --channel email",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::super::check::Status;
    use super::*;
    use serde_json::json;

    fn facts(store: &str) -> Value {
        json!({
            "store_ok": true,
            "store": store,
            "settings": {"enabled": true, "methods": {"authenticator_app": true}},
            "overview": {"pending": 0},
            "default_unavailable": [],
            "delivery": null,
        })
    }

    fn status(f: &Value, id: &str) -> Status {
        checks(f, 10)
            .into_iter()
            .find(|c| c.id == id)
            .map(|c| c.status)
            .unwrap_or(Status::Skip)
    }

    #[test]
    fn weak_durability_is_a_warning_and_full_is_fine() {
        let ok = facts("sqlite /x.db (WAL, synchronous=FULL)");
        assert_eq!(status(&ok, "store.durability"), Status::Ok);
        for weak in [
            "sqlite /x.db (WAL, synchronous=NORMAL)",
            "postgresql://db/test (synchronous_commit=off)",
        ] {
            assert_eq!(
                status(&facts(weak), "store.durability"),
                Status::Warn,
                "{weak}"
            );
        }
    }

    #[test]
    fn an_unanswering_store_is_the_only_finding() {
        let f =
            json!({"store_ok": false, "store": "sqlite /x.db", "store_error": "disk I/O error"});
        let c = checks(&f, 10);
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].status, Status::Fail);
        assert!(c[0].summary.contains("disk I/O error"));
    }

    #[test]
    fn sms_allowed_without_a_provider_is_named() {
        let mut f = facts("sqlite");
        f["settings"]["methods"]["sms"] = json!(true);
        assert_eq!(status(&f, "delivery.sms"), Status::Fail);
    }
}
