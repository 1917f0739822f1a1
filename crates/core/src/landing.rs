//! The end of a web sign-in: recognising the landing page and turning the cookie jar into a
//! session.
//!
//! Cookie names and lookup order follow tk-core (`sso_saml2/core/utils.py`): the token is
//! `_session_id`; the user id is the suffix of `csrf_token_u<id>`; the login is
//! `shotgun_current_user_login`, else `shotgun_sso_session_userid_u<id>` (URL-decoded, `+` is a
//! space); the SAML claims expiry is `shotgun_current_user_sso_claims_expiration`, else
//! `shotgun_sso_session_expiration_u<id>`.

use std::net::IpAddr;

use percent_encoding::percent_decode_str;
use url::Url;

use crate::secret::Secret;
use crate::site::Site;

/// Path prefix of the page FPT redirects to once the sign-in is complete.
pub const LANDING_PATH: &str = "/auth/landing";
/// Path of the page that starts a web sign-in (and a silent renewal).
pub const RENEW_PATH: &str = "/auth/renew";
/// The session token cookie.
pub const SESSION_COOKIE: &str = "_session_id";
const LOGIN_COOKIE: &str = "shotgun_current_user_login";
const LEGACY_LOGIN_PREFIX: &str = "shotgun_sso_session_userid_u";
const CSRF_PREFIX: &str = "csrf_token_u";
const CLAIMS_COOKIE: &str = "shotgun_current_user_sso_claims_expiration";
const LEGACY_CLAIMS_PREFIX: &str = "shotgun_sso_session_expiration_u";
const SESSION_EXPIRY_COOKIE: &str = "shotgun_current_session_expiration";

/// One cookie as the webview's cookie store reports it.
#[derive(Debug, Clone)]
pub struct Cookie {
    pub name: String,
    pub value: Secret,
    /// The `Domain` attribute, or the host for a host-only cookie. A leading dot is allowed.
    pub domain: String,
    pub http_only: bool,
}

/// What a finished web sign-in yields, before it is validated against the site.
#[derive(Debug, Clone)]
pub struct WebSession {
    pub login: String,
    pub token: Secret,
    pub user_id: Option<u64>,
    /// When the SAML claims lapse (epoch seconds); present only for SSO users.
    pub claims_expire_at: Option<i64>,
    /// `shotgun_current_session_expiration` (epoch seconds) when the site sets it.
    pub session_expires_at: Option<i64>,
}

/// Why the cookie jar did not hold a usable session.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LandingError {
    #[error("reached {url} but the site set no _session_id cookie for {host}{}", other_domains_note(.other_domains))]
    NoSessionCookie {
        url: String,
        host: String,
        other_domains: Vec<String>,
    },
    #[error(
        "reached {url} but the site did not say who signed in (no shotgun_current_user_login cookie)"
    )]
    NoLogin { url: String },
    #[error(
        "reached {url} with cookies from two different users ({first} and {second}); sign out of the site in the browser and try again"
    )]
    TwoUsers {
        url: String,
        first: String,
        second: String,
    },
}

fn other_domains_note(domains: &[String]) -> String {
    if domains.is_empty() {
        String::new()
    } else {
        format!(
            " (a _session_id set for {} was ignored)",
            domains.join(", ")
        )
    }
}

/// True when `url` is the site's own landing page: same origin as the site and a path that
/// starts with `/auth/landing`. A look-alike path on any other host is not a landing.
pub fn is_landing(site: &Site, url: &Url) -> bool {
    site.is_same_origin(url) && url.path().starts_with(LANDING_PATH)
}

/// RFC 6265 §5.1.3 domain-match of a cookie's domain against a request host.
pub fn domain_matches(cookie_domain: &str, host: &str) -> bool {
    let domain = cookie_domain.trim_start_matches('.').to_ascii_lowercase();
    let host = host.to_ascii_lowercase();
    if domain.is_empty() {
        return false;
    }
    if host == domain {
        return true;
    }
    // A suffix match is only allowed for host names, never for IP addresses.
    host.parse::<IpAddr>().is_err()
        && host.len() > domain.len()
        && host.ends_with(&domain)
        && host.as_bytes()[host.len() - domain.len() - 1] == b'.'
}

