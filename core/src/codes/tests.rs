//! Unit tests of backup and out-of-band codes.
use super::*;
use crate::clock::OsRng;
use std::collections::HashSet;

#[test]
fn a_batch_has_ten_distinct_codes_of_sixty_bits_in_display_form() {
    const { assert!(BACKUP_BITS >= 50) };
    let batch = backup_batch(&OsRng, BACKUP_BATCH);
    assert_eq!(batch.len(), 10);
    let shown: HashSet<String> = batch.iter().map(BackupCode::display).collect();
    assert_eq!(shown.len(), 10);
    for s in &shown {
        assert_eq!(s.len(), 14);
        let parts: Vec<&str> = s.split('-').collect();
        assert_eq!(parts.len(), 3, "{s}");
        assert!(parts.iter().all(|p| p.len() == 4));
        assert!(
            s.chars().all(|c| c == '-' || ALPHABET.contains(&(c as u8))),
            "{s}"
        );
    }
}

#[test]
fn every_symbol_of_the_alphabet_appears_evenly() {
    let mut counts = [0u32; 32];
    for _ in 0..4000 {
        let c = BackupCode::generate(&OsRng);
        for b in c.0.bytes() {
            counts[ALPHABET.iter().position(|a| *a == b).unwrap()] += 1;
        }
    }
    // 48 000 symbols, 1 500 expected each; a biased generator would leave some far off.
    for (i, n) in counts.iter().enumerate() {
        assert!(
            (1200..1800).contains(n),
            "symbol {} seen {n} times",
            ALPHABET[i] as char
        );
    }
}

#[test]
fn parsing_ignores_case_dashes_spaces_and_folds_look_alikes() {
    let c = BackupCode::parse("0123-4567-89ab").unwrap();
    for typed in [
        "0123456789AB",
        " 0123 4567 89ab ",
        "o123-4567-89AB",
        "0123-4567-89ab\n",
        "0i23-4567-89ab",
        "0L23-4567-89AB",
        "O1Z3",
    ] {
        let want = (typed != "O1Z3").then_some(&c);
        assert_eq!(BackupCode::parse(typed).as_ref(), want, "{typed:?}");
    }
    let round = BackupCode::generate(&OsRng);
    assert_eq!(
        BackupCode::parse(&round.display().to_uppercase()),
        Some(round)
    );
}

#[test]
fn malformed_backup_codes_are_refused() {
    for bad in [
        "",
        "0123-4567-89a",
        "0123-4567-89abc",
        "0123-4567-89a!",
        "0123_4567_89ab",
        "0123-4567-89aü",
        "０１２３-4567-89ab",
        "0123-4567-89ab\u{0}",
        "123456",
        "0123-4567-89au",
    ] {
        assert_eq!(BackupCode::parse(bad), None, "{bad:?}");
    }
    assert_eq!(BackupCode::parse(&"a".repeat(100_000)), None);
}

#[test]
fn backup_code_hashes_depend_on_the_user_and_the_pepper() {
    let k = Keyring::for_tests(&OsRng);
    let c = BackupCode::parse("abcd-efgh-jkmn").unwrap();
    assert_eq!(
        c.hash(&k, "alice"),
        BackupCode::parse("ABCDEFGHJKMN").unwrap().hash(&k, "alice")
    );
    assert_ne!(c.hash(&k, "alice"), c.hash(&k, "bob"));
    assert_ne!(
        c.hash(&k, "alice"),
        c.hash(&Keyring::for_tests(&OsRng), "alice")
    );
}

#[test]
fn a_backup_code_never_shows_in_debug() {
    let c = BackupCode::parse("abcd-efgh-jkmn").unwrap();
    assert!(!format!("{c:?}").contains("abcd"));
}

#[test]
fn oob_codes_have_the_asked_digits_and_keep_leading_zeros() {
    for d in [6u8, 7, 8] {
        for _ in 0..200 {
            let c = oob_code(&OsRng, d);
            assert_eq!(c.len(), usize::from(d));
            assert!(c.bytes().all(|b| b.is_ascii_digit()));
        }
    }
    assert_eq!(
        oob_code(&OsRng, 2).len(),
        6,
        "fewer than 6 digits are never issued"
    );
    assert_eq!(oob_code(&OsRng, 12).len(), 8);
}

/// An RNG that replays a fixed sequence of 4-byte words.
struct Script(std::sync::Mutex<Vec<u32>>);
impl Rng for Script {
    fn fill(&self, buf: &mut [u8]) {
        let v = self.0.lock().unwrap().remove(0);
        buf.copy_from_slice(&v.to_be_bytes());
    }
}

#[test]
fn oob_codes_redraw_values_in_the_biased_zone() {
    // u32::MAX % 10^6 = 967_295: values from 4_294_000_000 up would favour low codes.
    let rng = Script(std::sync::Mutex::new(vec![u32::MAX, 4_294_000_000, 123]));
    assert_eq!(oob_code(&rng, 6).as_str(), "000123");
    let rng = Script(std::sync::Mutex::new(vec![4_293_999_999]));
    assert_eq!(oob_code(&rng, 6).as_str(), "999999");
}

#[test]
fn oob_digits_are_uniform() {
    let mut counts = [0u32; 10];
    for _ in 0..10_000 {
        for b in oob_code(&OsRng, 6).bytes() {
            counts[usize::from(b - b'0')] += 1;
        }
    }
    // 60 000 digits, 6 000 expected each (sd ≈ 73).
    for (d, n) in counts.iter().enumerate() {
        assert!((5600..6400).contains(n), "digit {d} seen {n} times");
    }
}

#[test]
fn typed_oob_codes_are_normalized_or_refused() {
    assert_eq!(
        normalize_oob(" 012 345 ").as_deref().map(String::as_str),
        Some("012345")
    );
    assert_eq!(
        normalize_oob("0123-4567").as_deref().map(String::as_str),
        Some("01234567")
    );
    for bad in [
        "",
        "12345",
        "123456789",
        "12a456",
        "１２３４５６",
        "+123456",
        "123456\u{0}",
    ] {
        assert!(normalize_oob(bad).is_none(), "{bad:?}");
    }
}

#[test]
fn oob_hashes_are_bound_to_the_session() {
    let k = Keyring::for_tests(&OsRng);
    assert_ne!(hash_oob(&k, "s1", "123456"), hash_oob(&k, "s2", "123456"));
    assert_eq!(hash_oob(&k, "s1", "123456"), hash_oob(&k, "s1", "123456"));
    assert_ne!(
        hash_device_token(&k, "alice", "t"),
        hash_device_token(&k, "bob", "t")
    );
}
