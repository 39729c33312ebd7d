//! `twofoldd`: reads the configuration, runs the daemon, stops cleanly on SIGTERM or SIGINT.

use anyhow::Context;
use clap::Parser;
use std::path::PathBuf;
use tokio_util::sync::CancellationToken;

/// The twofold daemon: PAM socket, admin socket, OpenID Connect provider, delivery worker.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// Configuration file.
    #[arg(short, long, default_value = "/etc/twofold/twofoldd.toml")]
    config: PathBuf,
    /// Check the configuration and exit.
    #[arg(long)]
    check: bool,
    /// Run a self-contained demo: state, sockets and a demo user and client under DIR
    /// (no configuration file needed), HTTP on 127.0.0.1:8080.
    #[arg(long, value_name = "DIR", conflicts_with = "check")]
    demo: Option<PathBuf>,
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    match real_main(args) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("twofoldd: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn real_main(args: Args) -> anyhow::Result<()> {
    let cfg = match &args.demo {
        Some(dir) => twofoldd::config::Config::demo(dir),
        None => twofoldd::config::Config::load(&args.config)?,
    };
    if args.check {
        println!("{}: ok", args.config.display());
        return Ok(());
    }
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(&cfg.log))
        .with_writer(std::io::stderr)
        .init();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    rt.block_on(async move {
        let shutdown = CancellationToken::new();
        let s = shutdown.clone();
        tokio::spawn(async move {
            wait_for_signal().await;
            tracing::info!("shutting down");
            s.cancel();
        });
        twofoldd::run(cfg, args.demo.is_some(), shutdown).await
    })?;
    Ok(())
}

async fn wait_for_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}
