//! `pam-bench`: `pam_authenticate` in-process, pam_twofold.so (through a running twofoldd on
//! SQLite, with its durable replay state) against pam_google_authenticator.so (per-user state
//! files with `DISALLOW_REUSE`), in the same run.
//!
//! ```text
//! cargo run --release -p pam-bench -- [--samples N] [--threads T] [--synchronous full|normal]
//!                                      [--no-build] [--engine-only]
//! ```
//!
//! Run by hand, as root (google-authenticator switches to `user=` for its files), on a machine
//! with `libpam-google-authenticator`. Not part of the pass/fail tests.
//!
//! Replay protection allows one success per user per 30 s step in both modules, so every
//! right-code sign-in uses its own user (each with its own secret). Wrong codes are codes of
//! another secret (never time-shifted codes of the right one, which google-authenticator's
//! skew learning could adopt). The cases are interleaved sample by sample. Reported: median and
//! p99 of `pam_authenticate`, the median of the whole cycle (`pam_start_confdir` ..
//! `pam_end`, which includes libpam loading the module), and the ratios to the peer.

mod engine_only;
mod setup;
mod sink;
mod stats;
mod stub;
#[path = "../../../tests/tests/common/totp.rs"]
#[allow(dead_code)]
mod totp;
mod users;

use pam_testkit::{Reply, ServiceDir, Transaction, code};
use stats::Samples;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

const GA_MODULE: &str = "/lib/x86_64-linux-gnu/security/pam_google_authenticator.so";

