//! Where secrets (session tokens, script keys) are kept: behind [`TokenStore`], implemented
//! by the OS keyring (Secret Service on Linux, Keychain on macOS, Credential Manager on
//! Windows, through the `keyring` crate with those backends compiled in explicitly). There is
//! no in-memory or file fallback in the product: when no keyring works, the user is told. An
//! in-memory store exists for unit tests only.

use std::fmt;

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
    /// The keyring account name: `<login> @ <site>` or `script <name> @ <site>`.
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

    /// The secret of `entry`, or `None` when there is none.
    fn load(&self, entry: &Entry) -> Result<Option<Secret>, StoreError>;

    /// Removes the secret; returns whether there was one.
    fn delete(&self, entry: &Entry) -> Result<bool, StoreError>;

    /// Writes, reads back and deletes a probe, so a missing or mock backend is found at
    /// start-up instead of when a token silently fails to persist.
    fn probe(&self) -> Result<(), StoreError>;
}

/// Secrets in the OS keyring, one entry per (site, person) or (site, script).
#[derive(Debug, Clone)]
pub struct KeyringStore {
    service: String,
}

impl Default for KeyringStore {
    fn default() -> Self {
        Self {
            service: SERVICE.to_owned(),
        }
    }
}

impl KeyringStore {
    fn entry(&self, account: &str) -> Result<keyring::Entry, StoreError> {
        keyring::Entry::new(&self.service, account)
            .map_err(|e| StoreError::from_keyring(account, e))
    }
}

impl TokenStore for KeyringStore {
    fn save(&self, entry: &Entry, secret: &Secret) -> Result<(), StoreError> {
        let account = entry.to_string();
        self.entry(&account)?
            .set_password(secret.expose())
            .map_err(|e| StoreError::from_keyring(&account, e))
    }

    fn load(&self, entry: &Entry) -> Result<Option<Secret>, StoreError> {
        let account = entry.to_string();
        match self.entry(&account)?.get_password() {
            Ok(secret) => Ok(Some(Secret::new(secret))),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(StoreError::from_keyring(&account, e)),
        }
    }

    fn delete(&self, entry: &Entry) -> Result<bool, StoreError> {
        let account = entry.to_string();
        match self.entry(&account)?.delete_credential() {
            Ok(()) => Ok(true),
            Err(keyring::Error::NoEntry) => Ok(false),
            Err(e) => Err(StoreError::from_keyring(&account, e)),
        }
    }

    /// The probe entry is this process's own, so processes starting together do not read each
    /// other's probe.
    fn probe(&self) -> Result<(), StoreError> {
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

    #[test]
    fn entries_are_named_as_before() {
        let site = Site::parse("https://a.example.com").unwrap();
        assert_eq!(
            Entry::person(&site, "jane").to_string(),
            "jane @ https://a.example.com"
        );
        assert_eq!(
            Entry::script(&site, "farm").to_string(),
            "script farm @ https://a.example.com"
        );
    }
}
