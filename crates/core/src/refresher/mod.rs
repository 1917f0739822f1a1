//! Keeps the sessions the app holds usable while it runs.
//!
//! A loop ([`Refresher::run`]) asks each site's [`Plan`] (the renewal policy) what is due,
//! has the [`Desktop`] renew silently (the hidden `/auth/renew`, with a watchdog) or asks the
//! site itself ([`SiteCalls::check`], a keep-alive), reports what happened back to the plan
//! and stores what the policy makes of it. The policy decides everything else: when, how
//! often, what each answer means, and whether a caller asking for a session good for a while
//! (`get_user` with `min_ttl`) is served, renewed for first, or refused.
//!
//! - Network trouble, timeouts and 5xx never touch a stored token: the plan backs off.
//! - When only the person can help, the session is marked as needing attention and a
//!   notification points at the tray's "Renew now"; nothing modal, nobody signed out.
//! - One renewal per site at a time; callers that need a fresh session join it.
//!
//! The clock is a parameter and every wait is a `tokio::time` sleep, so a day of renewals and
//! keep-alives is a unit test of milliseconds (paused time, a fake desktop and site).

mod rounds;

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{Notify, OnceCell};

use crate::accounts::{Accounts, AccountsError};
use crate::api3::{Api3, Api3Error};
use crate::renewal::{
    self, Effects, ExpiryUpdate, Freshness, Generation, Landing, Outcome, Plan, SilentRenewalError,
};
use crate::secret::Secret;
use crate::session::{self, Health};
use crate::settings::{SiteSettings, UserRecord};
use crate::site::Site;
use crate::time;

/// What keeping sessions needs from a desktop. The refresher calls these from its own tasks
/// (on a tokio runtime), never while it holds a lock of its own; none may block for long.
pub trait Desktop: Send + Sync + 'static {
    /// Renews `renewing`'s session on `site` without showing anything: loads the site's
    /// renewal page ([`crate::signin::renew_url`]) hidden, with the site's web sign-in data,
    /// and hands what it lands with to [`renewal::complete`], which stores it only as
    /// `renewing`'s renewed session. Gives up after `watchdog`
    /// ([`SilentRenewalError::Watchdog`]); never asks the person anything.
    fn renew_silently(
        &self,
        site: &Site,
        renewing: &Generation,
        watchdog: Duration,
    ) -> impl Future<Output = Result<Landing, SilentRenewalError>> + Send;

    /// Shows a notification about `site`, in place of the last one about it if that is still
    /// up: never a window, never the focus taken. One that cannot be shown is logged, not
    /// returned: the session's state is recorded either way.
    fn notify(&self, site: &Site, title: &str, body: &str);

    /// Someone signed out of `site`: forgets what its web sign-in kept (on disk and in
    /// memory), so the next sign-in starts clean. May return before it is done.
    fn forget_site_data(&self, site: &Site);

    /// Session events were missed, sign-outs maybe among them: forgets the web sign-in data of
    /// every site signed out of ([`Accounts::sites_with_stale_web_data`]). May return before
    /// it is done.
    fn forget_stale_site_data(&self);

    /// A session's state or idle-out time changed without a session event: whatever shows the
    /// sessions (the tray, the Accounts window) shows them again.
    fn redraw(&self);
}

/// The refresher's own calls to a site, apart so that its loop is tested without a network.
pub trait SiteCalls: Send + Sync + 'static {
    /// Whether `site` answers at all: its unauthenticated `info`, asked before a silent
    /// renewal ([`renewal::unreachable`] says what a failure means).
    fn info(&self, site: &Site) -> impl Future<Output = Result<(), Api3Error>> + Send;

    /// What `site` says about `login`'s session with `token` ([`session::check`]).
    fn check(
        &self,
        site: &Site,
        login: &str,
        token: &Secret,
    ) -> impl Future<Output = Health> + Send;
}

/// The sites themselves, over the network.
#[derive(Debug, Clone, Copy, Default)]
pub struct Online;

impl SiteCalls for Online {
    fn info(&self, site: &Site) -> impl Future<Output = Result<(), Api3Error>> + Send {
        let api = Api3::new(site);
        async move { api?.info().await.map(drop) }
    }

    fn check(
        &self,
        site: &Site,
        login: &str,
        token: &Secret,
    ) -> impl Future<Output = Health> + Send {
        session::check(site, login, token)
    }
}

/// Local epoch seconds now ([`time::now`] outside tests).
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// A renewal's result for everyone waiting on it: done, or why not.
type Renewal = Result<(), String>;

/// Why a renewal is attempted.
#[derive(Debug, Clone)]
enum Trigger {
    /// The plan said it is due, for this session.
    Schedule(Generation),
    /// A caller needs a session good for `min_ttl` more seconds (or one whose claims lapsed).
    Caller { min_ttl: Option<u64> },
}

