//! When a session is renewed or kept alive, and what the site's answers mean for it.
//!
//! Pure decisions: every function takes `now` (local epoch seconds) and what the site said,
//! and returns what to do or what to record. The refresher ([`crate::refresher`]) asks a
//! site's [`Plan`] what is due, has the desktop renew silently or calls
//! [`crate::session::check`], reports the [`Outcome`] back and stores the [`Effects`]; callers
//! that need a session good for a while ask [`Plan::for_caller`].
//!
//! Times the site gives (claims and idle expiries, as [`UserRecord`] stores them) are on the
//! site's clock, `signed_in_at` and `now` on ours: the plan learns the difference from the
//! site's `Date` header and converts, so a local clock minutes off neither renews too late
//! nor sees every session as expired.
//!
//! Nothing here can spin: every action pushes its own next time forward when it starts, and
//! every interval has a floor.

mod completion;

pub use completion::{CompletionError, Landing, SilentRenewalError, complete};

use std::future::Future;

use crate::api3::Api3Error;
use crate::model::{Method, SessionState};
use crate::secret::Secret;
use crate::settings::{Settings, SiteSettings, UserRecord};
use crate::site::Site;

/// Claims are renewed after this many tenths of their lifetime, as tk-core does.
const RENEW_AT_TENTHS: i64 = 9;
/// No two keep-alives or renewals closer than this (seconds)...
const FLOOR: i64 = 60;
/// ...unless the site's own lifetime is shorter: then half of it, but never below this.
const MIN_FLOOR: i64 = 2;
/// The longest keep-alive interval, whatever the setting says.
const MAX_INTERVAL: i64 = 24 * 3600;
/// Retry delays after network trouble: doubling from the first, up to the last.
const FIRST_RETRY: i64 = 2;
const MAX_RETRY: i64 = 60;
/// A session that needs the person is not tried again for a caller sooner than this (a burst
/// of `get_user` calls must not open a hidden window each).
const ATTENTION_RETRY: i64 = 30;
/// How often lapsed claims the IdP would not renew are tried again silently (the person may
/// have signed in to the IdP elsewhere meanwhile).
const LAPSED_RETRY: i64 = 300;
/// The least time between two reminders a client's refused call asks for: a tool retrying
/// every few seconds must not make a notification each time.
const REMIND_EVERY: i64 = 600;
/// The loop looks again at least this often, whatever is planned.
pub const IDLE_WAKE: i64 = 3600;
/// Site-given expiries further ahead than this are taken as this far ahead.
const MAX_HORIZON: i64 = 366 * 24 * 3600;
/// A `Date` header further off our clock than this is broken, not a skewed clock.
const MAX_SKEW: u64 = 24 * 3600;

/// What the settings say about keeping sessions alive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// Seconds between keep-alive calls as configured; `None` when keep-alive is off.
    pub keep_alive: Option<u64>,
}

impl From<&Settings> for Config {
    fn from(settings: &Settings) -> Self {
        Self {
            keep_alive: settings
                .keep_alive_enabled()
                .then(|| settings.keep_alive_every().as_secs()),
        }
    }
}

/// Which session a decision or a result is about: results computed for an older session (the
/// person signed in again meanwhile, or someone else did) must not touch the current one.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Generation {
    pub login: String,
    /// The record's `signed_in_at`: every sign-in and renewal stores a new one.
    pub signed_in_at: i64,
}

impl Generation {
    pub fn of(login: &str, record: &UserRecord) -> Self {
        Self {
            login: login.to_owned(),
            signed_in_at: record.signed_in_at,
        }
    }
}

/// What to do now for a site's current session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Renew the claims silently (hidden `/auth/renew`).
    Renew(Generation),
    /// Use the session once (`session::check`).
    KeepAlive(Generation),
    Nothing,
}

/// An action and when to ask the plan again (epoch seconds, always later than `now`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Next {
    pub action: Action,
    pub wake_at: i64,
}

