//! The tray icon and its menu. Linux trays deliver no click events, so everything is in the
//! menu, and the menu is rebuilt whenever who is signed in changes.

use fpt_login_core::protocol::StatusInfo;
use tauri::image::Image;
use tauri::menu::{CheckMenuItem, Menu, MenuItem, PredefinedMenuItem};
use tauri::tray::TrayIconBuilder;
use tauri::{AppHandle, Manager as _, Runtime};
use tokio::sync::broadcast::error::RecvError;

use crate::{AppState, show_main_window};

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

fn build_menu<R: Runtime>(app: &AppHandle<R>) -> tauri::Result<(Menu<R>, String)> {
    let state = app.state::<AppState>();
    let (text, signed_in) = match (&state.keyring_error, state.accounts.status()) {
        (Some(_), _) => (
            "Keyring unavailable — see the sign-in window".to_owned(),
            false,
        ),
        (None, Ok(status)) => {
            let text = headline(&status);
            let signed_in = text != "Not signed in";
            (text, signed_in)
        }
        (None, Err(e)) => (format!("Error: {e}"), false),
    };
    let toolkit_files = state
        .accounts
        .settings_file()
        .load()
        .is_ok_and(|s| s.toolkit_files);
    let menu = Menu::with_items(
        app,
        &[
            &MenuItem::with_id(app, "headline", &text, false, None::<&str>)?,
            &PredefinedMenuItem::separator(app)?,
            &MenuItem::with_id(app, MENU_SIGN_IN, "Sign in…", true, None::<&str>)?,
            &MenuItem::with_id(app, MENU_SIGN_OUT, "Sign out", signed_in, None::<&str>)?,
            &PredefinedMenuItem::separator(app)?,
            &CheckMenuItem::with_id(
                app,
                MENU_TOOLKIT,
                "Keep Toolkit's session files up to date",
                true,
                toolkit_files,
                None::<&str>,
            )?,
            &PredefinedMenuItem::separator(app)?,
            &MenuItem::with_id(app, MENU_QUIT, "Quit", true, None::<&str>)?,
        ],
    )?;
    Ok((menu, text))
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
        .on_menu_event(|app, event| match event.id().as_ref() {
            MENU_SIGN_IN => show_main_window(app),
            MENU_SIGN_OUT => sign_out(app),
            MENU_TOOLKIT => toggle_toolkit_files(app),
            MENU_QUIT => app.exit(0),
            _ => {}
        })
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
    let accounts = std::sync::Arc::clone(&app.state::<AppState>().accounts);
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

fn sign_out<R: Runtime>(app: &AppHandle<R>) {
    let accounts = std::sync::Arc::clone(&app.state::<AppState>().accounts);
    // The keyring call blocks on D-Bus; the tray follows through the change it announces.
    tauri::async_runtime::spawn_blocking(move || match accounts.sign_out(None, None) {
        Ok(out) => tracing::info!(site = %out.site, login = ?out.login, "signed out from the tray"),
        Err(e) => tracing::error!(error = %e, "sign out failed"),
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
