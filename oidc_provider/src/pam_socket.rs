//! The PAM socket: `pam_twofold.so` asks here what to do and sends the user's answers.
//!
//! One request per connection. Only peers whose uid is allowed (root by default, checked with
//! SO_PEERCRED) are served. Each request is bounded in size (64 KiB) and time (`io_timeout_ms`
//! for the whole request to arrive, the same again for the reply to leave).
//!
//! Served by `max_connections` plain threads, each blocked in `accept(2)` on the shared
//! listener and doing all of one request itself: read, engine, reply. The kernel hands each
//! connection to exactly one waiting thread, so a request costs one thread wake-up in the
//! daemon and no hand-offs between threads (an async accept plus a blocking-pool hop cost three
//! wake-ups, a third of a sign-in's time on a small VM, measured by `bench/pam`). Engine calls
//! run side by side; their SQLite writes take turns inside the store. A slow client holds one
//! thread for at most `io_timeout_ms`; past `max_connections` at once, connections wait in the
//! listen backlog within the module's own `timeout=`.

use crate::Daemon;
use crate::config::PamConfig;
use std::io::{self, Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;
use twofold_core::proto::{MAX_FRAME, PROTOCOL_VERSION, PamOp, PamReply, PamRequest};

/// How long shutdown waits for requests in flight.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

/// Stack of a serving thread: the engine and SQLite need far less than the 8 MiB default.
const THREAD_STACK: usize = 512 * 1024;

/// Serves the PAM socket until `shutdown` is cancelled.
pub async fn serve(
    listener: tokio::net::UnixListener,
    daemon: Arc<Daemon>,
    shutdown: CancellationToken,
) {
    let cfg = daemon.config.pam.clone();
    let listener = match listener
        .into_std()
        .and_then(|l| l.set_nonblocking(false).map(|()| l))
    {
        Ok(l) => Arc::new(l),
        Err(e) => {
            tracing::error!(error = %e, "pam socket: cannot serve the listener");
            return;
        }
    };
    let stop = Arc::new(AtomicBool::new(false));
    let n = cfg.max_connections.clamp(1, 1024);
    let mut threads = Vec::with_capacity(n);
    for i in 0..n {
        let (l, d, c, s) = (listener.clone(), daemon.clone(), cfg.clone(), stop.clone());
        let spawned = std::thread::Builder::new()
            .name(format!("pam-{i}"))
            .stack_size(THREAD_STACK)
            .spawn(move || accept_loop(&l, &d, &c, &s));
        match spawned {
            Ok(t) => threads.push(t),
            Err(e) => {
                tracing::error!(error = %e, "pam socket: cannot start a serving thread");
                break;
            }
        }
    }
    shutdown.cancelled().await;
    stop.store(true, Ordering::SeqCst);
    let (path, count) = (cfg.socket.clone(), threads.len());
    // Waking and joining happen on a plain thread (not the runtime's blocking pool, which the
    // runtime would wait for when it is dropped).
    let (done, woken) = tokio::sync::oneshot::channel::<()>();
    let joiner = std::thread::Builder::new()
        .name("pam-stop".into())
        .spawn(move || {
            wake_acceptors(&listener, &path, count);
            for t in threads {
                let _ = t.join();
            }
            let _ = done.send(());
        });
    if let Err(e) = joiner {
        tracing::warn!(error = %e, "pam socket: cannot wait for the serving threads");
        return;
    }
    // An engine call in flight ends in milliseconds; a thread still waiting for a silent
    // client's bytes after this is left behind (the process is ending) and its client fails
    // closed.
    if tokio::time::timeout(SHUTDOWN_GRACE, woken).await.is_err() {
        tracing::warn!("pam socket: connections still open at shutdown were dropped");
    }
}

/// Ends every `accept(2)` in progress: `shutdown(2)` on the listener wakes them on Linux; a
/// connection per thread is the fallback (each one sees the stop flag when it wakes).
fn wake_acceptors(listener: &UnixListener, path: &Path, threads: usize) {
    let _ = rustix::net::shutdown(listener, rustix::net::Shutdown::Both);
    for _ in 0..threads {
        if UnixStream::connect(path).is_err() {
            break;
        }
    }
}

fn accept_loop(listener: &UnixListener, daemon: &Daemon, cfg: &PamConfig, stop: &AtomicBool) {
    loop {
        let accepted = listener.accept();
        if stop.load(Ordering::SeqCst) {
            return;
        }
        match accepted {
            Ok((stream, _)) => handle(stream, daemon, cfg),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                tracing::warn!(error = %e, "pam socket accept failed");
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
}

fn handle(mut stream: UnixStream, daemon: &Daemon, cfg: &PamConfig) {
    let io = Duration::from_millis(cfg.io_timeout_ms.max(1));
    let uid = peer_uid(&stream);
    if !uid.is_some_and(|u| cfg.allowed_uids.contains(&u)) {
        tracing::warn!(?uid, "pam socket: refused a peer whose uid is not allowed");
        let reply = PamReply::Error {
            message: "permission denied: this peer may not use the PAM socket".into(),
        };
        let _ = write_frame(&mut stream, &reply, io);
        return;
    }
    let reply = match read_frame(&mut stream, Instant::now() + io) {
        Ok(req) if req.v != PROTOCOL_VERSION => PamReply::Error {
            message: format!(
                "protocol version {} is not supported (daemon speaks {PROTOCOL_VERSION})",
                req.v
            ),
        },
        Ok(req) => {
            // A panic in the engine must not take the thread (and its share of the socket)
            // with it: the client gets an error and fails closed.
            match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                dispatch(daemon, req.op)
            })) {
                Ok(r) => r,
                Err(_) => {
                    tracing::error!("pam request panicked");
                    PamReply::Error {
                        message: "internal error".into(),
                    }
                }
            }
        }
        Err(FrameError::Timeout) => {
            tracing::debug!("pam socket: client sent nothing in time");
            return;
        }
        Err(e) => PamReply::Error {
            message: e.to_string(),
        },
    };
    if let Err(e) = write_frame(&mut stream, &reply, io) {
        tracing::debug!(error = %e, "pam socket: reply not delivered");
    }
}

