//! Seeds a twofoldd database for the OIDC benchmark (loopback only, throw-away data):
//!
//!   oidc-bench-seed DB USERS HASH ISSUER
//!
//! - users `user0..user{USERS-1}` with password `password`, hashed with argon2id: `owasp`
//!   (m=19456, t=2, p=1: the product's parameters) or `cheap` (m=8, t=1, p=1: "no password
//!   hashing", the protocol's own cost);
//! - the confidential client `bench-client` (secret `bench-secret-0123456789abcdef0123456789abcdef`,
//!   redirect `http://127.0.0.1:3099/cb`, grant types `authorization_code` only, like the peer's
//!   client: no refresh token is issued or stored);
//! - settings with two-factor authentication off (the peer's plain configuration has none).
//!
//!   oidc-bench-seed --hash-cost N
//!
//! measures what the flow's password check costs alone: N argon2id verifications of `password`
//! with the product's parameters (m=19456, t=2, p=1) by twofoldd's own `verify_password_kept`,
//! as its hash threads run it; CPU time of this thread (`/proc/thread-self/schedstat`), printed
//! as one JSON line. Run it pinned to the server's core.

use argon2::password_hash::{PasswordHasher, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use twofold_core::store::Store;
use twofold_core::store::oidc::{OidcClient, OidcStore};
use twofold_core::store::sqlite::SqliteStore;

/// CPU time this thread has run, in nanoseconds.
fn thread_cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .expect("reading /proc/thread-self/schedstat")
}

fn hash_cost(n: usize) {
    let hash = twofoldd::http::first_factor::hash_password("password", &[9u8; 16]).expect("hash");
    // One untimed run: first-touch page faults of the 19 MiB block.
    assert!(twofoldd::http::first_factor::verify_password_kept(
        "password", &hash
    ));
    let (c0, t0) = (thread_cpu_ns(), std::time::Instant::now());
    for _ in 0..n {
        assert!(twofoldd::http::first_factor::verify_password_kept(
            "password", &hash
        ));
    }
    let (cpu, wall) = (thread_cpu_ns() - c0, t0.elapsed());
    println!(
        "{{\"event\":\"hash_cost\",\"n\":{n},\"cpu_ms_per_verify\":{:.3},\"wall_ms_per_verify\":{:.3}}}",
        cpu as f64 / 1e6 / n as f64,
        wall.as_secs_f64() * 1e3 / n as f64
    );
}

fn main() {
    let a: Vec<String> = std::env::args().collect();
    if a.len() == 3 && a[1] == "--hash-cost" {
        hash_cost(a[2].parse().expect("N"));
        return;
    }
    if a.len() != 4 {
        eprintln!("usage: oidc-bench-seed DB USERS owasp|cheap");
        std::process::exit(2);
    }
    let store = SqliteStore::open(std::path::Path::new(&a[1])).expect("opening the database");
    let n: usize = a[2].parse().expect("USERS");
    let params = match a[3].as_str() {
        "owasp" => Params::new(19_456, 2, 1, None),
        "cheap" => Params::new(8, 1, 1, None),
        other => panic!("unknown hash {other}"),
    }
    .expect("params");
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
    let salt = SaltString::encode_b64(b"twofold-bench-salt").expect("salt");
    let hash = argon
        .hash_password(b"password", &salt)
        .expect("hash")
        .to_string();
    for i in 0..n {
        let name = format!("user{i}");
        store.ensure_user(&name, 1).expect("user");
        store.set_password_hash(&name, &hash).expect("hash");
    }
    let client_hash = twofoldd::http::first_factor::hash_password(
        "bench-secret-0123456789abcdef0123456789abcdef",
        &[5u8; 16],
    )
    .expect("client hash");
    store
        .put_client(&OidcClient {
            client_id: "bench-client".into(),
            name: "bench".into(),
            secret_hash: Some(client_hash),
            redirect_uris: vec!["http://127.0.0.1:3099/cb".into()],
            post_logout_redirect_uris: vec![],
            grant_types: vec!["authorization_code".into()],
            created_at: 1,
        })
        .expect("client");
    let cur = store.load_settings().expect("settings");
    let mut s = cur.settings.clone();
    s.enabled = false;
    store.save_settings(&s, cur.version).expect("save settings");
    eprintln!("seeded {n} users ({}) and bench-client", a[3]);
}
