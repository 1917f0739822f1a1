//! The end of a web sign-in: the session the landing page's cookies hold, checked with the
//! site before anything is stored.

use std::sync::atomic::{AtomicU32, Ordering};

use url::Url;

use super::{Expiry, SignInError, SiteApi, validate};
use crate::landing::{self, WebSession};
use crate::model::Method;
use crate::protocol::NewSession;
use crate::site::Site;

/// Checks the token of a finished web sign-in with one authenticated call for the login the
/// cookies named; the result is ready to be stored.
pub async fn complete_web_sign_in(
    api: &impl SiteApi,
    landed: WebSession,
) -> Result<NewSession, SignInError> {
    let expiry = Expiry {
        claims_expire_at: landed.claims_expire_at,
        session_expires_at: landed.session_expires_at,
    };
    let cookie_id = landed.user_id;
    let session = validate(api, &landed.login, landed.token, Method::Web, expiry).await?;
    // The site's `csrf_token_u<id>` cookie says whose session the page holds; the token must
    // be that person's, not only one that answers for the login the page claimed.
    if let Some(cookie_id) = cookie_id
        && session.user_id != Some(cookie_id)
    {
        return Err(SignInError::WrongPerson {
            site: api.site().clone(),
            login: session.login,
            cookie_id,
        });
    }
    Ok(session)
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

/// Coming back to `/auth/renew` this often without landing means the IdP is looping.
pub const MAX_RENEW_VISITS: u32 = 5;

/// What a sign-in webview does with a navigation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Navigation {
    Allow,
    /// Not followed; the reason is for the log (it names no more than an origin).
    Refuse(String),
    /// The sign-in keeps coming back to `/auth/renew`: stop it and tell the person this.
    Looping(String),
}

/// Watches the navigations of one web sign-in (or silent renewal) of `site`.
#[derive(Debug)]
pub struct NavigationGuard {
    site: Site,
    renew_visits: AtomicU32,
}

impl NavigationGuard {
    pub fn new(site: &Site) -> Self {
        Self {
            site: site.clone(),
            renew_visits: AtomicU32::new(0),
        }
    }

    /// Only the web, and on an https site only https: a plain-http page in the middle of the
    /// sign-in could be read or changed by anyone on the network.
    pub fn check(&self, url: &Url) -> Navigation {
        // Every window starts empty and loads the sign-in once the cookies it carries are in
        // (`web_engine`); the empty page has nothing in it.
        if url.as_str() == EMPTY_PAGE {
            return Navigation::Allow;
        }
        match url.scheme() {
            "https" => {}
            "http" if self.site.is_http() => {}
            "http" => {
                return Navigation::Refuse(format!(
                    "plain http ({}) during the https sign-in to {}",
                    origin(url),
                    self.site
                ));
            }
            scheme => return Navigation::Refuse(format!("a non-web page ({scheme}:)")),
        }
        if self.site.is_same_origin(url) && url.path() == landing::RENEW_PATH {
            let visits = self
                .renew_visits
                .fetch_add(1, Ordering::SeqCst)
                .saturating_add(1);
            if visits > MAX_RENEW_VISITS {
                return Navigation::Looping(format!(
                    "the sign-in keeps coming back to {}{} without finishing; check with your studio's IT that your account may use this site",
                    origin(url),
                    url.path()
                ));
            }
        }
        Navigation::Allow
    }

    /// The window title while `url` is shown: the host the person is typing into.
    pub fn title(&self, url: &Url) -> String {
        match url.host_str() {
            Some(host) => format!("Sign in to {} — {host}", self.site),
            None => format!("Sign in to {}", self.site),
        }
    }
}

/// The page a webview starts on before it is sent anywhere.
pub const EMPTY_PAGE: &str = "about:blank";

/// `scheme://host[:port]` of `url`, for logs: paths and queries can hold tokens.
pub fn origin(url: &Url) -> String {
    url.origin().ascii_serialization()
}

