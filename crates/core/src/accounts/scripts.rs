//! API scripts, for render farms and other unattended tools: their keys in the token store,
//! their names in the settings.

use super::{Accounts, AccountsError};
use crate::protocol::EventKind;
use crate::secret::Secret;
use crate::settings::push_recent;
use crate::site::Site;
use crate::store::Entry;
use crate::time;

impl Accounts {
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
        self.tokens.put(&Entry::script(site, name), key)?;
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
        self.events
            .announce(EventKind::SignedIn, site, Some(&who), None, None);
        Ok(())
    }

    /// Removes a script's key; returns whether there was one. A script that was the site's
    /// default user stops being it.
    pub fn remove_script(&self, site: &Site, name: &str) -> Result<bool, AccountsError> {
        let had_key = self.tokens.remove(&Entry::script(site, name))?;
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
}
