//! Who is signed in where: the keyring (tokens) and the settings file (everything else) kept
//! in step. Both the desktop app and the CLI (when no app runs) go through here.

use std::sync::Mutex;

use tokio::sync::broadcast;

use crate::model::Method;
use crate::network::Proxy;
use crate::paths::Paths;
use crate::protocol::{
    Credentials, ErrorInfo, ErrorKind, EventKind, LoggedOut, NewSession, SessionEvent,
    SessionState, SiteStatus, StatusInfo, UserInfo, UserStatus,
};
use crate::secret::Secret;
use crate::settings::{
    Settings, SettingsError, SettingsFile, SiteSettings, UserRecord, push_recent,
};
use crate::site::{Site, SiteError};
use crate::store::{StoreError, TokenStore};
use crate::time;
use crate::toolkit::{ToolkitCache, ToolkitError};

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
            Self::Settings(_) | Self::Toolkit(_) => ErrorKind::Internal,
        };
        ErrorInfo::new(kind, self.to_string())
    }
}

/// Applies a change to Toolkit's cache files. The sign-in itself already happened, so a
/// failure here is reported, not returned.
fn mirror_to_toolkit(change: impl FnOnce(&ToolkitCache) -> Result<(), ToolkitError>) {
    match ToolkitCache::locate().and_then(|cache| change(&cache)) {
        Ok(()) => tracing::debug!("updated Toolkit's session cache"),
        Err(e) => tracing::warn!(error = %e, "could not update Toolkit's session cache"),
    }
}

