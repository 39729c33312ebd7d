//! Conformance cases: the versioned settings document.

use crate::error::Error;
use crate::settings::{MaxInvalidAttempts, ResendLimit, RoleSetting, Settings};
use crate::store::Store;

fn changed() -> Settings {
    let mut s = Settings {
        max_invalid_attempts: MaxInvalidAttempts::Five,
        resend_limit: ResendLimit::NoLimit,
        totp_issuer: "Example Corp".into(),
        ..Settings::default()
    };
    s.roles
        .insert("break-glass".into(), RoleSetting { exempt: true });
    s
}

/// Never saved: the defaults at version 0.
pub fn settings_start_as_defaults_with_version_zero(store: &dyn Store) {
    let v = store.load_settings().unwrap();
    assert_eq!(v.version, 0);
    assert_eq!(v.settings, Settings::default());
}

/// Each save returns the next version and the document reads back equal.
pub fn saved_settings_round_trip_with_increasing_versions(store: &dyn Store) {
    let s = changed();
    assert_eq!(store.save_settings(&s, 0).unwrap(), 1);
    let v = store.load_settings().unwrap();
    assert_eq!((v.version, &v.settings), (1, &s));

    let mut s2 = s.clone();
    s2.max_invalid_attempts = MaxInvalidAttempts::Ten;
    assert_eq!(store.save_settings(&s2, 1).unwrap(), 2);
    let v = store.load_settings().unwrap();
    assert_eq!((v.version, &v.settings), (2, &s2));
}

/// A save based on an old version loses: `Conflict`, and the stored document is untouched.
pub fn saving_settings_from_a_stale_version_is_a_conflict_that_changes_nothing(store: &dyn Store) {
    let s = changed();
    store.save_settings(&s, 0).unwrap();
    let other = Settings {
        totp_issuer: "Someone Else".into(),
        ..Settings::default()
    };
    for stale in [0, 2, 7] {
        match store.save_settings(&other, stale) {
            Err(Error::Conflict(msg)) => {
                assert!(
                    msg.contains("version 1"),
                    "message names the current version: {msg}"
                )
            }
            r => panic!("expected a conflict from version {stale}, got {r:?}"),
        }
    }
    let v = store.load_settings().unwrap();
    assert_eq!((v.version, &v.settings), (1, &s));
}

/// A document that fails validation is refused with the sysadmin's words; nothing is stored.
pub fn invalid_settings_are_refused_and_change_nothing(store: &dyn Store) {
    let mut bad = Settings::default();
    bad.methods.authenticator_app = false;
    bad.methods.sms = false;
    bad.methods.email = false;
    bad.methods.backup_codes = false;
    match store.save_settings(&bad, 0) {
        Err(Error::Invalid(msg)) => assert!(msg.contains("no method"), "{msg}"),
        r => panic!("expected Invalid, got {r:?}"),
    }
    assert!(matches!(
        store.save_settings(&Settings::default(), -1),
        Err(Error::Invalid(_))
    ));
    assert_eq!(store.load_settings().unwrap().version, 0);
}
