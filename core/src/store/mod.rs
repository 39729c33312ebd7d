//! The `Store` trait: every piece of state twofold keeps, as atomic operations.
//!
//! Single-use and counter semantics live *in the store operations* (one SQL statement or one
//! transaction each), so they hold under concurrency and across daemon nodes:
//! `advance_totp_step`, `consume_backup_code`, `consume_oob_code`, `session_invalid_attempt`,
//! `record_failure` never lose or duplicate a success or an increment.
//!
//! A sign-in's writes go in batches, one transaction (one durable commit) each:
//! [`Store::apply`] (the writes of a decision), [`Store::consume_then`] (burn a code, then record
//! the success) and [`Store::record_failure_then`] (count a wrong code, then record it).
//!
//! Backends: [`sqlite::SqliteStore`] (embedded default) and, with the `postgres` feature,
//! `postgres::PgStore`. Both pass the same conformance suite ([`conformance`]).

use crate::clock::UnixTime;
use crate::error::Result;
use crate::proto::Method;
use crate::settings::Settings;

#[cfg(any(test, feature = "conformance"))]
pub mod conformance;
pub mod delivery;
pub mod held;
pub mod migrations;
pub mod oidc;
#[cfg(feature = "postgres")]
pub mod postgres;
mod shared;
pub mod sqlite;
mod sqlite_delivery;
mod sqlite_oidc;

/// Enrollment state of a user's authenticator app.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EnrollmentStatus {
    /// No secret.
    NotEnrolled,
    /// A secret was issued but never confirmed with a code.
    Pending,
    /// Confirmed.
    Enrolled,
}

impl EnrollmentStatus {
    /// Stored and displayed name.
    pub fn as_str(self) -> &'static str {
        match self {
            EnrollmentStatus::NotEnrolled => "not_enrolled",
            EnrollmentStatus::Pending => "pending",
            EnrollmentStatus::Enrolled => "enrolled",
        }
    }
    /// Parses the stored name.
    pub fn parse(s: &str) -> Option<EnrollmentStatus> {
        match s {
            "not_enrolled" => Some(EnrollmentStatus::NotEnrolled),
            "pending" => Some(EnrollmentStatus::Pending),
            "enrolled" => Some(EnrollmentStatus::Enrolled),
            _ => None,
        }
    }
}

/// A user as the store keeps it. Created on first sight (PAM or web sign-in, or admin).
#[derive(Clone, PartialEq, Eq)]
pub struct UserRecord {
    /// The login name (PAM_USER / web username).
    pub name: String,
    /// Authenticator enrollment state.
    pub status: EnrollmentStatus,
    /// Encrypted TOTP secret (key id prefix + XChaCha20-Poly1305), when pending or enrolled.
    pub totp_secret: Option<Vec<u8>>,
    /// Highest TOTP step ever accepted: that step and every earlier one are refused.
    pub totp_last_step: Option<i64>,
    /// The user's own default method, if they chose one.
    pub default_method: Option<Method>,
    /// Phone number in E.164.
    pub phone: Option<String>,
    /// Email address.
    pub email: Option<String>,
    /// Consecutive failed second-factor attempts across sessions.
    pub consecutive_failures: u32,
    /// argon2id PHC string for local web users.
    pub password_hash: Option<String>,
    /// When first seen.
    pub created_at: UnixTime,
    /// When enrollment was confirmed.
    pub enrolled_at: Option<UnixTime>,
}

impl std::fmt::Debug for UserRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserRecord")
            .field("name", &self.name)
            .field("status", &self.status)
            .field(
                "totp_secret",
                &self.totp_secret.as_ref().map(|_| "[redacted]"),
            )
            .field("totp_last_step", &self.totp_last_step)
            .field("default_method", &self.default_method)
            .field("consecutive_failures", &self.consecutive_failures)
            .finish_non_exhaustive()
    }
}

/// A verification session: one sign-in's second-factor exchange.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerificationSession {
    /// Random id (hex).
    pub id: String,
    /// Whose sign-in.
    pub user: String,
    /// Service (`sshd`, `sudo`, `oidc:CLIENT`).
    pub service: String,
    /// Remote address, if known.
    pub rhost: Option<String>,
    /// The method currently asked for.
    pub method: Method,
    /// Invalid attempts so far.
    pub invalid_attempts: u32,
    /// Resends so far.
    pub resends: u32,
    /// When opened.
    pub created_at: UnixTime,
    /// When the session stops being usable.
    pub expires_at: UnixTime,
    /// How it ended, once it has.
    pub ended: Option<SessionEnd>,
}

