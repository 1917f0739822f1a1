//! Keeps the sessions the app holds usable while it runs.
//!
//! A loop asks each site's [`Plan`] (core's renewal policy) what is due, drives the hidden
//! webview (silent SAML renewal through `/auth/renew`, with a watchdog) or
//! [`session::check`] (keep-alive), reports what happened back to the plan and stores what
//! the policy makes of it. The policy decides everything else: when, how often, what each
//! answer means, and whether a caller asking for a session good for a while (`get_user` with
//! `min_ttl`) is served, renewed for first, or refused.
//!
//! - Network trouble, timeouts and 5xx never touch a stored token: the plan backs off.
//! - When only the person can help, the session is marked as needing attention and a
//!   notification points at the tray's "Renew now"; nothing modal, nobody signed out.
//! - One renewal per site at a time; callers that need a fresh session join it.

use std::sync::Arc;
use std::time::Duration;

use fpt_login_core::accounts::AccountsError;
use fpt_login_core::api3::Api3;
use fpt_login_core::protocol::{EventKind, SessionEvent};
use fpt_login_core::renewal::{
    self, Action, Config, Effects, ExpiryUpdate, Freshness, Generation, IDLE_WAKE, Outcome, Plan,
};
use fpt_login_core::session::{self, Health};
use fpt_login_core::settings::{SiteSettings, UserRecord};
use fpt_login_core::{Secret, Site, time};
use tauri::{AppHandle, Manager as _, Runtime};

use crate::in_flight::{Refresher, Renewal};
use crate::login::{forget_site_data, forget_stale_site_data, renew_silently};
use crate::state::AppState;

/// How soon the loop tries again when the settings file cannot be read.
const SETTINGS_RETRY: Duration = Duration::from_secs(15);

/// Why a renewal is attempted.
#[derive(Debug, Clone)]
enum Trigger {
    /// The plan said it is due, for this session.
    Schedule(Generation),
    /// A caller needs a session good for `min_ttl` more seconds (or one whose claims lapsed).
    Caller { min_ttl: Option<u64> },
}

impl Refresher {
    /// Runs `f` on `site`'s plan.
    fn with_plan<T>(&self, site: &Site, f: impl FnOnce(&mut Plan) -> T) -> T {
        f(self
            .plans
            .lock()
            .expect("plans lock")
            .entry(site.clone())
            .or_default())
    }

    /// Renews `site`'s current session, or joins the renewal already under way.
    async fn renew<R: Runtime>(
        &self,
        app: &AppHandle<R>,
        site: &Site,
        trigger: Trigger,
    ) -> Renewal {
        let cell = Arc::clone(
            self.inflight
                .lock()
                .expect("inflight lock")
                .entry(site.clone())
                .or_default(),
        );
        let outcome = cell
            .get_or_init(|| self.attempt(app, site, trigger))
            .await
            .clone();
        let mut inflight = self.inflight.lock().expect("inflight lock");
        if inflight.get(site).is_some_and(|c| Arc::ptr_eq(c, &cell)) {
            inflight.remove(site);
        }
        outcome
    }

    /// For a caller about to hand out `site`'s (or the default site's) session: renews first
    /// when the policy says so, and says why not when the session cannot be served for
    /// `min_ttl` more seconds. `Ok` means the store answers (with `min_ttl` already judged).
    async fn ensure_fresh<R: Runtime>(
        &self,
        app: &AppHandle<R>,
        site: Option<&Site>,
        min_ttl: Option<u64>,
    ) -> Result<(), AccountsError> {
        let accounts = &app.state::<AppState>().accounts;
        let settings = accounts.settings_file().load_shared()?;
        let Some(site) = settings.resolve_site(site).cloned() else {
            return Ok(());
        };
        let mut settings = Some(settings);
        let decide = || {
            // The first answer is on the settings just read, the second on what the renewal
            // (or anyone else meanwhile) left.
            let settings = match settings.take() {
                Some(settings) => settings,
                None => accounts.settings_file().load_shared()?,
            };
            Ok::<_, AccountsError>(self.with_plan(&site, |plan| {
                plan.for_caller(&site, settings.sites.get(&site), min_ttl, time::now())
            }))
        };
        Freshness::serve(
            &site,
            decide,
            self.renew(app, &site, Trigger::Caller { min_ttl }),
            |reason| AccountsError::SignInRequired {
                site: Some(site.clone()),
                reason,
            },
        )
        .await
    }

