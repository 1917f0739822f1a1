//! REST tokens kept in memory, one per site and user, and the policy that serves, refreshes
//! or mints them.
//!
//! Refresh tokens are single-use (protocol reference §6.4), so everything that can spend one
//! happens under one async lock per (site, user): callers arriving while a refresh or mint is
//! under way wait for it and are served its result. A refused refresh falls back to a new
//! mint from the credential; a refused mint means the credential itself is gone. A site call
//! that fails without an answer fails for everyone who waited for it. Nothing here is written
//! anywhere: the tokens live in memory until their site's session ends or the process does.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use super::{Grant, Holder, Minted, RestApi, RestError, RestTokenInfo};
use tokio::sync::broadcast;

use crate::protocol::{Credentials, ErrorInfo, ErrorKind, EventKind, SessionEvent, UserInfo};
use crate::secret::Secret;
use crate::site::Site;

/// Seconds a token must have left to be handed out when the caller does not say.
pub const DEFAULT_MIN_TTL: u64 = 60;
/// However long a caller wants a token to last, one is not refreshed sooner than this after
/// it was handed out (half its lifetime for shorter-lived tokens): a `min_ttl` beyond what the
/// site grants must not cost a refresh per call.
const REFRESH_GAP: i64 = 10;

/// What a REST token is minted from: a person's session token or a script's key. A new one
/// (signed in again, key replaced) makes tokens minted from the old one stale.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    Session { login: String, token: Secret },
    Script { name: String, key: Secret },
}

impl Credential {
    /// The credential of a site's user as the store hands it out.
    pub fn of(user: &UserInfo) -> Self {
        match &user.credentials {
            Credentials::Session {
                login,
                session_token,
                ..
            } => Self::Session {
                login: login.clone(),
                token: session_token.clone(),
            },
            Credentials::Script {
                api_script,
                api_key,
            } => Self::Script {
                name: api_script.clone(),
                key: api_key.clone(),
            },
        }
    }

    pub fn holder(&self) -> Holder {
        match self {
            Self::Session { login, .. } => Holder::Session {
                login: login.clone(),
            },
            Self::Script { name, .. } => Holder::Script {
                api_script: name.clone(),
            },
        }
    }

