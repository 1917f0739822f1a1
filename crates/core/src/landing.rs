//! The end of a web sign-in: recognising the landing page and turning the cookie jar into a
//! session.
//!
//! Cookie names and lookup order follow tk-core (`sso_saml2/core/utils.py`): the token is
//! `_session_id`; the user id is the suffix of `csrf_token_u<id>`; the login is
//! `shotgun_current_user_login`, else `shotgun_sso_session_userid_u<id>` (URL-decoded, `+` is a
//! space); the SAML claims expiry is `shotgun_current_user_sso_claims_expiration`, else
//! `shotgun_sso_session_expiration_u<id>`.

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
    /// The domain as the webview reports it. libsoup keeps a cookie set with a `Domain`
    /// attribute as `.domain` and a host-only one as the bare host, but the `cookie` crate the
    /// webview hands cookies over in drops that dot, so a cookie for exactly the site's host
    /// may be either kind. A leading dot, when present, still means a domain cookie. None
    /// (none reported) is host-only for the landing page's host.
    pub domain: Option<String>,
    /// The `Path` attribute. None (or not starting with `/`) is RFC 6265's default path, taken
    /// as for a cookie the landing page's response set: that page's directory.
    pub path: Option<String>,
    pub http_only: bool,
    pub secure: bool,
}

impl Cookie {
    /// The domain, or for a cookie reported without one, the host of `url` (the landing
    /// page), which it is host-only for.
    fn domain_for<'a>(&'a self, url: &'a Url) -> &'a str {
        self.domain
            .as_deref()
            .unwrap_or_else(|| url.host_str().unwrap_or_default())
    }
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
        "reached {url} but the browser holds {count} _session_id cookies the site could have set for {host}; refusing to guess whose session is whose: sign out of the site in the browser and try again"
    )]
    TwoSessionCookies {
        url: String,
        host: String,
        count: usize,
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

/// True when `url` is the site's own landing page: same origin as the site and the path
/// `/auth/landing` itself or below it (`/auth/landingX` is another page). A look-alike path on
/// any other host is not a landing.
pub fn is_landing(site: &Site, url: &Url) -> bool {
    let path = url.path();
    site.is_same_origin(url)
        && path
            .strip_prefix(LANDING_PATH)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// A cookie the browser sends to the landing page, and whether it is for the landing page's
/// host alone (host-only, or one set with `Domain=` that very host — which only the host and
/// hosts under it can set; see [`Cookie::domain`]).
struct Sent<'a> {
    cookie: &'a Cookie,
    host_only: bool,
}

/// The cookies of `jar` a browser sends to `url`, by RFC 6265 as the `cookie_store` crate
/// implements it: domain and path matching, host-only versus domain cookies, Secure. A cookie
/// reported for another domain reaches `url`'s host only as a domain cookie, so it is taken as
/// one whether or not its dot survived.
fn sent_to<'a>(url: &Url, jar: &'a [Cookie]) -> Vec<Sent<'a>> {
    let url_host = url.host_str().unwrap_or_default();
    let mut store = cookie_store::CookieStore::default();
    for (index, cookie) in jar.iter().enumerate() {
        let domain = cookie.domain_for(url);
        let host = domain.strip_prefix('.').unwrap_or(domain);
        let domain_cookie = domain.starts_with('.') || !host.eq_ignore_ascii_case(url_host);
        // The value stays ours: the store only carries the index back to it.
        let mut raw = cookie_store::RawCookie::new(cookie.name.clone(), index.to_string());
        // Without one, the store gives it the default path of the URL it was set from.
        if let Some(path) = &cookie.path {
            raw.set_path(path.clone());
        }
        raw.set_http_only(cookie.http_only);
        raw.set_secure(cookie.secure);
        if domain_cookie {
            raw.set_domain(host.to_owned());
        }
        // Where it could have been set from: its own host, over the landing page's scheme,
        // at the landing page's path (which gives a cookie without a path its default).
        let bracketed = if host.contains(':') && !host.starts_with('[') {
            format!("[{host}]")
        } else {
            host.to_owned()
        };
        let set_from = format!("{}://{bracketed}{}", url.scheme(), url.path());
        let Ok(origin) = Url::parse(&set_from) else {
            continue;
        };
        // A cookie the store refuses (a domain its host cannot set) is not one a browser keeps.
        let _ = store.insert_raw(&raw, &origin);
    }
    store
        .matches(url)
        .into_iter()
        .filter_map(|c| {
            let cookie = jar.get(c.value().parse::<usize>().ok()?)?;
            Some(Sent {
                cookie,
                host_only: matches!(c.domain, cookie_store::CookieDomain::HostOnly(_)),
            })
        })
        .collect()
}

