//! Keeps the sessions the app holds usable while it runs.
//!
//! - SSO sessions (web sign-in with a SAML claims expiry) are renewed silently through a hidden
//!   `/auth/renew` at 90 % of the claims lifetime, with a watchdog (30 s unless configured).
//! - Every current session is used now and then with one cheap call so it does not idle out
//!   (configurable); that call also notices a session the site ended (102) or whose claims
//!   lapsed (302 to the IdP).
//! - Network trouble, timeouts and 5xx never touch a stored token: the app backs off and tries
//!   again.
//! - When only the person can help (the IdP wants its form, the renewal timed out), the session
//!   is marked as needing attention and a notification points at the tray's "Renew now";
//!   nothing modal, nobody signed out.
//! - Callers that need a fresh session (`get_user` with `min_ttl`) share one in-flight renewal
//!   per site.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fpt_login_core::api3::{Api3, Api3Error};
use fpt_login_core::model::Method;
use fpt_login_core::protocol::{Credentials, EventKind, SessionEvent, SessionState};
use fpt_login_core::session::{self, Health};
use fpt_login_core::settings::{SiteSettings, UserRecord};
use fpt_login_core::{Site, time};
use tauri::{AppHandle, Manager as _, Runtime};
use tokio::sync::{Notify, OnceCell};

use crate::AppState;
use crate::login::{SilentRenewalError, forget_site_data, renew_silently};

/// Fraction of the claims lifetime after which they are renewed, as tk-core does.
const RENEW_AT: f64 = 0.9;
/// Retry delays after network trouble: doubling from the first, up to the last.
const FIRST_RETRY: Duration = Duration::from_secs(2);
const MAX_RETRY: Duration = Duration::from_secs(15);
/// A session that needs the person is not retried silently more often than this (a burst of
/// `get_user` calls must not open a hidden window each).
const ATTENTION_RETRY: Duration = Duration::from_secs(30);
/// How often the loop tries again, silently, to bring back lapsed claims the IdP would not
/// renew (the person may have signed in to the IdP elsewhere meanwhile).
const LAPSED_RETRY: Duration = Duration::from_secs(300);

/// Why a renewal did not happen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RenewError {
    /// The site could not be reached; the session is untouched and will be retried.
    Unreachable(String),
    /// Only the person can renew it (tray: "Renew now").
    NeedsPerson(String),
}

type Outcome = Result<(), RenewError>;
type Key = (Site, String);

/// What the loop remembers between rounds about one session.
#[derive(Debug, Default)]
struct Plan {
    next_keep_alive: Option<i64>,
    /// No renewal before this (epoch seconds), after network trouble.
    retry_at: Option<i64>,
    retry_delay: Option<Duration>,
}

impl Plan {
    /// Schedules the next try after network trouble; returns the delay.
    fn back_off(&mut self) -> Duration {
        let delay = self
            .retry_delay
            .map_or(FIRST_RETRY, |d| (d * 2).min(MAX_RETRY));
        self.retry_delay = Some(delay);
        self.retry_at = Some(time::now() + secs(delay));
        delay
    }

    fn recovered(&mut self) {
        self.retry_at = None;
        self.retry_delay = None;
    }
}

#[derive(Debug, Default)]
pub struct Refresher {
    /// One renewal per site at a time; everyone who asks meanwhile gets its outcome.
    inflight: Mutex<HashMap<Site, Arc<OnceCell<Outcome>>>>,
    /// When a renewal last needed the person, per site.
    attention_at: Mutex<HashMap<Site, std::time::Instant>>,
    plans: Mutex<HashMap<Key, Plan>>,
    /// Sessions with a renewal or keep-alive under way.
    busy: Mutex<HashSet<Key>>,
    wake: Notify,
}

fn secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

/// When the claims of `record` are due for renewal (epoch seconds), if it has any.
fn renewal_due(record: &UserRecord) -> Option<i64> {
    let claims = record.claims_expire_at?;
    if record.state == SessionState::ClaimsLapsed {
        return Some(0);
    }
    let lifetime = (claims - record.signed_in_at).max(0);
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_precision_loss,
        reason = "lifetimes are far below 2^52 seconds"
    )]
    let after = (lifetime as f64 * RENEW_AT) as i64;
    Some(record.signed_in_at + after)
}

