//! FPT's REST API tokens (protocol reference §6.4): `POST <site>/api/v1/auth/access_token`
//! with form-encoded parameters, answered by a Bearer access token, a single-use refresh
//! token and a lifetime; refusals are JSON:API `errors[]`.
//!
//! [`RestClient`] speaks HTTP to a site; [`RestTokens`] keeps what it minted in memory and
//! decides, per site and user, whether to serve, refresh or mint (see `cache`).

mod cache;

use std::future::Future;

use serde::Deserialize;
use serde_json::Value;
use url::Url;

use crate::network::describe;
use crate::protocol::UserInfo;
pub use crate::protocol::{Holder, RestTokenInfo};
use crate::secret::Secret;
use crate::site::Site;

pub use cache::{Credential, DEFAULT_MIN_TTL, RestTokenError, RestTokens};

/// Lifetimes a site gives beyond this are taken as this (seconds).
const MAX_LIFETIME: i64 = 24 * 3600;
/// JSON:API `code` of a password grant that needs a two-factor code.
pub const ERR_2FA: i64 = 106;
const TOKEN_PATH: &str = "/api/v1/auth/access_token";

#[derive(Debug, Clone, thiserror::Error)]
pub enum RestError {
    #[error("cannot reach {url}: {detail}")]
    Network { url: Url, detail: String },
    /// The site refused the credentials or token (a 4xx, with the JSON:API error's code and
    /// title when it sent one).
    #[error("{url} refused the request (HTTP {status}): {detail}")]
    Refused {
        url: Url,
        status: u16,
        detail: String,
    },
    #[error(
        "this account uses two-factor authentication: the code from the authenticator app is needed ({url} answered error 106)"
    )]
    TwoFactorRequired { url: Url },
    /// The site is in trouble (5xx): nothing is known about the credentials.
    #[error("{url} answered HTTP {status}")]
    Http { url: Url, status: u16 },
    #[error("unexpected answer from {url}: {detail}")]
    Unexpected { url: Url, detail: String },
}

impl RestError {
    /// Whether the site said no to what was sent (as opposed to not answering sensibly).
    pub fn is_refusal(&self) -> bool {
        matches!(self, Self::Refused { .. } | Self::TwoFactorRequired { .. })
    }
}

impl RestTokens {
    /// A token for `user` (as the store hands it out) with `min_ttl` seconds left, from the
    /// user's site over the shared HTTP client, on this machine's clock.
    pub async fn for_user(
        &self,
        user: &UserInfo,
        min_ttl: Option<u64>,
    ) -> Result<RestTokenInfo, RestTokenError> {
        let api = RestClient::new(&user.site).map_err(RestTokenError::Site)?;
        self.get(
            &api,
            &user.site,
            &Credential::of(user),
            min_ttl,
            crate::time::now,
        )
        .await
    }
}

/// What a token is asked for with.
#[derive(Debug, Clone, Copy)]
pub enum Grant<'a> {
    /// `grant_type=session_token`: a web, Launcher or password session.
    Session(&'a Secret),
    /// `grant_type=client_credentials`: an API script and its key.
    Script { name: &'a str, key: &'a Secret },
    /// `grant_type=refresh_token`: single-use.
    Refresh(&'a Secret),
    /// `grant_type=password`, with a two-factor code as `auth_token` when the account needs it.
    Password {
        login: &'a str,
        password: &'a Secret,
        code: Option<&'a str>,
    },
}

impl Grant<'_> {
    fn name(&self) -> &'static str {
        match self {
            Self::Session(_) => "session_token",
            Self::Script { .. } => "client_credentials",
            Self::Refresh(_) => "refresh_token",
            Self::Password { .. } => "password",
        }
    }

    /// The form fields, secrets included: they go in the request body only.
    fn form(&self) -> Vec<(&'static str, &str)> {
        let mut form = vec![("grant_type", self.name())];
        match self {
            Self::Session(token) => form.push(("session_token", token.expose())),
            Self::Script { name, key } => {
                form.extend([("client_id", *name), ("client_secret", key.expose())]);
            }
            Self::Refresh(token) => form.push(("refresh_token", token.expose())),
            Self::Password {
                login,
                password,
                code,
            } => {
                form.extend([("username", *login), ("password", password.expose())]);
                if let Some(code) = code {
                    form.push(("auth_token", code));
                }
            }
        }
        form
    }
}

