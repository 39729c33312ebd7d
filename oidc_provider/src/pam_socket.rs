//! The PAM socket: `pam_twofold.so` asks here what to do and sends the user's answers.
//!
//! One request per connection. Only peers whose uid is allowed (root by default, checked with
//! SO_PEERCRED) are served. Each request is bounded in size (64 KiB) and time (`io_timeout_ms`
//! to arrive); the engine runs on the blocking pool; at most `max_connections` are served at once.
//!
//! Engine operations of the PAM socket take turns (one at a time, in arrival order). Each one is a
//! handful of short SQLite write transactions; run side by side they would contend for the
//! database's single write lock, and SQLite's busy handler waits by sleeping in steps of up to
//! 100 ms. Taking turns in the daemon keeps 10 simultaneous logins within a few milliseconds of
//! each other instead (measured by `bench/pam`).

use crate::Daemon;
use crate::config::PamConfig;
use crate::unix::{self, FrameIoError};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{Mutex, Semaphore};
use tokio_util::sync::CancellationToken;
use twofold_core::proto::{PROTOCOL_VERSION, PamOp, PamReply, PamRequest};

/// Serves the PAM socket until `shutdown` is cancelled.
pub async fn serve(listener: UnixListener, daemon: Arc<Daemon>, shutdown: CancellationToken) {
    let cfg = daemon.config.pam.clone();
    let slots = Arc::new(Semaphore::new(cfg.max_connections.max(1)));
    let turn = Arc::new(Mutex::new(()));
    loop {
        let stream = tokio::select! {
            _ = shutdown.cancelled() => break,
            r = listener.accept() => match r {
                Ok((s, _)) => s,
                Err(e) => {
                    tracing::warn!(error = %e, "pam socket accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let daemon = daemon.clone();
        let cfg = cfg.clone();
        let slots = slots.clone();
        let turn = turn.clone();
        tokio::spawn(async move {
            let io = Duration::from_millis(cfg.io_timeout_ms);
            // Waiting for a slot counts against the client's own time budget.
            let Ok(Ok(_permit)) = tokio::time::timeout(io, slots.acquire_owned()).await else {
                tracing::warn!("pam socket busy: request dropped after waiting for a slot");
                return;
            };
            handle(stream, daemon, &cfg, turn).await;
        });
    }
}

async fn handle(
    mut stream: UnixStream,
    daemon: Arc<Daemon>,
    cfg: &PamConfig,
    turn: Arc<Mutex<()>>,
) {
    let io = Duration::from_millis(cfg.io_timeout_ms);
    let uid = unix::peer_uid(&stream);
    if !uid.is_some_and(|u| cfg.allowed_uids.contains(&u)) {
        tracing::warn!(?uid, "pam socket: refused a peer whose uid is not allowed");
        let reply = PamReply::Error {
            message: "permission denied: this peer may not use the PAM socket".into(),
        };
        let _ = unix::write_frame(&mut stream, &reply, io).await;
        return;
    }
    let reply = match unix::read_frame::<PamRequest>(&mut stream, io).await {
        Ok(req) if req.v != PROTOCOL_VERSION => PamReply::Error {
            message: format!(
                "protocol version {} is not supported (daemon speaks {PROTOCOL_VERSION})",
                req.v
            ),
        },
        Ok(req) => {
            let d = daemon.clone();
            // Waiting for the turn is bounded like the rest of the request.
            let Ok(my_turn) = tokio::time::timeout(io, turn.lock_owned()).await else {
                tracing::warn!("pam socket: the engine stayed busy; request refused");
                let reply = PamReply::Error {
                    message: "the daemon is busy; try again".into(),
                };
                let _ = unix::write_frame(&mut stream, &reply, io).await;
                return;
            };
            let work = tokio::task::spawn_blocking(move || {
                let reply = dispatch(&d, req.op);
                drop(my_turn);
                reply
            });
            match work.await {
                Ok(r) => r,
                Err(e) => {
                    tracing::error!(error = %e, "pam request task failed");
                    PamReply::Error {
                        message: "internal error".into(),
                    }
                }
            }
        }
        Err(FrameIoError::Timeout) => {
            tracing::debug!("pam socket: client sent nothing in time");
            return;
        }
        Err(e) => PamReply::Error {
            message: e.to_string(),
        },
    };
    if let Err(e) = unix::write_frame(&mut stream, &reply, io).await {
        tracing::debug!(error = %e, "pam socket: reply not delivered");
    }
}

/// Runs one PAM operation on the engine. Engine errors become `Error` replies (the module fails
/// closed on them).
pub fn dispatch(d: &Daemon, op: PamOp) -> PamReply {
    let e = &d.engine;
    let r = match op {
        PamOp::Begin {
            user,
            service,
            rhost,
            tty: _,
            groups,
        } => {
            if let Err(why) = crate::validate_username(&user) {
                return PamReply::Error { message: why };
            }
            e.begin(&twofold_core::engine::SignInAttempt {
                user,
                service,
                rhost,
                roles: groups,
                device_token: None,
            })
        }
        PamOp::Verify {
            session,
            method,
            code,
        } => e.verify(&session, method, &code),
        PamOp::Switch { session, method } => e.switch(&session, method),
        PamOp::EnrollStart { session } => e.enroll_start(&session),
        PamOp::EnrollConfirm { session, code } => e.enroll_confirm(&session, &code),
        PamOp::EnrollSkip { session } => e.enroll_skip(&session),
    };
    r.unwrap_or_else(|err| {
        tracing::warn!(error = %err, "pam request failed");
        PamReply::Error {
            message: err.to_string(),
        }
    })
}
