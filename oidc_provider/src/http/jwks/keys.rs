//! ID-token signing keys: RS256 (default) and EdDSA (Ed25519), with rotation.
//!
//! Signing runs on `aws-lc-rs` (constant-time RSA with blinding; not the `rsa` crate, which is
//! exposed to the Marvin timing attack) behind openidconnect's [`PrivateSigningKey`] trait, so
//! `openidconnect` builds the JWS and the `at_hash`.
//!
//! Keys live in the store, their PKCS#8 encrypted with XChaCha20-Poly1305 under a key derived
//! from the deployment key file (HMAC under its pepper, domain-separated), the `kid` as
//! associated data. Rotation: a new key is published `publish_ahead` before it starts signing;
//! the key it replaces stays published until every ID token it signed has expired (plus a day
//! of JWKS caching).

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use openidconnect::core::{CoreJsonCurveType, CoreJsonWebKey, CoreJwsSigningAlgorithm};
use openidconnect::{JsonWebKeyId, PrivateSigningKey, SigningError};
use sha2::{Digest, Sha256};
use std::sync::Arc;
use twofold_core::clock::{Rng, UnixTime, random_bytes};
use twofold_core::crypto::Keyring;
use twofold_core::store::oidc::{OidcStore, SigningKey};
use zeroize::Zeroizing;

/// Errors of key handling.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// Key generation or parsing failed in the crypto library.
    #[error("signing key {0}")]
    Crypto(String),
    /// A stored key could not be decrypted (wrong key file or altered row).
    #[error("signing key {kid} cannot be decrypted: {why}")]
    Decrypt {
        /// Which key.
        kid: String,
        /// Why.
        why: &'static str,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] twofold_core::Error),
}

/// JWS algorithms the provider signs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alg {
    /// RSASSA-PKCS1-v1_5 with SHA-256, 2048-bit keys (OIDC Core §15.1: MUST).
    Rs256,
    /// Ed25519.
    EdDsa,
}

impl Alg {
    /// The JOSE name.
    pub fn as_str(self) -> &'static str {
        match self {
            Alg::Rs256 => "RS256",
            Alg::EdDsa => "EdDSA",
        }
    }
    /// Parses the JOSE name.
    pub fn parse(s: &str) -> Option<Alg> {
        match s {
            "RS256" => Some(Alg::Rs256),
            "EdDSA" => Some(Alg::EdDsa),
            _ => None,
        }
    }
    /// openidconnect's name.
    pub fn jws(self) -> CoreJwsSigningAlgorithm {
        match self {
            Alg::Rs256 => CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
            Alg::EdDsa => CoreJwsSigningAlgorithm::EdDsa,
        }
    }
    /// Every algorithm, default first.
    pub const ALL: [Alg; 2] = [Alg::Rs256, Alg::EdDsa];
}

enum Material {
    Rsa(aws_lc_rs::rsa::KeyPair),
    Ed25519(aws_lc_rs::signature::Ed25519KeyPair),
}

/// A usable signing key.
pub struct LoadedKey {
    /// `kid`.
    pub kid: String,
    /// Algorithm.
    pub alg: Alg,
    /// From when it signs.
    pub activates_at: UnixTime,
    /// From when it is no longer published.
    pub retires_at: Option<UnixTime>,
    material: Material,
    jwk: CoreJsonWebKey,
}

impl std::fmt::Debug for LoadedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

impl PrivateSigningKey for LoadedKey {
    type VerificationKey = CoreJsonWebKey;

    fn sign(
        &self,
        signature_alg: &CoreJwsSigningAlgorithm,
        message: &[u8],
    ) -> Result<Vec<u8>, SigningError> {
        match (&self.material, signature_alg) {
            (Material::Rsa(kp), CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256) => {
                let mut sig = vec![0u8; kp.public_modulus_len()];
                kp.sign(
                    &aws_lc_rs::signature::RSA_PKCS1_SHA256,
                    &aws_lc_rs::rand::SystemRandom::new(),
                    message,
                    &mut sig,
                )
                .map_err(|_| SigningError::CryptoError)?;
                Ok(sig)
            }
            (Material::Ed25519(kp), CoreJwsSigningAlgorithm::EdDsa) => {
                Ok(kp.sign(message).as_ref().to_vec())
            }
            (_, other) => Err(SigningError::UnsupportedAlg(format!("{other:?}"))),
        }
    }

    fn as_verification_key(&self) -> CoreJsonWebKey {
        self.jwk.clone()
    }
}

impl LoadedKey {
    /// The public key as a JWK.
    pub fn jwk(&self) -> &CoreJsonWebKey {
        &self.jwk
    }

