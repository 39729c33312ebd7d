//! `twofoldctl`: administer twofold through the daemon's admin socket.
//!
//! Exit status: 0 ok, 1 a problem was found or the daemon refused (or could not be reached),
//! 2 bad usage. `--json` prints one JSON document (errors too: `{"ok": false, "error", "kind"}`).

mod cli;
mod client;
mod cmd;
mod doctor;
mod error;
mod output;
mod time;

use clap::Parser;
use cli::{Cli, Command};
use client::Client;
use error::CtlError;
use output::Out;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = e.exit_code();
            let _ = e.print();
            return ExitCode::from(u8::try_from(code).unwrap_or(2));
        }
    };
    let out = Out { json: cli.json };
    match run(&cli, out) {
        Ok(()) => ExitCode::SUCCESS,
        Err(CtlError::Reported) => ExitCode::from(1),
        Err(e) => {
            if out.json {
                let doc =
                    serde_json::json!({ "ok": false, "error": e.to_string(), "kind": e.kind() });
                println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
            } else {
                eprintln!("twofoldctl: {e}");
            }
            ExitCode::from(e.exit_code())
        }
    }
}

fn run(cli: &Cli, out: Out) -> Result<(), CtlError> {
    let c = match (&cli.url, &cli.token_file) {
        (Some(url), Some(file)) => Client::remote(url, file)?,
        _ => Client::new(&cli.socket),
    };
    match &cli.command {
        Command::Settings(s) => cmd::settings::run(&c, out, s),
        Command::Users(u) => cmd::users::run(&c, out, u),
        Command::Integrations(i) => cmd::delivery::integrations(&c, out, i),
        Command::Email(e) => cmd::delivery::email(&c, out, e),
        Command::Delivery(d) => cmd::delivery::delivery(&c, out, d),
        Command::Keys(k) => cmd::keys::run(&c, out, k),
        Command::Clients(k) => cmd::clients::run(&c, out, k),
        Command::Audit(a) => cmd::audit::audit(&c, out, a),
        Command::Why(w) => cmd::audit::why(&c, out, w),
        Command::Doctor(d) => doctor::run(&c, out, d),
        Command::Completions { shell } => {
            cmd::generate::completions(*shell);
            Ok(())
        }
        Command::AdminToken { name, .. } => cmd::generate::admin_token(out, name),
        Command::GenMan { dir } => {
            let files = cmd::generate::man(dir)?;
            out.emit(&serde_json::json!({ "written": files }), || {
                for f in &files {
                    println!("{f}");
                }
            });
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::cli::Cli;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
