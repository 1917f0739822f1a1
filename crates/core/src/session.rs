//! What a stored session's site says about it: alive (and until when), ended, claims lapsed,
//! or no answer at all.

use crate::api3::{Api3, Api3Error};
use crate::secret::Secret;
use crate::site::Site;

/// What a check of a stored session found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Health {
    /// The site accepted the token; `expires_at` is when it idles out, when the site says,
    /// and `site_now` the site's clock (its `Date` header), both epoch seconds.
    Alive {
        expires_at: Option<i64>,
        site_now: Option<i64>,
    },
    /// The site refused the token (`error_code` 102): it is gone for good.
    Expired { reason: String },
    /// The site sent the call to the IdP (HTTP 302 to `/saml/saml_login_request`): the SAML
    /// claims lapsed; a pass through `/auth/renew` can bring the session back.
    ClaimsLapsed { reason: String },
    /// The site could not be asked (network, timeout, 5xx, anything unexpected). Says nothing
    /// about the session: keep the token and try again later.
    Unreachable { reason: String },
}

impl Health {
    /// Sorts an API error into what it says about the session. Only the two documented
    /// signals end a session; everything else is "ask again later".
    pub fn from_error(error: &Api3Error) -> Self {
        let reason = error.to_string();
        match error {
            Api3Error::SessionExpired { .. } => Self::Expired { reason },
            Api3Error::ClaimsExpired { .. } => Self::ClaimsLapsed { reason },
            _ => Self::Unreachable { reason },
        }
    }
}

/// Uses the session once, cheaply (one small `read`, which also counts as activity and so
/// keeps it from idling out), then asks the site when it idles out.
pub async fn check(site: &Site, login: &str, token: &Secret) -> Health {
    let api = match Api3::new(site) {
        Ok(api) => api,
        Err(e) => return Health::from_error(&e),
    };
    if let Err(e) = api.find_human_user(token, login).await {
        return Health::from_error(&e);
    }
    let (expires_at, site_now) = idle_expiry(site, token).await;
    Health::Alive {
        expires_at,
        site_now,
    }
}

/// `GET <site>/internal_api/session` (protocol reference §4.5): when the session idles out,
/// and the site's clock from the answer's `Date` header (even a refusal carries one). Best
/// effort: sites that do not answer leave both unknown.
async fn idle_expiry(site: &Site, token: &Secret) -> (Option<i64>, Option<i64>) {
    let Ok(client) = crate::network::client() else {
        return (None, None);
    };
    let sent = client
        .get(site.join("/internal_api/session"))
        .header(
            reqwest::header::COOKIE,
            format!("{}={}", crate::landing::SESSION_COOKIE, token.expose()),
        )
        .send()
        .await;
    let Ok(response) = sent else {
        return (None, None);
    };
    let site_now = response
        .headers()
        .get(reqwest::header::DATE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| httpdate::parse_http_date(v).ok())
        .map(crate::time::epoch_seconds);
    if !response.status().is_success() {
        return (None, site_now);
    }
    let expires_at = crate::network::json_reply::<serde_json::Value>(response)
        .await
        .ok()
        .and_then(|body| body.get("expiresAt")?.as_i64())
        .and_then(crate::time::from_site);
    (expires_at, site_now.and_then(crate::time::from_site))
}

#[cfg(test)]
mod tests {
    use super::*;
    use url::Url;

    #[test]
    fn only_the_documented_signals_end_a_session() {
        let url = Url::parse("https://a.example.com/api3/json").unwrap();
        assert!(matches!(
            Health::from_error(&Api3Error::SessionExpired {
                url: url.clone(),
                message: "expired".into()
            }),
            Health::Expired { .. }
        ));
        assert!(matches!(
            Health::from_error(&Api3Error::ClaimsExpired { url: url.clone() }),
            Health::ClaimsLapsed { .. }
        ));
        for transient in [
            Api3Error::Http {
                url: url.clone(),
                status: 503,
            },
            Api3Error::Network {
                url: url.clone(),
                detail: "connection refused".into(),
            },
            Api3Error::Redirect {
                url,
                location: "/maintenance".into(),
            },
        ] {
            assert!(matches!(
                Health::from_error(&transient),
                Health::Unreachable { .. }
            ));
        }
    }
}
