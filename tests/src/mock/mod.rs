//! A mock Flow Production Tracking site and its SAML identity provider.
//!
//! It follows `shared/reference/fpt-auth-protocol.md`: `/api3/json` (`info`, `read` with
//! session tokens, `error_code` 102 for unknown or idle-expired sessions, a 302 to
//! `/saml/saml_login_request` once the SAML claims lapse), `/auth/renew` → an IdP on another
//! origin → an auto-submitting POST back to the site → the real FPT cookies → `/auth/landing`.
//! Lifetimes are configurable so tests can watch sessions expire in seconds.

mod api3;
mod asl;
mod idp;
mod rest;
mod web;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rand::distr::{Alphanumeric, SampleString as _};
use serde::Serialize;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// How a site signs people in (`info.user_authentication_method`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SiteKind {
    /// Login and password on the site itself.
    Default,
    /// Login and password checked against LDAP.
    Ldap,
    /// SAML2 single sign-on through the IdP.
    Saml2,
    /// Autodesk Identity.
    Oxygen,
}

impl SiteKind {
    fn wire_name(self) -> &'static str {
        match self {
            Self::Default => "default",
            Self::Ldap => "ldap",
            Self::Saml2 => "saml2",
            Self::Oxygen => "oxygen",
        }
    }
}

/// A person on the mock site.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MockUser {
    pub id: u64,
    pub login: String,
    pub password: String,
    pub name: String,
    /// The one code the user's authenticator app shows, when 2FA is on.
    pub two_factor_code: Option<String>,
    /// Single-use backup codes for 2FA.
    pub backup_codes: Vec<String>,
}

impl MockUser {
    pub fn new(id: u64, login: &str, password: &str, name: &str) -> Self {
        Self {
            id,
            login: login.to_owned(),
            password: password.to_owned(),
            name: name.to_owned(),
            two_factor_code: None,
            backup_codes: Vec::new(),
        }
    }

    /// The same user with 2FA on: `code` is what the authenticator shows.
    #[must_use]
    pub fn with_two_factor(mut self, code: &str, backup_codes: &[&str]) -> Self {
        self.two_factor_code = Some(code.to_owned());
        self.backup_codes = backup_codes.iter().map(|c| (*c).to_owned()).collect();
        self
    }
}

/// An API script (a non-human "ApiUser") with its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MockScript {
    pub name: String,
    pub key: String,
}

/// What the mock serves and how its sessions behave.
#[derive(Debug, Clone)]
pub struct MockConfig {
    pub kind: SiteKind,
    /// Where the site listens; port 0 picks a free one.
    pub site_addr: SocketAddr,
    /// Where the IdP listens. It must be another origin than the site; on Linux another
    /// loopback address (127.0.0.2) also gives it its own cookie jar.
    pub idp_addr: SocketAddr,
    pub users: Vec<MockUser>,
    pub projects: Vec<String>,
    /// A session unused for this long is gone (error 102).
    pub session_inactivity: Duration,
    /// SAML claims last this long after each pass through the IdP.
    pub claims_lifetime: Duration,
    /// The IdP remembers a signed-in browser for this long.
    pub idp_session_lifetime: Duration,
    /// Whether the IdP's session cookie outlives the browser (`Max-Age`, "keep me signed in")
    /// or is a session cookie, as most IdPs set it, that lives as long as the browser does.
    pub idp_cookie_persistent: bool,
    /// `authentication_app_session_launcher_enabled`: the ASL endpoints answer 403 without it.
    pub asl_enabled: bool,
    /// `unified_login_flow_enabled`.
    pub ulf_enabled: bool,
    /// An App Session Launcher request nobody approves is gone after this long.
    pub asl_request_lifetime: Duration,
    pub scripts: Vec<MockScript>,
    /// Shown on the IdP's form (the demo prints its credentials there).
    pub idp_hint: Option<String>,
    /// Serve the site over HTTPS with this certificate (the IdP stays plain HTTP).
    pub tls: Option<TlsIdentity>,
    /// A misconfigured IdP: it sends every browser straight back to the site's
    /// `/auth/renew`, which sends it to the IdP again, forever.
    pub idp_loops: bool,
    /// REST API access tokens (`/api/v1/auth/access_token`) last this long.
    pub rest_token_lifetime: Duration,
    /// The token endpoint knows `grant_type=session_token`; an older site answers 400, code
    /// 103, "Unsupported grant_type" (reference §6.4).
    pub rest_session_grant: bool,
}