    fn grant(&self) -> Grant<'_> {
        match self {
            Self::Session { token, .. } => Grant::Session(token),
            Self::Script { name, key } => Grant::Script { name, key },
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RestTokenError {
    /// The site would not mint a token from the stored credential: the session is gone (or
    /// the script's key was revoked).
    #[error("{site} no longer accepts the {} ({source}); sign in with `fpt-login-desktop --sign-in {site}`", who(.credential))]
    CredentialRefused {
        site: Site,
        credential: Credential,
        source: RestError,
    },
    /// The site could not be asked, or answered nonsense; nothing is known of the credential.
    #[error(transparent)]
    Site(RestError),
}

fn who(credential: &Credential) -> String {
    match credential {
        Credential::Session { login, .. } => format!("session of {login}"),
        Credential::Script { name, .. } => format!("key of script {name}"),
    }
}

impl RestTokenError {
    /// The protocol error for this failure: a refused credential needs the person.
    pub fn to_error_info(&self) -> ErrorInfo {
        let kind = match self {
            Self::CredentialRefused { .. } => ErrorKind::SignInRequired,
            Self::Site(_) => ErrorKind::Internal,
        };
        ErrorInfo::new(kind, self.to_string())
    }
}

/// A token handed out, and what it was minted from.
#[derive(Debug, Clone)]
struct Held {
    access: Secret,
    /// `None` once sent: a refresh token is spent by being sent, whatever comes back.
    refresh: Option<Secret>,
    /// Epoch seconds, on this machine's clock (the site says "in N seconds").
    expires_at: i64,
    lifetime: i64,
    from: Credential,
}

impl Held {
    fn new(minted: Minted, from: &Credential, now: i64) -> Self {
        Self {
            access: minted.access_token,
            refresh: minted.refresh_token,
            expires_at: now.saturating_add(minted.expires_in),
            lifetime: minted.expires_in,
            from: from.clone(),
        }
    }

    fn info(&self, site: &Site) -> RestTokenInfo {
        RestTokenInfo {
            site: site.clone(),
            holder: self.from.holder(),
            token_type: "Bearer".to_owned(),
            access_token: self.access.clone(),
            expires_at: self.expires_at,
        }
    }
}

/// What to do for a caller who needs a token good for `min_ttl` more seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Serve,
    Refresh,
    Mint,
}

/// The policy: serve the held token while it has `min_ttl` left (at most what a fresh one
/// would have, less the refresh gap), else refresh it, else mint a new one. A token minted
/// from another credential than the current one is never served.
fn decide(held: Option<&Held>, credential: &Credential, min_ttl: u64, now: i64) -> Step {
    let Some(held) = held.filter(|h| h.from == *credential) else {
        return Step::Mint;
    };
    let gap = REFRESH_GAP.min(held.lifetime / 2);
    let needed = i64::try_from(min_ttl)
        .unwrap_or(i64::MAX)
        .min(held.lifetime.saturating_sub(gap))
        .max(1);
    if held.expires_at.saturating_sub(now) >= needed {
        Step::Serve
    } else if held.refresh.is_some() {
        Step::Refresh
    } else {
        Step::Mint
    }
}

/// One site and user's token, and the site calls made for it.
#[derive(Debug, Default)]
struct Slot {
    state: tokio::sync::Mutex<SlotState>,
    /// Site calls finished, counted under `state`'s lock: a caller notes it before waiting
    /// for the lock and so knows which calls it waited for.
    calls: AtomicU64,
}

#[derive(Debug, Default)]
struct SlotState {
    held: Option<Held>,
    /// The latest site call when it failed without an answer (unreachable, 5xx): its number
    /// and the credential it was made for.
    failed: Option<(u64, Credential, RestError)>,
}

impl SlotState {
    /// Records how site call number `call`, made for `from`, ended.
    fn ended(&mut self, call: u64, from: &Credential, outcome: Result<(), &RestError>) {
        self.failed = outcome.err().map(|e| (call, from.clone(), e.clone()));
    }

    /// The failure of a call for `credential` that ended after the caller noted `seen`: the
    /// one it waited for.
    fn failure_since(&self, seen: u64, credential: &Credential) -> Option<RestError> {
        self.failed
            .as_ref()
            .filter(|(call, from, _)| *call > seen && from == credential)
            .map(|(_, _, e)| e.clone())
    }
}

/// The REST tokens of every site and user this process handed out.
#[derive(Debug, Default)]
pub struct RestTokens {
    slots: Mutex<HashMap<(Site, Holder), Arc<Slot>>>,
}

impl RestTokens {
    fn slot(&self, site: &Site, holder: Holder) -> Arc<Slot> {
        let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        Arc::clone(slots.entry((site.clone(), holder)).or_default())
    }

