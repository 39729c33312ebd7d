//! Exactly-once delivery across a crash and across nodes: `kill -9` of a real `twofoldd` with
//! messages queued and in flight, then a restart; and two workers on one database.
//! Counted at a fake that speaks Twilio's Messages API.

mod delivery_support;

use delivery_support::fake_twilio::{Behavior, FakeTwilio, code_in};
use delivery_support::{ADMIN, FAST_DELIVERY, FROM, Harness, SID, TOKEN, config_text};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use twofold_core::proto::{
    Code, Method, PROTOCOL_VERSION, PamOp, PamReply, PamRequest, read_frame, write_frame,
};
use twofold_core::store::delivery::{DeliveryFilter, DeliveryState, IntegrationKind};
use twofoldd::delivery::admin::{self, IntegrationInput};

const WAIT: Duration = Duration::from_secs(60);

/// `target/<profile>/twofoldd`, built by `cargo build` before the tests (as `.ci/run` does); built
/// here when missing.
fn daemon_bin() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let mut dir = exe.parent().unwrap().to_path_buf();
    if dir.ends_with("deps") {
        dir.pop();
    }
    let bin = dir.join("twofoldd");
    if !bin.exists() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let st = Command::new(cargo)
            .args(["build", "-p", "twofoldd", "--bin", "twofoldd"])
            .status()
            .unwrap();
        assert!(st.success(), "cargo build -p twofoldd failed");
    }
    assert!(bin.exists(), "{} is missing", bin.display());
    bin
}

