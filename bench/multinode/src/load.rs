//! The sign-in load: users enrolled with their own TOTP secrets (seeded through the store API
//! under the deployment's key file), and sign-ins as `pam_twofold.so` makes them: `Begin` on the
//! PAM socket, then `Verify` with the current code. Each user signs in once (a TOTP step is
//! single use per user), so a run needs as many users as it makes sign-ins.

use crate::proxy::Counters;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use twofold_core::clock::{Clock, OsRng, SystemClock};
use twofold_core::crypto::Keyring;
use twofold_core::proto::{
    Code, Method, PROTOCOL_VERSION, PamOp, PamReply, PamRequest, read_frame, write_frame,
};
use twofold_core::store::Store;
use twofold_core::totp::{self, TotpSecret};

/// An enrolled user.
pub struct User {
    /// Login name.
    pub name: String,
    /// The TOTP secret (the bench types its codes).
    pub secret: TotpSecret,
}

/// Creates `count` users named `PREFIX00000...` and enrolls each with a fresh secret, sealed
/// with the key file at `key` (created when missing), on `threads` threads. Enrollment records
/// the step two steps ago, so the current code is fresh.
pub fn seed(
    store: &dyn Store,
    key: &Path,
    prefix: &str,
    count: usize,
    threads: usize,
) -> Result<Vec<User>, String> {
    let keys = Keyring::load_or_create(key, &OsRng, false).map_err(|e| e.to_string())?;
    let now = SystemClock.now();
    let step = totp::step_at(now).unwrap_or(0) - 2;
    let users: Vec<User> = (0..count)
        .map(|i| User {
            name: format!("{prefix}{i:05}"),
            secret: TotpSecret::generate(&OsRng),
        })
        .collect();
    let next = AtomicUsize::new(0);
    let failure: Mutex<Option<String>> = Mutex::new(None);
    std::thread::scope(|s| {
        for _ in 0..threads.max(1) {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(u) = users.get(i) else { return };
                    let r = (|| -> twofold_core::Result<()> {
                        store.ensure_user(&u.name, now)?;
                        let ct = keys.encrypt_secret(&OsRng, &u.name, &u.secret)?;
                        store.set_pending_secret(&u.name, &ct, now)?;
                        store.confirm_enrollment(&u.name, step, now)?;
                        Ok(())
                    })();
                    if let Err(e) = r {
                        *failure.lock().unwrap_or_else(|p| p.into_inner()) =
                            Some(format!("seeding {}: {e}", u.name));
                        return;
                    }
                }
            });
        }
    });
    match failure.into_inner().unwrap_or_else(|p| p.into_inner()) {
        Some(e) => Err(e),
        None => Ok(users),
    }
}

fn call(socket: &Path, op: PamOp) -> Result<PamReply, String> {
    let mut s = UnixStream::connect(socket).map_err(|e| format!("connect: {e}"))?;
    s.set_read_timeout(Some(Duration::from_secs(30)))
        .map_err(|e| e.to_string())?;
    write_frame(
        &mut s,
        &PamRequest {
            v: PROTOCOL_VERSION,
            op,
        },
    )
    .map_err(|e| format!("write: {e}"))?;
    read_frame(&mut s).map_err(|e| format!("read: {e}"))
}

/// `Begin` then `Verify` with the current code: what one SSH sign-in asks of the daemon.
/// `Ok(())` when the code was accepted.
pub fn sign_in(socket: &Path, u: &User) -> Result<(), String> {
    let session = begin(socket, u)?;
    verify(socket, u, &session)
}

fn begin(socket: &Path, u: &User) -> Result<String, String> {
    match call(
        socket,
        PamOp::Begin {
            user: u.name.clone(),
            service: "sshd".into(),
            rhost: Some("192.0.2.10".into()),
            tty: None,
            groups: None,
        },
    )? {
        PamReply::Challenge(c) => Ok(c.session),
        other => Err(format!("Begin for {}: {other:?}", u.name)),
    }
}