/// How a verification session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionEnd {
    /// A code was accepted or enrollment completed.
    Success,
    /// Too many invalid attempts (the guide's lockout).
    Locked,
    /// Abandoned or replaced.
    Abandoned,
}

impl SessionEnd {
    /// Stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            SessionEnd::Success => "success",
            SessionEnd::Locked => "locked",
            SessionEnd::Abandoned => "abandoned",
        }
    }
    /// Parses the stored name.
    pub fn parse(s: &str) -> Option<SessionEnd> {
        match s {
            "success" => Some(SessionEnd::Success),
            "locked" => Some(SessionEnd::Locked),
            "abandoned" => Some(SessionEnd::Abandoned),
            _ => None,
        }
    }
}

/// Result of counting one invalid attempt in a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttemptCount {
    /// Invalid attempts after this one.
    pub attempts: u32,
    /// `true` when this attempt reached the limit and ended the session.
    pub locked: bool,
}

/// Result of presenting an out-of-band code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OobOutcome {
    /// The code matched, was unexpired, and is now consumed.
    Accepted,
    /// The code matched but had expired.
    Expired,
    /// No live code of this session matches.
    NoMatch,
}

/// One sign-in as remembered for history and device recognition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignIn {
    /// Whose.
    pub user: String,
    /// Service.
    pub service: String,
    /// Remote address.
    pub rhost: Option<String>,
    /// `allow`, `challenge`, `enroll`, `deny`, `success`, `failure`, `locked`.
    pub outcome: String,
    /// The reason chain, in words.
    pub reason: String,
    /// When.
    pub at: UnixTime,
}

/// An audit event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    /// When.
    pub at: UnixTime,
    /// Who acted: a user, `admin:root`, `daemon`.
    pub actor: String,
    /// Event type, dotted: `auth.success`, `auth.failure`, `settings.change`, `user.reset`, ...
    pub event: String,
    /// The user concerned, if any.
    pub user: Option<String>,
    /// `ok`, `refused`, `error`.
    pub outcome: String,
    /// Reason chain or details (never a code or secret).
    pub detail: String,
}

/// Filter for audit queries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Only this user.
    pub user: Option<String>,
    /// Only events whose type starts with this prefix.
    pub event_prefix: Option<String>,
    /// Not before.
    pub since: Option<UnixTime>,
    /// Not after.
    pub until: Option<UnixTime>,
    /// At most this many, newest first (0: no limit).
    pub limit: u32,
}

/// Stored settings with their version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionedSettings {
    /// The document.
    pub settings: Settings,
    /// Monotonic version; 0 when never saved (defaults).
    pub version: i64,
}

/// What the start of a sign-in reads, in one call ([`Store::signin_facts`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigninFacts {
    /// The current settings.
    pub settings: VersionedSettings,
    /// The user, if known.
    pub user: Option<UserRecord>,
    /// Unused backup codes left (0 for an unknown user).
    pub backup_codes_left: u32,
    /// [`Store::rhost_seen`] for the address with the window of these settings'
    /// device recognition ([`rhost_window`]); `None` when the address is absent or blank,
    /// the history depth is 0, or the user is unknown.
    pub rhost_seen: Option<UnixTime>,
}

/// What checking a code reads, in one call ([`Store::verify_facts`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyFacts {
    /// The session, if it exists.
    pub session: Option<VerificationSession>,
    /// The current settings.
    pub settings: VersionedSettings,
    /// The session's user, if the session and the user exist.
    pub user: Option<UserRecord>,
    /// The session user's unused backup codes (0 when there is no such user).
    pub backup_codes_left: u32,
}

