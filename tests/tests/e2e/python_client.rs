//! The Python client (`clients/python/fpt_login.py`) against the running app and the mock
//! site, with the real shotgun_api3; and without the app, through the CLI.

use fpt_login_tests::harness::{
    PasswordSite, Profile, bin, command, python, sign_in_with_password, workspace_root,
};

/// How the client may reach FPT Login.
#[derive(Clone, Copy)]
enum Via {
    /// Only the app's socket: the CLI fallback points nowhere.
    SocketOnly,
    /// The socket, else the `fpt-login` command.
    SocketOrCli,
}

/// Runs `script` with the client importable, in `profile`; returns (exit ok, stdout, stderr).
async fn client(profile: &Profile, via: Via, script: &str) -> (bool, String, String) {
    let cli = match via {
        Via::SocketOnly => std::path::PathBuf::from("/nonexistent/fpt-login"),
        Via::SocketOrCli => bin("fpt-login"),
    };
    let out = profile
        .command(python())
        .args(["-c", script])
        .env("PYTHONPATH", workspace_root().join("clients/python"))
        .env("FPT_LOGIN_CLI", cli)
        .output()
        .await
        .expect("python runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).trim().to_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const LIST_PROJECTS: &str = "import fpt_login\n\
sg = fpt_login.connect()\n\
print(','.join(p['name'] for p in sg.find('Project', [], ['name'])))";

const SIGN_IN_REQUIRED: &str = "import fpt_login\n\
try:\n    fpt_login.get_user()\n    print('no error')\n\
except fpt_login.FptLoginError as e:\n    print(e.sign_in_required, e.kind)";

#[tokio::test(flavor = "multi_thread")]
async fn the_client_talks_to_the_app_and_hands_shotgun_api3_a_session() {
    let site = PasswordSite::new()
        .with_script("farm", "farm-key")
        .start()
        .await;
    let profile = Profile::new();
    let mut app = profile.spawn_app(&["--background"]);
    profile.wait_for_app().await;
    sign_in_with_password(&profile, site.url(), "artist", "sesame").await;

    let (ok, user, err) = client(
        &profile,
        Via::SocketOnly,
        "import fpt_login\nu = fpt_login.get_user()\nprint(u.site, u.kind, u.login, repr(u), bool(u.session_token))",
    )
    .await;
    assert!(ok, "{err}");
    assert_eq!(
        user,
        format!(
            "{0} session artist <fpt_login.User artist @ {0}> True",
            site.url()
        )
    );

    let (ok, projects, err) = client(&profile, Via::SocketOnly, LIST_PROJECTS).await;
    assert!(ok, "{err}");
    assert_eq!(projects, site.config().projects.join(","));

    assert!(profile.cli(&["logout"]).await.status.success());
    let (ok, refused, err) = client(&profile, Via::SocketOnly, SIGN_IN_REQUIRED).await;
    assert!(ok, "{err}");
    assert_eq!(refused, "True sign_in_required");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn without_the_app_the_client_falls_back_to_the_cli_and_scripts_work_too() {
    let site = PasswordSite::new()
        .with_script("farm", "farm-key")
        .start()
        .await;
    let profile = Profile::new();
    let (ok, refused, err) = client(&profile, Via::SocketOrCli, SIGN_IN_REQUIRED).await;
    assert!(ok, "{err}");
    assert_eq!(refused, "True sign_in_required");

    let add = profile
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
            "farm-key\n",
            &[],
        )
        .await;
    assert!(add.status.success());

    let (ok, projects, err) = client(&profile, Via::SocketOrCli, LIST_PROJECTS).await;
    assert!(ok, "{err}");
    assert_eq!(projects, site.config().projects.join(","));
    let (ok, who, err) = client(
        &profile,
        Via::SocketOrCli,
        "import fpt_login\nu = fpt_login.get_user()\nprint(u.kind, u.api_script, repr(u))",
    )
    .await;
    assert!(ok, "{err}");
    assert_eq!(
        who,
        format!("script farm <fpt_login.User script farm @ {}>", site.url())
    );
}

#[tokio::test]
async fn the_client_stays_python_3_7_compatible_and_installs_with_pip() {
    let module = workspace_root().join("clients/python/fpt_login.py");
    let vermin = python().with_file_name("vermin");
    let out = tokio::process::Command::new(&vermin)
        .args(["--target=3.7-", "--violations", "--no-tips"])
        .arg(&module)
        .output()
        .await
        .expect("vermin runs");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    // A fresh virtual environment, offline: pip builds the client with the setuptools wheel
    // `.ci/install` keeps next to the venv.
    let venv = tempfile::tempdir().expect("temporary folder");
    let made = tokio::process::Command::new("/usr/bin/python3")
        .args(["-m", "venv"])
        .arg(venv.path())
        .status()
        .await
        .expect("venv");
    assert!(made.success());
    // Built from a copy: pip writes build/ and *.egg-info/ next to the sources.
    let source = venv.path().join("source");
    std::fs::create_dir(&source).expect("copy folder");
    for file in ["fpt_login.py", "pyproject.toml", "README.md"] {
        std::fs::copy(
            workspace_root().join("clients/python").join(file),
            source.join(file),
        )
        .expect("copy the client");
    }
    let pip = command(venv.path().join("bin/pip"))
        .args(["install", "--quiet", "--no-index", "--find-links"])
        .arg(workspace_root().join(".venv/wheels"))
        .arg(&source)
        .output()
        .await
        .expect("pip runs");
    assert!(
        pip.status.success(),
        "{}",
        String::from_utf8_lossy(&pip.stderr)
    );
    let import = tokio::process::Command::new(venv.path().join("bin/python"))
        .args(["-c", "import fpt_login; print(fpt_login.PROTOCOL_VERSION)"])
        .current_dir(venv.path())
        .output()
        .await
        .expect("python runs");
    assert_eq!(String::from_utf8_lossy(&import.stdout).trim(), "1");
}