/// What a keep-alive or a renewal found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The site accepted the session; `expires_at` is when it idles out and `site_now` the
    /// site's `Date`, both on the site's clock, when it said.
    KeptAlive {
        expires_at: Option<i64>,
        site_now: Option<i64>,
    },
    /// A renewal stored an extended session.
    Renewed,
    /// The site could not be asked; nothing is known about the session.
    Unreachable { reason: String },
    /// Only the person can renew it (the IdP wants its form, the watchdog fired, the claims
    /// did not move).
    NeedsPerson { reason: String },
    /// The site refused the token (102).
    Expired { reason: String },
    /// The site sent a call to the IdP (302): the claims lapsed.
    ClaimsLapsed { reason: String },
    /// The hidden renewal came back signed in as `login`, not as the person being renewed.
    LandedAsSomeoneElse { login: String },
}

impl From<crate::session::Health> for Outcome {
    fn from(health: crate::session::Health) -> Self {
        use crate::session::Health;
        match health {
            Health::Alive {
                expires_at,
                site_now,
            } => Self::KeptAlive {
                expires_at,
                site_now,
            },
            Health::Expired { reason } => Self::Expired { reason },
            Health::ClaimsLapsed { reason } => Self::ClaimsLapsed { reason },
            Health::Unreachable { reason } => Self::Unreachable { reason },
        }
    }
}

impl Outcome {
    /// Whether what a call with the token `used` found may be recorded, `stored` being the
    /// token stored for that login now. A sign-in within the same second as the call has the
    /// same [`Generation`]: what the site said against an older token says nothing about the
    /// newer one. That it accepted one is news either way (its clock, its idle lifetime).
    pub fn concerns(&self, used: &Secret, stored: Option<&Secret>) -> bool {
        matches!(self, Self::KeptAlive { .. }) || stored == Some(used)
    }
}

/// Whether `error` says only that the site could not be reached (the network, an HTTP error
/// status, or something that is not the site answering, such as a proxy's page) — nothing
/// about the session or the person. Every other answer the site gave (a fault, a redirect, a
/// refusal) is the site speaking: retrying on a timer would not change it, and only the person
/// can.
pub fn site_unreachable(error: &Api3Error) -> bool {
    matches!(
        error,
        Api3Error::Network { .. } | Api3Error::Http { .. } | Api3Error::NotFpt { .. }
    )
}

/// What the site's unauthenticated `info`, asked just before a silent renewal, failing with
/// `error` means: a site that cannot be reached ([`site_unreachable`]) is not the IdP's fault,
/// so no window that can only time out is opened; the reason is then recorded as
/// [`Outcome::Unreachable`] and the plan backs off. `None`: the renewal goes ahead.
pub fn unreachable(error: &Api3Error) -> Option<String> {
    site_unreachable(error).then(|| error.to_string())
}

/// When the person hears about a new state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notify {
    Never,
    /// Only when the state changed: once, not at every keep-alive.
    IfChanged,
    /// Every time: lapsed or expired sessions are retried rarely, and each failure is news.
    Always,
}

impl Notify {
    /// Whether to notify, given whether recording the state changed it.
    pub fn wanted(self, changed: bool) -> bool {
        match self {
            Self::Never => false,
            Self::IfChanged => changed,
            Self::Always => true,
        }
    }
}

/// A state to record for the session, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mark {
    pub state: SessionState,
    pub reason: String,
    pub notify: Notify,
}

/// What to do with the stored idle expiry (`session_expires_at`, site clock).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ExpiryUpdate {
    #[default]
    Keep,
    Set(i64),
    /// The stored hint is in the past although the session works: it says nothing any more.
    Clear,
}

/// What an outcome means for the stored session. Empty for results about an older session.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Effects {
    pub mark: Option<Mark>,
    pub session_expiry: ExpiryUpdate,
    /// When the site is tried again after it could not be reached (epoch seconds).
    pub retry_at: Option<i64>,
}

/// What a caller asking for a session good for `min_ttl` more seconds gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Freshness {
    /// Answer from the store now; no renewal is needed or would change the answer.
    Serve,
    /// Renew first (or join the renewal under way), then ask again.
    RenewFirst,
    /// The session will not last that long and cannot be renewed now.
    Refuse { reason: String },
}

