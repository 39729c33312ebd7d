//! How many store writes (each one durable commit) a sign-in costs, counted by a decorator
//! around the real SQLite store: a right TOTP code is `begin` plus `verify` in at most two
//! writes, a wrong code adds at most one, and confirming an enrollment is one.

mod common;

use common::*;
use std::sync::{Arc, Mutex};
use twofold_core::Result;
use twofold_core::clock::{FakeClock, OsRng, UnixTime};
use twofold_core::crypto::Keyring;
use twofold_core::engine::Engine;
use twofold_core::proto::{Method, PamReply};
use twofold_core::settings::Settings;
use twofold_core::store::sqlite::SqliteStore;
use twofold_core::store::{
    AttemptCount, AuditEvent, AuditFilter, Commit, Consume, ConsumeOutcome, EnrollmentStatus,
    Failure, FailureCounts, FailureWrites, OobOutcome, SessionEnd, SignIn, Store, UserRecord,
    VerificationSession, VersionedSettings, Write,
};

/// A `Store` that delegates to a real one and remembers the name of every call that writes.
struct CountingStore {
    inner: SqliteStore,
    writes: Mutex<Vec<&'static str>>,
}

impl CountingStore {
    fn w(&self, name: &'static str) {
        self.writes.lock().unwrap().push(name);
    }
    /// The write calls since the last `take`.
    fn take(&self) -> Vec<&'static str> {
        std::mem::take(&mut *self.writes.lock().unwrap())
    }
}

