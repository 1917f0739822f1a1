//! FPT site URLs, normalised once so that every key (store, settings, landing check) agrees.
//!
//! The normal form is `scheme://host[:port]`: lowercased host (IDN converted to punycode), no
//! default port, no path, no trailing slash. `https` is assumed when no scheme is given; `http`
//! is kept only for loopback hosts or when the caller allows it explicitly.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use url::{Host, Url};

/// Why a site URL was refused. Each message names the problem and what to type instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SiteError {
    #[error(
        "the site URL is empty; type the address of your site, e.g. https://mystudio.shotgrid.autodesk.com"
    )]
    Empty,
    #[error("the site URL {input:?} contains spaces; type the address without spaces")]
    Whitespace { input: String },
    #[error("the site URL {input:?} uses the {scheme}: scheme; only https:// sites are supported")]
    UnsupportedScheme { input: String, scheme: String },
    #[error(
        "the site URL {input:?} uses plain http; only https is allowed for sites that are not on this machine"
    )]
    InsecureScheme { input: String },
    // The input is left out on purpose: it holds a password.
    #[error("the site URL contains a user name or password; remove the part before '@'")]
    UserInfo,
    #[error(
        "the site URL {input:?} has a path ({path}); type only the site address, e.g. https://{host}"
    )]
    Path {
        input: String,
        path: String,
        host: String,
    },
    #[error("the site URL {input:?} has a query or fragment; type only the site address")]
    QueryOrFragment { input: String },
    #[error(
        "the site URL {input:?} has an empty part in its host name (two dots in a row, or a dot at either end)"
    )]
    EmptyLabel { input: String },
    #[error("the site URL {input:?} has no host name")]
    NoHost { input: String },
    #[error("the site URL {input:?} is not a valid address: {reason}")]
    Invalid { input: String, reason: String },
}

/// A normalised FPT site URL, e.g. `https://mystudio.shotgrid.autodesk.com`.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Site {
    normalised: String,
    host: String,
}

impl Site {
    /// Parses and normalises what a user typed. Plain `http` is refused unless the host is on
    /// this machine.
    pub fn parse(input: &str) -> Result<Self, SiteError> {
        Self::parse_with(input, false)
    }