    async fn attempt<R: Runtime>(
        &self,
        app: &AppHandle<R>,
        site: &Site,
        trigger: Trigger,
    ) -> Renewal {
        let state = app.state::<AppState>();
        let settings = state
            .accounts
            .settings_file()
            .load_shared()
            .map_err(|e| e.to_string())?;
        let sites = settings.sites.get(site);
        let (login, record) = sites
            .and_then(SiteSettings::current_session)
            .ok_or_else(|| format!("nobody is signed in to {site}"))?;
        let generation = Generation::of(login, record);
        let now = time::now();
        // Asked again inside the one renewal per site: another may just have finished.
        let decision = self.with_plan(site, |plan| match &trigger {
            Trigger::Schedule(planned) => plan.for_schedule(planned, login, record, now),
            Trigger::Caller { min_ttl } => plan.for_caller(site, sites, *min_ttl, now),
        });
        match decision {
            Freshness::Serve => return Ok(()),
            Freshness::Refuse { reason } => return Err(reason),
            Freshness::RenewFirst => {}
        }
        // Offline is not the IdP's fault: do not open a window that can only time out.
        let reachable = match Api3::new(site) {
            Ok(api) => api.info().await.map(drop),
            Err(e) => Err(e),
        };
        if let Some(reason) = reachable.err().as_ref().and_then(renewal::unreachable) {
            return Err(self.unreachable(app, site, &generation, reason, now));
        }
        self.with_plan(site, |plan| plan.renewal_started(now));
        tracing::info!(%site, login, "renewing the session silently");
        let ended = renew_silently(app, site, &generation, settings.renew_timeout()).await;
        let outcome = match Outcome::of_renewal(ended) {
            // A newer session is stored already; it is the one callers get.
            None => return Ok(()),
            Some(Outcome::Renewed) => {
                self.report(app, site, &generation, Outcome::Renewed);
                tracing::info!(%site, login, "session renewed");
                return Ok(());
            }
            Some(Outcome::Unreachable { reason }) => {
                return Err(self.unreachable(app, site, &generation, reason, now));
            }
            Some(outcome) => outcome,
        };
        let effects = self.report(app, site, &generation, outcome);
        Err(effects.mark.map_or_else(
            || format!("the session of {login} on {site} was not renewed"),
            |mark| mark.reason,
        ))
    }

    /// Reports that a renewal could not reach the site, and why; returns why.
    fn unreachable<R: Runtime>(
        &self,
        app: &AppHandle<R>,
        site: &Site,
        generation: &Generation,
        reason: String,
        now: i64,
    ) -> String {
        let outcome = Outcome::Unreachable {
            reason: reason.clone(),
        };
        let effects = self.report(app, site, generation, outcome);
        tracing::warn!(
            %site,
            "cannot reach the site to renew ({reason}); trying again in {} s",
            retry_in(&effects, now)
        );
        reason
    }

    /// Tells the plan what a task found about `generation` and stores what the policy makes
    /// of it.
    fn report<R: Runtime>(
        &self,
        app: &AppHandle<R>,
        site: &Site,
        generation: &Generation,
        outcome: Outcome,
    ) -> Effects {
        let accounts = &app.state::<AppState>().accounts;
        let settings = match accounts.settings_file().load_shared() {
            Ok(settings) => settings,
            Err(e) => {
                tracing::error!(%site, error = %e, "cannot read the session's record");
                return Effects::default();
            }
        };
        let config = Config::from(&*settings);
        let effects = self.with_plan(site, |plan| {
            let empty = SiteSettings::default();
            let sites = settings.sites.get(site).unwrap_or(&empty);
            plan.record(generation, outcome, sites, &config, time::now())
        });
        let login = &generation.login;
        if let Some(mark) = &effects.mark {
            match accounts.mark(site, login, mark.state, &mark.reason) {
                Ok(changed) if mark.notify.wanted(changed) => notify(app, site, login),
                Ok(_) => {}
                Err(e) => tracing::error!(%site, error = %e, "cannot record the session's state"),
            }
        }
        let expiry = match effects.session_expiry {
            ExpiryUpdate::Keep => None,
            ExpiryUpdate::Set(at) => Some(Some(at)),
            ExpiryUpdate::Clear => Some(None),
        };
        if let Some(expiry) = expiry
            && let Err(e) = accounts.set_session_expiry(site, login, expiry)
        {
            tracing::error!(%site, error = %e, "cannot record when the session idles out");
        }
        // A state back to active, or a new idle-out time, announces no session event; the tray
        // and the Accounts window still show them.
        if effects.mark.is_some() || expiry.is_some() {
            app.state::<AppState>().redraw();
        }
        effects
    }

