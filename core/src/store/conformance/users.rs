//! Conformance cases: users, enrollment states, the TOTP high-water mark, contact details.

use super::{T0, enrolled_user, h, new_user};
use crate::error::Error;
use crate::proto::Method;
use crate::store::{EnrollmentStatus, Store};

/// `get_user` is `None` until `ensure_user` creates a not-enrolled user.
pub fn an_unknown_user_is_absent_until_ensured(store: &dyn Store) {
    assert!(store.get_user("alice").unwrap().is_none());
    let u = store.ensure_user("alice", T0).unwrap();
    assert_eq!(u.name, "alice");
    assert_eq!(u.status, EnrollmentStatus::NotEnrolled);
    assert_eq!(u.totp_secret, None);
    assert_eq!(u.totp_last_step, None);
    assert_eq!(u.consecutive_failures, 0);
    assert_eq!(u.created_at, T0);
    assert_eq!(u.enrolled_at, None);
    assert_eq!(store.get_user("alice").unwrap(), Some(u));
}

/// A second `ensure_user` returns the existing record unchanged.
pub fn ensuring_a_user_twice_keeps_the_first_record(store: &dyn Store) {
    let first = enrolled_user(store, "alice", 5);
    let again = store.ensure_user("alice", T0 + 999).unwrap();
    assert_eq!(again, first);
    assert_eq!(again.created_at, T0);
    assert_eq!(store.list_users(None).unwrap().len(), 1);
}

/// Empty, over-long and control-character names are refused and create nothing.
pub fn a_bad_user_name_is_refused(store: &dyn Store) {
    let long = "a".repeat(257);
    for bad in ["", "al\nice", "bob\0", long.as_str()] {
        assert!(
            matches!(store.ensure_user(bad, T0), Err(Error::Invalid(_))),
            "{bad:?} must be refused"
        );
    }
    assert!(store.list_users(None).unwrap().is_empty());
}

/// `list_users` is ordered by name and filters by status.
pub fn users_are_listed_by_name_and_filtered_by_status(store: &dyn Store) {
    new_user(store, "carol");
    enrolled_user(store, "alice", 1);
    new_user(store, "bob");
    store.set_pending_secret("bob", b"k1:x", T0).unwrap();
    new_user(store, "dave");
    let names = |st: Option<EnrollmentStatus>| -> Vec<String> {
        store
            .list_users(st)
            .unwrap()
            .into_iter()
            .map(|u| u.name)
            .collect()
    };
    assert_eq!(names(None), ["alice", "bob", "carol", "dave"]);
    assert_eq!(
        names(Some(EnrollmentStatus::NotEnrolled)),
        ["carol", "dave"]
    );
    assert_eq!(names(Some(EnrollmentStatus::Pending)), ["bob"]);
    assert_eq!(names(Some(EnrollmentStatus::Enrolled)), ["alice"]);
}

/// The ciphertext is stored as given and the user becomes pending.
pub fn a_pending_secret_round_trips_and_makes_the_user_pending(store: &dyn Store) {
    new_user(store, "alice");
    let ct: Vec<u8> = (0u8..=255).collect();
    store.set_pending_secret("alice", &ct, T0 + 1).unwrap();
    let u = store.get_user("alice").unwrap().unwrap();
    assert_eq!(u.status, EnrollmentStatus::Pending);
    assert_eq!(u.totp_secret.as_deref(), Some(&ct[..]));
    assert_eq!(u.enrolled_at, None);
    assert!(matches!(
        store.set_pending_secret("alice", b"", T0),
        Err(Error::Invalid(_))
    ));
}

/// Issuing a new secret to a pending user replaces it; the high-water mark starts afresh.
pub fn a_new_pending_secret_replaces_the_earlier_one_and_its_high_water_mark(store: &dyn Store) {
    new_user(store, "alice");
    store.set_pending_secret("alice", b"k1:first", T0).unwrap();
    store.set_pending_secret("alice", b"k1:second", T0).unwrap();
    let u = store.get_user("alice").unwrap().unwrap();
    assert_eq!(u.totp_secret.as_deref(), Some(&b"k1:second"[..]));
    assert_eq!(u.totp_last_step, None);
}

/// An enrolled user keeps the secret: a new pending secret is a `Conflict` and changes nothing.
pub fn a_pending_secret_for_an_enrolled_user_is_a_conflict(store: &dyn Store) {
    let before = enrolled_user(store, "alice", 7);
    assert!(matches!(
        store.set_pending_secret("alice", b"k1:attacker", T0),
        Err(Error::Conflict(_))
    ));
    assert_eq!(store.get_user("alice").unwrap().unwrap(), before);
}