/// The refresher: the accounts it keeps, and its bookkeeping per site.
pub struct Refresher<S = Online> {
    accounts: Arc<Accounts>,
    clock: Clock,
    sites: S,
    /// One renewal per site at a time; everyone who asks meanwhile gets its outcome.
    inflight: Mutex<HashMap<Site, Arc<OnceCell<Renewal>>>>,
    plans: Mutex<HashMap<Site, Plan>>,
    /// Sites with a loop task (renewal or keep-alive) under way.
    busy: Mutex<HashSet<Site>>,
    wake: Notify,
}

impl<S> std::fmt::Debug for Refresher<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Refresher")
            .field("plans", &self.plans)
            .field("busy", &self.busy)
            .finish_non_exhaustive()
    }
}

impl Refresher {
    /// Keeps `accounts`' sessions on our clock, calling the sites over the network.
    pub fn new(accounts: Arc<Accounts>) -> Self {
        Self::with(accounts, Arc::new(time::now), Online)
    }
}

impl<S: SiteCalls> Refresher<S> {
    /// Keeps `accounts`' sessions on `clock`, calling the sites through `sites`.
    pub fn with(accounts: Arc<Accounts>, clock: Clock, sites: S) -> Self {
        Self {
            accounts,
            clock,
            sites,
            inflight: Mutex::default(),
            plans: Mutex::default(),
            busy: Mutex::default(),
            wake: Notify::new(),
        }
    }

    pub fn accounts(&self) -> &Arc<Accounts> {
        &self.accounts
    }

    /// Now on the refresher's clock.
    pub fn now(&self) -> i64 {
        (self.clock)()
    }

    /// How far `site`'s clock is ahead of ours (seconds), as far as the refresher has seen.
    pub fn clock_offset(&self, site: &Site) -> i64 {
        self.plans
            .lock()
            .expect("plans lock")
            .get(site)
            .map_or(0, Plan::clock_offset)
    }

    /// Runs `f` on `site`'s plan.
    pub fn with_plan<T>(&self, site: &Site, f: impl FnOnce(&mut Plan) -> T) -> T {
        f(self
            .plans
            .lock()
            .expect("plans lock")
            .entry(site.clone())
            .or_default())
    }

    /// What `site` says about `login`'s session with `token`, through the refresher's own
    /// calls to sites.
    pub fn check(
        &self,
        site: &Site,
        login: &str,
        token: &Secret,
    ) -> impl Future<Output = Health> + Send {
        self.sites.check(site, login, token)
    }

