//! The tray icon and its menu. Linux trays deliver no click events, so everything is in the
//! menu, and the menu is rebuilt whenever who is signed in changes.

use std::sync::Arc;

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
const MENU_SIGN_IN: &str = "sign-in";
const MENU_SIGN_OUT: &str = "sign-out";
const MENU_QUIT: &str = "quit";
const MENU_TOOLKIT: &str = "toolkit-files";

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

/// Separates the parts of menu ids that carry a site (and a login).
const SEP: char = '\u{1f}';
const MENU_SIGN_OUT_ALL: &str = "sign-out-all";
const MENU_KEEP_ALIVE: &str = "keep-alive";
const MENU_AUTOSTART: &str = "autostart";
const RENEW_PREFIX: &str = "renew";
const USE_PREFIX: &str = "use";

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
        let id = format!("{USE_PREFIX}{SEP}{site}{SEP}{login}");
        switch.append(&check(app, id, format!("{login} @ {site}"), current)?)?;
    }
    Ok(Some(switch))
}

fn build_menu<R: Runtime>(app: &AppHandle<R>) -> tauri::Result<(Menu<R>, String)> {
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
        let id = format!("{RENEW_PREFIX}{SEP}{site}");
        menu.append(&item(app, id, format!("Renew now ({site})…"), true)?)?;
    }
    if signed_in && !setting(Settings::keep_alive_enabled) {
        let idle = "Keep-alive is off: sessions may idle out";
        menu.append(&item(app, "idle", idle, false)?)?;
    }
    menu.append(&PredefinedMenuItem::separator(app)?)?;
    if let Some(switch) = default_submenu(app, &status)? {
        menu.append(&switch)?;
    }
    menu.append(&item(app, MENU_SIGN_IN, "Sign in…", true)?)?;
    menu.append(&item(app, MENU_SIGN_OUT, "Sign out", signed_in)?)?;
    menu.append(&item(
        app,
        MENU_SIGN_OUT_ALL,
        "Sign out everywhere",
        signed_in,
    )?)?;
    menu.append(&PredefinedMenuItem::separator(app)?)?;
    let keep_alive = setting(Settings::keep_alive_enabled);
    menu.append(&check(
        app,
        MENU_KEEP_ALIVE,
        "Keep sessions alive",
        keep_alive,
    )?)?;
    let toolkit = setting(|s| s.toolkit_files);
    let toolkit_text = "Keep Toolkit's session files up to date";
    menu.append(&check(app, MENU_TOOLKIT, toolkit_text, toolkit)?)?;
    let autostart = setting(|s| s.autostart);
    menu.append(&check(app, MENU_AUTOSTART, "Start at login", autostart)?)?;
    menu.append(&PredefinedMenuItem::separator(app)?)?;
    // Which build this is, for bug reports ("About" would be a window for one line).
    let version = concat!("FPT Login ", env!("FPT_LOGIN_VERSION"));
    menu.append(&item(app, "version", version, false)?)?;
    menu.append(&item(app, MENU_QUIT, "Quit", true)?)?;
    Ok((menu, text))
}

fn on_menu<R: Runtime>(app: &AppHandle<R>, id: &str) {
    match id {
        MENU_SIGN_IN => show_main_window(app),
        MENU_SIGN_OUT => in_background(app, "sign out", |a| a.sign_out(None, None).map(drop)),
        MENU_SIGN_OUT_ALL => in_background(app, "sign out everywhere", |a| {
            a.sign_out_everywhere().map(drop)
        }),
        MENU_TOOLKIT => toggle_toolkit_files(app),
        MENU_KEEP_ALIVE => in_background(app, "keep-alive", |a| {
            a.settings_file()
                .update(|s| s.keep_alive = Some(!s.keep_alive_enabled()))
                .map(drop)
                .map_err(Into::into)
        }),
        MENU_AUTOSTART => toggle_autostart(app),
        MENU_QUIT => app.exit(0),
        other => {
            let mut parts = other.split(SEP);
            match (parts.next(), parts.next().map(Site::parse), parts.next()) {
                (Some(RENEW_PREFIX), Some(Ok(site)), None) => renew_now(app, &site),
                (Some(USE_PREFIX), Some(Ok(site)), Some(login)) => {
                    let login = login.to_owned();
                    in_background(app, "switch the default", move |a| {
                        a.use_site(&site, Some(&login)).map(drop)
                    });
                }
                _ => {}
            }
        }
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
        Ok((menu, text)) => {
            tracing::info!(tray = %text, "tray updated");
            let _ = tray.set_menu(Some(menu));
            let _ = tray.set_tooltip(Some(format!("FPT Login — {text}")));
        }
        Err(e) => tracing::error!(error = %e, "cannot update the tray menu"),
    }
}

pub fn create<R: Runtime>(app: &AppHandle<R>) -> tauri::Result<()> {
    let (menu, text) = build_menu(app)?;
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
}
