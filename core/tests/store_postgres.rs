//! The store conformance suite on a real PostgreSQL (127.0.0.1:5432, database `test`, or
//! `TWOFOLD_TEST_PG_URL`), each case in its own fresh schema; plus two nodes on one database,
//! outages (terminated backends, an unreachable server) and the durability check.
//!
//! When the server is not reachable every test prints `SKIPPED: PostgreSQL not reachable at ...`
//! and returns, unless `TWOFOLD_REQUIRE_PG=1`, which turns the skip into a failure (for CI).
#![cfg(feature = "postgres")]

mod pg_support;

use pg_support::{Proxy, admin, admin_one, pg_fixture, pg_options};
use std::time::{Duration, Instant};
use twofold_core::Error;
use twofold_core::store::Store;
use twofold_core::store::conformance::{T0, THREADS, enrolled_user, h, new_user, race};
use twofold_core::store::migrations::{POSTGRES, SCHEMA_VERSION, SQLITE};
use twofold_core::store::postgres::{PgOptions, PgStore};

twofold_core::store_conformance_tests!(pg_fixture());

#[test]
fn the_recorded_migrations_match_the_embedded_lists_of_both_backends() {
    let Some(fx) = pg_fixture() else { return };
    let rows = admin(&format!(
        "SELECT version::TEXT || ' ' || name FROM {}.twofold_schema ORDER BY version",
        fx.schema()
    ));
    let pg: Vec<String> = POSTGRES
        .iter()
        .map(|m| format!("{} {}", m.version, m.name))
        .collect();
    let sqlite: Vec<String> = SQLITE
        .iter()
        .map(|m| format!("{} {}", m.version, m.name))
        .collect();
    assert_eq!(rows, pg);
    assert_eq!(pg, sqlite);
    assert_eq!(fx.pg().schema_version().unwrap(), SCHEMA_VERSION);
}

#[test]
fn both_backends_have_the_same_tables_and_columns() {
    let Some(fx) = pg_fixture() else { return };
    let mut pg = admin(&format!(
        "SELECT table_name || '.' || column_name FROM information_schema.columns
         WHERE table_schema = '{}'",
        fx.schema()
    ));
    pg.sort();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    drop(twofold_core::store::sqlite::SqliteStore::open(&path).unwrap());
    let conn = rusqlite::Connection::open(&path).unwrap();
    let mut st = conn
        .prepare(
            "SELECT m.name || '.' || p.name FROM sqlite_master m, pragma_table_info(m.name) p
             WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'",
        )
        .unwrap();
    let mut sqlite: Vec<String> = st
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    sqlite.sort();
    assert!(pg.len() > 50, "{pg:?}");
    assert_eq!(pg, sqlite, "the migrations of the two backends differ");
}

#[test]
fn two_nodes_on_one_database_share_single_use_counters_sessions_and_settings() {
    let Some(fx) = pg_fixture() else { return };
    let a: &dyn Store = fx.pg();
    let b = PgStore::connect(pg_options(Some(fx.schema()))).unwrap();
    let b: &dyn Store = &b;

    // Settings saved through one node are what the other reads next.
    let s = twofold_core::settings::Settings {
        totp_issuer: "Node A".into(),
        ..Default::default()
    };
    assert_eq!(a.save_settings(&s, 0).unwrap(), 1);
    assert_eq!(b.load_settings().unwrap().settings.totp_issuer, "Node A");
    assert!(matches!(b.save_settings(&s, 0), Err(Error::Conflict(_))));

    // 32 presentations of one backup code and one TOTP step, spread over both nodes.
    enrolled_user(a, "alice", 100);
    a.replace_backup_codes("alice", &[h(1), h(2)], T0).unwrap();
    let node = |i: usize| if i.is_multiple_of(2) { a } else { b };
    let wins = race(THREADS, |i| {
        node(i).consume_backup_code("alice", &h(1), T0).unwrap()
    });
    assert_eq!(wins.iter().filter(|w| **w).count(), 1, "{wins:?}");
    let wins = race(THREADS, |i| {
        node(i).advance_totp_step("alice", 101).unwrap()
    });
    assert_eq!(wins.iter().filter(|w| **w).count(), 1, "{wins:?}");

    // Failure counters lose nothing across nodes.
    race(THREADS, |i| {
        for _ in 0..10 {
            node(i).record_failure("alice").unwrap();
        }
    });
    assert_eq!(
        b.get_user("alice").unwrap().unwrap().consecutive_failures,
        THREADS as u32 * 10
    );

    // A session opened through one node is counted and locked through the other.
    a.create_session(&twofold_core::store::conformance::session(
        "s1",
        "alice",
        twofold_core::proto::Method::AuthenticatorApp,
    ))
    .unwrap();
    b.session_invalid_attempt("s1", Some(2)).unwrap();
    assert!(a.session_invalid_attempt("s1", Some(2)).unwrap().locked);
    assert_eq!(
        b.get_session("s1").unwrap().unwrap().ended,
        Some(twofold_core::store::SessionEnd::Locked)
    );
}

