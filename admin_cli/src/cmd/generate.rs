//! `twofoldctl completions SHELL` and `twofoldctl gen-man DIR`: generated from the CLI definition.

use crate::cli::Cli;
use crate::error::{CtlError, file_error};
use clap::CommandFactory;
use std::path::Path;

/// Prints the completion script for `shell`.
pub fn completions(shell: clap_complete::Shell) {
    let mut cmd = Cli::command();
    clap_complete::generate(shell, &mut cmd, "twofoldctl", &mut std::io::stdout());
}

/// Writes `twofoldctl.1` and one page per subcommand (`twofoldctl-users-reset.1`, ...) into `dir`.
pub fn man(dir: &Path) -> Result<Vec<String>, CtlError> {
    std::fs::create_dir_all(dir).map_err(|e| file_error(dir, e))?;
    let cmd = Cli::command();
    let mut written = Vec::new();
    write_page(dir, &cmd, "twofoldctl", &mut written)?;
    Ok(written)
}

fn write_page(
    dir: &Path,
    cmd: &clap::Command,
    name: &str,
    written: &mut Vec<String>,
) -> Result<(), CtlError> {
    let cmd = cmd.clone().name(name.to_string());
    let mut buf = Vec::new();
    clap_mangen::Man::new(cmd.clone())
        .render(&mut buf)
        .map_err(|e| CtlError::Internal(format!("rendering the man page of {name}: {e}")))?;
    let file = dir.join(format!("{name}.1"));
    std::fs::write(&file, buf).map_err(|e| file_error(&file, e))?;
    written.push(file.display().to_string());
    for sub in cmd.get_subcommands() {
        if sub.get_name() == "help" {
            continue;
        }
        write_page(dir, sub, &format!("{name}-{}", sub.get_name()), written)?;
    }
    Ok(())
}

/// `admin-token new NAME`: a 256-bit random token and the SHA-256 the daemon keeps.
pub fn admin_token(out: crate::output::Out, name: &str) -> Result<(), crate::error::CtlError> {
    use sha2::{Digest, Sha256};
    if name.is_empty()
        || name
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '"')
    {
        return Err(crate::error::CtlError::Usage(format!(
            "admin-token name {name:?} must be a non-empty word without spaces or quotes"
        )));
    }
    let mut raw = [0u8; 32];
    getrandom::fill(&mut raw).map_err(|e| crate::error::CtlError::Internal(e.to_string()))?;
    let token = data_encoding::BASE64URL_NOPAD.encode(&raw);
    let sha: String = Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let entry = format!("{{ name = \"{name}\", sha256 = \"{sha}\" }}");
    out.emit(
        &serde_json::json!({ "name": name, "token": token, "sha256": sha, "config_entry": entry }),
        || {
            println!("token:  {token}");
            println!("add to [admin] in twofoldd.toml:  api_tokens = [ {entry} ]");
            println!(
                "keep the token in a file readable only by you, and pass it with --token-file"
            );
        },
    );
    Ok(())
}
