//! Starting at login: off by default; the setting (also the tray's "Start at login") makes the
//! app write, or remove, the desktop's autostart entry, which starts this profile in the tray.

use std::path::{Path, PathBuf};
use std::time::Duration;

use fpt_login_core::autostart::exec_arguments;
use fpt_login_tests::harness::{self, Profile, wait_for};

/// The entries in an autostart folder, with their text.
fn autostart_entries(dir: &Path) -> Vec<(PathBuf, String)> {
    std::fs::read_dir(dir)
        .map(|dir| {
            dir.filter_map(Result::ok)
                .filter_map(|e| Some((e.path(), std::fs::read_to_string(e.path()).ok()?)))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn start_at_login_is_off_by_default_and_follows_the_setting() {
    let profile = Profile::new();
    // Never the real home's login items: the desktop reads them from $XDG_CONFIG_HOME.
    let home = profile.home().join("home");
    let config = profile.home().join("config");
    let autostart = config.join("autostart");
    let env = [
        ("HOME", home.as_path()),
        ("XDG_CONFIG_HOME", config.as_path()),
    ];

    let mut app = profile.spawn_app_with(&["--background"], &env);
    // The app makes the login item match the setting before it serves its socket.
    profile.wait_for_app().await;
    assert!(autostart_entries(&autostart).is_empty(), "off by default");
    app.stop().await;

    let out = profile.cli(&["settings", "set", "autostart", "on"]).await;
    assert!(out.status.success());
    let mut app = profile.spawn_app_with(&["--background"], &env);
    let entries = wait_for(
        "the autostart entry to be written",
        Duration::from_secs(60),
        || async {
            let entries = autostart_entries(&autostart);
            (!entries.is_empty()).then_some(entries)
        },
    )
    .await;
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert!(
        autostart_entries(&home.join(".config/autostart")).is_empty(),
        "not beside $XDG_CONFIG_HOME"
    );
    let (file, text) = &entries[0];
    let name = file.file_name().unwrap().to_string_lossy();
    assert!(
        name.starts_with("fpt-login-profile-") && name.ends_with(".desktop"),
        "{name}"
    );
    let exec = exec_arguments(text).unwrap_or_else(|| panic!("no Exec in {text}"));
    let program = harness::bin("fpt-login-desktop");
    let profile_env = format!("FPT_LOGIN_HOME={}", profile.home().display());
    assert_eq!(
        exec,
        [
            "env",
            profile_env.as_str(),
            program.to_str().unwrap(),
            "--background"
        ],
        "starts this profile in the tray: {text}"
    );
    app.stop().await;
    assert!(
        !profile.status_json().await["app_running"]
            .as_bool()
            .unwrap_or(true)
    );

    // What the desktop does at login: the entry's command, in an environment that knows
    // nothing of this profile, starts this profile's app.
    let mut started = harness::login_item_command(&exec, &home, &config)
        .spawn()
        .expect("the entry's command starts");
    profile.wait_for_app().await;
    let _ = started.kill().await;

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
        || async { autostart_entries(&autostart).is_empty().then_some(()) },
    )
    .await;
}