#[test]
fn a_database_from_a_newer_schema_is_refused_by_name_and_left_unchanged() {
    let Some(fx) = pg_fixture() else { return };
    new_user(fx.pg(), "alice");
    let schema = fx.schema().to_string();
    admin(&format!(
        "INSERT INTO {schema}.twofold_schema (version, name) VALUES (99, '0099_future')"
    ));
    match PgStore::connect(pg_options(Some(&schema))) {
        Err(Error::SchemaTooNew {
            location,
            found,
            supported,
        }) => {
            assert!(location.contains("127.0.0.1"), "{location}");
            assert_eq!((found, supported), (99, SCHEMA_VERSION));
        }
        r => panic!("expected SchemaTooNew, got {r:?}"),
    }
    assert_eq!(
        admin(&format!(
            "SELECT count(*)::TEXT FROM {schema}.twofold_schema"
        )),
        [(SCHEMA_VERSION + 1).to_string()]
    );
    assert_eq!(
        admin(&format!("SELECT name FROM {schema}.users")),
        ["alice"]
    );
}

#[test]
fn a_client_registered_before_grant_types_were_stored_reads_as_both_grants() {
    if !pg_support::skip_unless_reachable() {
        return;
    }
    /// Drops the test's schema at the end, pass or fail.
    struct Schema(String);
    impl Drop for Schema {
        fn drop(&mut self) {
            let _ = std::panic::catch_unwind(|| {
                admin(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.0))
            });
        }
    }
    let rnd = twofold_core::clock::random_id(&twofold_core::clock::OsRng);
    let schema = Schema(format!(
        "twofold_test_{}_old_{}",
        std::process::id(),
        &rnd[..12]
    ));
    let s = &schema.0;
    // A schema at version 3, with a client row of that version.
    let mut sql = format!(
        "CREATE SCHEMA {s}; SET search_path TO {s};
         CREATE TABLE twofold_schema (version BIGINT PRIMARY KEY, name TEXT NOT NULL,
             applied_at TIMESTAMPTZ NOT NULL DEFAULT now());"
    );
    for m in &POSTGRES[..3] {
        sql.push_str(m.sql);
        sql.push_str(&format!(
            "\n; INSERT INTO twofold_schema (version, name) VALUES ({}, '{}');",
            m.version, m.name
        ));
    }
    sql.push_str(
        "INSERT INTO oidc_clients (client_id, name, secret_hash, redirect_uris,
             post_logout_redirect_uris, created_at)
         VALUES ('old', 'Old', NULL, '[\"https://old.example/cb\"]', '[]', 7);",
    );
    admin(&sql);
    let store = PgStore::connect(pg_options(Some(s))).unwrap();
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    let c = twofold_core::store::oidc::OidcStore::get_client(&store, "old")
        .unwrap()
        .expect("the old client");
    assert_eq!(c.grant_types, ["authorization_code", "refresh_token"]);
    assert_eq!(c.redirect_uris, ["https://old.example/cb"]);
}

#[test]
fn a_server_with_synchronous_commit_off_is_refused_unless_allowed() {
    let Some(fx) = pg_fixture() else { return };
    let base = pg_options(Some(fx.schema()));
    let sep = if base.url.contains('?') { '&' } else { '?' };
    let url = format!("{}{sep}options=-c%20synchronous_commit%3Doff", base.url);
    let off = PgOptions {
        url: url.clone(),
        ..base.clone()
    };
    match PgStore::connect(off) {
        Err(Error::Database { detail, .. }) => {
            assert!(detail.contains("synchronous_commit is off"), "{detail}")
        }
        r => panic!("expected a refusal, got {r:?}"),
    }
    let allowed = PgStore::connect(PgOptions {
        url,
        allow_async_commit: true,
        ..base
    })
    .unwrap();
    assert!(
        allowed.describe().contains("synchronous_commit=off"),
        "{}",
        allowed.describe()
    );
    let on = fx.pg();
    assert!(
        on.describe().contains("synchronous_commit=on"),
        "{}",
        on.describe()
    );
    assert_eq!(on.health().unwrap().synchronous_commit, "on");
}

#[test]
fn an_unreachable_server_is_unavailable_and_its_password_is_never_shown() {
    let mut o = PgOptions::new("postgresql://twofold:s3cretpw@127.0.0.1:1/test");
    o.connect_timeout = Duration::from_secs(2);
    let err = PgStore::connect(o.clone()).unwrap_err();
    assert!(matches!(err, Error::Unavailable(_)), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains("127.0.0.1:1"), "{msg}");
    assert!(!msg.contains("s3cretpw"), "{msg}");
    assert!(!format!("{o:?}").contains("s3cretpw"));
    assert!(matches!(
        PgStore::connect(PgOptions::new("postgresql://[bad")),
        Err(Error::Invalid(_))
    ));
    let bad_schema = PgOptions {
        schema: Some("Robert'); DROP TABLE users;--".into()),
        ..PgOptions::new("postgresql://postgres@127.0.0.1:1/test")
    };
    assert!(matches!(
        PgStore::connect(bad_schema),
        Err(Error::Invalid(_))
    ));
}

