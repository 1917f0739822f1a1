//! What the desktop app shows of the accounts, in its tray menu and its Accounts window: one
//! view built from one read of the settings, so both say the same thing in the same words.

use serde::Serialize;

use crate::model::{Method, SessionState};
use crate::protocol::StatusInfo;
use crate::settings::Settings;
use crate::site::Site;

/// The tray's first line when the keyring cannot be used.
const KEYRING_HEADLINE: &str = "Keyring unavailable — see the sign-in window";
/// The tray's first line when the settings cannot be read.
const SETTINGS_HEADLINE: &str = "Error: cannot read the settings";
/// Said while someone is signed in and keep-alive is off.
const IDLE_WARNING: &str = "Keep-alive is off: sessions may idle out";

/// Everything the tray and the Accounts window show.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Overview {
    /// `<login> @ <site>` for the default site's current user, "Not signed in", or what stops
    /// the app from working.
    pub headline: String,
    /// What stops the app from working (the keyring, the settings), in full.
    pub problem: Option<String>,
    pub default_site: Option<Site>,
    /// Sites with someone signed in (a person or an API script), most recently used first.
    pub sites: Vec<SiteView>,
    /// Whether any person is signed in anywhere (what "Sign out" can act on).
    pub signed_in: bool,
    pub keep_alive: bool,
    /// Why sessions may end sooner than they would, when they may.
    pub idle_warning: Option<String>,
    pub toolkit_files: bool,
    pub autostart: bool,
}

/// One site and who is signed in to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SiteView {
    pub site: Site,
    pub is_default: bool,
    /// Who other programs get for this site: a login, `script NAME`, or nobody.
    pub current: Option<String>,
    pub people: Vec<PersonView>,
    /// API scripts with a key in the keyring.
    pub scripts: Vec<String>,
}

/// One signed-in person on a site.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PersonView {
    pub login: String,
    pub name: Option<String>,
    /// How they signed in, as the sign-in window names it.
    pub method: Option<&'static str>,
    /// The site's current user (other programs get this person for the site).
    pub current: bool,
    /// Other programs get this person when they name no site.
    pub is_default: bool,
    pub state: SessionState,
    /// The state in words, never a colour alone: "Signed in", "Needs attention", …
    pub state_text: &'static str,
    /// Why the session needs the person, when it does.
    pub attention: Option<String>,
    /// Epoch seconds, on this machine's clock, when the session is known to end.
    pub expires_at: Option<i64>,
    /// "ends in 7 h", "ended 3 min ago"; `None` when the site does not say.
    pub ends: Option<String>,
    /// The session cannot go on without the person: offer "Renew now".
    pub renew: bool,
}

/// Which window a start of the app (or a second launch handed to it) opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LaunchWindow {
    Nothing,
    SignIn,
    Accounts,
}

impl Overview {
    /// The view of `status` and `settings` at `now` (epoch seconds). Expiries are the site's
    /// word, on its clock: `clock_offset` (how far a site's clock is ahead of ours) puts them
    /// on ours, as the refresher and its notifications count them.
    pub fn new(
        status: &StatusInfo,
        settings: &Settings,
        now: i64,
        clock_offset: impl Fn(&Site) -> i64,
    ) -> Self {
        let default_site = status.default_site.clone();
        let sites: Vec<SiteView> = status
            .sites
            .iter()
            .filter(|s| !s.users.is_empty() || !s.scripts.is_empty())
            .map(|s| {
                let is_default = default_site.as_ref() == Some(&s.site);
                let offset = clock_offset(&s.site);
                let current = match (&s.current_script, &s.current_user) {
                    (Some(script), _) => Some(format!("script {script}")),
                    (None, user) => user.clone(),
                };
                let people = s
                    .users
                    .iter()
                    .map(|u| {
                        let current =
                            s.current_script.is_none() && s.current_user.as_ref() == Some(&u.login);
                        let expires_at = u.expires_at.map(|at| at.saturating_sub(offset));
                        PersonView {
                            login: u.login.clone(),
                            name: u.name.clone(),
                            method: u.method.map(Method::label),
                            current,
                            is_default: current && is_default,
                            state: u.state,
                            state_text: state_text(u.state),
                            attention: u.attention.clone(),
                            expires_at,
                            ends: expires_at.map(|at| ends_in(at, now)),
                            renew: u.state != SessionState::Active,
                        }
                    })
                    .collect();
                SiteView {
                    site: s.site.clone(),
                    is_default,
                    current,
                    people,
                    scripts: s.scripts.clone(),
                }
            })
            .collect();
        let signed_in = sites.iter().any(|s| !s.people.is_empty());
        let keep_alive = settings.keep_alive_enabled();
        Self {
            headline: headline(status),
            problem: None,
            default_site,
            sites,
            signed_in,
            keep_alive,
            idle_warning: (signed_in && !keep_alive).then(|| IDLE_WARNING.to_owned()),
            toolkit_files: settings.toolkit_files,
            autostart: settings.autostart,
        }
    }

