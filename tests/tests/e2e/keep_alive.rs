//! Sessions that idle out: the app keeps them alive with a cheap call, learns from the site
//! when they would end, and notices at once when the site ends one (102) — without ever
//! dropping a token because the site had trouble (5xx).

use std::time::Duration;

use fpt_login_tests::harness::{
    PasswordSite, Profile, Watch, run_python, sign_in_with_password, wait_for,
};
use fpt_login_tests::mock::{MockConfig, MockSite};

const WAIT: Duration = Duration::from_secs(60);

#[tokio::test(flavor = "multi_thread")]
async fn an_idle_session_is_kept_alive_and_a_revoked_one_is_seen_at_once() {
    let site = MockSite::start(MockConfig {
        session_inactivity: Duration::from_secs(6),
        ..PasswordSite::new().config()
    })
    .await
    .expect("mock site");
    let profile = Profile::new();
    assert!(
        profile
            .cli(&["settings", "set", "keep-alive-interval", "2"])
            .await
            .status
            .success()
    );
    let _app = profile.spawn_app(&["--background"]);
    profile.wait_for_app().await;
    sign_in_with_password(&profile, site.url(), "artist", "sesame").await;
    let token = profile.session_token(&[]).await;
    let watch = Watch::start(&profile).await;

    // Nobody uses the session for three inactivity periods; the app's keep-alive does.
    let start = site.counters().session_info_calls;
    wait_for(
        "keep-alive calls spanning 18 s",
        Duration::from_secs(90),
        || async { (site.counters().session_info_calls >= start + 9).then_some(()) },
    )
    .await;
    let projects = run_python(
        "import os, shotgun_api3\n\
         sg = shotgun_api3.Shotgun(os.environ['SITE'], session_token=os.environ['TOKEN'])\n\
         print(len(sg.find('Project', [], ['name'])))",
        site.url(),
        &token,
    )
    .await;
    assert_eq!(projects.trim(), "2", "the session is still alive");
    let status = profile.status_json().await;
    let expires = status["sites"][0]["users"][0]["expires_at"].as_i64();
    assert!(
        expires.is_some(),
        "the site said when the session idles out: {status}"
    );

    // The site has trouble for a while: the token stays.
    site.set_api_failure(Some(503));
    let failing_since = site.counters().api_calls;
    wait_for("keep-alives to hit the 503s", WAIT, || async {
        (site.counters().api_calls >= failing_since + 2).then_some(())
    })
    .await;
    site.set_api_failure(None);
    assert_eq!(
        profile.keyring_lookup(site.url(), "artist").await,
        Some(token.clone())
    );
    assert_eq!(
        profile.status_json().await["sites"][0]["users"][0]["state"],
        "active"
    );

    // An administrator ends the session: the next keep-alive sees 102 and everyone knows.
    site.end_sessions();
    let event = watch.wait_for("expired").await;
    assert_eq!(event["login"], "artist");
    let status = profile.status_json().await;
    assert_eq!(
        status["sites"][0]["users"][0]["state"], "expired",
        "{status}"
    );
    let out = profile.cli(&["token"]).await;
    assert_eq!(out.status.code(), Some(4));
    let message = String::from_utf8_lossy(&out.stderr);
    assert!(message.contains("refused the session"), "{message}");
    assert!(!message.contains(&token), "no token in messages");
    let text = String::from_utf8_lossy(&profile.cli(&["status"]).await.stdout).into_owned();
    assert!(text.contains("expired: "), "{text}");
    assert_eq!(
        watch.kinds(),
        ["expired"],
        "one event, not one per keep-alive"
    );
}
