//! Tests of the SQLite OIDC store on a real database file.

use super::*;
use std::sync::{Arc, Barrier};

fn store() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let s = SqliteStore::open(&dir.path().join("t.db")).unwrap();
    (dir, s)
}

fn auth() -> AuthContext {
    AuthContext {
        user: "alice".into(),
        auth_time: 1_000,
        amr: vec!["pwd".into(), "otp".into(), "mfa".into()],
        acr: "urn:twofold:acr:2fa".into(),
    }
}

fn code(h: u8) -> AuthCode {
    AuthCode {
        hash: [h; 32],
        grant_id: format!("grant-{h}"),
        client_id: "app".into(),
        redirect_uri: "https://app.example/cb".into(),
        scope: "openid email".into(),
        nonce: Some("n-1".into()),
        code_challenge: None,
        auth: auth(),
        created_at: 1_000,
        expires_at: 1_060,
    }
}

fn refresh(h: u8, grant: &str) -> RefreshToken {
    RefreshToken {
        hash: [h; 32],
        grant_id: grant.into(),
        client_id: "app".into(),
        scope: "openid".into(),
        auth: auth(),
        created_at: 1_000,
        expires_at: 10_000,
    }
}

#[test]
fn a_client_round_trips_and_can_be_deleted() {
    let (_d, s) = store();
    let c = OidcClient {
        client_id: "app".into(),
        name: "App".into(),
        secret_hash: Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaA".into()),
        redirect_uris: vec!["https://app.example/cb".into()],
        post_logout_redirect_uris: vec!["https://app.example/".into()],
        grant_types: vec!["authorization_code".into()],
        created_at: 5,
    };
    s.put_client(&c).unwrap();
    assert_eq!(s.get_client("app").unwrap(), Some(c.clone()));
    assert_eq!(s.list_clients().unwrap(), vec![c]);
    assert!(s.delete_client("app").unwrap());
    assert!(!s.delete_client("app").unwrap());
    assert_eq!(s.get_client("app").unwrap(), None);
}

#[test]
fn a_client_registered_before_grant_types_were_stored_reads_as_both_grants() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    {
        // A database at schema version 3, with a client row of that schema.
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(
            "CREATE TABLE twofold_schema (version INTEGER PRIMARY KEY, name TEXT NOT NULL,
                 applied_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP)",
        )
        .unwrap();
        for m in &crate::store::migrations::SQLITE[..3] {
            conn.execute_batch(m.sql).unwrap();
            conn.execute(
                "INSERT INTO twofold_schema (version, name) VALUES (?1, ?2)",
                params![m.version, m.name],
            )
            .unwrap();
        }
        conn.pragma_update(None, "user_version", 3).unwrap();
        conn.execute(
            "INSERT INTO oidc_clients (client_id, name, secret_hash, redirect_uris,
                 post_logout_redirect_uris, created_at)
             VALUES ('old', 'Old', NULL, '[\"https://old.example/cb\"]', '[]', 7)",
            [],
        )
        .unwrap();
    }
    let s = SqliteStore::open(&path).unwrap();
    assert_eq!(
        s.schema_version().unwrap(),
        crate::store::migrations::SCHEMA_VERSION
    );
    let c = s.get_client("old").unwrap().expect("the old client");
    assert_eq!(c.grant_types, ["authorization_code", "refresh_token"]);
    assert_eq!(c.redirect_uris, ["https://old.example/cb"]);
}

#[test]
fn a_code_is_spent_once_and_a_replay_names_its_grant() {
    let (_d, s) = store();
    s.put_code(&code(1)).unwrap();
    match s.consume_code(&[1; 32], 1_010).unwrap() {
        CodeUse::Fresh(c) => assert_eq!(*c, code(1)),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        s.consume_code(&[1; 32], 1_011).unwrap(),
        CodeUse::Replayed {
            grant_id: "grant-1".into()
        }
    );
    assert_eq!(s.consume_code(&[9; 32], 1_011).unwrap(), CodeUse::Unknown);
}

