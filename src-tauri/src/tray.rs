//! The tray icon: core's [`tray_menu`] (made from the same overview the Accounts window shows)
//! in the StatusNotifierItem of `fpt-login-tray`, redrawn whenever who is signed in changes;
//! a click is an [`Action`](fpt_login_core::actions::Action) carried out like one from the
//! Accounts window.

use fpt_login_core::accounts::Overview;
use fpt_login_core::actions::{Entry, tray_menu};
use fpt_login_tray::{OnAction, Tray, TrayError};
use tauri::{AppHandle, Manager as _, Runtime};

use crate::actions;
use crate::state::overview;

/// The app's tray icon.
#[derive(Debug)]
struct TrayIcon(Tray);

/// What the tray shows for `view`: its tooltip's headline and the menu.
fn menu(view: Overview) -> (String, Vec<Entry>) {
    let entries = tray_menu(&view, env!("FPT_LOGIN_VERSION"));
    (view.headline, entries)
}

/// Shows `view`, the latest state, in the tray. Never waits on the bus (a tray that hangs
/// must not hold up the Accounts window or the app).
pub fn refresh<R: Runtime>(app: &AppHandle<R>, view: Overview) {
    let Some(icon) = app.try_state::<TrayIcon>() else {
        return;
    };
    let (headline, entries) = menu(view);
    // For people reading the log: what the tray says now.
    tracing::info!(tray = %headline, "tray updated");
    icon.0.show(headline, entries);
}

/// Puts the icon in the tray; the desktop's tray is reached in the background.
pub fn create<R: Runtime>(app: &AppHandle<R>) -> Result<(), TrayError> {
    let (headline, entries) = menu(overview(app));
    let clicked = app.clone();
    let on_action: OnAction = std::sync::Arc::new(move |action| {
        let app = clicked.clone();
        // `perform` logs the outcome; the menu has nowhere else to show it.
        tauri::async_runtime::spawn(async move {
            let _ = actions::perform(&app, action).await;
        });
    });
    // Inside the runtime: the tray starts its own task there.
    let title = headline.clone();
    let tray =
        tauri::async_runtime::block_on(async move { Tray::start(title, entries, on_action) })?;
    app.manage(TrayIcon(tray));
    tracing::info!(tray = %headline, "tray ready");
    Ok(())
}
