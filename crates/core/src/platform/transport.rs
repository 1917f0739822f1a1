//! The local channel's ends, below the protocol: a listener the desktop app accepts
//! connections on, and a blocking stream for the CLI and scripts.
//!
//! Contract (an endpoint is named by a path: `Paths::socket_file`):
//! - `bind(endpoint)` listens where only the user can reach, replacing what a crashed app left
//!   but never a live app's endpoint (`BindError::AlreadyServing`). It needs a running tokio
//!   runtime.
//! - `Listener::accept` gives a `Connection`; `Connection::peer` says who is at the other end,
//!   and `Peer::is_current_user` whether that is the user running this process. `Peer`
//!   displays as something worth logging.
//! - `Connection::into_split` gives a `ReadHalf` (`AsyncRead`) and a `WriteHalf` (`AsyncWrite`).
//! - `connect(endpoint, timeout)` refuses an endpoint someone else could have planted, says
//!   `NotListening` when no app is there, and gives a `Stream` (`Read + Write`) whose reads and
//!   writes time out after `timeout`.

use std::io;
use std::path::PathBuf;

use super::files::PrivateDirError;

#[cfg(unix)]
pub use unix::{Connection, Listener, Peer, ReadHalf, Stream, WriteHalf, bind, connect};

#[derive(Debug, thiserror::Error)]
pub enum BindError {
    #[error(transparent)]
    Folder(#[from] PrivateDirError),
    #[error("another FPT Login app already serves {}", .socket.display())]
    AlreadyServing { socket: PathBuf },
    #[error("cannot listen on {}: {source}", .socket.display())]
    Io { socket: PathBuf, source: io::Error },
}

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The endpoint is missing or nothing accepts connections on it.
    #[error("nothing listens at {}", .socket.display())]
    NotListening { socket: PathBuf },
    #[error("the socket folder is not safe to use: {0}")]
    UnsafeFolder(#[from] PrivateDirError),
    #[error(
        "{} is served by uid {uid}, not by this user; refusing to talk to it",
        .socket.display()
    )]
    ForeignServer { socket: PathBuf, uid: u32 },
    #[error("cannot connect to {}: {source}", .socket.display())]
    Io { socket: PathBuf, source: io::Error },
}

/// A Unix domain socket in a 0700 folder, the socket itself 0600, and the peer's uid from the
/// kernel (`SO_PEERCRED`, `getpeereid` on macOS).
#[cfg(unix)]
mod unix {
    use std::fmt;
    use std::io::{self, Read, Write};
    use std::os::unix::fs::PermissionsExt as _;
    use std::path::Path;
    use std::time::Duration;

    use super::{BindError, ConnectError};
    use crate::platform::files;
    use crate::platform::runtime::current_uid;

    /// Read and write for the owner only; the folder's 0700 is what keeps others out where a
    /// socket's own mode is not honoured.
    const SOCKET_MODE: u32 = 0o600;

    /// Creates the private folder and listens on `socket` in it, replacing a stale socket file
    /// left by a crashed app (but never a live one).
    pub fn bind(socket: &Path) -> Result<Listener, BindError> {
        let folder = socket.parent().unwrap_or_else(|| Path::new("/"));
        files::ensure_private_dir(folder)?;
        let io_err = |source| BindError::Io {
            socket: socket.to_path_buf(),
            source,
        };
        if socket.exists() {
            if std::os::unix::net::UnixStream::connect(socket).is_ok() {
                return Err(BindError::AlreadyServing {
                    socket: socket.to_path_buf(),
                });
            }
            std::fs::remove_file(socket).map_err(io_err)?;
        }
        let listener = tokio::net::UnixListener::bind(socket).map_err(io_err)?;
        std::fs::set_permissions(socket, std::fs::Permissions::from_mode(SOCKET_MODE))
            .map_err(io_err)?;
        Ok(Listener(listener))
    }

    #[derive(Debug)]
    pub struct Listener(tokio::net::UnixListener);

    impl Listener {
        // `&mut`: a named pipe makes a new server instance per connection.
        pub async fn accept(&mut self) -> io::Result<Connection> {
            let (stream, _) = self.0.accept().await?;
            Ok(Connection(stream))
        }
    }

    /// A socket bound some other way, for tests that need one without [`bind`]'s protections
    /// (to show that the peer check holds on its own).
    impl From<tokio::net::UnixListener> for Listener {
        fn from(listener: tokio::net::UnixListener) -> Self {
            Self(listener)
        }
    }

    /// An accepted connection.
    #[derive(Debug)]
    pub struct Connection(tokio::net::UnixStream);

    pub type ReadHalf = tokio::net::unix::OwnedReadHalf;
    pub type WriteHalf = tokio::net::unix::OwnedWriteHalf;

    impl Connection {
        /// Who connected, as the kernel saw it at `connect` time.
        pub fn peer(&self) -> io::Result<Peer> {
            let cred = self.0.peer_cred()?;
            Ok(Peer {
                uid: cred.uid(),
                pid: cred.pid(),
            })
        }

        pub fn into_split(self) -> (ReadHalf, WriteHalf) {
            self.0.into_split()
        }
    }