fn spawn_daemon(bin: &Path, config: &Path, dir: &Path, run: u32) -> Child {
    let log = std::fs::File::create(dir.join(format!("twofoldd-{run}.log"))).unwrap();
    let child = Command::new(bin)
        .arg("--config")
        .arg(config)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    let sock = dir.join("pam.sock");
    let end = Instant::now() + WAIT;
    while UnixStream::connect(&sock).is_err() {
        assert!(
            Instant::now() < end,
            "twofoldd did not open {}; see {}",
            sock.display(),
            dir.join(format!("twofoldd-{run}.log")).display()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    child
}

fn pam(dir: &Path, op: PamOp) -> PamReply {
    let mut s = UnixStream::connect(dir.join("pam.sock")).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write_frame(
        &mut s,
        &PamRequest {
            v: PROTOCOL_VERSION,
            op,
        },
    )
    .unwrap();
    read_frame(&mut s).unwrap()
}

fn begin(dir: &Path, user: &str) -> String {
    match pam(
        dir,
        PamOp::Begin {
            user: user.into(),
            service: "sshd".into(),
            rhost: Some("192.0.2.20".into()),
            tty: None,
            groups: None,
        },
    ) {
        PamReply::Challenge(c) => {
            assert_eq!(c.method, Method::Sms);
            c.session
        }
        other => panic!("expected an SMS challenge for {user}, got {other:?}"),
    }
}

fn outbox_states(dir: &Path) -> Vec<DeliveryState> {
    let store = twofold_core::store::sqlite::SqliteStore::open(&dir.join("twofold.db")).unwrap();
    use twofold_core::store::delivery::DeliveryStore;
    store
        .delivery_log(&DeliveryFilter {
            limit: 1000,
            ..DeliveryFilter::default()
        })
        .unwrap()
        .into_iter()
        .map(|e| e.state)
        .collect()
}

#[test]
fn after_kill_9_with_messages_queued_each_is_sent_exactly_once() {
    let bin = daemon_bin();
    let fake = FakeTwilio::start(SID, TOKEN, Behavior::Hang);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let config = dir.join("twofoldd.toml");
    std::fs::write(
        &config,
        config_text(
            dir,
            "poll_interval_ms = 50\nconcurrency = 3\nconnect_timeout_ms = 1000\ntotal_timeout_ms = 2000\nmax_attempts = 6\nbackoff_base_secs = 1\nbackoff_max_secs = 2\nlease_secs = 4\n",
        ),
    )
    .unwrap();
    let users: Vec<(String, String)> = (1..=6)
        .map(|i| (format!("user{i}"), format!("+1415555014{i}")))
        .collect();
    // Set up the database the daemon will open: integration, settings, phone numbers.
    {
        let cfg =
            twofoldd::config::Config::parse(&std::fs::read_to_string(&config).unwrap()).unwrap();
        let d = twofoldd::startup::build(cfg, false).unwrap();
        let input = IntegrationInput {
            name: "twilio-main".into(),
            kind: IntegrationKind::Twilio,
            settings: serde_json::json!({"base_url": fake.base_url(), "account_sid": SID, "from": FROM}),
            secrets: serde_json::json!({"auth_token": TOKEN}),
        };
        admin::add_integration(&d, ADMIN, &input, false).unwrap();
        let cur = d.engine.store.load_settings().unwrap();
        let mut s = cur.settings;
        s.methods.authenticator_app = false;
        s.methods.sms = true;
        s.default_method = Method::Sms;
        s.sms_provider = Some("twilio-main".into());
        d.engine.update_settings(ADMIN, s, cur.version).unwrap();
        for (u, p) in &users {
            d.engine.set_phone(ADMIN, u, p).unwrap();
        }
    }

    let mut first = spawn_daemon(&bin, &config, dir, 1);
    let sessions: Vec<String> = users.iter().map(|(u, _)| begin(dir, u)).collect();
    // The worker holds some messages at the (silent) provider; the rest wait their turn.
    assert!(fake.wait_for(WAIT, |r| !r.is_empty()));
    first.kill().unwrap(); // SIGKILL
    first.wait().unwrap();
    let states = outbox_states(dir);
    assert_eq!(states.len(), 6);
    assert!(
        states.iter().all(|s| !s.is_final()),
        "every message was still pending at the kill: {states:?}"
    );

    fake.set_default(Behavior::Accept);
    let mut second = spawn_daemon(&bin, &config, dir, 2);
    assert!(
        fake.wait_for(WAIT, |r| r.iter().filter(|m| m.answer == "201").count()
            >= 6),
        "not every message was sent after the restart: {:?}",
        fake.accepted_by_to()
    );
    // Longer than a lease and several polls: any second send would show now.
    std::thread::sleep(Duration::from_secs(6));
    let by_to = fake.accepted_by_to();
    for (u, p) in &users {
        assert_eq!(
            by_to.get(p),
            Some(&1),
            "{u} ({p}) got {:?} messages",
            by_to.get(p)
        );
    }
    let states = outbox_states(dir);
    assert!(
        states.iter().all(|s| *s == DeliveryState::Sent),
        "{states:?}"
    );
    // The codes, sealed in the outbox before the crash, verify after it.
    let received = fake.received();
    for ((_, p), session) in users.iter().zip(&sessions) {
        let m = received
            .iter()
            .find(|m| &m.to == p && m.answer == "201")
            .unwrap();
        match pam(
            dir,
            PamOp::Verify {
                session: session.clone(),
                method: Method::Sms,
                code: Code::new(code_in(&m.body)),
            },
        ) {
            PamReply::Accepted { .. } => {}
            other => panic!("the code for {p} was refused after the restart: {other:?}"),
        }
    }
    unsafe_free_terminate(&mut second);
    // Neither run logged a code.
    let logs = format!(
        "{}{}",
        std::fs::read_to_string(dir.join("twofoldd-1.log")).unwrap(),
        std::fs::read_to_string(dir.join("twofoldd-2.log")).unwrap()
    );
    assert!(
        logs.contains("delivery attempt"),
        "the worker logs its attempts"
    );
    for m in received.iter().filter(|m| m.answer == "201") {
        let code = code_in(&m.body);
        assert!(!logs.contains(&code), "a code is in the daemon's log");
    }
}

/// SIGTERM through `kill(1)` (the tests forbid `unsafe`), then wait.
fn unsafe_free_terminate(c: &mut Child) {
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(c.id().to_string())
        .status();
    let end = Instant::now() + Duration::from_secs(20);
    while c.try_wait().unwrap().is_none() {
        if Instant::now() > end {
            let _ = c.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = c.wait();
}

#[test]
fn two_workers_on_one_database_send_each_message_once() {
    let fake = FakeTwilio::start(SID, TOKEN, Behavior::Accept);
    let a = Harness::start(FAST_DELIVERY);
    a.use_twilio("twilio-main", &fake.base_url(), TOKEN);
    let b = Harness::start_at(&a.path, FAST_DELIVERY);
    let phones: Vec<String> = (10..30).map(|i| format!("+141555501{i}")).collect();
    for (i, p) in phones.iter().enumerate() {
        let user = format!("n{i}");
        a.user_with_phone(&user, p);
        // Sign-ins arrive at both nodes.
        if i % 2 == 0 { &a } else { &b }.begin(&user);
    }
    assert!(
        fake.wait_for(WAIT, |r| r.iter().filter(|m| m.answer == "201").count()
            >= phones.len()),
        "{:?}",
        fake.accepted_by_to()
    );
    std::thread::sleep(Duration::from_secs(1));
    let by_to = fake.accepted_by_to();
    for p in &phones {
        assert_eq!(by_to.get(p), Some(&1), "{p}");
    }
    assert_eq!(fake.received().len(), phones.len());
}

#[test]
fn a_lost_key_file_is_not_replaced_while_integration_secrets_depend_on_it() {
    let tmp = tempfile::tempdir().unwrap();
    let text = config_text(tmp.path(), FAST_DELIVERY);
    {
        let d = twofoldd::startup::build(twofoldd::config::Config::parse(&text).unwrap(), false)
            .unwrap();
        let input = IntegrationInput {
            name: "twilio-main".into(),
            kind: IntegrationKind::Twilio,
            settings: serde_json::json!({"account_sid": SID, "from": FROM}),
            secrets: serde_json::json!({"auth_token": TOKEN}),
        };
        admin::add_integration(&d, ADMIN, &input, false).unwrap();
    }
    std::fs::remove_file(tmp.path().join("master.key")).unwrap();
    let err = match twofoldd::startup::build(twofoldd::config::Config::parse(&text).unwrap(), false)
    {
        Ok(_) => panic!("a fresh key was made although sealed secrets need the old one"),
        Err(e) => e.to_string(),
    };
    assert!(
        err.contains("master.key") && err.contains("missing"),
        "{err}"
    );
    assert!(!tmp.path().join("master.key").exists());
}
