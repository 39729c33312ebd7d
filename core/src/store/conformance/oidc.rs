//! Conformance cases: the OpenID Connect half ([`OidcStore`]): clients, single-use
//! authorization codes, rotating refresh tokens with reuse detection, revocation, web sessions,
//! signing keys and purging; and 32 simultaneous redemptions of one code or one refresh token.

use super::{THREADS, h, race};
use crate::store::oidc::{
    AccessToken, AuthCode, AuthContext, CodeUse, IssuedTokens, OidcClient, OidcStore, RefreshToken,
    RefreshUse, SigningKey, WebSession,
};
use crate::store::{AuditEvent, AuditFilter, Commit, Store, Write};

fn o(store: &dyn Store) -> &dyn OidcStore {
    store
        .oidc()
        .expect("this backend must keep the OpenID Connect half")
}

fn auth(user: &str) -> AuthContext {
    AuthContext {
        user: user.into(),
        auth_time: 1_000,
        amr: vec!["pwd".into(), "otp".into(), "mfa".into()],
        acr: "urn:twofold:acr:2fa".into(),
    }
}

fn code(n: u8) -> AuthCode {
    AuthCode {
        hash: h(n),
        grant_id: format!("grant-{n}"),
        client_id: "app".into(),
        redirect_uri: "https://app.example/cb".into(),
        scope: "openid email".into(),
        nonce: Some("n-1".into()),
        code_challenge: Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into()),
        auth: auth("alice"),
        created_at: 1_000,
        expires_at: 1_060,
    }
}

fn refresh(n: u8, grant: &str, user: &str) -> RefreshToken {
    RefreshToken {
        hash: h(n),
        grant_id: grant.into(),
        client_id: "app".into(),
        scope: "openid".into(),
        auth: auth(user),
        created_at: 1_000,
        expires_at: 10_000,
    }
}

fn access(n: u8, grant: &str, user: &str) -> AccessToken {
    AccessToken {
        hash: h(n),
        grant_id: grant.into(),
        client_id: "app".into(),
        scope: "openid".into(),
        user: user.into(),
        expires_at: 5_000,
    }
}

/// A successor built from the spent token, with hash `n`.
fn successor(n: u8) -> impl FnMut(&RefreshToken) -> RefreshToken {
    move |old: &RefreshToken| RefreshToken {
        hash: h(n),
        created_at: 1_100,
        ..old.clone()
    }
}

/// Clients round-trip, are replaced whole, listed by id, and deleted with their codes and tokens.
pub fn a_client_round_trips_and_is_deleted_with_its_tokens(store: &dyn Store) {
    let s = o(store);
    let mut c = OidcClient {
        client_id: "app".into(),
        name: "App".into(),
        secret_hash: Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaA".into()),
        redirect_uris: vec!["https://app.example/cb".into()],
        post_logout_redirect_uris: vec!["https://app.example/".into()],
        grant_types: vec!["authorization_code".into(), "refresh_token".into()],
        created_at: 5,
    };
    s.put_client(&c).unwrap();
    assert_eq!(s.get_client("app").unwrap(), Some(c.clone()));
    c.name = "App 2".into();
    c.secret_hash = None;
    s.put_client(&c).unwrap();
    let other = OidcClient {
        client_id: "Zed".into(),
        ..c.clone()
    };
    s.put_client(&other).unwrap();
    assert_eq!(s.list_clients().unwrap(), vec![other, c.clone()]);
    s.put_code(&code(1)).unwrap();
    s.put_access_token(&access(2, "g", "alice")).unwrap();
    assert!(s.delete_client("app").unwrap());
    assert!(!s.delete_client("app").unwrap());
    assert_eq!(s.get_client("app").unwrap(), None);
    assert_eq!(s.consume_code(&h(1), 1_010).unwrap(), CodeUse::Unknown);
    assert_eq!(s.get_access_token(&h(2), 1_010).unwrap(), None);
}

