//! The one HTTP client setup every request to a site uses.

use std::time::Duration;

/// A client that never follows redirects (a 302 to the IdP means "SAML claims lapsed" and must
/// be seen), names itself, and gives up on a silent server instead of hanging.
pub fn client() -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .user_agent(crate::USER_AGENT)
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(30))
        .build()
}
