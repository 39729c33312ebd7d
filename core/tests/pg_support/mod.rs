//! Test support for the PostgreSQL store: the server to use, the skip rule, a fresh schema per
//! test (dropped afterwards), an admin connection, and a TCP proxy that can simulate an outage.

use std::io::Write;
use std::net::{Shutdown, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use twofold_core::store::Store;
use twofold_core::store::postgres::{PgOptions, PgStore};

const DEFAULT_URL: &str = "postgresql://postgres@127.0.0.1:5432/test";

/// `TWOFOLD_TEST_PG_URL`, or the machine's PostgreSQL (trust auth, database `test`).
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
    let port = cfg.get_ports().first().copied().unwrap_or(5432);
    format!("{host}:{port}")
}

/// Whether the server answers; prints the skip line once when it does not. With
/// `TWOFOLD_REQUIRE_PG=1` an unreachable server fails the test instead.
pub fn skip_unless_reachable() -> bool {
    static REACHABLE: OnceLock<bool> = OnceLock::new();
    let reachable = *REACHABLE.get_or_init(|| {
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
    if !reachable && std::env::var_os("TWOFOLD_REQUIRE_PG").is_some_and(|v| v == "1") {
        panic!(
            "PostgreSQL not reachable at {} and TWOFOLD_REQUIRE_PG=1",
            server_addr()
        );
    }
    reachable
}

/// Store options for the test server, in `schema`.
pub fn pg_options(schema: Option<&str>) -> PgOptions {
    PgOptions {
        schema: schema.map(str::to_string),
        pool_size: 8,
        ..PgOptions::new(pg_url())
    }
}

/// A persistent admin connection (for holding locks across calls).
pub struct Session {
    rt: tokio::runtime::Runtime,
    client: tokio_postgres::Client,
}

impl Session {
    /// Connects to the test server.
    pub fn open() -> Session {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let client = rt.block_on(async {
            let (client, conn) = config().connect(tokio_postgres::NoTls).await.unwrap();
            tokio::spawn(conn);
            client
        });
        Session { rt, client }
    }

    /// Runs statements (simple protocol); returns the first column of every row.
    pub fn exec(&self, sql: &str) -> Vec<String> {
        let msgs = self
            .rt
            .block_on(self.client.simple_query(sql))
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        msgs.into_iter()
            .filter_map(|m| match m {
                tokio_postgres::SimpleQueryMessage::Row(r) => {
                    Some(r.get(0).unwrap_or("").to_string())
                }
                _ => None,
            })
            .collect()
    }
}

/// Runs `sql` on a fresh admin connection; the first column of every row.
pub fn admin(sql: &str) -> Vec<String> {
    Session::open().exec(sql)
}

/// The single value `sql` returns.
pub fn admin_one(sql: &str) -> String {
    let mut v = admin(sql);
    assert_eq!(v.len(), 1, "{sql} returned {v:?}");
    v.remove(0)
}

/// A store in its own new schema, dropped with the schema at the end of the test.
pub struct PgFixture {
    store: Option<PgStore>,
    schema: String,
}

impl PgFixture {
    /// The store.
    pub fn pg(&self) -> &PgStore {
        self.store.as_ref().expect("store")
    }
    /// The schema name.
    pub fn schema(&self) -> &str {
        &self.schema
    }
}

impl std::ops::Deref for PgFixture {
    type Target = dyn Store;
    fn deref(&self) -> &(dyn Store + 'static) {
        self.pg()
    }
}

impl Drop for PgFixture {
    fn drop(&mut self) {
        drop(self.store.take());
        let _ = std::panic::catch_unwind(|| {
            admin(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.schema))
        });
    }
}

/// A fresh store in schema `twofold_test_<pid>_<n>_<random>`, or `None` (skip) when the server
/// is not reachable.
pub fn pg_fixture() -> Option<PgFixture> {
    static N: AtomicUsize = AtomicUsize::new(0);
    if !skip_unless_reachable() {
        return None;
    }
    let rnd = twofold_core::clock::random_id(&twofold_core::clock::OsRng);
    let schema = format!(
        "twofold_test_{}_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed),
        &rnd[..12]
    );
    let store = PgStore::connect(pg_options(Some(&schema))).expect("connect to PostgreSQL");
    Some(PgFixture {
        store: Some(store),
        schema,
    })
}

/// A TCP proxy to the test server that can go "down": drop every connection and refuse new ones.
pub struct Proxy {
    port: u16,
    up: Arc<AtomicBool>,
    conns: Arc<Mutex<Vec<TcpStream>>>,
}

impl Proxy {
    /// Listens on a free loopback port.
    pub fn start() -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let up = Arc::new(AtomicBool::new(true));
        let conns: Arc<Mutex<Vec<TcpStream>>> = Arc::default();
        let upstream = server_addr();
        let (up2, conns2) = (up.clone(), conns.clone());
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                if !up2.load(Ordering::SeqCst) {
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                }
                let Ok(server) = TcpStream::connect(&upstream) else {
                    continue;
                };
                {
                    let mut list = conns2.lock().unwrap();
                    list.push(client.try_clone().unwrap());
                    list.push(server.try_clone().unwrap());
                }
                pipe(client.try_clone().unwrap(), server.try_clone().unwrap());
                pipe(server, client);
            }
        });
        Proxy { port, up, conns }
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
            for s in self.conns.lock().unwrap().drain(..) {
                let _ = s.shutdown(Shutdown::Both);
            }
        }
    }
}

fn pipe(mut from: TcpStream, mut to: TcpStream) {
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut from, &mut to);
        let _ = to.shutdown(Shutdown::Both);
        let _ = from.shutdown(Shutdown::Both);
    });
}
