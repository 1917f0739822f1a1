//! The client end, blocking on purpose: the CLI and scripts make one or two calls and exit, so
//! an async runtime would only add start-up time.

use std::io::{self, BufRead as _, BufReader, Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::platform::files::PrivateDirError;
use crate::platform::transport::{self, ConnectError, Stream};
use crate::protocol::{ErrorInfo, MAX_LINE, PROTOCOL_VERSION, Request, Response};

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// No app listens: the socket is missing or refuses connections.
    #[error("the FPT Login app is not running (no socket at {})", .socket.display())]
    NotRunning { socket: PathBuf },
    #[error("the socket folder is not safe to use: {0}")]
    UnsafeFolder(#[from] PrivateDirError),
    /// Someone else listens where the app should: nothing was sent.
    #[error(transparent)]
    Impostor(ConnectError),
    #[error("talking to the FPT Login app over {} failed: {source}", .socket.display())]
    Io { socket: PathBuf, source: io::Error },
    #[error("the FPT Login app sent something this client does not understand: {detail}")]
    Protocol { detail: String },
    #[error("the FPT Login app refused the connection: {}", .0.message)]
    Refused(ErrorInfo),
}

/// A connection to the desktop app that has completed the version handshake.
#[derive(Debug)]
pub struct Client {
    socket: PathBuf,
    reader: BufReader<Stream>,
    writer: Stream,
    server: String,
    server_pid: Option<u32>,
}

impl Client {
    /// Connects and says hello. `timeout` bounds every read and write.
    pub fn connect(socket: &Path, timeout: Duration) -> Result<Self, ClientError> {
        let stream = transport::connect(socket, timeout).map_err(|e| match e {
            ConnectError::NotListening { socket } => ClientError::NotRunning { socket },
            ConnectError::UnsafeFolder(e) => ClientError::UnsafeFolder(e),
            ConnectError::Io { socket, source } => ClientError::Io { socket, source },
            foreign @ ConnectError::ForeignServer { .. } => ClientError::Impostor(foreign),
        })?;
        let io_err = |source| ClientError::Io {
            socket: socket.to_path_buf(),
            source,
        };
        let writer = stream.try_clone().map_err(io_err)?;
        let mut client = Self {
            socket: socket.to_path_buf(),
            reader: BufReader::new(stream),
            writer,
            server: String::new(),
            server_pid: None,
        };
        match client.request(&Request::Hello {
            version: PROTOCOL_VERSION,
            client: Some(crate::USER_AGENT.to_owned()),
        })? {
            Response::Hello { server, pid, .. } => {
                client.server = server;
                client.server_pid = pid;
            }
            Response::Error(e) => return Err(ClientError::Refused(e)),
            other => {
                return Err(ClientError::Protocol {
                    detail: format!("expected hello, got {other:?}"),
                });
            }
        }
        Ok(client)
    }

    /// What the server called itself in the handshake, e.g. `fpt-login-desktop/0.1.0`.
    pub fn server(&self) -> &str {
        &self.server
    }

    /// The app's process id, when it said.
    pub fn server_pid(&self) -> Option<u32> {
        self.server_pid
    }

    /// Changes how long a response may take; `None` waits for ever.
    pub fn set_timeout(&mut self, timeout: Option<Duration>) -> Result<(), ClientError> {
        self.writer
            .set_read_timeout(timeout)
            .map_err(|source| ClientError::Io {
                socket: self.socket.clone(),
                source,
            })
    }

    /// Sends one request and reads its response.
    pub fn request(&mut self, request: &Request) -> Result<Response, ClientError> {
        let mut line = serde_json::to_vec(request).map_err(|e| ClientError::Protocol {
            detail: e.to_string(),
        })?;
        line.push(b'\n');
        self.writer
            .write_all(&line)
            .map_err(|source| ClientError::Io {
                socket: self.socket.clone(),
                source,
            })?;
        self.next_response()
    }

    /// Reads the next line the app sends (after `subscribe`, one per event).
    pub fn next_response(&mut self) -> Result<Response, ClientError> {
        let io_err = |source| ClientError::Io {
            socket: self.socket.clone(),
            source,
        };
        let mut reply = String::new();
        let read = (&mut self.reader)
            .take(MAX_LINE as u64 * 16)
            .read_line(&mut reply)
            .map_err(io_err)?;
        if read == 0 {
            return Err(io_err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the app closed the connection",
            )));
        }
        serde_json::from_str(&reply).map_err(|e| ClientError::Protocol {
            detail: e.to_string(),
        })
    }
}
