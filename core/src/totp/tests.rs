//! Unit tests of TOTP: RFC 6238 vectors, the window, step edges, malformed input, the text key,
//! the URI and the QR codes.
use super::*;
use crate::clock::OsRng;

fn rfc_secret(len: usize) -> TotpSecret {
    let seed = b"1234567890";
    TotpSecret::from_bytes(seed.iter().cycle().take(len).copied().collect()).unwrap()
}

/// RFC 6238 Appendix B (8 digits, each hash with its own seed length).
const VECTORS: [(i64, &str, &str, &str); 6] = [
    (59, "94287082", "46119246", "90693936"),
    (1111111109, "07081804", "68084774", "25091201"),
    (1111111111, "14050471", "67062674", "99943326"),
    (1234567890, "89005924", "91819424", "93441116"),
    (2000000000, "69279037", "90698825", "38618901"),
    (20000000000, "65353130", "77737706", "47863826"),
];

#[test]
fn rfc6238_appendix_b_vectors_match_for_every_hash() {
    let (s1, s256, s512) = (rfc_secret(20), rfc_secret(32), rfc_secret(64));
    for (t, sha1, sha256, sha512) in VECTORS {
        assert_eq!(
            rfc6238_code(&s1, Hash::Sha1, 8, t).as_deref(),
            Some(sha1),
            "SHA1 at {t}"
        );
        assert_eq!(
            rfc6238_code(&s256, Hash::Sha256, 8, t).as_deref(),
            Some(sha256),
            "SHA256 at {t}"
        );
        assert_eq!(
            rfc6238_code(&s512, Hash::Sha512, 8, t).as_deref(),
            Some(sha512),
            "SHA512 at {t}"
        );
    }
}

#[test]
fn the_20_byte_seed_gives_the_known_wrong_answer_for_sha256_and_sha512() {
    // The classic pitfall: reusing the SHA1 seed for the longer hashes.
    let s1 = rfc_secret(20);
    assert_eq!(
        rfc6238_code(&s1, Hash::Sha256, 8, 59).as_deref(),
        Some("32247374")
    );
    assert_eq!(
        rfc6238_code(&s1, Hash::Sha512, 8, 59).as_deref(),
        Some("69342147")
    );
}

#[test]
fn six_digit_codes_are_the_last_six_digits_with_leading_zeros_kept() {
    let s = rfc_secret(20);
    let expected = ["287082", "081804", "050471", "005924", "279037", "353130"];
    for ((t, ..), want) in VECTORS.iter().zip(expected) {
        assert_eq!(code_at(&s, *t).as_deref(), Some(want), "at {t}");
        assert_eq!(verify(&s, want, *t, 0), step_at(*t), "verify at {t}");
    }
}

#[test]
fn the_window_is_exactly_one_step_either_side() {
    // server at step 10000; codes for 9998, 9999, 10001, 10002, 10000.
    let s = TotpSecret::generate(&OsRng);
    let now = 10_000 * PERIOD;
    for (step, ok) in [
        (9998, false),
        (9999, true),
        (10001, true),
        (10002, false),
        (10000, true),
    ] {
        let code = code_at(&s, step * PERIOD).unwrap();
        let got = verify(&s, &code, now, 1);
        assert_eq!(got, ok.then_some(step), "step {step}");
    }
}

#[test]
fn window_zero_accepts_only_the_current_step() {
    let s = TotpSecret::generate(&OsRng);
    let now = 10_000 * PERIOD + 7;
    for (step, ok) in [(9999, false), (10000, true), (10001, false)] {
        let code = code_at(&s, step * PERIOD).unwrap();
        assert_eq!(verify(&s, &code, now, 0), ok.then_some(step), "step {step}");
    }
}

#[test]
fn step_boundaries_have_no_off_by_one() {
    // server time at 30k-1, 30k, 30k+1, 30k+29 with codes for k-1, k, k+1 (window 1).
    let s = TotpSecret::generate(&OsRng);
    let k = 55_555_i64;
    for now in [30 * k - 1, 30 * k, 30 * k + 1, 30 * k + 29] {
        let server_step = now / 30;
        for step in [k - 1, k, k + 1] {
            let code = code_at(&s, step * 30).unwrap();
            let expect = ((step - server_step).abs() <= 1).then_some(step);
            assert_eq!(verify(&s, &code, now, 1), expect, "now {now}, step {step}");
        }
    }
}

#[test]
fn times_before_the_epoch_and_at_the_far_end_refuse_cleanly() {
    let s = rfc_secret(20);
    for t in [-1, -30, i64::MIN, i64::MIN + 1] {
        assert_eq!(verify(&s, "287082", t, 1), None, "at {t}");
        assert_eq!(code_at(&s, t), None);
    }
    for t in [i64::MAX, i64::MAX - 1, i64::MAX / 30 * 30] {
        let code = code_at(&s, t).unwrap();
        assert_eq!(verify(&s, &code, t, 1), step_at(t), "at {t}");
    }
}

