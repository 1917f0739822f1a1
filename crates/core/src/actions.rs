//! What a person can do from the tray menu or the Accounts window ([`Action`]), how each is
//! carried out ([`perform`]), and the tray menu itself as entries ([`tray_menu`]): one table of
//! actions and one menu, whichever tray draws it and whichever process shows the windows.

use serde::Deserialize;

use crate::accounts::{Accounts, AccountsError, Overview};
use crate::signin::{self, RenewNow};
use crate::site::{self, Site};

/// One thing a person can ask for. The Accounts window sends these as JSON tagged by `action`
/// (`{"action": "use", "site": …, "login": …}`); its sites are checked like typed input.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    /// Opens the sign-in window.
    SignIn,
    /// Opens the Accounts window.
    ShowAccounts,
    /// Signs `login` (the site's current user when absent) out of `site` (the default site
    /// when absent).
    SignOut {
        #[serde(default, deserialize_with = "site::deserialize_requested_opt")]
        site: Option<Site>,
        #[serde(default)]
        login: Option<String>,
    },
    SignOutEverywhere,
    /// The wanted value rather than a flip, so that a click on a view that was out of date
    /// does what it showed.
    SetKeepAlive {
        on: bool,
    },
    SetToolkitFiles {
        on: bool,
    },
    SetAutostart {
        on: bool,
    },
    Quit,
    /// The visible sign-in for a session that cannot be renewed silently.
    RenewNow {
        #[serde(deserialize_with = "site::deserialize_requested")]
        site: Site,
    },
    /// Makes `site` the default and `login` its current user.
    Use {
        #[serde(deserialize_with = "site::deserialize_requested")]
        site: Site,
        login: String,
    },
}

impl Action {
    /// What the action does, for the log.
    pub fn what(&self) -> &'static str {
        match self {
            Self::SignIn => "sign in",
            Self::ShowAccounts => "show the accounts",
            Self::SignOut { .. } => "sign out",
            Self::SignOutEverywhere => "sign out everywhere",
            Self::SetKeepAlive { .. } => "keep-alive",
            Self::SetToolkitFiles { .. } => "Toolkit's session files",
            Self::SetAutostart { .. } => "start at login",
            Self::Quit => "quit",
            Self::RenewNow { .. } => "renew now",
            Self::Use { .. } => "switch the default",
        }
    }
}

/// What is left to do once [`perform`] has changed the accounts and settings: what needs the
/// desktop (a window, the login item, ending the app).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    Done,
    ShowSignIn,
    ShowAccounts,
    Quit,
    /// "Renew now" for `site`: straight into the web sign-in, or the sign-in window with the
    /// site filled in ([`signin::renew_now`]).
    RenewNow {
        site: Site,
        how: RenewNow,
    },
    /// The start-at-login setting was written: the login item must follow it.
    ApplyAutostart,
}

/// Carries out the part of `action` that is the accounts' and the settings', and says what is
/// left for the desktop. Blocks (the keyring is reached over D-Bus): call it off the async
/// threads.
pub fn perform(accounts: &Accounts, action: Action) -> Result<Next, AccountsError> {
    match action {
        Action::SignIn => return Ok(Next::ShowSignIn),
        Action::ShowAccounts => return Ok(Next::ShowAccounts),
        Action::Quit => return Ok(Next::Quit),
        Action::RenewNow { site } => {
            // An unreadable settings file is no reason not to let the person sign in again.
            let settings = accounts.settings_file().load_shared().unwrap_or_default();
            let how = signin::renew_now(&settings, &site);
            return Ok(Next::RenewNow { site, how });
        }
        Action::SignOut { site, login } => {
            accounts.sign_out(site.as_ref(), login.as_deref())?;
        }
        Action::SignOutEverywhere => {
            accounts.sign_out_everywhere()?;
        }
        Action::Use { site, login } => {
            accounts.use_site(&site, Some(&login))?;
        }
        Action::SetKeepAlive { on } => {
            accounts
                .settings_file()
                .update(|s| s.keep_alive = Some(on))?;
        }
        Action::SetToolkitFiles { on } => {
            let written = accounts.set_toolkit_files(on)?;
            tracing::info!(on, written, "Toolkit's session files");
        }
        Action::SetAutostart { on } => {
            accounts.settings_file().update(|s| s.autostart = on)?;
            return Ok(Next::ApplyAutostart);
        }
    }
    Ok(Next::Done)
}

