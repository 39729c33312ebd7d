//! Talking to `twofoldd` over its PAM socket: one connection per request, every step bounded by
//! one deadline (`timeout=`), no threads, no signals.
//!
//! The socket is non-blocking and every wait is a `poll(2)` with the time left, so neither a
//! dead nor a hung daemon can hold a login longer than the budget. Writes use `MSG_NOSIGNAL`:
//! a daemon that closes early must not raise SIGPIPE in the host (sshd, login, sudo).

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use twofold_core::proto::{MAX_FRAME, PROTOCOL_VERSION, PamOp, PamReply, PamRequest};
use zeroize::Zeroizing;

/// Why a request to the daemon failed. Every variant is a daemon failure (failmode applies).
#[derive(Debug)]
pub enum ClientError {
    /// The socket could not be reached (no such file, connection refused, permission denied).
    Connect(io::Error),
    /// The deadline passed.
    Timeout,
    /// Reading or writing failed, or the daemon closed the connection early.
    Io(io::Error),
    /// The reply's length is above the protocol's limit.
    TooLarge(usize),
    /// The reply is not a valid message.
    Malformed(String),
}

impl std::fmt::Display for ClientError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClientError::Connect(e) => write!(f, "cannot connect to the daemon: {e}"),
            ClientError::Timeout => f.write_str("the daemon did not answer in time"),
            ClientError::Io(e) => write!(f, "i/o error talking to the daemon: {e}"),
            ClientError::TooLarge(n) => {
                write!(f, "reply of {n} bytes exceeds the limit of {MAX_FRAME}")
            }
            ClientError::Malformed(e) => write!(f, "malformed reply from the daemon: {e}"),
        }
    }
}

/// Something that answers PAM operations: the real daemon, or a fake in tests.
pub trait Daemon {
    /// Sends one operation and waits for the reply.
    fn call(&mut self, op: PamOp) -> Result<PamReply, ClientError>;
}

/// The daemon behind a Unix socket.
#[derive(Debug, Clone)]
pub struct SocketDaemon {
    path: PathBuf,
    timeout: Duration,
}

impl SocketDaemon {
    /// A client for the socket at `path`; each request gets `timeout` in total.
    pub fn new(path: impl Into<PathBuf>, timeout: Duration) -> SocketDaemon {
        SocketDaemon {
            path: path.into(),
            timeout,
        }
    }
}

impl Daemon for SocketDaemon {
    fn call(&mut self, op: PamOp) -> Result<PamReply, ClientError> {
        let deadline = Instant::now() + self.timeout;
        let req = PamRequest {
            v: PROTOCOL_VERSION,
            op,
        };
        // The request may carry a code: keep its serialized form in memory that is wiped on drop.
        let body = Zeroizing::new(
            serde_json::to_vec(&req).map_err(|e| ClientError::Malformed(e.to_string()))?,
        );
        drop(req);
        let len = u32::try_from(body.len())
            .ok()
            .filter(|_| body.len() <= MAX_FRAME)
            .ok_or(ClientError::TooLarge(body.len()))?;
        let mut frame = Zeroizing::new(Vec::with_capacity(body.len() + 4));
        frame.extend_from_slice(&len.to_be_bytes());
        frame.extend_from_slice(&body);

        let sock = connect(&self.path, deadline)?;
        send_all(&sock, &frame, deadline)?;
        let mut len = [0u8; 4];
        recv_exact(&sock, &mut len, deadline)?;
        let len = u32::from_be_bytes(len) as usize;
        if len > MAX_FRAME {
            return Err(ClientError::TooLarge(len));
        }
        let mut reply = Zeroizing::new(vec![0u8; len]);
        recv_exact(&sock, &mut reply, deadline)?;
        serde_json::from_slice(&reply).map_err(|e| ClientError::Malformed(e.to_string()))
    }
}

fn remaining(deadline: Instant) -> Result<Duration, ClientError> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        Err(ClientError::Timeout)
    } else {
        Ok(left)
    }
}

