//! One doctor finding: what was checked, how it came out, the cause in words and the fix.

use serde::Serialize;

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Fine.
    Ok,
    /// Works, but is a known pitfall or a backlog worth acting on.
    Warn,
    /// Broken: a symptom from the support guide will show.
    Fail,
    /// Could not be checked here (said why).
    Skip,
}

impl Status {
    /// The tag shown in the human report.
    pub fn tag(self) -> &'static str {
        match self {
            Status::Ok => "[ ok ]",
            Status::Warn => "[WARN]",
            Status::Fail => "[FAIL]",
            Status::Skip => "[skip]",
        }
    }
}

/// One finding.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    /// Stable id (`sshd.kbd_interactive`, `pam.sshd`, `clock.skew`, ...).
    pub id: String,
    /// The outcome.
    pub status: Status,
    /// One line: what was found.
    pub summary: String,
    /// The cause, in the support guide's words, when not ok.
    pub cause: Option<String>,
    /// What to do about it: the guide's resolution as commands or edits.
    pub fix: Option<String>,
}

impl Check {
    /// A passing check.
    pub fn ok(id: impl Into<String>, summary: impl Into<String>) -> Check {
        Check {
            id: id.into(),
            status: Status::Ok,
            summary: summary.into(),
            cause: None,
            fix: None,
        }
    }

    /// A check that could not run.
    pub fn skip(id: impl Into<String>, summary: impl Into<String>) -> Check {
        Check {
            id: id.into(),
            status: Status::Skip,
            summary: summary.into(),
            cause: None,
            fix: None,
        }
    }

    /// A problem (`Warn` or `Fail`) with its cause and fix.
    pub fn problem(
        id: impl Into<String>,
        status: Status,
        summary: impl Into<String>,
        cause: impl Into<String>,
        fix: impl Into<String>,
    ) -> Check {
        Check {
            id: id.into(),
            status,
            summary: summary.into(),
            cause: Some(cause.into()),
            fix: Some(fix.into()),
        }
    }

    /// A failing check.
    pub fn fail(
        id: impl Into<String>,
        summary: impl Into<String>,
        cause: impl Into<String>,
        fix: impl Into<String>,
    ) -> Check {
        Check::problem(id, Status::Fail, summary, cause, fix)
    }

    /// A warning.
    pub fn warn(
        id: impl Into<String>,
        summary: impl Into<String>,
        cause: impl Into<String>,
        fix: impl Into<String>,
    ) -> Check {
        Check::problem(id, Status::Warn, summary, cause, fix)
    }
}