/// The address history window of a sign-in: the trimmed address, `since` (now minus
/// `remember_days`) and `depth` (`ip_history_depth`), or `None` when no lookup applies
/// (no or blank address, depth 0).
pub fn rhost_window<'a>(
    settings: &Settings,
    rhost: Option<&'a str>,
    now: UnixTime,
) -> Option<(&'a str, UnixTime, u32)> {
    let dr = &settings.device_recognition;
    match rhost.map(str::trim) {
        Some(r) if !r.is_empty() && dr.ip_history_depth > 0 => Some((
            r,
            now.saturating_sub(i64::from(dr.remember_days) * 86_400),
            dr.ip_history_depth,
        )),
        _ => None,
    }
}

/// One write of a batch ([`Store::apply`], [`Store::consume_then`],
/// [`Store::record_failure_then`]). Each does what the single operation it names does, with
/// the same checks and errors; a batch applies its writes in order, all or none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Write {
    /// [`Store::ensure_user`]: creates the user as not enrolled; a known user is left as is.
    EnsureUser {
        /// Login name.
        name: String,
        /// Creation time of a new user.
        now: UnixTime,
    },
    /// [`Store::record_signin`].
    RecordSignin(SignIn),
    /// [`Store::audit`].
    Audit(AuditEvent),
    /// [`Store::create_session`]: a taken id is `Conflict`.
    CreateSession(VerificationSession),
    /// [`Store::end_session`]: ends the session if it is still open; a session that has already
    /// ended is left as it is (no error).
    EndSession {
        /// Session id.
        id: String,
        /// How it ends.
        how: SessionEnd,
    },
    /// Ends a session that must still be open. When it is not (another request ended it), the
    /// batch's writes are not applied: [`Store::apply`] and [`Store::record_failure_then`] fail
    /// with `Conflict`; [`Store::consume_then`] keeps the consume and reports
    /// [`ConsumeOutcome::AcceptedSessionEnded`].
    FinishSession {
        /// Session id.
        id: String,
        /// How it ends.
        how: SessionEnd,
    },
    /// [`Store::clear_failures`]: an unknown user is `NotFound`.
    ClearFailures {
        /// Login name.
        user: String,
    },
    /// [`Store::session_set_method`]: the session must be open.
    SessionSetMethod {
        /// Session id.
        id: String,
        /// The method asked for from now on.
        method: Method,
    },
    /// [`Store::put_oob_code`]: the session must be open.
    PutOobCode {
        /// Session id.
        session: String,
        /// Hash of the code.
        hash: [u8; 32],
        /// When the code stops being accepted.
        expires_at: UnixTime,
    },
    /// [`Store::replace_backup_codes`].
    ReplaceBackupCodes {
        /// Login name.
        user: String,
        /// Hashes of the new batch (no repeats).
        hashes: Vec<[u8; 32]>,
        /// Creation time.
        now: UnixTime,
    },
}

/// The single-use step of [`Store::consume_then`]; each is the operation it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Consume {
    /// [`Store::advance_totp_step`]: wins `step` for an enrolled user.
    TotpStep {
        /// Login name.
        user: String,
        /// The matched TOTP step.
        step: i64,
    },
    /// [`Store::consume_backup_code`].
    BackupCode {
        /// Login name.
        user: String,
        /// Hash of the presented code.
        hash: [u8; 32],
        /// When.
        now: UnixTime,
    },
    /// [`Store::consume_oob_code`]: the session must be open and the code unexpired.
    OobCode {
        /// Session id.
        session: String,
        /// Hash of the presented code.
        hash: [u8; 32],
        /// When.
        now: UnixTime,
    },
    /// [`Store::confirm_enrollment`]: pending → enrolled with `step` as the high-water mark.
    ConfirmEnrollment {
        /// Login name.
        user: String,
        /// The matched TOTP step.
        step: i64,
        /// When.
        now: UnixTime,
    },
}

/// What [`Store::consume_then`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsumeOutcome {
    /// This call consumed it and applied the follow-up writes, in one transaction.
    Accepted,
    /// This call consumed it (it stays consumed), but a [`Write::FinishSession`] found its
    /// session no longer open, so none of the follow-up writes was applied.
    AcceptedSessionEnded,
    /// Not consumed: unknown, already used, a replayed or earlier step, not enrolled (or not
    /// pending), or no live code of the session matches. Nothing was written.
    Refused,
    /// An out-of-band code matched but had expired; it stays unused. Nothing was written.
    Expired,
}