    /// Renews `site`'s current session, or joins the renewal already under way.
    async fn renew(&self, desktop: &impl Desktop, site: &Site, trigger: Trigger) -> Renewal {
        let cell = Arc::clone(
            self.inflight
                .lock()
                .expect("inflight lock")
                .entry(site.clone())
                .or_default(),
        );
        let outcome = cell
            .get_or_init(|| self.attempt(desktop, site, trigger))
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
    pub async fn ensure_fresh(
        &self,
        desktop: &impl Desktop,
        site: Option<&Site>,
        min_ttl: Option<u64>,
    ) -> Result<(), AccountsError> {
        let accounts = &self.accounts;
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
                plan.for_caller(&site, settings.sites.get(&site), min_ttl, self.now())
            }))
        };
        Freshness::serve(
            &site,
            decide,
            self.renew(desktop, &site, Trigger::Caller { min_ttl }),
            |reason| AccountsError::SignInRequired {
                site: Some(site.clone()),
                reason,
            },
        )
        .await
    }

    async fn attempt(&self, desktop: &impl Desktop, site: &Site, trigger: Trigger) -> Renewal {
        let settings = self
            .accounts
            .settings_file()
            .load_shared()
            .map_err(|e| e.to_string())?;
        let sites = settings.sites.get(site);
        let (login, record) = sites
            .and_then(SiteSettings::current_session)
            .ok_or_else(|| format!("nobody is signed in to {site}"))?;
        let generation = Generation::of(login, record);
        let now = self.now();
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
        let reachable = self.sites.info(site).await;
        if let Some(reason) = reachable.err().as_ref().and_then(renewal::unreachable) {
            return Err(self.unreachable(desktop, site, &generation, reason, now));
        }
        self.with_plan(site, |plan| plan.renewal_started(now));
        tracing::info!(%site, login, "renewing the session silently");
        let ended = desktop
            .renew_silently(site, &generation, settings.renew_timeout())
            .await;
        let outcome = match Outcome::of_renewal(ended) {
            // A newer session is stored already; it is the one callers get.
            None => return Ok(()),
            Some(Outcome::Renewed) => {
                self.report(desktop, site, &generation, Outcome::Renewed);
                tracing::info!(%site, login, "session renewed");
                return Ok(());
            }
            Some(Outcome::Unreachable { reason }) => {
                return Err(self.unreachable(desktop, site, &generation, reason, now));
            }
            Some(outcome) => outcome,
        };
        let effects = self.report(desktop, site, &generation, outcome);
        Err(effects.mark.map_or_else(
            || format!("the session of {login} on {site} was not renewed"),
            |mark| mark.reason,
        ))
    }

    /// Reports that a renewal could not reach the site, and why; returns why.
    fn unreachable(
        &self,
        desktop: &impl Desktop,
        site: &Site,
        generation: &Generation,
        reason: String,
        now: i64,
    ) -> String {
        let outcome = Outcome::Unreachable {
            reason: reason.clone(),
        };
        let effects = self.report(desktop, site, generation, outcome);
        tracing::warn!(
            %site,
            "cannot reach the site to renew ({reason}); trying again in {} s",
            retry_in(&effects, now)
        );
        reason
    }

    /// Tells the plan what a task found about `generation` and stores what the policy makes
    /// of it.
    fn report(
        &self,
        desktop: &impl Desktop,
        site: &Site,
        generation: &Generation,
        outcome: Outcome,
    ) -> Effects {
        let accounts = &self.accounts;
        let settings = match accounts.settings_file().load_shared() {
            Ok(settings) => settings,
            Err(e) => {
                tracing::error!(%site, error = %e, "cannot read the session's record");
                return Effects::default();
            }
        };
        let config = renewal::Config::from(&*settings);
        let effects = self.with_plan(site, |plan| {
            let empty = SiteSettings::default();
            let sites = settings.sites.get(site).unwrap_or(&empty);
            plan.record(generation, outcome, sites, &config, self.now())
        });
        let login = &generation.login;
        if let Some(mark) = &effects.mark {
            match accounts.mark(site, login, mark.state, &mark.reason) {
                Ok(changed) if mark.notify.wanted(changed) => self.notify(desktop, site, login),
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
            desktop.redraw();
        }
        effects
    }

    /// [`Self::report`] for what a call with `token` found, unless core's policy says it
    /// concerns the stored session no more ([`Outcome::concerns`]).
    fn report_about(
        &self,
        desktop: &impl Desktop,
        site: &Site,
        generation: &Generation,
        token: &Secret,
        outcome: Outcome,
    ) -> Option<Effects> {
        let stored = self.accounts.token(site, &generation.login).ok().flatten();
        outcome
            .concerns(token, stored.as_ref())
            .then(|| self.report(desktop, site, generation, outcome))
    }

    /// Records what a call with `token`, `login`'s session on `site`, found (the site refused
    /// it), through the same policy and notification as the refresher's own calls.
    pub fn refused(
        &self,
        desktop: &impl Desktop,
        site: &Site,
        login: &str,
        token: &Secret,
        outcome: Outcome,
    ) {
        let Ok(Some(record)) = self.accounts.record(site, login) else {
            return;
        };
        let generation = Generation::of(login, &record);
        if self
            .report_about(desktop, site, &generation, token, outcome)
            .is_some()
        {
            self.wake();
        }
    }

    /// Tells `login` their session on `site` needs them (see [`notification`]).
    pub fn notify(&self, desktop: &impl Desktop, site: &Site, login: &str) {
        let record = self.accounts.record(site, login).ok().flatten();
        let expires_at = record
            .as_ref()
            .and_then(|r: &UserRecord| self.with_plan(site, |plan| plan.local_expiry(r)));
        let (title, body) = notification(site, expires_at, self.now());
        tracing::info!(%site, login, "notification: {title}");
        desktop.notify(site, &title, body);
    }

    /// Wakes the loop (a session changed, or a task finished).
    fn wake(&self) {
        self.wake.notify_one();
    }
}

/// "Session for <site> expires in N min — Renew": the title and body of the notification for
/// a session that needs the person and ends at `expires_at` (our clock), if known.
pub fn notification(site: &Site, expires_at: Option<i64>, now: i64) -> (String, &'static str) {
    let title = match expires_at {
        Some(at) if at > now => format!(
            "Session for {site} expires in {} min — Renew",
            at.saturating_sub(now).saturating_add(59) / 60
        ),
        _ => format!("Session for {site} has expired — Renew"),
    };
    // Desktops without a tray (stock GNOME) reach "Renew now" by starting the app again.
    let body = "Start FPT Login (or open its tray menu) and choose “Renew now” to sign in again.";
    (title, body)
}

/// Seconds until the retry the effects planned, for the log.
fn retry_in(effects: &Effects, now: i64) -> i64 {
    effects.retry_at.map_or(0, |at| at.saturating_sub(now))
}

#[cfg(test)]
mod tests;
