//! The tray icon as a desktop's tray sees it, over the session bus: its menu names who is
//! signed in and follows every change, its entries do what they say, and a click made on a
//! menu drawn before a change does nothing.

use std::time::Duration;

use fpt_login_tests::harness::{PasswordSite, Profile, bin, sign_in_with_password, wait_for};
use fpt_login_tests::tray_host::TrayIcon;

const WAIT: Duration = Duration::from_secs(60);
const TOOLKIT: &str = "Keep Toolkit's session files up to date";

/// Waits until the tray menu's lines are `expected`.
async fn wait_for_lines(tray: &TrayIcon, expected: &[String]) {
    let mut last = Vec::new();
    let seen = tokio::time::timeout(WAIT, async {
        loop {
            last = tray.lines().await;
            if last == expected {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;
    assert!(
        seen.is_ok(),
        "the tray menu never read\n{expected:#?}\nbut\n{last:#?}"
    );
}

/// The menu's expected lines, for toggles shown as `[x]` or `[ ]`.
#[derive(Debug)]
struct Expected {
    version: String,
    one: String,
    two: String,
}

impl Expected {
    fn footer(&self, keep_alive: &str, toolkit: &str) -> Vec<String> {
        vec![
            "---".to_owned(),
            format!("Keep sessions alive [{keep_alive}]"),
            format!("{TOOLKIT} [{toolkit}]"),
            "Start at login [ ]".to_owned(),
            "---".to_owned(),
            "Accounts…".to_owned(),
            format!("({})", self.version),
            "Quit".to_owned(),
        ]
    }

    /// Nobody signed in (keep-alive off warns of nothing then).
    fn nobody(&self, keep_alive: &str, toolkit: &str) -> Vec<String> {
        let mut menu: Vec<String> = [
            "(Not signed in)",
            "---",
            "Sign in…",
            "(Sign out)",
            "(Sign out everywhere)",
        ]
        .map(ToOwned::to_owned)
        .into();
        menu.extend(self.footer(keep_alive, toolkit));
        menu
    }

    /// `artist` on site one and `lead` on site two, `default` the default.
    fn two_people(&self, default: &str, keep_alive: &str, toolkit: &str) -> Vec<String> {
        let (one, two) = (&self.one, &self.two);
        let (headline, switch) = if default == "artist" {
            (
                format!("(artist @ {one})"),
                format!("Default site > artist @ {one} [x] | lead @ {two} [ ]"),
            )
        } else {
            // Most recently used first.
            (
                format!("(lead @ {two})"),
                format!("Default site > lead @ {two} [x] | artist @ {one} [ ]"),
            )
        };
        let mut menu = vec![headline];
        if keep_alive == " " {
            menu.push("(Keep-alive is off: sessions may idle out)".to_owned());
        }
        menu.extend([
            "---".to_owned(),
            switch,
            "Sign in…".to_owned(),
            "Sign out".to_owned(),
            "Sign out everywhere".to_owned(),
        ]);
        menu.extend(self.footer(keep_alive, toolkit));
        menu
    }
}

/// A JSON answer's `key`, from `fpt-login ARGS`.
async fn cli_json(profile: &Profile, args: &[&str], key: &str) -> serde_json::Value {
    let out = profile.cli(args).await;
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    json[key].clone()
}

/// Everyone signed in, on any site.
async fn signed_in(profile: &Profile) -> Vec<String> {
    let status = profile.status_json().await;
    status["sites"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|s| s["users"].as_array().into_iter().flatten())
        .filter_map(|u| u["login"].as_str().map(ToOwned::to_owned))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_tray_menu_shows_who_is_signed_in_follows_changes_and_does_what_it_says() {
    let one = PasswordSite::new().start().await;
    let two = PasswordSite::new().start().await;
    let profile = Profile::new();
    let mut app = profile.spawn_app(&["--background"]);
    profile.wait_for_app().await;
    let tray = TrayIcon::of(app.pid().expect("the app runs")).await;
    let version = profile
        .command(bin("fpt-login-desktop"))
        .arg("--version")
        .output()
        .await
        .expect("--version");
    let expected = Expected {
        version: String::from_utf8_lossy(&version.stdout).trim().replacen(
            "fpt-login-desktop ",
            "FPT Login ",
            1,
        ),
        one: one.url().to_owned(),
        two: two.url().to_owned(),
    };

    wait_for_lines(&tray, &expected.nobody("x", " ")).await;
    assert!(
        tray.icon_sizes().await.iter().any(|&(w, h)| w > 0 && h > 0),
        "the icon travels with the item"
    );

    // Signed in from a terminal: the tray follows.
    sign_in_with_password(&profile, one.url(), "artist", "sesame").await;
    sign_in_with_password(&profile, two.url(), "lead", "open-up").await;
    wait_for_lines(&tray, &expected.two_people("lead", "x", " ")).await;
    assert_eq!(
        tray.tooltip().await,
        format!("FPT Login — lead @ {}", two.url())
    );

    // Each entry does what it says.
    tray.click(&format!("artist @ {}", one.url())).await;
    wait_for("the default to follow the tray", WAIT, || async {
        let token = profile.token(&[]).await.ok()?;
        (token["login"] == "artist").then_some(())
    })
    .await;
    wait_for_lines(&tray, &expected.two_people("artist", "x", " ")).await;

    // A toggle clicked on a menu drawn before it flipped asks for what that menu showed; the
    // entry at its place now asks for the opposite. Such a click must do nothing.
    let drawn_before = tray.menu().await;
    let stale = drawn_before
        .iter()
        .find(|e| e.label == TOOLKIT)
        .expect("the toggle")
        .id;
    tray.click(TOOLKIT).await;
    wait_for_lines(&tray, &expected.two_people("artist", "x", "x")).await;
    let toolkit_files = || cli_json(&profile, &["toolkit", "status", "--json"], "enabled");
    assert_eq!(toolkit_files().await, true);
    assert!(
        tray.try_click_id(stale).await.is_err(),
        "a click on the old menu's entry was taken"
    );
    assert_eq!(
        toolkit_files().await,
        true,
        "a click on the old menu turned the toggle back"
    );

    // The same when a line comes at the top: the warning that keep-alive is off.
    let everywhere = tray
        .menu()
        .await
        .iter()
        .find(|e| e.label == "Sign out everywhere")
        .expect("the entry")
        .id;
    tray.click("Keep sessions alive").await;
    wait_for_lines(&tray, &expected.two_people("artist", " ", "x")).await;
    assert!(
        tray.try_click_id(everywhere).await.is_err(),
        "a click on the old menu's entry was taken"
    );
    assert_eq!(signed_in(&profile).await.len(), 2, "nobody was signed out");
    let keep_alive = cli_json(&profile, &["settings", "--json"], "keep_alive").await;
    assert_eq!(keep_alive, false);

    // "Sign out" is the default site's person.
    tray.click("Sign out").await;
    wait_for("artist to be signed out", WAIT, || async {
        (signed_in(&profile).await == ["lead"]).then_some(())
    })
    .await;

    tray.click("Sign out everywhere").await;
    wait_for_lines(&tray, &expected.nobody(" ", "x")).await;
    assert!(signed_in(&profile).await.is_empty());

    tray.click("Quit").await;
    let exit = app.wait_for_exit().await;
    assert!(exit.success(), "Quit ends the app cleanly: {exit}");
}