/// The counters [`Store::record_failure_then`] moves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// Whose consecutive-failure count goes up.
    pub user: String,
    /// Whose invalid-attempt count goes up; `None` when the session is not kept in the store
    /// (a PAM conversation's session held in the daemon's memory, see [`held`]): only the
    /// user's count moves and [`FailureCounts::attempt`] is `None`.
    pub session: Option<String>,
    /// `max_invalid_attempts`: the session ends as locked when its count reaches it.
    pub max_attempts: Option<u32>,
}

/// The counts after one failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailureCounts {
    /// The user's consecutive failures, this one included.
    pub failures: u32,
    /// The session's count as [`Store::session_invalid_attempt`] gives it; `None` when the
    /// session had already ended other than locked (then only the user's failure counts).
    pub attempt: Option<AttemptCount>,
}

/// Builds the writes that follow a counted failure from its counts (audit and history lines
/// that quote them). Called inside the transaction: it must be quick and must not call the store.
pub type FailureWrites = std::sync::Arc<dyn Fn(&FailureCounts) -> Vec<Write> + Send + Sync>;

/// How a batch is committed.
///
/// Both logs (SQLite's WAL, PostgreSQL's WAL) are written in commit order, so a durable commit
/// also makes every lazy commit before it durable, and a power loss can only lose a suffix of
/// lazy commits, never one that precedes a durable commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Commit {
    /// On the disk before the call returns, as durable as the backend is configured (SQLite
    /// `synchronous=FULL` by default, PostgreSQL `synchronous_commit=on`). Everything a user or
    /// admin saw succeed: a consumed code, an enrollment, a granted sign-in, a setting.
    #[default]
    Durable,
    /// Written, so it survives a crash of any process, but not flushed: a power loss or OS
    /// crash can lose it (SQLite: `synchronous=NORMAL` for this commit; PostgreSQL:
    /// `SET LOCAL synchronous_commit = off`). Only for writes whose loss is harmless: a
    /// challenge being opened (the login in progress fails, the user tries again) and a wrong
    /// code being counted (on a power loss, a lockout counter can fall back by the wrong codes
    /// of the last moments).
    Lazy,
}

/// Every piece of state twofold keeps. Implementations must make each method atomic.
pub trait Store: Send + Sync {
    /// The delivery half (outbox, integrations, delivery log), if this backend keeps one.
    fn delivery(&self) -> Option<&dyn delivery::DeliveryStore> {
        None
    }

    /// The OpenID Connect provider's half (clients, codes, tokens, web sessions, signing keys),
    /// if this backend keeps one.
    fn oidc(&self) -> Option<&dyn oidc::OidcStore> {
        None
    }

    /// Human description of the backend and its durability (`sqlite /var/lib/twofold/twofold.db (WAL, synchronous=FULL)`).
    fn describe(&self) -> String;

    /// Asks the database now whether it answers and how durable it is (for `twofoldctl
    /// doctor`): [`Store::describe`]'s text with what the server reports at this moment. An
    /// unreachable database is an error. The default is `describe()` itself.
    fn check_health(&self) -> Result<String> {
        Ok(self.describe())
    }

    // --- settings ---
    /// The current settings (defaults with version 0 when never saved).
    fn load_settings(&self) -> Result<VersionedSettings>;
    /// Saves settings if the stored version still equals `expected_version`; returns the new version.
    /// A mismatch is [`crate::Error::Conflict`].
    fn save_settings(&self, settings: &Settings, expected_version: i64) -> Result<i64>;