/// A token the site handed out.
#[derive(Debug, Clone)]
pub struct Minted {
    pub access_token: Secret,
    pub refresh_token: Option<Secret>,
    /// Seconds it lasts from now, within 0 and a day.
    pub expires_in: i64,
}

/// The calls to a site's token endpoint; unit tests use a scripted fake.
pub trait RestApi: Sync {
    fn access_token(
        &self,
        grant: Grant<'_>,
    ) -> impl Future<Output = Result<Minted, RestError>> + Send;
}

/// A real site's token endpoint, over the shared HTTP client.
#[derive(Debug, Clone)]
pub struct RestClient {
    http: reqwest::Client,
    endpoint: Url,
}

impl RestClient {
    pub fn new(site: &Site) -> Result<Self, RestError> {
        let endpoint = site.join(TOKEN_PATH);
        let http = crate::network::client().map_err(|e| RestError::Network {
            url: endpoint.clone(),
            detail: e.to_string(),
        })?;
        Ok(Self { http, endpoint })
    }

    fn unexpected(&self, detail: impl Into<String>) -> RestError {
        RestError::Unexpected {
            url: self.endpoint.clone(),
            detail: detail.into(),
        }
    }

    /// The reply's body as JSON, capped and only when it says it is JSON (`network`'s rule
    /// for every site reply).
    async fn json_body(&self, response: reqwest::Response) -> Result<Value, RestError> {
        crate::network::json_reply(response)
            .await
            .map_err(|e| self.unexpected(e.to_string()))
    }
}

/// A refusal's title as messages and records may keep it: quoted parts dropped (sites quote
/// the end of the refused token: "Can't authenticate session token ending with 'abcd'") and
/// at most 120 characters.
fn site_title(title: &str) -> String {
    let mut kept = String::new();
    let mut quote = None;
    let mut previous = ' ';
    for c in title.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            // Only a quote that opens a word opens a quotation: not the one in "Can't".
            None if (c == '\'' || c == '"') && !previous.is_alphanumeric() => {
                quote = Some(c);
                kept.push('…');
            }
            None => kept.push(c),
        }
        previous = c;
    }
    kept.chars().take(120).collect()
}

/// The first JSON:API error of a refusal.
#[derive(Debug, Default, Deserialize)]
struct ApiError {
    #[serde(default)]
    code: Option<Value>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    source: Option<Value>,
}

fn first_error(body: &Value) -> ApiError {
    body.get("errors")
        .and_then(Value::as_array)
        .and_then(|errors| errors.first())
        .and_then(|e| serde_json::from_value(e.clone()).ok())
        .unwrap_or_default()
}

/// A JSON number or numeric string as an integer (sites send both for `code`).
fn integer(value: &Value) -> Option<i64> {
    value
        .as_i64()
        .or_else(|| value.as_str().and_then(|s| s.trim().parse().ok()))
}

/// `expires_in` as whole seconds within 0 and [`MAX_LIFETIME`].
fn lifetime(value: Option<&Value>) -> Option<i64> {
    let value = value?;
    let seconds = value.as_i64().or_else(|| {
        value
            .as_f64()
            .filter(|f| f.is_finite())
            // Clamped first, so the cast only drops the fraction.
            .map(|f| {
                #[allow(clippy::cast_possible_truncation)]
                let whole = f.clamp(-1.0, 1e12) as i64;
                whole
            })
    })?;
    Some(seconds.clamp(0, MAX_LIFETIME))
}

