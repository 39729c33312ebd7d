//! Backup codes and out-of-band (SMS/email) codes: generation, parsing and hashing.
//!
//! Backup codes are 12 symbols of Crockford base32 (60 bits), shown as `xxxx-xxxx-xxxx`. Parsing
//! is deliberately tolerant in one documented way: case, dashes and spaces are ignored, and the
//! look-alikes `O`→`0`, `I`/`L`→`1` are folded (Crockford's rule); anything else is refused.
//! Out-of-band codes are 6 to 8 decimal digits drawn without modulo bias.
//!
//! Only hashes are stored: HMAC-SHA256 under the deployment pepper ([`Keyring::mac`]), bound to
//! the user (backup codes) or to the verification session (out-of-band codes, R-23).

use crate::clock::{Rng, random_bytes};
use crate::crypto::Keyring;
use std::fmt;
use zeroize::{Zeroize, Zeroizing};

/// Codes per batch.
pub const BACKUP_BATCH: usize = 10;
/// Symbols per backup code.
pub const BACKUP_SYMBOLS: usize = 12;
/// Entropy of one backup code in bits.
pub const BACKUP_BITS: u32 = 5 * BACKUP_SYMBOLS as u32;
/// Digits of an out-of-band code by default.
pub const OOB_DIGITS: u8 = 6;
/// Crockford base32, lower case for display.
const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";
/// Longest input looked at before refusing.
const MAX_INPUT: usize = 64;

/// One backup code in canonical form (12 lower-case Crockford symbols). `Debug` is redacted.
#[derive(Clone, PartialEq, Eq)]
pub struct BackupCode(Zeroizing<String>);

impl BackupCode {
    /// A fresh random code (60 bits).
    pub fn generate(rng: &dyn Rng) -> BackupCode {
        let mut b: [u8; 8] = random_bytes(rng);
        let mut v = u64::from_be_bytes(b);
        b.zeroize();
        let mut s = String::with_capacity(BACKUP_SYMBOLS);
        for _ in 0..BACKUP_SYMBOLS {
            s.push(char::from(ALPHABET[(v & 31) as usize]));
            v >>= 5;
        }
        v.zeroize();
        BackupCode(Zeroizing::new(s))
    }

    /// Parses a typed code: case, dashes and spaces ignored, `o`→`0`, `i`/`l`→`1`. `None` if
    /// it is not exactly 12 symbols of the alphabet.
    pub fn parse(input: &str) -> Option<BackupCode> {
        if input.len() > MAX_INPUT {
            return None;
        }
        let mut s = Zeroizing::new(String::with_capacity(BACKUP_SYMBOLS));
        for c in input.trim().chars() {
            let c = match c.to_ascii_lowercase() {
                '-' | ' ' => continue,
                'o' => '0',
                'i' | 'l' => '1',
                c => c,
            };
            if !c.is_ascii() || !ALPHABET.contains(&(c as u8)) || s.len() == BACKUP_SYMBOLS {
                return None;
            }
            s.push(c);
        }
        (s.len() == BACKUP_SYMBOLS).then_some(BackupCode(s))
    }

    /// The display form, `xxxx-xxxx-xxxx`. Shown once, never logged.
    pub fn display(&self) -> String {
        let s = self.0.as_str();
        format!("{}-{}-{}", &s[0..4], &s[4..8], &s[8..12])
    }

    /// The stored hash, bound to `user`.
    pub fn hash(&self, keys: &Keyring, user: &str) -> [u8; 32] {
        keys.mac(
            "twofold backup code v1",
            &[user.as_bytes(), self.0.as_bytes()],
        )
    }
}

impl fmt::Debug for BackupCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BackupCode([redacted])")
    }
}

/// A fresh batch of `n` distinct backup codes.
pub fn backup_batch(rng: &dyn Rng, n: usize) -> Vec<BackupCode> {
    let mut out: Vec<BackupCode> = Vec::with_capacity(n);
    while out.len() < n {
        let c = BackupCode::generate(rng);
        if !out.contains(&c) {
            out.push(c);
        }
    }
    out
}

/// A fresh out-of-band code of `digits` (clamped to 6..=8) decimal digits, leading zeros kept,
/// drawn uniformly by rejection sampling.
pub fn oob_code(rng: &dyn Rng, digits: u8) -> Zeroizing<String> {
    let digits = digits.clamp(6, 8);
    let modulus = 10u32.pow(u32::from(digits));
    // Largest multiple of `modulus` that fits: values at or above it are redrawn.
    let zone = u32::MAX - (u32::MAX % modulus);
    loop {
        let mut b: [u8; 4] = random_bytes(rng);
        let v = u32::from_be_bytes(b);
        b.zeroize();
        if v < zone {
            return Zeroizing::new(format!(
                "{:0width$}",
                v % modulus,
                width = usize::from(digits)
            ));
        }
    }
}

/// Normalizes a typed out-of-band code: surrounding whitespace and inner spaces or dashes are
/// dropped; it must then be 6 to 8 ASCII digits.
pub fn normalize_oob(input: &str) -> Option<Zeroizing<String>> {
    if input.len() > MAX_INPUT {
        return None;
    }
    let mut s = Zeroizing::new(String::with_capacity(8));
    for b in input.trim().bytes() {
        match b {
            b'0'..=b'9' if s.len() < 8 => s.push(char::from(b)),
            b' ' | b'-' => {}
            _ => return None,
        }
    }
    (s.len() >= 6).then_some(s)
}

/// The stored hash of an out-of-band code, bound to its verification session.
pub fn hash_oob(keys: &Keyring, session: &str, code: &str) -> [u8; 32] {
    keys.mac(
        "twofold oob code v1",
        &[session.as_bytes(), code.as_bytes()],
    )
}

/// The stored hash of a remembered-device token, bound to its user.
pub fn hash_device_token(keys: &Keyring, user: &str, token: &str) -> [u8; 32] {
    keys.mac(
        "twofold device token v1",
        &[user.as_bytes(), token.as_bytes()],
    )
}

#[cfg(test)]
mod tests;
