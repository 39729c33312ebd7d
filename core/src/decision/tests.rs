//! Table-driven tests of the decision, one `check` helper per area, plus a sweep over every
//! combination of the main settings and user states that asserts the invariants.
use super::*;
use crate::settings::{AllowedMethods, RoleSetting};

fn enrolled() -> UserFacts {
    UserFacts {
        status: EnrollmentStatus::Enrolled,
        default_method: None,
        has_phone: false,
        has_email: false,
        backup_codes_left: 10,
        consecutive_failures: 0,
    }
}

fn not_enrolled() -> UserFacts {
    UserFacts {
        status: EnrollmentStatus::NotEnrolled,
        backup_codes_left: 0,
        ..enrolled()
    }
}

fn ssh() -> AttemptFacts {
    AttemptFacts {
        service: "sshd".into(),
        rhost: Some("192.0.2.7".into()),
        roles: vec!["staff".into()],
        device_remembered: None,
        rhost_seen: None,
        now: 1_767_225_600,
    }
}

fn with(f: impl FnOnce(&mut Settings)) -> Settings {
    let mut s = Settings::default();
    f(&mut s);
    s
}

fn all_methods() -> Settings {
    with(|s| {
        s.methods = AllowedMethods {
            authenticator_app: true,
            sms: true,
            email: true,
            backup_codes: true,
        };
        s.sms_provider = Some("twilio".into());
    })
}

/// Asserts the verdict and that every `reason` fragment appears in the reason chain.
#[track_caller]
fn check(s: &Settings, u: &UserFacts, a: &AttemptFacts, want: Verdict, reasons: &[&str]) {
    let d = decide(s, u, a);
    assert_eq!(d.verdict, want, "reasons: {}", d.reason_chain());
    let chain = d.reason_chain();
    for r in reasons {
        assert!(chain.contains(r), "missing {r:?} in: {chain}");
    }
}

/// Asserts a challenge with exactly `methods` (first = asked now).
#[track_caller]
fn check_challenge(s: &Settings, u: &UserFacts, methods: &[Method], reasons: &[&str]) {
    check(
        s,
        u,
        &ssh(),
        Verdict::Challenge {
            methods: methods.to_vec(),
        },
        reasons,
    );
}

/// Asserts an enrollment offer.
#[track_caller]
fn check_enroll(s: &Settings, u: &UserFacts, required: bool, on_skip: &[Method], reasons: &[&str]) {
    check(
        s,
        u,
        &ssh(),
        Verdict::Enroll {
            required,
            on_skip: on_skip.to_vec(),
        },
        reasons,
    );
}

// --- master toggle -------------------------------------------------------------------------

#[test]
fn master_toggle_off_allows_every_user_whatever_their_state() {
    let s = with(|s| s.enabled = false);
    let locked = UserFacts {
        consecutive_failures: 1000,
        ..enrolled()
    };
    for u in [enrolled(), not_enrolled(), locked] {
        check(&s, &u, &ssh(), Verdict::Allow, &["master toggle is off"]);
    }
}

// --- roles ---------------------------------------------------------------------------------

#[test]
fn an_exempt_role_allows_and_a_non_exempt_or_unknown_role_does_not() {
    let s = with(|s| {
        s.roles
            .insert("breakglass".into(), RoleSetting { exempt: true });
        s.roles
            .insert("staff".into(), RoleSetting { exempt: false });
    });
    let mut a = ssh();
    a.roles = vec!["staff".into(), "breakglass".into()];
    check(
        &s,
        &not_enrolled(),
        &a,
        Verdict::Allow,
        &["role breakglass is exempt"],
    );
    a.roles = vec!["staff".into(), "wheel".into()];
    let d = decide(&s, &enrolled(), &a);
    assert!(matches!(d.verdict, Verdict::Challenge { .. }), "{d:?}");
    a.roles = vec![];
    assert!(matches!(
        decide(&s, &not_enrolled(), &a).verdict,
        Verdict::Enroll { .. }
    ));
}

// --- lock by consecutive failures ------------------------------------------------------------

