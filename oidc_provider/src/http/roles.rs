//! The roles of a web sign-in, for role exemptions in the decision.
//!
//! With the PAM first factor the user is a host account (local, sssd, LDAP), so the roles are
//! its groups as NSS resolves them, like the PAM module does for SSH. Local web users have no
//! groups.

use crate::http::config::FirstFactor;

/// The user's groups (names), or none for local web users.
pub fn of(how: &FirstFactor, user: &str) -> Vec<String> {
    match how {
        FirstFactor::Local => Vec::new(),
        FirstFactor::Pam(_) => {
            let Some(u) = users::get_user_by_name(user) else {
                return Vec::new();
            };
            users::get_user_groups(user, u.primary_group_id())
                .unwrap_or_default()
                .iter()
                .filter_map(|g| g.name().to_str().map(str::to_string))
                .collect()
        }
    }
}
