//! Table-driven tests of the decision.
use super::*;

#[test]
fn master_toggle_off_allows_without_a_factor() {
    let s = Settings {
        enabled: false,
        ..Settings::default()
    };
    let u = UserFacts {
        status: EnrollmentStatus::NotEnrolled,
        default_method: None,
        has_phone: false,
        has_email: false,
        backup_codes_left: 0,
        consecutive_failures: 0,
    };
    let d = decide(&s, &u, &AttemptFacts::default());
    assert_eq!(d.verdict, Verdict::Allow);
    assert!(d.reason_chain().contains("master toggle is off"));
}
