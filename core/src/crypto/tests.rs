//! Unit tests of the key file and encryption at rest.
use super::*;
use crate::clock::OsRng;
use std::os::unix::fs::PermissionsExt;

fn secret() -> TotpSecret {
    TotpSecret::generate(&OsRng)
}

fn key_detail(r: Result<Keyring>) -> (PathBuf, String) {
    match r {
        Err(Error::Key { path, detail }) => (path, detail),
        Err(other) => panic!("expected a key error, got {other}"),
        Ok(k) => panic!("expected a key error, got {k:?}"),
    }
}

#[test]
fn the_key_file_is_created_0600_on_first_start_and_loads_back() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("twofold.key");
    let k1 = Keyring::load_or_create(&path, &OsRng, false).unwrap();
    let meta = std::fs::metadata(&path).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    assert_eq!(meta.len(), KEY_FILE_LEN as u64);
    let s = secret();
    let blob = k1.encrypt_secret(&OsRng, "alice", &s).unwrap();
    let k2 = Keyring::load_or_create(&path, &OsRng, true).unwrap();
    assert_eq!(k2.decrypt_secret("alice", &blob).unwrap(), s);
    assert_eq!(k1.mac("backup", &[b"x"]), k2.mac("backup", &[b"x"]));
    // No temporary file is left behind.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn a_group_or_world_readable_key_file_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("twofold.key");
    Keyring::load_or_create(&path, &OsRng, false).unwrap();
    for mode in [0o640, 0o604, 0o660] {
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        let (p, detail) = key_detail(Keyring::load_or_create(&path, &OsRng, true));
        assert_eq!(p, path);
        assert!(detail.contains("chmod 600"), "{detail}");
        let msg = Error::Key { path: p, detail }.to_string();
        assert!(msg.contains(path.to_str().unwrap()), "{msg}");
    }
}

#[test]
fn a_key_file_of_the_wrong_size_is_refused_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("twofold.key");
    for body in [
        &b""[..],
        &b"TFK\x01\x01short"[..],
        &[7u8; KEY_FILE_LEN + 1][..],
    ] {
        std::fs::write(&path, body).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let (_, detail) = key_detail(Keyring::load_or_create(&path, &OsRng, false));
        assert!(
            detail.contains(&format!("exactly {KEY_FILE_LEN} bytes")),
            "{detail}"
        );
        assert_eq!(std::fs::read(&path).unwrap(), body, "the file was changed");
    }
}

#[test]
fn a_file_without_the_header_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("twofold.key");
    std::fs::write(&path, [1u8; KEY_FILE_LEN]).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let (_, detail) = key_detail(Keyring::load(&path));
    assert!(detail.contains("header"), "{detail}");
}

#[test]
fn a_missing_key_file_is_refused_when_the_database_has_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("twofold.key");
    let (p, detail) = key_detail(Keyring::load_or_create(&path, &OsRng, true));
    assert_eq!(p, path);
    assert!(
        detail.contains("missing") && detail.contains("backup"),
        "{detail}"
    );
    assert!(!path.exists(), "no new key may be created");
}

#[test]
fn a_missing_directory_is_reported_with_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nope").join("twofold.key");
    let (p, detail) = key_detail(Keyring::load_or_create(&path, &OsRng, false));
    assert_eq!(p, path);
    assert!(detail.contains("cannot be created"), "{detail}");
}

#[test]
fn a_wrong_key_does_not_decrypt_and_says_which_file() {
    let dir = tempfile::tempdir().unwrap();
    let a = Keyring::for_tests(&OsRng);
    let path = dir.path().join("other.key");
    let b = Keyring::load_or_create(&path, &OsRng, false).unwrap();
    let blob = a.encrypt_secret(&OsRng, "alice", &secret()).unwrap();
    let err = b.decrypt_secret("alice", &blob).unwrap_err().to_string();
    assert!(
        err.contains("alice") && err.contains(path.to_str().unwrap()),
        "{err}"
    );
}