/// A client's grant types round-trip (only `authorization_code`, or both), through a replace
/// and the list; grant types `check_grant_types` refuses are refused by name and store nothing.
pub fn a_clients_grant_types_round_trip_and_bad_ones_are_refused(store: &dyn Store) {
    let s = o(store);
    let mut c = OidcClient {
        client_id: "web".into(),
        name: "Web".into(),
        secret_hash: None,
        redirect_uris: vec!["https://web.example/cb".into()],
        post_logout_redirect_uris: vec![],
        grant_types: vec!["authorization_code".into()],
        created_at: 5,
    };
    s.put_client(&c).unwrap();
    let got = s.get_client("web").unwrap().unwrap();
    assert_eq!(got.grant_types, ["authorization_code"]);
    assert!(got.allows_grant("authorization_code") && !got.allows_grant("refresh_token"));
    assert_eq!(s.list_clients().unwrap(), vec![c.clone()]);
    c.grant_types = vec!["refresh_token".into(), "authorization_code".into()];
    s.put_client(&c).unwrap();
    assert_eq!(s.get_client("web").unwrap(), Some(c.clone()));
    c.grant_types = vec!["authorization_code".into()];
    s.put_client(&c).unwrap();
    assert_eq!(s.get_client("web").unwrap(), Some(c.clone()));
    for (bad, named) in [
        (vec![], "empty"),
        (vec!["authorization_code", "password"], "\"password\""),
        (
            vec!["authorization_code", "refresh_token", "refresh_token"],
            "\"refresh_token\" is listed twice",
        ),
        (vec!["refresh_token"], "\"authorization_code\""),
    ] {
        let grant_types: Vec<String> = bad.iter().map(|g| g.to_string()).collect();
        for id in ["web", "new"] {
            let wrong = OidcClient {
                client_id: id.into(),
                grant_types: grant_types.clone(),
                ..c.clone()
            };
            match s.put_client(&wrong) {
                Err(crate::Error::Invalid(m)) => {
                    assert!(
                        m.contains(named) && m.contains("grant_types"),
                        "{bad:?}: {m}"
                    )
                }
                other => panic!("{bad:?} for {id}: expected Invalid, got {other:?}"),
            }
        }
        assert_eq!(s.get_client("web").unwrap(), Some(c.clone()), "{bad:?}");
        assert_eq!(s.get_client("new").unwrap(), None, "{bad:?}");
    }
}

/// A code is spent by its first presentation; a replay names its grant; an unknown is unknown.
pub fn an_authorization_code_is_spent_once_and_a_replay_names_its_grant(store: &dyn Store) {
    let s = o(store);
    s.put_code(&code(1)).unwrap();
    assert!(s.put_code(&code(1)).is_err(), "a code hash is unique");
    match s.consume_code(&h(1), 1_010).unwrap() {
        CodeUse::Fresh(c) => assert_eq!(*c, code(1)),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        s.consume_code(&h(1), 1_011).unwrap(),
        CodeUse::Replayed {
            grant_id: "grant-1".into()
        }
    );
    assert_eq!(s.consume_code(&h(9), 1_011).unwrap(), CodeUse::Unknown);
}

/// One authorization code, 32 simultaneous redemptions: exactly one `Fresh`.
pub fn thirty_two_threads_redeeming_one_authorization_code_give_exactly_one_success(
    store: &dyn Store,
) {
    let s = o(store);
    s.put_code(&code(2)).unwrap();
    let out = race(THREADS, |_| s.consume_code(&h(2), 1_010).unwrap());
    let fresh = out
        .iter()
        .filter(|r| matches!(r, CodeUse::Fresh(_)))
        .count();
    let replayed = out
        .iter()
        .filter(|r| matches!(r, CodeUse::Replayed { .. }))
        .count();
    assert_eq!((fresh, replayed), (1, THREADS - 1), "{out:?}");
}

