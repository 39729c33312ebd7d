//! Several real `twofoldd` processes on one PostgreSQL schema, for the multi-node tests.
//!
//! - The server is `TWOFOLD_TEST_PG_URL` or `postgresql://postgres@127.0.0.1:5432/test`. When it
//!   is not reachable every test prints `SKIPPED: PostgreSQL not reachable at ...` and returns;
//!   `TWOFOLD_REQUIRE_PG=1` turns the skip into a failure.
//! - Each cluster gets its own schema (`twofold_mn_<pid>_<n>_<random>`), dropped afterwards.
//! - Every node reads the same key file (one shared state directory), as a real deployment
//!   must: secrets sealed by one node are opened by the others.
//! - Optionally the nodes reach the server through a loopback [`Proxy`] that can cut every
//!   connection and refuse new ones (an outage for these nodes only), and that knows its
//!   upstream ports, so `pg_terminate_backend` hits exactly these nodes' sessions.
//! - [`pam`] speaks the PAM socket protocol directly (what `pam_twofold.so` sends).

#![allow(dead_code)]

use crate::common::TestDaemon;
use crate::common::daemon::TestDaemonBuilder;
use crate::oidc_support::{CLIENT, Op, PASSWORD, REDIRECT, SECRET};
use std::io::Write as _;
use std::net::{Shutdown, TcpListener, TcpStream, ToSocketAddrs};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use twofold_core::proto::{
    Code, Method, PROTOCOL_VERSION, PamOp, PamReply, PamRequest, read_frame, write_frame,
};
use twofold_core::settings::Settings;
use twofold_core::store::Store;
use twofold_core::store::postgres::{PgOptions, PgStore};

const DEFAULT_URL: &str = "postgresql://postgres@127.0.0.1:5432/test";

/// The test server's URL.
pub fn pg_url() -> String {
    std::env::var("TWOFOLD_TEST_PG_URL").unwrap_or_else(|_| DEFAULT_URL.to_string())
}

fn config() -> tokio_postgres::Config {
    pg_url()
        .parse()
        .expect("TWOFOLD_TEST_PG_URL is not a PostgreSQL URL")
}

/// `host:port` of the test server.
pub fn server_addr() -> String {
    let cfg = config();
    let host = match cfg.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
        _ => "127.0.0.1".into(),
    };
    format!(
        "{host}:{}",
        cfg.get_ports().first().copied().unwrap_or(5432)
    )
}

/// Whether the server answers; prints the skip line when it does not (once per process).
/// With `TWOFOLD_REQUIRE_PG=1` an unreachable server fails the test instead.
pub fn reachable() -> bool {
    static REACHABLE: OnceLock<bool> = OnceLock::new();
    let ok = *REACHABLE.get_or_init(|| {
        let addr = server_addr();
        let ok = addr
            .to_socket_addrs()
            .ok()
            .and_then(|mut a| a.next())
            .is_some_and(|a| TcpStream::connect_timeout(&a, Duration::from_secs(2)).is_ok());
        if !ok {
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED: PostgreSQL not reachable at {addr} (set TWOFOLD_TEST_PG_URL to use another server)"
            );
        }
        ok
    });
    if !ok && std::env::var_os("TWOFOLD_REQUIRE_PG").is_some_and(|v| v == "1") {
        panic!(
            "PostgreSQL not reachable at {} and TWOFOLD_REQUIRE_PG=1",
            server_addr()
        );
    }
    ok
}

/// Runs `sql` (simple protocol) on a fresh admin connection; the first column of every row.
pub fn admin(sql: &str) -> Vec<String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let (client, conn) = config()
            .connect(tokio_postgres::NoTls)
            .await
            .expect("admin connection");
        let task = tokio::spawn(conn);
        let rows = client
            .simple_query(sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        drop(client);
        let _ = task.await;
        rows.into_iter()
            .filter_map(|m| match m {
                tokio_postgres::SimpleQueryMessage::Row(r) => {
                    Some(r.get(0).unwrap_or("").to_string())
                }
                _ => None,
            })
            .collect()
    })
}

/// A TCP proxy to the test server that can go down (cut every connection, refuse new ones) and
/// knows the local ports of its upstream connections (the `client_port` PostgreSQL sees).
pub struct Proxy {
    port: u16,
    up: Arc<AtomicBool>,
    conns: Arc<Mutex<Vec<TcpStream>>>,
    upstream_ports: Arc<Mutex<Vec<u16>>>,
}

