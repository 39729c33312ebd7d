//! Shared parts of the delivery tests: a Twilio fake, a real SMTP server (aiosmtpd), and an
//! in-process daemon (real SQLite file, real key file, the real engine and delivery worker) whose
//! clock can be moved forward.

#![allow(dead_code)]

pub mod fake_twilio;
pub mod smtp_server;

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;
use twofold_core::clock::{Clock, SystemClock, UnixTime};
use twofold_core::engine::{Engine, SignInAttempt};
use twofold_core::proto::{Challenge, Code, Method, PamReply};
use twofold_core::store::AuditFilter;
use twofold_core::store::delivery::{DeliveryLogEntry, DeliveryState, DeliveryStore};
use twofoldd::Daemon;
use twofoldd::delivery::admin::{self, IntegrationInput};
use twofoldd::delivery::integration;

pub const SID: &str = "AC0123456789abcdef0123456789abcdef";
pub const TOKEN: &str = "test-auth-token-0123456789";
pub const FROM: &str = "+14155550100";
pub const ADMIN: &str = "admin:test";
pub const SENDER_ADDRESS: &str = "security@example.com";
pub const SENDER_NAME: &str = "Example IT";

/// The system clock moved forward by an offset the test controls.
#[derive(Debug, Default)]
pub struct OffsetClock(AtomicI64);

impl OffsetClock {
    pub fn advance(&self, secs: i64) {
        self.0.fetch_add(secs, Ordering::SeqCst);
    }
}

impl Clock for OffsetClock {
    fn now(&self) -> UnixTime {
        SystemClock.now() + self.0.load(Ordering::SeqCst)
    }
}

/// Fast delivery settings for tests: 1.5 s total timeout, 3 attempts, 1 s back-off.
pub const FAST_DELIVERY: &str = "poll_interval_ms = 50\nconnect_timeout_ms = 1000\ntotal_timeout_ms = 1500\nmax_attempts = 3\nbackoff_base_secs = 1\nbackoff_max_secs = 2\nlease_secs = 4\n";

/// The configuration file text for a daemon under `dir`.
pub fn config_text(dir: &std::path::Path, delivery: &str) -> String {
    format!(
        "version = 1\nstate_dir = \"{d}\"\nlog = \"info\"\n[pam]\nsocket = \"{d}/pam.sock\"\nallowed_uids = [{uid}]\n[admin]\nsocket = \"{d}/admin.sock\"\nallowed_uids = [{uid}]\n[http]\nlisten = \"\"\n[delivery]\n{delivery}",
        d = dir.display(),
        uid = unsafe_free_uid(),
    )
}

fn unsafe_free_uid() -> u32 {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self")
        .map(|m| m.uid())
        .unwrap_or(0)
}

/// A daemon in this process: real store file and keys, the engine, and the delivery worker.
pub struct Harness {
    /// The state directory (database, key file).
    pub path: std::path::PathBuf,
    _dir: Option<tempfile::TempDir>,
    pub daemon: Arc<Daemon>,
    pub clock: Arc<OffsetClock>,
    shutdown: CancellationToken,
    rt: Option<tokio::runtime::Runtime>,
}

impl Drop for Harness {
    fn drop(&mut self) {
        self.shutdown.cancel();
        if let Some(rt) = self.rt.take() {
            rt.shutdown_timeout(Duration::from_secs(5));
        }
    }
}

