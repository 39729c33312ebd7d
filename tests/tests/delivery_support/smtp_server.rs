//! A real SMTP server on 127.0.0.1: Debian's `python3-aiosmtpd` with a small handler that prints
//! each message as one JSON line, accepts every recipient except those containing `reject`
//! (answered `550 5.1.1 ... User unknown`, the way a relay refuses an unknown mailbox).

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const HANDLER: &str = r#"
import json, signal, ssl, sys
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

port, mode, cert, key, user, password = sys.argv[1:7]

class Sink:
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if "reject" in address:
            return "550 5.1.1 <%s>: Recipient address rejected: User unknown" % address
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 Ok"

    async def handle_DATA(self, server, session, envelope):
        print(json.dumps({
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "data": envelope.content.decode("utf-8", "replace"),
        }), flush=True)
        return "250 2.0.0 Ok: queued as T%d" % id(envelope)

def authenticator(server, session, envelope, mechanism, auth_data):
    ok = (isinstance(auth_data, LoginPassword)
          and auth_data.login.decode() == user
          and auth_data.password.decode() == password)
    return AuthResult(success=ok, handled=False)

kw = {}
ctx = None
if mode in ("starttls", "tls"):
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
if mode == "starttls":
    kw["tls_context"] = ctx
    kw["require_starttls"] = True
if user:
    kw["authenticator"] = authenticator
    kw["auth_required"] = True
    kw["auth_require_tls"] = mode == "starttls"
controller = Controller(Sink(), hostname="127.0.0.1", port=int(port),
                        ssl_context=ctx if mode == "tls" else None, **kw)
controller.start()
print(json.dumps({"ready": True}), flush=True)
signal.sigwait({signal.SIGTERM, signal.SIGINT})
controller.stop()
"#;

/// One message the server received.
#[derive(Debug, Clone)]
pub struct Mail {
    pub mail_from: String,
    pub rcpt_tos: Vec<String>,
    pub data: String,
}

/// The python interpreter that has aiosmtpd (Debian's, not a pyenv shim).
pub fn python() -> &'static str {
    if std::path::Path::new("/usr/bin/python3").exists() {
        "/usr/bin/python3"
    } else {
        "python3"
    }
}

/// A port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// How the server speaks.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// `plain`, `starttls` (required) or `tls` (implicit).
    pub mode: &'static str,
    /// Certificate chain and key (PEM) for `starttls` and `tls`.
    pub cert: Option<(std::path::PathBuf, std::path::PathBuf)>,
    /// Required AUTH user and password.
    pub auth: Option<(String, String)>,
}

/// The running server; killed on drop.
pub struct SmtpServer {
    pub port: u16,
    pub options: Options,
    dir: tempfile::TempDir,
    child: Option<Child>,
    pub mails: Arc<Mutex<Vec<Mail>>>,
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.stop();
    }
}

impl SmtpServer {
    /// A server handle on `port`, not yet running.
    pub fn on_port(port: u16) -> SmtpServer {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("twofold_sink.py"), HANDLER).unwrap();
        SmtpServer {
            port,
            options: Options {
                mode: "plain",
                ..Options::default()
            },
            dir,
            child: None,
            mails: Arc::new(Mutex::new(Vec::new())),
        }
    }

    /// Starts a server on a free port.
    pub fn start() -> SmtpServer {
        let mut s = SmtpServer::on_port(free_port());
        s.run();
        s
    }

    /// Starts (or restarts) the server process and waits until it accepts connections.
    pub fn run(&mut self) {
        assert!(self.child.is_none(), "already running");
        let o = &self.options;
        let (cert, key) = o
            .cert
            .clone()
            .map(|(c, k)| (c.display().to_string(), k.display().to_string()))
            .unwrap_or_default();
        let (user, password) = o.auth.clone().unwrap_or_default();
        let mut child = Command::new(python())
            .arg(self.dir.path().join("twofold_sink.py"))
            .args([
                self.port.to_string(),
                o.mode.to_string(),
                cert,
                key,
                user,
                password,
            ])
            .env("PYTHONUNBUFFERED", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 -m aiosmtpd (Debian package python3-aiosmtpd) must be installed");
        let out = child.stdout.take().unwrap();
        let mails = self.mails.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                let Ok(v) = serde_json::from_str::<serde_json::Value>(&line) else {
                    continue;
                };
                if v.get("data").is_none() {
                    continue;
                }
                mails.lock().unwrap().push(Mail {
                    mail_from: v["mail_from"].as_str().unwrap_or_default().into(),
                    rcpt_tos: v["rcpt_tos"]
                        .as_array()
                        .map(|a| {
                            a.iter()
                                .filter_map(|x| x.as_str().map(str::to_string))
                                .collect()
                        })
                        .unwrap_or_default(),
                    data: v["data"].as_str().unwrap_or_default().into(),
                });
            }
        });
        self.child = Some(child);
        let end = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                Instant::now() < end,
                "aiosmtpd did not start on {}",
                self.port
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops the server process.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Messages received so far.
    pub fn mails(&self) -> Vec<Mail> {
        self.mails.lock().unwrap().clone()
    }

    /// Waits for at least `n` messages.
    pub fn wait_for(&self, n: usize, limit: Duration) -> Vec<Mail> {
        let end = Instant::now() + limit;
        loop {
            let m = self.mails();
            if m.len() >= n || Instant::now() > end {
                return m;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }
}

/// A header's value in a raw message (unfolded).
pub fn header(data: &str, name: &str) -> Option<String> {
    let mut lines = data.lines().take_while(|l| !l.is_empty()).peekable();
    while let Some(l) = lines.next() {
        if let Some((k, v)) = l.split_once(':')
            && k.eq_ignore_ascii_case(name)
        {
            let mut v = v.trim().to_string();
            while let Some(n) = lines.peek() {
                if n.starts_with(' ') || n.starts_with('\t') {
                    v.push(' ');
                    v.push_str(n.trim());
                    lines.next();
                } else {
                    break;
                }
            }
            return Some(v);
        }
    }
    None
}

/// The body of a raw message.
pub fn body(data: &str) -> String {
    match data
        .split_once("\r\n\r\n")
        .or_else(|| data.split_once("\n\n"))
    {
        Some((_, b)) => b.to_string(),
        None => String::new(),
    }
}