/// One entry of the tray menu.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// A line to read, not to click.
    Text(String),
    Item {
        label: String,
        action: Action,
        enabled: bool,
    },
    /// A toggle; its action asks for the opposite of what it shows.
    Check {
        label: String,
        action: Action,
        checked: bool,
    },
    Submenu {
        label: String,
        entries: Vec<Entry>,
    },
    Separator,
}

impl Entry {
    fn item(label: impl Into<String>, action: Action) -> Self {
        Self::Item {
            label: label.into(),
            action,
            enabled: true,
        }
    }
}

/// The tray menu for `view`. `version` is the build's, shown for bug reports ("About" would
/// be a window for one line). Linux trays deliver no click on the icon itself, so everything
/// the person can do is in here.
pub fn tray_menu(view: &Overview, version: &str) -> Vec<Entry> {
    let mut menu = vec![Entry::Text(view.headline.clone())];
    for (site, person, why) in view.needing_attention() {
        menu.push(Entry::Text(format!("{} @ {site}: {why}", person.login)));
        menu.push(Entry::item(
            format!("Renew now ({site})…"),
            Action::RenewNow { site: site.clone() },
        ));
    }
    if let Some(idle) = &view.idle_warning {
        menu.push(Entry::Text(idle.clone()));
    }
    menu.push(Entry::Separator);
    if let Some(switch) = default_submenu(view) {
        menu.push(switch);
    }
    menu.push(Entry::item("Sign in…", Action::SignIn));
    menu.push(Entry::Item {
        label: "Sign out".to_owned(),
        action: Action::SignOut {
            site: None,
            login: None,
        },
        enabled: view.signed_in,
    });
    menu.push(Entry::Item {
        label: "Sign out everywhere".to_owned(),
        action: Action::SignOutEverywhere,
        enabled: view.signed_in,
    });
    menu.push(Entry::Separator);
    let toggles = [
        (
            "Keep sessions alive",
            view.keep_alive,
            Action::SetKeepAlive {
                on: !view.keep_alive,
            },
        ),
        (
            "Keep Toolkit's session files up to date",
            view.toolkit_files,
            Action::SetToolkitFiles {
                on: !view.toolkit_files,
            },
        ),
        (
            "Start at login",
            view.autostart,
            Action::SetAutostart {
                on: !view.autostart,
            },
        ),
    ];
    menu.extend(
        toggles
            .into_iter()
            .map(|(label, checked, action)| Entry::Check {
                label: label.to_owned(),
                action,
                checked,
            }),
    );
    menu.push(Entry::Separator);
    menu.push(Entry::item("Accounts…", Action::ShowAccounts));
    menu.push(Entry::Text(format!("FPT Login {version}")));
    menu.push(Entry::item("Quit", Action::Quit));
    menu
}