impl MockConfig {
    /// A SAML2 site on free loopback ports with one user (`artist` / `sesame`) and two
    /// projects.
    pub fn saml2() -> Self {
        Self {
            kind: SiteKind::Saml2,
            site_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            idp_addr: SocketAddr::from(([127, 0, 0, 2], 0)),
            users: vec![MockUser::new(42, "artist", "sesame", "Ada Artist")],
            projects: vec!["Big Buck Bunny".into(), "Sintel".into()],
            session_inactivity: Duration::from_secs(24 * 3600),
            claims_lifetime: Duration::from_secs(3600),
            idp_session_lifetime: Duration::from_secs(8 * 3600),
            idp_cookie_persistent: true,
            asl_enabled: true,
            ulf_enabled: true,
            asl_request_lifetime: Duration::from_secs(305),
            scripts: Vec::new(),
            idp_hint: None,
            idp_loops: false,
            tls: None,
            rest_token_lifetime: Duration::from_secs(600),
            rest_session_grant: true,
        }
    }

    /// A site that signs people in with a login and password (`default`): `artist` / `sesame`
    /// and `lead` / `open-up`.
    pub fn password() -> Self {
        Self {
            kind: SiteKind::Default,
            users: vec![
                MockUser::new(42, "artist", "sesame", "Ada Artist"),
                MockUser::new(43, "lead", "open-up", "Lee Lead"),
            ],
            ..Self::saml2()
        }
    }

    /// [`MockConfig::password`] with two-factor authentication on for `lead`: the code
    /// `123456`, or the single-use backup codes `backup-1` and `backup-2`.
    pub fn password_with_two_factor() -> Self {
        let mut config = Self::password();
        config.users[1] = config.users[1]
            .clone()
            .with_two_factor("123456", &["backup-1", "backup-2"]);
        config
    }

    /// The README demo: fixed ports so the printed URL stays the same between runs.
    pub fn demo() -> Self {
        Self {
            site_addr: SocketAddr::from(([127, 0, 0, 1], 8090)),
            idp_addr: SocketAddr::from(([127, 0, 0, 2], 8091)),
            projects: vec![
                "Demo: Big Buck Bunny".into(),
                "Demo: Sintel".into(),
                "Demo: Tears of Steel".into(),
            ],
            idp_hint: Some("Demo sign-in: artist / sesame".into()),
            ..Self::saml2()
        }
    }
}

/// A server certificate and its key, PEM-encoded.
#[derive(Debug, Clone)]
pub struct TlsIdentity {
    pub cert_pem: String,
    pub key_pem: String,
}

impl TlsIdentity {
    fn acceptor(&self) -> std::io::Result<tokio_rustls::TlsAcceptor> {
        use tokio_rustls::rustls::pki_types::pem::PemObject as _;
        use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
        use tokio_rustls::rustls::{ServerConfig, crypto};
        let invalid = |e: &dyn std::fmt::Display| {
            std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string())
        };
        let certs = CertificateDer::pem_slice_iter(self.cert_pem.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| invalid(&e))?;
        let key =
            PrivateKeyDer::from_pem_slice(self.key_pem.as_bytes()).map_err(|e| invalid(&e))?;
        let config =
            ServerConfig::builder_with_provider(Arc::new(crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()
                .map_err(|e| invalid(&e))?
                .with_no_client_auth()
                .with_single_cert(certs, key)
                .map_err(|e| invalid(&e))?;
        Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
    }
}

/// Serves `app` on `listener`, over TLS when `acceptor` is given. Connections are owned by
/// this future: dropping it (stopping the mock) closes them all, as a crashed server would.
async fn serve(
    listener: TcpListener,
    app: axum::Router,
    acceptor: Option<tokio_rustls::TlsAcceptor>,
) {
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            // Reap finished connections so the set does not grow for ever.
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
        };
        let Ok((tcp, _)) = accepted else {
            continue;
        };
        let (acceptor, app) = (acceptor.clone(), app.clone());
        connections.spawn(async move {
            let service = hyper_util::service::TowerToHyperService::new(app);
            let builder =
                hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new());
            match acceptor {
                Some(acceptor) => {
                    // A client that does not trust the certificate hangs up here.
                    let Ok(tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let _ = builder
                        .serve_connection(hyper_util::rt::TokioIo::new(tls), service)
                        .await;
                }
                None => {
                    let _ = builder
                        .serve_connection(hyper_util::rt::TokioIo::new(tcp), service)
                        .await;
                }
            }
        });
    }
}

