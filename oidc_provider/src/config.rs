//! The daemon's configuration file (`/etc/twofold/twofoldd.toml`).
//!
//! One TOML file, `version = 1`, unknown keys refused with the key's name and line.
//! Sections owned by other modules (`[http]`, `[oidc]`, `[delivery]`) are defined beside the code
//! that uses them and embedded here.

use serde::Deserialize;
use std::path::{Path, PathBuf};

/// Errors reading or checking the configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read configuration {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid (syntax, unknown key, bad value); the message names the key and line.
    #[error("configuration {path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What is wrong, with line and column.
        message: String,
    },
}

/// The whole configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Must be 1.
    pub version: u32,
    /// Where the database (SQLite) and the key file live.
    #[serde(default = "default_state_dir")]
    pub state_dir: PathBuf,
    /// Database backend.
    #[serde(default)]
    pub store: StoreConfig,
    /// The PAM socket.
    #[serde(default)]
    pub pam: PamConfig,
    /// The admin socket.
    #[serde(default)]
    pub admin: AdminConfig,
    /// The HTTP listener (OpenID Connect provider, web pages, admin API).
    #[serde(default)]
    pub http: crate::http::HttpConfig,
    /// SMS and email delivery.
    #[serde(default)]
    pub delivery: crate::delivery::DeliveryConfig,
    /// Log filter (`info`, `twofoldd=debug`, ...).
    #[serde(default = "default_log")]
    pub log: String,
}

fn default_state_dir() -> PathBuf {
    PathBuf::from("/var/lib/twofold")
}

fn default_log() -> String {
    "info".into()
}

/// Which database to use.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreConfig {
    /// `sqlite` (default) or `postgres`.
    #[serde(default = "default_backend")]
    pub backend: String,
    /// SQLite file; default `<state_dir>/twofold.db`.
    pub sqlite_path: Option<PathBuf>,
    /// `synchronous=FULL` unless set to `normal` (not recommended: a power loss may roll back a consumed code).
    #[serde(default = "default_durability")]
    pub sqlite_synchronous: String,
    /// PostgreSQL URL (`postgresql://user@host:5432/db`), for `backend = "postgres"`.
    pub postgres_url: Option<String>,
    /// PostgreSQL schema holding twofold's tables (created if missing); default: the first
    /// schema of the server's `search_path`. Every node of one deployment names the same one.
    pub postgres_schema: Option<String>,
    /// PostgreSQL pool size.
    #[serde(default = "default_pool")]
    pub pool_size: usize,
    /// Seconds to wait for a database connection before failing closed.
    #[serde(default = "default_db_timeout")]
    pub timeout_secs: u64,
}

fn default_backend() -> String {
    "sqlite".into()
}
fn default_durability() -> String {
    "full".into()
}
fn default_pool() -> usize {
    8
}
fn default_db_timeout() -> u64 {
    5
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            backend: default_backend(),
            sqlite_path: None,
            sqlite_synchronous: default_durability(),
            postgres_url: None,
            postgres_schema: None,
            pool_size: default_pool(),
            timeout_secs: default_db_timeout(),
        }
    }
}

/// The PAM socket.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PamConfig {
    /// Socket path (mode 0600).
    #[serde(default = "default_pam_socket")]
    pub socket: PathBuf,
    /// Peer uids allowed to connect (checked with SO_PEERCRED). Default: root only.
    #[serde(default = "root_only")]
    pub allowed_uids: Vec<u32>,
    /// Time a client has to send its request, in milliseconds.
    #[serde(default = "default_io_ms")]
    pub io_timeout_ms: u64,
    /// Connections served at once; more wait for their turn within their own timeout.
    #[serde(default = "default_max_conn")]
    pub max_connections: usize,
}

fn default_pam_socket() -> PathBuf {
    PathBuf::from(twofold_core::proto::DEFAULT_PAM_SOCKET)
}
fn root_only() -> Vec<u32> {
    vec![0]
}
fn default_io_ms() -> u64 {
    2000
}
fn default_max_conn() -> usize {
    64
}

impl Default for PamConfig {
    fn default() -> Self {
        PamConfig {
            socket: default_pam_socket(),
            allowed_uids: root_only(),
            io_timeout_ms: default_io_ms(),
            max_connections: default_max_conn(),
        }
    }
}

/// The admin socket.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminConfig {
    /// Socket path (mode 0600).
    #[serde(default = "default_admin_socket")]
    pub socket: PathBuf,
    /// Peer uids allowed to connect. Default: root only.
    #[serde(default = "root_only")]
    pub allowed_uids: Vec<u32>,
    /// Tokens accepted by the remote admin API (`POST /admin/api` on the HTTP listener, to be
    /// reached through HTTPS). Empty (the default): the remote API is off.
    #[serde(default)]
    pub api_tokens: Vec<ApiToken>,
}

/// A remote admin token: its name (recorded as `admin-token:NAME` in the audit trail) and the
/// SHA-256 of the token, as `twofoldctl admin-token new NAME` prints them.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiToken {
    /// Who holds it.
    pub name: String,
    /// Lowercase hex SHA-256 of the token.
    pub sha256: String,
}

fn default_admin_socket() -> PathBuf {
    PathBuf::from(twofold_core::proto::DEFAULT_ADMIN_SOCKET)
}

