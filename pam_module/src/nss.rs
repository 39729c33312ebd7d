//! The user's Unix groups, resolved through NSS (`getpwnam_r`, `getgrouplist`, `getgrgid_r`), so
//! groups from LDAP or sssd count as well as `/etc/group`. The daemon maps them to roles (exempt
//! roles skip the second factor). Any lookup failure gives fewer groups, never more: an unknown
//! user has none, which can only make the sign-in stricter.

use std::ffi::{CStr, CString};

/// Largest buffer tried for one NSS record.
const MAX_BUF: usize = 1 << 20;
/// Most groups asked for.
const MAX_GROUPS: usize = 65_536;

/// Names of the groups `user` belongs to (primary group first), or none if unknown.
pub fn groups_of(user: &str) -> Vec<String> {
    let Ok(name) = CString::new(user) else {
        return Vec::new();
    };
    let Some(gid) = primary_gid(&name) else {
        return Vec::new();
    };
    let mut out: Vec<String> = Vec::new();
    for g in group_ids(&name, gid) {
        if let Some(n) = group_name(g)
            && !out.contains(&n)
        {
            out.push(n);
        }
    }
    out
}

fn primary_gid(name: &CStr) -> Option<libc::gid_t> {
    let mut size = 1024;
    loop {
        let mut buf = vec![0 as libc::c_char; size];
        // SAFETY: passwd is plain old data; all-zero is a valid value.
        let mut pw: libc::passwd = unsafe { std::mem::zeroed() };
        let mut result: *mut libc::passwd = std::ptr::null_mut();
        // SAFETY: every pointer is valid for the call and `buf` is `size` bytes long.
        let rc = unsafe {
            libc::getpwnam_r(name.as_ptr(), &mut pw, buf.as_mut_ptr(), size, &mut result)
        };
        if rc == libc::ERANGE && size < MAX_BUF {
            size *= 2;
            continue;
        }
        if rc != 0 || result.is_null() {
            return None;
        }
        return Some(pw.pw_gid);
    }
}

fn group_ids(name: &CStr, gid: libc::gid_t) -> Vec<libc::gid_t> {
    let mut n: libc::c_int = 32;
    loop {
        let cap = usize::try_from(n).unwrap_or(0).max(1);
        let mut groups = vec![0 as libc::gid_t; cap];
        let mut count = libc::c_int::try_from(cap).unwrap_or(libc::c_int::MAX);
        // SAFETY: `groups` has room for `count` entries; `count` is updated by the call.
        let rc = unsafe { libc::getgrouplist(name.as_ptr(), gid, groups.as_mut_ptr(), &mut count) };
        let count = usize::try_from(count).unwrap_or(0);
        if rc >= 0 {
            groups.truncate(count.min(cap));
            return groups;
        }
        // Too small: `count` now holds the number needed.
        if count <= cap || count > MAX_GROUPS {
            return vec![gid];
        }
        n = libc::c_int::try_from(count).unwrap_or(libc::c_int::MAX);
    }
}

fn group_name(gid: libc::gid_t) -> Option<String> {
    let mut size = 1024;
    loop {
        let mut buf = vec![0 as libc::c_char; size];
        // SAFETY: group is plain old data; all-zero is a valid value.
        let mut gr: libc::group = unsafe { std::mem::zeroed() };
        let mut result: *mut libc::group = std::ptr::null_mut();
        // SAFETY: every pointer is valid for the call and `buf` is `size` bytes long.
        let rc = unsafe { libc::getgrgid_r(gid, &mut gr, buf.as_mut_ptr(), size, &mut result) };
        if rc == libc::ERANGE && size < MAX_BUF {
            size *= 2;
            continue;
        }
        if rc != 0 || result.is_null() || gr.gr_name.is_null() {
            return None;
        }
        // SAFETY: on success gr_name points to a NUL-terminated string inside `buf`, alive here.
        let name = unsafe { CStr::from_ptr(gr.gr_name) };
        return Some(name.to_string_lossy().into_owned());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_is_in_the_root_group() {
        assert!(groups_of("root").contains(&"root".to_owned()));
    }

    #[test]
    fn an_unknown_user_has_no_groups() {
        assert!(groups_of("no-such-user-twofold-test").is_empty());
        assert!(groups_of("nul\0inside").is_empty());
    }
}
