//! The settings document: every knob the support guide names, with its choices and defaults.
//!
//! Settings are one document, validated as a whole ([`Settings::validate`]) and stored with a
//! version number so every daemon node sees a change (the store bumps the version on save).
//! The TOML form is what `twofoldctl settings export|import` reads and writes.

use crate::proto::Method;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// Maximum invalid attempts per verification session ("Maximum Invalid Attempts").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "LimitRepr", into = "LimitRepr")]
pub enum MaxInvalidAttempts {
    /// 3 (the default).
    Three,
    /// 5.
    Five,
    /// 10.
    Ten,
    /// No limit per session (the per-user consecutive-failure cap still applies).
    NoLimit,
}

impl MaxInvalidAttempts {
    /// The number, or `None` for no limit.
    pub fn get(self) -> Option<u32> {
        match self {
            MaxInvalidAttempts::Three => Some(3),
            MaxInvalidAttempts::Five => Some(5),
            MaxInvalidAttempts::Ten => Some(10),
            MaxInvalidAttempts::NoLimit => None,
        }
    }
}

/// Resends per verification session ("Resend Limit").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "LimitRepr", into = "LimitRepr")]
pub enum ResendLimit {
    /// 3 (the default).
    Three,
    /// 5.
    Five,
    /// No limit.
    NoLimit,
}

impl ResendLimit {
    /// The number, or `None` for no limit.
    pub fn get(self) -> Option<u32> {
        match self {
            ResendLimit::Three => Some(3),
            ResendLimit::Five => Some(5),
            ResendLimit::NoLimit => None,
        }
    }
}

#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum LimitRepr {
    Number(i64),
    Word(String),
}

fn limit_word(r: &LimitRepr) -> String {
    match r {
        LimitRepr::Number(n) => n.to_string(),
        LimitRepr::Word(w) => w.trim().to_ascii_lowercase().replace([' ', '-'], "_"),
    }
}

impl TryFrom<LimitRepr> for MaxInvalidAttempts {
    type Error = String;
    fn try_from(r: LimitRepr) -> Result<Self, String> {
        match limit_word(&r).as_str() {
            "3" => Ok(MaxInvalidAttempts::Three),
            "5" => Ok(MaxInvalidAttempts::Five),
            "10" => Ok(MaxInvalidAttempts::Ten),
            "no_limit" | "unlimited" => Ok(MaxInvalidAttempts::NoLimit),
            other => Err(format!(
                "max_invalid_attempts must be one of 3, 5, 10 or \"no_limit\", not {other}"
            )),
        }
    }
}

impl From<MaxInvalidAttempts> for LimitRepr {
    fn from(m: MaxInvalidAttempts) -> LimitRepr {
        match m.get() {
            Some(n) => LimitRepr::Number(i64::from(n)),
            None => LimitRepr::Word("no_limit".into()),
        }
    }
}

impl TryFrom<LimitRepr> for ResendLimit {
    type Error = String;
    fn try_from(r: LimitRepr) -> Result<Self, String> {
        match limit_word(&r).as_str() {
            "3" => Ok(ResendLimit::Three),
            "5" => Ok(ResendLimit::Five),
            "no_limit" | "unlimited" => Ok(ResendLimit::NoLimit),
            other => Err(format!(
                "resend_limit must be one of 3, 5 or \"no_limit\", not {other}"
            )),
        }
    }
}

impl From<ResendLimit> for LimitRepr {
    fn from(m: ResendLimit) -> LimitRepr {
        match m.get() {
            Some(n) => LimitRepr::Number(i64::from(n)),
            None => LimitRepr::Word("no_limit".into()),
        }
    }
}

/// When a second factor is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Enforcement {
    /// "Enforce for every login".
    EveryLogin,
    /// Risk-based "Enforce only for unrecognized devices": a remembered-device cookie or a
    /// remote address from the user's sign-in history skips the second factor.
    UnrecognizedDevices,
}

/// Whether users must enroll an authenticator app.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EnrollmentPolicy {
    /// Enrollment is forced at the next sign-in (only when the app method is allowed).
    Required,
    /// Enrollment is offered and may be skipped.
    Optional,
}

/// Which methods are allowed ("Allow the Authenticator App", ...).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AllowedMethods {
    /// TOTP from an authenticator app.
    pub authenticator_app: bool,
    /// SMS codes (RESTRICTED by NIST 63B; off by default).
    pub sms: bool,
    /// Email codes (not NIST-compliant; off by default).
    pub email: bool,
    /// Single-use backup codes.
    pub backup_codes: bool,
}

