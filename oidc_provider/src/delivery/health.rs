//! The health of an integration, from the results of its sends and of explicit credential checks.
//!
//! - a success (send accepted, check passed) → `healthy`, failures reset;
//! - credentials refused (HTTP 401/403, SMTP 535) → `unhealthy`, with the provider's reason;
//! - throttling (HTTP 429, rate-limit codes) → `throttled` until the provider's `Retry-After`
//!   (or the back-off); the worker sends nothing through it until then;
//! - transient failures (5xx, timeouts, refused connections) → `unhealthy` after
//!   [`FAILURES_BEFORE_UNHEALTHY`] in a row, with the last error;
//! - a permanent failure of one message (a bad number) says nothing about the integration.

use super::integration::{FailureKind, SendResult};
use twofold_core::clock::UnixTime;
use twofold_core::store::delivery::{Health, IntegrationHealth};

/// Transient failures in a row that make an integration unhealthy.
pub const FAILURES_BEFORE_UNHEALTHY: u32 = 3;

/// The health after `result`, observed at `now`. `throttle_until` is when a throttled
/// integration may be used again.
pub fn next(
    old: &IntegrationHealth,
    result: &SendResult,
    now: UnixTime,
    throttle_until: UnixTime,
) -> IntegrationHealth {
    let mut h = old.clone();
    h.updated_at = Some(now);
    match result {
        SendResult::Accepted { .. } => {
            h.state = Health::Healthy;
            h.reason = None;
            h.last_success_at = Some(now);
            h.consecutive_failures = 0;
            h.throttled_until = None;
        }
        SendResult::Failed { kind, message, .. } => {
            h.last_failure_at = Some(now);
            match kind {
                FailureKind::Auth => {
                    h.state = Health::Unhealthy;
                    h.reason = Some(message.clone());
                    h.consecutive_failures = h.consecutive_failures.saturating_add(1);
                }
                FailureKind::Throttled => {
                    h.state = Health::Throttled;
                    h.reason = Some(message.clone());
                    h.throttled_until = Some(throttle_until);
                }
                FailureKind::Transient => {
                    h.consecutive_failures = h.consecutive_failures.saturating_add(1);
                    if h.consecutive_failures >= FAILURES_BEFORE_UNHEALTHY {
                        h.state = Health::Unhealthy;
                        h.reason = Some(format!(
                            "the last {} sends failed; last error: {message}",
                            h.consecutive_failures
                        ));
                    }
                }
                FailureKind::Permanent => {}
            }
        }
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fail(kind: FailureKind) -> SendResult {
        SendResult::failed(kind, "boom")
    }

    #[test]
    fn refused_credentials_make_an_integration_unhealthy_with_the_reason() {
        let h = next(
            &IntegrationHealth::default(),
            &fail(FailureKind::Auth),
            10,
            10,
        );
        assert_eq!(h.state, Health::Unhealthy);
        assert_eq!(h.reason.as_deref(), Some("boom"));
        let ok = SendResult::Accepted {
            provider_id: None,
            status: None,
        };
        let h = next(&h, &ok, 20, 20);
        assert_eq!(h.state, Health::Healthy);
        assert_eq!(h.reason, None);
    }

    #[test]
    fn transient_failures_count_up_to_unhealthy() {
        let mut h = IntegrationHealth::default();
        for i in 1..FAILURES_BEFORE_UNHEALTHY {
            h = next(&h, &fail(FailureKind::Transient), i64::from(i), 0);
            assert_ne!(h.state, Health::Unhealthy);
        }
        h = next(&h, &fail(FailureKind::Transient), 9, 0);
        assert_eq!(h.state, Health::Unhealthy);
        assert!(h.reason.unwrap().contains("last 3 sends failed"));
    }

    #[test]
    fn throttling_is_recorded_with_its_end() {
        let h = next(
            &IntegrationHealth::default(),
            &fail(FailureKind::Throttled),
            10,
            40,
        );
        assert_eq!(h.state, Health::Throttled);
        assert_eq!(h.throttled_until, Some(40));
        let h = next(&h, &fail(FailureKind::Permanent), 11, 0);
        assert_eq!(h.state, Health::Throttled);
    }
}
