//! Conformance cases: the combined reads of a sign-in step ([`Store::signin_facts`],
//! [`Store::verify_facts`]) give exactly what the single reads they stand for give.

use super::{T0, enrolled_user, h, new_user, session};
use crate::clock::UnixTime;
use crate::proto::Method;
use crate::settings::Settings;
use crate::store::{SignIn, SigninFacts, Store, VerifyFacts, rhost_window};

/// What [`Store::signin_facts`] must give, from the single reads (the default implementation).
fn signin_by_parts(
    store: &dyn Store,
    user: &str,
    rhost: Option<&str>,
    now: UnixTime,
) -> SigninFacts {
    let settings = store.load_settings().unwrap();
    let record = store.get_user(user).unwrap();
    let known = record.is_some();
    let rhost_seen = match rhost_window(&settings.settings, rhost, now) {
        Some((r, since, depth)) if known => store.rhost_seen(user, r, since, depth).unwrap(),
        _ => None,
    };
    SigninFacts {
        backup_codes_left: if known {
            store.backup_codes_left(user).unwrap()
        } else {
            0
        },
        settings,
        user: record,
        rhost_seen,
    }
}

/// What [`Store::verify_facts`] must give, from the single reads.
fn verify_by_parts(store: &dyn Store, id: &str) -> VerifyFacts {
    let s = store.get_session(id).unwrap();
    let user = s.as_ref().and_then(|s| store.get_user(&s.user).unwrap());
    VerifyFacts {
        backup_codes_left: user
            .as_ref()
            .map_or(0, |u| store.backup_codes_left(&u.name).unwrap()),
        settings: store.load_settings().unwrap(),
        session: s,
        user,
    }
}

fn success(store: &dyn Store, user: &str, rhost: &str, outcome: &str, at: UnixTime) {
    store
        .record_signin(&SignIn {
            user: user.into(),
            service: "sshd".into(),
            rhost: Some(rhost.into()),
            outcome: outcome.into(),
            reason: format!("{outcome} at {at}"),
            at,
        })
        .unwrap();
}

/// A user never seen has default settings, no record, no codes and no address history, even
/// when sign-ins under that name were recorded.
pub fn signin_facts_of_an_unknown_user_are_empty(store: &dyn Store) {
    success(store, "ghost", "192.0.2.1", "success", T0);
    let f = store
        .signin_facts("ghost", Some("192.0.2.1"), T0 + 10)
        .unwrap();
    assert_eq!(f.settings.version, 0);
    assert_eq!(f.settings.settings, Settings::default());
    assert_eq!(f.user, None);
    assert_eq!(f.backup_codes_left, 0);
    assert_eq!(f.rhost_seen, None);
    assert_eq!(
        f,
        signin_by_parts(store, "ghost", Some("192.0.2.1"), T0 + 10)
    );
}

