//! The Accounts window, driven by WebDriver like a person on a desktop without a tray: starting
//! the app opens it, it lists who is signed in where and follows every change live, its buttons
//! do what the tray menu does, and closing it leaves the app serving.

use std::time::Duration;

use fantoccini::{Client, Locator};
use fpt_login_tests::harness::{
    PasswordSite, Profile, WebDriver, bin, click, close_window_like_a_person, shown,
    sign_in_with_password, stderr, success_stdout, switch_to_window, text_of, wait_for,
    wait_for_text,
};

const WAIT: Duration = Duration::from_secs(60);
const TITLE: &str = "Accounts — FPT Login";

/// The list item of `login` on `site`.
fn person(site: &str, login: &str) -> String {
    format!(r#"li.site[data-site="{site}"] li.person[data-login="{login}"]"#)
}

/// Waits until nothing on the page matches `css`.
async fn gone(window: &Client, css: &str) {
    wait_for(&format!("{css} to go"), WAIT, || async {
        window
            .find_all(Locator::Css(css))
            .await
            .ok()?
            .is_empty()
            .then_some(())
    })
    .await;
}

/// Calls the app's command `name` from the page on show, as its script would: "ok", or the
/// refusal.
async fn invoke(window: &Client, name: &str, args: serde_json::Value) -> String {
    let script = "const [name, args, done] = arguments;
        window.__TAURI__.core.invoke(name, args).then(() => done('ok'), (e) => done(String(e)));";
    let answer = window
        .execute_async(script, vec![name.into(), args])
        .await
        .unwrap_or_else(|e| panic!("calling {name} from the page: {e}"));
    answer.as_str().unwrap_or_default().to_owned()
}

/// `fpt-login settings`' line for `key`.
async fn setting(profile: &Profile, key: &str) -> String {
    let out = profile.cli(&["settings"]).await;
    success_stdout(&out)
        .lines()
        .find(|line| line.split_whitespace().next() == Some(key))
        .unwrap_or_default()
        .split_whitespace()
        .skip(1)
        .collect::<Vec<_>>()
        .join(" ")
}

#[tokio::test(flavor = "multi_thread")]
async fn the_accounts_window_shows_who_is_signed_in_follows_changes_and_acts_like_the_tray() {
    let one = PasswordSite::new().start().await;
    let two = PasswordSite::new().start().await;
    let (one, two) = (one.url(), two.url());
    let profile = Profile::new();
    sign_in_with_password(&profile, one, "artist", "sesame").await;
    sign_in_with_password(&profile, two, "lead", "open-up").await;

    // Started from the menu with people signed in: the Accounts window, not the sign-in form.
    let driver = WebDriver::start(&profile).await;
    let window = driver.launch_app(&[]).await;
    assert_eq!(text_of(&window, "h1").await, "Accounts");
    wait_for_text(&window, "#headline", &format!("lead @ {two}")).await;
    let lead = text_of(&window, &person(two, "lead")).await;
    assert!(lead.contains("Default user"), "{lead}");
    assert!(lead.contains("Signed in"), "the state is words: {lead}");
    let artist = text_of(&window, &person(one, "artist")).await;
    assert!(artist.contains("Signed in"), "{artist}");
    assert!(artist.contains("Make default"), "{artist}");

    // A change made from a terminal shows without reloading the window.
    let used = profile.cli(&["use", one, "artist"]).await;
    assert!(used.status.success(), "{}", stderr(&used));
    wait_for_text(&window, "#headline", &format!("artist @ {one}")).await;
    wait_for_text(
        &window,
        &format!("{} .tag", person(one, "artist")),
        "Default user",
    )
    .await;

    // Closing the window, as a person does, keeps the app serving other programs.
    close_window_like_a_person(TITLE, || driver.log()).await;
    wait_for("the window to close", WAIT, || async {
        window.windows().await.ok()?.is_empty().then_some(())
    })
    .await;
    assert_eq!(profile.status_json().await["app_running"], true);
    assert_eq!(profile.token(&[]).await.expect("served")["login"], "artist");

    // Starting it again while it runs (the menu entry) opens the window again.
    let second = tokio::time::timeout(WAIT, profile.command(bin("fpt-login-desktop")).output())
        .await
        .expect("the second launch hands over and exits")
        .expect("fpt-login-desktop runs");
    assert!(second.status.success(), "{}", stderr(&second));
    switch_to_window(&window, "the Accounts window again", |url| {
        url.ends_with("/accounts.html")
    })
    .await;
    wait_for_text(&window, "#headline", &format!("artist @ {one}")).await;

    // Sign out from the window: the app signs artist out, and the window follows. The button
    // says whom it signs out to a screen reader too.
    let sign_out = format!("{} button.sign-out", person(one, "artist"));
    let label = shown(&window, &sign_out).await.attr("aria-label").await;
    assert_eq!(
        label.ok().flatten(),
        Some(format!("Sign out artist on {one}"))
    );
    click(&window, &sign_out).await;
    gone(&window, &person(one, "artist")).await;
    wait_for_text(&window, "#status", &format!("Signed artist on {one} out.")).await;
    let status = profile.status_json().await;
    let sites = status["sites"].as_array().expect("sites");
    assert!(
        sites
            .iter()
            .filter(|s| s["site"] == one)
            .all(|s| s["users"].as_array().is_none_or(Vec::is_empty)),
        "{status}"
    );
    assert_eq!(
        profile.token(&["--site", one]).await.map_err(|r| r.code),
        Err(4)
    );

    // A sign-out from a terminal shows too.
    let logout = profile.cli(&["logout", "--site", two]).await;
    assert!(logout.status.success(), "{}", stderr(&logout));
    wait_for_text(&window, "#nobody", "Nobody is signed in").await;
    assert_eq!(text_of(&window, "#headline").await, "Not signed in");

    // The tray's toggles, from the window.
    assert_eq!(setting(&profile, "keep-alive").await, "on");
    click(&window, "#keep-alive").await;
    wait_for("keep-alive to be turned off", WAIT, || async {
        (setting(&profile, "keep-alive").await == "off").then_some(())
    })
    .await;

    // "Sign in to another site…" opens the sign-in window.
    click(&window, "#sign-in").await;
    // The sign-in window is the app's own index page.
    switch_to_window(&window, "the sign-in window", |url| {
        url.strip_prefix("tauri://localhost")
            .is_some_and(|path| ["", "/", "/index.html"].contains(&path))
    })
    .await;
    wait_for_text(&window, "h1", "Sign in to Flow Production Tracking").await;

    // Each local window may call its own commands only: the sign-in window cannot quit the
    // app, the Accounts window cannot start a sign-in.
    let quit = serde_json::json!({"action": {"action": "quit"}});
    let refused = invoke(&window, "account_action", quit).await;
    assert!(refused.contains("not allowed"), "{refused}");
    assert_eq!(profile.status_json().await["app_running"], true);
    switch_to_window(&window, "the Accounts window", |url| {
        url.ends_with("/accounts.html")
    })
    .await;
    let site_info = serde_json::json!({"site": one});
    let refused = invoke(&window, "site_info", site_info).await;
    assert!(refused.contains("not allowed"), "{refused}");

    // And "Quit" in the Accounts window quits.
    // The app may be gone before WebDriver answers the click: what counts is that it quits.
    let _ = shown(&window, "#quit").await.click().await;
    wait_for("the app to quit", WAIT, || async {
        (profile.status_json().await["app_running"] == false).then_some(())
    })
    .await;
}
