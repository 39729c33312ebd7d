//! A minimal PAM *application* for tests and benchmarks: it runs real libpam in-process against
//! a scratch service directory (`pam_start_confdir`, Linux-PAM ≥ 1.4), so a service file can load
//! `libpam_twofold.so` by absolute path without touching `/etc/pam.d` and without root.
//!
//! The conversation is a Rust closure that sees every message (text and style) and answers the
//! prompts; everything said is kept in a transcript. The conversation callback never unwinds
//! into libpam, allocates its answers with the C allocator (libpam frees them with `free`), and
//! reads the message list as Linux-PAM's array of pointers.
//!
//! ```no_run
//! use pam_testkit::{ServiceDir, Transaction, Reply, answers};
//! let dir = ServiceDir::new().unwrap();
//! dir.add("svc", "auth required /abs/path/libpam_twofold.so socket=/tmp/x.sock\n").unwrap();
//! let mut t = Transaction::start(dir.path(), "svc", Some("alice"), answers(["123456"])).unwrap();
//! t.set_rhost("192.0.2.7").unwrap();
//! t.no_fail_delay().unwrap();
//! let rc = t.authenticate(0);
//! ```

use std::collections::VecDeque;
use std::ffi::{CStr, CString, c_char, c_int, c_uint, c_void};
use std::path::{Path, PathBuf};
use std::ptr;

/// Linux-PAM return codes (`_pam_types.h`) the tests look at.
pub mod code {
    /// Success.
    pub const SUCCESS: i32 = 0;
    /// Error in the service module (bad options).
    pub const SERVICE_ERR: i32 = 3;
    /// Permission denied.
    pub const PERM_DENIED: i32 = 6;
    /// Authentication failure.
    pub const AUTH_ERR: i32 = 7;
    /// Authentication information unavailable (daemon down).
    pub const AUTHINFO_UNAVAIL: i32 = 9;
    /// Too many attempts.
    pub const MAXTRIES: i32 = 11;
    /// Conversation failure.
    pub const CONV_ERR: i32 = 19;
    /// The module asked to be ignored.
    pub const IGNORE: i32 = 25;
    /// Critical error (a panic caught at the FFI boundary).
    pub const ABORT: i32 = 26;

    const NAMES: [&str; 32] = [
        "PAM_SUCCESS",
        "PAM_OPEN_ERR",
        "PAM_SYMBOL_ERR",
        "PAM_SERVICE_ERR",
        "PAM_SYSTEM_ERR",
        "PAM_BUF_ERR",
        "PAM_PERM_DENIED",
        "PAM_AUTH_ERR",
        "PAM_CRED_INSUFFICIENT",
        "PAM_AUTHINFO_UNAVAIL",
        "PAM_USER_UNKNOWN",
        "PAM_MAXTRIES",
        "PAM_NEW_AUTHTOK_REQD",
        "PAM_ACCT_EXPIRED",
        "PAM_SESSION_ERR",
        "PAM_CRED_UNAVAIL",
        "PAM_CRED_EXPIRED",
        "PAM_CRED_ERR",
        "PAM_NO_MODULE_DATA",
        "PAM_CONV_ERR",
        "PAM_AUTHTOK_ERR",
        "PAM_AUTHTOK_RECOVERY_ERR",
        "PAM_AUTHTOK_LOCK_BUSY",
        "PAM_AUTHTOK_DISABLE_AGING",
        "PAM_TRY_AGAIN",
        "PAM_IGNORE",
        "PAM_ABORT",
        "PAM_AUTHTOK_EXPIRED",
        "PAM_MODULE_UNKNOWN",
        "PAM_BAD_ITEM",
        "PAM_CONV_AGAIN",
        "PAM_INCOMPLETE",
    ];

    /// `PAM_AUTH_ERR (7)`.
    pub fn name(c: i32) -> String {
        let n = usize::try_from(c)
            .ok()
            .and_then(|i| NAMES.get(i))
            .map_or("PAM_?", |s| s);
        format!("{n} ({c})")
    }
}

/// `PAM_SILENT`.
pub const PAM_SILENT: i32 = 0x8000;
/// `PAM_ESTABLISH_CRED`.
pub const PAM_ESTABLISH_CRED: i32 = 0x0002;

