//! Wire types shared by `twofoldd`, `pam_twofold.so` and `twofoldctl`.
//!
//! This module depends on `serde` only, so the PAM module can link it without pulling in
//! the store, crypto or an async runtime (build `twofold-core` with `default-features = false`).
//!
//! Framing on both Unix sockets (PAM and admin): a 4-byte big-endian length, then that many
//! bytes of JSON. A frame larger than [`MAX_FRAME`] is refused by both sides.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::io::{self, Read, Write};

/// Protocol version carried in every request; the daemon refuses other versions with a clear error.
pub const PROTOCOL_VERSION: u32 = 1;
/// Largest frame either side accepts, in bytes.
pub const MAX_FRAME: usize = 64 * 1024;
/// Default path of the PAM socket.
pub const DEFAULT_PAM_SOCKET: &str = "/run/twofold/pam.sock";
/// Default path of the admin socket.
pub const DEFAULT_ADMIN_SOCKET: &str = "/run/twofold/admin.sock";

/// A second-factor method as users and settings name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// TOTP from an authenticator app ("Authenticator App").
    AuthenticatorApp,
    /// A code sent by SMS.
    Sms,
    /// A code sent by email.
    Email,
    /// One of the user's single-use backup codes.
    BackupCode,
}

impl Method {
    /// Every method, in the order they are offered after the default.
    pub const ALL: [Method; 4] = [
        Method::AuthenticatorApp,
        Method::Sms,
        Method::Email,
        Method::BackupCode,
    ];

    /// The settings name (`authenticator_app`, `sms`, `email`, `backup_code`).
    pub fn as_str(self) -> &'static str {
        match self {
            Method::AuthenticatorApp => "authenticator_app",
            Method::Sms => "sms",
            Method::Email => "email",
            Method::BackupCode => "backup_code",
        }
    }

    /// Words shown to a person at a prompt.
    pub fn label(self) -> &'static str {
        match self {
            Method::AuthenticatorApp => "authenticator app",
            Method::Sms => "text message (SMS)",
            Method::Email => "email",
            Method::BackupCode => "backup code",
        }
    }

    /// Parses the settings name, and the short aliases a user may type at a prompt.
    pub fn parse(s: &str) -> Option<Method> {
        match s.trim().to_ascii_lowercase().as_str() {
            "authenticator_app" | "app" | "totp" | "authenticator" => {
                Some(Method::AuthenticatorApp)
            }
            "sms" | "text" => Some(Method::Sms),
            "email" | "mail" => Some(Method::Email),
            "backup_code" | "backup" | "backup_codes" => Some(Method::BackupCode),
            _ => None,
        }
    }

    /// SMS and email codes are sent by the daemon; the others are in the user's hands.
    pub fn is_out_of_band(self) -> bool {
        matches!(self, Method::Sms | Method::Email)
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A code typed by a user. Its `Debug` never shows the value; its memory is wiped on drop.
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Code(String);

impl Code {
    /// Wraps a code as typed.
    pub fn new(s: impl Into<String>) -> Code {
        Code(s.into())
    }
    /// The code as typed. Callers must not log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Code([redacted])")
    }
}

impl Drop for Code {
    /// A code may still be valid (a backup code, an SMS code): wipe it from memory when done.
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.0);
    }
}

/// A request from the PAM module to the daemon.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PamRequest {
    /// Must equal [`PROTOCOL_VERSION`].
    pub v: u32,
    /// What is asked.
    pub op: PamOp,
}