/// How many `_session_id` cookies for exactly the landing page's host the browser would send
/// there. Counted one by one: a store keeps one cookie per domain, path and name, so two
/// that differ only in how they were set (host-only, `Domain=` the host) would collapse.
fn own_session_candidates(url: &Url, jar: &[Cookie]) -> usize {
    jar.iter()
        .filter(|c| c.name == SESSION_COOKIE && !c.value.is_empty())
        .filter(|c| {
            sent_to(url, std::slice::from_ref(*c))
                .first()
                .is_some_and(|s| s.host_only)
        })
        .count()
}

/// Builds the session from the cookies present when the landing page finished loading.
///
/// The token is the one `_session_id` the site itself set: host-only for the site's host,
/// HttpOnly, and Secure on an https site. Any other `_session_id` (a sibling host's for the
/// parent domain, one scripts can read) is ignored and named in the error; two that qualify
/// are refused rather than guessed between. Other cookies count when the browser would send
/// them to the landing page, host-only ones first.
pub fn session_from_cookies(
    site: &Site,
    landing_url: &Url,
    cookies: &[Cookie],
) -> Result<WebSession, LandingError> {
    let candidates = own_session_candidates(landing_url, cookies);
    if candidates > 1 {
        return Err(LandingError::TwoSessionCookies {
            url: landing_url.to_string(),
            host: site.host().to_owned(),
            count: candidates,
        });
    }
    let mut sent = sent_to(landing_url, cookies);
    sent.sort_by_key(|s| !s.host_only);
    let https = landing_url.scheme() == "https";
    let (tokens, ignored): (Vec<&Sent>, Vec<&Sent>) = sent
        .iter()
        .filter(|s| s.cookie.name == SESSION_COOKIE && !s.cookie.value.is_empty())
        .partition(|s| s.host_only && s.cookie.http_only && (s.cookie.secure || !https));
    let token_cookie = match tokens.as_slice() {
        [one] => one.cookie,
        [] => {
            let mut other_domains: Vec<String> = cookies
                .iter()
                .filter(|c| c.name == SESSION_COOKIE)
                .filter(|c| !ignored.iter().any(|s| std::ptr::eq(s.cookie, *c)))
                .map(|c| c.domain_for(landing_url).to_owned())
                .chain(
                    ignored
                        .iter()
                        .map(|s| ignored_reason(s, landing_url, https)),
                )
                .collect();
            other_domains.sort();
            other_domains.dedup();
            return Err(LandingError::NoSessionCookie {
                url: landing_url.to_string(),
                host: site.host().to_owned(),
                other_domains,
            });
        }
        many => {
            return Err(LandingError::TwoSessionCookies {
                url: landing_url.to_string(),
                host: site.host().to_owned(),
                count: many.len(),
            });
        }
    };
    let ours: Vec<&Cookie> = sent.iter().map(|s| s.cookie).collect();
    let find = |name: &str| ours.iter().find(|c| c.name == name).copied();

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
    let epoch = |c: &Cookie| {
        c.value
            .expose()
            .trim()
            .parse::<i64>()
            .ok()
            .and_then(crate::time::from_site)
    };
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

/// How the error names a `_session_id` the browser would send but that the site's own
/// could not be.
fn ignored_reason(sent: &Sent, url: &Url, https: bool) -> String {
    let domain = sent.cookie.domain_for(url);
    if !sent.host_only {
        format!("{domain} (for every host under it)")
    } else if !sent.cookie.http_only {
        format!("{domain} (readable by scripts)")
    } else if https && !sent.cookie.secure {
        format!("{domain} (not Secure)")
    } else {
        domain.to_owned()
    }
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

    /// A cookie as a site sets it: the session HttpOnly, everything Secure (the site is
    /// https), at `/`.
    fn cookie(name: &str, value: &str, domain: &str) -> Cookie {
        Cookie {
            name: name.into(),
            value: Secret::new(value),
            domain: Some(domain.into()),
            path: Some("/".into()),
            http_only: name == SESSION_COOKIE,
            secure: true,
        }
    }

    const HOST: &str = "mystudio.shotgrid.autodesk.com";

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
        for landing in [
            "https://mystudio.shotgrid.autodesk.com/auth/landing",
            "https://mystudio.shotgrid.autodesk.com/auth/landing/",
            "https://mystudio.shotgrid.autodesk.com/auth/landing/done",
            "https://mystudio.shotgrid.autodesk.com/auth/landing?product=x",
            "https://mystudio.shotgrid.autodesk.com/auth/landing#top",
        ] {
            assert!(
                is_landing(&site, &Url::parse(landing).unwrap()),
                "{landing}"
            );
        }
        for lookalike in [
            "https://evil.example.com/auth/landing",
            "https://mystudio.shotgrid.autodesk.com.evil.com/auth/landing",
            "http://mystudio.shotgrid.autodesk.com/auth/landing",
            "https://mystudio.shotgrid.autodesk.com:8443/auth/landing",
            "https://evil.example.com/?next=https://mystudio.shotgrid.autodesk.com/auth/landing",
            "https://mystudio.shotgrid.autodesk.com/auth/renew",
            "https://mystudio.shotgrid.autodesk.com/x/auth/landing",
            "https://mystudio.shotgrid.autodesk.com/auth/landingX",
            "https://mystudio.shotgrid.autodesk.com/auth/landing.html",
        ] {
            assert!(
                !is_landing(&site, &Url::parse(lookalike).unwrap()),
                "{lookalike}"
            );
        }
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
            cookie(SESSION_COOKIE, "tok", HOST),
            cookie("csrf_token_u7", "c", host),
            cookie("shotgun_sso_session_userid_u7", "john+smith", host),
            cookie("shotgun_sso_session_expiration_u7", "1800004321", host),
            cookie(SESSION_EXPIRY_COOKIE, "1800001234", host),
        ];
        let s = session_from_cookies(&site(), &landing(), &jar).unwrap();
        assert_eq!(s.login, "john smith");
        assert_eq!(s.claims_expire_at, Some(1_800_004_321));
        assert_eq!(s.session_expires_at, Some(1_800_001_234));
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

    /// A jar with the site's own cookies and `extra`.
    fn jar_with(extra: Vec<Cookie>) -> Vec<Cookie> {
        let mut jar = real_jar();
        jar.retain(|c| c.name != SESSION_COOKIE);
        jar.extend(extra);
        jar
    }

    #[test]
    fn a_sibling_hosts_session_for_the_parent_domain_is_never_taken() {
        // Another subdomain (a studio IdP, say) sets _session_id for the whole parent domain
        // with someone else's valid session; the site set none of its own.
        let jar = jar_with(vec![cookie(
            SESSION_COOKIE,
            "someone-elses",
            ".shotgrid.autodesk.com",
        )]);
        let e = session_from_cookies(&site(), &landing(), &jar).unwrap_err();
        let message = e.to_string();
        assert!(matches!(e, LandingError::NoSessionCookie { .. }), "{e:?}");
        assert!(
            message.contains(".shotgrid.autodesk.com (for every host under it)")
                && !message.contains("someone-elses"),
            "{message}"
        );
    }

    #[test]
    fn the_sites_own_session_wins_over_a_parent_domain_one() {
        let jar = jar_with(vec![
            cookie(SESSION_COOKIE, "someone-elses", ".shotgrid.autodesk.com"),
            cookie(SESSION_COOKIE, "mine", HOST),
            cookie(SESSION_COOKIE, "older", ".autodesk.com"),
        ]);
        let s = session_from_cookies(&site(), &landing(), &jar).unwrap();
        assert_eq!(s.token.expose(), "mine");
    }

    #[test]
    fn a_session_scripts_can_read_or_sent_in_clear_is_refused() {
        let mut readable = cookie(SESSION_COOKIE, "t", HOST);
        readable.http_only = false;
        let e = session_from_cookies(&site(), &landing(), &jar_with(vec![readable])).unwrap_err();
        assert!(e.to_string().contains("(readable by scripts)"), "{e}");

        let mut clear = cookie(SESSION_COOKIE, "t", HOST);
        clear.secure = false;
        let e = session_from_cookies(&site(), &landing(), &jar_with(vec![clear])).unwrap_err();
        assert!(e.to_string().contains("(not Secure)"), "{e}");
    }

    #[test]
    fn a_plain_http_loopback_site_needs_no_secure_flag() {
        let site = Site::parse("http://127.0.0.1:8080").unwrap();
        let url = Url::parse("http://127.0.0.1:8080/auth/landing").unwrap();
        let mut token = cookie(SESSION_COOKIE, "t", "127.0.0.1");
        token.secure = false;
        let mut login = cookie(LOGIN_COOKIE, "jane", "127.0.0.1");
        login.secure = false;
        let s = session_from_cookies(&site, &url, &[token, login]).unwrap();
        assert_eq!(s.token.expose(), "t");
    }

    #[test]
    fn two_sessions_the_site_could_have_set_are_refused_not_guessed() {
        let mut deeper = cookie(SESSION_COOKIE, "token-two", HOST);
        deeper.path = Some("/auth".into());
        let jar = jar_with(vec![cookie(SESSION_COOKIE, "token-one", HOST), deeper]);
        let e = session_from_cookies(&site(), &landing(), &jar).unwrap_err();
        assert!(
            matches!(e, LandingError::TwoSessionCookies { count: 2, .. }),
            "{e:?}"
        );
        let message = e.to_string();
        assert!(!message.contains("token-"), "{message}");
    }

    #[test]
    fn a_session_for_another_path_is_not_the_landing_pages() {
        let mut elsewhere = cookie(SESSION_COOKIE, "t", HOST);
        elsewhere.path = Some("/api".into());
        let e = session_from_cookies(&site(), &landing(), &jar_with(vec![elsewhere])).unwrap_err();
        assert!(matches!(e, LandingError::NoSessionCookie { .. }), "{e:?}");
    }

    #[test]
    fn a_cookie_without_a_domain_is_host_only_for_the_landing_page() {
        let jar: Vec<Cookie> = real_jar()
            .into_iter()
            .map(|mut c| {
                if c.domain.as_deref() == Some(HOST) {
                    c.domain = None;
                }
                c
            })
            .collect();
        let s = session_from_cookies(&site(), &landing(), &jar).unwrap();
        assert_eq!(s.token.expose(), "tok-123");
        assert_eq!(s.login, "jane.doe@studio.com");
    }

    #[test]
    fn a_cookie_without_a_path_gets_the_landing_pages_directory() {
        // The default path of `/auth/landing` is `/auth`: sent to the landing page, and two
        // such sessions are still two.
        let mut pathless = cookie(SESSION_COOKIE, "t", HOST);
        pathless.path = None;
        let s =
            session_from_cookies(&site(), &landing(), &jar_with(vec![pathless.clone()])).unwrap();
        assert_eq!(s.token.expose(), "t");
        let jar = jar_with(vec![pathless, cookie(SESSION_COOKIE, "u", HOST)]);
        let e = session_from_cookies(&site(), &landing(), &jar).unwrap_err();
        assert!(
            matches!(e, LandingError::TwoSessionCookies { count: 2, .. }),
            "{e:?}"
        );
    }

    #[test]
    fn expiry_cookies_out_of_any_sane_range_are_unknown() {
        let mut jar = real_jar();
        jar.retain(|c| c.name != CLAIMS_COOKIE);
        jar.push(cookie(CLAIMS_COOKIE, "-9223372036854775808", HOST));
        jar.push(cookie(SESSION_EXPIRY_COOKIE, "9223372036854775807", HOST));
        let s = session_from_cookies(&site(), &landing(), &jar).unwrap();
        assert_eq!(s.claims_expire_at, None);
        assert_eq!(s.session_expires_at, None);
    }

    #[test]
    fn a_session_set_for_the_sites_host_from_below_it_is_refused_not_guessed() {
        // A host under the site's (x.mystudio…) may set `Domain=mystudio…`; the webview reports
        // it exactly like the site's own, so two of them are refused whatever their order.
        for attacker_first in [false, true] {
            let mut planted = vec![cookie(SESSION_COOKIE, "planted", HOST)];
            let mut jar = jar_with(vec![cookie(SESSION_COOKIE, "mine", HOST)]);
            if attacker_first {
                planted.append(&mut jar);
                jar = planted;
            } else {
                jar.append(&mut planted);
            }
            let e = session_from_cookies(&site(), &landing(), &jar).unwrap_err();
            assert!(
                matches!(e, LandingError::TwoSessionCookies { count: 2, .. }),
                "{e:?}"
            );
        }
    }

    #[test]
    fn cookies_for_a_parent_domain_count_with_or_without_their_dot() {
        // As the webview hands them over: the dot of `Domain=` cookies is gone.
        for parent in ["shotgrid.autodesk.com", ".shotgrid.autodesk.com"] {
            let jar = vec![
                cookie(SESSION_COOKIE, "tok", HOST),
                cookie("csrf_token_u7", "c", parent),
                cookie(LOGIN_COOKIE, "john", parent),
                cookie(SESSION_COOKIE, "sibling's", parent),
            ];
            let s = session_from_cookies(&site(), &landing(), &jar).unwrap();
            assert_eq!(s.token.expose(), "tok", "{parent}");
            assert_eq!(s.login, "john");
            assert_eq!(s.user_id, Some(7));
        }
    }
}