#[repr(C)]
struct PamMessage {
    msg_style: c_int,
    msg: *const c_char,
}

#[repr(C)]
struct PamResponse {
    resp: *mut c_char,
    resp_retcode: c_int,
}

type ConvFn =
    extern "C" fn(c_int, *mut *const PamMessage, *mut *mut PamResponse, *mut c_void) -> c_int;

#[repr(C)]
struct PamConv {
    conv: ConvFn,
    appdata_ptr: *mut c_void,
}

#[repr(C)]
struct PamHandleT {
    _p: [u8; 0],
}

type FailDelayFn = extern "C" fn(c_int, c_uint, *mut c_void);

#[link(name = "pam")]
unsafe extern "C" {
    fn pam_start_confdir(
        service: *const c_char,
        user: *const c_char,
        conv: *const PamConv,
        confdir: *const c_char,
        pamh: *mut *mut PamHandleT,
    ) -> c_int;
    fn pam_end(pamh: *mut PamHandleT, status: c_int) -> c_int;
    fn pam_set_item(pamh: *mut PamHandleT, item_type: c_int, item: *const c_void) -> c_int;
    fn pam_authenticate(pamh: *mut PamHandleT, flags: c_int) -> c_int;
    fn pam_setcred(pamh: *mut PamHandleT, flags: c_int) -> c_int;
    fn pam_acct_mgmt(pamh: *mut PamHandleT, flags: c_int) -> c_int;
}

const PAM_PROMPT_ECHO_OFF: c_int = 1;
const PAM_PROMPT_ECHO_ON: c_int = 2;
const PAM_ERROR_MSG: c_int = 3;
const PAM_TEXT_INFO: c_int = 4;
const PAM_BUF_ERR: c_int = 5;
const PAM_TTY: c_int = 3;
const PAM_RHOST: c_int = 4;
const PAM_FAIL_DELAY: c_int = 10;

/// How a message is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// A prompt whose answer is hidden.
    PromptEchoOff,
    /// A prompt whose answer is shown.
    PromptEchoOn,
    /// An error text.
    ErrorMsg,
    /// An information text.
    TextInfo,
    /// Anything else (binary prompts, radio): answered with a conversation error.
    Other(i32),
}

impl Style {
    fn from_raw(s: c_int) -> Style {
        match s {
            PAM_PROMPT_ECHO_OFF => Style::PromptEchoOff,
            PAM_PROMPT_ECHO_ON => Style::PromptEchoOn,
            PAM_ERROR_MSG => Style::ErrorMsg,
            PAM_TEXT_INFO => Style::TextInfo,
            other => Style::Other(other),
        }
    }

    /// A prompt that wants an answer.
    pub fn is_prompt(self) -> bool {
        matches!(self, Style::PromptEchoOff | Style::PromptEchoOn)
    }
}

/// One message from the module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Its style.
    pub style: Style,
    /// Its text.
    pub text: String,
}

/// The answer to a message. Non-prompts ignore it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// Answer with this text.
    Text(String),
    /// Answer with a NULL response.
    Null,
    /// Fail the whole conversation call (PAM_CONV_ERR).
    Fail,
}

/// The conversation: sees each message, answers prompts.
pub type Handler<'a> = Box<dyn FnMut(&Message) -> Reply + 'a>;

/// A conversation that answers prompts with `answers` in order and fails once they run out.
pub fn answers<I, S>(answers: I) -> Handler<'static>
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    let mut left: VecDeque<String> = answers.into_iter().map(Into::into).collect();
    Box::new(move |m: &Message| {
        if !m.style.is_prompt() {
            return Reply::Null;
        }
        match left.pop_front() {
            Some(a) => Reply::Text(a),
            None => Reply::Fail,
        }
    })
}

struct ConvState<'a> {
    handler: Handler<'a>,
    transcript: Vec<Message>,
}

