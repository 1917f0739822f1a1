//! The local protocol between the desktop app and its clients (the CLI, the Python client).
//!
//! Newline-delimited JSON over a Unix socket. Every message is an object tagged by `type`. The
//! client speaks first with `hello` carrying [`PROTOCOL_VERSION`]; the server answers with its
//! own `hello` or an `error` of kind `unsupported_version`, then serves any number of requests,
//! one response line per request line.

use serde::{Deserialize, Serialize};

use crate::model::Method;
pub use crate::model::SessionState;
use crate::secret::Secret;
use crate::site::{self, Site};

/// Bumped on any incompatible change to the messages below.
pub const PROTOCOL_VERSION: u32 = 1;

/// Longest request line the server reads; anything longer is refused.
pub const MAX_LINE: usize = 64 * 1024;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Request {
    Hello {
        version: u32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        client: Option<String>,
    },
    /// The signed-in user of `site` (the default site when absent). With `min_ttl`, a session
    /// known to end sooner than that many seconds is not handed out.
    GetUser {
        #[serde(
            default,
            skip_serializing_if = "Option::is_none",
            deserialize_with = "site::deserialize_requested_opt"
        )]
        site: Option<Site>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min_ttl: Option<u64>,
    },
    Status,
    /// Signs `login` (the site's current user when absent) out of `site` (the default site
    /// when absent): its token leaves the keyring.
    Logout {
        #[serde(
            default,
            skip_serializing_if = "Option::is_none",
            deserialize_with = "site::deserialize_requested_opt"
        )]
        site: Option<Site>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        login: Option<String>,
    },
    /// Signs every person out of every site (API scripts stay).
    LogoutAll,
    /// Signs in to `site` (the default site when absent) with `method` (the site's default
    /// when absent) and answers once the sign-in has finished, failed or been cancelled.
    /// Only the desktop app can do this; it shows its own windows.
    Login {
        #[serde(
            default,
            skip_serializing_if = "Option::is_none",
            deserialize_with = "site::deserialize_requested_opt"
        )]
        site: Option<Site>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        method: Option<Method>,
        /// The person picked `method`: it is remembered for the site in the same write as
        /// the session. Otherwise nothing is remembered.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        chosen: bool,
    },
    /// Makes `site` the default site and, when given, `login` its current user.
    Use {
        #[serde(deserialize_with = "site::deserialize_requested")]
        site: Site,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        login: Option<String>,
    },
    /// Streams [`Response::SessionChanged`] lines, after one [`Response::Subscribed`], until
    /// the client hangs up. The connection serves no other request after this one.
    Subscribe,
    /// Stores a session a client signed in to itself (App Session Launcher or password from
    /// the command line), so that the app serves and shows it.
    StoreSession {
        #[serde(deserialize_with = "site::deserialize_requested")]
        site: Site,
        session: NewSession,
        /// The person picked the session's method: it is remembered for the site in the same
        /// write as the session, so no other sign-in lands between the two.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        chosen: bool,
    },
    /// A REST API access token for the current user of `site` (the default site when
    /// absent) with at least `min_ttl` seconds left (60 when absent). Answered by
    /// [`Response::RestToken`].
    GetRestToken {
        #[serde(
            default,
            skip_serializing_if = "Option::is_none",
            deserialize_with = "site::deserialize_requested_opt"
        )]
        site: Option<Site>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min_ttl: Option<u64>,
    },
    /// The site refused a client's call with the session it was handed (error 102, or the
    /// 302 to the IdP). The app checks the current session of `site` itself: a working one
    /// comes back as [`Response::User`]; otherwise the app shows that the session needs
    /// attention and answers `sign_in_required`. It never opens a window for this.
    SessionRefused {
        #[serde(
            default,
            skip_serializing_if = "Option::is_none",
            deserialize_with = "site::deserialize_requested_opt"
        )]
        site: Option<Site>,
    },
}