    /// The process at the other end of a connection.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct Peer {
        uid: u32,
        pid: Option<i32>,
    }

    impl Peer {
        pub fn is_current_user(&self) -> bool {
            self.uid == current_uid()
        }
    }

    impl fmt::Display for Peer {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "uid {}", self.uid)?;
            match self.pid {
                Some(pid) => write!(f, ", pid {pid}"),
                None => Ok(()),
            }
        }
    }

    /// Connects to `socket` after checking that its folder is ours and private; every read
    /// and write then times out after `timeout`.
    pub fn connect(socket: &Path, timeout: Duration) -> Result<Stream, ConnectError> {
        let not_listening = || ConnectError::NotListening {
            socket: socket.to_path_buf(),
        };
        let folder = socket.parent().unwrap_or_else(|| Path::new("/"));
        if !folder.exists() {
            return Err(not_listening());
        }
        // Refuse a folder someone else could have planted a socket in.
        files::check_private_dir(folder)?;
        let io_err = |source| ConnectError::Io {
            socket: socket.to_path_buf(),
            source,
        };
        let stream = match std::os::unix::net::UnixStream::connect(socket) {
            Ok(stream) => stream,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::NotFound | io::ErrorKind::ConnectionRefused
                ) =>
            {
                return Err(not_listening());
            }
            Err(e) => return Err(io_err(e)),
        };
        // The folder check keeps others out; this catches what it cannot (a socket root
        // bound there for someone else) before a byte is sent. Linux tells who listens;
        // elsewhere the folder is the guard.
        #[cfg(target_os = "linux")]
        {
            let uid = rustix::net::sockopt::socket_peercred(&stream)
                .map_err(|e| io_err(e.into()))?
                .uid
                .as_raw();
            if uid != current_uid() {
                return Err(ConnectError::ForeignServer {
                    socket: socket.to_path_buf(),
                    uid,
                });
            }
        }
        stream.set_read_timeout(Some(timeout)).map_err(io_err)?;
        stream.set_write_timeout(Some(timeout)).map_err(io_err)?;
        Ok(Stream(stream))
    }

    /// A blocking connection to the app.
    #[derive(Debug)]
    pub struct Stream(std::os::unix::net::UnixStream);

    impl Stream {
        /// A second handle on the same connection (one to read, one to write).
        pub fn try_clone(&self) -> io::Result<Self> {
            self.0.try_clone().map(Self)
        }

        /// Changes how long a read may wait, for every handle on this connection; `None`
        /// waits for ever.
        pub fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
            self.0.set_read_timeout(timeout)
        }
    }

    impl Read for Stream {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.0.read(buf)
        }
    }

    impl Write for Stream {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.write(buf)
        }

        fn flush(&mut self) -> io::Result<()> {
            self.0.flush()
        }
    }

    #[cfg(test)]
    mod tests {
        use std::os::unix::fs::PermissionsExt as _;

        use super::*;

        fn mode(path: &Path) -> u32 {
            std::fs::metadata(path).unwrap().permissions().mode() & 0o777
        }

        #[tokio::test]
        async fn bind_makes_a_private_folder_and_socket_and_keeps_a_live_one() {
            let tmp = tempfile::tempdir().unwrap();
            let socket = tmp.path().join("run/app.sock");
            let mut listener = bind(&socket).unwrap();
            assert_eq!(mode(&tmp.path().join("run")), 0o700);
            assert_eq!(mode(&socket), 0o600);

            let connecting = std::thread::spawn({
                let socket = socket.clone();
                move || connect(&socket, Duration::from_secs(5))
            });
            let connection = listener.accept().await.unwrap();
            assert!(connection.peer().unwrap().is_current_user());
            let mut stream = connecting.join().unwrap().unwrap();
            let (_, mut write_half) = connection.into_split();
            tokio::io::AsyncWriteExt::write_all(&mut write_half, b"hi\n")
                .await
                .unwrap();
            let mut got = [0; 3];
            stream.read_exact(&mut got).unwrap();
            assert_eq!(&got, b"hi\n");

            assert!(matches!(
                bind(&socket),
                Err(BindError::AlreadyServing { .. })
            ));
            drop(listener);
            // A crashed app's socket file is replaced.
            assert!(socket.exists());
            let _again = bind(&socket).unwrap();
        }

        #[test]
        fn connect_tells_no_app_from_an_unsafe_folder() {
            let tmp = tempfile::tempdir().unwrap();
            let missing = tmp.path().join("run/app.sock");
            assert!(matches!(
                connect(&missing, Duration::from_secs(1)),
                Err(ConnectError::NotListening { .. })
            ));
            files::ensure_private_dir(&tmp.path().join("run")).unwrap();
            assert!(matches!(
                connect(&missing, Duration::from_secs(1)),
                Err(ConnectError::NotListening { .. })
            ));
            std::fs::set_permissions(
                tmp.path().join("run"),
                std::fs::Permissions::from_mode(0o755),
            )
            .unwrap();
            assert!(matches!(
                connect(&missing, Duration::from_secs(1)),
                Err(ConnectError::UnsafeFolder(_))
            ));
        }
    }
}
