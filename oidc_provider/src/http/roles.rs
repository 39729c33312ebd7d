//! The roles of a web sign-in, for role exemptions in the decision.
//!
//! With the PAM first factor the user is a host account (local, sssd, LDAP), so the roles are
//! its groups as NSS resolves them, as the daemon does for SSH sign-ins. Local web users have no
//! groups.

use crate::http::config::FirstFactor;

/// The user's groups (names), or none for local web users.
pub fn of(how: &FirstFactor, user: &str) -> Vec<String> {
    match how {
        FirstFactor::Local => Vec::new(),
        FirstFactor::Pam(_) => crate::nss::groups_of(user),
    }
}
