//! The same sign-ins without PAM and without the socket: the engine called in-process on a
//! SQLite file, with its verification sessions held in memory as twofoldd's PAM side has them. The difference to the PAM figures is the cost of libpam, the module, the two
//! Unix-socket round trips and the daemon's task hand-offs.

use crate::stats::Samples;
use crate::totp;
use std::sync::Arc;
use std::time::Instant;
use twofold_core::clock::{OsRng, SystemClock};
use twofold_core::crypto::Keyring;
use twofold_core::engine::{Engine, NoDelivery, SignInAttempt};
use twofold_core::proto::{Code, Method, PamReply};
use twofold_core::store::sqlite::{Durability, SqliteOptions, SqliteStore};

fn attempt(user: &str) -> SignInAttempt {
    SignInAttempt {
        user: user.to_owned(),
        service: "bench".into(),
        rhost: Some("192.0.2.50".into()),
        roles: Vec::new(),
        look_up_roles: false,
        device_token: None,
    }
}

fn session_of(r: &PamReply) -> Option<String> {
    match r {
        PamReply::Challenge(c) => Some(c.session.clone()),
        PamReply::Enroll(o) => Some(o.session.clone()),
        PamReply::EnrollSecret(s) => Some(s.session.clone()),
        _ => None,
    }
}

/// Times `n` right-code and `n` wrong-code sign-ins (`begin` then `verify`), in microseconds:
/// `auth` holds both steps, `cycle` the `begin` step alone.
pub fn run(n: usize, synchronous: &str) -> Result<(Samples, Samples), String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let store = SqliteStore::open_with(
        &dir.path().join("twofold.db"),
        SqliteOptions {
            durability: if synchronous == "normal" {
                Durability::Normal
            } else {
                Durability::Full
            },
            ..SqliteOptions::default()
        },
    )
    .map_err(|e| e.to_string())?;
    // As the daemon runs PAM conversations: sessions held in memory.
    let store: Arc<dyn twofold_core::store::Store> = Arc::new(store);
    let engine = Engine::new(
        Arc::new(twofold_core::store::held::HeldSessions::new(store)),
        Arc::new(SystemClock),
        Arc::new(OsRng),
        Arc::new(Keyring::for_tests(&OsRng)),
        Arc::new(NoDelivery),
    );
    let e = |r: twofold_core::Result<PamReply>| r.map_err(|e| e.to_string());
    let mut keys = Vec::with_capacity(n);
    for i in 0..n {
        let user = format!("engine{i:05}");
        let r = e(engine.begin(&attempt(&user)))?;
        let s = session_of(&r).ok_or("no enrollment session")?;
        let PamReply::EnrollSecret(secret) = e(engine.enroll_start(&s))? else {
            return Err("no secret issued".into());
        };
        let key: String = secret.text_key.split_whitespace().collect();
        let code = Code::new(totp::code_now(&key, 0));
        e(engine.enroll_confirm(&s, &code))?;
        keys.push((user, key));
    }
    let foreign = crate::setup::new_secret();
    let (mut right, mut wrong) = (Samples::default(), Samples::default());
    for (user, key) in &keys {
        let code = Code::new(totp::code_now(key, 1));
        let t = Instant::now();
        let r = e(engine.begin(&attempt(user)))?;
        right.cycle.push(t.elapsed());
        let s = session_of(&r).ok_or("no challenge")?;
        let ok = e(engine.verify(&s, Method::AuthenticatorApp, &code))?;
        right.auth.push(t.elapsed());
        if !matches!(ok, PamReply::Accepted { .. }) {
            right.errors += 1;
        }
        let code = Code::new(totp::code_now(&foreign, 0));
        let t = Instant::now();
        let r = e(engine.begin(&attempt(user)))?;
        wrong.cycle.push(t.elapsed());
        let s = session_of(&r).ok_or("no challenge")?;
        let no = e(engine.verify(&s, Method::AuthenticatorApp, &code))?;
        wrong.auth.push(t.elapsed());
        if !matches!(no, PamReply::Rejected { .. }) {
            wrong.errors += 1;
        }
    }
    Ok((right, wrong))
}
