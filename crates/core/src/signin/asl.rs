//! The App Session Launcher flow: create a request, show the person where to approve it,
//! poll (from this one place: the site hands the token out once) until it is approved,
//! refused or timed out, then check the token. Cancelling is claiming the sign-in's
//! [`Ending`] (and dropping the future, which stops the polling): the flow claims it before
//! handing the session over to be stored, so a sign-in cancelled at any point, even after the
//! site approved it, leaves nothing behind.

use std::time::Duration;

use tokio::time::Instant;

use url::Url;

use super::{Ending, Expiry, SignInError, SiteApi, validate};
use crate::asl::{self, AslError};
use crate::model::Method;
use crate::protocol::NewSession;

/// How long to wait and how often to ask.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AslOptions {
    pub timeout: Duration,
    pub poll_every: Duration,
}

impl Default for AslOptions {
    fn default() -> Self {
        Self {
            timeout: asl::DEFAULT_TIMEOUT,
            poll_every: asl::POLL_INTERVAL,
        }
    }
}

/// Where the person approves the sign-in, and until when (epoch seconds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovalPage {
    pub url: Url,
    pub deadline: i64,
}

impl ApprovalPage {
    /// Opens the page in the person's web browser.
    pub fn open_in_browser(&self) -> std::io::Result<()> {
        asl::open_in_browser(&self.url)
    }
}