struct Args {
    samples: usize,
    synchronous: String,
    threads: usize,
    build: bool,
    engine_only: bool,
    /// `--stub-daemon SOCKET`: this process is the stub daemon (see `stub.rs`).
    stub_daemon: Option<PathBuf>,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        samples: 300,
        synchronous: "full".into(),
        threads: 10,
        build: true,
        engine_only: false,
        stub_daemon: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut num = |name: &str| -> Result<usize, String> {
            it.next()
                .and_then(|v| v.parse().ok())
                .filter(|n| *n > 0)
                .ok_or(format!("{name} needs a positive number"))
        };
        match arg.as_str() {
            "--samples" => a.samples = num("--samples")?,
            "--threads" => a.threads = num("--threads")?,
            "--no-build" => a.build = false,
            "--engine-only" => a.engine_only = true,
            "--stub-daemon" => {
                a.stub_daemon = Some(
                    it.next()
                        .map(PathBuf::from)
                        .ok_or("--stub-daemon needs a socket path")?,
                );
            }
            "--synchronous" => match it.next().as_deref() {
                Some(v @ ("full" | "normal")) => a.synchronous = v.to_owned(),
                _ => return Err("--synchronous needs full or normal".into()),
            },
            "-h" | "--help" => {
                return Err(
                    "usage: pam-bench [--samples N (default 300)] [--threads T (default 10)] [--synchronous full|normal (default full)] [--no-build] [--engine-only]"
                        .into(),
                );
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(a)
}

/// Builds twofoldd and the module in this profile, so the figures are for the current code.
fn build(dir: &Path) -> Result<(), String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = std::process::Command::new(cargo);
    cmd.args(["build", "--quiet", "-p", "twofoldd", "-p", "pam_twofold"]);
    if dir.ends_with("release") {
        cmd.arg("--release");
    }
    if let Some(target) = dir.parent() {
        cmd.env("CARGO_TARGET_DIR", target);
    }
    cmd.current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."));
    let st = cmd.status().map_err(|e| e.to_string())?;
    if st.success() {
        Ok(())
    } else {
        Err("cargo build failed".into())
    }
}

fn current_user() -> String {
    std::process::Command::new("id")
        .arg("-un")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_else(|_| "root".into())
}

/// One timed sign-in: `answer` is typed at the first prompt; later prompts fail the
/// conversation (so a rejected code ends the attempt after one check in both modules).
fn sign_in(confdir: &Path, service: &str, user: &str, answer: &str) -> (i32, Duration, Duration) {
    let mut first = Some(answer.to_owned());
    let handler = Box::new(move |m: &pam_testkit::Message| {
        if !m.style.is_prompt() {
            return Reply::Null;
        }
        match first.take() {
            Some(a) => Reply::Text(a),
            None => Reply::Fail,
        }
    });
    let t0 = Instant::now();
    let Ok(mut t) = Transaction::start(confdir, service, Some(user), handler) else {
        return (-1, Duration::ZERO, t0.elapsed());
    };
    let _ = t.set_rhost("192.0.2.50");
    let _ = t.no_fail_delay();
    let a0 = Instant::now();
    let rc = t.authenticate(0);
    let auth = a0.elapsed();
    drop(t);
    (rc, auth, t0.elapsed())
}

fn record(s: &mut Samples, (rc, auth, cycle): (i32, Duration, Duration), want: i32) {
    s.auth.push(auth);
    s.cycle.push(cycle);
    if rc != want {
        s.errors += 1;
    }
}

/// `threads` threads sign in at once, each through its own share of `users`.
fn concurrent(
    confdir: &Path,
    service: &str,
    users: &[(String, String)],
    threads: usize,
    offset: i64,
) -> Samples {
    let barrier = Arc::new(Barrier::new(threads));
    let chunks: Vec<Vec<(String, String)>> = users
        .chunks(users.len().div_ceil(threads).max(1))
        .map(<[_]>::to_vec)
        .collect();
    let handles: Vec<_> = chunks
        .into_iter()
        .map(|chunk| {
            let b = barrier.clone();
            let dir = confdir.to_path_buf();
            let service = service.to_owned();
            std::thread::spawn(move || {
                let mut s = Samples::default();
                b.wait();
                for (user, key) in chunk {
                    let c = totp::code_now(&key, offset);
                    record(&mut s, sign_in(&dir, &service, &user, &c), code::SUCCESS);
                    s.typed.push(c);
                }
                s
            })
        })
        .collect();
    let mut all = Samples::default();
    for h in handles {
        if let Ok(s) = h.join() {
            all.auth.extend(s.auth);
            all.cycle.extend(s.cycle);
            all.errors += s.errors;
            all.typed.extend(s.typed);
        } else {
            all.errors += 1;
        }
    }
    all
}

fn line(case: &str, module: &str, s: &Samples) {
    println!(
        "{case:<26} {module:<26} {:>6} {:>10.0} {:>10.0} {:>12.0} {:>7}",
        s.auth.len(),
        s.median(),
        s.p99(),
        s.cycle_median(),
        s.errors
    );
}

fn run() -> Result<(), String> {
    let args = parse_args()?;
    if let Some(socket) = &args.stub_daemon {
        return stub::serve(socket);
    }
    if args.engine_only {
        // The engine alone (no PAM, no socket, no root needed): for profiling the store.
        let (right, wrong) = engine_only::run(args.samples, &args.synchronous)?;
        line("right code, engine only", "twofold-core", &right);
        line("wrong code, engine only", "twofold-core", &wrong);
        return Ok(());
    }
    let dir: PathBuf = pam_testkit::artifact_dir();
    if args.build {
        build(&dir)?;
    }
    let module = dir.join("libpam_twofold.so");
    let twofoldd = dir.join("twofoldd");
    for p in [&module, &twofoldd] {
        if !p.exists() {
            return Err(format!("{} is missing (cargo build first)", p.display()));
        }
    }
    if !Path::new(GA_MODULE).exists() {
        return Err(format!(
            "{GA_MODULE} is missing: apt-get install libpam-google-authenticator"
        ));
    }
    let sink = sink::Sink::start()?;
    let daemon = setup::Daemon::start(&twofoldd, &args.synchronous)?;
    let stub = StubDaemon::start(&daemon.socket.with_file_name("stub.sock"))?;
    let ga_dir = tempfile::Builder::new()
        .prefix("ga-bench-")
        .tempdir()
        .map_err(|e| e.to_string())?;
    let conf = ServiceDir::new().map_err(|e| e.to_string())?;
    conf.add(
        "twofold",
        &format!(
            "auth required {} socket={}\n",
            module.display(),
            daemon.socket.display()
        ),
    )
    .map_err(|e| e.to_string())?;
    conf.add(
        "ga",
        &format!(
            "auth required {GA_MODULE} secret={}/${{USER}} user={}\n",
            ga_dir.path().display(),
            current_user()
        ),
    )
    .map_err(|e| e.to_string())?;
    conf.add(
        "stub",
        &format!(
            "auth required {} socket={}\n",
            module.display(),
            stub.socket.display()
        ),
    )
    .map_err(|e| e.to_string())?;

    let n = args.samples;
    let warm = 20;
    let total = 2 * n + warm;
    eprintln!(
        "pam-bench: enrolling {total} twofold users through PAM and writing {total} google-authenticator files..."
    );
    let names: Vec<String> = (0..total).map(|i| format!("bench{i:05}")).collect();
    eprintln!("pam-bench: creating {total} Unix accounts (removed at the end)...");
    let _accounts = users::UnixUsers::create(&names)?;
    let mut tf_users = Vec::with_capacity(total);
    let mut ga_users = Vec::with_capacity(total);
    for u in names {
        let key = setup::enroll(conf.path(), "twofold", &u)?;
        tf_users.push((u.clone(), key));
        let secret = setup::new_secret();
        setup::write_ga_user(ga_dir.path(), &u, &secret)?;
        ga_users.push((u, secret));
    }
    let foreign = setup::new_secret();

    // Warm-up (page cache, SQLite statement cache, dynamic loader).
    for i in 0..warm {
        let (u, k) = &tf_users[2 * n + i];
        sign_in(conf.path(), "twofold", u, &totp::code_now(k, 1));
        let (u, k) = &ga_users[2 * n + i];
        sign_in(conf.path(), "ga", u, &totp::code_now(k, 0));
    }

    eprintln!("pam-bench: right and wrong codes, {n} each per module, interleaved...");
    let (mut tf_right, mut ga_right) = (Samples::default(), Samples::default());
    let (mut tf_wrong, mut ga_wrong) = (Samples::default(), Samples::default());
    let (mut stub_right, mut stub_wrong) = (Samples::default(), Samples::default());
    for i in 0..n {
        let (u, k) = &tf_users[i];
        // Enrollment burned the enrollment step: the next one is the first fresh code.
        let c = totp::code_now(k, 1);
        record(
            &mut tf_right,
            sign_in(conf.path(), "twofold", u, &c),
            code::SUCCESS,
        );
        tf_right.typed.push(c);
        let (u, k) = &ga_users[i];
        let c = totp::code_now(k, 0);
        record(
            &mut ga_right,
            sign_in(conf.path(), "ga", u, &c),
            code::SUCCESS,
        );
        let wrong = totp::code_now(&foreign, 0);
        let (u, _) = &tf_users[i];
        // A rejected code makes pam_twofold ask again; the script has no second answer.
        record(
            &mut tf_wrong,
            sign_in(conf.path(), "twofold", u, &wrong),
            code::CONV_ERR,
        );
        tf_wrong.typed.push(wrong.clone());
        let (u, _) = &ga_users[i];
        record(
            &mut ga_wrong,
            sign_in(conf.path(), "ga", u, &wrong),
            code::AUTH_ERR,
        );
        record(
            &mut stub_right,
            sign_in(conf.path(), "stub", u, stub::RIGHT),
            code::SUCCESS,
        );
        record(
            &mut stub_wrong,
            sign_in(conf.path(), "stub", u, &wrong),
            code::CONV_ERR,
        );
    }

    eprintln!("pam-bench: {} concurrent sign-ins...", args.threads);
    let tf_conc = concurrent(conf.path(), "twofold", &tf_users[n..2 * n], args.threads, 1);
    let ga_conc = concurrent(conf.path(), "ga", &ga_users[n..2 * n], args.threads, 0);

    println!();
    println!(
        "pam_authenticate in-process, microseconds (twofoldd on SQLite synchronous={}; google-authenticator with DISALLOW_REUSE)",
        args.synchronous.to_uppercase()
    );
    println!(
        "{:<26} {:<26} {:>6} {:>10} {:>10} {:>12} {:>7}",
        "case", "module", "n", "median", "p99", "cycle-median", "errors"
    );
    line("right code", "pam_twofold", &tf_right);
    line("right code", "pam_google_authenticator", &ga_right);
    line("wrong code", "pam_twofold", &tf_wrong);
    line(
        "wrong code (default)",
        "pam_google_authenticator",
        &ga_wrong,
    );
    let conc = format!("{} concurrent, right code", args.threads);
    line(&conc, "pam_twofold", &tf_conc);
    line(&conc, "pam_google_authenticator", &ga_conc);
    line(
        "right code, stub daemon",
        "pam_twofold (floor)",
        &stub_right,
    );
    line(
        "wrong code, stub daemon",
        "pam_twofold (floor)",
        &stub_wrong,
    );
    let (eng_right, eng_wrong) = engine_only::run(n, &args.synchronous)?;
    line(
        "right code, engine only",
        "twofold-core (no PAM/IPC)",
        &eng_right,
    );
    line(
        "wrong code, engine only",
        "twofold-core (no PAM/IPC)",
        &eng_wrong,
    );
    println!();
    let ratio = |a: f64, b: f64| if b > 0.0 { a / b } else { f64::NAN };
    println!(
        "right code: median ratio twofold/peer = {:.2} (goal <= 1.0)",
        ratio(tf_right.median(), ga_right.median())
    );
    println!(
        "wrong code: median ratio twofold/peer = {:.3} (goal <= 0.05)",
        ratio(tf_wrong.median(), ga_wrong.median())
    );
    println!(
        "floor (a stub daemon that answers without engine or store: libpam, module, two socket round trips): right {:.0} us, wrong {:.0} us = {:.3}x the peer's wrong code",
        stub_right.median(),
        stub_wrong.median(),
        ratio(stub_wrong.median(), ga_wrong.median())
    );
    println!(
        "{} concurrent: pam_twofold p99 = {:.1} ms (goal <= 50 ms), errors = {} (goal 0); peer p99 = {:.1} ms, errors = {}",
        args.threads,
        tf_conc.p99() / 1000.0,
        tf_conc.errors,
        ga_conc.p99() / 1000.0,
        ga_conc.errors
    );
    println!(
        "syslog messages received: {}{}",
        sink.messages(),
        if sink.owned() {
            " (by the benchmark's own /dev/log sink)"
        } else {
            " (a system syslog listens; not counted)"
        }
    );
    // The module logs every sign-in; none of its lines may carry a code.
    let typed: std::collections::HashSet<&str> = tf_right
        .typed
        .iter()
        .chain(&tf_wrong.typed)
        .chain(&tf_conc.typed)
        .map(String::as_str)
        .collect();
    let lines = sink.twofold_lines();
    let leaked = lines
        .iter()
        .filter(|l| {
            l.split(|c: char| !c.is_ascii_digit())
                .any(|w| w.len() == 6 && typed.contains(w))
        })
        .count();
    if sink.owned() {
        println!(
            "pam_twofold syslog lines: {}, containing a typed code: {leaked}; e.g. {:?}",
            lines.len(),
            lines
                .iter()
                .find(|l| l.contains("outcome=success"))
                .map_or("", |l| l.as_str())
        );
    }
    drop(stub);
    drop(daemon);
    Ok(())
}

/// The stub daemon's process, killed on drop.
struct StubDaemon {
    child: std::process::Child,
    socket: PathBuf,
}

impl StubDaemon {
    fn start(socket: &Path) -> Result<StubDaemon, String> {
        let exe = std::env::current_exe().map_err(|e| e.to_string())?;
        let child = std::process::Command::new(exe)
            .arg("--stub-daemon")
            .arg(socket)
            .spawn()
            .map_err(|e| format!("stub daemon: {e}"))?;
        let stub = StubDaemon {
            child,
            socket: socket.to_path_buf(),
        };
        let deadline = Instant::now() + Duration::from_secs(5);
        while std::os::unix::net::UnixStream::connect(socket).is_err() {
            if Instant::now() > deadline {
                return Err("the stub daemon did not start".into());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        Ok(stub)
    }
}

impl Drop for StubDaemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.socket);
    }
}

fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("pam-bench: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
