//! The tray icon and its menu. Linux trays deliver no click events, so everything is in the
//! menu, and the menu is rebuilt whenever who is signed in changes. What it shows is core's
//! [`Overview`], as the Accounts window shows it; what it does is an [`Action`].

use std::sync::{Mutex, PoisonError};

use fpt_login_core::accounts::Overview;
use tauri::image::Image;
use tauri::menu::{CheckMenuItem, Menu, MenuItem, PredefinedMenuItem, Submenu};
use tauri::tray::TrayIconBuilder;
use tauri::{AppHandle, Runtime};

use crate::actions::{self, Action};
use crate::state::overview;

const TRAY_ID: &str = "fpt-login";

/// The menu on show: its number and its actions, by the index in their entry's id.
static ACTIONS: Mutex<(u64, Vec<Action>)> = Mutex::new((0, Vec::new()));

/// The actions of a menu being built. Ids carry the menu's number, so a click that arrives
/// from a menu already replaced (a renewal rebuilt it while it was open) does nothing rather
/// than what now sits at that place.
#[derive(Debug)]
struct Actions {
    menu: u64,
    actions: Vec<Action>,
}

impl Actions {
    fn new() -> Self {
        let on_show = ACTIONS.lock().unwrap_or_else(PoisonError::into_inner).0;
        Self {
            menu: on_show.wrapping_add(1),
            actions: Vec::new(),
        }
    }

    /// The id of an entry that does `action`.
    fn id(&mut self, action: Action) -> String {
        self.actions.push(action);
        format!("action-{}-{}", self.menu, self.actions.len() - 1)
    }

    /// The action of a clicked entry in the menu on show.
    fn of(id: &str) -> Option<Action> {
        let (menu, index) = id.strip_prefix("action-")?.split_once('-')?;
        let (menu, index): (u64, usize) = (menu.parse().ok()?, index.parse().ok()?);
        let on_show = ACTIONS.lock().unwrap_or_else(PoisonError::into_inner);
        (on_show.0 == menu).then(|| on_show.1.get(index).cloned())?
    }

    /// Makes these the actions of the menu on show.
    fn install(self) {
        *ACTIONS.lock().unwrap_or_else(PoisonError::into_inner) = (self.menu, self.actions);
    }
}

/// A plain menu entry; disabled ones are text lines.
fn item<R: Runtime>(
    app: &AppHandle<R>,
    id: impl AsRef<str>,
    text: impl AsRef<str>,
    enabled: bool,
) -> tauri::Result<MenuItem<R>> {
    MenuItem::with_id(app, id.as_ref(), text, enabled, None::<&str>)
}

fn check<R: Runtime>(
    app: &AppHandle<R>,
    id: impl AsRef<str>,
    text: impl AsRef<str>,
    checked: bool,
) -> tauri::Result<CheckMenuItem<R>> {
    CheckMenuItem::with_id(app, id.as_ref(), text, true, checked, None::<&str>)
}

/// "Default site": every signed-in person on every site, the default one checked. Only worth
/// showing with more than one.
fn default_submenu<R: Runtime>(
    app: &AppHandle<R>,
    view: &Overview,
    actions: &mut Actions,
) -> tauri::Result<Option<Submenu<R>>> {
    let people: Vec<_> = view
        .sites
        .iter()
        .flat_map(|s| s.people.iter().map(move |p| (&s.site, p)))
        .collect();
    if people.len() < 2 {
        return Ok(None);
    }
    let switch = Submenu::with_id(app, "default", "Default site", true)?;
    for (site, person) in people {
        let id = actions.id(Action::Use {
            site: site.clone(),
            login: person.login.clone(),
        });
        let text = format!("{} @ {site}", person.login);
        switch.append(&check(app, id, text, person.is_default)?)?;
    }
    Ok(Some(switch))
}

