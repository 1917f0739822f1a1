//! A second launch hands its `--sign-in` to the app already running and exits.

use std::time::Duration;

use fpt_login_tests::harness::{Profile, bin, wait_for};
use fpt_login_tests::mock::{MockConfig, MockSite};

#[tokio::test(flavor = "multi_thread")]
async fn a_second_launch_forwards_sign_in_to_the_running_app() {
    let site = MockSite::start(MockConfig::saml2())
        .await
        .expect("mock site");
    let profile = Profile::new();
    let _app = profile.spawn_app(&[]);
    profile.wait_for_app().await;

    let second = tokio::time::timeout(
        Duration::from_secs(60),
        profile
            .command(bin("fpt-login-desktop"))
            .args(["--sign-in", site.url()])
            .output(),
    )
    .await
    .expect("the second launch returns instead of staying up")
    .expect("fpt-login-desktop runs");
    assert!(
        second.status.success(),
        "{}",
        String::from_utf8_lossy(&second.stderr)
    );

    // The running app opened the web sign-in, which went to the site's /auth/renew.
    wait_for(
        "the web sign-in to reach the site",
        Duration::from_secs(60),
        || async { site.last_renew_query() },
    )
    .await;
    // One app serves the socket: the second did not start another.
    assert_eq!(profile.status_json().await["app_running"], true);
}
