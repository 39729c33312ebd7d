//! A stand-in syslog for machines without one: binds `/dev/log` (only if nothing is there),
//! counts the messages, and removes its own socket when dropped.
//!
//! Without it, glibc drops syslog messages silently until some module calls
//! `openlog(LOG_CONS)` (pam_google_authenticator does); from then on every message of the
//! process goes to `/dev/console` at about 1 ms each, which would distort both modules' figures.

use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const DEV_LOG: &str = "/dev/log";

/// The running sink (or nothing, when a syslog already listens).
pub struct Sink {
    count: Arc<AtomicU64>,
    kept: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
    owned: bool,
}

impl Sink {
    /// Binds `/dev/log` if it does not exist.
    pub fn start() -> Result<Sink, String> {
        let count = Arc::new(AtomicU64::new(0));
        let kept = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        if Path::new(DEV_LOG).exists() {
            return Ok(Sink {
                count,
                kept,
                stop,
                thread: None,
                owned: false,
            });
        }
        let sock = UnixDatagram::bind(DEV_LOG).map_err(|e| format!("binding {DEV_LOG}: {e}"))?;
        sock.set_read_timeout(Some(Duration::from_millis(100)))
            .map_err(|e| e.to_string())?;
        let (c, k, s) = (count.clone(), kept.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            let mut buf = vec![0u8; 8192];
            while !s.load(Ordering::Relaxed) {
                if let Ok(n) = sock.recv(&mut buf) {
                    c.fetch_add(1, Ordering::Relaxed);
                    let line = String::from_utf8_lossy(&buf[..n]).into_owned();
                    if line.contains("pam_twofold(")
                        && let Ok(mut v) = k.lock()
                        && v.len() < 1_000_000
                    {
                        v.push(line);
                    }
                }
            }
        });
        Ok(Sink {
            count,
            kept,
            stop,
            thread: Some(thread),
            owned: true,
        })
    }

    /// Messages received so far (0 when another syslog listens).
    pub fn messages(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    /// The messages of pam_twofold received so far.
    pub fn twofold_lines(&self) -> Vec<String> {
        self.kept.lock().map(|v| v.clone()).unwrap_or_default()
    }

    /// Whether this sink owns `/dev/log`.
    pub fn owned(&self) -> bool {
        self.owned
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        if self.owned {
            let _ = std::fs::remove_file(DEV_LOG);
        }
    }
}