impl Default for AllowedMethods {
    fn default() -> Self {
        AllowedMethods {
            authenticator_app: true,
            sms: false,
            email: false,
            backup_codes: true,
        }
    }
}

impl AllowedMethods {
    /// Whether `m` is allowed.
    pub fn allows(&self, m: Method) -> bool {
        match m {
            Method::AuthenticatorApp => self.authenticator_app,
            Method::Sms => self.sms,
            Method::Email => self.email,
            Method::BackupCode => self.backup_codes,
        }
    }
}

/// A role's 2FA setting ("Security Roles configuration").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleSetting {
    /// Members of this role sign in without a second factor.
    pub exempt: bool,
}

/// What risk-based enforcement compares against.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DeviceRecognition {
    /// How long a "remember this device" cookie and a known remote address stay recognized.
    pub remember_days: u32,
    /// How many distinct recent remote addresses per user count as known.
    pub ip_history_depth: u32,
}

impl Default for DeviceRecognition {
    fn default() -> Self {
        DeviceRecognition {
            remember_days: 30,
            ip_history_depth: 10,
        }
    }
}

/// Email sender configuration ("Company Preferences").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct EmailSender {
    /// Sender address, e.g. `security@example.com`.
    pub from_address: Option<String>,
    /// Sender display name, e.g. `Example IT`.
    pub from_name: Option<String>,
    /// Name of the SMTP integration used to send.
    pub smtp_integration: Option<String>,
}

/// The whole settings document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// Master toggle "Enable Two-Factor Authentication".
    pub enabled: bool,
    /// Allowed methods.
    pub methods: AllowedMethods,
    /// "Default Method".
    pub default_method: Method,
    /// "Allow Fallback Methods": when off, users are locked to their default method.
    pub allow_fallback_methods: bool,
    /// "Enforce for every login" or "Enforce only for unrecognized devices".
    pub enforcement: Enforcement,
    /// "Authenticator Enrollment": required or optional.
    pub authenticator_enrollment: EnrollmentPolicy,
    /// "Maximum Invalid Attempts" per verification session.
    pub max_invalid_attempts: MaxInvalidAttempts,
    /// "Resend Limit" per verification session.
    pub resend_limit: ResendLimit,
    /// "Security Code Timeout": lifetime of SMS and email codes, in seconds (60..=3600).
    pub security_code_timeout_secs: u32,
    /// TOTP steps accepted either side of now (0 or 1; RFC 6238 recommends at most 1).
    pub totp_window: u8,
    /// Consecutive failures across sessions before the user is locked until a success-free
    /// admin clear (NIST 63B: at most 100).
    pub max_consecutive_failures: u32,
    /// Role name (Unix group for PAM, directory group for OIDC) → setting.
    pub roles: BTreeMap<String, RoleSetting>,
    /// Risk-based enforcement inputs.
    pub device_recognition: DeviceRecognition,
    /// Name of the selected SMS provider integration.
    pub sms_provider: Option<String>,
    /// Email sender configuration.
    pub email: EmailSender,
    /// Issuer name shown in authenticator apps.
    pub totp_issuer: String,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            enabled: true,
            methods: AllowedMethods::default(),
            default_method: Method::AuthenticatorApp,
            allow_fallback_methods: true,
            enforcement: Enforcement::EveryLogin,
            authenticator_enrollment: EnrollmentPolicy::Required,
            max_invalid_attempts: MaxInvalidAttempts::Three,
            resend_limit: ResendLimit::Three,
            security_code_timeout_secs: 300,
            totp_window: 1,
            max_consecutive_failures: 20,
            roles: BTreeMap::new(),
            device_recognition: DeviceRecognition::default(),
            sms_provider: None,
            email: EmailSender::default(),
            totp_issuer: "twofold".into(),
        }
    }
}

/// Why a settings document was refused: every problem found, each in words for a sysadmin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingsProblems(pub Vec<String>);

impl fmt::Display for SettingsProblems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join("; "))
    }
}

impl std::error::Error for SettingsProblems {}

/// Hard cap on consecutive failures (NIST 63B §5.2.2).
pub const NIST_FAILURE_CAP: u32 = 100;

