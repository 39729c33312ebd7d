//! `multinode-bench`: the same PAM sign-in load (`Begin` + `Verify` with a TOTP code, each over
//! its own connection to the PAM socket, many users) against
//!
//! 1. one `twofoldd` on SQLite (`synchronous=FULL`),
//! 2. one `twofoldd` on PostgreSQL (`synchronous_commit=on`),
//! 3. two `twofoldd` on one PostgreSQL schema (sign-ins alternate between them),
//!
//! and prints, per setup, sign-ins per second and the database work per sign-in: statements
//! (`Sync` + `Query` protocol messages) and round trips (waits for the server), counted by a
//! loopback proxy in a separate, sequential pass so the proxy never slows the throughput run.
//!
//! ```text
//! cargo run --release -p multinode-bench -- [--users N] [--seconds S] [--threads T]
//!     [--count N] [--pg-url URL] [--only sqlite|pg1|pg2] [--no-build]
//! ```
//!
//! Run by hand; needs PostgreSQL (`postgresql://postgres@127.0.0.1:5432/test` by default).
//! Every setup gets a fresh SQLite file or schema (dropped afterwards). Not a pass/fail test.

mod load;
mod node;
mod proxy;

use node::{Backend, Node};
use std::path::{Path, PathBuf};
use std::time::Duration;
use twofold_core::store::Store;
use twofold_core::store::postgres::{PgOptions, PgStore};
use twofold_core::store::sqlite::{Durability, SqliteOptions, SqliteStore};

struct Args {
    users: usize,
    seconds: u64,
    threads: usize,
    count: usize,
    pg_url: String,
    only: Option<String>,
    build: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        users: 6000,
        seconds: 10,
        threads: 16,
        count: 200,
        pg_url: "postgresql://postgres@127.0.0.1:5432/test".into(),
        only: None,
        build: true,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = || it.next().ok_or(format!("{arg} needs a value"));
        let num = |v: String| -> Result<usize, String> {
            v.parse()
                .ok()
                .filter(|n| *n > 0)
                .ok_or(format!("{v:?} is not a positive number"))
        };
        match arg.as_str() {
            "--users" => a.users = num(value()?)?,
            "--seconds" => a.seconds = num(value()?)? as u64,
            "--threads" => a.threads = num(value()?)?,
            "--count" => a.count = num(value()?)?,
            "--pg-url" => a.pg_url = value()?,
            "--only" => a.only = Some(value()?),
            "--no-build" => a.build = false,
            "-h" | "--help" => {
                return Err(
                    "usage: multinode-bench [--users N] [--seconds S] [--threads T] \
                            [--count N] [--pg-url URL] [--only sqlite|pg1|pg2] [--no-build]"
                        .into(),
                );
            }
            other => return Err(format!("unknown argument {other:?} (try --help)")),
        }
    }
    Ok(a)
}

/// `target/<profile>` of this binary, where `twofoldd` is built too.
fn artifact_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap_or_default();
    let mut dir = exe.parent().map(Path::to_path_buf).unwrap_or_default();
    if dir.ends_with("deps") {
        dir.pop();
    }
    dir
}

fn build_twofoldd() -> Result<(), String> {
    let release = artifact_dir().file_name().is_some_and(|n| n == "release");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = std::process::Command::new(cargo);
    cmd.args(["build", "--quiet", "-p", "twofoldd"]);
    if release {
        cmd.arg("--release");
    }
    if let Some(target) = artifact_dir().parent() {
        cmd.env("CARGO_TARGET_DIR", target);
    }
    let st = cmd
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
        .status()
        .map_err(|e| format!("cargo build: {e}"))?;
    if st.success() {
        Ok(())
    } else {
        Err("cargo build -p twofoldd failed".into())
    }
}

/// `host:port` of a PostgreSQL URL.
fn pg_addr(url: &str) -> Result<String, String> {
    let cfg: tokio_postgres::Config = url.parse().map_err(|e| format!("{url}: {e}"))?;
    let host = match cfg.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
        _ => "127.0.0.1".into(),
    };
    Ok(format!(
        "{host}:{}",
        cfg.get_ports().first().copied().unwrap_or(5432)
    ))
}

