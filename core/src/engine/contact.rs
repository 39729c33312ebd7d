//! Phone numbers and email addresses: validation to a canonical form, and masking for display.

use crate::error::{Error, Result};

/// Parses a phone number typed in international format (`+1 415 555 0100`) with a real
/// numbering-plan parser and returns it in E.164 (`+14155550100`).
pub fn parse_phone(raw: &str) -> Result<String> {
    let t = raw.trim();
    if t.len() > 64 || t.chars().any(char::is_control) {
        return Err(Error::Invalid(
            "the phone number is too long or contains control characters".into(),
        ));
    }
    if !t.starts_with('+') {
        return Err(Error::Invalid(format!(
            "phone number {t:?} is not in international format: start with + and the country code, e.g. +1 415 555 0100"
        )));
    }
    let n = phonenumber::parse(None, t).map_err(|e| {
        Error::Invalid(format!(
            "phone number {t:?} cannot be read ({e}); use international format with the country code, e.g. +44 20 7946 0958"
        ))
    })?;
    if !n.is_valid() {
        return Err(Error::Invalid(format!(
            "phone number {t:?} is not a valid number for country code +{}; check the digits",
            n.code().value()
        )));
    }
    Ok(n.format().mode(phonenumber::Mode::E164).to_string())
}

/// Masks an E.164 number for display: `+1 *** *** 4567`.
pub fn mask_phone(e164: &str) -> String {
    let digits: String = e164.chars().filter(char::is_ascii_digit).collect();
    let last4 = &digits[digits.len().saturating_sub(4)..];
    match phonenumber::parse(None, e164) {
        Ok(n) => format!("+{} *** *** {last4}", n.code().value()),
        Err(_) => format!("+*** *** {last4}"),
    }
}

/// Checks an email address for sanity (not full RFC 5322): one `@`, a local part of 1 to 64
/// printable characters, and a domain of at least two dot-separated labels of letters, digits and
/// hyphens. Returns it with the domain in lower case.
pub fn parse_email(raw: &str) -> Result<String> {
    let t = raw.trim();
    let bad = |why: &str| {
        let shown: String = t.chars().take(80).flat_map(char::escape_debug).collect();
        Error::Invalid(format!("email address \"{shown}\" is not valid: {why}"))
    };
    if t.len() > 254 {
        return Err(bad("it is longer than 254 characters"));
    }
    let mut parts = t.split('@');
    let (Some(local), Some(domain), None) = (parts.next(), parts.next(), parts.next()) else {
        return Err(bad("it must contain exactly one @"));
    };
    if local.is_empty() || local.len() > 64 {
        return Err(bad("the part before @ must have 1 to 64 characters"));
    }
    if local
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || "<>()[],;:\\\"".contains(c))
        || local.starts_with('.')
        || local.ends_with('.')
        || local.contains("..")
    {
        return Err(bad("the part before @ has characters that are not allowed"));
    }
    let labels: Vec<&str> = domain.split('.').collect();
    let label_ok = |l: &&str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    };
    if labels.len() < 2 || !labels.iter().all(label_ok) {
        return Err(bad(
            "the domain must be like example.com (letters, digits, hyphens; internationalized domains in punycode)",
        ));
    }
    Ok(format!("{local}@{}", domain.to_ascii_lowercase()))
}

/// Masks an email address for display: `a***@example.com`.
pub fn mask_email(email: &str) -> String {
    match email.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}***@{domain}")
        }
        None => "***".into(),
    }
}
