//! The numbered schema migrations of both backends, embedded in the binary.
//!
//! Rules (checked by the tests below and by `core/tests/store_migrations.rs`):
//! - files are `core/migrations/{sqlite,postgres}/NNNN_name.sql`, numbered from 0001 without gaps;
//! - both backends have the same list (same numbers, same names), so a PostgreSQL site and a
//!   SQLite site at the same schema version have the same tables;
//! - each migration is applied in its own transaction, in order, and its number is recorded in
//!   the `twofold_schema` table (SQLite also sets `PRAGMA user_version`);
//! - a database whose recorded version is higher than [`SCHEMA_VERSION`] is refused at start
//!   ([`crate::Error::SchemaTooNew`]).
//!
//! To add a migration: add `NNNN_name.sql` to both directories and one line to both lists.

/// One migration: its number, its name (the file name without `.sql`) and its SQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Migration {
    /// 1, 2, 3, ... without gaps.
    pub version: i64,
    /// File stem, e.g. `0001_initial`.
    pub name: &'static str,
    /// The statements, run as one batch inside the migration's transaction.
    pub sql: &'static str,
}

/// The SQLite migrations, in order.
pub const SQLITE: &[Migration] = &[
    Migration {
        version: 1,
        name: "0001_initial",
        sql: include_str!("../../migrations/sqlite/0001_initial.sql"),
    },
    Migration {
        version: 2,
        name: "0002_delivery",
        sql: include_str!("../../migrations/sqlite/0002_delivery.sql"),
    },
    Migration {
        version: 3,
        name: "0003_oidc",
        sql: include_str!("../../migrations/sqlite/0003_oidc.sql"),
    },
    Migration {
        version: 4,
        name: "0004_client_grant_types",
        sql: include_str!("../../migrations/sqlite/0004_client_grant_types.sql"),
    },
];

/// The PostgreSQL migrations, in order (same numbers and names as [`SQLITE`]).
pub const POSTGRES: &[Migration] = &[
    Migration {
        version: 1,
        name: "0001_initial",
        sql: include_str!("../../migrations/postgres/0001_initial.sql"),
    },
    Migration {
        version: 2,
        name: "0002_delivery",
        sql: include_str!("../../migrations/postgres/0002_delivery.sql"),
    },
    Migration {
        version: 3,
        name: "0003_oidc",
        sql: include_str!("../../migrations/postgres/0003_oidc.sql"),
    },
    Migration {
        version: 4,
        name: "0004_client_grant_types",
        sql: include_str!("../../migrations/postgres/0004_client_grant_types.sql"),
    },
];

/// The newest schema version this build knows.
pub const SCHEMA_VERSION: i64 = SQLITE.len() as i64;

#[cfg(test)]
mod tests {
    use super::*;

    fn check_numbering(list: &[Migration]) {
        for (i, m) in list.iter().enumerate() {
            let expected = i as i64 + 1;
            assert_eq!(m.version, expected, "{} is out of order", m.name);
            assert!(
                m.name.starts_with(&format!("{expected:04}_")),
                "{} does not start with its zero-padded number {expected:04}_",
                m.name
            );
            assert!(!m.sql.trim().is_empty(), "{} is empty", m.name);
        }
    }

    #[test]
    fn migrations_are_numbered_from_one_without_gaps() {
        check_numbering(SQLITE);
        check_numbering(POSTGRES);
    }

    #[test]
    fn sqlite_and_postgres_have_the_same_migration_list() {
        let s: Vec<(i64, &str)> = SQLITE.iter().map(|m| (m.version, m.name)).collect();
        let p: Vec<(i64, &str)> = POSTGRES.iter().map(|m| (m.version, m.name)).collect();
        assert_eq!(s, p);
        assert_eq!(SCHEMA_VERSION, POSTGRES.len() as i64);
    }

    #[test]
    fn every_migration_file_on_disk_is_embedded() {
        for (dir, list) in [("sqlite", SQLITE), ("postgres", POSTGRES)] {
            let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("migrations")
                .join(dir);
            let mut on_disk: Vec<String> = std::fs::read_dir(&path)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".sql"))
                .collect();
            on_disk.sort();
            let listed: Vec<String> = list.iter().map(|m| format!("{}.sql", m.name)).collect();
            assert_eq!(on_disk, listed, "core/migrations/{dir} and the list differ");
        }
    }
}
