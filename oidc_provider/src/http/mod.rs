//! The HTTP listener: OpenID Connect provider, sign-in, second-factor, enrollment and profile
//! pages, health endpoints. (being written)

use crate::Daemon;
use serde::Deserialize;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// `[http]` section.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    /// Address to listen on; empty disables the listener.
    #[serde(default = "default_listen")]
    pub listen: String,
}

fn default_listen() -> String {
    "127.0.0.1:8080".into()
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            listen: default_listen(),
        }
    }
}

/// Serves HTTP until `shutdown` is cancelled.
pub async fn serve(listener: TcpListener, daemon: Arc<Daemon>, shutdown: CancellationToken) {
    let _ = (listener, daemon);
    shutdown.cancelled().await;
}