impl Freshness {
    /// Serves a caller that needs `site`'s session good for a while: asks `decide` (the plan,
    /// on what is stored when it is called), renews first when it says so (`renew`, awaited
    /// only then; its error is why it failed), and asks again on what the renewal, or anyone
    /// meanwhile, left. A session still wanting a renewal after one is refused with why the
    /// renewal failed. `Err` comes from `decide`, or from `refuse` for a refusal.
    pub async fn serve<E>(
        site: &Site,
        mut decide: impl FnMut() -> Result<Self, E>,
        renew: impl Future<Output = Result<(), String>>,
        refuse: impl Fn(String) -> E,
    ) -> Result<(), E> {
        let failure = match decide()? {
            Self::Serve => return Ok(()),
            Self::Refuse { reason } => return Err(refuse(reason)),
            Self::RenewFirst => renew.await.err(),
        };
        match decide()? {
            Self::Serve => Ok(()),
            Self::Refuse { reason } => Err(refuse(reason)),
            Self::RenewFirst => {
                Err(refuse(failure.unwrap_or_else(|| {
                    format!("the session on {site} could not be renewed")
                })))
            }
        }
    }
}

/// Doubling delays after network trouble.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Backoff {
    delay: Option<i64>,
    until: Option<i64>,
}

/// What the refresher knows about one site and its current session between rounds.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// The session followed; a new one starts with a clean slate.
    session: Option<Generation>,
    /// The site's clock minus ours (seconds), from its `Date` header.
    offset: i64,
    /// How long the site keeps an unused session, as the last check said.
    idle_lifetime: Option<i64>,
    next_keep_alive: Option<i64>,
    /// When the last renewal started / finished.
    renewal_started_at: Option<i64>,
    renewed_at: Option<i64>,
    backoff: Backoff,
    /// When a renewal last needed the person.
    attention_at: Option<i64>,
    /// When a client's refused call last reminded the person.
    reminded_at: Option<i64>,
}

/// The shortest interval between keep-alives, or between renewals, for a site whose own
/// lifetime (idle or claims) is `lifetime` seconds.
fn floor(lifetime: Option<i64>) -> i64 {
    lifetime.map_or(FLOOR, |l| (l / 2).clamp(MIN_FLOOR, FLOOR))
}

/// A site-given expiry (site clock), or `None` when it is already past.
fn sane_expiry(at: i64, site_now: i64) -> Option<i64> {
    (at > site_now).then(|| at.min(site_now.saturating_add(MAX_HORIZON)))
}

/// Whether a renewal moved the claims; a renewal that did not is no renewal.
pub fn extends(before: Option<i64>, after: Option<i64>) -> bool {
    match (before, after) {
        (Some(before), Some(after)) => after > before,
        _ => true,
    }
}

/// Whether a session that landed (as `login`, user `id`) is the person being renewed. Logins
/// compare as Toolkit does, ignoring case; ids only when both are known.
pub fn same_person(renewing: &str, renewing_id: Option<u64>, login: &str, id: Option<u64>) -> bool {
    renewing.eq_ignore_ascii_case(login)
        && match (renewing_id, id) {
            (Some(a), Some(b)) => a == b,
            _ => true,
        }
}

/// The site's current session, unless an API script is its default user (then nothing of
/// the person's is handed out, so nothing is renewed or kept alive).
fn served(site: &SiteSettings) -> Option<(&String, &UserRecord)> {
    site.current_script
        .is_none()
        .then(|| site.current_session())
        .flatten()
}

impl Plan {
    /// Starts following the site's current session; another session than before (a sign-in,
    /// a renewal) clears what was learnt about the previous one's trouble.
    fn follow(&mut self, login: &str, record: &UserRecord) -> Generation {
        let current = Generation::of(login, record);
        if self.session.as_ref() != Some(&current) {
            if self.session.as_ref().is_some_and(|s| s.login != login) {
                self.renewal_started_at = None;
                self.renewed_at = None;
            }
            self.backoff = Backoff::default();
            self.attention_at = None;
            self.session = Some(current.clone());
        }
        current
    }

