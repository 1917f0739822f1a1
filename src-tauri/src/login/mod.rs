//! Every way into a site from the app: the web sign-in in an embedded webview, the App Session
//! Launcher in the system browser, and login + password (+ two-factor code). Each reports its
//! progress as a [`SignInStatus`]; the sign-in window shows it and socket clients wait for it.

mod asl;
mod password;
mod web;

pub use asl::{AslRun, cancel_asl, start_asl};
pub use password::{WindowStep, sign_in_with_password};
pub use web::{
    Attempt, forget_site_data, open_web_sign_in, remove_stale_site_data, renew_silently,
};

pub use fpt_login_core::signin::{IdentityHints, renew_url};

use fpt_login_core::Site;
use fpt_login_core::model::{Method, SignInState};
use tauri::{AppHandle, Runtime};

use crate::{AppState, SignInStatus};

/// A status line for `site`.
fn status(state: SignInState, site: &Site, message: impl Into<String>) -> SignInStatus {
    SignInStatus {
        state,
        site: site.to_string(),
        message: message.into(),
        url: None,
        deadline: None,
    }
}

/// Reports a sign-in to `site` as failed when the keyring could not be used at start-up:
/// nothing it signs in could be stored.
fn keyring_unusable<R: Runtime>(app: &AppHandle<R>, state: &AppState, site: &Site) -> bool {
    let Some(error) = &state.keyring_error else {
        return false;
    };
    state.report(
        app,
        status(
            SignInState::Failed,
            site,
            format!("cannot sign in: {error}"),
        ),
    );
    true
}

/// Starts signing in to `site` with `method`.
pub fn start<R: Runtime>(app: &AppHandle<R>, site: &Site, method: Method) -> Result<(), String> {
    match method {
        Method::Web => {
            open_web_sign_in(app, site);
            Ok(())
        }
        Method::AppSessionLauncher => {
            start_asl(app, site);
            Ok(())
        }
        Method::Credentials => Err(
            "signing in with a login and password needs the password: use the sign-in window, or `fpt-login login --method credentials`"
                .to_owned(),
        ),
    }
}
