use std::collections::VecDeque;
use std::sync::Mutex;

use super::*;
use crate::protocol::UserInfo;
use crate::rest::RestError;
use crate::settings::SiteSettings;

const NOW: i64 = 1_700_000_000;

fn site() -> Site {
    Site::parse("https://studio.example.com").unwrap()
}

/// An app whose `get_user` answers `users` in turn and whose site answers `health`.
struct FakeApp {
    users: Mutex<VecDeque<Response>>,
    health: Health,
    checks: Mutex<usize>,
    recorded: Mutex<Vec<Outcome>>,
    settings: Option<Arc<Settings>>,
    plan: Mutex<Plan>,
    notified: Mutex<Vec<(Site, String)>>,
    /// `user` calls (and whatever else a test adds), in order.
    calls: Mutex<Vec<&'static str>>,
}

impl FakeApp {
    fn new(health: Health, users: impl IntoIterator<Item = Response>) -> Self {
        Self {
            users: Mutex::new(users.into_iter().collect()),
            health,
            checks: Mutex::new(0),
            recorded: Mutex::default(),
            settings: None,
            plan: Mutex::default(),
            notified: Mutex::default(),
            calls: Mutex::default(),
        }
    }

    /// `current` signed in to the default site.
    fn signed_in(mut self, current: Option<&str>) -> Self {
        let mut settings = Settings {
            default_site: Some(site()),
            ..Settings::default()
        };
        settings.sites.insert(
            site(),
            SiteSettings {
                current_user: current.map(str::to_owned),
                ..SiteSettings::default()
            },
        );
        self.settings = Some(Arc::new(settings));
        self
    }

    fn checks(&self) -> usize {
        *self.checks.lock().unwrap()
    }

    fn recorded(&self) -> Vec<Outcome> {
        self.recorded.lock().unwrap().clone()
    }

    fn notified(&self) -> usize {
        self.notified.lock().unwrap().len()
    }
}

impl RefusalEffects for FakeApp {
    fn user(&self, _site: Option<Site>) -> impl Future<Output = Response> + Send {
        self.calls.lock().unwrap().push("user");
        let answer = self
            .users
            .lock()
            .unwrap()
            .pop_front()
            .expect("get_user asked once too often");
        std::future::ready(answer)
    }

    fn check(&self, _: &Site, _: &str, _: &Secret) -> impl Future<Output = Health> + Send {
        *self.checks.lock().unwrap() += 1;
        std::future::ready(self.health.clone())
    }

    fn record(&self, _: &Site, _: &str, _: &Secret, outcome: Outcome) {
        self.recorded.lock().unwrap().push(outcome);
    }

    fn settings(&self) -> Option<Arc<Settings>> {
        self.settings.clone()
    }

    fn with_plan<T>(&self, _: &Site, f: impl FnOnce(&mut Plan) -> T) -> T {
        f(&mut self.plan.lock().unwrap())
    }

    fn notify(&self, site: &Site, login: &str) {
        self.notified
            .lock()
            .unwrap()
            .push((site.clone(), login.to_owned()));
    }
}

fn jane() -> Response {
    Response::User(UserInfo {
        site: site(),
        credentials: Credentials::Session {
            login: "jane".into(),
            session_token: Secret::new("t"),
            expires_at: None,
        },
        http_proxy: None,
    })
}

fn script() -> Response {
    Response::User(UserInfo {
        site: site(),
        credentials: Credentials::Script {
            api_script: "robot".into(),
            api_key: Secret::new("k"),
        },
        http_proxy: None,
    })
}

fn sign_in_required() -> Response {
    Response::Error(ErrorInfo::new(ErrorKind::SignInRequired, "sign in"))
}

fn alive() -> Health {
    Health::Alive {
        expires_at: None,
        site_now: None,
    }
}

fn expired() -> Health {
    Health::Expired {
        reason: "102".into(),
    }
}

fn kind(response: &Response) -> Option<ErrorKind> {
    match response {
        Response::Error(e) => Some(e.kind),
        _ => None,
    }
}

#[tokio::test]
async fn the_person_signed_in_is_reminded_at_most_every_ten_minutes() {
    let app =
        FakeApp::new(alive(), std::iter::repeat_n(sign_in_required(), 3)).signed_in(Some("jane"));
    for now in [NOW, NOW + 5, NOW + 600] {
        let answer = session_refused(&app, None, || now).await;
        assert_eq!(kind(&answer), Some(ErrorKind::SignInRequired));
    }
    assert_eq!(
        *app.notified.lock().unwrap(),
        [(site(), "jane".to_owned()), (site(), "jane".to_owned())]
    );
    assert_eq!(app.checks(), 0, "nobody to ask the site about");
}