/// Only a pending user can be confirmed; confirmation records the step and the time.
pub fn confirming_enrollment_needs_a_pending_user_and_sets_the_high_water_mark(store: &dyn Store) {
    new_user(store, "alice");
    assert!(!store.confirm_enrollment("alice", 10, T0).unwrap());
    assert!(!store.confirm_enrollment("nobody", 10, T0).unwrap());
    store.set_pending_secret("alice", b"k1:x", T0).unwrap();
    assert!(store.confirm_enrollment("alice", 10, T0 + 5).unwrap());
    let u = store.get_user("alice").unwrap().unwrap();
    assert_eq!(u.status, EnrollmentStatus::Enrolled);
    assert_eq!(u.totp_last_step, Some(10));
    assert_eq!(u.enrolled_at, Some(T0 + 5));
    // Confirming twice does nothing: the step used to confirm is already spent.
    assert!(!store.confirm_enrollment("alice", 11, T0 + 6).unwrap());
    assert!(!store.advance_totp_step("alice", 10).unwrap());
}

/// The step that enrolled and every earlier one are refused; a later one wins once.
pub fn a_totp_step_is_accepted_once_and_no_earlier_step_ever_again(store: &dyn Store) {
    enrolled_user(store, "alice", 100);
    assert!(!store.advance_totp_step("alice", 99).unwrap(), "lower step");
    assert!(
        !store.advance_totp_step("alice", 100).unwrap(),
        "equal step"
    );
    assert!(store.advance_totp_step("alice", 101).unwrap());
    assert!(!store.advance_totp_step("alice", 101).unwrap(), "replay");
    assert!(store.advance_totp_step("alice", 105).unwrap(), "skip ahead");
    assert!(
        !store.advance_totp_step("alice", 104).unwrap(),
        "earlier than the mark"
    );
    assert_eq!(
        store.get_user("alice").unwrap().unwrap().totp_last_step,
        Some(105)
    );
}

/// Not enrolled or pending users, and unknown users, never win a step.
pub fn totp_steps_are_refused_for_users_not_enrolled(store: &dyn Store) {
    new_user(store, "alice");
    assert!(!store.advance_totp_step("alice", 1).unwrap());
    store.set_pending_secret("alice", b"k1:x", T0).unwrap();
    assert!(!store.advance_totp_step("alice", 1).unwrap());
    assert!(!store.advance_totp_step("nobody", 1).unwrap());
    assert_eq!(
        store.get_user("alice").unwrap().unwrap().totp_last_step,
        None
    );
}

/// Reset deletes the secret, the mark and every backup code; the user is not enrolled.
pub fn reset_deletes_the_secret_and_the_backup_codes(store: &dyn Store) {
    enrolled_user(store, "alice", 50);
    store
        .replace_backup_codes("alice", &[h(1), h(2), h(3)], T0)
        .unwrap();
    assert!(store.reset_enrollment("alice").unwrap());
    let u = store.get_user("alice").unwrap().unwrap();
    assert_eq!(u.status, EnrollmentStatus::NotEnrolled);
    assert_eq!(u.totp_secret, None);
    assert_eq!(u.totp_last_step, None);
    assert_eq!(u.enrolled_at, None);
    assert_eq!(store.backup_codes_left("alice").unwrap(), 0);
    assert!(!store.consume_backup_code("alice", &h(1), T0).unwrap());
    assert!(!store.reset_enrollment("nobody").unwrap());
    // Enrolling again works, and the old mark does not carry over.
    store.set_pending_secret("alice", b"k1:new", T0).unwrap();
    assert!(store.confirm_enrollment("alice", 3, T0).unwrap());
}

/// A store holds TOTP secrets from the first pending secret until the last one is reset.
pub fn holding_totp_secrets_follows_pending_secrets_and_resets(store: &dyn Store) {
    assert!(!store.holds_totp_secrets().unwrap());
    new_user(store, "alice");
    assert!(
        !store.holds_totp_secrets().unwrap(),
        "a user without a secret"
    );
    store
        .set_pending_secret("alice", b"k1:ciphertext", T0)
        .unwrap();
    assert!(store.holds_totp_secrets().unwrap(), "a pending secret");
    enrolled_user(store, "bob", 7);
    assert!(store.reset_enrollment("alice").unwrap());
    assert!(store.holds_totp_secrets().unwrap(), "bob is still enrolled");
    assert!(store.reset_enrollment("bob").unwrap());
    assert!(!store.holds_totp_secrets().unwrap());
}

