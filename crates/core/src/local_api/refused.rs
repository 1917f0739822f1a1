//! What the app answers a client whose call the site refused, or whose REST token was not
//! minted: the app asks the site about the session itself (a client's word alone never marks
//! one), and records only what only the site can say.

use std::future::Future;
use std::sync::Arc;

use super::RestFailure;
use crate::protocol::{Credentials, ErrorInfo, ErrorKind, Response};
use crate::renewal::{Outcome, Plan};
use crate::rest::{Credential, RestTokenError};
use crate::secret::Secret;
use crate::session::Health;
use crate::settings::Settings;
use crate::site::Site;

/// What these answers need from the app.
pub trait RefusalEffects: Sync {
    /// `get_user` as the app answers it, renewing first when the renewal policy says so.
    fn user(&self, site: Option<Site>) -> impl Future<Output = Response> + Send;

    /// What the site says about `login`'s session with `token` ([`crate::session::check`]).
    fn check(
        &self,
        site: &Site,
        login: &str,
        token: &Secret,
    ) -> impl Future<Output = Health> + Send;

    /// Records `outcome`, found with `token`, for `login`'s session on `site` through the
    /// renewal policy (which ignores it once `token` is no longer the stored one).
    fn record(&self, site: &Site, login: &str, token: &Secret, outcome: Outcome);

    /// The settings as stored now; `None` when they cannot be read.
    fn settings(&self) -> Option<Arc<Settings>>;

    /// Runs `f` on `site`'s renewal plan.
    fn with_plan<T>(&self, site: &Site, f: impl FnOnce(&mut Plan) -> T) -> T;

    /// Tells `login` their session on `site` needs them: a notification, never a window.
    fn notify(&self, site: &Site, login: &str);
}

/// Asks the site about `login`'s session and records what only the site can say: lapsed
/// claims or an ended session. A working or unreachable site changes nothing.
pub async fn ask_site(
    app: &impl RefusalEffects,
    site: &Site,
    login: &str,
    token: &Secret,
) -> Health {
    let health = app.check(site, login, token).await;
    if !matches!(health, Health::Alive { .. } | Health::Unreachable { .. }) {
        app.record(site, login, token, health.clone().into());
    }
    health
}

/// `session_refused`: a client's call was refused with the session it had. A working session
/// is handed out, lapsed claims are renewed silently, and when nobody usable is left the
/// person signed in is reminded, at most every few minutes however often clients ask (`now`
/// reads our clock; it is read once the user is known, which can take a whole silent renewal:
/// a time read before would let a call that waited remind again right after a later one did).
/// A site nobody signed in to stays quiet.
pub async fn session_refused(
    app: &impl RefusalEffects,
    site: Option<Site>,
    now: impl FnOnce() -> i64 + Send,
) -> Response {
    let user = match app.user(site.clone()).await {
        Response::User(user) => user,
        Response::Error(e) if e.kind == ErrorKind::SignInRequired => {
            let settings = app.settings();
            if let Some((site, login)) = settings
                .as_deref()
                .and_then(|s| s.current_user(site.as_ref()))
                && app.with_plan(site, |plan| plan.remind(now()))
            {
                app.notify(site, login);
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
    match ask_site(app, &user.site, login, session_token).await {
        Health::Alive { .. } => Response::User(user),
        Health::Unreachable { reason } => Response::Error(ErrorInfo::new(
            ErrorKind::Internal,
            format!("cannot ask {} about the session: {reason}", user.site),
        )),
        // Lapsed claims are renewed now; an expired session is "sign in".
        Health::Expired { .. } | Health::ClaimsLapsed { .. } => {
            app.user(Some(user.site.clone())).await
        }
    }
}

/// The answer to `get_rest_token` when no token was minted. The token endpoint refusing a
/// session is no proof the session is gone (a site without the grant, a firewall's 403): the
/// site's own answer about the session is, so the site is asked (and what it says recorded),
/// and a session it still accepts is an internal error, not "sign in".
pub async fn rest_token_failed(app: &impl RefusalEffects, failure: &RestFailure) -> ErrorInfo {
    if let RestFailure::Token(error) = failure
        && let RestTokenError::CredentialRefused {
            site,
            credential: Credential::Session { login, token },
            source,
        } = error.as_ref()
        && let Health::Alive { .. } = ask_site(app, site, login, token).await
    {
        return ErrorInfo::new(
            ErrorKind::Internal,
            format!(
                "{site} gives no REST API token for {login}'s session, which still works ({source})"
            ),
        );
    }
    failure.to_error_info()
}

#[cfg(test)]
mod tests;