    // --- users ---
    /// The user, if known.
    fn get_user(&self, name: &str) -> Result<Option<UserRecord>>;
    /// The user, created as not enrolled if unknown.
    fn ensure_user(&self, name: &str, now: UnixTime) -> Result<UserRecord>;
    /// Every user, ordered by name, optionally only those with `status`.
    fn list_users(&self, status: Option<EnrollmentStatus>) -> Result<Vec<UserRecord>>;
    /// Whether any user holds an (encrypted) TOTP secret: then the key file that sealed it
    /// must not be replaced. The default lists the users; backends answer with one query.
    fn holds_totp_secrets(&self) -> Result<bool> {
        Ok(self
            .list_users(None)?
            .iter()
            .any(|u| u.totp_secret.is_some()))
    }
    /// Stores a freshly issued encrypted secret and makes the user pending (replaces any earlier
    /// pending secret; refused with `Conflict` if the user is already enrolled).
    fn set_pending_secret(&self, name: &str, ciphertext: &[u8], now: UnixTime) -> Result<()>;
    /// Pending → enrolled, recording `step` as the high-water mark. `false` if not pending.
    fn confirm_enrollment(&self, name: &str, step: i64, now: UnixTime) -> Result<bool>;
    /// Raises the TOTP high-water mark to `step` if it is higher than the stored one and the user
    /// is enrolled. `true` means this caller won the step; `false` means replay (or a lost race).
    fn advance_totp_step(&self, name: &str, step: i64) -> Result<bool>;
    /// Deletes the secret and backup codes, returning the user to not enrolled. `false` if unknown.
    fn reset_enrollment(&self, name: &str) -> Result<bool>;
    /// Resets every pending user; returns their names.
    fn reset_pending(&self) -> Result<Vec<String>>;
    /// Sets phone (E.164), email and default method; `None` leaves a field as it is.
    fn set_contact(
        &self,
        name: &str,
        phone: Option<&str>,
        email: Option<&str>,
        default_method: Option<Method>,
    ) -> Result<()>;
    /// Clears phone or email (`field` is `phone` or `email`).
    fn clear_contact(&self, name: &str, field: &str) -> Result<()>;
    /// Sets the argon2id hash for a local web user.
    fn set_password_hash(&self, name: &str, phc: &str) -> Result<()>;

    // --- backup codes ---
    /// Replaces every backup code of the user with these hashes.
    fn replace_backup_codes(&self, name: &str, hashes: &[[u8; 32]], now: UnixTime) -> Result<()>;
    /// Consumes the code with this hash if unused. `true` for exactly one caller.
    fn consume_backup_code(&self, name: &str, hash: &[u8; 32], now: UnixTime) -> Result<bool>;
    /// Unused backup codes left.
    fn backup_codes_left(&self, name: &str) -> Result<u32>;

    // --- failure counters ---
    /// Adds one consecutive failure; returns the new count (no lost increments).
    fn record_failure(&self, name: &str) -> Result<u32>;
    /// Clears the consecutive-failure count (success or admin).
    fn clear_failures(&self, name: &str) -> Result<()>;

    // --- verification sessions ---
    /// Stores a new session.
    fn create_session(&self, s: &VerificationSession) -> Result<()>;
    /// The session, if it exists.
    fn get_session(&self, id: &str) -> Result<Option<VerificationSession>>;
    /// Counts one invalid attempt; ends the session as locked when `max` is reached.
    fn session_invalid_attempt(&self, id: &str, max: Option<u32>) -> Result<AttemptCount>;
    /// Counts one resend if under `limit`; returns the new count, or `None` when the limit is reached.
    fn session_resend(&self, id: &str, limit: Option<u32>) -> Result<Option<u32>>;
    /// Sets the method asked for.
    fn session_set_method(&self, id: &str, method: Method) -> Result<()>;
    /// Ends the session if it is still open; `true` if this call ended it.
    fn end_session(&self, id: &str, how: SessionEnd) -> Result<bool>;

    // --- out-of-band codes ---
    /// Stores a code hash for the session, replacing any earlier code of that session.
    fn put_oob_code(&self, session: &str, hash: &[u8; 32], expires_at: UnixTime) -> Result<()>;
    /// Consumes the session's code if it matches and is unexpired.
    fn consume_oob_code(&self, session: &str, hash: &[u8; 32], now: UnixTime)
    -> Result<OobOutcome>;

    // --- devices and history ---
    /// Remembers a device token hash for the user until `expires_at`.
    fn add_device(&self, name: &str, token_hash: &[u8; 32], expires_at: UnixTime) -> Result<()>;
    /// Whether an unexpired device token with this hash belongs to the user.
    fn device_known(&self, name: &str, token_hash: &[u8; 32], now: UnixTime) -> Result<bool>;
    /// Forgets every remembered device of the user.
    fn forget_devices(&self, name: &str) -> Result<()>;
    /// Records a sign-in.
    fn record_signin(&self, s: &SignIn) -> Result<()>;
    /// Last successful second-factor sign-in from `rhost` after `since`, among the user's
    /// `depth` most recent distinct successful addresses.
    fn rhost_seen(
        &self,
        name: &str,
        rhost: &str,
        since: UnixTime,
        depth: u32,
    ) -> Result<Option<UnixTime>>;
    /// The user's most recent sign-ins, newest first.
    fn recent_signins(&self, name: &str, limit: u32) -> Result<Vec<SignIn>>;

