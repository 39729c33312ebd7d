//! A loopback TCP proxy in front of PostgreSQL that counts what the daemons ask of the server:
//!
//! - *statements*: frontend `Sync` (`S`, the end of an extended-protocol exchange: one prepared
//!   statement executed, or one statement prepared) and `Query` (`Q`, a simple-protocol
//!   statement such as `BEGIN` or `COMMIT`) messages;
//! - *round trips*: how often a client sends something while it has nothing outstanding, i.e.
//!   how often it had to wait for the server's `ReadyForQuery` (`Z`) before going on. A batch of
//!   pipelined statements is one round trip.
//!
//! Counting happens before a message is forwarded (both directions), so a reply can never be
//! seen before the request that caused it. Connections are plaintext (the daemons connect
//! without TLS), so the first client message is the length-prefixed startup packet.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Counters shared by every proxied connection.
#[derive(Default)]
pub struct Counters {
    /// `Sync` + `Query` messages.
    pub statements: AtomicU64,
    /// Waits for the server.
    pub round_trips: AtomicU64,
    /// While `Some`, the SQL of every statement executed (`Bind` of a prepared statement, or a
    /// simple `Query`), in order.
    pub trace: Mutex<Option<Vec<String>>>,
}

/// The NUL-terminated strings at the start of a message body.
fn cstrs(body: &[u8], n: usize) -> Vec<String> {
    body.split(|b| *b == 0)
        .take(n)
        .map(|s| String::from_utf8_lossy(s).into_owned())
        .collect()
}

impl Counters {
    /// Records the SQL of statement messages while tracing. `names` maps this connection's
    /// prepared statement names to their SQL (from `Parse`).
    fn trace(&self, ty: u8, body: &[u8], names: &mut HashMap<String, String>) {
        let sql = match ty {
            b'P' => {
                let v = cstrs(body, 2);
                if let [name, sql] = &v[..] {
                    names.insert(name.clone(), sql.clone());
                }
                return;
            }
            b'B' => match &cstrs(body, 2)[..] {
                [_, stmt] => names.get(stmt).cloned().unwrap_or_else(|| stmt.clone()),
                _ => return,
            },
            b'Q' => cstrs(body, 1).concat(),
            _ => return,
        };
        if let Some(t) = self
            .trace
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_mut()
        {
            t.push(sql.split_whitespace().collect::<Vec<_>>().join(" "));
        }
    }

    /// Starts (`true`) or stops recording; stopping returns what was recorded.
    pub fn tracing(&self, on: bool) -> Vec<String> {
        let mut t = self.trace.lock().unwrap_or_else(|e| e.into_inner());
        let out = t.take().unwrap_or_default();
        if on {
            *t = Some(Vec::new());
        }
        out
    }

    /// (statements, round trips) so far.
    pub fn snapshot(&self) -> (u64, u64) {
        (
            self.statements.load(Ordering::SeqCst),
            self.round_trips.load(Ordering::SeqCst),
        )
    }
}

/// The proxy: listens on a free loopback port, forwards to `upstream`.
pub struct CountingProxy {
    /// Its port.
    pub port: u16,
    /// What it counted.
    pub counters: Arc<Counters>,
}

impl CountingProxy {
    /// Starts forwarding to `upstream` (`host:port`).
    pub fn start(upstream: String) -> std::io::Result<CountingProxy> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        let counters = Arc::new(Counters::default());
        let c = counters.clone();
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let Ok(server) = TcpStream::connect(&upstream) else {
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                };
                let _ = client.set_nodelay(true);
                let _ = server.set_nodelay(true);
                let pending = Arc::new(Mutex::new(Pending::default()));
                let (Ok(c2), Ok(s2)) = (client.try_clone(), server.try_clone()) else {
                    continue;
                };
                let (cc, pc) = (c.clone(), pending.clone());
                std::thread::spawn(move || frontend(client, s2, &cc, &pc));
                std::thread::spawn(move || backend(server, c2, &pending));
            }
        });
        Ok(CountingProxy { port, counters })
    }
}

/// Splits a byte stream into protocol messages: `(type, total length)` of each complete one.
struct Framer {
    buf: Vec<u8>,
    startup: bool,
}

impl Framer {
    fn new(startup: bool) -> Framer {
        Framer {
            buf: Vec::new(),
            startup,
        }
    }

    /// Feeds bytes; returns the messages completed by them as (type, body) (`0` for the
    /// startup packet).
    fn feed(&mut self, bytes: &[u8]) -> Vec<(u8, Vec<u8>)> {
        self.buf.extend_from_slice(bytes);
        let mut out = Vec::new();
        loop {
            let head = usize::from(!self.startup);
            if self.buf.len() < head + 4 {
                break;
            }
            let ty = if self.startup { 0 } else { self.buf[0] };
            let len = u32::from_be_bytes([
                self.buf[head],
                self.buf[head + 1],
                self.buf[head + 2],
                self.buf[head + 3],
            ]) as usize;
            let total = head + len.max(4);
            if self.buf.len() < total {
                break;
            }
            let body = self.buf[head + 4..total].to_vec();
            self.buf.drain(..total);
            self.startup = false;
            out.push((ty, body));
        }
        out
    }
}

/// What one connection has outstanding: `Sync`/`Query` messages (and the startup packet) not
/// yet answered by `ReadyForQuery`, and whether an extended-protocol exchange has begun
/// (`Parse`, `Bind`, ... sent, its `Sync` not yet).
#[derive(Default)]
struct Pending {
    unanswered: i64,
    open: bool,
}

fn frontend(mut from: TcpStream, mut to: TcpStream, c: &Counters, pending: &Mutex<Pending>) {
    let mut framer = Framer::new(true);
    let mut names: HashMap<String, String> = HashMap::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        for (ty, body) in framer.feed(&buf[..n]) {
            c.trace(ty, &body, &mut names);
            let mut p = pending.lock().unwrap_or_else(|e| e.into_inner());
            match ty {
                // The startup packet is answered by the first ReadyForQuery; not a statement.
                0 => p.unanswered += 1,
                b'X' => {}
                _ => {
                    if p.unanswered <= 0 && !p.open {
                        c.round_trips.fetch_add(1, Ordering::SeqCst);
                    }
                    if ty == b'S' || ty == b'Q' {
                        c.statements.fetch_add(1, Ordering::SeqCst);
                        p.unanswered += 1;
                        p.open = false;
                    } else {
                        p.open = true;
                    }
                }
            }
        }
        if to.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = to.shutdown(Shutdown::Both);
    let _ = from.shutdown(Shutdown::Both);
}

fn backend(mut from: TcpStream, mut to: TcpStream, pending: &Mutex<Pending>) {
    let mut framer = Framer::new(false);
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        for (ty, _) in framer.feed(&buf[..n]) {
            if ty == b'Z' {
                pending.lock().unwrap_or_else(|e| e.into_inner()).unanswered -= 1;
            }
        }
        if to.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = to.shutdown(Shutdown::Both);
    let _ = from.shutdown(Shutdown::Both);
}