    /// A token for `credential` on `site` with `min_ttl` (default [`DEFAULT_MIN_TTL`]) seconds
    /// left, by `clock` (epoch seconds): the one held, a refreshed one, or a new one.
    pub async fn get<A: RestApi>(
        &self,
        api: &A,
        site: &Site,
        credential: &Credential,
        min_ttl: Option<u64>,
        clock: impl Fn() -> i64,
    ) -> Result<RestTokenInfo, RestTokenError> {
        let min_ttl = min_ttl.unwrap_or(DEFAULT_MIN_TTL);
        let slot = self.slot(site, credential.holder());
        let seen = slot.calls.load(Ordering::SeqCst);
        // Held across the site calls below: the one refresh (or mint) in flight is shared by
        // everyone who asks meanwhile, and so is its failure: callers queued behind a site that
        // does not answer are not each made to wait for it in turn.
        let mut state = slot.state.lock().await;
        let step = decide(state.held.as_ref(), credential, min_ttl, clock());
        // A token that serves this caller is served, whoever failed to get a longer one.
        if step != Step::Serve
            && let Some(e) = state.failure_since(seen, credential)
        {
            return Err(RestTokenError::Site(e));
        }
        let call = || slot.calls.fetch_add(1, Ordering::SeqCst).saturating_add(1);
        match step {
            Step::Serve => {
                if let Some(held) = state.held.as_ref() {
                    return Ok(held.info(site));
                }
            }
            Step::Refresh => {
                let refresh = state.held.as_mut().and_then(|h| h.refresh.take());
                if let Some(refresh) = refresh {
                    let answer = api.access_token(Grant::Refresh(&refresh)).await;
                    let number = call();
                    match answer {
                        Ok(minted) => {
                            let fresh = Held::new(minted, credential, clock());
                            let info = fresh.info(site);
                            state.held = Some(fresh);
                            state.ended(number, credential, Ok(()));
                            return Ok(info);
                        }
                        Err(e) if e.is_refusal() => {
                            tracing::info!(%site, "the refresh token was refused ({e}); minting a new token");
                            state.held = None;
                            state.ended(number, credential, Ok(()));
                        }
                        Err(e) => {
                            // Maybe never seen by the site: try it again next time (a
                            // refusal then falls back to a mint).
                            if let Some(h) = state.held.as_mut() {
                                h.refresh = Some(refresh);
                            }
                            state.ended(number, credential, Err(&e));
                            return Err(RestTokenError::Site(e));
                        }
                    }
                }
            }
            Step::Mint => {}
        }
        let answer = api.access_token(credential.grant()).await;
        let number = call();
        match answer {
            Ok(minted) => {
                let fresh = Held::new(minted, credential, clock());
                let info = fresh.info(site);
                state.held = Some(fresh);
                state.ended(number, credential, Ok(()));
                Ok(info)
            }
            Err(source) if source.is_refusal() => {
                state.held = None;
                state.ended(number, credential, Ok(()));
                Err(RestTokenError::CredentialRefused {
                    site: site.clone(),
                    credential: credential.clone(),
                    source,
                })
            }
            Err(e) => {
                state.ended(number, credential, Err(&e));
                Err(RestTokenError::Site(e))
            }
        }
    }

    /// Drops every token held for `site` (its sessions changed hands or ended).
    pub fn forget_site(&self, site: &Site) {
        self.slots
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|(s, _), _| s != site);
    }

    /// Drops what `event` makes useless: every token for a site someone signed out of, or
    /// whose session the site refused. They would not be served (the credential is compared),
    /// but a secret nobody may use is not kept.
    pub fn heard(&self, event: &SessionEvent) {
        if matches!(event.event, EventKind::SignedOut | EventKind::Expired) {
            self.forget_site(&event.site);
        }
    }

