//! WebKit's helper processes while no window is open, and what the next window still needs
//! from them: the session cookies of the site and of the IdP.

use std::time::Duration;

use fpt_login_tests::harness::{
    Profile, WebDriver, open_idp_form, submit_idp_form, switch_to_window, visible_windows, wait_for,
};
use fpt_login_tests::mock::{MockConfig, MockSite};
use fpt_login_tests::process_tree;

const WAIT: Duration = Duration::from_secs(90);

/// Seconds until `expires_at` (epoch seconds).
fn seconds_left(expires_at: i64) -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs();
    expires_at - i64::try_from(now).expect("a sane clock")
}

/// A site whose IdP keeps its session in a session cookie, as most do (and as the site keeps
/// `_session_id`): both live only in WebKit's network process.
fn session_cookie_site(claims_secs: u64) -> MockConfig {
    MockConfig {
        claims_lifetime: Duration::from_secs(claims_secs),
        idp_cookie_persistent: false,
        ..MockConfig::saml2()
    }
}

/// Waits until the app at `app` has no WebKit helper process.
async fn no_webkit_helpers(app: u32, when: &str) {
    wait_for(&format!("no WebKit process {when}"), WAIT, || async {
        process_tree::webkit_helpers(app).is_empty().then_some(())
    })
    .await;
}

/// WebKit keeps its network process (30–40 MiB) after the last window closed; the app ends it.
/// The site's `_session_id` and this IdP's session are session cookies, which lived only in
/// that process: the next hidden renewal must still pass without the person and keep the
/// site's session (the same token), because the app carried them to the new window.
#[tokio::test(flavor = "multi_thread")]
async fn no_webkit_process_outlives_the_windows_and_the_next_renewal_still_passes_silently() {
    let site = MockSite::start(session_cookie_site(60))
        .await
        .expect("mock site");
    let profile = Profile::new();
    let driver = WebDriver::start(&profile).await;
    let browser = open_idp_form(&driver, site.url(), site.idp_url()).await;
    submit_idp_form(&browser, "artist", "sesame").await;
    let first = profile.wait_for_token(&[], || driver.log()).await;
    let app = driver.app_pid().expect("the app runs");

    let no_helpers = || async { process_tree::webkit_helpers(app).is_empty().then_some(()) };
    wait_for("no WebKit process once no window is open", WAIT, no_helpers).await;

    // A caller that needs more time than is left makes the app renew first, in a new hidden
    // window with a new network process.
    let expires = first["expires_at"].as_i64().expect("claims expiry");
    wait_for("the claims to have under 55 s left", WAIT, || async {
        (seconds_left(expires) < 55).then_some(())
    })
    .await;
    let renewed = profile
        .token(&["--min-ttl", "55"])
        .await
        .unwrap_or_else(|e| panic!("renewed: {e:?}\n{}", driver.log()));
    assert_eq!(
        renewed["session_token"], first["session_token"],
        "the site's session went on (its `_session_id` was carried)"
    );
    let counters = site.counters();
    assert_eq!(counters.claims_renewals, 1, "{}", driver.log());
    assert_eq!(
        counters.idp_logins, 1,
        "the IdP did not ask again (its session cookie was carried)"
    );
    // Other tests' windows share the display: this site's would name its address.
    let address = site
        .url()
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    let shown = visible_windows().await;
    assert!(
        shown
            .iter()
            .all(|t| !t.contains("renewal") && !t.contains(&address)),
        "nothing was shown to the person: {shown:?}"
    );
    no_webkit_helpers(app, "after the renewal").await;
}

/// Signing out forgets what was carried: the next sign-in, in a new network process, asks the
/// IdP again instead of passing as the person who signed out.
#[tokio::test(flavor = "multi_thread")]
async fn after_a_sign_out_the_next_sign_in_asks_the_idp_again() {
    let site = MockSite::start(session_cookie_site(3600))
        .await
        .expect("mock site");
    let profile = Profile::new();
    let driver = WebDriver::start(&profile).await;
    let browser = open_idp_form(&driver, site.url(), site.idp_url()).await;
    submit_idp_form(&browser, "artist", "sesame").await;
    profile.wait_for_token(&[], || driver.log()).await;
    let app = driver.app_pid().expect("the app runs");
    no_webkit_helpers(app, "once no window is open").await;

    let out = profile.cli(&["logout"]).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    no_webkit_helpers(app, "after the sign-out").await;

    let mut login = profile.spawn_cli(&["login", "--site", site.url(), "--method", "web"]);
    for _ in 0..4 {
        let mut seen = Vec::new();
        eprintln!("DEBUG handles: {:?}", browser.windows().await);
        for handle in browser.windows().await.unwrap_or_default() {
            let _ = browser.switch_to_window(handle.clone()).await;
            seen.push(format!("{:?}", browser.current_url().await));
        }
        eprintln!("DEBUG windows: {seen:?}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    eprintln!("DEBUG log: {}", driver.log().lines().rev().take(60).collect::<Vec<_>>().join("\n"));
    tokio::select! {
        () = switch_to_window(&browser, "a window showing the IdP's form", |url| {
            url.starts_with(site.idp_url())
        }) => {}
        ended = login.wait() => panic!(
            "the sign-in ended ({ended:?}) without the IdP's form\n{}",
            driver.log()
        ),
    }
    submit_idp_form(&browser, "artist", "sesame").await;
    let out = login.wait_with_output().await.expect("fpt-login runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        site.counters().idp_logins,
        2,
        "the person typed their password again\n{}",
        driver.log()
    );
}
