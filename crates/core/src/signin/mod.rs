//! Every way into a site, one flow each, shared by the CLI and the desktop app: which site and
//! which way in, the App Session Launcher, login + password + two-factor code, the web
//! sign-in's landing, and taking over Toolkit's sessions. The adapters render what these
//! return and store the session through their own channel (the app's accounts, or the running
//! app over the socket); no rule of a sign-in lives anywhere else.
//!
//! The flows talk to the site through [`SiteApi`], so each is unit-tested with a scripted
//! fake site, without a network or a window.

mod asl;
mod ending;
#[cfg(test)]
pub(crate) mod fake;
mod password;
mod site_api;
mod toolkit_import;
mod web;

pub use asl::{ApprovalPage, AslOptions, app_session_launcher};
pub use ending::Ending;
pub use password::{PasswordOutcome, with_password};
pub use site_api::{SiteApi, SiteClient};
pub use toolkit_import::{ImportReport, ImportResult, import_toolkit_sessions};
pub use web::{
    IdentityHints, MAX_RENEW_VISITS, Navigation, NavigationGuard, complete_web_sign_in, origin,
    renew_url,
};

use crate::api3::{Api3Error, SiteInfo};
use crate::asl::AslError;
use crate::method::{self, DEFAULT_METHOD_ENV, Offer};
use crate::model::Method;
use crate::protocol::NewSession;
use crate::secret::Secret;
use crate::site::Site;

/// Why a sign-in did not happen.
#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    #[error("no site given and no default site yet; name the site to sign in to (--site URL)")]
    NoSite,
    #[error(transparent)]
    Site(#[from] Api3Error),
    #[error(transparent)]
    Launcher(#[from] AslError),
    /// The site handed out an approval page somewhere else: opening it could run anything
    /// (`file:`, a custom scheme) or send the person to another host.
    #[error(
        "the site's approval page is not on {site} ({shown}); nothing was opened — tell your studio's FPT administrator"
    )]
    ForeignApprovalPage { site: Site, shown: String },
    #[error(
        "the sign-in on {site} ended with cookies for user {cookie_id}, but its session belongs to {login}; nothing was stored — sign out of the site in the browser and try again"
    )]
    WrongPerson {
        site: Site,
        login: String,
        cookie_id: u64,
    },
    #[error("the sign-in to {site} was cancelled; nothing was stored")]
    Cancelled { site: Site },
}

impl SignInError {
    /// Whether signing in again (differently, or with another code) is what fixes it, as
    /// opposed to a site that cannot be reached or answers nonsense. The CLI exits with 4 for
    /// these.
    pub fn needs_person(&self) -> bool {
        match self {
            Self::NoSite | Self::ForeignApprovalPage { .. } => false,
            Self::Site(e) => matches!(
                e,
                Api3Error::WrongPassword
                    | Api3Error::TwoFactorRequired
                    | Api3Error::WrongTwoFactorCode
                    | Api3Error::SsoOnly
                    | Api3Error::IdentityOnly
                    | Api3Error::SessionExpired { .. }
                    | Api3Error::UnknownUser { .. }
                    | Api3Error::WrongScriptKey { .. }
            ),
            Self::WrongPerson { .. } | Self::Cancelled { .. } => true,
            Self::Launcher(e) => matches!(e, AslError::RejectedOrExpired | AslError::Disabled),
        }
    }
}

/// The site to sign in to: the one asked for, else the default site.
pub fn resolve_site(requested: Option<&Site>, default: Option<&Site>) -> Result<Site, SignInError> {
    requested.or(default).cloned().ok_or(SignInError::NoSite)
}

/// The way in: the one asked for, else the default among what the site offers (the choice
/// saved for the site, then `SGTK_DEFAULT_AUTH_METHOD`, then App Session Launcher > web >
/// credentials). Asks the site only when nothing was asked for.
pub async fn resolve_method(
    api: &impl SiteApi,
    requested: Option<Method>,
    saved: Option<Method>,
) -> Result<Method, SignInError> {
    let env = std::env::var(DEFAULT_METHOD_ENV).ok();
    resolve_method_with(api, requested, saved, env.as_deref()).await
}

async fn resolve_method_with(
    api: &impl SiteApi,
    requested: Option<Method>,
    saved: Option<Method>,
    env_default: Option<&str>,
) -> Result<Method, SignInError> {
    if let Some(method) = requested {
        return Ok(method);
    }
    let info = api.info().await?;
    Ok(method::offer(&info, saved, env_default).default)
}

