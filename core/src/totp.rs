//! TOTP (RFC 6238): secrets, the manual-entry text key, the `otpauth://` URI, QR codes, and
//! verification that returns the matched step.
//!
//! Codes are SHA-1, 6 digits, 30-second steps (what every authenticator app supports). A code is
//! accepted when it matches a step within `window` steps of now; [`verify`] returns that step and
//! the engine then raises the user's high-water mark with
//! [`crate::store::Store::advance_totp_step`], so an accepted step and every earlier one are
//! never accepted again. [`verify`] never panics, whatever the code or the time.

use crate::clock::{Rng, UnixTime};
use qrcode::QrCode;
use qrcode::render::{svg, unicode};
use std::fmt;
use subtle::ConditionallySelectable;
use totp_rs::{Algorithm, Builder, Totp};
use zeroize::{Zeroize, Zeroizing};

/// Length of a secret issued by [`TotpSecret::generate`]: 160 bits (RFC 4226 R6).
pub const SECRET_BYTES: usize = 20;
/// Shortest secret accepted from storage: 128 bits (RFC 4226 R6 minimum).
pub const MIN_SECRET_BYTES: usize = 16;
/// Digits per code.
pub const DIGITS: usize = 6;
/// Seconds per step.
pub const PERIOD: i64 = 30;
/// Longest code input looked at; anything longer is refused before any work.
const MAX_INPUT: usize = 64;

/// A TOTP shared secret. Its `Debug` never shows the bytes; they are zeroed when dropped.
#[derive(Clone, PartialEq, Eq)]
pub struct TotpSecret(Zeroizing<Vec<u8>>);

impl TotpSecret {
    /// A fresh 160-bit secret from `rng`.
    pub fn generate(rng: &dyn Rng) -> TotpSecret {
        let mut b = vec![0u8; SECRET_BYTES];
        rng.fill(&mut b);
        TotpSecret(Zeroizing::new(b))
    }

    /// Wraps secret bytes (decrypted from storage, or a test vector). Refuses fewer than 128 bits.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<TotpSecret, String> {
        if bytes.len() < MIN_SECRET_BYTES {
            let n = bytes.len();
            let mut b = bytes;
            b.zeroize();
            return Err(format!(
                "a TOTP secret must have at least {MIN_SECRET_BYTES} bytes, not {n}"
            ));
        }
        Ok(TotpSecret(Zeroizing::new(bytes)))
    }

    /// Parses a base32 text key (spaces, dashes and case ignored, padding optional).
    pub fn from_base32(text: &str) -> Result<TotpSecret, String> {
        let mut clean: String = text
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '='))
            .map(|c| c.to_ascii_uppercase())
            .collect();
        let decoded = data_encoding::BASE32_NOPAD.decode(clean.as_bytes());
        clean.zeroize();
        match decoded {
            Ok(b) => TotpSecret::from_bytes(b),
            Err(_) => Err("the text key is not valid base32 (letters A-Z and digits 2-7)".into()),
        }
    }

    /// The secret bytes. Callers must not log them.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// Unpadded base32, as in the `otpauth://` URI.
    pub fn to_base32(&self) -> String {
        data_encoding::BASE32_NOPAD.encode(&self.0)
    }

    /// The manual-entry key: base32 in groups of four (`JBSW Y3DP EHPK 3PXP ...`).
    pub fn text_key(&self) -> String {
        let b32 = Zeroizing::new(self.to_base32());
        let mut out = String::with_capacity(b32.len() + b32.len() / 4);
        for (i, c) in b32.chars().enumerate() {
            if i > 0 && i % 4 == 0 {
                out.push(' ');
            }
            out.push(c);
        }
        out
    }

    /// The `otpauth://totp/ISSUER:USER?...` URI that authenticator apps scan.
    pub fn otpauth_uri(&self, issuer: &str, user: &str) -> String {
        let b32 = Zeroizing::new(self.to_base32());
        format!(
            "otpauth://totp/{}:{}?secret={}&issuer={}&algorithm=SHA1&digits={DIGITS}&period={PERIOD}",
            pct(issuer),
            pct(user),
            b32.as_str(),
            pct(issuer)
        )
    }

    fn totp(&self, algorithm: Algorithm, digits: usize) -> Option<Totp> {
        Builder::new()
            .with_algorithm(algorithm)
            .with_digits(u8::try_from(digits).ok()?)
            .with_skew(0)
            .with_step_duration(PERIOD as u64)
            .with_secret(self.0.to_vec())
            .build()
            .ok()
    }
}

