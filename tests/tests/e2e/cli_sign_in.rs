//! Signing in from a terminal, on machines without a desktop: the App Session Launcher, login +
//! password + two-factor codes, and API scripts — each against the mock site, with the real
//! keyring, and the result used by the real shotgun_api3.

use std::process::Stdio;
use std::time::Duration;

use fpt_login_tests::harness::{
    PasswordSite, Profile, RecordingBrowser, answer_approval, bin, poll_request_again, run_python,
    stderr,
};
use fpt_login_tests::mock::{MockConfig, MockScript, MockSite, SiteKind};

#[tokio::test(flavor = "multi_thread")]
async fn login_and_password_signs_in_and_stores_the_session() {
    let site = PasswordSite::new().start().await;
    let profile = Profile::new();
    let out = profile
        .password_login(site.url(), "artist", "sesame", None, &[])
        .await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("Signed in to"));
    let user = profile.token(&[]).await.expect("signed in");
    assert_eq!(user["kind"], "session");
    assert_eq!(user["login"], "artist");
    let token = user["session_token"].as_str().expect("token");
    assert_eq!(site.session_login(token).as_deref(), Some("artist"));
    assert_eq!(
        profile
            .keyring_lookup(site.url(), "artist")
            .await
            .as_deref(),
        Some(token)
    );
    assert!(
        !stderr(&out).contains("sesame"),
        "the password is never printed"
    );
    assert_eq!(site.counters().password_logins, 1);
}

/// The way in saved for `site` in the profile's settings, if any.
fn saved_method(profile: &Profile, site: &str) -> Option<String> {
    // No settings yet is no saved method.
    let file = std::fs::read_to_string(profile.home().join("settings.json")).ok()?;
    let settings: serde_json::Value = serde_json::from_str(&file).expect("settings JSON");
    settings["sites"][site]["method"]
        .as_str()
        .map(str::to_owned)
}

