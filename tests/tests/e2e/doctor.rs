//! `fpt-login doctor` checks the real keyring, socket, app, webview, site and clock.

use fpt_login_tests::harness::Profile;
use fpt_login_tests::mock::{MockConfig, MockSite};
use serde_json::Value;

async fn doctor(profile: &Profile, site: &str) -> (Option<i32>, Vec<Value>) {
    let out = profile.cli(&["doctor", "--site", site, "--json"]).await;
    let checks: Vec<Value> = serde_json::from_slice(&out.stdout).expect("JSON");
    (out.status.code(), checks)
}

fn check<'a>(checks: &'a [Value], name: &str) -> &'a Value {
    checks
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no {name} check"))
}

#[tokio::test(flavor = "multi_thread")]
async fn everything_passes_with_the_app_running_and_failures_say_how_to_fix_them() {
    let site = MockSite::start(MockConfig::saml2()).await.expect("mock");
    let profile = Profile::new();

    let (code, checks) = doctor(&profile, site.url()).await;
    assert_eq!(code, Some(1), "the app is not running yet");
    let app = check(&checks, "app");
    assert_eq!(app["ok"], false);
    assert!(
        app["fix"]
            .as_str()
            .unwrap_or_default()
            .contains("start fpt-login-desktop"),
        "{app}"
    );
    assert_eq!(check(&checks, "keyring")["ok"], true, "{checks:?}");

    let mut running = profile.spawn_app(&["--background"]);
    profile.wait_for_app().await;
    let (code, checks) = doctor(&profile, site.url()).await;
    assert_eq!(code, Some(0), "{checks:#?}");
    for name in [
        "keyring",
        "socket folder",
        "app",
        "webview",
        "web data",
        "site",
        "sign-in",
        "clock",
    ] {
        assert_eq!(check(&checks, name)["ok"], true, "{name}: {checks:#?}");
    }
    let sign_in = check(&checks, "sign-in")["detail"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        sign_in.starts_with("saml2 site; app session launcher on; signs in with asl first"),
        "{sign_in}"
    );

    let closed = format!("http://127.0.0.1:{}", fpt_login_tests::harness::free_port());
    let (code, checks) = doctor(&profile, &closed).await;
    assert_eq!(code, Some(1));
    let unreachable = check(&checks, "site");
    assert!(
        unreachable["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("cannot reach"),
        "{unreachable}"
    );
    running.stop().await;

    // Web sign-in data someone else can read is a failed check that says how to fix it, and
    // the app's next start fixes it.
    let web = profile.home().join("data/webview/old-site");
    std::fs::create_dir_all(&web).expect("web data");
    std::fs::write(web.join("cookies"), "idp session").expect("cookies");
    set_mode(&web.join("cookies"), 0o644);
    set_mode(&web, 0o755);
    let (code, checks) = doctor(&profile, site.url()).await;
    assert_eq!(code, Some(1));
    let web_data = check(&checks, "web data");
    assert!(
        web_data["fix"]
            .as_str()
            .unwrap_or_default()
            .contains("chmod -R go-rwx"),
        "{web_data}"
    );
    let mut restarted = profile.spawn_app(&["--background"]);
    profile.wait_for_app().await;
    assert_eq!(mode(&web), 0o700);
    assert_eq!(mode(&web.join("cookies")), 0o600);
    restarted.stop().await;
}

fn set_mode(path: &std::path::Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path)
        .expect("exists")
        .permissions()
        .mode()
        & 0o777
}
