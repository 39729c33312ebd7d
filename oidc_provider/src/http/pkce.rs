//! PKCE (RFC 7636), S256 only (RFC 9700: `plain` is refused).

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

fn unreserved(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// Checks a `code_challenge` with its method: the method must be exactly `S256` and the
/// challenge a 43-character base64url string (the encoding of a SHA-256 digest).
pub fn check_challenge(challenge: &str, method: Option<&str>) -> Result<(), String> {
    match method {
        Some("S256") => {}
        None => {
            return Err(
                "code_challenge_method is missing; only S256 is supported (plain is not)".into(),
            );
        }
        Some(m) => {
            return Err(format!(
                "code_challenge_method {m:?} is not supported; only S256 is"
            ));
        }
    }
    if challenge.len() != 43
        || !challenge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(
            "code_challenge must be 43 base64url characters (the S256 of the verifier)".into(),
        );
    }
    Ok(())
}

/// Checks a `code_verifier` (43–128 unreserved characters) against the stored challenge, in
/// constant time.
pub fn verify(verifier: &str, challenge: &str) -> Result<(), String> {
    if !(43..=128).contains(&verifier.len()) || !unreserved(verifier) {
        return Err("code_verifier must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~".into());
    }
    let computed = data_encoding::BASE64URL_NOPAD.encode(&Sha256::digest(verifier.as_bytes()));
    if bool::from(computed.as_bytes().ct_eq(challenge.as_bytes())) {
        Ok(())
    } else {
        Err("code_verifier does not match the code_challenge".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    #[test]
    fn the_rfc_7636_vector_verifies() {
        check_challenge(CHALLENGE, Some("S256")).unwrap();
        verify(VERIFIER, CHALLENGE).unwrap();
    }

    #[test]
    fn plain_lower_case_and_missing_methods_are_refused() {
        for m in [Some("plain"), Some("s256"), None] {
            assert!(check_challenge(CHALLENGE, m).is_err(), "{m:?}");
        }
    }

    #[test]
    fn malformed_challenges_are_refused() {
        for c in [
            &CHALLENGE[..42],
            &format!("{CHALLENGE}A"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw+c/",
        ] {
            assert!(check_challenge(c, Some("S256")).is_err(), "{c}");
        }
    }

    #[test]
    fn wrong_short_long_and_odd_verifiers_are_refused() {
        assert!(verify(&VERIFIER.replace('d', "e"), CHALLENGE).is_err());
        assert!(verify(&"a".repeat(42), CHALLENGE).is_err());
        assert!(verify(&"a".repeat(129), CHALLENGE).is_err());
        assert!(verify(&format!("{}!", &"a".repeat(43)), CHALLENGE).is_err());
        assert!(verify(&"a".repeat(43), CHALLENGE).is_err());
    }
}