impl fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TotpSecret([redacted])")
    }
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
fn pct(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The step containing `t` (`floor(t / 30)`), or `None` before the epoch.
pub fn step_at(t: UnixTime) -> Option<i64> {
    if t < 0 { None } else { Some(t / PERIOD) }
}

/// The 6-digit code of `secret` at time `t` (for tests and tools; `None` before the epoch).
pub fn code_at(secret: &TotpSecret, t: UnixTime) -> Option<String> {
    rfc6238_code(secret, Hash::Sha1, DIGITS, t)
}

/// HMAC hash of the RFC 6238 generator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hash {
    /// HMAC-SHA-1 (what twofold issues).
    Sha1,
    /// HMAC-SHA-256.
    Sha256,
    /// HMAC-SHA-512.
    Sha512,
}

/// The RFC 6238 generator with any hash and 6 to 8 digits, 30-second steps, T0 = 0. Used for
/// the RFC's Appendix B vectors; twofold itself issues SHA-1 / 6 digits only.
pub fn rfc6238_code(secret: &TotpSecret, hash: Hash, digits: usize, t: UnixTime) -> Option<String> {
    if !(6..=8).contains(&digits) {
        return None;
    }
    let t = u64::try_from(t).ok()?;
    let alg = match hash {
        Hash::Sha1 => Algorithm::SHA1,
        Hash::Sha256 => Algorithm::SHA256,
        Hash::Sha512 => Algorithm::SHA512,
    };
    Some(secret.totp(alg, digits)?.generate(t).to_string())
}

/// Normalizes a typed TOTP code: surrounding whitespace is trimmed and inner single ASCII spaces
/// (as apps display `123 456`) are removed; then it must be exactly 6 ASCII digits. Anything
/// else (other lengths, Unicode digits, signs, NUL) is `None`.
pub fn normalize_code(input: &str) -> Option<[u8; DIGITS]> {
    if input.len() > MAX_INPUT {
        return None;
    }
    let mut out = [0u8; DIGITS];
    let mut n = 0;
    for b in input.trim().bytes() {
        match b {
            b'0'..=b'9' if n < DIGITS => {
                out[n] = b;
                n += 1;
            }
            b' ' => {}
            _ => return None,
        }
    }
    (n == DIGITS).then_some(out)
}

/// Checks `code` against `secret` at server time `now`, accepting steps `now_step - window ..=
/// now_step + window`. Returns the matched step, or `None` for a wrong or malformed code or a
/// time before the epoch. Every candidate step is computed and compared in constant time; the
/// caller must then win [`crate::store::Store::advance_totp_step`] for that step.
pub fn verify(secret: &TotpSecret, code: &str, now: UnixTime, window: u8) -> Option<i64> {
    let digits = normalize_code(code)?;
    // Safe: the buffer holds ASCII digits only.
    let typed = std::str::from_utf8(&digits).ok()?;
    let origin = step_at(now)?;
    let totp = secret.totp(Algorithm::SHA1, DIGITS)?;
    let w = i64::from(window);
    let mut found = subtle::Choice::from(0);
    let mut matched: i64 = 0;
    for step in origin.saturating_sub(w)..=origin.saturating_add(w) {
        let Some(at) = step.checked_mul(PERIOD).and_then(|t| u64::try_from(t).ok()) else {
            continue;
        };
        // totp-rs compares its tokens in constant time; with skew 0 `check` looks at this step
        // only, and every step of the window is checked (no early exit).
        let hit = subtle::Choice::from(u8::from(totp.check(typed, at).is_some()));
        matched = i64::conditional_select(&matched, &step, hit & !found);
        found |= hit;
    }
    bool::from(found).then_some(matched)
}

/// The QR code of `uri` drawn with Unicode half blocks for a terminal, quiet zone included.
/// Light modules are drawn as blocks so it scans on the usual light-on-dark terminal.
pub fn qr_terminal(uri: &str) -> Result<String, String> {
    let code = QrCode::new(uri.as_bytes()).map_err(|e| format!("cannot draw a QR code: {e}"))?;
    Ok(code
        .render::<unicode::Dense1x2>()
        .dark_color(unicode::Dense1x2::Light)
        .light_color(unicode::Dense1x2::Dark)
        .quiet_zone(true)
        .build())
}

/// The QR code of `uri` as an SVG document (black on white, quiet zone included).
pub fn qr_svg(uri: &str) -> Result<String, String> {
    let code = QrCode::new(uri.as_bytes()).map_err(|e| format!("cannot draw a QR code: {e}"))?;
    Ok(code
        .render::<svg::Color<'_>>()
        .min_dimensions(200, 200)
        .dark_color(svg::Color("#000000"))
        .light_color(svg::Color("#ffffff"))
        .quiet_zone(true)
        .build())
}

#[cfg(test)]
mod tests;
