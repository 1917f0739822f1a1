//! The harness keeps the tests honest: the binaries they run are not older than their sources,
//! and no child of a test inherits the developer's proxy, CA bundle or Toolkit variables.

use std::fs::File;
use std::path::Path;
use std::time::{Duration, SystemTime};

use fpt_login_tests::harness::{
    PasswordSite, Profile, Sources, bin, command, free_port, is_scrubbed, stderr,
};

/// Creates `path` under `root` (and its folders), last changed at `when`.
fn file_at(root: &Path, path: &str, when: SystemTime) {
    let path = root.join(path);
    std::fs::create_dir_all(path.parent().expect("a folder")).expect("folders");
    File::create(&path)
        .and_then(|f| f.set_modified(when))
        .expect("a file with that time");
}

#[test]
fn a_binary_older_than_its_sources_is_refused_with_how_to_rebuild() {
    let root = tempfile::tempdir().expect("a workspace");
    let root = root.path();
    let built = SystemTime::now() - Duration::from_secs(3600);
    let before = built - Duration::from_secs(60);
    let after = built + Duration::from_secs(60);
    file_at(root, "target/fpt-login", built);
    file_at(root, "target/fpt-mock-site", built);
    file_at(root, "crates/core/src/lib.rs", before);
    file_at(root, "crates/cli/src/main.rs", before);
    // Newer, but not what these two binaries are built from.
    file_at(root, "src-tauri/src/lib.rs", after);
    file_at(root, "tests/src/bin/fpt-login-bench.rs", after);
    file_at(root, "crates/cli/README.md", after);
    let binary = root.join("target/fpt-login");
    let mock = root.join("target/fpt-mock-site");
    assert_eq!(Sources::read(root).check("fpt-login", &binary), Ok(()));
    assert_eq!(Sources::read(root).check("fpt-mock-site", &mock), Ok(()));

    file_at(root, "crates/cli/src/login.rs", after);
    let stale = Sources::read(root)
        .check("fpt-login", &binary)
        .expect_err("a stale binary");
    assert!(
        stale.contains("older than crates/cli/src/login.rs")
            && stale.contains("run `cargo build --workspace --bins`"),
        "{stale}"
    );
    // The core goes into every binary.
    file_at(root, "crates/core/src/site.rs", after);
    assert!(
        Sources::read(root)
            .check("fpt-mock-site", &mock)
            .is_err_and(|e| e.contains("crates/core/src/site.rs"))
    );

    let missing = Sources::read(root)
        .check("fpt-login-desktop", &root.join("target/fpt-login-desktop"))
        .expect_err("a missing binary");
    assert!(
        missing.contains("is missing") && missing.contains("cargo build --workspace --bins"),
        "{missing}"
    );
}

#[test]
fn the_windows_files_are_sources_of_the_app_alone() {
    let root = tempfile::tempdir().expect("a workspace");
    let root = root.path();
    let built = SystemTime::now() - Duration::from_secs(3600);
    let before = built - Duration::from_secs(60);
    for binary in ["target/fpt-login-desktop", "target/fpt-login"] {
        file_at(root, binary, built);
    }
    for source in [
        "crates/core/src/lib.rs",
        "src-tauri/src/lib.rs",
        "ui/index.html",
    ] {
        file_at(root, source, before);
    }
    let (app, cli) = (
        root.join("target/fpt-login-desktop"),
        root.join("target/fpt-login"),
    );
    assert_eq!(Sources::read(root).check("fpt-login-desktop", &app), Ok(()));

    // A window's script is compressed into the app when it compiles.
    file_at(root, "ui/accounts.js", built + Duration::from_secs(60));
    let stale = Sources::read(root)
        .check("fpt-login-desktop", &app)
        .expect_err("an app older than its window");
    assert!(stale.contains("older than ui/accounts.js"), "{stale}");
    assert_eq!(Sources::read(root).check("fpt-login", &cli), Ok(()));
}

/// Tells the test it runs as the child [`children_never_inherit_proxy_ca_or_toolkit_variables`]
/// starts, in a polluted environment.
const POLLUTED: &str = "FPT_TEST_POLLUTED_ENVIRONMENT";