/// "Default site": every signed-in person on every site, the default one checked. Only worth
/// showing with more than one.
fn default_submenu(view: &Overview) -> Option<Entry> {
    let entries: Vec<Entry> = view
        .sites
        .iter()
        .flat_map(|s| {
            s.people.iter().map(|person| Entry::Check {
                label: format!("{} @ {}", person.login, s.site),
                action: Action::Use {
                    site: s.site.clone(),
                    login: person.login.clone(),
                },
                checked: person.is_default,
            })
        })
        .collect();
    (entries.len() >= 2).then(|| Entry::Submenu {
        label: "Default site".to_owned(),
        entries,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounts::overview::{PersonView, SiteView};
    use crate::model::Method;
    use crate::model::SessionState;
    use serde_json::json;

    fn person(login: &str, is_default: bool, state: SessionState) -> PersonView {
        PersonView {
            login: login.to_owned(),
            name: None,
            method: None,
            current: true,
            is_default,
            state,
            state_text: "",
            attention: None,
            expires_at: None,
            ends: None,
            renew: state != SessionState::Active,
        }
    }

    fn site_view(url: &str, people: Vec<PersonView>) -> SiteView {
        SiteView {
            site: Site::parse(url).unwrap(),
            is_default: people.iter().any(|p| p.is_default),
            current: people.first().map(|p| p.login.clone()),
            people,
            scripts: vec![],
        }
    }

    fn labels(menu: &[Entry]) -> Vec<String> {
        menu.iter()
            .map(|e| match e {
                Entry::Text(text) => format!("({text})"),
                Entry::Item { label, enabled, .. } => {
                    format!("{label}{}", if *enabled { "" } else { " [off]" })
                }
                Entry::Check { label, checked, .. } => {
                    format!("{label} [{}]", if *checked { "x" } else { " " })
                }
                Entry::Submenu { label, entries } => format!("{label} > {}", entries.len()),
                Entry::Separator => "---".to_owned(),
            })
            .collect()
    }

    fn action_of<'a>(menu: &'a [Entry], wanted: &str) -> &'a Action {
        menu.iter()
            .find_map(|e| match e {
                Entry::Item { label, action, .. } | Entry::Check { label, action, .. }
                    if label == wanted =>
                {
                    Some(action)
                }
                _ => None,
            })
            .unwrap_or_else(|| panic!("no entry {wanted}"))
    }

    #[test]
    fn nobody_signed_in_can_sign_in_but_not_out() {
        let view = Overview {
            headline: "Not signed in".to_owned(),
            keep_alive: true,
            ..Overview::default()
        };
        assert_eq!(
            labels(&tray_menu(&view, "1.2.3 (abc)")),
            [
                "(Not signed in)",
                "---",
                "Sign in…",
                "Sign out [off]",
                "Sign out everywhere [off]",
                "---",
                "Keep sessions alive [x]",
                "Keep Toolkit's session files up to date [ ]",
                "Start at login [ ]",
                "---",
                "Accounts…",
                "(FPT Login 1.2.3 (abc))",
                "Quit",
            ]
        );
    }

    #[test]
    fn toggles_ask_for_the_opposite_of_what_they_show() {
        let view = Overview {
            keep_alive: true,
            toolkit_files: false,
            autostart: true,
            ..Overview::default()
        };
        let menu = tray_menu(&view, "v");
        assert_eq!(
            action_of(&menu, "Keep sessions alive"),
            &Action::SetKeepAlive { on: false }
        );
        assert_eq!(
            action_of(&menu, "Keep Toolkit's session files up to date"),
            &Action::SetToolkitFiles { on: true }
        );
        assert_eq!(
            action_of(&menu, "Start at login"),
            &Action::SetAutostart { on: false }
        );
    }

    #[test]
    fn a_session_needing_the_person_says_why_and_offers_renew_now() {
        let mut lapsed = person("jane", true, SessionState::ClaimsLapsed);
        lapsed.attention = Some("single sign-on lapsed".to_owned());
        let view = Overview {
            headline: "jane @ https://a.example.com".to_owned(),
            sites: vec![site_view("https://a.example.com", vec![lapsed])],
            signed_in: true,
            idle_warning: Some("Keep-alive is off: sessions may idle out".to_owned()),
            ..Overview::default()
        };
        let menu = tray_menu(&view, "v");
        assert_eq!(
            labels(&menu)[..5],
            [
                "(jane @ https://a.example.com)",
                "(jane @ https://a.example.com: single sign-on lapsed)",
                "Renew now (https://a.example.com)…",
                "(Keep-alive is off: sessions may idle out)",
                "---",
            ]
        );
        assert_eq!(
            action_of(&menu, "Renew now (https://a.example.com)…"),
            &Action::RenewNow {
                site: Site::parse("https://a.example.com").unwrap()
            }
        );
        assert!(labels(&menu).contains(&"Sign out".to_owned()));
        // One person: nothing to switch between.
        assert!(!menu.iter().any(|e| matches!(e, Entry::Submenu { .. })));
    }

    #[test]
    fn two_people_can_be_switched_between_with_the_default_checked() {
        let view = Overview {
            sites: vec![
                site_view(
                    "https://a.example.com",
                    vec![person("jane", true, SessionState::Active)],
                ),
                site_view(
                    "https://b.example.com",
                    vec![person("joe", false, SessionState::Active)],
                ),
            ],
            signed_in: true,
            ..Overview::default()
        };
        let menu = tray_menu(&view, "v");
        let Some(Entry::Submenu { label, entries }) =
            menu.iter().find(|e| matches!(e, Entry::Submenu { .. }))
        else {
            panic!("no submenu in {:?}", labels(&menu));
        };
        assert_eq!(label, "Default site");
        assert_eq!(
            labels(entries),
            [
                "jane @ https://a.example.com [x]",
                "joe @ https://b.example.com [ ]"
            ]
        );
        assert_eq!(
            action_of(entries, "joe @ https://b.example.com"),
            &Action::Use {
                site: Site::parse("https://b.example.com").unwrap(),
                login: "joe".to_owned()
            }
        );
    }

    #[test]
    fn the_window_names_actions_as_json_and_its_sites_are_checked() {
        let parse = |v: serde_json::Value| serde_json::from_value::<Action>(v);
        let site = Site::parse("https://a.example.com").unwrap();
        assert_eq!(
            parse(json!({"action": "use", "site": "A.example.com", "login": "jane"})).unwrap(),
            Action::Use {
                site: site.clone(),
                login: "jane".into()
            }
        );
        assert_eq!(
            parse(json!({"action": "sign_out", "site": "https://a.example.com", "login": "jane"}))
                .unwrap(),
            Action::SignOut {
                site: Some(site),
                login: Some("jane".into())
            }
        );
        assert_eq!(
            parse(json!({"action": "sign_out"})).unwrap(),
            Action::SignOut {
                site: None,
                login: None
            }
        );
        assert_eq!(
            parse(json!({"action": "set_keep_alive", "on": false})).unwrap(),
            Action::SetKeepAlive { on: false }
        );
        // Plain http only for this machine, as for any site typed or sent by a program.
        assert!(parse(json!({"action": "renew_now", "site": "http://evil.example.com"})).is_err());
        assert!(parse(json!({"action": "format_disk"})).is_err());
    }

    fn signed_in(accounts: &Accounts, url: &str, login: &str, method: Method) -> Site {
        let site = Site::parse(url).unwrap();
        let session = crate::protocol::NewSession {
            login: login.to_owned(),
            token: crate::Secret::new("token"),
            user_id: Some(1),
            name: None,
            method,
            claims_expire_at: None,
            session_expires_at: None,
        };
        accounts
            .sign_in(&site, &session, crate::method::Pick::Offered)
            .unwrap();
        site
    }

    #[test]
    fn performing_changes_the_accounts_and_leaves_the_windows_to_the_desktop() {
        let tmp = tempfile::tempdir().unwrap();
        let accounts = Accounts::in_memory(&crate::paths::Paths::under(tmp.path().into()));
        let a = signed_in(&accounts, "https://a.example.com", "jane", Method::Web);
        let b = signed_in(
            &accounts,
            "https://b.example.com",
            "joe",
            Method::Credentials,
        );
        let perform = |action| perform(&accounts, action).unwrap();

        assert_eq!(perform(Action::SignIn), Next::ShowSignIn);
        assert_eq!(perform(Action::ShowAccounts), Next::ShowAccounts);
        assert_eq!(perform(Action::Quit), Next::Quit);
        // "Renew now" goes back the way the person came in.
        assert_eq!(
            perform(Action::RenewNow { site: a.clone() }),
            Next::RenewNow {
                site: a.clone(),
                how: RenewNow::Web
            }
        );
        assert_eq!(
            perform(Action::RenewNow { site: b.clone() }),
            Next::RenewNow {
                site: b.clone(),
                how: RenewNow::Window
            }
        );

        assert_eq!(
            perform(Action::Use {
                site: a.clone(),
                login: "jane".to_owned()
            }),
            Next::Done
        );
        assert_eq!(
            accounts.user(None, None).unwrap().site,
            a,
            "the default site"
        );

        assert_eq!(perform(Action::SetKeepAlive { on: false }), Next::Done);
        assert!(
            !accounts
                .settings_file()
                .load_shared()
                .unwrap()
                .keep_alive_enabled()
        );
        assert_eq!(
            perform(Action::SetAutostart { on: true }),
            Next::ApplyAutostart,
            "the login item follows the setting"
        );
        assert!(accounts.settings_file().load_shared().unwrap().autostart);

        assert_eq!(
            perform(Action::SignOut {
                site: Some(b.clone()),
                login: None
            }),
            Next::Done
        );
        assert!(accounts.user(Some(&b), None).is_err(), "joe is signed out");
        assert!(accounts.user(Some(&a), None).is_ok(), "jane is not");
        assert_eq!(perform(Action::SignOutEverywhere), Next::Done);
        assert!(accounts.user(Some(&a), None).is_err());
    }
}
