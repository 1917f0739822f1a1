//! What the sign-in flows ask of a site, as one trait: [`SiteClient`] speaks HTTP to a real
//! site; the flows' unit tests use a scripted fake, so every flow is tested without a network
//! or a window.

use std::future::Future;

use crate::api3::{Api3, Api3Error, HumanUser, SiteInfo};
use crate::asl::{Approval, AslClient, AslError, AslRequest};
use crate::secret::Secret;
use crate::site::Site;

/// The calls a sign-in makes to its site.
pub trait SiteApi: Sync {
    fn site(&self) -> &Site;

    /// The unauthenticated `info` call: which ways in the site offers.
    fn info(&self) -> impl Future<Output = Result<SiteInfo, Api3Error>> + Send;

    /// One authenticated `read` of the `HumanUser` whose login is `login`.
    fn find_human_user(
        &self,
        token: &Secret,
        login: &str,
    ) -> impl Future<Output = Result<HumanUser, Api3Error>> + Send;

    /// `get_session_token` with a login, a password and, when the account needs one, a
    /// two-factor or backup code.
    fn get_session_token(
        &self,
        login: &str,
        password: &Secret,
        code: Option<&str>,
    ) -> impl Future<Output = Result<Secret, Api3Error>> + Send;

    /// Creates an App Session Launcher request.
    fn create_asl_request(
        &self,
        app_name: &str,
        machine: &str,
    ) -> impl Future<Output = Result<AslRequest, AslError>> + Send;

    /// Polls an App Session Launcher request once: `None` while it waits for the person.
    fn poll_asl_request(
        &self,
        request: &AslRequest,
    ) -> impl Future<Output = Result<Option<Approval>, AslError>> + Send;
}

/// A real site, over HTTP with the configured proxy and CA bundle.
#[derive(Debug, Clone)]
pub struct SiteClient {
    site: Site,
    api3: Api3,
    asl: AslClient,
}

impl SiteClient {
    pub fn new(site: &Site) -> Result<Self, Api3Error> {
        let api3 = Api3::new(site)?;
        let asl = AslClient::new(site).map_err(|e| Api3Error::Network {
            url: site.join("/internal_api/app_session_request"),
            detail: e.to_string(),
        })?;
        Ok(Self {
            site: site.clone(),
            api3,
            asl,
        })
    }

    /// The api3 client, for calls that are not part of a sign-in (script checks).
    pub fn api3(&self) -> &Api3 {
        &self.api3
    }
}

impl SiteApi for SiteClient {
    fn site(&self) -> &Site {
        &self.site
    }

    async fn info(&self) -> Result<SiteInfo, Api3Error> {
        self.api3.info().await
    }

    async fn find_human_user(&self, token: &Secret, login: &str) -> Result<HumanUser, Api3Error> {
        self.api3.find_human_user(token, login).await
    }

    async fn get_session_token(
        &self,
        login: &str,
        password: &Secret,
        code: Option<&str>,
    ) -> Result<Secret, Api3Error> {
        self.api3.get_session_token(login, password, code).await
    }

    async fn create_asl_request(
        &self,
        app_name: &str,
        machine: &str,
    ) -> Result<AslRequest, AslError> {
        self.asl.create(app_name, machine).await
    }

    async fn poll_asl_request(&self, request: &AslRequest) -> Result<Option<Approval>, AslError> {
        self.asl.poll(request).await
    }
}
