//! The one HTTP client every request to a site uses, with the proxy and CA bundle the person
//! configured.
//!
//! The client is built once from the configuration and shared by every call (reqwest pools
//! connections per host, so one client serves every site with its own keep-alive
//! connections); it is rebuilt only when the proxy or CA bundle in force changes.
//!
//! Proxy: FPT Login's `http_proxy` setting in Toolkit's `[user@]host[:port]` form (port 8080
//! when absent, case kept — tk-core lowercases credentials, which breaks them), the user's
//! password in the profile's keyring (older files may hold `user:pass@` inline); without it
//! the system's `HTTPS_PROXY`/`HTTP_PROXY`/`NO_PROXY`. CA bundle: the `ca_bundle` setting, else
//! `SHOTGUN_API_CACERTS` (as shotgun_api3 does), else the system's roots. TLS is never turned
//! off.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::paths::Paths;
use crate::secret::Secret;
use crate::settings::{Settings, SettingsFile};
use crate::store::KeyringStore;

/// Environment variable shotgun_api3 and tk-core read the CA bundle from.
pub const CA_BUNDLE_ENV: &str = "SHOTGUN_API_CACERTS";
const DEFAULT_PROXY_PORT: u16 = 8080;
/// The longest one request to a site may take before it is given up.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub enum NetworkError {
    #[error("the proxy {shown:?} is not valid: {reason}; use [user:password@]host[:port]")]
    BadProxy { shown: String, reason: String },
    #[error("cannot read the CA bundle {}: {source}", .path.display())]
    UnreadableBundle {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the CA bundle {} holds no PEM certificates ({detail})", .path.display())]
    EmptyBundle { path: PathBuf, detail: String },
    #[error("cannot set up the HTTP client: {0}")]
    Client(String),
    /// The settings hold the proxy: going on without them could bypass a required proxy.
    #[error(transparent)]
    Settings(#[from] crate::settings::SettingsError),
    #[error("cannot read the proxy password from the OS keyring: {0}")]
    ProxyPassword(String),
}

/// An HTTP proxy in Toolkit's form. Its `Debug`/`Display` never show the password.
#[derive(Clone, PartialEq, Eq)]
pub struct Proxy {
    host: String,
    port: u16,
    user: Option<String>,
    password: Option<Secret>,
}

impl Proxy {
    /// Parses `[user:pass@]host[:port]` as tk-core does: split on the last `@`, then on the
    /// first `:` for user and password.
    pub fn parse(text: &str) -> Result<Self, NetworkError> {
        let text = text.trim();
        let shown = Self::redacted_text(text);
        let bad = |reason: &str| NetworkError::BadProxy {
            shown: shown.clone(),
            reason: reason.to_owned(),
        };
        let text = text.strip_prefix("http://").unwrap_or(text);
        let (credentials, address) = match text.rsplit_once('@') {
            Some((credentials, address)) => (Some(credentials), address),
            None => (None, text),
        };
        let (user, password) = match credentials {
            Some(c) => match c.split_once(':') {
                Some((user, password)) => (Some(user.to_owned()), Some(Secret::new(password))),
                None => (Some(c.to_owned()), None),
            },
            None => (None, None),
        };
        let (host, port) = match address.rsplit_once(':') {
            Some((host, port)) => (
                host,
                port.parse::<u16>()
                    .map_err(|_| bad(&format!("the port {port:?} is not a number")))?,
            ),
            None => (address, DEFAULT_PROXY_PORT),
        };
        if host.is_empty() || host.contains(['/', ' ']) {
            return Err(bad("no host name"));
        }
        // What a URL cannot hold is refused now, not found when every request panics on it.
        let parsed = url::Url::parse(&format!("http://{host}:{port}"))
            .map_err(|e| bad(&format!("{host:?} is not a host name or address ({e})")))?;
        // `a#:80` would otherwise be host `a#`, sent to `a` with a fragment.
        if parsed.port_or_known_default() != Some(port)
            || parsed.path() != "/"
            || parsed.query().is_some()
            || parsed.fragment().is_some()
        {
            return Err(bad(&format!("{host:?} is not a host name or address")));
        }
        Ok(Self {
            host: host.to_owned(),
            port,
            user: user.filter(|u| !u.is_empty()),
            password,
        })
    }

    pub fn user(&self) -> Option<&str> {
        self.user.as_deref()
    }

    /// `host:port`, as the proxy password's keyring entry names it.
    pub fn address(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }

    /// Whether the text it was parsed from held a password.
    pub fn has_password(&self) -> bool {
        self.password.is_some()
    }

    /// The same proxy with `password` (the one kept in the keyring).
    #[must_use]
    pub fn with_password(mut self, password: Option<Secret>) -> Self {
        self.password = password.filter(|p| !p.is_empty());
        self
    }

    /// The text with any password replaced, for messages.
    fn redacted_text(text: &str) -> String {
        match text.rsplit_once('@') {
            Some((credentials, address)) => {
                let user = credentials.split_once(':').map_or(credentials, |(u, _)| u);
                format!("{user}:***@{address}")
            }
            None => text.to_owned(),
        }
    }

    /// Toolkit's form, credentials included: what clients pass to `shotgun_api3`.
    pub fn toolkit_form(&self) -> String {
        let credentials = match (&self.user, &self.password) {
            (Some(user), Some(password)) => format!("{user}:{}@", password.expose()),
            (Some(user), None) => format!("{user}@"),
            _ => String::new(),
        };
        format!("{credentials}{}:{}", self.host, self.port)
    }

    /// `http://host:port`, without credentials (webviews take no proxy credentials).
    pub fn url(&self) -> url::Url {
        // `parse` built this very URL once already.
        url::Url::parse(&format!("http://{}:{}", self.host, self.port))
            .expect("a parsed proxy makes a URL")
    }

    fn reqwest(&self) -> Result<reqwest::Proxy, NetworkError> {
        let proxy = reqwest::Proxy::all(self.url().as_str())
            .map_err(|e| NetworkError::Client(e.to_string()))?;
        Ok(match &self.user {
            Some(user) => proxy.basic_auth(user, self.password.as_ref().map_or("", Secret::expose)),
            None => proxy,
        })
    }
}

impl fmt::Debug for Proxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Proxy({self})")
    }
}

