//! Key creation, rotation and storage on a real SQLite store.

use super::*;
use twofold_core::clock::OsRng;
use twofold_core::store::sqlite::SqliteStore;

const DAY: i64 = 86_400;

fn policy() -> Rotation {
    Rotation {
        period_secs: 90 * DAY,
        publish_ahead_secs: DAY,
        keep_after_secs: 2 * DAY,
    }
}

fn setup() -> (tempfile::TempDir, SqliteStore, Keyring) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("k.db")).unwrap();
    (dir, store, Keyring::for_tests(&OsRng))
}

#[test]
fn the_first_start_creates_an_rs256_and_an_eddsa_key_that_sign() {
    let (_d, store, keys) = setup();
    let set = maintain(&store, &keys, &OsRng, 1_000_000, policy()).unwrap();
    for alg in Alg::ALL {
        let k = set.signer(alg, 1_000_000).unwrap();
        let sig = k.sign(&alg.jws(), b"message").unwrap();
        assert!(k.verify(b"message", &sig));
        assert!(!k.verify(b"messagE", &sig));
        assert!(k.kid.ends_with(&alg.as_str().to_ascii_lowercase()));
    }
    let jwks: serde_json::Value = serde_json::from_slice(&set.jwks_json).unwrap();
    let keys_json = jwks["keys"].as_array().unwrap();
    assert_eq!(keys_json.len(), 2);
    assert!(
        keys_json
            .iter()
            .any(|k| k["kty"] == "RSA" && k["n"].is_string())
    );
    assert!(
        keys_json
            .iter()
            .any(|k| k["kty"] == "OKP" && k["crv"] == "Ed25519")
    );
    assert!(
        keys_json.iter().all(|k| k.get("d").is_none()),
        "no private parts"
    );
    // Idempotent: a second start creates nothing.
    maintain(&store, &keys, &OsRng, 1_000_001, policy()).unwrap();
    assert_eq!(store.list_signing_keys().unwrap().len(), 2);
}

#[test]
fn rotation_publishes_the_next_key_before_it_signs_and_keeps_the_old_one_for_a_while() {
    let (_d, store, keys) = setup();
    let t0 = 1_000_000;
    let first = maintain(&store, &keys, &OsRng, t0, policy()).unwrap();
    let old = first.signer(Alg::Rs256, t0).unwrap().kid.clone();
    // A day before the period ends, the next key is published but does not sign yet.
    let t1 = t0 + 89 * DAY;
    let set = maintain(&store, &keys, &OsRng, t1, policy()).unwrap();
    assert_eq!(set.signer(Alg::Rs256, t1).unwrap().kid, old);
    let published: Vec<String> = set.published().map(|k| k.kid.clone()).collect();
    assert_eq!(published.len(), 4, "{published:?}");
    // When it activates, the new key signs; the old one still verifies old tokens.
    let t2 = t0 + 90 * DAY;
    let set = load(&store, &keys, t2).unwrap();
    let new = set.signer(Alg::Rs256, t2).unwrap().kid.clone();
    assert_ne!(new, old);
    assert!(set.by_kid(&old).is_some());
    // After the keep period the old key is gone from the JWKS.
    let t3 = t2 + 2 * DAY;
    let set = load(&store, &keys, t3).unwrap();
    assert!(set.by_kid(&old).is_none());
    assert_eq!(set.signer(Alg::Rs256, t3).unwrap().kid, new);
}

#[test]
fn a_forced_rotation_adds_one_key_per_algorithm_once() {
    let (_d, store, keys) = setup();
    maintain(&store, &keys, &OsRng, 1_000, policy()).unwrap();
    rotate_now(&store, &keys, &OsRng, 2_000, policy()).unwrap();
    rotate_now(&store, &keys, &OsRng, 2_001, policy()).unwrap();
    assert_eq!(store.list_signing_keys().unwrap().len(), 4);
}

#[test]
fn keys_are_encrypted_at_rest_and_another_key_file_cannot_open_them() {
    let (_d, store, keys) = setup();
    maintain(&store, &keys, &OsRng, 1_000, policy()).unwrap();
    for k in store.list_signing_keys().unwrap() {
        // PKCS#8 DER starts with a SEQUENCE tag; a sealed blob starts with a random nonce.
        assert!(aws_lc_rs::rsa::KeyPair::from_pkcs8(&k.private_key).is_err());
        assert!(aws_lc_rs::signature::Ed25519KeyPair::from_pkcs8(&k.private_key).is_err());
    }
    let other = Keyring::for_tests(&OsRng);
    let err = load(&store, &other, 1_001).unwrap_err();
    assert!(matches!(err, KeyError::Decrypt { .. }), "{err}");
}
