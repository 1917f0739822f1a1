//! Serves the local socket for other programs (the CLI, the Python client, DCCs).

use std::sync::Arc;

use fpt_login_core::Secret;
use fpt_login_core::Site;
use fpt_login_core::local_api::{self, AccountsHandler, Handler, RestFailure};
use fpt_login_core::method::Pick;
use fpt_login_core::model::{Method, SignInState};
use fpt_login_core::protocol::{
    Credentials, ErrorInfo, ErrorKind, Request, Response, SessionEvent,
};
use fpt_login_core::rest::{Credential, RestTokenError};
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
        let state = self.app.state::<AppState>();
        match state
            .refresher
            .ensure_fresh(&self.app, site.as_ref(), min_ttl)
            .await
        {
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
    /// renewal code marks a session the site refused.
    async fn rest_token(&self, site: Option<Site>, min_ttl: Option<u64>) -> Response {
        let user = self.user(site, None).await;
        match self.accounts.rest_token(user, min_ttl).await {
            Ok(info) => Response::RestToken(info),
            Err(failure) => {
                // The token endpoint refusing is no proof the session is gone (a site without
                // the grant, a firewall's 403): the site's own answer about the session is.
                if let RestFailure::Token(error) = &failure
                    && let RestTokenError::CredentialRefused {
                        site,
                        credential: Credential::Session { login, token },
                        source,
                    } = error.as_ref()
                    && let Health::Alive { .. } = self.ask_site_about(site, login, token).await
                {
                    return Response::Error(ErrorInfo::new(
                        ErrorKind::Internal,
                        format!(
                            "{site} gives no REST API token for {login}'s session, which still works ({source})"
                        ),
                    ));
                }
                Response::Error(failure.to_error_info())
            }
        }
    }

    /// `session_refused`: a client's call was refused with the session it had. The app asks
    /// the site about the current session itself (a client's word alone never marks one):
    /// a working one is handed out, lapsed claims are renewed silently, and when nobody usable
    /// is left the person gets the needs-attention notification. Never a window.
    async fn session_refused(&self, site: Option<Site>) -> Response {
        let state = self.app.state::<AppState>();
        let user = match self.user(site.clone(), None).await {
            Response::User(user) => user,
            Response::Error(e) if e.kind == ErrorKind::SignInRequired => {
                let settings = state.accounts.settings_file().load_shared().ok();
                let resolved = settings
                    .as_ref()
                    .and_then(|s| s.resolve_site(site.as_ref()).cloned());
                // Someone signed in whose session cannot be used: remind them, at most every
                // few minutes however often clients ask. A site nobody signed in to stays quiet.
                let login = resolved.as_ref().and_then(|site| {
                    settings
                        .as_ref()
                        .and_then(|s| s.sites.get(site)?.current_user.clone())
                });
                if let (Some(site), Some(login)) = (resolved, login)
                    && state.refresher.remind(&site)
                {
                    refresher::notify(&self.app, &site, &login);
                }
                return Response::Error(e);
            }
            other => return other,
        };
        let Credentials::Session {
            login,
            session_token,
            ..
        } = &user.credentials
        else {
            // A script's key does not lapse; the client tries it once more.
            return Response::User(user);
        };
        match self.ask_site_about(&user.site, login, session_token).await {
            Health::Alive { .. } => Response::User(user),
            Health::Unreachable { reason } => Response::Error(ErrorInfo::new(
                ErrorKind::Internal,
                format!("cannot ask {} about the session: {reason}", user.site),
            )),
            // Lapsed claims are renewed now; an expired session is "sign in".
            _ => self.user(Some(user.site.clone()), None).await,
        }
    }

    /// Asks the site about `login`'s session and records what only the site can say: lapsed
    /// claims or an ended session (through the renewal code's one path, and only while that
    /// token is still the stored one). A working or unreachable site changes nothing.
    async fn ask_site_about(&self, site: &Site, login: &str, token: &Secret) -> Health {
        let health = session::check(site, login, token).await;
        if !matches!(health, Health::Alive { .. } | Health::Unreachable { .. }) {
            self.app.state::<AppState>().refresher.refused(
                &self.app,
                site,
                login,
                token,
                health.clone().into(),
            );
        }
        health
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
