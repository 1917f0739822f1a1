//! Taking over the sessions Toolkit's cache files hold: each is checked with its site first,
//! and each gets its own result, so one bad entry never hides the others.

use std::future::Future;

use serde::Serialize;

use super::{Expiry, SiteApi, validate};
use crate::model::Method;
use crate::paths::Paths;
use crate::protocol::NewSession;
use crate::site::Site;
use crate::toolkit::{CachedSession, ToolkitCache, ToolkitError};

/// What happened to one session of Toolkit's cache.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportReport {
    pub site: Site,
    /// The login as Toolkit recorded it, or as the site returned it once confirmed.
    pub login: String,
    #[serde(flatten)]
    pub result: ImportResult,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", content = "reason", rename_all = "snake_case")]
pub enum ImportResult {
    Imported,
    /// The site did not confirm the session (expired, unreachable, …).
    Skipped(String),
    /// Confirmed, but it could not be stored.
    NotStored(String),
}

impl ImportReport {
    /// One line for people: `imported jane @ https://…`, `skipped …: why`.
    pub fn line(&self) -> String {
        let who = format!("{} @ {}", self.login, self.site);
        match &self.result {
            ImportResult::Imported => format!("imported {who}"),
            ImportResult::Skipped(why) => format!("skipped {who}: {why}"),
            ImportResult::NotStored(why) => format!("could not store {who}: {why}"),
        }
    }
}

/// The sessions to offer to take over from Toolkit (`login @ site`, as the sign-in window lists
/// them): on FPT Login's first start only — no settings file yet at `paths` — so that a person
/// who already uses it is not asked again. Ask before anything writes the settings. A cache
/// that cannot be read offers nothing.
pub fn toolkit_offer(paths: &Paths) -> Vec<String> {
    offer_on_first_start(paths, || ToolkitCache::locate()?.sessions())
}

fn offer_on_first_start(
    paths: &Paths,
    found: impl FnOnce() -> Result<Vec<CachedSession>, ToolkitError>,
) -> Vec<String> {
    if paths.settings_file().exists() {
        return Vec::new();
    }
    found()
        .map(|found| {
            found
                .iter()
                .map(|s| format!("{} @ {}", s.login, s.site))
                .collect()
        })
        .unwrap_or_default()
}

/// Confirms each of `found` with its site (`connect` gives the site's client) and hands the
/// confirmed ones to `store`. Toolkit does not record how the person signed in; its default is
/// the App Session Launcher.
pub async fn import_toolkit_sessions<S, E, F>(
    found: Vec<CachedSession>,
    connect: impl Fn(&Site) -> Result<S, E>,
    mut store: impl FnMut(Site, NewSession) -> F,
) -> Vec<ImportReport>
where
    S: SiteApi,
    E: std::fmt::Display,
    F: Future<Output = Result<(), String>>,
{
    let mut reports = Vec::with_capacity(found.len());
    for session in found {
        let CachedSession { site, login, token } = session;
        let confirmed = match connect(&site) {
            Ok(api) => validate(
                &api,
                &login,
                token,
                Method::AppSessionLauncher,
                Expiry::default(),
            )
            .await
            .map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        let (login, result) = match confirmed {
            Ok(session) => {
                let login = session.login.clone();
                match store(site.clone(), session).await {
                    Ok(()) => (login, ImportResult::Imported),
                    Err(why) => (login, ImportResult::NotStored(why)),
                }
            }
            Err(why) => (login, ImportResult::Skipped(why)),
        };
        reports.push(ImportReport {
            site,
            login,
            result,
        });
    }
    reports
}

#[cfg(test)]
mod tests {
    use super::super::fake::FakeSite;
    use super::*;
    use crate::secret::Secret;

    #[test]
    fn toolkit_sessions_are_offered_on_the_first_start_only() {
        let tmp = tempfile::tempdir().unwrap();
        let paths = Paths::under(tmp.path().to_path_buf());
        let found = || {
            Ok(vec![
                cached("https://a.example.com", "jane", "t1"),
                cached("https://b.example.com", "joe", "t2"),
            ])
        };
        assert_eq!(
            offer_on_first_start(&paths, found),
            [
                "jane @ https://a.example.com",
                "joe @ https://b.example.com"
            ]
        );
        let unreadable = || Err(ToolkitError::NoRoot);
        assert!(offer_on_first_start(&paths, unreadable).is_empty());
        std::fs::create_dir_all(paths.settings_file().parent().unwrap()).unwrap();
        std::fs::write(paths.settings_file(), "{}").unwrap();
        assert!(offer_on_first_start(&paths, found).is_empty());
    }

    fn cached(site: &str, login: &str, token: &str) -> CachedSession {
        CachedSession {
            site: Site::parse(site).unwrap(),
            login: login.to_owned(),
            token: Secret::new(token),
        }
    }

    #[tokio::test]
    async fn each_session_gets_its_own_result() {
        let found = vec![
            cached("https://a.example.com", "Jane", FakeSite::TOKEN),
            cached("https://b.example.com", "jane", "expired"),
            cached("https://offline.example.com", "jane", FakeSite::TOKEN),
            cached("https://full.example.com", "jane", FakeSite::TOKEN),
        ];
        let connect = |site: &Site| {
            if site.host() == "offline.example.com" {
                Err("cannot reach the site")
            } else {
                Ok(FakeSite::sso().at(site.as_str()))
            }
        };
        let mut stored = Vec::new();
        let reports = import_toolkit_sessions(found, connect, |site: Site, session: NewSession| {
            let stored_now = if site.host() == "full.example.com" {
                Err("the keyring is locked".to_owned())
            } else {
                stored.push((site, session.login));
                Ok(())
            };
            std::future::ready(stored_now)
        })
        .await;
        let results: Vec<_> = reports.iter().map(|r| &r.result).collect();
        assert_eq!(results[0], &ImportResult::Imported);
        assert!(matches!(results[1], ImportResult::Skipped(why) if why.contains("refused")));
        assert!(matches!(results[2], ImportResult::Skipped(why) if why.contains("cannot reach")));
        assert!(matches!(results[3], ImportResult::NotStored(why) if why.contains("locked")));
        assert_eq!(reports[0].login, "jane", "the login the site returned");
        assert_eq!(
            stored,
            [(
                Site::parse("https://a.example.com").unwrap(),
                "jane".to_owned()
            )]
        );
        assert_eq!(reports[0].line(), "imported jane @ https://a.example.com");
        assert_eq!(
            serde_json::to_value(&reports[3]).unwrap(),
            serde_json::json!({"site": "https://full.example.com", "login": "jane",
                               "status": "not_stored", "reason": "the keyring is locked"})
        );
    }
}