/// Settings, user, unused backup codes and the address history window agree with the single
/// reads: only the `ip_history_depth` most recent distinct successful addresses, only after
/// `remember_days`, blank addresses never, a padded address trimmed.
pub fn signin_facts_agree_with_the_single_reads(store: &dyn Store) {
    enrolled_user(store, "alice", 1);
    new_user(store, "bob");
    store
        .replace_backup_codes("alice", &[h(1), h(2), h(3)], T0)
        .unwrap();
    assert!(store.consume_backup_code("alice", &h(2), T0).unwrap());
    let now = T0 + 100_000;
    success(store, "alice", "198.51.100.1", "success", T0 + 1_000);
    success(store, "alice", "198.51.100.2", "success", T0 + 20_000);
    success(store, "alice", "198.51.100.3", "success", T0 + 30_000);
    success(store, "alice", "198.51.100.4", "success", T0 + 40_000);
    success(store, "alice", "198.51.100.5", "failure", T0 + 50_000);
    success(store, "bob", "198.51.100.6", "success", T0 + 50_000);

    let mut s = Settings::default();
    s.device_recognition.remember_days = 1;
    s.device_recognition.ip_history_depth = 2;
    let v = store.save_settings(&s, 0).unwrap();
    let expect = [
        (Some("198.51.100.4"), Some(T0 + 40_000)),
        (Some("  198.51.100.3 "), Some(T0 + 30_000)),
        (Some("198.51.100.2"), None), // third most recent: outside the depth
        (Some("198.51.100.5"), None), // a failure
        (Some("198.51.100.6"), None), // another user's
        (Some("   "), None),
        (None, None),
    ];
    for (rhost, seen) in expect {
        let f = store.signin_facts("alice", rhost, now).unwrap();
        assert_eq!(f.rhost_seen, seen, "address {rhost:?}");
        assert_eq!(f.settings.version, v);
        assert_eq!(f.settings.settings, s);
        assert_eq!(f.user, store.get_user("alice").unwrap());
        assert_eq!(f.backup_codes_left, 2);
        assert_eq!(
            f,
            signin_by_parts(store, "alice", rhost, now),
            "address {rhost:?}"
        );
    }
    let bob = store
        .signin_facts("bob", Some("198.51.100.6"), now)
        .unwrap();
    assert_eq!(bob.rhost_seen, Some(T0 + 50_000));
    assert_eq!(bob.backup_codes_left, 0);
    assert_eq!(bob.user.map(|u| u.name), Some("bob".to_string()));

    // Deeper history, same window: the oldest success is before `since`.
    s.device_recognition.ip_history_depth = 10;
    store.save_settings(&s, v).unwrap();
    for (rhost, seen) in [("198.51.100.2", Some(T0 + 20_000)), ("198.51.100.1", None)] {
        let f = store.signin_facts("alice", Some(rhost), now).unwrap();
        assert_eq!(f.rhost_seen, seen, "address {rhost}");
        assert_eq!(f, signin_by_parts(store, "alice", Some(rhost), now));
    }
    // Depth 0: no address lookup at all.
    s.device_recognition.ip_history_depth = 0;
    store.save_settings(&s, v + 1).unwrap();
    let f = store
        .signin_facts("alice", Some("198.51.100.4"), now)
        .unwrap();
    assert_eq!(f.rhost_seen, None);
    assert_eq!(
        f,
        signin_by_parts(store, "alice", Some("198.51.100.4"), now)
    );
}

/// An unknown session gives no session and no user with the current settings; a session gives
/// itself, its user and that user's unused backup codes, open or ended.
pub fn verify_facts_agree_with_the_single_reads(store: &dyn Store) {
    let none = store.verify_facts("no-such-session").unwrap();
    assert_eq!(none.session, None);
    assert_eq!(none.user, None);
    assert_eq!(none.backup_codes_left, 0);
    assert_eq!(none.settings.version, 0);
    assert_eq!(none, verify_by_parts(store, "no-such-session"));

    let s = Settings {
        max_consecutive_failures: 7,
        ..Settings::default()
    };
    let v = store.save_settings(&s, 0).unwrap();
    enrolled_user(store, "alice", 1);
    new_user(store, "bob");
    store
        .replace_backup_codes("alice", &[h(1), h(2), h(3), h(4)], T0)
        .unwrap();
    assert!(store.consume_backup_code("alice", &h(4), T0).unwrap());
    store.replace_backup_codes("bob", &[h(9)], T0).unwrap();
    store.record_failure("alice").unwrap();
    let sess = session("s-alice", "alice", Method::BackupCode);
    store.create_session(&sess).unwrap();

    let f = store.verify_facts("s-alice").unwrap();
    assert_eq!(f.session.as_ref(), Some(&sess));
    assert_eq!(f.user, store.get_user("alice").unwrap());
    assert_eq!(f.user.as_ref().map(|u| u.consecutive_failures), Some(1));
    assert_eq!(f.backup_codes_left, 3);
    assert_eq!((f.settings.version, &f.settings.settings), (v, &s));
    assert_eq!(f, verify_by_parts(store, "s-alice"));

    store
        .end_session("s-alice", crate::store::SessionEnd::Locked)
        .unwrap();
    let ended = store.verify_facts("s-alice").unwrap();
    assert_eq!(
        ended.session.and_then(|s| s.ended),
        Some(crate::store::SessionEnd::Locked)
    );
    assert_eq!(ended.backup_codes_left, 3);
    assert_eq!(
        store.verify_facts("s-alice").unwrap(),
        verify_by_parts(store, "s-alice")
    );
}
