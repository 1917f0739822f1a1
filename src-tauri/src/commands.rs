//! Commands the local windows may invoke: the sign-in window (`main`) and the Accounts window
//! (`accounts`), each only its own (see `capabilities/`). The remote sign-in webview gets none.

// Tauri hands command arguments over by value.
#![allow(clippy::needless_pass_by_value)]

use std::sync::Arc;

use fpt_login_core::accounts::Overview;
use fpt_login_core::actions::Action;
use fpt_login_core::method::Pick;
use fpt_login_core::model::Method;
use fpt_login_core::protocol::NewSession;
use fpt_login_core::signin::{self, ImportReport, SignInStatus, SiteClient};
use fpt_login_core::toolkit::ToolkitCache;
use fpt_login_core::{Secret, Site};
use serde::Serialize;
use tauri::{AppHandle, Manager as _, Runtime, State};

use crate::actions;
use crate::login::{self, WindowStep};
use crate::state::{AppState, overview};

/// A command's failure as the window receives it: the sentence to show, as a JSON string.
#[derive(Debug, Serialize)]
pub struct CommandError(String);

impl<E: std::fmt::Display> From<E> for CommandError {
    fn from(e: E) -> Self {
        Self(e.to_string())
    }
}

/// What the sign-in window shows when it opens.
#[derive(Debug, Serialize)]
pub struct InitialState {
    /// The site to prefill: the one asked for, else the last one used.
    site: Option<String>,
    recent_sites: Vec<String>,
    /// The outcome of the latest sign-in, if any.
    status: Option<SignInStatus>,
    keyring_error: Option<String>,
    /// Sessions Toolkit's cache holds, offered on the first start.
    toolkit_sessions: Vec<String>,
}

#[tauri::command]
pub fn initial_state(state: State<'_, AppState>) -> InitialState {
    let settings = state.accounts.settings_file().load().unwrap_or_default();
    let prefill = state.prefill_site.lock().expect("prefill lock").clone();
    InitialState {
        site: signin::window_site(prefill, &settings),
        recent_sites: settings
            .recent_sites
            .iter()
            .map(ToString::to_string)
            .collect(),
        status: state.last_status.lock().expect("status lock").clone(),
        keyring_error: state.keyring_error.clone(),
        toolkit_sessions: state.toolkit_offer.lock().expect("offer lock").clone(),
    }
}

/// Takes over the sessions in Toolkit's cache that their sites confirm: one result per
/// session, for the window to list.
#[tauri::command]
pub async fn import_toolkit_sessions<R: Runtime>(
    app: AppHandle<R>,
) -> Result<Vec<ImportReport>, CommandError> {
    let state = app.state::<AppState>();
    state.toolkit_offer.lock().expect("offer lock").clear();
    let found = ToolkitCache::locate().and_then(|cache| cache.sessions())?;
    let accounts = &state.accounts;
    Ok(signin::import_toolkit_sessions(
        found,
        SiteClient::new,
        |site: Site, session: NewSession| {
            let accounts = Arc::clone(accounts);
            async move {
                tauri::async_runtime::spawn_blocking(move || {
                    accounts.sign_in(&site, &session, Pick::Offered)
                })
                .await
                .map_err(|e| e.to_string())?
                .map_err(|e| e.to_string())
            }
        },
    )
    .await)
}

/// One way in, as the window lists it.
#[derive(Debug, Serialize)]
pub struct MethodChoice {
    method: Method,
    label: &'static str,
}

impl From<Method> for MethodChoice {
    fn from(method: Method) -> Self {
        Self {
            method,
            label: method.label(),
        }
    }
}

/// What a site offers, once its `info` answered.
#[derive(Debug, Serialize)]
pub struct SiteOffer {
    /// The normalised site URL.
    site: String,
    /// `default`, `ldap`, `saml2` or `oxygen`, as the site says.
    kind: Option<String>,
    default: MethodChoice,
    others: Vec<MethodChoice>,
}

/// Asks the site how it signs people in. An unreachable site, a TLS failure or a URL that is
/// not an FPT site comes back as the message to show on the form.
#[tauri::command]
pub async fn site_info(
    state: State<'_, AppState>,
    site: String,
) -> Result<SiteOffer, CommandError> {
    let site = Site::parse(&site)?;
    let api = SiteClient::new(&site)?;
    let saved = state.accounts.saved_method(&site).ok().flatten();
    let (info, offer) = signin::site_offer(&api, saved).await?;
    Ok(SiteOffer {
        site: site.to_string(),
        kind: info.user_authentication_method,
        default: offer.default.into(),
        others: offer.others.into_iter().map(Into::into).collect(),
    })
}

/// Starts the web sign-in or the App Session Launcher. `chosen` is true when the person picked
/// the method among the other ways in: it is then remembered for the site.
#[tauri::command]
pub fn start_sign_in<R: Runtime>(
    app: AppHandle<R>,
    site: String,
    method: Method,
    chosen: bool,
) -> Result<String, CommandError> {
    let site = Site::parse(&site)?;
    login::start(&app, &site, method, pick(chosen)).map_err(CommandError)?;
    Ok(site.to_string())
}

/// How the window's method was picked: `chosen` among the other ways in, or the default.
fn pick(chosen: bool) -> Pick {
    if chosen { Pick::Chosen } else { Pick::Offered }
}

/// Cancels the App Session Launcher sign-in in progress.
#[tauri::command]
pub fn cancel_sign_in<R: Runtime>(app: AppHandle<R>) -> bool {
    login::cancel_asl(&app)
}

/// Signs in with a login and password, and a two-factor or backup code on the second try.
#[tauri::command]
pub async fn sign_in_with_password<R: Runtime>(
    app: AppHandle<R>,
    site: String,
    login: String,
    password: String,
    code: Option<String>,
    chosen: bool,
) -> Result<WindowStep, CommandError> {
    let site = Site::parse(&site)?;
    let password = Secret::new(password);
    Ok(login::sign_in_with_password(
        &app,
        &site,
        &login,
        &password,
        code.as_deref(),
        pick(chosen),
    )
    .await)
}

/// What the Accounts window shows: every site with its people, their sessions and the toggles.
#[tauri::command]
pub fn accounts_overview<R: Runtime>(app: AppHandle<R>) -> Overview {
    overview(&app)
}

/// Does what the Accounts window asked, exactly as the tray menu would.
#[tauri::command]
pub async fn account_action<R: Runtime>(
    app: AppHandle<R>,
    action: Action,
) -> Result<(), CommandError> {
    Ok(actions::perform(&app, action).await?)
}
