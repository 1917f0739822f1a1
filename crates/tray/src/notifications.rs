//! Desktop notifications over the session bus (`org.freedesktop.Notifications`), on the zbus the
//! tray already links: no GUI toolkit, no second D-Bus stack (notify-rust brings zbus 6 and an
//! executor of its own), so a process without a window can show them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;
use zbus::zvariant::Value;

/// How long a notification server has to answer: notifications are shown from the app's own
/// tasks, and a server that hangs must not hold them.
const ANSWER_WITHIN: Duration = Duration::from_secs(5);

/// Longest summary or body sent: a desktop shows a couple of lines.
const MAX_TEXT: usize = 1024;

#[zbus::proxy(
    interface = "org.freedesktop.Notifications",
    default_service = "org.freedesktop.Notifications",
    default_path = "/org/freedesktop/Notifications"
)]
trait Notifications {
    #[allow(clippy::too_many_arguments)]
    fn notify(
        &self,
        app_name: &str,
        replaces_id: u32,
        app_icon: &str,
        summary: &str,
        body: &str,
        actions: &[&str],
        hints: HashMap<&str, Value<'_>>,
        expire_timeout: i32,
    ) -> zbus::Result<u32>;

    fn get_capabilities(&self) -> zbus::Result<Vec<String>>;
}

/// Who the notifications are from, as the desktop shows it.
#[derive(Debug, Clone, Copy)]
pub struct Sender {
    /// The application's name.
    pub name: &'static str,
    /// Its icon's name in the icon theme.
    pub icon: &'static str,
    /// Its desktop entry's ID (the file name without `.desktop`), which desktops use to group
    /// and badge notifications.
    pub desktop_entry: &'static str,
}

/// One notification waiting to be shown.
#[derive(Debug)]
struct Note {
    subject: String,
    summary: String,
    /// Plain text; escaped when the server takes markup.
    body: String,
    queued: Instant,
}

/// Notifications waiting for the server, at most: a burst beyond that while the server is
/// slow is dropped (and logged) rather than held.
const QUEUE: usize = 16;

/// A notification that waited this long for a slow server is not shown any more: the tray
/// and the Accounts window show the sessions as they are now.
const STALE_AFTER: Duration = Duration::from_secs(30);

/// Shows notifications; cheap to clone.
#[derive(Debug, Clone)]
pub struct Notifier {
    from: Sender,
    /// The queue of the task that shows them, once there is one.
    queue: Arc<Mutex<Option<mpsc::Sender<Note>>>>,
}

impl Notifier {
    /// Reaches the session bus only when the first notification is shown.
    pub fn new(from: Sender) -> Self {
        Self {
            from,
            queue: Arc::default(),
        }
    }

    /// Shows `summary` and `body` in place of the last notification about `subject` (a site,
    /// say) if it is still up, and returns at once (call it inside a tokio runtime). They are
    /// shown in the order asked, by one task. One that cannot be shown (no notification
    /// server, no session bus) is logged, never returned: the caller has recorded what it
    /// says either way.
    pub fn show(&self, subject: &str, summary: &str, body: &str) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            tracing::warn!("cannot show a notification: no runtime to reach the bus from");
            return;
        };
        let note = Note {
            subject: subject.to_owned(),
            summary: clean(summary, false),
            body: clean(body, true),
            queued: Instant::now(),
        };
        let mut queue = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
        // The task ends with the runtime it ran on: the next one starts on the caller's.
        let queue = match &*queue {
            Some(running) if !running.is_closed() => running.clone(),
            _ => {
                let (running, waiting) = mpsc::channel(QUEUE);
                runtime.spawn(deliver(self.from, waiting));
                *queue = Some(running.clone());
                running
            }
        };
        match queue.try_send(note) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => {
                tracing::warn!("cannot show a notification: too many are waiting for the server");
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {
                tracing::warn!("cannot show a notification: the runtime that showed them ended");
            }
        }
    }
}

