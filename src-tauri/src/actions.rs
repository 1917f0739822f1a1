//! Carries out what a person asks for from the tray menu or the Accounts window: one way to
//! do each of core's [`Action`]s, whichever of the two asked.

use std::sync::Arc;

use fpt_login_core::accounts::menu::Action;
use fpt_login_core::method::Pick;
use fpt_login_core::signin::{self, RenewNow};
use fpt_login_core::{Accounts, AccountsError, Site};
use tauri::{AppHandle, Manager as _, Runtime};

use crate::sign_in_window::show_main_window;
use crate::state::AppState;
use crate::{accounts_window, login};

#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    #[error(transparent)]
    Accounts(#[from] AccountsError),
    #[error("cannot change starting at login: {0}")]
    Autostart(String),
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
    match action {
        Action::SignIn => show_main_window(app),
        Action::ShowAccounts => accounts_window::show(app),
        Action::Quit => app.exit(0),
        Action::RenewNow { site } => renew_now(app, &site),
        Action::SignOut { site, login } => {
            blocking(app, what, move |a| {
                a.sign_out(site.as_ref(), login.as_deref()).map(drop)
            })
            .await?;
        }
        Action::SignOutEverywhere => {
            blocking(app, what, |a| a.sign_out_everywhere().map(drop)).await?;
        }
        Action::Use { site, login } => {
            blocking(app, what, move |a| {
                a.use_site(&site, Some(&login)).map(drop)
            })
            .await?;
        }
        Action::SetKeepAlive { on } => {
            blocking(app, what, move |a| {
                a.settings_file()
                    .update(|s| s.keep_alive = Some(on))
                    .map(drop)
                    .map_err(Into::into)
            })
            .await?;
        }
        Action::SetToolkitFiles { on } => {
            blocking(app, what, move |a| {
                let written = a.set_toolkit_files(on)?;
                tracing::info!(on, written, "Toolkit's session files");
                Ok(())
            })
            .await?;
        }
        Action::SetAutostart { on } => {
            // Writing the login item is file I/O too.
            let app = app.clone();
            tauri::async_runtime::spawn_blocking(move || {
                let accounts = &app.state::<AppState>().accounts;
                accounts
                    .settings_file()
                    .update(|s| s.autostart = on)
                    .map_err(AccountsError::from)?;
                apply_autostart(&app)
            })
            .await
            .map_err(|_| ActionError::Interrupted(what))??;
        }
    }
    Ok(())
}

/// Runs an accounts change on the blocking pool: the keyring blocks on D-Bus.
async fn blocking<R: Runtime>(
    app: &AppHandle<R>,
    what: &'static str,
    change: impl FnOnce(&Accounts) -> Result<(), AccountsError> + Send + 'static,
) -> Result<(), ActionError> {
    let accounts = Arc::clone(&app.state::<AppState>().accounts);
    tauri::async_runtime::spawn_blocking(move || change(&accounts))
        .await
        .map_err(|_| ActionError::Interrupted(what))?
        .map_err(Into::into)
}

/// "Renew now": the visible sign-in for the site, the way its person signed in.
fn renew_now<R: Runtime>(app: &AppHandle<R>, site: &Site) {
    let state = app.state::<AppState>();
    let settings = state
        .accounts
        .settings_file()
        .load_shared()
        .unwrap_or_default();
    match signin::renew_now(&settings, site) {
        RenewNow::Web => login::open_web_sign_in(app, site, Pick::Offered),
        RenewNow::Window => {
            *state.prefill_site.lock().expect("prefill lock") = Some(site.to_string());
            show_main_window(app);
        }
    }
}

/// Makes the login item match the setting.
pub fn apply_autostart<R: Runtime>(app: &AppHandle<R>) -> Result<(), ActionError> {
    use tauri_plugin_autostart::ManagerExt as _;
    let wanted = app
        .state::<AppState>()
        .accounts
        .settings_file()
        .load_shared()
        .is_ok_and(|s| s.autostart);
    let launcher = app.autolaunch();
    match (wanted, launcher.is_enabled()) {
        (true, Ok(false) | Err(_)) => launcher.enable(),
        (false, Ok(true)) => launcher.disable(),
        _ => Ok(()),
    }
    .map_err(|e| ActionError::Autostart(e.to_string()))?;
    tracing::info!(autostart = wanted, "start at login");
    Ok(())
}
