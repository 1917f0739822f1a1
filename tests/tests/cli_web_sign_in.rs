//! `fpt-login login --method web` asks the running app for its web sign-in and waits: signed
//! in (exit 0), cancelled (exit 4), or no app to ask (exit 1).

use std::process::Stdio;
use std::sync::Arc;

use fpt_login_tests::harness::{
    Profile, WebDriver, bin, close_window_like_a_person, submit_idp_form, wait_for,
};
use fpt_login_tests::mock::{MockConfig, MockSite};

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The app started in the tray under WebDriver, and `fpt-login login --method web` running.
/// The WebDriver session comes up with the app's first webview: the sign-in the CLI asked for.
async fn web_login(
    profile: &Profile,
    site: &MockSite,
) -> (tokio::process::Child, fantoccini::Client, Arc<WebDriver>) {
    let driver = Arc::new(WebDriver::start(profile).await);
    let launcher = Arc::clone(&driver);
    let session = tokio::spawn(async move { launcher.launch_app(&["--background"]).await });
    profile.wait_for_app().await;
    let cli = profile
        .command(bin("fpt-login"))
        .args([
            "login",
            "--site",
            site.url(),
            "--method",
            "web",
            "--timeout",
            "120",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("fpt-login starts");
    let browser = session.await.expect("the WebDriver session");
    wait_for(
        "the IdP page",
        std::time::Duration::from_secs(60),
        || async {
            let url = browser.current_url().await.ok()?;
            url.as_str().starts_with(site.idp_url()).then_some(())
        },
    )
    .await;
    (cli, browser, driver)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_cli_waits_for_the_apps_web_sign_in() {
    let site = MockSite::start(MockConfig::saml2()).await.expect("mock");
    let profile = Profile::new();
    let (cli, browser, _driver) = web_login(&profile, &site).await;
    submit_idp_form(&browser, "artist", "sesame").await;
    let out = cli.wait_with_output().await.expect("fpt-login runs");
    assert!(out.status.success(), "{}", stderr(&out));
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
    let (cli, _browser, _driver) = web_login(&profile, &site).await;
    close_window_like_a_person(&format!("Sign in to {}", site.url())).await;
    let out = cli.wait_with_output().await.expect("fpt-login runs");
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert!(stderr(&out).contains("cancelled"), "{}", stderr(&out));
    assert_eq!(profile.cli(&["token"]).await.status.code(), Some(4));
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