/// `--method` is the person's choice: it is remembered for the site in the same write as the
/// session, whether the app stores it (the CLI says so over the socket) or the CLI does.
#[tokio::test(flavor = "multi_thread")]
async fn a_method_picked_with_method_is_remembered_with_the_session() {
    let site = PasswordSite::new().start().await;
    for with_app in [true, false] {
        let profile = Profile::new();
        let app = with_app.then(|| profile.spawn_app(&["--background"]));
        if with_app {
            profile.wait_for_app().await;
        }
        assert_eq!(saved_method(&profile, site.url()), None);
        let chosen = profile
            .password_login(site.url(), "artist", "sesame", None, &[])
            .await;
        assert!(chosen.status.success(), "{}", stderr(&chosen));
        assert_eq!(
            saved_method(&profile, site.url()).as_deref(),
            Some("credentials"),
            "app: {with_app}"
        );
        drop(app);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn two_factor_codes_and_backup_codes() {
    let site = PasswordSite::new()
        .with_two_factor()
        .kind(SiteKind::Ldap)
        .start()
        .await;
    let profile = Profile::new();

    let no_code = profile
        .password_login(site.url(), "lead", "open-up", None, &[])
        .await;
    assert_eq!(no_code.status.code(), Some(4), "{}", stderr(&no_code));
    assert!(
        stderr(&no_code).contains("two-factor code") && stderr(&no_code).contains("--code"),
        "{}",
        stderr(&no_code)
    );

    let wrong = profile
        .password_login(site.url(), "lead", "open-up", Some("000000"), &[])
        .await;
    assert_eq!(wrong.status.code(), Some(4));
    assert!(
        stderr(&wrong).contains("not accepted"),
        "{}",
        stderr(&wrong)
    );

    let right = profile
        .password_login(site.url(), "lead", "open-up", Some("123456"), &[])
        .await;
    assert!(right.status.success(), "{}", stderr(&right));
    assert_eq!(
        profile.token(&[]).await.expect("signed in")["login"],
        "lead"
    );

    let backup = profile
        .password_login(site.url(), "lead", "open-up", Some("backup-1"), &[])
        .await;
    assert!(backup.status.success(), "{}", stderr(&backup));
    let reused = profile
        .password_login(site.url(), "lead", "open-up", Some("backup-1"), &[])
        .await;
    assert_eq!(reused.status.code(), Some(4), "a backup code works once");
}

#[tokio::test(flavor = "multi_thread")]
async fn refusals_say_what_to_do_instead() {
    let cases = [
        (SiteKind::Default, "wrong login or password"),
        (SiteKind::Saml2, "single sign-on"),
        (SiteKind::Oxygen, "Autodesk Identity"),
    ];
    for (kind, expected) in cases {
        let site = PasswordSite::new()
            .with_two_factor()
            .kind(kind)
            .start()
            .await;
        let profile = Profile::new();
        let password = if kind == SiteKind::Default {
            "Not-The-Password-9"
        } else {
            "sesame"
        };
        let out = profile
            .password_login(site.url(), "artist", password, None, &[])
            .await;
        assert_eq!(out.status.code(), Some(4), "{kind:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains(expected),
            "{kind:?}: {}",
            stderr(&out)
        );
        assert!(
            !stderr(&out).contains(password),
            "the password is never printed"
        );
        assert_eq!(
            profile.cli(&["token"]).await.status.code(),
            Some(4),
            "nothing stored"
        );
    }
}

/// Starts `fpt-login login --method asl` with a recording browser; returns the running process
/// and the approval page it asked the browser to open.
async fn start_asl_login(
    profile: &Profile,
    site: &MockSite,
    extra: &[&str],
) -> (tokio::process::Child, String) {
    let browser = RecordingBrowser::new(profile);
    let mut command = profile.command(bin("fpt-login"));
    command
        .args(["login", "--site", site.url(), "--method", "asl"])
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    browser.apply(&mut command);
    let child = command.spawn().expect("fpt-login starts");
    let url = browser.opened().await;
    (child, url)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_app_session_launcher_signs_in_once_approved_and_hands_the_token_out_once() {
    let site = MockSite::start(MockConfig::saml2()).await.expect("mock");
    let profile = Profile::new();
    let (child, url) = start_asl_login(&profile, &site, &[]).await;
    assert!(
        url.starts_with(&format!("{}/app_session_request/", site.url())),
        "{url}"
    );

    answer_approval(&url, "artist", "sesame", true).await;
    let out = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
        .await
        .expect("the CLI finishes after the approval")
        .expect("fpt-login runs");
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&url),
        "the address is printed for machines without a browser"
    );
    let user = profile.token(&[]).await.expect("signed in");
    assert_eq!(user["login"], "artist");
    assert_eq!(
        site.session_login(user["session_token"].as_str().expect("token"))
            .as_deref(),
        Some("artist")
    );
    assert_eq!(site.counters().asl_handed_out, 1);

    // Handed out once: polling the same request again is a 404.
    let again = poll_request_again(site.url(), &url).await;
    assert_eq!(again.status(), reqwest::StatusCode::NOT_FOUND);

    let projects = run_python(
        "import os, shotgun_api3\nsg = shotgun_api3.Shotgun(os.environ['SITE'], session_token=os.environ['TOKEN'])\nprint(len(sg.find('Project', [], [])))",
        site.url(),
        user["session_token"].as_str().expect("token"),
    )
    .await;
    assert_eq!(projects.trim(), site.config().projects.len().to_string());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rejected_request_is_exit_4_and_stores_nothing() {
    let site = PasswordSite::new().start().await;
    let profile = Profile::new();
    let (child, url) = start_asl_login(&profile, &site, &[]).await;
    answer_approval(&url, "artist", "sesame", false).await;
    let out = child.wait_with_output().await.expect("fpt-login runs");
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("rejected or expired"),
        "{}",
        stderr(&out)
    );
    assert_eq!(profile.cli(&["token"]).await.status.code(), Some(4));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expired_request_and_a_timeout_are_reported() {
    let site = MockSite::start(MockConfig {
        asl_request_lifetime: Duration::from_secs(1),
        ..MockConfig::saml2()
    })
    .await
    .expect("mock");
    let profile = Profile::new();
    // Nobody approves; the site forgets the request after a second.
    let out = profile
        .cli(&[
            "login",
            "--site",
            site.url(),
            "--method",
            "asl",
            "--no-browser",
        ])
        .await;
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("rejected or expired"),
        "{}",
        stderr(&out)
    );

    let patient = MockSite::start(MockConfig::saml2()).await.expect("mock");
    let out = profile
        .cli(&[
            "login",
            "--site",
            patient.url(),
            "--method",
            "asl",
            "--no-browser",
            "--timeout",
            "3",
        ])
        .await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("not approved within 3 s"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_launcher_switched_off_is_a_clear_refusal() {
    let site = MockSite::start(MockConfig {
        asl_enabled: false,
        ..MockConfig::saml2()
    })
    .await
    .expect("mock");
    let profile = Profile::new();
    let out = profile
        .cli(&[
            "login",
            "--site",
            site.url(),
            "--method",
            "asl",
            "--no-browser",
        ])
        .await;
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("not enabled on this site"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_script_user_is_checked_stored_and_usable_by_shotgun_api3() {
    let site = MockSite::start(MockConfig {
        scripts: vec![MockScript {
            name: "farm".into(),
            key: "k3y-f0r-farm".into(),
        }],
        ..MockConfig::saml2()
    })
    .await
    .expect("mock");
    let profile = Profile::new();

    let wrong = profile
        .cli_with_stdin(
            &["script", "add", "--site", site.url(), "--name", "farm"],
            "nope\n",
            &[],
        )
        .await;
    assert_eq!(wrong.status.code(), Some(4), "{}", stderr(&wrong));
    assert!(
        stderr(&wrong).contains("does not know script \"farm\""),
        "{}",
        stderr(&wrong)
    );
    assert!(!stderr(&wrong).contains("nope"));

    let added = profile
        .cli_with_stdin(
            &[
                "script",
                "add",
                "--site",
                site.url(),
                "--name",
                "farm",
                "--default",
            ],
            "k3y-f0r-farm\n",
            &[],
        )
        .await;
    assert!(added.status.success(), "{}", stderr(&added));
    let user = profile.token(&[]).await.expect("signed in");
    assert_eq!(user["kind"], "script");
    assert_eq!(user["api_script"], "farm");
    assert_eq!(user["api_key"], "k3y-f0r-farm");
    assert_eq!(user["site"], site.url());

    let count = run_python(
        "import json, os, shotgun_api3\nu = json.loads(os.environ['TOKEN'])\n\
         sg = shotgun_api3.Shotgun(u['site'], script_name=u['api_script'], api_key=u['api_key'])\n\
         print(len(sg.find('Project', [], ['name'])))",
        site.url(),
        &user.to_string(),
    )
    .await;
    assert_eq!(count.trim(), site.config().projects.len().to_string());

    let plain = profile.cli(&["token"]).await;
    assert_eq!(plain.status.code(), Some(1));
    assert!(
        stderr(&plain).contains("use `fpt-login token --json`"),
        "{}",
        stderr(&plain)
    );

    let removed = profile
        .cli(&["script", "remove", "--site", site.url(), "--name", "farm"])
        .await;
    assert!(removed.status.success(), "{}", stderr(&removed));
    assert_eq!(profile.cli(&["token"]).await.status.code(), Some(4));
}
