//! The tray icon and its menu. Linux trays deliver no click events, so everything is in the
//! menu, and the menu is rebuilt whenever who is signed in changes.

use std::sync::{Arc, Mutex, PoisonError};

use fpt_login_core::model::Method;
use fpt_login_core::protocol::{SessionState, StatusInfo};
use fpt_login_core::settings::Settings;
use fpt_login_core::{Accounts, AccountsError, Site};
use tauri::image::Image;
use tauri::menu::{CheckMenuItem, Menu, MenuItem, PredefinedMenuItem, Submenu};
use tauri::tray::TrayIconBuilder;
use tauri::{AppHandle, Manager as _, Runtime};
use tokio::sync::broadcast::error::RecvError;

use crate::{AppState, login, show_main_window};

const TRAY_ID: &str = "fpt-login";

/// What a menu entry does. Entries carry an id that indexes the current menu's actions, so a
/// site or login never has to be parsed back out of an id.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Action {
    SignIn,
    SignOut,
    SignOutEverywhere,
    ToggleKeepAlive,
    ToggleToolkitFiles,
    ToggleAutostart,
    Quit,
    RenewNow(Site),
    Use { site: Site, login: String },
}

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

/// What the tray's first line says: `<login> @ <site>` or "Not signed in".
pub fn headline(status: &StatusInfo) -> String {
    let current = status.default_site.as_ref().and_then(|site| {
        let s = status.sites.iter().find(|s| &s.site == site)?;
        Some((s.current_user.as_ref()?, site))
    });
    match current {
        Some((login, site)) => format!("{login} @ {site}"),
        None => "Not signed in".to_owned(),
    }
}

/// Sessions that need the person: the site, the login and why.
fn needing_attention(status: &StatusInfo) -> Vec<(Site, String, String)> {
    status
        .sites
        .iter()
        .filter_map(|s| {
            let login = s.current_user.as_ref()?;
            let user = s.users.iter().find(|u| &u.login == login)?;
            (user.state != SessionState::Active).then(|| {
                let why = user
                    .attention
                    .clone()
                    .unwrap_or_else(|| user.state.name().to_owned());
                (s.site.clone(), login.clone(), why)
            })
        })
        .collect()
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
    status: &StatusInfo,
    actions: &mut Actions,
) -> tauri::Result<Option<Submenu<R>>> {
    let sessions: Vec<(&Site, &String, bool)> = status
        .sites
        .iter()
        .flat_map(|s| {
            let default = status.default_site.as_ref() == Some(&s.site);
            s.users.iter().map(move |u| {
                let current = default && s.current_user.as_ref() == Some(&u.login);
                (&s.site, &u.login, current)
            })
        })
        .collect();
    if sessions.len() < 2 {
        return Ok(None);
    }
    let switch = Submenu::with_id(app, "default", "Default site", true)?;
    for (site, login, current) in sessions {
        let id = actions.id(Action::Use {
            site: site.clone(),
            login: login.clone(),
        });
        switch.append(&check(app, id, format!("{login} @ {site}"), current)?)?;
    }
    Ok(Some(switch))
}

