//! Real Unix accounts for the benchmark's users, so both modules see what sshd would give them:
//! a user that NSS knows. (A name NSS does not know costs a miss through every NSS source,
//! `systemd` userdb included: ~70 µs here, which no real login pays.)
//!
//! Accounts are created with `useradd` (no home, no login shell, GECOS marked) and removed on
//! drop; marked leftovers of an interrupted run are removed first.

use std::process::Command;

/// The GECOS field that marks the benchmark's accounts.
const MARK: &str = "twofold pam-bench";

/// Accounts created for one run; deleted on drop.
pub struct UnixUsers {
    names: Vec<String>,
}

impl UnixUsers {
    /// Creates an account for each name (removing marked leftovers first).
    pub fn create(names: &[String]) -> Result<UnixUsers, String> {
        remove_leftovers();
        let mut made = UnixUsers { names: Vec::new() };
        for n in names {
            let st = Command::new("useradd")
                .args([
                    "-M",
                    "-N",
                    "-g",
                    "nogroup",
                    "-s",
                    "/usr/sbin/nologin",
                    "-c",
                    MARK,
                ])
                .arg(n)
                .status()
                .map_err(|e| format!("useradd: {e}"))?;
            if !st.success() {
                return Err(format!("useradd {n} failed ({st}); is the name taken?"));
            }
            made.names.push(n.clone());
        }
        Ok(made)
    }
}

impl Drop for UnixUsers {
    fn drop(&mut self) {
        for n in &self.names {
            let _ = Command::new("userdel").arg(n).status();
        }
    }
}

fn remove_leftovers() {
    let Ok(passwd) = std::fs::read_to_string("/etc/passwd") else {
        return;
    };
    for line in passwd.lines() {
        let f: Vec<&str> = line.split(':').collect();
        if f.len() > 4 && f[4] == MARK {
            let _ = Command::new("userdel").arg(f[0]).status();
        }
    }
}
