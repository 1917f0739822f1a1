//! End to end with real parts: the mock FPT site and its IdP on loopback, the real desktop app
//! under Xvfb launched by WebKitWebDriver, a person's typing in the IdP form, and then separate
//! processes using the sign-in: `fpt-login`, the real `shotgun_api3`, `secret-tool`.

use std::time::Duration;

use fpt_login_tests::harness::{
    Profile, WebDriver, bin, open_idp_form, run_python, submit_idp_form, visible_windows, wait_for,
};
use fpt_login_tests::mock::{MockConfig, MockSite};
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(60);

/// Lists the site's projects with the real shotgun_api3 and a session token.
async fn shotgun_projects(site: &str, token: &str) -> Vec<String> {
    let script = "import os, shotgun_api3\n\
        sg = shotgun_api3.Shotgun(os.environ['SITE'], session_token=os.environ['TOKEN'])\n\
        print('\\n'.join(p['name'] for p in sg.find('Project', [], ['name'])))";
    run_python(script, site, token)
        .await
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Sends SIGTERM to the running app (as a session logout does) and waits until it is gone.
async fn quit_app(profile: &Profile) {
    let status = profile.status_json().await;
    let pid = status["app_pid"]
        .as_u64()
        .expect("the app says its pid")
        .to_string();
    let killed = tokio::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .await;
    assert!(killed.expect("kill runs").success());
    wait_for("the app to be gone", WAIT, || async {
        let out = profile.cli(&["status", "--json"]).await;
        let json: Value = serde_json::from_slice(&out.stdout).ok()?;
        (json["app_running"] == false).then_some(())
    })
    .await;
}

/// What WebKit wrote for the sign-in (cookies, storage) is readable by the person alone.
fn web_data_is_private(profile: &Profile) {
    use std::os::unix::fs::PermissionsExt as _;
    let mut pending = vec![profile.home().join("data/webview")];
    let mut seen = 0;
    while let Some(path) = pending.pop() {
        let meta = std::fs::symlink_metadata(&path).expect("web data");
        let mode = meta.permissions().mode() & 0o777;
        assert_eq!(mode & 0o077, 0, "{} is {mode:o}", path.display());
        if meta.is_dir() {
            pending.extend(
                std::fs::read_dir(&path)
                    .expect("folder")
                    .map(|e| e.expect("entry").path()),
            );
        } else {
            seen += 1;
        }
    }
    assert!(seen > 0, "the sign-in left no files to check");
}

/// The sign-in window says which host the person is typing their password into.
async fn window_title_names_the_idp_host(site: &MockSite) {
    let idp_host = url::Url::parse(site.idp_url())
        .expect("the IdP's URL")
        .host_str()
        .expect("a host")
        .to_owned();
    let wanted = format!("Sign in to {} — {idp_host}", site.url());
    wait_for("the window title to name the IdP's host", WAIT, || async {
        visible_windows().await.contains(&wanted).then_some(())
    })
    .await;
}

/// The most verbose logs of the app (`app_log`) and of the CLI never contain `token`.
async fn assert_token_not_logged(profile: &Profile, app_log: &str, token: &str) {
    let verbose = profile
        .command(bin("fpt-login"))
        .args(["-vv", "token", "--json"])
        .env("FPT_LOGIN_LOG", "trace")
        .output()
        .await
        .expect("fpt-login runs");
    let cli_log = String::from_utf8_lossy(&verbose.stderr);
    assert!(cli_log.contains("asking the running app"), "{cli_log}");
    assert!(!cli_log.contains(token), "the CLI logged the token");
    assert!(app_log.contains("TRACE"), "the app ran with trace logging");
    assert!(!app_log.contains(token), "the app logged the token");
}

#[tokio::test(flavor = "multi_thread")]
async fn web_sign_in_hands_the_token_to_other_programs_and_survives_a_restart() {
    let site = MockSite::start(MockConfig::saml2())
        .await
        .expect("mock site");
    let profile = Profile::new();
    let driver = WebDriver::start(&profile).await;
    let browser = open_idp_form(&driver, site.url(), site.idp_url()).await;
    assert_ne!(site.idp_url(), site.url(), "the IdP is another origin");
    window_title_names_the_idp_host(&site).await;
    submit_idp_form(&browser, "artist", "sesame").await;

    // Another program asks for the user.
    let user = profile.wait_for_token(&[], || driver.log()).await;
    web_data_is_private(&profile);
    let token = user["session_token"]
        .as_str()
        .expect("session_token")
        .to_owned();
    let mut keys: Vec<&str> = user
        .as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "expires_at",
            "http_proxy",
            "kind",
            "login",
            "session_token",
            "site"
        ]
    );
    assert_eq!(user["site"], site.url());
    assert_eq!(user["kind"], "session");
    assert_eq!(user["login"], "artist");
    assert!(
        user["expires_at"].as_i64().is_some(),
        "SAML claims expiry is known: {user}"
    );
    assert_eq!(
        site.session_login(&token).as_deref(),
        Some("artist"),
        "a live mock session"
    );

    let plain = profile.cli(&["token"]).await;
    assert!(plain.status.success());
    assert_eq!(String::from_utf8_lossy(&plain.stdout).trim(), token);

    let status = profile.cli(&["status"]).await;
    let status_text = String::from_utf8_lossy(&status.stdout);
    assert!(
        status_text.contains(site.url()) && status_text.contains("artist (Ada Artist)"),
        "{status_text}"
    );
    assert!(status_text.contains("app: running"), "{status_text}");

    assert_eq!(
        shotgun_projects(site.url(), &token).await,
        site.config().projects
    );
    let kept = profile.keyring_lookup(site.url(), "artist").await;
    assert_eq!(kept.as_deref(), Some(token.as_str()));

    // The tray names the user (the `tray` tests read its menu over D-Bus; here, its log line).
    let expected_tray = format!("tray=artist @ {}", site.url());
    wait_for("the tray to show the user", WAIT, || async {
        driver.log().contains(&expected_tray).then_some(())
    })
    .await;
    assert_token_not_logged(&profile, &driver.log(), &token).await;

    // Quit, and the user is still signed in when the app starts again.
    quit_app(&profile).await;
    let mut app = profile.spawn_app(&[]);
    profile.wait_for_app().await;
    let again = profile.cli(&["token"]).await;
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&again.stdout).trim(), token);

    // Sign out: the keyring entry goes, and asking for the token says to sign in (exit 4).
    let logout = profile.cli(&["logout"]).await;
    assert!(
        logout.status.success(),
        "{}",
        String::from_utf8_lossy(&logout.stderr)
    );
    assert!(String::from_utf8_lossy(&logout.stdout).contains("Signed artist out"));
    assert_eq!(profile.keyring_lookup(site.url(), "artist").await, None);
    let after = profile.cli(&["token"]).await;
    assert_eq!(after.status.code(), Some(4));
    let message = String::from_utf8_lossy(&after.stderr);
    assert!(
        message.contains("nobody is signed in") && message.contains("--sign-in"),
        "{message}"
    );
    assert!(
        !app.log().contains(&token),
        "the restarted app logged the token"
    );
    app.stop().await;
    drop(browser);
}

