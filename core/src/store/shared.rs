//! Checks, conversions and messages both store backends share, so they refuse the same inputs
//! with the same words.

use crate::error::{Error, Result};
use crate::settings::Settings;
use crate::store::VersionedSettings;

/// Longest user name accepted (bytes). Unix allows 32; directory names can be longer.
pub(crate) const MAX_NAME_BYTES: usize = 256;

/// A user name the store accepts: non-empty, at most [`MAX_NAME_BYTES`], no control characters.
pub(crate) fn check_user_name(name: &str) -> Result<()> {
    if name.is_empty() {
        return Err(Error::Invalid("the user name is empty".into()));
    }
    if name.len() > MAX_NAME_BYTES {
        return Err(Error::Invalid(format!(
            "the user name is longer than {MAX_NAME_BYTES} bytes"
        )));
    }
    if name.chars().any(char::is_control) {
        return Err(Error::Invalid(
            "the user name contains control characters".into(),
        ));
    }
    Ok(())
}

/// An id (session) the store accepts: non-empty, at most 128 bytes.
pub(crate) fn check_id(id: &str) -> Result<()> {
    if id.is_empty() || id.len() > 128 || id.chars().any(char::is_control) {
        return Err(Error::Invalid(
            "a verification session id must be 1 to 128 printable characters".into(),
        ));
    }
    Ok(())
}

/// A stored non-negative count as `u32`, saturating.
pub(crate) fn to_u32(n: i64) -> u32 {
    u32::try_from(n.max(0)).unwrap_or(u32::MAX)
}

/// The error for a change to a user the store does not know.
pub(crate) fn unknown_user(name: &str) -> Error {
    Error::NotFound(format!("unknown user {name}"))
}

/// The error for an operation on a session that does not exist.
pub(crate) fn unknown_session() -> Error {
    Error::NotFound("unknown verification session".into())
}

/// The error for an operation on a session that has already ended.
pub(crate) fn ended_session(how: &str) -> Error {
    Error::Conflict(format!(
        "the verification session has already ended ({how}); start a new sign-in"
    ))
}

/// The error when a user already enrolled is given a new pending secret.
pub(crate) fn already_enrolled(name: &str) -> Error {
    Error::Conflict(format!(
        "user {name} is already enrolled; reset the enrollment before issuing a new secret"
    ))
}

/// The error when a settings save lost an optimistic-concurrency race.
pub(crate) fn settings_conflict(current: i64, expected: i64) -> Error {
    Error::Conflict(format!(
        "the settings were changed by someone else (now version {current}, your change was \
         based on version {expected}); reload them and try again"
    ))
}

/// The column `clear_contact` clears.
pub(crate) fn contact_column(field: &str) -> Result<&'static str> {
    match field {
        "phone" => Ok("phone"),
        "email" => Ok("email"),
        other => Err(Error::Invalid(format!(
            "unknown contact field {other:?}: use phone or email"
        ))),
    }
}

/// Refuses empty strings where `None` means "leave as it is" and a value must be real.
pub(crate) fn check_not_empty(what: &str, v: Option<&str>) -> Result<()> {
    if v.is_some_and(|s| s.trim().is_empty()) {
        return Err(Error::Invalid(format!(
            "the {what} is empty (to remove it, clear it instead)"
        )));
    }
    Ok(())
}

/// A batch of backup code hashes must not repeat a hash.
pub(crate) fn check_unique_hashes(hashes: &[[u8; 32]]) -> Result<()> {
    let mut seen = std::collections::HashSet::with_capacity(hashes.len());
    if hashes.iter().all(|h| seen.insert(*h)) {
        Ok(())
    } else {
        Err(Error::Invalid(
            "the batch of backup codes contains the same code twice".into(),
        ))
    }
}

/// Validates and serializes settings for storage.
pub(crate) fn encode_settings(settings: &Settings, expected_version: i64) -> Result<String> {
    if expected_version < 0 {
        return Err(Error::Invalid(format!(
            "settings version {expected_version} is not a version"
        )));
    }
    settings
        .validate()
        .map_err(|p| Error::Invalid(format!("the settings were not saved: {p}")))?;
    serde_json::to_string(settings)
        .map_err(|e| Error::Invalid(format!("the settings cannot be stored: {e}")))
}

/// Parses the stored settings document.
pub(crate) fn decode_settings(
    location: &str,
    version: i64,
    document: &str,
) -> Result<VersionedSettings> {
    let settings = serde_json::from_str::<Settings>(document).map_err(|e| Error::Database {
        location: location.to_string(),
        detail: format!("the stored settings (version {version}) cannot be read: {e}"),
    })?;
    Ok(VersionedSettings { settings, version })
}

/// `AuditFilter::limit` as SQL: 0 means no limit.
pub(crate) fn audit_limit(limit: u32) -> Option<i64> {
    (limit > 0).then_some(i64::from(limit))
}

/// The checks the single operations make before touching the database, for one write of a
/// batch (so a bad batch is refused before its transaction starts).
pub(crate) fn check_write(w: &crate::store::Write) -> Result<()> {
    use crate::store::Write;
    match w {
        Write::EnsureUser { name, .. } => check_user_name(name),
        Write::RecordSignin(s) => check_user_name(&s.user),
        Write::CreateSession(s) => {
            check_id(&s.id)?;
            check_user_name(&s.user)
        }
        Write::ReplaceBackupCodes { hashes, .. } => check_unique_hashes(hashes),
        Write::Audit(_)
        | Write::EndSession { .. }
        | Write::FinishSession { .. }
        | Write::ClearFailures { .. }
        | Write::SessionSetMethod { .. }
        | Write::PutOobCode { .. } => Ok(()),
    }
}

/// [`check_write`] for every write.
pub(crate) fn check_writes(ws: &[crate::store::Write]) -> Result<()> {
    ws.iter().try_for_each(check_write)
}
