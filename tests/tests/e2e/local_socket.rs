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

/// One client's `get_user` answers on its own connection: when each was asked, and the token.
async fn hammer_get_user(
    socket: std::path::PathBuf,
    stop: Arc<std::sync::atomic::AtomicBool>,
) -> Vec<(tokio::time::Instant, String)> {
    use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
    let stream = tokio::net::UnixStream::connect(&socket)
        .await
        .expect("connect");
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    write
        .write_all(b"{\"type\": \"hello\", \"version\": 1}\n")
        .await
        .expect("hello");
    lines.next_line().await.expect("read").expect("hello reply");
    let mut answers = Vec::new();
    while !stop.load(std::sync::atomic::Ordering::SeqCst) {
        let asked = tokio::time::Instant::now();
        write
            .write_all(b"{\"type\": \"get_user\"}\n")
            .await
            .expect("ask");
        let line = lines.next_line().await.expect("read").expect("an answer");
        let reply: Value = serde_json::from_str(&line).expect("JSON");
        let token = reply["session_token"]
            .as_str()
            .unwrap_or_else(|| panic!("no token in {reply}"))
            .to_owned();
        answers.push((asked, token));
    }
    answers
}

#[tokio::test(flavor = "multi_thread")]
async fn get_user_racing_new_sessions_never_answers_with_a_replaced_token() {
    let site = fpt_login_tests::harness::PasswordSite::new().start().await;
    let profile = Profile::new();
    let mut app = profile.spawn_app(&["--background"]);
    profile.wait_for_app().await;
    fpt_login_tests::harness::sign_in_with_password(&profile, site.url(), "artist", "sesame").await;
    let socket = Paths::under(profile.home().to_path_buf()).socket_file();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let clients: Vec<_> = (0..16)
        .map(|_| tokio::spawn(hammer_get_user(socket.clone(), Arc::clone(&stop))))
        .collect();

    // The same person signs in again and again while the clients ask: each new session is
    // stored by the app (the CLI hands it over the socket) and replaces the one before.
    let mut stored = Vec::new();
    for _ in 0..6 {
        fpt_login_tests::harness::sign_in_with_password(&profile, site.url(), "artist", "sesame")
            .await;
        let done = tokio::time::Instant::now();
        stored.push((done, profile.session_token(&[]).await));
    }
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let mut answers = Vec::new();
    for client in clients {
        answers.extend(client.await.expect("client"));
    }

    let tokens: std::collections::HashSet<&String> = stored.iter().map(|(_, t)| t).collect();
    assert_eq!(tokens.len(), stored.len(), "every sign-in is a new session");
    let mut checked = 0;
    for (asked, token) in &answers {
        // The newest session stored before this question was asked, and any stored since.
        let Some(newest) = stored.iter().rposition(|(done, _)| done < asked) else {
            continue;
        };
        checked += 1;
        assert!(
            stored[newest..].iter().any(|(_, t)| t == token),
            "an answer asked after session {newest} was stored handed out an older token"
        );
    }
    assert!(
        checked > 100,
        "the clients asked across the sign-ins ({checked} answers checked)"
    );
    let _ = tokio::time::timeout(Duration::from_secs(5), app.stop()).await;
}

/// Binds `argv[1]` as root, becomes `argv[2]` before listening (the kernel records who
/// listens then), and reports how many bytes the first client sent before hanging up.
const IMPOSTOR: &str = "import os, pwd, socket, sys\n\
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); os.chmod(sys.argv[1], 0o777)\n\
u = pwd.getpwnam(sys.argv[2]); os.setgid(u.pw_gid); os.setuid(u.pw_uid)\n\
s.listen(8); print('listening', flush=True)\n\
for _ in range(2):\n    \
    c, _ = s.accept(); c.settimeout(30)\n    \
    try:\n        \
        c.sendall(b'{\"type\": \"hello\", \"version\": 1, \"server\": \"impostor\"}\\n')\n    \
    except OSError:\n        \
        pass  # the client hung up first\n    \
    got = b''\n    \
    while True:\n        \
        try:\n            \
            data = c.recv(65536)\n        \
        except OSError:\n            \
            break\n        \
        if not data:\n            \
            break\n        \
        got += data\n    \
    print('received', len(got), flush=True)\n";

#[tokio::test(flavor = "multi_thread")]
async fn clients_refuse_a_socket_served_by_another_user_before_sending_anything() {
    use tokio::io::AsyncBufReadExt as _;
    ensure_other_user().await;
    let profile = Profile::new();
    let socket = Paths::under(profile.home().to_path_buf()).socket_file();
    let folder = socket.parent().expect("a folder");
    std::fs::create_dir(folder).expect("socket folder");
    std::fs::set_permissions(folder, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    let mut impostor = privileged("python3")
        .args(["-c", IMPOSTOR, socket.to_str().expect("utf-8"), OTHER_USER])
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("python3 starts");
    let mut said = tokio::io::BufReader::new(impostor.stdout.take().expect("stdout")).lines();
    assert_eq!(
        said.next_line().await.expect("read").as_deref(),
        Some("listening")
    );

    let out = profile.cli(&["token"]).await;
    let message = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{message}");
    assert!(message.contains("not by this user"), "{message}");
    assert_eq!(
        said.next_line().await.expect("read").as_deref(),
        Some("received 0"),
        "the CLI sent nothing"
    );

    let python = profile
        .command("/usr/bin/python3")
        .args(["-c", "import fpt_login; fpt_login.get_user()"])
        .env(
            "PYTHONPATH",
            fpt_login_tests::harness::workspace_root().join("clients/python"),
        )
        .output()
        .await
        .expect("python3 runs");
    let message = String::from_utf8_lossy(&python.stderr);
    assert!(
        message.contains("FptLoginError") && message.contains("not by this user"),
        "{message}"
    );
    assert_eq!(
        said.next_line().await.expect("read").as_deref(),
        Some("received 0"),
        "the Python client sent nothing"
    );
}
