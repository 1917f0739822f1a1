//! Serves the local socket for other programs (the CLI, the Python client, DCCs).

use std::future::Future;
use std::sync::Arc;

use fpt_login_core::Secret;
use fpt_login_core::Site;
use fpt_login_core::local_api::{
    self, AccountsHandler, Handler, RefusalEffects, rest_token_failed,
};
use fpt_login_core::method::Pick;
use fpt_login_core::model::{Method, SignInState};
use fpt_login_core::protocol::{ErrorInfo, ErrorKind, Request, Response, SessionEvent};
use fpt_login_core::renewal::{Outcome, Plan};
use fpt_login_core::session::{self, Health};
use fpt_login_core::signin::{self, Choice, SignInError};
use tauri::{AppHandle, Manager as _, Runtime};
use tokio::sync::broadcast;

use crate::state::AppState;
use crate::{login, refresher};

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
            Request::GetUser { site, min_ttl } => self.user(site, min_ttl).await,
            Request::GetRestToken { site, min_ttl } => self.rest_token(site, min_ttl).await,
            Request::SessionRefused { site } => self.session_refused(site).await,
            other => self.accounts.handle(other).await,
        }
    }
}

impl<R: Runtime> AppHandler<R> {
    /// `get_user`: the current user of `site`, renewed first when the policy says so.
    async fn user(&self, site: Option<Site>, min_ttl: Option<u64>) -> Response {
        match refresher::ensure_fresh(&self.app, site.as_ref(), min_ttl).await {
            Err(e) => Response::Error(e.to_error_info()),
            // The renewal policy judged `min_ttl` (on the site's clock); the store answers who
            // is signed in.
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

    /// `get_rest_token`: minted from the user `get_user` hands out. A session the site will
    /// not mint from is gone: it is marked as such (and the person told) the way the
    /// renewal code marks a session the site refused (core's rule, [`rest_token_failed`]).
    async fn rest_token(&self, site: Option<Site>, min_ttl: Option<u64>) -> Response {
        let user = self.user(site, None).await;
        match self.accounts.rest_token(user, min_ttl).await {
            Ok(info) => Response::RestToken(info),
            Err(failure) => Response::Error(rest_token_failed(self, &failure).await),
        }
    }

    /// `session_refused`: a client's call was refused with the session it had; core's
    /// [`local_api::session_refused`] decides what it means. Never a window.
    async fn session_refused(&self, site: Option<Site>) -> Response {
        local_api::session_refused(self, site, fpt_login_core::time::now).await
    }
}

/// What core's answers about refused sessions need: the renewal policy's `get_user`, the
/// site, the refresher's plans and notifications.
impl<R: Runtime> RefusalEffects for AppHandler<R> {
    fn user(&self, site: Option<Site>) -> impl Future<Output = Response> + Send {
        AppHandler::user(self, site, None)
    }

    fn check(
        &self,
        site: &Site,
        login: &str,
        token: &Secret,
    ) -> impl Future<Output = Health> + Send {
        session::check(site, login, token)
    }

    fn record(&self, site: &Site, login: &str, token: &Secret, outcome: Outcome) {
        refresher::refused(&self.app, site, login, token, outcome);
    }

    fn settings(&self) -> Option<Arc<fpt_login_core::settings::Settings>> {
        self.app
            .state::<AppState>()
            .accounts
            .settings_file()
            .load_shared()
            .ok()
    }

    fn with_plan<T>(&self, site: &Site, f: impl FnOnce(&mut Plan) -> T) -> T {
        refresher::with_plan(&self.app, site, f)
    }

    fn notify(&self, site: &Site, login: &str) {
        refresher::notify(&self.app, site, login);
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
    let Choice { site, method, .. } = signin::choose(&state.accounts, site.as_ref(), method)
        .await
        .map_err(|e| {
            let kind = match e {
                SignInError::NoSite => ErrorKind::BadRequest,
                SignInError::Settings(_) => ErrorKind::Internal,
                _ => ErrorKind::SignInFailed,
            };
            ErrorInfo::new(kind, e.to_string())
        })?;
    // Listen before starting, so that a quick outcome is not missed.
    let mut statuses = state.statuses.subscribe();
    let starter = app.clone();
    let start_site = site.clone();
    let (started_tx, started_rx) = tokio::sync::oneshot::channel();
    app.run_on_main_thread(move || {
        // Clients pick the method themselves (`fpt-login login` asks for the one it resolved)
        // and remember their own choice.
        let started = login::start(&starter, &start_site, method, Pick::Offered);
        let _ = started_tx.send(started);
    })
    .map_err(|e| ErrorInfo::new(ErrorKind::Internal, e.to_string()))?;
    started_rx
        .await
        .map_err(|e| ErrorInfo::new(ErrorKind::Internal, e.to_string()))?
        .map_err(bad_request)?;
    loop {
        let status = statuses
            .recv()
            .await
            .map_err(|e| ErrorInfo::new(ErrorKind::Internal, e.to_string()))?;
        if status.site.as_ref() != Some(&site) || !status.state.is_final() {
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
    tauri::async_runtime::spawn(handler.accounts.follow_sessions());
    tauri::async_runtime::spawn(local_api::serve(listener, handler, server_name));
    Ok(())
}
