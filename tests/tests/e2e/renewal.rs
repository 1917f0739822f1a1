//! Keeping sessions alive from the tray, end to end: the real app under Xvfb renews SAML claims
//! in a hidden webview against the mock site and its IdP, shares one renewal between callers,
//! asks the person (never with a modal) when the IdP wants its form, and rides out a site that
//! goes away.

use std::time::Duration;

use fpt_login_tests::harness::{
    Profile, Watch, bin, python, seconds_left, shown, submit_idp_form, switch_to_window,
    visible_windows, wait_for, web_sign_in,
};
use fpt_login_tests::mock::{IdpMode, MockConfig, MockSite};
use fpt_login_tests::notification_server::NotificationServer;
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(90);

fn saml_site(claims_secs: u64) -> MockConfig {
    MockConfig {
        claims_lifetime: Duration::from_secs(claims_secs),
        ..MockConfig::saml2()
    }
}

/// Starts `fpt-login ARGS` and lets it run while the test goes on.
fn spawn_cli(profile: &Profile, args: &[&str]) -> tokio::task::JoinHandle<std::process::Output> {
    let child = profile.spawn_cli(args);
    tokio::spawn(async move { child.wait_with_output().await.expect("fpt-login runs") })
}

#[tokio::test(flavor = "multi_thread")]
async fn claims_are_renewed_silently_and_a_shotgun_api3_client_never_sees_an_expired_session() {
    let site = MockSite::start(saml_site(20)).await.expect("mock site");
    let profile = Profile::new();
    let (driver, _browser, first) = web_sign_in(&profile, &site).await;

    // A long-running tool: before each call it asks for a token good for 5 more seconds, then
    // uses it with the real shotgun_api3. It runs until the site has renewed the claims three
    // times, i.e. across three claims lifetimes' worth of renewals.
    let script = r#"
import json, os, subprocess, sys, time, urllib.request
import shotgun_api3
site = os.environ["SITE"]
calls = failures = 0
deadline = time.monotonic() + 150
while time.monotonic() < deadline:
    with urllib.request.urlopen(site + "/__mock/counters") as r:
        if json.load(r)["claims_renewals"] >= 3:
            break
    token = subprocess.run([os.environ["FPT_LOGIN"], "token", "--min-ttl", "5"],
                           capture_output=True, text=True)
    if token.returncode != 0:
        print("token failed:", token.stderr, file=sys.stderr)
        failures += 1
        continue
    try:
        sg = shotgun_api3.Shotgun(site, session_token=token.stdout.strip())
        sg.find("Project", [], ["name"])
        calls += 1
    except Exception as e:
        print("call failed:", repr(e), file=sys.stderr)
        failures += 1
    time.sleep(0.5)
print(json.dumps({"calls": calls, "failures": failures}))
"#;
    let out = profile
        .command(python())
        .arg("-c")
        .arg(script)
        .env("SITE", site.url())
        .env("FPT_LOGIN", bin("fpt-login"))
        .output()
        .await
        .expect("python runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let result: Value = serde_json::from_slice(&out.stdout).expect("JSON result");
    let counters = site.counters();
    assert!(
        counters.claims_renewals >= 3,
        "renewed {} times; tool said {result} {stderr}\n{}",
        counters.claims_renewals,
        driver.log()
    );
    assert_eq!(result["failures"], 0, "{stderr}");
    assert!(result["calls"].as_u64() > Some(10), "{result}");
    assert_eq!(counters.rejected_sessions, 0, "no call was refused");
    assert_eq!(
        counters.idp_logins, 1,
        "the IdP form was filled in once, at sign-in"
    );

    let now = profile.token(&[]).await.expect("still signed in");
    assert_eq!(
        now["session_token"], first["session_token"],
        "claims renewal keeps the token"
    );
    assert!(
        now["expires_at"].as_i64() > first["expires_at"].as_i64(),
        "{now} vs {first}"
    );
    assert!(
        visible_windows()
            .await
            .iter()
            .all(|t| !t.contains("renewal")),
        "the renewal window is never shown"
    );
}

/// Switches WebDriver to the app's window that shows the IdP, once there is one.
async fn show_idp_window(browser: &fantoccini::Client, site: &MockSite) {
    switch_to_window(browser, "a window showing the IdP", |url| {
        url.starts_with(site.idp_url())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn when_the_idp_wants_its_form_again_the_tray_asks_and_renew_now_signs_in_again() {
    let site = MockSite::start(saml_site(120)).await.expect("mock site");
    let profile = Profile::new();
    assert!(
        profile
            .cli(&["settings", "set", "renew-timeout", "3"])
            .await
            .status
            .success()
    );
    let notifications = NotificationServer::start().await;
    let (driver, browser, first) = web_sign_in(&profile, &site).await;
    let watch = Watch::start(&profile).await;

    // The IdP session ends (the person's SSO password changed, say). A tool that needs the
    // session for longer than it has left makes the app try a renewal: the hidden page stops
    // at the IdP's form, the watchdog fires, and the tool gets a clear "sign in" (exit 4).
    site.end_idp_sessions();
    assert_eq!(
        profile
            .token(&["--min-ttl", "125"])
            .await
            .map_err(|refused| refused.code),
        Err(4)
    );
    let event = watch.wait_for("needs_attention").await;
    assert_eq!(event["login"], "artist");
    assert!(
        event["message"]
            .as_str()
            .unwrap_or_default()
            .contains("within 3 s"),
        "{event}"
    );
    let status = profile.status_json().await;
    assert_eq!(
        status["sites"][0]["users"][0]["state"], "needs_attention",
        "{status}"
    );
    // The desktop's notification server shows it, pointing at "Renew now".
    let about = format!("Session for {} expires in", site.url());
    let notified = notifications
        .from_the_app(driver.app_pid().expect("app"), &about)
        .await;
    assert!(notified.body.contains("Renew now"), "{notified:?}");
    // Nothing modal: no window came up, and the session still works for everyone else. (The
    // display is shared with the tests running alongside, whose sign-in windows name their
    // own sites.)
    let visible = visible_windows().await;
    let sign_in = format!("Sign in to {}", site.url());
    assert!(
        visible
            .iter()
            .all(|t| t != &sign_in && !t.contains("renewal")),
        "{visible:?}"
    );
    let still = profile
        .token(&[])
        .await
        .expect("the session is not signed out");
    assert_eq!(still["session_token"], first["session_token"]);

    // "Renew now" opens the web sign-in; the person signs in again.
    let renew = spawn_cli(
        &profile,
        &["login", "--site", site.url(), "--method", "web"],
    );
    show_idp_window(&browser, &site).await;
    submit_idp_form(&browser, "artist", "sesame").await;
    let out = renew.await.expect("fpt-login login ends");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let renewed = watch.wait_for("renewed").await;
    assert_eq!(renewed["login"], "artist");
    assert_eq!(watch.kinds(), ["needs_attention", "renewed"]);
    let after = profile
        .token(&["--min-ttl", "60"])
        .await
        .expect("signed in");
    assert_ne!(
        after["session_token"], first["session_token"],
        "a new session"
    );
    assert_eq!(
        site.session_login(after["session_token"].as_str().unwrap())
            .as_deref(),
        Some("artist")
    );
    let status = profile.status_json().await;
    assert_eq!(
        status["sites"][0]["users"][0]["state"], "active",
        "{status}"
    );

    // Signing out clears the site's web data: the next sign-in shows the IdP's form again
    // even though the IdP still remembers the browser.
    assert!(profile.cli(&["logout"]).await.status.success());
    let silent_before = site.counters().idp_silent_passes;
    let again = spawn_cli(
        &profile,
        &["login", "--site", site.url(), "--method", "web"],
    );
    show_idp_window(&browser, &site).await;
    shown(&browser, "#password").await;
    assert_eq!(
        site.counters().idp_silent_passes,
        silent_before,
        "no silent pass"
    );
    again.abort();
}

#[tokio::test(flavor = "multi_thread")]
async fn fifty_callers_needing_a_fresh_session_share_one_renewal() {
    let site = MockSite::start(saml_site(60)).await.expect("mock site");
    let profile = Profile::new();
    let (_driver, _browser, first) = web_sign_in(&profile, &site).await;
    let expires = first["expires_at"].as_i64().expect("claims expiry");
    // Wait until asking for 50 s is asking for more than the session has left, on the site's
    // clock too: the app knows it from HTTP `Date` headers, to the second.
    wait_for("the session to have under 48 s left", WAIT, || async {
        (seconds_left(expires) < 48).then_some(())
    })
    .await;
    let before = site.counters();
    let callers: Vec<_> = (0..50)
        .map(|_| spawn_cli(&profile, &["token", "--json", "--min-ttl", "50"]))
        .collect();
    let mut tokens = std::collections::BTreeSet::new();
    for caller in callers {
        let out = caller.await.expect("fpt-login ends");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let user: Value = serde_json::from_slice(&out.stdout).expect("JSON");
        assert!(user["expires_at"].as_i64() > Some(expires), "fresh: {user}");
        tokens.insert(user["session_token"].as_str().expect("token").to_owned());
    }
    assert_eq!(tokens.len(), 1, "everyone got the same token");
    let after = site.counters();
    assert_eq!(
        after.claims_renewals - before.claims_renewals,
        1,
        "exactly one renewal"
    );
    assert_eq!(after.idp_silent_passes - before.idp_silent_passes, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_site_that_goes_away_keeps_the_token_and_renewal_resumes_when_it_is_back() {
    let mut site = MockSite::start(saml_site(20)).await.expect("mock site");
    let profile = Profile::new();
    let (driver, _browser, first) = web_sign_in(&profile, &site).await;
    let token_before = first["session_token"].as_str().expect("token").to_owned();

    site.stop();
    // The app's warning is the only sign that it tried while the site was away: the session
    // stays active (which is the point), so `status` and `watch` have nothing to report.
    wait_for("the app to notice the site is gone", WAIT, || async {
        driver
            .log()
            .contains("cannot reach the site to renew")
            .then_some(())
    })
    .await;
    // Nothing was signed out or dropped while the site was away.
    assert_eq!(
        profile
            .keyring_lookup(site.url(), "artist")
            .await
            .as_deref(),
        Some(token_before.as_str())
    );
    let status = profile.status_json().await;
    assert_eq!(status["sites"][0]["current_user"], "artist", "{status}");
    assert_ne!(
        status["sites"][0]["users"][0]["state"], "expired",
        "{status}"
    );

    site.restart().await.expect("the site comes back");
    wait_for("a renewal after the site is back", WAIT, || async {
        (site.counters().claims_renewals >= 1).then_some(())
    })
    .await;
    let after = profile
        .token(&["--min-ttl", "10"])
        .await
        .expect("signed in");
    assert_eq!(
        after["session_token"],
        token_before.as_str(),
        "the same session"
    );
    assert!(after["expires_at"].as_i64() > first["expires_at"].as_i64());
    assert_eq!(site.counters().rejected_sessions, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_slow_idp_is_waited_for_longer_than_toolkits_five_seconds() {
    let site = MockSite::start(saml_site(60)).await.expect("mock site");
    let profile = Profile::new();
    let (_driver, _browser, first) = web_sign_in(&profile, &site).await;
    let expires = first["expires_at"].as_i64().expect("claims expiry");
    site.set_idp_mode(IdpMode::Slow(Duration::from_secs(7)));
    // Ask for more than is left, so the app renews now, through the slow IdP.
    wait_for("the session to have under 58 s left", WAIT, || async {
        (seconds_left(expires) < 58).then_some(())
    })
    .await;
    let user = profile
        .token(&["--min-ttl", "58"])
        .await
        .expect("renewed within the 30 s watchdog");
    assert!(user["expires_at"].as_i64() > Some(expires));
    assert_eq!(site.counters().claims_renewals, 1);
    let status = profile.status_json().await;
    assert_eq!(
        status["sites"][0]["users"][0]["state"], "active",
        "{status}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn exec_with_min_ttl_renews_first_when_the_session_has_less_left() {
    let site = MockSite::start(saml_site(60)).await.expect("mock site");
    let profile = Profile::new();
    let (_driver, _browser, first) = web_sign_in(&profile, &site).await;
    let expires = first["expires_at"].as_i64().expect("claims expiry");
    wait_for("the session to have under 50 s left", WAIT, || async {
        (seconds_left(expires) < 50).then_some(())
    })
    .await;
    assert_eq!(site.counters().claims_renewals, 0);
    let out = profile
        .cli(&[
            "exec",
            "--min-ttl",
            "50",
            "--",
            "sh",
            "-c",
            "echo \"$FPT_SESSION_TOKEN\"",
        ])
        .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Renewed before the program started: the program's token is good for 50 s more.
    assert_eq!(site.counters().claims_renewals, 1);
    let handed = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    assert_eq!(handed, first["session_token"].as_str().expect("token"));
    let now = profile.token(&[]).await.expect("signed in");
    assert!(
        seconds_left(now["expires_at"].as_i64().expect("expiry")) >= 50,
        "{now}"
    );
}
