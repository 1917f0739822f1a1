//! The local sign-in window (`main`): where a sign-in is started and its progress shown.

use tauri::{AppHandle, Manager as _, Runtime, WebviewUrl, WebviewWindowBuilder};

/// Label of the local sign-in window.
pub const MAIN_WINDOW: &str = "main";
/// Event the main window listens to for sign-in progress.
pub const SIGN_IN_EVENT: &str = "sign-in-status";

/// Opens (or brings forward) the local sign-in window.
pub fn show_main_window<R: Runtime>(app: &AppHandle<R>) {
    if let Some(window) = app.get_webview_window(MAIN_WINDOW) {
        let _ = window.show();
        let _ = window.set_focus();
        return;
    }
    let built = WebviewWindowBuilder::new(app, MAIN_WINDOW, WebviewUrl::App("index.html".into()))
        .title("FPT Login")
        .inner_size(460.0, 500.0)
        .resizable(false)
        .build();
    if let Err(e) = built {
        tracing::error!(error = %e, "cannot open the sign-in window");
    }
}
