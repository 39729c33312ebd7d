//! twofold-core: the domain of twofold.
//!
//! Without default features this crate is only [`proto`], the wire types shared with the PAM
//! module. With `engine` (the default) it adds settings, the policy [`decision`], TOTP, backup and
//! out-of-band codes, encryption at rest, the [`store::Store`] trait with its SQLite backend, and
//! the [`engine::Engine`] that runs sign-ins for the PAM and web paths alike.
//!
//! Invariant: nothing here reads the clock, the RNG, the network or files except through
//! [`clock::Clock`], [`clock::Rng`] and the store.

pub mod proto;

#[cfg(feature = "engine")]
pub mod clock;
#[cfg(feature = "engine")]
pub mod codes;
#[cfg(feature = "engine")]
pub mod crypto;
#[cfg(feature = "engine")]
pub mod decision;
#[cfg(feature = "engine")]
pub mod engine;
#[cfg(feature = "engine")]
mod error;
#[cfg(feature = "engine")]
pub mod settings;
#[cfg(feature = "engine")]
pub mod store;
#[cfg(feature = "engine")]
pub mod totp;

#[cfg(feature = "engine")]
pub use error::{Error, Result};