fn sockaddr(path: &Path) -> Result<(libc::sockaddr_un, libc::socklen_t), ClientError> {
    use std::os::unix::ffi::OsStrExt;
    let bytes = path.as_os_str().as_bytes();
    // SAFETY: sockaddr_un is plain old data; all-zero is a valid value.
    let mut addr: libc::sockaddr_un = unsafe { std::mem::zeroed() };
    if bytes.is_empty() || bytes.len() >= addr.sun_path.len() || bytes.contains(&0) {
        return Err(ClientError::Connect(io::Error::new(
            io::ErrorKind::InvalidInput,
            "socket path is empty, too long or contains NUL",
        )));
    }
    addr.sun_family = libc::AF_UNIX as libc::sa_family_t;
    for (dst, src) in addr.sun_path.iter_mut().zip(bytes) {
        *dst = *src as libc::c_char;
    }
    let len = std::mem::size_of::<libc::sa_family_t>() + bytes.len() + 1;
    let len = libc::socklen_t::try_from(len).map_err(|_| {
        ClientError::Connect(io::Error::new(io::ErrorKind::InvalidInput, "path too long"))
    })?;
    Ok((addr, len))
}

/// Waits until `fd` is ready for `events`, or the deadline.
fn wait(fd: &OwnedFd, events: libc::c_short, deadline: Instant) -> Result<(), ClientError> {
    loop {
        let left = remaining(deadline)?;
        let ms = libc::c_int::try_from(left.as_millis().saturating_add(1)).unwrap_or(i32::MAX);
        let mut p = libc::pollfd {
            fd: fd.as_raw_fd(),
            events,
            revents: 0,
        };
        // SAFETY: `p` is one valid pollfd that lives across the call; nfds is 1.
        let r = unsafe { libc::poll(&mut p, 1, ms) };
        if r > 0 {
            return Ok(());
        }
        if r == 0 {
            continue; // `remaining` reports the timeout on the next turn
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(ClientError::Io(e));
        }
    }
}

fn connect(path: &Path, deadline: Instant) -> Result<OwnedFd, ClientError> {
    let (addr, len) = sockaddr(path)?;
    // SAFETY: socket(2) takes no pointers; the result is checked below.
    let raw = unsafe {
        libc::socket(
            libc::AF_UNIX,
            libc::SOCK_STREAM | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK,
            0,
        )
    };
    if raw < 0 {
        return Err(ClientError::Connect(io::Error::last_os_error()));
    }
    // SAFETY: `raw` is a fresh descriptor that nothing else owns.
    let fd = unsafe { OwnedFd::from_raw_fd(raw) };
    loop {
        // SAFETY: `addr` is an initialised sockaddr_un and `len` does not exceed its size.
        let r = unsafe {
            libc::connect(
                fd.as_raw_fd(),
                (&raw const addr).cast::<libc::sockaddr>(),
                len,
            )
        };
        if r == 0 {
            return Ok(fd);
        }
        let e = io::Error::last_os_error();
        match e.raw_os_error() {
            Some(libc::EINTR) => continue,
            // A full listen backlog: the daemon is alive but busy; try again until the deadline.
            Some(libc::EAGAIN) => {
                let left = remaining(deadline)?;
                std::thread::sleep(left.min(Duration::from_millis(5)));
            }
            Some(libc::EINPROGRESS) => {
                wait(&fd, libc::POLLOUT, deadline)?;
                let mut err: libc::c_int = 0;
                let mut elen = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
                // SAFETY: `err` and `elen` are valid for writes of the sizes given.
                let r = unsafe {
                    libc::getsockopt(
                        fd.as_raw_fd(),
                        libc::SOL_SOCKET,
                        libc::SO_ERROR,
                        (&raw mut err).cast::<libc::c_void>(),
                        &mut elen,
                    )
                };
                if r != 0 {
                    return Err(ClientError::Connect(io::Error::last_os_error()));
                }
                if err != 0 {
                    return Err(ClientError::Connect(io::Error::from_raw_os_error(err)));
                }
                return Ok(fd);
            }
            _ => return Err(ClientError::Connect(e)),
        }
    }
}

fn send_all(fd: &OwnedFd, mut buf: &[u8], deadline: Instant) -> Result<(), ClientError> {
    while !buf.is_empty() {
        // SAFETY: `buf` is valid for reads of `buf.len()` bytes.
        let n = unsafe {
            libc::send(
                fd.as_raw_fd(),
                buf.as_ptr().cast::<libc::c_void>(),
                buf.len(),
                libc::MSG_NOSIGNAL,
            )
        };
        if n >= 0 {
            buf = buf.get(n as usize..).unwrap_or_default();
            continue;
        }
        let e = io::Error::last_os_error();
        match e.kind() {
            io::ErrorKind::Interrupted => {}
            io::ErrorKind::WouldBlock => wait(fd, libc::POLLOUT, deadline)?,
            _ => return Err(ClientError::Io(e)),
        }
    }
    Ok(())
}

