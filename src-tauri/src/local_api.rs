//! Serves the local socket for other programs (the CLI, the Python client, DCCs).

use std::sync::Arc;

use fpt_login_core::Site;
use fpt_login_core::local_api::{self, AccountsHandler, Handler};
use fpt_login_core::model::{Method, SignInState};
use fpt_login_core::protocol::{ErrorInfo, ErrorKind, Request, Response, SessionEvent};
use fpt_login_core::signin::{self, SignInError, SiteClient};
use tauri::{AppHandle, Manager as _, Runtime};
use tokio::sync::broadcast;

use crate::{AppState, login};

/// Answers from the accounts, plus what needs the app's windows (`login`).
struct AppHandler<R: Runtime> {
    app: AppHandle<R>,
    accounts: AccountsHandler,
}

impl<R: Runtime> Handler for AppHandler<R> {
    fn subscribe(&self) -> broadcast::Receiver<SessionEvent> {
        self.accounts.subscribe()
    }

    async fn handle(&self, request: Request) -> Response {
        match request {
            Request::Login { site, method } => sign_in(&self.app, site, method)
                .await
                .unwrap_or_else(Response::Error),
            Request::GetUser { site, min_ttl } => {
                let state = self.app.state::<AppState>();
                match state
                    .refresher
                    .ensure_fresh(&self.app, site.as_ref(), min_ttl)
                    .await
                {
                    Err(e) => Response::Error(e.to_error_info()),
                    // The renewal policy judged `min_ttl` (on the site's clock); the store
                    // answers who is signed in.
                    Ok(()) => {
                        self.accounts
                            .handle(Request::GetUser {
                                site,
                                min_ttl: None,
                            })
                            .await
                    }
                }
            }
            other => self.accounts.handle(other).await,
        }
    }
}

/// Runs a sign-in for a client and answers once it has finished, failed or been cancelled.
async fn sign_in<R: Runtime>(
    app: &AppHandle<R>,
    site: Option<Site>,
    method: Option<Method>,
) -> Result<Response, ErrorInfo> {
    let state = app.state::<AppState>();
    let bad_request = |message: String| ErrorInfo::new(ErrorKind::BadRequest, message);
    let failed = |e: SignInError| ErrorInfo::new(ErrorKind::SignInFailed, e.to_string());
    let default_site = state
        .accounts
        .settings_file()
        .load_shared()
        .map_err(|e| ErrorInfo::new(ErrorKind::Internal, e.to_string()))?
        .default_site
        .clone();
    let site = signin::resolve_site(site.as_ref(), default_site.as_ref())
        .map_err(|e| bad_request(e.to_string()))?;
    let saved = state.accounts.saved_method(&site).ok().flatten();
    let api = SiteClient::new(&site).map_err(|e| failed(e.into()))?;
    let method = signin::resolve_method(&api, method, saved)
        .await
        .map_err(failed)?;
    // Listen before starting, so that a quick outcome is not missed.
    let mut statuses = state.statuses.subscribe();
    let starter = app.clone();
    let start_site = site.clone();
    let (started_tx, started_rx) = tokio::sync::oneshot::channel();
    app.run_on_main_thread(move || {
        let _ = started_tx.send(login::start(&starter, &start_site, method));
    })
    .map_err(|e| ErrorInfo::new(ErrorKind::Internal, e.to_string()))?;
    started_rx
        .await
        .map_err(|e| ErrorInfo::new(ErrorKind::Internal, e.to_string()))?
        .map_err(bad_request)?;
    let site_text = site.to_string();
    loop {
        let status = statuses
            .recv()
            .await
            .map_err(|e| ErrorInfo::new(ErrorKind::Internal, e.to_string()))?;
        if status.site != site_text || !status.state.is_final() {
            continue;
        }
        return match status.state {
            SignInState::SignedIn => state
                .accounts
                .user(Some(&site), None)
                .map(Response::User)
                .map_err(|e| e.to_error_info()),
            SignInState::Cancelled => Err(ErrorInfo::new(ErrorKind::Cancelled, status.message)),
            _ => Err(ErrorInfo::new(ErrorKind::SignInFailed, status.message)),
        };
    }
}

/// Binds the socket in the private runtime folder and serves it for the app's lifetime.
pub fn start<R: Runtime>(app: &AppHandle<R>) -> anyhow::Result<()> {
    let state = app.state::<AppState>();
    let socket = state.paths.socket_file();
    let handler = Arc::new(AppHandler {
        app: app.clone(),
        accounts: AccountsHandler::new(Arc::clone(&state.accounts)),
    });
    let server_name = format!("fpt-login-desktop/{}", env!("CARGO_PKG_VERSION"));
    // Binding needs a reactor, so it happens on the async runtime; errors come back here so
    // that a second app on the same socket fails at start-up, not silently.
    let listener = tauri::async_runtime::block_on(async { local_api::bind(&socket) })?;
    tracing::info!(socket = %socket.display(), "serving the local socket");
    tauri::async_runtime::spawn(local_api::serve(listener, handler, server_name));
    Ok(())
}