fn silently_renewable(record: &UserRecord) -> bool {
    record.method == Some(Method::Web)
        && matches!(
            record.state,
            SessionState::Active | SessionState::ClaimsLapsed
        )
}

impl Refresher {
    /// Renews `site`'s current session now, or joins the renewal already under way.
    pub async fn renew<R: Runtime>(&self, app: &AppHandle<R>, site: &Site) -> Outcome {
        let cell = Arc::clone(
            self.inflight
                .lock()
                .expect("inflight lock")
                .entry(site.clone())
                .or_default(),
        );
        let outcome = cell.get_or_init(|| self.attempt(app, site)).await.clone();
        let mut inflight = self.inflight.lock().expect("inflight lock");
        if inflight.get(site).is_some_and(|c| Arc::ptr_eq(c, &cell)) {
            inflight.remove(site);
        }
        outcome
    }

    /// Renews first when `site`'s current session would not last `min_ttl` seconds (or its
    /// claims lapsed), for a caller about to hand the token out.
    pub async fn ensure_fresh<R: Runtime>(
        &self,
        app: &AppHandle<R>,
        site: Option<&Site>,
        min_ttl: Option<u64>,
    ) {
        let accounts = &app.state::<AppState>().accounts;
        let Ok(settings) = accounts.settings_file().load_shared() else {
            return;
        };
        let Some(site) = settings.resolve_site(site) else {
            return;
        };
        // A script as the site's default user has nothing to renew.
        let Some((_, record)) = settings
            .sites
            .get(site)
            .filter(|s| s.current_script.is_none())
            .and_then(SiteSettings::current_session)
        else {
            return;
        };
        let left = record.expires_at().map(|at| at - time::now());
        let short = matches!((min_ttl, left), (Some(ttl), Some(left)) if left < i64::try_from(ttl).unwrap_or(i64::MAX));
        if (short || record.state == SessionState::ClaimsLapsed)
            && let Err(e) = self.renew(app, site).await
        {
            tracing::info!(%site, "no renewal for a caller: {e:?}");
        }
    }

    async fn attempt<R: Runtime>(&self, app: &AppHandle<R>, site: &Site) -> Outcome {
        let state = app.state::<AppState>();
        let accounts = &state.accounts;
        let settings = accounts
            .settings_file()
            .load_shared()
            .map_err(|e| RenewError::NeedsPerson(e.to_string()))?;
        let (login, record) = settings
            .current_session(site)
            .map(|(login, record)| (login.clone(), record.clone()))
            .ok_or_else(|| RenewError::NeedsPerson(format!("nobody is signed in to {site}")))?;
        let recent = self
            .attention_at
            .lock()
            .expect("attention lock")
            .get(site)
            .is_some_and(|at| at.elapsed() < ATTENTION_RETRY);
        let web = record.method == Some(Method::Web);
        if recent || !web || record.state == SessionState::Expired {
            return Err(RenewError::NeedsPerson(record.attention.clone().unwrap_or_else(
                || format!("{login} signed in to {site} without the web sign-in; sign in again to renew"),
            )));
        }
        // Offline is not the IdP's fault: do not open a window that can only time out.
        let reachable = match Api3::new(site) {
            Ok(api) => api.info().await.map(drop),
            Err(e) => Err(e),
        };
        if let Err(
            e @ (Api3Error::Network { .. } | Api3Error::Http { .. } | Api3Error::NotFpt { .. }),
        ) = reachable
        {
            return Err(RenewError::Unreachable(e.to_string()));
        }
        tracing::info!(%site, login, "renewing the session silently");
        let watchdog = settings.renew_timeout();
        let failure = match renew_silently(app, site, watchdog).await {
            Ok(()) => {
                let after = accounts.record(site, &login).ok().flatten();
                let moved = match (
                    record.claims_expire_at,
                    after.and_then(|r| r.claims_expire_at),
                ) {
                    (Some(before), Some(after)) => after > before,
                    _ => true,
                };
                if moved {
                    tracing::info!(%site, login, "session renewed");
                    return Ok(());
                }
                "the identity provider did not extend the session".to_owned()
            }
            Err(SilentRenewalError::Watchdog(s)) => format!(
                "the silent renewal did not finish within {s} s; the identity provider wants you to sign in again"
            ),
            Err(SilentRenewalError::Failed(e)) => format!("the silent renewal failed: {e:#}"),
        };
        self.attention_at
            .lock()
            .expect("attention lock")
            .insert(site.clone(), std::time::Instant::now());
        needs_person(app, site, &login, &failure);
        Err(RenewError::NeedsPerson(failure))
    }

