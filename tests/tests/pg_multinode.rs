//! Two real `twofoldd` processes on one PostgreSQL schema (issue 7): single use holds across
//! nodes for backup codes, TOTP codes and authorization codes under 32 simultaneous
//! presentations; a settings change through one node is in force on the other from its next
//! request; a PostgreSQL outage or terminated sessions fail closed (PAM `Error` →
//! PAM_AUTHINFO_UNAVAIL, HTTP 503) and recover by themselves, and no acknowledged consume is lost.
//!
//! Needs PostgreSQL at 127.0.0.1:5432 (database `test`) or `TWOFOLD_TEST_PG_URL`; prints a
//! `SKIPPED` line otherwise (`TWOFOLD_REQUIRE_PG=1` makes that a failure).

mod common;
mod oidc_support;
mod pg_nodes;

use common::pam::{Stack, answers};
use oidc_support::{Authenticator, Browser, CLIENT, PASSWORD, SECRET};
use pg_nodes::{Cluster, begin, challenge_session, enroll, verify};
use std::collections::HashSet;
use std::process::Command;
use std::sync::Barrier;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use twofold_core::proto::{Method, PamReply};
use twofold_core::store::Store;

const RACERS: usize = 32;

/// Runs `f(i)` on `n` threads released together.
fn race<T: Send>(n: usize, f: impl Fn(usize) -> T + Sync) -> Vec<T> {
    let barrier = Barrier::new(n);
    std::thread::scope(|s| {
        let hs: Vec<_> = (0..n)
            .map(|i| {
                let (b, f) = (&barrier, &f);
                s.spawn(move || {
                    b.wait();
                    f(i)
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().expect("racer")).collect()
    })
}

fn accepted(r: &Result<PamReply, String>) -> bool {
    matches!(r, Ok(PamReply::Accepted { .. }))
}

fn rejected(r: &Result<PamReply, String>) -> bool {
    matches!(r, Ok(PamReply::Rejected { .. }))
}

/// `count` open verification sessions of `user`, alternating between the nodes.
fn sessions(c: &Cluster, user: &str, count: usize) -> Vec<String> {
    (0..count)
        .map(|i| challenge_session(&begin(c.pam_socket(i), user).expect("begin")))
        .collect()
}

/// Many wrong codes in one race must not lock the user before the right one is counted.
fn race_settings(c: &Cluster) {
    c.settings(|s| s.max_consecutive_failures = 100);
}

#[test]
fn thirty_two_presentations_of_one_backup_code_over_two_nodes_give_exactly_one_success() {
    let Some(c) = Cluster::start(2, false, |b| b) else {
        return;
    };
    race_settings(&c);
    let bob = enroll(c.pam_socket(0), "bob");
    let code = bob.backup_codes[0].clone();
    let ids = sessions(&c, "bob", RACERS);
    let out = race(RACERS, |i| {
        verify(c.pam_socket(i), &ids[i], Method::BackupCode, &code)
    });
    assert_eq!(out.iter().filter(|r| accepted(r)).count(), 1, "{out:?}");
    assert_eq!(
        out.iter().filter(|r| rejected(r)).count(),
        RACERS - 1,
        "{out:?}"
    );
    assert_eq!(c.store.backup_codes_left("bob").unwrap(), 9);
    // Spent everywhere: a fresh sign-in on either node refuses it, another code works.
    for node in 0..2 {
        let s = challenge_session(&begin(c.pam_socket(node), "bob").unwrap());
        assert!(rejected(&verify(
            c.pam_socket(node),
            &s,
            Method::BackupCode,
            &code
        )));
    }
    let s = challenge_session(&begin(c.pam_socket(1), "bob").unwrap());
    let other = &bob.backup_codes[1];
    assert!(accepted(&verify(
        c.pam_socket(1),
        &s,
        Method::BackupCode,
        other
    )));
}

#[test]
fn thirty_two_presentations_of_one_totp_code_over_two_nodes_give_exactly_one_success() {
    let Some(c) = Cluster::start(2, false, |b| b) else {
        return;
    };
    race_settings(&c);
    let carol = enroll(c.pam_socket(1), "carol");
    let ids = sessions(&c, "carol", RACERS);
    // The step after the one enrollment used: within the window of ±1 step around now.
    let code = common::totp::code_at(&carol.key, carol.step + 1);
    let out = race(RACERS, |i| {
        verify(c.pam_socket(i), &ids[i], Method::AuthenticatorApp, &code)
    });
    assert_eq!(out.iter().filter(|r| accepted(r)).count(), 1, "{out:?}");
    assert_eq!(
        out.iter().filter(|r| rejected(r)).count(),
        RACERS - 1,
        "{out:?}"
    );
    let user = c.store.get_user("carol").unwrap().unwrap();
    assert_eq!(user.totp_last_step, Some((carol.step + 1) as i64));
}

#[test]
fn thirty_two_redemptions_of_one_authorization_code_over_two_nodes_give_exactly_one_token() {
    let Some(c) = Cluster::start(2, false, |b| b) else {
        return;
    };
    c.add_web_user("alice");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let code = rt.block_on(async {
        let a = &c.nodes[0];
        let mut browser = Browser::new(a);
        let mut app = Authenticator::default();
        let params = browser
            .sign_in(&a.auth_url(CLIENT, &[]), "alice", PASSWORD, &mut app)
            .await
            .unwrap_or_else(|p| panic!("sign-in stopped at {} {}", p.status, p.body));
        params.get("code").expect("a code").clone()
    });
    let statuses: Vec<u16> = rt.block_on(async {
        let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(RACERS));
        let mut tasks = Vec::new();
        for i in 0..RACERS {
            let (b, code) = (barrier.clone(), code.clone());
            let base = c.nodes[i % 2].base.clone();
            tasks.push(async move {
                b.wait().await;
                let p = [
                    ("grant_type", "authorization_code"),
                    ("code", code.as_str()),
                    ("redirect_uri", oidc_support::REDIRECT),
                ];
                oidc_support::raw_client()
                    .post(format!("{base}/token"))
                    .basic_auth(CLIENT, Some(SECRET))
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(oidc_support::form_encode(&p))
                    .send()
                    .await
                    .expect("token request")
                    .status()
                    .as_u16()
            });
        }
        let mut set = tokio::task::JoinSet::new();
        for t in tasks {
            set.spawn(t);
        }
        let mut out = Vec::new();
        while let Some(r) = set.join_next().await {
            out.push(r.expect("task"));
        }
        out
    });
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 400).count(),
        RACERS - 1,
        "{statuses:?}"
    );
}

