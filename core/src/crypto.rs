//! Keys of one deployment: encryption at rest for TOTP secrets and the pepper for code hashes.
//!
//! The key file (default `/var/lib/twofold/twofold.key`) is created on first start with mode
//! 0600 and never overwritten. It is 69 bytes: the magic `TFK\x01`, a one-byte key id, a 32-byte
//! XChaCha20-Poly1305 key and a 32-byte HMAC pepper. A file that is group- or world-accessible,
//! of the wrong size, or missing while the database already holds secrets is refused with an
//! [`Error::Key`] naming it; nothing is replaced silently.
//!
//! A stored TOTP secret is `key id (1 byte) ‖ nonce (24 bytes) ‖ ciphertext ‖ tag (16 bytes)`,
//! with the user name in the associated data, so a ciphertext copied to another user's row does
//! not decrypt. Backup codes, out-of-band codes and device tokens are kept as HMAC-SHA256 under
//! the pepper ([`Keyring::mac`]).

use crate::clock::{Rng, random_bytes};
use crate::error::{Error, Result};
use crate::totp::TotpSecret;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// Magic at the start of a key file.
const MAGIC: &[u8; 4] = b"TFK\x01";
/// Size of a key file in bytes.
pub const KEY_FILE_LEN: usize = 4 + 1 + 32 + 32;
const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;
const AAD_PREFIX: &[u8] = b"twofold totp secret v1\0";

struct Key {
    id: u8,
    key: Zeroizing<[u8; 32]>,
    path: PathBuf,
}