fn build_menu<R: Runtime>(app: &AppHandle<R>) -> tauri::Result<(Menu<R>, String, Actions)> {
    let mut actions = Actions::new();
    let state = app.state::<AppState>();
    let status = state.accounts.status().ok();
    let text = match (&state.keyring_error, &status) {
        (Some(_), _) => "Keyring unavailable — see the sign-in window".to_owned(),
        (None, Some(status)) => headline(status),
        (None, None) => "Error: cannot read the settings".to_owned(),
    };
    let status = status.unwrap_or_default();
    let settings = state.accounts.settings_file().load_shared().ok();
    let setting = |f: fn(&Settings) -> bool| settings.as_deref().is_some_and(f);
    let signed_in = status.sites.iter().any(|s| !s.users.is_empty());
    let menu = Menu::new(app)?;
    menu.append(&item(app, "headline", &text, false)?)?;
    for (site, login, why) in needing_attention(&status) {
        menu.append(&item(
            app,
            "why",
            format!("{login} @ {site}: {why}"),
            false,
        )?)?;
        let text = format!("Renew now ({site})…");
        menu.append(&item(app, actions.id(Action::RenewNow(site)), text, true)?)?;
    }
    if signed_in && !setting(Settings::keep_alive_enabled) {
        let idle = "Keep-alive is off: sessions may idle out";
        menu.append(&item(app, "idle", idle, false)?)?;
    }
    menu.append(&PredefinedMenuItem::separator(app)?)?;
    if let Some(switch) = default_submenu(app, &status, &mut actions)? {
        menu.append(&switch)?;
    }
    menu.append(&item(app, actions.id(Action::SignIn), "Sign in…", true)?)?;
    let id = actions.id(Action::SignOut);
    menu.append(&item(app, id, "Sign out", signed_in)?)?;
    let id = actions.id(Action::SignOutEverywhere);
    menu.append(&item(app, id, "Sign out everywhere", signed_in)?)?;
    menu.append(&PredefinedMenuItem::separator(app)?)?;
    let keep_alive = setting(Settings::keep_alive_enabled);
    let id = actions.id(Action::ToggleKeepAlive);
    menu.append(&check(app, id, "Keep sessions alive", keep_alive)?)?;
    let toolkit = setting(|s| s.toolkit_files);
    let toolkit_text = "Keep Toolkit's session files up to date";
    let id = actions.id(Action::ToggleToolkitFiles);
    menu.append(&check(app, id, toolkit_text, toolkit)?)?;
    let autostart = setting(|s| s.autostart);
    let id = actions.id(Action::ToggleAutostart);
    menu.append(&check(app, id, "Start at login", autostart)?)?;
    menu.append(&PredefinedMenuItem::separator(app)?)?;
    // Which build this is, for bug reports ("About" would be a window for one line).
    let version = concat!("FPT Login ", env!("FPT_LOGIN_VERSION"));
    menu.append(&item(app, "version", version, false)?)?;
    menu.append(&item(app, actions.id(Action::Quit), "Quit", true)?)?;
    Ok((menu, text, actions))
}

fn on_menu<R: Runtime>(app: &AppHandle<R>, id: &str) {
    let Some(action) = Actions::of(id) else {
        return;
    };
    match action {
        Action::SignIn => show_main_window(app),
        Action::SignOut => in_background(app, "sign out", |a| a.sign_out(None, None).map(drop)),
        Action::SignOutEverywhere => in_background(app, "sign out everywhere", |a| {
            a.sign_out_everywhere().map(drop)
        }),
        Action::ToggleToolkitFiles => toggle_toolkit_files(app),
        Action::ToggleKeepAlive => in_background(app, "keep-alive", |a| {
            a.settings_file()
                .update(|s| s.keep_alive = Some(!s.keep_alive_enabled()))
                .map(drop)
                .map_err(Into::into)
        }),
        Action::ToggleAutostart => toggle_autostart(app),
        Action::Quit => app.exit(0),
        Action::RenewNow(site) => renew_now(app, &site),
        Action::Use { site, login } => in_background(app, "switch the default", move |a| {
            a.use_site(&site, Some(&login)).map(drop)
        }),
    }
}

/// "Renew now": the visible sign-in for the site, the way its person signed in.
fn renew_now<R: Runtime>(app: &AppHandle<R>, site: &Site) {
    let state = app.state::<AppState>();
    let settings = state.accounts.settings_file().load_shared().ok();
    let method = settings
        .as_deref()
        .and_then(|s| s.current_session(site)?.1.method);
    if method == Some(Method::Web) {
        login::open_web_sign_in(app, site);
    } else {
        *state.prefill_site.lock().expect("prefill lock") = Some(site.to_string());
        show_main_window(app);
    }
}

/// Runs an accounts change off the main thread (the keyring blocks on D-Bus); the tray follows
/// through the change it announces.
fn in_background<R: Runtime>(
    app: &AppHandle<R>,
    what: &'static str,
    change: impl FnOnce(&Accounts) -> Result<(), AccountsError> + Send + 'static,
) {
    let accounts = Arc::clone(&app.state::<AppState>().accounts);
    let app = app.clone();
    tauri::async_runtime::spawn_blocking(move || {
        match change(&accounts) {
            Ok(()) => tracing::info!("{what} from the tray"),
            Err(e) => tracing::error!(error = %e, "{what} failed"),
        }
        refresh(&app);
    });
}