fn ctl(socket: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(common::artifacts::twofoldctl())
        .arg("--socket")
        .arg(socket)
        .args(args)
        .output()
        .expect("running twofoldctl")
}

#[test]
fn a_settings_change_through_one_node_is_in_force_on_the_other_at_its_next_request() {
    let Some(c) = Cluster::start(2, false, |b| b) else {
        return;
    };
    enroll(c.pam_socket(0), "erin");
    assert!(matches!(
        begin(c.pam_socket(1), "erin"),
        Ok(PamReply::Challenge(_))
    ));
    // The documented bound is "the next request": no node caches the settings, so there is no
    // wait between the change on A and the check on B.
    let out = ctl(c.admin_socket(0), &["settings", "set", "enabled", "false"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    match begin(c.pam_socket(1), "erin") {
        Ok(PamReply::Allow { reason }) => assert!(reason.contains("off"), "{reason}"),
        other => panic!("node B still asks for a code: {other:?}"),
    }
    let out = ctl(c.admin_socket(1), &["settings", "set", "enabled", "true"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(matches!(
        begin(c.pam_socket(0), "erin"),
        Ok(PamReply::Challenge(_))
    ));
    // Both nodes report the shared backend and its durability.
    for node in 0..2 {
        let out = ctl(c.admin_socket(node), &["--json", "doctor", "--daemon-only"]);
        let v: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)));
        let check = v["checks"]
            .as_array()
            .and_then(|a| a.iter().find(|c| c["id"] == "store.durability"))
            .cloned()
            .unwrap_or_else(|| panic!("no store.durability check in {v}"));
        assert_eq!(check["status"], "ok", "{check}");
        let summary = check["summary"].as_str().unwrap_or("");
        assert!(
            summary.contains("postgresql") && summary.contains("synchronous_commit=on"),
            "{summary}"
        );
        assert!(summary.contains(&c.schema), "{summary}");
    }
}

#[test]
fn a_postgresql_outage_fails_closed_on_both_nodes_and_they_recover_by_themselves() {
    let Some(c) = Cluster::start(2, true, |b| b) else {
        return;
    };
    let proxy = c.proxy.as_ref().expect("proxy");
    let dora = enroll(c.pam_socket(0), "dora");
    let s = challenge_session(&begin(c.pam_socket(1), "dora").unwrap());
    let acked = &dora.backup_codes[0];
    assert!(accepted(&verify(
        c.pam_socket(1),
        &s,
        Method::BackupCode,
        acked
    )));

    proxy.set_up(false);
    for node in 0..2 {
        match begin(c.pam_socket(node), "dora") {
            Ok(PamReply::Error { message }) => {
                assert!(message.contains("unavailable"), "{message}")
            }
            other => panic!("node {node} did not fail closed: {other:?}"),
        }
        // Through the real module: PAM_AUTHINFO_UNAVAIL, never success.
        let stack = Stack::for_daemon(&c.nodes[node].d, "timeout=10");
        let l = stack.login("dora", answers(Vec::<String>::new()));
        assert_eq!(
            l.code,
            pam_testkit::code::AUTHINFO_UNAVAIL,
            "{:?}",
            l.transcript
        );
    }
    // `doctor` on a node names the database as the problem.
    let out = ctl(c.admin_socket(0), &["--json", "doctor", "--daemon-only"]);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("doctor JSON");
    let store = v["checks"]
        .as_array()
        .and_then(|a| a.iter().find(|c| c["id"] == "store"))
        .cloned()
        .unwrap_or_else(|| panic!("no store check in {v}"));
    assert_eq!(store["status"], "fail", "{store}");
    assert!(
        store["summary"]
            .as_str()
            .unwrap_or("")
            .contains("does not answer"),
        "{store}"
    );
    // The web side answers 503 (the store is unavailable), never a token or a page.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    for node in &c.nodes {
        let r = rt.block_on(async {
            oidc_support::raw_client()
                .post(format!("{}/token", node.base))
                .basic_auth(CLIENT, Some(SECRET))
                .header("content-type", "application/x-www-form-urlencoded")
                .body("grant_type=authorization_code&code=no-such-code")
                .send()
                .await
        });
        let r = r.unwrap_or_else(|e| panic!("{e}\n{}", node.d.log()));
        assert_eq!(r.status().as_u16(), 503, "{:?}", r.headers());
        assert!(r.headers().contains_key("retry-after"));
        // A browser starting a sign-in gets a 503 page, not a form.
        let page = rt
            .block_on(
                oidc_support::raw_client()
                    .get(node.auth_url(CLIENT, &[]))
                    .send(),
            )
            .expect("authorize request");
        assert_eq!(page.status().as_u16(), 503);
    }

    proxy.set_up(true);
    // No restart: each node's pool reconnects on its own within a few attempts.
    for node in 0..2 {
        let start = Instant::now();
        let s = loop {
            match begin(c.pam_socket(node), "dora") {
                Ok(PamReply::Challenge(ch)) => break ch.session,
                other if start.elapsed() > Duration::from_secs(30) => {
                    panic!("node {node} did not recover: {other:?}")
                }
                _ => std::thread::sleep(Duration::from_millis(200)),
            }
        };
        // The code acknowledged before the outage stays spent; a new one works.
        assert!(rejected(&verify(
            c.pam_socket(node),
            &s,
            Method::BackupCode,
            acked
        )));
        let s = challenge_session(&begin(c.pam_socket(node), "dora").unwrap());
        let fresh = &dora.backup_codes[1 + node];
        assert!(accepted(&verify(
            c.pam_socket(node),
            &s,
            Method::BackupCode,
            fresh
        )));
    }
    let r = rt.block_on(c.nodes[0].redeem(CLIENT, SECRET, "no-such-code", &[]));
    assert_eq!(r.status().as_u16(), 400);
}