/// What the PAM module asks.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum PamOp {
    /// A sign-in needs deciding: may open a verification session.
    Begin {
        /// PAM_USER.
        user: String,
        /// PAM_SERVICE (sshd, login, sudo, ...).
        service: String,
        /// PAM_RHOST, if any.
        rhost: Option<String>,
        /// PAM_TTY, if any.
        tty: Option<String>,
        /// The user's groups, when the caller resolved them. `None` (what the module sends): the
        /// daemon looks them up through NSS itself, and only when the policy names a role.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        groups: Option<Vec<String>>,
    },
    /// The user answered a challenge.
    Verify {
        /// Verification session id from the challenge.
        session: String,
        /// The method the code is for.
        method: Method,
        /// The code as typed.
        code: Code,
    },
    /// The user picked another method (fallback) or asked to resend an SMS/email code.
    Switch {
        /// Verification session id.
        session: String,
        /// The method wanted; the same method again means "resend".
        method: Method,
    },
    /// The user accepted (or must go through) enrollment: issue a secret.
    EnrollStart {
        /// Verification session id from the `Enroll` reply.
        session: String,
    },
    /// The user typed the first code from the new authenticator entry.
    EnrollConfirm {
        /// Verification session id.
        session: String,
        /// The code as typed.
        code: Code,
    },
    /// The user declined optional enrollment.
    EnrollSkip {
        /// Verification session id.
        session: String,
    },
}

/// What the daemon answers to the PAM module.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "reply", rename_all = "snake_case")]
pub enum PamReply {
    /// No second factor is needed this time; `reason` says why.
    Allow {
        /// Plain-words reason chain.
        reason: String,
    },
    /// The sign-in is refused without a prompt.
    Deny {
        /// Plain-words reason chain.
        reason: String,
    },
    /// The user has no usable second factor and enrollment is not possible here.
    NotEnrolled {
        /// Plain-words reason chain.
        reason: String,
    },
    /// Ask the user for a code.
    Challenge(Challenge),
    /// Offer (or require) enrollment of an authenticator app.
    Enroll(EnrollOffer),
    /// A secret was issued: show the QR code and the text key, then ask for a code.
    EnrollSecret(EnrollSecret),
    /// Enrollment confirmed: show the backup codes once.
    Enrolled {
        /// The new backup codes, shown only now.
        backup_codes: Vec<String>,
    },
    /// The code was right: the sign-in may go on.
    Accepted {
        /// The method that succeeded.
        method: Method,
    },
    /// The code was wrong (or expired); the user may try again.
    Rejected {
        /// What to tell the user.
        message: String,
        /// The challenge to answer next.
        challenge: Challenge,
    },
    /// Too many invalid attempts: this verification session is over.
    Locked {
        /// What to tell the user.
        message: String,
    },
    /// The request could not be served (bad request, store unavailable, ...).
    Error {
        /// What went wrong, safe to log.
        message: String,
    },
}

/// A prompt for a code.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Challenge {
    /// Verification session id.
    pub session: String,
    /// The method asked for now.
    pub method: Method,
    /// Every method the user may switch to at this prompt (empty when fallback is off).
    pub alternatives: Vec<Method>,
    /// Informational text to show before the prompt ("A code was sent to +1 *** *** 4567").
    pub info: Option<String>,
    /// Invalid attempts left in this session, or `None` for no limit.
    pub attempts_left: Option<u32>,
    /// Resends left in this session for SMS/email, or `None` for no limit.
    pub resends_left: Option<u32>,
}

/// An enrollment offer.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct EnrollOffer {
    /// Verification session id.
    pub session: String,
    /// `true` when the settings require enrollment (no skip).
    pub required: bool,
}

/// A freshly issued (pending) TOTP secret.
#[derive(Clone, Serialize, Deserialize)]
pub struct EnrollSecret {
    /// Verification session id.
    pub session: String,
    /// The manual-entry text key (base32, grouped by four).
    pub text_key: String,
    /// The `otpauth://` URI encoded in the QR code.
    pub otpauth_uri: String,
    /// The QR code drawn with Unicode half blocks, for a terminal.
    pub qr_terminal: String,
}

impl fmt::Debug for EnrollSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EnrollSecret")
            .field("session", &self.session)
            .field("text_key", &"[redacted]")
            .finish_non_exhaustive()
    }
}

