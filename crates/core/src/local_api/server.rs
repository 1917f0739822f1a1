//! The server end, run by the desktop app.

use std::future::Future;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, broadcast};

use super::idle::{IdleConnections, Registration, Wait};
use crate::accounts::Accounts;
use crate::method::Pick;
use crate::platform::transport::{Connection, Listener, WriteHalf};
use crate::protocol::NewSession;
use crate::protocol::{
    ErrorInfo, ErrorKind, MAX_LINE, PROTOCOL_VERSION, Request, Response, SessionEvent,
    parse_request,
};
use crate::rest::{RestTokenError, RestTokenInfo, RestTokens};
use crate::signin::{self, Expiry, SiteClient};
use crate::site::Site;

/// Answers requests: [`AccountsHandler`] from the accounts alone, [`super::AppHandler`] with
/// the refresher and a desktop.
pub trait Handler: Send + Sync + 'static {
    fn handle(&self, request: Request) -> impl Future<Output = Response> + Send;

    /// Session changes from now on, for `subscribe`.
    fn subscribe(&self) -> broadcast::Receiver<SessionEvent>;
}

/// Connections served at once. Well above what a workstation's tools open, far below what
/// exhausts the app's file descriptors. At the cap, a newcomer takes the place of the
/// connection that has waited longest for its client (clients reconnect with their next
/// request), so connections held open and idle cannot lock well-behaved clients out; only
/// while every connection is serving a request does a newcomer wait in the kernel's backlog.
pub const MAX_CONNECTIONS: usize = 256;
/// A connection that sends nothing for this long is closed (clients reconnect on their next
/// request), so idle connections cannot pile up.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(15 * 60);
/// A subscriber that does not take an event within this long is dropped: it would otherwise
/// hold its events in the app's memory.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// Limits that a test can shorten.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_connections: usize,
    pub idle_timeout: Duration,
    pub write_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_connections: MAX_CONNECTIONS,
            idle_timeout: IDLE_TIMEOUT,
            write_timeout: WRITE_TIMEOUT,
        }
    }
}

/// Accepts connections until the listener fails; each connection is served on its own task.
pub async fn serve<H: Handler>(listener: Listener, handler: Arc<H>, server_name: String) {
    serve_with(listener, handler, server_name, Limits::default()).await;
}

/// [`serve`] with other limits.
pub async fn serve_with<H: Handler>(
    mut listener: Listener,
    handler: Arc<H>,
    server_name: String,
    limits: Limits,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let idle = Arc::new(IdleConnections::default());
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
        // One accepted connection at most waits here for a slot: the others queue in the
        // backlog instead of each costing a task and buffers.
        let Some(slot) = make_room(&slots, &idle).await else {
            return;
        };
        let registration = idle.register();
        let handler = Arc::clone(&handler);
        let server_name = server_name.clone();
        tokio::spawn(async move {
            let served = connection(stream, handler, &server_name, limits, &registration);
            if let Err(e) = served.await {
                tracing::debug!(error = %e, "local connection ended with an error");
            }
            drop(registration);
            drop(slot);
        });
    }
}

/// A free slot, if need be by closing the connection that has waited longest for its client;
/// while every connection is serving a request, the first that is done and waits (or ends)
/// makes room. `None` once the server is shutting down.
async fn make_room(slots: &Arc<Semaphore>, idle: &IdleConnections) -> Option<OwnedSemaphorePermit> {
    loop {
        if let Ok(slot) = Arc::clone(slots).try_acquire_owned() {
            return Some(slot);
        }
        if idle.close_longest_waiting() {
            tracing::debug!("closing the longest idle local connection to make room");
            return Arc::clone(slots).acquire_owned().await.ok();
        }
        tokio::select! {
            slot = Arc::clone(slots).acquire_owned() => return slot.ok(),
            () = idle.one_started_waiting() => {}
        }
    }
}

async fn connection<H: Handler>(
    stream: Connection,
    handler: Arc<H>,
    server_name: &str,
    limits: Limits,
    registration: &Registration,
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
        registration.waiting(Wait::Request);
        let mut limited = (&mut reader).take(MAX_LINE as u64 + 1);
        let read = tokio::time::timeout(limits.idle_timeout, limited.read_line(&mut line));
        let read = tokio::select! {
            read = read => read,
            () = registration.closing() => return Ok(()),
        };
        let Ok(read) = read else {
            tracing::debug!("closed an idle local connection");
            return Ok(());
        };
        registration.busy();
        if read? == 0 {
            return Ok(());
        }
        if line.len() > MAX_LINE {
            let e = ErrorInfo::new(ErrorKind::BadRequest, "request line too long");
            return write(&mut write_half, &Response::Error(e)).await;
        }
        let response = match parse_request(line.as_bytes()) {
            Err(e) => Response::Error(e),
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
                registration.waiting(Wait::Events);
                return stream_events(
                    reader,
                    write_half,
                    events,
                    limits.write_timeout,
                    registration,
                )
                .await;
            }
            Ok(request) => handler.handle(request).await,
        };
        write(&mut write_half, &response).await?;
    }
}