/// Makes the login item match the setting.
pub fn apply_autostart<R: Runtime>(app: &AppHandle<R>) {
    use tauri_plugin_autostart::ManagerExt as _;
    let wanted = app
        .state::<AppState>()
        .accounts
        .settings_file()
        .load_shared()
        .is_ok_and(|s| s.autostart);
    let launcher = app.autolaunch();
    let result = match (wanted, launcher.is_enabled()) {
        (true, Ok(false) | Err(_)) => launcher.enable(),
        (false, Ok(true)) => launcher.disable(),
        _ => Ok(()),
    };
    match result {
        Ok(()) => tracing::info!(autostart = wanted, "start at login"),
        Err(e) => tracing::error!(error = %e, "cannot change starting at login"),
    }
}

fn toggle_autostart<R: Runtime>(app: &AppHandle<R>) {
    let accounts = Arc::clone(&app.state::<AppState>().accounts);
    let app = app.clone();
    tauri::async_runtime::spawn_blocking(move || {
        match accounts
            .settings_file()
            .update(|s| s.autostart = !s.autostart)
        {
            Ok(_) => apply_autostart(&app),
            Err(e) => tracing::error!(error = %e, "cannot change starting at login"),
        }
        refresh(&app);
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

    // Whoever changes the accounts (a sign-in here, a logout over the socket), the tray follows.
    let mut changes = app.state::<AppState>().accounts.subscribe();
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        // A lagged receiver only means several changes at once: one refresh covers them.
        while !matches!(changes.recv().await, Err(RecvError::Closed)) {
            refresh(&app);
        }
    });
    Ok(())
}

fn toggle_toolkit_files<R: Runtime>(app: &AppHandle<R>) {
    let accounts = Arc::clone(&app.state::<AppState>().accounts);
    let app = app.clone();
    tauri::async_runtime::spawn_blocking(move || {
        let enable = !accounts
            .settings_file()
            .load()
            .is_ok_and(|s| s.toolkit_files);
        match accounts.set_toolkit_files(enable) {
            Ok(written) => tracing::info!(enable, written, "Toolkit's session files"),
            Err(e) => tracing::error!(error = %e, "cannot change Toolkit's session files"),
        }
        refresh(&app);
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use fpt_login_core::Site;
    use fpt_login_core::protocol::SiteStatus;

    #[test]
    fn headline_names_the_default_sites_current_user() {
        let site = Site::parse("http://127.0.0.1:8090").unwrap();
        let mut status = StatusInfo {
            default_site: Some(site.clone()),
            sites: vec![SiteStatus {
                site,
                current_user: Some("artist".into()),
                users: vec![],
                scripts: vec![],
                current_script: None,
            }],
        };
        assert_eq!(headline(&status), "artist @ http://127.0.0.1:8090");
        status.sites[0].current_user = None;
        assert_eq!(headline(&status), "Not signed in");
        assert_eq!(headline(&StatusInfo::default()), "Not signed in");
    }

    #[test]
    fn entry_ids_map_back_to_their_actions_with_any_site_or_login() {
        // A login may hold anything a separator-based id would have split on.
        let site = Site::parse("https://a.example.com:8443").unwrap();
        let odd = "jane\u{1f}doe:@/".to_owned();
        let mut actions = Actions::new();
        let renew = actions.id(Action::RenewNow(site.clone()));
        let switch = actions.id(Action::Use {
            site: site.clone(),
            login: odd.clone(),
        });
        let quit = actions.id(Action::Quit);
        actions.install();
        assert_eq!(Actions::of(&renew), Some(Action::RenewNow(site.clone())));
        assert_eq!(Actions::of(&switch), Some(Action::Use { site, login: odd }));
        assert_eq!(Actions::of(&quit), Some(Action::Quit));
        assert_eq!(Actions::of(&quit.replace("-2", "-99")), None);
        assert_eq!(Actions::of("headline"), None);
        // A click from a menu that was replaced meanwhile does nothing.
        let mut next = Actions::new();
        let sign_out = next.id(Action::SignOut);
        next.install();
        assert_eq!(Actions::of(&renew), None, "an old menu's entry");
        assert_eq!(Actions::of(&sign_out), Some(Action::SignOut));
    }
}
