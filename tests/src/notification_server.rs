//! What a desktop's notification server does with the app's notifications: owns
//! `org.freedesktop.Notifications` on the session bus and keeps each one it is sent.
//!
//! The tests of a run share one bus, and a name has one owner at a time. So every test that
//! looks at notifications queues for the name; whoever owns it writes what it is sent to one
//! file of the run, and when its test ends the bus hands the name to the next in the queue. A
//! notification sent just as an owner ends gets no answer; the app's notifier tries once more,
//! and reaches the next owner.

use std::collections::HashMap;
use std::io::Write as _;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use enumflags2::BitFlags;
use serde::{Deserialize, Serialize};
use zbus::fdo::RequestNameFlags;
use zbus::zvariant::OwnedValue;

use crate::harness::wait_for;

const NAME: &str = "org.freedesktop.Notifications";

/// One notification, as the server was sent it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Notification {
    pub id: u32,
    pub app_name: String,
    pub replaces_id: u32,
    pub app_icon: String,
    pub summary: String,
    pub body: String,
    pub desktop_entry: Option<String>,
    /// Who sent it (the sender's pid).
    pub pid: u32,
}

struct Server {
    log: PathBuf,
    next: AtomicU32,
}

// The protocol's methods, whether or not a test looks at what they get.
#[allow(clippy::unused_self)]
#[zbus::interface(name = "org.freedesktop.Notifications")]
impl Server {
    #[allow(clippy::too_many_arguments)]
    async fn notify(
        &self,
        #[zbus(header)] header: zbus::message::Header<'_>,
        #[zbus(connection)] bus: &zbus::Connection,
        app_name: String,
        replaces_id: u32,
        app_icon: String,
        summary: String,
        body: String,
        actions: Vec<String>,
        hints: HashMap<String, OwnedValue>,
        expire_timeout: i32,
    ) -> zbus::fdo::Result<u32> {
        let _ = (actions, expire_timeout);
        let id = if replaces_id == 0 {
            self.next.fetch_add(1, Ordering::Relaxed)
        } else {
            replaces_id
        };
        let pid = match header.sender() {
            Some(sender) => zbus::fdo::DBusProxy::new(bus)
                .await?
                .get_connection_unix_process_id(sender.clone().into())
                .await
                .unwrap_or(0),
            None => 0,
        };
        let desktop_entry = hints
            .get("desktop-entry")
            .and_then(|v| String::try_from(v.try_clone().ok()?).ok());
        let kept = Notification {
            id,
            app_name,
            replaces_id,
            app_icon,
            summary,
            body,
            desktop_entry,
            pid,
        };
        let mut line = serde_json::to_string(&kept).expect("a notification as JSON");
        line.push('\n');
        // One write of an O_APPEND file: lines from several owners never interleave.
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .and_then(|mut f| f.write_all(line.as_bytes()))
            .map_err(|e| zbus::fdo::Error::Failed(e.to_string()))?;
        Ok(id)
    }

    fn get_capabilities(&self) -> Vec<String> {
        vec!["body".to_owned(), "body-markup".to_owned()]
    }

    fn get_server_information(&self) -> (String, String, String, String) {
        let name = "fpt-login-tests".to_owned();
        (name.clone(), name, "1".to_owned(), "1.2".to_owned())
    }

    fn close_notification(&self, id: u32) {
        let _ = id;
    }
}

/// The desktop's notification server, for as long as this lives (see the module's doc).
#[derive(Debug)]
pub struct NotificationServer {
    _bus: zbus::Connection,
    log: PathBuf,
}

impl NotificationServer {
    /// Serves the notifications of this test run, or queues to once the owner's test ends.
    pub async fn start() -> Self {
        let runtime = std::env::var_os("XDG_RUNTIME_DIR")
            .expect("XDG_RUNTIME_DIR (the tests run under .ci/headless)");
        let log = PathBuf::from(runtime).join("fpt-login-tests-notifications.jsonl");
        // Ids apart per owner, as the name passes from one test process to the next.
        let first = (std::process::id() & 0xffff) << 16 | 1;
        let server = Server {
            log: log.clone(),
            next: AtomicU32::new(first),
        };
        let bus = zbus::connection::Builder::session()
            .expect("the session bus")
            .serve_at("/org/freedesktop/Notifications", server)
            .expect("serve the notification server")
            .build()
            .await
            .expect("the session bus");
        // Neither replacing the owner nor letting anyone replace this one, nor refusing to
        // queue: queued behind the owner, if any.
        bus.request_name_with_flags(NAME, BitFlags::<RequestNameFlags>::empty())
            .await
            .expect("own or queue for org.freedesktop.Notifications");
        Self { _bus: bus, log }
    }

    /// Every notification the servers of this run were sent so far.
    pub fn all(&self) -> Vec<Notification> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            // A line still being written is read next time.
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    /// Waits for a notification from the app running as `pid` whose summary holds `summary`,
    /// and checks that it says who it is from as the desktop shows it: the name, the icon and
    /// the desktop entry the package installs.
    pub async fn from_the_app(&self, pid: u32, summary: &str) -> Notification {
        let notified = wait_for(
            &format!("a notification from {pid} saying {summary:?}"),
            Duration::from_secs(60),
            // The last one: a notification shown again after its server ended without
            // replying is there twice, and the app kept the later one's id.
            || async {
                self.all()
                    .into_iter()
                    .rfind(|n| n.pid == pid && n.summary.contains(summary))
            },
        )
        .await;
        assert_eq!(notified.app_name, "FPT Login", "{notified:?}");
        assert_eq!(notified.app_icon, "fpt-login", "{notified:?}");
        assert_eq!(
            notified.desktop_entry.as_deref(),
            Some("fpt-login-desktop"),
            "{notified:?}"
        );
        notified
    }
}
