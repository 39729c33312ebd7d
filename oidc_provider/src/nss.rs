//! A user's Unix groups through NSS (files, sssd, LDAP, systemd-userdb: whatever
//! `/etc/nsswitch.conf` says), for role exemptions in the decision. Used for SSH/console
//! sign-ins (the PAM module sends no groups: the engine asks here only when the policy names a
//! role) and for web sign-ins with the PAM first factor.

use twofold_core::engine::RoleSource;

/// The user's groups (names); none for a name NSS does not know or when NSS fails (a lookup
/// error never adds a role).
pub fn groups_of(user: &str) -> Vec<String> {
    use nix::unistd::{Group, User, getgrouplist};
    let Ok(Some(u)) = User::from_name(user) else {
        return Vec::new();
    };
    let Ok(name) = std::ffi::CString::new(user) else {
        return Vec::new();
    };
    let Ok(gids) = getgrouplist(&name, u.gid) else {
        return Vec::new();
    };
    let mut names: Vec<String> = gids
        .into_iter()
        .filter_map(|g| Group::from_gid(g).ok().flatten())
        .map(|g| g.name)
        .collect();
    names.sort();
    names.dedup();
    names
}

/// [`RoleSource`] over NSS.
#[derive(Debug, Clone, Copy, Default)]
pub struct NssRoles;

impl RoleSource for NssRoles {
    fn roles_of(&self, user: &str) -> Vec<String> {
        groups_of(user)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_is_in_the_root_group() {
        assert!(groups_of("root").iter().any(|g| g == "root"));
    }

    #[test]
    fn a_user_outside_the_root_group_is_not_reported_in_it() {
        // `daemon` is in `daemon` only on every Debian system. The `users` crate used before
        // read past getgrouplist's count and put every user in gid 0 (`root`).
        let g = groups_of("daemon");
        assert!(g.iter().any(|n| n == "daemon"), "{g:?}");
        assert!(!g.iter().any(|n| n == "root"), "{g:?}");
    }

    #[test]
    fn an_unknown_user_has_no_groups() {
        assert!(NssRoles.roles_of("no-such-user-twofold-test").is_empty());
    }
}
