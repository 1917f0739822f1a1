//! Serves the local socket for other programs (the CLI, the Python client, DCCs): core's
//! answers, with this app as their desktop.

use std::sync::Arc;

use fpt_login_core::local_api::{self, AppHandler};
use tauri::{AppHandle, Manager as _, Runtime};

use crate::desktop::AppDesktop;
use crate::state::AppState;

/// Binds the socket in the private runtime folder and serves it for the app's lifetime.
pub fn start<R: Runtime>(app: &AppHandle<R>, desktop: &Arc<AppDesktop<R>>) -> anyhow::Result<()> {
    let state = app.state::<AppState>();
    let socket = state.paths.socket_file();
    let handler = AppHandler::new(Arc::clone(&state.refresher), Arc::clone(desktop));
    let server_name = format!("fpt-login-desktop/{}", env!("CARGO_PKG_VERSION"));
    // Binding needs a reactor, so it happens on the async runtime; errors come back here so
    // that a second app on the same socket fails at start-up, not silently.
    let listener = tauri::async_runtime::block_on(async { local_api::bind(&socket) })?;
    tracing::info!(socket = %socket.display(), "serving the local socket");
    tauri::async_runtime::spawn(handler.serve(listener, server_name));
    Ok(())
}