    /// Wakes the loop (a session changed, or a task finished).
    pub fn wake(&self) {
        self.wake.notify_one();
    }
}

/// Marks the session as needing the person and, the first time, says so in a notification.
fn needs_person<R: Runtime>(app: &AppHandle<R>, site: &Site, login: &str, why: &str) {
    let accounts = &app.state::<AppState>().accounts;
    let state = accounts.record(site, login).ok().flatten().map(|r| r.state);
    // Expired or lapsed says more than "needs attention"; keep it, and say it each time (the
    // loop retries those rarely).
    let target = match state {
        Some(SessionState::Active | SessionState::NeedsAttention) => SessionState::NeedsAttention,
        Some(other) => other,
        None => return,
    };
    match accounts.mark(site, login, target, why) {
        Ok(changed) if changed || target != SessionState::NeedsAttention => {
            notify(app, site, login);
        }
        Ok(_) => {}
        Err(e) => tracing::error!(%site, error = %e, "cannot record the session's state"),
    }
}

/// "Session for <site> expires in N min — Renew": a notification, never a window.
pub fn notify<R: Runtime>(app: &AppHandle<R>, site: &Site, login: &str) {
    use tauri_plugin_notification::NotificationExt as _;
    let record = app
        .state::<AppState>()
        .accounts
        .record(site, login)
        .ok()
        .flatten();
    let title = match record.as_ref().and_then(UserRecord::expires_at) {
        Some(at) if at > time::now() => format!(
            "Session for {site} expires in {} min — Renew",
            (at - time::now() + 59) / 60
        ),
        _ => format!("Session for {site} has expired — Renew"),
    };
    let body = "Choose “Renew now” in the FPT Login tray menu to sign in again.";
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
                event = events.recv() => match event {
                    Ok(SessionEvent { event: EventKind::SignedOut, site, .. }) => {
                        let forget = app.clone();
                        let _ = app.run_on_main_thread(move || forget_site_data(&forget, &site));
                    }
                    // A fresh session starts with a clean slate.
                    Ok(SessionEvent { event: EventKind::SignedIn | EventKind::Renewed, site, .. }) => {
                        refresher.attention_at.lock().expect("attention lock").remove(&site);
                        refresher.plans.lock().expect("plans lock").retain(|(s, _), _| *s != site);
                    }
                    _ => {}
                },
                () = refresher.wake.notified() => {}
            }
        }
    });
}

/// Starts what is due; returns how long until the next thing is.
fn round<R: Runtime>(app: &AppHandle<R>) -> Duration {
    let state = app.state::<AppState>();
    let Ok(settings) = state.accounts.settings_file().load_shared() else {
        return MAX_RETRY;
    };
    let now = time::now();
    let mut next = now + 3600;
    let refresher = &state.refresher;
    for (site, s) in &settings.sites {
        let Some((login, record)) = s.current_session() else {
            continue;
        };
        let key = (site.clone(), login.clone());
        if refresher.busy.lock().expect("busy lock").contains(&key) {
            continue;
        }
        let mut plans = refresher.plans.lock().expect("plans lock");
        let plan = plans.entry(key.clone()).or_default();
        if silently_renewable(record)
            && let Some(due) = renewal_due(record)
        {
            let due = due.max(plan.retry_at.unwrap_or(0));
            if due <= now {
                drop(plans);
                spawn_task(app, key, Task::Renew);
                continue;
            }
            next = next.min(due);
        }
        if settings.keep_alive_enabled() && record.state.usable() {
            let every = keep_alive_every(settings.keep_alive_every(), record, now);
            let due = *plan.next_keep_alive.get_or_insert(now + secs(every));
            if due <= now {
                drop(plans);
                spawn_task(app, key, Task::KeepAlive);
                continue;
            }
            next = next.min(due);
        }
    }
    Duration::from_secs(u64::try_from(next - now).unwrap_or(0).max(1))
}

