//! The error type of the domain and store layer.

use std::path::PathBuf;

/// Errors of `twofold-core`: the store, the key file, and refused operations.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The database could not be opened or used; names the file or URL.
    #[error("database {location}: {detail}")]
    Database {
        /// File path or redacted URL.
        location: String,
        /// What went wrong.
        detail: String,
    },
    /// The database was written by a newer twofold.
    #[error(
        "database {location} has schema version {found}, newer than this twofold supports ({supported}); refusing to start (upgrade twofold, or restore a backup)"
    )]
    SchemaTooNew {
        /// File path or redacted URL.
        location: String,
        /// Version in the database.
        found: i64,
        /// Newest version this build knows.
        supported: i64,
    },
    /// The encryption key file is missing, unreadable, of the wrong size or permissions.
    #[error("encryption key {path}: {detail}")]
    Key {
        /// The key file.
        path: PathBuf,
        /// What went wrong.
        detail: String,
    },
    /// A stored secret could not be decrypted (wrong key, or tampered ciphertext).
    #[error("cannot decrypt the stored secret of user {user}: {detail}")]
    Decrypt {
        /// Whose secret.
        user: String,
        /// What went wrong.
        detail: String,
    },
    /// The store is unreachable or timed out (fail closed).
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// Invalid input, in words for the person who gave it.
    #[error("{0}")]
    Invalid(String),
    /// Something asked for does not exist.
    #[error("{0}")]
    NotFound(String),
    /// A concurrent change won (settings version mismatch).
    #[error("{0}")]
    Conflict(String),
}

/// Result alias for `twofold-core`.
pub type Result<T> = std::result::Result<T, Error>;
