//! Encryption at rest for TOTP secrets (XChaCha20-Poly1305 with a key id) and the HMAC pepper
//! for code hashes. (being written)

/// The keys of one deployment.
#[derive(Default)]
pub struct Keyring {}