/// What happened on the mock, for tests to assert on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counters {
    /// Every `/api3/json` call.
    pub api_calls: u64,
    /// Authenticated calls refused with 102.
    pub rejected_sessions: u64,
    /// Logins typed into the IdP form that succeeded.
    pub idp_logins: u64,
    /// Logins typed into the IdP form that failed.
    pub idp_failed_logins: u64,
    /// Passes through the IdP without the form (live IdP session).
    pub idp_silent_passes: u64,
    /// Times the IdP's sign-in page answered with its form (not counting a failed login's).
    pub idp_forms_shown: u64,
    /// Times a browser finished loading that form, its login field focused, ready for typing.
    pub idp_forms_ready: u64,
    /// Sessions the site created (landings, password logins, approved ASL requests).
    pub sessions_created: u64,
    /// `get_session_token` calls that handed out a token.
    pub password_logins: u64,
    /// App Session Launcher requests created.
    pub asl_requests: u64,
    /// App Session Launcher polls (PUTs).
    pub asl_polls: u64,
    /// App Session Launcher tokens handed out.
    pub asl_handed_out: u64,
    /// Silent passes through `/auth/renew` that renewed the SAML claims of a live session.
    pub claims_renewals: u64,
    /// `/internal_api/session` calls.
    pub session_info_calls: u64,
    /// REST access tokens minted from credentials (password, script, session token).
    pub rest_mints: u64,
    /// REST access tokens handed out for a refresh token.
    pub rest_refreshes: u64,
    /// Refresh tokens refused: spent already, expired or unknown.
    pub rest_refused_refreshes: u64,
    /// REST entity calls.
    pub rest_calls: u64,
    /// REST entity calls refused for want of a live Bearer token.
    pub rest_rejected: u64,
}

#[derive(Debug, Default)]
struct AtomicCounters {
    api_calls: AtomicU64,
    rejected_sessions: AtomicU64,
    idp_logins: AtomicU64,
    idp_failed_logins: AtomicU64,
    idp_silent_passes: AtomicU64,
    idp_forms_shown: AtomicU64,
    idp_forms_ready: AtomicU64,
    sessions_created: AtomicU64,
    password_logins: AtomicU64,
    asl_requests: AtomicU64,
    asl_polls: AtomicU64,
    asl_handed_out: AtomicU64,
    claims_renewals: AtomicU64,
    session_info_calls: AtomicU64,
    rest_mints: AtomicU64,
    rest_refreshes: AtomicU64,
    rest_refused_refreshes: AtomicU64,
    rest_calls: AtomicU64,
    rest_rejected: AtomicU64,
}