impl Proxy {
    /// Listens on a free loopback port.
    pub fn start() -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("proxy listener");
        let port = listener.local_addr().expect("proxy address").port();
        let up = Arc::new(AtomicBool::new(true));
        let conns: Arc<Mutex<Vec<TcpStream>>> = Arc::default();
        let upstream_ports: Arc<Mutex<Vec<u16>>> = Arc::default();
        let upstream = server_addr();
        let (up2, conns2, ports2) = (up.clone(), conns.clone(), upstream_ports.clone());
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                if !up2.load(Ordering::SeqCst) {
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                }
                let Ok(server) = TcpStream::connect(&upstream) else {
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                };
                if let Ok(a) = server.local_addr() {
                    ports2.lock().expect("ports").push(a.port());
                }
                let (Ok(c2), Ok(s2)) = (client.try_clone(), server.try_clone()) else {
                    continue;
                };
                {
                    let mut list = conns2.lock().expect("conns");
                    list.push(c2);
                    list.push(s2);
                }
                let (Ok(c3), Ok(s3)) = (client.try_clone(), server.try_clone()) else {
                    continue;
                };
                pipe(c3, s3);
                pipe(server, client);
            }
        });
        Proxy {
            port,
            up,
            conns,
            upstream_ports,
        }
    }

    /// The store URL through the proxy.
    pub fn url(&self) -> String {
        let cfg = config();
        format!(
            "postgresql://{}@127.0.0.1:{}/{}",
            cfg.get_user().unwrap_or("postgres"),
            self.port,
            cfg.get_dbname().unwrap_or("test")
        )
    }

    /// Up: forward new connections. Down: cut every connection and refuse new ones.
    pub fn set_up(&self, up: bool) {
        self.up.store(up, Ordering::SeqCst);
        if !up {
            for s in self.conns.lock().expect("conns").drain(..) {
                let _ = s.shutdown(Shutdown::Both);
            }
        }
    }

    /// Terminates (`pg_terminate_backend`) every server session opened through this proxy;
    /// returns how many were still alive.
    pub fn terminate_backends(&self) -> usize {
        let ports: Vec<String> = self
            .upstream_ports
            .lock()
            .expect("ports")
            .iter()
            .map(u16::to_string)
            .collect();
        if ports.is_empty() {
            return 0;
        }
        admin(&format!(
            "SELECT pg_terminate_backend(pid)::TEXT FROM pg_stat_activity
             WHERE client_port IN ({}) AND pid <> pg_backend_pid()",
            ports.join(", ")
        ))
        .iter()
        .filter(|r| r.as_str() == "true")
        .count()
    }
}

fn pipe(mut from: TcpStream, mut to: TcpStream) {
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut from, &mut to);
        let _ = to.shutdown(Shutdown::Both);
        let _ = from.shutdown(Shutdown::Both);
    });
}

