//! The local socket serves only the user who runs the app. A second, unprivileged user is
//! created for these tests (CI runs as root; elsewhere `sudo -n` must work).

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use fpt_login_core::Accounts;
use fpt_login_core::local_api::{self, AccountsHandler};
use fpt_login_core::paths::Paths;
use fpt_login_tests::harness::{Profile, bin};
use serde_json::Value;
use tokio::process::Command;

const OTHER_USER: &str = "fpt-login-other";
/// A raw protocol client in the system Python, which any user can run.
const HELLO_CLIENT: &str = "import json, socket, sys\n\
s = socket.socket(socket.AF_UNIX)\n\
try:\n    s.connect(sys.argv[1])\n\
except OSError as e:\n    print(json.dumps({'connect_error': e.__class__.__name__}))\n    sys.exit(0)\n\
try:\n    s.sendall(b'{\"type\": \"hello\", \"version\": 1}\\n')\n\
except BrokenPipeError:\n    pass  # refused before the hello was read: the refusal is still there to read\n\
print(s.makefile().readline().strip() or json.dumps({'closed': True}))\n";

/// Runs `program ARGS` as root (directly, or through `sudo -n`).
fn privileged(program: &str) -> Command {
    if rustix::process::getuid().is_root() {
        Command::new(program)
    } else {
        let mut command = Command::new("sudo");
        command.args(["-n", program]);
        command
    }
}

/// Creates the unprivileged second user once.
async fn ensure_other_user() {
    let exists = Command::new("id")
        .args(["-u", OTHER_USER])
        .output()
        .await
        .expect("id runs");
    if exists.status.success() {
        return;
    }
    let created = privileged("useradd")
        .args([
            "--system",
            "--no-create-home",
            "--shell",
            "/usr/sbin/nologin",
            OTHER_USER,
        ])
        .status()
        .await
        .expect("useradd runs");
    // A parallel test may have created it in the meantime.
    let exists = Command::new("id")
        .args(["-u", OTHER_USER])
        .output()
        .await
        .expect("id runs");
    assert!(
        created.success() || exists.status.success(),
        "cannot create the user {OTHER_USER}: these tests need root or passwordless sudo"
    );
}

/// Runs `program ARGS` as the second user and returns its stdout.
async fn as_other_user(
    program: &Path,
    args: &[&str],
    env: &[(&str, &Path)],
) -> (bool, String, String) {
    let mut command = privileged("runuser");
    command.args(["-u", OTHER_USER, "--", "env"]);
    for (key, value) in env {
        command.arg(format!("{key}={}", value.display()));
    }
    let out = command
        .arg(program)
        .args(args)
        .output()
        .await
        .expect("runuser runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).trim().to_owned(),
        String::from_utf8_lossy(&out.stderr).trim().to_owned(),
    )
}

async fn hello_as(user_is_other: bool, socket: &Path) -> Value {
    let python = Path::new("/usr/bin/python3");
    let socket_arg = socket.to_str().expect("utf-8 path");
    let stdout = if user_is_other {
        as_other_user(python, &["-c", HELLO_CLIENT, socket_arg], &[])
            .await
            .1
    } else {
        let out = Command::new(python)
            .args(["-c", HELLO_CLIENT, socket_arg])
            .output()
            .await
            .expect("python3 runs");
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    };
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout:?}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn the_server_refuses_a_peer_running_as_another_user() {
    ensure_other_user().await;
    // A folder anyone may enter and a socket anyone may connect to, so that only the server's
    // peer-uid check stands between the other user and the accounts.
    let dir = tempfile::tempdir().expect("temporary folder");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let socket = dir.path().join("open.sock");
    let listener = tokio::net::UnixListener::bind(&socket).expect("bind");
    std::fs::set_permissions(&socket, std::fs::Permissions::from_mode(0o777)).expect("chmod");
    let accounts = Arc::new(Accounts::new(&Paths::under(dir.path().join("home"))));
    let server = tokio::spawn(local_api::serve(
        listener.into(),
        Arc::new(AccountsHandler::new(accounts)),
        "test-server".to_owned(),
    ));

    let ours = hello_as(false, &socket).await;
    assert_eq!(ours["type"], "hello", "{ours}");
    assert_eq!(ours["server"], "test-server");

    let theirs = hello_as(true, &socket).await;
    assert_eq!(theirs["type"], "error", "{theirs}");
    assert_eq!(theirs["kind"], "forbidden", "{theirs}");
    server.abort();
}

#[tokio::test(flavor = "multi_thread")]
async fn another_user_cannot_reach_the_apps_socket_or_its_token() {
    ensure_other_user().await;
    let profile = Profile::new();
    let mut app = profile.spawn_app(&[]);
    profile.wait_for_app().await;
    let socket = Paths::under(profile.home().to_path_buf()).socket_file();

    let raw = hello_as(true, &socket).await;
    assert_eq!(raw["connect_error"], "PermissionError", "{raw}");

    // The CLI, run by the other user against this profile, gets nothing either.
    let (ok, stdout, stderr) = as_other_user(
        &bin("fpt-login"),
        &["token"],
        &[("FPT_LOGIN_HOME", profile.home())],
    )
    .await;
    assert!(!ok, "the other user's fpt-login succeeded: {stdout}");
    assert!(stdout.is_empty(), "{stdout}");
    assert!(!stderr.is_empty(), "a failure says why");

    // And the app is untouched: its own user still gets answers.
    let status = profile.cli(&["status", "--json"]).await;
    assert!(status.status.success());
    let status: Value = serde_json::from_slice(&status.stdout).expect("JSON");
    assert_eq!(status["app_running"], true);
    let _ = tokio::time::timeout(Duration::from_secs(5), app.stop()).await;
}
