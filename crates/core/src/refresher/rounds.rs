//! The loop: a round starts what the plans say is due, one task per site, then the loop sleeps
//! until the plans want to be asked again, a session changes, or a task ends.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::broadcast::error::RecvError;

use super::{Desktop, Refresher, SiteCalls, Trigger, retry_in};
use crate::protocol::{EventKind, SessionEvent};
use crate::renewal::{Action, Config, Generation, IDLE_WAKE, Outcome};
use crate::session::Health;
use crate::site::Site;

/// How soon the loop tries again when the settings file cannot be read.
const SETTINGS_RETRY: Duration = Duration::from_secs(15);

#[derive(Debug)]
enum Task {
    Renew(Generation),
    KeepAlive(Generation),
}

impl<S: SiteCalls> Refresher<S> {
    /// The loop that renews and keeps sessions alive, with `desktop` for what needs one; spawn
    /// it on a tokio runtime, where it lives as long as the app. Session changes are heard
    /// from this call on.
    pub fn run<D: Desktop>(
        self: Arc<Self>,
        desktop: Arc<D>,
    ) -> impl Future<Output = ()> + Send + 'static {
        let mut events = self.accounts.subscribe();
        async move {
            loop {
                let wait = self.round(&desktop);
                tokio::select! {
                    () = tokio::time::sleep(wait) => {}
                    // Any change may move what is due; a sign-out also clears the site's web
                    // data.
                    event = events.recv() => match event {
                        Ok(SessionEvent { event: EventKind::SignedOut, site, .. }) => {
                            desktop.forget_site_data(&site);
                        }
                        // Sign-outs may be among the events missed; the accounts know which
                        // sites' web data is left from one.
                        Err(RecvError::Lagged(_)) => desktop.forget_stale_site_data(),
                        _ => {}
                    },
                    () = self.wake.notified() => {}
                }
            }
        }
    }

    /// Starts what is due; returns how long until the plans want to be asked again.
    fn round<D: Desktop>(self: &Arc<Self>, desktop: &Arc<D>) -> Duration {
        let settings = match self.accounts.settings_file().load_shared() {
            Ok(settings) => settings,
            Err(e) => {
                tracing::error!(error = %e, "cannot read the sessions to keep");
                return SETTINGS_RETRY;
            }
        };
        let config = Config::from(&*settings);
        let now = self.now();
        self.plans
            .lock()
            .expect("plans lock")
            .retain(|site, _| settings.sites.contains_key(site));
        let mut wake_at = now.saturating_add(IDLE_WAKE);
        for (site, sites) in &settings.sites {
            if self.busy.lock().expect("busy lock").contains(site) {
                continue;
            }
            let next = self.with_plan(site, |plan| plan.next_action(sites, &config, now));
            wake_at = wake_at.min(next.wake_at);
            match next.action {
                Action::Nothing => {}
                Action::Renew(generation) => {
                    self.spawn_task(desktop, site, Task::Renew(generation));
                }
                Action::KeepAlive(generation) => {
                    self.spawn_task(desktop, site, Task::KeepAlive(generation));
                }
            }
        }
        Duration::from_secs(
            u64::try_from(wake_at.saturating_sub(now))
                .unwrap_or(0)
                .max(1),
        )
    }

    fn spawn_task<D: Desktop>(self: &Arc<Self>, desktop: &Arc<D>, site: &Site, task: Task) {
        self.busy.lock().expect("busy lock").insert(site.clone());
        let busy = Busy {
            refresher: Arc::clone(self),
            site: site.clone(),
        };
        let desktop = Arc::clone(desktop);
        tokio::spawn(async move {
            let (refresher, site) = (&busy.refresher, &busy.site);
            match task {
                Task::Renew(generation) => {
                    if let Err(why) = refresher
                        .renew(&*desktop, site, Trigger::Schedule(generation))
                        .await
                    {
                        tracing::info!(%site, "no silent renewal: {why}");
                    }
                }
                Task::KeepAlive(generation) => {
                    refresher.keep_alive(&*desktop, site, &generation).await;
                }
            }
        });
    }

    async fn keep_alive(&self, desktop: &impl Desktop, site: &Site, generation: &Generation) {
        let login = &generation.login;
        // The plan has the next keep-alive planned already: giving up here cannot spin.
        let token = match self.accounts.token(site, login) {
            Ok(Some(token)) => token,
            Ok(None) => {
                tracing::warn!(%site, login, "the keyring holds no token to keep alive");
                return;
            }
            Err(e) => {
                tracing::warn!(%site, login, error = %e, "cannot read the token to keep alive");
                return;
            }
        };
        let health = self.sites.check(site, login, &token).await;
        let unreachable = match &health {
            Health::Unreachable { reason } => Some(reason.clone()),
            _ => None,
        };
        let now = self.now();
        let Some(effects) =
            self.report_about(desktop, site, generation, &token, Outcome::from(health))
        else {
            return;
        };
        if let Some(reason) = unreachable {
            tracing::warn!(
                %site,
                "cannot reach the site to keep the session alive ({reason}); trying again in {} s",
                retry_in(&effects, now)
            );
        }
    }
}

/// Marks a site busy for as long as its task runs, however the task ends.
struct Busy<S: SiteCalls> {
    refresher: Arc<Refresher<S>>,
    site: Site,
}

impl<S: SiteCalls> Drop for Busy<S> {
    fn drop(&mut self) {
        let refresher = &self.refresher;
        refresher.busy.lock().expect("busy lock").remove(&self.site);
        refresher.wake();
    }
}
