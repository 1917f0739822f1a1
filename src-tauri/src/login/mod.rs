//! Every way into a site from the app: the web sign-in in an embedded webview, the App Session
//! Launcher in the system browser, and login + password (+ two-factor code). Each reports its
//! progress as a [`SignInStatus`]; the sign-in window shows it and socket clients wait for it.

mod asl;
mod password;
mod web;

pub use asl::{AslRun, cancel_asl, start_asl};
pub use password::{PasswordOutcome, sign_in_with_password};
pub use web::{Attempt, SilentRenewalError, forget_site_data, open_web_sign_in, renew_silently};

use fpt_login_core::Site;
use fpt_login_core::landing;
use fpt_login_core::model::Method;
use tauri::{AppHandle, Runtime};
use url::Url;

use crate::{AppState, SignInStatus};

/// A status line for `site`.
fn status(state: &'static str, site: &Site, message: impl Into<String>) -> SignInStatus {
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
        status("failed", site, format!("cannot sign in: {error}")),
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

/// Autodesk Identity hints tk-core passes to `/auth/renew` (protocol reference §3.1).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IdentityHints {
    /// `TK_SHOTGRID_DEFAULT_LOGIN`: prefills the Identity email.
    pub email: Option<String>,
    /// `TK_SHOTGRID_SSO_DOMAIN`: skips the Identity start page for the company IdP.
    pub sso_domain: Option<String>,
}

impl IdentityHints {
    pub fn from_env() -> Self {
        let var = |name| {
            std::env::var(name)
                .ok()
                .filter(|v: &String| !v.trim().is_empty())
        };
        Self {
            email: var("TK_SHOTGRID_DEFAULT_LOGIN"),
            sso_domain: var("TK_SHOTGRID_SSO_DOMAIN"),
        }
    }
}

/// `<site>/auth/renew?product=…[&email=…][&sso_domain=…]`, as tk-core builds it. The domain is
/// reduced to its host, lowercased, as tk-core's `sanitize_http_proxy(…).netloc` does.
pub fn renew_url(site: &Site, product: &str, hints: &IdentityHints) -> Url {
    let mut url = site.join(landing::RENEW_PATH);
    {
        let mut query = url.query_pairs_mut();
        query.append_pair("product", product);
        if let Some(email) = &hints.email {
            query.append_pair("email", email.trim());
        }
        if let Some(domain) = &hints.sso_domain {
            let domain = domain.trim().to_lowercase();
            let host = domain
                .split_once("://")
                .map_or(domain.as_str(), |(_, rest)| rest)
                .split('/')
                .next()
                .unwrap_or_default();
            query.append_pair("sso_domain", host);
        }
    }
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site() -> Site {
        Site::parse("https://foo.com").unwrap()
    }

    #[test]
    fn renew_urls_match_tk_core() {
        // The exact examples from tk-core's tests (protocol reference §3.1).
        let none = IdentityHints::default();
        assert_eq!(
            renew_url(&site(), "toolkit", &none).as_str(),
            "https://foo.com/auth/renew?product=toolkit"
        );
        let domain = IdentityHints {
            sso_domain: Some("HTTPS://Bar.com/".into()),
            ..IdentityHints::default()
        };
        assert_eq!(
            renew_url(&site(), "toolkit", &domain).as_str(),
            "https://foo.com/auth/renew?product=toolkit&sso_domain=bar.com"
        );
        let email = IdentityHints {
            email: Some("charlie@bar.com".into()),
            ..IdentityHints::default()
        };
        assert_eq!(
            renew_url(&site(), "toolkit", &email).as_str(),
            "https://foo.com/auth/renew?product=toolkit&email=charlie%40bar.com"
        );
    }
}
