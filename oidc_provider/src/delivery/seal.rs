//! Encryption of what delivery keeps at rest: outbox message bodies (they hold a code until the
//! message is final) and integration secrets.
//!
//! XChaCha20-Poly1305 under a key derived from the deployment's [`Keyring`] (HMAC-SHA256 of the
//! pepper with a domain label, so it survives a key-file rotation, which keeps the pepper), with a
//! random 192-bit nonce. The associated data binds a ciphertext to its purpose and to its row
//! (the integration name; the outbox user and destination), so a blob copied to another row does
//! not open. Layout: `version (1) ‖ nonce (24) ‖ ciphertext ‖ tag (16)`.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use twofold_core::clock::{Rng, random_bytes};
use twofold_core::crypto::Keyring;
use zeroize::Zeroizing;

const VERSION: u8 = 1;
const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;

fn cipher(keys: &Keyring) -> Result<XChaCha20Poly1305, String> {
    let key = Zeroizing::new(keys.mac("twofold delivery sealing key v1", &[]));
    XChaCha20Poly1305::new_from_slice(&key[..])
        .map_err(|_| "sealing key of the wrong length".into())
}

fn aad(domain: &str, bind: &str) -> Vec<u8> {
    let mut a = Vec::with_capacity(domain.len() + bind.len() + 16);
    a.extend_from_slice(b"twofold delivery v1\0");
    a.extend_from_slice(domain.as_bytes());
    a.push(0);
    a.extend_from_slice(bind.as_bytes());
    a
}

/// Encrypts `plain` for `domain` (what it is) bound to `bind` (whose it is).
pub fn seal(
    keys: &Keyring,
    rng: &dyn Rng,
    domain: &str,
    bind: &str,
    plain: &[u8],
) -> Result<Vec<u8>, String> {
    let nonce: [u8; NONCE_LEN] = random_bytes(rng);
    let ct = cipher(keys)?
        .encrypt(
            &XNonce::from(nonce),
            Payload {
                msg: plain,
                aad: &aad(domain, bind),
            },
        )
        .map_err(|_| format!("cannot encrypt the {domain}"))?;
    let mut out = Vec::with_capacity(1 + NONCE_LEN + ct.len());
    out.push(VERSION);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&ct);
    Ok(out)
}

/// Decrypts what [`seal`] made for the same `domain` and `bind`.
pub fn open(
    keys: &Keyring,
    domain: &str,
    bind: &str,
    blob: &[u8],
) -> Result<Zeroizing<Vec<u8>>, String> {
    if blob.len() < 1 + NONCE_LEN + TAG_LEN || blob[0] != VERSION {
        return Err(format!(
            "the stored {domain} of {bind} is not a sealed value this twofold can read"
        ));
    }
    let mut nonce = [0u8; NONCE_LEN];
    nonce.copy_from_slice(&blob[1..1 + NONCE_LEN]);
    cipher(keys)?
        .decrypt(
            &XNonce::from(nonce),
            Payload {
                msg: &blob[1 + NONCE_LEN..],
                aad: &aad(domain, bind),
            },
        )
        .map(Zeroizing::new)
        .map_err(|_| {
            format!(
                "the stored {domain} of {bind} does not decrypt: the key file {} is not the one it was written with, or the row was altered",
                keys.path().display()
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use twofold_core::clock::OsRng;

    #[test]
    fn a_sealed_value_opens_only_for_its_own_row() {
        let keys = Keyring::for_tests(&OsRng);
        let blob = seal(
            &keys,
            &OsRng,
            "message",
            "alice\0+14155550123",
            b"code 123456",
        )
        .unwrap();
        assert!(!blob.windows(6).any(|w| w == b"123456"));
        let plain = open(&keys, "message", "alice\0+14155550123", &blob).unwrap();
        assert_eq!(&plain[..], b"code 123456");
        assert!(open(&keys, "message", "mallory\0+14155550123", &blob).is_err());
        let other = Keyring::for_tests(&OsRng);
        assert!(open(&other, "message", "alice\0+14155550123", &blob).is_err());
    }
}