    /// What is due now for `site`'s current session, and when to ask again. Whatever is
    /// returned has its next time set already, so a caller that never reports back still
    /// cannot make it due again at once.
    pub fn next_action(&mut self, site: &SiteSettings, config: &Config, now: i64) -> Next {
        let Some((login, record)) = served(site) else {
            return Next {
                action: Action::Nothing,
                wake_at: now.saturating_add(IDLE_WAKE),
            };
        };
        let generation = self.follow(login, record);
        let action = if self.renewal_due(record).is_some_and(|due| due <= now) {
            self.renewal_started(now);
            Action::Renew(generation)
        } else if self
            .keep_alive_due(record, config)
            .is_some_and(|due| due <= now)
        {
            self.next_keep_alive = Some(now.saturating_add(self.keep_alive_interval(config)));
            Action::KeepAlive(generation)
        } else {
            Action::Nothing
        };
        let wake_at = [
            self.renewal_due(record),
            self.keep_alive_due(record, config),
        ]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(i64::MAX)
        .clamp(now.saturating_add(1), now.saturating_add(IDLE_WAKE));
        Next { action, wake_at }
    }

    /// Records that a renewal starts now (from the schedule or for a caller).
    pub fn renewal_started(&mut self, now: i64) {
        self.renewal_started_at = Some(now);
    }

    /// How long the claims of `record` last from its sign-in, on the site's clock.
    fn claims_lifetime(&self, record: &UserRecord) -> Option<i64> {
        let signed_in = record.signed_in_at.saturating_add(self.offset);
        Some(
            record
                .claims_expire_at?
                .saturating_sub(signed_in)
                .clamp(0, MAX_HORIZON),
        )
    }

    /// When the claims of `record` are due for a silent renewal, if they can be renewed
    /// silently at all.
    fn renewal_due(&self, record: &UserRecord) -> Option<i64> {
        if record.method != Some(Method::Web)
            || !matches!(
                record.state,
                SessionState::Active | SessionState::ClaimsLapsed
            )
        {
            return None;
        }
        let lifetime = self.claims_lifetime(record)?;
        let scheduled = if record.state == SessionState::ClaimsLapsed {
            i64::MIN
        } else {
            record
                .signed_in_at
                .saturating_add(lifetime.saturating_mul(RENEW_AT_TENTHS) / 10)
        };
        let after = |at: Option<i64>, wait: i64| at.map_or(i64::MIN, |at| at.saturating_add(wait));
        Some(
            scheduled
                .max(after(self.renewal_started_at, floor(Some(lifetime))))
                .max(self.backoff.until.unwrap_or(i64::MIN))
                .max(after(self.attention_at, LAPSED_RETRY)),
        )
    }

    /// When the next keep-alive is due, when keep-alive is on and the session usable. The
    /// first one comes at once: it learns the site's clock and idle lifetime.
    fn keep_alive_due(&self, record: &UserRecord, config: &Config) -> Option<i64> {
        config.keep_alive?;
        record
            .state
            .usable()
            .then(|| self.next_keep_alive.unwrap_or(i64::MIN))
    }

    /// The configured interval, within the floor and within half the site's idle lifetime
    /// (so the session is used before it idles out).
    fn keep_alive_interval(&self, config: &Config) -> i64 {
        let configured = config
            .keep_alive
            .map_or(MAX_INTERVAL, |s| i64::try_from(s).unwrap_or(i64::MAX));
        let ceiling = self
            .idle_lifetime
            .map_or(MAX_INTERVAL, |l| (l / 2).clamp(MIN_FLOOR, MAX_INTERVAL));
        configured.max(floor(self.idle_lifetime)).min(ceiling)
    }

    /// Takes the site's clock from its `Date` header, unless that is too far off to be a clock.
    fn learn_clock(&mut self, site_now: i64, now: i64) {
        let offset = site_now.saturating_sub(now);
        if offset.unsigned_abs() <= MAX_SKEW {
            self.offset = offset;
        }
    }