/// Builds the session from the cookies present when the landing page finished loading.
///
/// Only cookies whose domain matches the site's host count; a `_session_id` for any other
/// domain is ignored and mentioned in the error.
pub fn session_from_cookies(
    site: &Site,
    landing_url: &Url,
    cookies: &[Cookie],
) -> Result<WebSession, LandingError> {
    let (ours, theirs): (Vec<&Cookie>, Vec<&Cookie>) = cookies
        .iter()
        .partition(|c| domain_matches(&c.domain, site.host()));
    let find = |name: &str| ours.iter().find(|c| c.name == name).copied();
    let Some(token_cookie) = find(SESSION_COOKIE).filter(|c| !c.value.is_empty()) else {
        let mut other_domains: Vec<String> = theirs
            .iter()
            .filter(|c| c.name == SESSION_COOKIE)
            .map(|c| c.domain.clone())
            .collect();
        other_domains.dedup();
        return Err(LandingError::NoSessionCookie {
            url: landing_url.to_string(),
            host: site.host().to_owned(),
            other_domains,
        });
    };

    let mut ids = ours
        .iter()
        .filter_map(|c| c.name.strip_prefix(CSRF_PREFIX))
        .filter(|suffix| !suffix.is_empty());
    let user_id_text = ids.next();
    if let Some(second) = ids.find(|other| Some(*other) != user_id_text) {
        return Err(LandingError::TwoUsers {
            url: landing_url.to_string(),
            first: user_id_text.unwrap_or_default().to_owned(),
            second: second.to_owned(),
        });
    }
    let user_id = user_id_text.and_then(|s| s.parse::<u64>().ok());
    let suffixed = |prefix: &str| user_id_text.and_then(|id| find(&format!("{prefix}{id}")));

    let login = find(LOGIN_COOKIE)
        .or_else(|| suffixed(LEGACY_LOGIN_PREFIX))
        .map(|c| unquote_plus(c.value.expose()))
        .filter(|l| !l.trim().is_empty())
        .ok_or_else(|| LandingError::NoLogin {
            url: landing_url.to_string(),
        })?;
    let epoch = |c: &Cookie| c.value.expose().trim().parse::<i64>().ok();
    let claims_expire_at = find(CLAIMS_COOKIE)
        .or_else(|| suffixed(LEGACY_CLAIMS_PREFIX))
        .and_then(epoch);
    let session_expires_at = find(SESSION_EXPIRY_COOKIE).and_then(epoch);

    Ok(WebSession {
        login: login.trim().to_owned(),
        token: token_cookie.value.clone(),
        user_id,
        claims_expire_at,
        session_expires_at,
    })
}