#[test]
fn a_user_at_the_failure_cap_is_denied_and_one_below_is_not() {
    let s = with(|s| s.max_consecutive_failures = 5);
    let at = UserFacts {
        consecutive_failures: 5,
        ..enrolled()
    };
    check(
        &s,
        &at,
        &ssh(),
        Verdict::Deny,
        &["locked after 5 consecutive", "twofoldctl users unlock"],
    );
    let below = UserFacts {
        consecutive_failures: 4,
        ..enrolled()
    };
    check_challenge(
        &s,
        &below,
        &[Method::AuthenticatorApp, Method::BackupCode],
        &[],
    );
    // Recognition does not bypass the lock.
    let mut a = ssh();
    a.device_remembered = Some(a.now - 10);
    let s2 = with(|s| {
        s.max_consecutive_failures = 5;
        s.enforcement = Enforcement::UnrecognizedDevices;
    });
    check(&s2, &at, &a, Verdict::Deny, &[]);
}

// --- enforcement ---------------------------------------------------------------------------

#[track_caller]
fn check_recognition(
    enforcement: Enforcement,
    device: bool,
    seen: bool,
    rhost: bool,
    allowed: bool,
    reason: &str,
) {
    let s = with(|s| s.enforcement = enforcement);
    let mut a = ssh();
    a.device_remembered = device.then_some(a.now - 86_400);
    a.rhost_seen = seen.then_some(a.now - 3600);
    if !rhost {
        a.rhost = None;
    }
    let d = decide(&s, &enrolled(), &a);
    assert_eq!(d.verdict == Verdict::Allow, allowed, "{}", d.reason_chain());
    assert!(d.reason_chain().contains(reason), "{}", d.reason_chain());
}

#[test]
fn risk_based_enforcement_skips_only_for_a_recognized_device_or_address() {
    use Enforcement::*;
    check_recognition(
        UnrecognizedDevices,
        true,
        false,
        true,
        true,
        "device cookie was remembered at 2025-12-31 00:00:00 UTC",
    );
    check_recognition(
        UnrecognizedDevices,
        false,
        true,
        true,
        true,
        "address 192.0.2.7 matches a sign-in",
    );
    check_recognition(UnrecognizedDevices, true, true, true, true, "device cookie");
    check_recognition(
        UnrecognizedDevices,
        false,
        false,
        true,
        false,
        "neither a remembered device nor a known address matched",
    );
    // A history match without a remote address (console login) does not count.
    check_recognition(UnrecognizedDevices, false, true, false, false, "neither");
    // every_login ignores recognition.
    check_recognition(
        EveryLogin,
        true,
        true,
        true,
        false,
        "enforcement is every_login",
    );
    check_recognition(
        EveryLogin,
        false,
        false,
        false,
        false,
        "enforcement is every_login",
    );
}

#[test]
fn a_recognized_device_does_not_skip_a_required_enrollment() {
    // After an admin reset the user must enroll again at the next sign-in, even from a known
    // address; an optional enrollment is skipped with the second factor.
    let mut a = ssh();
    a.device_remembered = Some(a.now - 60);
    a.rhost_seen = Some(a.now - 60);
    let s = with(|s| s.enforcement = Enforcement::UnrecognizedDevices);
    check(
        &s,
        &not_enrolled(),
        &a,
        Verdict::Enroll {
            required: true,
            on_skip: vec![],
        },
        &["recognition does not skip a required enrollment"],
    );
    let optional = with(|s| {
        s.enforcement = Enforcement::UnrecognizedDevices;
        s.authenticator_enrollment = EnrollmentPolicy::Optional;
    });
    check(
        &optional,
        &not_enrolled(),
        &a,
        Verdict::Allow,
        &["device cookie"],
    );
}

// --- enrollment ------------------------------------------------------------------------------

#[test]
fn required_enrollment_is_forced_only_when_the_app_is_allowed() {
    check_enroll(
        &Settings::default(),
        &not_enrolled(),
        true,
        &[],
        &["enrollment is required; the user is not enrolled"],
    );
    let pending = UserFacts {
        status: EnrollmentStatus::Pending,
        ..not_enrolled()
    };
    check_enroll(
        &Settings::default(),
        &pending,
        true,
        &[],
        &["pending (a secret was issued but never confirmed)"],
    );
    // App not allowed: no enrollment, the user signs in with email.
    let s = with(|s| {
        s.methods.authenticator_app = false;
        s.methods.email = true;
        s.default_method = Method::Email;
    });
    let u = UserFacts {
        has_email: true,
        ..not_enrolled()
    };
    check_challenge(
        &s,
        &u,
        &[Method::Email],
        &["the authenticator app is not allowed, so enrollment is not forced"],
    );
}

