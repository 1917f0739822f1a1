//! Commands the local `main` window may invoke (and only it: see `capabilities/main.json`).

// Tauri hands command arguments over by value.
#![allow(clippy::needless_pass_by_value)]

use fpt_login_core::Site;
use serde::Serialize;
use tauri::{AppHandle, Runtime, State};

use crate::{AppState, SignInStatus, login};

/// What the sign-in window shows when it opens.
#[derive(Debug, Serialize)]
pub struct InitialState {
    /// The site to prefill: the one asked for, else the last one used.
    site: Option<String>,
    recent_sites: Vec<String>,
    /// The outcome of the latest sign-in, if any.
    status: Option<SignInStatus>,
    keyring_error: Option<String>,
}

#[tauri::command]
pub fn initial_state(state: State<'_, AppState>) -> InitialState {
    let settings = state.accounts.settings_file().load().unwrap_or_default();
    let prefill = state.prefill_site.lock().expect("prefill lock").clone();
    InitialState {
        site: prefill.or_else(|| {
            settings
                .default_site
                .as_ref()
                .or(settings.recent_sites.first())
                .map(ToString::to_string)
        }),
        recent_sites: settings
            .recent_sites
            .iter()
            .map(ToString::to_string)
            .collect(),
        status: state.last_status.lock().expect("status lock").clone(),
        keyring_error: state.keyring_error.clone(),
    }
}

/// Checks the typed site and opens the web sign-in for it; a bad URL comes back as the
/// message to show under the field.
#[tauri::command]
pub fn start_web_sign_in<R: Runtime>(app: AppHandle<R>, site: String) -> Result<String, String> {
    let site = Site::parse(&site).map_err(|e| e.to_string())?;
    login::open_web_sign_in(&app, &site);
    Ok(site.to_string())
}