/// `url` with its host and port replaced by the proxy's.
fn via_proxy(url: &str, port: u16) -> Result<String, String> {
    let cfg: tokio_postgres::Config = url.parse().map_err(|e| format!("{url}: {e}"))?;
    Ok(format!(
        "postgresql://{}@127.0.0.1:{port}/{}",
        cfg.get_user().unwrap_or("postgres"),
        cfg.get_dbname().unwrap_or("postgres")
    ))
}

fn drop_schema(url: &str, schema: &str) {
    let Ok(cfg) = url.parse::<tokio_postgres::Config>() else {
        return;
    };
    let Ok(rt) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        return;
    };
    rt.block_on(async {
        if let Ok((client, conn)) = cfg.connect(tokio_postgres::NoTls).await {
            let task = tokio::spawn(conn);
            let _ = client
                .batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
                .await;
            drop(client);
            let _ = task.await;
        }
    });
}

/// One line of the result table.
struct Row {
    setup: &'static str,
    run: load::Run,
    per: Option<load::PerSignIn>,
}

fn bench_sqlite(a: &Args, bin: &Path) -> Result<Row, String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let state = dir.path().join("state");
    std::fs::create_dir_all(&state).map_err(|e| e.to_string())?;
    eprintln!("sqlite: seeding {} users", a.users);
    let users = {
        // Seeding is setup, not measured: no fsync per user. The daemon opens with FULL.
        let store = SqliteStore::open_with(
            &state.join("twofold.db"),
            SqliteOptions {
                durability: Durability::Normal,
                ..SqliteOptions::default()
            },
        )
        .map_err(|e| e.to_string())?;
        load::seed(&store, &state.join("master.key"), "s", a.users, 4)?
    };
    let node = Node::start(bin, dir.path(), &state, 0, &Backend::Sqlite)?;
    eprintln!("sqlite: load");
    let run = load::throughput(
        std::slice::from_ref(&node.socket),
        &users,
        a.threads,
        Duration::from_secs(a.seconds),
    );
    if run.ok == 0 {
        return Err(format!("no sign-in succeeded:\n{}", node.log()));
    }
    Ok(Row {
        setup: "1 node, SQLite",
        run,
        per: None,
    })
}

fn bench_pg(a: &Args, bin: &Path, nodes: usize) -> Result<Row, String> {
    let schema = format!("twofold_bench_{}_{nodes}", std::process::id());
    let result = bench_pg_in(a, bin, nodes, &schema);
    drop_schema(&a.pg_url, &schema);
    result
}