impl AtomicCounters {
    fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    fn snapshot(&self) -> Counters {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        Counters {
            api_calls: get(&self.api_calls),
            rejected_sessions: get(&self.rejected_sessions),
            idp_logins: get(&self.idp_logins),
            idp_failed_logins: get(&self.idp_failed_logins),
            idp_silent_passes: get(&self.idp_silent_passes),
            idp_forms_shown: get(&self.idp_forms_shown),
            idp_forms_ready: get(&self.idp_forms_ready),
            sessions_created: get(&self.sessions_created),
            password_logins: get(&self.password_logins),
            asl_requests: get(&self.asl_requests),
            asl_polls: get(&self.asl_polls),
            asl_handed_out: get(&self.asl_handed_out),
            claims_renewals: get(&self.claims_renewals),
            session_info_calls: get(&self.session_info_calls),
            rest_mints: get(&self.rest_mints),
            rest_refreshes: get(&self.rest_refreshes),
            rest_refused_refreshes: get(&self.rest_refused_refreshes),
            rest_calls: get(&self.rest_calls),
            rest_rejected: get(&self.rest_rejected),
        }
    }
}

#[derive(Debug, Clone)]
struct Session {
    user_id: u64,
    created_at: i64,
    last_used: Instant,
    claims_expire_at: i64,
}

impl Session {
    /// When the session idles out unless it is used before (epoch seconds).
    fn expires_at(&self, inactivity: Duration) -> i64 {
        let idle = secs(self.last_used.elapsed());
        epoch_now() - idle + secs(inactivity)
    }
}

/// How the IdP behaves, changeable while the mock runs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum IdpMode {
    /// Answers at once.
    #[default]
    Normal,
    /// Answers every request after this delay.
    Slow(Duration),
    /// Answers every request with HTTP 500.
    Failing,
}

#[derive(Debug, Clone)]
struct IdpSession {
    user_id: u64,
    expires: Instant,
}

/// A SAML assertion in flight from the IdP to the site; usable once.
#[derive(Debug, Clone)]
struct Assertion {
    user_id: u64,
    issued: Instant,
    /// Issued without the form, from a live IdP session.
    silent: bool,
    /// The `SAMLRequest` it answers (SAML's `InResponseTo`).
    in_response_to: String,
}

#[derive(Debug)]
struct State {
    config: MockConfig,
    site_origin: String,
    idp_origin: String,
    sessions: Mutex<HashMap<String, Session>>,
    idp_sessions: Mutex<HashMap<String, IdpSession>>,
    assertions: Mutex<HashMap<String, Assertion>>,
    /// SAML requests sent from `/auth/renew`, with the `_session_id` the browser carried then
    /// (the IdP's POST back is cross-site, so the Lax session cookie does not come with it).
    saml_requests: Mutex<HashMap<String, Option<String>>>,
    asl_requests: Mutex<HashMap<String, asl::Request>>,
    used_backup_codes: Mutex<Vec<(u64, String)>>,
    /// The query string of the latest `/auth/renew`.
    last_renew_query: Mutex<Option<String>>,
    idp_mode: Mutex<IdpMode>,
    /// When set, `/api3/json` answers every call with this HTTP status (a site in trouble).
    api_failure: Mutex<Option<u16>>,
    /// REST API tokens handed out and not yet spent.
    rest: Mutex<rest::RestTokens>,
    counters: AtomicCounters,
}

/// Why a login and password were refused, with the api3 `error_code` of each case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PasswordRefusal {
    Wrong,
    TwoFactorRequired,
    SsoOnly,
    IdentityOnly,
}

impl PasswordRefusal {
    fn error_code(self) -> i64 {
        match self {
            Self::Wrong => 102,
            Self::TwoFactorRequired => 106,
            Self::SsoOnly => 108,
            Self::IdentityOnly => 110,
        }
    }

    fn message(self) -> &'static str {
        match self {
            Self::Wrong => "Can't authenticate user. Wrong login or password.",
            Self::TwoFactorRequired => "2FA authentication is required for this user.",
            Self::SsoOnly => {
                "Authentication using username/password is not allowed for an SSO-enabled Flow Production Tracking site"
            }
            Self::IdentityOnly => {
                "Authentication using username/password is not allowed for an Autodesk Identity enabled Flow Production Tracking site"
            }
        }
    }
}

impl State {
    fn user(&self, id: u64) -> Option<&MockUser> {
        self.config.users.iter().find(|u| u.id == id)
    }