    /// [`Self::report`] for what a call with `token` found, unless core's policy says it
    /// concerns the stored session no more ([`Outcome::concerns`]).
    fn report_about<R: Runtime>(
        &self,
        app: &AppHandle<R>,
        site: &Site,
        generation: &Generation,
        token: &Secret,
        outcome: Outcome,
    ) -> Option<Effects> {
        let accounts = &app.state::<AppState>().accounts;
        let stored = accounts.token(site, &generation.login).ok().flatten();
        outcome
            .concerns(token, stored.as_ref())
            .then(|| self.report(app, site, generation, outcome))
    }

    /// Records what a call with `token`, `login`'s session on `site`, found (the site refused
    /// it), through the same policy and notification as the refresher's own calls.
    fn refused<R: Runtime>(
        &self,
        app: &AppHandle<R>,
        site: &Site,
        login: &str,
        token: &Secret,
        outcome: Outcome,
    ) {
        let accounts = &app.state::<AppState>().accounts;
        let Ok(Some(record)) = accounts.record(site, login) else {
            return;
        };
        let generation = Generation::of(login, &record);
        if self
            .report_about(app, site, &generation, token, outcome)
            .is_some()
        {
            self.wake();
        }
    }

    /// Wakes the loop (a session changed, or a task finished).
    fn wake(&self) {
        self.wake.notify_one();
    }
}

/// For a caller about to hand out `site`'s (or the default site's) session: renews first when
/// the policy says so (see [`Refresher::ensure_fresh`]).
pub async fn ensure_fresh<R: Runtime>(
    app: &AppHandle<R>,
    site: Option<&Site>,
    min_ttl: Option<u64>,
) -> Result<(), AccountsError> {
    app.state::<AppState>()
        .refresher
        .ensure_fresh(app, site, min_ttl)
        .await
}

/// Records what a client's call with `token` found (see [`Refresher::refused`]).
pub fn refused<R: Runtime>(
    app: &AppHandle<R>,
    site: &Site,
    login: &str,
    token: &Secret,
    outcome: Outcome,
) {
    app.state::<AppState>()
        .refresher
        .refused(app, site, login, token, outcome);
}

/// Runs `f` on `site`'s renewal plan.
pub fn with_plan<R: Runtime, T>(
    app: &AppHandle<R>,
    site: &Site,
    f: impl FnOnce(&mut Plan) -> T,
) -> T {
    app.state::<AppState>().refresher.with_plan(site, f)
}

/// Seconds until the retry the effects planned, for the log.
fn retry_in(effects: &Effects, now: i64) -> i64 {
    effects.retry_at.map_or(0, |at| at.saturating_sub(now))
}

/// "Session for <site> expires in N min — Renew": a notification, never a window.
pub fn notify<R: Runtime>(app: &AppHandle<R>, site: &Site, login: &str) {
    use tauri_plugin_notification::NotificationExt as _;
    let state = app.state::<AppState>();
    let record = state.accounts.record(site, login).ok().flatten();
    let expires_at = record
        .as_ref()
        .and_then(|r: &UserRecord| state.refresher.with_plan(site, |plan| plan.local_expiry(r)));
    let now = time::now();
    let title = match expires_at {
        Some(at) if at > now => format!(
            "Session for {site} expires in {} min — Renew",
            at.saturating_sub(now).saturating_add(59) / 60
        ),
        _ => format!("Session for {site} has expired — Renew"),
    };
    // Desktops without a tray (stock GNOME) reach "Renew now" by starting the app again.
    let body = "Start FPT Login (or open its tray menu) and choose “Renew now” to sign in again.";
    tracing::info!(%site, login, "notification: {title}");
    if let Err(e) = app.notification().builder().title(&title).body(body).show() {
        tracing::warn!(error = %e, "cannot show a notification");
    }
}