/// The encryption keys (current, plus retired ones kept for decryption) and the code pepper.
pub struct Keyring {
    current: Key,
    retired: Vec<Key>,
    pepper: Zeroizing<[u8; 32]>,
    pepper_mac: Hmac<Sha256>,
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keyring")
            .field("key_id", &self.current.id)
            .field("path", &self.current.path)
            .field(
                "retired",
                &self.retired.iter().map(|k| k.id).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

fn key_err(path: &Path, detail: impl Into<String>) -> Error {
    Error::Key {
        path: path.to_path_buf(),
        detail: detail.into(),
    }
}

impl Keyring {
    /// Loads the key file at `path`, or creates it (mode 0600) when it does not exist and the
    /// database holds no encrypted secrets yet (`store_has_secrets == false`).
    pub fn load_or_create(path: &Path, rng: &dyn Rng, store_has_secrets: bool) -> Result<Keyring> {
        match std::fs::symlink_metadata(path) {
            Ok(_) => Keyring::load(path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if store_has_secrets {
                    return Err(key_err(
                        path,
                        "is missing, but the database already holds encrypted TOTP secrets; \
                         restore this file from a backup (a new key cannot decrypt them), or \
                         reset every enrollment",
                    ));
                }
                Keyring::create(path, rng)
            }
            Err(e) => Err(key_err(path, format!("cannot be read: {e}"))),
        }
    }

    /// Loads an existing key file, checking its permissions, size and format.
    pub fn load(path: &Path) -> Result<Keyring> {
        let (id, key, pepper) = read_key_file(path)?;
        Keyring::assemble(id, key, pepper, path.to_path_buf())
    }

    /// Adds a retired key file: used only to decrypt secrets written under its id. Its pepper
    /// must equal the current one (a rotation keeps the pepper, or every code hash would break).
    pub fn add_retired(&mut self, path: &Path) -> Result<()> {
        let (id, key, pepper) = read_key_file(path)?;
        if id == self.current.id || self.retired.iter().any(|k| k.id == id) {
            return Err(key_err(
                path,
                format!("has key id {id}, which another loaded key file already uses"),
            ));
        }
        if !bool::from(subtle::ConstantTimeEq::ct_eq(&pepper[..], &self.pepper[..])) {
            return Err(key_err(
                path,
                "has a different code pepper than the current key file; a rotated key must keep the pepper",
            ));
        }
        self.retired.push(Key {
            id,
            key,
            path: path.to_path_buf(),
        });
        Ok(())
    }

    /// A keyring with fresh random keys and no file, for tests and benchmarks.
    pub fn for_tests(rng: &dyn Rng) -> Keyring {
        let key = Zeroizing::new(random_bytes(rng));
        let pepper = Zeroizing::new(random_bytes(rng));
        match Keyring::assemble(1, key, pepper, PathBuf::from("<test keyring>")) {
            Ok(k) => k,
            // HMAC takes keys of any length, so assembling from 32 bytes cannot fail.
            Err(_) => unreachable!("a 32-byte HMAC key is always accepted"),
        }
    }

    fn assemble(
        id: u8,
        key: Zeroizing<[u8; 32]>,
        pepper: Zeroizing<[u8; 32]>,
        path: PathBuf,
    ) -> Result<Keyring> {
        let pepper_mac = <Hmac<Sha256> as Mac>::new_from_slice(&pepper[..])
            .map_err(|_| key_err(&path, "holds a pepper the HMAC refuses"))?;
        Ok(Keyring {
            current: Key { id, key, path },
            retired: Vec::new(),
            pepper,
            pepper_mac,
        })
    }

    /// The id written with new ciphertexts.
    pub fn key_id(&self) -> u8 {
        self.current.id
    }

    /// The current key file.
    pub fn path(&self) -> &Path {
        &self.current.path
    }

    fn create(path: &Path, rng: &dyn Rng) -> Result<Keyring> {
        let key: Zeroizing<[u8; 32]> = Zeroizing::new(random_bytes(rng));
        let pepper: Zeroizing<[u8; 32]> = Zeroizing::new(random_bytes(rng));
        let id = 1u8;
        let mut body = Zeroizing::new(Vec::with_capacity(KEY_FILE_LEN));
        body.extend_from_slice(MAGIC);
        body.push(id);
        body.extend_from_slice(&key[..]);
        body.extend_from_slice(&pepper[..]);
        write_new_file(path, &body, rng)?;
        Keyring::assemble(id, key, pepper, path.to_path_buf())
    }

    /// Encrypts a TOTP secret for `user` under the current key.
    pub fn encrypt_secret(
        &self,
        rng: &dyn Rng,
        user: &str,
        secret: &TotpSecret,
    ) -> Result<Vec<u8>> {
        let cipher = XChaCha20Poly1305::new_from_slice(&self.current.key[..])
            .map_err(|_| key_err(&self.current.path, "holds a key of the wrong length"))?;
        let nonce: [u8; NONCE_LEN] = random_bytes(rng);
        let aad = aad(user);
        let ct = cipher
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: secret.expose(),
                    aad: &aad,
                },
            )
            .map_err(|_| Error::Decrypt {
                user: user.to_string(),
                detail: "encryption failed".into(),
            })?;
        let mut out = Vec::with_capacity(1 + NONCE_LEN + ct.len());
        out.push(self.current.id);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        Ok(out)
    }

    /// Decrypts a stored TOTP secret of `user`.
    pub fn decrypt_secret(&self, user: &str, blob: &[u8]) -> Result<TotpSecret> {
        let fail = |detail: String| Error::Decrypt {
            user: user.to_string(),
            detail,
        };
        if blob.len() < 1 + NONCE_LEN + TAG_LEN {
            return Err(fail(format!(
                "the stored ciphertext is {} bytes, too short to be one",
                blob.len()
            )));
        }
        let id = blob[0];
        let key = std::iter::once(&self.current)
            .chain(self.retired.iter())
            .find(|k| k.id == id)
            .ok_or_else(|| {
                fail(format!(
                    "it was encrypted with key id {id}, but the key file {} has id {} (wrong key file, or a retired key is missing)",
                    self.current.path.display(),
                    self.current.id
                ))
            })?;
        let cipher = XChaCha20Poly1305::new_from_slice(&key.key[..])
            .map_err(|_| key_err(&key.path, "holds a key of the wrong length"))?;
        let mut nonce = [0u8; NONCE_LEN];
        nonce.copy_from_slice(&blob[1..1 + NONCE_LEN]);
        let aad = aad(user);
        let plain = cipher
            .decrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: &blob[1 + NONCE_LEN..],
                    aad: &aad,
                },
            )
            .map_err(|_| {
                fail(format!(
                    "authentication failed: the key file {} is not the key it was encrypted with, or the stored data was altered or belongs to another user",
                    key.path.display()
                ))
            })?;
        TotpSecret::from_bytes(plain).map_err(fail)
    }

    /// HMAC-SHA256 under the pepper of `domain` and length-prefixed `parts`: what the store
    /// keeps for backup codes, out-of-band codes and remembered-device tokens.
    pub fn mac(&self, domain: &str, parts: &[&[u8]]) -> [u8; 32] {
        let mut m = self.pepper_mac.clone();
        m.update(domain.as_bytes());
        m.update(&[0]);
        for p in parts {
            m.update(&(p.len() as u64).to_be_bytes());
            m.update(p);
        }
        m.finalize().into_bytes().into()
    }
}