    /// Checks a signature made by this key (for JWTs the provider issued itself, such as an
    /// `id_token_hint`).
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        use aws_lc_rs::signature::{self, KeyPair as _, UnparsedPublicKey};
        match &self.material {
            Material::Rsa(kp) => UnparsedPublicKey::new(
                &signature::RSA_PKCS1_2048_8192_SHA256,
                kp.public_key().as_ref(),
            )
            .verify(message, signature)
            .is_ok(),
            Material::Ed25519(kp) => {
                UnparsedPublicKey::new(&signature::ED25519, kp.public_key().as_ref())
                    .verify(message, signature)
                    .is_ok()
            }
        }
    }

    fn from_pkcs8(
        kid: &str,
        alg: Alg,
        der: &[u8],
        activates_at: UnixTime,
        retires_at: Option<UnixTime>,
    ) -> Result<LoadedKey, KeyError> {
        use aws_lc_rs::signature::KeyPair as _;
        let kid_v = Some(JsonWebKeyId::new(kid.to_string()));
        let (material, jwk) = match alg {
            Alg::Rs256 => {
                let kp = aws_lc_rs::rsa::KeyPair::from_pkcs8(der)
                    .map_err(|e| KeyError::Crypto(format!("RSA key rejected: {e}")))?;
                let pk = kp.public_key();
                let jwk = CoreJsonWebKey::new_rsa(
                    pk.modulus().big_endian_without_leading_zero().to_vec(),
                    pk.exponent().big_endian_without_leading_zero().to_vec(),
                    kid_v,
                );
                (Material::Rsa(kp), jwk)
            }
            Alg::EdDsa => {
                let kp = aws_lc_rs::signature::Ed25519KeyPair::from_pkcs8(der)
                    .map_err(|e| KeyError::Crypto(format!("Ed25519 key rejected: {e}")))?;
                let jwk = CoreJsonWebKey::new_okp(
                    kp.public_key().as_ref().to_vec(),
                    CoreJsonCurveType::Ed25519,
                    kid_v,
                );
                (Material::Ed25519(kp), jwk)
            }
        };
        Ok(LoadedKey {
            kid: kid.to_string(),
            alg,
            activates_at,
            retires_at,
            material,
            jwk,
        })
    }
}

/// A fresh private key (PKCS#8 DER) and its `kid`.
fn generate(alg: Alg) -> Result<(String, Zeroizing<Vec<u8>>), KeyError> {
    use aws_lc_rs::encoding::AsDer;
    use aws_lc_rs::signature::KeyPair as _;
    let (der, public): (Zeroizing<Vec<u8>>, Vec<u8>) = match alg {
        Alg::Rs256 => {
            let kp = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048)
                .map_err(|_| KeyError::Crypto("RSA key generation failed".into()))?;
            let der = kp
                .as_der()
                .map_err(|_| KeyError::Crypto("RSA key encoding failed".into()))?;
            (
                Zeroizing::new(der.as_ref().to_vec()),
                kp.public_key().as_ref().to_vec(),
            )
        }
        Alg::EdDsa => {
            let doc = aws_lc_rs::signature::Ed25519KeyPair::generate_pkcs8(
                &aws_lc_rs::rand::SystemRandom::new(),
            )
            .map_err(|_| KeyError::Crypto("Ed25519 key generation failed".into()))?;
            let kp = aws_lc_rs::signature::Ed25519KeyPair::from_pkcs8(doc.as_ref())
                .map_err(|e| KeyError::Crypto(format!("Ed25519 key rejected: {e}")))?;
            (
                Zeroizing::new(doc.as_ref().to_vec()),
                kp.public_key().as_ref().to_vec(),
            )
        }
    };
    let digest = Sha256::digest(&public);
    let kid = format!(
        "{}-{}",
        data_encoding::HEXLOWER.encode(&digest[..6]),
        alg.as_str().to_ascii_lowercase()
    );
    Ok((kid, der))
}

fn wrap_cipher(keys: &Keyring) -> Result<XChaCha20Poly1305, KeyError> {
    let k = Zeroizing::new(keys.mac("twofold oidc signing key wrap v1", &[]));
    XChaCha20Poly1305::new_from_slice(&k[..])
        .map_err(|_| KeyError::Crypto("wrapping key of the wrong length".into()))
}

fn seal(keys: &Keyring, rng: &dyn Rng, kid: &str, der: &[u8]) -> Result<Vec<u8>, KeyError> {
    let nonce: [u8; 24] = random_bytes(rng);
    let ct = wrap_cipher(keys)?
        .encrypt(
            &XNonce::from(nonce),
            Payload {
                msg: der,
                aad: kid.as_bytes(),
            },
        )
        .map_err(|_| KeyError::Crypto("encryption failed".into()))?;
    let mut out = nonce.to_vec();
    out.extend_from_slice(&ct);
    Ok(out)
}

fn open(keys: &Keyring, kid: &str, blob: &[u8]) -> Result<Zeroizing<Vec<u8>>, KeyError> {
    if blob.len() < 24 + 16 {
        return Err(KeyError::Decrypt {
            kid: kid.into(),
            why: "the stored key is too short",
        });
    }
    let nonce: [u8; 24] = blob[..24].try_into().map_err(|_| KeyError::Decrypt {
        kid: kid.into(),
        why: "bad nonce",
    })?;
    wrap_cipher(keys)?
        .decrypt(
            &XNonce::from(nonce),
            Payload {
                msg: &blob[24..],
                aad: kid.as_bytes(),
            },
        )
        .map(Zeroizing::new)
        .map_err(|_| KeyError::Decrypt {
            kid: kid.into(),
            why: "authentication failed (another deployment's key file, or an altered row)",
        })
}