    /// Like [`Site::parse`], with `allow_http` accepting plain `http` for any host (an
    /// explicit user choice, e.g. an on-premises site without TLS).
    pub fn parse_with(input: &str, allow_http: bool) -> Result<Self, SiteError> {
        // Messages quote what was typed, less any password typed into it.
        let shown = without_user_info(input);
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(SiteError::Empty);
        }
        if trimmed.chars().any(char::is_whitespace) {
            return Err(SiteError::Whitespace {
                input: shown.clone(),
            });
        }
        let with_scheme = match explicit_scheme(trimmed) {
            Some(scheme) => {
                let scheme = scheme.to_ascii_lowercase();
                if scheme != "https" && scheme != "http" {
                    return Err(SiteError::UnsupportedScheme {
                        input: shown.clone(),
                        scheme,
                    });
                }
                trimmed.to_owned()
            }
            None => format!("https://{trimmed}"),
        };
        // `Url` resolves dot segments away, so a path like `/a/../` must be caught on the raw
        // text before parsing.
        let after_authority = with_scheme
            .split_once("://")
            .map_or("", |(_, rest)| rest.find('/').map_or("", |i| &rest[i..]));
        let invalid = |reason: String| SiteError::Invalid {
            input: shown.clone(),
            reason,
        };
        let url = Url::parse(&with_scheme).map_err(|e| invalid(e.to_string()))?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err(SiteError::UserInfo);
        }
        let host = match url.host() {
            // Every label must have a name: `.`, `..`, `a..b` or a trailing dot would make
            // two spellings of one site, or a folder name that walks out of its folder.
            Some(Host::Domain(d)) if d.split('.').any(str::is_empty) => {
                return Err(SiteError::EmptyLabel { input: shown });
            }
            Some(Host::Domain(d)) if !d.is_empty() => d.to_owned(),
            Some(Host::Ipv4(ip)) => ip.to_string(),
            Some(Host::Ipv6(ip)) => format!("[{ip}]"),
            _ => {
                return Err(SiteError::NoHost {
                    input: shown.clone(),
                });
            }
        };
        let path_part = after_authority.split(['?', '#']).next().unwrap_or_default();
        if !(path_part.is_empty() || path_part == "/") {
            return Err(SiteError::Path {
                input: shown.clone(),
                path: path_part.to_owned(),
                host,
            });
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(SiteError::QueryOrFragment {
                input: shown.clone(),
            });
        }
        if url.scheme() == "http" && !allow_http && !is_loopback(&url) {
            return Err(SiteError::InsecureScheme {
                input: shown.clone(),
            });
        }
        let normalised = match url.port() {
            Some(port) => format!("{}://{host}:{port}", url.scheme()),
            None => format!("{}://{host}", url.scheme()),
        };
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        Ok(Self { normalised, host })
    }

    /// The normalised URL, e.g. `https://mystudio.shotgrid.autodesk.com`.
    pub fn as_str(&self) -> &str {
        &self.normalised
    }

    /// The host without port or brackets, lowercased: what cookie domains are matched against.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// `<site><path>`; `path` must start with `/`.
    pub fn join(&self, path: &str) -> Url {
        debug_assert!(path.starts_with('/'));
        // The normalised form always parses and a path starting with '/' keeps it valid.
        Url::parse(&format!("{}{path}", self.normalised)).expect("site URL plus path is a URL")
    }

    /// True when `url` has exactly this site's origin (scheme, host and port).
    pub fn is_same_origin(&self, url: &Url) -> bool {
        let Ok(other) = Self::parse_with(&url.origin().ascii_serialization(), true) else {
            return false;
        };
        other.normalised == self.normalised
    }

    /// A name safe to use as a folder: host and port with everything else replaced.
    pub fn folder_name(&self) -> String {
        self.normalised
            .split_once("://")
            .map_or(self.normalised.as_str(), |(_, rest)| rest)
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect()
    }

    /// True for plain-http sites, which the user must have allowed explicitly unless loopback.
    pub fn is_http(&self) -> bool {
        self.normalised.starts_with("http://")
    }
}

/// `input` with everything between its scheme and its last `@` replaced by `***`, for
/// messages and logs: a password may hold `/`, `?` or `#`, so the `@` decides, not where the
/// host seems to end. (A path with an `@` is shown shorter than it was; no harm.)
pub fn without_user_info(input: &str) -> String {
    let start = input.find("://").map_or(0, |i| i + 3);
    match input[start..].rfind('@') {
        Some(at) => format!("{}***{}", &input[..start], &input[start + at..]),
        None => input.to_owned(),
    }
}

/// The scheme of `input` if it names one (`https://…`, `javascript:…`), as opposed to a
/// `host:port` form such as `localhost:8080`.
fn explicit_scheme(input: &str) -> Option<&str> {
    let (scheme, rest) = input.split_once(':')?;
    let looks_like_scheme = scheme
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    if !looks_like_scheme {
        return None;
    }
    let is_port = !rest.is_empty()
        && rest
            .split(['/', '?', '#'])
            .next()
            .is_some_and(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()));
    if is_port && !rest.starts_with("//") {
        None
    } else {
        Some(scheme)
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Domain(d)) => d == "localhost" || d.ends_with(".localhost"),
        Some(Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

impl fmt::Display for Site {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.normalised)
    }
}

impl fmt::Debug for Site {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Site({})", self.normalised)
    }
}

impl FromStr for Site {
    type Err = SiteError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for Site {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.normalised)
    }
}

