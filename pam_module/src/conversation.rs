//! The user's side of the sign-in: messages shown and answers typed, behind a trait so the flow
//! can be tested with a scripted fake and run for real through the application's `pam_conv`.

use pam::constants::{PAM_ERROR_MSG, PAM_PROMPT_ECHO_OFF, PAM_PROMPT_ECHO_ON, PAM_TEXT_INFO};
use pam::conv::Conv;
use zeroize::Zeroizing;

/// The application's conversation failed (or refused the message). Maps to PAM_CONV_ERR.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConvError;

/// What the user typed. Wiped from memory when dropped; never logged.
pub struct Answer(Zeroizing<String>);

impl Answer {
    /// Wraps typed text (invalid UTF-8 is replaced, so it can only fail as a code).
    pub fn from_bytes(bytes: &[u8]) -> Answer {
        Answer(Zeroizing::new(String::from_utf8_lossy(bytes).into_owned()))
    }
    /// Wraps typed text.
    pub fn new(s: &str) -> Answer {
        Answer(Zeroizing::new(s.to_owned()))
    }
    /// The text with surrounding whitespace removed.
    pub fn trimmed(&self) -> &str {
        self.0.trim()
    }
}

impl std::fmt::Debug for Answer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Answer([redacted])")
    }
}

/// The conversation with the user.
pub trait Conversation {
    /// Shows information (PAM_TEXT_INFO).
    fn info(&mut self, text: &str) -> Result<(), ConvError>;
    /// Shows an error (PAM_ERROR_MSG).
    fn error(&mut self, text: &str) -> Result<(), ConvError>;
    /// Asks a question; `echo` shows the typing. `Ok(None)` when the application gave no answer.
    fn prompt(&mut self, text: &str, echo: bool) -> Result<Option<Answer>, ConvError>;
}

/// The application's conversation function, as libpam hands it to the module.
pub struct PamConversation<'a> {
    conv: Conv<'a>,
}

impl<'a> PamConversation<'a> {
    /// Wraps the `PAM_CONV` item.
    pub fn new(conv: Conv<'a>) -> PamConversation<'a> {
        PamConversation { conv }
    }
}

impl Conversation for PamConversation<'_> {
    fn info(&mut self, text: &str) -> Result<(), ConvError> {
        self.conv
            .send(PAM_TEXT_INFO, text)
            .map(|_| ())
            .map_err(|_| ConvError)
    }

    fn error(&mut self, text: &str) -> Result<(), ConvError> {
        self.conv
            .send(PAM_ERROR_MSG, text)
            .map(|_| ())
            .map_err(|_| ConvError)
    }

    fn prompt(&mut self, text: &str, echo: bool) -> Result<Option<Answer>, ConvError> {
        let style = if echo {
            PAM_PROMPT_ECHO_ON
        } else {
            PAM_PROMPT_ECHO_OFF
        };
        match self.conv.send(style, text) {
            Ok(Some(bytes)) => Ok(Some(Answer::from_bytes(bytes.as_bytes()))),
            Ok(None) => Ok(None),
            Err(_) => Err(ConvError),
        }
    }
}
