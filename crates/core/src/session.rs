//! Turning what a sign-in produced (a login and a token) into a session worth storing: one
//! authenticated call proves the token works and says who it belongs to.

use crate::api3::{Api3, Api3Error};
use crate::method::Method;
use crate::protocol::NewSession;
use crate::secret::Secret;
use crate::site::Site;

/// Expiry hints a sign-in may carry (web sign-ins read them from cookies).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Expiry {
    pub claims_expire_at: Option<i64>,
    pub session_expires_at: Option<i64>,
}

/// Checks `token` by reading the `HumanUser` whose login is `login`; the stored session uses
/// the login and id the site returned, never just what the sign-in claimed.
pub async fn validate(
    site: &Site,
    login: &str,
    token: Secret,
    method: Method,
    expiry: Expiry,
) -> Result<NewSession, Api3Error> {
    let user = Api3::new(site)?.find_human_user(&token, login).await?;
    Ok(NewSession {
        login: user.login,
        token,
        user_id: Some(user.id),
        name: user.name,
        method,
        claims_expire_at: expiry.claims_expire_at,
        session_expires_at: expiry.session_expires_at,
    })
}

/// Signs in with a login and password (and a two-factor or backup code when the account needs
/// one).
pub async fn with_password(
    site: &Site,
    login: &str,
    password: &Secret,
    code: Option<&str>,
) -> Result<NewSession, Api3Error> {
    let token = Api3::new(site)?
        .get_session_token(login, password, code)
        .await?;
    validate(site, login, token, Method::Credentials, Expiry::default()).await
}