#[test]
fn concurrent_redemptions_of_one_code_have_exactly_one_winner() {
    let (_d, s) = store();
    s.put_code(&code(2)).unwrap();
    let s = Arc::new(s);
    let n = 16;
    let barrier = Arc::new(Barrier::new(n));
    let handles: Vec<_> = (0..n)
        .map(|_| {
            let s = s.clone();
            let b = barrier.clone();
            std::thread::spawn(move || {
                b.wait();
                s.consume_code(&[2; 32], 1_010).unwrap()
            })
        })
        .collect();
    let results: Vec<CodeUse> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let fresh = results
        .iter()
        .filter(|r| matches!(r, CodeUse::Fresh(_)))
        .count();
    let replayed = results
        .iter()
        .filter(|r| matches!(r, CodeUse::Replayed { .. }))
        .count();
    assert_eq!((fresh, replayed), (1, n - 1));
}

#[test]
fn a_refresh_token_rotates_once_and_reuse_is_detected() {
    let (_d, s) = store();
    s.put_refresh_token(&refresh(3, "g3")).unwrap();
    let mut mk = |old: &RefreshToken| RefreshToken {
        hash: [4; 32],
        created_at: 1_100,
        ..old.clone()
    };
    match s
        .rotate_refresh_token(&[3; 32], "app", 1_100, &mut mk)
        .unwrap()
    {
        RefreshUse::Rotated(t) => assert_eq!(t.hash, [4; 32]),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        s.rotate_refresh_token(&[3; 32], "app", 1_101, &mut mk)
            .unwrap(),
        RefreshUse::Reused {
            grant_id: "g3".into()
        }
    );
    // The successor works until the grant is revoked.
    s.revoke_grant("g3", 1_102).unwrap();
    let mut mk5 = |old: &RefreshToken| RefreshToken {
        hash: [5; 32],
        ..old.clone()
    };
    assert_eq!(
        s.rotate_refresh_token(&[4; 32], "app", 1_103, &mut mk5)
            .unwrap(),
        RefreshUse::Reused {
            grant_id: "g3".into()
        }
    );
}

#[test]
fn a_refresh_token_of_another_client_is_unknown_and_untouched() {
    let (_d, s) = store();
    s.put_refresh_token(&refresh(6, "g6")).unwrap();
    let mut mk = |old: &RefreshToken| RefreshToken {
        hash: [7; 32],
        ..old.clone()
    };
    assert_eq!(
        s.rotate_refresh_token(&[6; 32], "other", 1_100, &mut mk)
            .unwrap(),
        RefreshUse::Unknown
    );
    assert!(matches!(
        s.rotate_refresh_token(&[6; 32], "app", 1_100, &mut mk)
            .unwrap(),
        RefreshUse::Rotated(_)
    ));
}

#[test]
fn an_expired_refresh_token_is_spent_and_refused() {
    let (_d, s) = store();
    s.put_refresh_token(&refresh(8, "g8")).unwrap();
    let mut mk = |old: &RefreshToken| old.clone();
    assert_eq!(
        s.rotate_refresh_token(&[8; 32], "app", 10_000, &mut mk)
            .unwrap(),
        RefreshUse::Expired
    );
}

#[test]
fn revoking_a_grant_kills_its_access_tokens() {
    let (_d, s) = store();
    let t = AccessToken {
        hash: [10; 32],
        grant_id: "g10".into(),
        client_id: "app".into(),
        scope: "openid".into(),
        user: "alice".into(),
        expires_at: 5_000,
    };
    s.put_access_token(&t).unwrap();
    assert_eq!(s.get_access_token(&[10; 32], 1_000).unwrap(), Some(t));
    assert_eq!(s.get_access_token(&[10; 32], 5_000).unwrap(), None);
    s.revoke_grant("g10", 1_001).unwrap();
    assert_eq!(s.get_access_token(&[10; 32], 1_000).unwrap(), None);
}