#[test]
fn codes_of_the_wrong_shape_are_refused() {
    // R-06 and B.1: 050471 is valid at 1111111111.
    let s = rfc_secret(20);
    let t = 1111111111;
    assert!(verify(&s, "050471", t, 0).is_some());
    for bad in [
        "",
        " ",
        "\t",
        "\n",
        "50471",
        "0050471",
        "00050471",
        "+50471",
        "-50471",
        "5.05e4",
        "0x1",
        "99999999999999999999",
        "０５０４７１",
        "٠٥٠٤٧١",
        "⁰⁵⁰⁴⁷¹",
        "050471\u{0}",
        "050471%00",
        "05047a",
        "050\t471",
    ] {
        assert_eq!(verify(&s, bad, t, 1), None, "{bad:?}");
    }
    let big = "0".repeat(1 << 20);
    assert_eq!(verify(&s, &big, t, 1), None);
}

#[test]
fn surrounding_whitespace_and_inner_spaces_are_accepted() {
    let s = rfc_secret(20);
    let t = 1111111111;
    for ok in ["050471 ", " 050471", "050 471", "\t050471\n", "0 5 0 4 7 1"] {
        assert!(verify(&s, ok, t, 0).is_some(), "{ok:?}");
    }
}

#[test]
fn a_secret_never_shows_in_debug_and_short_secrets_are_refused() {
    let s = rfc_secret(20);
    let dbg = format!("{s:?}");
    assert!(!dbg.contains("GEZD") && !dbg.contains("49"), "{dbg}");
    assert!(TotpSecret::from_bytes(vec![1; 15]).is_err());
    assert!(TotpSecret::from_bytes(vec![1; 16]).is_ok());
}

#[test]
fn generated_secrets_have_160_bits_and_do_not_repeat() {
    let mut seen = std::collections::HashSet::new();
    for _ in 0..10_000 {
        let s = TotpSecret::generate(&OsRng);
        assert_eq!(s.expose().len(), 20);
        assert!(seen.insert(s.expose().to_vec()), "duplicate secret");
    }
}

#[test]
fn the_text_key_is_base32_in_groups_of_four_and_parses_back() {
    let s = rfc_secret(20);
    assert_eq!(s.text_key(), "GEZD GNBV GY3T QOJQ GEZD GNBV GY3T QOJQ");
    let back = TotpSecret::from_base32("gezd-gnbv gy3t qojq gezd gnbv gy3t qojq").unwrap();
    assert_eq!(back, s);
    assert!(TotpSecret::from_base32("GEZD1!").is_err());
}

#[test]
fn the_otpauth_uri_names_issuer_user_and_parameters() {
    let s = rfc_secret(20);
    let uri = s.otpauth_uri("Example IT", "alice@example.com");
    assert_eq!(
        uri,
        "otpauth://totp/Example%20IT:alice%40example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Example%20IT&algorithm=SHA1&digits=6&period=30"
    );
    // totp-rs, an independent parser, reads it back to the same generator.
    let parsed = totp_rs::Totp::from_url(&uri).unwrap();
    assert_eq!(parsed.generate(59).to_string(), "287082");
    assert_eq!(parsed.account_name(), "alice@example.com");
    assert_eq!(parsed.issuer(), Some("Example IT"));
}

fn decode_grid(width: usize, height: usize, dark: impl Fn(usize, usize) -> bool) -> String {
    let mut img = rqrr::PreparedImage::prepare_from_greyscale(width, height, |x, y| {
        if dark(x, y) { 0 } else { 255 }
    });
    let grids = img.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code expected");
    grids[0].decode().unwrap().1
}

#[test]
fn the_terminal_qr_code_decodes_to_the_uri() {
    let uri = rfc_secret(20).otpauth_uri("twofold", "alice");
    let art = qr_terminal(&uri).unwrap();
    let rows: Vec<Vec<char>> = art.lines().map(|l| l.chars().collect()).collect();
    let w = rows[0].len();
    assert!(rows.iter().all(|r| r.len() == w), "ragged rows");
    // The quiet zone is light, drawn as full blocks (light-on-dark terminal).
    assert!(rows[0].iter().all(|c| *c == '\u{2588}'));
    // Each character is two pixels (top, bottom); blocks are light, spaces dark. Scale up 4x.
    let px = |x: usize, y: usize| -> bool {
        let c = rows[y / 2][x];
        let light = match c {
            '\u{2588}' => true,
            ' ' => false,
            '\u{2580}' => y.is_multiple_of(2),
            '\u{2584}' => y % 2 == 1,
            other => panic!("unexpected {other:?}"),
        };
        !light
    };
    let h = rows.len() * 2;
    let text = decode_grid(w * 4, h * 4, |x, y| px(x / 4, (y / 4).min(h - 1)));
    assert_eq!(text, uri);
}

#[test]
fn the_svg_qr_code_is_an_svg_document() {
    let uri = rfc_secret(20).otpauth_uri("twofold", "alice");
    let svg = qr_svg(&uri).unwrap();
    assert!(svg.starts_with("<?xml") && svg.contains("<svg") && svg.trim_end().ends_with("</svg>"));
    assert!(svg.contains("#000000") && svg.contains("#ffffff"));
}