#[test]
fn optional_enrollment_is_offered_with_the_methods_used_if_skipped() {
    let s = with(|s| {
        s.authenticator_enrollment = EnrollmentPolicy::Optional;
        s.methods.email = true;
    });
    let with_email = UserFacts {
        has_email: true,
        ..not_enrolled()
    };
    check_enroll(
        &s,
        &with_email,
        false,
        &[Method::Email],
        &[
            "enrollment is optional",
            "if skipped, the user is asked for email",
        ],
    );
    check_enroll(
        &s,
        &not_enrolled(),
        false,
        &[],
        &["goes on without a second factor"],
    );
}

// --- fallback --------------------------------------------------------------------------------

#[test]
fn fallback_off_with_an_unavailable_default_gives_no_factor_and_the_guides_resolution() {
    let s = with(|s| {
        s.methods.sms = true;
        s.sms_provider = Some("twilio".into());
        s.default_method = Method::Sms;
        s.allow_fallback_methods = false;
    });
    check(
        &s,
        &enrolled(),
        &ssh(),
        Verdict::NoFactor,
        &[
            "default method sms is unavailable (no phone number is on file) and fallback methods are off",
            "reset the user's enrollment or allow fallback methods",
        ],
    );
}

#[test]
fn fallback_off_keeps_backup_codes_as_the_apps_recovery_only() {
    let s = with(|s| s.allow_fallback_methods = false);
    check_challenge(
        &s,
        &enrolled(),
        &[Method::AuthenticatorApp, Method::BackupCode],
        &["fallback methods are off"],
    );
    let no_codes = UserFacts {
        backup_codes_left: 0,
        ..enrolled()
    };
    check_challenge(&s, &no_codes, &[Method::AuthenticatorApp], &[]);
    // An SMS default with fallback off offers nothing else, not even backup codes.
    let mut s2 = all_methods();
    s2.allow_fallback_methods = false;
    s2.default_method = Method::Sms;
    let u = UserFacts {
        has_phone: true,
        has_email: true,
        ..enrolled()
    };
    check_challenge(&s2, &u, &[Method::Sms], &[]);
}

#[test]
fn fallback_on_picks_an_alternate_when_the_default_is_unavailable() {
    let mut s = all_methods();
    s.default_method = Method::Sms;
    let u = UserFacts {
        has_email: true,
        ..enrolled()
    };
    check_challenge(
        &s,
        &u,
        &[Method::AuthenticatorApp, Method::Email, Method::BackupCode],
        &[
            "the default method sms is unavailable (no phone number is on file); falling back to authenticator_app",
        ],
    );
    let all = UserFacts {
        has_email: true,
        has_phone: true,
        ..enrolled()
    };
    check_challenge(
        &s,
        &all,
        &[
            Method::Sms,
            Method::AuthenticatorApp,
            Method::Email,
            Method::BackupCode,
        ],
        &["challenge with the default method sms"],
    );
}

// --- SMS prerequisites -----------------------------------------------------------------------

#[test]
fn sms_needs_a_provider_and_a_phone_number() {
    let mut s = all_methods();
    s.default_method = Method::Sms;
    s.sms_provider = None;
    let u = UserFacts {
        has_phone: true,
        ..enrolled()
    };
    check_challenge(
        &s,
        &u,
        &[Method::AuthenticatorApp, Method::BackupCode],
        &["no SMS provider integration is selected"],
    );
    s.sms_provider = Some("twilio".into());
    check_challenge(
        &s,
        &enrolled(),
        &[Method::AuthenticatorApp, Method::BackupCode],
        &["no phone number is on file"],
    );
    check_challenge(
        &s,
        &u,
        &[Method::Sms, Method::AuthenticatorApp, Method::BackupCode],
        &[],
    );
}

