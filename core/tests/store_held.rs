//! The store conformance suite through [`HeldSessions`] over a real SQLite file: sessions held
//! in memory must behave as the store's rows do, and everything else must reach the store.

use std::sync::Arc;
use twofold_core::store::Store;
use twofold_core::store::conformance::Fixture;
use twofold_core::store::held::HeldSessions;
use twofold_core::store::sqlite::SqliteStore;

fn held_fixture() -> Option<Fixture<tempfile::TempDir>> {
    let dir = tempfile::tempdir().expect("tempdir");
    let store: Arc<dyn Store> =
        Arc::new(SqliteStore::open(&dir.path().join("twofold.db")).expect("open"));
    Some(Fixture::new(Box::new(HeldSessions::new(store)), dir))
}

twofold_core::store_conformance_tests!(held_fixture());