/// What one sign-in attempt of the terminate run ended with.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Attempt {
    Acknowledged(String),
    FailedClosed,
}

#[test]
fn terminated_database_sessions_fail_closed_and_no_acknowledged_consume_is_lost() {
    let Some(c) = Cluster::start(2, true, |b| b) else {
        return;
    };
    let proxy = c.proxy.as_ref().expect("proxy");
    let users: Vec<(String, pg_nodes::Enrolled)> = (0..4)
        .map(|u| {
            let name = format!("term{u}");
            let e = enroll(c.pam_socket(u), &name);
            (name, e)
        })
        .collect();
    let running = AtomicBool::new(true);
    let terminated = AtomicUsize::new(0);
    let log: Vec<Vec<Attempt>> = std::thread::scope(|s| {
        let killer = s.spawn(|| {
            while running.load(Ordering::SeqCst) {
                terminated.fetch_add(proxy.terminate_backends(), Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(40));
            }
        });
        let workers: Vec<_> = users
            .iter()
            .enumerate()
            .map(|(u, (name, e))| {
                let (c, codes) = (&c, &e.backup_codes);
                s.spawn(move || {
                    let mut log = Vec::new();
                    for (k, code) in codes.iter().enumerate() {
                        let node = u + k;
                        let r = begin(c.pam_socket(node), name);
                        let Ok(PamReply::Challenge(ch)) = r else {
                            assert!(matches!(r, Ok(PamReply::Error { .. })), "{r:?}");
                            log.push(Attempt::FailedClosed);
                            continue;
                        };
                        // The module asks its own host's daemon for the whole conversation.
                        match verify(c.pam_socket(node), &ch.session, Method::BackupCode, code) {
                            Ok(PamReply::Accepted { .. }) => {
                                log.push(Attempt::Acknowledged(code.clone()))
                            }
                            Ok(PamReply::Error { .. }) => log.push(Attempt::FailedClosed),
                            other => panic!("a fresh backup code got {other:?}"),
                        }
                    }
                    log
                })
            })
            .collect();
        let log = workers
            .into_iter()
            .map(|w| w.join().expect("worker"))
            .collect();
        running.store(false, Ordering::SeqCst);
        killer.join().expect("killer");
        log
    });
    let kills = terminated.load(Ordering::SeqCst);
    assert!(kills > 0, "no database session was terminated");
    let failed: usize = log
        .iter()
        .flatten()
        .filter(|a| **a == Attempt::FailedClosed)
        .count();
    eprintln!("terminated {kills} sessions; {failed} of 40 attempts failed closed");

    // Recovered: every user signs in again (each node), and every acknowledged code is spent.
    for (u, ((name, e), attempts)) in users.iter().zip(&log).enumerate() {
        let acked: HashSet<&String> = attempts
            .iter()
            .filter_map(|a| match a {
                Attempt::Acknowledged(c) => Some(c),
                Attempt::FailedClosed => None,
            })
            .collect();
        for code in &acked {
            let s = challenge_session(&begin(c.pam_socket(u), name).unwrap());
            assert!(
                rejected(&verify(c.pam_socket(u), &s, Method::BackupCode, code)),
                "an acknowledged code of {name} worked again"
            );
        }
        let left = c.store.backup_codes_left(name).unwrap() as usize;
        assert!(
            left <= e.backup_codes.len() - acked.len(),
            "{name}: {left} codes left after {} acknowledged",
            acked.len()
        );
        // A normal sign-in with the app works again (the step after enrollment's, or now).
        let step = common::totp::now_step().max(e.step + 1);
        let s = challenge_session(&begin(c.pam_socket(u + 1), name).unwrap());
        let code = common::totp::code_at(&e.key, step);
        let r = verify(c.pam_socket(u + 1), &s, Method::AuthenticatorApp, &code);
        assert!(
            accepted(&r),
            "{name} cannot sign in after the terminations: {r:?}"
        );
    }
}