impl fmt::Display for Proxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.user, &self.password) {
            (Some(user), Some(_)) => write!(f, "{user}:***@{}:{}", self.host, self.port),
            (Some(user), None) => write!(f, "{user}@{}:{}", self.host, self.port),
            _ => write!(f, "{}:{}", self.host, self.port),
        }
    }
}

/// The proxy and CA bundle in force.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Network {
    pub proxy: Option<Proxy>,
    pub ca_bundle: Option<PathBuf>,
}

impl Network {
    /// From the settings, with `SHOTGUN_API_CACERTS` as the CA bundle when none is set.
    pub fn from_settings(settings: &Settings) -> Result<Self, NetworkError> {
        let proxy = settings
            .http_proxy
            .as_deref()
            .map(Proxy::parse)
            .transpose()?;
        let ca_bundle = settings.ca_bundle.clone().or_else(|| {
            std::env::var_os(CA_BUNDLE_ENV)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        });
        Ok(Self { proxy, ca_bundle })
    }

    /// The configuration of this machine's FPT Login (settings file, the proxy password in
    /// the keyring, environment). A missing settings file is the defaults; one that cannot be
    /// read is an error, never "no proxy".
    pub fn current() -> Result<Self, NetworkError> {
        let Some(file) = settings_file() else {
            return Self::from_settings(&Settings::default());
        };
        let settings = file.load_shared()?;
        Ok(Self {
            proxy: stored_proxy(&settings)?,
            ..Self::from_settings(&settings)?
        })
    }
}

