//! A scripted site for the flows' unit tests: it answers from tables, counts calls and never
//! touches the network.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use url::Url;

use super::SiteApi;
use crate::api3::{Api3Error, HumanUser, SiteInfo};
use crate::asl::{Approval, AslError, AslRequest};
use crate::secret::Secret;
use crate::site::Site;

pub struct FakeSite {
    site: Site,
    info: Option<SiteInfo>,
    /// What each poll of the Launcher request answers, in turn; empty: still waiting.
    polls: Mutex<VecDeque<Result<Option<Approval>, AslError>>>,
    /// `None`: passwords are refused with this error.
    refuses_passwords: Option<fn() -> Api3Error>,
    two_factor: bool,
    /// Where the Launcher's approval page is, when not on the site itself.
    approval_page: Option<Url>,
    /// Runs while the site checks a token: what happens elsewhere meanwhile.
    during_read: Option<Box<dyn Fn() + Send + Sync>>,
    calls: Mutex<HashMap<&'static str, usize>>,
}

impl std::fmt::Debug for FakeSite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeSite")
            .field("site", &self.site)
            .finish_non_exhaustive()
    }
}

impl FakeSite {
    /// The one valid session token, belonging to `jane` (id 42).
    pub const TOKEN: &'static str = "token-of-jane";
    pub const PASSWORD: &'static str = "jane's password";
    pub const CODE: &'static str = "123456";

    fn new(info: Option<SiteInfo>) -> Self {
        Self {
            site: Site::parse("https://studio.example.com").unwrap(),
            info,
            polls: Mutex::default(),
            refuses_passwords: None,
            two_factor: false,
            approval_page: None,
            during_read: None,
            calls: Mutex::default(),
        }
    }

    fn info(kind: &str, launcher: bool) -> SiteInfo {
        SiteInfo {
            version: vec![serde_json::json!(9)],
            user_authentication_method: Some(kind.to_owned()),
            unified_login_flow_enabled: false,
            authentication_app_session_launcher_enabled: launcher,
        }
    }

    pub fn sso() -> Self {
        Self::new(Some(Self::info("saml2", false)))
    }

    pub fn sso_with_launcher() -> Self {
        Self::new(Some(Self::info("saml2", true)))
    }

    pub fn passwords() -> Self {
        Self::new(Some(Self::info("default", false)))
    }

    pub fn unreachable() -> Self {
        Self::new(None)
    }

    pub fn at(mut self, site: &str) -> Self {
        self.site = Site::parse(site).unwrap();
        self
    }

    pub fn with_two_factor(mut self) -> Self {
        self.two_factor = true;
        self
    }

    /// Runs `meanwhile` while the site checks a token.
    pub fn during_read(mut self, meanwhile: impl Fn() + Send + Sync + 'static) -> Self {
        self.during_read = Some(Box::new(meanwhile));
        self
    }

    /// The Launcher hands out this approval page instead of one on the site.
    pub fn with_approval_page(mut self, url: &str) -> Self {
        self.approval_page = Some(Url::parse(url).unwrap());
        self
    }

    pub fn refusing_passwords(mut self, why: fn() -> Api3Error) -> Self {
        self.refuses_passwords = Some(why);
        self
    }

    /// The Launcher request waits `pending` polls, then answers `last`.
    pub fn with_polls(self, pending: usize, last: Result<Option<Approval>, AslError>) -> Self {
        {
            let mut polls = self.polls.lock().unwrap();
            polls.extend((0..pending).map(|_| Ok(None)));
            polls.push_back(last);
        }
        self
    }

    pub fn approval(login: &str, token: &str) -> Approval {
        Approval {
            login: login.to_owned(),
            token: Secret::new(token),
        }
    }

    pub fn calls(&self, name: &str) -> usize {
        self.calls.lock().unwrap().get(name).copied().unwrap_or(0)
    }

    fn count(&self, name: &'static str) {
        *self.calls.lock().unwrap().entry(name).or_default() += 1;
    }

    fn url(&self) -> Url {
        self.site.join("/api3/json")
    }
}

impl SiteApi for FakeSite {
    fn site(&self) -> &Site {
        &self.site
    }

    async fn info(&self) -> Result<SiteInfo, Api3Error> {
        self.count("info");
        self.info.clone().ok_or_else(|| Api3Error::Network {
            url: self.url(),
            detail: "connection refused".to_owned(),
        })
    }

    async fn find_human_user(&self, token: &Secret, login: &str) -> Result<HumanUser, Api3Error> {
        self.count("read");
        if let Some(meanwhile) = &self.during_read {
            meanwhile();
        }
        if token.expose() != Self::TOKEN {
            return Err(Api3Error::SessionExpired {
                url: self.url(),
                message: "unknown session".to_owned(),
            });
        }
        if !login.eq_ignore_ascii_case("jane") {
            return Err(Api3Error::UnknownUser {
                login: login.to_owned(),
            });
        }
        Ok(HumanUser {
            id: 42,
            login: "jane".to_owned(),
            name: Some("Jane Doe".to_owned()),
        })
    }

    async fn get_session_token(
        &self,
        login: &str,
        password: &Secret,
        code: Option<&str>,
    ) -> Result<Secret, Api3Error> {
        self.count("get_session_token");
        if let Some(why) = self.refuses_passwords {
            return Err(why());
        }
        if login != "jane" || password.expose() != Self::PASSWORD {
            return Err(Api3Error::WrongPassword);
        }
        match (self.two_factor, code) {
            (true, None) => Err(Api3Error::TwoFactorRequired),
            (true, Some(code)) if code != Self::CODE => Err(Api3Error::WrongTwoFactorCode),
            _ => Ok(Secret::new(Self::TOKEN)),
        }
    }

    async fn create_asl_request(
        &self,
        _app_name: &str,
        _machine: &str,
    ) -> Result<AslRequest, AslError> {
        self.count("asl_create");
        if self
            .info
            .as_ref()
            .is_some_and(|i| !i.authentication_app_session_launcher_enabled)
        {
            return Err(AslError::Disabled);
        }
        Ok(AslRequest {
            id: "request-1".to_owned(),
            url: self
                .approval_page
                .clone()
                .unwrap_or_else(|| self.site.join("/app_session_request/request-1")),
        })
    }

    async fn poll_asl_request(&self, _request: &AslRequest) -> Result<Option<Approval>, AslError> {
        self.count("asl_poll");
        self.polls.lock().unwrap().pop_front().unwrap_or(Ok(None))
    }
}
