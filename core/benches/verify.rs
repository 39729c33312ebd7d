//! Verify costs, each next to its floor measured in the same run:
//!
//! - `totp/verify_invalid`: decrypt the stored secret (XChaCha20-Poly1305) and check an invalid
//!   code with the ±1 window (3 HMAC-SHA1, constant-time compares), next to `totp/hmac_sha1_floor`,
//!   one HMAC-SHA1 of an 8-byte counter. Goal: ≤ 5 µs.
//! - `sqlite/verify_txn`: the store part of a TOTP verify on a real SQLite file (WAL,
//!   synchronous=FULL): read the user, decrypt, check, and the guarded `advance_totp_step`
//!   update; next to `sqlite/bare_update_floor`, one `BEGIN IMMEDIATE; UPDATE; COMMIT` on a file
//!   with the same pragmas. Goal: ≤ 2× the floor.
//! - `sqlite/verify_batch_txn`: the transaction a right code costs the engine: the same read and
//!   check, then one `Store::consume_then` that burns the step and, in the same transaction,
//!   clears the failure count, ends the session, and writes the history and audit rows. Same
//!   floor and goal.
//! - `engine/wrong_then_right`: the whole engine path (`Engine::verify` with a wrong code, then
//!   the right one: counters, session end, sign-in history and audit rows), for reference.
//!
//! After the run the ratios are printed from criterion's estimates (medians), and the two SQLite
//! measurements are repeated alternately (300 pairs) so that disk-load drift on a shared machine
//! hits both alike; the median per-pair ratio is the figure to compare with the goal. The engine
//! paths are paired with the bare transaction the same way (100 pairs each): a whole right-code
//! sign-in (`begin` + `verify`) and a wrong-then-right `verify`; their per-pair ratio is about
//! the number of durable commits they cost, whatever the disk's speed at that moment.
//! Run: `cargo bench -p twofold-core --bench verify -- --warm-up-time 1 --measurement-time 3`.

use criterion::{BatchSize, Criterion};
use hmac::{Hmac, Mac};
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Instant, SystemTime};
use twofold_core::clock::{FakeClock, OsRng, random_id};
use twofold_core::crypto::Keyring;
use twofold_core::engine::{Engine, NoDelivery, SignInAttempt};
use twofold_core::proto::{Code, Method, PamReply};
use twofold_core::settings::Settings;
use twofold_core::store::sqlite::SqliteStore;
use twofold_core::store::{
    AuditEvent, Consume, ConsumeOutcome, SessionEnd, SignIn, Store, VerificationSession, Write,
};
use twofold_core::totp::{self, TotpSecret};

const T0: i64 = 1_767_225_600;

fn target_dir() -> PathBuf {
    if let Ok(d) = std::env::var("CARGO_TARGET_DIR") {
        return PathBuf::from(d);
    }
    // …/target/release/deps/verify-HASH
    std::env::current_exe()
        .ok()
        .and_then(|p| Some(p.parent()?.parent()?.parent()?.to_path_buf()))
        .unwrap_or_else(|| PathBuf::from("target"))
}

/// A code that is wrong for `secret` at `t` (window ±1).
fn wrong(secret: &TotpSecret, t: i64) -> String {
    let valid: Vec<String> = (-1..=1)
        .map(|d| totp::code_at(secret, t + d * 30).unwrap())
        .collect();
    (0..)
        .map(|n: u32| format!("{:06}", 123_456 + n))
        .find(|c| !valid.contains(c))
        .unwrap()
}

fn bench_totp(c: &mut Criterion) {
    let keys = Keyring::for_tests(&OsRng);
    let secret = TotpSecret::generate(&OsRng);
    let blob = keys.encrypt_secret(&OsRng, "alice", &secret).unwrap();
    let bad = wrong(&secret, T0);
    let mut g = c.benchmark_group("totp");
    g.bench_function("verify_invalid", |b| {
        b.iter(|| {
            let s = keys.decrypt_secret("alice", black_box(&blob)).unwrap();
            black_box(totp::verify(&s, black_box(&bad), black_box(T0), 1))
        })
    });
    let key = [7u8; 20];
    g.bench_function("hmac_sha1_floor", |b| {
        b.iter(|| {
            let mut m = <Hmac<sha1::Sha1> as Mac>::new_from_slice(black_box(&key)).unwrap();
            m.update(&black_box(57_240_853u64).to_be_bytes());
            black_box(m.finalize().into_bytes())
        })
    });
    g.finish();
}

/// A store with one enrolled user and a bare database with the same durability.
struct SqliteRig {
    store: SqliteStore,
    keys: Keyring,
    secret: TotpSecret,
    bare: rusqlite::Connection,
    step: AtomicI64,
}

