//! Loopback fakes for the CLI tests: a Twilio-style SMS provider that checks HTTP Basic
//! credentials, and an SNTP server whose clock is off by a chosen amount.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A Twilio-compatible provider on 127.0.0.1: `GET /2010-04-01/Accounts/{sid}.json` answers 200
/// for the right Basic credentials and 401 (Twilio error 20003) otherwise; `POST
/// .../Messages.json` answers 201 with a message resource for the right credentials.
pub struct FakeProvider {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// Requests seen (`METHOD PATH`).
    pub seen: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
}

impl Drop for FakeProvider {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.url.trim_start_matches("http://"));
    }
}

fn base64(s: &str) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let b = s.as_bytes();
    let mut out = String::new();
    for c in b.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                out.push(T[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

impl FakeProvider {
    /// Starts a provider that accepts `sid` with `token`.
    pub fn start(sid: &str, token: &str) -> FakeProvider {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}", l.local_addr().expect("addr"));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let expected = format!("Basic {}", base64(&format!("{sid}:{token}")));
        let (seen2, stop2, sid) = (seen.clone(), stop.clone(), sid.to_string());
        std::thread::spawn(move || {
            for s in l.incoming() {
                if stop2.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(s) = s else { continue };
                let _ = serve(s, &expected, &sid, &seen2);
            }
        });
        FakeProvider { url, seen, stop }
    }
}

fn serve(
    mut s: TcpStream,
    expected: &str,
    sid: &str,
    seen: &Mutex<Vec<String>>,
) -> std::io::Result<()> {
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut r = BufReader::new(s.try_clone()?);
    let mut line = String::new();
    r.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let (method, path) = (
        parts.next().unwrap_or("").to_string(),
        parts.next().unwrap_or("").to_string(),
    );
    let (mut len, mut auth) = (0usize, String::new());
    loop {
        let mut h = String::new();
        if r.read_line(&mut h)? == 0 || h.trim().is_empty() {
            break;
        }
        let (k, v) = h.split_once(':').unwrap_or(("", ""));
        match k.trim().to_ascii_lowercase().as_str() {
            "content-length" => len = v.trim().parse().unwrap_or(0),
            "authorization" => auth = v.trim().to_string(),
            _ => {}
        }
    }
    let mut body = vec![0u8; len];
    r.read_exact(&mut body)?;
    if let Ok(mut g) = seen.lock() {
        g.push(format!("{method} {path}"));
    }
    let (status, json) = if auth != expected {
        (
            "401 Unauthorized",
            r#"{"code": 20003, "message": "Authenticate", "more_info": "https://www.twilio.com/docs/errors/20003", "status": 401}"#.to_string(),
        )
    } else if method == "POST" && path.ends_with("/Messages.json") {
        (
            "201 Created",
            format!(
                r#"{{"sid": "SM0123456789abcdef0123456789abcdef", "account_sid": "{sid}", "status": "queued"}}"#
            ),
        )
    } else {
        (
            "200 OK",
            format!(r#"{{"sid": "{sid}", "status": "active"}}"#),
        )
    };
    write!(
        s,
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{json}",
        json.len()
    )?;
    s.flush()
}

/// An SNTP server on 127.0.0.1 whose clock runs `skew` seconds ahead (negative: behind).
pub struct Sntp {
    /// `127.0.0.1:PORT`.
    pub addr: String,
    /// Queries answered.
    pub answered: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
}

impl Drop for Sntp {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

#[allow(
    clippy::disallowed_methods,
    reason = "a fake time server serves the real clock, shifted by the test's skew"
)]
fn ntp_now(skew: f64) -> [u8; 8] {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
        + skew
        + 2_208_988_800.0;
    let mut b = [0u8; 8];
    b[..4].copy_from_slice(&(now.trunc() as u32).to_be_bytes());
    b[4..].copy_from_slice(&((now.fract() * 4_294_967_296.0) as u32).to_be_bytes());
    b
}

impl Sntp {
    /// Starts the server.
    pub fn start(skew: f64) -> Sntp {
        let sock = UdpSocket::bind("127.0.0.1:0").expect("bind");
        sock.set_read_timeout(Some(Duration::from_millis(200)))
            .expect("timeout");
        let addr = sock.local_addr().expect("addr").to_string();
        let stop = Arc::new(AtomicBool::new(false));
        let answered = Arc::new(AtomicUsize::new(0));
        let (stop2, answered2) = (stop.clone(), answered.clone());
        std::thread::spawn(move || {
            let mut buf = [0u8; 512];
            while !stop2.load(Ordering::SeqCst) {
                let Ok((n, from)) = sock.recv_from(&mut buf) else {
                    continue;
                };
                if n < 48 {
                    continue;
                }
                let mut reply = [0u8; 48];
                reply[0] = 0b00_100_100; // LI 0, version 4, mode 4 (server)
                reply[1] = 2; // stratum
                reply[24..32].copy_from_slice(&buf[40..48]); // originate = client's transmit
                reply[32..40].copy_from_slice(&ntp_now(skew)); // receive
                reply[40..48].copy_from_slice(&ntp_now(skew)); // transmit
                // Counted before the reply leaves: the client may act on it (and the test
                // read the count) before this thread runs again.
                answered2.fetch_add(1, Ordering::SeqCst);
                let _ = sock.send_to(&reply, from);
            }
        });
        Sntp {
            addr,
            answered,
            stop,
        }
    }
}

/// One message an [`Smtp`] fake received.
#[derive(Debug, Clone)]
pub struct Mail {
    /// `RCPT TO` addresses.
    pub to: Vec<String>,
    /// The DATA section (headers and body).
    pub data: String,
}

/// A plain SMTP server on 127.0.0.1 (no TLS, no AUTH): enough for a relay with
/// `security = "none"` on the loopback interface.
pub struct Smtp {
    /// The port.
    pub port: u16,
    /// Messages received.
    pub mail: Arc<Mutex<Vec<Mail>>>,
    stop: Arc<AtomicBool>,
}

impl Drop for Smtp {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

impl Smtp {
    /// Starts the server.
    pub fn start() -> Smtp {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = l.local_addr().expect("addr").port();
        let mail = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (mail2, stop2) = (mail.clone(), stop.clone());
        std::thread::spawn(move || {
            for s in l.incoming() {
                if stop2.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(s) = s else { continue };
                let mail = mail2.clone();
                std::thread::spawn(move || {
                    let _ = smtp_session(s, &mail);
                });
            }
        });
        Smtp { port, mail, stop }
    }

    /// Waits up to 20 s for `n` messages and returns them.
    pub fn wait_for(&self, n: usize) -> Vec<Mail> {
        let start = std::time::Instant::now();
        loop {
            let got = self.mail.lock().map(|m| m.clone()).unwrap_or_default();
            if got.len() >= n || start.elapsed() > Duration::from_secs(20) {
                return got;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn smtp_session(mut s: TcpStream, mail: &Mutex<Vec<Mail>>) -> std::io::Result<()> {
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut r = BufReader::new(s.try_clone()?);
    s.write_all(b"220 fake.test ESMTP\r\n")?;
    let mut to = Vec::new();
    loop {
        let mut line = String::new();
        if r.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let upper = line.to_ascii_uppercase();
        if upper.starts_with("EHLO") || upper.starts_with("HELO") {
            s.write_all(b"250-fake.test\r\n250 8BITMIME\r\n")?;
        } else if upper.starts_with("MAIL FROM") {
            to.clear();
            s.write_all(b"250 OK\r\n")?;
        } else if upper.starts_with("RCPT TO") {
            let addr = line
                .split_once('<')
                .and_then(|(_, x)| x.split_once('>'))
                .map(|(a, _)| a.to_string())
                .unwrap_or_default();
            to.push(addr);
            s.write_all(b"250 OK\r\n")?;
        } else if upper.starts_with("DATA") {
            s.write_all(b"354 go ahead\r\n")?;
            let mut data = String::new();
            loop {
                let mut l = String::new();
                if r.read_line(&mut l)? == 0 {
                    return Ok(());
                }
                if l == ".\r\n" || l == ".\n" {
                    break;
                }
                data.push_str(&l);
            }
            if let Ok(mut m) = mail.lock() {
                m.push(Mail {
                    to: std::mem::take(&mut to),
                    data,
                });
            }
            s.write_all(b"250 OK queued\r\n")?;
        } else if upper.starts_with("QUIT") {
            s.write_all(b"221 bye\r\n")?;
            return Ok(());
        } else {
            s.write_all(b"250 OK\r\n")?;
        }
    }
}
