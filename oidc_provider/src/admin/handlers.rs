//! Admin command handlers. (being written)

use crate::Daemon;
use twofold_core::proto::{AdminReply, AdminRequest};

/// Runs one admin command.
pub fn handle(d: &Daemon, req: &AdminRequest) -> AdminReply {
    let _ = d;
    super::refusal("usage", &format!("unknown command {:?}", req.cmd))
}