impl Store for CountingStore {
    fn describe(&self) -> String {
        self.inner.describe()
    }
    fn load_settings(&self) -> Result<VersionedSettings> {
        self.inner.load_settings()
    }
    fn save_settings(&self, s: &Settings, v: i64) -> Result<i64> {
        self.w("save_settings");
        self.inner.save_settings(s, v)
    }
    fn get_user(&self, name: &str) -> Result<Option<UserRecord>> {
        self.inner.get_user(name)
    }
    fn ensure_user(&self, name: &str, now: UnixTime) -> Result<UserRecord> {
        self.w("ensure_user");
        self.inner.ensure_user(name, now)
    }
    fn list_users(&self, status: Option<EnrollmentStatus>) -> Result<Vec<UserRecord>> {
        self.inner.list_users(status)
    }
    fn set_pending_secret(&self, name: &str, ct: &[u8], now: UnixTime) -> Result<()> {
        self.w("set_pending_secret");
        self.inner.set_pending_secret(name, ct, now)
    }
    fn confirm_enrollment(&self, name: &str, step: i64, now: UnixTime) -> Result<bool> {
        self.w("confirm_enrollment");
        self.inner.confirm_enrollment(name, step, now)
    }
    fn advance_totp_step(&self, name: &str, step: i64) -> Result<bool> {
        self.w("advance_totp_step");
        self.inner.advance_totp_step(name, step)
    }
    fn reset_enrollment(&self, name: &str) -> Result<bool> {
        self.w("reset_enrollment");
        self.inner.reset_enrollment(name)
    }
    fn reset_pending(&self) -> Result<Vec<String>> {
        self.w("reset_pending");
        self.inner.reset_pending()
    }
    fn set_contact(
        &self,
        name: &str,
        phone: Option<&str>,
        email: Option<&str>,
        m: Option<Method>,
    ) -> Result<()> {
        self.w("set_contact");
        self.inner.set_contact(name, phone, email, m)
    }
    fn clear_contact(&self, name: &str, field: &str) -> Result<()> {
        self.w("clear_contact");
        self.inner.clear_contact(name, field)
    }
    fn set_password_hash(&self, name: &str, phc: &str) -> Result<()> {
        self.w("set_password_hash");
        self.inner.set_password_hash(name, phc)
    }
    fn replace_backup_codes(&self, name: &str, hashes: &[[u8; 32]], now: UnixTime) -> Result<()> {
        self.w("replace_backup_codes");
        self.inner.replace_backup_codes(name, hashes, now)
    }
    fn consume_backup_code(&self, name: &str, hash: &[u8; 32], now: UnixTime) -> Result<bool> {
        self.w("consume_backup_code");
        self.inner.consume_backup_code(name, hash, now)
    }
    fn backup_codes_left(&self, name: &str) -> Result<u32> {
        self.inner.backup_codes_left(name)
    }
    fn record_failure(&self, name: &str) -> Result<u32> {
        self.w("record_failure");
        self.inner.record_failure(name)
    }
    fn clear_failures(&self, name: &str) -> Result<()> {
        self.w("clear_failures");
        self.inner.clear_failures(name)
    }
    fn create_session(&self, s: &VerificationSession) -> Result<()> {
        self.w("create_session");
        self.inner.create_session(s)
    }
    fn get_session(&self, id: &str) -> Result<Option<VerificationSession>> {
        self.inner.get_session(id)
    }
    fn session_invalid_attempt(&self, id: &str, max: Option<u32>) -> Result<AttemptCount> {
        self.w("session_invalid_attempt");
        self.inner.session_invalid_attempt(id, max)
    }
    fn session_resend(&self, id: &str, limit: Option<u32>) -> Result<Option<u32>> {
        self.w("session_resend");
        self.inner.session_resend(id, limit)
    }
    fn session_set_method(&self, id: &str, method: Method) -> Result<()> {
        self.w("session_set_method");
        self.inner.session_set_method(id, method)
    }
    fn end_session(&self, id: &str, how: SessionEnd) -> Result<bool> {
        self.w("end_session");
        self.inner.end_session(id, how)
    }
    fn put_oob_code(&self, session: &str, hash: &[u8; 32], expires_at: UnixTime) -> Result<()> {
        self.w("put_oob_code");
        self.inner.put_oob_code(session, hash, expires_at)
    }
    fn consume_oob_code(
        &self,
        session: &str,
        hash: &[u8; 32],
        now: UnixTime,
    ) -> Result<OobOutcome> {
        self.w("consume_oob_code");
        self.inner.consume_oob_code(session, hash, now)
    }
    fn add_device(&self, name: &str, token_hash: &[u8; 32], expires_at: UnixTime) -> Result<()> {
        self.w("add_device");
        self.inner.add_device(name, token_hash, expires_at)
    }
    fn device_known(&self, name: &str, token_hash: &[u8; 32], now: UnixTime) -> Result<bool> {
        self.inner.device_known(name, token_hash, now)
    }
    fn forget_devices(&self, name: &str) -> Result<()> {
        self.w("forget_devices");
        self.inner.forget_devices(name)
    }
    fn record_signin(&self, s: &SignIn) -> Result<()> {
        self.w("record_signin");
        self.inner.record_signin(s)
    }
    fn rhost_seen(
        &self,
        name: &str,
        rhost: &str,
        since: UnixTime,
        depth: u32,
    ) -> Result<Option<UnixTime>> {
        self.inner.rhost_seen(name, rhost, since, depth)
    }
    fn recent_signins(&self, name: &str, limit: u32) -> Result<Vec<SignIn>> {
        self.inner.recent_signins(name, limit)
    }
    fn audit(&self, e: &AuditEvent) -> Result<()> {
        self.w("audit");
        self.inner.audit(e)
    }
    fn query_audit(&self, f: &AuditFilter) -> Result<Vec<AuditEvent>> {
        self.inner.query_audit(f)
    }
    fn apply_with(&self, writes: &[Write], commit: Commit) -> Result<()> {
        self.w(match commit {
            Commit::Durable => "apply",
            Commit::Lazy => "apply_lazy",
        });
        self.inner.apply_with(writes, commit)
    }
    fn consume_then(&self, consume: &Consume, then: &[Write]) -> Result<ConsumeOutcome> {
        self.w("consume_then");
        self.inner.consume_then(consume, then)
    }
    fn record_failure_then(&self, failure: &Failure, then: FailureWrites) -> Result<FailureCounts> {
        self.w("record_failure_then");
        self.inner.record_failure_then(failure, then)
    }
}

