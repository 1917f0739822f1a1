//! Secrets with a cache in front of the store: a keyring round trip costs milliseconds and
//! the app answers many `get_user` calls for the same token.
//!
//! One lock covers each store call together with its cache update, so a reader that missed
//! the cache can never put back a token a writer has just replaced (a `get_user` racing a
//! renewal never caches, or returns after the store, the old token).

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::secret::Secret;
use crate::store::{Entry, Owner, StoreError, TokenStore};

#[derive(Debug)]
pub struct Tokens {
    store: Box<dyn TokenStore>,
    cache: Mutex<HashMap<Entry, Secret>>,
}

impl Tokens {
    pub fn new(store: Box<dyn TokenStore>) -> Self {
        Self {
            store,
            cache: Mutex::default(),
        }
    }

    fn cache(&self) -> MutexGuard<'_, HashMap<Entry, Secret>> {
        // The map is consistent after any panic (inserts and removes are single calls).
        self.cache.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn get(&self, entry: &Entry) -> Result<Option<Secret>, StoreError> {
        self.read(entry, |store, entry| store.load(entry))
    }

    /// [`Tokens::get`], moving a secret an earlier release kept under another name to the
    /// current one; only with the settings lock held (see [`TokenStore::load_moving_legacy`]).
    pub fn get_moving_legacy(&self, entry: &Entry) -> Result<Option<Secret>, StoreError> {
        self.read(entry, |store, entry| store.load_moving_legacy(entry))
    }

    /// The secret an earlier release kept for `entry` under another name, read only and not
    /// cached: whether there is anything to move.
    pub fn legacy(&self, entry: &Entry) -> Result<Option<Secret>, StoreError> {
        self.store.load_legacy(entry)
    }

    fn read(
        &self,
        entry: &Entry,
        load: impl FnOnce(&dyn TokenStore, &Entry) -> Result<Option<Secret>, StoreError>,
    ) -> Result<Option<Secret>, StoreError> {
        // Script keys are written by `fpt-login script add` in its own process, straight to
        // the store, even while the app runs: a cached key would outlive its replacement.
        if matches!(entry.owner, Owner::Script(_)) {
            return load(&*self.store, entry);
        }
        let mut cache = self.cache();
        if let Some(secret) = cache.get(entry) {
            return Ok(Some(secret.clone()));
        }
        let secret = load(&*self.store, entry)?;
        if let Some(secret) = &secret {
            cache.insert(entry.clone(), secret.clone());
        }
        Ok(secret)
    }

    /// Stores `secret`; the cache serves it from the moment the store has it.
    pub fn put(&self, entry: &Entry, secret: &Secret) -> Result<(), StoreError> {
        let mut cache = self.cache();
        // Dropped first: if the store fails, what it holds now is unknown.
        cache.remove(entry);
        self.store.save(entry, secret)?;
        cache.insert(entry.clone(), secret.clone());
        Ok(())
    }

    /// Removes the secret; returns whether there was one.
    pub fn remove(&self, entry: &Entry) -> Result<bool, StoreError> {
        let mut cache = self.cache();
        cache.remove(entry);
        self.store.delete(entry)
    }

    pub fn probe(&self) -> Result<(), StoreError> {
        self.store.probe()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::site::Site;
    use crate::store::MemoryStore;

    #[test]
    fn readers_racing_writers_never_see_a_replaced_token_after_the_write() {
        let tokens = Arc::new(Tokens::new(Box::new(MemoryStore::default())));
        let site = Site::parse("https://a.example.com").unwrap();
        let entry = Entry::person(&site, "jane");
        tokens.put(&entry, &Secret::new("0")).unwrap();
        std::thread::scope(|scope| {
            for _ in 0..4 {
                let (tokens, entry) = (Arc::clone(&tokens), entry.clone());
                scope.spawn(move || {
                    // Versions only go up: a reader seeing one lower than what it saw before
                    // got an old token after the new one was stored.
                    let mut seen = 0_u32;
                    for _ in 0..2_000 {
                        let token = tokens.get(&entry).unwrap().unwrap();
                        let version: u32 = token.expose().parse().unwrap();
                        assert!(version >= seen, "{version} after {seen}");
                        seen = version;
                    }
                });
            }
            for version in 1..=200 {
                tokens
                    .put(&entry, &Secret::new(version.to_string()))
                    .unwrap();
                let now = tokens.get(&entry).unwrap().unwrap();
                assert_eq!(now.expose(), version.to_string());
            }
        });
    }

    /// Two `Tokens` on one store: the app's, and a CLI process's writing beside it.
    #[derive(Debug, Clone, Default)]
    struct Shared(Arc<MemoryStore>);

    impl TokenStore for Shared {
        fn save(&self, entry: &Entry, secret: &Secret) -> Result<(), StoreError> {
            self.0.save(entry, secret)
        }
        fn load(&self, entry: &Entry) -> Result<Option<Secret>, StoreError> {
            self.0.load(entry)
        }
        fn delete(&self, entry: &Entry) -> Result<bool, StoreError> {
            self.0.delete(entry)
        }
        fn probe(&self) -> Result<(), StoreError> {
            Ok(())
        }
    }

    #[test]
    fn a_script_key_replaced_by_another_process_is_served_at_once() {
        let store = Shared::default();
        let app = Tokens::new(Box::new(store.clone()));
        let cli = Tokens::new(Box::new(store));
        let site = Site::parse("https://a.example.com").unwrap();
        let farm = Entry::script(&site, "farm");
        cli.put(&farm, &Secret::new("old key")).unwrap();
        assert_eq!(app.get(&farm).unwrap().unwrap().expose(), "old key");
        cli.put(&farm, &Secret::new("rotated key")).unwrap();
        assert_eq!(app.get(&farm).unwrap().unwrap().expose(), "rotated key");
        cli.remove(&farm).unwrap();
        assert!(app.get(&farm).unwrap().is_none());
    }

    #[test]
    fn a_removed_token_is_not_served_from_the_cache() {
        let tokens = Tokens::new(Box::new(MemoryStore::default()));
        let site = Site::parse("https://a.example.com").unwrap();
        let entry = Entry::person(&site, "jane");
        tokens.put(&entry, &Secret::new("t")).unwrap();
        assert!(tokens.remove(&entry).unwrap());
        assert!(tokens.get(&entry).unwrap().is_none());
        assert!(!tokens.remove(&entry).unwrap());
    }
}
