//! A real `twofoldd` for a test: its own temporary directory with the configuration, the state
//! (SQLite database and key), both sockets and the log; started and waited for; killed on drop.
//!
//! ```ignore
//! let d = TestDaemon::start();                       // defaults
//! let d = TestDaemon::builder()
//!     .config("http", "issuer = \"http://127.0.0.1\"")  // extra lines, per section
//!     .start();
//! d.pam_socket; d.admin_socket; d.http_url();         // where to reach it
//! d.kill9(); d.restart();                             // faults
//! d.log();                                            // its stderr so far
//! ```

use super::{artifacts, current_uid, signal};
use std::collections::BTreeMap;
use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a start may take before the test fails.
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// Builds a [`TestDaemon`] configuration.
#[derive(Debug, Default)]
pub struct TestDaemonBuilder {
    /// Extra lines per section (`""` is the top level).
    sections: BTreeMap<String, Vec<String>>,
    log: Option<String>,
}

impl TestDaemonBuilder {
    /// Adds a line to a section of the configuration (`""` for the top level), e.g.
    /// `.config("pam", "io_timeout_ms = 500")`. The `[pam]`, `[admin]` and `[http]` defaults
    /// stay unless the same key is given here.
    pub fn config(mut self, section: &str, line: &str) -> Self {
        self.sections
            .entry(section.to_owned())
            .or_default()
            .push(line.to_owned());
        self
    }

    /// The log filter (default `info`).
    pub fn log(mut self, filter: &str) -> Self {
        self.log = Some(filter.to_owned());
        self
    }

    /// Writes the configuration and starts the daemon; panics with its log if it does not
    /// become ready.
    pub fn start(self) -> TestDaemon {
        let dir = tempfile::Builder::new()
            .prefix("twofold-e2e-")
            .tempdir()
            .expect("temp dir");
        let root = dir.path().to_path_buf();
        let uid = current_uid();
        let mut defaults: BTreeMap<String, Vec<String>> = BTreeMap::new();
        defaults.insert(
            String::new(),
            vec![
                "version = 1".into(),
                format!("state_dir = {:?}", root.join("state")),
                format!("log = {:?}", self.log.as_deref().unwrap_or("info")),
            ],
        );
        defaults.insert(
            "pam".into(),
            vec![
                format!("socket = {:?}", root.join("pam.sock")),
                format!("allowed_uids = [0, {uid}]"),
            ],
        );
        defaults.insert(
            "admin".into(),
            vec![
                format!("socket = {:?}", root.join("admin.sock")),
                format!("allowed_uids = [0, {uid}]"),
            ],
        );
        defaults.insert("http".into(), vec!["listen = \"127.0.0.1:0\"".into()]);
        let key_of = |l: &str| l.split('=').next().unwrap_or("").trim().to_owned();
        for (section, lines) in self.sections {
            let d = defaults.entry(section).or_default();
            for line in lines {
                let k = key_of(&line);
                d.retain(|l| key_of(l) != k);
                d.push(line);
            }
        }
        let mut text = String::new();
        if let Some(top) = defaults.remove("") {
            text.push_str(&top.join("\n"));
            text.push('\n');
        }
        for (section, lines) in defaults {
            text.push_str(&format!("\n[{section}]\n{}\n", lines.join("\n")));
        }
        let config_path = root.join("twofoldd.toml");
        std::fs::write(&config_path, &text).expect("writing the configuration");
        let mut d = TestDaemon {
            pam_socket: root.join("pam.sock"),
            admin_socket: root.join("admin.sock"),
            state_dir: root.join("state"),
            log_path: root.join("twofoldd.log"),
            config_path,
            config_text: text,
            child: None,
            http: None,
            dir,
        };
        d.spawn();
        d
    }
}

/// A running `twofoldd`.
pub struct TestDaemon {
    /// The configuration file.
    pub config_path: PathBuf,
    /// Its text.
    pub config_text: String,
    /// The PAM socket.
    pub pam_socket: PathBuf,
    /// The admin socket.
    pub admin_socket: PathBuf,
    /// The state directory (database, key).
    pub state_dir: PathBuf,
    /// The daemon's stderr (appended across restarts).
    pub log_path: PathBuf,
    child: Option<Child>,
    http: Option<String>,
    dir: tempfile::TempDir,
}