/// A session that was checked against its site and is ready to be stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewSession {
    pub login: String,
    pub token: Secret,
    #[serde(default)]
    pub user_id: Option<u64>,
    #[serde(default)]
    pub name: Option<String>,
    pub method: Method,
    /// When the SAML claims lapse (epoch seconds), for SSO users.
    #[serde(default)]
    pub claims_expire_at: Option<i64>,
    /// `shotgun_current_session_expiration` (epoch seconds) when the site set it.
    #[serde(default)]
    pub session_expires_at: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Response {
    Hello {
        version: u32,
        server: String,
        /// The app's process id, so tools can tell which process answers.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pid: Option<u32>,
    },
    User(UserInfo),
    RestToken(RestTokenInfo),
    Status(StatusInfo),
    LoggedOut(LoggedOut),
    /// The answer to `logout_all`: everyone who was signed out.
    LoggedOutAll {
        sessions: Vec<LoggedOut>,
    },
    /// The answer to `subscribe`; events follow.
    Subscribed,
    SessionChanged(SessionEvent),
    Error(ErrorInfo),
}

/// Something happened to a session: `{"type": "session_changed", "event": …, "site", "login",
/// "expires_at", "message"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionEvent {
    pub event: EventKind,
    pub site: Site,
    /// Who it concerns (`script NAME` for API scripts); `null` when a site's default changed to
    /// no one in particular.
    pub login: Option<String>,
    /// When the session is now known to end (epoch seconds), where that is known.
    #[serde(default)]
    pub expires_at: Option<i64>,
    /// A sentence for people (why a session needs attention, who was replaced).
    #[serde(default)]
    pub message: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// A person (or script) signed in; also when someone else signs in to a site in place of
    /// its current user.
    SignedIn,
    /// The same person's session was renewed (silently, or by signing in again).
    Renewed,
    /// The session cannot be renewed silently any more; it still works until it expires.
    NeedsAttention,
    /// The site refused the session (expired, or SAML claims lapsed).
    Expired,
    SignedOut,
    DefaultChanged,
}

impl EventKind {
    pub fn name(self) -> &'static str {
        match self {
            Self::SignedIn => "signed_in",
            Self::Renewed => "renewed",
            Self::NeedsAttention => "needs_attention",
            Self::Expired => "expired",
            Self::SignedOut => "signed_out",
            Self::DefaultChanged => "default_changed",
        }
    }
}

impl Credentials {
    /// Who these credentials are, for messages: the login, or `script NAME`.
    pub fn who(&self) -> String {
        match self {
            Self::Session { login, .. } => login.clone(),
            Self::Script { api_script, .. } => format!("script {api_script}"),
        }
    }
}

/// A site's default user, as handed to other programs. The field names are a public contract
/// (`fpt-login token --json` prints exactly this object).
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct UserInfo {
    pub site: Site,
    #[serde(flatten)]
    pub credentials: Credentials,
    /// The proxy clients should use, in Toolkit's `[user:pass@]host[:port]` form.
    pub http_proxy: Option<String>,
}

impl std::fmt::Debug for UserInfo {
    /// The proxy's credentials hidden, as the credentials' own secrets are.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let proxy = self
            .http_proxy
            .as_deref()
            .map(|p| match p.rsplit_once('@') {
                Some((_, address)) => format!("***@{address}"),
                None => p.to_owned(),
            });
        f.debug_struct("UserInfo")
            .field("site", &self.site)
            .field("credentials", &self.credentials)
            .field("http_proxy", &proxy)
            .finish()
    }
}

/// What a client authenticates with, tagged by `kind`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Credentials {
    /// A person's session: `Shotgun(site, session_token=…)`.
    Session {
        login: String,
        session_token: Secret,
        /// Epoch seconds when the session is known to end, or `null` when the site does not
        /// say.
        expires_at: Option<i64>,
    },
    /// An API script, for unattended tools: `Shotgun(site, script_name=…, api_key=…)`.
    Script { api_script: String, api_key: Secret },
}

/// Who a REST token acts for, as the protocol and `token --rest --json` name them.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Holder {
    Session { login: String },
    Script { api_script: String },
}