#[test]
fn a_node_refuses_to_start_on_a_database_with_synchronous_commit_off() {
    if !pg_nodes::reachable() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let schema = pg_nodes::fresh_schema();
    let base = pg_nodes::pg_url();
    let sep = if base.contains('?') { '&' } else { '?' };
    let url = format!("{base}{sep}options=-c%20synchronous_commit%3Doff");
    let cfg = dir.path().join("twofoldd.toml");
    std::fs::write(
        &cfg,
        format!(
            "version = 1\nstate_dir = {state:?}\n[pam]\nsocket = {pam:?}\n[admin]\nsocket = {adm:?}\n\
             [http]\nlisten = \"\"\n[store]\nbackend = \"postgres\"\npostgres_url = {url:?}\n\
             postgres_schema = {schema:?}\n",
            state = dir.path().join("state"),
            pam = dir.path().join("pam.sock"),
            adm = dir.path().join("admin.sock"),
        ),
    )
    .unwrap();
    let out = Command::new(common::artifacts::twofoldd())
        .arg("--config")
        .arg(&cfg)
        .env_remove("NOTIFY_SOCKET")
        .output()
        .expect("running twofoldd");
    let _ = pg_nodes::admin(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("synchronous_commit is off"), "{err}");
    assert!(!err.contains("ready"), "{err}");
    assert!(!dir.path().join("pam.sock").exists());
}
