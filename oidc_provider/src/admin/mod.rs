//! The admin socket: `twofoldctl` commands, each an audit event naming the admin.

mod handlers;

use crate::Daemon;
use crate::unix::{self, FrameIoError};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{UnixListener, UnixStream};
use tokio_util::sync::CancellationToken;
use twofold_core::proto::{AdminReply, AdminRequest, PROTOCOL_VERSION};

pub use handlers::handle;

const IO_LIMIT: Duration = Duration::from_secs(10);

/// Serves the admin socket until `shutdown` is cancelled.
pub async fn serve(listener: UnixListener, daemon: Arc<Daemon>, shutdown: CancellationToken) {
    loop {
        let stream = tokio::select! {
            _ = shutdown.cancelled() => break,
            r = listener.accept() => match r {
                Ok((s, _)) => s,
                Err(e) => {
                    tracing::warn!(error = %e, "admin socket accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let daemon = daemon.clone();
        tokio::spawn(async move { serve_one(stream, daemon).await });
    }
}

async fn serve_one(mut stream: UnixStream, daemon: Arc<Daemon>) {
    let uid = unix::peer_uid(&stream);
    let Some(uid) = uid.filter(|u| daemon.config.admin.allowed_uids.contains(u)) else {
        tracing::warn!(
            ?uid,
            "admin socket: refused a peer whose uid is not allowed"
        );
        let _ = unix::write_frame(
            &mut stream,
            &refusal(
                "refused",
                "permission denied: only root may administer twofold",
            ),
            IO_LIMIT,
        )
        .await;
        return;
    };
    let reply = match unix::read_frame::<AdminRequest>(&mut stream, IO_LIMIT).await {
        Ok(req) if req.v != PROTOCOL_VERSION => refusal(
            "usage",
            &format!(
                "protocol version {} is not supported (daemon speaks {PROTOCOL_VERSION})",
                req.v
            ),
        ),
        Ok(mut req) => {
            // The admin's identity comes from the kernel, never from the client.
            req.admin = Some(admin_name(uid));
            let d = daemon.clone();
            tokio::task::spawn_blocking(move || handle(&d, &req))
                .await
                .unwrap_or_else(|_| refusal("internal", "internal error"))
        }
        Err(FrameIoError::Timeout) => return,
        Err(e) => refusal("usage", &e.to_string()),
    };
    let _ = unix::write_frame(&mut stream, &reply, IO_LIMIT).await;
}

/// `admin:NAME` for the peer uid (the user name from /etc/passwd when known, else the number).
fn admin_name(uid: u32) -> String {
    let name = if uid == 0 {
        "root".to_string()
    } else {
        std::fs::read_to_string("/etc/passwd")
            .ok()
            .and_then(|p| passwd_name(&p, uid))
            .unwrap_or_else(|| uid.to_string())
    };
    format!("admin:{name}")
}

/// The name of `uid` in passwd(5) text.
fn passwd_name(passwd: &str, uid: u32) -> Option<String> {
    passwd.lines().find_map(|l| {
        let mut f = l.split(':');
        let name = f.next()?;
        let id: u32 = f.nth(1)?.parse().ok()?;
        (id == uid && !name.is_empty()).then(|| name.to_string())
    })
}

/// A refusal reply of `kind` (`usage`, `refused`, `internal`).
pub fn refusal(kind: &str, message: &str) -> AdminReply {
    AdminReply {
        ok: false,
        data: serde_json::Value::Null,
        error: Some(message.to_string()),
        kind: Some(kind.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::passwd_name;

    #[test]
    fn an_admin_is_named_from_passwd() {
        let p = "root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000::/home/alice:/bin/sh\n";
        assert_eq!(passwd_name(p, 1000).as_deref(), Some("alice"));
        assert_eq!(passwd_name(p, 1001), None);
    }
}
