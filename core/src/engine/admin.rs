//! Administration: user views and overview counts, resets, unlock, backup-code regeneration,
//! settings changes, and contact details. Every change is an audit event naming the actor.

use super::{Engine, Overview, UserView, check_user_name, contact};
use crate::decision::{self, effective_default};
use crate::error::{Error, Result};
use crate::proto::Method;
use crate::settings::Settings;
use crate::store::{EnrollmentStatus, UserRecord};

impl Engine {
    fn existing_user(&self, user: &str) -> Result<UserRecord> {
        check_user_name(user)?;
        self.store
            .get_user(user)?
            .ok_or_else(|| Error::NotFound(format!("no user {user} is known to twofold")))
    }

    /// What an admin sees of one user (`twofoldctl users show`).
    pub fn user_view(&self, user: &str) -> Result<UserView> {
        let u = self.existing_user(user)?;
        let settings = self.settings()?;
        let facts = self.facts(&u)?;
        Ok(UserView {
            name: u.name.clone(),
            status: u.status,
            methods: decision::usable_methods(&settings, &facts),
            default_method: effective_default(&settings, &facts),
            phone_masked: u.phone.as_deref().map(contact::mask_phone),
            email_masked: u.email.as_deref().map(contact::mask_email),
            backup_codes_left: facts.backup_codes_left,
            consecutive_failures: u.consecutive_failures,
            locked: u.consecutive_failures >= settings.max_consecutive_failures,
            recent: self.store.recent_signins(&u.name, 10)?,
        })
    }

    /// Counts per enrollment state, and locked users (the Overview tab).
    pub fn overview(&self) -> Result<Overview> {
        let settings = self.settings()?;
        let mut o = Overview::default();
        for u in self.store.list_users(None)? {
            match u.status {
                EnrollmentStatus::NotEnrolled => o.not_enrolled += 1,
                EnrollmentStatus::Pending => o.pending += 1,
                EnrollmentStatus::Enrolled => o.enrolled += 1,
            }
            if u.consecutive_failures >= settings.max_consecutive_failures {
                o.locked += 1;
            }
        }
        Ok(o)
    }

    /// Deletes the user's secret, backup codes and remembered devices; the next sign-in enrolls
    /// again. `false` if the user is unknown.
    pub fn reset_enrollment(&self, admin: &str, user: &str) -> Result<bool> {
        check_user_name(user)?;
        let before = self.store.get_user(user)?;
        if !self.store.reset_enrollment(user)? {
            return Ok(false);
        }
        self.store.forget_devices(user)?;
        let was = before.map_or("unknown", |u| u.status.as_str());
        self.audit(
            admin,
            "user.reset",
            Some(user),
            "ok",
            format!(
                "enrollment reset by {admin} (was {was}): authenticator secret, backup codes and remembered devices deleted"
            ),
        )?;
        Ok(true)
    }

    /// Resets every pending user; returns their names.
    pub fn reset_pending(&self, admin: &str) -> Result<Vec<String>> {
        let names = self.store.reset_pending()?;
        for n in &names {
            self.audit(
                admin,
                "user.reset",
                Some(n),
                "ok",
                format!("pending enrollment reset by {admin} (bulk reset of pending users)"),
            )?;
        }
        Ok(names)
    }

    /// Clears the user's consecutive-failure count.
    pub fn unlock(&self, admin: &str, user: &str) -> Result<()> {
        let u = self.existing_user(user)?;
        self.store.clear_failures(user)?;
        self.audit(
            admin,
            "user.unlock",
            Some(user),
            "ok",
            format!(
                "consecutive failures cleared by {admin} (were {})",
                u.consecutive_failures
            ),
        )
    }

    /// Replaces the user's backup codes with a new batch (the old ones stop working) and
    /// returns them, shown once.
    pub fn regenerate_backup_codes(&self, actor: &str, user: &str) -> Result<Vec<String>> {
        let u = self.existing_user(user)?;
        let settings = self.settings()?;
        if !settings.methods.backup_codes {
            return Err(Error::Invalid(
                "backup codes are not an allowed method in the settings".into(),
            ));
        }
        if u.status != EnrollmentStatus::Enrolled {
            return Err(Error::Invalid(format!(
                "{user} has not enrolled an authenticator app; backup codes are issued at enrollment"
            )));
        }
        let shown = self.issue_backup_codes(user)?;
        self.audit(
            actor,
            "backup_codes.regenerate",
            Some(user),
            "ok",
            format!(
                "{} new backup codes issued by {actor}; earlier codes invalidated",
                shown.len()
            ),
        )?;
        Ok(shown)
    }