/// Every file named `name` under `dir`.
fn files_named(dir: &std::path::Path, name: &str) -> Vec<std::path::PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .flat_map(|entry| {
            let path = entry.path();
            if path.is_dir() {
                files_named(&path, name)
            } else if entry.file_name() == name {
                vec![path]
            } else {
                Vec::new()
            }
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_file_offered_by_the_idp_is_never_saved_and_the_sign_in_goes_on() {
    let site = MockSite::start(MockConfig::saml2())
        .await
        .expect("mock site");
    let profile = Profile::new();
    let driver = WebDriver::start(&profile).await;
    let browser = open_idp_form(&driver, site.url(), site.idp_url()).await;

    // A person clicks the IdP's help link, which answers with a file to save.
    fpt_login_tests::harness::click(&browser, "#help").await;
    let refused = format!(
        "refused a download from a sign-in page origin={}",
        site.idp_url()
    );
    // Only the log shows a refusal: nothing is saved, nothing opens, the form stays.
    wait_for("the download to be refused", WAIT, || async {
        driver.log().contains(&refused).then_some(())
    })
    .await;
    let downloads = std::env::var_os("HOME")
        .map(|home| std::path::PathBuf::from(home).join("Downloads"))
        .into_iter()
        .chain([profile.home().to_path_buf()]);
    for dir in downloads {
        assert_eq!(
            files_named(&dir, "sign-in-help.pdf"),
            Vec::<std::path::PathBuf>::new()
        );
    }

    submit_idp_form(&browser, "artist", "sesame").await;
    let user = profile.wait_for_token(&[], || driver.log()).await;
    assert_eq!(user["login"], "artist");
}
