//! Where secrets (session tokens, script keys) are kept: behind [`TokenStore`], implemented
//! by the OS keyring (Secret Service on Linux, Keychain on macOS, Credential Manager on
//! Windows, through the `keyring` crate with those backends compiled in explicitly). There is
//! no in-memory or file fallback in the product: when no keyring works, the user is told. An
//! in-memory store exists for unit tests only.

use std::fmt;

use crate::paths::Paths;
use crate::secret::Secret;
use crate::site::Site;

/// The keyring service name every entry is filed under.
pub const SERVICE: &str = "fpt-login";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "the OS keyring is locked or cannot be reached ({detail}); unlock it (log in to the desktop session) and try again"
    )]
    Locked { detail: String },
    #[error(
        "no OS keyring is available ({detail}); on Linux start a Secret Service provider such as gnome-keyring or KWallet in your session"
    )]
    Unavailable { detail: String },
    #[error("the OS keyring failed for {entry}: {detail}")]
    Failed { entry: String, detail: String },
    #[error("the OS keyring returned a token for {entry} that is not text")]
    NotText { entry: String },
    #[error(
        "the OS keyring self-test failed: it stored a value but read back something else; the keyring backend is not usable"
    )]
    ProbeMismatch,
}

impl StoreError {
    fn from_keyring(entry: &str, error: keyring::Error) -> Self {
        match error {
            keyring::Error::NoStorageAccess(e) => Self::Locked {
                detail: e.to_string(),
            },
            keyring::Error::PlatformFailure(e) => {
                let detail = e.to_string();
                // Without a session bus the Secret Service client reports a platform failure
                // mentioning D-Bus; that is "no keyring here", not a bug.
                if detail.to_ascii_lowercase().contains("dbus") {
                    Self::Unavailable { detail }
                } else {
                    Self::Failed {
                        entry: entry.to_owned(),
                        detail,
                    }
                }
            }
            keyring::Error::BadEncoding(_) => Self::NotText {
                entry: entry.to_owned(),
            },
            other => Self::Failed {
                entry: entry.to_owned(),
                detail: other.to_string(),
            },
        }
    }
}

/// Whose secret an entry holds.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Owner {
    /// A person's session token, by login.
    Person(String),
    /// An API script's key, by script name.
    Script(String),
}

/// One secret: whose, on which site.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Entry {
    pub site: Site,
    pub owner: Owner,
}

impl Entry {
    pub fn person(site: &Site, login: &str) -> Self {
        Self {
            site: site.clone(),
            owner: Owner::Person(login.to_owned()),
        }
    }

    pub fn script(site: &Site, name: &str) -> Self {
        Self {
            site: site.clone(),
            owner: Owner::Script(name.to_owned()),
        }
    }
}

impl fmt::Display for Entry {
    /// How messages name the entry: `<login> @ <site>` or `script <name> @ <site>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.owner {
            Owner::Person(login) => write!(f, "{login} @ {}", self.site),
            Owner::Script(name) => write!(f, "script {name} @ {}", self.site),
        }
    }
}

/// Somewhere to keep secrets.
pub trait TokenStore: Send + Sync + fmt::Debug {
    fn save(&self, entry: &Entry, secret: &Secret) -> Result<(), StoreError>;

    /// The secret of `entry`, or `None` when there is none. Reads only: never writes.
    fn load(&self, entry: &Entry) -> Result<Option<Secret>, StoreError>;

    /// [`TokenStore::load`], and when `entry` has no secret, the one an earlier release kept
    /// for it under another name, moved to the current one. Call it holding the lock every
    /// writer holds (the settings lock): a sign-in storing the entry meanwhile would otherwise
    /// be overwritten with the old secret.
    fn load_moving_legacy(&self, entry: &Entry) -> Result<Option<Secret>, StoreError> {
        self.load(entry)
    }

    /// The secret an earlier release kept for `entry` under another name, read only.
    fn load_legacy(&self, _entry: &Entry) -> Result<Option<Secret>, StoreError> {
        Ok(None)
    }

    /// Removes the secret; returns whether there was one.
    fn delete(&self, entry: &Entry) -> Result<bool, StoreError>;

    /// Writes, reads back and deletes a probe, so a missing or mock backend is found at
    /// start-up instead of when a token silently fails to persist.
    fn probe(&self) -> Result<(), StoreError>;
}

