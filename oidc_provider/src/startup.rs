//! Starting and stopping the daemon: state directory, store, keys, sockets, listeners, tasks.

use crate::config::Config;
use crate::{Daemon, admin, delivery, http, pam_socket, unix};
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;
use twofold_core::clock::{OsRng, SystemClock};
use twofold_core::crypto::Keyring;
use twofold_core::engine::Engine;
use twofold_core::store::Store;

/// Why the daemon could not start.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// The state directory could not be created or secured.
    #[error("state directory {path}: {source}")]
    StateDir {
        /// The directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The store or the key could not be opened.
    #[error(transparent)]
    Core(#[from] twofold_core::Error),
    /// A socket or listener could not be bound.
    #[error("cannot listen on {what}: {source}")]
    Bind {
        /// Which socket.
        what: String,
        /// Why.
        source: std::io::Error,
    },
}

/// Opens the configured store: the SQLite file, or the PostgreSQL database shared by every
/// node (refused at start when the server runs with `synchronous_commit=off`).
pub fn open_store(cfg: &Config) -> Result<Arc<dyn Store>, DaemonError> {
    if cfg.store.backend == "postgres" {
        return open_postgres(cfg);
    }
    use twofold_core::store::sqlite::{Durability, SqliteOptions, SqliteStore};
    let durability = match cfg.store.sqlite_synchronous.as_str() {
        "normal" => {
            tracing::warn!(
                "store.sqlite_synchronous = \"normal\": a power loss may roll back a consumed code"
            );
            Durability::Normal
        }
        _ => Durability::Full,
    };
    let options = SqliteOptions {
        durability,
        busy_timeout: std::time::Duration::from_secs(cfg.store.timeout_secs),
        ..SqliteOptions::default()
    };
    let store = SqliteStore::open_with(&cfg.sqlite_path(), options)?;
    Ok(Arc::new(store))
}

fn open_postgres(cfg: &Config) -> Result<Arc<dyn Store>, DaemonError> {
    use twofold_core::store::postgres::{PgOptions, PgStore};
    let url = cfg.store.postgres_url.clone().ok_or_else(|| {
        twofold_core::Error::Invalid("store.backend = \"postgres\" needs store.postgres_url".into())
    })?;
    // One budget for connecting and for each store call (waiting for a pooled connection
    // included): past it the request fails closed instead of hanging.
    let timeout = std::time::Duration::from_secs(cfg.store.timeout_secs);
    let store = PgStore::connect(PgOptions {
        schema: cfg.store.postgres_schema.clone(),
        pool_size: cfg.store.pool_size,
        connect_timeout: timeout,
        op_timeout: timeout,
        ..PgOptions::new(url)
    })?;
    Ok(Arc::new(store))
}

/// Builds the shared state: store, keys, engine.
pub fn build(cfg: Config, demo: bool) -> Result<Arc<Daemon>, DaemonError> {
    let dir = cfg.state_dir.clone();
    std::fs::create_dir_all(&dir)
        .and_then(|_| std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)))
        .map_err(|source| DaemonError::StateDir {
            path: dir.clone(),
            source,
        })?;
    let store = open_store(&cfg)?;
    // A database that already holds secrets must never get a fresh key silently.
    let has_secrets =
        store.holds_totp_secrets()? || delivery::holds_sealed_secrets(store.as_ref())?;
    let keys = Keyring::load_or_create(&cfg.key_path(), &OsRng, has_secrets)?;
    let keys = Arc::new(keys);
    let clock: Arc<dyn twofold_core::clock::Clock> = Arc::new(SystemClock);
    let rng: Arc<dyn twofold_core::clock::Rng> = Arc::new(OsRng);
    let sender = delivery::sender(
        store.clone(),
        keys.clone(),
        clock.clone(),
        rng.clone(),
        &cfg.delivery,
    );
    let engine = Engine {
        store,
        clock,
        rng,
        keys,
        sender,
        roles: Arc::new(crate::nss::NssRoles),
    };
    let held = Arc::new(twofold_core::store::held::HeldSessions::new(
        engine.store.clone(),
    ));
    let pam_engine = Engine {
        store: held.clone(),
        ..engine.clone()
    };
    Ok(Arc::new(Daemon {
        config: Arc::new(cfg),
        engine,
        pam_engine,
        held,
        demo,
        http: std::sync::OnceLock::new(),
    }))
}

/// Runs the daemon until `shutdown` is cancelled. Prints where to look once listening.
pub async fn run(cfg: Config, demo: bool, shutdown: CancellationToken) -> Result<(), DaemonError> {
    // Opening the store (PostgreSQL: connect, check, migrate) blocks: keep it off the runtime's
    // workers, like every other store call.
    let daemon = tokio::task::spawn_blocking(move || build(cfg, demo))
        .await
        .map_err(|e| twofold_core::Error::Unavailable(format!("the startup task failed: {e}")))??;
    let cfg = daemon.config.clone();
    let pam = unix::bind_socket(&cfg.pam.socket).map_err(|source| DaemonError::Bind {
        what: format!("PAM socket {}", cfg.pam.socket.display()),
        source,
    })?;
    let adm = unix::bind_socket(&cfg.admin.socket).map_err(|source| DaemonError::Bind {
        what: format!("admin socket {}", cfg.admin.socket.display()),
        source,
    })?;
    let mut tasks = tokio::task::JoinSet::new();
    tasks.spawn(pam_socket::serve(pam, daemon.clone(), shutdown.clone()));
    tasks.spawn(admin::serve(adm, daemon.clone(), shutdown.clone()));
    tasks.spawn(delivery::run_worker(daemon.clone(), shutdown.clone()));
    if !cfg.http.listen.is_empty() {
        let l = tokio::net::TcpListener::bind(&cfg.http.listen)
            .await
            .map_err(|source| DaemonError::Bind {
                what: format!("http {}", cfg.http.listen),
                source,
            })?;
        let addr = l.local_addr().map_err(|source| DaemonError::Bind {
            what: "http".into(),
            source,
        })?;
        tracing::info!(%addr, "http listening");
        eprintln!("twofoldd: http listening on http://{addr}");
        tasks.spawn(http::serve(l, daemon.clone(), shutdown.clone()));
    }
    tracing::info!(store = %daemon.engine.store.describe(), pam = %cfg.pam.socket.display(), admin = %cfg.admin.socket.display(), "twofoldd ready");
    eprintln!("twofoldd: store {}", daemon.engine.store.describe());
    eprintln!("twofoldd: PAM socket {}", cfg.pam.socket.display());
    eprintln!("twofoldd: admin socket {}", cfg.admin.socket.display());
    eprintln!("twofoldd: ready");
    let _ = sd_notify::notify(&[sd_notify::NotifyState::Ready]);
    shutdown.cancelled().await;
    let _ = sd_notify::notify(&[sd_notify::NotifyState::Stopping]);
    while tasks.join_next().await.is_some() {}
    // The decision lines of PAM challenges still at their prompt (a thread left behind on a
    // silent client may still hold the daemon, so this is not left to Drop).
    let held = daemon.held.clone();
    match tokio::task::spawn_blocking(move || held.flush()).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::warn!(error = %e, "could not record the sign-ins still in progress"),
        Err(e) => tracing::warn!(error = %e, "could not record the sign-ins still in progress"),
    }
    let _ = std::fs::remove_file(&cfg.pam.socket);
    let _ = std::fs::remove_file(&cfg.admin.socket);
    Ok(())
}
