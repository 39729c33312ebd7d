//! Cross-check with an independent implementation: 10 000 random (secret, time) pairs must give
//! the same 6-digit code from twofold and from `oathtool` (OATH Toolkit), and twofold's verify
//! must accept oathtool's code at exactly that step.

use std::process::Command;
use twofold_core::clock::{OsRng, Rng, random_bytes};
use twofold_core::totp::{self, TotpSecret};

const PAIRS: usize = 10_000;
const THREADS: usize = 8;

fn oathtool(secret_b32: &str, t: i64) -> String {
    let out = match Command::new("oathtool")
        .args(["--totp", "-b", &format!("--now=@{t}"), secret_b32])
        .output()
    {
        Ok(o) => o,
        Err(e) => panic!(
            "oathtool cannot be run ({e}): install it (Debian: apt-get install oathtool); .ci/run installs it"
        ),
    };
    assert!(
        out.status.success(),
        "oathtool failed for time {t}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

#[test]
fn ten_thousand_random_secrets_and_times_agree_with_oathtool() {
    // Random secrets of 16 to 40 bytes and times up to 2^35 s (steps beyond 2^32 included).
    let pairs: Vec<(TotpSecret, i64)> = (0..PAIRS)
        .map(|_| {
            let len = 16 + usize::from(random_bytes::<1>(&OsRng)[0]) % 25;
            let mut b = vec![0u8; len];
            OsRng.fill(&mut b);
            let t = (u64::from_be_bytes(random_bytes(&OsRng)) >> 29) as i64;
            (TotpSecret::from_bytes(b).unwrap(), t)
        })
        .collect();
    let pairs = std::sync::Arc::new(pairs);
    let handles: Vec<_> = (0..THREADS)
        .map(|k| {
            let pairs = pairs.clone();
            std::thread::spawn(move || {
                let mut checked = 0;
                for (secret, t) in pairs.iter().skip(k).step_by(THREADS) {
                    let theirs = oathtool(&secret.to_base32(), *t);
                    let ours = totp::code_at(secret, *t).unwrap();
                    assert_eq!(ours, theirs, "secret {} at {t}", secret.to_base32());
                    assert_eq!(totp::verify(secret, &theirs, *t, 0), Some(t / 30));
                    checked += 1;
                }
                checked
            })
        })
        .collect();
    let total: usize = handles.into_iter().map(|h| h.join().unwrap()).sum();
    assert_eq!(total, PAIRS);
}

#[test]
fn the_rfc_seed_agrees_with_oathtool_at_the_published_times() {
    let s = TotpSecret::from_base32("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ").unwrap();
    for t in [
        59,
        1111111109,
        1111111111,
        1234567890,
        2000000000,
        20000000000,
    ] {
        assert_eq!(
            totp::code_at(&s, t).unwrap(),
            oathtool("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", t)
        );
    }
}
