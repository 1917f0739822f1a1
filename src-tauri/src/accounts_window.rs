//! The Accounts window: who is signed in where, and everything the tray menu does, for
//! desktops that show no tray (stock GNOME). It renders core's `Overview` and asks for
//! `Action`s through its two commands; closing it leaves the app running.

use tauri::{AppHandle, Emitter as _, Manager as _, Runtime, WebviewUrl, WebviewWindowBuilder};

use fpt_login_core::accounts::Overview;

/// Label of the Accounts window (its capability names it).
pub const ACCOUNTS_WINDOW: &str = "accounts";
/// Event carrying a fresh `Overview` to the window after every change.
pub const ACCOUNTS_EVENT: &str = "accounts-changed";

/// Opens the Accounts window, or brings it forward.
pub fn show<R: Runtime>(app: &AppHandle<R>) {
    if let Some(window) = app.get_webview_window(ACCOUNTS_WINDOW) {
        let _ = window.unminimize();
        let _ = window.show();
        let _ = window.set_focus();
        return;
    }
    let built = WebviewWindowBuilder::new(
        app,
        ACCOUNTS_WINDOW,
        WebviewUrl::App("accounts.html".into()),
    )
    .title("Accounts — FPT Login")
    .inner_size(620.0, 720.0)
    .min_inner_size(420.0, 360.0)
    .build();
    if let Err(e) = built {
        tracing::error!(error = %e, "cannot open the Accounts window");
    }
}

/// Sends the window `view`, what it shows now, when it is open.
pub fn update<R: Runtime>(app: &AppHandle<R>, view: &Overview) {
    if app.get_webview_window(ACCOUNTS_WINDOW).is_none() {
        return;
    }
    let _ = app.emit_to(ACCOUNTS_WINDOW, ACCOUNTS_EVENT, view);
}