/// `reset_pending` resets pending users only, returns their names sorted, and leaves others.
pub fn reset_pending_resets_only_pending_users(store: &dyn Store) {
    enrolled_user(store, "alice", 1);
    store.replace_backup_codes("alice", &[h(1)], T0).unwrap();
    for n in ["zed", "bob"] {
        new_user(store, n);
        store.set_pending_secret(n, b"k1:x", T0).unwrap();
    }
    new_user(store, "carol");
    assert_eq!(store.reset_pending().unwrap(), ["bob", "zed"]);
    for n in ["bob", "zed", "carol"] {
        let u = store.get_user(n).unwrap().unwrap();
        assert_eq!(u.status, EnrollmentStatus::NotEnrolled, "{n}");
        assert_eq!(u.totp_secret, None, "{n}");
    }
    let alice = store.get_user("alice").unwrap().unwrap();
    assert_eq!(alice.status, EnrollmentStatus::Enrolled);
    assert!(alice.totp_secret.is_some());
    assert_eq!(store.backup_codes_left("alice").unwrap(), 1);
    assert!(store.reset_pending().unwrap().is_empty());
}

/// Phone, email and default method are stored; `None` keeps the stored value.
pub fn contact_details_round_trip_and_none_leaves_a_field_as_it_is(store: &dyn Store) {
    new_user(store, "alice");
    store
        .set_contact("alice", Some("+15551234567"), None, Some(Method::Sms))
        .unwrap();
    store
        .set_contact("alice", None, Some("alice@example.com"), None)
        .unwrap();
    let u = store.get_user("alice").unwrap().unwrap();
    assert_eq!(u.phone.as_deref(), Some("+15551234567"));
    assert_eq!(u.email.as_deref(), Some("alice@example.com"));
    assert_eq!(u.default_method, Some(Method::Sms));
    store
        .set_contact("alice", None, None, Some(Method::Email))
        .unwrap();
    let u = store.get_user("alice").unwrap().unwrap();
    assert_eq!(u.default_method, Some(Method::Email));
    assert_eq!(u.phone.as_deref(), Some("+15551234567"));
    assert!(matches!(
        store.set_contact("alice", Some(" "), None, None),
        Err(Error::Invalid(_))
    ));
}

/// `clear_contact` clears phone or email alone; another field name is refused.
pub fn clearing_a_contact_field_clears_only_that_field(store: &dyn Store) {
    new_user(store, "alice");
    store
        .set_contact("alice", Some("+15551234567"), Some("a@example.com"), None)
        .unwrap();
    store.clear_contact("alice", "phone").unwrap();
    let u = store.get_user("alice").unwrap().unwrap();
    assert_eq!((u.phone, u.email.as_deref()), (None, Some("a@example.com")));
    store.clear_contact("alice", "email").unwrap();
    assert_eq!(store.get_user("alice").unwrap().unwrap().email, None);
    assert!(matches!(
        store.clear_contact("alice", "name"),
        Err(Error::Invalid(_))
    ));
}

/// The argon2id PHC string is stored as given.
pub fn a_password_hash_round_trips(store: &dyn Store) {
    new_user(store, "alice");
    let phc = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo";
    store.set_password_hash("alice", phc).unwrap();
    assert_eq!(
        store
            .get_user("alice")
            .unwrap()
            .unwrap()
            .password_hash
            .as_deref(),
        Some(phc)
    );
}

/// Every change addressed to an unknown user is `NotFound` and creates nobody.
pub fn changes_to_an_unknown_user_are_not_found(store: &dyn Store) {
    let nf = |r: crate::Result<()>, what: &str| {
        assert!(matches!(r, Err(Error::NotFound(_))), "{what}: {r:?}");
    };
    nf(
        store.set_pending_secret("ghost", b"k1:x", T0),
        "set_pending_secret",
    );
    nf(
        store.set_contact("ghost", Some("+15550000000"), None, None),
        "set_contact",
    );
    nf(store.clear_contact("ghost", "phone"), "clear_contact");
    nf(
        store.set_password_hash("ghost", "$argon2id$x"),
        "set_password_hash",
    );
    nf(
        store.replace_backup_codes("ghost", &[h(1)], T0),
        "replace_backup_codes",
    );
    nf(store.record_failure("ghost").map(|_| ()), "record_failure");
    nf(store.clear_failures("ghost"), "clear_failures");
    nf(store.add_device("ghost", &h(1), T0 + 10), "add_device");
    nf(store.forget_devices("ghost"), "forget_devices");
    assert!(store.list_users(None).unwrap().is_empty());
    assert!(!store.consume_backup_code("ghost", &h(1), T0).unwrap());
    assert_eq!(store.backup_codes_left("ghost").unwrap(), 0);
}