/// A request on the admin socket (or the admin HTTPS API).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AdminRequest {
    /// Must equal [`PROTOCOL_VERSION`].
    pub v: u32,
    /// Who asks: filled by the daemon from the peer credentials, never trusted from the client.
    #[serde(default)]
    pub admin: Option<String>,
    /// The command name, e.g. `settings.show`, `users.reset`.
    pub cmd: String,
    /// Command arguments as a JSON object.
    #[serde(default)]
    pub args: serde_json::Value,
}

/// The daemon's answer on the admin socket.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AdminReply {
    /// `true` when the command was carried out.
    pub ok: bool,
    /// The result (command-specific JSON) when `ok`.
    #[serde(default)]
    pub data: serde_json::Value,
    /// Why the command was refused, in words for a sysadmin.
    #[serde(default)]
    pub error: Option<String>,
    /// Machine-readable refusal kind: `usage` (bad arguments) or `refused` (valid but not allowed) or `internal`.
    #[serde(default)]
    pub kind: Option<String>,
}

/// Errors of framing and (de)serialization.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    /// I/O error, including timeouts.
    #[error("i/o: {0}")]
    Io(#[from] io::Error),
    /// A frame above [`MAX_FRAME`].
    #[error("frame of {0} bytes is larger than the limit of {MAX_FRAME}")]
    TooLarge(usize),
    /// Not valid JSON for the expected type.
    #[error("malformed message: {0}")]
    Json(#[from] serde_json::Error),
}

/// Writes one length-prefixed JSON frame.
pub fn write_frame<W: Write, T: Serialize>(w: &mut W, msg: &T) -> Result<(), FrameError> {
    let body = serde_json::to_vec(msg)?;
    if body.len() > MAX_FRAME {
        return Err(FrameError::TooLarge(body.len()));
    }
    let len = u32::try_from(body.len()).map_err(|_| FrameError::TooLarge(body.len()))?;
    let mut buf = Vec::with_capacity(4 + body.len());
    buf.extend_from_slice(&len.to_be_bytes());
    buf.extend_from_slice(&body);
    w.write_all(&buf)?;
    w.flush()?;
    Ok(())
}

/// Reads one length-prefixed JSON frame, refusing anything above [`MAX_FRAME`] before reading it.
pub fn read_frame<R: Read, T: for<'de> Deserialize<'de>>(r: &mut R) -> Result<T, FrameError> {
    let mut len = [0u8; 4];
    r.read_exact(&mut len)?;
    let len = u32::from_be_bytes(len) as usize;
    if len > MAX_FRAME {
        return Err(FrameError::TooLarge(len));
    }
    let mut body = vec![0u8; len];
    r.read_exact(&mut body)?;
    Ok(serde_json::from_slice(&body)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frame_round_trips() {
        let req = PamRequest {
            v: PROTOCOL_VERSION,
            op: PamOp::Verify {
                session: "s1".into(),
                method: Method::AuthenticatorApp,
                code: Code::new("123456"),
            },
        };
        let mut buf = Vec::new();
        write_frame(&mut buf, &req).unwrap();
        let back: PamRequest = read_frame(&mut buf.as_slice()).unwrap();
        match back.op {
            PamOp::Verify { code, .. } => assert_eq!(code.expose(), "123456"),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn an_oversized_length_is_refused_before_reading() {
        let mut buf = Vec::new();
        buf.extend_from_slice(&(u32::MAX).to_be_bytes());
        let err = read_frame::<_, PamRequest>(&mut buf.as_slice()).unwrap_err();
        assert!(matches!(err, FrameError::TooLarge(_)));
    }

    #[test]
    fn a_code_never_shows_in_debug() {
        let c = Code::new("987654");
        assert!(!format!("{c:?}").contains("987654"));
    }

    #[test]
    fn method_aliases_parse() {
        assert_eq!(Method::parse("TOTP"), Some(Method::AuthenticatorApp));
        assert_eq!(Method::parse("backup"), Some(Method::BackupCode));
        assert_eq!(Method::parse("fax"), None);
    }
}