impl Harness {
    /// Builds the daemon with `delivery` as its `[delivery]` section and starts the worker.
    pub fn start(delivery: &str) -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let mut h = Harness::start_at(dir.path(), delivery);
        h._dir = Some(dir);
        h
    }

    /// Like [`Harness::start`] on an existing state directory (a second node on one database).
    pub fn start_at(path: &std::path::Path, delivery: &str) -> Harness {
        let cfg = twofoldd::config::Config::parse(&config_text(path, delivery)).unwrap();
        let built = twofoldd::startup::build(cfg, false).unwrap();
        let Ok(mut d) = Arc::try_unwrap(built) else {
            panic!("the daemon is shared already")
        };
        let clock = Arc::new(OffsetClock::default());
        d.engine.clock = clock.clone();
        d.engine.sender = twofoldd::delivery::sender(
            d.engine.store.clone(),
            d.engine.keys.clone(),
            clock.clone(),
            d.engine.rng.clone(),
            &d.config.delivery,
        );
        let daemon = Arc::new(d);
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let shutdown = CancellationToken::new();
        rt.spawn(twofoldd::delivery::run_worker(
            daemon.clone(),
            shutdown.clone(),
        ));
        Harness {
            path: path.to_path_buf(),
            _dir: None,
            daemon,
            clock,
            shutdown,
            rt: Some(rt),
        }
    }

    pub fn engine(&self) -> &Engine {
        &self.daemon.engine
    }

    pub fn ds(&self) -> &dyn DeliveryStore {
        self.daemon.engine.store.delivery().unwrap()
    }

    /// Runs blocking admin code the way the admin socket does (on the runtime's blocking pool).
    pub fn blocking<T: Send + 'static>(&self, f: impl FnOnce(&Daemon) -> T + Send + 'static) -> T {
        let d = self.daemon.clone();
        let rt = self.rt.as_ref().unwrap();
        rt.block_on(async move { tokio::task::spawn_blocking(move || f(&d)).await.unwrap() })
    }

    /// Adds a Twilio integration named `name` pointing at `base` and selects it for SMS; allows
    /// SMS as the only sign-in method and makes it the default.
    pub fn use_twilio(&self, name: &str, base: &str, token: &str) {
        let input = IntegrationInput {
            name: name.into(),
            kind: twofold_core::store::delivery::IntegrationKind::Twilio,
            settings: serde_json::json!({"base_url": base, "account_sid": SID, "from": FROM}),
            secrets: serde_json::json!({"auth_token": token}),
        };
        admin::add_integration(&self.daemon, ADMIN, &input, true).unwrap();
        let e = self.engine();
        let cur = e.store.load_settings().unwrap();
        let mut s = cur.settings;
        s.methods.authenticator_app = false;
        s.methods.sms = true;
        s.default_method = Method::Sms;
        s.sms_provider = Some(name.into());
        e.update_settings(ADMIN, s, cur.version).unwrap();
    }

    /// Adds an SMTP integration (plain, for the loopback server on `port`), selects it, sets the
    /// Company Preferences sender, and makes email the only and default sign-in method.
    pub fn use_smtp(&self, name: &str, port: u16) {
        let input = IntegrationInput {
            name: name.into(),
            kind: twofold_core::store::delivery::IntegrationKind::Smtp,
            settings: serde_json::json!({"host": "127.0.0.1", "port": port, "security": "none"}),
            secrets: serde_json::Value::Null,
        };
        admin::add_integration(&self.daemon, ADMIN, &input, true).unwrap();
        let e = self.engine();
        let cur = e.store.load_settings().unwrap();
        let mut s = cur.settings;
        s.methods.authenticator_app = false;
        s.methods.email = true;
        s.default_method = Method::Email;
        s.email.from_address = Some(SENDER_ADDRESS.into());
        s.email.from_name = Some(SENDER_NAME.into());
        s.email.smtp_integration = Some(name.into());
        e.update_settings(ADMIN, s, cur.version).unwrap();
    }

    /// Creates `user` with an email address.
    pub fn user_with_email(&self, user: &str, email: &str) -> String {
        self.engine().set_email(ADMIN, user, email).unwrap()
    }

    /// Creates `user` with a phone number.
    pub fn user_with_phone(&self, user: &str, phone: &str) -> String {
        self.engine().set_phone(ADMIN, user, phone).unwrap()
    }

    /// Starts a sign-in and expects an SMS or email challenge.
    pub fn begin(&self, user: &str) -> Challenge {
        let r = self
            .engine()
            .begin(&SignInAttempt {
                user: user.into(),
                service: "sshd".into(),
                rhost: Some("192.0.2.10".into()),
                ..SignInAttempt::default()
            })
            .unwrap();
        match r {
            PamReply::Challenge(c) => c,
            other => panic!("expected a challenge, got {other:?}"),
        }
    }

    pub fn verify(&self, session: &str, method: Method, code: &str) -> PamReply {
        self.engine()
            .verify(session, method, &Code::new(code))
            .unwrap()
    }

    /// Waits until the newest message of `user` satisfies `f`.
    pub fn wait_message(
        &self,
        user: &str,
        limit: Duration,
        f: impl Fn(&DeliveryLogEntry) -> bool,
    ) -> DeliveryLogEntry {
        let end = Instant::now() + limit;
        loop {
            let log = self
                .ds()
                .delivery_log(&twofold_core::store::delivery::DeliveryFilter {
                    user: Some(user.into()),
                    limit: 1,
                    ..Default::default()
                })
                .unwrap();
            if let Some(e) = log.first() {
                if f(e) {
                    return e.clone();
                }
                assert!(
                    Instant::now() < end,
                    "message of {user} never reached the expected state: {e:?}"
                );
            } else {
                assert!(Instant::now() < end, "no message for {user}");
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// Waits until the newest message of `user` is final.
    pub fn wait_final(&self, user: &str, limit: Duration) -> DeliveryLogEntry {
        self.wait_message(user, limit, |e| e.state.is_final())
    }

    /// Audit details of `user` for events starting with `prefix`, newest first.
    pub fn audit(&self, user: &str, prefix: &str) -> Vec<(String, String, String)> {
        self.engine()
            .store
            .query_audit(&AuditFilter {
                user: Some(user.into()),
                event_prefix: Some(prefix.into()),
                limit: 100,
                ..AuditFilter::default()
            })
            .unwrap()
            .into_iter()
            .map(|e| (e.event, e.outcome, e.detail))
            .collect()
    }

    /// Audit events of any user (or none) starting with `prefix`, newest first.
    pub fn audit_all(&self, prefix: &str) -> Vec<(String, String, String)> {
        self.engine()
            .store
            .query_audit(&AuditFilter {
                event_prefix: Some(prefix.into()),
                limit: 100,
                ..AuditFilter::default()
            })
            .unwrap()
            .into_iter()
            .map(|e| (e.event, e.outcome, e.detail))
            .collect()
    }

    /// Waits until integration `name` is in `state` (the worker records health right after
    /// the message's own result).
    pub fn wait_health(
        &self,
        name: &str,
        state: twofold_core::store::delivery::Health,
    ) -> twofold_core::store::delivery::IntegrationHealth {
        let end = Instant::now() + Duration::from_secs(10);
        loop {
            let h = self.health(name);
            if h.state == state {
                return h;
            }
            assert!(Instant::now() < end, "{name} never became {state}: {h:?}");
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// The health of integration `name`.
    pub fn health(&self, name: &str) -> twofold_core::store::delivery::IntegrationHealth {
        self.ds().get_integration(name).unwrap().unwrap().health
    }
}

/// Whether a final state is `sent`.
pub fn is_sent(e: &DeliveryLogEntry) -> bool {
    e.state == DeliveryState::Sent
}

/// Keeps `integration` linked for the test binaries that only use part of it.
pub fn _link() {
    let _ = integration::SmtpSecurity::None;
}