    /// Schedules the next try after network trouble; returns when it is.
    fn back_off(&mut self, now: i64) -> i64 {
        let delay = self
            .backoff
            .delay
            .map_or(FIRST_RETRY, |d| d.saturating_mul(2).min(MAX_RETRY));
        let until = now.saturating_add(delay);
        self.backoff = Backoff {
            delay: Some(delay),
            until: Some(until),
        };
        until
    }

    /// Records what a keep-alive or renewal computed for `generation` found, and says what to
    /// store. `site` is the site's settings as they are now.
    pub fn record(
        &mut self,
        generation: &Generation,
        outcome: Outcome,
        site: &SiteSettings,
        config: &Config,
        now: i64,
    ) -> Effects {
        let current = site.current_session();
        if let Some((login, record)) = current {
            self.follow(login, record);
        }
        // Only results about the session stored now may change it.
        let record = current
            .filter(|(login, record)| Generation::of(login, record) == *generation)
            .map(|(_, record)| record);
        match outcome {
            Outcome::KeptAlive {
                expires_at,
                site_now,
            } => {
                self.backoff = Backoff::default();
                if let Some(site_now) = site_now {
                    self.learn_clock(site_now, now);
                }
                let site_now = now.saturating_add(self.offset);
                let expires_at = expires_at.and_then(|at| sane_expiry(at, site_now));
                if let Some(at) = expires_at {
                    self.idle_lifetime = Some(at.saturating_sub(site_now));
                }
                self.next_keep_alive = Some(now.saturating_add(self.keep_alive_interval(config)));
                let Some(record) = record else {
                    return Effects::default();
                };
                let stale = record.session_expires_at.is_some_and(|at| at <= site_now);
                let session_expiry = match expires_at {
                    Some(at) if record.session_expires_at != Some(at) => ExpiryUpdate::Set(at),
                    None if stale => ExpiryUpdate::Clear,
                    Some(_) | None => ExpiryUpdate::Keep,
                };
                Effects {
                    session_expiry,
                    ..Effects::default()
                }
            }
            Outcome::Renewed => {
                self.backoff = Backoff::default();
                self.renewed_at = Some(now);
                Effects::default()
            }
            Outcome::Unreachable { .. } => {
                let until = self.back_off(now);
                // Keep-alives retry as soon as renewals, but never later than planned.
                let planned = now.saturating_add(self.keep_alive_interval(config));
                self.next_keep_alive = Some(until.min(planned));
                Effects {
                    retry_at: Some(until),
                    ..Effects::default()
                }
            }
            Outcome::Expired { reason } => {
                mark(record, SessionState::Expired, reason, Notify::IfChanged)
            }
            Outcome::ClaimsLapsed { reason } => {
                mark(record, SessionState::ClaimsLapsed, reason, Notify::Never)
            }
            Outcome::NeedsPerson { reason } => self.needs_person(record, reason, now),
            Outcome::LandedAsSomeoneElse { login } => {
                let reason = format!(
                    "the silent renewal signed in as {login}, not as {}; choose “Renew now” and sign in as {}",
                    generation.login, generation.login
                );
                self.needs_person(record, reason, now)
            }
        }
    }

    /// Only the person can renew the session now: lapsed or expired sessions keep saying so
    /// (and say it each time); working ones need attention (said once).
    fn needs_person(&mut self, record: Option<&UserRecord>, reason: String, now: i64) -> Effects {
        let Some(record) = record else {
            return Effects::default();
        };
        self.attention_at = Some(now);
        let (state, notify) = match record.state {
            SessionState::Active | SessionState::NeedsAttention => {
                (SessionState::NeedsAttention, Notify::IfChanged)
            }
            other => (other, Notify::Always),
        };
        mark(Some(record), state, reason, notify)
    }

