//! The parts of FPT's JSON-RPC API (`POST <site>/api3/json`) that signing in needs: the
//! unauthenticated `info` call and one authenticated `read` to check a token.
//!
//! Redirects are never followed: an HTTP 302 to `/saml/saml_login_request` is how a SAML site
//! says the claims lapsed, and must be seen as such.

use std::error::Error as _;
use std::time::Duration;

use serde::Deserialize;
use serde_json::{Value, json};
use url::Url;

use crate::secret::Secret;
use crate::site::Site;

/// `error_code` of an unknown or expired session (`AuthenticationFault`).
pub const ERR_AUTH: i64 = 102;
const CLAIMS_EXPIRED_PATH: &str = "/saml/saml_login_request";

#[derive(Debug, thiserror::Error)]
pub enum Api3Error {
    #[error("cannot reach {url}: {detail}")]
    Network { url: Url, detail: String },
    #[error("{url} answered HTTP {status}")]
    Http { url: Url, status: u16 },
    #[error("{url} redirected to {location}")]
    Redirect { url: Url, location: String },
    #[error("the SAML sign-in of this session lapsed ({url} redirected to the IdP); sign in again")]
    ClaimsExpired { url: Url },
    #[error("the site refused the session: {message}")]
    SessionExpired { url: Url, message: String },
    #[error("{url} answered with error {code}: {message}")]
    Fault {
        url: Url,
        code: i64,
        message: String,
    },
    #[error("{url} does not look like a Flow Production Tracking site: {detail}")]
    NotFpt { url: Url, detail: String },
    #[error("the site has no user with login {login:?} for this session")]
    UnknownUser { login: String },
}

/// The login-related flags of a site's unauthenticated `info`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct SiteInfo {
    #[serde(default)]
    pub version: Vec<Value>,
    /// `default`, `ldap`, `saml2` or `oxygen`.
    #[serde(default)]
    pub user_authentication_method: Option<String>,
    #[serde(default)]
    pub unified_login_flow_enabled: bool,
    #[serde(default)]
    pub authentication_app_session_launcher_enabled: bool,
}

/// A `HumanUser` as `read` returns it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct HumanUser {
    pub id: u64,
    pub login: String,
    #[serde(default)]
    pub name: Option<String>,
}

/// A client for one site's `/api3/json`.
#[derive(Debug, Clone)]
pub struct Api3 {
    http: reqwest::Client,
    endpoint: Url,
}

impl Api3 {
    pub fn new(site: &Site) -> Result<Self, Api3Error> {
        let endpoint = site.join("/api3/json");
        let http = reqwest::Client::builder()
            .user_agent(crate::USER_AGENT)
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| Api3Error::Network {
                url: endpoint.clone(),
                detail: error_chain(&e),
            })?;
        Ok(Self { http, endpoint })
    }

    /// The unauthenticated `info` call.
    pub async fn info(&self) -> Result<SiteInfo, Api3Error> {
        let value = self.call("info", json!([])).await?;
        serde_json::from_value(value)
            .map_err(|e| self.not_fpt(format!("unexpected info reply: {e}")))
    }

    /// Checks `token` by reading the `HumanUser` whose login is `login`, as tk-core's
    /// `find_one("HumanUser", [["login", "is", login]])` would.
    pub async fn find_human_user(
        &self,
        token: &Secret,
        login: &str,
    ) -> Result<HumanUser, Api3Error> {
        let params = json!([
            {"session_token": token.expose(), "reject_if_expired": true},
            {
                "type": "HumanUser",
                "return_fields": ["login", "name"],
                "filters": {
                    "logical_operator": "and",
                    "conditions": [{"path": "login", "relation": "is", "values": [login]}]
                },
                "return_only": "active",
                "paging": {"entities_per_page": 1, "current_page": 1},
                "return_paging_info_without_counts": false
            }
        ]);
        let results = self.call("read", params).await?;
        let entities = results.get("entities").cloned().unwrap_or(Value::Null);
        let users: Vec<HumanUser> = serde_json::from_value(entities)
            .map_err(|e| self.not_fpt(format!("unexpected read reply: {e}")))?;
        users
            .into_iter()
            .find(|u| u.login.eq_ignore_ascii_case(login))
            .ok_or_else(|| Api3Error::UnknownUser {
                login: login.to_owned(),
            })
    }

    async fn call(&self, method: &str, params: Value) -> Result<Value, Api3Error> {
        let url = &self.endpoint;
        let response = self
            .http
            .post(url.clone())
            .json(&json!({"method_name": method, "params": params}))
            .send()
            .await
            .map_err(|e| Api3Error::Network {
                url: url.clone(),
                detail: error_chain(&e),
            })?;
        let status = response.status();
        if status.is_redirection() {
            let location = response
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            if location.ends_with(CLAIMS_EXPIRED_PATH) {
                return Err(Api3Error::ClaimsExpired { url: url.clone() });
            }
            return Err(Api3Error::Redirect {
                url: url.clone(),
                location,
            });
        }
        if !status.is_success() {
            return Err(Api3Error::Http {
                url: url.clone(),
                status: status.as_u16(),
            });
        }
        let body: Value = response
            .json()
            .await
            .map_err(|e| self.not_fpt(format!("the reply is not JSON ({})", error_chain(&e))))?;
        if body.get("exception").and_then(Value::as_bool) == Some(true) {
            let code = body.get("error_code").and_then(Value::as_i64).unwrap_or(0);
            let message = body
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("unknown error")
                .to_owned();
            return Err(if code == ERR_AUTH {
                Api3Error::SessionExpired {
                    url: url.clone(),
                    message,
                }
            } else {
                Api3Error::Fault {
                    url: url.clone(),
                    code,
                    message,
                }
            });
        }
        Ok(body.get("results").cloned().unwrap_or(body))
    }

    fn not_fpt(&self, detail: String) -> Api3Error {
        Api3Error::NotFpt {
            url: self.endpoint.clone(),
            detail,
        }
    }
}

/// An error and its causes on one line: reqwest's own message hides the TLS or DNS reason.
/// The URL is left out because every variant reports it separately.
pub fn error_chain(error: &reqwest::Error) -> String {
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
    text
}