/// What a developer's shell might hold: a proxy that is down and a CA bundle that is gone, in
/// every spelling, and Toolkit's own settings.
fn pollution(closed_proxy: &str) -> Vec<(&'static str, String)> {
    let mut vars: Vec<(&str, String)> = [
        "HTTPS_PROXY",
        "https_proxy",
        "HTTP_PROXY",
        "http_proxy",
        "ALL_PROXY",
        "all_proxy",
    ]
    .into_iter()
    .map(|name| (name, closed_proxy.to_owned()))
    .collect();
    vars.extend([
        ("NO_PROXY", "example.invalid".to_owned()),
        ("no_proxy", "example.invalid".to_owned()),
        (
            "SHOTGUN_API_CACERTS",
            "/nonexistent/studio-ca.pem".to_owned(),
        ),
        ("SGTK_DEFAULT_AUTH_METHOD", "qt_web_login".to_owned()),
        (
            "TK_SHOTGRID_DEFAULT_LOGIN",
            "someone@example.invalid".to_owned(),
        ),
        ("TK_SHOTGRID_SSO_DOMAIN", "example.invalid".to_owned()),
    ]);
    vars
}

/// Runs this very test again as a child process of the test binary, with [`pollution`] in
/// its environment, and checks it passed there.
async fn run_polluted() {
    let name = module_path!()
        .split_once("::")
        .map_or(module_path!(), |(_, inner)| inner);
    let name = format!("{name}::children_never_inherit_proxy_ca_or_toolkit_variables");
    let out = tokio::process::Command::new(std::env::current_exe().expect("the test binary"))
        .args([name.as_str(), "--exact", "--nocapture"])
        .env(POLLUTED, "1")
        .envs(pollution(&format!("http://127.0.0.1:{}", free_port())))
        .kill_on_drop(true)
        .output()
        .await
        .expect("the test binary runs");
    let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), stderr(&out));
    assert!(out.status.success(), "{said}");
    assert!(said.contains("1 passed"), "the test did not run: {said}");
}

#[tokio::test(flavor = "multi_thread")]
async fn children_never_inherit_proxy_ca_or_toolkit_variables() {
    if std::env::var_os(POLLUTED).is_none() {
        run_polluted().await;
        return;
    }
    // From here on, this runs in the polluted child.
    for (name, _) in pollution("") {
        assert!(
            std::env::var_os(name).is_some(),
            "{name} is not in the environment"
        );
    }
    let site = PasswordSite::new().password_only().start().await;
    let login = [
        "login",
        "--site",
        site.url(),
        "--method",
        "credentials",
        "--login",
        "artist",
        "--password-stdin",
    ];

    // What the pollution does to a child that inherits it: the sign-in goes nowhere.
    let bare = Profile::new();
    let mut inherits = tokio::process::Command::new(bin("fpt-login"));
    inherits
        .args(login)
        .env("FPT_LOGIN_HOME", bare.home())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    let mut child = inherits.spawn().expect("fpt-login starts");
    let mut stdin = child.stdin.take().expect("stdin");
    tokio::io::AsyncWriteExt::write_all(&mut stdin, b"sesame\n")
        .await
        .expect("password");
    drop(stdin);
    let polluted = child.wait_with_output().await.expect("fpt-login runs");
    assert_eq!(polluted.status.code(), Some(1), "{}", stderr(&polluted));
    assert_eq!(site.counters().password_logins, 0);

    // The profile's children reach the mock.
    let profile = Profile::new();
    let out = profile
        .password_login(site.url(), "artist", "sesame", None, &[])
        .await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(site.counters().password_logins, 1);
    assert_eq!(
        profile.token(&[]).await.expect("signed in")["login"],
        "artist"
    );

    // And see none of it, nor do the harness's other children.
    for mut child in [profile.command("env"), command("env")] {
        let env = child.output().await.expect("env runs");
        let env = String::from_utf8_lossy(&env.stdout);
        let inherited: Vec<&str> = env
            .lines()
            .filter_map(|line| line.split_once('=').map(|(name, _)| name))
            .filter(|name| is_scrubbed(name.as_ref()))
            .collect();
        assert!(inherited.is_empty(), "inherited: {inherited:?}");
        assert!(env.contains("PATH="), "{env}");
    }
}
