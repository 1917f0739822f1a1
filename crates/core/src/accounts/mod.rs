//! Who is signed in where, kept in step across the three places it lives: secrets in the
//! token store (`tokens`), everything else in the settings file (`records`), and the events
//! other parts react to (`crate::events`, which is also how Toolkit's files follow). The
//! desktop app and the CLI (when no app runs) both go through here.
//!
//! Order matters and is kept here only: a token is stored before the settings point at it,
//! and removed before the settings forget it; events go out after both.

pub mod overview;
mod records;
mod scripts;
mod tokens;

use tokio::sync::broadcast;

use crate::events::{Change, Events};
use crate::method::{self, Pick};
use crate::model::{Method, SessionState};
use crate::network::{self, NetworkError};
use crate::paths::Paths;
use crate::protocol::{
    Credentials, ErrorInfo, ErrorKind, EventKind, LoggedOut, NewSession, SessionEvent, StatusInfo,
    UserInfo,
};
use crate::secret::Secret;
use crate::settings::{Settings, SettingsError, SettingsFile, SiteSettings, UserRecord};
use crate::site::{Site, SiteError};
use crate::store::{Entry, KeyringStore, StoreError, TokenStore};
use crate::time;
use crate::toolkit::{ToolkitCache, ToolkitError, ToolkitMirror};

pub use overview::Overview;
pub use records::Replaced;
use tokens::Tokens;