#[test]
fn a_ciphertext_is_bound_to_its_user() {
    let k = Keyring::for_tests(&OsRng);
    let blob = k.encrypt_secret(&OsRng, "alice", &secret()).unwrap();
    assert!(matches!(
        k.decrypt_secret("bob", &blob),
        Err(Error::Decrypt { .. })
    ));
}

#[test]
fn any_altered_byte_or_truncation_is_detected() {
    let k = Keyring::for_tests(&OsRng);
    let blob = k.encrypt_secret(&OsRng, "alice", &secret()).unwrap();
    assert_eq!(blob[0], k.key_id());
    assert_eq!(blob.len(), 1 + 24 + 20 + 16);
    for i in 1..blob.len() {
        let mut bad = blob.clone();
        bad[i] ^= 0x01;
        assert!(k.decrypt_secret("alice", &bad).is_err(), "byte {i}");
    }
    for n in [0, 1, 25, 40, blob.len() - 1] {
        assert!(k.decrypt_secret("alice", &blob[..n]).is_err(), "len {n}");
    }
    let mut other_id = blob.clone();
    other_id[0] = 9;
    let err = k
        .decrypt_secret("alice", &other_id)
        .unwrap_err()
        .to_string();
    assert!(err.contains("key id 9"), "{err}");
}

#[test]
fn the_ciphertext_does_not_contain_the_secret() {
    let k = Keyring::for_tests(&OsRng);
    let s = secret();
    let blob = k.encrypt_secret(&OsRng, "alice", &s).unwrap();
    assert!(!blob.windows(s.expose().len()).any(|w| w == s.expose()));
    // Two encryptions of one secret differ (fresh nonce).
    assert_ne!(blob, k.encrypt_secret(&OsRng, "alice", &s).unwrap());
}

#[test]
fn a_retired_key_decrypts_its_old_secrets_only_with_the_same_pepper() {
    let dir = tempfile::tempdir().unwrap();
    let old_path = dir.path().join("old.key");
    let old = Keyring::load_or_create(&old_path, &OsRng, false).unwrap();
    let s = secret();
    let blob = old.encrypt_secret(&OsRng, "alice", &s).unwrap();
    // A rotated key: new id and key, same pepper.
    let mut body = std::fs::read(&old_path).unwrap();
    body[4] = 2;
    body[5..37].copy_from_slice(&[42u8; 32]);
    let new_path = dir.path().join("new.key");
    std::fs::write(&new_path, &body).unwrap();
    std::fs::set_permissions(&new_path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let mut ring = Keyring::load(&new_path).unwrap();
    assert!(ring.decrypt_secret("alice", &blob).is_err());
    ring.add_retired(&old_path).unwrap();
    assert_eq!(
        ring.decrypt_secret("alice", &ring.encrypt_secret(&OsRng, "alice", &s).unwrap())
            .unwrap(),
        s
    );
    assert_eq!(ring.decrypt_secret("alice", &blob).unwrap(), s);
    // A key file with another pepper cannot be added.
    let stranger = dir.path().join("stranger.key");
    Keyring::load_or_create(&stranger, &OsRng, false).unwrap();
    let mut b = std::fs::read(&stranger).unwrap();
    b[4] = 3;
    std::fs::write(&stranger, &b).unwrap();
    let err = ring.add_retired(&stranger).unwrap_err().to_string();
    assert!(err.contains("pepper"), "{err}");
}

#[test]
fn macs_separate_domains_and_part_boundaries() {
    let k = Keyring::for_tests(&OsRng);
    let a = k.mac("backup", &[b"alice", b"code"]);
    assert_eq!(a, k.mac("backup", &[b"alice", b"code"]));
    assert_ne!(a, k.mac("oob", &[b"alice", b"code"]));
    assert_ne!(a, k.mac("backup", &[b"alic", b"ecode"]));
    assert_ne!(
        a,
        Keyring::for_tests(&OsRng).mac("backup", &[b"alice", b"code"])
    );
}

#[test]
fn the_keyring_debug_shows_no_key_material() {
    let k = Keyring::for_tests(&OsRng);
    let d = format!("{k:?}");
    assert!(d.contains("key_id") && !d.contains("pepper:"), "{d}");
}