/// A refresh token rotates once; presenting it again is reuse; a revoked grant's successor too.
pub fn a_refresh_token_rotates_once_and_reuse_is_detected(store: &dyn Store) {
    let s = o(store);
    s.put_refresh_token(&refresh(3, "g3", "alice")).unwrap();
    match s
        .rotate_refresh_token(&h(3), "app", 1_100, &mut successor(4))
        .unwrap()
    {
        RefreshUse::Rotated(t) => {
            assert_eq!(t.hash, h(4));
            assert_eq!((t.grant_id.as_str(), t.created_at), ("g3", 1_100));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        s.rotate_refresh_token(&h(3), "app", 1_101, &mut successor(5))
            .unwrap(),
        RefreshUse::Reused {
            grant_id: "g3".into()
        }
    );
    s.revoke_grant("g3", 1_102).unwrap();
    assert_eq!(
        s.rotate_refresh_token(&h(4), "app", 1_103, &mut successor(5))
            .unwrap(),
        RefreshUse::Reused {
            grant_id: "g3".into()
        }
    );
    assert_eq!(
        s.rotate_refresh_token(&h(99), "app", 1_103, &mut successor(5))
            .unwrap(),
        RefreshUse::Unknown
    );
}

/// One refresh token, 32 simultaneous rotations: exactly one successor, the rest see reuse.
pub fn thirty_two_threads_rotating_one_refresh_token_give_exactly_one_successor(store: &dyn Store) {
    let s = o(store);
    s.put_refresh_token(&refresh(3, "g3", "alice")).unwrap();
    let out = race(THREADS, |i| {
        let n = 100 + u8::try_from(i).unwrap_or(0);
        s.rotate_refresh_token(&h(3), "app", 1_100, &mut successor(n))
            .unwrap()
    });
    let winners: Vec<&RefreshToken> = out
        .iter()
        .filter_map(|r| match r {
            RefreshUse::Rotated(t) => Some(&**t),
            _ => None,
        })
        .collect();
    assert_eq!(winners.len(), 1, "{out:?}");
    let reused = out
        .iter()
        .filter(|r| matches!(r, RefreshUse::Reused { .. }))
        .count();
    assert_eq!(reused, THREADS - 1);
    // Only the winner's successor exists: it rotates; a loser's would-be successor is unknown.
    let won = winners[0].hash;
    let lost = if won == h(100) { h(101) } else { h(100) };
    assert_eq!(
        s.rotate_refresh_token(&lost, "app", 1_200, &mut successor(200))
            .unwrap(),
        RefreshUse::Unknown
    );
    assert!(matches!(
        s.rotate_refresh_token(&won, "app", 1_200, &mut successor(201))
            .unwrap(),
        RefreshUse::Rotated(_)
    ));
}

/// A token presented by another client is unknown and stays usable by its own.
pub fn a_refresh_token_of_another_client_is_unknown_and_untouched(store: &dyn Store) {
    let s = o(store);
    s.put_refresh_token(&refresh(6, "g6", "alice")).unwrap();
    assert_eq!(
        s.rotate_refresh_token(&h(6), "other", 1_100, &mut successor(7))
            .unwrap(),
        RefreshUse::Unknown
    );
    assert!(matches!(
        s.rotate_refresh_token(&h(6), "app", 1_100, &mut successor(7))
            .unwrap(),
        RefreshUse::Rotated(_)
    ));
}

/// An expired refresh token is spent and refused; presenting it again is reuse.
pub fn an_expired_refresh_token_is_spent_and_refused(store: &dyn Store) {
    let s = o(store);
    s.put_refresh_token(&refresh(8, "g8", "alice")).unwrap();
    assert_eq!(
        s.rotate_refresh_token(&h(8), "app", 10_000, &mut successor(9))
            .unwrap(),
        RefreshUse::Expired
    );
    assert_eq!(
        s.rotate_refresh_token(&h(8), "app", 10_001, &mut successor(9))
            .unwrap(),
        RefreshUse::Reused {
            grant_id: "g8".into()
        }
    );
}

/// Revoking a grant kills its access and refresh tokens and nobody else's; access tokens expire.
pub fn revoking_a_grant_kills_only_its_tokens(store: &dyn Store) {
    let s = o(store);
    s.put_access_token(&access(10, "g10", "alice")).unwrap();
    s.put_access_token(&access(11, "g11", "alice")).unwrap();
    s.put_refresh_token(&refresh(12, "g10", "alice")).unwrap();
    assert_eq!(
        s.get_access_token(&h(10), 1_000).unwrap(),
        Some(access(10, "g10", "alice"))
    );
    assert_eq!(s.get_access_token(&h(10), 5_000).unwrap(), None);
    s.revoke_grant("g10", 1_001).unwrap();
    assert_eq!(s.get_access_token(&h(10), 1_000).unwrap(), None);
    assert!(s.get_access_token(&h(11), 1_000).unwrap().is_some());
    assert_eq!(
        s.rotate_refresh_token(&h(12), "app", 1_002, &mut successor(13))
            .unwrap(),
        RefreshUse::Reused {
            grant_id: "g10".into()
        }
    );
}

/// Revoking a user's tokens leaves other users' tokens alone.
pub fn revoking_a_users_tokens_leaves_other_users_alone(store: &dyn Store) {
    let s = o(store);
    s.put_access_token(&access(20, "ga", "alice")).unwrap();
    s.put_access_token(&access(21, "gb", "bob")).unwrap();
    s.put_refresh_token(&refresh(22, "ga", "alice")).unwrap();
    s.put_refresh_token(&refresh(23, "gb", "bob")).unwrap();
    s.revoke_user_tokens("alice", 1_001).unwrap();
    assert_eq!(s.get_access_token(&h(20), 1_000).unwrap(), None);
    assert!(s.get_access_token(&h(21), 1_000).unwrap().is_some());
    assert!(matches!(
        s.rotate_refresh_token(&h(22), "app", 1_002, &mut successor(24))
            .unwrap(),
        RefreshUse::Reused { .. }
    ));
    assert!(matches!(
        s.rotate_refresh_token(&h(23), "app", 1_002, &mut successor(25))
            .unwrap(),
        RefreshUse::Rotated(_)
    ));
}

/// Web sessions are replaced by hash, expire, and are deleted one by one or per user.
pub fn web_sessions_are_replaced_expire_and_are_deleted_per_user(store: &dyn Store) {
    let s = o(store);
    let mut w = WebSession {
        hash: h(30),
        user: None,
        data: "{\"csrf\":\"x\"}".into(),
        created_at: 1,
        expires_at: 100,
    };
    s.put_web_session(&w).unwrap();
    w.user = Some("alice".into());
    w.data = "{\"csrf\":\"y\"}".into();
    s.put_web_session(&w).unwrap();
    assert_eq!(s.get_web_session(&h(30), 50).unwrap(), Some(w.clone()));
    assert_eq!(s.get_web_session(&h(30), 100).unwrap(), None);
    let bob = WebSession {
        hash: h(31),
        user: Some("bob".into()),
        ..w.clone()
    };
    s.put_web_session(&bob).unwrap();
    assert_eq!(s.delete_user_web_sessions("alice").unwrap(), 1);
    assert_eq!(s.get_web_session(&h(30), 50).unwrap(), None);
    assert_eq!(s.get_web_session(&h(31), 50).unwrap(), Some(bob));
    assert!(s.delete_web_session(&h(31)).unwrap());
    assert!(!s.delete_web_session(&h(31)).unwrap());
}

/// Signing keys are listed oldest first, retire, and are purged after retirement.
pub fn signing_keys_are_listed_oldest_first_and_retire(store: &dyn Store) {
    let s = o(store);
    for (kid, at) in [("b", 20), ("a", 10), ("c", 20)] {
        s.put_signing_key(&SigningKey {
            kid: kid.into(),
            alg: "RS256".into(),
            private_key: vec![1, 2, 3],
            created_at: at,
            activates_at: at + 5,
            retires_at: None,
        })
        .unwrap();
    }
    let keys = s.list_signing_keys().unwrap();
    let kids: Vec<&str> = keys.iter().map(|k| k.kid.as_str()).collect();
    assert_eq!(kids, ["a", "b", "c"]);
    assert_eq!((keys[0].activates_at, keys[0].private_key.len()), (15, 3));
    s.retire_signing_key("a", 30).unwrap();
    assert!(matches!(
        s.retire_signing_key("zzz", 30),
        Err(crate::Error::NotFound(_))
    ));
    assert_eq!(s.list_signing_keys().unwrap()[0].retires_at, Some(30));
    assert_eq!(s.purge_expired(31).unwrap(), 1);
    assert_eq!(s.list_signing_keys().unwrap().len(), 2);
}

/// Purging removes what expired, but keeps spent codes an hour so a late replay is recognized.
pub fn purging_keeps_spent_codes_for_an_hour_past_expiry(store: &dyn Store) {
    let s = o(store);
    s.put_code(&code(12)).unwrap();
    let _ = s.consume_code(&h(12), 1_010).unwrap();
    s.put_access_token(&access(13, "g", "alice")).unwrap();
    assert_eq!(s.purge_expired(1_061).unwrap(), 0);
    assert!(matches!(
        s.consume_code(&h(12), 1_062).unwrap(),
        CodeUse::Replayed { .. }
    ));
    assert_eq!(s.purge_expired(1_060 + 3_599).unwrap(), 0);
    assert!(matches!(
        s.consume_code(&h(12), 4_659).unwrap(),
        CodeUse::Replayed { .. }
    ));
    assert_eq!(
        s.purge_expired(5_000).unwrap(),
        2,
        "the code and the access token"
    );
    assert_eq!(s.consume_code(&h(12), 5_000).unwrap(), CodeUse::Unknown);
}

/// An access token and its grant's first refresh token are stored together, or neither.
pub fn an_access_and_a_refresh_token_are_stored_together_or_not_at_all(store: &dyn Store) {
    let s = o(store);
    s.put_tokens(
        &access(40, "g40", "alice"),
        Some(&refresh(41, "g40", "alice")),
    )
    .unwrap();
    assert!(s.get_access_token(&h(40), 1_000).unwrap().is_some());
    assert!(matches!(
        s.rotate_refresh_token(&h(41), "app", 1_100, &mut successor(42))
            .unwrap(),
        RefreshUse::Rotated(_)
    ));
    // A refresh token whose hash is taken fails the pair: the new access token is not kept.
    assert!(
        s.put_tokens(
            &access(43, "g43", "alice"),
            Some(&refresh(41, "g43", "alice"))
        )
        .is_err()
    );
    assert_eq!(s.get_access_token(&h(43), 1_000).unwrap(), None);
    s.put_tokens(&access(44, "g44", "bob"), None).unwrap();
    assert!(s.get_access_token(&h(44), 1_000).unwrap().is_some());
}

/// Replacing a web session stores the new one and deletes the old one.
pub fn replacing_a_web_session_stores_the_new_one_and_deletes_the_old(store: &dyn Store) {
    let s = o(store);
    let old = WebSession {
        hash: h(50),
        user: None,
        data: "{}".into(),
        created_at: 1,
        expires_at: 100,
    };
    s.put_web_session(&old).unwrap();
    let new = WebSession {
        hash: h(51),
        user: Some("alice".into()),
        ..old.clone()
    };
    s.replace_web_session(Some(&h(50)), &new).unwrap();
    assert_eq!(s.get_web_session(&h(50), 50).unwrap(), None);
    assert_eq!(s.get_web_session(&h(51), 50).unwrap(), Some(new.clone()));
    // Without an old one it is a plain store.
    let third = WebSession { hash: h(52), ..old };
    s.replace_web_session(None, &third).unwrap();
    assert_eq!(s.get_web_session(&h(52), 50).unwrap(), Some(third));
}

/// The tokens a redemption stores for code `n`'s grant: access `n + 100`, refresh `n + 150`.
fn issue_for(n: u8) -> impl FnMut(&AuthCode) -> IssuedTokens {
    move |c: &AuthCode| {
        Some((
            access(n + 100, &c.grant_id, &c.auth.user),
            Some(refresh(n + 150, &c.grant_id, &c.auth.user)),
        ))
    }
}

/// Redeeming a code spends it and stores the tokens built from it; a replay and an unknown code
/// store nothing and never call the builder.
pub fn redeeming_a_code_spends_it_and_stores_its_tokens(store: &dyn Store) {
    let s = o(store);
    s.put_code(&code(60)).unwrap();
    match s.redeem_code(&h(60), 1_010, &mut issue_for(60)).unwrap() {
        CodeUse::Fresh(c) => assert_eq!(*c, code(60)),
        other => panic!("{other:?}"),
    }
    let at = s.get_access_token(&h(160), 1_010).unwrap().expect("stored");
    assert_eq!(at.grant_id, "grant-60");
    assert!(matches!(
        s.rotate_refresh_token(&h(210), "app", 1_020, &mut successor(211))
            .unwrap(),
        RefreshUse::Rotated(_)
    ));
    let mut never = |_: &AuthCode| -> IssuedTokens { panic!("a spent code issues nothing") };
    assert_eq!(
        s.redeem_code(&h(60), 1_011, &mut never).unwrap(),
        CodeUse::Replayed {
            grant_id: "grant-60".into()
        }
    );
    assert_eq!(
        s.redeem_code(&h(61), 1_011, &mut never).unwrap(),
        CodeUse::Unknown
    );
}

/// A code the caller refuses (wrong client, PKCE...) stays spent, with no tokens.
pub fn a_code_refused_at_redemption_stays_spent_without_tokens(store: &dyn Store) {
    let s = o(store);
    s.put_code(&code(62)).unwrap();
    let mut refuse = |_: &AuthCode| -> IssuedTokens { None };
    assert!(matches!(
        s.redeem_code(&h(62), 1_010, &mut refuse).unwrap(),
        CodeUse::Fresh(_)
    ));
    assert_eq!(s.get_access_token(&h(162), 1_010).unwrap(), None);
    assert!(matches!(
        s.redeem_code(&h(62), 1_011, &mut issue_for(62)).unwrap(),
        CodeUse::Replayed { .. }
    ));
    assert_eq!(s.get_access_token(&h(162), 1_011).unwrap(), None);
}

/// One code, 32 simultaneous redemptions: one `Fresh`, and only its tokens exist.
pub fn thirty_two_threads_redeeming_one_code_store_one_set_of_tokens(store: &dyn Store) {
    let s = o(store);
    s.put_code(&code(63)).unwrap();
    let out = race(THREADS, |i| {
        let n = u8::try_from(i).expect("THREADS fits a byte");
        let mut issue = move |c: &AuthCode| -> IssuedTokens {
            Some((access(n, &c.grant_id, &c.auth.user), None))
        };
        s.redeem_code(&h(63), 1_010, &mut issue).unwrap()
    });
    let winners: Vec<usize> = (0..THREADS)
        .filter(|i| matches!(out[*i], CodeUse::Fresh(_)))
        .collect();
    assert_eq!(winners.len(), 1, "{out:?}");
    for i in 0..THREADS {
        let n = u8::try_from(i).expect("THREADS fits a byte");
        let stored = s.get_access_token(&h(n), 1_010).unwrap().is_some();
        assert_eq!(stored, winners[0] == i, "thread {i}");
    }
}

/// A new code, the session that completes the sign-in and the decision's lines are stored
/// together; if the code cannot be stored, the old session stays and the new one is not stored.
pub fn a_code_and_its_session_are_stored_together(store: &dyn Store) {
    let s = o(store);
    let old = WebSession {
        hash: h(64),
        user: None,
        data: "{}".into(),
        created_at: 1,
        expires_at: 100,
    };
    s.put_web_session(&old).unwrap();
    let new = WebSession {
        hash: h(65),
        user: Some("alice".into()),
        ..old.clone()
    };
    let line = AuditEvent {
        at: 1_000,
        actor: "daemon".into(),
        event: "auth.decision".into(),
        user: Some("alice".into()),
        outcome: "ok".into(),
        detail: "allow for twofold-web: carried with the code".into(),
    };
    s.put_code_and_session(&code(66), Some(&h(64)), &new, &[Write::Audit(line.clone())])
        .unwrap();
    let carried = store
        .query_audit(&AuditFilter {
            user: Some("alice".into()),
            ..AuditFilter::default()
        })
        .unwrap();
    assert_eq!(carried, vec![line]);
    assert_eq!(s.get_web_session(&h(64), 50).unwrap(), None);
    assert_eq!(s.get_web_session(&h(65), 50).unwrap(), Some(new.clone()));
    assert!(matches!(
        s.consume_code(&h(66), 1_010).unwrap(),
        CodeUse::Fresh(_)
    ));
    // The code hash is taken: nothing changes.
    let newer = WebSession {
        hash: h(67),
        ..new.clone()
    };
    assert!(
        s.put_code_and_session(&code(66), Some(&h(65)), &newer, &[])
            .is_err()
    );
    assert_eq!(s.get_web_session(&h(65), 50).unwrap(), Some(new));
    assert_eq!(s.get_web_session(&h(67), 50).unwrap(), None);
}

/// A session committed lazily reads back like any other, and later writes still work.
pub fn a_lazily_committed_web_session_reads_back(store: &dyn Store) {
    let s = o(store);
    let w = WebSession {
        hash: h(68),
        user: None,
        data: "{\"csrf\":\"z\"}".into(),
        created_at: 1,
        expires_at: 100,
    };
    s.replace_web_session_with(None, &w, Commit::Lazy).unwrap();
    assert_eq!(s.get_web_session(&h(68), 50).unwrap(), Some(w.clone()));
    let d = WebSession {
        hash: h(69),
        ..w.clone()
    };
    s.replace_web_session_with(Some(&h(68)), &d, Commit::Durable)
        .unwrap();
    assert_eq!(s.get_web_session(&h(68), 50).unwrap(), None);
    assert_eq!(s.get_web_session(&h(69), 50).unwrap(), Some(d));
}
