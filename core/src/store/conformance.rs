//! The store conformance suite: one set of cases written against `&dyn Store`, run unchanged on
//! every backend (SQLite in `core/tests/store_sqlite.rs`, PostgreSQL in
//! `core/tests/store_postgres.rs`).
//!
//! Each case is a `pub fn name(store: &dyn Store)` that panics on a violation. The
//! [`store_conformance_tests!`](crate::store_conformance_tests) macro turns every case into one
//! `#[test]` of the calling test crate:
//!
//! ```ignore
//! twofold_core::store_conformance_tests!(my_fixture());
//! ```
//!
//! where `my_fixture()` returns `Option<F>` with `F: Deref<Target = dyn Store>` (a fresh, empty
//! store per case; `None` skips the case, for a backend that is not reachable). [`Fixture`]
//! bundles a store with whatever must outlive it (a temporary directory, a schema to drop).
//!
//! The delivery and OpenID Connect cases reach their halves through [`Store::delivery`] and
//! [`Store::oidc`]; a backend must provide both to pass.

mod audit;
mod batch;
mod codes;
mod concurrency;
mod delivery;
mod facts;
mod oidc;
mod pipeline;
mod sessions;
mod settings;
mod signins;
mod users;

pub use audit::*;
pub use batch::*;
pub use codes::*;
pub use concurrency::*;
pub use delivery::*;
pub use facts::*;
pub use oidc::*;
pub use pipeline::*;
pub use sessions::*;
pub use settings::*;
pub use signins::*;
pub use users::*;

use crate::clock::UnixTime;
use crate::proto::Method;
use crate::store::{Store, UserRecord, VerificationSession};

/// A fixed "now" for the cases (2023-11-14).
pub const T0: UnixTime = 1_700_000_000;

/// Threads used by the concurrency cases.
pub const THREADS: usize = 32;

/// A store plus what must live as long as it (dropped after the store).
pub struct Fixture<G> {
    store: Box<dyn Store>,
    _guard: G,
}

impl<G> Fixture<G> {
    /// Bundles `store` with `guard`.
    pub fn new(store: Box<dyn Store>, guard: G) -> Fixture<G> {
        Fixture {
            store,
            _guard: guard,
        }
    }
}

impl<G> std::ops::Deref for Fixture<G> {
    type Target = dyn Store;
    fn deref(&self) -> &(dyn Store + 'static) {
        &*self.store
    }
}

/// A distinct 32-byte hash per `n`.
pub fn h(n: u8) -> [u8; 32] {
    let mut b = [n; 32];
    b[0] = 0xa5;
    b
}

/// Creates `name` (not enrolled).
pub fn new_user(store: &dyn Store, name: &str) -> UserRecord {
    store.ensure_user(name, T0).expect("ensure_user")
}

/// Creates `name` and enrolls it with high-water mark `step`.
pub fn enrolled_user(store: &dyn Store, name: &str, step: i64) -> UserRecord {
    new_user(store, name);
    store
        .set_pending_secret(name, b"k1:ciphertext", T0)
        .expect("set_pending_secret");
    assert!(
        store.confirm_enrollment(name, step, T0).expect("confirm"),
        "confirming a pending user must succeed"
    );
    store.get_user(name).expect("get_user").expect("user")
}

/// An open session `id` of `user`, asking for `method`, expiring five minutes after [`T0`].
pub fn session(id: &str, user: &str, method: Method) -> VerificationSession {
    VerificationSession {
        id: id.to_string(),
        user: user.to_string(),
        service: "sshd".into(),
        rhost: Some("192.0.2.7".into()),
        method,
        invalid_attempts: 0,
        resends: 0,
        created_at: T0,
        expires_at: T0 + 300,
        ended: None,
    }
}

/// Creates an open session `id` for `user` (created too).
pub fn open_session(store: &dyn Store, id: &str, user: &str, method: Method) {
    new_user(store, user);
    store
        .create_session(&session(id, user, method))
        .expect("create_session");
}

