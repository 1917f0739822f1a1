//! The tray icon and its menu. The menu is core's [`tray_menu`] (made from the same overview
//! the Accounts window shows), rebuilt whenever who is signed in changes; what an entry does
//! is an [`Action`].

use std::sync::{Mutex, PoisonError};

use fpt_login_core::actions::{Action, Entry, tray_menu};
use tauri::image::Image;
use tauri::menu::{CheckMenuItem, IsMenuItem, Menu, MenuItem, PredefinedMenuItem, Submenu};
use tauri::tray::TrayIconBuilder;
use tauri::{AppHandle, Runtime};

use crate::actions;
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

/// The menu items of core's menu `entries` (the tray menu's or a submenu's).
fn items<R: Runtime>(
    app: &AppHandle<R>,
    entries: Vec<Entry>,
    actions: &mut Actions,
) -> tauri::Result<Vec<Box<dyn IsMenuItem<R>>>> {
    let mut made: Vec<Box<dyn IsMenuItem<R>>> = Vec::with_capacity(entries.len());
    for entry in entries {
        made.push(match entry {
            // Read, not clicked: the id need not be unique.
            Entry::Text(text) => {
                Box::new(MenuItem::with_id(app, "text", text, false, None::<&str>)?)
            }
            Entry::Item {
                label,
                action,
                enabled,
            } => {
                let id = actions.id(action);
                Box::new(MenuItem::with_id(app, id, label, enabled, None::<&str>)?)
            }
            Entry::Check {
                label,
                action,
                checked,
            } => {
                let id = actions.id(action);
                Box::new(CheckMenuItem::with_id(
                    app,
                    id,
                    label,
                    true,
                    checked,
                    None::<&str>,
                )?)
            }
            Entry::Submenu { label, entries } => {
                let inner = items(app, entries, actions)?;
                Box::new(Submenu::with_items(app, label, true, &refs(&inner))?)
            }
            Entry::Separator => Box::new(PredefinedMenuItem::separator(app)?),
        });
    }
    Ok(made)
}

fn refs<R: Runtime>(items: &[Box<dyn IsMenuItem<R>>]) -> Vec<&dyn IsMenuItem<R>> {
    items.iter().map(AsRef::as_ref).collect()
}

fn build_menu<R: Runtime>(app: &AppHandle<R>) -> tauri::Result<(Menu<R>, String, Actions)> {
    let mut actions = Actions::new();
    let view = overview(app);
    let entries = tray_menu(&view, env!("FPT_LOGIN_VERSION"));
    let menu = Menu::with_items(app, &refs(&items(app, entries, &mut actions)?))?;
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
