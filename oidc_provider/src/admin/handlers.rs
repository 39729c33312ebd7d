//! Admin command handlers: one function per `twofoldctl` command, dispatched by name.
//!
//! Each handler reads its JSON arguments, calls the engine (which writes the audit event naming
//! the admin) and answers with stable JSON keys. Bad arguments are `usage` refusals, valid
//! requests the daemon will not carry out are `refused`, and failures inside are `internal`.
//! A refused or bad request changes nothing.

mod audit;
mod clients;
mod delivery;
mod doctor;
mod keys;
mod settings;
mod users;

use crate::Daemon;
use serde_json::Value;
use twofold_core::proto::{AdminReply, AdminRequest};

/// Why a command was not carried out.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// Bad arguments (the CLI exits 2).
    #[error("{0}")]
    Usage(String),
    /// A valid request the daemon will not carry out (the CLI exits 1).
    #[error("{0}")]
    Refused(String),
    /// Something failed inside (the CLI exits 1).
    #[error("{0}")]
    Internal(String),
}

impl From<twofold_core::Error> for AdminError {
    fn from(e: twofold_core::Error) -> Self {
        use twofold_core::Error as E;
        match e {
            E::Invalid(m) => AdminError::Usage(m),
            E::NotFound(m) | E::Conflict(m) => AdminError::Refused(m),
            other => AdminError::Internal(other.to_string()),
        }
    }
}

/// A handler's result.
pub type Reply = Result<Value, AdminError>;

/// Runs one admin command.
pub fn handle(d: &Daemon, req: &AdminRequest) -> AdminReply {
    let admin = req.admin.as_deref().unwrap_or("admin:unknown");
    let args = if req.args.is_null() {
        &Value::Object(Default::default())
    } else {
        &req.args
    };
    let result = if !args.is_object() {
        Err(AdminError::Usage("arguments must be a JSON object".into()))
    } else {
        dispatch(d, admin, &req.cmd, args)
    };
    match result {
        Ok(data) => {
            tracing::info!(admin, cmd = %req.cmd, "admin command done");
            AdminReply {
                ok: true,
                data,
                error: None,
                kind: None,
            }
        }
        Err(e) => {
            let kind = match &e {
                AdminError::Usage(_) => "usage",
                AdminError::Refused(_) => "refused",
                AdminError::Internal(_) => "internal",
            };
            tracing::info!(admin, cmd = %req.cmd, kind, error = %e, "admin command not carried out");
            super::refusal(kind, &e.to_string())
        }
    }
}

fn dispatch(d: &Daemon, admin: &str, cmd: &str, a: &Value) -> Reply {
    match cmd {
        "settings.show" => settings::show(d),
        "settings.export" => settings::export(d),
        "settings.set" => settings::set(d, admin, a),
        "settings.import" => settings::import(d, admin, a),
        "users.list" => users::list(d, a),
        "users.overview" => users::overview(d),
        "users.show" => users::show(d, a),
        "users.reset" => users::reset(d, admin, a),
        "users.reset_pending" => users::reset_pending(d, admin, a),
        "users.unlock" => users::unlock(d, admin, a),
        "users.backup_codes" => users::backup_codes(d, admin, a),
        "users.set_phone" => users::set_phone(d, admin, a),
        "users.set_email" => users::set_email(d, admin, a),
        "users.set_default_method" => users::set_default_method(d, admin, a),
        "users.remind_pending" => delivery::remind_pending(d, admin, a),
        "audit.query" => audit::query(d, a),
        "why" => audit::why(d, a),
        "doctor.facts" => doctor::facts(d, admin, a),
        "integrations.add" => delivery::add(d, admin, a),
        "integrations.show" => delivery::show(d, a),
        "integrations.list" => delivery::list(d, a),
        "integrations.use_for_sms" => delivery::use_for_sms(d, admin, a),
        "integrations.check" => delivery::check(d, admin, a),
        "integrations.test_sms" => delivery::test_sms(d, admin, a),
        "email.test" => delivery::test_email(d, admin, a),
        "delivery.log" => delivery::log(d, a),
        "delivery.counts" => delivery::counts(d, a),
        "keys.list" => keys::list(d),
        "keys.rotate" => keys::rotate(d, admin, a),
        "clients.list" => clients::list(d),
        "clients.add" => clients::add(d, admin, a),
        "clients.remove" => clients::remove(d, admin, a),
        other => Err(AdminError::Usage(format!(
            "unknown command {other:?} (this twofoldd may be older than twofoldctl)"
        ))),
    }
}

/// An optional string argument; a non-string value is a usage error.
pub fn opt_str<'a>(a: &'a Value, key: &str) -> Result<Option<&'a str>, AdminError> {
    match a.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.as_str())),
        Some(_) => Err(AdminError::Usage(format!("{key} must be a string"))),
    }
}

/// A required string argument.
pub fn req_str<'a>(a: &'a Value, key: &str) -> Result<&'a str, AdminError> {
    opt_str(a, key)?.ok_or_else(|| AdminError::Usage(format!("{key} is required")))
}

/// An optional integer argument.
pub fn opt_i64(a: &Value, key: &str) -> Result<Option<i64>, AdminError> {
    match a.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_i64()
            .map(Some)
            .ok_or_else(|| AdminError::Usage(format!("{key} must be an integer"))),
    }
}

/// A boolean argument, `false` when absent.
pub fn flag(a: &Value, key: &str) -> bool {
    a.get(key).and_then(Value::as_bool).unwrap_or(false)
}

/// The named user as the store keeps it; an unknown or malformed name is refused.
pub fn known_user(d: &Daemon, user: &str) -> Result<twofold_core::store::UserRecord, AdminError> {
    twofold_core::engine::check_user_name(user)?;
    d.engine.store.get_user(user)?.ok_or_else(|| {
        AdminError::Refused(format!(
            "unknown user {user:?}: twofold knows a user after their first sign-in (see `twofoldctl users list`)"
        ))
    })
}