#[cfg(test)]
mod renew_url_tests {
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

#[cfg(test)]
mod tests {
    use super::super::fake::FakeSite;
    use super::*;
    use crate::secret::Secret;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn an_https_sign_in_follows_only_https_pages() {
        let guard = NavigationGuard::new(&Site::parse("https://studio.example.com").unwrap());
        assert_eq!(
            guard.check(&url("https://idp.example.com/login")),
            Navigation::Allow
        );
        for refused in [
            "http://idp.example.com/login?SAMLRequest=secret",
            "file:///etc/passwd",
            "javascript:alert(1)",
            "smb://share/x",
            "about:srcdoc",
            "about:blank#x",
            "data:text/html,<form>",
        ] {
            let Navigation::Refuse(why) = guard.check(&url(refused)) else {
                panic!("{refused} was followed");
            };
            assert!(!why.contains("secret") && !why.contains("/login"), "{why}");
        }
        assert_eq!(guard.check(&url(EMPTY_PAGE)), Navigation::Allow);
        let local = NavigationGuard::new(&Site::parse("http://127.0.0.1:8090").unwrap());
        assert_eq!(
            local.check(&url("http://127.0.0.2:8091/idp")),
            Navigation::Allow
        );
    }

    #[test]
    fn coming_back_to_renew_again_and_again_is_a_loop() {
        let site = Site::parse("https://studio.example.com").unwrap();
        let guard = NavigationGuard::new(&site);
        let renew = url("https://studio.example.com/auth/renew?product=toolkit");
        for _ in 0..MAX_RENEW_VISITS {
            assert_eq!(guard.check(&renew), Navigation::Allow);
            assert_eq!(
                guard.check(&url("https://idp.example.com/")),
                Navigation::Allow
            );
        }
        let Navigation::Looping(message) = guard.check(&renew) else {
            panic!("no loop found");
        };
        assert!(
            message.contains("https://studio.example.com/auth/renew"),
            "{message}"
        );
        assert!(!message.contains("product"), "{message}");
        // A look-alike renew path elsewhere does not count.
        let other = NavigationGuard::new(&site);
        for _ in 0..10 {
            assert_eq!(
                other.check(&url("https://evil.example.com/auth/renew")),
                Navigation::Allow
            );
        }
    }

    #[test]
    fn the_title_names_the_host_on_show() {
        let guard = NavigationGuard::new(&Site::parse("https://studio.example.com").unwrap());
        assert_eq!(
            guard.title(&url("https://login.idp.example.net/x?y")),
            "Sign in to https://studio.example.com — login.idp.example.net"
        );
    }

    fn landed(login: &str, token: &str) -> WebSession {
        WebSession {
            login: login.to_owned(),
            token: Secret::new(token),
            user_id: Some(42),
            claims_expire_at: Some(2_000),
            session_expires_at: Some(1_500),
        }
    }

    #[tokio::test]
    async fn a_landing_with_a_working_token_is_a_web_session_with_its_expiry() {
        let fake = FakeSite::sso();
        let session = complete_web_sign_in(&fake, landed("jane", FakeSite::TOKEN))
            .await
            .unwrap();
        assert_eq!(session.method, Method::Web);
        assert_eq!(session.claims_expire_at, Some(2_000));
        assert_eq!(session.session_expires_at, Some(1_500));
    }

    #[tokio::test]
    async fn a_token_of_someone_other_than_the_cookies_say_is_refused() {
        let fake = FakeSite::sso();
        let mut other = landed("jane", FakeSite::TOKEN);
        other.user_id = Some(8);
        let e = complete_web_sign_in(&fake, other).await.unwrap_err();
        assert!(
            matches!(e, SignInError::WrongPerson { cookie_id: 8, .. }),
            "{e}"
        );
        assert!(e.needs_person(), "{e}");
        // Without the cookie there is nothing to compare.
        let mut unknown = landed("jane", FakeSite::TOKEN);
        unknown.user_id = None;
        assert!(complete_web_sign_in(&fake, unknown).await.is_ok());
    }

    #[tokio::test]
    async fn a_token_the_site_refuses_is_not_stored() {
        let fake = FakeSite::sso();
        let e = complete_web_sign_in(&fake, landed("jane", "from another site"))
            .await
            .unwrap_err();
        assert!(e.to_string().contains("refused the session"), "{e}");
    }
}
