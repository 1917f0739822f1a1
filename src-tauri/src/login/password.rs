//! Login + password (+ two-factor code) from the sign-in window. The password goes to the
//! site once and is then dropped; it is never stored or logged.

use std::sync::Arc;

use anyhow::Context as _;
use fpt_login_core::api3::Api3Error;
use fpt_login_core::model::Method;
use fpt_login_core::{Secret, Site, session};
use serde::Serialize;
use tauri::{AppHandle, Manager as _, Runtime};

use super::status;
use crate::AppState;

/// What the sign-in window does next.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum PasswordOutcome {
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
) -> PasswordOutcome {
    let state = app.state::<AppState>();
    if let Some(error) = &state.keyring_error {
        return PasswordOutcome::Failed {
            message: format!("cannot sign in: {error}"),
        };
    }
    let session = match session::with_password(site, login, password, code).await {
        Ok(session) => session,
        Err(e) => {
            let message = e.to_string();
            return match e {
                Api3Error::TwoFactorRequired | Api3Error::WrongTwoFactorCode => {
                    PasswordOutcome::TwoFactor { message }
                }
                Api3Error::SsoOnly | Api3Error::IdentityOnly => PasswordOutcome::Switch {
                    method: Method::Web,
                    message,
                },
                _ => PasswordOutcome::Failed { message },
            };
        }
    };
    let login = session.login.clone();
    let accounts = Arc::clone(&state.accounts);
    let stored_site = site.clone();
    let stored =
        tauri::async_runtime::spawn_blocking(move || accounts.sign_in(&stored_site, session))
            .await
            .context("storing the session stopped unexpectedly")
            .and_then(|r| Ok(r?));
    match stored {
        Ok(()) => {
            let message = format!("Signed in to {site} as {login}.");
            state.report(app, status("signed_in", site, message.clone()));
            PasswordOutcome::SignedIn { message }
        }
        Err(e) => PasswordOutcome::Failed {
            message: format!("{e:#}"),
        },
    }
}
