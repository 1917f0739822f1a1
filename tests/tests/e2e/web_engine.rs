//! WebKit's helper processes while no window is open, and what the next window still needs
//! from them: the session cookies of the site and of the IdP.
//!
//! The app ends the helpers only when no automation drives it (WebKitWebDriver takes the end
//! of the network process for a crash and deletes its session), so these tests run the app on
//! its own and sign in at the keyboard, as a person does; the last one drives it with
//! WebDriver to check the helpers are kept then.

use std::time::Duration;

use fpt_login_tests::harness::{
    App, Profile, seconds_left, type_idp_credentials, visible_windows, wait_for, web_sign_in,
};
use fpt_login_tests::mock::{MockConfig, MockSite};
use fpt_login_tests::process_tree;

const WAIT: Duration = Duration::from_secs(90);

/// A site whose IdP keeps its session in a session cookie, as most do (and as the site keeps
/// `_session_id`): both live only in WebKit's network process.
fn session_cookie_site(claims_secs: u64) -> MockConfig {
    MockConfig {
        claims_lifetime: Duration::from_secs(claims_secs),
        idp_cookie_persistent: false,
        ..MockConfig::saml2()
    }
}

/// `host:port` of an origin: what the sign-in window's title names.
fn address(origin: &str) -> String {
    origin
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned()
}

/// Waits until the app at `app` has no WebKit helper process.
async fn no_webkit_helpers(app: u32, when: &str) {
    wait_for(&format!("no WebKit process {when}"), WAIT, || async {
        process_tree::webkit_helpers(app).is_empty().then_some(())
    })
    .await;
}

/// Starts the app on its own (no automation) signing in to `site`, signs in at the keyboard
/// and waits for the user to be stored; returns the user and the app's process id.
async fn sign_in_by_typing(profile: &Profile, site: &MockSite) -> (App, serde_json::Value, u32) {
    let app = profile.spawn_app(&["--sign-in", site.url()]);
    let pid = app.pid().expect("the app runs");
    type_idp_credentials(site, 1, "artist", "sesame", || app.log()).await;
    let user = profile.wait_for_token(&[], || app.log()).await;
    (app, user, pid)
}

/// WebKit keeps its network process (30–40 MiB) after the last window closed; the app ends it.
/// The site's `_session_id` and this IdP's session are session cookies, which lived only in
/// that process: the next hidden renewal must still pass without the person and keep the
/// site's session (the same token), because the app carried them to the new window.
///
/// Fails without the feature: with the helpers kept, no wait for "no WebKit process" ends;
/// with them ended but the cookies not carried, the renewal meets the IdP's form (no silent
/// renewal, `idp_logins` stays 1 and the renewal fails) or a new site session (another token).
#[tokio::test(flavor = "multi_thread")]
async fn no_webkit_process_outlives_the_windows_and_the_next_renewal_still_passes_silently() {
    let site = MockSite::start(session_cookie_site(600))
        .await
        .expect("mock site");
    let profile = Profile::new();
    let (app, first, pid) = sign_in_by_typing(&profile, &site).await;
    no_webkit_helpers(pid, "once no window is open").await;

    // A caller that needs more time than is left makes the app renew first, in a new hidden
    // window with a new network process.
    let expires = first["expires_at"].as_i64().expect("claims expiry");
    // Clearly short of 595 s on the site's clock too (the app knows it to the second), and far
    // from the app's own renewal at 90 % of the claims' life.
    wait_for("the claims to have under 593 s left", WAIT, || async {
        (seconds_left(expires) < 593).then_some(())
    })
    .await;
    let renewed = profile
        .token(&["--min-ttl", "595"])
        .await
        .unwrap_or_else(|e| panic!("renewed: {e:?}\n{}", app.log()));
    assert_eq!(
        renewed["session_token"], first["session_token"],
        "the site's session went on (its `_session_id` was carried)"
    );
    let counters = site.counters();
    assert_eq!(counters.claims_renewals, 1, "{}", app.log());
    assert_eq!(
        counters.idp_logins, 1,
        "the IdP did not ask again (its session cookie was carried)"
    );
    // Other tests' windows share the display: this site's would name its address.
    let site_address = address(site.url());
    let shown = visible_windows().await;
    assert!(
        shown
            .iter()
            .all(|t| !t.contains("renewal") && !t.contains(&site_address)),
        "nothing was shown to the person: {shown:?}"
    );
    no_webkit_helpers(pid, "after the renewal").await;
}

/// Signing out forgets what was carried: the next sign-in, in a new network process, asks the
/// IdP again instead of passing as the person who signed out.
///
/// Fails without the sign-out forgetting the carried cookies: the IdP's session cookie goes to
/// the new window, the IdP lets it pass silently (`idp_silent_passes` 1) and never shows its
/// form a second time.
#[tokio::test(flavor = "multi_thread")]
async fn after_a_sign_out_the_next_sign_in_asks_the_idp_again() {
    let site = MockSite::start(session_cookie_site(3600))
        .await
        .expect("mock site");
    let profile = Profile::new();
    let (app, _, pid) = sign_in_by_typing(&profile, &site).await;
    no_webkit_helpers(pid, "once no window is open").await;

    let out = profile.cli(&["logout"]).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    no_webkit_helpers(pid, "after the sign-out").await;

    let mut login = profile.spawn_cli(&["login", "--site", site.url(), "--method", "web"]);
    tokio::select! {
        () = type_idp_credentials(&site, 2, "artist", "sesame", || app.log()) => {}
        ended = login.wait() => panic!(
            "the sign-in ended ({ended:?}) without the IdP's form: {:?}\n{}",
            site.counters(),
            app.log()
        ),
    }
    assert_eq!(
        site.counters().idp_silent_passes,
        0,
        "the IdP let the signed-out person through"
    );
    let out = login.wait_with_output().await.expect("fpt-login runs");
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        app.log()
    );
    assert_eq!(
        site.counters().idp_logins,
        2,
        "the person typed their password again\n{}",
        app.log()
    );
}

/// A test or script driving the app with WebDriver keeps its session once the sign-in window
/// closed: the app keeps WebKit's helpers while automation drives it, because WebKitWebDriver
/// deletes its session ("page crash or hang") when the network process ends.
///
/// Fails without that rule: 5 s after the window closed the helpers end, and every later
/// WebDriver call fails with an invalid session id (and no WebKit process is left).
#[tokio::test(flavor = "multi_thread")]
async fn automation_driving_the_app_keeps_its_session_when_no_window_is_open() {
    let site = MockSite::start(session_cookie_site(3600))
        .await
        .expect("mock site");
    let profile = Profile::new();
    let (driver, browser, _) = web_sign_in(&profile, &site).await;
    let app = driver.app_pid().expect("the app runs");

    let site_address = address(site.url());
    wait_for("the sign-in window to close", WAIT, || async {
        visible_windows()
            .await
            .iter()
            .all(|t| !t.contains(&site_address))
            .then_some(())
    })
    .await;
    // Nothing happens to see: the helpers are watched for well past the grace after which
    // they would end without automation.
    let watched_until = std::time::Instant::now() + Duration::from_secs(15);
    while std::time::Instant::now() < watched_until {
        assert!(
            !process_tree::webkit_helpers(app).is_empty(),
            "the web engine's helpers were ended under automation\n{}",
            driver.log()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let windows = browser.windows().await;
    assert!(
        windows.is_ok(),
        "the WebDriver session went on: {windows:?}\n{}",
        driver.log()
    );
    assert!(
        !process_tree::webkit_helpers(app).is_empty(),
        "the web engine's helpers were kept\n{}",
        driver.log()
    );
}