#[test]
fn web_sessions_expire_and_are_deleted_per_user() {
    let (_d, s) = store();
    let w = WebSession {
        hash: [11; 32],
        user: Some("alice".into()),
        data: "{}".into(),
        created_at: 1,
        expires_at: 100,
    };
    s.put_web_session(&w).unwrap();
    assert_eq!(s.get_web_session(&[11; 32], 50).unwrap(), Some(w.clone()));
    assert_eq!(s.get_web_session(&[11; 32], 100).unwrap(), None);
    assert_eq!(s.delete_user_web_sessions("alice").unwrap(), 1);
    assert_eq!(s.get_web_session(&[11; 32], 50).unwrap(), None);
    s.put_web_session(&w).unwrap();
    assert!(s.delete_web_session(&[11; 32]).unwrap());
    assert!(!s.delete_web_session(&[11; 32]).unwrap());
}

#[test]
fn signing_keys_are_listed_oldest_first_and_retire() {
    let (_d, s) = store();
    for (kid, at) in [("b", 20), ("a", 10)] {
        s.put_signing_key(&SigningKey {
            kid: kid.into(),
            alg: "RS256".into(),
            private_key: vec![1, 2, 3],
            created_at: at,
            activates_at: at,
            retires_at: None,
        })
        .unwrap();
    }
    let kids: Vec<String> = s
        .list_signing_keys()
        .unwrap()
        .into_iter()
        .map(|k| k.kid)
        .collect();
    assert_eq!(kids, ["a", "b"]);
    s.retire_signing_key("a", 30).unwrap();
    assert!(s.retire_signing_key("zzz", 30).is_err());
    assert_eq!(s.purge_expired(31).unwrap(), 1);
    assert_eq!(s.list_signing_keys().unwrap().len(), 1);
}

#[test]
fn purging_keeps_spent_codes_for_an_hour_past_expiry() {
    let (_d, s) = store();
    s.put_code(&code(12)).unwrap();
    let _ = s.consume_code(&[12; 32], 1_010).unwrap();
    s.purge_expired(1_061).unwrap();
    assert!(matches!(
        s.consume_code(&[12; 32], 1_062).unwrap(),
        CodeUse::Replayed { .. }
    ));
    s.purge_expired(1_060 + 3_600).unwrap();
    assert_eq!(s.consume_code(&[12; 32], 5_000).unwrap(), CodeUse::Unknown);
}

#[test]
fn tokens_and_a_session_replacement_are_written_together() {
    let (_d, s) = store();
    let at = AccessToken {
        hash: [20; 32],
        grant_id: "g20".into(),
        client_id: "app".into(),
        scope: "openid".into(),
        user: "alice".into(),
        expires_at: 5_000,
    };
    s.put_tokens(&at, Some(&refresh(21, "g20"))).unwrap();
    assert!(s.get_access_token(&[20; 32], 1).unwrap().is_some());
    let mut mk = |old: &RefreshToken| RefreshToken {
        hash: [24; 32],
        ..old.clone()
    };
    assert!(matches!(
        s.rotate_refresh_token(&[21; 32], "app", 1_100, &mut mk)
            .unwrap(),
        RefreshUse::Rotated(_)
    ));
    let old = WebSession {
        hash: [22; 32],
        user: None,
        data: "{}".into(),
        created_at: 1,
        expires_at: 100,
    };
    s.put_web_session(&old).unwrap();
    let new = WebSession {
        hash: [23; 32],
        user: Some("alice".into()),
        ..old.clone()
    };
    s.replace_web_session(Some(&[22; 32]), &new).unwrap();
    assert_eq!(s.get_web_session(&[22; 32], 50).unwrap(), None);
    assert_eq!(s.get_web_session(&[23; 32], 50).unwrap(), Some(new));
}

#[test]
fn a_lazy_web_session_leaves_every_connection_at_synchronous_full() {
    let (_dir, s) = store();
    for n in 0..8u8 {
        let w = WebSession {
            hash: [n; 32],
            user: None,
            data: "{}".into(),
            created_at: 1,
            expires_at: 100,
        };
        s.replace_web_session_with(None, &w, Commit::Lazy).unwrap();
    }
    for p in s.connection_pragmas().unwrap() {
        assert_eq!(p.synchronous, 2, "{p:?}");
    }
}
