//! In-process logins through real libpam: a scratch service directory whose stack loads the
//! built `libpam_twofold.so` by absolute path, and conversations that act like a user (type a
//! code, enroll from the text key on the screen).

use super::daemon::TestDaemon;
use super::{artifacts, totp};
use pam_testkit::ServiceDir;
#[allow(unused_imports)]
pub use pam_testkit::{Handler, Login, Message, Reply, Style, answers, code};

/// The service name used in the scratch directory.
pub const SERVICE: &str = "twofold-test";
/// The remote host the logins come from unless a test says otherwise.
pub const RHOST: &str = "192.0.2.10";

/// A PAM configuration directory with one service.
pub struct Stack {
    dir: ServiceDir,
}

impl Stack {
    /// `auth required pam_twofold.so socket=<daemon's socket> ARGS`, plus permissive
    /// account/session lines.
    pub fn for_daemon(d: &TestDaemon, args: &str) -> Stack {
        Stack::with_auth(&format!(
            "auth required {} socket={} {args}",
            artifacts::pam_module().display(),
            d.pam_socket.display()
        ))
    }

    /// A stack with these `auth` lines (use [`module_path`] for the module).
    pub fn with_auth(auth_lines: &str) -> Stack {
        let dir = ServiceDir::new().expect("service dir");
        dir.add(
            SERVICE,
            &format!(
                "{auth_lines}\naccount required pam_permit.so\nsession required pam_permit.so\n"
            ),
        )
        .expect("service file");
        Stack { dir }
    }

    /// The configuration directory.
    pub fn confdir(&self) -> &std::path::Path {
        self.dir.path()
    }

    /// Authenticates `user` from [`RHOST`].
    pub fn login(&self, user: &str, handler: Handler<'_>) -> Login {
        self.login_from(user, Some(RHOST), handler)
    }

    /// Authenticates `user` from `rhost`.
    pub fn login_from(&self, user: &str, rhost: Option<&str>, handler: Handler<'_>) -> Login {
        pam_testkit::login(self.dir.path(), SERVICE, user, rhost, handler)
            .expect("pam_start_confdir")
    }
}

/// The module's absolute path.
pub fn module_path() -> String {
    artifacts::pam_module().display().to_string()
}

/// Finds the manual-entry text key on the enrollment screen (the groups of base32 after the
/// "this key" caption).
pub fn text_key(screen: &str) -> Option<String> {
    let (_, after) = screen.split_once("this key (time-based):")?;
    let groups: Vec<&str> = after
        .split_whitespace()
        .filter(|w| {
            !w.is_empty()
                && w.len() <= 4
                && w.chars()
                    .all(|c| c.is_ascii_uppercase() || ('2'..='7').contains(&c))
        })
        .collect();
    (!groups.is_empty()).then(|| groups.concat())
}

/// The backup codes listed after enrollment.
pub fn backup_codes(text: &str) -> Vec<String> {
    let Some((_, after)) = text.split_once("they are not shown again.") else {
        return Vec::new();
    };
    after.split_whitespace().map(str::to_owned).collect()
}

/// What an enrollment in the conversation produced.
pub struct Enrollment {
    /// The login itself.
    pub login: Login,
    /// The text key read from the screen (base32, no spaces).
    pub key: String,
    /// The backup codes shown.
    pub backup_codes: Vec<String>,
}

/// A user who accepts enrollment, reads the text key from the screen and confirms with the
/// current code. Panics if no key was shown.
pub fn enroll(stack: &Stack, user: &str) -> Enrollment {
    let mut key: Option<String> = None;
    let login = {
        let handler: Handler<'_> = Box::new(|m: &Message| match m.style {
            Style::TextInfo => {
                if let Some(k) = text_key(&m.text) {
                    key = Some(k);
                }
                Reply::Null
            }
            Style::PromptEchoOn if m.text.contains("[y/N]") => Reply::Text("y".into()),
            Style::PromptEchoOn if m.text.contains("Press Enter") => Reply::Text(String::new()),
            Style::PromptEchoOff | Style::PromptEchoOn => match &key {
                Some(k) => Reply::Text(totp::code_now(k, 0)),
                None => Reply::Fail,
            },
            _ => Reply::Null,
        });
        stack.login(user, handler)
    };
    let key = key.unwrap_or_else(|| {
        panic!(
            "no text key was shown: {}\n{:?}",
            code::name(login.code),
            login.transcript
        )
    });
    let backup_codes = backup_codes(&login.infos());
    Enrollment {
        login,
        key,
        backup_codes,
    }
}

/// A user who types the code of `key` shifted by `offset` steps at every code prompt, at most
/// `times` times.
pub fn typing_code(key: &str, offset: i64, times: usize) -> Handler<'static> {
    let key = key.to_owned();
    let mut left = times;
    Box::new(move |m: &Message| {
        if !m.style.is_prompt() {
            return Reply::Null;
        }
        if left == 0 {
            return Reply::Fail;
        }
        left -= 1;
        Reply::Text(totp::code_now(&key, offset))
    })
}
