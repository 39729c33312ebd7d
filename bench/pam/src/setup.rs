//! What the benchmark stands on: a real `twofoldd` on a fresh SQLite file (`synchronous=FULL`,
//! the shipped default), users enrolled through the PAM conversation itself, and
//! google-authenticator secret files with `DISALLOW_REUSE`.

use crate::totp;
use pam_testkit::{Message, Reply, Style, Transaction};
use std::fs::OpenOptions;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use twofold_core::clock::{OsRng, Rng};

/// A running `twofoldd` in a temporary directory.
pub struct Daemon {
    child: Child,
    /// The PAM socket.
    pub socket: PathBuf,
    /// The daemon's stderr.
    pub log: PathBuf,
    _dir: tempfile::TempDir,
}

fn current_uid() -> u32 {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").map_or(u32::MAX, |m| m.uid())
}

impl Daemon {
    /// Starts `twofoldd` (SQLite with `synchronous` = `full` or `normal`) and waits for
    /// "twofoldd: ready".
    pub fn start(bin: &Path, synchronous: &str) -> Result<Daemon, String> {
        let dir = tempfile::Builder::new()
            .prefix("twofold-bench-")
            .tempdir()
            .map_err(|e| e.to_string())?;
        let root = dir.path();
        let uid = current_uid();
        let config = format!(
            "version = 1\nstate_dir = {state:?}\nlog = \"info\"\n\n[pam]\nsocket = {pam:?}\nallowed_uids = [0, {uid}]\n\n[admin]\nsocket = {adm:?}\nallowed_uids = [0, {uid}]\n\n[http]\nlisten = \"\"\n\n[store]\nsqlite_synchronous = {synchronous:?}\n",
            state = root.join("state"),
            pam = root.join("pam.sock"),
            adm = root.join("admin.sock"),
        );
        std::fs::write(root.join("twofoldd.toml"), config).map_err(|e| e.to_string())?;
        let log = root.join("twofoldd.log");
        let out = std::fs::File::create(&log).map_err(|e| e.to_string())?;
        let child = Command::new(bin)
            .arg("--config")
            .arg(root.join("twofoldd.toml"))
            .env_remove("NOTIFY_SOCKET")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(out)
            .spawn()
            .map_err(|e| format!("starting {}: {e}", bin.display()))?;
        let mut d = Daemon {
            child,
            socket: root.join("pam.sock"),
            log,
            _dir: dir,
        };
        let start = Instant::now();
        loop {
            let text = std::fs::read_to_string(&d.log).unwrap_or_default();
            if text.lines().any(|l| l.trim() == "twofoldd: ready") {
                return Ok(d);
            }
            if let Ok(Some(st)) = d.child.try_wait() {
                return Err(format!("twofoldd exited ({st}):\n{text}"));
            }
            if start.elapsed() > Duration::from_secs(60) {
                return Err(format!("twofoldd was not ready after 60 s:\n{text}"));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Daemon {
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

/// The manual-entry key on the enrollment screen.
fn text_key(screen: &str) -> Option<String> {
    let (_, after) = screen.split_once("this key (time-based):")?;
    let groups: Vec<&str> = after
        .split_whitespace()
        .filter(|w| {
            w.len() <= 4
                && w.chars()
                    .all(|c| c.is_ascii_uppercase() || ('2'..='7').contains(&c))
        })
        .collect();
    (!groups.is_empty()).then(|| groups.concat())
}

/// Enrolls `user` through the PAM conversation (the required-enrollment path); returns the key.
pub fn enroll(confdir: &Path, service: &str, user: &str) -> Result<String, String> {
    let mut key: Option<String> = None;
    let rc = {
        let handler = Box::new(|m: &Message| match m.style {
            Style::TextInfo => {
                if let Some(k) = text_key(&m.text) {
                    key = Some(k);
                }
                Reply::Null
            }
            Style::PromptEchoOn => Reply::Text(String::new()),
            Style::PromptEchoOff => match &key {
                Some(k) => Reply::Text(totp::code_now(k, 0)),
                None => Reply::Fail,
            },
            _ => Reply::Null,
        });
        let mut t =
            Transaction::start(confdir, service, Some(user), handler).map_err(|e| e.to_string())?;
        t.no_fail_delay().map_err(pam_testkit::code::name)?;
        t.authenticate(0)
    };
    if rc != pam_testkit::code::SUCCESS {
        return Err(format!("enrolling {user}: {}", pam_testkit::code::name(rc)));
    }
    key.ok_or_else(|| format!("enrolling {user}: no key was shown"))
}

fn base32(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::new();
    let (mut acc, mut bits) = (0u32, 0u32);
    for b in bytes {
        acc = (acc << 8) | u32::from(*b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(ALPHABET[((acc >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(ALPHABET[((acc << (5 - bits)) & 31) as usize] as char);
    }
    out
}

/// A fresh 160-bit secret in base32 (what google-authenticator writes today).
pub fn new_secret() -> String {
    let mut b = [0u8; 20];
    OsRng.fill(&mut b);
    base32(&b)
}

/// Writes a google-authenticator state file for `user` in `dir` (mode 0600): TOTP, the
/// default window (3 codes: ±1 step), `DISALLOW_REUSE`, no rate limit (the benchmark signs in
/// many times per minute), no scratch codes.
pub fn write_ga_user(dir: &Path, user: &str, secret: &str) -> Result<(), String> {
    let text = format!("{secret}\n\" TOTP_AUTH\n\" DISALLOW_REUSE\n\" WINDOW_SIZE 3\n");
    let mut f = OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .mode(0o600)
        .open(dir.join(user))
        .map_err(|e| e.to_string())?;
    std::io::Write::write_all(&mut f, text.as_bytes()).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base32_matches_rfc4648() {
        assert_eq!(base32(b"foobar"), "MZXW6YTBOI");
        assert_eq!(new_secret().len(), 32);
    }
}
