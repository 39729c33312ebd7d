//! Shared harness of the engine tests: a real SQLite file in a temporary directory, a fake
//! clock, the OS RNG, a test keyring and an outbox that records the codes handed to delivery.
#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use twofold_core::clock::{FakeClock, OsRng, UnixTime};
use twofold_core::crypto::Keyring;
use twofold_core::engine::{CodeSender, Engine, SignInAttempt};
use twofold_core::proto::{Challenge, Code, Method, PamReply};
use twofold_core::settings::Settings;
use twofold_core::store::sqlite::SqliteStore;
use twofold_core::store::{AuditEvent, AuditFilter, Store};
use twofold_core::totp::{self, TotpSecret};

/// 2026-01-01 00:00:00 UTC, on a step boundary.
pub const T0: UnixTime = 1_767_225_600;

/// One code handed to delivery.
#[derive(Debug, Clone)]
pub struct Sent {
    pub user: String,
    pub method: Method,
    pub destination: String,
    pub code: String,
    pub expires_at: UnixTime,
}

/// Records every code instead of sending it.
#[derive(Default)]
pub struct Outbox(pub Mutex<Vec<Sent>>);

impl CodeSender for Outbox {
    fn send_code(
        &self,
        user: &str,
        method: Method,
        destination: &str,
        code: &str,
        expires_at: UnixTime,
    ) -> twofold_core::Result<()> {
        self.0.lock().unwrap().push(Sent {
            user: user.into(),
            method,
            destination: destination.into(),
            code: code.into(),
            expires_at,
        });
        Ok(())
    }
}

impl Outbox {
    pub fn last(&self) -> Sent {
        self.0
            .lock()
            .unwrap()
            .last()
            .cloned()
            .expect("a code was sent")
    }
    pub fn count(&self) -> usize {
        self.0.lock().unwrap().len()
    }
}

pub struct Harness {
    pub engine: Engine,
    pub clock: Arc<FakeClock>,
    pub store: Arc<SqliteStore>,
    pub outbox: Arc<Outbox>,
    pub dir: tempfile::TempDir,
}

impl Harness {
    /// Default settings.
    pub fn new() -> Harness {
        Harness::with(|_| {})
    }

    /// Settings changed by `f` (saved as version 1).
    pub fn with(f: impl FnOnce(&mut Settings)) -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(SqliteStore::open(&dir.path().join("twofold.db")).unwrap());
        let mut s = Settings::default();
        f(&mut s);
        s.validate().unwrap();
        store.save_settings(&s, 0).unwrap();
        let clock = Arc::new(FakeClock::at(T0));
        let outbox = Arc::new(Outbox::default());
        let engine = Engine::new(
            store.clone(),
            clock.clone(),
            Arc::new(OsRng),
            Arc::new(Keyring::for_tests(&OsRng)),
            outbox.clone(),
        );
        Harness {
            engine,
            clock,
            store,
            outbox,
            dir,
        }
    }

    pub fn settings(&self) -> Settings {
        self.store.load_settings().unwrap().settings
    }

    /// Changes the stored settings.
    pub fn change(&self, f: impl FnOnce(&mut Settings)) {
        let v = self.store.load_settings().unwrap();
        let mut s = v.settings;
        f(&mut s);
        self.engine
            .update_settings("admin:test", s, v.version)
            .unwrap();
    }

    pub fn now(&self) -> UnixTime {
        use twofold_core::clock::Clock;
        self.clock.now()
    }

    /// Moves to the start of the next TOTP step.
    pub fn next_step(&self) {
        let now = self.now();
        self.clock.set((now / 30 + 1) * 30);
    }

    /// Enrolls `user` through the sign-in flow; returns the secret and the backup codes.
    /// The clock moves to the next step afterwards, so the current code is fresh again.
    pub fn enroll(&self, user: &str) -> (TotpSecret, Vec<String>) {
        let session = match self.engine.begin(&attempt(user)).unwrap() {
            PamReply::Enroll(o) => o.session,
            other => panic!("expected an enrollment offer, got {other:?}"),
        };
        let secret = match self.engine.enroll_start(&session).unwrap() {
            PamReply::EnrollSecret(e) => secret_of(&e.otpauth_uri),
            other => panic!("expected a secret, got {other:?}"),
        };
        let codes = match self
            .engine
            .enroll_confirm(&session, &code_now(&secret, self.now()))
            .unwrap()
        {
            PamReply::Enrolled { backup_codes } => backup_codes,
            other => panic!("expected enrolled, got {other:?}"),
        };
        self.next_step();
        (secret, codes)
    }

    /// Starts a sign-in expecting a challenge.
    pub fn challenge(&self, user: &str) -> Challenge {
        challenge_of(self.engine.begin(&attempt(user)).unwrap())
    }

    /// Audit events of `user` whose type starts with `prefix`, newest first.
    pub fn audit(&self, user: &str, prefix: &str) -> Vec<AuditEvent> {
        self.store
            .query_audit(&AuditFilter {
                user: Some(user.into()),
                event_prefix: Some(prefix.into()),
                since: None,
                until: None,
                limit: 0,
            })
            .unwrap()
    }

    pub fn all_audit(&self) -> Vec<AuditEvent> {
        self.store.query_audit(&AuditFilter::default()).unwrap()
    }
}

/// A sign-in over SSH from 192.0.2.7.
pub fn attempt(user: &str) -> SignInAttempt {
    SignInAttempt {
        user: user.into(),
        service: "sshd".into(),
        rhost: Some("192.0.2.7".into()),
        roles: vec!["staff".into()],
        look_up_roles: false,
        device_token: None,
    }
}

/// The secret in an `otpauth://` URI.
pub fn secret_of(uri: &str) -> TotpSecret {
    let q = uri.split_once("secret=").unwrap().1;
    let b32 = q.split('&').next().unwrap();
    TotpSecret::from_base32(b32).unwrap()
}

pub fn code_now(secret: &TotpSecret, t: UnixTime) -> Code {
    Code::new(totp::code_at(secret, t).unwrap())
}

pub fn challenge_of(r: PamReply) -> Challenge {
    match r {
        PamReply::Challenge(c) => c,
        other => panic!("expected a challenge, got {other:?}"),
    }
}

#[track_caller]
pub fn assert_accepted(r: PamReply, m: Method) {
    match r {
        PamReply::Accepted { method } => assert_eq!(method, m),
        other => panic!("expected accepted, got {other:?}"),
    }
}

/// The message and next challenge of a rejection.
#[track_caller]
pub fn rejected(r: PamReply) -> (String, Challenge) {
    match r {
        PamReply::Rejected { message, challenge } => (message, challenge),
        other => panic!("expected rejected, got {other:?}"),
    }
}

#[track_caller]
pub fn locked(r: PamReply) -> String {
    match r {
        PamReply::Locked { message } => message,
        other => panic!("expected locked, got {other:?}"),
    }
}

/// A 6-digit code that is not valid for `secret` at `t` with window ±1.
pub fn wrong_code(secret: &TotpSecret, t: UnixTime) -> Code {
    let valid: Vec<String> = (-1..=1)
        .map(|d| totp::code_at(secret, t + d * 30).unwrap())
        .collect();
    let mut n = 123_456u32;
    loop {
        let c = format!("{n:06}");
        if !valid.contains(&c) {
            return Code::new(c);
        }
        n += 1;
    }
}
