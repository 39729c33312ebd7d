//! Logging through `pam_syslog(3)`: LOG_AUTHPRIV, prefixed by libpam with
//! `pam_twofold(SERVICE:auth):`, and no `openlog` (the host's syslog identity stays its own).
//! Values that came from outside (user name, remote host) are escaped, so they cannot forge
//! log lines. Codes and secrets are never passed here.

use pam::module::PamHandle;
use std::ffi::{CString, c_char, c_int};

pub use libc::{LOG_DEBUG, LOG_ERR, LOG_INFO, LOG_NOTICE, LOG_WARNING};

#[link(name = "pam")]
unsafe extern "C" {
    fn pam_syslog(pamh: *const PamHandle, priority: c_int, fmt: *const c_char, ...);
}

/// Longest logged message, in characters.
const MAX_LEN: usize = 1024;

/// Escapes control characters (`\n` becomes `\x0a`) and bounds the length.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len().min(MAX_LEN));
    for c in s.chars() {
        if out.len() >= MAX_LEN {
            out.push_str("...");
            break;
        }
        if c.is_control() {
            out.push_str(&format!("\\x{:02x}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    out
}

/// Logs one line at `priority`.
pub fn log(pamh: &PamHandle, priority: c_int, msg: &str) {
    let Ok(line) = CString::new(escape(msg)) else {
        return;
    };
    // SAFETY: `pamh` is the live handle libpam passed to this hook; the format is a literal "%s"
    // consuming exactly one NUL-terminated string argument, which outlives the call.
    unsafe { pam_syslog(pamh, priority, c"%s".as_ptr(), line.as_ptr()) };
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn newlines_and_escapes_cannot_forge_lines() {
        assert_eq!(escape("bob\nroot logged in"), "bob\\x0aroot logged in");
        assert_eq!(escape("\x1b[2J"), "\\x1b[2J");
        assert!(escape(&"x".repeat(5000)).len() <= 1024 + 3);
    }
}
