//! The PAM socket as a hostile or careless client sees it: raw frames on a real `twofoldd`'s
//! socket, no module in between. Peers are checked, frames are bounded, silent clients do not
//! stall others, and SIGTERM ends the daemon while connections are open.

mod common;

use common::TestDaemon;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};
use twofold_core::proto::{PROTOCOL_VERSION, PamOp, PamReply, PamRequest};
use twofold_core::store::Store;

fn begin(user: &str, v: u32) -> Vec<u8> {
    let req = PamRequest {
        v,
        op: PamOp::Begin {
            user: user.into(),
            service: "sshd".into(),
            rhost: Some("192.0.2.9".into()),
            tty: None,
            groups: None,
        },
    };
    let body = serde_json::to_vec(&req).unwrap();
    let mut frame = (body.len() as u32).to_be_bytes().to_vec();
    frame.extend_from_slice(&body);
    frame
}

/// Sends `frame` and reads one reply frame.
fn ask(d: &TestDaemon, frame: &[u8]) -> PamReply {
    let mut s = UnixStream::connect(&d.pam_socket).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    // A refused peer may be answered and closed before its request is even written: the
    // write then fails (EPIPE) but the reply is already in the socket.
    if let Err(e) = s.write_all(frame) {
        assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "send: {e}");
    }
    read_reply(&mut s)
}

fn read_reply(s: &mut UnixStream) -> PamReply {
    let mut len = [0u8; 4];
    s.read_exact(&mut len).expect("reply length");
    let mut body = vec![0u8; u32::from_be_bytes(len) as usize];
    s.read_exact(&mut body).expect("reply body");
    serde_json::from_slice(&body).expect("reply JSON")
}

fn error_text(r: PamReply) -> String {
    match r {
        PamReply::Error { message } => message,
        other => panic!("expected an error reply, got {other:?}"),
    }
}

#[test]
fn a_request_in_the_current_protocol_is_answered() {
    let d = TestDaemon::start();
    let r = ask(&d, &begin("oscar", PROTOCOL_VERSION));
    assert!(matches!(r, PamReply::Enroll(_)), "{r:?}");
}

#[test]
fn a_peer_whose_uid_is_not_allowed_is_refused() {
    let d = TestDaemon::builder()
        .config("pam", "allowed_uids = [4242]")
        .start();
    let msg = error_text(ask(&d, &begin("oscar", PROTOCOL_VERSION)));
    assert!(msg.contains("permission denied"), "{msg}");
    assert!(
        d.log().contains("uid is not allowed"),
        "the refusal is logged: {}",
        d.log()
    );
}

#[test]
fn another_protocol_version_is_refused_by_name() {
    let d = TestDaemon::start();
    let msg = error_text(ask(&d, &begin("oscar", PROTOCOL_VERSION + 1)));
    assert!(msg.contains("protocol version"), "{msg}");
}

#[test]
fn an_oversized_frame_is_refused_before_its_body_is_read() {
    let d = TestDaemon::start();
    let msg = error_text(ask(&d, &(64u32 * 1024 * 1024).to_be_bytes()));
    assert!(msg.contains("exceeds the limit"), "{msg}");
}

#[test]
fn a_malformed_request_gets_an_error_not_a_hang() {
    let d = TestDaemon::start();
    let body = b"{\"v\":1,\"op\":{\"op\":\"launch\"}}";
    let mut frame = (body.len() as u32).to_be_bytes().to_vec();
    frame.extend_from_slice(body);
    let msg = error_text(ask(&d, &frame));
    assert!(msg.contains("malformed"), "{msg}");
}

#[test]
fn silent_clients_do_not_stall_a_real_request() {
    // Silent clients get 30 s to send; a real request must not wait for them.
    let d = TestDaemon::builder()
        .config("pam", "io_timeout_ms = 30000")
        .config("pam", "max_connections = 8")
        .start();
    let silent: Vec<UnixStream> = (0..4)
        .map(|_| UnixStream::connect(&d.pam_socket).expect("connect"))
        .collect();
    // One that drips a byte of its length and stops.
    let mut dripping = UnixStream::connect(&d.pam_socket).expect("connect");
    dripping.write_all(&[0]).unwrap();
    let start = Instant::now();
    let r = ask(&d, &begin("pia", PROTOCOL_VERSION));
    assert!(matches!(r, PamReply::Enroll(_)), "{r:?}");
    // A bound on stalling, not a performance figure: far below the silent clients' 30 s.
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "a real request waited {:?} behind silent clients",
        start.elapsed()
    );
    drop(silent);
}

#[test]
fn a_client_that_sends_too_slowly_is_dropped_after_the_io_timeout() {
    let d = TestDaemon::builder()
        .config("pam", "io_timeout_ms = 500")
        .start();
    let mut s = UnixStream::connect(&d.pam_socket).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let frame = begin("quinn", PROTOCOL_VERSION);
    s.write_all(&frame[..6]).unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    // The daemon gave up on the request: the rest arrives too late and nothing is answered.
    let _ = s.write_all(&frame[6..]);
    let mut buf = [0u8; 4];
    let got = s.read(&mut buf);
    assert!(
        matches!(got, Ok(0) | Err(_)),
        "a late request was answered: {got:?}"
    );
    // Nothing was recorded for it.
    assert!(
        d.store().get_user("quinn").unwrap().is_none(),
        "a request that arrived too late changed state"
    );
}

#[test]
fn sigterm_ends_the_daemon_while_clients_hold_connections() {
    let mut d = TestDaemon::builder()
        .config("pam", "io_timeout_ms = 30000")
        .start();
    let _held: Vec<UnixStream> = (0..3)
        .map(|_| UnixStream::connect(&d.pam_socket).expect("connect"))
        .collect();
    let status = d.terminate().expect("the daemon ends on SIGTERM");
    assert!(status.success(), "exit status {status:?}\n{}", d.log());
}

#[test]
fn a_challenge_left_at_its_prompt_is_recorded_when_the_daemon_stops() {
    // A long read deadline: the silent client below outlasts the shutdown's grace.
    let mut d = TestDaemon::builder()
        .config("pam", "io_timeout_ms = 30000")
        .start();
    // The first sign-in creates the user (written at once); the second opens a challenge whose
    // session is held in memory with its decision line waiting for the outcome.
    for _ in 0..2 {
        let r = ask(&d, &begin("rita", PROTOCOL_VERSION));
        assert!(matches!(r, PamReply::Enroll(_)), "{r:?}");
    }
    let decisions = |d: &TestDaemon| {
        d.store()
            .query_audit(&twofold_core::store::AuditFilter {
                user: Some("rita".into()),
                event_prefix: Some("auth.decision".into()),
                ..Default::default()
            })
            .unwrap()
            .len()
    };
    assert_eq!(decisions(&d), 1, "the open challenge's line waits");
    // A silent client keeps one serving thread (and its hold on the daemon) past the grace.
    let _silent = UnixStream::connect(&d.pam_socket).expect("connect");
    let status = d.terminate().expect("the daemon ends on SIGTERM");
    assert!(status.success(), "exit status {status:?}\n{}", d.log());
    assert_eq!(decisions(&d), 2, "written at shutdown\n{}", d.log());
}
