//! The parts of FPT's JSON-RPC API (`POST <site>/api3/json`) that signing in needs: the
//! unauthenticated `info` call and one authenticated `read` to check a token.
//!
//! Redirects are never followed: an HTTP 302 to `/saml/saml_login_request` is how a SAML site
//! says the claims lapsed, and must be seen as such.

use serde::Deserialize;
use serde_json::{Value, json};
use url::Url;

use crate::network::describe;
use crate::secret::Secret;
use crate::site::Site;

/// `error_code` of an unknown or expired session, or wrong credentials (`AuthenticationFault`).
pub const ERR_AUTH: i64 = 102;
/// A two-factor code is needed, or the one sent was wrong.
pub const ERR_2FA: i64 = 106;
/// Passwords are not allowed on this SSO site.
pub const ERR_SSO: i64 = 108;
/// Passwords are not allowed on this Autodesk Identity site.
pub const ERR_OXYGEN: i64 = 110;
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
    #[error("wrong login or password")]
    WrongPassword,
    #[error(
        "this account uses two-factor authentication: enter the code from the authenticator app, or a backup code"
    )]
    TwoFactorRequired,
    #[error(
        "the two-factor code was not accepted; enter a current code, or a backup code not used before"
    )]
    WrongTwoFactorCode,
    #[error(
        "this site signs in with single sign-on (SSO), not a password; use the web sign-in or the App Session Launcher"
    )]
    SsoOnly,
    #[error(
        "this site signs in with Autodesk Identity, not a site password; use the web sign-in or the App Session Launcher"
    )]
    IdentityOnly,
    #[error(
        "the site does not know script {name:?} with that key; check the script name and key in the site's Scripts page"
    )]
    WrongScriptKey { name: String },
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
        let http = crate::network::client().map_err(|e| Api3Error::Network {
            url: endpoint.clone(),
            detail: e.to_string(),
        })?;
        Ok(Self { http, endpoint })
    }

    /// The unauthenticated `info` call.
    /// An address that answers, but not with FPT's `info`, is "not an FPT site".
    pub async fn info(&self) -> Result<SiteInfo, Api3Error> {
        let value = self.call("info", json!([])).await.map_err(|e| match e {
            Api3Error::Http { status, .. } => {
                self.not_fpt(format!("{} answers HTTP {status}", self.endpoint))
            }
            Api3Error::Redirect { location, .. } => {
                self.not_fpt(format!("{} redirects to {location}", self.endpoint))
            }
            other => other,
        })?;
        let info: SiteInfo = serde_json::from_value(value)
            .map_err(|e| self.not_fpt(format!("unexpected info reply: {e}")))?;
        if info.version.is_empty() {
            return Err(self.not_fpt("its info has no version".to_owned()));
        }
        Ok(info)
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

    /// `get_session_token`: a session token for a login and password, with a two-factor or
    /// backup code as `auth_token` when the account needs one.
    pub async fn get_session_token(
        &self,
        login: &str,
        password: &Secret,
        code: Option<&str>,
    ) -> Result<Secret, Api3Error> {
        let mut auth = json!({"user_login": login, "user_password": password.expose()});
        if let Some(code) = code {
            auth["auth_token"] = json!(code);
        }
        let results = self
            .call("get_session_token", json!([auth]))
            .await
            .map_err(|e| match e {
                Api3Error::SessionExpired { .. } => Api3Error::WrongPassword,
                Api3Error::Fault { code: ERR_2FA, .. } if code.is_some() => {
                    Api3Error::WrongTwoFactorCode
                }
                Api3Error::Fault { code: ERR_2FA, .. } => Api3Error::TwoFactorRequired,
                Api3Error::Fault { code: ERR_SSO, .. } => Api3Error::SsoOnly,
                Api3Error::Fault {
                    code: ERR_OXYGEN, ..
                } => Api3Error::IdentityOnly,
                other => other,
            })?;
        results
            .get("session_id")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .map(Secret::new)
            .ok_or_else(|| self.not_fpt("get_session_token returned no session_id".to_owned()))
    }

    /// Checks a script's name and key with one authenticated `read`.
    pub async fn check_script(&self, name: &str, key: &Secret) -> Result<(), Api3Error> {
        let params = json!([
            {"script_name": name, "script_key": key.expose()},
            {
                "type": "HumanUser",
                "return_fields": ["login"],
                "filters": {"logical_operator": "and", "conditions": []},
                "return_only": "active",
                "paging": {"entities_per_page": 1, "current_page": 1},
                "return_paging_info_without_counts": false
            }
        ]);
        match self.call("read", params).await {
            Ok(_) => Ok(()),
            Err(Api3Error::SessionExpired { .. }) => Err(Api3Error::WrongScriptKey {
                name: name.to_owned(),
            }),
            Err(e) => Err(e),
        }
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
                detail: describe(&e),
            })?;
        let status = response.status();
        if status.is_redirection() {
            let location = crate::network::location(&response);
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
        let body: Value = crate::network::json_reply(response)
            .await
            .map_err(|e| self.not_fpt(e.to_string()))?;
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
