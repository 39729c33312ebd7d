//! Shared helpers for the end-to-end tests. Include with `mod common;` in a test file.
//!
//! - [`artifacts`]: where `twofoldd` and `libpam_twofold.so` of this build live (debug or
//!   release, found from the running test executable), building them first if needed.
//! - [`daemon::TestDaemon`]: a real `twofoldd` on a temporary configuration (temp socket paths,
//!   `allowed_uids = [0, current uid]`, `[http] listen = "127.0.0.1:0"`, a real SQLite file),
//!   started and waited for ("twofoldd: ready"), killed on drop.
//! - [`pam`]: PAM service directories that load the built module by absolute path, and
//!   in-process logins through real libpam (via `pam-testkit`).
//! - [`sshd`]: a throwaway OpenSSH server with a private PAM service, test users, and logins
//!   with the real `ssh` client driven by `tests/scripts/ssh-login.exp` (root only).
//! - [`totp`]: an independent TOTP implementation for the codes tests type.

#![allow(dead_code)]

pub mod daemon;
pub mod pam;
pub mod sshd;
pub mod totp;

pub use daemon::TestDaemon;

/// Paths of this build's artifacts.
pub mod artifacts {
    use std::path::PathBuf;
    use std::sync::Once;

    /// `target/<profile>` of the running test.
    pub fn dir() -> PathBuf {
        pam_testkit::artifact_dir()
    }

    /// `true` when the tests were built with `--release`.
    pub fn is_release() -> bool {
        dir().file_name().is_some_and(|n| n == "release")
    }

    /// The daemon binary.
    pub fn twofoldd() -> PathBuf {
        ensure_built();
        dir().join("twofoldd")
    }

    /// The admin CLI binary.
    pub fn twofoldctl() -> PathBuf {
        ensure_built();
        dir().join("twofoldctl")
    }

    /// The PAM module.
    pub fn pam_module() -> PathBuf {
        ensure_built();
        dir().join("libpam_twofold.so")
    }

    static BUILD: Once = Once::new();

    /// Builds the binaries and the module the tests run, once per test process, so a test
    /// never runs against a stale binary. In debug this is the same command as the CI build
    /// step (`cargo build --workspace --bins --lib`), so it is a no-op there; in release it
    /// builds only `twofoldd`, `twofoldctl` and the module. Set `TWOFOLD_TESTS_NO_BUILD=1` to skip.
    pub fn ensure_built() {
        BUILD.call_once(|| {
            if std::env::var_os("TWOFOLD_TESTS_NO_BUILD").is_some() {
                return;
            }
            let cargo = std::env::var("CARGO")
                .ok()
                .or_else(|| option_env!("CARGO").map(str::to_owned))
                .unwrap_or_else(|| "cargo".into());
            let target = dir().parent().map(PathBuf::from).unwrap_or_default();
            let mut cmd = std::process::Command::new(cargo);
            cmd.arg("build").arg("--quiet");
            if is_release() {
                cmd.args([
                    "--release",
                    "-p",
                    "twofoldd",
                    "-p",
                    "twofoldctl",
                    "-p",
                    "pam_twofold",
                ]);
            } else {
                cmd.args(["--workspace", "--bins", "--lib"]);
            }
            cmd.env("CARGO_TARGET_DIR", &target)
                .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
            let out = cmd.output().expect("running cargo build");
            assert!(
                out.status.success(),
                "cargo build for the end-to-end tests failed:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        });
    }
}

/// The uid this test runs as.
pub fn current_uid() -> u32 {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self")
        .map(|m| m.uid())
        .unwrap_or(u32::MAX)
}

/// `true` when running as root (sshd tests need it).
pub fn is_root() -> bool {
    current_uid() == 0
}

/// Sends `signal` (`TERM`, `KILL`, `STOP`, `CONT`) to `pid` with kill(1).
pub fn signal(pid: u32, signal: &str) -> bool {
    std::process::Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}