/// Nodes on one schema, plus a store handle of the test's own on the same schema.
pub struct Cluster {
    /// The daemons (each an OpenID Connect provider with the test clients, and a PAM socket).
    pub nodes: Vec<Op>,
    /// The test's own handle on the shared database (settings, inspection).
    pub store: PgStore,
    /// The proxy the nodes go through, when asked for.
    pub proxy: Option<Proxy>,
    /// The schema.
    pub schema: String,
    state: tempfile::TempDir,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.nodes.clear();
        let schema = self.schema.clone();
        let _ =
            std::panic::catch_unwind(|| admin(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE")));
    }
}

/// Waits until the provider answers `/healthz`: `twofoldd: ready` is printed once the sockets
/// are bound, while the provider may still be loading its keys from the database.
fn wait_for_http(base: &str) {
    use std::io::Read as _;
    let addr = base.trim_start_matches("http://").to_string();
    let start = std::time::Instant::now();
    loop {
        let ok = TcpStream::connect(&addr).ok().and_then(|mut s| {
            s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
            s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                .ok()?;
            let mut out = String::new();
            s.read_to_string(&mut out).ok()?;
            out.starts_with("HTTP/1.1 200").then_some(())
        });
        if ok.is_some() {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the provider at {base} never answered /healthz"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn phc(secret: &str) -> String {
    twofoldd::http::first_factor::hash_password(secret, &[3u8; 16]).expect("hashing")
}

/// The `[http]` lines of every node: high throttles and the confidential test client.
fn clients() -> String {
    format!(
        r#"signin_per_minute = 100000
token_per_minute = 100000
[[http.clients]]
client_id = "{CLIENT}"
name = "Test App"
client_secret_hash = "{}"
redirect_uris = ["{REDIRECT}"]"#,
        phc(SECRET)
    )
}

/// A fresh schema name for this process.
pub fn fresh_schema() -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    let rnd = twofold_core::clock::random_id(&twofold_core::clock::OsRng);
    format!(
        "twofold_mn_{}_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed),
        &rnd[..10]
    )
}

impl Cluster {
    /// `n` nodes on a fresh schema (directly, or through a [`Proxy`]), `tweak` adding
    /// configuration lines to every node; `None` when PostgreSQL is not reachable (skip).
    pub fn start(
        n: usize,
        via_proxy: bool,
        tweak: impl Fn(TestDaemonBuilder) -> TestDaemonBuilder,
    ) -> Option<Cluster> {
        if !reachable() {
            return None;
        }
        let schema = fresh_schema();
        let store = PgStore::connect(PgOptions {
            schema: Some(schema.clone()),
            pool_size: 4,
            ..PgOptions::new(pg_url())
        })
        .expect("connect to PostgreSQL");
        let proxy = via_proxy.then(Proxy::start);
        let url = proxy.as_ref().map_or_else(pg_url, Proxy::url);
        let state = tempfile::Builder::new()
            .prefix("twofold-mn-state-")
            .tempdir()
            .expect("state dir");
        let mut cluster = Cluster {
            nodes: Vec::new(),
            store,
            proxy,
            schema: schema.clone(),
            state,
        };
        // One after the other: the first node creates the key file and the signing keys, the
        // others load them.
        for _ in 0..n {
            let state_dir = cluster.state.path().to_path_buf();
            let b = tweak(
                TestDaemon::builder()
                    .config("", &format!("state_dir = {state_dir:?}"))
                    .config("store", "backend = \"postgres\"")
                    .config("store", &format!("postgres_url = {url:?}"))
                    .config("store", &format!("postgres_schema = {schema:?}"))
                    .config("store", "pool_size = 8")
                    .config("store", "timeout_secs = 3"),
            );
            // The client table goes last: lines after `[[http.clients]]` belong to it.
            let d = b.config("http", &clients()).start();
            let base = d.http_url().expect("http listener").to_string();
            wait_for_http(&base);
            cluster.nodes.push(Op { d, base });
        }
        Some(cluster)
    }

    /// The PAM socket of node `i`.
    pub fn pam_socket(&self, i: usize) -> &Path {
        &self.nodes[i % self.nodes.len()].d.pam_socket
    }

    /// The admin socket of node `i`.
    pub fn admin_socket(&self, i: usize) -> &Path {
        &self.nodes[i % self.nodes.len()].d.admin_socket
    }

    /// Changes the shared settings through the test's own store handle.
    pub fn settings(&self, change: impl FnOnce(&mut Settings)) {
        let cur = self.store.load_settings().expect("settings");
        let mut s = cur.settings.clone();
        change(&mut s);
        s.validate().expect("valid test settings");
        self.store
            .save_settings(&s, cur.version)
            .expect("saving settings");
    }

    /// A local web user with the test password.
    pub fn add_web_user(&self, name: &str) {
        self.store.ensure_user(name, 1).expect("user");
        self.store
            .set_password_hash(name, &phc(PASSWORD))
            .expect("password");
    }
}

/// One request on a PAM socket, as the module sends it.
pub fn pam(socket: &Path, op: PamOp) -> Result<PamReply, String> {
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

/// `Begin` for `user` from a fixed address over sshd.
pub fn begin(socket: &Path, user: &str) -> Result<PamReply, String> {
    pam(
        socket,
        PamOp::Begin {
            user: user.into(),
            service: "sshd".into(),
            rhost: Some("192.0.2.10".into()),
            tty: None,
            groups: None,
        },
    )
}

/// `Verify` of `code` for `method` in `session`.
pub fn verify(
    socket: &Path,
    session: &str,
    method: Method,
    code: &str,
) -> Result<PamReply, String> {
    pam(
        socket,
        PamOp::Verify {
            session: session.into(),
            method,
            code: Code::new(code),
        },
    )
}

/// The session id of a challenge, or a panic naming the reply.
pub fn challenge_session(r: &PamReply) -> String {
    match r {
        PamReply::Challenge(c) => c.session.clone(),
        other => panic!("expected a challenge, got {other:?}"),
    }
}

/// An enrolled user as the test knows it.
pub struct Enrolled {
    /// Base32 text key.
    pub key: String,
    /// The backup codes shown at enrollment.
    pub backup_codes: Vec<String>,
    /// The TOTP step enrollment was confirmed with (that step and earlier ones are spent).
    pub step: u64,
}

/// Enrolls `user` through node socket `socket` the way the module does (required enrollment).
pub fn enroll(socket: &Path, user: &str) -> Enrolled {
    let session = match begin(socket, user).expect("begin") {
        PamReply::Enroll(o) => o.session,
        other => panic!("expected an enrollment offer for {user}, got {other:?}"),
    };
    let key = match pam(
        socket,
        PamOp::EnrollStart {
            session: session.clone(),
        },
    )
    .expect("enroll start")
    {
        PamReply::EnrollSecret(s) => s.text_key.replace(' ', ""),
        other => panic!("expected a secret, got {other:?}"),
    };
    let step = crate::common::totp::now_step();
    let code = crate::common::totp::code_at(&key, step);
    match pam(
        socket,
        PamOp::EnrollConfirm {
            session,
            code: Code::new(code),
        },
    )
    .expect("enroll confirm")
    {
        PamReply::Enrolled { backup_codes } => Enrolled {
            key,
            backup_codes,
            step,
        },
        other => panic!("expected enrolled, got {other:?}"),
    }
}