fn bench_pg_in(a: &Args, bin: &Path, nodes: usize, schema: &str) -> Result<Row, String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let state = dir.path().join("state");
    std::fs::create_dir_all(&state).map_err(|e| e.to_string())?;
    let counted = a.count + a.count / 2;
    eprintln!(
        "postgres x{nodes}: seeding {} users in schema {schema}",
        a.users + counted
    );
    let users = {
        let store = PgStore::connect(PgOptions {
            schema: Some(schema.to_string()),
            pool_size: 8,
            ..PgOptions::new(a.pg_url.clone())
        })
        .map_err(|e| e.to_string())?;
        let users = load::seed(&store, &state.join("master.key"), "p", a.users + counted, 8)?;
        eprintln!("postgres x{nodes}: {}", store.describe());
        users
    };
    let (count_users, load_users) = users.split_at(counted);

    // Pass 1: statements and round trips, through the counting proxy, one sign-in at a time.
    let proxy = proxy::CountingProxy::start(pg_addr(&a.pg_url)?).map_err(|e| e.to_string())?;
    let counting = Backend::Postgres {
        url: via_proxy(&a.pg_url, proxy.port)?,
        schema: schema.to_string(),
    };
    let per = {
        let running: Vec<Node> = (0..nodes)
            .map(|n| Node::start(bin, dir.path(), &state, n, &counting))
            .collect::<Result<_, _>>()?;
        let sockets: Vec<PathBuf> = running.iter().map(|n| n.socket.clone()).collect();
        eprintln!("postgres x{nodes}: counting database work per sign-in");
        load::count(&sockets, count_users, a.count / 2, &proxy.counters)
            .map_err(|e| format!("{e}\n{}", running[0].log()))?
    };

    // Pass 2: throughput, straight to the server.
    let direct = Backend::Postgres {
        url: a.pg_url.clone(),
        schema: schema.to_string(),
    };
    let running: Vec<Node> = (0..nodes)
        .map(|n| Node::start(bin, dir.path(), &state, n, &direct))
        .collect::<Result<_, _>>()?;
    let sockets: Vec<PathBuf> = running.iter().map(|n| n.socket.clone()).collect();
    eprintln!("postgres x{nodes}: load");
    let run = load::throughput(
        &sockets,
        load_users,
        a.threads,
        Duration::from_secs(a.seconds),
    );
    if run.ok == 0 {
        return Err(format!("no sign-in succeeded:\n{}", running[0].log()));
    }
    Ok(Row {
        setup: if nodes == 1 {
            "1 node, PostgreSQL"
        } else {
            "2 nodes, one PostgreSQL"
        },
        run,
        per: Some(per),
    })
}

fn main() -> std::process::ExitCode {
    let a = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            return std::process::ExitCode::from(2);
        }
    };
    if a.build
        && let Err(e) = build_twofoldd()
    {
        eprintln!("{e}");
        return std::process::ExitCode::FAILURE;
    }
    let bin = artifact_dir().join("twofoldd");
    let want = |s: &str| a.only.as_deref().is_none_or(|o| o == s);
    let mut rows = Vec::new();
    let mut failed = false;
    let mut push = |r: Result<Row, String>| match r {
        Ok(r) => rows.push(r),
        Err(e) => {
            eprintln!("error: {e}");
            failed = true;
        }
    };
    if want("sqlite") {
        push(bench_sqlite(&a, &bin));
    }
    if want("pg1") {
        push(bench_pg(&a, &bin, 1));
    }
    if want("pg2") {
        push(bench_pg(&a, &bin, 2));
    }
    println!(
        "\nsign-in = PAM Begin + Verify (TOTP), {} client threads, up to {} s or {} users per setup; binary {}",
        a.threads,
        a.seconds,
        a.users,
        bin.display()
    );
    println!(
        "{:<26} {:>8} {:>9} {:>10} {:>8}   {:<40}",
        "setup", "sign-ins", "seconds", "sign-ins/s", "failed", "database work per sign-in"
    );
    for r in &rows {
        let secs = r.run.elapsed.as_secs_f64();
        let work = match &r.per {
            None => "in-process file (no network round trips)".to_string(),
            Some(p) => format!(
                "{:.1} statements (Begin {:.1} + Verify {:.1}), {:.1} round trips",
                p.begin_statements + p.verify_statements,
                p.begin_statements,
                p.verify_statements,
                p.round_trips
            ),
        };
        println!(
            "{:<26} {:>8} {:>9.2} {:>10.1} {:>8}   {work}",
            r.setup,
            r.run.ok,
            secs,
            r.run.ok as f64 / secs.max(1e-9),
            r.run.failed
        );
        if let Some(e) = &r.run.first_error {
            println!("    first failure: {e}");
        }
    }
    if let Some(p) = rows.iter().find_map(|r| r.per.as_ref()) {
        println!("\nthe statements of one sign-in on PostgreSQL:");
        for (what, t) in [("Begin", &p.trace_begin), ("Verify", &p.trace_verify)] {
            for (i, sql) in t.iter().enumerate() {
                let short: String = sql.chars().take(110).collect();
                println!("  {what} {:>2}. {short}", i + 1);
            }
        }
    }
    if failed {
        std::process::ExitCode::FAILURE
    } else {
        std::process::ExitCode::SUCCESS
    }
}