    /// Follows session events until they end, forgetting what each makes useless; having
    /// missed some (a listener that fell behind), it forgets everything.
    pub async fn follow(&self, mut events: broadcast::Receiver<SessionEvent>) {
        loop {
            match events.recv().await {
                Ok(event) => self.heard(&event),
                Err(broadcast::error::RecvError::Lagged(_)) => self
                    .slots
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .clear(),
                Err(broadcast::error::RecvError::Closed) => break,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::sync::atomic::{AtomicBool, AtomicI64, AtomicUsize, Ordering};

    use url::Url;

    use super::*;

    /// A token endpoint that follows the reference: single-use refresh tokens, sessions that
    /// can be revoked, and counters.
    #[derive(Debug, Default)]
    struct FakeSite {
        lifetime: i64,
        sessions: Mutex<HashSet<String>>,
        refresh_tokens: Mutex<HashSet<String>>,
        issued: AtomicUsize,
        mints: AtomicUsize,
        refreshes: AtomicUsize,
        refused_refreshes: AtomicUsize,
        /// The next call fails as if the site could not be reached.
        unreachable: AtomicBool,
        /// Every call hangs for 30 s, then fails as a request timing out does.
        hanging: AtomicBool,
        hung_calls: AtomicUsize,
    }

    impl FakeSite {
        fn new(lifetime: i64, session: &str) -> Self {
            let site = Self {
                lifetime,
                ..Self::default()
            };
            site.sessions.lock().unwrap().insert(session.to_owned());
            site
        }

        fn url() -> Url {
            Url::parse("https://a.example.com/api/v1/auth/access_token").unwrap()
        }

        fn refused(status: u16) -> RestError {
            RestError::Refused {
                url: Self::url(),
                status,
                detail: "error 102, Token invalid".into(),
            }
        }

        fn issue(&self) -> Minted {
            let n = self.issued.fetch_add(1, Ordering::SeqCst);
            let refresh = format!("rt-{n}");
            self.refresh_tokens.lock().unwrap().insert(refresh.clone());
            Minted {
                access_token: Secret::new(format!("at-{n}")),
                refresh_token: Some(Secret::new(refresh)),
                expires_in: self.lifetime,
            }
        }

        fn count(counter: &AtomicUsize) -> usize {
            counter.load(Ordering::SeqCst)
        }
    }

    impl RestApi for FakeSite {
        async fn access_token(&self, grant: Grant<'_>) -> Result<Minted, RestError> {
            // Lets other callers run while this call is "on the wire".
            tokio::task::yield_now().await;
            if self.hanging.load(Ordering::SeqCst) {
                self.hung_calls.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(std::time::Duration::from_secs(30)).await;
                return Err(RestError::Network {
                    url: Self::url(),
                    detail: "operation timed out".into(),
                });
            }
            if self.unreachable.swap(false, Ordering::SeqCst) {
                return Err(RestError::Network {
                    url: Self::url(),
                    detail: "connection refused".into(),
                });
            }
            match grant {
                Grant::Session(token) => {
                    if !self.sessions.lock().unwrap().contains(token.expose()) {
                        return Err(Self::refused(400));
                    }
                    self.mints.fetch_add(1, Ordering::SeqCst);
                    Ok(self.issue())
                }
                Grant::Refresh(token) => {
                    if !self.refresh_tokens.lock().unwrap().remove(token.expose()) {
                        self.refused_refreshes.fetch_add(1, Ordering::SeqCst);
                        return Err(Self::refused(401));
                    }
                    self.refreshes.fetch_add(1, Ordering::SeqCst);
                    Ok(self.issue())
                }
                Grant::Script { key, .. } if key.expose() == "farm-key" => {
                    self.mints.fetch_add(1, Ordering::SeqCst);
                    Ok(self.issue())
                }
                Grant::Script { .. } | Grant::Password { .. } => Err(Self::refused(400)),
            }
        }
    }

    fn site() -> Site {
        Site::parse("https://a.example.com").unwrap()
    }

    fn jane(token: &str) -> Credential {
        Credential::Session {
            login: "jane".into(),
            token: Secret::new(token),
        }
    }

    struct Clock(Arc<AtomicI64>);

    impl Clock {
        fn at(now: i64) -> Self {
            Self(Arc::new(AtomicI64::new(now)))
        }
        fn reader(&self) -> impl Fn() -> i64 + use<> {
            let now = Arc::clone(&self.0);
            move || now.load(Ordering::SeqCst)
        }
        fn advance(&self, seconds: i64) {
            self.0.fetch_add(seconds, Ordering::SeqCst);
        }
    }

    #[tokio::test]
    async fn one_token_is_served_until_min_ttl_before_it_ends_then_refreshed() {
        let fake = FakeSite::new(600, "s1");
        let tokens = RestTokens::default();
        let clock = Clock::at(1_000);
        let (site, jane) = (site(), jane("s1"));
        let get = |min_ttl| tokens.get(&fake, &site, &jane, min_ttl, clock.reader());
        let first = get(None).await.unwrap();
        assert_eq!(first.expires_at, 1_600);
        assert_eq!(first.token_type, "Bearer");
        assert_eq!(
            first.holder,
            Holder::Session {
                login: "jane".into()
            }
        );
        clock.advance(539);
        assert_eq!(get(None).await.unwrap().access_token, first.access_token);
        assert_eq!(FakeSite::count(&fake.mints), 1);
        // 60 s left is what the default asks for; one second later it is not enough.
        clock.advance(2);
        let second = get(None).await.unwrap();
        assert_ne!(second.access_token, first.access_token);
        assert_eq!(second.expires_at, 1_541 + 600);
        assert_eq!(FakeSite::count(&fake.refreshes), 1);
        assert_eq!(FakeSite::count(&fake.mints), 1);
        // A caller wanting more than is left gets a refresh, once.
        clock.advance(100);
        let longer = get(Some(550)).await.unwrap();
        assert_ne!(longer.access_token, second.access_token);
        assert_eq!(
            get(Some(550)).await.unwrap().access_token,
            longer.access_token
        );
        assert_eq!(FakeSite::count(&fake.refused_refreshes), 0);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_callers_share_one_mint_and_then_one_refresh() {
        let fake = Arc::new(FakeSite::new(600, "s1"));
        let tokens = Arc::new(RestTokens::default());
        let clock = Clock::at(1_000);
        let burst = || {
            let mut set = tokio::task::JoinSet::new();
            for _ in 0..50 {
                let (fake, tokens, clock) =
                    (Arc::clone(&fake), Arc::clone(&tokens), clock.reader());
                set.spawn(async move {
                    tokens
                        .get(&*fake, &site(), &jane("s1"), None, clock)
                        .await
                        .unwrap()
                        .access_token
                });
            }
            set.join_all()
        };
        let seen: HashSet<String> = burst()
            .await
            .iter()
            .map(|t| t.expose().to_owned())
            .collect();
        assert_eq!(seen.len(), 1, "{seen:?}");
        assert_eq!(FakeSite::count(&fake.mints), 1);
        clock.advance(590);
        let seen: HashSet<String> = burst()
            .await
            .iter()
            .map(|t| t.expose().to_owned())
            .collect();
        assert_eq!(seen.len(), 1, "{seen:?}");
        assert_eq!(FakeSite::count(&fake.refreshes), 1);
        assert_eq!(FakeSite::count(&fake.refused_refreshes), 0);
        assert_eq!(FakeSite::count(&fake.mints), 1);
    }

    #[tokio::test]
    async fn a_refused_refresh_falls_back_to_a_mint_and_a_refused_mint_needs_the_person() {
        let fake = FakeSite::new(600, "s1");
        let tokens = RestTokens::default();
        let clock = Clock::at(0);
        let (site, jane) = (site(), jane("s1"));
        let get = || tokens.get(&fake, &site, &jane, None, clock.reader());
        get().await.unwrap();
        // The site forgot every refresh token (a restart, say).
        fake.refresh_tokens.lock().unwrap().clear();
        clock.advance(580);
        let minted = get().await.unwrap();
        assert_eq!(FakeSite::count(&fake.refused_refreshes), 1);
        assert_eq!(FakeSite::count(&fake.mints), 2);
        assert_eq!(minted.expires_at, 1_180);
        // The session is revoked: the refresh and the mint are refused.
        fake.sessions.lock().unwrap().clear();
        fake.refresh_tokens.lock().unwrap().clear();
        clock.advance(580);
        let e = get().await.unwrap_err();
        assert!(matches!(e, RestTokenError::CredentialRefused { .. }), "{e}");
        assert_eq!(e.to_error_info().kind, ErrorKind::SignInRequired);
        let message = e.to_string();
        assert!(
            message.contains("no longer accepts the session of jane"),
            "{message}"
        );
        assert!(
            !message.contains("s1") && !message.contains("at-"),
            "{message}"
        );
        // Nothing stale is served afterwards, even to a caller content with little.
        assert!(get().await.is_err());
    }

    #[tokio::test]
    async fn a_new_session_is_never_served_a_token_of_the_old_one() {
        let fake = FakeSite::new(600, "s1");
        fake.sessions.lock().unwrap().insert("s2".into());
        let tokens = RestTokens::default();
        let clock = Clock::at(0);
        let old = tokens
            .get(&fake, &site(), &jane("s1"), None, clock.reader())
            .await
            .unwrap();
        let new = tokens
            .get(&fake, &site(), &jane("s2"), None, clock.reader())
            .await
            .unwrap();
        assert_ne!(old.access_token, new.access_token);
        assert_eq!(FakeSite::count(&fake.mints), 2);
    }

    #[tokio::test]
    async fn an_unreachable_site_keeps_the_refresh_token_for_the_next_try() {
        let fake = FakeSite::new(600, "s1");
        let tokens = RestTokens::default();
        let clock = Clock::at(0);
        let (site, jane) = (site(), jane("s1"));
        let get = || tokens.get(&fake, &site, &jane, None, clock.reader());
        get().await.unwrap();
        clock.advance(590);
        fake.unreachable.store(true, Ordering::SeqCst);
        let e = get().await.unwrap_err();
        assert!(
            matches!(e, RestTokenError::Site(RestError::Network { .. })),
            "{e}"
        );
        assert_eq!(e.to_error_info().kind, ErrorKind::Internal);
        get().await.unwrap();
        assert_eq!(FakeSite::count(&fake.refreshes), 1);
        assert_eq!(FakeSite::count(&fake.refused_refreshes), 0);
        assert_eq!(FakeSite::count(&fake.mints), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_failure_is_shared_only_with_callers_it_was_made_for() {
        let fake = Arc::new(FakeSite::new(600, "s1"));
        fake.sessions.lock().unwrap().insert("s2".into());
        let tokens = Arc::new(RestTokens::default());
        tokens
            .get(&*fake, &site(), &jane("s1"), None, || 0)
            .await
            .unwrap();
        fake.hanging.store(true, Ordering::SeqCst);
        let ask = |credential: Credential, min_ttl: u64| {
            let (fake, tokens) = (Arc::clone(&fake), Arc::clone(&tokens));
            tokio::spawn(async move {
                tokens
                    .get(&*fake, &site(), &credential, Some(min_ttl), || 100)
                    .await
                    .map(|t| t.access_token)
            })
        };
        // 500 s left: one caller wants 550 and waits on the site; one behind it wants 60 and
        // one is jane signed in again (a new session).
        let longer = ask(jane("s1"), 550);
        let content = ask(jane("s1"), 60);
        let new_session = ask(jane("s2"), 60);
        assert!(longer.await.unwrap().is_err());
        assert_eq!(content.await.unwrap().unwrap().expose(), "at-0");
        assert!(new_session.await.unwrap().is_err());
        assert_eq!(
            FakeSite::count(&fake.hung_calls),
            2,
            "the new session's mint was its own call"
        );
    }

    #[tokio::test]
    async fn following_events_that_were_missed_drops_everything() {
        let fake = FakeSite::new(600, "s1");
        let tokens = RestTokens::default();
        let other = Site::parse("https://b.example.com").unwrap();
        tokens
            .get(&fake, &site(), &jane("s1"), None, || 0)
            .await
            .unwrap();
        tokens
            .get(&fake, &other, &jane("s1"), None, || 0)
            .await
            .unwrap();
        let (sender, events) = broadcast::channel(1);
        for site in [site(), other] {
            sender
                .send(SessionEvent {
                    event: EventKind::Renewed,
                    site,
                    login: Some("jane".into()),
                    expires_at: None,
                    message: None,
                })
                .unwrap();
        }
        drop(sender);
        // One of the two was missed: what it said is unknown, so nothing is kept.
        tokens.follow(events).await;
        assert!(held_sites(&tokens).is_empty());
    }

    /// The sites `tokens` holds anything for.
    fn held_sites(tokens: &RestTokens) -> Vec<Site> {
        tokens
            .slots
            .lock()
            .unwrap()
            .keys()
            .map(|(site, _)| site.clone())
            .collect()
    }

    #[tokio::test]
    async fn a_sign_out_or_a_refused_session_drops_the_sites_tokens() {
        let fake = FakeSite::new(600, "s1");
        let tokens = RestTokens::default();
        let (site, jane) = (site(), jane("s1"));
        let other = Site::parse("https://b.example.com").unwrap();
        let event = |event, site: &Site| SessionEvent {
            event,
            site: site.clone(),
            login: Some("jane".into()),
            expires_at: None,
            message: None,
        };
        for ending in [EventKind::SignedOut, EventKind::Expired] {
            tokens.get(&fake, &site, &jane, None, || 0).await.unwrap();
            tokens.get(&fake, &other, &jane, None, || 0).await.unwrap();
            tokens.heard(&event(EventKind::Renewed, &site));
            tokens.heard(&event(ending, &site));
            assert_eq!(held_sites(&tokens), vec![other.clone()], "{ending:?}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn callers_queued_behind_a_site_that_does_not_answer_share_its_failure() {
        let fake = Arc::new(FakeSite::new(600, "s1"));
        fake.hanging.store(true, Ordering::SeqCst);
        let tokens = Arc::new(RestTokens::default());
        let started = tokio::time::Instant::now();
        let mut callers = tokio::task::JoinSet::new();
        for _ in 0..20 {
            let (fake, tokens) = (Arc::clone(&fake), Arc::clone(&tokens));
            callers.spawn(async move {
                tokens
                    .get(&*fake, &site(), &jane("s1"), None, || 0)
                    .await
                    .map(|t| t.expires_at)
            });
        }
        for answer in callers.join_all().await {
            let e = answer.unwrap_err();
            assert!(e.to_string().contains("timed out"), "{e}");
        }
        assert_eq!(FakeSite::count(&fake.hung_calls), 1, "one call for all");
        assert_eq!(
            started.elapsed(),
            std::time::Duration::from_secs(30),
            "everyone answered when that call failed, not 20 x 30 s later"
        );
        // A caller after the failure tries the site again.
        fake.hanging.store(false, Ordering::SeqCst);
        tokens
            .get(&*fake, &site(), &jane("s1"), None, || 0)
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn short_lived_tokens_are_not_refreshed_at_every_call() {
        let fake = FakeSite::new(20, "s1");
        let tokens = RestTokens::default();
        let clock = Clock::at(0);
        let (site, jane) = (site(), jane("s1"));
        let get = || tokens.get(&fake, &site, &jane, None, clock.reader());
        let first = get().await.unwrap();
        // The default 60 s is more than 20-second tokens have: served while 10 s are left.
        for _ in 0..=10 {
            assert_eq!(get().await.unwrap().access_token, first.access_token);
            clock.advance(1);
        }
        assert_ne!(get().await.unwrap().access_token, first.access_token);
        assert_eq!(FakeSite::count(&fake.refreshes), 1);
        // A token the site says lasts 0 s is never served from memory.
        let instant = FakeSite::new(0, "s1");
        let tokens = RestTokens::default();
        for _ in 0..2 {
            tokens
                .get(&instant, &site, &jane, None, clock.reader())
                .await
                .unwrap();
        }
        assert_eq!(
            FakeSite::count(&instant.mints) + FakeSite::count(&instant.refreshes),
            2
        );
    }

    #[tokio::test]
    async fn scripts_mint_with_their_key_and_a_wrong_key_is_refused() {
        let fake = FakeSite::new(600, "s1");
        let tokens = RestTokens::default();
        let farm = |key: &str| Credential::Script {
            name: "farm".into(),
            key: Secret::new(key),
        };
        let info = tokens
            .get(&fake, &site(), &farm("farm-key"), None, || 0)
            .await
            .unwrap();
        assert_eq!(
            info.holder,
            Holder::Script {
                api_script: "farm".into()
            }
        );
        let e = tokens
            .get(&fake, &site(), &farm("old"), None, || 0)
            .await
            .unwrap_err();
        assert!(e.to_string().contains("key of script farm"), "{e}");
        assert!(!e.to_string().contains("old"), "{e}");
    }

    #[test]
    fn the_policy_in_numbers() {
        let held = Held {
            access: Secret::new("a"),
            refresh: Some(Secret::new("r")),
            expires_at: 600,
            lifetime: 600,
            from: jane("s1"),
        };
        assert_eq!(decide(None, &jane("s1"), 60, 0), Step::Mint);
        assert_eq!(decide(Some(&held), &jane("s2"), 60, 0), Step::Mint);
        assert_eq!(decide(Some(&held), &jane("s1"), 60, 540), Step::Serve);
        assert_eq!(decide(Some(&held), &jane("s1"), 60, 541), Step::Refresh);
        assert_eq!(decide(Some(&held), &jane("s1"), u64::MAX, 9), Step::Serve);
        assert_eq!(
            decide(Some(&held), &jane("s1"), u64::MAX, 11),
            Step::Refresh
        );
        assert_eq!(decide(Some(&held), &jane("s1"), 0, 600), Step::Refresh);
        let spent = Held {
            refresh: None,
            ..held
        };
        assert_eq!(decide(Some(&spent), &jane("s1"), 60, 590), Step::Mint);
    }
}