/// The peer's uid (SO_PEERCRED), if the kernel reports it.
fn peer_uid(stream: &UnixStream) -> Option<u32> {
    rustix::net::sockopt::socket_peercred(stream)
        .ok()
        .map(|c| c.uid.as_raw())
}

/// Why a request could not be read or a reply written.
#[derive(Debug, thiserror::Error)]
enum FrameError {
    #[error("timed out")]
    Timeout,
    #[error("i/o: {0}")]
    Io(#[from] io::Error),
    #[error("frame of {0} bytes exceeds the limit of {MAX_FRAME}")]
    TooLarge(usize),
    #[error("malformed request: {0}")]
    Json(#[from] serde_json::Error),
}

/// Reads one frame; the whole frame must arrive before `deadline` (a client that drips bytes
/// cannot hold the thread longer).
fn read_frame(stream: &mut UnixStream, deadline: Instant) -> Result<PamRequest, FrameError> {
    let mut len = [0u8; 4];
    read_full(stream, &mut len, deadline)?;
    let len = u32::from_be_bytes(len) as usize;
    if len > MAX_FRAME {
        return Err(FrameError::TooLarge(len));
    }
    let mut body = zeroize::Zeroizing::new(vec![0u8; len]);
    read_full(stream, &mut body, deadline)?;
    Ok(serde_json::from_slice(&body)?)
}

fn read_full(
    stream: &mut UnixStream,
    mut buf: &mut [u8],
    deadline: Instant,
) -> Result<(), FrameError> {
    while !buf.is_empty() {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(FrameError::Timeout);
        }
        stream.set_read_timeout(Some(left))?;
        match stream.read(buf) {
            Ok(0) => return Err(io::Error::from(io::ErrorKind::UnexpectedEof).into()),
            Ok(n) => buf = &mut buf[n..],
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                return Err(FrameError::Timeout);
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// Writes one frame, giving the client `limit` to take it.
fn write_frame(
    stream: &mut UnixStream,
    reply: &PamReply,
    limit: Duration,
) -> Result<(), FrameError> {
    let body = serde_json::to_vec(reply)?;
    if body.len() > MAX_FRAME {
        return Err(FrameError::TooLarge(body.len()));
    }
    let mut buf = Vec::with_capacity(body.len() + 4);
    buf.extend_from_slice(&(body.len() as u32).to_be_bytes());
    buf.extend_from_slice(&body);
    stream.set_write_timeout(Some(limit))?;
    stream.write_all(&buf).map_err(|e| match e.kind() {
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => FrameError::Timeout,
        _ => FrameError::Io(e),
    })
}

/// Runs one PAM operation on the engine. Engine errors become `Error` replies (the module fails
/// closed on them).
pub fn dispatch(d: &Daemon, op: PamOp) -> PamReply {
    let e = &d.pam_engine;
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
                look_up_roles: groups.is_none(),
                roles: groups.unwrap_or_default(),
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