/// The configured proxy with its password from the profile's keyring (older settings files
/// may still hold it inline). The keyring is asked once per proxy setting and password change
/// (`http_proxy_password_set`), not per request; a failure is remembered for a while, so a
/// locked keyring does not prompt at every request.
pub fn stored_proxy(settings: &Settings) -> Result<Option<Proxy>, NetworkError> {
    /// The setting and password change looked up, what was found, and when.
    type LookedUp = (
        (String, Option<i64>),
        Result<Option<Proxy>, String>,
        Instant,
    );
    static LOOKED_UP: Mutex<Option<LookedUp>> = Mutex::new(None);
    const RETRY_FAILURE_AFTER: Duration = Duration::from_secs(30);
    let Some(text) = settings.http_proxy.as_deref() else {
        return Ok(None);
    };
    let proxy = Proxy::parse(text)?;
    let Some(user) = proxy.user().map(str::to_owned) else {
        return Ok(Some(proxy));
    };
    if proxy.has_password() {
        return Ok(Some(proxy));
    }
    let key = (text.to_owned(), settings.http_proxy_password_set);
    let mut looked_up = LOOKED_UP
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some((seen, found, at)) = looked_up.as_ref()
        && *seen == key
        && (found.is_ok() || at.elapsed() < RETRY_FAILURE_AFTER)
    {
        return found.clone().map_err(NetworkError::ProxyPassword);
    }
    let found = Paths::from_env()
        .map_err(|e| e.to_string())
        .and_then(|paths| {
            KeyringStore::for_profile(&paths)
                .proxy_password(&user, &proxy.address())
                .map_err(|e| e.to_string())
        })
        .map(|password| Some(proxy.with_password(password)));
    *looked_up = Some((key, found.clone(), Instant::now()));
    found.map_err(NetworkError::ProxyPassword)
}

