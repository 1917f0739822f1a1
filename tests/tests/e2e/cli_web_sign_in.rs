//! `fpt-login login --method web` asks the running app for its web sign-in and waits: signed
//! in (exit 0), cancelled (exit 4), or no app to ask (exit 1).

use fpt_login_tests::harness::{
    Profile, WebDriver, close_window_like_a_person, log_tail, open_idp_form, stderr,
    submit_idp_form, visible_windows, wait_for,
};
use fpt_login_tests::mock::{MockConfig, MockSite};

/// The app under WebDriver with its web sign-in for `site` open, and `fpt-login login
/// --method web` for the same site running: the app brings the open window forward and the CLI
/// waits for it.
async fn web_login(
    profile: &Profile,
    site: &MockSite,
) -> (tokio::process::Child, fantoccini::Client, WebDriver) {
    let driver = WebDriver::start(profile).await;
    let browser = open_idp_form(&driver, site.url(), site.idp_url()).await;
    let cli = profile.spawn_cli(&[
        "login",
        "--site",
        site.url(),
        "--method",
        "web",
        "--timeout",
        "120",
    ]);
    // The CLI's request reached the app once it says so. Its log is the only place that shows
    // it: the window it brings forward is already in front, and neither `status` nor `watch`
    // report sign-ins under way. Signing in before then would make the request open a new
    // window instead of testing the one that is open.
    wait_for(
        "the app to take the CLI's request",
        std::time::Duration::from_secs(60),
        || async {
            driver
                .log()
                .contains("in the window that is open")
                .then_some(())
        },
    )
    .await;
    (cli, browser, driver)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_cli_waits_for_the_apps_web_sign_in() {
    let site = MockSite::start(MockConfig::saml2()).await.expect("mock");
    let profile = Profile::new();
    let (cli, browser, driver) = web_login(&profile, &site).await;
    submit_idp_form(&browser, "artist", "sesame").await;
    let out = cli.wait_with_output().await.expect("fpt-login runs");
    assert!(
        out.status.success(),
        "{}\n{}",
        stderr(&out),
        log_tail(&driver.log(), 40)
    );
    let said = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        said.trim(),
        format!("Signed in to {} as artist.", site.url())
    );
    assert!(profile.cli(&["token"]).await.status.success());
}

#[tokio::test(flavor = "multi_thread")]
async fn closing_the_window_makes_the_cli_exit_4() {
    let site = MockSite::start(MockConfig::saml2()).await.expect("mock");
    let profile = Profile::new();
    // No typing here, so no WebDriver: the app as a person runs it, and the CLI's request is
    // what opens the window, so the request is in before the window can be closed.
    let mut app = profile.spawn_app(&["--background"]);
    profile.wait_for_app().await;
    let cli = profile.spawn_cli(&[
        "login",
        "--site",
        site.url(),
        "--method",
        "web",
        "--timeout",
        "60",
    ]);
    // A person closes a window they can see, with the IdP's page on show (its host in the
    // title); a close sent before the window is up could be lost.
    let title = format!("Sign in to {}", site.url());
    wait_for(
        "the sign-in window to show the IdP",
        std::time::Duration::from_secs(60),
        || async {
            visible_windows()
                .await
                .iter()
                .any(|t| t.starts_with(&title) && t.contains(" — "))
                .then_some(())
        },
    )
    .await;
    close_window_like_a_person(&title, || app.log()).await;
    let out = cli.wait_with_output().await.expect("fpt-login runs");
    assert_eq!(
        out.status.code(),
        Some(4),
        "{}\n{}",
        stderr(&out),
        log_tail(&app.log(), 20)
    );
    assert!(stderr(&out).contains("cancelled"), "{}", stderr(&out));
    assert_eq!(profile.cli(&["token"]).await.status.code(), Some(4));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn without_the_app_the_web_sign_in_says_what_to_do() {
    let site = MockSite::start(MockConfig::saml2()).await.expect("mock");
    let profile = Profile::new();
    let out = profile
        .cli(&["login", "--site", site.url(), "--method", "web"])
        .await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("needs the FPT Login app"),
        "{}",
        stderr(&out)
    );
}