    /// The view when the settings cannot be read: nothing to list, and why.
    pub fn unreadable(problem: String) -> Self {
        Self {
            headline: SETTINGS_HEADLINE.to_owned(),
            problem: Some(problem),
            ..Self::default()
        }
    }

    /// This view with the keyring's start-up failure on top: nothing can be stored until it
    /// is fixed, which matters more than who was signed in.
    #[must_use]
    pub fn with_keyring_error(mut self, error: Option<&str>) -> Self {
        if let Some(error) = error {
            KEYRING_HEADLINE.clone_into(&mut self.headline);
            self.problem = Some(error.to_owned());
        }
        self
    }

    /// Sessions whose current person must act, for "Renew now": the site, the person and why.
    pub fn needing_attention(&self) -> impl Iterator<Item = (&Site, &PersonView, String)> {
        self.sites.iter().flat_map(|s| {
            s.people.iter().filter(|p| p.current && p.renew).map(|p| {
                let why = p
                    .attention
                    .clone()
                    .unwrap_or_else(|| p.state.name().to_owned());
                (&s.site, p, why)
            })
        })
    }

    /// Which window a start opens. `--background` (starting at login) never opens one;
    /// `--site` asks for the sign-in window. Otherwise a person who starts the app from the
    /// menu wants to see where they stand: the Accounts window when anyone is signed in
    /// (desktops without a tray show nothing else), the sign-in window when nobody is.
    pub fn window_on_launch(&self, background: bool, site_given: bool) -> LaunchWindow {
        if background {
            LaunchWindow::Nothing
        } else if site_given || self.sites.is_empty() {
            LaunchWindow::SignIn
        } else {
            LaunchWindow::Accounts
        }
    }
}

/// What the tray's first line says: `<login> @ <site>` or "Not signed in".
fn headline(status: &StatusInfo) -> String {
    let current = status.default_site.as_ref().and_then(|site| {
        let s = status.sites.iter().find(|s| &s.site == site)?;
        Some((s.current_user.as_ref()?, site))
    });
    match current {
        Some((login, site)) => format!("{login} @ {site}"),
        None => "Not signed in".to_owned(),
    }
}

fn state_text(state: SessionState) -> &'static str {
    match state {
        SessionState::Active => "Signed in",
        SessionState::NeedsAttention => "Needs attention",
        SessionState::ClaimsLapsed => "Single sign-on lapsed",
        SessionState::Expired => "Expired",
    }
}

/// When a session ends, in words a person reads at a glance: "ends in 7 h", "ends in 1 h
/// 20 min", "ends in 12 min", "ended 3 min ago". Minutes matter only within a few hours.
pub fn ends_in(expires_at: i64, now: i64) -> String {
    let left = expires_at.saturating_sub(now);
    if left <= 0 {
        let ago = now.saturating_sub(expires_at);
        return if ago < 60 {
            "ended just now".to_owned()
        } else {
            format!("ended {} ago", span(ago))
        };
    }
    if left < 60 {
        return "ends in less than a minute".to_owned();
    }
    format!("ends in {}", span(left))
}

