//! Starting a [`PgStore`]: options, the pool, the `synchronous_commit` check, the schema and
//! the numbered migrations.

use super::{Db, PgHealth, PgOptions, PgStore};
use crate::error::{Error, Result};
use crate::store::migrations::{POSTGRES, SCHEMA_VERSION};
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use std::sync::Arc;

/// Serializes schema creation and migrations of every node on one database.
const MIGRATION_LOCK: i64 = 0x0074_776f_666f_6c64; // "twofold" in ASCII

/// `postgresql://user@host:port/db`, never the password.
fn redacted(cfg: &tokio_postgres::Config) -> String {
    let host = match cfg.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
        Some(tokio_postgres::config::Host::Unix(p)) => p.display().to_string(),
        None => "localhost".into(),
    };
    let port = cfg.get_ports().first().copied().unwrap_or(5432);
    format!(
        "postgresql://{}@{host}:{port}/{}",
        cfg.get_user().unwrap_or(""),
        cfg.get_dbname().unwrap_or("")
    )
}

/// A schema name twofold accepts: lowercase letters, digits and `_`, not starting with a digit.
fn check_schema(s: &str) -> Result<()> {
    let ok = !s.is_empty()
        && s.len() <= 63
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !s.starts_with(|c: char| c.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(Error::Invalid(format!(
            "PostgreSQL schema name {s:?}: use 1 to 63 lowercase letters, digits and _, not starting with a digit"
        )))
    }
}

pub(super) fn connect(options: PgOptions) -> Result<PgStore> {
    if !(1..=1000).contains(&options.pool_size) {
        return Err(Error::Invalid(format!(
            "PostgreSQL pool size must be between 1 and 1000, not {}",
            options.pool_size
        )));
    }
    if options.connect_timeout.is_zero() || options.op_timeout.is_zero() {
        return Err(Error::Invalid(
            "PostgreSQL timeouts must be more than zero".into(),
        ));
    }
    let mut cfg: tokio_postgres::Config = options
        .url
        .parse()
        .map_err(|e| Error::Invalid(format!("the PostgreSQL URL is not valid: {e}")))?;
    let location = redacted(&cfg);
    if let Some(s) = &options.schema {
        check_schema(s)?;
        let opts = match cfg.get_options() {
            Some(o) if !o.trim().is_empty() => format!("{o} -c search_path={s}"),
            _ => format!("-c search_path={s}"),
        };
        cfg.options(opts);
    }
    cfg.application_name(options.application_name.clone());
    cfg.connect_timeout(options.connect_timeout);

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("twofold-pg")
        .enable_all()
        .build()
        .map_err(|e| Error::Database {
            location: location.clone(),
            detail: format!("cannot start the PostgreSQL runtime: {e}"),
        })?;
    let manager = Manager::from_config(
        cfg,
        tokio_postgres::NoTls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    let pool = Pool::builder(manager)
        .max_size(options.pool_size)
        .runtime(Runtime::Tokio1)
        .wait_timeout(Some(options.op_timeout))
        .create_timeout(Some(options.connect_timeout))
        .recycle_timeout(Some(options.connect_timeout))
        .build()
        .map_err(|e| Error::Invalid(format!("PostgreSQL pool: {e}")))?;
    let mut store = PgStore {
        db: Db {
            pool,
            location: Arc::from(location.as_str()),
        },
        rt: Some(rt),
        options,
        synchronous_commit: String::new(),
    };
    let schema = store.options.schema.clone();
    let allow_async = store.options.allow_async_commit;
    store.synchronous_commit =
        store.run(move |db| async move { prepare(db, schema, allow_async).await })?;
    Ok(store)
}

/// Checks durability, creates the schema, migrates. Returns `synchronous_commit`.
async fn prepare(db: Db, schema: Option<String>, allow_async: bool) -> Result<String> {
    let mut c = db.client().await?;
    let sync: String = c
        .query_one("SHOW synchronous_commit", &[])
        .await
        .and_then(|r| r.try_get(0))
        .map_err(|e| db.e(e))?;
    if sync == "off" && !allow_async {
        return Err(Error::Database {
            location: db.location.to_string(),
            detail: "synchronous_commit is off, so an acknowledged sign-in or consumed code could \
                     be lost in a crash; set synchronous_commit = on for this database or role \
                     (ALTER DATABASE ... SET synchronous_commit = on), or allow it explicitly"
                .into(),
        });
    }
    if let Some(s) = &schema {
        let tx = c.transaction().await.map_err(|e| db.e(e))?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
            .await
            .map_err(|e| db.e(e))?;
        // `s` was checked to be a plain lowercase identifier.
        tx.batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS {s}"))
            .await
            .map_err(|e| db.e(e))?;
        tx.commit().await.map_err(|e| db.e(e))?;
    }
    for m in POSTGRES {
        let tx = c.transaction().await.map_err(|e| db.e(e))?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
            .await
            .map_err(|e| db.e(e))?;
        tx.batch_execute(
            "CREATE TABLE IF NOT EXISTS twofold_schema (
                 version    BIGINT PRIMARY KEY,
                 name       TEXT NOT NULL,
                 applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
             )",
        )
        .await
        .map_err(|e| db.e(e))?;
        let current: i64 = tx
            .query_one(
                "SELECT COALESCE(MAX(version), 0)::BIGINT FROM twofold_schema",
                &[],
            )
            .await
            .and_then(|r| r.try_get(0))
            .map_err(|e| db.e(e))?;
        if current > SCHEMA_VERSION {
            return Err(Error::SchemaTooNew {
                location: db.location.to_string(),
                found: current,
                supported: SCHEMA_VERSION,
            });
        }
        if current >= m.version {
            continue;
        }
        tx.batch_execute(m.sql).await.map_err(|e| Error::Database {
            location: db.location.to_string(),
            detail: format!("migration {} failed: {}", m.name, db.e(e)),
        })?;
        tx.execute(
            "INSERT INTO twofold_schema (version, name) VALUES ($1, $2)",
            &[&m.version, &m.name],
        )
        .await
        .map_err(|e| db.e(e))?;
        tx.commit().await.map_err(|e| db.e(e))?;
    }
    Ok(sync)
}

pub(super) async fn health(db: Db) -> Result<PgHealth> {
    let c = db.client().await?;
    let one = |sql: &'static str| {
        let c = &c;
        let db = &db;
        async move {
            c.query_one(sql, &[])
                .await
                .and_then(|r| r.try_get::<_, String>(0))
                .map_err(|e| db.e(e))
        }
    };
    let synchronous_commit = one("SHOW synchronous_commit").await?;
    let server_version = one("SHOW server_version").await?;
    let schema_version: i64 = c
        .query_one(
            "SELECT COALESCE(MAX(version), 0)::BIGINT FROM twofold_schema",
            &[],
        )
        .await
        .and_then(|r| r.try_get(0))
        .map_err(|e| db.e(e))?;
    Ok(PgHealth {
        synchronous_commit,
        server_version,
        schema_version,
    })
}
