//! The daemons under load: real `twofoldd` processes (the release binary next to this one) on a
//! SQLite file or on one PostgreSQL schema, each with its own PAM socket and one shared state
//! directory (the key file every node must share). No HTTP listener and no delivery worker, so
//! the only database work is the sign-ins'.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Where a node keeps its data.
#[derive(Debug, Clone)]
pub enum Backend {
    /// The SQLite file under the state directory (`synchronous=FULL`, the default).
    Sqlite,
    /// PostgreSQL at `url`, tables in `schema`.
    Postgres {
        /// Connection URL.
        url: String,
        /// Schema.
        schema: String,
    },
}

/// A running `twofoldd`.
pub struct Node {
    child: Child,
    /// Its PAM socket.
    pub socket: PathBuf,
    log: PathBuf,
}

fn current_uid() -> u32 {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").map_or(u32::MAX, |m| m.uid())
}

impl Node {
    /// Starts node `n` in `dir` (sockets, configuration, log) on the state directory `state`,
    /// and waits for `twofoldd: ready`.
    pub fn start(
        bin: &Path,
        dir: &Path,
        state: &Path,
        n: usize,
        backend: &Backend,
    ) -> Result<Node, String> {
        let uid = current_uid();
        let root = dir.join(format!("node{n}"));
        std::fs::create_dir_all(&root).map_err(|e| e.to_string())?;
        let store = match backend {
            Backend::Sqlite => String::new(),
            Backend::Postgres { url, schema } => format!(
                "\n[store]\nbackend = \"postgres\"\npostgres_url = {url:?}\npostgres_schema = {schema:?}\npool_size = 16\n"
            ),
        };
        let config = format!(
            "version = 1\nstate_dir = {state:?}\nlog = \"warn\"\n\n[pam]\nsocket = {pam:?}\nallowed_uids = [0, {uid}]\nmax_connections = 128\n\n[admin]\nsocket = {adm:?}\nallowed_uids = [0, {uid}]\n\n[http]\nlisten = \"\"\n\n[delivery]\nworker = false\n{store}",
            pam = root.join("pam.sock"),
            adm = root.join("admin.sock"),
        );
        let cfg = root.join("twofoldd.toml");
        std::fs::write(&cfg, config).map_err(|e| e.to_string())?;
        let log = root.join("twofoldd.log");
        let out = std::fs::File::create(&log).map_err(|e| e.to_string())?;
        let child = Command::new(bin)
            .arg("--config")
            .arg(&cfg)
            .env_remove("NOTIFY_SOCKET")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(out)
            .spawn()
            .map_err(|e| format!("starting {}: {e}", bin.display()))?;
        let mut node = Node {
            child,
            socket: root.join("pam.sock"),
            log,
        };
        let start = Instant::now();
        loop {
            let text = std::fs::read_to_string(&node.log).unwrap_or_default();
            if text.lines().any(|l| l.trim() == "twofoldd: ready") {
                return Ok(node);
            }
            if let Ok(Some(st)) = node.child.try_wait() {
                return Err(format!("twofoldd exited ({st}):\n{text}"));
            }
            if start.elapsed() > Duration::from_secs(60) {
                return Err(format!("twofoldd was not ready after 60 s:\n{text}"));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The daemon's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(10) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
