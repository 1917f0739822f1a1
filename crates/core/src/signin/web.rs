//! The end of a web sign-in: the session the landing page's cookies hold, checked with the
//! site before anything is stored.

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
    validate(api, &landed.login, landed.token, Method::Web, expiry).await
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
    async fn a_token_the_site_refuses_is_not_stored() {
        let fake = FakeSite::sso();
        let e = complete_web_sign_in(&fake, landed("jane", "from another site"))
            .await
            .unwrap_err();
        assert!(e.to_string().contains("refused the session"), "{e}");
    }
}