fn build_menu<R: Runtime>(app: &AppHandle<R>) -> tauri::Result<(Menu<R>, String, Actions)> {
    let mut actions = Actions::new();
    let view = overview(app);
    let menu = Menu::new(app)?;
    menu.append(&item(app, "headline", &view.headline, false)?)?;
    for (site, person, why) in view.needing_attention() {
        let text = format!("{} @ {site}: {why}", person.login);
        menu.append(&item(app, "why", text, false)?)?;
        let text = format!("Renew now ({site})…");
        let id = actions.id(Action::RenewNow { site: site.clone() });
        menu.append(&item(app, id, text, true)?)?;
    }
    if let Some(idle) = &view.idle_warning {
        menu.append(&item(app, "idle", idle, false)?)?;
    }
    menu.append(&PredefinedMenuItem::separator(app)?)?;
    if let Some(switch) = default_submenu(app, &view, &mut actions)? {
        menu.append(&switch)?;
    }
    menu.append(&item(app, actions.id(Action::SignIn), "Sign in…", true)?)?;
    let id = actions.id(Action::SignOut {
        site: None,
        login: None,
    });
    menu.append(&item(app, id, "Sign out", view.signed_in)?)?;
    let id = actions.id(Action::SignOutEverywhere);
    menu.append(&item(app, id, "Sign out everywhere", view.signed_in)?)?;
    menu.append(&PredefinedMenuItem::separator(app)?)?;
    // Each toggle asks for the opposite of what it shows.
    let id = actions.id(Action::SetKeepAlive {
        on: !view.keep_alive,
    });
    menu.append(&check(app, id, "Keep sessions alive", view.keep_alive)?)?;
    let toolkit_text = "Keep Toolkit's session files up to date";
    let id = actions.id(Action::SetToolkitFiles {
        on: !view.toolkit_files,
    });
    menu.append(&check(app, id, toolkit_text, view.toolkit_files)?)?;
    let id = actions.id(Action::SetAutostart {
        on: !view.autostart,
    });
    menu.append(&check(app, id, "Start at login", view.autostart)?)?;
    menu.append(&PredefinedMenuItem::separator(app)?)?;
    menu.append(&item(
        app,
        actions.id(Action::ShowAccounts),
        "Accounts…",
        true,
    )?)?;
    // Which build this is, for bug reports ("About" would be a window for one line).
    let version = concat!("FPT Login ", env!("FPT_LOGIN_VERSION"));
    menu.append(&item(app, "version", version, false)?)?;
    menu.append(&item(app, actions.id(Action::Quit), "Quit", true)?)?;
    Ok((menu, view.headline, actions))
}

fn on_menu<R: Runtime>(app: &AppHandle<R>, id: &str) {
    let Some(action) = Actions::of(id) else {
        return;
    };
    let app = app.clone();
    // `perform` logs the outcome; the menu has nowhere else to show it.
    tauri::async_runtime::spawn(async move {
        let _ = actions::perform(&app, action).await;
    });
}

/// Shows the latest state in the tray.
pub fn refresh<R: Runtime>(app: &AppHandle<R>) {
    let Some(tray) = app.tray_by_id(TRAY_ID) else {
        return;
    };
    match build_menu(app) {
        Ok((menu, text, actions)) => {
            tracing::info!(tray = %text, "tray updated");
            actions.install();
            let _ = tray.set_menu(Some(menu));
            let _ = tray.set_tooltip(Some(format!("FPT Login — {text}")));
        }
        Err(e) => tracing::error!(error = %e, "cannot update the tray menu"),
    }
}

pub fn create<R: Runtime>(app: &AppHandle<R>) -> tauri::Result<()> {
    let (menu, text, actions) = build_menu(app)?;
    actions.install();
    let icon = Image::from_bytes(include_bytes!("../../icons/tray.png"))?;
    TrayIconBuilder::with_id(TRAY_ID)
        .icon(icon)
        .tooltip(format!("FPT Login — {text}"))
        .menu(&menu)
        .on_menu_event(|app, event| on_menu(app, event.id().as_ref()))
        .build(app)?;
    tracing::info!(tray = %text, "tray ready");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use fpt_login_core::Site;

    #[test]
    fn entry_ids_map_back_to_their_actions_with_any_site_or_login() {
        // A login may hold anything a separator-based id would have split on.
        let site = Site::parse("https://a.example.com:8443").unwrap();
        let odd = "jane\u{1f}doe:@/".to_owned();
        let mut actions = Actions::new();
        let renew = actions.id(Action::RenewNow { site: site.clone() });
        let switch = actions.id(Action::Use {
            site: site.clone(),
            login: odd.clone(),
        });
        let quit = actions.id(Action::Quit);
        actions.install();
        assert_eq!(
            Actions::of(&renew),
            Some(Action::RenewNow { site: site.clone() })
        );
        assert_eq!(Actions::of(&switch), Some(Action::Use { site, login: odd }));
        assert_eq!(Actions::of(&quit), Some(Action::Quit));
        assert_eq!(Actions::of(&quit.replace("-2", "-99")), None);
        assert_eq!(Actions::of("headline"), None);
        // A click from a menu that was replaced meanwhile does nothing.
        let mut next = Actions::new();
        let sign_out = next.id(Action::SignOutEverywhere);
        next.install();
        assert_eq!(Actions::of(&renew), None, "an old menu's entry");
        assert_eq!(Actions::of(&sign_out), Some(Action::SignOutEverywhere));
    }
}