impl Default for AdminConfig {
    fn default() -> Self {
        AdminConfig {
            socket: default_admin_socket(),
            allowed_uids: root_only(),
            api_tokens: Vec::new(),
        }
    }
}

impl Config {
    /// Reads and checks the file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Config::parse(&text).map_err(|message| ConfigError::Parse {
            path: path.to_path_buf(),
            message,
        })
    }

    /// Parses and checks configuration text.
    pub fn parse(text: &str) -> Result<Config, String> {
        let cfg: Config = toml::from_str(text).map_err(|e| e.to_string())?;
        if cfg.version != 1 {
            return Err(format!(
                "version = {} is not supported; this twofoldd reads version = 1",
                cfg.version
            ));
        }
        match cfg.store.backend.as_str() {
            "sqlite" => {}
            "postgres" if cfg.store.postgres_url.is_some() => {}
            "postgres" => {
                return Err("store.backend = \"postgres\" needs store.postgres_url".into());
            }
            other => {
                return Err(format!(
                    "store.backend must be \"sqlite\" or \"postgres\", not {other:?}"
                ));
            }
        }
        cfg.http.validate()?;
        for t in &cfg.admin.api_tokens {
            let hex_ok = t.sha256.len() == 64 && t.sha256.bytes().all(|b| b.is_ascii_hexdigit());
            if t.name.is_empty() || !hex_ok {
                return Err(format!(
                    "admin.api_tokens: each entry needs a name and the 64-hex-digit sha256 of its token (twofoldctl admin-token new NAME prints one); {:?} is not",
                    t.name
                ));
            }
        }
        if !matches!(cfg.store.sqlite_synchronous.as_str(), "full" | "normal") {
            return Err(format!(
                "store.sqlite_synchronous must be \"full\" or \"normal\", not {:?}",
                cfg.store.sqlite_synchronous
            ));
        }
        Ok(cfg)
    }

    /// The configuration of `twofoldd --demo DIR`: everything under DIR, the current user may
    /// use both sockets, HTTP on 127.0.0.1:8080.
    pub fn demo(dir: &Path) -> Config {
        let uid = current_uid();
        let dir = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
        Config {
            pam: PamConfig {
                socket: dir.join("pam.sock"),
                allowed_uids: vec![0, uid],
                ..PamConfig::default()
            },
            admin: AdminConfig {
                socket: dir.join("admin.sock"),
                allowed_uids: vec![0, uid],
                ..AdminConfig::default()
            },
            state_dir: dir,
            ..Config::default()
        }
    }

    /// The SQLite file in use.
    pub fn sqlite_path(&self) -> PathBuf {
        self.store
            .sqlite_path
            .clone()
            .unwrap_or_else(|| self.state_dir.join("twofold.db"))
    }

    /// The encryption key file.
    pub fn key_path(&self) -> PathBuf {
        self.state_dir.join("master.key")
    }
}

fn current_uid() -> u32 {
    std::fs::metadata("/proc/self")
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m))
        .unwrap_or(0)
}

/// `version = 1` with every default: what an empty configuration file (but the version) means.
impl Default for Config {
    fn default() -> Self {
        Config {
            version: 1,
            state_dir: default_state_dir(),
            store: StoreConfig::default(),
            pam: PamConfig::default(),
            admin: AdminConfig::default(),
            http: Default::default(),
            delivery: Default::default(),
            log: default_log(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_configuration_is_what_a_minimal_file_means() {
        let parsed = Config::parse("version = 1").unwrap();
        assert_eq!(format!("{:?}", Config::default()), format!("{parsed:?}"));
    }

    #[test]
    fn a_minimal_file_gets_the_defaults() {
        let c = Config::parse("version = 1").unwrap();
        assert_eq!(c.pam.allowed_uids, vec![0]);
        assert_eq!(c.store.backend, "sqlite");
        assert_eq!(
            c.sqlite_path(),
            PathBuf::from("/var/lib/twofold/twofold.db")
        );
    }

    #[test]
    fn an_unknown_key_is_refused_with_its_name_and_line() {
        let err = Config::parse("version = 1\n\n[pam]\nsockett = \"/x\"\n").unwrap_err();
        assert!(err.contains("sockett"), "{err}");
        assert!(err.contains("line 4"), "{err}");
    }

    #[test]
    fn another_version_is_refused() {
        let err = Config::parse("version = 2").unwrap_err();
        assert!(err.contains("version = 2"), "{err}");
    }

    #[test]
    fn a_postgres_store_takes_its_url_schema_pool_and_timeout() {
        let c = Config::parse(
            "version = 1\n[store]\nbackend = \"postgres\"\n\
             postgres_url = \"postgresql://twofold@db.example:5432/twofold\"\n\
             postgres_schema = \"site_a\"\npool_size = 4\ntimeout_secs = 3\n",
        )
        .unwrap();
        assert_eq!(c.store.backend, "postgres");
        assert_eq!(c.store.postgres_schema.as_deref(), Some("site_a"));
        assert_eq!((c.store.pool_size, c.store.timeout_secs), (4, 3));
    }

    #[test]
    fn postgres_without_a_url_is_refused() {
        let err = Config::parse("version = 1\n[store]\nbackend = \"postgres\"\n").unwrap_err();
        assert!(err.contains("postgres_url"), "{err}");
    }
}
