//! What the app's parts share, and the sign-in progress they report into it.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use fpt_login_core::accounts::Overview;
use fpt_login_core::paths::Paths;
use fpt_login_core::refresher::Refresher;
use fpt_login_core::signin::SignInStatus;
use fpt_login_core::{Accounts, Site, time};
use tauri::{AppHandle, Emitter as _, Manager as _, Runtime};
use tokio::sync::broadcast;

use crate::in_flight::{AslRun, Attempt};
use crate::sign_in_window::{MAIN_WINDOW, SIGN_IN_EVENT, show_main_window};

/// What the app's parts share.
#[derive(Debug)]
pub struct AppState {
    pub paths: Paths,
    pub accounts: Arc<Accounts>,
    pub product: String,
    /// Set when the start-up keyring probe failed: nothing can be stored until it is fixed.
    pub keyring_error: Option<String>,
    pub prefill_site: Mutex<Option<String>>,
    pub last_status: Mutex<Option<SignInStatus>>,
    /// Every status, for socket clients waiting for a sign-in to end.
    pub statuses: broadcast::Sender<SignInStatus>,
    /// The web sign-in whose window is open, if any.
    pub web_attempt: Mutex<Option<Arc<Attempt>>>,
    /// The App Session Launcher sign-in in progress.
    pub asl: Mutex<Option<AslRun>>,
    pub asl_timeout: Duration,
    /// On the very first start, the sessions Toolkit's cache already holds (`login @ site`),
    /// offered for import.
    pub toolkit_offer: Mutex<Vec<String>>,
    /// Keeps the sessions; `overview` shows the sites' clocks as it learnt them.
    pub refresher: Arc<Refresher>,
    /// Asks the tray and the Accounts window to show the latest state, for changes that
    /// announce no session event (settings, a change that failed).
    pub redraws: broadcast::Sender<()>,
}

impl AppState {
    /// Has the tray and the Accounts window show the latest state.
    pub fn redraw(&self) {
        // Nobody listening (still starting) is fine: they read the state when they start.
        let _ = self.redraws.send(());
    }

    /// Records `status`, tells the main window, and shows the window when the user has to see
    /// the outcome (a cancelled or failed sign-in).
    pub fn report<R: Runtime>(&self, app: &AppHandle<R>, status: SignInStatus) {
        let site = status.site.as_ref().map_or("", Site::as_str);
        tracing::info!(
            state = status.state.name(),
            site,
            "sign-in: {}",
            status.message
        );
        *self.last_status.lock().expect("status lock") = Some(status.clone());
        let _ = self.statuses.send(status.clone());
        if status.state.needs_a_look() {
            show_main_window(app);
        }
        let _ = app.emit_to(MAIN_WINDOW, SIGN_IN_EVENT, status);
    }
}

/// What the tray and the Accounts window show now.
pub fn overview<R: Runtime>(app: &AppHandle<R>) -> Overview {
    let state = app.state::<AppState>();
    state
        .accounts
        .overview(state.keyring_error.as_deref(), time::now(), |site| {
            state.refresher.clock_offset(site)
        })
}