fn verify(socket: &Path, u: &User, session: &str) -> Result<(), String> {
    let code = totp::code_at(&u.secret, SystemClock.now()).ok_or("no TOTP code")?;
    match call(
        socket,
        PamOp::Verify {
            session: session.into(),
            method: Method::AuthenticatorApp,
            code: Code::new(code),
        },
    )? {
        PamReply::Accepted { .. } => Ok(()),
        other => Err(format!("Verify for {}: {other:?}", u.name)),
    }
}

/// What a throughput run did.
pub struct Run {
    /// Accepted sign-ins.
    pub ok: usize,
    /// Sign-ins that did not end accepted.
    pub failed: usize,
    /// The first failure, if any.
    pub first_error: Option<String>,
    /// Wall time.
    pub elapsed: Duration,
}

/// `threads` clients sign in users one after the other (user `i` on node `i % nodes`) until the
/// users run out or `limit` has passed.
pub fn throughput(sockets: &[PathBuf], users: &[User], threads: usize, limit: Duration) -> Run {
    let next = AtomicUsize::new(0);
    let ok = AtomicUsize::new(0);
    let failed = AtomicUsize::new(0);
    let first: Mutex<Option<String>> = Mutex::new(None);
    let start = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..threads.max(1) {
            s.spawn(|| {
                while start.elapsed() < limit {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(u) = users.get(i) else { return };
                    match sign_in(&sockets[i % sockets.len()], u) {
                        Ok(()) => ok.fetch_add(1, Ordering::Relaxed),
                        Err(e) => {
                            first
                                .lock()
                                .unwrap_or_else(|p| p.into_inner())
                                .get_or_insert(e);
                            failed.fetch_add(1, Ordering::Relaxed)
                        }
                    };
                }
            });
        }
    });
    Run {
        ok: ok.into_inner(),
        failed: failed.into_inner(),
        first_error: first.into_inner().unwrap_or_else(|p| p.into_inner()),
        elapsed: start.elapsed(),
    }
}

/// Database work per sign-in, split by request.
#[derive(Debug, Clone, Default)]
pub struct PerSignIn {
    /// The statements of one traced `Begin`, in order.
    pub trace_begin: Vec<String>,
    /// The statements of one traced `Verify`, in order.
    pub trace_verify: Vec<String>,
    /// Statements (`Sync` + `Query`) for `Begin`.
    pub begin_statements: f64,
    /// Statements for `Verify`.
    pub verify_statements: f64,
    /// Waits for the server, `Begin` + `Verify`.
    pub round_trips: f64,
}

/// Signs in `warmup` users (not counted: connections and prepared statements get made), then
/// `users` one at a time, reading the proxy's counters around each request.
pub fn count(
    sockets: &[PathBuf],
    users: &[User],
    warmup: usize,
    counters: &Arc<Counters>,
) -> Result<PerSignIn, String> {
    let (warm, measured) = users.split_at(warmup.min(users.len()));
    for (i, u) in warm.iter().enumerate() {
        sign_in(&sockets[i % sockets.len()], u)?;
    }
    let mut per = PerSignIn::default();
    for (i, u) in measured.iter().take(1).enumerate() {
        // One traced sign-in, to show which statements make up the figures.
        let socket = &sockets[i % sockets.len()];
        counters.tracing(true);
        let session = begin(socket, u)?;
        let b = counters.tracing(true);
        verify(socket, u, &session)?;
        let v = counters.tracing(false);
        per.trace_begin = b;
        per.trace_verify = v;
    }
    let measured = measured.get(1..).unwrap_or_default();
    for (i, u) in measured.iter().enumerate() {
        let socket = &sockets[i % sockets.len()];
        let (s0, r0) = counters.snapshot();
        let session = begin(socket, u)?;
        let (s1, _) = counters.snapshot();
        verify(socket, u, &session)?;
        let (s2, r2) = counters.snapshot();
        per.begin_statements += (s1 - s0) as f64;
        per.verify_statements += (s2 - s1) as f64;
        per.round_trips += (r2 - r0) as f64;
    }
    let n = measured.len().max(1) as f64;
    Ok(PerSignIn {
        begin_statements: per.begin_statements / n,
        verify_statements: per.verify_statements / n,
        round_trips: per.round_trips / n,
        ..per
    })
}