/// The configured interval, or sooner when the site says the session idles out sooner.
fn keep_alive_every(configured: Duration, record: &UserRecord, now: i64) -> Duration {
    let left = record
        .session_expires_at
        .map(|at| u64::try_from((at - now) / 2).unwrap_or(0).max(1));
    left.map_or(configured, |l| configured.min(Duration::from_secs(l)))
}

#[derive(Debug, Clone, Copy)]
enum Task {
    Renew,
    KeepAlive,
}

fn spawn_task<R: Runtime>(app: &AppHandle<R>, key: Key, task: Task) {
    let refresher = &app.state::<AppState>().refresher;
    refresher
        .busy
        .lock()
        .expect("busy lock")
        .insert(key.clone());
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        match task {
            Task::Renew => renew_task(&app, &key).await,
            Task::KeepAlive => keep_alive_task(&app, &key).await,
        }
        let refresher = &app.state::<AppState>().refresher;
        refresher.busy.lock().expect("busy lock").remove(&key);
        refresher.wake();
    });
}

async fn renew_task<R: Runtime>(app: &AppHandle<R>, key: &Key) {
    let refresher = &app.state::<AppState>().refresher;
    let outcome = refresher.renew(app, &key.0).await;
    let mut plans = refresher.plans.lock().expect("plans lock");
    let plan = plans.entry(key.clone()).or_default();
    match outcome {
        Ok(()) => plan.recovered(),
        // Only lapsed or expired sessions come back here; the person has been told.
        Err(RenewError::NeedsPerson(_)) => {
            plan.retry_delay = None;
            plan.retry_at = Some(time::now() + secs(LAPSED_RETRY));
        }
        Err(RenewError::Unreachable(why)) => {
            let delay = plan.back_off();
            tracing::warn!(site = %key.0, "cannot reach the site to renew ({why}); trying again in {} s", delay.as_secs());
        }
    }
}

async fn keep_alive_task<R: Runtime>(app: &AppHandle<R>, key: &Key) {
    let (site, login) = key;
    let state = app.state::<AppState>();
    let token = match state.accounts.user(Some(site), None) {
        Ok(user) => match user.credentials {
            Credentials::Session {
                login: current,
                session_token,
                ..
            } if current == *login => session_token,
            _ => return,
        },
        Err(_) => return,
    };
    let health = session::check(site, login, &token).await;
    let now = time::now();
    let settings_every = state
        .accounts
        .settings_file()
        .load_shared()
        .map_or(Duration::from_secs(600), |s| s.keep_alive_every());
    let mut retry = None;
    match &health {
        Health::Alive { expires_at } => {
            tracing::debug!(%site, login, "session kept alive");
            if let Some(at) = expires_at {
                let _ = state.accounts.set_session_expiry(site, login, *at);
            }
        }
        Health::Expired { reason } => {
            if let Ok(true) = state
                .accounts
                .mark(site, login, SessionState::Expired, reason)
            {
                notify(app, site, login);
            }
        }
        Health::ClaimsLapsed { reason } => {
            // The loop renews lapsed claims right away where it can.
            let _ = state
                .accounts
                .mark(site, login, SessionState::ClaimsLapsed, reason);
        }
        Health::Unreachable { reason } => {
            let mut plans = state.refresher.plans.lock().expect("plans lock");
            let delay = plans.entry(key.clone()).or_default().back_off();
            tracing::warn!(%site, "cannot reach the site to keep the session alive ({reason}); trying again in {} s", delay.as_secs());
            retry = Some(now + secs(delay));
        }
    }
    let record = state.accounts.record(site, login).ok().flatten();
    let mut plans = state.refresher.plans.lock().expect("plans lock");
    let plan = plans.entry(key.clone()).or_default();
    plan.next_keep_alive = Some(retry.unwrap_or_else(|| {
        plan.recovered();
        let every = record.map_or(settings_every, |r| {
            keep_alive_every(settings_every, &r, now)
        });
        now + secs(every)
    }));
}
