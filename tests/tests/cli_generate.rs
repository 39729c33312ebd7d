//! Man pages and shell completions are generated from the CLI definition, and the copies under
//! `packaging/` are what the current definition generates. Also: `--help`, `--version` and a
//! usage error exit the way scripts expect.

#[allow(unused_imports)]
mod common;

use common::artifacts;
use std::path::Path;
use std::process::Command;

fn twofoldctl(args: &[&str]) -> std::process::Output {
    Command::new(artifacts::twofoldctl())
        .args(args)
        .output()
        .expect("running twofoldctl")
}

const REGENERATE: &str = "regenerate them as packaging/completions/README.md says";

#[test]
fn the_man_pages_in_packaging_are_generated_from_the_cli_definition() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = twofoldctl(&["gen-man", dir.path().to_str().expect("path")]);
    assert!(out.status.success(), "{out:?}");
    let packaged = Path::new(env!("CARGO_MANIFEST_DIR")).join("../packaging/man");
    let mut generated: Vec<String> = std::fs::read_dir(dir.path())
        .expect("read")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    generated.sort();
    for page in [
        "twofoldctl.1",
        "twofoldctl-doctor.1",
        "twofoldctl-users-reset-pending.1",
    ] {
        assert!(generated.iter().any(|g| g == page), "{page} not generated");
    }
    let main = std::fs::read_to_string(dir.path().join("twofoldctl.1")).expect("read");
    assert!(main.contains(".TH twofoldctl 1"), "{main}");
    assert!(main.contains("doctor"), "{main}");
    for g in &generated {
        let want = std::fs::read_to_string(dir.path().join(g)).expect("read");
        let have = std::fs::read_to_string(packaged.join(g))
            .unwrap_or_else(|_| panic!("packaging/man/{g} is missing; {REGENERATE}"));
        assert_eq!(have, want, "packaging/man/{g} is stale; {REGENERATE}");
    }
    let packaged_count = std::fs::read_dir(&packaged)
        .expect("read")
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.file_name().to_string_lossy().ends_with(".1"))
        })
        .count();
    assert_eq!(
        packaged_count,
        generated.len(),
        "packaging/man has pages the CLI no longer has; {REGENERATE}"
    );
}

#[test]
fn the_shell_completions_in_packaging_are_generated_from_the_cli_definition() {
    let packaged = Path::new(env!("CARGO_MANIFEST_DIR")).join("../packaging/completions");
    for (shell, file) in [
        ("bash", "twofoldctl.bash"),
        ("zsh", "_twofoldctl"),
        ("fish", "twofoldctl.fish"),
    ] {
        let out = twofoldctl(&["completions", shell]);
        assert!(out.status.success(), "{out:?}");
        let text = String::from_utf8(out.stdout).expect("utf-8");
        for word in ["reset-pending", "doctor", "sshd-config", "use-for-sms"] {
            assert!(text.contains(word), "{shell} completion lacks {word}");
        }
        let have = std::fs::read_to_string(packaged.join(file))
            .unwrap_or_else(|_| panic!("packaging/completions/{file} is missing; {REGENERATE}"));
        assert_eq!(
            have, text,
            "packaging/completions/{file} is stale; {REGENERATE}"
        );
    }
    // bash can load the script.
    let bash = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "source {} && complete -p twofoldctl",
            packaged.join("twofoldctl.bash").display()
        ))
        .output()
        .expect("bash");
    assert!(bash.status.success(), "{bash:?}");
}

#[test]
fn help_and_version_exit_zero_and_a_usage_error_exits_two() {
    let out = twofoldctl(&["--help"]);
    assert_eq!(out.status.code(), Some(0));
    let help = String::from_utf8_lossy(&out.stdout);
    for noun in [
        "settings",
        "users",
        "integrations",
        "email",
        "delivery",
        "audit",
        "why",
        "doctor",
    ] {
        assert!(help.contains(noun), "--help lacks {noun}:\n{help}");
    }
    let out = twofoldctl(&["--version"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("twofoldctl "));
    for bad in [
        vec!["users", "fly"],
        vec!["users", "show"],
        vec!["audit", "--limit", "many"],
        vec![],
    ] {
        let out = twofoldctl(&bad);
        assert_eq!(out.status.code(), Some(2), "{bad:?}: {out:?}");
        assert!(!out.stderr.is_empty());
    }
}

#[test]
fn the_socket_comes_from_the_environment_and_an_absent_daemon_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sock = dir.path().join("admin.sock");
    let out = Command::new(artifacts::twofoldctl())
        .args(["users", "overview"])
        .env("TWOFOLD_ADMIN_SOCKET", &sock)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("cannot reach twofoldd at {}", sock.display())),
        "{err}"
    );
    let out = Command::new(artifacts::twofoldctl())
        .args(["--json", "users", "overview"])
        .env("TWOFOLD_ADMIN_SOCKET", &sock)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["ok"], false);
    assert_eq!(v["kind"], "unreachable");
}

#[test]
fn a_user_other_than_root_cannot_administer() {
    if !common::is_root() {
        println!("SKIPPED: needs root to run twofoldctl as another user");
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    let d = common::TestDaemon::start();
    // Open the way to the socket so the daemon's own peer-credential check is what refuses.
    let open = |p: &Path, mode| std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode));
    open(d.dir(), 0o755).expect("chmod dir");
    open(&d.admin_socket, 0o666).expect("chmod socket");
    let out = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(artifacts::twofoldctl())
        .arg("--socket")
        .arg(&d.admin_socket)
        .args(["users", "reset-pending", "--yes"])
        .output()
        .expect("setpriv");
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("permission denied: only root may administer twofold"),
        "{err}"
    );
    let (_, v) = cli_ctl_json(&d);
    assert_eq!(v["pending"], 0, "the refused command changed something");
}

fn cli_ctl_json(d: &common::TestDaemon) -> (i32, serde_json::Value) {
    let out = Command::new(artifacts::twofoldctl())
        .arg("--socket")
        .arg(&d.admin_socket)
        .args(["--json", "users", "overview"])
        .output()
        .expect("run");
    (
        out.status.code().unwrap_or(-1),
        serde_json::from_slice(&out.stdout).expect("json"),
    )
}
