//! Session tokens in the OS keyring: Secret Service on Linux, Keychain on macOS, Credential
//! Manager on Windows, through the `keyring` crate with those backends compiled in
//! explicitly. There is no in-memory or file fallback: when no keyring works, the user is told.

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

/// Tokens in the OS keyring, one entry per (site, login).
#[derive(Debug, Clone)]
pub struct TokenStore {
    service: String,
}

impl Default for TokenStore {
    fn default() -> Self {
        Self {
            service: SERVICE.to_owned(),
        }
    }
}

impl TokenStore {
    /// The keyring account name of a user on a site: `<login> @ <site>`.
    pub fn account(site: &Site, login: &str) -> String {
        format!("{login} @ {site}")
    }

    fn entry(&self, account: &str) -> Result<keyring::Entry, StoreError> {
        keyring::Entry::new(&self.service, account)
            .map_err(|e| StoreError::from_keyring(account, e))
    }

    /// Writes, reads back and deletes a probe entry, so a missing or mock backend is found at
    /// start-up instead of when a token silently fails to persist.
    ///
    /// The entry is this process's own, so processes starting together do not read each
    /// other's probe.
    pub fn probe(&self) -> Result<(), StoreError> {
        let account = format!("self-test of process {}", std::process::id());
        let entry = self.entry(&account)?;
        let value = format!("probe-{}", crate::time::now());
        entry
            .set_password(&value)
            .map_err(|e| StoreError::from_keyring(&account, e))?;
        let read = entry
            .get_password()
            .map_err(|e| StoreError::from_keyring(&account, e))?;
        // Best effort: a leftover probe entry is harmless and is overwritten next time.
        let _ = entry.delete_credential();
        if read == value {
            Ok(())
        } else {
            Err(StoreError::ProbeMismatch)
        }
    }

    /// The keyring account name of an API script on a site: `script <name> @ <site>`.
    pub fn script_account(site: &Site, name: &str) -> String {
        format!("script {name} @ {site}")
    }

    pub fn save(&self, site: &Site, login: &str, token: &Secret) -> Result<(), StoreError> {
        self.save_account(&Self::account(site, login), token)
    }

    /// The token of `login` on `site`, or `None` when there is none.
    pub fn load(&self, site: &Site, login: &str) -> Result<Option<Secret>, StoreError> {
        self.load_account(&Self::account(site, login))
    }

    /// Removes the token; returns whether there was one.
    pub fn delete(&self, site: &Site, login: &str) -> Result<bool, StoreError> {
        self.delete_account(&Self::account(site, login))
    }

    pub fn save_script(&self, site: &Site, name: &str, key: &Secret) -> Result<(), StoreError> {
        self.save_account(&Self::script_account(site, name), key)
    }

    pub fn load_script(&self, site: &Site, name: &str) -> Result<Option<Secret>, StoreError> {
        self.load_account(&Self::script_account(site, name))
    }

    pub fn delete_script(&self, site: &Site, name: &str) -> Result<bool, StoreError> {
        self.delete_account(&Self::script_account(site, name))
    }

    fn save_account(&self, account: &str, secret: &Secret) -> Result<(), StoreError> {
        self.entry(account)?
            .set_password(secret.expose())
            .map_err(|e| StoreError::from_keyring(account, e))
    }

    fn load_account(&self, account: &str) -> Result<Option<Secret>, StoreError> {
        match self.entry(account)?.get_password() {
            Ok(secret) => Ok(Some(Secret::new(secret))),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(StoreError::from_keyring(account, e)),
        }
    }

    fn delete_account(&self, account: &str) -> Result<bool, StoreError> {
        match self.entry(account)?.delete_credential() {
            Ok(()) => Ok(true),
            Err(keyring::Error::NoEntry) => Ok(false),
            Err(e) => Err(StoreError::from_keyring(account, e)),
        }
    }
}
