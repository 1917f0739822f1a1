//! Several sites and several people at once, through the running app: switching the default,
//! signing out of one site, re-authenticating as someone else, signing out everywhere, and the
//! `session_changed` events a subscriber sees for all of it.

use fpt_login_tests::harness::{PasswordSite, Profile, Watch, sign_in_with_password, wait_for};
use serde_json::Value;

async fn json(profile: &Profile, args: &[&str]) -> Value {
    let out = profile.cli(args).await;
    assert!(
        out.status.success(),
        "fpt-login {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON")
}

#[tokio::test(flavor = "multi_thread")]
async fn two_sites_two_people_switching_signing_out_and_someone_else_signing_in() {
    let studio = PasswordSite::new().start().await;
    let outsource = PasswordSite::new().start().await;
    let profile = Profile::new();
    let _app = profile.spawn_app(&["--background"]);
    profile.wait_for_app().await;
    let watch = Watch::start(&profile).await;

    sign_in_with_password(&profile, studio.url(), "artist", "sesame").await;
    sign_in_with_password(&profile, outsource.url(), "artist", "sesame").await;
    let sites = json(&profile, &["sites", "--json"]).await;
    assert_eq!(
        sites[0]["site"],
        outsource.url(),
        "the last sign-in is the default"
    );

    let out = profile.cli(&["use", studio.url()]).await;
    assert!(out.status.success());
    let user = profile.token(&[]).await.expect("signed in");
    assert_eq!(user["site"], studio.url(), "the default follows `use`");
    let artist_token = profile.session_token(&["--site", studio.url()]).await;

    // Someone else signs in to the studio site on this machine: a new sign-in for them, and
    // the artist's own token stays theirs.
    sign_in_with_password(&profile, studio.url(), "lead", "open-up").await;
    let event = watch.wait_for("signed_in").await;
    assert_eq!(
        event["login"], "artist",
        "the first event is the first sign-in"
    );
    let lead_token = profile.session_token(&["--site", studio.url()]).await;
    assert_ne!(lead_token, artist_token);
    assert_eq!(studio.session_login(&lead_token).as_deref(), Some("lead"));
    assert_eq!(
        profile.keyring_lookup(studio.url(), "artist").await,
        Some(artist_token.clone())
    );
    assert_eq!(
        profile.keyring_lookup(studio.url(), "lead").await,
        Some(lead_token.clone())
    );
    let replaced = watch
        .events()
        .into_iter()
        .find(|e| e["login"] == "lead")
        .expect("lead's sign-in was announced");
    assert_eq!(replaced["event"], "signed_in");
    assert!(
        replaced["message"]
            .as_str()
            .is_some_and(|m| m.contains("in place of artist")),
        "{replaced}"
    );

    // Signing out of one site leaves the other working.
    let out = profile.cli(&["logout", "--site", outsource.url()]).await;
    assert!(out.status.success());
    assert_eq!(
        profile.keyring_lookup(outsource.url(), "artist").await,
        None
    );
    assert_eq!(
        profile.session_token(&["--site", studio.url()]).await,
        lead_token
    );
    let out = profile.cli(&["token", "--site", outsource.url()]).await;
    assert_eq!(out.status.code(), Some(4), "signed out of the other site");

    let all = json(&profile, &["logout", "--all", "--json"]).await;
    assert_eq!(
        all.as_array().map(Vec::len),
        Some(2),
        "artist and lead on the studio site: {all}"
    );
    assert_eq!(profile.keyring_lookup(studio.url(), "artist").await, None);
    assert_eq!(profile.keyring_lookup(studio.url(), "lead").await, None);

    watch.wait_for("signed_out").await;
    let expected = [
        "signed_in",
        "signed_in",
        "default_changed",
        "signed_in",
        "signed_out",
        "signed_out",
        "signed_out",
    ];
    wait_for(
        "every event",
        std::time::Duration::from_secs(30),
        || async { (watch.kinds().len() >= expected.len()).then_some(()) },
    )
    .await;
    assert_eq!(watch.kinds(), expected);
}

#[tokio::test(flavor = "multi_thread")]
async fn signing_out_without_the_app_still_clears_the_sites_web_data_at_its_next_start() {
    let studio = PasswordSite::new().start().await;
    let profile = Profile::new();
    sign_in_with_password(&profile, studio.url(), "artist", "sesame").await;
    sign_in_with_password(&profile, studio.url(), "lead", "open-up").await;
    // What a web sign-in leaves: the site's and the IdP's cookies in the site's folder.
    let site = fpt_login_core::Site::parse(studio.url()).expect("a site");
    let web_data = profile
        .home()
        .join("data")
        .join("webview")
        .join(site.folder_name());
    std::fs::create_dir_all(&web_data).expect("web data folder");
    std::fs::write(web_data.join("cookies"), "the IdP remembers artist").expect("cookies");

    // The app is not running; lead stays signed in to the same site.
    let out = profile
        .cli(&["logout", "--site", studio.url(), "--login", "artist"])
        .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(web_data.exists(), "the CLI leaves web data to the app");

    let _app = profile.spawn_app(&["--background"]);
    profile.wait_for_app().await;
    assert!(
        !web_data.exists(),
        "the next web sign-in must not pass silently as the person who signed out"
    );
    let user = profile.token(&[]).await.expect("lead is still signed in");
    assert_eq!(user["login"], "lead");
}
