//! Administration through the engine on a real SQLite file: resets, unlock, backup-code
//! regeneration, settings changes with their audit diff, contact details, views and counts.

mod common;

use common::*;
use twofold_core::Error;
use twofold_core::engine::Overview;
use twofold_core::proto::{Code, Method, PamReply};
use twofold_core::settings::MaxInvalidAttempts;
use twofold_core::store::{EnrollmentStatus, Store};

#[test]
fn resetting_an_enrollment_deletes_secret_codes_and_devices_and_names_the_admin() {
    let h = Harness::new();
    let (secret, codes) = h.enroll("alice");
    let token = h.engine.remember_device("alice").unwrap();
    assert!(h.engine.reset_enrollment("admin:root", "alice").unwrap());
    let u = h.store.get_user("alice").unwrap().unwrap();
    assert_eq!(u.status, EnrollmentStatus::NotEnrolled);
    assert!(u.totp_secret.is_none());
    assert_eq!(h.store.backup_codes_left("alice").unwrap(), 0);
    let ev = &h.audit("alice", "user.reset")[0];
    assert_eq!(ev.actor, "admin:root");
    assert!(
        ev.detail.contains("admin:root") && ev.detail.contains("was enrolled"),
        "{}",
        ev.detail
    );
    // The next sign-in enrolls again; the old codes and device are gone.
    let mut a = attempt("alice");
    a.device_token = Some(token);
    assert!(matches!(h.engine.begin(&a).unwrap(), PamReply::Enroll(_)));
    let _ = (secret, codes);
    assert!(!h.engine.reset_enrollment("admin:root", "nobody").unwrap());
}

#[test]
fn resetting_pending_users_touches_only_them() {
    let h = Harness::new();
    h.enroll("alice");
    for u in ["bob", "carol"] {
        let PamReply::Enroll(o) = h.engine.begin(&attempt(u)).unwrap() else {
            panic!()
        };
        h.engine.enroll_start(&o.session).unwrap();
    }
    h.engine.begin(&attempt("dave")).unwrap();
    assert_eq!(
        h.engine.overview().unwrap(),
        Overview {
            not_enrolled: 1,
            pending: 2,
            enrolled: 1,
            locked: 0
        }
    );
    let mut names = h.engine.reset_pending("admin:root").unwrap();
    names.sort();
    assert_eq!(names, ["bob", "carol"]);
    assert_eq!(h.audit("bob", "user.reset").len(), 1);
    assert_eq!(
        h.engine.overview().unwrap(),
        Overview {
            not_enrolled: 3,
            pending: 0,
            enrolled: 1,
            locked: 0
        }
    );
}

#[test]
fn the_overview_counts_locked_users() {
    let h = Harness::with(|s| {
        s.max_consecutive_failures = 2;
        s.max_invalid_attempts = MaxInvalidAttempts::NoLimit;
    });
    let (secret, _) = h.enroll("alice");
    let c = h.challenge("alice");
    let bad = wrong_code(&secret, h.now());
    rejected(
        h.engine
            .verify(&c.session, Method::AuthenticatorApp, &bad)
            .unwrap(),
    );
    locked(
        h.engine
            .verify(&c.session, Method::AuthenticatorApp, &bad)
            .unwrap(),
    );
    assert_eq!(h.engine.overview().unwrap().locked, 1);
    let v = h.engine.user_view("alice").unwrap();
    assert!(v.locked && v.consecutive_failures == 2);
    h.engine.unlock("admin:root", "alice").unwrap();
    assert_eq!(h.engine.overview().unwrap().locked, 0);
    assert!(matches!(
        h.engine.unlock("admin:root", "nobody"),
        Err(Error::NotFound(_))
    ));
}

#[test]
fn regenerating_backup_codes_invalidates_the_old_batch() {
    //
    let h = Harness::new();
    let (_, old) = h.enroll("alice");
    let new = h.engine.regenerate_backup_codes("alice", "alice").unwrap();
    assert_eq!(new.len(), 10);
    assert!(new.iter().all(|c| !old.contains(c)));
    let c = h.challenge("alice");
    rejected(
        h.engine
            .verify(&c.session, Method::BackupCode, &Code::new(old[0].clone()))
            .unwrap(),
    );
    assert_accepted(
        h.engine
            .verify(&c.session, Method::BackupCode, &Code::new(new[0].clone()))
            .unwrap(),
        Method::BackupCode,
    );
    assert_eq!(h.audit("alice", "backup_codes.regenerate").len(), 1);
    // Not before enrollment.
    h.engine.begin(&attempt("bob")).unwrap();
    assert!(matches!(
        h.engine.regenerate_backup_codes("admin:root", "bob"),
        Err(Error::Invalid(_))
    ));
}