#[test]
fn no_usable_method_with_fallback_on_is_no_factor() {
    let s = with(|s| {
        s.methods.authenticator_app = false;
        s.methods.email = true;
        s.default_method = Method::Email;
    });
    check(
        &s,
        &not_enrolled(),
        &ssh(),
        Verdict::NoFactor,
        &[
            "no allowed method is usable: default email is unavailable (no email address is on file)",
        ],
    );
}

// --- the user's default ----------------------------------------------------------------------

#[track_caller]
fn check_first(s: &Settings, user_default: Option<Method>, first: Method) {
    let u = UserFacts {
        default_method: user_default,
        has_email: true,
        has_phone: true,
        ..enrolled()
    };
    match decide(s, &u, &ssh()).verdict {
        Verdict::Challenge { methods } => assert_eq!(methods[0], first, "{methods:?}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_users_own_default_is_preferred_when_allowed() {
    let s = all_methods();
    check_first(&s, Some(Method::Email), Method::Email);
    check_first(&s, Some(Method::Sms), Method::Sms);
    check_first(&s, None, Method::AuthenticatorApp);
    check_first(&s, Some(Method::BackupCode), Method::AuthenticatorApp);
    let no_email = with(|s| {
        s.methods.sms = true;
        s.sms_provider = Some("twilio".into());
    });
    check_first(&no_email, Some(Method::Email), Method::AuthenticatorApp);
}

#[test]
fn backup_codes_are_offered_only_while_some_are_left() {
    let u = UserFacts {
        backup_codes_left: 0,
        ..enrolled()
    };
    check_challenge(&Settings::default(), &u, &[Method::AuthenticatorApp], &[]);
    let s = with(|s| s.methods.backup_codes = false);
    check_challenge(&s, &enrolled(), &[Method::AuthenticatorApp], &[]);
}

// --- session methods and usable methods (used by the engine) ----------------------------------

#[test]
fn session_methods_follow_the_same_rules_as_the_decision() {
    let s = all_methods();
    let u = UserFacts {
        has_email: true,
        ..enrolled()
    };
    assert_eq!(
        session_methods(&s, &u, Method::Email),
        [Method::Email, Method::AuthenticatorApp, Method::BackupCode]
    );
    let mut off = s.clone();
    off.allow_fallback_methods = false;
    assert_eq!(session_methods(&off, &u, Method::Email), [Method::Email]);
    assert_eq!(
        session_methods(&off, &u, Method::AuthenticatorApp),
        [Method::AuthenticatorApp, Method::BackupCode]
    );
    let mut no_email = s.clone();
    no_email.methods.email = false;
    assert_eq!(
        session_methods(&no_email, &u, Method::Email),
        [Method::AuthenticatorApp, Method::BackupCode],
        "a method disallowed mid-session is no longer offered"
    );
    assert_eq!(
        usable_methods(
            &s,
            &UserFacts {
                default_method: Some(Method::Email),
                ..u.clone()
            }
        ),
        [Method::Email, Method::AuthenticatorApp, Method::BackupCode]
    );
    assert_eq!(
        unusable_reason(Method::Sms, &s, &u).as_deref(),
        Some("no phone number is on file")
    );
}

// --- a sweep over every combination ------------------------------------------------------------

#[test]
fn every_combination_keeps_the_invariants() {
    let statuses = [
        EnrollmentStatus::NotEnrolled,
        EnrollmentStatus::Pending,
        EnrollmentStatus::Enrolled,
    ];
    let mut n = 0;
    for bits in 0u32..(1 << 11) {
        let b = |i: u32| bits & (1 << i) != 0;
        let s = Settings {
            enabled: b(0),
            enforcement: if b(1) {
                Enforcement::UnrecognizedDevices
            } else {
                Enforcement::EveryLogin
            },
            authenticator_enrollment: if b(2) {
                EnrollmentPolicy::Optional
            } else {
                EnrollmentPolicy::Required
            },
            allow_fallback_methods: b(3),
            methods: AllowedMethods {
                authenticator_app: b(4),
                sms: b(5),
                email: b(6),
                backup_codes: b(7),
            },
            sms_provider: b(5).then(|| "twilio".to_string()),
            default_method: if b(4) {
                Method::AuthenticatorApp
            } else if b(6) {
                Method::Email
            } else {
                Method::Sms
            },
            ..Settings::default()
        };
        for status in statuses {
            for failures in [0, 19, 20] {
                let u = UserFacts {
                    status,
                    default_method: None,
                    has_phone: b(8),
                    has_email: b(9),
                    backup_codes_left: if b(10) { 5 } else { 0 },
                    consecutive_failures: failures,
                };
                let mut a = ssh();
                a.device_remembered = b(1).then_some(a.now - 5);
                let d = decide(&s, &u, &a);
                n += 1;
                let ctx = format!("{s:?} {u:?} -> {:?}: {}", d.verdict, d.reason_chain());
                assert!(!d.reasons.is_empty(), "{ctx}");
                if !s.enabled {
                    assert_eq!(d.verdict, Verdict::Allow, "{ctx}");
                    continue;
                }
                assert_eq!(d.verdict == Verdict::Deny, failures >= 20, "{ctx}");
                if failures >= 20 {
                    continue;
                }
                let forced = s.methods.authenticator_app
                    && status != EnrollmentStatus::Enrolled
                    && s.authenticator_enrollment == EnrollmentPolicy::Required;
                if s.enforcement == Enforcement::UnrecognizedDevices && !forced {
                    assert_eq!(
                        d.verdict,
                        Verdict::Allow,
                        "a remembered device skips: {ctx}"
                    );
                    continue;
                }
                match &d.verdict {
                    Verdict::Enroll { required, on_skip } => {
                        assert!(
                            s.methods.authenticator_app && status != EnrollmentStatus::Enrolled,
                            "{ctx}"
                        );
                        assert_eq!(
                            *required,
                            s.authenticator_enrollment == EnrollmentPolicy::Required,
                            "{ctx}"
                        );
                        assert!(
                            *required || on_skip.iter().all(|m| usable(*m, &s, &u).is_ok()),
                            "{ctx}"
                        );
                    }
                    Verdict::Challenge { methods } => {
                        assert!(
                            !(s.methods.authenticator_app && status != EnrollmentStatus::Enrolled),
                            "{ctx}"
                        );
                        assert!(methods.iter().all(|m| usable(*m, &s, &u).is_ok()), "{ctx}");
                        let mut dedup = methods.clone();
                        dedup.sort();
                        dedup.dedup();
                        assert_eq!(dedup.len(), methods.len(), "{ctx}");
                        let def = effective_default(&s, &u);
                        if usable(def, &s, &u).is_ok() {
                            assert_eq!(methods[0], def, "{ctx}");
                        }
                        if !s.allow_fallback_methods {
                            assert_eq!(methods[0], def, "{ctx}");
                            assert!(
                                methods[1..].iter().all(|m| *m == Method::BackupCode),
                                "{ctx}"
                            );
                        }
                    }
                    Verdict::NoFactor => {
                        assert!(
                            Method::ALL.iter().all(|m| usable(*m, &s, &u).is_err()
                                || (!s.allow_fallback_methods && *m != effective_default(&s, &u))),
                            "{ctx}"
                        );
                    }
                    Verdict::Allow | Verdict::Deny => panic!("unexpected: {ctx}"),
                }
            }
        }
    }
    assert_eq!(n, 2048 * 9);
}

#[test]
fn times_are_formatted_in_utc() {
    assert_eq!(fmt_time(0), "1970-01-01 00:00:00 UTC");
    assert_eq!(fmt_time(1_111_111_109), "2005-03-18 01:58:29 UTC");
    assert_eq!(fmt_time(951_782_400), "2000-02-29 00:00:00 UTC");
    assert_eq!(fmt_time(-1), "1969-12-31 23:59:59 UTC");
}

#[test]
fn kinds_name_every_verdict() {
    let k = |v| {
        Decision {
            verdict: v,
            reasons: vec!["x".into()],
        }
        .kind()
    };
    assert_eq!(k(Verdict::Allow), "allow");
    assert_eq!(k(Verdict::Deny), "deny");
    assert_eq!(k(Verdict::NoFactor), "no_factor");
    assert_eq!(k(Verdict::Challenge { methods: vec![] }), "challenge");
    assert_eq!(
        k(Verdict::Enroll {
            required: true,
            on_skip: vec![]
        }),
        "enroll"
    );
}
