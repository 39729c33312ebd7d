//! The admin-socket client: one request per connection, length-prefixed JSON, bounded in time.

use crate::error::CtlError;
use serde_json::Value;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;
use twofold_core::proto::{
    AdminReply, AdminRequest, MAX_FRAME, PROTOCOL_VERSION, read_frame, write_frame,
};

/// How long a command may take before the CLI gives up (test sends talk to providers).
const COMMAND_LIMIT: Duration = Duration::from_secs(60);

/// A connection target.
#[derive(Debug, Clone)]
pub struct Client {
    socket: PathBuf,
}

impl Client {
    /// A client for the socket at `path`.
    pub fn new(path: &Path) -> Client {
        Client {
            socket: path.to_path_buf(),
        }
    }

    /// The socket path.
    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// Runs `cmd` with `args`; `Ok(data)` when the daemon carried it out.
    pub fn call(&self, cmd: &str, args: Value) -> Result<Value, CtlError> {
        let reply = self.raw(cmd, args)?;
        if reply.ok {
            return Ok(reply.data);
        }
        let msg = reply
            .error
            .unwrap_or_else(|| format!("the daemon refused {cmd} without saying why"));
        Err(match reply.kind.as_deref() {
            Some("usage") => CtlError::Usage(msg),
            Some("internal") => CtlError::Internal(msg),
            _ => CtlError::Refused(msg),
        })
    }

    /// Sends one request and returns the reply as it came.
    pub fn raw(&self, cmd: &str, args: Value) -> Result<AdminReply, CtlError> {
        let unreachable = |e: &dyn std::fmt::Display| {
            CtlError::Unreachable(format!(
                "cannot reach twofoldd at {}: {e} (is the daemon running? `systemctl status twofoldd`; another socket: --socket PATH or TWOFOLD_ADMIN_SOCKET)",
                self.socket.display()
            ))
        };
        let req = AdminRequest {
            v: PROTOCOL_VERSION,
            admin: None,
            cmd: cmd.to_string(),
            args,
        };
        let size = serde_json::to_vec(&req).map(|b| b.len()).unwrap_or(0);
        if size > MAX_FRAME {
            return Err(CtlError::Usage(format!(
                "the request is {size} bytes, more than the daemon accepts ({MAX_FRAME}); nothing was sent"
            )));
        }
        let mut stream = UnixStream::connect(&self.socket).map_err(|e| unreachable(&e))?;
        stream
            .set_read_timeout(Some(COMMAND_LIMIT))
            .and_then(|_| stream.set_write_timeout(Some(COMMAND_LIMIT)))
            .map_err(|e| unreachable(&e))?;
        // A refusing daemon may answer before reading; a failed write is then not fatal.
        let wrote = write_frame(&mut stream, &req);
        match read_frame::<_, AdminReply>(&mut stream) {
            Ok(r) => Ok(r),
            Err(e) => match wrote {
                Err(we) => Err(unreachable(&we)),
                Ok(()) => Err(CtlError::Internal(format!(
                    "twofoldd at {} sent no usable answer: {e}",
                    self.socket.display()
                ))),
            },
        }
    }
}
