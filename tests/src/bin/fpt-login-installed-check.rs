//! Checks an installed FPT Login package the way an artist uses it, with the binaries in
//! `FPT_LOGIN_BIN_DIR` (`/usr/bin`): a web sign-in in the installed app against the mock FPT
//! site, typed into the IdP by WebDriver; the token from the installed `fpt-login` and the
//! installed Python client (system Python through its .pth file, and a DCC-style Python with
//! the documented PYTHONPATH) handed to the real `shotgun_api3`; the sign-in window matched by
//! the desktop entry's `StartupWMClass`; and "Start at login" pointing at the installed binary.
//!
//! Run by `.ci/package-check` (and `.ci/run`) under `.ci/headless`, after `apt install` of the
//! package. Prints what it checked; exits non-zero on the first failure.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, bail, ensure};
use fpt_login_tests::harness::{
    self, BIN_DIR_ENV, Profile, WebDriver, open_idp_form, submit_idp_form, wait_for,
};
use fpt_login_tests::mock::{MockConfig, MockSite};

const WAIT: Duration = Duration::from_secs(60);
/// Where the package puts the Python client, for Pythons that do not read the system's .pth.
const PYTHON_DIR: &str = "/usr/share/fpt-login/python";
const DESKTOP_ENTRY: &str = "/usr/share/applications/fpt-login-desktop.desktop";

/// The value of `key=` in a desktop entry.
fn desktop_key(entry: &str, key: &str) -> Option<String> {
    entry
        .lines()
        .find_map(|line| line.strip_prefix(key)?.strip_prefix('='))
        .map(str::to_owned)
}

/// Runs `program` with the profile's environment and `args`; its trimmed stdout on success.
async fn output(
    profile: &Profile,
    program: impl AsRef<std::ffi::OsStr>,
    args: &[&str],
    env: &[(&str, &str)],
) -> anyhow::Result<String> {
    let mut command = profile.command(program);
    for (key, value) in env {
        command.env(key, value);
    }
    let out = command.args(args).output().await?;
    ensure!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(String::from_utf8(out.stdout)?.trim().to_owned())
}

/// The WM_CLASS instance and class of the visible window whose title contains `title`.
async fn window_class(title: &str) -> Option<(String, String)> {
    let out = tokio::process::Command::new(harness::python())
        .arg(harness::workspace_root().join("tests/support/window_classes.py"))
        .output()
        .await
        .ok()?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|line| {
            let mut fields = line.split('\t');
            let name = fields.next()?;
            let instance = fields.next()?;
            let class = fields.next()?;
            name.contains(title)
                .then(|| (instance.to_owned(), class.to_owned()))
        })
}

/// The files in the autostart folder under `config` ($XDG_CONFIG_HOME), with their text.
fn autostart_entries(config: &Path) -> Vec<(PathBuf, String)> {
    std::fs::read_dir(config.join("autostart"))
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .filter_map(|e| Some((e.path(), std::fs::read_to_string(e.path()).ok()?)))
        .collect()
}

