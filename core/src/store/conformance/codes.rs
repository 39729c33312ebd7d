//! Conformance cases: backup codes and the consecutive-failure counter.

use super::{T0, h, new_user};
use crate::error::Error;
use crate::store::Store;

/// A code is spent by its first presentation; the second is refused; others stay usable.
pub fn a_backup_code_is_consumed_exactly_once(store: &dyn Store) {
    new_user(store, "alice");
    store
        .replace_backup_codes("alice", &[h(1), h(2), h(3)], T0)
        .unwrap();
    assert_eq!(store.backup_codes_left("alice").unwrap(), 3);
    assert!(store.consume_backup_code("alice", &h(2), T0 + 1).unwrap());
    assert!(!store.consume_backup_code("alice", &h(2), T0 + 2).unwrap());
    assert!(!store.consume_backup_code("alice", &h(9), T0 + 2).unwrap());
    assert_eq!(store.backup_codes_left("alice").unwrap(), 2);
    assert!(store.consume_backup_code("alice", &h(1), T0 + 3).unwrap());
    assert_eq!(store.backup_codes_left("alice").unwrap(), 1);
}

/// Replacing the batch makes every old code useless, used or not.
pub fn a_new_batch_of_backup_codes_invalidates_the_old_one(store: &dyn Store) {
    new_user(store, "alice");
    store
        .replace_backup_codes("alice", &[h(1), h(2)], T0)
        .unwrap();
    assert!(store.consume_backup_code("alice", &h(1), T0).unwrap());
    let batch: Vec<[u8; 32]> = (10..20).map(h).collect();
    store.replace_backup_codes("alice", &batch, T0 + 1).unwrap();
    assert_eq!(store.backup_codes_left("alice").unwrap(), 10);
    assert!(!store.consume_backup_code("alice", &h(2), T0 + 2).unwrap());
    assert!(store.consume_backup_code("alice", &h(15), T0 + 2).unwrap());
    store.replace_backup_codes("alice", &[], T0 + 3).unwrap();
    assert_eq!(store.backup_codes_left("alice").unwrap(), 0);
}

/// Codes are per user.
pub fn a_backup_code_of_one_user_is_refused_for_another(store: &dyn Store) {
    new_user(store, "alice");
    new_user(store, "bob");
    store.replace_backup_codes("alice", &[h(1)], T0).unwrap();
    store.replace_backup_codes("bob", &[h(2)], T0).unwrap();
    assert!(!store.consume_backup_code("bob", &h(1), T0).unwrap());
    assert!(store.consume_backup_code("alice", &h(1), T0).unwrap());
    assert_eq!(store.backup_codes_left("bob").unwrap(), 1);
}

/// A batch that repeats a hash is refused before anything changes.
pub fn a_batch_with_a_repeated_code_is_refused_and_changes_nothing(store: &dyn Store) {
    new_user(store, "alice");
    store
        .replace_backup_codes("alice", &[h(1), h(2)], T0)
        .unwrap();
    assert!(matches!(
        store.replace_backup_codes("alice", &[h(3), h(4), h(3)], T0),
        Err(Error::Invalid(_))
    ));
    assert_eq!(store.backup_codes_left("alice").unwrap(), 2);
    assert!(store.consume_backup_code("alice", &h(1), T0).unwrap());
}

/// Each failure adds one; clearing returns to zero; counts are per user.
pub fn failures_count_up_until_cleared(store: &dyn Store) {
    new_user(store, "alice");
    new_user(store, "bob");
    assert_eq!(store.record_failure("alice").unwrap(), 1);
    assert_eq!(store.record_failure("alice").unwrap(), 2);
    assert_eq!(store.record_failure("alice").unwrap(), 3);
    assert_eq!(store.record_failure("bob").unwrap(), 1);
    assert_eq!(
        store
            .get_user("alice")
            .unwrap()
            .unwrap()
            .consecutive_failures,
        3
    );
    store.clear_failures("alice").unwrap();
    assert_eq!(
        store
            .get_user("alice")
            .unwrap()
            .unwrap()
            .consecutive_failures,
        0
    );
    assert_eq!(store.record_failure("alice").unwrap(), 1);
    assert_eq!(
        store.get_user("bob").unwrap().unwrap().consecutive_failures,
        1
    );
}