impl TestDaemon {
    /// A daemon with the default test configuration.
    pub fn start() -> TestDaemon {
        TestDaemon::builder().start()
    }

    /// A configurable daemon.
    pub fn builder() -> TestDaemonBuilder {
        TestDaemonBuilder::default()
    }

    /// The temporary directory holding everything of this daemon.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The SQLite database file.
    pub fn sqlite_path(&self) -> PathBuf {
        self.state_dir.join("twofold.db")
    }

    /// `http://127.0.0.1:PORT` once the HTTP listener is up.
    pub fn http_url(&self) -> Option<&str> {
        self.http.as_deref()
    }

    /// The daemon's process id while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// The daemon's database, opened alongside it (SQLite allows several processes; the
    /// engine reads settings and users on every request, so changes apply at once).
    pub fn store(&self) -> twofold_core::store::sqlite::SqliteStore {
        twofold_core::store::sqlite::SqliteStore::open(&self.sqlite_path())
            .expect("opening the daemon's database")
    }

    /// Changes the settings through the store (validated as a whole first).
    pub fn update_settings(&self, change: impl FnOnce(&mut twofold_core::settings::Settings)) {
        use twofold_core::store::Store;
        let store = self.store();
        let current = store.load_settings().expect("loading settings");
        let mut s = current.settings.clone();
        change(&mut s);
        if let Err(p) = s.validate() {
            panic!("test settings are invalid: {p}");
        }
        store
            .save_settings(&s, current.version)
            .expect("saving settings");
    }

    /// Everything the daemon wrote to stderr so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    fn spawn(&mut self) {
        let offset = std::fs::metadata(&self.log_path).map_or(0, |m| m.len() as usize);
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log_path)
            .expect("opening the daemon log");
        let child = Command::new(artifacts::twofoldd())
            .arg("--config")
            .arg(&self.config_path)
            .env_remove("NOTIFY_SOCKET")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("starting twofoldd");
        self.child = Some(child);
        let start = Instant::now();
        loop {
            let log = self.log();
            let new = log.get(offset..).unwrap_or("");
            if new.lines().any(|l| l.trim() == "twofoldd: ready") {
                self.http = new.lines().find_map(|l| {
                    l.trim()
                        .strip_prefix("twofoldd: http listening on ")
                        .map(str::to_owned)
                });
                return;
            }
            if let Some(c) = self.child.as_mut()
                && let Ok(Some(status)) = c.try_wait()
            {
                self.child = None;
                panic!(
                    "twofoldd exited ({status}) before it was ready.\nconfig:\n{}\nlog:\n{new}",
                    self.config_text
                );
            }
            if start.elapsed() > READY_TIMEOUT {
                panic!("twofoldd was not ready after {READY_TIMEOUT:?}.\nlog:\n{new}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stops the daemon with SIGTERM and waits for it to exit (SIGKILL after 10 s).
    pub fn stop(&mut self) {
        let _ = self.terminate();
    }

    /// Stops the daemon with SIGTERM: its exit status, or an error if it was still running
    /// after 10 s (then it is killed with SIGKILL).
    #[allow(dead_code)]
    pub fn terminate(&mut self) -> Result<std::process::ExitStatus, String> {
        let Some(mut c) = self.child.take() else {
            return Err("the daemon is not running".into());
        };
        signal(c.id(), "TERM");
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(10) {
            if let Ok(Some(status)) = c.try_wait() {
                return Ok(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = c.kill();
        let _ = c.wait();
        Err("the daemon was still running 10 s after SIGTERM".into())
    }

    /// Kills the daemon with SIGKILL (no cleanup: the socket file stays).
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Freezes (SIGSTOP) or thaws (SIGCONT) the daemon: a hung daemon for timeout tests.
    pub fn freeze(&self, frozen: bool) {
        if let Some(pid) = self.pid() {
            signal(pid, if frozen { "STOP" } else { "CONT" });
        }
    }

    /// Starts the daemon again on the same configuration and state (stopping it first if it
    /// runs).
    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
    }
}

impl Drop for TestDaemon {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            signal(c.id(), "CONT");
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}