impl SqliteRig {
    fn new(dir: &Path) -> SqliteRig {
        let store = SqliteStore::open(&dir.join("verify.db")).unwrap();
        let keys = Keyring::for_tests(&OsRng);
        let secret = TotpSecret::generate(&OsRng);
        store.ensure_user("alice", T0).unwrap();
        let blob = keys.encrypt_secret(&OsRng, "alice", &secret).unwrap();
        store.set_pending_secret("alice", &blob, T0).unwrap();
        assert!(store.confirm_enrollment("alice", T0 / 30, T0).unwrap());
        let bare = rusqlite::Connection::open(dir.join("bare.db")).unwrap();
        bare.execute_batch(
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA busy_timeout=5000;
             CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, n INTEGER NOT NULL);
             INSERT OR IGNORE INTO t VALUES (1, 0);",
        )
        .unwrap();
        SqliteRig {
            store,
            keys,
            secret,
            bare,
            step: AtomicI64::new(T0 / 30 + 1),
        }
    }

    /// The next step's time and code (outside the measured part).
    fn next(&self) -> (i64, String) {
        let s = self.step.fetch_add(1, Ordering::Relaxed);
        (s * 30, totp::code_at(&self.secret, s * 30).unwrap())
    }

    /// The verify transaction: read the user, decrypt, check, guarded update of the step.
    fn verify(&self, now: i64, code: &str) {
        let u = self.store.get_user("alice").unwrap().unwrap();
        let sec = self
            .keys
            .decrypt_secret(&u.name, u.totp_secret.as_deref().unwrap())
            .unwrap();
        let s = totp::verify(&sec, code, now, 1).unwrap();
        assert!(self.store.advance_totp_step(&u.name, s).unwrap());
    }

    /// An open session for `verify_batch` (outside the measured part).
    fn session(&self) -> VerificationSession {
        let n = self.step.load(Ordering::Relaxed);
        let s = VerificationSession {
            id: format!("bench-{n}-{}", random_id(&OsRng)),
            user: "alice".into(),
            service: "sshd".into(),
            rhost: Some("192.0.2.7".into()),
            method: Method::AuthenticatorApp,
            invalid_attempts: 0,
            resends: 0,
            created_at: T0,
            expires_at: i64::MAX,
            ended: None,
        };
        self.store.create_session(&s).unwrap();
        s
    }

    /// The engine's right-code transaction: read, decrypt, check, then one `consume_then`.
    fn verify_batch(&self, now: i64, code: &str, s: &VerificationSession) {
        let u = self.store.get_user("alice").unwrap().unwrap();
        let sec = self
            .keys
            .decrypt_secret(&u.name, u.totp_secret.as_deref().unwrap())
            .unwrap();
        let step = totp::verify(&sec, code, now, 1).unwrap();
        let signin = SignIn {
            user: u.name.clone(),
            service: s.service.clone(),
            rhost: s.rhost.clone(),
            outcome: "success".into(),
            reason: "authenticator_app code accepted".into(),
            at: now,
        };
        let audit = AuditEvent {
            at: now,
            actor: u.name.clone(),
            event: "auth.success".into(),
            user: Some(u.name.clone()),
            outcome: "ok".into(),
            detail: "authenticator_app code accepted for sshd from 192.0.2.7".into(),
        };
        let then = [
            Write::ClearFailures {
                user: u.name.clone(),
            },
            Write::FinishSession {
                id: s.id.clone(),
                how: SessionEnd::Success,
            },
            Write::RecordSignin(signin),
            Write::Audit(audit),
        ];
        let consume = Consume::TotpStep { user: u.name, step };
        let outcome = self.store.consume_then(&consume, &then).unwrap();
        assert_eq!(outcome, ConsumeOutcome::Accepted);
    }

    /// The floor: one bare UPDATE transaction.
    fn bare(&self) {
        self.bare
            .execute_batch("BEGIN IMMEDIATE; UPDATE t SET n = n + 1 WHERE id = 1; COMMIT;")
            .unwrap()
    }
}

fn bench_sqlite(c: &mut Criterion, rig: &SqliteRig) {
    let mut g = c.benchmark_group("sqlite");
    g.sample_size(30);
    g.bench_function("verify_txn", |b| {
        b.iter_batched(
            || rig.next(),
            |(now, code)| rig.verify(now, &code),
            BatchSize::SmallInput,
        )
    });
    g.bench_function("verify_batch_txn", |b| {
        b.iter_batched(
            || (rig.next(), rig.session()),
            |((now, code), s)| rig.verify_batch(now, &code, &s),
            BatchSize::SmallInput,
        )
    });
    g.bench_function("bare_update_floor", |b| b.iter(|| rig.bare()));
    g.finish();
}

