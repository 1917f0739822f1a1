//! Clients that abuse the app's local socket, for the benchmark and the end-to-end test: many
//! connections opened and left idle, one client streaming bytes without ever sending a newline
//! (reconnecting whenever the app cuts it off), and one subscriber that never reads its events.
//! All run as tasks until [`Abuse::stop`].

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use tokio::io::AsyncWriteExt as _;
use tokio::net::UnixStream;
use tokio::task::JoinHandle;

/// How much abuse.
#[derive(Debug, Clone, Copy)]
pub struct Load {
    /// Connections opened and left idle: they send nothing.
    pub idle_connections: usize,
    /// Bytes the streaming client sends in all, none of them a newline.
    pub stream_bytes: u64,
}

/// The abuse under way.
#[derive(Debug)]
pub struct Abuse {
    stop: Arc<AtomicBool>,
    counters: Arc<Counters>,
    idle: JoinHandle<Vec<UnixStream>>,
    stream: JoinHandle<()>,
    subscriber: JoinHandle<Option<UnixStream>>,
}

#[derive(Debug, Default)]
struct Counters {
    idle_opened: AtomicUsize,
    streamed: AtomicU64,
    stream_cut_off: AtomicU64,
    subscribed: AtomicBool,
}

/// What the abuse saw, at its end.
#[derive(Debug, Clone, Copy)]
pub struct Report {
    pub idle_opened: usize,
    /// Idle connections the app still held at the end (it closes the longest idle to make room
    /// for newcomers once it serves its maximum).
    pub idle_still_open: usize,
    pub streamed_bytes: u64,
    /// How many times the app cut the streaming client off (it reconnected each time).
    pub stream_cut_off: u64,
    pub subscribed: bool,
    /// Whether the app had dropped the subscriber that never read.
    pub subscriber_dropped: bool,
}

impl Abuse {
    /// Starts every abusive client against `socket`.
    pub fn start(socket: &Path, load: Load) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let counters = Arc::new(Counters::default());
        let idle = tokio::spawn(open_idle(
            socket.to_path_buf(),
            load.idle_connections,
            Arc::clone(&stop),
            Arc::clone(&counters),
        ));
        let stream = tokio::spawn(stream_without_newline(
            socket.to_path_buf(),
            load.stream_bytes,
            Arc::clone(&stop),
            Arc::clone(&counters),
        ));
        let subscriber = tokio::spawn(subscribe_and_never_read(
            socket.to_path_buf(),
            Arc::clone(&counters),
        ));
        Self {
            stop,
            counters,
            idle,
            stream,
            subscriber,
        }
    }

    /// Idle connections opened so far.
    pub fn idle_opened(&self) -> usize {
        self.counters.idle_opened.load(Ordering::SeqCst)
    }

    /// Bytes streamed so far.
    pub fn streamed(&self) -> u64 {
        self.counters.streamed.load(Ordering::SeqCst)
    }

    /// True once every idle connection is open, the stream is sent and the subscriber
    /// subscribed: the whole load is on.
    pub fn is_all_on(&self, load: Load) -> bool {
        self.idle_opened() >= load.idle_connections
            && self.streamed() >= load.stream_bytes
            && self.counters.subscribed.load(Ordering::SeqCst)
    }

    /// Ends the abuse; says what the app did with it.
    pub async fn stop(self) -> Report {
        self.stop.store(true, Ordering::SeqCst);
        let idle = self.idle.await.unwrap_or_default();
        let _ = self.stream.await;
        let subscriber = self.subscriber.await.ok().flatten();
        let idle_still_open = idle.into_iter().map(is_open).filter(|open| *open).count();
        Report {
            idle_opened: self.counters.idle_opened.load(Ordering::SeqCst),
            idle_still_open,
            streamed_bytes: self.counters.streamed.load(Ordering::SeqCst),
            stream_cut_off: self.counters.stream_cut_off.load(Ordering::SeqCst),
            subscribed: self.counters.subscribed.load(Ordering::SeqCst),
            subscriber_dropped: subscriber.is_none_or(|s| !is_open(s)),
        }
    }
}

/// Connects, retrying while the app's backlog is full (a non-blocking connect then fails at
/// once) until `stop`.
async fn connect(socket: &Path, stop: &AtomicBool) -> Option<UnixStream> {
    while !stop.load(Ordering::SeqCst) {
        match UnixStream::connect(socket).await {
            Ok(stream) => return Some(stream),
            // Nothing to wait on but time: the backlog drains as the app accepts.
            Err(_) => tokio::time::sleep(Duration::from_millis(5)).await,
        }
    }
    None
}

async fn open_idle(
    socket: PathBuf,
    count: usize,
    stop: Arc<AtomicBool>,
    counters: Arc<Counters>,
) -> Vec<UnixStream> {
    let mut open = Vec::with_capacity(count);
    while open.len() < count {
        let Some(stream) = connect(&socket, &stop).await else {
            break;
        };
        open.push(stream);
        counters.idle_opened.fetch_add(1, Ordering::SeqCst);
    }
    open
}

async fn stream_without_newline(
    socket: PathBuf,
    total: u64,
    stop: Arc<AtomicBool>,
    counters: Arc<Counters>,
) {
    let chunk = vec![b'x'; 1 << 20];
    while counters.streamed.load(Ordering::SeqCst) < total {
        let Some(mut stream) = connect(&socket, &stop).await else {
            return;
        };
        loop {
            if counters.streamed.load(Ordering::SeqCst) >= total {
                return;
            }
            // A write the app stopped reading: it closed the connection.
            // Counted as the kernel takes them: the app cuts a line off long before a chunk.
            match stream.write(&chunk).await {
                Ok(written) if written > 0 => {
                    let written = u64::try_from(written).unwrap_or(u64::MAX);
                    counters.streamed.fetch_add(written, Ordering::SeqCst);
                }
                // The app stopped reading and closed the connection.
                _ => {
                    counters.stream_cut_off.fetch_add(1, Ordering::SeqCst);
                    break;
                }
            }
        }
    }
}

async fn subscribe_and_never_read(socket: PathBuf, counters: Arc<Counters>) -> Option<UnixStream> {
    let never = AtomicBool::new(false);
    let mut stream = connect(&socket, &never).await?;
    stream
        .write_all(b"{\"type\":\"hello\",\"version\":1}\n{\"type\":\"subscribe\"}\n")
        .await
        .ok()?;
    counters.subscribed.store(true, Ordering::SeqCst);
    Some(stream)
}

/// True while the app keeps `stream` open: what it sent is drained, and no end of input
/// follows. Read with the system call itself, not tokio's cached readiness.
fn is_open(stream: UnixStream) -> bool {
    use std::io::Read as _;
    let Ok(mut stream) = stream.into_std() else {
        return false;
    };
    if stream.set_nonblocking(true).is_err() {
        return false;
    }
    let mut buffer = [0_u8; 4096];
    loop {
        match stream.read(&mut buffer) {
            Ok(0) => return false,
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return true,
            Err(_) => return false,
        }
    }
}
