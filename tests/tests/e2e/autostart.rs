//! Starting at login: off by default; the setting (also the tray's "Start at login") makes the
//! app write, or remove, the desktop's autostart entry, which starts it in the tray.

use std::path::Path;
use std::time::Duration;

use fpt_login_tests::harness::{Profile, wait_for};

/// The entries in `home`'s autostart folder. (The `auto-launch` crate behind the plugin always
/// uses `$HOME/.config/autostart`, not `$XDG_CONFIG_HOME`.)
fn autostart_entries(home: &Path) -> Vec<String> {
    std::fs::read_dir(home.join(".config/autostart"))
        .map(|dir| {
            dir.filter_map(Result::ok)
                .filter_map(|e| std::fs::read_to_string(e.path()).ok())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn start_at_login_is_off_by_default_and_follows_the_setting() {
    let profile = Profile::new();
    // Never the real home's login items.
    let config = profile.home().join("home");
    let env = [("HOME", config.as_path())];

    let mut app = profile.spawn_app_with(&["--background"], &env);
    // The app makes the login item match the setting before it serves its socket.
    profile.wait_for_app().await;
    assert!(autostart_entries(&config).is_empty(), "off by default");
    app.stop().await;

    let out = profile.cli(&["settings", "set", "autostart", "on"]).await;
    assert!(out.status.success());
    let mut app = profile.spawn_app_with(&["--background"], &env);
    let entries = wait_for(
        "the autostart entry to be written",
        Duration::from_secs(60),
        || async {
            let entries = autostart_entries(&config);
            (!entries.is_empty()).then_some(entries)
        },
    )
    .await;
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert!(entries[0].contains("fpt-login-desktop"), "{}", entries[0]);
    assert!(
        entries[0].contains("--background"),
        "starts in the tray: {}",
        entries[0]
    );
    app.stop().await;

    assert!(
        profile
            .cli(&["settings", "set", "autostart", "off"])
            .await
            .status
            .success()
    );
    let _app = profile.spawn_app_with(&["--background"], &env);
    wait_for(
        "the autostart entry to be removed again",
        Duration::from_secs(60),
        || async { autostart_entries(&config).is_empty().then_some(()) },
    )
    .await;
}