/// Sends every event as its own line until the client hangs up, or drops a client that
/// stops taking them.
async fn stream_events<R: tokio::io::AsyncRead + Unpin>(
    mut reader: BufReader<R>,
    mut writer: WriteHalf,
    mut events: broadcast::Receiver<SessionEvent>,
    write_timeout: Duration,
    registration: &Registration,
) -> io::Result<()> {
    let mut ignored = Vec::new();
    loop {
        let mut limited = (&mut reader).take(MAX_LINE as u64 + 1);
        tokio::select! {
            event = events.recv() => match event {
                Ok(event) => {
                    let event = Response::SessionChanged(event);
                    let sent = write(&mut writer, &event);
                    // Not picked to make room while a write may take up to the timeout.
                    registration.busy();
                    let timed_out = tokio::time::timeout(write_timeout, sent).await.is_err();
                    registration.waiting(Wait::Events);
                    if timed_out {
                        tracing::warn!(
                            "dropped a subscriber that took no event for {} s",
                            write_timeout.as_secs()
                        );
                        return Ok(());
                    }
                }
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    // A client that missed events has a wrong picture; it reconnects and
                    // starts from the status.
                    tracing::warn!(missed, "dropped a subscriber that fell behind");
                    return Ok(());
                }
                Err(broadcast::error::RecvError::Closed) => return Ok(()),
            },
            // Anything the client sends now is ignored, a line at a time and never more than
            // a request's worth; end of input means it left.
            () = registration.closing() => return Ok(()),
            read = limited.read_until(b'\n', &mut ignored) => {
                if read? == 0 || ignored.len() > MAX_LINE {
                    return Ok(());
                }
                ignored.clear();
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

/// Serves requests straight from [`Accounts`], and REST tokens from memory.
#[derive(Debug, Clone)]
pub struct AccountsHandler {
    accounts: Arc<Accounts>,
    rest: Arc<RestTokens>,
}

/// Why no REST token was handed out.
#[derive(Debug)]
pub enum RestFailure {
    /// Nobody usable is signed in (or the store failed): the answer to `get_user`.
    User(ErrorInfo),
    Token(Box<RestTokenError>),
}

impl RestFailure {
    pub fn to_error_info(&self) -> ErrorInfo {
        match self {
            Self::User(e) => e.clone(),
            Self::Token(e) => e.to_error_info(),
        }
    }
}

impl AccountsHandler {
    pub fn new(accounts: Arc<Accounts>) -> Self {
        Self {
            accounts,
            rest: Arc::default(),
        }
    }

    /// Drops REST tokens whose session ended, however it ended (the tray, a socket client, a
    /// renewal that found it refused), for as long as the accounts announce changes. Heard
    /// from the call on: spawn the future next to the server.
    pub fn follow_sessions(&self) -> impl Future<Output = ()> + Send + 'static + use<> {
        let events = self.accounts.subscribe();
        let rest = Arc::clone(&self.rest);
        async move { rest.follow(events).await }
    }

    /// A REST token for `user` (the answer to `get_user` for its site), from the tokens this
    /// handler holds: the same one for every caller until `min_ttl` before it ends.
    pub async fn rest_token(
        &self,
        user: Response,
        min_ttl: Option<u64>,
    ) -> Result<RestTokenInfo, RestFailure> {
        let user = match user {
            Response::User(user) => user,
            Response::Error(e) => return Err(RestFailure::User(e)),
            other => {
                return Err(RestFailure::User(ErrorInfo::new(
                    ErrorKind::Internal,
                    format!("unexpected answer to get_user: {other:?}"),
                )));
            }
        };
        self.rest
            .for_user(&user, min_ttl)
            .await
            .map_err(|e| RestFailure::Token(Box::new(e)))
    }
}

impl Handler for AccountsHandler {
    fn subscribe(&self) -> broadcast::Receiver<SessionEvent> {
        self.accounts.subscribe()
    }

    async fn handle(&self, request: Request) -> Response {
        // A session another process hands over is only as good as the site says: check it
        // (and who it belongs to) before it is stored and served to everyone.
        let request = match request {
            Request::StoreSession {
                site,
                session,
                chosen,
            } => match checked(&site, session).await {
                Ok(session) => Request::StoreSession {
                    site,
                    session,
                    chosen,
                },
                Err(e) => return Response::Error(ErrorInfo::new(ErrorKind::SignInFailed, e)),
            },
            Request::GetRestToken { site, min_ttl } => {
                let user = self
                    .handle_blocking(Request::GetUser {
                        site,
                        min_ttl: None,
                    })
                    .await;
                return self
                    .rest_token(user, min_ttl)
                    .await
                    .map_or_else(|e| Response::Error(e.to_error_info()), Response::RestToken);
            }
            other => other,
        };
        self.handle_blocking(request).await
    }
}

impl AccountsHandler {
    /// The answer from [`answer`], off the async workers.
    async fn handle_blocking(&self, request: Request) -> Response {
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

/// `session` as its site confirms it: the login and id the site returns for its token.
async fn checked(site: &Site, session: NewSession) -> Result<NewSession, String> {
    let api = SiteClient::new(site).map_err(|e| e.to_string())?;
    // A local client's times are as untrusted as a site's.
    let expiry = Expiry {
        claims_expire_at: session.claims_expire_at.and_then(crate::time::from_site),
        session_expires_at: session.session_expires_at.and_then(crate::time::from_site),
    };
    signin::validate(&api, &session.login, session.token, session.method, expiry)
        .await
        .map_err(|e| format!("the session was not stored: {e}"))
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
        // The client picked the method, and says whether the person chose it.
        Request::StoreSession {
            site,
            session,
            chosen,
        } => accounts
            .sign_in(&site, &session, Pick::chosen_if(chosen))
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
        // Both call the site, so they are answered by a handler (`AccountsHandler`, the app)
        // or, for REST tokens without the app, by the caller itself.
        Request::GetRestToken { .. } => {
            return Response::Error(ErrorInfo::new(
                ErrorKind::NeedsApp,
                "REST tokens are minted by a handler that calls the site; without the app, mint one with `fpt-login token --rest`",
            ));
        }
        Request::SessionRefused { .. } => {
            return Response::Error(ErrorInfo::new(
                ErrorKind::NeedsApp,
                "checking a refused session needs the FPT Login app; start fpt-login-desktop",
            ));
        }
    };
    result.unwrap_or_else(|e| Response::Error(e.to_error_info()))
}

// The tests talk to the server over a Unix socket.
#[cfg(all(test, unix))]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    use tokio::net::UnixStream;

    use super::*;
    use crate::platform::transport::bind;

    /// Answers `status` with an empty status and streams whatever is sent on `events`.
    struct Stub {
        events: broadcast::Sender<SessionEvent>,
        handled: AtomicUsize,
        /// `logout_all` is answered only once this is notified: a request being served.
        release: tokio::sync::Notify,
    }

    impl Handler for Stub {
        fn subscribe(&self) -> broadcast::Receiver<SessionEvent> {
            self.events.subscribe()
        }

        async fn handle(&self, request: Request) -> Response {
            if request == Request::LogoutAll {
                self.release.notified().await;
            }
            self.handled.fetch_add(1, Ordering::SeqCst);
            Response::Status(crate::protocol::StatusInfo::default())
        }
    }

    struct Served {
        _dir: tempfile::TempDir,
        socket: std::path::PathBuf,
        stub: Arc<Stub>,
    }

    /// Must run inside a tokio runtime: the server is spawned on it.
    fn served(limits: Limits) -> Served {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("run").join("app.sock");
        let listener = bind(&socket).unwrap();
        let stub = Arc::new(Stub {
            events: broadcast::channel(16).0,
            handled: AtomicUsize::new(0),
            release: tokio::sync::Notify::new(),
        });
        tokio::spawn(serve_with(
            listener,
            Arc::clone(&stub),
            "test".into(),
            limits,
        ));
        Served {
            _dir: dir,
            socket,
            stub,
        }
    }

    async fn greeted(socket: &std::path::Path) -> UnixStream {
        let mut stream = UnixStream::connect(socket).await.unwrap();
        stream
            .write_all(b"{\"type\":\"hello\",\"version\":1}\n")
            .await
            .unwrap();
        let mut reply = [0_u8; 256];
        let n = stream.read(&mut reply).await.unwrap();
        assert!(
            String::from_utf8_lossy(&reply[..n]).contains("\"hello\""),
            "{}",
            String::from_utf8_lossy(&reply[..n])
        );
        stream
    }

    /// Reads until the server closes the connection; returns what came before.
    async fn until_closed(stream: &mut UnixStream) -> Vec<u8> {
        let mut all = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut all));
        read.await.expect("the server closed the connection").ok();
        all
    }

    /// Writes `total` bytes without a newline; returns how many went through before the
    /// server cut the connection.
    async fn stream_without_newline(stream: &mut UnixStream, total: usize) -> usize {
        let chunk = vec![b'x'; 1 << 20];
        let mut sent = 0;
        while sent < total {
            match stream.write_all(&chunk).await {
                Ok(()) => sent += chunk.len(),
                Err(_) => break,
            }
        }
        sent
    }

    #[tokio::test]
    async fn a_request_without_a_newline_is_cut_off_in_either_mode() {
        let served = served(Limits::default());
        let hundred_mb = 100 << 20;
        let mut plain = greeted(&served.socket).await;
        let sent = stream_without_newline(&mut plain, hundred_mb).await;
        assert!(
            sent < hundred_mb,
            "the server read {sent} bytes of one line"
        );
        let mut subscriber = greeted(&served.socket).await;
        subscriber
            .write_all(b"{\"type\":\"subscribe\"}\n")
            .await
            .unwrap();
        let sent = stream_without_newline(&mut subscriber, hundred_mb).await;
        assert!(
            sent < hundred_mb,
            "the subscriber's {sent} bytes were all read"
        );
    }

    #[tokio::test]
    async fn an_idle_connection_is_closed() {
        let served = served(Limits {
            idle_timeout: Duration::from_millis(200),
            ..Limits::default()
        });
        let mut idle = greeted(&served.socket).await;
        assert!(until_closed(&mut idle).await.is_empty());
    }

    #[tokio::test]
    async fn a_subscriber_that_never_reads_is_dropped_and_others_are_still_served() {
        let served = served(Limits {
            write_timeout: Duration::from_millis(200),
            ..Limits::default()
        });
        let mut lazy = greeted(&served.socket).await;
        lazy.write_all(b"{\"type\":\"subscribe\"}\n").await.unwrap();
        // Wait for the subscription to be in place, then flood it.
        while served.stub.events.receiver_count() == 0 {
            tokio::task::yield_now().await;
        }
        let event = SessionEvent {
            event: crate::protocol::EventKind::Renewed,
            site: crate::site::Site::parse("https://a.example.com").unwrap(),
            login: Some("x".repeat(4096)),
            expires_at: None,
            message: None,
        };
        // More than the channel holds and more than the socket buffers: the server either
        // times out writing or falls behind, and drops the subscriber either way.
        let dropped = async {
            while served.stub.events.receiver_count() > 0 {
                let _ = served.stub.events.send(event.clone());
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        };
        tokio::time::timeout(Duration::from_secs(10), dropped)
            .await
            .expect("the subscriber was dropped");
        // A well-behaved client is still answered.
        let mut client = greeted(&served.socket).await;
        client.write_all(b"{\"type\":\"status\"}\n").await.unwrap();
        let mut reply = [0_u8; 256];
        let n = client.read(&mut reply).await.unwrap();
        assert!(String::from_utf8_lossy(&reply[..n]).contains("\"status\""));
    }

    #[tokio::test]
    async fn at_the_cap_a_newcomer_is_served_in_place_of_the_longest_idle_connection() {
        let served = served(Limits {
            max_connections: 2,
            ..Limits::default()
        });
        let mut first = greeted(&served.socket).await;
        let mut second = greeted(&served.socket).await;
        let mut third = greeted(&served.socket).await;
        assert!(
            until_closed(&mut first).await.is_empty(),
            "the oldest was not closed"
        );
        for client in [&mut second, &mut third] {
            client.write_all(b"{\"type\":\"status\"}\n").await.unwrap();
            let mut reply = [0_u8; 256];
            let n = client.read(&mut reply).await.unwrap();
            assert!(String::from_utf8_lossy(&reply[..n]).contains("\"status\""));
        }
        // Now the second has waited longest: it makes room for the next.
        let _fourth = greeted(&served.socket).await;
        assert!(until_closed(&mut second).await.is_empty());
    }

    #[tokio::test]
    async fn a_connection_serving_a_request_is_never_closed_to_make_room() {
        let served = served(Limits {
            max_connections: 1,
            ..Limits::default()
        });
        let mut busy = greeted(&served.socket).await;
        busy.write_all(b"{\"type\":\"logout_all\"}\n")
            .await
            .unwrap();
        // The newcomer waits while the only connection is serving its request...
        let mut newcomer = UnixStream::connect(&served.socket).await.unwrap();
        newcomer
            .write_all(b"{\"type\":\"hello\",\"version\":1}\n")
            .await
            .unwrap();
        let mut reply = [0_u8; 256];
        let waited =
            tokio::time::timeout(Duration::from_millis(300), newcomer.read(&mut reply)).await;
        assert!(waited.is_err(), "served beyond the cap");
        // ...which is answered whole; then it waits for its client and makes room.
        served.stub.release.notify_one();
        let n = busy.read(&mut reply).await.unwrap();
        assert!(String::from_utf8_lossy(&reply[..n]).contains("\"status\""));
        let n = tokio::time::timeout(Duration::from_secs(10), newcomer.read(&mut reply))
            .await
            .expect("served once the request was answered")
            .unwrap();
        assert!(String::from_utf8_lossy(&reply[..n]).contains("\"hello\""));
        assert!(until_closed(&mut busy).await.is_empty());
    }
}
