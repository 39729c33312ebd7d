//! `users.*`: list, overview, show, resets, unlock, backup codes, contact details.

use super::{AdminError, Reply, flag, known_user, opt_str, req_str};
use crate::Daemon;
use serde_json::{Value, json};
use twofold_core::decision::{self, UserFacts};
use twofold_core::engine::{mask_email, mask_phone};
use twofold_core::proto::Method;
use twofold_core::store::{EnrollmentStatus, SignIn, Store, UserRecord};

/// The decision facts of a stored user.
pub(super) fn facts_of(store: &dyn Store, u: &UserRecord) -> Result<UserFacts, AdminError> {
    Ok(UserFacts {
        status: u.status,
        default_method: u.default_method,
        has_phone: u.phone.is_some(),
        has_email: u.email.is_some(),
        backup_codes_left: store.backup_codes_left(&u.name)?,
        consecutive_failures: u.consecutive_failures,
    })
}

fn methods(ms: &[Method]) -> Vec<&'static str> {
    ms.iter().map(|m| m.as_str()).collect()
}

/// A sign-in as JSON, its reason chain split into steps.
pub(super) fn signin_json(s: &SignIn) -> Value {
    json!({
        "at": s.at,
        "service": s.service,
        "rhost": s.rhost,
        "outcome": s.outcome,
        "reasons": s.reason.split("; ").filter(|r| !r.is_empty()).collect::<Vec<_>>(),
    })
}

pub(super) fn list(d: &Daemon, a: &Value) -> Reply {
    let store = d.engine.store.as_ref();
    let filter = opt_str(a, "status")?;
    let (status, locked_only) = match filter {
        None => (None, false),
        Some("locked") => (None, true),
        Some(s) => (
            Some(EnrollmentStatus::parse(s).ok_or_else(|| {
                AdminError::Usage(format!(
                    "status must be not_enrolled, pending, enrolled or locked, not {s:?}"
                ))
            })?),
            false,
        ),
    };
    let settings = store.load_settings()?.settings;
    let mut users = Vec::new();
    for u in store.list_users(status)? {
        let locked = u.consecutive_failures >= settings.max_consecutive_failures;
        if locked_only && !locked {
            continue;
        }
        let f = facts_of(store, &u)?;
        users.push(json!({
            "name": u.name,
            "status": u.status.as_str(),
            "locked": locked,
            "consecutive_failures": u.consecutive_failures,
            "methods": methods(&decision::usable_methods(&settings, &f)),
            "default_method": decision::effective_default(&settings, &f).as_str(),
            "backup_codes_left": f.backup_codes_left,
        }));
    }
    Ok(json!({ "users": users }))
}

pub(super) fn overview(d: &Daemon) -> Reply {
    let o = d.engine.overview()?;
    Ok(json!({
        "not_enrolled": o.not_enrolled,
        "pending": o.pending,
        "enrolled": o.enrolled,
        "locked": o.locked,
        "total": o.not_enrolled + o.pending + o.enrolled,
    }))
}

pub(super) fn show(d: &Daemon, a: &Value) -> Reply {
    let user = req_str(a, "user")?;
    known_user(d, user)?;
    let v = d.engine.user_view(user)?;
    Ok(json!({
        "name": v.name,
        "status": v.status.as_str(),
        "methods": methods(&v.methods),
        "default_method": v.default_method.as_str(),
        "phone": v.phone_masked,
        "email": v.email_masked,
        "backup_codes_left": v.backup_codes_left,
        "consecutive_failures": v.consecutive_failures,
        "locked": v.locked,
        "recent": v.recent.iter().map(signin_json).collect::<Vec<_>>(),
    }))
}

pub(super) fn reset(d: &Daemon, admin: &str, a: &Value) -> Reply {
    let user = req_str(a, "user")?;
    let before = known_user(d, user)?;
    if !d.engine.reset_enrollment(admin, user)? {
        return Err(AdminError::Refused(format!("unknown user {user:?}")));
    }
    Ok(json!({ "user": user, "reset": true, "was": before.status.as_str() }))
}

pub(super) fn reset_pending(d: &Daemon, admin: &str, a: &Value) -> Reply {
    if !flag(a, "confirm") {
        return Err(AdminError::Usage(
            "resetting every pending user needs confirmation (confirm: true; twofoldctl users reset-pending --yes); nothing was changed".into(),
        ));
    }
    let names = d.engine.reset_pending(admin)?;
    Ok(json!({ "count": names.len(), "reset": names }))
}

pub(super) fn unlock(d: &Daemon, admin: &str, a: &Value) -> Reply {
    let user = req_str(a, "user")?;
    let before = known_user(d, user)?;
    d.engine.unlock(admin, user)?;
    Ok(json!({ "user": user, "unlocked": true, "failures_cleared": before.consecutive_failures }))
}

pub(super) fn backup_codes(d: &Daemon, admin: &str, a: &Value) -> Reply {
    let user = req_str(a, "user")?;
    known_user(d, user)?;
    let codes = d
        .engine
        .regenerate_backup_codes(admin, user)
        .map_err(|e| match e {
            twofold_core::Error::Invalid(m) => AdminError::Refused(m),
            other => other.into(),
        })?;
    Ok(json!({ "user": user, "codes": codes }))
}

pub(super) fn set_phone(d: &Daemon, admin: &str, a: &Value) -> Reply {
    let user = req_str(a, "user")?;
    let raw = req_str(a, "phone")?;
    if !flag(a, "create") {
        known_user(d, user)?;
    }
    let e164 = d.engine.set_phone(admin, user, raw)?;
    Ok(json!({ "user": user, "phone": e164, "masked": mask_phone(&e164) }))
}

pub(super) fn set_email(d: &Daemon, admin: &str, a: &Value) -> Reply {
    let user = req_str(a, "user")?;
    let raw = req_str(a, "email")?;
    if !flag(a, "create") {
        known_user(d, user)?;
    }
    let email = d.engine.set_email(admin, user, raw)?;
    Ok(json!({ "user": user, "email": email, "masked": mask_email(&email) }))
}

pub(super) fn set_default_method(d: &Daemon, admin: &str, a: &Value) -> Reply {
    let user = req_str(a, "user")?;
    let raw = req_str(a, "method")?;
    let method = Method::parse(raw).ok_or_else(|| {
        AdminError::Usage(format!(
            "unknown method {raw:?}: use authenticator_app, sms or email"
        ))
    })?;
    known_user(d, user)?;
    d.engine
        .set_default_method(admin, user, method)
        .map_err(|e| match e {
            twofold_core::Error::Invalid(m) => AdminError::Refused(m),
            other => other.into(),
        })?;
    Ok(json!({ "user": user, "method": method.as_str() }))
}