/// A REST API token as handed to other programs. The field names are a public contract
/// (`fpt-login token --rest --json` prints exactly this object).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RestTokenInfo {
    pub site: Site,
    #[serde(flatten)]
    pub holder: Holder,
    /// Always `Bearer`: `Authorization: Bearer <access_token>`.
    pub token_type: String,
    pub access_token: Secret,
    /// Epoch seconds (this machine's clock) when the token stops working.
    pub expires_at: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StatusInfo {
    pub default_site: Option<Site>,
    pub sites: Vec<SiteStatus>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SiteStatus {
    pub site: Site,
    pub current_user: Option<String>,
    pub users: Vec<UserStatus>,
    /// API scripts with a key in the keyring.
    #[serde(default)]
    pub scripts: Vec<String>,
    /// The script that is the site's default user, when one is.
    #[serde(default)]
    pub current_script: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserStatus {
    pub login: String,
    pub name: Option<String>,
    #[serde(default, deserialize_with = "Method::deserialize_lenient")]
    pub method: Option<Method>,
    pub signed_in_at: i64,
    pub expires_at: Option<i64>,
    /// `active`, `needs_attention`, `claims_lapsed` or `expired`.
    #[serde(default)]
    pub state: SessionState,
    /// Why the session needs attention or expired, for people.
    #[serde(default)]
    pub attention: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoggedOut {
    pub site: Site,
    /// The login whose token was removed, or `null` when nobody was signed in.
    pub login: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorInfo {
    pub kind: ErrorKind,
    pub message: String,
}

/// Machine-readable error kinds. Clients branch on these, never on the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// Nobody usable is signed in: the user must sign in (CLI exit code 4).
    SignInRequired,
    /// The request was malformed or named a bad site.
    BadRequest,
    /// The client speaks another protocol version.
    UnsupportedVersion,
    /// The peer is not the user running the app.
    Forbidden,
    /// The OS keyring could not be used.
    Keyring,
    /// The person closed the sign-in or pressed Cancel.
    Cancelled,
    /// The sign-in did not go through (wrong password, request rejected, …).
    SignInFailed,
    /// Only the desktop app can do this (it needs a window).
    NeedsApp,
    /// Anything else; the message says what.
    Internal,
}

impl ErrorInfo {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }
}

/// One request line as the server reads it (with or without its newline): a line longer than
/// [`MAX_LINE`], or one that is not a request, is the `bad_request` error sent back.
pub fn parse_request(line: &[u8]) -> Result<Request, ErrorInfo> {
    if line.len() > MAX_LINE {
        return Err(ErrorInfo::new(
            ErrorKind::BadRequest,
            "request line too long",
        ));
    }
    serde_json::from_slice(line)
        .map_err(|e| ErrorInfo::new(ErrorKind::BadRequest, format!("not a valid request: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn requests_are_tagged_by_type() {
        let req: Request =
            serde_json::from_value(json!({"type": "get_user", "min_ttl": 60})).unwrap();
        assert_eq!(
            req,
            Request::GetUser {
                site: None,
                min_ttl: Some(60)
            }
        );
        assert_eq!(
            serde_json::to_value(Request::Hello {
                version: PROTOCOL_VERSION,
                client: None
            })
            .unwrap(),
            json!({"type": "hello", "version": 1})
        );
        assert_eq!(
            serde_json::to_value(Request::Status).unwrap(),
            json!({"type": "status"})
        );
    }

    /// Clients that predate `chosen` still send what they sent: nothing is remembered for them.
    #[test]
    fn chosen_is_optional_and_sent_only_when_true() {
        let login: Request =
            serde_json::from_value(json!({"type": "login", "method": "web"})).unwrap();
        assert_eq!(
            login,
            Request::Login {
                site: None,
                method: Some(Method::Web),
                chosen: false
            }
        );
        assert_eq!(
            serde_json::to_value(&login).unwrap(),
            json!({"type": "login", "method": "web"})
        );
        let chosen = Request::Login {
            site: None,
            method: Some(Method::Credentials),
            chosen: true,
        };
        let sent = serde_json::to_value(&chosen).unwrap();
        assert_eq!(
            sent,
            json!({"type": "login", "method": "credentials", "chosen": true})
        );
        assert_eq!(serde_json::from_value::<Request>(sent).unwrap(), chosen);
    }

    #[test]
    fn sites_in_requests_are_checked_like_typed_input() {
        let req: Request = serde_json::from_value(
            json!({"type": "get_user", "site": "MyStudio.shotgrid.autodesk.com"}),
        )
        .unwrap();
        assert_eq!(
            req,
            Request::GetUser {
                site: Some(Site::parse("https://mystudio.shotgrid.autodesk.com").unwrap()),
                min_ttl: None
            }
        );
        for bad in [
            json!({"type": "get_user", "site": "http://studio.example.com"}),
            json!({"type": "use", "site": "file:///etc/passwd"}),
            json!({"type": "logout", "site": "https://jane:pw@studio.example.com"}),
        ] {
            let e = serde_json::from_value::<Request>(bad.clone()).unwrap_err();
            assert!(!e.to_string().contains("pw@"), "{e}");
        }
        assert!(
            serde_json::from_value::<Request>(
                json!({"type": "get_user", "site": "http://127.0.0.1:8080"})
            )
            .is_ok(),
            "plain http stays allowed on loopback"
        );
    }

    #[test]
    fn a_user_in_debug_output_shows_no_secret_not_even_the_proxys() {
        let user = UserInfo {
            site: Site::parse("https://a.example.com").unwrap(),
            credentials: Credentials::Session {
                login: "jane".into(),
                session_token: Secret::new("tok-secret"),
                expires_at: None,
            },
            http_proxy: Some("Jane:Pa55@proxy.corp:3128".into()),
        };
        let shown = format!("{:?}", Response::User(user));
        assert!(
            !shown.contains("Pa55") && !shown.contains("tok-secret"),
            "{shown}"
        );
        assert!(shown.contains("***@proxy.corp:3128"), "{shown}");
    }

    #[test]
    fn user_response_has_the_documented_fields() {
        let resp = Response::User(UserInfo {
            site: Site::parse("https://a.example.com").unwrap(),
            credentials: Credentials::Session {
                login: "jane".into(),
                session_token: Secret::new("tok"),
                expires_at: None,
            },
            http_proxy: None,
        });
        let json = json!({"type": "user", "site": "https://a.example.com", "kind": "session",
                          "login": "jane", "session_token": "tok", "expires_at": null,
                          "http_proxy": null});
        assert_eq!(serde_json::to_value(&resp).unwrap(), json);
        assert_eq!(serde_json::from_value::<Response>(json).unwrap(), resp);

        let script = UserInfo {
            site: Site::parse("https://a.example.com").unwrap(),
            credentials: Credentials::Script {
                api_script: "farm".into(),
                api_key: Secret::new("key"),
            },
            http_proxy: None,
        };
        assert_eq!(
            serde_json::to_value(&script).unwrap(),
            json!({"site": "https://a.example.com", "kind": "script", "api_script": "farm",
                   "api_key": "key", "http_proxy": null})
        );
    }

    #[test]
    fn rest_token_requests_and_replies_have_the_documented_shape() {
        let req: Request =
            serde_json::from_value(json!({"type": "get_rest_token", "min_ttl": 120})).unwrap();
        assert_eq!(
            req,
            Request::GetRestToken {
                site: None,
                min_ttl: Some(120)
            }
        );
        assert_eq!(
            serde_json::to_value(Request::SessionRefused { site: None }).unwrap(),
            json!({"type": "session_refused"})
        );
        let reply = Response::RestToken(RestTokenInfo {
            site: Site::parse("https://a.example.com").unwrap(),
            holder: Holder::Session {
                login: "jane".into(),
            },
            token_type: "Bearer".into(),
            access_token: Secret::new("at"),
            expires_at: 100,
        });
        let json = json!({"type": "rest_token", "site": "https://a.example.com", "kind": "session",
                          "login": "jane", "token_type": "Bearer", "access_token": "at",
                          "expires_at": 100});
        assert_eq!(serde_json::to_value(&reply).unwrap(), json);
        assert_eq!(serde_json::from_value::<Response>(json).unwrap(), reply);
    }

    #[test]
    fn errors_carry_a_machine_readable_kind() {
        let resp = Response::Error(ErrorInfo::new(ErrorKind::SignInRequired, "sign in"));
        assert_eq!(
            serde_json::to_value(&resp).unwrap(),
            json!({"type": "error", "kind": "sign_in_required", "message": "sign in"})
        );
    }

    #[test]
    fn the_version_is_a_plain_number() {
        // A regression in how the version is encoded would silently break every client.
        let hello: Response =
            serde_json::from_str(r#"{"type":"hello","version":1,"server":"x"}"#).unwrap();
        assert_eq!(
            hello,
            Response::Hello {
                version: PROTOCOL_VERSION,
                server: "x".into(),
                pid: None
            }
        );
    }
}
