//! The doctor's test fixtures and assertions: copies of `tests/fixtures/doctor/NAME`, a run of
//! `twofoldctl doctor` on one, and checks on its findings.

use super::fakes::Sntp;
use super::{Run, ctl};
use crate::common::TestDaemon;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// A copy of `tests/fixtures/doctor/NAME` with `@DIR@` replaced by the copy's path.
pub struct Fixture {
    /// The copy.
    pub dir: tempfile::TempDir,
}

impl Fixture {
    /// Copies the fixture.
    pub fn new(name: &str) -> Fixture {
        let src = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/doctor")
            .join(name);
        assert!(src.is_dir(), "no fixture {}", src.display());
        let dir = tempfile::tempdir().expect("tempdir");
        copy(&src, dir.path(), dir.path());
        Fixture { dir }
    }
    /// Its sshd_config.
    pub fn sshd_config(&self) -> PathBuf {
        self.dir.path().join("sshd_config")
    }
    /// Its PAM service directory.
    pub fn pam_dir(&self) -> PathBuf {
        self.dir.path().join("pam.d")
    }
}

fn copy(src: &Path, dst: &Path, root: &Path) {
    std::fs::create_dir_all(dst).expect("mkdir");
    for e in std::fs::read_dir(src).expect("read fixture") {
        let e = e.expect("entry");
        let to = dst.join(e.file_name());
        if e.path().is_dir() {
            copy(&e.path(), &to, root);
        } else {
            let text = std::fs::read_to_string(e.path()).expect("read");
            std::fs::write(&to, text.replace("@DIR@", &root.display().to_string())).expect("write");
        }
    }
}

/// The doctor's report on `fixture` (sshd read from the files), clock against a correct SNTP
/// server; human and JSON runs.
pub fn doctor(d: &TestDaemon, fx: &Fixture, extra: &[&str]) -> (Run, Run) {
    let sntp = Sntp::start(0.0);
    let cfg = fx.sshd_config();
    let pam = fx.pam_dir();
    let mut args = vec![
        "doctor",
        "--sshd-mode",
        "files",
        "--sshd-config",
        cfg.to_str().expect("path"),
        "--pam-dir",
        pam.to_str().expect("path"),
        "--time-source",
        &sntp.addr,
    ];
    args.extend_from_slice(extra);
    let human = ctl(d, &args);
    let mut j = vec!["--json"];
    j.extend_from_slice(&args);
    let json = ctl(d, &j);
    (human, json)
}

/// Every check of a report.
pub fn checks(v: &Value) -> &[Value] {
    v["checks"].as_array().map(Vec::as_slice).unwrap_or(&[])
}

/// The check with this id; panics listing the ids present.
#[track_caller]
pub fn check<'a>(v: &'a Value, id: &str) -> &'a Value {
    checks(v).iter().find(|c| c["id"] == id).unwrap_or_else(|| {
        let ids: Vec<&str> = checks(v).iter().filter_map(|c| c["id"].as_str()).collect();
        panic!("no check {id}; present: {ids:?}")
    })
}

/// Asserts one finding: its status, words in its summary and fix, in JSON and in the table;
/// and that it is the only problem in the report.
#[track_caller]
pub fn finding(human: &Run, json: &Run, id: &str, status: &str, summary: &[&str], fix: &str) {
    json.expect(1);
    human.expect(1);
    let v = json.json();
    assert_eq!(v["all_clear"], false);
    let c = check(&v, id);
    assert_eq!(c["status"], status, "{c}");
    let s = c["summary"].as_str().unwrap_or("");
    for w in summary {
        assert!(s.contains(w), "summary of {id} lacks {w:?}: {s}");
    }
    assert!(c["cause"].as_str().is_some_and(|x| !x.is_empty()), "{c}");
    let f = c["fix"].as_str().unwrap_or("");
    assert!(f.contains(fix), "fix of {id} lacks {fix:?}: {f}");
    let problems: Vec<&str> = checks(&v)
        .iter()
        .filter(|c| c["status"] == "warn" || c["status"] == "fail")
        .filter_map(|c| c["id"].as_str())
        .collect();
    // A problem in common-auth shows in every service that includes it, under the same kind.
    let kind = id.rsplit('.').next().unwrap_or(id);
    assert!(
        problems.contains(&id)
            && problems
                .iter()
                .all(|p| *p == id || (id.starts_with("pam.") && p.ends_with(&format!(".{kind}")))),
        "other problems were reported: {v}"
    );
    let tag = if status == "fail" { "[FAIL]" } else { "[WARN]" };
    human
        .says(&format!("{tag} {id}: "))
        .says("fix:   ")
        .says(fix);
}