/// The installed Python client: `/usr/bin/python3` finds it through the package's .pth file, and
/// a Python of its own (as a DCC has) with the documented PYTHONPATH hands the session to the
/// real `shotgun_api3`.
async fn installed_python_client(profile: &Profile, token: &str) -> anyhow::Result<()> {
    let system_python = output(
        profile,
        "/usr/bin/python3",
        &[
            "-c",
            "import fpt_login; u = fpt_login.get_user(); print(u.login, u.session_token)",
        ],
        &[],
    )
    .await?;
    ensure!(
        system_python == format!("artist {token}"),
        "the system Python got {system_python:?}"
    );
    println!("ok  /usr/bin/python3 imports the installed fpt_login and gets the user");

    let script = "import fpt_login\n\
        sg = fpt_login.connect()\n\
        user = sg.find_one('HumanUser', [['login', 'is', 'artist']], ['login'])\n\
        print(fpt_login.__file__, user['login'])";
    let dcc = output(
        profile,
        harness::python(),
        &["-c", script],
        &[("PYTHONPATH", PYTHON_DIR)],
    )
    .await?;
    ensure!(
        dcc == format!("{PYTHON_DIR}/fpt_login.py artist"),
        "a Python with PYTHONPATH={PYTHON_DIR} got {dcc:?}"
    );
    println!("ok  a DCC-style Python (PYTHONPATH={PYTHON_DIR}) hands the session to shotgun_api3");
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let bin_dir = std::env::var_os(BIN_DIR_ENV)
        .map(PathBuf::from)
        .with_context(|| format!("set {BIN_DIR_ENV} to the installed binaries' folder"))?;
    let cli = harness::bin("fpt-login");
    let app = harness::bin("fpt-login-desktop");
    println!("checking {} and {}", cli.display(), app.display());
    let entry = std::fs::read_to_string(DESKTOP_ENTRY).context(DESKTOP_ENTRY)?;
    let wm_class = desktop_key(&entry, "StartupWMClass").context("StartupWMClass")?;

    let site = MockSite::start(MockConfig::saml2()).await?;
    let profile = Profile::new();
    let driver = WebDriver::start(&profile).await;
    let browser = open_idp_form(&driver, site.url(), site.idp_url()).await;
    let (instance, class) = wait_for("the sign-in window", WAIT, || async {
        window_class("Sign in").await
    })
    .await;
    ensure!(
        instance == wm_class || class == wm_class,
        "the sign-in window's WM_CLASS is ({instance}, {class}); the desktop entry says StartupWMClass={wm_class}"
    );
    println!("ok  the sign-in window's WM_CLASS ({instance}, {class}) matches StartupWMClass");
    submit_idp_form(&browser, "artist", "sesame").await;

    let token = wait_for("fpt-login token to succeed", WAIT, || async {
        output(&profile, &cli, &["token"], &[]).await.ok()
    })
    .await;
    ensure!(
        site.session_login(&token).as_deref() == Some("artist"),
        "the token is not a live session of the site"
    );
    println!(
        "ok  web sign-in in {}; {} token answers",
        app.display(),
        cli.display()
    );

    installed_python_client(&profile, &token).await?;

    // Start at login, then a restart from the autostart entry's command finds the session.
    let pid = profile.status_json().await["app_pid"]
        .as_u64()
        .context("the app says its pid")?;
    output(&profile, "kill", &["-TERM", &pid.to_string()], &[]).await?;
    wait_for("the app to quit", WAIT, || async {
        (profile.status_json().await["app_running"] == false).then_some(())
    })
    .await;
    drop(browser);
    drop(driver);
    start_at_login(&profile, &bin_dir, &token).await
}

/// "Start at login" writes an entry that starts the installed app for this profile; the
/// entry's own command, as the desktop runs it at login, brings back the same session.
async fn start_at_login(profile: &Profile, bin_dir: &Path, token: &str) -> anyhow::Result<()> {
    let cli = harness::bin("fpt-login");
    output(profile, &cli, &["settings", "set", "autostart", "on"], &[]).await?;
    let home = profile.home().join("home");
    let config = profile.home().join("config");
    let home_env = [
        ("HOME", home.as_path()),
        ("XDG_CONFIG_HOME", config.as_path()),
    ];
    let mut restarted = profile.spawn_app_with(&["--background"], &home_env);
    // The app applies the setting before it serves its socket; then the entry is there.
    profile.wait_for_app().await;
    wait_for("the autostart entry to be written", WAIT, || async {
        (!autostart_entries(&config).is_empty()).then_some(())
    })
    .await;
    let entries = autostart_entries(&config);
    let [(file, text)] = entries.as_slice() else {
        bail!("expected one autostart entry, found {entries:?}");
    };
    let exec = fpt_login_core::autostart::exec_arguments(text)
        .context("the autostart entry has no readable Exec")?;
    let installed = bin_dir.join("fpt-login-desktop");
    let profile_env = format!("FPT_LOGIN_HOME={}", profile.home().display());
    let expected = [
        "env",
        profile_env.as_str(),
        &installed.display().to_string(),
        "--background",
    ];
    ensure!(
        exec == expected,
        "{} runs {exec:?}, not {expected:?}",
        file.display(),
    );
    println!(
        "ok  start at login: {} runs {}",
        file.display(),
        exec.join(" ")
    );
    restarted.stop().await;
    // What the desktop does at login: the entry's command, without this profile's variable.
    let mut restarted = harness::login_item_command(&exec, &home, &config)
        .spawn()
        .context("the autostart entry's command starts")?;
    let again = wait_for("the restarted app to hand out the token", WAIT, || async {
        output(profile, &cli, &["token"], &[]).await.ok()
    })
    .await;
    ensure!(again == token, "after a restart the token changed");
    let _ = restarted.kill().await;
    println!("ok  the restarted app hands out the same session");
    Ok(())
}
