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
mod status;
mod toolkit_import;
mod web;

pub use asl::{ApprovalPage, AslOptions, app_session_launcher};
pub use ending::Ending;
pub use password::{PasswordOutcome, with_password};
pub use site_api::{SiteApi, SiteClient};
pub use status::SignInStatus;
pub use toolkit_import::{ImportReport, ImportResult, import_toolkit_sessions, toolkit_offer};
pub use web::{
    EMPTY_PAGE, IdentityHints, MAX_RENEW_VISITS, Navigation, NavigationGuard, complete_web_sign_in,
    origin, renew_url,
};

use crate::accounts::Accounts;
use crate::api3::{Api3Error, SiteInfo};
use crate::asl::AslError;
use crate::method::{self, DEFAULT_METHOD_ENV, Offer, Pick};
use crate::model::Method;
use crate::protocol::NewSession;
use crate::secret::Secret;
use crate::settings::{Settings, SettingsError};
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
    #[error(transparent)]
    Settings(#[from] SettingsError),
}

impl SignInError {
    /// Whether signing in again (differently, or with another code) is what fixes it, as
    /// opposed to a site that cannot be reached or answers nonsense. The CLI exits with 4 for
    /// these.
    pub fn needs_person(&self) -> bool {
        match self {
            Self::NoSite | Self::ForeignApprovalPage { .. } | Self::Settings(_) => false,
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

/// Where and how a sign-in goes.
#[derive(Debug)]
pub struct Choice<A = SiteClient> {
    pub site: Site,
    /// The site's client, which the sign-in goes on with.
    pub api: A,
    pub method: Method,
    /// Whether the person picked `method`: only then is it remembered once signed in.
    pub pick: Pick,
}

/// The site (the one asked for, else the default site) and the way in (the one asked for,
/// else the site's default, see [`resolve_method`]) of a sign-in.
pub async fn choose(
    accounts: &Accounts,
    site: Option<&Site>,
    method: Option<Method>,
) -> Result<Choice, SignInError> {
    let settings = accounts.settings_file().load_shared()?;
    let env = std::env::var(DEFAULT_METHOD_ENV).ok();
    choose_with(&settings, site, method, SiteClient::new, env.as_deref()).await
}

async fn choose_with<A: SiteApi>(
    settings: &Settings,
    site: Option<&Site>,
    method: Option<Method>,
    connect: impl FnOnce(&Site) -> Result<A, Api3Error>,
    env_default: Option<&str>,
) -> Result<Choice<A>, SignInError> {
    let site = resolve_site(site, settings.default_site.as_ref())?;
    let saved = settings.sites.get(&site).and_then(|s| s.method);
    let api = connect(&site)?;
    let chosen = resolve_method_with(&api, method, saved, env_default).await?;
    Ok(Choice {
        site,
        api,
        method: chosen,
        pick: Pick::of(method),
    })
}

/// The site the sign-in window opens with: the one asked for, else the default site, else the
/// last one used.
pub fn window_site(asked: Option<String>, settings: &Settings) -> Option<String> {
    asked.or_else(|| {
        settings
            .default_site
            .as_ref()
            .or(settings.recent_sites.first())
            .map(ToString::to_string)
    })
}

/// Where "Renew now" takes the person: the way they signed in last time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RenewNow {
    /// Straight into the web sign-in: it needs nothing from the person but the site's pages.
    Web,
    /// The sign-in window for the site: the Launcher shows its approval page there, and a
    /// password has to be typed (as does anything when the way in is not known).
    Window,
}

/// Where "Renew now" for `site`'s current user goes.
pub fn renew_now(settings: &Settings, site: &Site) -> RenewNow {
    match settings.current_session(site).and_then(|(_, r)| r.method) {
        Some(Method::Web) => RenewNow::Web,
        _ => RenewNow::Window,
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
    async fn choosing_takes_the_default_site_and_its_saved_method() {
        let (a, b) = (site("https://a.example.com"), site("https://b.example.com"));
        let mut settings = Settings {
            default_site: Some(a.clone()),
            ..Settings::default()
        };
        settings.sites.entry(a.clone()).or_default().method = Some(Method::Credentials);
        let connect = |s: &Site| Ok(FakeSite::sso_with_launcher().at(s.as_str()));
        let c = choose_with(&settings, None, None, connect, None)
            .await
            .unwrap();
        assert_eq!(
            (&c.site, c.method, c.pick),
            (&a, Method::Credentials, Pick::Offered)
        );
        let c = choose_with(&settings, Some(&b), None, connect, None)
            .await
            .unwrap();
        assert_eq!((&c.site, c.method), (&b, Method::AppSessionLauncher));
        let c = choose_with(&settings, Some(&b), Some(Method::Web), connect, None)
            .await
            .unwrap();
        assert_eq!((c.method, c.pick), (Method::Web, Pick::Chosen));
        assert_eq!(c.api.calls("info"), 0);
        let e = choose_with(&Settings::default(), None, None, connect, None)
            .await
            .unwrap_err();
        assert!(matches!(e, SignInError::NoSite), "{e}");
    }

    #[test]
    fn the_window_opens_with_the_site_asked_for_then_the_default_then_the_last_used() {
        let (a, b) = (site("https://a.example.com"), site("https://b.example.com"));
        let mut settings = Settings {
            recent_sites: vec![b.clone(), a.clone()],
            ..Settings::default()
        };
        assert_eq!(
            window_site(Some("typed.example.com".into()), &settings).as_deref(),
            Some("typed.example.com")
        );
        assert_eq!(window_site(None, &settings), Some(b.to_string()));
        settings.default_site = Some(a.clone());
        assert_eq!(window_site(None, &settings), Some(a.to_string()));
        assert_eq!(window_site(None, &Settings::default()), None);
    }

    #[test]
    fn renew_now_opens_the_web_sign_in_only_for_a_web_session() {
        let s = site("https://a.example.com");
        let with = |method: Option<Method>| {
            let mut settings = Settings::default();
            let site_settings = settings.sites.entry(s.clone()).or_default();
            site_settings.current_user = Some("jane".to_owned());
            site_settings.users.insert(
                "jane".to_owned(),
                crate::settings::UserRecord {
                    method,
                    ..Default::default()
                },
            );
            settings
        };
        assert_eq!(renew_now(&with(Some(Method::Web)), &s), RenewNow::Web);
        for other in [
            Some(Method::AppSessionLauncher),
            Some(Method::Credentials),
            None,
        ] {
            assert_eq!(renew_now(&with(other), &s), RenewNow::Window, "{other:?}");
        }
        assert_eq!(renew_now(&Settings::default(), &s), RenewNow::Window);
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