    // --- audit ---
    /// Appends an event.
    fn audit(&self, e: &AuditEvent) -> Result<()>;
    /// Queries events, newest first.
    fn query_audit(&self, f: &AuditFilter) -> Result<Vec<AuditEvent>>;

    // --- combined reads: one round trip on a networked backend ---
    /// Everything the start of a sign-in of `user` from `rhost` reads at `now`, as
    /// [`Store::load_settings`], [`Store::get_user`], [`Store::backup_codes_left`] and
    /// [`Store::rhost_seen`] give it (see [`SigninFacts`]). The default calls them in turn.
    fn signin_facts(&self, user: &str, rhost: Option<&str>, now: UnixTime) -> Result<SigninFacts> {
        let settings = self.load_settings()?;
        let record = self.get_user(user)?;
        let (backup_codes_left, rhost_seen) = match record {
            None => (0, None),
            Some(_) => (
                self.backup_codes_left(user)?,
                match rhost_window(&settings.settings, rhost, now) {
                    Some((r, since, depth)) => self.rhost_seen(user, r, since, depth)?,
                    None => None,
                },
            ),
        };
        Ok(SigninFacts {
            settings,
            user: record,
            backup_codes_left,
            rhost_seen,
        })
    }

    /// Everything checking a code of `session` reads, as [`Store::get_session`],
    /// [`Store::load_settings`], [`Store::get_user`] (the session's user) and
    /// [`Store::backup_codes_left`] give it (see [`VerifyFacts`]). The default calls them
    /// in turn.
    fn verify_facts(&self, session: &str) -> Result<VerifyFacts> {
        let s = self.get_session(session)?;
        let settings = self.load_settings()?;
        let user = match &s {
            Some(s) => self.get_user(&s.user)?,
            None => None,
        };
        let backup_codes_left = match &user {
            Some(u) => self.backup_codes_left(&u.name)?,
            None => 0,
        };
        Ok(VerifyFacts {
            session: s,
            settings,
            user,
            backup_codes_left,
        })
    }

    // --- batches: one transaction (one commit) each ---
    /// Applies every write in order in ONE durable transaction: all of them or, on any error,
    /// none. Inputs are checked before the transaction starts.
    fn apply(&self, writes: &[Write]) -> Result<()> {
        self.apply_with(writes, Commit::Durable)
    }
    /// [`Store::apply`] committed as `commit` says.
    fn apply_with(&self, writes: &[Write], commit: Commit) -> Result<()>;
    /// In ONE transaction: performs the single-use `consume`, and only if this call won it,
    /// applies `then`; then commits. Exactly one of any number of concurrent callers presenting
    /// the same code wins (SQLite: the transaction holds the write lock from its start;
    /// PostgreSQL: the guarded `UPDATE` locks the row). A caller that replies only after this
    /// returns never issues anything for a code that is not burned (burn before issue).
    /// A failing write of `then` undoes the consume too, except for a
    /// [`Write::FinishSession`] whose session had ended: see
    /// [`ConsumeOutcome::AcceptedSessionEnded`].
    fn consume_then(&self, consume: &Consume, then: &[Write]) -> Result<ConsumeOutcome>;
    /// In ONE transaction: [`Store::record_failure`] for the user, then
    /// [`Store::session_invalid_attempt`] for the session, then the writes `then` builds from
    /// the counts; then commits, [`Commit::Lazy`]: a wrong code costs no disk flush (it
    /// survives a crash of any process, and the next durable commit flushes it). No increment
    /// is lost or duplicated under concurrency. An unknown user or session changes nothing and
    /// is `NotFound`.
    fn record_failure_then(&self, failure: &Failure, then: FailureWrites) -> Result<FailureCounts>;
}