    /// Checks a login, password and (for 2FA users) a code or unused backup code, as
    /// `get_session_token` and the site's login page do.
    fn check_password(
        &self,
        login: &str,
        password: &str,
        code: Option<&str>,
    ) -> Result<MockUser, PasswordRefusal> {
        match self.config.kind {
            SiteKind::Saml2 => return Err(PasswordRefusal::SsoOnly),
            SiteKind::Oxygen => return Err(PasswordRefusal::IdentityOnly),
            SiteKind::Default | SiteKind::Ldap => {}
        }
        let user = self
            .config
            .users
            .iter()
            .find(|u| u.login.eq_ignore_ascii_case(login.trim()) && u.password == password)
            .ok_or(PasswordRefusal::Wrong)?;
        let Some(totp) = &user.two_factor_code else {
            return Ok(user.clone());
        };
        let code = code.ok_or(PasswordRefusal::TwoFactorRequired)?;
        if code == totp {
            return Ok(user.clone());
        }
        let mut used = self.used_backup_codes.lock().expect("backup codes lock");
        let fresh = user.backup_codes.iter().any(|c| c == code)
            && !used.iter().any(|(id, c)| *id == user.id && c == code);
        if !fresh {
            // The API answers a wrong code with the same 106 as a missing one.
            return Err(PasswordRefusal::TwoFactorRequired);
        }
        used.push((user.id, code.to_owned()));
        Ok(user.clone())
    }

    /// Starts a session for `user_id` with fresh claims; returns its token.
    fn create_session(&self, user_id: u64) -> (String, i64) {
        let token = random_token(32);
        let claims_expire_at = epoch_now() + secs(self.config.claims_lifetime);
        self.sessions.lock().expect("sessions lock").insert(
            token.clone(),
            Session {
                user_id,
                created_at: epoch_now(),
                last_used: Instant::now(),
                claims_expire_at,
            },
        );
        AtomicCounters::bump(&self.counters.sessions_created);
        (token, claims_expire_at)
    }
}

/// A running mock site. Dropping it stops both servers.
#[derive(Debug)]
pub struct MockSite {
    state: Arc<State>,
    site_addr: SocketAddr,
    idp_addr: SocketAddr,
    tasks: Vec<JoinHandle<()>>,
}

impl MockSite {
    /// Binds the site and the IdP and serves them on the current tokio runtime.
    pub async fn start(config: MockConfig) -> std::io::Result<Self> {
        let site_listener = TcpListener::bind(config.site_addr).await?;
        let idp_listener = TcpListener::bind(config.idp_addr).await?;
        let (site_addr, idp_addr) = (site_listener.local_addr()?, idp_listener.local_addr()?);
        let scheme = if config.tls.is_some() {
            "https"
        } else {
            "http"
        };
        let state = Arc::new(State {
            config,
            site_origin: format!("{scheme}://{site_addr}"),
            idp_origin: format!("http://{idp_addr}"),
            sessions: Mutex::default(),
            idp_sessions: Mutex::default(),
            assertions: Mutex::default(),
            saml_requests: Mutex::default(),
            asl_requests: Mutex::default(),
            used_backup_codes: Mutex::default(),
            last_renew_query: Mutex::default(),
            idp_mode: Mutex::default(),
            api_failure: Mutex::default(),
            rest: Mutex::default(),
            counters: AtomicCounters::default(),
        });
        let mut site = Self {
            state,
            site_addr,
            idp_addr,
            tasks: Vec::new(),
        };
        site.serve(site_listener, idp_listener)?;
        Ok(site)
    }

    fn serve(&mut self, site: TcpListener, idp: TcpListener) -> std::io::Result<()> {
        let state = &self.state;
        let acceptor = state
            .config
            .tls
            .as_ref()
            .map(TlsIdentity::acceptor)
            .transpose()?;
        let site_app = web::router(Arc::clone(state)).merge(asl::router(Arc::clone(state)));
        let idp_app = idp::router(Arc::clone(state));
        self.tasks = vec![
            tokio::spawn(serve(site, site_app, acceptor)),
            tokio::spawn(serve(idp, idp_app, None)),
        ];
        Ok(())
    }

