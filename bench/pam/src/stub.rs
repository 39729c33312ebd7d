//! A stand-in for `twofoldd` that answers the PAM socket's protocol without an engine or a store:
//! the floor of a daemon-backed module on this machine (libpam, the module, two socket round
//! trips with their process wake-ups, JSON both ways).
//!
//! Run as its own process (`pam-bench --stub-daemon SOCKET`), like the real daemon, and served
//! the same way: threads blocked in `accept(2)`, one request per connection. `Begin` gets an
//! authenticator-app challenge; `Verify` is accepted for [`RIGHT`] and rejected otherwise, with
//! the same reply shapes (and so the same module work) as the daemon's.

use std::io::{Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;
use twofold_core::proto::{Challenge, MAX_FRAME, Method, PamOp, PamReply, PamRequest};

/// The one code the stub accepts.
pub const RIGHT: &str = "135790";

/// Serves `socket` until the process is killed.
pub fn serve(socket: &Path) -> Result<(), String> {
    let _ = std::fs::remove_file(socket);
    let listener = UnixListener::bind(socket).map_err(|e| format!("{}: {e}", socket.display()))?;
    let listener = std::sync::Arc::new(listener);
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let l = listener.clone();
            std::thread::spawn(move || {
                for stream in l.incoming().flatten() {
                    let _ = answer(stream);
                }
            })
        })
        .collect();
    for t in threads {
        let _ = t.join();
    }
    Ok(())
}

fn challenge() -> Challenge {
    Challenge {
        session: "stub-session-0123456789abcdef".into(),
        method: Method::AuthenticatorApp,
        alternatives: Vec::new(),
        info: None,
        attempts_left: Some(3),
        resends_left: None,
    }
}

fn answer(mut s: UnixStream) -> std::io::Result<()> {
    let mut len = [0u8; 4];
    s.read_exact(&mut len)?;
    let len = u32::from_be_bytes(len) as usize;
    if len > MAX_FRAME {
        return Ok(());
    }
    let mut body = vec![0u8; len];
    s.read_exact(&mut body)?;
    let reply = match serde_json::from_slice::<PamRequest>(&body).map(|r| r.op) {
        Ok(PamOp::Begin { .. }) => PamReply::Challenge(challenge()),
        Ok(PamOp::Verify { code, method, .. }) if code.expose() == RIGHT => {
            PamReply::Accepted { method }
        }
        Ok(PamOp::Verify { .. }) => PamReply::Rejected {
            message: "That code is not right. 2 attempts left.".into(),
            challenge: Challenge {
                attempts_left: Some(2),
                ..challenge()
            },
        },
        Ok(_) | Err(_) => PamReply::Error {
            message: "the stub answers begin and verify only".into(),
        },
    };
    let out = serde_json::to_vec(&reply).map_err(std::io::Error::other)?;
    let mut frame = (out.len() as u32).to_be_bytes().to_vec();
    frame.extend_from_slice(&out);
    s.write_all(&frame)
}
