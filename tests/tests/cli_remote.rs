//! `twofoldctl --url URL --token-file FILE`: the remote admin API of a real twofoldd.

mod cli_support;
#[allow(unused_imports)]
mod common;

use cli_support::Run;
use common::{TestDaemon, artifacts};
use serde_json::Value;
use std::process::Command;

/// A token made by `twofoldctl admin-token new NAME`: (token, config entry).
fn new_token(name: &str) -> (String, String) {
    let out = Command::new(artifacts::twofoldctl())
        .args(["--json", "admin-token", "new", name])
        .output()
        .expect("running twofoldctl");
    assert!(out.status.success(), "{out:?}");
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    (
        v["token"].as_str().expect("token").to_owned(),
        v["config_entry"].as_str().expect("entry").to_owned(),
    )
}

fn remote(url: &str, token_file: &std::path::Path, args: &[&str]) -> Run {
    let out = Command::new(artifacts::twofoldctl())
        .arg("--url")
        .arg(url)
        .arg("--token-file")
        .arg(token_file)
        // The local socket must not be what answers.
        .args(["--socket", "/nonexistent/admin.sock"])
        .args(args)
        .env_remove("TWOFOLD_ADMIN_SOCKET")
        .output()
        .expect("running twofoldctl");
    Run {
        code: out.status.code().unwrap_or(-1),
        out: String::from_utf8_lossy(&out.stdout).into_owned(),
        err: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[test]
fn a_remote_admin_with_a_token_runs_commands_and_is_named_in_the_audit() {
    let (token, entry) = new_token("ops-laptop");
    let d = TestDaemon::builder()
        .config("admin", &format!("api_tokens = [ {entry} ]"))
        .start();
    let url = d.http_url().expect("http listener").to_owned();
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("token");
    std::fs::write(&file, format!("{token}\n")).expect("write token");

    let r = remote(
        &url,
        &file,
        &["--json", "settings", "set", "max_invalid_attempts", "5"],
    );
    assert_eq!(r.code, 0, "{r:?}");
    let r = remote(&url, &file, &["--json", "settings", "show"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(r.json()["settings"]["max_invalid_attempts"], 5);

    let r = remote(
        &url,
        &file,
        &["--json", "audit", "--type", "settings.change"],
    );
    assert_eq!(r.code, 0, "{r:?}");
    let text = r.out.clone();
    assert!(text.contains("admin-token:ops-laptop"), "{text}");
}

#[test]
fn a_wrong_token_is_refused_and_changes_nothing() {
    let (_, entry) = new_token("ci");
    let d = TestDaemon::builder()
        .config("admin", &format!("api_tokens = [ {entry} ]"))
        .start();
    let url = d.http_url().expect("http listener").to_owned();
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("token");
    std::fs::write(&file, "not-the-token").expect("write token");

    let r = remote(
        &url,
        &file,
        &["settings", "set", "max_invalid_attempts", "10"],
    );
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.err.contains("unauthorized"), "{r:?}");
    let (_, v) = cli_support::ctl_json(&d, &["settings", "show"]);
    assert_eq!(v["settings"]["max_invalid_attempts"], 3, "nothing changed");
}

#[test]
fn without_configured_tokens_the_remote_api_is_off() {
    let d = TestDaemon::start();
    let url = d.http_url().expect("http listener").to_owned();
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("token");
    std::fs::write(&file, "anything").expect("write token");
    let r = remote(&url, &file, &["users", "overview"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.err.contains("remote admin API is off"), "{r:?}");
}

#[test]
fn plain_http_to_another_host_is_refused_before_sending_the_token() {
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("token");
    std::fs::write(&file, "secret").expect("write token");
    let r = remote("http://192.0.2.1:8080", &file, &["users", "overview"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.err.contains("use https://"), "{r:?}");
}