/// A site named in a request from another process: checked like typed input, so plain
/// `http` is accepted only for loopback hosts. (Stored sites, read with `Deserialize`, were
/// checked when they were first accepted.)
pub fn deserialize_requested<'de, D: Deserializer<'de>>(d: D) -> Result<Site, D::Error> {
    let raw = String::deserialize(d)?;
    Site::parse(&raw).map_err(serde::de::Error::custom)
}

/// [`deserialize_requested`] for an optional site.
pub fn deserialize_requested_opt<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<Site>, D::Error> {
    Option::<String>::deserialize(d)?
        .map(|raw| Site::parse(&raw).map_err(serde::de::Error::custom))
        .transpose()
}

impl<'de> Deserialize<'de> for Site {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        // A stored site was accepted once (possibly with an explicit http opt-in), so only the
        // shape is checked again here.
        Self::parse_with(&raw, true).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(input: &str) -> String {
        Site::parse(input)
            .unwrap_or_else(|e| panic!("{input:?}: {e}"))
            .to_string()
    }

    fn err(input: &str) -> SiteError {
        Site::parse(input).expect_err(input)
    }

    #[test]
    fn good_forms_normalise_to_one_key() {
        for input in [
            "mystudio.shotgrid.autodesk.com",
            "https://mystudio.shotgrid.autodesk.com",
            "HTTPS://MyStudio.Shotgrid.Autodesk.com/",
            "  https://mystudio.shotgrid.autodesk.com:443  ",
        ] {
            assert_eq!(
                ok(input),
                "https://mystudio.shotgrid.autodesk.com",
                "{input}"
            );
        }
        assert_eq!(ok("sg.corp.local:8080"), "https://sg.corp.local:8080");
        assert_eq!(ok("http://127.0.0.1:8090"), "http://127.0.0.1:8090");
        assert_eq!(ok("http://localhost:8090/"), "http://localhost:8090");
        assert_eq!(ok("http://[::1]:8090"), "http://[::1]:8090");
        assert_eq!(
            ok("https://bücher.example"),
            "https://xn--bcher-kva.example"
        );
    }

    #[test]
    fn host_is_bare_and_lowercase() {
        let site = Site::parse("https://MyStudio.example.com:8443").unwrap();
        assert_eq!(site.host(), "mystudio.example.com");
        assert_eq!(Site::parse("http://[::1]:80").unwrap().host(), "::1");
    }

    #[test]
    fn empty_is_refused() {
        assert_eq!(err(""), SiteError::Empty);
        assert_eq!(err("   "), SiteError::Empty);
    }

    #[test]
    fn javascript_and_file_are_refused_by_scheme() {
        let e = err("javascript:alert(1)");
        assert!(
            matches!(&e, SiteError::UnsupportedScheme { scheme, .. } if scheme == "javascript")
        );
        assert!(e.to_string().contains("only https://"), "{e}");
        assert!(
            matches!(err("file:///etc/passwd"), SiteError::UnsupportedScheme { scheme, .. } if scheme == "file")
        );
        assert!(matches!(
            err("FTP://example.com"),
            SiteError::UnsupportedScheme { .. }
        ));
    }

    #[test]
    fn hosts_with_empty_labels_are_refused() {
        for typed in [
            "https://.",
            "https://..",
            "https://...",
            "https://a..example.com",
            "https://.example.com",
            "https://example.com.",
            "..",
            "https://%2e%2e",
        ] {
            assert!(Site::parse(typed).is_err(), "{typed} was accepted");
        }
    }

    #[test]
    fn a_site_folder_never_leaves_its_folder() {
        for typed in [
            "https://a.example.com:8443",
            "http://127.0.0.1:8090",
            "https://[::1]:9",
        ] {
            let name = Site::parse(typed).unwrap().folder_name();
            assert!(
                !name.is_empty() && name != "." && name != ".." && !name.contains('/'),
                "{typed} -> {name}"
            );
            let joined = std::path::Path::new("/base").join(&name);
            assert_eq!(
                joined.parent(),
                Some(std::path::Path::new("/base")),
                "{name}"
            );
        }
    }

