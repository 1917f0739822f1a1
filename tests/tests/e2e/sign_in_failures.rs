//! Web sign-ins that do not finish store nothing: a wrong password at the IdP, and a person
//! closing the sign-in window.

use std::time::Duration;

use fantoccini::Locator;
use fpt_login_tests::harness::{
    Profile, WebDriver, click, close_window_like_a_person, open_idp_form, stderr, submit_idp_form,
    wait_for, wait_for_text,
};
use fpt_login_tests::mock::{MockConfig, MockSite};

const WAIT: Duration = Duration::from_secs(60);

/// Nothing is stored: the CLI says to sign in (exit 4) and the keyring has no entry.
async fn assert_nothing_stored(profile: &Profile, site: &MockSite) {
    let out = profile.cli(&["token"]).await;
    assert_eq!(
        out.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout.is_empty());
    assert_eq!(profile.keyring_lookup(site.url(), "artist").await, None);
    let status = String::from_utf8(profile.cli(&["status"]).await.stdout).expect("utf-8");
    assert!(status.contains("Nobody is signed in"), "{status}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_password_at_the_idp_stores_nothing() {
    let site = MockSite::start(MockConfig::saml2())
        .await
        .expect("mock site");
    let profile = Profile::new();
    let driver = WebDriver::start(&profile).await;
    let browser = open_idp_form(&driver, site.url(), site.idp_url()).await;
    submit_idp_form(&browser, "artist", "not-the-password").await;

    let error = browser
        .wait()
        .at_most(Duration::from_secs(30))
        .for_element(Locator::Css("#error"))
        .await
        .expect("the IdP's error page");
    assert_eq!(
        error.text().await.expect("text"),
        "Incorrect login or password."
    );
    assert!(
        browser
            .current_url()
            .await
            .expect("url")
            .as_str()
            .starts_with(site.idp_url())
    );

    let counters = site.counters();
    assert_eq!(counters.idp_failed_logins, 1);
    assert_eq!(
        counters.sessions_created, 0,
        "the site never started a session"
    );
    assert_nothing_stored(&profile, &site).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn closing_the_sign_in_window_is_reported_as_cancelled() {
    let site = MockSite::start(MockConfig {
        asl_enabled: false,
        ..MockConfig::saml2()
    })
    .await
    .expect("mock site");
    let profile = Profile::new();
    let driver = WebDriver::start(&profile).await;
    // WebDriver drives the app's own window (it reaches one window's web data at a time), where
    // the person starts the web sign-in and later reads how it ended.
    let window = driver.launch_app(&["--site", site.url()]).await;
    assert_eq!(
        wait_for_text(&window, "#continue", "Continue:").await,
        "Continue: Sign in with the site's web page"
    );
    click(&window, "#continue").await;
    wait_for("the web sign-in to reach the site", WAIT, || async {
        site.last_renew_query()
    })
    .await;

    close_window_like_a_person(&format!("Sign in to {}", site.url()), || driver.log()).await;

    let said = wait_for_text(&window, "#status", "cancelled").await;
    assert!(
        said.contains("Sign-in cancelled: the window was closed"),
        "{said}"
    );
    assert_eq!(site.counters().sessions_created, 0);
    assert_nothing_stored(&profile, &site).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_idp_that_keeps_sending_the_browser_back_is_reported_with_the_url() {
    let site = MockSite::start(MockConfig {
        idp_loops: true,
        ..MockConfig::saml2()
    })
    .await
    .expect("mock site");
    let profile = Profile::new();
    let mut app = profile.spawn_app(&["--background"]);
    profile.wait_for_app().await;

    // Whoever asked for the sign-in hears why it failed.
    let out = profile
        .cli(&[
            "login",
            "--site",
            site.url(),
            "--method",
            "web",
            "--timeout",
            "60",
        ])
        .await;
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    let failure = stderr(&out);
    assert!(
        failure.contains(&format!("keeps coming back to {}/auth/renew", site.url())),
        "{failure}"
    );
    assert_eq!(site.counters().sessions_created, 0);
    assert_nothing_stored(&profile, &site).await;
    app.stop().await;
}
