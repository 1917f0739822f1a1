//! The connections the server holds that are waiting for their client, so that a server at its
//! connection cap can close the one that has waited longest and serve a newcomer, instead of
//! leaving the newcomer in the kernel's backlog behind clients that hold connections open and
//! send nothing.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use tokio::sync::Notify;

/// What a connection is waiting for. Connections waiting for a request are closed first: their
/// clients reconnect with their next request, while a subscriber would miss events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Wait {
    Request,
    Events,
}

/// Every open connection of one server, and what each is waiting for.
#[derive(Debug, Default)]
pub struct IdleConnections {
    inner: Mutex<Inner>,
    /// Notified whenever a connection starts waiting: a full server may make room now.
    started_waiting: Notify,
}

#[derive(Debug, Default)]
struct Inner {
    next_id: u64,
    connections: HashMap<u64, State>,
}

#[derive(Debug)]
struct State {
    /// `None` while the connection is serving a request.
    waiting: Option<(Wait, Instant)>,
    close: Arc<Notify>,
    /// Asked to close already: not picked twice.
    closing: bool,
}

impl IdleConnections {
    fn inner(&self) -> MutexGuard<'_, Inner> {
        // The state stays consistent whatever panicked while holding the lock: each update is
        // one assignment.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds a connection, busy until it says it waits.
    pub fn register(self: &Arc<Self>) -> Registration {
        let close = Arc::new(Notify::new());
        let mut inner = self.inner();
        let id = inner.next_id;
        inner.next_id = inner.next_id.wrapping_add(1);
        inner.connections.insert(
            id,
            State {
                waiting: None,
                close: Arc::clone(&close),
                closing: false,
            },
        );
        Registration {
            list: Arc::clone(self),
            id,
            close,
        }
    }

    /// Asks the connection that has waited longest for a request (else for events to send) to
    /// close. False when every connection is busy serving a request.
    pub fn close_longest_waiting(&self) -> bool {
        let mut inner = self.inner();
        let longest = inner
            .connections
            .values_mut()
            .filter(|state| !state.closing)
            .filter_map(|state| state.waiting.map(|waiting| (waiting, state)))
            .min_by_key(|(waiting, _)| *waiting);
        match longest {
            Some((_, state)) => {
                state.closing = true;
                // Kept until the connection next waits, if it is between two waits now.
                state.close.notify_one();
                true
            }
            None => false,
        }
    }

    /// Resolves once a connection has started waiting since the last call (at once if one
    /// has and nobody was listening).
    pub async fn one_started_waiting(&self) {
        self.started_waiting.notified().await;
    }

    fn set_waiting(&self, id: u64, waiting: Option<(Wait, Instant)>) {
        if let Some(state) = self.inner().connections.get_mut(&id) {
            state.waiting = waiting;
        }
        if waiting.is_some() {
            // Kept when no one listens, so that a server about to listen does not miss it.
            self.started_waiting.notify_one();
        }
    }
}

/// One connection's entry; it leaves the list when dropped.
#[derive(Debug)]
pub struct Registration {
    list: Arc<IdleConnections>,
    id: u64,
    close: Arc<Notify>,
}

impl Registration {
    /// The connection waits for its client from now on.
    pub fn waiting(&self, wait: Wait) {
        self.list.set_waiting(self.id, Some((wait, Instant::now())));
    }

    /// The connection serves a request.
    pub fn busy(&self) {
        self.list.set_waiting(self.id, None);
    }

    /// Resolves once the server wants this connection closed to make room.
    pub async fn closing(&self) {
        self.close.notified().await;
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.list.inner().connections.remove(&self.id);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    async fn is_closing(registration: &Registration) -> bool {
        tokio::time::timeout(Duration::from_millis(50), registration.closing())
            .await
            .is_ok()
    }

    #[tokio::test]
    async fn the_longest_waiting_for_a_request_goes_first_then_subscribers_and_never_the_busy() {
        let list = Arc::new(IdleConnections::default());
        let subscriber = list.register();
        subscriber.waiting(Wait::Events);
        let oldest = list.register();
        oldest.waiting(Wait::Request);
        let busy = list.register();
        let newest = list.register();
        newest.waiting(Wait::Request);

        assert!(list.close_longest_waiting());
        assert!(is_closing(&oldest).await);
        assert!(!is_closing(&newest).await);
        assert!(list.close_longest_waiting());
        assert!(is_closing(&newest).await);
        assert!(list.close_longest_waiting());
        assert!(is_closing(&subscriber).await);
        assert!(
            !list.close_longest_waiting(),
            "a busy connection was picked"
        );
        assert!(!is_closing(&busy).await);

        drop((oldest, newest, subscriber));
        busy.waiting(Wait::Request);
        assert!(list.close_longest_waiting());
        assert!(is_closing(&busy).await);
        drop(busy);
        assert!(list.inner().connections.is_empty());
    }
}
