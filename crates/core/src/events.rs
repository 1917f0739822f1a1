//! What happens to sessions, told to whoever listens: a broadcast of [`SessionEvent`]s for
//! the app's tray, the refresher and `subscribe` clients, and synchronous [`Listener`]s that
//! must see a change before the call that made it returns (Toolkit's files).

use tokio::sync::broadcast;

use crate::protocol::{EventKind, SessionEvent};
use crate::secret::Secret;
use crate::settings::Settings;
use crate::site::Site;

/// A stored session appeared or went away.
#[derive(Debug)]
pub enum Change<'a> {
    /// `login`'s token on `site` was stored (a sign-in or a renewal).
    Stored {
        site: &'a Site,
        login: &'a str,
        token: &'a Secret,
    },
    /// `login` was signed out of `site`.
    Removed { site: &'a Site, login: &'a str },
}

/// Hears every change as it is made, with the settings as written. A listener's failure is
/// its own to report: the change has happened.
pub trait Listener: Send + Sync + std::fmt::Debug {
    fn changed(&self, settings: &Settings, change: &Change<'_>);
}

/// The event bus of one process.
#[derive(Debug)]
pub struct Events {
    sender: broadcast::Sender<SessionEvent>,
    listeners: Vec<Box<dyn Listener>>,
}

impl Default for Events {
    fn default() -> Self {
        Self {
            sender: broadcast::channel(256).0,
            listeners: Vec::new(),
        }
    }
}

impl Events {
    #[must_use]
    pub fn with_listener(mut self, listener: impl Listener + 'static) -> Self {
        self.listeners.push(Box::new(listener));
        self
    }

    /// Events from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<SessionEvent> {
        self.sender.subscribe()
    }

    pub fn announce(
        &self,
        event: EventKind,
        site: &Site,
        login: Option<&str>,
        expires_at: Option<i64>,
        message: Option<String>,
    ) {
        tracing::info!(event = event.name(), %site, login, "session changed");
        // Nobody listening is fine.
        let _ = self.sender.send(SessionEvent {
            event,
            site: site.clone(),
            login: login.map(ToOwned::to_owned),
            expires_at,
            message,
        });
    }

    /// Tells every listener about `change`.
    pub fn notify(&self, settings: &Settings, change: &Change<'_>) {
        for listener in &self.listeners {
            listener.changed(settings, change);
        }
    }
}