/// What the sign-in window offers for a site once its `info` answered: the site's kind and
/// the ways in, the default first.
pub async fn site_offer(
    api: &impl SiteApi,
    saved: Option<Method>,
) -> Result<(SiteInfo, Offer), SignInError> {
    let info = api.info().await?;
    let offer = offer(&info, saved);
    Ok((info, offer))
}

/// The ways in `info` offers, the default first, with `SGTK_DEFAULT_AUTH_METHOD` from the
/// environment.
pub fn offer(info: &SiteInfo, saved: Option<Method>) -> Offer {
    let env = std::env::var(DEFAULT_METHOD_ENV).ok();
    method::offer(info, saved, env.as_deref())
}

/// Expiry hints a sign-in may carry (web sign-ins read them from cookies).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Expiry {
    pub claims_expire_at: Option<i64>,
    pub session_expires_at: Option<i64>,
}

/// Checks `token` by reading the `HumanUser` whose login is `login`; the stored session uses
/// the login and id the site returned, never just what the sign-in claimed.
pub async fn validate(
    api: &impl SiteApi,
    login: &str,
    token: Secret,
    method: Method,
    expiry: Expiry,
) -> Result<NewSession, SignInError> {
    let user = api.find_human_user(&token, login).await?;
    Ok(NewSession {
        login: user.login,
        token,
        user_id: Some(user.id),
        name: user.name,
        method,
        claims_expire_at: expiry.claims_expire_at,
        session_expires_at: expiry.session_expires_at,
    })
}

#[cfg(test)]
mod tests {
    use super::fake::FakeSite;
    use super::*;

    fn site(s: &str) -> Site {
        Site::parse(s).unwrap()
    }

    #[test]
    fn the_site_asked_for_wins_over_the_default() {
        let (a, b) = (site("https://a.example.com"), site("https://b.example.com"));
        assert_eq!(resolve_site(Some(&a), Some(&b)).unwrap(), a);
        assert_eq!(resolve_site(None, Some(&b)).unwrap(), b);
        let e = resolve_site(None, None).unwrap_err();
        assert!(matches!(e, SignInError::NoSite));
        assert!(e.to_string().contains("no default site"), "{e}");
    }

    #[tokio::test]
    async fn an_explicit_method_does_not_ask_the_site() {
        let fake = FakeSite::sso();
        let m = resolve_method_with(&fake, Some(Method::Credentials), Some(Method::Web), None)
            .await
            .unwrap();
        assert_eq!(m, Method::Credentials);
        assert_eq!(fake.calls("info"), 0);
    }

    #[tokio::test]
    async fn without_one_the_saved_choice_then_the_environment_then_the_preference() {
        let fake = FakeSite::sso_with_launcher();
        let resolve = |saved, env| resolve_method_with(&fake, None, saved, env);
        assert_eq!(
            resolve(None, None).await.unwrap(),
            Method::AppSessionLauncher
        );
        assert_eq!(
            resolve(None, Some("qt_web_login")).await.unwrap(),
            Method::Web
        );
        assert_eq!(
            resolve(Some(Method::Credentials), Some("qt_web_login"))
                .await
                .unwrap(),
            Method::Credentials
        );
    }

    #[tokio::test]
    async fn an_unreachable_site_is_an_error_not_a_guess() {
        let fake = FakeSite::unreachable();
        let e = resolve_method_with(&fake, None, None, None)
            .await
            .unwrap_err();
        assert!(!e.needs_person(), "{e}");
        assert!(e.to_string().contains("cannot reach"), "{e}");
    }

    #[tokio::test]
    async fn validation_stores_what_the_site_says_not_what_the_sign_in_claimed() {
        let fake = FakeSite::sso();
        let session = validate(
            &fake,
            "JANE",
            Secret::new(FakeSite::TOKEN),
            Method::Web,
            Expiry {
                claims_expire_at: Some(7),
                session_expires_at: None,
            },
        )
        .await
        .unwrap();
        assert_eq!(session.login, "jane");
        assert_eq!(session.user_id, Some(42));
        assert_eq!(session.claims_expire_at, Some(7));
        let e = validate(
            &fake,
            "jane",
            Secret::new("forged"),
            Method::Web,
            Expiry::default(),
        )
        .await
        .unwrap_err();
        assert!(e.needs_person(), "{e}");
    }
}