/// The keyring itself, by (service, account): the OS keyring in the product, a map in tests
/// of how entries are named and migrated.
pub trait Keyring: Send + Sync + fmt::Debug {
    fn get(&self, service: &str, account: &str) -> Result<Option<String>, keyring::Error>;
    fn set(&self, service: &str, account: &str, secret: &str) -> Result<(), keyring::Error>;
    /// Returns whether there was an entry.
    fn remove(&self, service: &str, account: &str) -> Result<bool, keyring::Error>;
}

/// The OS keyring, through the `keyring` crate.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemKeyring;

impl Keyring for SystemKeyring {
    fn get(&self, service: &str, account: &str) -> Result<Option<String>, keyring::Error> {
        match keyring::Entry::new(service, account)?.get_password() {
            Ok(secret) => Ok(Some(secret)),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn set(&self, service: &str, account: &str, secret: &str) -> Result<(), keyring::Error> {
        keyring::Entry::new(service, account)?.set_password(secret)
    }

    fn remove(&self, service: &str, account: &str) -> Result<bool, keyring::Error> {
        match keyring::Entry::new(service, account)?.delete_credential() {
            Ok(()) => Ok(true),
            Err(keyring::Error::NoEntry) => Ok(false),
            Err(e) => Err(e),
        }
    }
}

/// The keyring service of a profile: [`SERVICE`] for the person's own, and one of its own for
/// each `FPT_LOGIN_HOME`, so signing out in one profile never touches another's token.
pub fn service_name(paths: &Paths) -> String {
    match &paths.profile {
        None => SERVICE.to_owned(),
        Some(home) => format!("{SERVICE} {}", home.display()),
    }
}

/// The keyring account of an entry: `person <login> @ <site>` or `script <name> @ <site>`.
/// The kind comes first, so a person whose login is `script x` and a script named `x` never
/// share an entry; the site comes last, and no site holds ` @ `.
pub fn account_name(entry: &Entry) -> String {
    match &entry.owner {
        Owner::Person(login) => format!("person {login} @ {}", entry.site),
        Owner::Script(name) => format!("script {name} @ {}", entry.site),
    }
}

/// The keyring account of a proxy user's password: `proxy <user> @ <host>:<port>`.
pub fn proxy_account_name(user: &str, address: &str) -> String {
    format!("proxy {user} @ {address}")
}

/// Where releases before profiles kept a person's token: `<login> @ <site>` under [`SERVICE`],
/// shared by every profile. A login starting `script ` is left there: it cannot be told from
/// a script's key of that time.
fn legacy_account_name(entry: &Entry) -> Option<String> {
    match &entry.owner {
        // `person jane @ S` was login `person jane`'s old name and is `jane`'s new one; a
        // login holding ` @ ` could name another site's entry. Those are not guessed at.
        Owner::Person(login)
            if !login.starts_with("script ")
                && !login.starts_with("person ")
                && !login.contains(" @ ") =>
        {
            Some(format!("{login} @ {}", entry.site))
        }
        // Scripts were already `script <name> @ <site>`, which is still their name.
        Owner::Person(_) | Owner::Script(_) => None,
    }
}

/// Secrets in the OS keyring, one entry per (profile, kind, site, owner).
///
/// The person's own profile takes over the tokens earlier releases kept under the shared
/// names, when it first reads them; separate profiles never read or remove those (they belong
/// to the person's own profile, the one that existed before profiles did).
#[derive(Debug, Clone)]
pub struct KeyringStore<K = SystemKeyring> {
    keyring: K,
    service: String,
    migrates: bool,
}

impl Default for KeyringStore {
    fn default() -> Self {
        Self {
            keyring: SystemKeyring,
            service: SERVICE.to_owned(),
            migrates: true,
        }
    }
}

impl KeyringStore {
    /// The OS keyring, as the profile of `paths` files its entries.
    pub fn for_profile(paths: &Paths) -> Self {
        Self::with_keyring(SystemKeyring, paths)
    }
}

impl<K: Keyring> KeyringStore<K> {
    pub fn with_keyring(keyring: K, paths: &Paths) -> Self {
        Self {
            keyring,
            service: service_name(paths),
            migrates: paths.profile.is_none(),
        }
    }

    fn legacy(&self, entry: &Entry) -> Option<String> {
        self.migrates.then(|| legacy_account_name(entry)).flatten()
    }

    /// Removes the entry's token under its old shared name, if the profile owns those.
    fn remove_legacy(&self, entry: &Entry) -> Result<bool, StoreError> {
        let Some(old) = self.legacy(entry) else {
            return Ok(false);
        };
        self.keyring
            .remove(SERVICE, &old)
            .map_err(|e| StoreError::from_keyring(&old, e))
    }
}

impl<K: Keyring> KeyringStore<K> {
    /// The password of proxy `user` at `address` (`host:port`), kept out of the settings file.
    pub fn proxy_password(&self, user: &str, address: &str) -> Result<Option<Secret>, StoreError> {
        let account = proxy_account_name(user, address);
        self.keyring
            .get(&self.service, &account)
            .map(|found| found.map(Secret::new))
            .map_err(|e| StoreError::from_keyring(&account, e))
    }

    pub fn save_proxy_password(
        &self,
        user: &str,
        address: &str,
        password: &Secret,
    ) -> Result<(), StoreError> {
        let account = proxy_account_name(user, address);
        self.keyring
            .set(&self.service, &account, password.expose())
            .map_err(|e| StoreError::from_keyring(&account, e))
    }

    /// Returns whether there was one.
    pub fn delete_proxy_password(&self, user: &str, address: &str) -> Result<bool, StoreError> {
        let account = proxy_account_name(user, address);
        self.keyring
            .remove(&self.service, &account)
            .map_err(|e| StoreError::from_keyring(&account, e))
    }
}

impl<K: Keyring> TokenStore for KeyringStore<K> {
    fn save(&self, entry: &Entry, secret: &Secret) -> Result<(), StoreError> {
        let account = account_name(entry);
        self.keyring
            .set(&self.service, &account, secret.expose())
            .map_err(|e| StoreError::from_keyring(&account, e))?;
        // An older token under the old name would outlive a later sign-out.
        self.remove_legacy(entry)?;
        Ok(())
    }

    fn load(&self, entry: &Entry) -> Result<Option<Secret>, StoreError> {
        let account = account_name(entry);
        self.keyring
            .get(&self.service, &account)
            .map(|found| found.map(Secret::new))
            .map_err(|e| StoreError::from_keyring(&account, e))
    }

    fn load_legacy(&self, entry: &Entry) -> Result<Option<Secret>, StoreError> {
        let Some(old) = self.legacy(entry) else {
            return Ok(None);
        };
        self.keyring
            .get(SERVICE, &old)
            .map(|found| found.map(Secret::new))
            .map_err(|e| StoreError::from_keyring(&old, e))
    }

    fn load_moving_legacy(&self, entry: &Entry) -> Result<Option<Secret>, StoreError> {
        if let Some(secret) = self.load(entry)? {
            return Ok(Some(secret));
        }
        let Some(secret) = self.load_legacy(entry)? else {
            return Ok(None);
        };
        // Moved, not copied: the new entry is written before the old one goes, so a failure
        // in between leaves the token in one place or both, never in none.
        self.save(entry, &secret)?;
        Ok(Some(secret))
    }

    fn delete(&self, entry: &Entry) -> Result<bool, StoreError> {
        let account = account_name(entry);
        let removed = self
            .keyring
            .remove(&self.service, &account)
            .map_err(|e| StoreError::from_keyring(&account, e))?;
        let removed_legacy = self.remove_legacy(entry)?;
        Ok(removed || removed_legacy)
    }

    /// The probe entry is this process's own, so processes starting together do not read each
    /// other's probe.
    fn probe(&self) -> Result<(), StoreError> {
        let account = format!("self-test of process {}", std::process::id());
        let value = format!("probe-{}", crate::time::now());
        let failed = |e| StoreError::from_keyring(&account, e);
        self.keyring
            .set(&self.service, &account, &value)
            .map_err(failed)?;
        let read = self.keyring.get(&self.service, &account).map_err(failed)?;
        // Best effort: a leftover probe entry is harmless and is overwritten next time.
        let _ = self.keyring.remove(&self.service, &account);
        if read.as_deref() == Some(value.as_str()) {
            Ok(())
        } else {
            Err(StoreError::ProbeMismatch)
        }
    }
}

/// Secrets in memory, for unit tests of what sits on top of the store.
#[cfg(test)]
#[derive(Debug, Default)]
pub struct MemoryStore {
    entries: std::sync::Mutex<std::collections::HashMap<Entry, Secret>>,
}

#[cfg(test)]
impl TokenStore for MemoryStore {
    fn save(&self, entry: &Entry, secret: &Secret) -> Result<(), StoreError> {
        self.entries
            .lock()
            .unwrap()
            .insert(entry.clone(), secret.clone());
        Ok(())
    }

    fn load(&self, entry: &Entry) -> Result<Option<Secret>, StoreError> {
        Ok(self.entries.lock().unwrap().get(entry).cloned())
    }

    fn delete(&self, entry: &Entry) -> Result<bool, StoreError> {
        Ok(self.entries.lock().unwrap().remove(entry).is_some())
    }

    fn probe(&self) -> Result<(), StoreError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A keyring in memory, by (service, account).
    #[derive(Debug, Default, Clone)]
    struct MapKeyring(
        std::sync::Arc<std::sync::Mutex<std::collections::BTreeMap<(String, String), String>>>,
    );

    impl MapKeyring {
        fn with(entries: &[(&str, &str, &str)]) -> Self {
            let keyring = Self::default();
            for (service, account, secret) in entries {
                keyring.set(service, account, secret).unwrap();
            }
            keyring
        }

        fn entries(&self) -> Vec<(String, String)> {
            self.0.lock().unwrap().keys().cloned().collect()
        }
    }

    impl Keyring for MapKeyring {
        fn get(&self, service: &str, account: &str) -> Result<Option<String>, keyring::Error> {
            let key = (service.to_owned(), account.to_owned());
            Ok(self.0.lock().unwrap().get(&key).cloned())
        }

        fn set(&self, service: &str, account: &str, secret: &str) -> Result<(), keyring::Error> {
            let key = (service.to_owned(), account.to_owned());
            self.0.lock().unwrap().insert(key, secret.to_owned());
            Ok(())
        }

        fn remove(&self, service: &str, account: &str) -> Result<bool, keyring::Error> {
            let key = (service.to_owned(), account.to_owned());
            Ok(self.0.lock().unwrap().remove(&key).is_some())
        }
    }

    fn site() -> Site {
        Site::parse("https://a.example.com").unwrap()
    }

    fn own_profile() -> Paths {
        Paths {
            profile: None,
            ..Paths::under("/home/jane/.config/fpt-login".into())
        }
    }

    fn pair(service: &str, account: &str) -> (String, String) {
        (service.to_owned(), account.to_owned())
    }

    #[test]
    fn entries_are_named_by_kind_and_profile() {
        let site = site();
        assert_eq!(
            account_name(&Entry::person(&site, "jane")),
            "person jane @ https://a.example.com"
        );
        assert_eq!(
            account_name(&Entry::script(&site, "farm")),
            "script farm @ https://a.example.com"
        );
        assert_eq!(service_name(&own_profile()), "fpt-login");
        assert_eq!(
            service_name(&Paths::under("/tmp/second".into())),
            "fpt-login /tmp/second"
        );
    }

    #[test]
    fn a_person_named_like_a_script_never_shares_its_entry() {
        let keyring = MapKeyring::default();
        let store = KeyringStore::with_keyring(keyring.clone(), &own_profile());
        let site = site();
        store
            .save(&Entry::script(&site, "x"), &Secret::new("script key"))
            .unwrap();
        store
            .save(&Entry::person(&site, "script x"), &Secret::new("token"))
            .unwrap();
        assert!(store.delete(&Entry::person(&site, "script x")).unwrap());
        assert_eq!(
            store
                .load(&Entry::script(&site, "x"))
                .unwrap()
                .unwrap()
                .expose(),
            "script key"
        );
    }

    #[test]
    fn signing_out_in_one_profile_leaves_anothers_token() {
        let keyring = MapKeyring::default();
        let own = KeyringStore::with_keyring(keyring.clone(), &own_profile());
        let second = KeyringStore::with_keyring(keyring.clone(), &Paths::under("/tmp/p2".into()));
        let jane = Entry::person(&site(), "jane");
        own.save(&jane, &Secret::new("own")).unwrap();
        second.save(&jane, &Secret::new("second")).unwrap();
        assert!(second.delete(&jane).unwrap());
        assert_eq!(own.load(&jane).unwrap().unwrap().expose(), "own");
        assert_eq!(second.load(&jane).unwrap(), None);
    }

    #[test]
    fn the_own_profile_moves_an_old_shared_token_to_its_new_name() {
        let old = "jane @ https://a.example.com";
        let keyring = MapKeyring::with(&[("fpt-login", old, "old token")]);
        let store = KeyringStore::with_keyring(keyring.clone(), &own_profile());
        let jane = Entry::person(&site(), "jane");
        // A plain read never writes: moving is for a caller holding the writers' lock.
        assert_eq!(store.load(&jane).unwrap(), None);
        assert_eq!(keyring.entries(), [pair("fpt-login", old)]);
        assert_eq!(
            store.load_moving_legacy(&jane).unwrap().unwrap().expose(),
            "old token"
        );
        assert_eq!(
            keyring.entries(),
            [pair("fpt-login", "person jane @ https://a.example.com")],
            "moved, not copied"
        );
        // Signing out then leaves nothing behind to come back.
        assert!(store.delete(&jane).unwrap());
        assert_eq!(store.load_moving_legacy(&jane).unwrap(), None);
        assert!(keyring.entries().is_empty());
    }

    #[test]
    fn a_sign_in_and_a_sign_out_also_clear_the_old_name() {
        let old = "jane @ https://a.example.com";
        let keyring = MapKeyring::with(&[("fpt-login", old, "stale")]);
        let store = KeyringStore::with_keyring(keyring.clone(), &own_profile());
        let jane = Entry::person(&site(), "jane");
        store.save(&jane, &Secret::new("fresh")).unwrap();
        assert_eq!(
            keyring.entries(),
            [pair("fpt-login", "person jane @ https://a.example.com")]
        );

        let keyring = MapKeyring::with(&[("fpt-login", old, "stale")]);
        let store = KeyringStore::with_keyring(keyring.clone(), &own_profile());
        assert!(store.delete(&jane).unwrap(), "the old token was there");
        assert!(keyring.entries().is_empty());
    }

    #[test]
    fn separate_profiles_never_touch_the_old_shared_names() {
        let old = "jane @ https://a.example.com";
        let keyring = MapKeyring::with(&[("fpt-login", old, "the person's own")]);
        let second = KeyringStore::with_keyring(keyring.clone(), &Paths::under("/tmp/p2".into()));
        let jane = Entry::person(&site(), "jane");
        assert_eq!(second.load_moving_legacy(&jane).unwrap(), None);
        second.save(&jane, &Secret::new("second")).unwrap();
        assert!(second.delete(&jane).unwrap());
        assert_eq!(keyring.entries(), [pair("fpt-login", old)]);
    }

    #[test]
    fn an_old_entry_of_a_login_starting_script_is_not_guessed_at() {
        let old = "script x @ https://a.example.com";
        let keyring = MapKeyring::with(&[("fpt-login", old, "a script's key")]);
        let store = KeyringStore::with_keyring(keyring.clone(), &own_profile());
        assert_eq!(
            store
                .load_moving_legacy(&Entry::person(&site(), "script x"))
                .unwrap(),
            None
        );
        assert_eq!(
            store
                .load(&Entry::script(&site(), "x"))
                .unwrap()
                .unwrap()
                .expose(),
            "a script's key"
        );
    }

    #[test]
    fn a_login_starting_person_never_takes_another_persons_token() {
        let keyring = MapKeyring::default();
        let store = KeyringStore::with_keyring(keyring.clone(), &own_profile());
        let jane = Entry::person(&site(), "jane");
        store.save(&jane, &Secret::new("jane's")).unwrap();
        let lookalike = Entry::person(&site(), "person jane");
        assert_eq!(store.load_moving_legacy(&lookalike).unwrap(), None);
        store.save(&lookalike, &Secret::new("theirs")).unwrap();
        assert!(store.delete(&lookalike).unwrap());
        assert_eq!(store.load(&jane).unwrap().unwrap().expose(), "jane's");
    }
}