    #[test]
    fn no_message_repeats_a_password_typed_into_the_url() {
        for typed in [
            "https://jane:hunter2@my studio.com",
            "ftp://jane:hunter2@studio.example.com",
            "https://jane:hunter2@studio.example.com/page",
            "http://jane:hunter2@studio.example.com",
            "https://jane:hun/ter2@studio.example.com",
            "https://jane:hun#ter2@my studio.com",
            "https://jane:hun?ter2@studio.example.com/page",
        ] {
            let e = err(typed).to_string();
            assert!(!e.contains("hunter2"), "{typed}: {e}");
        }
        assert_eq!(
            without_user_info("https://jane:pa/ss?w#d@a.example.com"),
            "https://***@a.example.com"
        );
        assert_eq!(without_user_info("a.example.com/x"), "a.example.com/x");
    }

    #[test]
    fn user_info_is_refused_without_repeating_the_password() {
        let e = err("https://user:hunter2@example.com");
        assert_eq!(e, SiteError::UserInfo);
        assert!(!e.to_string().contains("hunter2"), "{e}");
        assert_eq!(err("https://user@example.com"), SiteError::UserInfo);
        assert!(
            err("https://evil.com@example.com")
                .to_string()
                .contains("before '@'")
        );
    }

    #[test]
    fn spaces_are_refused() {
        assert!(matches!(
            err("https://my studio.com"),
            SiteError::Whitespace { .. }
        ));
        assert!(matches!(
            err("my\tstudio.com"),
            SiteError::Whitespace { .. }
        ));
    }

    #[test]
    fn paths_are_refused_with_the_host_to_type_instead() {
        let e = err("https://mystudio.example.com/page/123");
        assert!(matches!(&e, SiteError::Path { path, .. } if path == "/page/123"));
        assert!(
            e.to_string().contains("https://mystudio.example.com"),
            "{e}"
        );
        assert!(matches!(
            err("https://example.com/a/../"),
            SiteError::Path { .. }
        ));
        assert!(matches!(
            err("https://example.com/.."),
            SiteError::Path { .. }
        ));
        assert!(matches!(
            err("https://example.com/?x=1"),
            SiteError::QueryOrFragment { .. }
        ));
    }

    #[test]
    fn plain_http_only_for_loopback_or_when_allowed() {
        assert!(matches!(
            err("http://example.com"),
            SiteError::InsecureScheme { .. }
        ));
        let allowed = Site::parse_with("http://example.com", true).unwrap();
        assert_eq!(allowed.as_str(), "http://example.com");
        assert!(allowed.is_http());
    }

    #[test]
    fn same_origin_needs_scheme_host_and_port() {
        let site = Site::parse("http://127.0.0.1:8090").unwrap();
        assert!(site.is_same_origin(&Url::parse("http://127.0.0.1:8090/auth/landing").unwrap()));
        assert!(!site.is_same_origin(&Url::parse("http://127.0.0.1:8091/auth/landing").unwrap()));
        assert!(!site.is_same_origin(&Url::parse("http://127.0.0.2:8090/auth/landing").unwrap()));
        assert!(!site.is_same_origin(&Url::parse("https://127.0.0.1:8090/auth/landing").unwrap()));
    }

    #[test]
    fn serde_round_trip_uses_the_normal_form() {
        let site = Site::parse("MyStudio.example.com").unwrap();
        let json = serde_json::to_string(&site).unwrap();
        assert_eq!(json, "\"https://mystudio.example.com\"");
        assert_eq!(serde_json::from_str::<Site>(&json).unwrap(), site);
    }

    #[test]
    fn folder_name_is_filesystem_safe() {
        assert_eq!(
            Site::parse("http://127.0.0.1:8090").unwrap().folder_name(),
            "127.0.0.1_8090"
        );
        assert_eq!(
            Site::parse("http://[::1]:8090").unwrap().folder_name(),
            "___1__8090"
        );
    }
}