/// Starts the loop that renews and keeps sessions alive; it lives as long as the app.
pub fn start<R: Runtime>(app: &AppHandle<R>) {
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        let mut events = app.state::<AppState>().accounts.subscribe();
        loop {
            let wait = round(&app);
            let refresher = &app.state::<AppState>().refresher;
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                // Any change may move what is due; a sign-out also clears the site's web data.
                event = events.recv() => {
                    let forget = app.clone();
                    match event {
                        Ok(SessionEvent { event: EventKind::SignedOut, site, .. }) => {
                            let _ = app.run_on_main_thread(move || forget_site_data(&forget, &site));
                        }
                        // Sign-outs may be among the events missed; the accounts know which
                        // sites' web data is left from one.
                        Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                            let _ = app.run_on_main_thread(move || forget_stale_site_data(&forget));
                        }
                        _ => {}
                    }
                }
                () = refresher.wake.notified() => {}
            }
        }
    });
}

/// Starts what is due; returns how long until the plans want to be asked again.
fn round<R: Runtime>(app: &AppHandle<R>) -> Duration {
    let state = app.state::<AppState>();
    let settings = match state.accounts.settings_file().load_shared() {
        Ok(settings) => settings,
        Err(e) => {
            tracing::error!(error = %e, "cannot read the sessions to keep");
            return SETTINGS_RETRY;
        }
    };
    let config = Config::from(&*settings);
    let now = time::now();
    let refresher = &state.refresher;
    refresher
        .plans
        .lock()
        .expect("plans lock")
        .retain(|site, _| settings.sites.contains_key(site));
    let mut wake_at = now.saturating_add(IDLE_WAKE);
    for (site, sites) in &settings.sites {
        if refresher.busy.lock().expect("busy lock").contains(site) {
            continue;
        }
        let next = refresher.with_plan(site, |plan| plan.next_action(sites, &config, now));
        wake_at = wake_at.min(next.wake_at);
        match next.action {
            Action::Nothing => {}
            Action::Renew(generation) => spawn_task(app, site, Task::Renew(generation)),
            Action::KeepAlive(generation) => spawn_task(app, site, Task::KeepAlive(generation)),
        }
    }
    Duration::from_secs(
        u64::try_from(wake_at.saturating_sub(now))
            .unwrap_or(0)
            .max(1),
    )
}

#[derive(Debug)]
enum Task {
    Renew(Generation),
    KeepAlive(Generation),
}

/// Marks a site busy for as long as its task runs, however the task ends.
struct Busy<R: Runtime> {
    app: AppHandle<R>,
    site: Site,
}

impl<R: Runtime> Drop for Busy<R> {
    fn drop(&mut self) {
        let refresher = &self.app.state::<AppState>().refresher;
        refresher.busy.lock().expect("busy lock").remove(&self.site);
        refresher.wake();
    }
}

fn spawn_task<R: Runtime>(app: &AppHandle<R>, site: &Site, task: Task) {
    let refresher = &app.state::<AppState>().refresher;
    refresher
        .busy
        .lock()
        .expect("busy lock")
        .insert(site.clone());
    let busy = Busy {
        app: app.clone(),
        site: site.clone(),
    };
    tauri::async_runtime::spawn(async move {
        let (app, site) = (&busy.app, &busy.site);
        let refresher = &app.state::<AppState>().refresher;
        match task {
            Task::Renew(generation) => {
                if let Err(why) = refresher
                    .renew(app, site, Trigger::Schedule(generation))
                    .await
                {
                    tracing::info!(%site, "no silent renewal: {why}");
                }
            }
            Task::KeepAlive(generation) => keep_alive(app, site, &generation).await,
        }
    });
}

async fn keep_alive<R: Runtime>(app: &AppHandle<R>, site: &Site, generation: &Generation) {
    let state = app.state::<AppState>();
    let login = &generation.login;
    // The plan has the next keep-alive planned already: giving up here cannot spin.
    let token = match state.accounts.token(site, login) {
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
    let health = session::check(site, login, &token).await;
    let unreachable = match &health {
        Health::Unreachable { reason } => Some(reason.clone()),
        _ => None,
    };
    let now = time::now();
    let Some(effects) =
        state
            .refresher
            .report_about(app, site, generation, &token, Outcome::from(health))
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
