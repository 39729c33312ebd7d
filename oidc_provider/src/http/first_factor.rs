//! The first factor of a web sign-in: a local argon2id hash kept in the store, or the host's
//! PAM stack through a dedicated service (`/etc/pam.d/twofold-web` → pam_unix, sssd, LDAP).
//!
//! Both run on the bounded [`HashPool`](crate::http::hashpool::HashPool) (a local hash as cheap
//! as a few hundred KiB-passes runs in place instead). An unknown local user is checked against
//! a dummy hash so that the answer takes as long as for a known one with the same parameters
//! (no user enumeration by timing, R-93).

use crate::http::config::FirstFactor;
use crate::http::errors::HttpError;
use crate::http::state::AppState;
use argon2::password_hash::{PasswordHash, PasswordHasher, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use std::sync::Arc;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// OWASP parameters for argon2id: 19 MiB, 2 passes, 1 lane.
pub fn argon2() -> Argon2<'static> {
    match Params::new(19_456, 2, 1, None) {
        Ok(p) => Argon2::new(Algorithm::Argon2id, Version::V0x13, p),
        Err(_) => Argon2::default(),
    }
}

/// Hashes a password (or a client secret) to a PHC string with the OWASP parameters.
pub fn hash_password(password: &str, salt16: &[u8; 16]) -> Result<String, String> {
    let salt = SaltString::encode_b64(salt16).map_err(|e| e.to_string())?;
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

thread_local! {
    /// argon2's working memory, kept from one check to the next by the threads that call
    /// [`verify_password_kept`] (the few threads of the
    /// [`HashPool`](crate::http::hashpool::HashPool)). Allocated afresh for every check, the
    /// OWASP parameters' 19 MiB block went back to the kernel and was faulted in again page by
    /// page: ~4 900 page faults per check, measured with `bench/oidc` at 42–50 ms of hash-thread
    /// CPU per check against 35–37 ms for the same check in a loop.
    static KEPT: std::cell::RefCell<Vec<Block>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Checks a password against a PHC string in constant time. A malformed hash never matches;
/// only argon2 hashes are understood.
pub fn verify_password(password: &str, phc: &str) -> bool {
    verify_in(password, phc, false)
}

/// [`verify_password`] in working memory that this thread keeps for its next check (one block
/// of the largest parameters it has seen). For the hash pool's threads only: any other thread
/// would hold the block for nothing.
pub fn verify_password_kept(password: &str, phc: &str) -> bool {
    verify_in(password, phc, true)
}

fn verify_in(password: &str, phc: &str, keep: bool) -> bool {
    let Ok(h) = PasswordHash::new(phc) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (h.salt, h.hash) else {
        return false;
    };
    let (Ok(algorithm), Ok(params)) = (Algorithm::try_from(h.algorithm), Params::try_from(&h))
    else {
        return false;
    };
    let version = match h.version.map(Version::try_from).transpose() {
        Ok(v) => v.unwrap_or_default(),
        Err(_) => return false,
    };
    let mut salt_buf = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_buf) else {
        return false;
    };
    let mut out = Zeroizing::new(vec![0u8; expected.len()]);
    let blocks = params.block_count();
    let hasher = Argon2::new(algorithm, version, params);
    let pwd = password.as_bytes();
    let done = if keep {
        KEPT.with(|kept| match kept.try_borrow_mut() {
            Ok(mut memory) => {
                if memory.len() < blocks {
                    memory.resize(blocks, Block::default());
                }
                hasher.hash_password_into_with_memory(pwd, salt, &mut out, &mut memory[..blocks])
            }
            // Never nested in practice; a nested check gets its own memory.
            Err(_) => hasher.hash_password_into(pwd, salt, &mut out),
        })
    } else {
        hasher.hash_password_into(pwd, salt, &mut out)
    };
    done.is_ok() && bool::from(out.as_slice().ct_eq(expected.as_bytes()))
}

/// A PHC hash of nothing anyone knows, checked for unknown users.
pub fn dummy_hash() -> String {
    hash_password("twofold dummy password", &[7u8; 16]).unwrap_or_default()
}

/// The largest argon2 cost (memory in KiB × passes × lanes) a check may have to run in place,
/// on the request's own thread: 256 KiB-passes is well under a millisecond and a quarter of a
/// MiB. Dearer checks (the OWASP parameters are 19 456 × 2) go to the
/// [`HashPool`](crate::http::hashpool::HashPool), whose few threads bound both the memory
/// argon2 allocates and the number of sign-ins hashing at once.
pub const IN_PLACE_MAX_COST: u64 = 256;

/// Whether a check against `phc` is cheap enough to run in place (see [`IN_PLACE_MAX_COST`]).
/// A hash that does not parse never matches and costs nothing: in place too.
pub fn runs_in_place(phc: &str) -> bool {
    let Ok(h) = PasswordHash::new(phc) else {
        return true;
    };
    let param = |name: &str| -> Option<u64> { h.params.get_decimal(name).map(u64::from) };
    match (param("m"), param("t"), param("p")) {
        (Some(m), Some(t), Some(p)) => m.saturating_mul(t).saturating_mul(p) <= IN_PLACE_MAX_COST,
        // Not an argon2 hash: the argon2 verifier refuses it at once.
        _ => !h.algorithm.as_str().starts_with("argon2"),
    }
}

/// Checks `user`'s password. `Ok(false)` for a wrong password or an unknown user alike.
///
/// Local users: the stored hash is read in the store's lane, then checked on the
/// [`HashPool`](crate::http::hashpool::HashPool) (an unknown user against the dummy hash, which
/// has the OWASP parameters), or in place when it is cheap ([`runs_in_place`]): no thread
/// hand-off for a check that costs microseconds.
pub async fn check(
    state: &Arc<AppState>,
    user: String,
    password: Zeroizing<String>,
) -> Result<bool, HttpError> {
    match &state.first_factor {
        FirstFactor::Local => {
            let store = state.daemon.engine.store.clone();
            let stored = state
                .store_read(move || store.get_user(&user))
                .await??
                .and_then(|r| r.password_hash);
            let (phc, known): (Arc<str>, bool) = match stored {
                Some(h) => (h.into(), true),
                None => (state.dummy_hash.clone(), false),
            };
            let ok = if runs_in_place(&phc) {
                verify_password(&password, &phc)
            } else {
                state
                    .pool
                    .run(move || verify_password_kept(&password, &phc))
                    .await?
            };
            Ok(known && ok)
        }
        FirstFactor::Pam(service) => {
            let service = service.clone();
            state
                .pool
                .run(move || pam_check(&service, &user, &password))
                .await?
        }
    }
}

/// Authenticates through PAM (`pam_authenticate` then `pam_acct_mgmt`), the conversation
/// answering the password prompt.
fn pam_check(service: &str, user: &str, password: &str) -> Result<bool, HttpError> {
    let mut auth = pam_client_legacy::Authenticator::with_password(service).map_err(|e| {
        HttpError::Internal(format!("PAM service {service} cannot be started: {e:?}"))
    })?;
    auth.get_handler().set_credentials(user, password);
    match auth.authenticate() {
        Ok(()) => Ok(true),
        Err(e) => {
            tracing::info!(service, error = ?e, "PAM refused the first factor");
            Ok(false)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_password_only() {
        let h = hash_password("correct horse", &[1; 16]).unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(verify_password("correct horse", &h));
        assert!(!verify_password("correct horsE", &h));
        assert!(!verify_password("correct horse", "not a hash"));
    }

    #[test]
    fn a_check_in_kept_memory_agrees_with_a_fresh_one_for_any_parameters() {
        let owasp = hash_password("correct horse", &[1; 16]).unwrap();
        let salt = SaltString::encode_b64(&[3; 16]).unwrap();
        let small = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(64, 3, 1, Some(24)).unwrap(),
        )
        .hash_password(b"correct horse", &salt)
        .unwrap()
        .to_string();
        // Large, then small (a prefix of the kept memory), then large again.
        for phc in [&owasp, &small, &owasp] {
            assert!(verify_password_kept("correct horse", phc));
            assert!(!verify_password_kept("correct horsE", phc));
            assert!(verify_password("correct horse", phc));
        }
        let argon2i = Argon2::new(
            Algorithm::Argon2i,
            Version::V0x10,
            Params::new(32, 2, 1, None).unwrap(),
        )
        .hash_password(b"pw", &salt)
        .unwrap()
        .to_string();
        assert!(verify_password_kept("pw", &argon2i));
        assert!(!verify_password_kept(
            "pw",
            "$scrypt$ln=4,r=8,p=1$c2FsdA$aGFzaA"
        ));
        assert!(!verify_password_kept("pw", "not a hash"));
    }

    #[test]
    fn only_cheap_or_unusable_hashes_are_checked_in_place() {
        let owasp = hash_password("correct horse", &[1; 16]).unwrap();
        assert!(!runs_in_place(&owasp));
        assert!(!runs_in_place(&dummy_hash()));
        let salt = SaltString::encode_b64(&[2; 16]).unwrap();
        let cheap = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(8, 1, 1, None).unwrap(),
        )
        .hash_password(b"pw", &salt)
        .unwrap()
        .to_string();
        assert!(runs_in_place(&cheap));
        assert!(verify_password("pw", &cheap));
        let just_over = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(129, 2, 1, None).unwrap(),
        )
        .hash_password(b"pw", &salt)
        .unwrap()
        .to_string();
        assert!(!runs_in_place(&just_over));
        assert!(runs_in_place("not a hash"));
    }
}
