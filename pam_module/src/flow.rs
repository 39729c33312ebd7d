//! The sign-in flow: ask the daemon, talk to the user, repeat until the daemon allows, accepts,
//! locks or refuses, and map the end to a PAM result (ecosystem-anchors §3):
//!
//! | situation | result |
//! | --- | --- |
//! | allowed, code accepted, enrollment confirmed | PAM_SUCCESS |
//! | no usable second factor | PAM_AUTH_ERR; PAM_IGNORE with `nullok` |
//! | too many invalid codes in this session | PAM_MAXTRIES |
//! | refused by policy (user locked by an administrator's limit) | PAM_PERM_DENIED |
//! | daemon unreachable, slow, malformed, or `Error` reply | PAM_AUTHINFO_UNAVAIL; PAM_IGNORE with `failmode=safe` |
//! | the application's conversation failed or gave no answer | PAM_CONV_ERR |
//!
//! Nothing here is PAM-specific: the daemon and the user are traits, so the whole flow is tested
//! with a fake daemon and a scripted user.

use crate::client::Daemon;
use crate::conversation::{ConvError, Conversation};
use crate::display;
use crate::options::{FailMode, Options};
use twofold_core::proto::{Challenge, Code, EnrollOffer, EnrollSecret, Method, PamOp, PamReply};

/// Round trips to the daemon allowed in one sign-in (a bound, not a policy: the daemon's own
/// attempt limits end a session long before).
const MAX_ROUND_TRIPS: u32 = 64;
/// Answers that are not codes (an unavailable method's word) accepted before giving up.
const MAX_LOCAL_RETRIES: u32 = 3;

/// Who is signing in, as PAM tells the module.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SignIn {
    /// PAM_USER.
    pub user: String,
    /// PAM_SERVICE.
    pub service: String,
    /// PAM_RHOST.
    pub rhost: Option<String>,
    /// PAM_TTY.
    pub tty: Option<String>,
}

/// How the sign-in ended, as a PAM result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// PAM_SUCCESS.
    Success,
    /// PAM_AUTH_ERR.
    AuthErr,
    /// PAM_PERM_DENIED.
    PermDenied,
    /// PAM_MAXTRIES.
    MaxTries,
    /// PAM_IGNORE.
    Ignore,
    /// PAM_AUTHINFO_UNAVAIL.
    AuthinfoUnavail,
    /// PAM_CONV_ERR.
    ConvErr,
}

impl Outcome {
    /// The word used in log lines.
    pub fn word(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::AuthErr => "auth_err",
            Outcome::PermDenied => "perm_denied",
            Outcome::MaxTries => "maxtries",
            Outcome::Ignore => "ignore",
            Outcome::AuthinfoUnavail => "authinfo_unavail",
            Outcome::ConvErr => "conv_err",
        }
    }
}

/// The end of a sign-in with what to log (never a code).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// The result.
    pub outcome: Outcome,
    /// What happened, one word (`allow`, `accepted`, `rejected`, `locked`, `enrolled`, ...).
    pub event: &'static str,
    /// The method that succeeded or was last asked for.
    pub method: Option<Method>,
    /// Reason chain or error, safe to log.
    pub detail: String,
    /// Steps taken, logged with `debug`.
    pub notes: Vec<String>,
}

/// Runs one sign-in. `silent` is PAM_SILENT: hints and error texts are not shown (the QR code,
/// the text key and the backup codes still are, since enrollment cannot work without them).
pub fn authenticate(
    opts: &Options,
    who: &SignIn,
    silent: bool,
    daemon: &mut dyn Daemon,
    conv: &mut dyn Conversation,
) -> Report {
    let mut f = Flow {
        opts,
        daemon,
        conv,
        silent,
        notes: Vec::new(),
        round_trips: 0,
        method: None,
        code_sent: false,
        confirming: None,
    };
    match f.run(who) {
        Ok(r) | Err(r) => r,
    }
}

struct Flow<'a> {
    opts: &'a Options,
    daemon: &'a mut dyn Daemon,
    conv: &'a mut dyn Conversation,
    silent: bool,
    notes: Vec<String>,
    round_trips: u32,
    method: Option<Method>,
    /// A Verify was sent: only then may `Accepted` end the sign-in.
    code_sent: bool,
    /// The session whose new secret is being confirmed.
    confirming: Option<String>,
}

/// `Err` carries the final report of an early end.
type Step<T> = Result<T, Report>;

fn reply_kind(r: &PamReply) -> &'static str {
    match r {
        PamReply::Allow { .. } => "allow",
        PamReply::Deny { .. } => "deny",
        PamReply::NotEnrolled { .. } => "not_enrolled",
        PamReply::Challenge(_) => "challenge",
        PamReply::Enroll(_) => "enroll",
        PamReply::EnrollSecret(_) => "enroll_secret",
        PamReply::Enrolled { .. } => "enrolled",
        PamReply::Accepted { .. } => "accepted",
        PamReply::Rejected { .. } => "rejected",
        PamReply::Locked { .. } => "locked",
        PamReply::Error { .. } => "error",
    }
}