#[test]
fn a_settings_change_is_validated_as_a_whole_and_audited_with_old_and_new_values() {
    let h = Harness::new();
    let v = h.store.load_settings().unwrap();
    let mut bad = v.settings.clone();
    bad.methods.authenticator_app = false;
    bad.methods.backup_codes = false;
    let err = h
        .engine
        .update_settings("admin:root", bad, v.version)
        .unwrap_err()
        .to_string();
    assert!(err.contains("enabled, but no method is allowed"), "{err}");
    assert_eq!(h.store.load_settings().unwrap(), v, "nothing changed");
    let mut good = v.settings.clone();
    good.max_invalid_attempts = MaxInvalidAttempts::Ten;
    let nv = h
        .engine
        .update_settings("admin:root", good.clone(), v.version)
        .unwrap();
    assert!(nv > v.version);
    let ev = h
        .all_audit()
        .into_iter()
        .find(|e| e.event == "settings.change")
        .unwrap();
    assert_eq!(ev.actor, "admin:root");
    assert!(
        ev.detail
            .contains("-max_invalid_attempts = 3\n+max_invalid_attempts = 10"),
        "{}",
        ev.detail
    );
    // A stale version is a conflict and changes nothing.
    let mut other = good.clone();
    other.totp_window = 0;
    assert!(matches!(
        h.engine.update_settings("admin:root", other, v.version),
        Err(Error::Conflict(_))
    ));
    assert_eq!(h.store.load_settings().unwrap().settings, good);
    // The engine reads the new value at the next sign-in.
    h.enroll("zoe");
    assert_eq!(h.challenge("zoe").attempts_left, Some(10));
}

#[test]
fn phone_numbers_are_stored_in_e164_and_bad_ones_change_nothing() {
    let h = Harness::new();
    assert_eq!(
        h.engine
            .set_phone("admin:root", "alice", "+1 (415) 555-0100")
            .unwrap(),
        "+14155550100"
    );
    assert_eq!(
        h.store.get_user("alice").unwrap().unwrap().phone.as_deref(),
        Some("+14155550100")
    );
    let err = h
        .engine
        .set_phone("admin:root", "alice", "0151 2345678")
        .unwrap_err()
        .to_string();
    assert!(err.contains("international format"), "{err}");
    assert!(h.engine.set_phone("admin:root", "alice", "+1 555").is_err());
    assert_eq!(
        h.store.get_user("alice").unwrap().unwrap().phone.as_deref(),
        Some("+14155550100")
    );
    let ev = &h.audit("alice", "user.phone")[0];
    assert!(
        ev.detail.contains("+1 *** *** 0100") && !ev.detail.contains("4155550100"),
        "{}",
        ev.detail
    );
}

#[test]
fn email_addresses_are_checked_and_masked() {
    let h = Harness::new();
    assert_eq!(
        h.engine
            .set_email("alice", "alice", "alice@Example.org")
            .unwrap(),
        "alice@example.org"
    );
    assert!(matches!(
        h.engine.set_email("alice", "alice", "alice@"),
        Err(Error::Invalid(_))
    ));
    h.enroll("alice");
    let v = h.engine.user_view("alice").unwrap();
    assert_eq!(v.email_masked.as_deref(), Some("a***@example.org"));
    assert_eq!(v.phone_masked, None);
}

#[test]
fn a_default_method_must_be_allowed_and_usable() {
    let h = Harness::new();
    h.enroll("alice");
    let r = h.engine.set_default_method("alice", "alice", Method::Sms);
    assert!(
        matches!(&r, Err(Error::Invalid(m)) if m.contains("not an allowed method")),
        "{r:?}"
    );
    let r = h
        .engine
        .set_default_method("alice", "alice", Method::BackupCode);
    assert!(
        matches!(&r, Err(Error::Invalid(m)) if m.contains("recovery")),
        "{r:?}"
    );
    h.change(|s| s.methods.email = true);
    let r = h.engine.set_default_method("alice", "alice", Method::Email);
    assert!(
        matches!(&r, Err(Error::Invalid(m)) if m.contains("no email address")),
        "{r:?}"
    );
    h.engine
        .set_email("alice", "alice", "alice@example.com")
        .unwrap();
    h.engine
        .set_default_method("alice", "alice", Method::Email)
        .unwrap();
    let v = h.engine.user_view("alice").unwrap();
    assert_eq!(v.default_method, Method::Email);
    assert_eq!(
        v.methods,
        [Method::Email, Method::AuthenticatorApp, Method::BackupCode]
    );
    assert_eq!(h.challenge("alice").method, Method::Email);
}

#[test]
fn the_user_view_shows_state_counts_and_recent_sign_ins() {
    let h = Harness::new();
    h.enroll("alice");
    h.engine
        .set_phone("admin:root", "alice", "+44 20 7946 0958")
        .unwrap();
    let v = h.engine.user_view("alice").unwrap();
    assert_eq!(v.status, EnrollmentStatus::Enrolled);
    assert_eq!(v.backup_codes_left, 10);
    assert_eq!(v.phone_masked.as_deref(), Some("+44 *** *** 0958"));
    assert_eq!(v.recent[0].outcome, "success");
    assert_eq!(v.recent[1].outcome, "enroll");
    assert!(matches!(
        h.engine.user_view("nobody"),
        Err(Error::NotFound(_))
    ));
}

#[test]
fn after_a_reset_the_user_enrolls_again_even_from_a_known_address() {
    let h =
        Harness::with(|s| s.enforcement = twofold_core::settings::Enforcement::UnrecognizedDevices);
    h.enroll("alice");
    assert!(matches!(
        h.engine.begin(&attempt("alice")).unwrap(),
        PamReply::Allow { .. }
    ));
    h.engine.reset_enrollment("admin:root", "alice").unwrap();
    match h.engine.begin(&attempt("alice")).unwrap() {
        PamReply::Enroll(o) => assert!(o.required),
        other => panic!("expected enrollment, got {other:?}"),
    }
}
