//! The App Session Launcher (protocol reference §5): create a request, have the person approve
//! it in their own browser, and poll until the site hands the token over — exactly once, so a
//! request is only ever polled from one place.

use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::Value;
use url::Url;

use crate::network::describe;
use crate::secret::Secret;
use crate::site::Site;

/// tk-core polls every 2 s.
pub const POLL_INTERVAL: Duration = Duration::from_secs(2);
/// How long to wait for the approval unless told otherwise (tk-core: 180 s).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(180);
const ATTEMPTS: u32 = 4;

#[derive(Debug, thiserror::Error)]
pub enum AslError {
    #[error("cannot reach {url}: {detail}")]
    Network { url: Url, detail: String },
    #[error(
        "unable to establish a stable communication with {url} (HTTP {status}); try again later"
    )]
    Unstable { url: Url, status: u16 },
    #[error("the App Session Launcher is not enabled on this site; use another way to sign in")]
    Disabled,
    #[error("the site refused the sign-in request (HTTP {status} from {url})")]
    Refused { url: Url, status: u16 },
    #[error("the request was rejected or expired; start a new one to try again")]
    RejectedOrExpired,
    #[error("the request was not approved within {} s; start a new one to try again", .waited.as_secs())]
    NotApproved { waited: Duration },
    #[error("unexpected answer from {url}: {detail}")]
    Unexpected { url: Url, detail: String },
}

/// The name the approval page shows the person.
pub fn app_name() -> String {
    format!("FPT Login {}", env!("CARGO_PKG_VERSION"))
}

/// This machine's name, which the approval page shows too.
pub fn machine_name() -> String {
    crate::platform::runtime::machine_name()
}

/// Opens `url` in the person's web browser the way the platform does it: on Linux `$BROWSER`
/// when set, else `xdg-open` and friends; `open` on macOS; the shell on Windows.
pub fn open_in_browser(url: &Url) -> std::io::Result<()> {
    webbrowser::open(url.as_str())
}

/// A request waiting for the person's approval.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AslRequest {
    pub id: String,
    /// The page to open in the system browser.
    pub url: Url,
}

/// An approved request.
#[derive(Debug, Clone)]
pub struct Approval {
    pub login: String,
    pub token: Secret,
}

/// A client for one site's App Session Launcher endpoints.
#[derive(Debug, Clone)]
pub struct AslClient {
    http: reqwest::Client,
    endpoint: Url,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Created {
    session_request_id: String,
    url: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Poll {
    #[serde(default)]
    approved: bool,
    #[serde(default)]
    session_token: Option<String>,
    #[serde(default)]
    user_login: Option<String>,
}

impl AslClient {
    pub fn new(site: &Site) -> Result<Self, AslError> {
        let endpoint = site.join("/internal_api/app_session_request");
        let http = crate::network::client().map_err(|e| AslError::Network {
            url: endpoint.clone(),
            detail: e.to_string(),
        })?;
        Ok(Self { http, endpoint })
    }

    /// Asks the site for a request on behalf of `app_name` on `machine_id`.
    pub async fn create(&self, app_name: &str, machine_id: &str) -> Result<AslRequest, AslError> {
        let url = self.endpoint.clone();
        let form = [("appName", app_name), ("machineId", machine_id)];
        let response = self
            .send(|| self.http.post(url.clone()).form(&form), &url)
            .await?;
        let status = response.status();
        if status == reqwest::StatusCode::FORBIDDEN {
            return Err(AslError::Disabled);
        }
        if !status.is_success() {
            return Err(AslError::Refused {
                url,
                status: status.as_u16(),
            });
        }
        let created: Created = json(response, &url).await?;
        let page = Url::parse(&created.url).map_err(|e| AslError::Unexpected {
            url: url.clone(),
            detail: format!("the approval page {:?} is not a URL: {e}", created.url),
        })?;
        Ok(AslRequest {
            id: created.session_request_id,
            url: page,
        })
    }

    /// One poll: `None` while the person has not approved yet.
    pub async fn poll(&self, request: &AslRequest) -> Result<Option<Approval>, AslError> {
        let url = self.request_url(&request.id)?;
        let response = self.send(|| self.http.put(url.clone()), &url).await?;
        let status = response.status();
        if status == reqwest::StatusCode::NOT_FOUND {
            return Err(AslError::RejectedOrExpired);
        }
        // Redirects, other 4xx and non-200 successes are all refusals (tk-core §5.3).
        if status != reqwest::StatusCode::OK {
            return Err(AslError::Refused {
                url,
                status: status.as_u16(),
            });
        }
        let poll: Poll = json(response, &url).await?;
        if !poll.approved {
            return Ok(None);
        }
        match (poll.user_login, poll.session_token) {
            (Some(login), Some(token)) if !login.is_empty() && !token.is_empty() => {
                Ok(Some(Approval {
                    login,
                    token: Secret::new(token),
                }))
            }
            _ => Err(AslError::Unexpected {
                url,
                detail: "approved without a login or token".to_owned(),
            }),
        }
    }

    /// Polls every `interval` until approved, refused, or `timeout` has passed. Dropping the
    /// future cancels the wait.
    pub async fn wait_for_approval(
        &self,
        request: &AslRequest,
        interval: Duration,
        timeout: Duration,
    ) -> Result<Approval, AslError> {
        let started = Instant::now();
        loop {
            // tk-core sleeps before each poll: the person needs a moment anyway.
            tokio::time::sleep(interval).await;
            if let Some(approval) = self.poll(request).await? {
                return Ok(approval);
            }
            if started.elapsed() >= timeout {
                return Err(AslError::NotApproved { waited: timeout });
            }
        }
    }

    fn request_url(&self, id: &str) -> Result<Url, AslError> {
        let mut url = self.endpoint.clone();
        url.path_segments_mut()
            .map_err(|()| AslError::Unexpected {
                url: self.endpoint.clone(),
                detail: "the site URL cannot take a path".to_owned(),
            })?
            .push(id);
        Ok(url)
    }

    /// Sends a request, retrying server errors and dropped connections as tk-core does (up
    /// to four attempts with a growing pause).
    async fn send(
        &self,
        build: impl Fn() -> reqwest::RequestBuilder,
        url: &Url,
    ) -> Result<reqwest::Response, AslError> {
        let mut attempt = 1;
        loop {
            let outcome = build().send().await;
            let retry = match &outcome {
                Ok(r) => r.status().is_server_error(),
                Err(e) => e.is_connect() || e.is_request() || e.is_timeout(),
            };
            if !retry || attempt == ATTEMPTS {
                return match outcome {
                    Ok(r) if r.status().is_server_error() => Err(AslError::Unstable {
                        url: url.clone(),
                        status: r.status().as_u16(),
                    }),
                    Ok(r) => Ok(r),
                    Err(e) => Err(AslError::Network {
                        url: url.clone(),
                        detail: describe(&e),
                    }),
                };
            }
            tokio::time::sleep(Duration::from_millis(750) * attempt).await;
            attempt += 1;
        }
    }
}

async fn json<T: serde::de::DeserializeOwned>(
    response: reqwest::Response,
    url: &Url,
) -> Result<T, AslError> {
    let value: Value =
        crate::network::json_reply(response)
            .await
            .map_err(|e| AslError::Unexpected {
                url: url.clone(),
                detail: e.to_string(),
            })?;
    serde_json::from_value(value).map_err(|e| AslError::Unexpected {
        url: url.clone(),
        detail: e.to_string(),
    })
}