#[tokio::test]
async fn the_reminder_is_timed_when_the_user_is_known_not_when_the_call_came() {
    let app = FakeApp::new(alive(), [sign_in_required()]).signed_in(Some("jane"));
    let answer = session_refused(&app, None, || {
        app.calls.lock().unwrap().push("clock");
        NOW
    })
    .await;
    assert_eq!(kind(&answer), Some(ErrorKind::SignInRequired));
    assert_eq!(*app.calls.lock().unwrap(), ["user", "clock"]);
}

#[tokio::test]
async fn a_site_nobody_signed_in_to_stays_quiet() {
    for app in [
        FakeApp::new(alive(), [sign_in_required()]).signed_in(None),
        FakeApp::new(alive(), [sign_in_required()]),
    ] {
        session_refused(&app, None, || NOW).await;
        assert_eq!(app.notified(), 0);
    }
    let app = FakeApp::new(
        alive(),
        [Response::Error(ErrorInfo::new(
            ErrorKind::Internal,
            "keyring",
        ))],
    )
    .signed_in(Some("jane"));
    assert_eq!(
        kind(&session_refused(&app, None, || NOW).await),
        Some(ErrorKind::Internal)
    );
    assert_eq!(app.notified(), 0, "only a session that needs the person");
}

#[tokio::test]
async fn a_working_session_is_handed_out_again_and_nothing_recorded() {
    let app = FakeApp::new(alive(), [jane()]);
    assert!(matches!(
        session_refused(&app, None, || NOW).await,
        Response::User(_)
    ));
    assert_eq!((app.checks(), app.recorded()), (1, vec![]));
}

#[tokio::test]
async fn a_scripts_key_is_handed_out_again_without_asking_the_site() {
    let app = FakeApp::new(expired(), [script()]);
    assert!(matches!(
        session_refused(&app, None, || NOW).await,
        Response::User(_)
    ));
    assert_eq!(app.checks(), 0);
}

#[tokio::test]
async fn an_unreachable_site_is_an_internal_error_and_changes_nothing() {
    let unreachable = Health::Unreachable {
        reason: "503".into(),
    };
    let app = FakeApp::new(unreachable, [jane()]);
    let answer = session_refused(&app, None, || NOW).await;
    let Response::Error(e) = answer else {
        panic!("not handed out");
    };
    assert_eq!(e.kind, ErrorKind::Internal);
    assert!(e.message.contains("cannot ask"), "{}", e.message);
    assert_eq!(app.recorded(), []);
}

#[tokio::test]
async fn what_only_the_site_can_say_is_recorded_and_the_user_asked_for_again() {
    let lapsed = Health::ClaimsLapsed {
        reason: "302".into(),
    };
    for (health, outcome) in [
        (
            expired(),
            Outcome::Expired {
                reason: "102".into(),
            },
        ),
        (
            lapsed,
            Outcome::ClaimsLapsed {
                reason: "302".into(),
            },
        ),
    ] {
        let app = FakeApp::new(health, [jane(), sign_in_required()]);
        let answer = session_refused(&app, None, || NOW).await;
        assert_eq!(kind(&answer), Some(ErrorKind::SignInRequired));
        assert_eq!(app.recorded(), [outcome]);
    }
}

fn refused(credential: Credential) -> RestFailure {
    RestFailure::Token(Box::new(RestTokenError::CredentialRefused {
        site: site(),
        credential,
        source: RestError::Refused {
            url: site().join("/api/v1/auth/access_token"),
            status: 403,
            detail: "forbidden".into(),
        },
    }))
}

fn jane_credential() -> Credential {
    Credential::Session {
        login: "jane".into(),
        token: Secret::new("t"),
    }
}

#[tokio::test]
async fn a_token_endpoint_refusing_a_working_session_is_no_sign_in_required() {
    let app = FakeApp::new(alive(), []);
    let e = rest_token_failed(&app, &refused(jane_credential())).await;
    assert_eq!(e.kind, ErrorKind::Internal);
    assert!(e.message.contains("which still works"), "{}", e.message);
    assert_eq!(app.recorded(), []);
}

#[tokio::test]
async fn a_refused_session_the_site_ended_is_recorded_and_sign_in_required() {
    let app = FakeApp::new(expired(), []);
    let e = rest_token_failed(&app, &refused(jane_credential())).await;
    assert_eq!(e.kind, ErrorKind::SignInRequired);
    assert_eq!(app.recorded().len(), 1);

    let app = FakeApp::new(alive(), []);
    let script = Credential::Script {
        name: "robot".into(),
        key: Secret::new("k"),
    };
    let e = rest_token_failed(&app, &refused(script)).await;
    assert_eq!(e.kind, ErrorKind::SignInRequired);
    assert_eq!(app.checks(), 0, "a script has no session to ask about");

    let user = ErrorInfo::new(ErrorKind::SignInRequired, "nobody");
    let e = rest_token_failed(&app, &RestFailure::User(user.clone())).await;
    assert_eq!((e, app.checks()), (user, 0));
}