/// Where a redirect points, as text (empty when it does not say): this client never follows
/// redirects, so callers judge them.
pub fn location(response: &reqwest::Response) -> String {
    response
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// The most a reply from a site may hold: FPT's answers are small JSON documents, and a
/// hostile or broken server must not make this process buffer without bound.
pub const MAX_REPLY: usize = 1024 * 1024;

/// Why a site's reply could not be read as JSON.
#[derive(Debug, thiserror::Error)]
pub enum ReplyError {
    #[error("the reply is larger than {MAX_REPLY} bytes")]
    TooLarge,
    #[error("the reply is {0:?}, not JSON")]
    NotJson(String),
    #[error("the reply is not valid JSON ({0})")]
    Invalid(String),
    #[error("the reply stopped: {0}")]
    Read(String),
}

/// Reads a JSON reply: at most [`MAX_REPLY`] bytes, and only when its `Content-Type` says JSON
/// (`application/json` or a `+json` type), as shotgun_api3 and tk-core parse only those.
pub async fn json_reply<T: serde::de::DeserializeOwned>(
    mut response: reqwest::Response,
) -> Result<T, ReplyError> {
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let media = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    if media != "application/json" && !media.ends_with("+json") {
        return Err(ReplyError::NotJson(if content_type.is_empty() {
            "without a content type".to_owned()
        } else {
            content_type.chars().take(80).collect()
        }));
    }
    if response
        .content_length()
        .is_some_and(|length| length > MAX_REPLY as u64)
    {
        return Err(ReplyError::TooLarge);
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| ReplyError::Read(describe(&e)))?
    {
        if body.len().saturating_add(chunk.len()) > MAX_REPLY {
            return Err(ReplyError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    serde_json::from_slice(&body).map_err(|e| ReplyError::Invalid(e.to_string()))
}

/// A reqwest error and its causes on one line (reqwest's own message hides the TLS or DNS
/// reason), without the URL, which callers report themselves; a certificate problem says what
/// to do about it.
pub fn describe(error: &reqwest::Error) -> String {
    use std::error::Error as _;
    let mut text = error.to_string();
    if let Some(url) = error.url() {
        text = text.replace(&format!(" ({url})"), "");
    }
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    if text.to_ascii_lowercase().contains("certificate") {
        text.push_str(
            "; the site's TLS certificate is not trusted here: if your studio uses its own CA, set it with `fpt-login settings set ca-bundle FILE` (or SHOTGUN_API_CACERTS)",
        );
    }
    text
}

/// Reads every certificate in a PEM bundle.
pub fn load_bundle(path: &Path) -> Result<Vec<reqwest::Certificate>, NetworkError> {
    let pem = std::fs::read(path).map_err(|source| NetworkError::UnreadableBundle {
        path: path.to_path_buf(),
        source,
    })?;
    let certificates =
        reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| NetworkError::EmptyBundle {
            path: path.to_path_buf(),
            detail: e.to_string(),
        })?;
    if certificates.is_empty() {
        return Err(NetworkError::EmptyBundle {
            path: path.to_path_buf(),
            detail: "no BEGIN CERTIFICATE block".to_owned(),
        });
    }
    Ok(certificates)
}

/// A client for `network` that never follows redirects (a 302 to the IdP means "SAML claims
/// lapsed" and must be seen), names itself, and gives up on a silent server instead of
/// hanging. With a CA bundle, only the bundle's certificates are trusted.
pub fn client_for(network: &Network) -> Result<reqwest::Client, NetworkError> {
    let mut builder = reqwest::Client::builder()
        .user_agent(crate::USER_AGENT)
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(10))
        .timeout(REQUEST_TIMEOUT);
    if let Some(proxy) = &network.proxy {
        builder = builder.proxy(proxy.reqwest()?);
    }
    if let Some(bundle) = &network.ca_bundle {
        builder = builder.tls_built_in_root_certs(false);
        for certificate in load_bundle(bundle)? {
            builder = builder.add_root_certificate(certificate);
        }
    }
    builder
        .build()
        .map_err(|e| NetworkError::Client(e.to_string()))
}

/// This process's view of the settings file: re-read only when the file changes.
fn settings_file() -> Option<&'static SettingsFile> {
    static FILE: OnceLock<Option<SettingsFile>> = OnceLock::new();
    FILE.get_or_init(|| {
        Paths::from_env()
            .ok()
            .map(|paths| SettingsFile::new(paths.settings_file()))
    })
    .as_ref()
}

/// The shared client for this machine's proxy and CA bundle, built on first use and again
/// whenever that configuration changes.
pub fn client() -> Result<reqwest::Client, NetworkError> {
    static SHARED: Mutex<Option<(Network, reqwest::Client)>> = Mutex::new(None);
    let network = Network::current()?;
    let mut shared = SHARED
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some((built_for, client)) = shared.as_ref()
        && *built_for == network
    {
        return Ok(client.clone());
    }
    let client = client_for(&network)?;
    *shared = Some((network, client.clone()));
    Ok(client)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(content_type: Option<&str>, body: Vec<u8>) -> reqwest::Response {
        let mut builder = http::Response::builder().status(200);
        if let Some(content_type) = content_type {
            builder = builder.header("content-type", content_type);
        }
        reqwest::Response::from(builder.body(body).unwrap())
    }

    #[tokio::test]
    async fn replies_are_json_of_a_sane_size_or_refused() {
        let ok: serde_json::Value = json_reply(reply(
            Some("application/json; charset=utf-8"),
            br#"{"results": 1}"#.to_vec(),
        ))
        .await
        .unwrap();
        assert_eq!(ok["results"], 1);
        let vendor: serde_json::Value =
            json_reply(reply(Some("application/vnd.api+json"), b"{}".to_vec()))
                .await
                .unwrap();
        assert!(vendor.is_object());

        let huge = format!("{{\"pad\": \"{}\"}}", "x".repeat(MAX_REPLY));
        let e = json_reply::<serde_json::Value>(reply(Some("application/json"), huge.into()))
            .await
            .unwrap_err();
        assert!(matches!(e, ReplyError::TooLarge), "{e}");

        let e = json_reply::<serde_json::Value>(reply(
            Some("text/html"),
            b"<html>maintenance</html>".to_vec(),
        ))
        .await
        .unwrap_err();
        assert_eq!(e.to_string(), "the reply is \"text/html\", not JSON");
        let e = json_reply::<serde_json::Value>(reply(None, b"{}".to_vec()))
            .await
            .unwrap_err();
        assert!(matches!(e, ReplyError::NotJson(_)), "{e}");
        let e = json_reply::<serde_json::Value>(reply(Some("application/json"), b"{".to_vec()))
            .await
            .unwrap_err();
        assert!(matches!(e, ReplyError::Invalid(_)), "{e}");
    }

    #[test]
    fn toolkit_proxy_forms() {
        let p = Proxy::parse("proxy.corp").unwrap();
        assert_eq!(p.toolkit_form(), "proxy.corp:8080");
        assert_eq!(
            Proxy::parse("proxy.corp:3128").unwrap().toolkit_form(),
            "proxy.corp:3128"
        );
        let p = Proxy::parse("Jane:Pa:ss@word@Proxy.Corp:3128").unwrap();
        // Split on the last '@', then the first ':'; case is kept.
        assert_eq!(p.user.as_deref(), Some("Jane"));
        assert_eq!(p.password.as_ref().map(Secret::expose), Some("Pa:ss@word"));
        assert_eq!(p.toolkit_form(), "Jane:Pa:ss@word@Proxy.Corp:3128");
        assert_eq!(p.url().as_str(), "http://proxy.corp:3128/");
        assert_eq!(
            Proxy::parse("http://proxy.corp:3128")
                .unwrap()
                .toolkit_form(),
            "proxy.corp:3128"
        );
    }

    #[test]
    fn passwords_stay_out_of_messages() {
        let p = Proxy::parse("jane:secret@proxy.corp:3128").unwrap();
        assert_eq!(
            format!("{p} {p:?}"),
            "jane:***@proxy.corp:3128 Proxy(jane:***@proxy.corp:3128)"
        );
        let e = Proxy::parse("jane:secret@proxy.corp:port")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("jane:***@proxy.corp:port") && !e.contains("secret"),
            "{e}"
        );
        assert!(e.contains("not a number"), "{e}");
    }

    #[test]
    fn bad_proxies_say_what_is_wrong() {
        assert!(
            Proxy::parse("")
                .unwrap_err()
                .to_string()
                .contains("no host name")
        );
        assert!(Proxy::parse(":3128").is_err());
        assert!(Proxy::parse("proxy.corp:99999").is_err());
    }

    #[test]
    fn a_proxy_no_url_can_hold_is_refused_when_set_not_when_used() {
        for bad in [
            "10.0.0.256",
            "a|b",
            "proxy%zz",
            "[::1",
            "proxy.corp:80?x",
            "a#b:3128",
            // The port of the default scheme hid a fragment or query in the host.
            "a#:80",
            "a?:80",
            "proxy#x",
        ] {
            let e = Proxy::parse(bad);
            assert!(e.is_err(), "{bad} was accepted");
        }
        for good in ["10.0.0.1", "[::1]:3128", "proxy.corp", "Proxy.Corp:8080"] {
            let proxy = Proxy::parse(good).unwrap();
            let _ = proxy.url();
        }
    }

    #[test]
    fn the_settings_win_over_the_environment_for_the_bundle() {
        let settings = Settings {
            http_proxy: Some("proxy.corp".into()),
            ca_bundle: Some(PathBuf::from("/etc/studio-ca.pem")),
            ..Settings::default()
        };
        let network = Network::from_settings(&settings).unwrap();
        assert_eq!(
            network.ca_bundle.as_deref(),
            Some(Path::new("/etc/studio-ca.pem"))
        );
        assert_eq!(network.proxy.unwrap().toolkit_form(), "proxy.corp:8080");
    }

    #[test]
    fn a_bundle_without_certificates_is_a_clear_error() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("empty.pem");
        std::fs::write(&path, "not a certificate\n").unwrap();
        let e = load_bundle(&path).unwrap_err().to_string();
        assert!(
            e.contains("empty.pem") && e.contains("no PEM certificates"),
            "{e}"
        );
        let missing = load_bundle(&tmp.path().join("missing.pem"))
            .unwrap_err()
            .to_string();
        assert!(missing.contains("cannot read the CA bundle"), "{missing}");
    }
}