/// Generates one `#[test]` per conformance case. The argument is an expression evaluated once
/// per test that gives `Option<F>`, `F: Deref<Target = dyn Store>`; `None` skips the case.
#[macro_export]
macro_rules! store_conformance_tests {
    ($make:expr) => {
        $crate::store_conformance_tests!(@cases $make;
            // settings
            settings_start_as_defaults_with_version_zero,
            saved_settings_round_trip_with_increasing_versions,
            saving_settings_from_a_stale_version_is_a_conflict_that_changes_nothing,
            invalid_settings_are_refused_and_change_nothing,
            // users and enrollment
            an_unknown_user_is_absent_until_ensured,
            ensuring_a_user_twice_keeps_the_first_record,
            a_bad_user_name_is_refused,
            users_are_listed_by_name_and_filtered_by_status,
            a_pending_secret_round_trips_and_makes_the_user_pending,
            a_new_pending_secret_replaces_the_earlier_one_and_its_high_water_mark,
            a_pending_secret_for_an_enrolled_user_is_a_conflict,
            confirming_enrollment_needs_a_pending_user_and_sets_the_high_water_mark,
            a_totp_step_is_accepted_once_and_no_earlier_step_ever_again,
            totp_steps_are_refused_for_users_not_enrolled,
            reset_deletes_the_secret_and_the_backup_codes,
            holding_totp_secrets_follows_pending_secrets_and_resets,
            reset_pending_resets_only_pending_users,
            contact_details_round_trip_and_none_leaves_a_field_as_it_is,
            clearing_a_contact_field_clears_only_that_field,
            a_password_hash_round_trips,
            changes_to_an_unknown_user_are_not_found,
            // backup codes and failure counters
            a_backup_code_is_consumed_exactly_once,
            a_new_batch_of_backup_codes_invalidates_the_old_one,
            a_backup_code_of_one_user_is_refused_for_another,
            a_batch_with_a_repeated_code_is_refused_and_changes_nothing,
            failures_count_up_until_cleared,
            // verification sessions and out-of-band codes
            a_session_round_trips,
            invalid_attempts_lock_the_session_at_the_maximum,
            without_a_limit_invalid_attempts_never_lock,
            a_new_session_starts_with_clean_counters,
            an_attempt_on_a_locked_session_reports_locked_without_counting,
            an_attempt_on_a_finished_session_is_refused,
            resends_stop_at_the_limit,
            without_a_limit_resends_never_stop,
            a_session_ends_only_once,
            the_method_of_an_open_session_can_change,
            operations_on_an_unknown_session_are_not_found,
            an_oob_code_is_accepted_once,
            an_expired_oob_code_is_reported_expired_and_stays_unused,
            a_new_oob_code_replaces_the_earlier_one,
            an_oob_code_of_an_ended_session_is_refused,
            an_oob_code_needs_an_open_session,
            // devices and sign-in history
            a_remembered_device_is_known_until_it_expires,
            a_device_belongs_to_its_user_and_can_be_forgotten,
            recent_signins_are_newest_first_and_limited,
            rhost_seen_gives_the_last_success_from_that_address,
            rhost_seen_ignores_failures_and_sign_ins_without_a_second_factor,
            rhost_seen_looks_only_at_the_most_recent_distinct_addresses,
            rhost_seen_ignores_successes_before_since,
            // the combined reads of a sign-in step
            signin_facts_of_an_unknown_user_are_empty,
            signin_facts_agree_with_the_single_reads,
            verify_facts_agree_with_the_single_reads,
            // audit
            audit_events_round_trip_newest_first,
            audit_queries_filter_by_user,
            audit_queries_filter_by_literal_event_prefix,
            audit_queries_filter_by_time_range_inclusive,
            audit_queries_honour_the_limit,
            describe_names_the_backend,
            // concurrency
            thirty_two_threads_presenting_one_backup_code_give_exactly_one_success,
            thirty_two_threads_presenting_one_totp_step_give_exactly_one_success,
            thirty_two_threads_presenting_one_oob_code_give_exactly_one_success,
            concurrent_failures_lose_no_increments,
            concurrent_invalid_attempts_lock_a_session_exactly_once,
            concurrent_resends_never_exceed_the_limit,
            concurrent_settings_saves_from_one_version_give_exactly_one_winner,
            // batches: one transaction each
            writes_are_visible_after_apply,
            a_batch_with_a_refused_write_applies_nothing,
            a_refused_consume_applies_nothing,
            a_won_consume_commits_with_its_writes,
            a_failed_write_after_a_consume_undoes_the_consume,
            a_consume_for_an_ended_session_is_kept_and_its_writes_are_not,
            thirty_two_threads_through_consume_then_give_exactly_one_winner,
            thirty_two_threads_with_one_backup_code_through_consume_then_give_one_winner,
            record_failure_then_counts_and_writes_together,
            record_failure_then_refusals_count_nothing,
            concurrent_failures_through_record_failure_then_lose_no_increments,
            refused_batches_leave_no_open_transaction_behind,
            // the delivery half
            a_claimed_message_is_not_claimed_again_until_its_lease_expires,
            a_retry_waits_for_its_time_and_a_give_up_is_final,
            an_unsent_code_expires_with_its_reason,
            a_throttled_integration_is_left_alone_until_the_throttle_ends,
            delivery_counts_are_per_integration_and_day,
            integrations_keep_their_health_across_a_replace,
            the_delivery_log_filters_newest_first,
            purging_the_delivery_log_removes_only_old_final_rows,
            thirty_two_workers_never_claim_one_message_twice,
            // the OpenID Connect half
            a_client_round_trips_and_is_deleted_with_its_tokens,
            a_clients_grant_types_round_trip_and_bad_ones_are_refused,
            an_authorization_code_is_spent_once_and_a_replay_names_its_grant,
            thirty_two_threads_redeeming_one_authorization_code_give_exactly_one_success,
            a_refresh_token_rotates_once_and_reuse_is_detected,
            thirty_two_threads_rotating_one_refresh_token_give_exactly_one_successor,
            a_refresh_token_of_another_client_is_unknown_and_untouched,
            an_expired_refresh_token_is_spent_and_refused,
            revoking_a_grant_kills_only_its_tokens,
            revoking_a_users_tokens_leaves_other_users_alone,
            web_sessions_are_replaced_expire_and_are_deleted_per_user,
            signing_keys_are_listed_oldest_first_and_retire,
            purging_keeps_spent_codes_for_an_hour_past_expiry,
            an_access_and_a_refresh_token_are_stored_together_or_not_at_all,
            replacing_a_web_session_stores_the_new_one_and_deletes_the_old,
            redeeming_a_code_spends_it_and_stores_its_tokens,
            a_code_refused_at_redemption_stays_spent_without_tokens,
            thirty_two_threads_redeeming_one_code_store_one_set_of_tokens,
            a_code_and_its_session_are_stored_together,
            a_lazily_committed_web_session_reads_back,
        );
    };
    (@cases $make:expr; $($case:ident),* $(,)?) => {
        $(
            #[test]
            fn $case() {
                let Some(fixture) = $make else { return; };
                $crate::store::conformance::$case(&*fixture);
            }
        )*
    };
}
