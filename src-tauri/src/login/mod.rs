//! Every way into a site from the app: the web sign-in in an embedded webview, the App Session
//! Launcher in the system browser, and login + password (+ two-factor code). Each reports its
//! progress as a [`SignInStatus`]; the sign-in window shows it and socket clients wait for it.

mod asl;
mod password;
mod web;

pub use asl::{cancel_asl, start_asl};
pub use password::{WindowStep, sign_in_with_password};
pub use web::{
    forget_site_data, forget_stale_site_data, open_web_sign_in, remove_stale_site_data,
    renew_silently,
};

pub use fpt_login_core::signin::{IdentityHints, renew_url};

use fpt_login_core::Site;
use fpt_login_core::method::Pick;
use fpt_login_core::model::{Method, SignInState};
use fpt_login_core::signin::SignInStatus;
use tauri::{AppHandle, Runtime};

use crate::state::AppState;

/// A status line for `site`.
fn status(state: SignInState, site: &Site, message: impl Into<String>) -> SignInStatus {
    SignInStatus {
        state,
        site: Some(site.clone()),
        message: message.into(),
        url: None,
        deadline: None,
    }
}

/// Why no sign-in can start: the keyring could not be used at start-up, so nothing signed in
/// could be stored.
fn keyring_unusable(state: &AppState) -> Option<String> {
    let error = state.keyring_error.as_ref()?;
    Some(format!("cannot sign in: {error}"))
}

/// Reports a sign-in to `site` as failed when [`keyring_unusable`]; returns whether it did.
fn refused_without_keyring<R: Runtime>(app: &AppHandle<R>, state: &AppState, site: &Site) -> bool {
    let Some(message) = keyring_unusable(state) else {
        return false;
    };
    state.report(app, status(SignInState::Failed, site, message));
    true
}

/// Starts signing in to `site` with `method`, picked as `pick` (remembered once signed in if
/// the person chose it).
pub fn start<R: Runtime>(
    app: &AppHandle<R>,
    site: &Site,
    method: Method,
    pick: Pick,
) -> Result<(), String> {
    match method {
        Method::Web => {
            open_web_sign_in(app, site, pick);
            Ok(())
        }
        Method::AppSessionLauncher => {
            start_asl(app, site, pick);
            Ok(())
        }
        Method::Credentials => Err(
            "signing in with a login and password needs the password: use the sign-in window, or `fpt-login login --method credentials`"
                .to_owned(),
        ),
    }
}