/// Runs the whole Launcher sign-in; `show` is called once, with the approval page, before
/// the wait starts (the CLI prints it and opens a browser, the app shows a countdown). A
/// session it returns is the caller's to store: its `ending` is claimed.
pub async fn app_session_launcher(
    api: &impl SiteApi,
    options: AslOptions,
    now: i64,
    ending: &Ending,
    show: impl FnOnce(&ApprovalPage),
) -> Result<NewSession, SignInError> {
    let request = api
        .create_asl_request(&asl::app_name(), &asl::machine_name())
        .await?;
    // Same origin means https (plain http only when the site itself is a loopback http site).
    if !api.site().is_same_origin(&request.url) {
        return Err(SignInError::ForeignApprovalPage {
            site: api.site().clone(),
            shown: format!(
                "{}://{}",
                request.url.scheme(),
                request.url.host_str().unwrap_or_default()
            ),
        });
    }
    let timeout_secs = i64::try_from(options.timeout.as_secs()).unwrap_or(i64::MAX);
    show(&ApprovalPage {
        url: request.url.clone(),
        deadline: now.saturating_add(timeout_secs),
    });
    let started = Instant::now();
    let approval = loop {
        // tk-core sleeps before each poll: the person needs a moment anyway.
        tokio::time::sleep(options.poll_every).await;
        if let Some(approval) = api.poll_asl_request(&request).await? {
            break approval;
        }
        if started.elapsed() >= options.timeout {
            return Err(AslError::NotApproved {
                waited: options.timeout,
            }
            .into());
        }
    };
    let session = validate(
        api,
        &approval.login,
        approval.token,
        Method::AppSessionLauncher,
        Expiry::default(),
    )
    .await?;
    if ending.claim() {
        Ok(session)
    } else {
        Err(SignInError::Cancelled {
            site: api.site().clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::super::fake::FakeSite;
    use super::*;

    /// Polls every second for `timeout_secs`; the tests run on paused time, so waiting costs
    /// nothing and every count is exact.
    fn options(timeout_secs: u64) -> AslOptions {
        AslOptions {
            timeout: Duration::from_secs(timeout_secs),
            poll_every: Duration::from_secs(1),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn an_approved_request_is_checked_and_becomes_a_session() {
        let fake = FakeSite::sso_with_launcher()
            .with_polls(3, Ok(Some(FakeSite::approval("jane", FakeSite::TOKEN))));
        let shown = Cell::new(None);
        let session = app_session_launcher(&fake, options(10), 1_000, &Ending::default(), |page| {
            shown.set(Some(page.clone()));
        })
        .await
        .unwrap();
        assert_eq!(session.login, "jane");
        assert_eq!(session.method, Method::AppSessionLauncher);
        let page = shown.take().expect("the approval page was shown");
        assert_eq!(page.url.path(), "/app_session_request/request-1");
        assert_eq!(page.deadline, 1_010, "now + the timeout");
        assert_eq!(
            fake.calls("asl_poll"),
            4,
            "polled until approved, then no more"
        );
        assert_eq!(fake.calls("read"), 1, "the token was checked once");
    }

    #[tokio::test(start_paused = true)]
    async fn a_rejected_request_needs_the_person_and_checks_nothing() {
        let fake = FakeSite::sso_with_launcher().with_polls(1, Err(AslError::RejectedOrExpired));
        let e = app_session_launcher(&fake, options(10), 0, &Ending::default(), |_| {})
            .await
            .unwrap_err();
        assert!(e.needs_person(), "{e}");
        assert_eq!(fake.calls("read"), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_site_without_the_launcher_says_so_before_showing_anything() {
        let fake = FakeSite::sso();
        let mut shown = false;
        let e = app_session_launcher(&fake, options(10), 0, &Ending::default(), |_| {
            shown = true;
        })
        .await
        .unwrap_err();
        assert!(!shown);
        assert!(e.to_string().contains("not enabled"), "{e}");
    }

    #[tokio::test(start_paused = true)]
    async fn an_approval_page_off_the_site_is_never_shown_or_opened() {
        for page in [
            "file:///etc/passwd",
            "smb://fileserver/share",
            "fpt-login-evil://open",
            "https://evil.example.com/app_session_request/1",
            "http://studio.example.com/app_session_request/1",
            "https://studio.example.com:8443/app_session_request/1",
        ] {
            let fake = FakeSite::sso_with_launcher().with_approval_page(page);
            let mut shown = false;
            let e = app_session_launcher(&fake, options(10), 0, &Ending::default(), |_| {
                shown = true;
            })
            .await
            .unwrap_err();
            assert!(!shown, "{page}");
            assert!(
                matches!(e, SignInError::ForeignApprovalPage { .. }),
                "{page}: {e}"
            );
            assert_eq!(fake.calls("asl_poll"), 0, "{page}");
        }
        // A loopback http site may use its own http page.
        let fake = FakeSite::sso_with_launcher()
            .at("http://127.0.0.1:8090")
            .with_polls(0, Ok(Some(FakeSite::approval("jane", FakeSite::TOKEN))));
        let fake = fake.with_approval_page("http://127.0.0.1:8090/app_session_request/1");
        app_session_launcher(&fake, options(10), 0, &Ending::default(), |_| {})
            .await
            .unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn waiting_stops_at_the_timeout() {
        let fake = FakeSite::sso_with_launcher();
        let started = Instant::now();
        let e = app_session_launcher(&fake, options(30), 0, &Ending::default(), |_| {})
            .await
            .unwrap_err();
        assert!(e.to_string().contains("not approved within"), "{e}");
        assert_eq!(
            fake.calls("asl_poll"),
            30,
            "once a second until the timeout"
        );
        assert_eq!(started.elapsed(), Duration::from_secs(30));
    }

    #[tokio::test(start_paused = true)]
    async fn cancelling_stops_polling_and_leaves_no_session() {
        let fake = FakeSite::sso_with_launcher().with_polls(
            1_000_000,
            Ok(Some(FakeSite::approval("jane", FakeSite::TOKEN))),
        );
        let ending = Ending::default();
        let flow = app_session_launcher(&fake, options(60), 0, &ending, |_| {});
        // Dropping the future stops the polling, as the app's Cancel button and Ctrl-C do.
        let cancelled = tokio::time::timeout(Duration::from_millis(5_500), flow).await;
        assert!(cancelled.is_err(), "the flow was still waiting");
        assert_eq!(fake.calls("asl_poll"), 5);
        tokio::time::sleep(Duration::from_secs(10)).await;
        assert_eq!(fake.calls("asl_poll"), 5, "no poll after cancelling");
        assert_eq!(fake.calls("read"), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_cancel_after_the_approval_still_wins_and_nothing_is_handed_over() {
        let ending = std::sync::Arc::new(Ending::default());
        let person = std::sync::Arc::clone(&ending);
        // The person presses Cancel while the site checks the approved token.
        let fake = FakeSite::sso_with_launcher()
            .with_polls(0, Ok(Some(FakeSite::approval("jane", FakeSite::TOKEN))))
            .during_read(move || assert!(person.claim(), "the cancel claims the ending"));
        let e = app_session_launcher(&fake, options(10), 0, &ending, |_| {})
            .await
            .unwrap_err();
        assert!(matches!(e, SignInError::Cancelled { .. }), "{e}");
        assert_eq!(fake.calls("read"), 1, "the approval was checked");
    }

    #[tokio::test(start_paused = true)]
    async fn a_session_handed_over_cannot_be_cancelled_any_more() {
        let ending = Ending::default();
        let fake = FakeSite::sso_with_launcher()
            .with_polls(0, Ok(Some(FakeSite::approval("jane", FakeSite::TOKEN))));
        app_session_launcher(&fake, options(10), 0, &ending, |_| {})
            .await
            .unwrap();
        assert!(!ending.claim(), "a later cancel is told it came too late");
    }

    #[tokio::test(start_paused = true)]
    async fn an_approval_for_a_token_the_site_refuses_is_not_a_session() {
        let fake = FakeSite::sso_with_launcher()
            .with_polls(0, Ok(Some(FakeSite::approval("jane", "stale"))));
        let e = app_session_launcher(&fake, options(10), 0, &Ending::default(), |_| {})
            .await
            .unwrap_err();
        assert!(e.needs_person(), "{e}");
    }
}