/// Python's `urllib.parse.unquote_plus`: `+` is a space, then percent-decoding.
fn unquote_plus(value: &str) -> String {
    percent_decode_str(&value.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site() -> Site {
        Site::parse("https://mystudio.shotgrid.autodesk.com").unwrap()
    }

    fn landing() -> Url {
        Url::parse("https://mystudio.shotgrid.autodesk.com/auth/landing?x=1").unwrap()
    }

    fn cookie(name: &str, value: &str, domain: &str) -> Cookie {
        Cookie {
            name: name.into(),
            value: Secret::new(value),
            domain: domain.into(),
            http_only: name == SESSION_COOKIE,
        }
    }

    fn real_jar() -> Vec<Cookie> {
        let host = "mystudio.shotgrid.autodesk.com";
        vec![
            cookie("idp_session", "idp-secret", "idp.example.net"),
            cookie(SESSION_COOKIE, "tok-123", host),
            cookie("csrf_token_u42", "csrf", host),
            cookie(LOGIN_COOKIE, "jane.doe%40studio.com", host),
            cookie(CLAIMS_COOKIE, "1900000000", host),
        ]
    }

    #[test]
    fn landing_needs_the_site_origin() {
        let site = site();
        assert!(is_landing(&site, &landing()));
        assert!(is_landing(
            &site,
            &Url::parse("https://mystudio.shotgrid.autodesk.com/auth/landing/").unwrap()
        ));
        for lookalike in [
            "https://evil.example.com/auth/landing",
            "https://mystudio.shotgrid.autodesk.com.evil.com/auth/landing",
            "http://mystudio.shotgrid.autodesk.com/auth/landing",
            "https://mystudio.shotgrid.autodesk.com:8443/auth/landing",
            "https://evil.example.com/?next=https://mystudio.shotgrid.autodesk.com/auth/landing",
            "https://mystudio.shotgrid.autodesk.com/auth/renew",
            "https://mystudio.shotgrid.autodesk.com/x/auth/landing",
        ] {
            assert!(
                !is_landing(&site, &Url::parse(lookalike).unwrap()),
                "{lookalike}"
            );
        }
    }

    #[test]
    fn domain_match_follows_rfc_6265() {
        assert!(domain_matches("example.com", "example.com"));
        assert!(domain_matches(".example.com", "www.example.com"));
        assert!(domain_matches("Example.COM", "a.b.example.com"));
        assert!(!domain_matches("example.com", "badexample.com"));
        assert!(!domain_matches("www.example.com", "example.com"));
        assert!(!domain_matches("0.0.1", "127.0.0.1"));
        assert!(domain_matches("127.0.0.1", "127.0.0.1"));
        assert!(!domain_matches("", "example.com"));
    }

    #[test]
    fn session_comes_from_the_real_cookie_names() {
        let s = session_from_cookies(&site(), &landing(), &real_jar()).unwrap();
        assert_eq!(s.token.expose(), "tok-123");
        assert_eq!(s.login, "jane.doe@studio.com");
        assert_eq!(s.user_id, Some(42));
        assert_eq!(s.claims_expire_at, Some(1_900_000_000));
        assert_eq!(s.session_expires_at, None);
    }

    #[test]
    fn legacy_suffixed_cookies_are_the_fallback() {
        let host = ".shotgrid.autodesk.com";
        let jar = vec![
            cookie(SESSION_COOKIE, "tok", host),
            cookie("csrf_token_u7", "c", host),
            cookie("shotgun_sso_session_userid_u7", "john+smith", host),
            cookie("shotgun_sso_session_expiration_u7", "4321", host),
            cookie(SESSION_EXPIRY_COOKIE, "1234", host),
        ];
        let s = session_from_cookies(&site(), &landing(), &jar).unwrap();
        assert_eq!(s.login, "john smith");
        assert_eq!(s.claims_expire_at, Some(4321));
        assert_eq!(s.session_expires_at, Some(1234));
    }

    #[test]
    fn a_session_cookie_for_another_domain_is_ignored() {
        let jar = vec![
            cookie(SESSION_COOKIE, "foreign", "evil.example.com"),
            cookie(LOGIN_COOKIE, "jane", "mystudio.shotgrid.autodesk.com"),
        ];
        let e = session_from_cookies(&site(), &landing(), &jar).unwrap_err();
        assert!(
            matches!(&e, LandingError::NoSessionCookie { other_domains, .. } if other_domains == &["evil.example.com"])
        );
        let message = e.to_string();
        assert!(
            message.contains("evil.example.com") && !message.contains("foreign"),
            "{message}"
        );
    }

    #[test]
    fn a_look_alike_parent_domain_does_not_count() {
        let jar = vec![
            cookie(SESSION_COOKIE, "t", "autodesk.com.evil.net"),
            cookie(LOGIN_COOKIE, "jane", "mystudio.shotgrid.autodesk.com"),
        ];
        assert!(session_from_cookies(&site(), &landing(), &jar).is_err());
    }

    #[test]
    fn missing_login_is_an_error() {
        let jar = vec![cookie(
            SESSION_COOKIE,
            "t",
            "mystudio.shotgrid.autodesk.com",
        )];
        assert!(matches!(
            session_from_cookies(&site(), &landing(), &jar),
            Err(LandingError::NoLogin { .. })
        ));
    }

    #[test]
    fn two_users_in_one_jar_is_an_error() {
        let mut jar = real_jar();
        jar.push(cookie(
            "csrf_token_u43",
            "c",
            "mystudio.shotgrid.autodesk.com",
        ));
        assert!(matches!(
            session_from_cookies(&site(), &landing(), &jar),
            Err(LandingError::TwoUsers { .. })
        ));
    }
}