impl Settings {
    /// Checks the document as a whole. Returns every problem, not only the first.
    pub fn validate(&self) -> Result<(), SettingsProblems> {
        let mut p = Vec::new();
        let any_method = Method::ALL.iter().any(|m| self.methods.allows(*m));
        if self.enabled && !any_method {
            p.push("two-factor authentication is enabled, but no method is allowed".to_string());
        }
        if self.enabled && !self.methods.allows(self.default_method) {
            p.push(format!(
                "default method {} is not allowed (allow it under methods, or choose an allowed default)",
                self.default_method
            ));
        }
        if self.default_method == Method::BackupCode {
            p.push("backup codes cannot be the default method; they are a recovery method".into());
        }
        if self.enabled
            && !self.methods.authenticator_app
            && !self.methods.sms
            && !self.methods.email
        {
            p.push("backup codes alone cannot be the only allowed method; allow the authenticator app, SMS or email".into());
        }
        if self.methods.sms && self.sms_provider.is_none() {
            p.push(
                "sms is allowed, but no SMS provider integration is selected (set sms_provider)"
                    .into(),
            );
        }
        if !(60..=3600).contains(&self.security_code_timeout_secs) {
            p.push(format!(
                "security_code_timeout_secs must be between 60 and 3600 seconds, not {}",
                self.security_code_timeout_secs
            ));
        }
        if self.totp_window > 1 {
            p.push(format!(
                "totp_window must be 0 or 1 step (RFC 6238 recommends at most one), not {}",
                self.totp_window
            ));
        }
        if self.max_consecutive_failures == 0 || self.max_consecutive_failures > NIST_FAILURE_CAP {
            p.push(format!(
                "max_consecutive_failures must be between 1 and {NIST_FAILURE_CAP}, not {}",
                self.max_consecutive_failures
            ));
        }
        if self.device_recognition.remember_days == 0 || self.device_recognition.remember_days > 365
        {
            p.push(format!(
                "device_recognition.remember_days must be between 1 and 365, not {}",
                self.device_recognition.remember_days
            ));
        }
        if self.device_recognition.ip_history_depth > 100 {
            p.push(format!(
                "device_recognition.ip_history_depth must be at most 100, not {}",
                self.device_recognition.ip_history_depth
            ));
        }
        for name in self.roles.keys() {
            if name.is_empty() || name.chars().any(|c| c.is_whitespace() || c.is_control()) {
                p.push(format!("role name {name:?} is not a valid group name"));
            }
        }
        if self.totp_issuer.is_empty() || self.totp_issuer.contains(':') {
            p.push("totp_issuer must be non-empty and must not contain ':'".into());
        }
        if p.is_empty() {
            Ok(())
        } else {
            Err(SettingsProblems(p))
        }
    }

    /// Methods the user may pick at a prompt, allowed by settings, default first.
    pub fn allowed_methods(&self) -> Vec<Method> {
        let mut v: Vec<Method> = Method::ALL
            .iter()
            .copied()
            .filter(|m| self.methods.allows(*m))
            .collect();
        v.sort_by_key(|m| *m != self.default_method);
        v
    }

    /// Parses the TOML form, with serde's message naming the key on error.
    #[cfg(feature = "engine")]
    pub fn from_toml(s: &str) -> Result<Settings, String> {
        toml::from_str(s).map_err(|e| e.to_string())
    }

    /// The TOML form, every key present.
    #[cfg(feature = "engine")]
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_default()
    }

    /// Applies one `key = value` change given in dotted form (`methods.sms`, `max_invalid_attempts`)
    /// with a TOML value (`true`, `5`, `"no_limit"`, `"sms"`); bare words are taken as strings.
    #[cfg(feature = "engine")]
    pub fn with_change(&self, key: &str, value: &str) -> Result<Settings, String> {
        let mut doc = serde_json::to_value(self).map_err(|e| e.to_string())?;
        let parsed: serde_json::Value = parse_value(value);
        let mut cur = &mut doc;
        let parts: Vec<&str> = key.split('.').collect();
        for (i, part) in parts.iter().enumerate() {
            let obj = cur
                .as_object_mut()
                .ok_or_else(|| format!("unknown setting {key:?}"))?;
            let last = i + 1 == parts.len();
            let is_map = parts[..i].last() == Some(&"roles");
            if last {
                if !obj.contains_key(*part) && !is_map {
                    return Err(unknown_setting(key));
                }
                obj.insert((*part).to_string(), parsed.clone());
                break;
            }
            if !obj.contains_key(*part) {
                if is_map {
                    obj.insert((*part).to_string(), serde_json::json!({"exempt": false}));
                } else {
                    return Err(unknown_setting(key));
                }
            }
            cur = obj.get_mut(*part).ok_or_else(|| unknown_setting(key))?;
        }
        serde_json::from_value(doc).map_err(|e| format!("{key}: {e}"))
    }
}