/// Alternates the two SQLite measurements so that disk-load drift hits both alike; prints the
/// medians and the median of the per-pair ratios.
fn paired_sqlite(rig: &SqliteRig, pairs: usize) {
    let mut v = Vec::with_capacity(pairs);
    let mut f = Vec::with_capacity(pairs);
    let mut r = Vec::with_capacity(pairs);
    let (mut vb, mut rb) = (Vec::with_capacity(pairs), Vec::with_capacity(pairs));
    for _ in 0..pairs {
        let (now, code) = rig.next();
        let a = time(|| rig.verify(now, &code));
        let b = time(|| rig.bare());
        let (now, code) = rig.next();
        let s = rig.session();
        let c = time(|| rig.verify_batch(now, &code, &s));
        v.push(a);
        f.push(b);
        r.push(a / b);
        vb.push(c);
        rb.push(c / b);
    }
    let med = |x: &mut Vec<f64>| {
        x.sort_by(f64::total_cmp);
        x[x.len() / 2]
    };
    println!(
        "  sqlite paired ({pairs} alternating runs): verify_txn {:.1} µs, bare_update {:.1} µs, median per-pair ratio {:.2}   (goal ≤ 2× floor)",
        med(&mut v) * 1e6,
        med(&mut f) * 1e6,
        med(&mut r)
    );
    println!(
        "  sqlite paired ({pairs} alternating runs): verify_batch_txn {:.1} µs, median per-pair ratio {:.2}   (goal ≤ 2× floor)",
        med(&mut vb) * 1e6,
        med(&mut rb)
    );
}

/// An engine on its own SQLite file with one enrolled user, and the next step to use.
struct EngineRig {
    engine: Engine,
    clock: Arc<FakeClock>,
    attempt: SignInAttempt,
    secret: TotpSecret,
    step: AtomicI64,
}

impl EngineRig {
    fn new(dir: &Path) -> EngineRig {
        let store = Arc::new(SqliteStore::open(&dir.join("engine.db")).unwrap());
        let settings = Settings {
            max_consecutive_failures: 100,
            ..Settings::default()
        };
        store.save_settings(&settings, 0).unwrap();
        let clock = Arc::new(FakeClock::at(T0));
        let engine = Engine::new(
            store.clone(),
            clock.clone(),
            Arc::new(OsRng),
            Arc::new(Keyring::for_tests(&OsRng)),
            Arc::new(NoDelivery),
        );
        let attempt = SignInAttempt {
            user: "alice".into(),
            service: "sshd".into(),
            rhost: Some("192.0.2.7".into()),
            roles: vec![],
            look_up_roles: false,
            device_token: None,
        };
        let PamReply::Enroll(o) = engine.begin(&attempt).unwrap() else {
            panic!("expected enrollment")
        };
        let PamReply::EnrollSecret(e) = engine.enroll_start(&o.session).unwrap() else {
            panic!("expected a secret")
        };
        let b32 = e.otpauth_uri.split("secret=").nth(1).unwrap();
        let secret = TotpSecret::from_base32(b32.split('&').next().unwrap()).unwrap();
        let first = Code::new(totp::code_at(&secret, T0).unwrap());
        assert!(matches!(
            engine.enroll_confirm(&o.session, &first).unwrap(),
            PamReply::Enrolled { .. }
        ));
        EngineRig {
            engine,
            clock,
            attempt,
            secret,
            step: AtomicI64::new(T0 / 30 + 1),
        }
    }

    /// Moves the clock to a fresh step; returns its time.
    fn next_step(&self) -> i64 {
        let t = self.step.fetch_add(1, Ordering::Relaxed) * 30;
        self.clock.set(t);
        t
    }

    /// Opens a sign-in: the session id.
    fn begin(&self) -> String {
        let PamReply::Challenge(ch) = self.engine.begin(&self.attempt).unwrap() else {
            panic!("expected a challenge")
        };
        ch.session
    }

    fn right(&self, session: &str, t: i64) {
        let right = Code::new(totp::code_at(&self.secret, t).unwrap());
        let r = self
            .engine
            .verify(session, Method::AuthenticatorApp, &right)
            .unwrap();
        assert!(matches!(r, PamReply::Accepted { .. }));
    }

    fn wrong(&self, session: &str, t: i64) {
        let bad = Code::new(wrong(&self.secret, t));
        let r = self
            .engine
            .verify(session, Method::AuthenticatorApp, &bad)
            .unwrap();
        assert!(matches!(r, PamReply::Rejected { .. }));
    }
}