impl RestApi for RestClient {
    async fn access_token(&self, grant: Grant<'_>) -> Result<Minted, RestError> {
        let url = &self.endpoint;
        let response = self
            .http
            .post(url.clone())
            .header(reqwest::header::ACCEPT, "application/json")
            .form(&grant.form())
            .send()
            .await
            .map_err(|e| RestError::Network {
                url: url.clone(),
                detail: describe(&e),
            })?;
        let status = response.status();
        if status.is_redirection() {
            let location = crate::network::location(&response);
            return Err(self.unexpected(format!("HTTP {status} to {location:?}")));
        }
        if status.is_server_error() {
            return Err(RestError::Http {
                url: url.clone(),
                status: status.as_u16(),
            });
        }
        if status.is_client_error() {
            let refusal = self.json_body(response).await.map(|b| first_error(&b));
            let error = refusal.unwrap_or_default();
            let code = error.code.as_ref().and_then(integer);
            let wants_code = error
                .source
                .as_ref()
                .is_some_and(|s| s.get("auth_token").is_some());
            if code == Some(ERR_2FA) && wants_code {
                return Err(RestError::TwoFactorRequired { url: url.clone() });
            }
            let title = error.title.map_or_else(
                || status.canonical_reason().unwrap_or("refused").to_owned(),
                |t| site_title(&t),
            );
            return Err(RestError::Refused {
                url: url.clone(),
                status: status.as_u16(),
                detail: match code {
                    Some(code) => format!("error {code}, {title}"),
                    None => title,
                },
            });
        }
        let body = self.json_body(response).await?;
        let token_type = body
            .get("token_type")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if !token_type.eq_ignore_ascii_case("bearer") {
            return Err(self.unexpected(format!("token_type is {token_type:?}, not \"Bearer\"")));
        }
        let access_token = body
            .get("access_token")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .map(Secret::new)
            .ok_or_else(|| self.unexpected("no access_token"))?;
        let refresh_token = body
            .get("refresh_token")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .map(Secret::new);
        let expires_in = lifetime(body.get("expires_in"))
            .ok_or_else(|| self.unexpected("no expires_in in seconds"))?;
        Ok(Minted {
            access_token,
            refresh_token,
            expires_in,
        })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn refusal_titles_never_keep_what_the_site_quoted() {
        assert_eq!(
            site_title("Can't authenticate session token ending with 'abcd'"),
            "Can't authenticate session token ending with …"
        );
        assert_eq!(
            site_title("Unknown token ending with \"wxyz\" for user"),
            "Unknown token ending with … for user"
        );
        assert_eq!(site_title(&"x".repeat(1000)).chars().count(), 120);
    }

    use super::*;
    use serde_json::json;

    #[test]
    fn lifetimes_from_the_site_are_clamped() {
        assert_eq!(lifetime(Some(&json!(600))), Some(600));
        assert_eq!(lifetime(Some(&json!(-5))), Some(0));
        assert_eq!(lifetime(Some(&json!(1e300))), Some(MAX_LIFETIME));
        assert_eq!(lifetime(Some(&json!(i64::MAX))), Some(MAX_LIFETIME));
        assert_eq!(lifetime(Some(&json!(59.9))), Some(59));
        assert_eq!(lifetime(Some(&json!("600"))), None);
        assert_eq!(lifetime(None), None);
    }

    #[test]
    fn the_first_json_api_error_is_read() {
        let body = json!({"errors": [{"status": 400, "code": 106, "title": "Missing argument for 2FA login",
                                      "source": {"auth_token": "missing for 2FA login"}}]});
        let error = first_error(&body);
        assert_eq!(error.code.as_ref().and_then(integer), Some(106));
        assert_eq!(
            error.title.as_deref(),
            Some("Missing argument for 2FA login")
        );
        assert!(first_error(&json!({"errors": "nope"})).title.is_none());
        assert_eq!(integer(&json!("102")), Some(102));
    }

    #[test]
    fn secrets_go_in_the_form_and_never_in_messages() {
        let key = Secret::new("script-key-1234");
        let grant = Grant::Script {
            name: "farm",
            key: &key,
        };
        assert_eq!(
            grant.form(),
            [
                ("grant_type", "client_credentials"),
                ("client_id", "farm"),
                ("client_secret", "script-key-1234")
            ]
        );
        assert!(!format!("{grant:?}").contains("script-key"));
        let code = Grant::Password {
            login: "lead",
            password: &key,
            code: Some("123456"),
        };
        assert_eq!(code.form().last(), Some(&("auth_token", "123456")));
    }

    #[test]
    fn a_rest_token_has_the_documented_fields() {
        let info = RestTokenInfo {
            site: Site::parse("https://a.example.com").unwrap(),
            holder: Holder::Session {
                login: "jane".into(),
            },
            token_type: "Bearer".into(),
            access_token: Secret::new("at"),
            expires_at: 100,
        };
        assert_eq!(
            serde_json::to_value(&info).unwrap(),
            json!({"site": "https://a.example.com", "kind": "session", "login": "jane",
                   "token_type": "Bearer", "access_token": "at", "expires_at": 100})
        );
        let script = RestTokenInfo {
            holder: Holder::Script {
                api_script: "farm".into(),
            },
            ..info
        };
        assert_eq!(serde_json::to_value(&script).unwrap()["api_script"], "farm");
    }
}
