//! One module per noun; each turns arguments into an admin request and prints the answer.

pub mod audit;
pub mod clients;
pub mod delivery;
pub mod generate;
pub mod keys;
pub mod settings;
pub mod users;

use crate::error::CtlError;
use crate::output::Out;
use std::io::{BufRead, IsTerminal};

/// Asks before a change that cannot be undone: `plan` says what it does, `question` is asked on
/// the terminal. Without a terminal (or with `--json`) the caller must pass `--yes`; nothing is
/// changed unless the answer is yes.
pub fn confirm(out: Out, plan: &str, question: &str) -> Result<(), CtlError> {
    if out.json || !std::io::stdin().is_terminal() || !std::io::stderr().is_terminal() {
        return Err(CtlError::Usage(format!(
            "{plan}; nothing was changed. Re-run with --yes to do it"
        )));
    }
    eprint!("{plan}.\n{question} [y/N] ");
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|e| CtlError::Internal(format!("reading the answer: {e}")))?;
    if !matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes") {
        return Err(CtlError::Refused(
            "not confirmed; nothing was changed".into(),
        ));
    }
    Ok(())
}