    /// Whether the renewal the schedule planned for `planned` is still to be tried, asked
    /// again inside the one renewal per site: when another has just stored a new session
    /// (`login`'s `record` now), that one is served as it is.
    pub fn for_schedule(
        &self,
        planned: &Generation,
        login: &str,
        record: &UserRecord,
        now: i64,
    ) -> Freshness {
        if *planned != Generation::of(login, record) {
            return Freshness::Serve;
        }
        match self.may_renew(login, record, now) {
            Ok(()) => Freshness::RenewFirst,
            Err(reason) => Freshness::Refuse { reason },
        }
    }

    /// Whether a silent renewal of `login`'s session may be tried now, or why not.
    pub fn may_renew(&self, login: &str, record: &UserRecord, now: i64) -> Result<(), String> {
        if record.method != Some(Method::Web) {
            return Err(format!(
                "{login} signed in without the web sign-in, so only signing in again renews the session"
            ));
        }
        let why = || {
            record
                .attention
                .clone()
                .unwrap_or_else(|| format!("the session {}", record.state.name()))
        };
        if record.state == SessionState::Expired {
            return Err(why());
        }
        if self
            .attention_at
            .is_some_and(|at| now < at.saturating_add(ATTENTION_RETRY))
        {
            return Err(why());
        }
        Ok(())
    }

    /// The site's clock minus ours (seconds), as its last answer said; 0 until one did.
    pub fn clock_offset(&self) -> i64 {
        self.offset
    }

    /// A client found the site's session unusable and nobody usable is left: whether to
    /// remind the person now. At most once every [`REMIND_EVERY`] seconds per site, however
    /// often clients ask.
    pub fn remind(&mut self, now: i64) -> bool {
        if self
            .reminded_at
            .is_some_and(|at| now < at.saturating_add(REMIND_EVERY) && now >= at)
        {
            return false;
        }
        self.reminded_at = Some(now);
        true
    }

    /// When `record`'s session ends on our clock, as far as is known.
    pub fn local_expiry(&self, record: &UserRecord) -> Option<i64> {
        record.expires_at().map(|at| at.saturating_sub(self.offset))
    }

    /// Whether a caller asking `site` for a session good for `min_ttl` more seconds can be
    /// answered now, must wait for a renewal, or cannot be served. `settings` is the site's.
    pub fn for_caller(
        &mut self,
        site: &Site,
        settings: Option<&SiteSettings>,
        min_ttl: Option<u64>,
        now: i64,
    ) -> Freshness {
        let Some((login, record)) = settings.and_then(served) else {
            return Freshness::Serve;
        };
        self.follow(login, record);
        let renewable = self.may_renew(login, record, now);
        match record.state {
            // The store explains why it will not hand the token out.
            SessionState::Expired => return Freshness::Serve,
            SessionState::ClaimsLapsed if renewable.is_err() => return Freshness::Serve,
            SessionState::ClaimsLapsed => return Freshness::RenewFirst,
            SessionState::Active | SessionState::NeedsAttention => {}
        }
        let (Some(min_ttl), Some(expires_at)) = (min_ttl, self.local_expiry(record)) else {
            return Freshness::Serve;
        };
        let left = expires_at.saturating_sub(now);
        if left >= i64::try_from(min_ttl).unwrap_or(i64::MAX) {
            return Freshness::Serve;
        }
        let short = format!(
            "the session of {login} on {site} ends in {}s, sooner than the {min_ttl}s asked for",
            left.max(0)
        );
        if let Err(why) = renewable {
            return Freshness::Refuse {
                reason: format!("{short}; {why}"),
            };
        }
        let lifetime = self.claims_lifetime(record);
        if let Some(at) = self.renewed_at
            && now < at.saturating_add(floor(lifetime))
        {
            return Freshness::Refuse {
                reason: format!(
                    "{short}, and it was renewed {}s ago: the site grants no longer sessions",
                    now.saturating_sub(at)
                ),
            };
        }
        Freshness::RenewFirst
    }
}

fn mark(
    record: Option<&UserRecord>,
    state: SessionState,
    reason: String,
    notify: Notify,
) -> Effects {
    Effects {
        mark: record.map(|_| Mark {
            state,
            reason,
            notify,
        }),
        ..Effects::default()
    }
}

#[cfg(test)]
mod tests;