/// A positive number of seconds as "12 min", "1 h 20 min", "7 h", "2 days".
fn span(seconds: i64) -> String {
    const HOUR: i64 = 3600;
    const DAY: i64 = 24 * HOUR;
    let minutes = seconds / 60;
    let (hours, rest) = (seconds / HOUR, (seconds % HOUR) / 60);
    match seconds {
        s if s < HOUR => format!("{minutes} min"),
        s if s < 3 * HOUR && rest > 0 => format!("{hours} h {rest} min"),
        s if s < 2 * DAY => format!("{hours} h"),
        s => format!("{} days", s / DAY),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{SiteStatus, UserStatus};

    fn user(login: &str, state: SessionState, expires_at: Option<i64>) -> UserStatus {
        UserStatus {
            login: login.to_owned(),
            name: None,
            method: Some(Method::Web),
            signed_in_at: 1,
            expires_at,
            state,
            attention: None,
        }
    }

    fn site(url: &str, current: Option<&str>, users: Vec<UserStatus>) -> SiteStatus {
        SiteStatus {
            site: Site::parse(url).unwrap(),
            current_user: current.map(ToOwned::to_owned),
            users,
            scripts: vec![],
            current_script: None,
        }
    }

    #[test]
    fn headline_names_the_default_sites_current_user() {
        let a = site("http://127.0.0.1:8090", Some("artist"), vec![]);
        let mut status = StatusInfo {
            default_site: Some(a.site.clone()),
            sites: vec![a],
        };
        assert_eq!(headline(&status), "artist @ http://127.0.0.1:8090");
        status.sites[0].current_user = None;
        assert_eq!(headline(&status), "Not signed in");
        assert_eq!(headline(&StatusInfo::default()), "Not signed in");
    }

    #[test]
    fn every_signed_in_person_is_listed_with_state_expiry_and_what_to_offer() {
        let now = 1_000_000;
        let a = site(
            "https://a.example.com",
            Some("jane"),
            vec![
                user("jane", SessionState::NeedsAttention, Some(now + 600)),
                user("joe", SessionState::Active, None),
            ],
        );
        let mut b = site(
            "https://b.example.com",
            None,
            vec![user("kim", SessionState::Expired, Some(now - 7200))],
        );
        b.scripts = vec!["farm".to_owned()];
        b.current_script = Some("farm".to_owned());
        let gone = site("https://gone.example.com", None, vec![]);
        let status = StatusInfo {
            default_site: Some(a.site.clone()),
            sites: vec![a, b, gone],
        };
        let settings = Settings {
            keep_alive: Some(false),
            toolkit_files: true,
            ..Settings::default()
        };
        // Site a's clock runs 5 min ahead of ours.
        let ahead = |site: &Site| {
            if site.to_string().contains("//a.") {
                300
            } else {
                0
            }
        };
        let view = Overview::new(&status, &settings, now, ahead);

        assert_eq!(view.headline, "jane @ https://a.example.com");
        assert_eq!(
            view.sites.len(),
            2,
            "a site nobody is signed in to is left out"
        );
        let (a, b) = (&view.sites[0], &view.sites[1]);
        assert!(a.is_default && !b.is_default);
        let jane = &a.people[0];
        assert!(jane.current && jane.is_default && jane.renew);
        assert_eq!(jane.state_text, "Needs attention");
        assert_eq!(jane.ends.as_deref(), Some("ends in 5 min"), "on our clock");
        assert_eq!(jane.expires_at, Some(now + 300));
        assert_eq!(jane.method, Some(Method::Web.label()));
        let joe = &a.people[1];
        assert!(!joe.current && !joe.renew && joe.ends.is_none());
        assert_eq!(b.current.as_deref(), Some("script farm"));
        let kim = &b.people[0];
        assert!(!kim.current, "the script is the site's user");
        assert_eq!(kim.ends.as_deref(), Some("ended 2 h ago"));
        let attention: Vec<_> = view
            .needing_attention()
            .map(|(site, p, why)| (site.to_string(), p.login.clone(), why))
            .collect();
        assert_eq!(
            attention,
            [(
                "https://a.example.com".to_owned(),
                "jane".to_owned(),
                "needs attention".to_owned()
            )]
        );
        assert!(view.signed_in && !view.keep_alive && view.toolkit_files && !view.autostart);
        assert_eq!(view.idle_warning.as_deref(), Some(IDLE_WARNING));

        let broken = view.clone().with_keyring_error(Some("no Secret Service"));
        assert_eq!(broken.headline, KEYRING_HEADLINE);
        assert_eq!(broken.problem.as_deref(), Some("no Secret Service"));
        assert_eq!(view.clone().with_keyring_error(None), view);
    }

    #[test]
    fn a_start_opens_the_window_a_person_expects() {
        let nobody = Overview::default();
        let someone = Overview {
            sites: vec![SiteView {
                site: Site::parse("https://a.example.com").unwrap(),
                is_default: true,
                current: Some("jane".to_owned()),
                people: vec![],
                scripts: vec![],
            }],
            ..Overview::default()
        };
        assert_eq!(nobody.window_on_launch(false, false), LaunchWindow::SignIn);
        assert_eq!(
            someone.window_on_launch(false, false),
            LaunchWindow::Accounts
        );
        assert_eq!(someone.window_on_launch(false, true), LaunchWindow::SignIn);
        for view in [&nobody, &someone] {
            assert_eq!(view.window_on_launch(true, false), LaunchWindow::Nothing);
        }
    }

    #[test]
    fn ends_in_reads_at_a_glance() {
        let now = 50_000;
        let cases = [
            (now + 30, "ends in less than a minute"),
            (now + 12 * 60 + 59, "ends in 12 min"),
            (now + 3600 + 20 * 60, "ends in 1 h 20 min"),
            (now + 2 * 3600, "ends in 2 h"),
            (now + 7 * 3600 + 40 * 60, "ends in 7 h"),
            (now + 47 * 3600, "ends in 47 h"),
            (now + 3 * 86_400 + 5, "ends in 3 days"),
            (now, "ended just now"),
            (now - 180, "ended 3 min ago"),
        ];
        for (at, text) in cases {
            assert_eq!(ends_in(at, now), text, "{}", at - now);
        }
        // Whatever a hand-edited file holds, nothing overflows.
        assert_eq!(ends_in(i64::MAX, i64::MIN), "ends in 106751991167300 days");
        assert!(ends_in(i64::MIN, i64::MAX).starts_with("ended "));
    }
}
