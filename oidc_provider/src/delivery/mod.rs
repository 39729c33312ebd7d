//! Delivery of SMS and email codes: the outbox, the worker, integrations. (being written)

use crate::Daemon;
use serde::Deserialize;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// `[delivery]` section.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliveryConfig {}

/// The code sender the engine uses: refuses until delivery is configured. (being written)
pub fn sender(
    store: Arc<dyn twofold_core::store::Store>,
) -> Arc<dyn twofold_core::engine::CodeSender> {
    let _ = store;
    Arc::new(twofold_core::engine::NoDelivery)
}

/// Runs the delivery worker until `shutdown` is cancelled.
pub async fn run_worker(daemon: Arc<Daemon>, shutdown: CancellationToken) {
    let _ = daemon;
    shutdown.cancelled().await;
}
