//! The server end, run by the desktop app.

use std::future::Future;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::sync::broadcast;

use crate::accounts::Accounts;
use crate::platform::transport::{Connection, Listener, WriteHalf};
use crate::protocol::{
    ErrorInfo, ErrorKind, MAX_LINE, PROTOCOL_VERSION, Request, Response, SessionEvent,
};

/// Answers requests. The desktop app wraps [`AccountsHandler`] to add what needs a window.
pub trait Handler: Send + Sync + 'static {
    fn handle(&self, request: Request) -> impl Future<Output = Response> + Send;

    /// Session changes from now on, for `subscribe`.
    fn subscribe(&self) -> broadcast::Receiver<SessionEvent>;
}

/// Accepts connections until the listener fails; each connection is served on its own task.
pub async fn serve<H: Handler>(mut listener: Listener, handler: Arc<H>, server_name: String) {
    loop {
        let stream = match listener.accept().await {
            Ok(stream) => stream,
            Err(e) => {
                // Running out of file descriptors is transient; back off instead of spinning.
                tracing::warn!(error = %e, "accepting a local connection failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let handler = Arc::clone(&handler);
        let server_name = server_name.clone();
        tokio::spawn(async move {
            if let Err(e) = connection(stream, handler, &server_name).await {
                tracing::debug!(error = %e, "local connection ended with an error");
            }
        });
    }
}

async fn connection<H: Handler>(
    stream: Connection,
    handler: Arc<H>,
    server_name: &str,
) -> io::Result<()> {
    let peer = stream.peer()?;
    let (read_half, mut write_half) = stream.into_split();
    if !peer.is_current_user() {
        tracing::warn!(%peer, "refused a local connection from another user");
        let refusal = Response::Error(ErrorInfo::new(
            ErrorKind::Forbidden,
            "this FPT Login app serves only the user who runs it",
        ));
        return write(&mut write_half, &refusal).await;
    }
    let mut reader = BufReader::new(read_half);
    let mut greeted = false;
    let mut line = String::new();
    loop {
        line.clear();
        let read = (&mut reader)
            .take(MAX_LINE as u64 + 1)
            .read_line(&mut line)
            .await?;
        if read == 0 {
            return Ok(());
        }
        if line.len() > MAX_LINE {
            let e = ErrorInfo::new(ErrorKind::BadRequest, "request line too long");
            return write(&mut write_half, &Response::Error(e)).await;
        }
        let response = match serde_json::from_str::<Request>(&line) {
            Err(e) => Response::Error(ErrorInfo::new(
                ErrorKind::BadRequest,
                format!("not a valid request: {e}"),
            )),
            Ok(Request::Hello { version, .. }) if version == PROTOCOL_VERSION => {
                greeted = true;
                Response::Hello {
                    version: PROTOCOL_VERSION,
                    server: server_name.to_owned(),
                    pid: Some(std::process::id()),
                }
            }
            Ok(Request::Hello { version, .. }) => {
                let e = ErrorInfo::new(
                    ErrorKind::UnsupportedVersion,
                    format!(
                        "this app speaks protocol version {PROTOCOL_VERSION}, the client {version}; update the older of the two"
                    ),
                );
                return write(&mut write_half, &Response::Error(e)).await;
            }
            Ok(_) if !greeted => Response::Error(ErrorInfo::new(
                ErrorKind::BadRequest,
                "send hello with the protocol version first",
            )),
            Ok(Request::Subscribe) => {
                let events = handler.subscribe();
                write(&mut write_half, &Response::Subscribed).await?;
                return stream_events(reader, write_half, events).await;
            }
            Ok(request) => handler.handle(request).await,
        };
        write(&mut write_half, &response).await?;
    }
}

/// Sends every event as its own line until the client hangs up.
async fn stream_events<R: tokio::io::AsyncRead + Unpin>(
    mut reader: BufReader<R>,
    mut writer: WriteHalf,
    mut events: broadcast::Receiver<SessionEvent>,
) -> io::Result<()> {
    let mut ignored = Vec::new();
    loop {
        tokio::select! {
            event = events.recv() => match event {
                Ok(event) => write(&mut writer, &Response::SessionChanged(event)).await?,
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    tracing::warn!(missed, "a subscriber fell behind; some events were dropped");
                }
                Err(broadcast::error::RecvError::Closed) => return Ok(()),
            },
            // Anything the client sends now is ignored; end of input means it left.
            read = reader.read_until(b'\n', &mut ignored) => {
                if read? == 0 || ignored.len() > MAX_LINE {
                    return Ok(());
                }
                if ignored.ends_with(b"\n") {
                    ignored.clear();
                }
            }
        }
    }
}

async fn write<W: tokio::io::AsyncWrite + Unpin>(
    writer: &mut W,
    response: &Response,
) -> io::Result<()> {
    let mut line = serde_json::to_vec(response).map_err(io::Error::other)?;
    line.push(b'\n');
    writer.write_all(&line).await
}

/// Serves requests straight from [`Accounts`].
#[derive(Debug, Clone)]
pub struct AccountsHandler {
    accounts: Arc<Accounts>,
}

impl AccountsHandler {
    pub fn new(accounts: Arc<Accounts>) -> Self {
        Self { accounts }
    }
}

impl Handler for AccountsHandler {
    fn subscribe(&self) -> broadcast::Receiver<SessionEvent> {
        self.accounts.subscribe()
    }

    async fn handle(&self, request: Request) -> Response {
        let accounts = Arc::clone(&self.accounts);
        // Keyring calls block on D-Bus; keep them off the async workers.
        tokio::task::spawn_blocking(move || answer(&accounts, request))
            .await
            .unwrap_or_else(|e| {
                Response::Error(ErrorInfo::new(
                    ErrorKind::Internal,
                    format!("request failed: {e}"),
                ))
            })
    }
}

/// The answer to `request` from `accounts` alone.
pub fn answer(accounts: &Accounts, request: Request) -> Response {
    let result = match request {
        Request::Hello { .. } => {
            return Response::Error(ErrorInfo::new(
                ErrorKind::BadRequest,
                "hello was already sent",
            ));
        }
        Request::GetUser { site, min_ttl } => {
            accounts.user(site.as_ref(), min_ttl).map(Response::User)
        }
        Request::Status => accounts.status().map(Response::Status),
        Request::Logout { site, login } => accounts
            .sign_out(site.as_ref(), login.as_deref())
            .map(Response::LoggedOut),
        Request::LogoutAll => accounts
            .sign_out_everywhere()
            .map(|sessions| Response::LoggedOutAll { sessions }),
        Request::Use { site, login } => accounts
            .use_site(&site, login.as_deref())
            .map(Response::User),
        Request::StoreSession { site, session } => accounts
            .sign_in(&site, &session)
            .and_then(|()| accounts.user(Some(&site), None))
            .map(Response::User),
        Request::Subscribe => {
            return Response::Error(ErrorInfo::new(
                ErrorKind::NeedsApp,
                "watching for session changes needs the FPT Login app; start fpt-login-desktop",
            ));
        }
        Request::Login { .. } => {
            return Response::Error(ErrorInfo::new(
                ErrorKind::NeedsApp,
                "signing in with a window needs the FPT Login app; start fpt-login-desktop, or use --method asl or --method credentials",
            ));
        }
    };
    result.unwrap_or_else(|e| Response::Error(e.to_error_info()))
}
