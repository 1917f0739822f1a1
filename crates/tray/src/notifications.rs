//! Desktop notifications over the session bus (`org.freedesktop.Notifications`), on the zbus the
//! tray already links: no GUI toolkit, no second D-Bus stack (notify-rust brings zbus 6 and an
//! executor of its own), so a process without a window can show them.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Mutex;
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
trait Server {
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

#[derive(Debug, Default)]
struct Shown {
    bus: Option<zbus::Connection>,
    /// The id of the last notification shown for each subject: the next one about the same
    /// subject replaces it rather than stacking up.
    ids: HashMap<String, u32>,
}

/// Shows notifications; cheap to clone.
#[derive(Debug, Clone)]
pub struct Notifier {
    from: Sender,
    shown: Arc<Mutex<Shown>>,
}

impl Notifier {
    /// Reaches the session bus only when the first notification is shown.
    pub fn new(from: Sender) -> Self {
        Self {
            from,
            shown: Arc::default(),
        }
    }

    /// Shows `summary` and `body` in place of the last notification about `subject` (a site,
    /// say) if it is still up, and returns at once (call it inside a tokio runtime). One that
    /// cannot be shown (no notification server, no session bus) is logged, never returned:
    /// the caller has recorded what it says either way.
    pub fn show(&self, subject: &str, summary: &str, body: &str) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            tracing::warn!("cannot show a notification: no runtime to reach the bus from");
            return;
        };
        let notifier = self.clone();
        let subject = subject.to_owned();
        let (summary, body) = (clean(summary, false), markup_escaped(&clean(body, true)));
        runtime.spawn(async move {
            let sent = notifier.send(subject, summary, body);
            match tokio::time::timeout(ANSWER_WITHIN, sent).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::warn!(error = %e, "cannot show a notification"),
                Err(_) => tracing::warn!(
                    "cannot show a notification: the notification server did not answer within {} s",
                    ANSWER_WITHIN.as_secs()
                ),
            }
        });
    }

    async fn send(&self, subject: String, summary: String, body: String) -> zbus::Result<()> {
        // One at a time, so that a notification replacing another knows the other's id.
        let mut shown = self.shown.lock().await;
        let bus = if let Some(bus) = &shown.bus {
            bus.clone()
        } else {
            let bus = zbus::Connection::session().await?;
            shown.bus = Some(bus.clone());
            bus
        };
        let server = ServerProxy::new(&bus).await?;
        let replaces = shown.ids.get(&subject).copied().unwrap_or(0);
        let hints = HashMap::from([
            ("desktop-entry", Value::from(self.from.desktop_entry)),
            ("urgency", Value::U8(1)),
        ]);
        let sent = server
            .notify(
                self.from.name,
                replaces,
                self.from.icon,
                &summary,
                &body,
                &[],
                hints,
                -1,
            )
            .await;
        match sent {
            Ok(id) => {
                shown.ids.insert(subject, id);
                Ok(())
            }
            Err(e) => {
                // A bus that went away is reached anew next time.
                if matches!(e, zbus::Error::InputOutput(_)) {
                    shown.bus = None;
                }
                Err(e)
            }
        }
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