/// The proxy clients should use: the configured one, in Toolkit's form.
fn clients_proxy(settings: &Settings) -> Option<String> {
    let proxy = settings.http_proxy.as_deref()?;
    Proxy::parse(proxy).ok().map(|p| p.toolkit_form())
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

/// The accounts known on this machine.
#[derive(Debug)]
pub struct Accounts {
    paths: Paths,
    settings: SettingsFile,
    store: TokenStore,
    /// Tokens already read from the keyring: a keyring round trip costs milliseconds and the
    /// app answers many `get_user` calls for the same token. Only this process writes through
    /// it, so it never goes stale while the app runs.
    tokens: Mutex<Vec<(Site, String, Secret)>>,
    changes: broadcast::Sender<SessionEvent>,
}

impl Accounts {
    pub fn new(paths: &Paths) -> Self {
        Self {
            paths: paths.clone(),
            settings: SettingsFile::new(paths.settings_file()),
            store: TokenStore::default(),
            tokens: Mutex::new(Vec::new()),
            changes: broadcast::channel(256).0,
        }
    }

    pub fn store(&self) -> &TokenStore {
        &self.store
    }

    pub fn settings_file(&self) -> &SettingsFile {
        &self.settings
    }

    /// Changes made through this instance from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<SessionEvent> {
        self.changes.subscribe()
    }

    fn announce(
        &self,
        event: EventKind,
        site: &Site,
        login: Option<&str>,
        expires_at: Option<i64>,
        message: Option<String>,
    ) {
        tracing::info!(event = event.name(), %site, login, "session changed");
        // Nobody listening is fine.
        let _ = self.changes.send(SessionEvent {
            event,
            site: site.clone(),
            login: login.map(ToOwned::to_owned),
            expires_at,
            message,
        });
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
            let key = self.store.load_script(&site, name)?.ok_or_else(|| {
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
                http_proxy: clients_proxy(&settings),
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
            let left = expires_at - time::now();
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
            http_proxy: clients_proxy(&settings),
        })
    }

    /// The token of `login` on `site`, whoever the site's default user is.
    pub fn token(&self, site: &Site, login: &str) -> Result<Option<Secret>, AccountsError> {
        let mut cache = self.tokens.lock().expect("token cache lock");
        if let Some((_, _, token)) = cache.iter().find(|(s, l, _)| s == site && l == login) {
            return Ok(Some(token.clone()));
        }
        let token = self.store.load(site, login)?;
        if let Some(token) = &token {
            cache.push((site.clone(), login.to_owned(), token.clone()));
        }
        Ok(token)
    }

    fn forget_cached(&self, site: &Site, login: &str) {
        self.tokens
            .lock()
            .expect("token cache lock")
            .retain(|(s, l, _)| !(s == site && l == login));
    }

    /// Every site and user known, with what is known of their sessions.
    pub fn status(&self) -> Result<StatusInfo, AccountsError> {
        let settings = self.settings.load_shared()?;
        let mut sites: Vec<SiteStatus> = settings
            .sites
            .iter()
            .map(|(site, s)| SiteStatus {
                site: site.clone(),
                current_user: s
                    .current_user
                    .clone()
                    .filter(|login| s.users.contains_key(login)),
                users: s
                    .users
                    .iter()
                    .map(|(login, r)| UserStatus {
                        login: login.clone(),
                        name: r.name.clone(),
                        method: r.method,
                        signed_in_at: r.signed_in_at,
                        expires_at: r.expires_at(),
                        state: r.state,
                        attention: r.attention.clone(),
                    })
                    .collect(),
                scripts: s.scripts.keys().cloned().collect(),
                current_script: s.current_script.clone(),
            })
            .collect();
        // Most recently used first, the way people think of their sites.
        sites.sort_by_key(|s| {
            settings
                .recent_sites
                .iter()
                .position(|r| *r == s.site)
                .unwrap_or(usize::MAX)
        });
        Ok(StatusInfo {
            default_site: settings.default_site.clone(),
            sites,
        })
    }

    /// Stores a validated session as `site`'s current user and makes `site` the default.
    ///
    /// The token goes to the keyring first: settings never point at a token that is not
    /// there. The same person signing in again is a renewal; anyone else is a new sign-in,
    /// announced as such, and the previous person keeps their own token.
    pub fn sign_in(&self, site: &Site, session: NewSession) -> Result<(), AccountsError> {
        self.store_session(site, session, true)
    }

    /// Stores the result of a renewal (silent or not) without changing the default site.
    pub fn store_renewal(&self, site: &Site, session: NewSession) -> Result<(), AccountsError> {
        self.store_session(site, session, false)
    }

    fn store_session(
        &self,
        site: &Site,
        session: NewSession,
        make_default: bool,
    ) -> Result<(), AccountsError> {
        self.forget_cached(site, &session.login);
        self.store.save(site, &session.login, &session.token)?;
        let login = session.login.clone();
        let token = session.token.clone();
        let (written, previous) = self.settings.update(|settings| {
            push_recent(&mut settings.recent_sites, site.clone());
            if make_default || settings.default_site.is_none() {
                settings.default_site = Some(site.clone());
            }
            let s = settings.sites.entry(site.clone()).or_default();
            let previous = s.current_user.replace(login.clone());
            // A person signing in on a farm machine takes over from its script.
            s.current_script = None;
            push_recent(&mut s.recent_users, login.clone());
            let record = s.users.entry(login.clone()).or_default();
            let was_signed_in = record.signed_in_at != 0;
            *record = UserRecord {
                user_id: session.user_id,
                name: session.name,
                method: Some(session.method),
                signed_in_at: time::now(),
                claims_expire_at: session.claims_expire_at,
                session_expires_at: session.session_expires_at,
                state: SessionState::Active,
                attention: None,
                unknown: std::mem::take(&mut record.unknown),
            };
            (previous, was_signed_in)
        })?;
        if written.toolkit_files {
            mirror_to_toolkit(|cache| cache.record_sign_in(site, &login, &token));
        }
        let expires_at = written.sites[site].users[&login].expires_at();
        match previous {
            (Some(previous), true) if previous == login => {
                self.announce(EventKind::Renewed, site, Some(&login), expires_at, None);
            }
            (Some(previous), _) if previous != login => {
                let message = format!("{login} signed in to {site} in place of {previous}");
                self.announce(
                    EventKind::SignedIn,
                    site,
                    Some(&login),
                    expires_at,
                    Some(message),
                );
            }
            _ => self.announce(EventKind::SignedIn, site, Some(&login), expires_at, None),
        }
        Ok(())
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
        let (written, changed) = self.settings.update(|settings| {
            let Some(record) = settings
                .sites
                .get_mut(site)
                .and_then(|s| s.users.get_mut(login))
            else {
                return false;
            };
            let changed = record.state != state;
            record.state = state;
            record.attention = (state != SessionState::Active).then(|| why.to_owned());
            changed
        })?;
        if changed {
            let event = match state {
                SessionState::Active => return Ok(true),
                SessionState::NeedsAttention => EventKind::NeedsAttention,
                SessionState::ClaimsLapsed | SessionState::Expired => EventKind::Expired,
            };
            let expires_at = written.sites[site].users[login].expires_at();
            self.announce(event, site, Some(login), expires_at, Some(why.to_owned()));
        }
        Ok(changed)
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
            if let Some(record) = settings
                .sites
                .get_mut(site)
                .and_then(|s| s.users.get_mut(login))
            {
                record.session_expires_at = expires_at;
            }
        })?;
        Ok(())
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
        let (_, known) = self.settings.update(|settings| {
            let Some(s) = settings.sites.get_mut(site) else {
                return false;
            };
            match login {
                Some(login) if !s.users.contains_key(login) => return false,
                Some(login) => {
                    s.current_user = Some(login.to_owned());
                    s.current_script = None;
                    push_recent(&mut s.recent_users, login.to_owned());
                }
                None if s.users.is_empty() && s.scripts.is_empty() => return false,
                None => {}
            }
            settings.default_site = Some(site.clone());
            push_recent(&mut settings.recent_sites, site.clone());
            true
        })?;
        if !known {
            let who = login.map_or_else(|| "nobody".to_owned(), ToOwned::to_owned);
            return Err(AccountsError::SignInRequired {
                site: Some(site.clone()),
                reason: format!("{who} is not signed in to {site}"),
            });
        }
        self.announce(EventKind::DefaultChanged, site, login, None, None);
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

    /// The way in last chosen for `site`, if any.
    pub fn saved_method(&self, site: &Site) -> Result<Option<Method>, AccountsError> {
        let settings = self.settings.load_shared()?;
        Ok(settings.sites.get(site).and_then(|s| s.method))
    }

    /// Remembers that the person chose `method` for `site`.
    pub fn remember_method(&self, site: &Site, method: Method) -> Result<(), AccountsError> {
        self.settings.update(|settings| {
            settings.sites.entry(site.clone()).or_default().method = Some(method);
        })?;
        Ok(())
    }

    /// Stores an API script's key (checked against the site by the caller). With
    /// `make_default` the script becomes the site's default user and the site the default
    /// site.
    pub fn add_script(
        &self,
        site: &Site,
        name: &str,
        key: &Secret,
        make_default: bool,
    ) -> Result<(), AccountsError> {
        self.store.save_script(site, name, key)?;
        self.settings.update(|settings| {
            push_recent(&mut settings.recent_sites, site.clone());
            if make_default || settings.default_site.is_none() {
                settings.default_site = Some(site.clone());
            }
            let s = settings.sites.entry(site.clone()).or_default();
            s.scripts.entry(name.to_owned()).or_default().added_at = time::now();
            if make_default {
                s.current_script = Some(name.to_owned());
            }
        })?;
        let who = format!("script {name}");
        self.announce(EventKind::SignedIn, site, Some(&who), None, None);
        Ok(())
    }

    /// Removes a script's key; returns whether there was one. A script that was the site's
    /// default user stops being it.
    pub fn remove_script(&self, site: &Site, name: &str) -> Result<bool, AccountsError> {
        let had_key = self.store.delete_script(site, name)?;
        let (_, had_record) = self.settings.update(|settings| {
            let Some(s) = settings.sites.get_mut(site) else {
                return false;
            };
            if s.current_script.as_deref() == Some(name) {
                s.current_script = None;
            }
            s.scripts.remove(name).is_some()
        })?;
        Ok(had_key || had_record)
    }

    /// Removes the token of `login` (default: the current user) on `site` (default: the
    /// default site). The login stays in the recent list so the next sign-in can offer it.
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
        self.forget_cached(&site, &login);
        let had_token = self.store.delete(&site, &login)?;
        let (_, had_record) = self.settings.update(|settings| {
            settings
                .sites
                .get_mut(&site)
                .and_then(|s| s.users.remove(&login))
                .is_some()
        })?;
        if !(had_token || had_record) {
            return Ok(LoggedOut { site, login: None });
        }
        if settings.toolkit_files {
            mirror_to_toolkit(|cache| cache.record_sign_out(&site, &login).map(drop));
        }
        // The IdP and site cookies of the web sign-in go too, so the next sign-in starts
        // clean (a running app also clears what its webview holds in memory).
        let webview = self.paths.webview_dir(&site);
        match std::fs::remove_dir_all(&webview) {
            Ok(()) => tracing::debug!(dir = %webview.display(), "removed the site's web data"),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                tracing::warn!(dir = %webview.display(), error = %e, "cannot remove the site's web data");
            }
        }
        self.announce(EventKind::SignedOut, &site, Some(&login), None, None);
        Ok(LoggedOut {
            site,
            login: Some(login),
        })
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
