//! Module options, as written after the module path on a PAM service line.
//!
//! `socket=PATH` (absolute; default `/run/twofold/pam.sock`), `timeout=SECONDS` (1–60, default 10:
//! the whole budget of one request to the daemon), `nullok` (a user with no second factor gets
//! PAM_IGNORE instead of PAM_AUTH_ERR), `failmode=secure|safe` (what a daemon failure returns:
//! PAM_AUTHINFO_UNAVAIL, or PAM_IGNORE; never PAM_SUCCESS), `debug` (more syslog lines),
//! `echo_verification_code` (show the code while it is typed). Anything else is refused, so a typo
//! in a service file fails closed instead of silently weakening the stack.

use std::ffi::CStr;
use std::path::PathBuf;
use std::time::Duration;
use twofold_core::proto::DEFAULT_PAM_SOCKET;

/// What a daemon failure (unreachable, timeout, protocol error, `Error` reply) returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailMode {
    /// PAM_AUTHINFO_UNAVAIL (the default).
    Secure,
    /// PAM_IGNORE: the rest of the stack decides. Never PAM_SUCCESS.
    Safe,
}

/// The parsed options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// The daemon's PAM socket.
    pub socket: PathBuf,
    /// Time budget of one request to the daemon (connect, send, reply).
    pub timeout: Duration,
    /// Users with no usable second factor get PAM_IGNORE.
    pub nullok: bool,
    /// What daemon failures return.
    pub failmode: FailMode,
    /// Log the conversation's steps (never the codes).
    pub debug: bool,
    /// Echo the verification code while it is typed.
    pub echo_code: bool,
}

/// Default time budget of one daemon request.
pub const DEFAULT_TIMEOUT_SECS: u64 = 10;
/// Largest accepted `timeout=`: well below sshd's 120 s `LoginGraceTime`.
pub const MAX_TIMEOUT_SECS: u64 = 60;

impl Default for Options {
    fn default() -> Self {
        Options {
            socket: PathBuf::from(DEFAULT_PAM_SOCKET),
            timeout: Duration::from_secs(DEFAULT_TIMEOUT_SECS),
            nullok: false,
            failmode: FailMode::Secure,
            debug: false,
            echo_code: false,
        }
    }
}

impl Options {
    /// Parses the arguments libpam hands to the module.
    pub fn from_args(args: &[&CStr]) -> Result<Options, String> {
        let mut words = Vec::with_capacity(args.len());
        for a in args {
            match a.to_str() {
                Ok(s) => words.push(s),
                Err(_) => {
                    return Err(format!(
                        "option {:?} is not valid UTF-8",
                        a.to_string_lossy()
                    ));
                }
            }
        }
        Options::parse(words)
    }

    /// Parses options given as words. The error names the offending word.
    pub fn parse<'a>(words: impl IntoIterator<Item = &'a str>) -> Result<Options, String> {
        let mut o = Options::default();
        for w in words {
            match w.split_once('=') {
                Some(("socket", v)) => {
                    if v.is_empty() || !v.starts_with('/') {
                        return Err(format!("socket={v:?}: the socket must be an absolute path"));
                    }
                    // sockaddr_un holds 107 bytes plus the terminating NUL.
                    if v.len() > 107 {
                        return Err(format!("socket={v:?}: the path is longer than 107 bytes"));
                    }
                    o.socket = PathBuf::from(v);
                }
                Some(("timeout", v)) => {
                    let secs: u64 = v.parse().map_err(|_| {
                        format!(
                            "timeout={v:?}: expected whole seconds from 1 to {MAX_TIMEOUT_SECS}"
                        )
                    })?;
                    if !(1..=MAX_TIMEOUT_SECS).contains(&secs) {
                        return Err(format!(
                            "timeout={v}: expected whole seconds from 1 to {MAX_TIMEOUT_SECS}"
                        ));
                    }
                    o.timeout = Duration::from_secs(secs);
                }
                Some(("failmode", "secure")) => o.failmode = FailMode::Secure,
                Some(("failmode", "safe")) => o.failmode = FailMode::Safe,
                Some(("failmode", v)) => {
                    return Err(format!(
                        "failmode={v:?}: expected failmode=secure or failmode=safe"
                    ));
                }
                None if w == "nullok" => o.nullok = true,
                None if w == "debug" => o.debug = true,
                None if w == "echo_verification_code" || w == "echo-verification-code" => {
                    o.echo_code = true
                }
                _ => return Err(format!("unknown option {w:?}")),
            }
        }
        Ok(o)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_options_give_the_secure_defaults() {
        let o = Options::parse([]).unwrap_or_default();
        assert_eq!(o.socket, PathBuf::from("/run/twofold/pam.sock"));
        assert_eq!(o.timeout, Duration::from_secs(10));
        assert_eq!(o.failmode, FailMode::Secure);
        assert!(!o.nullok && !o.debug && !o.echo_code);
    }

    #[test]
    fn every_option_is_understood() {
        let o = Options::parse([
            "socket=/tmp/x.sock",
            "timeout=3",
            "nullok",
            "failmode=safe",
            "debug",
            "echo_verification_code",
        ]);
        assert_eq!(
            o,
            Ok(Options {
                socket: PathBuf::from("/tmp/x.sock"),
                timeout: Duration::from_secs(3),
                nullok: true,
                failmode: FailMode::Safe,
                debug: true,
                echo_code: true,
            })
        );
    }

    #[test]
    fn bad_options_are_refused_by_name() {
        for (bad, needle) in [
            ("nulok", "unknown option \"nulok\""),
            ("failmode=open", "failmode=\"open\""),
            ("timeout=0", "timeout=0"),
            ("timeout=61", "timeout=61"),
            ("timeout=ten", "timeout=\"ten\""),
            ("socket=relative.sock", "absolute"),
            ("socket=", "absolute"),
            ("secret=ABC", "unknown option"),
        ] {
            let err = Options::parse([bad]).err().unwrap_or_default();
            assert!(err.contains(needle), "{bad}: {err}");
        }
        let long = format!("socket=/{}", "a".repeat(120));
        assert!(Options::parse([long.as_str()]).is_err());
    }

    #[test]
    fn non_utf8_options_are_refused() {
        let raw = c"socket=/tmp/\xff";
        assert!(Options::from_args(&[raw]).is_err());
    }
}