fn aad(user: &str) -> Vec<u8> {
    let mut a = Vec::with_capacity(AAD_PREFIX.len() + user.len());
    a.extend_from_slice(AAD_PREFIX);
    a.extend_from_slice(user.as_bytes());
    a
}

type KeyParts = (u8, Zeroizing<[u8; 32]>, Zeroizing<[u8; 32]>);

fn read_key_file(path: &Path) -> Result<KeyParts> {
    let mut f = File::open(path).map_err(|e| key_err(path, format!("cannot be opened: {e}")))?;
    let meta = f
        .metadata()
        .map_err(|e| key_err(path, format!("cannot be inspected: {e}")))?;
    if !meta.is_file() {
        return Err(key_err(path, "is not a regular file"));
    }
    let mode = meta.mode() & 0o7777;
    if mode & 0o077 != 0 {
        return Err(key_err(
            path,
            format!(
                "is accessible by group or others (mode {mode:04o}); it must be readable by its owner only: chmod 600 {}",
                path.display()
            ),
        ));
    }
    if meta.len() != KEY_FILE_LEN as u64 {
        return Err(key_err(
            path,
            format!(
                "is {} bytes, but a twofold key file is exactly {KEY_FILE_LEN} bytes (truncated or not a key file; restore it from a backup)",
                meta.len()
            ),
        ));
    }
    let mut buf = Zeroizing::new([0u8; KEY_FILE_LEN]);
    f.read_exact(&mut buf[..])
        .map_err(|e| key_err(path, format!("cannot be read: {e}")))?;
    if &buf[..4] != MAGIC {
        return Err(key_err(
            path,
            "does not start with the twofold key file header (not a key file, or a newer format)",
        ));
    }
    let id = buf[4];
    if id == 0 {
        return Err(key_err(path, "has key id 0, which is not valid"));
    }
    let mut key = Zeroizing::new([0u8; 32]);
    key.copy_from_slice(&buf[5..37]);
    let mut pepper = Zeroizing::new([0u8; 32]);
    pepper.copy_from_slice(&buf[37..69]);
    Ok((id, key, pepper))
}

/// Writes `body` to a new file at `path` (mode 0600) without ever replacing an existing one:
/// a temporary file is written and synced, then hard-linked into place.
fn write_new_file(path: &Path, body: &[u8], rng: &dyn Rng) -> Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let suffix: [u8; 6] = random_bytes(rng);
    let tmp_name = format!(
        ".{}.tmp-{}",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("key"),
        suffix
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    );
    let tmp = dir.join(tmp_name);
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(|e| key_err(path, format!("cannot be created in {}: {e}", dir.display())))?;
    let result = (|| -> std::io::Result<()> {
        f.write_all(body)?;
        f.sync_all()?;
        std::fs::hard_link(&tmp, path)?;
        Ok(())
    })();
    let _ = std::fs::remove_file(&tmp);
    result.map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            key_err(
                path,
                "appeared while it was being created; refusing to overwrite it",
            )
        } else {
            key_err(path, format!("cannot be created: {e}"))
        }
    })?;
    if let Ok(d) = File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests;