fn recv_exact(fd: &OwnedFd, buf: &mut [u8], deadline: Instant) -> Result<(), ClientError> {
    let mut got = 0;
    while got < buf.len() {
        let rest = buf.get_mut(got..).unwrap_or_default();
        // SAFETY: `rest` is valid for writes of `rest.len()` bytes.
        let n = unsafe {
            libc::recv(
                fd.as_raw_fd(),
                rest.as_mut_ptr().cast::<libc::c_void>(),
                rest.len(),
                0,
            )
        };
        if n > 0 {
            got += n as usize;
            continue;
        }
        if n == 0 {
            return Err(ClientError::Io(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the daemon closed the connection before replying",
            )));
        }
        let e = io::Error::last_os_error();
        match e.kind() {
            io::ErrorKind::Interrupted => {}
            io::ErrorKind::WouldBlock => wait(fd, libc::POLLIN, deadline)?,
            _ => return Err(ClientError::Io(e)),
        }
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::os::unix::net::UnixListener;
    use twofold_core::proto::{read_frame, write_frame};

    fn begin() -> PamOp {
        PamOp::Begin {
            user: "alice".into(),
            service: "sshd".into(),
            rhost: None,
            tty: None,
            groups: None,
        }
    }

    #[test]
    fn a_request_and_its_reply_make_the_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.sock");
        let l = UnixListener::bind(&path).unwrap();
        let t = std::thread::spawn(move || {
            let (mut s, _) = l.accept().unwrap();
            let req: PamRequest = read_frame(&mut s).unwrap();
            assert_eq!(req.v, PROTOCOL_VERSION);
            assert!(matches!(req.op, PamOp::Begin { ref user, .. } if user == "alice"));
            write_frame(
                &mut s,
                &PamReply::Allow {
                    reason: "ok".into(),
                },
            )
            .unwrap();
        });
        let mut d = SocketDaemon::new(&path, Duration::from_secs(5));
        let r = d.call(begin()).unwrap();
        assert!(matches!(r, PamReply::Allow { .. }));
        t.join().unwrap();
    }

    #[test]
    fn a_missing_socket_is_a_connect_error() {
        let dir = tempfile::tempdir().unwrap();
        let mut d = SocketDaemon::new(dir.path().join("none.sock"), Duration::from_secs(1));
        assert!(matches!(d.call(begin()), Err(ClientError::Connect(_))));
    }

    #[test]
    fn a_daemon_that_never_answers_times_out() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.sock");
        let l = UnixListener::bind(&path).unwrap();
        let t = std::thread::spawn(move || {
            let (mut s, _) = l.accept().unwrap();
            // Read everything and hold the connection open until the client gives up.
            let mut all = Vec::new();
            let _ = s.read_to_end(&mut all);
        });
        let mut d = SocketDaemon::new(&path, Duration::from_millis(300));
        assert!(matches!(d.call(begin()), Err(ClientError::Timeout)));
        drop(d);
        t.join().unwrap();
    }

    #[test]
    fn an_oversized_reply_is_refused_before_reading_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.sock");
        let l = UnixListener::bind(&path).unwrap();
        let t = std::thread::spawn(move || {
            let (mut s, _) = l.accept().unwrap();
            let _: PamRequest = read_frame(&mut s).unwrap();
            s.write_all(&u32::MAX.to_be_bytes()).unwrap();
        });
        let mut d = SocketDaemon::new(&path, Duration::from_secs(5));
        assert!(matches!(d.call(begin()), Err(ClientError::TooLarge(_))));
        t.join().unwrap();
    }

    #[test]
    fn garbage_and_early_close_are_errors_not_panics() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.sock");
        let l = UnixListener::bind(&path).unwrap();
        let t = std::thread::spawn(move || {
            let (mut s, _) = l.accept().unwrap();
            let _: PamRequest = read_frame(&mut s).unwrap();
            s.write_all(&5u32.to_be_bytes()).unwrap();
            s.write_all(b"nope!").unwrap();
            let (s2, _) = l.accept().unwrap();
            drop(s2); // closes without reading or replying
        });
        let mut d = SocketDaemon::new(&path, Duration::from_secs(5));
        assert!(matches!(d.call(begin()), Err(ClientError::Malformed(_))));
        assert!(matches!(d.call(begin()), Err(ClientError::Io(_))));
        t.join().unwrap();
    }
}