/// The keys in use: what signs now, and what the JWKS publishes.
#[derive(Debug)]
pub struct KeySet {
    keys: Vec<Arc<LoadedKey>>,
    /// The JWKS document, serialized once and shared by every response.
    pub jwks_json: Arc<[u8]>,
}

impl KeySet {
    /// No keys (before the first load).
    pub fn empty() -> KeySet {
        KeySet::build(Vec::new())
    }

    /// The newest active key of `alg` at `now`.
    pub fn signer(&self, alg: Alg, now: UnixTime) -> Option<Arc<LoadedKey>> {
        self.keys
            .iter()
            .filter(|k| {
                k.alg == alg && k.activates_at <= now && k.retires_at.is_none_or(|r| r > now)
            })
            .max_by_key(|k| k.activates_at)
            .cloned()
    }

    /// The published key with this `kid`.
    pub fn by_kid(&self, kid: &str) -> Option<Arc<LoadedKey>> {
        self.keys.iter().find(|k| k.kid == kid).cloned()
    }

    /// Every published key.
    pub fn published(&self) -> impl Iterator<Item = &Arc<LoadedKey>> {
        self.keys.iter()
    }

    fn build(keys: Vec<Arc<LoadedKey>>) -> KeySet {
        let set = openidconnect::core::CoreJsonWebKeySet::new(
            keys.iter().map(|k| k.jwk.clone()).collect(),
        );
        let json = serde_json::to_vec(&set).unwrap_or_else(|_| b"{\"keys\":[]}".to_vec());
        KeySet {
            keys,
            jwks_json: json.into(),
        }
    }
}

/// Rotation policy.
#[derive(Debug, Clone, Copy)]
pub struct Rotation {
    /// A key signs for this long.
    pub period_secs: i64,
    /// A new key is published this long before it signs.
    pub publish_ahead_secs: i64,
    /// A replaced key stays published this long after it stops signing.
    pub keep_after_secs: i64,
}

/// Creates keys where needed (first start, end of a key's period), retires replaced ones, and
/// loads the published set. Idempotent; safe to call at every start and periodically.
pub fn maintain(
    store: &dyn OidcStore,
    keys: &Keyring,
    rng: &dyn Rng,
    now: UnixTime,
    policy: Rotation,
) -> Result<KeySet, KeyError> {
    let stored = store.list_signing_keys()?;
    for alg in Alg::ALL {
        let mine: Vec<&SigningKey> = stored.iter().filter(|k| k.alg == alg.as_str()).collect();
        let newest = mine.iter().max_by_key(|k| k.activates_at);
        let want_new_at = match newest {
            None => Some(now),
            Some(k) if k.activates_at + policy.period_secs <= now + policy.publish_ahead_secs => {
                Some((k.activates_at + policy.period_secs).max(now + policy.publish_ahead_secs))
            }
            Some(_) => None,
        };
        if let Some(activates_at) = want_new_at {
            let (kid, der) = generate(alg)?;
            store.put_signing_key(&SigningKey {
                kid: kid.clone(),
                alg: alg.as_str().into(),
                private_key: seal(keys, rng, &kid, &der)?,
                created_at: now,
                activates_at,
                retires_at: None,
            })?;
            tracing::info!(%kid, alg = alg.as_str(), activates_at, "new ID-token signing key");
            if let Some(old) = newest
                && old.retires_at.is_none()
            {
                store.retire_signing_key(&old.kid, activates_at + policy.keep_after_secs)?;
            }
        }
    }
    load(store, keys, now)
}

/// Forces a rotation now: for every algorithm a new key is published at once and signs after
/// `publish_ahead_secs` (`twofoldctl keys rotate`).
pub fn rotate_now(
    store: &dyn OidcStore,
    keys: &Keyring,
    rng: &dyn Rng,
    now: UnixTime,
    policy: Rotation,
) -> Result<KeySet, KeyError> {
    let forced = Rotation {
        period_secs: 0,
        ..policy
    };
    // With a zero period every newest key is due, so exactly one new key per algorithm appears.
    let stored = store.list_signing_keys()?;
    let pending = stored
        .iter()
        .any(|k| k.activates_at > now && k.retires_at.is_none());
    if pending {
        return load(store, keys, now);
    }
    maintain(store, keys, rng, now, forced)
}

/// Loads every published key (not retired at `now`).
pub fn load(store: &dyn OidcStore, keys: &Keyring, now: UnixTime) -> Result<KeySet, KeyError> {
    let mut out = Vec::new();
    for k in store.list_signing_keys()? {
        if k.retires_at.is_some_and(|r| r <= now) {
            continue;
        }
        let Some(alg) = Alg::parse(&k.alg) else {
            continue;
        };
        let der = open(keys, &k.kid, &k.private_key)?;
        out.push(Arc::new(LoadedKey::from_pkcs8(
            &k.kid,
            alg,
            &der,
            k.activates_at,
            k.retires_at,
        )?));
    }
    Ok(KeySet::build(out))
}

#[cfg(test)]
mod tests;