fn is_yes(s: &str) -> bool {
    matches!(s.to_ascii_lowercase().as_str(), "y" | "yes")
}

impl Flow<'_> {
    fn report(&mut self, outcome: Outcome, event: &'static str, detail: String) -> Report {
        Report {
            outcome,
            event,
            method: self.method,
            detail,
            notes: std::mem::take(&mut self.notes),
        }
    }

    fn conv_failed(&mut self, what: &str) -> Report {
        self.report(
            Outcome::ConvErr,
            "conversation_failed",
            format!("the conversation failed {what}"),
        )
    }

    /// A message the user may go without (PAM_SILENT drops it).
    fn hint(&mut self, text: &str) -> Step<()> {
        if self.silent || text.is_empty() {
            return Ok(());
        }
        self.conv
            .info(text)
            .map_err(|ConvError| self.conv_failed("showing a hint"))
    }

    /// An error text the user may go without (PAM_SILENT drops it).
    fn complain(&mut self, text: &str) -> Step<()> {
        if self.silent || text.trim().is_empty() {
            return Ok(());
        }
        let text = display::clean(text);
        self.conv
            .error(&text)
            .map_err(|ConvError| self.conv_failed("showing an error"))
    }

    /// Text the user must see (enrollment).
    fn show(&mut self, text: &str) -> Step<()> {
        self.conv
            .info(text)
            .map_err(|ConvError| self.conv_failed("showing enrollment details"))
    }

    fn ask_user(&mut self, text: &str, echo: bool) -> Step<crate::conversation::Answer> {
        match self.conv.prompt(text, echo) {
            Ok(Some(a)) => Ok(a),
            Ok(None) => Err(self.conv_failed("(no answer to the prompt)")),
            Err(ConvError) => Err(self.conv_failed("at the prompt")),
        }
    }

    fn daemon_failure(&mut self, detail: String) -> Report {
        match self.opts.failmode {
            FailMode::Secure => {
                // Best effort: the result is the same whether or not the user sees it.
                let _ = self.complain(
                    "Two-factor authentication is unavailable right now. Try again later or contact your administrator.",
                );
                self.report(Outcome::AuthinfoUnavail, "daemon_unavailable", detail)
            }
            FailMode::Safe => {
                self.report(Outcome::Ignore, "daemon_unavailable_failmode_safe", detail)
            }
        }
    }

    fn ask_daemon(&mut self, op: PamOp) -> Step<PamReply> {
        self.round_trips += 1;
        if self.round_trips > MAX_ROUND_TRIPS {
            return Err(self.daemon_failure(format!(
                "more than {MAX_ROUND_TRIPS} exchanges with the daemon in one sign-in"
            )));
        }
        let asked = std::time::Instant::now();
        match self.daemon.call(op) {
            Ok(PamReply::Error { message }) => {
                Err(self.daemon_failure(format!("the daemon answered with an error: {message}")))
            }
            Ok(r) => {
                self.notes.push(format!(
                    "daemon replied {} in {} us",
                    reply_kind(&r),
                    asked.elapsed().as_micros()
                ));
                Ok(r)
            }
            Err(e) => Err(self.daemon_failure(e.to_string())),
        }
    }

    fn run(&mut self, who: &SignIn) -> Step<Report> {
        let mut reply = self.ask_daemon(PamOp::Begin {
            user: who.user.clone(),
            service: who.service.clone(),
            rhost: who.rhost.clone(),
            tty: who.tty.clone(),
            // The daemon resolves groups itself, and only when the policy names a role.
            groups: None,
        })?;
        let mut after_reject = false;
        loop {
            reply = match reply {
                PamReply::Allow { reason } => {
                    return Ok(self.report(Outcome::Success, "allow", reason));
                }
                PamReply::Deny { reason } => {
                    self.complain(
                        "Two-factor sign-in is refused for this account. Contact your administrator.",
                    )?;
                    return Ok(self.report(Outcome::PermDenied, "deny", reason));
                }
                PamReply::NotEnrolled { reason } if self.opts.nullok => {
                    return Ok(self.report(Outcome::Ignore, "not_enrolled_nullok", reason));
                }
                PamReply::NotEnrolled { reason } => {
                    self.complain(
                        "No second factor is set up for this account. Contact your administrator.",
                    )?;
                    return Ok(self.report(Outcome::AuthErr, "not_enrolled", reason));
                }
                PamReply::Challenge(c) => {
                    let next = self.challenge(&c, after_reject)?;
                    after_reject = false;
                    next
                }
                PamReply::Enroll(offer) => self.offer(&offer)?,
                PamReply::EnrollSecret(s) => self.enroll(&s)?,
                PamReply::Enrolled { backup_codes } if self.confirming.is_some() => {
                    self.show(&display::backup_codes_text(&backup_codes))?;
                    // A prompt, so applications that only show texts together with a question
                    // (sshd keyboard-interactive without a terminal) show the codes too.
                    if !backup_codes.is_empty() {
                        self.ask_user(display::ACK_PROMPT, true)?;
                    }
                    return Ok(self.report(
                        Outcome::Success,
                        "enrolled",
                        "the authenticator app was enrolled".into(),
                    ));
                }
                PamReply::Accepted { method } if self.code_sent => {
                    self.method = Some(method);
                    return Ok(self.report(
                        Outcome::Success,
                        "accepted",
                        format!("a {} code was accepted", method.label()),
                    ));
                }
                PamReply::Rejected { message, challenge } => {
                    self.complain(&message)?;
                    match self.confirming.clone() {
                        Some(session) => self.confirm(&session)?,
                        None => {
                            after_reject = true;
                            PamReply::Challenge(challenge)
                        }
                    }
                }
                PamReply::Locked { message } => {
                    self.complain(&message)?;
                    return Ok(self.report(
                        Outcome::MaxTries,
                        "locked",
                        "too many invalid codes in this verification session".into(),
                    ));
                }
                other => {
                    return Err(self.daemon_failure(format!(
                        "unexpected {} reply from the daemon",
                        reply_kind(&other)
                    )));
                }
            };
        }
    }

    /// Shows a challenge and sends the answer: a code, or a switch to another method.
    fn challenge(&mut self, c: &Challenge, after_reject: bool) -> Step<PamReply> {
        self.method = Some(c.method);
        let mut retries = 0;
        loop {
            self.hint(&display::challenge_text(c, after_reject && retries == 0))?;
            let answer = self.ask_user(display::prompt_for(c.method), self.opts.echo_code)?;
            let typed = answer.trimmed();
            let wanted = if typed.eq_ignore_ascii_case("resend") {
                Some(c.method)
            } else {
                Method::parse(typed)
            };
            let Some(m) = wanted else {
                self.code_sent = true;
                return self.ask_daemon(PamOp::Verify {
                    session: c.session.clone(),
                    method: c.method,
                    code: Code::new(typed),
                });
            };
            let resend = m == c.method && m.is_out_of_band();
            if resend || (m != c.method && c.alternatives.contains(&m)) {
                self.notes.push(format!("user asked for {m}"));
                return self.ask_daemon(PamOp::Switch {
                    session: c.session.clone(),
                    method: m,
                });
            }
            retries += 1;
            if retries > MAX_LOCAL_RETRIES {
                return Err(self.report(
                    Outcome::AuthErr,
                    "no_code",
                    "the user typed method names instead of a code too many times".into(),
                ));
            }
            let why = if m == c.method {
                format!("You are already asked for a {} code.", m.label())
            } else {
                format!("The {} is not available for this sign-in.", m.label())
            };
            self.complain(&why)?;
        }
    }

    /// Offers (or requires) enrollment.
    fn offer(&mut self, o: &EnrollOffer) -> Step<PamReply> {
        self.method = Some(Method::AuthenticatorApp);
        if o.required {
            self.show(
                "Two-factor authentication is required for your account: set up an authenticator app now.",
            )?;
            return self.ask_daemon(PamOp::EnrollStart {
                session: o.session.clone(),
            });
        }
        let answer = self.ask_user("Set up an authenticator app now? [y/N] ", true)?;
        if is_yes(answer.trimmed()) {
            self.ask_daemon(PamOp::EnrollStart {
                session: o.session.clone(),
            })
        } else {
            self.notes.push("user skipped optional enrollment".into());
            self.ask_daemon(PamOp::EnrollSkip {
                session: o.session.clone(),
            })
        }
    }

    /// Shows the new secret, then asks for its first code.
    fn enroll(&mut self, s: &EnrollSecret) -> Step<PamReply> {
        self.show(&display::enrollment_screen(s))?;
        self.confirming = Some(s.session.clone());
        self.confirm(&s.session)
    }

    fn confirm(&mut self, session: &str) -> Step<PamReply> {
        self.hint("Enter the 6-digit code the app now shows to finish setting it up.")?;
        let answer = self.ask_user(
            display::prompt_for(Method::AuthenticatorApp),
            self.opts.echo_code,
        )?;
        self.ask_daemon(PamOp::EnrollConfirm {
            session: session.to_owned(),
            code: Code::new(answer.trimmed()),
        })
    }
}

#[cfg(test)]
mod tests;