/// Backends blocked inside `consume_backup_code` are terminated with `pg_terminate_backend`:
/// those calls fail closed, change nothing, and the pool serves the next calls on new
/// connections; codes consumed before stay consumed.
#[test]
fn terminated_connections_fail_closed_then_the_pool_recovers_and_nothing_acknowledged_is_lost() {
    let Some(fx) = pg_fixture() else { return };
    let schema = fx.schema().to_string();
    let app = format!("t_{schema}");
    let store = PgStore::connect(PgOptions {
        pool_size: 4,
        application_name: app.clone(),
        ..pg_options(Some(&schema))
    })
    .unwrap();
    enrolled_user(&store, "alice", 1);
    let codes: Vec<[u8; 32]> = (0..40).map(h).collect();
    store.replace_backup_codes("alice", &codes, T0).unwrap();
    for i in 0..10 {
        assert!(store.consume_backup_code("alice", &h(i), T0).unwrap());
    }

    // Hold a lock so the next consumes are in flight when their backends are terminated.
    let locker = pg_support::Session::open();
    locker.exec(&format!(
        "BEGIN; LOCK TABLE {schema}.backup_codes IN ACCESS EXCLUSIVE MODE"
    ));
    let results = std::thread::scope(|s| {
        let handles: Vec<_> = (10..14u8)
            .map(|i| {
                let store = &store;
                s.spawn(move || store.consume_backup_code("alice", &h(i), T0))
            })
            .collect();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let waiting = admin_one(&format!(
                "SELECT count(*)::TEXT FROM pg_stat_activity
                 WHERE application_name = '{app}' AND wait_event_type = 'Lock'"
            ));
            if waiting == "4" {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the consumes never blocked ({waiting})"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        let killed = admin_one(&format!(
            "SELECT count(*)::TEXT FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity
             WHERE application_name = '{app}') t"
        ));
        assert_eq!(killed, "4");
        handles
            .into_iter()
            .map(|h| h.join().unwrap())
            .collect::<Vec<_>>()
    });
    locker.exec("ROLLBACK");
    for r in &results {
        assert!(
            matches!(r, Err(Error::Unavailable(_))),
            "fail closed: {r:?}"
        );
    }

    // The pool recovers by itself: at most a few more Unavailable, then success.
    let mut tries = 0;
    let left = loop {
        tries += 1;
        match store.backup_codes_left("alice") {
            Ok(n) => break n,
            Err(Error::Unavailable(_)) if tries < 10 => {}
            Err(e) => panic!("the store did not recover: {e}"),
        }
    };
    assert_eq!(left, 30, "the interrupted consumes changed nothing");
    for i in 0..10 {
        assert!(
            !store.consume_backup_code("alice", &h(i), T0).unwrap(),
            "code {i}"
        );
    }
    for i in 10..14 {
        assert!(
            store.consume_backup_code("alice", &h(i), T0).unwrap(),
            "code {i}"
        );
    }
}

/// The whole server disappears (a proxy in front of it drops every connection and refuses new
/// ones): calls fail closed with `Unavailable`; when it is back the store works again without a
/// restart, and what was acknowledged before the outage is still there.
#[test]
fn an_outage_fails_closed_and_the_store_reconnects_by_itself_when_the_server_is_back() {
    let Some(fx) = pg_fixture() else { return };
    let proxy = Proxy::start();
    let store = PgStore::connect(PgOptions {
        url: proxy.url(),
        pool_size: 2,
        connect_timeout: Duration::from_secs(2),
        op_timeout: Duration::from_secs(3),
        ..pg_options(Some(fx.schema()))
    })
    .unwrap();
    new_user(&store, "alice");
    store
        .replace_backup_codes("alice", &[h(1), h(2)], T0)
        .unwrap();
    assert!(store.consume_backup_code("alice", &h(1), T0).unwrap());

    proxy.set_up(false);
    for _ in 0..3 {
        match store.consume_backup_code("alice", &h(2), T0) {
            Err(Error::Unavailable(msg)) => assert!(msg.contains("PostgreSQL"), "{msg}"),
            r => panic!("expected Unavailable during the outage, got {r:?}"),
        }
    }
    proxy.set_up(true);
    let mut tries = 0;
    loop {
        tries += 1;
        match store.consume_backup_code("alice", &h(1), T0) {
            Ok(again) => {
                assert!(!again, "the code consumed before the outage stays consumed");
                break;
            }
            Err(Error::Unavailable(_)) if tries < 20 => {
                std::thread::sleep(Duration::from_millis(100))
            }
            Err(e) => panic!("the store did not recover: {e}"),
        }
    }
    assert!(store.consume_backup_code("alice", &h(2), T0).unwrap());
}