#[cfg(feature = "engine")]
fn unknown_setting(key: &str) -> String {
    format!("unknown setting {key:?} (see `twofoldctl settings show` for the names)")
}

#[cfg(feature = "engine")]
fn parse_value(value: &str) -> serde_json::Value {
    let wrapped = format!("v = {value}");
    match toml::from_str::<toml::Table>(&wrapped) {
        Ok(t) => t
            .get("v")
            .and_then(|v| serde_json::to_value(v).ok())
            .unwrap_or(serde_json::Value::Null),
        Err(_) => serde_json::Value::String(value.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_guide_and_are_valid() {
        let s = Settings::default();
        assert_eq!(s.max_invalid_attempts.get(), Some(3));
        assert_eq!(s.resend_limit.get(), Some(3));
        assert_eq!(s.default_method, Method::AuthenticatorApp);
        assert!(
            !s.methods.sms && !s.methods.email,
            "SMS and email are off by default"
        );
        s.validate().unwrap();
    }

    #[test]
    fn enabled_without_any_method_is_refused_in_plain_words() {
        let s = Settings {
            methods: AllowedMethods {
                authenticator_app: false,
                sms: false,
                email: false,
                backup_codes: false,
            },
            ..Settings::default()
        };
        let err = s.validate().unwrap_err().to_string();
        assert!(err.contains("enabled, but no method is allowed"), "{err}");
    }

    #[test]
    fn a_default_method_that_is_not_allowed_is_refused() {
        let s = Settings {
            default_method: Method::Sms,
            ..Settings::default()
        };
        let err = s.validate().unwrap_err().to_string();
        assert!(err.contains("default method sms is not allowed"), "{err}");
    }

    #[test]
    fn limits_accept_only_the_guides_choices() {
        for (v, ok) in [
            ("3", true),
            ("5", true),
            ("10", true),
            ("\"no_limit\"", true),
            ("4", false),
            ("0", false),
        ] {
            let r = toml::from_str::<Settings>(&format!("max_invalid_attempts = {v}"));
            assert_eq!(r.is_ok(), ok, "{v}: {r:?}");
        }
        assert!(toml::from_str::<Settings>("resend_limit = 10").is_err());
        let err = toml::from_str::<Settings>("max_invalid_attempts = 4")
            .unwrap_err()
            .to_string();
        assert!(err.contains("3, 5, 10"), "{err}");
    }

    #[test]
    fn unknown_keys_are_refused_with_their_name() {
        let err = toml::from_str::<Settings>("enabeld = true")
            .unwrap_err()
            .to_string();
        assert!(err.contains("enabeld"), "{err}");
    }

    #[test]
    fn toml_round_trips() {
        let mut s = Settings {
            max_invalid_attempts: MaxInvalidAttempts::NoLimit,
            ..Settings::default()
        };
        s.roles
            .insert("breakglass".into(), RoleSetting { exempt: true });
        let back = Settings::from_toml(&s.to_toml()).unwrap();
        assert_eq!(back, s);
    }

    #[test]
    fn a_dotted_change_applies_and_unknown_names_are_refused() {
        let s = Settings::default();
        let s2 = s.with_change("max_invalid_attempts", "no_limit").unwrap();
        assert_eq!(s2.max_invalid_attempts, MaxInvalidAttempts::NoLimit);
        let s3 = s.with_change("methods.email", "true").unwrap();
        assert!(s3.methods.email);
        let s4 = s.with_change("roles.wheel.exempt", "true").unwrap();
        assert!(s4.roles["wheel"].exempt);
        assert!(s.with_change("methods.fax", "true").is_err());
        assert!(s.with_change("max_invalid_attempts", "7").is_err());
    }

    #[test]
    fn the_default_method_is_offered_first() {
        let mut s = Settings::default();
        s.methods.email = true;
        s.default_method = Method::Email;
        assert_eq!(s.allowed_methods()[0], Method::Email);
    }
}