struct Rig {
    engine: Engine,
    clock: Arc<FakeClock>,
    store: Arc<CountingStore>,
    _dir: tempfile::TempDir,
}

fn rig() -> Rig {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(CountingStore {
        inner: SqliteStore::open(&dir.path().join("twofold.db")).unwrap(),
        writes: Mutex::new(Vec::new()),
    });
    let clock = Arc::new(FakeClock::at(T0));
    let engine = Engine::new(
        store.clone(),
        clock.clone(),
        Arc::new(OsRng),
        Arc::new(Keyring::for_tests(&OsRng)),
        Arc::new(Outbox::default()),
    );
    Rig {
        engine,
        clock,
        store,
        _dir: dir,
    }
}

impl Rig {
    fn now(&self) -> UnixTime {
        use twofold_core::clock::Clock;
        self.clock.now()
    }

    /// Enrolls `user` through the sign-in flow; returns the enrollment confirmation's writes.
    fn enroll(&self, user: &str) -> (twofold_core::totp::TotpSecret, Vec<&'static str>) {
        let session = match self.engine.begin(&attempt(user)).unwrap() {
            PamReply::Enroll(o) => o.session,
            other => panic!("expected an enrollment offer, got {other:?}"),
        };
        let secret = match self.engine.enroll_start(&session).unwrap() {
            PamReply::EnrollSecret(e) => secret_of(&e.otpauth_uri),
            other => panic!("expected a secret, got {other:?}"),
        };
        self.store.take();
        let r = self
            .engine
            .enroll_confirm(&session, &code_now(&secret, self.now()))
            .unwrap();
        assert!(matches!(r, PamReply::Enrolled { ref backup_codes } if backup_codes.len() == 10));
        let writes = self.store.take();
        self.clock.set((self.now() / 30 + 1) * 30);
        (secret, writes)
    }
}

#[test]
fn a_right_totp_code_costs_at_most_two_writes_and_a_wrong_one_at_most_one_more() {
    let r = rig();
    let (secret, _) = r.enroll("alice");

    // Right code: begin + verify.
    r.store.take();
    let c = challenge_of(r.engine.begin(&attempt("alice")).unwrap());
    let begin = r.store.take();
    let reply = r.engine.verify(
        &c.session,
        Method::AuthenticatorApp,
        &code_now(&secret, r.now()),
    );
    assert_accepted(reply.unwrap(), Method::AuthenticatorApp);
    let verify = r.store.take();
    // Opening the challenge is written without a disk flush; the consume is durable.
    assert_eq!(begin, vec!["apply_lazy"], "begin wrote {begin:?}");
    assert_eq!(verify, vec!["consume_then"], "verify wrote {verify:?}");
    assert!(begin.len() + verify.len() <= 2);

    // A wrong code, then the right one, in a new sign-in at the next step.
    r.clock.set((r.now() / 30 + 1) * 30);
    let c = challenge_of(r.engine.begin(&attempt("alice")).unwrap());
    r.store.take();
    let (msg, next) = rejected(
        r.engine
            .verify(
                &c.session,
                Method::AuthenticatorApp,
                &wrong_code(&secret, r.now()),
            )
            .unwrap(),
    );
    assert!(msg.contains("not valid"), "{msg}");
    assert_eq!(next.attempts_left, Some(2));
    let wrong = r.store.take();
    assert_eq!(
        wrong,
        vec!["record_failure_then"],
        "a wrong code wrote {wrong:?}"
    );
    assert_accepted(
        r.engine
            .verify(
                &c.session,
                Method::AuthenticatorApp,
                &code_now(&secret, r.now()),
            )
            .unwrap(),
        Method::AuthenticatorApp,
    );
    assert_eq!(r.store.take(), vec!["consume_then"]);

    // The content is what the single writes used to produce: history and audit per step.
    let history = r.store.recent_signins("alice", 10).unwrap();
    let outcomes: Vec<&str> = history.iter().map(|s| s.outcome.as_str()).collect();
    assert_eq!(
        outcomes,
        vec![
            "success",
            "failure",
            "challenge",
            "success",
            "challenge",
            "success",
            "enroll"
        ]
    );
    let u = r.store.get_user("alice").unwrap().unwrap();
    assert_eq!(u.consecutive_failures, 0);
}

