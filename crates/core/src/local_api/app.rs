//! What the desktop app answers on the socket: the accounts' answers, plus those that need the
//! refresher (a user renewed first when the policy says so, refused sessions) or a desktop
//! (signing in).

use std::future::Future;
use std::sync::Arc;

use tokio::sync::broadcast;

use super::{
    AccountsHandler, Handler, Listener, RefusalEffects, rest_token_failed, serve, session_refused,
};
use crate::method::Pick;
use crate::model::{Method, SignInState};
use crate::protocol::{ErrorInfo, ErrorKind, Request, Response, SessionEvent};
use crate::refresher::{Desktop, Online, Refresher, SiteCalls};
use crate::renewal::{Outcome, Plan};
use crate::secret::Secret;
use crate::session::Health;
use crate::settings::Settings;
use crate::signin::{self, Choice, SignInError, SignInStatus};
use crate::site::Site;

/// What signing in for a socket client needs from the desktop, besides keeping sessions.
pub trait SignIns: Desktop {
    /// Starts signing in to `site` with `method`, picked as `pick` (remembered once signed in
    /// if the person chose it); returns once it has started, not once it has ended. Its
    /// progress, to the end, is told to [`Self::sign_in_statuses`].
    fn start_sign_in(
        &self,
        site: &Site,
        method: Method,
        pick: Pick,
    ) -> impl Future<Output = Result<(), StartError>> + Send;

    /// Every sign-in status from now on.
    fn sign_in_statuses(&self) -> broadcast::Receiver<SignInStatus>;
}

/// Why a sign-in did not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// Not this way: the method needs what only the person can give there (a password).
    #[error("{0}")]
    Refused(String),
    /// The desktop could not be asked.
    #[error("{0}")]
    Desktop(String),
}

/// Answers from the accounts, plus what needs the refresher or the desktop.
#[derive(Debug)]
pub struct AppHandler<D, S = Online> {
    accounts: AccountsHandler,
    refresher: Arc<Refresher<S>>,
    desktop: Arc<D>,
}

impl<D: SignIns, S: SiteCalls> AppHandler<D, S> {
    pub fn new(refresher: Arc<Refresher<S>>, desktop: Arc<D>) -> Self {
        Self {
            accounts: AccountsHandler::new(Arc::clone(refresher.accounts())),
            refresher,
            desktop,
        }
    }

    /// Serves `listener` for as long as it accepts connections, introducing itself as
    /// `server_name`; REST tokens of sessions that end are dropped from the call on.
    pub fn serve(
        self,
        listener: Listener,
        server_name: String,
    ) -> impl Future<Output = ()> + Send + 'static {
        let follow = self.accounts.follow_sessions();
        let served = serve(listener, Arc::new(self), server_name);
        async move {
            tokio::join!(follow, served);
        }
    }

    /// `get_user`: the current user of `site`, renewed first when the policy says so.
    async fn user(&self, site: Option<Site>, min_ttl: Option<u64>) -> Response {
        let fresh = self
            .refresher
            .ensure_fresh(&*self.desktop, site.as_ref(), min_ttl)
            .await;
        match fresh {
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
    /// renewal code marks a session the site refused (the rule is [`rest_token_failed`]).
    async fn rest_token(&self, site: Option<Site>, min_ttl: Option<u64>) -> Response {
        let user = self.user(site, None).await;
        match self.accounts.rest_token(user, min_ttl).await {
            Ok(info) => Response::RestToken(info),
            Err(failure) => Response::Error(rest_token_failed(self, &failure).await),
        }
    }

    /// `session_refused`: a client's call was refused with the session it had;
    /// [`session_refused`] decides what it means. Never a window.
    async fn session_refused(&self, site: Option<Site>) -> Response {
        session_refused(self, site, || self.refresher.now()).await
    }

    /// Runs a sign-in for a client and answers once it has finished, failed or been
    /// cancelled.
    async fn sign_in(
        &self,
        site: Option<Site>,
        method: Option<Method>,
        pick: Pick,
    ) -> Result<Response, ErrorInfo> {
        let accounts = self.refresher.accounts();
        let Choice { site, method, .. } = signin::choose(accounts, site.as_ref(), method)
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
        let mut statuses = self.desktop.sign_in_statuses();
        // Clients pick the method themselves (`fpt-login login` asks for the one it resolved)
        // and say whether the person chose it, to be remembered with the session.
        self.desktop
            .start_sign_in(&site, method, pick)
            .await
            .map_err(|e| {
                let kind = match e {
                    StartError::Refused(_) => ErrorKind::BadRequest,
                    StartError::Desktop(_) => ErrorKind::Internal,
                };
                ErrorInfo::new(kind, e.to_string())
            })?;
        loop {
            let status = statuses
                .recv()
                .await
                .map_err(|e| ErrorInfo::new(ErrorKind::Internal, e.to_string()))?;
            if status.site.as_ref() != Some(&site) || !status.state.is_final() {
                continue;
            }
            return match status.state {
                SignInState::SignedIn => accounts
                    .user(Some(&site), None)
                    .map(Response::User)
                    .map_err(|e| e.to_error_info()),
                SignInState::Cancelled => Err(ErrorInfo::new(ErrorKind::Cancelled, status.message)),
                _ => Err(ErrorInfo::new(ErrorKind::SignInFailed, status.message)),
            };
        }
    }
}

impl<D: SignIns, S: SiteCalls> Handler for AppHandler<D, S> {
    fn subscribe(&self) -> broadcast::Receiver<SessionEvent> {
        self.accounts.subscribe()
    }

    async fn handle(&self, request: Request) -> Response {
        match request {
            Request::Login {
                site,
                method,
                chosen,
            } => self
                // Only a method named can be the person's choice; the default is not remembered.
                .sign_in(site, method, Pick::chosen_if(chosen && method.is_some()))
                .await
                .unwrap_or_else(Response::Error),
            Request::GetUser { site, min_ttl } => self.user(site, min_ttl).await,
            Request::GetRestToken { site, min_ttl } => self.rest_token(site, min_ttl).await,
            Request::SessionRefused { site } => self.session_refused(site).await,
            other => self.accounts.handle(other).await,
        }
    }
}

/// What the answers about refused sessions need: the renewal policy's `get_user`, the site,
/// the refresher's plans and notifications.
impl<D: SignIns, S: SiteCalls> RefusalEffects for AppHandler<D, S> {
    fn user(&self, site: Option<Site>) -> impl Future<Output = Response> + Send {
        AppHandler::user(self, site, None)
    }

    fn check(
        &self,
        site: &Site,
        login: &str,
        token: &Secret,
    ) -> impl Future<Output = Health> + Send {
        self.refresher.check(site, login, token)
    }

    fn record(&self, site: &Site, login: &str, token: &Secret, outcome: Outcome) {
        self.refresher
            .refused(&*self.desktop, site, login, token, outcome);
    }

    fn settings(&self) -> Option<Arc<Settings>> {
        self.refresher.accounts().settings_file().load_shared().ok()
    }

    fn with_plan<T>(&self, site: &Site, f: impl FnOnce(&mut Plan) -> T) -> T {
        self.refresher.with_plan(site, f)
    }

    fn notify(&self, site: &Site, login: &str) {
        self.refresher.notify(&*self.desktop, site, login);
    }
}
