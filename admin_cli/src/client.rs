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

/// A connection target: the local admin socket, or a remote daemon's admin API.
#[derive(Debug, Clone)]
pub struct Client {
    socket: PathBuf,
    remote: Option<Remote>,
}

/// A remote daemon: `POST {url}/admin/api` with a bearer token.
#[derive(Clone)]
struct Remote {
    url: String,
    token: String,
}

impl std::fmt::Debug for Remote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Remote")
            .field("url", &self.url)
            .field("token", &"[redacted]")
            .finish()
    }
}

impl Client {
    /// A client for the socket at `path`.
    pub fn new(path: &Path) -> Client {
        Client {
            socket: path.to_path_buf(),
            remote: None,
        }
    }

    /// A client for a remote daemon at `url` (https, or http only to a loopback address) with the
    /// admin token read from `token_file`.
    pub fn remote(url: &str, token_file: &Path) -> Result<Client, CtlError> {
        let url = url.trim_end_matches('/').to_string();
        let rest = url
            .strip_prefix("https://")
            .or_else(|| url.strip_prefix("http://").filter(|r| is_loopback(r)))
            .ok_or_else(|| {
                CtlError::Usage(format!(
                    "--url {url}: use https:// (plain http is accepted only for a loopback address, because the token would travel in the clear)"
                ))
            })?;
        if rest.is_empty() {
            return Err(CtlError::Usage(format!("--url {url}: no host")));
        }
        let token = std::fs::read_to_string(token_file)
            .map_err(|e| CtlError::Usage(format!("--token-file {}: {e}", token_file.display())))?
            .trim()
            .to_string();
        if token.is_empty() {
            return Err(CtlError::Usage(format!(
                "--token-file {}: the file is empty",
                token_file.display()
            )));
        }
        Ok(Client {
            socket: PathBuf::from(format!("{url}/admin/api")),
            remote: Some(Remote { url, token }),
        })
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
        if let Some(r) = &self.remote {
            return raw_remote(r, cmd, args);
        }
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

fn is_loopback(rest: &str) -> bool {
    let host = rest.split(['/', '?']).next().unwrap_or("");
    let host = host.rsplit_once(':').map_or(host, |(h, _)| h);
    matches!(host, "localhost" | "[::1]") || host.starts_with("127.")
}

fn raw_remote(r: &Remote, cmd: &str, args: Value) -> Result<AdminReply, CtlError> {
    let endpoint = format!("{}/admin/api", r.url);
    let unreachable = |e: &dyn std::fmt::Display| {
        CtlError::Unreachable(format!("cannot reach twofoldd at {endpoint}: {e}"))
    };
    let req = AdminRequest {
        v: PROTOCOL_VERSION,
        admin: None,
        cmd: cmd.to_string(),
        args,
    };
    let client = reqwest::blocking::Client::builder()
        .timeout(COMMAND_LIMIT)
        .connect_timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| unreachable(&e))?;
    let resp = client
        .post(&endpoint)
        .bearer_auth(&r.token)
        .json(&req)
        .send()
        .map_err(|e| unreachable(&e))?;
    let status = resp.status();
    match resp.json::<AdminReply>() {
        Ok(reply) => Ok(reply),
        Err(_) if status == reqwest::StatusCode::NOT_FOUND => Err(CtlError::Refused(format!(
            "{endpoint}: the remote admin API is off on that daemon ([admin] api_tokens is empty)"
        ))),
        Err(e) => Err(CtlError::Internal(format!(
            "{endpoint} answered {status} without a usable reply: {e}"
        ))),
    }
}
