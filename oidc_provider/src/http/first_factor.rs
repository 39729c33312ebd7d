//! The first factor of a web sign-in: a local argon2id hash kept in the store, or the host's
//! PAM stack through a dedicated service (`/etc/pam.d/twofold-web` → pam_unix, sssd, LDAP).
//!
//! Both run on the bounded [`HashPool`]. An unknown local user is checked against a dummy hash
//! so that the answer takes as long as for a known one (no user enumeration by timing, R-93).

use crate::http::config::FirstFactor;
use crate::http::errors::HttpError;
use crate::http::hashpool::HashPool;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use std::sync::Arc;
use twofold_core::store::Store;
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

/// Checks a password against a PHC string in constant time. A malformed hash never matches.
pub fn verify_password(password: &str, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(h) => argon2().verify_password(password.as_bytes(), &h).is_ok(),
        Err(_) => false,
    }
}

/// A PHC hash of nothing anyone knows, checked for unknown users.
pub fn dummy_hash() -> String {
    hash_password("twofold dummy password", &[7u8; 16]).unwrap_or_default()
}

/// Checks `user`'s password. `Ok(false)` for a wrong password or an unknown user alike.
pub async fn check(
    how: &FirstFactor,
    store: Arc<dyn Store>,
    pool: &HashPool,
    dummy: Arc<str>,
    user: String,
    password: Zeroizing<String>,
) -> Result<bool, HttpError> {
    match how {
        FirstFactor::Local => {
            pool.run(move || -> Result<bool, HttpError> {
                let rec = store.get_user(&user)?;
                match rec.and_then(|r| r.password_hash) {
                    Some(h) => Ok(verify_password(&password, &h)),
                    None => {
                        let _ = verify_password(&password, &dummy);
                        Ok(false)
                    }
                }
            })
            .await?
        }
        FirstFactor::Pam(service) => {
            let service = service.clone();
            pool.run(move || pam_check(&service, &user, &password))
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
}
