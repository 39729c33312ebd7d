//! The flow against a fake daemon (a real Unix socket served by a thread, so the real client is
//! used) and a scripted user.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;
use crate::client::SocketDaemon;
use crate::conversation::Answer;
use std::collections::VecDeque;
use std::os::unix::net::UnixListener;
use std::sync::mpsc;
use std::time::Duration;
use twofold_core::proto::{PamRequest, read_frame, write_frame};

/// Serves one scripted reply per connection and reports every request it received.
struct FakeDaemon {
    _dir: tempfile::TempDir,
    path: std::path::PathBuf,
    requests: mpsc::Receiver<PamOp>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FakeDaemon {
    fn start(replies: Vec<PamReply>) -> FakeDaemon {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pam.sock");
        let listener = UnixListener::bind(&path).unwrap();
        let (tx, rx) = mpsc::channel();
        let n = replies.len();
        let thread = std::thread::spawn(move || {
            let mut replies = replies.into_iter();
            for _ in 0..n {
                let Ok((mut s, _)) = listener.accept() else {
                    return;
                };
                let Ok(req) = read_frame::<_, PamRequest>(&mut s) else {
                    return;
                };
                let _ = tx.send(req.op);
                if let Some(r) = replies.next() {
                    let _ = write_frame(&mut s, &r);
                }
            }
        });
        FakeDaemon {
            _dir: dir,
            path,
            requests: rx,
            thread: Some(thread),
        }
    }

    fn client(&self) -> SocketDaemon {
        SocketDaemon::new(&self.path, Duration::from_secs(5))
    }

    fn requests(mut self) -> Vec<PamOp> {
        drop(self.thread.take().map(|t| t.join()));
        self.requests.try_iter().collect()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Said {
    Info(String),
    Error(String),
    Prompt(String, bool),
}

/// A user who answers prompts from a script; `None` in the script is "no answer".
struct ScriptedUser {
    answers: VecDeque<Option<&'static str>>,
    transcript: Vec<Said>,
}

impl ScriptedUser {
    fn new(answers: &[Option<&'static str>]) -> ScriptedUser {
        ScriptedUser {
            answers: answers.iter().copied().collect(),
            transcript: Vec::new(),
        }
    }
    fn infos(&self) -> String {
        self.transcript
            .iter()
            .filter_map(|s| match s {
                Said::Info(t) => Some(t.as_str()),
                _ => None,
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
    fn errors(&self) -> Vec<&str> {
        self.transcript
            .iter()
            .filter_map(|s| match s {
                Said::Error(t) => Some(t.as_str()),
                _ => None,
            })
            .collect()
    }
    fn prompts(&self) -> Vec<(&str, bool)> {
        self.transcript
            .iter()
            .filter_map(|s| match s {
                Said::Prompt(t, e) => Some((t.as_str(), *e)),
                _ => None,
            })
            .collect()
    }
}

impl Conversation for ScriptedUser {
    fn info(&mut self, text: &str) -> Result<(), ConvError> {
        self.transcript.push(Said::Info(text.into()));
        Ok(())
    }
    fn error(&mut self, text: &str) -> Result<(), ConvError> {
        self.transcript.push(Said::Error(text.into()));
        Ok(())
    }
    fn prompt(&mut self, text: &str, echo: bool) -> Result<Option<Answer>, ConvError> {
        self.transcript.push(Said::Prompt(text.into(), echo));
        match self.answers.pop_front() {
            Some(Some(a)) => Ok(Some(Answer::new(a))),
            Some(None) => Ok(None),
            None => Err(ConvError),
        }
    }
}

fn alice() -> SignIn {
    SignIn {
        user: "alice".into(),
        service: "sshd".into(),
        rhost: Some("192.0.2.7".into()),
        tty: Some("ssh".into()),
    }
}

fn challenge(method: Method, alternatives: Vec<Method>, attempts_left: Option<u32>) -> Challenge {
    Challenge {
        session: "sess-1".into(),
        method,
        alternatives,
        info: None,
        attempts_left,
        resends_left: Some(3),
    }
}

fn run_with(
    opts: &Options,
    replies: Vec<PamReply>,
    answers: &[Option<&'static str>],
) -> (Report, Vec<PamOp>, ScriptedUser) {
    let fake = FakeDaemon::start(replies);
    let mut client = fake.client();
    let mut user = ScriptedUser::new(answers);
    let report = authenticate(opts, &alice(), false, &mut client, &mut user);
    (report, fake.requests(), user)
}

fn run(
    replies: Vec<PamReply>,
    answers: &[Option<&'static str>],
) -> (Report, Vec<PamOp>, ScriptedUser) {
    run_with(&Options::default(), replies, answers)
}

fn verify_code(op: &PamOp) -> Option<(&str, Method, &str)> {
    match op {
        PamOp::Verify {
            session,
            method,
            code,
        } => Some((session.as_str(), *method, code.expose())),
        _ => None,
    }
}

#[test]
fn an_allowed_sign_in_succeeds_without_showing_anything() {
    let (r, reqs, user) = run(
        vec![PamReply::Allow {
            reason: "role staff is exempt".into(),
        }],
        &[],
    );
    assert_eq!(r.outcome, Outcome::Success);
    assert_eq!(r.event, "allow");
    assert!(user.transcript.is_empty(), "{:?}", user.transcript);
    match &reqs[..] {
        [
            PamOp::Begin {
                user,
                service,
                rhost,
                tty,
                groups,
            },
        ] => {
            assert_eq!(user, "alice");
            assert_eq!(service, "sshd");
            assert_eq!(rhost.as_deref(), Some("192.0.2.7"));
            assert_eq!(tty.as_deref(), Some("ssh"));
            assert_eq!(groups, &None, "the daemon resolves groups, not the module");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_right_code_is_sent_and_accepted() {
    let (r, reqs, user) = run(
        vec![
            PamReply::Challenge(challenge(Method::AuthenticatorApp, vec![], Some(3))),
            PamReply::Accepted {
                method: Method::AuthenticatorApp,
            },
        ],
        &[Some(" 123456 ")],
    );
    assert_eq!(r.outcome, Outcome::Success);
    assert_eq!(r.method, Some(Method::AuthenticatorApp));
    assert_eq!(
        verify_code(&reqs[1]),
        Some(("sess-1", Method::AuthenticatorApp, "123456"))
    );
    assert_eq!(user.prompts(), vec![("Verification code: ", false)]);
    assert!(user.infos().contains("authenticator app"));
    assert!(
        !format!("{r:?}").contains("123456"),
        "the code leaked into the report"
    );
}

#[test]
fn a_rejected_code_is_explained_and_asked_again() {
    let (r, reqs, user) = run(
        vec![
            PamReply::Challenge(challenge(Method::AuthenticatorApp, vec![], Some(3))),
            PamReply::Rejected {
                message: "That code is not valid.".into(),
                challenge: challenge(Method::AuthenticatorApp, vec![], Some(2)),
            },
            PamReply::Accepted {
                method: Method::AuthenticatorApp,
            },
        ],
        &[Some("000000"), Some("123456")],
    );
    assert_eq!(r.outcome, Outcome::Success);
    assert_eq!(reqs.len(), 3);
    assert_eq!(user.errors(), vec!["That code is not valid."]);
    assert!(
        user.infos().contains("2 attempts left."),
        "{}",
        user.infos()
    );
    assert_eq!(user.prompts().len(), 2);
}

#[test]
fn a_locked_session_ends_with_maxtries() {
    let (r, _, user) = run(
        vec![
            PamReply::Challenge(challenge(Method::AuthenticatorApp, vec![], Some(1))),
            PamReply::Locked {
                message: "Too many invalid codes. Start a new sign-in.".into(),
            },
        ],
        &[Some("000000")],
    );
    assert_eq!(r.outcome, Outcome::MaxTries);
    assert_eq!(
        user.errors(),
        vec!["Too many invalid codes. Start a new sign-in."]
    );
}

#[test]
fn typing_a_method_word_switches_to_that_method() {
    let mut sms = challenge(
        Method::Sms,
        vec![Method::AuthenticatorApp, Method::Sms],
        Some(3),
    );
    sms.info = Some("A code was sent to +1 *** *** 4567.".into());
    let (r, reqs, user) = run(
        vec![
            PamReply::Challenge(challenge(
                Method::AuthenticatorApp,
                vec![Method::Sms, Method::BackupCode],
                Some(3),
            )),
            PamReply::Challenge(sms),
            PamReply::Accepted {
                method: Method::Sms,
            },
        ],
        &[Some("SMS"), Some("654321")],
    );
    assert_eq!(r.outcome, Outcome::Success);
    assert!(matches!(
        &reqs[1],
        PamOp::Switch { session, method: Method::Sms } if session == "sess-1"
    ));
    assert_eq!(
        verify_code(&reqs[2]),
        Some(("sess-1", Method::Sms, "654321"))
    );
    let infos = user.infos();
    assert!(
        infos.contains("Type 'sms' or 'backup' to use another method."),
        "{infos}"
    );
    assert!(
        infos.contains("A code was sent to +1 *** *** 4567."),
        "{infos}"
    );
}

#[test]
fn resend_asks_the_daemon_for_the_same_method_again() {
    let sms = challenge(Method::Sms, vec![], Some(3));
    let (r, reqs, _) = run(
        vec![
            PamReply::Challenge(sms.clone()),
            PamReply::Challenge(sms),
            PamReply::Accepted {
                method: Method::Sms,
            },
        ],
        &[Some("resend"), Some("111111")],
    );
    assert_eq!(r.outcome, Outcome::Success);
    assert!(matches!(
        &reqs[1],
        PamOp::Switch {
            method: Method::Sms,
            ..
        }
    ));
}

#[test]
fn an_unavailable_method_word_is_refused_locally_without_costing_an_attempt() {
    let (r, reqs, user) = run(
        vec![
            PamReply::Challenge(challenge(Method::AuthenticatorApp, vec![], Some(3))),
            PamReply::Accepted {
                method: Method::AuthenticatorApp,
            },
        ],
        &[Some("sms"), Some("123456")],
    );
    assert_eq!(r.outcome, Outcome::Success);
    assert_eq!(
        reqs.len(),
        2,
        "the word must not reach the daemon: {reqs:?}"
    );
    assert!(
        user.errors()[0].contains("not available"),
        "{:?}",
        user.errors()
    );
}

#[test]
fn method_words_forever_end_in_auth_err() {
    let (r, reqs, _) = run(
        vec![PamReply::Challenge(challenge(
            Method::AuthenticatorApp,
            vec![],
            Some(3),
        ))],
        &[Some("sms"), Some("email"), Some("app"), Some("backup")],
    );
    assert_eq!(r.outcome, Outcome::AuthErr);
    assert_eq!(reqs.len(), 1);
}

#[test]
fn a_user_without_a_factor_gets_auth_err_or_ignore_with_nullok() {
    let reply = || {
        vec![PamReply::NotEnrolled {
            reason: "no allowed method is usable".into(),
        }]
    };
    let (r, _, user) = run(reply(), &[]);
    assert_eq!(r.outcome, Outcome::AuthErr);
    assert_eq!(r.detail, "no allowed method is usable");
    assert_eq!(user.errors().len(), 1);
    let nullok = Options {
        nullok: true,
        ..Options::default()
    };
    let (r, _, user) = run_with(&nullok, reply(), &[]);
    assert_eq!(r.outcome, Outcome::Ignore);
    assert!(user.transcript.is_empty());
}

#[test]
fn a_denied_sign_in_is_perm_denied() {
    let (r, _, _) = run(
        vec![PamReply::Deny {
            reason: "locked".into(),
        }],
        &[],
    );
    assert_eq!(r.outcome, Outcome::PermDenied);
}

#[test]
fn an_unreachable_daemon_is_authinfo_unavail_or_ignore_never_success() {
    let dir = tempfile::tempdir().unwrap();
    for (failmode, want) in [
        (FailMode::Secure, Outcome::AuthinfoUnavail),
        (FailMode::Safe, Outcome::Ignore),
    ] {
        let opts = Options {
            failmode,
            ..Options::default()
        };
        let mut client = SocketDaemon::new(dir.path().join("absent.sock"), Duration::from_secs(1));
        let mut user = ScriptedUser::new(&[]);
        let r = authenticate(&opts, &alice(), false, &mut client, &mut user);
        assert_eq!(r.outcome, want);
        assert!(r.detail.contains("cannot connect"), "{}", r.detail);
    }
}

#[test]
fn an_error_reply_or_an_out_of_place_reply_is_a_daemon_failure() {
    let (r, _, _) = run(
        vec![PamReply::Error {
            message: "store unavailable".into(),
        }],
        &[],
    );
    assert_eq!(r.outcome, Outcome::AuthinfoUnavail);
    assert!(r.detail.contains("store unavailable"));
    // `Accepted` before any code was sent must not let anyone in.
    let (r, _, _) = run(
        vec![PamReply::Accepted {
            method: Method::AuthenticatorApp,
        }],
        &[],
    );
    assert_eq!(r.outcome, Outcome::AuthinfoUnavail);
    let (r, _, _) = run(
        vec![PamReply::Enrolled {
            backup_codes: vec![],
        }],
        &[],
    );
    assert_eq!(r.outcome, Outcome::AuthinfoUnavail);
}

#[test]
fn a_daemon_that_stops_mid_conversation_fails_closed() {
    // One reply only: the Verify connection is closed without an answer.
    let (r, reqs, _) = run(
        vec![PamReply::Challenge(challenge(
            Method::AuthenticatorApp,
            vec![],
            Some(3),
        ))],
        &[Some("123456")],
    );
    assert_eq!(reqs.len(), 1);
    assert_eq!(r.outcome, Outcome::AuthinfoUnavail);
}

#[test]
fn no_answer_or_a_failed_conversation_is_conv_err() {
    for answers in [&[None][..], &[][..]] {
        let (r, reqs, _) = run(
            vec![PamReply::Challenge(challenge(
                Method::AuthenticatorApp,
                vec![],
                Some(3),
            ))],
            answers,
        );
        assert_eq!(r.outcome, Outcome::ConvErr);
        assert_eq!(reqs.len(), 1);
    }
}

fn secret() -> EnrollSecret {
    EnrollSecret {
        session: "sess-1".into(),
        text_key: "JBSW Y3DP EHPK 3PXP JBSW Y3DP EHPK 3PXP".into(),
        otpauth_uri: "otpauth://totp/twofold:alice?secret=JBSWY3DPEHPK3PXP".into(),
        qr_terminal: "██▀▀██\n██▄▄██".into(),
    }
}

#[test]
fn required_enrollment_shows_the_qr_and_key_then_the_backup_codes() {
    let (r, reqs, user) = run(
        vec![
            PamReply::Enroll(EnrollOffer {
                session: "sess-1".into(),
                required: true,
            }),
            PamReply::EnrollSecret(secret()),
            PamReply::Rejected {
                message: "That code is not valid.".into(),
                challenge: challenge(Method::AuthenticatorApp, vec![], Some(2)),
            },
            PamReply::Enrolled {
                backup_codes: vec!["1111-2222".into(), "3333-4444".into()],
            },
        ],
        &[Some("000000"), Some("123456"), Some("")],
    );
    assert_eq!(r.outcome, Outcome::Success);
    assert_eq!(r.event, "enrolled");
    assert_eq!(
        user.prompts().last(),
        Some(&("Saved them? Press Enter to continue: ", true))
    );
    assert!(matches!(&reqs[1], PamOp::EnrollStart { session } if session == "sess-1"));
    assert!(matches!(&reqs[2], PamOp::EnrollConfirm { code, .. } if code.expose() == "000000"));
    assert!(matches!(&reqs[3], PamOp::EnrollConfirm { code, .. } if code.expose() == "123456"));
    let infos = user.infos();
    assert!(infos.contains("██▀▀██"), "{infos}");
    assert!(infos.contains("JBSW Y3DP EHPK 3PXP"), "{infos}");
    assert!(
        infos.contains("1111-2222") && infos.contains("3333-4444"),
        "{infos}"
    );
    assert_eq!(user.errors(), vec!["That code is not valid."]);
}

#[test]
fn optional_enrollment_can_be_skipped() {
    let (r, reqs, user) = run(
        vec![
            PamReply::Enroll(EnrollOffer {
                session: "sess-1".into(),
                required: false,
            }),
            PamReply::Allow {
                reason: "enrollment skipped".into(),
            },
        ],
        &[Some("n")],
    );
    assert_eq!(r.outcome, Outcome::Success);
    assert!(matches!(&reqs[1], PamOp::EnrollSkip { .. }));
    assert_eq!(
        user.prompts(),
        vec![("Set up an authenticator app now? [y/N] ", true)]
    );
}

#[test]
fn optional_enrollment_accepted_with_yes() {
    let (_, reqs, _) = run(
        vec![
            PamReply::Enroll(EnrollOffer {
                session: "sess-1".into(),
                required: false,
            }),
            PamReply::EnrollSecret(secret()),
        ],
        &[Some("Yes")],
    );
    assert!(matches!(&reqs[1], PamOp::EnrollStart { .. }));
}

#[test]
fn abandoning_enrollment_is_a_conversation_error() {
    let (r, reqs, _) = run(
        vec![
            PamReply::Enroll(EnrollOffer {
                session: "sess-1".into(),
                required: true,
            }),
            PamReply::EnrollSecret(secret()),
        ],
        &[None],
    );
    assert_eq!(r.outcome, Outcome::ConvErr);
    assert_eq!(reqs.len(), 2, "no confirmation was sent");
}

#[test]
fn echo_verification_code_echoes_the_prompt() {
    let opts = Options {
        echo_code: true,
        ..Options::default()
    };
    let (_, _, user) = run_with(
        &opts,
        vec![
            PamReply::Challenge(challenge(Method::AuthenticatorApp, vec![], Some(3))),
            PamReply::Accepted {
                method: Method::AuthenticatorApp,
            },
        ],
        &[Some("123456")],
    );
    assert_eq!(user.prompts(), vec![("Verification code: ", true)]);
}

#[test]
fn silent_sign_ins_show_no_hints() {
    let fake = FakeDaemon::start(vec![
        PamReply::Challenge(challenge(Method::AuthenticatorApp, vec![], Some(3))),
        PamReply::Rejected {
            message: "That code is not valid.".into(),
            challenge: challenge(Method::AuthenticatorApp, vec![], Some(2)),
        },
        PamReply::Accepted {
            method: Method::AuthenticatorApp,
        },
    ]);
    let mut client = fake.client();
    let mut user = ScriptedUser::new(&[Some("1"), Some("2")]);
    let r = authenticate(&Options::default(), &alice(), true, &mut client, &mut user);
    assert_eq!(r.outcome, Outcome::Success);
    assert!(
        user.transcript
            .iter()
            .all(|s| matches!(s, Said::Prompt(..))),
        "{:?}",
        user.transcript
    );
}
