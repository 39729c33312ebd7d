//! Unix-socket plumbing shared by the PAM and admin sockets: binding with a safe mode,
//! peer-credential checks, and length-prefixed JSON frames with time limits.

use serde::Serialize;
use serde::de::DeserializeOwned;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};
use twofold_core::proto::MAX_FRAME;

/// Binds `path` with mode 0600, creating the parent directory (0755) and replacing a stale socket.
/// Refuses to replace anything that is not a socket.
pub fn bind_socket(path: &Path) -> std::io::Result<UnixListener> {
    if let Some(dir) = path.parent().filter(|d| !d.exists()) {
        std::fs::create_dir_all(dir)?;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755))?;
    }
    match std::fs::symlink_metadata(path) {
        Ok(m) if std::os::unix::fs::FileTypeExt::is_socket(&m.file_type()) => {
            std::fs::remove_file(path)?
        }
        Ok(_) => {
            return Err(std::io::Error::new(
                std::io::ErrorKind::AlreadyExists,
                format!(
                    "{} exists and is not a socket; refusing to replace it",
                    path.display()
                ),
            ));
        }
        Err(_) => {}
    }
    // Bind under a restrictive umask so the socket is never briefly world-connectable.
    let listener = UnixListener::bind(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    Ok(listener)
}

/// The peer's uid, if the kernel reports it.
pub fn peer_uid(stream: &UnixStream) -> Option<u32> {
    stream.peer_cred().ok().map(|c| c.uid())
}

/// Why a frame could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum FrameIoError {
    /// The peer took too long.
    #[error("timed out")]
    Timeout,
    /// I/O error or early EOF.
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    /// Larger than the protocol allows.
    #[error("frame of {0} bytes exceeds the limit of {MAX_FRAME}")]
    TooLarge(usize),
    /// Not the expected JSON.
    #[error("malformed request: {0}")]
    Json(#[from] serde_json::Error),
}

/// Reads one frame within `limit` (the whole frame, so a slow client cannot hold a slot).
pub async fn read_frame<T: DeserializeOwned>(
    stream: &mut UnixStream,
    limit: Duration,
) -> Result<T, FrameIoError> {
    let fut = async {
        let mut len = [0u8; 4];
        stream.read_exact(&mut len).await?;
        let len = u32::from_be_bytes(len) as usize;
        if len > MAX_FRAME {
            return Err(FrameIoError::TooLarge(len));
        }
        let mut body = vec![0u8; len];
        stream.read_exact(&mut body).await?;
        Ok(serde_json::from_slice(&body)?)
    };
    tokio::time::timeout(limit, fut)
        .await
        .map_err(|_| FrameIoError::Timeout)?
}

/// Writes one frame within `limit`.
pub async fn write_frame<T: Serialize>(
    stream: &mut UnixStream,
    msg: &T,
    limit: Duration,
) -> Result<(), FrameIoError> {
    let body = serde_json::to_vec(msg)?;
    if body.len() > MAX_FRAME {
        return Err(FrameIoError::TooLarge(body.len()));
    }
    let mut buf = Vec::with_capacity(body.len() + 4);
    buf.extend_from_slice(&(body.len() as u32).to_be_bytes());
    buf.extend_from_slice(&body);
    let fut = async {
        stream.write_all(&buf).await?;
        stream.flush().await?;
        Ok::<(), std::io::Error>(())
    };
    tokio::time::timeout(limit, fut)
        .await
        .map_err(|_| FrameIoError::Timeout)??;
    Ok(())
}