    /// Stops serving: the ports refuse connections and open connections are cut, as when the
    /// site is down. Sessions and counters are kept for [`MockSite::restart`].
    pub fn stop(&mut self) {
        for task in self.tasks.drain(..) {
            task.abort();
        }
    }

    /// Serves again on the same ports, with the sessions the site had.
    pub async fn restart(&mut self) -> std::io::Result<()> {
        self.stop();
        // The aborted tasks drop their listeners when they next run; retry until the port is
        // free again.
        let deadline = Instant::now() + Duration::from_secs(5);
        let (site, idp) = loop {
            match (
                TcpListener::bind(self.site_addr).await,
                TcpListener::bind(self.idp_addr).await,
            ) {
                (Ok(site), Ok(idp)) => break (site, idp),
                (Err(e), _) | (_, Err(e)) if Instant::now() > deadline => return Err(e),
                _ => tokio::time::sleep(Duration::from_millis(10)).await,
            }
        };
        self.serve(site, idp)
    }

    /// Makes the IdP answer normally, slowly, or with errors from now on.
    pub fn set_idp_mode(&self, mode: IdpMode) {
        *self.state.idp_mode.lock().expect("idp mode lock") = mode;
    }

    /// Ends every IdP session: the next pass through the IdP shows its form again.
    pub fn end_idp_sessions(&self) {
        self.state
            .idp_sessions
            .lock()
            .expect("idp sessions lock")
            .clear();
    }

    /// Ends every session the site knows, as an administrator revoking them would: calls with
    /// their tokens get `error_code` 102.
    pub fn end_sessions(&self) {
        self.state.sessions.lock().expect("sessions lock").clear();
        // REST tokens minted from those sessions go with them; scripts' stay.
        self.state
            .rest
            .lock()
            .expect("rest tokens lock")
            .retain_sessions(|_| false);
    }

    /// Makes `/api3/json` answer every call with HTTP `status` (`None`: answer normally).
    pub fn set_api_failure(&self, status: Option<u16>) {
        *self.state.api_failure.lock().expect("api failure lock") = status;
    }

    /// The site URL, e.g. `http://127.0.0.1:8090`.
    pub fn url(&self) -> &str {
        &self.state.site_origin
    }

    /// The IdP's origin, e.g. `http://127.0.0.2:8091`.
    pub fn idp_url(&self) -> &str {
        &self.state.idp_origin
    }

    pub fn config(&self) -> &MockConfig {
        &self.state.config
    }

    /// The query string of the latest `/auth/renew` (`product`, `email`, `sso_domain`, …).
    pub fn last_renew_query(&self) -> Option<String> {
        self.state
            .last_renew_query
            .lock()
            .expect("renew query lock")
            .clone()
    }

    pub fn counters(&self) -> Counters {
        self.state.counters.snapshot()
    }

    /// The login a live session token belongs to, without counting as use.
    pub fn session_login(&self, token: &str) -> Option<String> {
        let sessions = self.state.sessions.lock().expect("sessions lock");
        let session = sessions.get(token)?;
        self.state.user(session.user_id).map(|u| u.login.clone())
    }

    /// Every session token the site has handed out and still knows.
    pub fn session_tokens(&self) -> Vec<String> {
        self.state
            .sessions
            .lock()
            .expect("sessions lock")
            .keys()
            .cloned()
            .collect()
    }
}

impl Drop for MockSite {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

fn random_token(len: usize) -> String {
    Alphanumeric
        .sample_string(&mut rand::rng(), len)
        .to_ascii_lowercase()
}

fn epoch_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

fn secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

/// Escapes text for HTML element content and attribute values.
fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{title}</title>\
         <style>body{{font-family:sans-serif;max-width:28em;margin:3em auto;color:#222}}\
         label{{display:block;margin:.8em 0 .2em}}input{{width:100%;padding:.4em;font-size:1em}}\
         button{{margin-top:1.2em;padding:.5em 1.5em;font-size:1em}}.error{{color:#b00020}}</style>\
         </head><body>{body}</body></html>",
        title = html_escape(title)
    )
}