fn bench_engine(c: &mut Criterion, rig: &EngineRig) {
    let mut g = c.benchmark_group("engine");
    g.sample_size(20);
    g.bench_function("wrong_then_right", |b| {
        b.iter_batched(
            || {
                let t = rig.next_step();
                (t, rig.begin())
            },
            |(t, session)| {
                // Setups of a batch run first and move the clock; put it back to this one's.
                rig.clock.set(t);
                rig.wrong(&session, t);
                rig.right(&session, t);
            },
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

/// Seconds `f` takes.
fn time(f: impl FnOnce()) -> f64 {
    let t = Instant::now();
    f();
    t.elapsed().as_secs_f64()
}

/// The engine paths alternated with the bare transaction; prints medians and the median
/// per-pair ratios.
fn paired_engine(rig: &EngineRig, floor: &SqliteRig, pairs: usize) {
    let med = |x: &mut Vec<f64>| {
        x.sort_by(f64::total_cmp);
        x[x.len() / 2]
    };
    let run = |name: &str, measure: &dyn Fn() -> f64| {
        let (mut v, mut f, mut r) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..pairs {
            let a = measure();
            let b = time(|| floor.bare());
            v.push(a);
            f.push(b);
            r.push(a / b);
        }
        println!(
            "  engine paired ({pairs} alternating runs): {name} {:.1} µs, bare_update {:.1} µs, median per-pair ratio {:.2}",
            med(&mut v) * 1e6,
            med(&mut f) * 1e6,
            med(&mut r)
        );
    };
    run("sign-in with the right code (begin + verify)", &|| {
        let t = rig.next_step();
        time(|| {
            let s = rig.begin();
            rig.right(&s, t);
        })
    });
    run("verify wrong then right", &|| {
        let t = rig.next_step();
        let s = rig.begin();
        time(|| {
            rig.wrong(&s, t);
            rig.right(&s, t);
        })
    });
}

/// Median of one benchmark in nanoseconds, from criterion's saved estimates written by this run.
fn median_ns(out: &Path, group: &str, id: &str, since: SystemTime) -> Option<f64> {
    let p = out.join(group).join(id).join("new").join("estimates.json");
    if std::fs::metadata(&p).ok()?.modified().ok()? < since {
        return None;
    }
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(p).ok()?).ok()?;
    v["median"]["point_estimate"].as_f64()
}

fn report(out: &Path, since: SystemTime) {
    let pairs = [
        (
            "totp",
            "verify_invalid",
            "totp",
            "hmac_sha1_floor",
            "≤ 5 µs",
        ),
        (
            "sqlite",
            "verify_txn",
            "sqlite",
            "bare_update_floor",
            "≤ 2× floor",
        ),
        (
            "sqlite",
            "verify_batch_txn",
            "sqlite",
            "bare_update_floor",
            "≤ 2× floor",
        ),
        (
            "engine",
            "wrong_then_right",
            "sqlite",
            "bare_update_floor",
            "reference",
        ),
    ];
    println!("\nverify figures (medians):");
    for (g, id, fg, fid, goal) in pairs {
        match (median_ns(out, g, id, since), median_ns(out, fg, fid, since)) {
            (Some(a), Some(f)) => println!(
                "  {g}/{id}: {:.3} µs   floor {fg}/{fid}: {:.3} µs   ratio {:.2}   (goal {goal})",
                a / 1000.0,
                f / 1000.0,
                a / f
            ),
            _ => println!("  {g}/{id}: not measured in this run"),
        }
    }
}

fn main() {
    #[allow(
        clippy::disallowed_methods,
        reason = "a benchmark tells its own run's estimate files from older ones by wall time"
    )]
    let since = SystemTime::now();
    let out = target_dir().join("criterion");
    let dir = tempfile::tempdir_in(target_dir()).unwrap();
    let mut c = Criterion::default()
        .output_directory(&out)
        .configure_from_args();
    let rig = SqliteRig::new(dir.path());
    bench_totp(&mut c);
    bench_sqlite(&mut c, &rig);
    let engine = EngineRig::new(dir.path());
    bench_engine(&mut c, &engine);
    c.final_summary();
    report(&out, since);
    // In `cargo bench` mode (not `cargo test`), unless a filter leaves SQLite out.
    let args: Vec<String> = std::env::args().skip(1).collect();
    let filter = args
        .iter()
        .find(|a| !a.starts_with('-') && a.parse::<f64>().is_err());
    if args.iter().any(|a| a == "--bench") && filter.is_none_or(|f| "sqlite".contains(f.as_str())) {
        paired_sqlite(&rig, 300);
    }
    if args.iter().any(|a| a == "--bench") && filter.is_none_or(|f| "engine".contains(f.as_str())) {
        paired_engine(&engine, &rig, 100);
    }
}
