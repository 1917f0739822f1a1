//! Carries out what a person asks for from the tray menu or the Accounts window: core's
//! [`actions::perform`] changes the accounts, and this does what is left that needs the
//! desktop (a window, the login item, quitting).

use std::sync::Arc;

use fpt_login_core::AccountsError;
use fpt_login_core::actions::{self, Action, Next};
use fpt_login_core::autostart::{AutostartError, Launch, LoginItem};
use fpt_login_core::method::Pick;
use fpt_login_core::signin::RenewNow;
use tauri::{AppHandle, Manager as _, Runtime};

use crate::sign_in_window::show_main_window;
use crate::state::AppState;
use crate::{accounts_window, login};

#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    #[error(transparent)]
    Accounts(#[from] AccountsError),
    #[error(transparent)]
    Autostart(#[from] AutostartError),
    #[error("{0} stopped before it finished")]
    Interrupted(&'static str),
}

/// Carries out `action`. Whatever the outcome, the tray and the Accounts window are then
/// redrawn, so neither keeps showing what a failed change left as it was.
pub async fn perform<R: Runtime>(app: &AppHandle<R>, action: Action) -> Result<(), ActionError> {
    let what = action.what();
    let result = run(app, action).await;
    match &result {
        Ok(()) => tracing::info!("{what}: done"),
        Err(e) => tracing::error!(error = %e, "{what} failed"),
    }
    app.state::<AppState>().redraw();
    result
}

async fn run<R: Runtime>(app: &AppHandle<R>, action: Action) -> Result<(), ActionError> {
    let what = action.what();
    // The keyring blocks on D-Bus, and the login item is file I/O.
    let accounts = Arc::clone(&app.state::<AppState>().accounts);
    let next = tauri::async_runtime::spawn_blocking(move || actions::perform(&accounts, action))
        .await
        .map_err(|_| ActionError::Interrupted(what))??;
    match next {
        Next::Done => {}
        Next::ShowSignIn => show_main_window(app),
        Next::ShowAccounts => accounts_window::show(app),
        Next::Quit => app.exit(0),
        Next::RenewNow {
            site,
            how: RenewNow::Web,
        } => login::open_web_sign_in(app, &site, Pick::Offered),
        Next::RenewNow {
            site,
            how: RenewNow::Window,
        } => {
            let state = app.state::<AppState>();
            *state.prefill_site.lock().expect("prefill lock") = Some(site.to_string());
            show_main_window(app);
        }
        Next::ApplyAutostart => {
            let app = app.clone();
            tauri::async_runtime::spawn_blocking(move || apply_autostart(&app))
                .await
                .map_err(|_| ActionError::Interrupted(what))??;
        }
    }
    Ok(())
}

/// Makes the login item match the setting.
pub fn apply_autostart<R: Runtime>(app: &AppHandle<R>) -> Result<(), ActionError> {
    let state = app.state::<AppState>();
    let wanted = state
        .accounts
        .settings_file()
        .load_shared()
        .is_ok_and(|s| s.autostart);
    let item = LoginItem::for_this_user(&state.paths)?;
    let changed = item.apply(wanted, &Launch::this_program(&state.paths)?)?;
    tracing::info!(autostart = wanted, changed, entry = %item.path().display(), "start at login");
    Ok(())
}