#[test]
fn a_first_sign_in_creates_the_user_in_the_same_single_write() {
    let r = rig();
    assert!(r.store.get_user("carol").unwrap().is_none());
    let reply = r.engine.begin(&attempt("carol")).unwrap();
    assert!(matches!(reply, PamReply::Enroll(_)), "{reply:?}");
    assert_eq!(r.store.take(), vec!["apply_lazy"]);
    let u = r.store.get_user("carol").unwrap().unwrap();
    assert_eq!(
        (u.status, u.created_at),
        (EnrollmentStatus::NotEnrolled, T0)
    );
    assert_eq!(r.store.recent_signins("carol", 10).unwrap().len(), 1);
    let ev = r
        .store
        .query_audit(&AuditFilter {
            user: Some("carol".into()),
            ..AuditFilter::default()
        })
        .unwrap();
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0].event, "auth.decision");
}

#[test]
fn confirming_an_enrollment_is_one_write() {
    let r = rig();
    let (_, writes) = r.enroll("alice");
    assert_eq!(writes, vec!["consume_then"]);
    assert_eq!(r.store.backup_codes_left("alice").unwrap(), 10);
    let u = r.store.get_user("alice").unwrap().unwrap();
    assert_eq!(u.status, EnrollmentStatus::Enrolled);
}

#[test]
fn a_replayed_code_commits_once_and_is_counted_as_a_failure() {
    let r = rig();
    let (secret, _) = r.enroll("alice");
    let code = code_now(&secret, r.now());
    let c1 = challenge_of(r.engine.begin(&attempt("alice")).unwrap());
    assert_accepted(
        r.engine
            .verify(&c1.session, Method::AuthenticatorApp, &code)
            .unwrap(),
        Method::AuthenticatorApp,
    );
    let c2 = challenge_of(r.engine.begin(&attempt("alice")).unwrap());
    r.store.take();
    let (msg, _) = rejected(
        r.engine
            .verify(&c2.session, Method::AuthenticatorApp, &code)
            .unwrap(),
    );
    assert!(msg.contains("already used"), "{msg}");
    // The lost consume writes nothing; the failure is one transaction.
    assert_eq!(r.store.take(), vec!["consume_then", "record_failure_then"]);
    assert_eq!(
        r.store
            .get_user("alice")
            .unwrap()
            .unwrap()
            .consecutive_failures,
        1
    );
}

#[test]
fn an_sms_challenge_stores_its_code_in_the_decisions_write() {
    let r = rig();
    let mut settings = Settings::default();
    settings.methods.sms = true;
    settings.sms_provider = Some("twilio".into());
    r.store.inner.save_settings(&settings, 0).unwrap();
    r.enroll("dave");
    r.engine
        .set_phone("admin:root", "dave", "+1 415 555 0100")
        .unwrap();
    r.engine
        .set_default_method("admin:root", "dave", Method::Sms)
        .unwrap();
    r.store.take();
    let c = challenge_of(r.engine.begin(&attempt("dave")).unwrap());
    assert_eq!(c.method, Method::Sms);
    // The decision, the session and the hashed code in one write; then the `code.sent` line.
    assert_eq!(r.store.take(), vec!["apply", "audit"]);
}