    /// Validates and saves a whole settings document if the stored version is still
    /// `expected_version`; returns the new version. The audit event lists old and new values.
    pub fn update_settings(
        &self,
        admin: &str,
        new: Settings,
        expected_version: i64,
    ) -> Result<i64> {
        new.validate()
            .map_err(|p| Error::Invalid(format!("settings refused: {p}")))?;
        let old = self.store.load_settings()?;
        if old.version != expected_version {
            return Err(Error::Conflict(format!(
                "the settings changed since they were read (version {} now, {expected_version} expected); reload and try again",
                old.version
            )));
        }
        if old.settings == new {
            return Ok(old.version);
        }
        let version = self.store.save_settings(&new, expected_version)?;
        self.audit(
            admin,
            "settings.change",
            None,
            "ok",
            format!(
                "settings version {} -> {version} by {admin}:\n{}",
                old.version,
                settings_diff(&old.settings, &new)
            ),
        )?;
        Ok(version)
    }

    /// Sets the user's phone number from international format; returns the stored E.164 form.
    pub fn set_phone(&self, actor: &str, user: &str, raw: &str) -> Result<String> {
        check_user_name(user)?;
        let e164 = contact::parse_phone(raw)?;
        let before = self.store.ensure_user(user, self.now())?;
        self.store.set_contact(user, Some(&e164), None, None)?;
        let was = before
            .phone
            .as_deref()
            .map_or("none".to_string(), contact::mask_phone);
        self.audit(
            actor,
            "user.phone",
            Some(user),
            "ok",
            format!(
                "phone set to {} by {actor} (was {was})",
                contact::mask_phone(&e164)
            ),
        )?;
        Ok(e164)
    }

    /// Sets the user's email address after a sanity check; returns the stored form.
    pub fn set_email(&self, actor: &str, user: &str, raw: &str) -> Result<String> {
        check_user_name(user)?;
        let email = contact::parse_email(raw)?;
        let before = self.store.ensure_user(user, self.now())?;
        self.store.set_contact(user, None, Some(&email), None)?;
        let was = before
            .email
            .as_deref()
            .map_or("none".to_string(), contact::mask_email);
        self.audit(
            actor,
            "user.email",
            Some(user),
            "ok",
            format!(
                "email set to {} by {actor} (was {was})",
                contact::mask_email(&email)
            ),
        )?;
        Ok(email)
    }

    /// Sets the user's own default method; it must be allowed and usable for the user.
    pub fn set_default_method(&self, actor: &str, user: &str, method: Method) -> Result<()> {
        let u = self.existing_user(user)?;
        let settings = self.settings()?;
        if method == Method::BackupCode {
            return Err(Error::Invalid(
                "backup codes cannot be a default method; they are for recovery".into(),
            ));
        }
        let facts = self.facts(&u)?;
        if let Some(why) = decision::unusable_reason(method, &settings, &facts) {
            return Err(Error::Invalid(format!(
                "{method} cannot be {user}'s default method: {why}"
            )));
        }
        self.store.set_contact(user, None, None, Some(method))?;
        self.audit(
            actor,
            "user.default_method",
            Some(user),
            "ok",
            format!(
                "default method set to {method} by {actor} (was {})",
                u.default_method
                    .map_or("the settings' default", Method::as_str)
            ),
        )
    }
}

/// The settings that differ, one `-key = old` / `+key = new` pair per dotted key, in TOML.
pub fn settings_diff(old: &Settings, new: &Settings) -> String {
    let a = flatten(old);
    let b = flatten(new);
    let mut out = Vec::new();
    let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    for k in keys {
        match (a.get(k), b.get(k)) {
            (Some(x), Some(y)) if x == y => {}
            (x, y) => {
                if let Some(x) = x {
                    out.push(format!("-{k} = {x}"));
                }
                if let Some(y) = y {
                    out.push(format!("+{k} = {y}"));
                }
            }
        }
    }
    out.join("\n")
}

fn flatten(s: &Settings) -> std::collections::BTreeMap<String, String> {
    let mut m = std::collections::BTreeMap::new();
    if let Ok(v) = toml::Value::try_from(s) {
        walk(&v, String::new(), &mut m);
    }
    m
}

fn walk(v: &toml::Value, prefix: String, m: &mut std::collections::BTreeMap<String, String>) {
    match v {
        toml::Value::Table(t) if !t.is_empty() => {
            for (k, v) in t {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                walk(v, key, m);
            }
        }
        other => {
            m.insert(prefix, other.to_string());
        }
    }
}