extern "C" fn conversation(
    num_msg: c_int,
    msg: *mut *const PamMessage,
    resp: *mut *mut PamResponse,
    appdata: *mut c_void,
) -> c_int {
    // A panic in a test's handler must not unwind into libpam.
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        // SAFETY: libpam passes the arguments of the pam_conv contract; `appdata` is the
        // ConvState this crate registered, alive for the whole transaction.
        unsafe { conversation_inner(num_msg, msg, resp, appdata) }
    }))
    .unwrap_or(code::CONV_ERR)
}

/// # Safety
/// `msg` points to `num_msg` message pointers, `resp` is writable, `appdata` is a `ConvState`.
unsafe fn conversation_inner(
    num_msg: c_int,
    msg: *mut *const PamMessage,
    resp: *mut *mut PamResponse,
    appdata: *mut c_void,
) -> c_int {
    let Ok(n) = usize::try_from(num_msg) else {
        return code::CONV_ERR;
    };
    if n == 0 || msg.is_null() || resp.is_null() || appdata.is_null() {
        return code::CONV_ERR;
    }
    // SAFETY: appdata is the `ConvState` registered in `Transaction::start` (see caller).
    let st = unsafe { &mut *appdata.cast::<ConvState<'_>>() };
    // SAFETY: calloc of n zeroed PamResponse structs; checked for NULL below.
    let out = unsafe { libc::calloc(n, std::mem::size_of::<PamResponse>()) }.cast::<PamResponse>();
    if out.is_null() {
        return PAM_BUF_ERR;
    }
    for i in 0..n {
        // SAFETY: Linux-PAM passes an array of `n` pointers to messages.
        let m = unsafe { &**msg.add(i) };
        let text = if m.msg.is_null() {
            String::new()
        } else {
            // SAFETY: a non-NULL msg is a NUL-terminated string owned by the module.
            unsafe { CStr::from_ptr(m.msg) }
                .to_string_lossy()
                .into_owned()
        };
        let message = Message {
            style: Style::from_raw(m.msg_style),
            text,
        };
        let reply = match message.style {
            Style::Other(_) => Reply::Fail,
            _ => (st.handler)(&message),
        };
        let style = message.style;
        st.transcript.push(message);
        if !style.is_prompt() {
            continue;
        }
        let r = match reply {
            Reply::Text(t) => {
                let Ok(c) = CString::new(t) else {
                    // SAFETY: `out` holds `i` filled entries allocated by this function.
                    unsafe { free_responses(out, i) };
                    return code::CONV_ERR;
                };
                // SAFETY: strdup copies the NUL-terminated string with malloc; libpam frees it.
                unsafe { libc::strdup(c.as_ptr()) }
            }
            Reply::Null => ptr::null_mut(),
            Reply::Fail => {
                // SAFETY: as above.
                unsafe { free_responses(out, i) };
                return code::CONV_ERR;
            }
        };
        // SAFETY: `i < n`, inside the calloc'ed array.
        unsafe { (*out.add(i)).resp = r };
    }
    // SAFETY: `resp` is writable (checked non-NULL); libpam takes ownership of `out`.
    unsafe { *resp = out };
    code::SUCCESS
}

/// # Safety
/// `out` was allocated by `calloc` and its first `filled` entries hold malloc'ed or NULL strings.
unsafe fn free_responses(out: *mut PamResponse, filled: usize) {
    for j in 0..filled {
        // SAFETY: `j < filled`, inside the array.
        let r = unsafe { (*out.add(j)).resp };
        if !r.is_null() {
            // SAFETY: allocated by strdup.
            unsafe { libc::free(r.cast::<c_void>()) };
        }
    }
    // SAFETY: allocated by calloc.
    unsafe { libc::free(out.cast::<c_void>()) };
}

extern "C" fn no_fail_delay(_retval: c_int, _usec: c_uint, _appdata: *mut c_void) {}

/// A scratch PAM configuration directory for `pam_start_confdir`, with an `other` service that
/// denies everything (so libpam never falls back to `/etc/pam.d` nor logs "no default config").
pub struct ServiceDir {
    dir: tempfile::TempDir,
}

impl ServiceDir {
    /// A new, empty configuration directory.
    pub fn new() -> std::io::Result<ServiceDir> {
        let dir = tempfile::tempdir()?;
        std::fs::write(
            dir.path().join("other"),
            "auth required pam_deny.so\naccount required pam_deny.so\npassword required pam_deny.so\nsession required pam_deny.so\n",
        )?;
        Ok(ServiceDir { dir })
    }

    /// Writes the service file `name`. Module paths should be absolute; `@include` of relative
    /// names would resolve against `/etc/pam.d`, not this directory.
    pub fn add(&self, name: &str, lines: &str) -> std::io::Result<()> {
        std::fs::write(self.dir.path().join(name), lines)
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

/// Why a transaction could not start.
#[derive(Debug)]
pub struct StartError(pub String);

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StartError {}

/// One PAM transaction (`pam_start_confdir` .. `pam_end`).
pub struct Transaction<'a> {
    pamh: *mut PamHandleT,
    last: c_int,
    // Boxed so their addresses stay fixed while libpam holds pointers to them.
    conv: Box<PamConv>,
    state: Box<ConvState<'a>>,
    _strings: Vec<CString>,
}

impl<'a> Transaction<'a> {
    /// Starts a transaction for `service` (a file in `confdir`) and `user`.
    pub fn start(
        confdir: &Path,
        service: &str,
        user: Option<&str>,
        handler: Handler<'a>,
    ) -> Result<Transaction<'a>, StartError> {
        let cstr = |s: &str| CString::new(s).map_err(|_| StartError(format!("NUL in {s:?}")));
        let service = cstr(service)?;
        let user = user.map(cstr).transpose()?;
        let confdir = {
            use std::os::unix::ffi::OsStrExt;
            CString::new(confdir.as_os_str().as_bytes())
                .map_err(|_| StartError("NUL in confdir".into()))?
        };
        let mut state = Box::new(ConvState {
            handler,
            transcript: Vec::new(),
        });
        let conv = Box::new(PamConv {
            conv: conversation,
            appdata_ptr: (&raw mut *state).cast::<c_void>(),
        });
        let mut pamh: *mut PamHandleT = ptr::null_mut();
        // SAFETY: every pointer is a valid NUL-terminated string or a live PamConv; libpam copies
        // the strings and keeps the PamConv pointer, which the Box keeps in place until pam_end.
        let rc = unsafe {
            pam_start_confdir(
                service.as_ptr(),
                user.as_ref().map_or(ptr::null(), |u| u.as_ptr()),
                &*conv,
                confdir.as_ptr(),
                &mut pamh,
            )
        };
        if rc != code::SUCCESS || pamh.is_null() {
            return Err(StartError(format!(
                "pam_start_confdir failed: {}",
                code::name(rc)
            )));
        }
        Ok(Transaction {
            pamh,
            last: code::SUCCESS,
            conv,
            state,
            _strings: vec![service, confdir],
        })
    }

    fn set_str(&mut self, item: c_int, value: &str) -> Result<(), i32> {
        let v = CString::new(value).map_err(|_| code::SERVICE_ERR)?;
        // SAFETY: live handle; libpam copies string items.
        let rc = unsafe { pam_set_item(self.pamh, item, v.as_ptr().cast::<c_void>()) };
        if rc == code::SUCCESS { Ok(()) } else { Err(rc) }
    }

    /// Sets PAM_RHOST.
    pub fn set_rhost(&mut self, rhost: &str) -> Result<(), i32> {
        self.set_str(PAM_RHOST, rhost)
    }

    /// Sets PAM_TTY.
    pub fn set_tty(&mut self, tty: &str) -> Result<(), i32> {
        self.set_str(PAM_TTY, tty)
    }

    /// Installs a no-op PAM_FAIL_DELAY callback, so failures return at once.
    pub fn no_fail_delay(&mut self) -> Result<(), i32> {
        let f: FailDelayFn = no_fail_delay;
        // SAFETY: PAM_FAIL_DELAY takes a function pointer of this signature, valid forever.
        let rc = unsafe { pam_set_item(self.pamh, PAM_FAIL_DELAY, f as *const c_void) };
        if rc == code::SUCCESS { Ok(()) } else { Err(rc) }
    }

    /// `pam_authenticate(flags)`.
    pub fn authenticate(&mut self, flags: i32) -> i32 {
        // SAFETY: live handle.
        self.last = unsafe { pam_authenticate(self.pamh, flags) };
        self.last
    }

    /// `pam_setcred(flags)`.
    pub fn setcred(&mut self, flags: i32) -> i32 {
        // SAFETY: live handle.
        self.last = unsafe { pam_setcred(self.pamh, flags) };
        self.last
    }

    /// `pam_acct_mgmt(flags)`.
    pub fn acct_mgmt(&mut self, flags: i32) -> i32 {
        // SAFETY: live handle.
        self.last = unsafe { pam_acct_mgmt(self.pamh, flags) };
        self.last
    }

    /// Everything the modules said so far.
    pub fn transcript(&self) -> &[Message] {
        &self.state.transcript
    }

    /// The transcript as text, one `STYLE: text` entry per message (for assertion messages).
    pub fn transcript_text(&self) -> String {
        self.state
            .transcript
            .iter()
            .map(|m| format!("{:?}: {}", m.style, m.text))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl Drop for Transaction<'_> {
    fn drop(&mut self) {
        // SAFETY: live handle, ended exactly once; the conversation state outlives this call.
        unsafe { pam_end(self.pamh, self.last) };
        let _ = &self.conv;
    }
}

/// The result of a whole `start` → `authenticate` → `end` cycle.
#[derive(Debug, Clone)]
pub struct Login {
    /// `pam_authenticate`'s result.
    pub code: i32,
    /// Every message, in order.
    pub transcript: Vec<Message>,
}

impl Login {
    /// All information texts joined by newlines.
    pub fn infos(&self) -> String {
        self.texts(Style::TextInfo)
    }
    /// All error texts joined by newlines.
    pub fn errors(&self) -> String {
        self.texts(Style::ErrorMsg)
    }
    /// The prompts, in order.
    pub fn prompts(&self) -> Vec<&str> {
        self.transcript
            .iter()
            .filter(|m| m.style.is_prompt())
            .map(|m| m.text.as_str())
            .collect()
    }
    fn texts(&self, s: Style) -> String {
        self.transcript
            .iter()
            .filter(|m| m.style == s)
            .map(|m| m.text.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// Runs one authentication for `user` (with PAM_RHOST `rhost`, no fail delay).
pub fn login(
    confdir: &Path,
    service: &str,
    user: &str,
    rhost: Option<&str>,
    handler: Handler<'_>,
) -> Result<Login, StartError> {
    let mut t = Transaction::start(confdir, service, Some(user), handler)?;
    if let Some(h) = rhost {
        t.set_rhost(h)
            .map_err(|c| StartError(format!("pam_set_item(PAM_RHOST): {}", code::name(c))))?;
    }
    t.no_fail_delay()
        .map_err(|c| StartError(format!("pam_set_item(PAM_FAIL_DELAY): {}", code::name(c))))?;
    let code = t.authenticate(0);
    let transcript = t.transcript().to_vec();
    Ok(Login { code, transcript })
}

/// The directory holding this build's artifacts (`target/<profile>`), found from the running
/// test or bench executable (`target/<profile>/deps/NAME-HASH` or `target/<profile>/NAME`).
pub fn artifact_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap_or_default();
    let mut dir = exe.parent().map(Path::to_path_buf).unwrap_or_default();
    if dir.ends_with("deps") || dir.ends_with("examples") {
        dir.pop();
    }
    dir
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn pam_permit_succeeds_and_pam_deny_fails() {
        let d = ServiceDir::new().unwrap();
        d.add("yes", "auth required pam_permit.so\n").unwrap();
        d.add("no", "auth required pam_deny.so\n").unwrap();
        let ok = login(
            d.path(),
            "yes",
            "nobody",
            None,
            answers(Vec::<String>::new()),
        )
        .unwrap();
        assert_eq!(ok.code, code::SUCCESS);
        let no = login(
            d.path(),
            "no",
            "nobody",
            None,
            answers(Vec::<String>::new()),
        )
        .unwrap();
        assert_eq!(no.code, code::AUTH_ERR);
    }

    #[test]
    fn code_names_are_readable() {
        assert_eq!(code::name(9), "PAM_AUTHINFO_UNAVAIL (9)");
        assert_eq!(code::name(99), "PAM_? (99)");
    }
}