/// Shows what is queued, one after the other.
async fn deliver(from: Sender, mut waiting: mpsc::Receiver<Note>) {
    let mut server = Server::default();
    while let Some(note) = waiting.recv().await {
        if note.queued.elapsed() > STALE_AFTER {
            tracing::warn!(
                "cannot show a notification: it waited over {} s for the notification server",
                STALE_AFTER.as_secs()
            );
            continue;
        }
        match tokio::time::timeout(ANSWER_WITHIN, server.show(from, &note)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "cannot show a notification"),
            Err(_) => {
                // Cut off in the middle of a call: what the connection has seen is unknown.
                server.bus = None;
                tracing::warn!(
                    "cannot show a notification: the notification server did not answer within {} s",
                    ANSWER_WITHIN.as_secs()
                );
            }
        }
    }
}

/// The notification server as this process reaches it.
#[derive(Debug, Default)]
struct Server {
    bus: Option<zbus::Connection>,
    /// Whether the server shows markup in bodies (its `body-markup` capability).
    markup: bool,
    /// The id of the last notification shown about each subject: the next one about the same
    /// subject replaces it rather than stacking up.
    ids: HashMap<String, u32>,
}

impl Server {
    /// Shows `note`, and tries once more when that failed: on a fresh connection when the bus
    /// went away, on the same one when the server answered with an error (a server that was
    /// replaced meanwhile gives no reply).
    async fn show(&mut self, from: Sender, note: &Note) -> zbus::Result<()> {
        match self.try_show(from, note).await {
            Err(e) => {
                if !matches!(e, zbus::Error::MethodError(..) | zbus::Error::FDO(_)) {
                    self.bus = None;
                }
                tracing::debug!(error = %e, "showing a notification again");
                self.try_show(from, note).await
            }
            shown => shown,
        }
    }

    async fn try_show(&mut self, from: Sender, note: &Note) -> zbus::Result<()> {
        let server = if let Some(bus) = &self.bus {
            NotificationsProxy::new(bus).await?
        } else {
            let bus = zbus::Connection::session().await?;
            let server = NotificationsProxy::new(&bus).await?;
            // A server that does not say is taken to show markup: escaped text is at worst
            // shown with its entities, never as markup.
            self.markup = server
                .get_capabilities()
                .await
                .map_or(true, |caps| caps.iter().any(|c| c == "body-markup"));
            self.bus = Some(bus);
            server
        };
        let replaces = self.ids.get(&note.subject).copied().unwrap_or(0);
        let body = if self.markup {
            markup_escaped(&note.body)
        } else {
            note.body.clone()
        };
        let hints = HashMap::from([
            ("desktop-entry", Value::from(from.desktop_entry)),
            ("urgency", Value::U8(1)),
        ]);
        let id = server
            .notify(
                from.name,
                replaces,
                from.icon,
                &note.summary,
                &body,
                &[],
                hints,
                -1,
            )
            .await?;
        self.ids.insert(note.subject.clone(), id);
        Ok(())
    }
}

/// Text as the bus may carry it: control characters (a NUL gets the connection dropped)
/// replaced, line breaks too unless `lines`, and no longer than a desktop shows.
fn clean(text: &str, lines: bool) -> String {
    text.chars()
        .take(MAX_TEXT)
        .map(|c| match c {
            '\n' if lines => c,
            c if c.is_control() => '\u{fffd}',
            c => c,
        })
        .collect()
}

/// A body is markup for servers that show markup: `&`, `<` and `>` in it are shown as written.
fn markup_escaped(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            c => escaped.push(c),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_from_a_site_cannot_cost_the_connection_or_become_markup() {
        assert_eq!(clean("a\0b\nc", false), "a\u{fffd}b\u{fffd}c");
        assert_eq!(clean("a\0b\nc\r", true), "a\u{fffd}b\nc\u{fffd}");
        assert_eq!(
            markup_escaped("<b>x</b> & y"),
            "&lt;b&gt;x&lt;/b&gt; &amp; y"
        );
        assert_eq!(clean(&"é".repeat(5000), true).chars().count(), MAX_TEXT);
    }
}
