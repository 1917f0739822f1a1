//! A forward HTTP proxy on loopback that records what passes through it: the first request
//! line of each connection (absolute-form for plain HTTP, `CONNECT` for TLS) and whether it
//! carried proxy credentials.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// What the proxy saw of one connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    /// `POST http://127.0.0.1:8090/api3/json`, or `CONNECT 127.0.0.1:8443`.
    pub request: String,
    /// The `Proxy-Authorization` header, if any.
    pub authorization: Option<String>,
}

#[derive(Debug)]
pub struct ForwardProxy {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
    task: JoinHandle<()>,
}

impl ForwardProxy {
    pub async fn start() -> Self {
        let listener = TcpListener::bind(("127.0.0.1", 0))
            .await
            .expect("bind the proxy");
        let addr = listener.local_addr().expect("proxy address");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&seen);
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let log = Arc::clone(&log);
                tokio::spawn(async move {
                    let _ = relay(client, log).await;
                });
            }
        });
        Self { addr, seen, task }
    }

    /// `127.0.0.1:PORT`.
    pub fn address(&self) -> String {
        self.addr.to_string()
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().expect("proxy log lock").clone()
    }
}

impl Drop for ForwardProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn relay(mut client: TcpStream, log: Arc<Mutex<Vec<Seen>>>) -> std::io::Result<()> {
    let mut head = Vec::new();
    let mut byte = [0_u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if client.read(&mut byte).await? == 0 {
            return Ok(());
        }
        head.push(byte[0]);
    }
    let text = String::from_utf8_lossy(&head).into_owned();
    let mut lines = text.split("\r\n");
    let request_line = lines.next().unwrap_or_default().to_owned();
    let authorization = lines
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.eq_ignore_ascii_case("proxy-authorization"))
        .map(|(_, v)| v.trim().to_owned());
    let mut parts = request_line.split(' ');
    let (method, target, version) = (
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default().to_owned(),
        parts.next().unwrap_or("HTTP/1.1"),
    );
    log.lock().expect("proxy log lock").push(Seen {
        request: format!("{method} {target}"),
        authorization,
    });
    if method == "CONNECT" {
        let mut upstream = TcpStream::connect(&target).await?;
        client
            .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
            .await?;
        tokio::io::copy_bidirectional(&mut client, &mut upstream).await?;
        return Ok(());
    }
    let url = url::Url::parse(&target).map_err(std::io::Error::other)?;
    let host = format!(
        "{}:{}",
        url.host_str().unwrap_or_default(),
        url.port_or_known_default().unwrap_or(80)
    );
    let mut upstream = TcpStream::connect(&host).await?;
    let path = &url[url::Position::BeforePath..];
    let rest = text.split_once("\r\n").map_or("", |(_, rest)| rest);
    upstream
        .write_all(format!("{method} {path} {version}\r\n{rest}").as_bytes())
        .await?;
    tokio::io::copy_bidirectional(&mut client, &mut upstream).await?;
    Ok(())
}
