//! `audit.query` and `why`: the audit trail, and a user's decisions with their reasons.

use super::users::signin_json;
use super::{AdminError, Reply, known_user, opt_i64, opt_str, req_str};
use crate::Daemon;
use serde_json::{Value, json};
use twofold_core::decision::Verdict;
use twofold_core::engine::SignInAttempt;
use twofold_core::store::AuditFilter;

pub(super) fn query(d: &Daemon, a: &Value) -> Reply {
    let limit = opt_i64(a, "limit")?.unwrap_or(100);
    let limit = u32::try_from(limit)
        .ok()
        .filter(|l| (1..=10_000).contains(l))
        .ok_or_else(|| AdminError::Usage("limit must be between 1 and 10000".into()))?;
    let user = opt_str(a, "user")?;
    if let Some(u) = user {
        twofold_core::engine::check_user_name(u)?;
    }
    let f = AuditFilter {
        user: user.map(str::to_string),
        event_prefix: opt_str(a, "type")?.map(str::to_string),
        since: opt_i64(a, "since")?,
        until: opt_i64(a, "until")?,
        limit,
    };
    let events: Vec<Value> = d
        .engine
        .store
        .query_audit(&f)?
        .into_iter()
        .map(|e| {
            json!({
                "at": e.at, "actor": e.actor, "event": e.event,
                "user": e.user, "outcome": e.outcome, "detail": e.detail,
            })
        })
        .collect();
    Ok(json!({ "events": events }))
}

pub(super) fn why(d: &Daemon, a: &Value) -> Reply {
    let user = req_str(a, "user")?;
    known_user(d, user)?;
    let limit = opt_i64(a, "limit")?.unwrap_or(5);
    let limit = u32::try_from(limit)
        .ok()
        .filter(|l| *l <= 100)
        .ok_or_else(|| AdminError::Usage("limit must be between 0 and 100".into()))?;
    let history: Vec<Value> = d
        .engine
        .store
        .recent_signins(user, limit)?
        .iter()
        .map(signin_json)
        .collect();
    let roles: Vec<String> = match a.get("roles") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(v)) => v
            .iter()
            .map(|r| {
                r.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| AdminError::Usage("roles must be strings".into()))
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(AdminError::Usage("roles must be a list".into())),
    };
    let service = opt_str(a, "service")?.unwrap_or("sshd").to_string();
    let rhost = opt_str(a, "rhost")?.map(str::to_string);
    let attempt = SignInAttempt {
        user: user.to_string(),
        service: service.clone(),
        rhost: rhost.clone(),
        roles: roles.clone(),
        // No roles given: the user's Unix groups, as for an SSH sign-in.
        look_up_roles: a.get("roles").is_none(),
        device_token: None,
    };
    let dec = d.engine.decide_for(&attempt)?;
    let methods: Vec<&str> = match &dec.verdict {
        Verdict::Challenge { methods } => methods.iter().map(|m| m.as_str()).collect(),
        Verdict::Enroll { on_skip, .. } => on_skip.iter().map(|m| m.as_str()).collect(),
        _ => Vec::new(),
    };
    Ok(json!({
        "user": user,
        "history": history,
        "hypothetical": {
            "service": service,
            "rhost": rhost,
            "roles": roles,
            "verdict": dec.kind(),
            "methods": methods,
            // Split like the stored chains (`a; b`), so history and hypothesis read alike.
            "reasons": dec
                .reasons
                .iter()
                .flat_map(|r| r.split("; "))
                .filter(|r| !r.is_empty())
                .collect::<Vec<_>>(),
        },
    }))
}