#[derive(Debug, thiserror::Error)]
pub enum AccountsError {
    #[error("{reason}; {}", sign_in_hint(.site.as_ref()))]
    SignInRequired { site: Option<Site>, reason: String },
    #[error(transparent)]
    Site(#[from] SiteError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Settings(#[from] SettingsError),
    #[error(transparent)]
    Toolkit(#[from] ToolkitError),
    #[error(transparent)]
    Network(#[from] NetworkError),
}

fn sign_in_hint(site: Option<&Site>) -> String {
    match site {
        Some(site) => format!("sign in with `fpt-login-desktop --sign-in {site}`"),
        None => "sign in with `fpt-login-desktop --sign-in <site>`".to_owned(),
    }
}

impl AccountsError {
    /// The protocol error for this failure.
    pub fn to_error_info(&self) -> ErrorInfo {
        let kind = match self {
            Self::SignInRequired { .. } => ErrorKind::SignInRequired,
            Self::Site(_) => ErrorKind::BadRequest,
            Self::Store(_) => ErrorKind::Keyring,
            Self::Settings(_) | Self::Toolkit(_) | Self::Network(_) => ErrorKind::Internal,
        };
        ErrorInfo::new(kind, self.to_string())
    }
}

/// The proxy clients should use: the configured one with its password, in Toolkit's form. One
/// that cannot be read is an error: a client sent without it could bypass a required proxy.
fn clients_proxy(settings: &Settings) -> Result<Option<String>, AccountsError> {
    Ok(network::stored_proxy(settings)?.map(|p| p.toolkit_form()))
}

/// `site`, or the default site when none is named.
fn site_or_default(settings: &Settings, site: Option<&Site>) -> Result<Site, AccountsError> {
    settings
        .resolve_site(site)
        .cloned()
        .ok_or_else(|| AccountsError::SignInRequired {
            site: None,
            reason: "no site is signed in yet".to_owned(),
        })
}

/// Saves `used` as `site`'s choice when [`method::to_remember`] says so.
fn remember(settings: &mut Settings, site: &Site, used: Method, pick: Pick) {
    if let Some(method) = method::to_remember(used, pick) {
        settings.sites.entry(site.clone()).or_default().method = Some(method);
    }
}

/// The accounts known on this machine.
#[derive(Debug)]
pub struct Accounts {
    settings: SettingsFile,
    tokens: Tokens,
    events: Events,
}

impl Accounts {
    /// This machine's accounts: the OS keyring, the profile's settings file, and Toolkit's
    /// files kept in step when the person turned that on.
    pub fn new(paths: &Paths) -> Self {
        Self::with_store(paths, Box::new(KeyringStore::for_profile(paths)))
    }

    /// Accounts whose secrets live in memory, for unit tests of what builds on them.
    #[cfg(test)]
    pub(crate) fn in_memory(paths: &Paths) -> Self {
        Self::with_store(paths, Box::new(crate::store::MemoryStore::default()))
    }

    fn with_store(paths: &Paths, store: Box<dyn TokenStore>) -> Self {
        Self {
            settings: SettingsFile::new(paths.settings_file()),
            tokens: Tokens::new(store),
            events: Events::default().with_listener(ToolkitMirror),
        }
    }

    /// The start-up self-test of the token store.
    pub fn probe_store(&self) -> Result<(), StoreError> {
        self.tokens.probe()
    }

    pub fn settings_file(&self) -> &SettingsFile {
        &self.settings
    }

    /// Changes made through this instance from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<SessionEvent> {
        self.events.subscribe()
    }

    /// The current user of `site` (or of the default site) with their token.
    pub fn user(
        &self,
        site: Option<&Site>,
        min_ttl: Option<u64>,
    ) -> Result<UserInfo, AccountsError> {
        let settings = self.settings.load_shared()?;
        let site = site_or_default(&settings, site)?;
        let required = |reason: String| AccountsError::SignInRequired {
            site: Some(site.clone()),
            reason,
        };
        let site_settings = settings.sites.get(&site);
        if let Some(name) = site_settings.and_then(|s| s.current_script.as_ref()) {
            let key = self
                .tokens
                .get(&Entry::script(&site, name))?
                .ok_or_else(|| {
                    required(format!(
                        "the keyring holds no key for script {name} on {site}"
                    ))
                })?;
            return Ok(UserInfo {
                site: site.clone(),
                credentials: Credentials::Script {
                    api_script: name.clone(),
                    api_key: key,
                },
                http_proxy: clients_proxy(&settings)?,
            });
        }
        let (login, record) = site_settings
            .and_then(SiteSettings::current_session)
            .map(|(login, record)| (login.clone(), record.clone()))
            .ok_or_else(|| required(format!("nobody is signed in to {site}")))?;
        if !record.state.usable() {
            let why = record
                .attention
                .clone()
                .unwrap_or_else(|| format!("the session {}", record.state.name()));
            return Err(required(format!("{why} ({login} on {site})")));
        }
        if let (Some(min_ttl), Some(expires_at)) = (min_ttl, record.expires_at()) {
            let left = expires_at.saturating_sub(time::now());
            if left < i64::try_from(min_ttl).unwrap_or(i64::MAX) {
                return Err(required(format!(
                    "the session of {login} on {site} ends in {}s, sooner than the {min_ttl}s asked for",
                    left.max(0)
                )));
            }
        }
        let token = self
            .token(&site, &login)?
            .ok_or_else(|| required(format!("the keyring holds no token for {login} on {site}")))?;
        Ok(UserInfo {
            site: site.clone(),
            credentials: Credentials::Session {
                login,
                session_token: token,
                expires_at: record.expires_at(),
            },
            http_proxy: clients_proxy(&settings)?,
        })
    }

    /// Every site and user known, with what is known of their sessions.
    pub fn status(&self) -> Result<StatusInfo, AccountsError> {
        Ok(records::status(&*self.settings.load_shared()?))
    }

    /// What the desktop app shows of the accounts at `now` (epoch seconds), from one read of
    /// the settings; `keyring_error` is the start-up probe's failure, if it failed, and
    /// `clock_offset` says how far each site's clock is ahead of ours.
    pub fn overview(
        &self,
        keyring_error: Option<&str>,
        now: i64,
        clock_offset: impl Fn(&Site) -> i64,
    ) -> Overview {
        match self.settings.load_shared() {
            Ok(settings) => {
                Overview::new(&records::status(&settings), &settings, now, clock_offset)
            }
            Err(e) => Overview::unreadable(e.to_string()),
        }
        .with_keyring_error(keyring_error)
    }

    /// Stores a validated session as `site`'s current user and makes `site` the default, and
    /// remembers its method for the site when the person chose it (`pick`, see
    /// [`method::to_remember`]) — in the same write, so only a stored sign-in is remembered.
    ///
    /// The same person signing in again is a renewal; anyone else is a new sign-in,
    /// announced as such, and the previous person keeps their own token.
    pub fn sign_in(
        &self,
        site: &Site,
        session: &NewSession,
        pick: Pick,
    ) -> Result<(), AccountsError> {
        let login = &session.login;
        let entry = Entry::person(site, login);
        // The settings lock covers the keyring write too: a renewal or sign-out racing this
        // one sees both or neither. The token goes first: settings never point at a token
        // that is not there.
        let (written, replaced) = self.settings.update(|settings| {
            self.tokens.put(&entry, &session.token)?;
            let replaced = records::record_session(settings, site, session, true, time::now());
            remember(settings, site, session.method, pick);
            Ok::<_, StoreError>(replaced)
        })?;
        let replaced = replaced?;
        self.stored(&written, site, session);
        let expires_at = written.sites[site].users[login].expires_at();
        match replaced {
            Replaced::SamePerson => {
                self.events
                    .announce(EventKind::Renewed, site, Some(login), expires_at, None);
            }
            Replaced::Someone(previous) => {
                let message = format!("{login} signed in to {site} in place of {previous}");
                self.events.announce(
                    EventKind::SignedIn,
                    site,
                    Some(login),
                    expires_at,
                    Some(message),
                );
            }
            Replaced::Nobody => {
                self.events
                    .announce(EventKind::SignedIn, site, Some(login), expires_at, None);
            }
        }
        Ok(())
    }

    /// Stores the renewal of `session.login`'s session on `site` that was signed in at
    /// `expected_signed_in_at` — and nothing else: when that person signed out, or signed in
    /// again, meanwhile, nothing is stored and `false` comes back. The site's current user
    /// and default stay as they are.
    pub fn store_renewal(
        &self,
        site: &Site,
        session: &NewSession,
        expected_signed_in_at: i64,
    ) -> Result<bool, AccountsError> {
        let login = &session.login;
        let entry = Entry::person(site, login);
        let (written, renewed) = self.settings.update(|settings| {
            let current = settings
                .current_generation(site, login)
                .is_some_and(|at| at == expected_signed_in_at);
            if !current {
                return Ok(false);
            }
            self.tokens.put(&entry, &session.token)?;
            Ok::<_, StoreError>(records::record_renewal(
                settings,
                site,
                session,
                expected_signed_in_at,
                time::now(),
            ))
        })?;
        if !renewed? {
            return Ok(false);
        }
        self.stored(&written, site, session);
        let expires_at = written.sites[site].users[login].expires_at();
        self.events
            .announce(EventKind::Renewed, site, Some(login), expires_at, None);
        Ok(true)
    }

    /// Tells the listeners that `session` was stored.
    fn stored(&self, written: &Settings, site: &Site, session: &NewSession) {
        self.events.notify(
            written,
            &Change::Stored {
                site,
                login: &session.login,
                token: &session.token,
            },
        );
    }

    /// Records what the app saw of a session: it needs the person, its claims lapsed, or the
    /// site refused it. Nothing is deleted; the token stays for a renewal. Announced once per
    /// change; returns whether the state changed.
    pub fn mark(
        &self,
        site: &Site,
        login: &str,
        state: SessionState,
        why: &str,
    ) -> Result<bool, AccountsError> {
        let (written, changed) = self
            .settings
            .update(|settings| records::mark(settings, site, login, state, why))?;
        if changed != Some(true) {
            return Ok(false);
        }
        let event = match state {
            SessionState::Active => return Ok(true),
            SessionState::NeedsAttention => EventKind::NeedsAttention,
            SessionState::ClaimsLapsed | SessionState::Expired => EventKind::Expired,
        };
        let expires_at = written.sites[site].users[login].expires_at();
        self.events
            .announce(event, site, Some(login), expires_at, Some(why.to_owned()));
        Ok(true)
    }

    /// Records when the site says the session idles out (epoch seconds), or forgets a hint
    /// that no longer says anything (`None`).
    pub fn set_session_expiry(
        &self,
        site: &Site,
        login: &str,
        expires_at: Option<i64>,
    ) -> Result<(), AccountsError> {
        self.settings.update(|settings| {
            records::set_session_expiry(settings, site, login, expires_at);
        })?;
        Ok(())
    }

    /// The token of `login` on `site`, whoever the site's default user is.
    pub fn token(&self, site: &Site, login: &str) -> Result<Option<Secret>, AccountsError> {
        let entry = Entry::person(site, login);
        if let Some(token) = self.tokens.get(&entry)? {
            return Ok(Some(token));
        }
        let Some(old) = self.tokens.legacy(&entry)? else {
            return Ok(None);
        };
        // An earlier release's name is moved under the writers' lock, so a sign-in in another
        // process cannot store a new token between reading the old one and writing it back.
        match self
            .settings
            .locked(|| self.tokens.get_moving_legacy(&entry))
        {
            Ok(moved) => Ok(moved?),
            // A config folder nobody may write to (a read-only home) takes no lock: the token
            // is still handed out, and moved another time.
            Err(e) => {
                tracing::warn!(error = %e, "cannot move {login}'s token on {site} to its new keyring name now");
                Ok(Some(old))
            }
        }
    }

    /// The record of `login` on `site`, if signed in there.
    pub fn record(&self, site: &Site, login: &str) -> Result<Option<UserRecord>, AccountsError> {
        let settings = self.settings.load_shared()?;
        Ok(settings
            .sites
            .get(site)
            .and_then(|s| s.users.get(login))
            .cloned())
    }

    /// Makes `site` the default site and, when given, `login` (who must be signed in there)
    /// its current user. Returns the site's default user.
    pub fn use_site(&self, site: &Site, login: Option<&str>) -> Result<UserInfo, AccountsError> {
        let (_, known) = self
            .settings
            .update(|settings| records::use_site(settings, site, login))?;
        if !known {
            let who = login.map_or_else(|| "nobody".to_owned(), ToOwned::to_owned);
            return Err(AccountsError::SignInRequired {
                site: Some(site.clone()),
                reason: format!("{who} is not signed in to {site}"),
            });
        }
        self.events
            .announce(EventKind::DefaultChanged, site, login, None, None);
        self.user(Some(site), None)
    }

    /// Turns keeping Toolkit's session cache on or off. Turning it on writes the current user
    /// of every site now; returns how many were written.
    pub fn set_toolkit_files(&self, enabled: bool) -> Result<usize, AccountsError> {
        let (settings, ()) = self.settings.update(|s| s.toolkit_files = enabled)?;
        if !enabled {
            return Ok(0);
        }
        let cache = ToolkitCache::locate()?;
        let mut written = 0;
        for site in settings.sites.keys() {
            if let Ok(UserInfo {
                credentials:
                    Credentials::Session {
                        login,
                        session_token,
                        ..
                    },
                ..
            }) = self.user(Some(site), None)
            {
                cache.record_sign_in(site, &login, &session_token)?;
                written += 1;
            }
        }
        Ok(written)
    }

    /// Removes from Toolkit's files the sessions FPT Login wrote there: those whose token is
    /// still the one this machine's keyring holds for that person. Sessions Toolkit stored
    /// itself stay. Returns how many were removed.
    pub fn scrub_toolkit_files(&self) -> Result<usize, AccountsError> {
        let cache = ToolkitCache::locate()?;
        let mut removed = 0;
        for found in cache.sessions()? {
            let ours = self.token(&found.site, &found.login)?;
            if ours.is_some_and(|token| token == found.token)
                && cache.record_sign_out(&found.site, &found.login)?
            {
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// The way in last chosen for `site`, if any.
    pub fn saved_method(&self, site: &Site) -> Result<Option<Method>, AccountsError> {
        let settings = self.settings.load_shared()?;
        Ok(settings.sites.get(site).and_then(|s| s.method))
    }

    /// Removes the token of `login` (default: the current user) on `site` (default: the
    /// default site). The login stays in the recent list so the next sign-in can offer it.
    /// The web sign-in's cookies are the desktop app's to clear (it hears `signed_out`).
    pub fn sign_out(
        &self,
        site: Option<&Site>,
        login: Option<&str>,
    ) -> Result<LoggedOut, AccountsError> {
        let settings = self.settings.load_shared()?;
        let site = site_or_default(&settings, site)?;
        let login = login
            .map(str::to_owned)
            .or_else(|| settings.sites.get(&site)?.current_user.clone());
        let Some(login) = login else {
            return Ok(LoggedOut { site, login: None });
        };
        let entry = Entry::person(&site, &login);
        let (written, removed) = self.settings.update(|settings| {
            let had_token = self.tokens.remove(&entry)?;
            let had_record = settings.sites.get_mut(&site).is_some_and(|s| {
                s.web_data_stale = true;
                s.users.remove(&login).is_some()
            });
            Ok::<_, StoreError>(had_token || had_record)
        })?;
        let had_token_or_record = removed?;
        if !had_token_or_record {
            return Ok(LoggedOut { site, login: None });
        }
        self.events.notify(
            &written,
            &Change::Removed {
                site: &site,
                login: &login,
            },
        );
        self.events
            .announce(EventKind::SignedOut, &site, Some(&login), None, None);
        Ok(LoggedOut {
            site,
            login: Some(login),
        })
    }

    /// The sites whose web sign-in data must go (someone signed out of them).
    pub fn sites_with_stale_web_data(&self) -> Result<Vec<Site>, AccountsError> {
        let settings = self.settings.load_shared()?;
        Ok(settings
            .sites
            .iter()
            .filter(|(_, s)| s.web_data_stale)
            .map(|(site, _)| site.clone())
            .collect())
    }

    /// Records that `site`'s web sign-in data is gone.
    pub fn web_data_cleared(&self, site: &Site) -> Result<(), AccountsError> {
        self.settings.update(|settings| {
            if let Some(s) = settings.sites.get_mut(site) {
                s.web_data_stale = false;
            }
        })?;
        Ok(())
    }

    /// Signs every person out of every site; returns who was signed out. API scripts stay.
    pub fn sign_out_everywhere(&self) -> Result<Vec<LoggedOut>, AccountsError> {
        let settings = self.settings.load_shared()?;
        let mut out = Vec::new();
        for (site, s) in &settings.sites {
            for login in s.users.keys() {
                let done = self.sign_out(Some(site), Some(login))?;
                if done.login.is_some() {
                    out.push(done);
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::store::{Keyring, KeyringStore, MemoryStore};

    /// A keyring in memory that counts its writes made while another writer could have taken
    /// the settings lock.
    #[derive(Debug, Clone)]
    struct LockWatchingKeyring {
        entries: Arc<std::sync::Mutex<std::collections::BTreeMap<(String, String), String>>>,
        lock: std::path::PathBuf,
        unlocked_writes: Arc<AtomicUsize>,
    }

    impl Keyring for LockWatchingKeyring {
        fn get(&self, service: &str, account: &str) -> Result<Option<String>, keyring::Error> {
            let key = (service.to_owned(), account.to_owned());
            Ok(self.entries.lock().unwrap().get(&key).cloned())
        }

        fn set(&self, service: &str, account: &str, secret: &str) -> Result<(), keyring::Error> {
            // Another process opens the lock file itself: its own open file, its own lock.
            let held = std::fs::File::open(&self.lock)
                .is_ok_and(|f| matches!(f.try_lock(), Err(std::fs::TryLockError::WouldBlock)));
            if !held {
                self.unlocked_writes.fetch_add(1, Ordering::SeqCst);
            }
            let key = (service.to_owned(), account.to_owned());
            self.entries.lock().unwrap().insert(key, secret.to_owned());
            Ok(())
        }

        fn remove(&self, service: &str, account: &str) -> Result<bool, keyring::Error> {
            let key = (service.to_owned(), account.to_owned());
            Ok(self.entries.lock().unwrap().remove(&key).is_some())
        }
    }

    /// A keyring that refuses every write.
    #[derive(Debug)]
    struct BrokenKeyring;

    impl Keyring for BrokenKeyring {
        fn get(&self, _: &str, _: &str) -> Result<Option<String>, keyring::Error> {
            Ok(None)
        }

        fn set(&self, _: &str, _: &str, _: &str) -> Result<(), keyring::Error> {
            Err(keyring::Error::PlatformFailure("no keyring here".into()))
        }

        fn remove(&self, _: &str, _: &str) -> Result<bool, keyring::Error> {
            Ok(false)
        }
    }

    /// The person's own profile in a new folder, over a [`LockWatchingKeyring`].
    fn own_profile_accounts() -> (tempfile::TempDir, LockWatchingKeyring, Accounts) {
        let tmp = tempfile::tempdir().unwrap();
        let paths = Paths {
            profile: None,
            ..Paths::under(tmp.path().to_path_buf())
        };
        let mut lock = paths.settings_file().into_os_string();
        lock.push(".lock");
        let keyring = LockWatchingKeyring {
            entries: Arc::default(),
            lock: lock.into(),
            unlocked_writes: Arc::default(),
        };
        let store = KeyringStore::with_keyring(keyring.clone(), &paths);
        let accounts = Accounts::with_store(&paths, Box::new(store));
        (tmp, keyring, accounts)
    }

    #[test]
    fn a_token_that_is_nowhere_needs_no_lock_and_an_old_one_no_writable_folder() {
        let (_tmp, keyring, accounts) = own_profile_accounts();
        // Nothing can open the lock file: as in a read-only config folder.
        std::fs::create_dir_all(&keyring.lock).unwrap();
        let site = Site::parse("https://a.example.com").unwrap();
        assert!(accounts.token(&site, "jane").unwrap().is_none());
        keyring
            .set("fpt-login", "jane @ https://a.example.com", "old token")
            .unwrap();
        let token = accounts.token(&site, "jane").unwrap().unwrap();
        assert_eq!(token.expose(), "old token", "handed out, not moved");
        assert_eq!(keyring.entries.lock().unwrap().len(), 1);
    }

    #[test]
    fn a_token_moves_from_its_old_name_only_under_the_writers_lock() {
        let (_tmp, keyring, accounts) = own_profile_accounts();
        let site = Site::parse("https://a.example.com").unwrap();
        keyring
            .set("fpt-login", "jane @ https://a.example.com", "old token")
            .unwrap();
        keyring.unlocked_writes.store(0, Ordering::SeqCst);
        let token = accounts.token(&site, "jane").unwrap().unwrap();
        assert_eq!(token.expose(), "old token");
        assert_eq!(
            keyring.unlocked_writes.load(Ordering::SeqCst),
            0,
            "a sign-in in another process could have stored a token the move then overwrote"
        );
        let names: Vec<String> = keyring
            .entries
            .lock()
            .unwrap()
            .keys()
            .map(|(_, account)| account.clone())
            .collect();
        assert_eq!(names, ["person jane @ https://a.example.com"]);
    }

    fn accounts() -> (tempfile::TempDir, Accounts) {
        let tmp = tempfile::tempdir().unwrap();
        let paths = Paths::under(tmp.path().to_path_buf());
        let accounts = Accounts::with_store(&paths, Box::new(MemoryStore::default()));
        (tmp, accounts)
    }

    fn session(login: &str, token: &str) -> NewSession {
        NewSession {
            login: login.to_owned(),
            token: Secret::new(token),
            user_id: Some(1),
            name: None,
            method: Method::Web,
            claims_expire_at: None,
            session_expires_at: None,
        }
    }

    fn token_of(user: &UserInfo) -> &str {
        match &user.credentials {
            Credentials::Session { session_token, .. } => session_token.expose(),
            Credentials::Script { .. } => panic!("a script"),
        }
    }

    #[test]
    fn a_sign_in_is_served_announced_and_signed_out_again() {
        let (_tmp, accounts) = accounts();
        let mut events = accounts.subscribe();
        let site = Site::parse("https://a.example.com").unwrap();
        accounts
            .sign_in(&site, &session("jane", "one"), Pick::Offered)
            .unwrap();
        assert_eq!(token_of(&accounts.user(None, None).unwrap()), "one");
        let signed_in_at = accounts
            .record(&site, "jane")
            .unwrap()
            .unwrap()
            .signed_in_at;
        assert!(
            accounts
                .store_renewal(&site, &session("jane", "two"), signed_in_at)
                .unwrap()
        );
        assert_eq!(token_of(&accounts.user(None, None).unwrap()), "two");
        let kinds: Vec<_> = std::iter::from_fn(|| events.try_recv().ok())
            .map(|e| e.event)
            .collect();
        assert_eq!(kinds, [EventKind::SignedIn, EventKind::Renewed]);
        assert!(accounts.sites_with_stale_web_data().unwrap().is_empty());
        let out = accounts.sign_out(None, None).unwrap();
        assert_eq!(out.login.as_deref(), Some("jane"));
        // Whoever signed out, with or without the app running, the app clears the site's web
        // sign-in data before the next web sign-in could pass silently as them.
        assert_eq!(
            accounts.sites_with_stale_web_data().unwrap(),
            std::slice::from_ref(&site)
        );
        accounts.web_data_cleared(&site).unwrap();
        assert!(accounts.sites_with_stale_web_data().unwrap().is_empty());
        let e = accounts.user(None, None).unwrap_err();
        assert!(matches!(e, AccountsError::SignInRequired { .. }), "{e}");
    }

    #[test]
    fn a_chosen_method_is_remembered_with_the_sign_in_and_an_offered_one_is_not() {
        let (_tmp, accounts) = accounts();
        let site = Site::parse("https://a.example.com").unwrap();
        let mut password = session("jane", "one");
        password.method = Method::Credentials;
        accounts.sign_in(&site, &password, Pick::Chosen).unwrap();
        assert_eq!(
            accounts.saved_method(&site).unwrap(),
            Some(Method::Credentials)
        );
        accounts
            .sign_in(&site, &session("jane", "two"), Pick::Offered)
            .unwrap();
        assert_eq!(
            accounts.saved_method(&site).unwrap(),
            Some(Method::Credentials)
        );
        accounts
            .sign_in(&site, &session("jane", "three"), Pick::Chosen)
            .unwrap();
        assert_eq!(accounts.saved_method(&site).unwrap(), Some(Method::Web));
    }

    #[test]
    fn a_sign_in_that_cannot_be_stored_does_not_change_the_saved_choice() {
        let tmp = tempfile::tempdir().unwrap();
        let paths = Paths::under(tmp.path().to_path_buf());
        let store = KeyringStore::with_keyring(BrokenKeyring, &paths);
        let accounts = Accounts::with_store(&paths, Box::new(store));
        let site = Site::parse("https://a.example.com").unwrap();
        accounts
            .settings
            .update(|settings| remember(settings, &site, Method::Credentials, Pick::Chosen))
            .unwrap();
        accounts
            .sign_in(&site, &session("jane", "one"), Pick::Chosen)
            .unwrap_err();
        assert_eq!(
            accounts.saved_method(&site).unwrap(),
            Some(Method::Credentials)
        );
    }

    #[test]
    fn an_unusable_session_is_refused_with_why() {
        let (_tmp, accounts) = accounts();
        let site = Site::parse("https://a.example.com").unwrap();
        accounts
            .sign_in(&site, &session("jane", "one"), Pick::Offered)
            .unwrap();
        assert!(
            accounts
                .mark(&site, "jane", SessionState::Expired, "the site ended it")
                .unwrap()
        );
        let e = accounts.user(Some(&site), None).unwrap_err().to_string();
        assert!(e.contains("the site ended it (jane on"), "{e}");
        assert!(!e.contains("one"), "no token in messages: {e}");
    }
}
