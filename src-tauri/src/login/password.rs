//! Login + password (+ two-factor code) from the sign-in window: core's flow, its outcome
//! rendered for the window. The password goes to the site once and is then dropped; it is
//! never stored or logged.

use std::sync::Arc;

use anyhow::Context as _;
use fpt_login_core::method::Pick;
use fpt_login_core::model::{Method, SignInState};
use fpt_login_core::signin::{self, PasswordOutcome, SiteClient};
use fpt_login_core::{Secret, Site};
use serde::Serialize;
use tauri::{AppHandle, Manager as _, Runtime};

use super::status;
use crate::state::AppState;

/// What the sign-in window does next.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum WindowStep {
    SignedIn {
        message: String,
    },
    /// Ask for a two-factor (or backup) code; `message` says why (first time, or wrong code).
    TwoFactor {
        message: String,
    },
    /// The site does not take passwords: offer `method` instead.
    Switch {
        method: Method,
        message: String,
    },
    /// Wrong login or password, or the site could not be reached: say so, keep the login.
    Failed {
        message: String,
    },
}

pub async fn sign_in_with_password<R: Runtime>(
    app: &AppHandle<R>,
    site: &Site,
    login: &str,
    password: &Secret,
    code: Option<&str>,
    pick: Pick,
) -> WindowStep {
    let state = app.state::<AppState>();
    if let Some(message) = super::keyring_unusable(&state) {
        return WindowStep::Failed { message };
    }
    let outcome = match SiteClient::new(site) {
        Ok(api) => signin::with_password(&api, login, password, code).await,
        Err(e) => Err(e.into()),
    };
    let session = match outcome {
        Ok(PasswordOutcome::SignedIn(session)) => session,
        Ok(other @ PasswordOutcome::NeedsCode { .. }) => {
            return WindowStep::TwoFactor {
                message: other.message(),
            };
        }
        Ok(other @ PasswordOutcome::UseWeb { .. }) => {
            return WindowStep::Switch {
                method: Method::Web,
                message: other.message(),
            };
        }
        Ok(other @ PasswordOutcome::WrongLoginOrPassword) => {
            return WindowStep::Failed {
                message: other.message(),
            };
        }
        Err(e) => {
            return WindowStep::Failed {
                message: e.to_string(),
            };
        }
    };
    let login = session.login.clone();
    let accounts = Arc::clone(&state.accounts);
    let stored_site = site.clone();
    let stored = tauri::async_runtime::spawn_blocking(move || {
        accounts.sign_in(&stored_site, &session, pick)
    })
    .await
    .context("storing the session stopped unexpectedly")
    .and_then(|r| Ok(r?));
    match stored {
        Ok(()) => {
            let message = format!("Signed in to {site} as {login}.");
            state.report(app, status(SignInState::SignedIn, site, message.clone()));
            WindowStep::SignedIn { message }
        }
        Err(e) => WindowStep::Failed {
            message: format!("{e:#}"),
        },
    }
}
