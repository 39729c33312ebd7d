//! What can go wrong in a `twofoldctl` command, and the exit status each maps to.

/// A command that did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum CtlError {
    /// Bad arguments (exit 2).
    #[error("{0}")]
    Usage(String),
    /// The daemon refused a valid request, or a check found a problem (exit 1).
    #[error("{0}")]
    Refused(String),
    /// The daemon could not be reached (exit 1).
    #[error("{0}")]
    Unreachable(String),
    /// Something failed inside the daemon or the CLI (exit 1).
    #[error("{0}")]
    Internal(String),
    /// Problems were found and already printed in the command's own output (exit 1).
    #[error("problems found")]
    Reported,
}

impl CtlError {
    /// The process exit status: 2 for usage, 1 otherwise.
    pub fn exit_code(&self) -> u8 {
        match self {
            CtlError::Usage(_) => 2,
            _ => 1,
        }
    }

    /// The machine-readable kind for `--json` output.
    pub fn kind(&self) -> &'static str {
        match self {
            CtlError::Usage(_) => "usage",
            CtlError::Refused(_) => "refused",
            CtlError::Unreachable(_) => "unreachable",
            CtlError::Internal(_) => "internal",
            CtlError::Reported => "problems_found",
        }
    }
}

/// A local I/O error (reading a file given on the command line) as a usage error naming the file.
pub fn file_error(path: &std::path::Path, e: std::io::Error) -> CtlError {
    CtlError::Usage(format!("{}: {e}", path.display()))
}
