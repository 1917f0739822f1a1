//! The Python client (`clients/python/fpt_login.py`) against the running app and the mock
//! site, with the real shotgun_api3; and without the app, through the CLI.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use fpt_login_tests::harness::{
    PasswordSite, Profile, bin, command, log_tail, python, sign_in_with_password, stderr,
    wait_for_explained, workspace_root,
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
        Via::SocketOnly => PathBuf::from("/nonexistent/fpt-login"),
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

/// A person's session without `XDG_RUNTIME_DIR` and without `FPT_LOGIN_HOME` (macOS, or a
/// Linux login without systemd-logind): the app keeps its socket in `<TMPDIR>/fpt-login-<uid>`.
/// Home, config and data folders are the profile's, so nothing touches the real ones.
struct NoRuntimeDir {
    profile: Profile,
}

impl NoRuntimeDir {
    /// `tmp_mode` is the temporary folder's mode: /tmp's 1777, or a private 0700.
    fn new(tmp_mode: u32) -> Self {
        use std::os::unix::fs::PermissionsExt as _;
        let profile = Profile::new();
        for dir in ["home", "config", "data", "cache", "tmp"] {
            std::fs::create_dir(profile.home().join(dir)).expect("profile folder");
        }
        std::fs::set_permissions(
            profile.home().join("tmp"),
            std::fs::Permissions::from_mode(tmp_mode),
        )
        .expect("temporary folder mode");
        Self { profile }
    }

    fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> tokio::process::Command {
        let dir = |name| self.profile.home().join(name);
        let mut command = self.profile.command(program);
        command
            .env_remove("FPT_LOGIN_HOME")
            .env_remove("XDG_RUNTIME_DIR")
            .env("HOME", dir("home"))
            .env("XDG_CONFIG_HOME", dir("config"))
            .env("XDG_DATA_HOME", dir("data"))
            .env("XDG_CACHE_HOME", dir("cache"))
            .env("TMPDIR", dir("tmp"));
        command
    }

    /// The socket the app listens on in this environment (crates/core/src/platform/runtime.rs).
    fn app_socket(&self) -> PathBuf {
        self.profile
            .home()
            .join("tmp")
            .join(format!("fpt-login-{}", rustix::process::getuid().as_raw()))
            .join("fpt-login.sock")
    }

    async fn python(&self, via: Via, script: &str) -> (bool, String, String) {
        let cli = match via {
            Via::SocketOnly => PathBuf::from("/nonexistent/fpt-login"),
            Via::SocketOrCli => bin("fpt-login"),
        };
        let out = self
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
}

#[tokio::test(flavor = "multi_thread")]
async fn without_xdg_runtime_dir_the_client_finds_the_socket_the_app_listens_on() {
    use std::os::unix::fs::FileTypeExt as _;
    let site = PasswordSite::new().start().await;
    let env = NoRuntimeDir::new(0o700);
    let log = env.profile.home().join("app.log");
    let file = std::fs::File::create(&log).expect("app log");
    let _app = env
        .command(bin("fpt-login-desktop"))
        .arg("--background")
        .env("FPT_LOGIN_LOG", "trace")
        .stdin(Stdio::null())
        .stdout(file.try_clone().expect("log handle"))
        .stderr(file)
        .spawn()
        .expect("fpt-login-desktop starts");
    let app_log = || log_tail(&std::fs::read_to_string(&log).unwrap_or_default(), 30);
    wait_for_explained(
        "the app to serve its socket",
        Duration::from_secs(60),
        || async {
            let out = env
                .command(bin("fpt-login"))
                .args(["status", "--json"])
                .stdin(Stdio::null())
                .output()
                .await
                .ok()?;
            let json: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
            (json["app_running"] == true).then_some(())
        },
        app_log,
    )
    .await;
    let socket = env.app_socket();
    assert!(
        std::fs::symlink_metadata(&socket).is_ok_and(|m| m.file_type().is_socket()),
        "the app listens elsewhere than {}\n{}",
        socket.display(),
        app_log()
    );

    let mut login = env
        .command(bin("fpt-login"))
        .args([
            "login",
            "--site",
            site.url(),
            "--method",
            "credentials",
            "--login",
            "artist",
            "--password-stdin",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("fpt-login starts");
    let mut stdin = login.stdin.take().expect("stdin");
    tokio::io::AsyncWriteExt::write_all(&mut stdin, b"sesame\n")
        .await
        .expect("password");
    drop(stdin);
    let signed_in = login.wait_with_output().await.expect("fpt-login runs");
    assert!(signed_in.status.success(), "{}", stderr(&signed_in));

    let (ok, out, err) = env
        .python(
            Via::SocketOnly,
            "import fpt_login\nprint(fpt_login.socket_path())\nprint(fpt_login.get_user().login)",
        )
        .await;
    assert!(ok, "{err}\n{}", app_log());
    assert_eq!(out, format!("{}\nartist", socket.display()));
}

#[tokio::test]
async fn without_xdg_runtime_dir_or_a_running_app_the_client_falls_back_to_the_cli() {
    // /tmp as it is: shared (1777), with the folder and the stale socket a killed app leaves.
    let env = NoRuntimeDir::new(0o1777);
    let socket = env.app_socket();
    let folder = socket.parent().expect("socket folder");
    std::fs::create_dir(folder).expect("runtime folder");
    std::fs::set_permissions(folder, std::os::unix::fs::PermissionsExt::from_mode(0o700))
        .expect("runtime folder mode");
    drop(std::os::unix::net::UnixListener::bind(&socket).expect("stale socket"));

    let (ok, refused, err) = env.python(Via::SocketOrCli, SIGN_IN_REQUIRED).await;
    assert!(ok, "{err}");
    assert_eq!(refused, "True sign_in_required", "{err}");
}

/// Runs `script` against the fake app socket (`tests/support/fake_fpt_login_app.py`) in a
/// fresh profile, with no CLI to fall back to; returns (exit ok, stdout, stderr).
async fn with_fake_app(script: &str) -> (bool, String, String) {
    let profile = Profile::new();
    let path = std::env::join_paths([
        workspace_root().join("clients/python"),
        workspace_root().join("tests/support"),
    ])
    .expect("PYTHONPATH");
    let out = profile
        .command(python())
        .args(["-c", script])
        .env("PYTHONPATH", path)
        .env("FPT_LOGIN_CLI", "/nonexistent/fpt-login")
        .output()
        .await
        .expect("python runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).trim().to_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn a_forked_child_opens_its_own_connection_and_lock() {
    let (ok, out, err) = with_fake_app(FORKED_CHILD).await;
    assert!(ok, "{out}\n{err}");
    assert_eq!(
        out,
        "os.fork while another thread waits for a reply: child answered on its own connection\n\
         parent still on its connection\n\
         fork() from C: child answered on its own connection\n\
         parent still on its connection",
        "{err}"
    );
}

const FORKED_CHILD: &str = r#"
import ctypes, os, sys, threading, time
import fpt_login
from fake_fpt_login_app import FakeApp, default_reply

release = threading.Event()

def respond(connection, request):
    if request.get("site") == "https://held.test":
        release.wait(60)
    return default_reply(connection, request)

app = FakeApp(respond)
client = fpt_login.Client(path=app.path)
client.get_user()

def connection_of(site):
    return [n for n, r in app.requests_of("get_user") if r.get("site") == site]

def in_child(fork, site):
    sys.stdout.flush()
    pid = fork()
    if pid == 0:
        code = 3
        try:
            code = 0 if client.get_user(site=site).login == "artist" else 2
        finally:
            os._exit(code)
    deadline = time.monotonic() + 20
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.WEXITSTATUS(status)
        if time.monotonic() > deadline:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            return "hung"
        time.sleep(0.05)

def check(what, site, code):
    first = {}
    for n, r in app.requests:
        first.setdefault(n, r.get("type"))
    child = connection_of(site)
    if code == 0 and child and child[0] != 1 and first[child[0]] == "hello":
        print(what + ": child answered on its own connection")
    else:
        print(what + ": child exit %r, on connections %r" % (code, child))
    client.get_user(site="https://after-" + site[8:])
    print("parent still on its connection" if connection_of("https://after-" + site[8:]) == [1]
          else "parent moved to %r" % connection_of("https://after-" + site[8:]))

held = threading.Thread(target=client.get_user, kwargs={"site": "https://held.test"})
held.start()
app.wait_for("the held request", lambda: connection_of("https://held.test"))
code = in_child(os.fork, "https://child.test")
release.set()
held.join()
check("os.fork while another thread waits for a reply", "https://child.test", code)

code = in_child(ctypes.PyDLL(None).fork, "https://raw-child.test")
check("fork() from C", "https://raw-child.test", code)
"#;

#[tokio::test]
async fn a_min_ttl_request_waits_for_a_worst_case_renewal() {
    let (ok, out, err) = with_fake_app(MIN_TTL_WAIT).await;
    assert!(ok, "{out}\n{err}");
    assert_eq!(
        out,
        "default renew-timeout: waits long enough\n\
         renew-timeout 240: waits long enough",
        "{err}"
    );
}

/// The app's worst case (src-tauri/src/refresher.rs): a call to the site (its HTTP client
/// gives up after 30 s), the silent renewal (`renew-timeout`), a call to check the result.
const MIN_TTL_WAIT: &str = r#"
import json, os, socket
import fpt_login
from fake_fpt_login_app import FakeApp, default_reply

timeouts = []
set_timeout = socket.socket.settimeout
def recording(self, value):
    timeouts.append(value)
    set_timeout(self, value)
socket.socket.settimeout = recording

in_force = []
def respond(connection, request):
    if request.get("min_ttl") is not None:
        in_force.append(timeouts[-1])
    return default_reply(connection, request)

app = FakeApp(respond)
client = fpt_login.Client(path=app.path)
for renew_timeout in (None, 240):
    if renew_timeout:
        with open(os.path.join(os.environ["FPT_LOGIN_HOME"], "settings.json"), "w") as f:
            json.dump({"renew_timeout": renew_timeout}, f)
    client.get_user(min_ttl=300)
    worst = 30 + (renew_timeout or 30) + 30
    label = "renew-timeout %d" % renew_timeout if renew_timeout else "default renew-timeout"
    if in_force[-1] is not None and in_force[-1] < worst:
        print("%s: gives up after %r s, a renewal may take %d s" % (label, in_force[-1], worst))
    else:
        print(label + ": waits long enough")
"#;

#[tokio::test]
async fn a_min_ttl_request_is_never_sent_again_once_the_app_may_have_seen_it() {
    let (ok, out, err) = with_fake_app(MIN_TTL_NOT_RESENT).await;
    assert!(ok, "{out}\n{err}");
    assert_eq!(
        out,
        "connection closed: FptLoginError, sent once\n\
         timed out: FptLoginError, sent once\n\
         next request: artist on a new connection\n\
         stale connection: min_ttl sent once, answered\n\
         stale connection: plain request answered",
        "{err}"
    );
}

const MIN_TTL_NOT_RESENT: &str = r#"
import json, os, threading
import fpt_login
from fake_fpt_login_app import FakeApp, CLOSE, default_reply, user

release = threading.Event()
def respond(connection, request):
    site = request.get("site")
    if site == "https://close.test":
        return CLOSE
    if site == "https://slow.test":
        release.wait(60)
        return user(login="late")
    return default_reply(connection, request)

app = FakeApp(respond)
client = fpt_login.Client(path=app.path)

def sent(site):
    return len([r for _, r in app.requests_of("get_user") if r.get("site") == site])

def ask(what, site):
    try:
        client.get_user(site=site, min_ttl=300)
        outcome = "no error"
    except Exception as e:
        outcome = type(e).__name__
    print("%s: %s, sent %s" % (what, outcome, "once" if sent(site) == 1 else "%d times" % sent(site)))

ask("connection closed", "https://close.test")

# A worst case that ends in a second and a half instead of minutes.
fpt_login._REQUEST_TIMEOUT = 0.5
fpt_login._SITE_CALL_TIMEOUT = 0
with open(os.path.join(os.environ["FPT_LOGIN_HOME"], "settings.json"), "w") as f:
    json.dump({"renew_timeout": 1}, f)
ask("timed out", "https://slow.test")
before = app.connections
release.set()
# The late answer must not be taken for the next request's.
user_now = client.get_user(site="https://next.test")
moved = [n for n, r in app.requests_of("get_user") if r.get("site") == "https://next.test"]
print("next request: %s on %s" % (user_now.login, "a new connection" if moved[0] > before else "the old connection"))

# An app that restarted: the idle connection is gone and nothing was delivered on it.
app.drop_connections()
client.get_user(site="https://stale.test", min_ttl=300)
print("stale connection: min_ttl sent %s, answered" % ("once" if sent("https://stale.test") == 1 else "%d times" % sent("https://stale.test")))
app.drop_connections()
client.get_user(site="https://stale-plain.test")
print("stale connection: plain request answered")
"#;

#[tokio::test]
async fn unexpected_replies_raise_fpt_login_error_saying_what_came_back_without_secrets() {
    let (ok, out, err) = with_fake_app(UNEXPECTED_REPLIES).await;
    assert!(ok, "{out}\n{err}");
    let lines: Vec<&str> = out.lines().collect();
    let cases = [
        "missing key",
        "another reply type",
        "status reply",
        "not JSON",
        "cut-off token",
        "not UTF-8",
        "JSON array",
        "token of the wrong type",
        "error without message",
        "hello answered with a user",
        "CLI printing garbage",
        "the next request",
    ];
    assert_eq!(lines.len(), cases.len(), "{out}\n{err}");
    for (line, case) in lines.iter().zip(cases) {
        assert!(line.starts_with(&format!("{case}: ")), "{line}");
        assert!(!line.contains("0123456789"), "a secret in {line}");
        if case == "the next request" {
            assert_eq!(*line, "the next request: artist");
        } else {
            assert!(line.contains(": FptLoginError: "), "{line}");
        }
    }
    // What came back is named.
    for (case, says) in [
        ("missing key", "'site'"),
        ("another reply type", "'logged_out' reply"),
        ("status reply", "'status' reply"),
        ("not JSON", "HTTP/1.1 400 Bad Request"),
        ("JSON array", "JSON list"),
        ("token of the wrong type", "'session_token'"),
        ("hello answered with a user", "'user' reply"),
        ("CLI printing garbage", "not JSON"),
    ] {
        let line = lines
            .iter()
            .find(|l| l.starts_with(case))
            .expect("case ran");
        assert!(line.contains(says), "{line} does not say {says}");
    }
}

const UNEXPECTED_REPLIES: &str = r##"
import os, stat, tempfile
import fpt_login
from fake_fpt_login_app import FakeApp, default_reply, user

SECRET = "tok-artist-0123456789"
def without(key):
    reply = user(token=SECRET)
    del reply[key]
    return reply
def with_token(value):
    reply = user()
    reply["session_token"] = value
    return reply

bad = {
    "missing key": without("site"),
    "another reply type": {"type": "logged_out", "site": "https://fake.test", "login": "artist"},
    "status reply": {"type": "status", "default_site": None, "sites": []},
    "not JSON": b"HTTP/1.1 400 Bad Request\n",
    "cut-off token": ('{"session_token":"' + SECRET + '\n').encode(),
    "not UTF-8": b"\xff\xfe\xfd\n",
    "JSON array": b"[1, 2]\n",
    "token of the wrong type": with_token(123456789),
    "error without message": {"type": "error"},
}

def respond(connection, request):
    case = request.get("site", "").replace("https://", "").replace("_", " ")
    if case in bad:
        return bad[case]
    return default_reply(connection, request)

def report(case, call):
    try:
        call()
        print(case + ": no error")
    except Exception as e:
        print("%s: %s: %s" % (case, type(e).__name__, e))

app = FakeApp(respond)
client = fpt_login.Client(path=app.path)
for case in bad:
    report(case, lambda: client.get_user(site="https://" + case.replace(" ", "_")))

def hello_with_user(connection, request):
    return user(token=SECRET)
odd = FakeApp(hello_with_user)
report("hello answered with a user", lambda: fpt_login.Client(path=odd.path).get_user())

folder = tempfile.mkdtemp()
cli = os.path.join(folder, "fpt-login")
with open(cli, "w") as f:
    f.write("#!/bin/sh\necho '{\"session_token\": \"%s'\n" % SECRET)
os.chmod(cli, stat.S_IRWXU)
report("CLI printing garbage",
       lambda: fpt_login.Client(path=os.path.join(folder, "none.sock"), cli=cli).get_user())

print("the next request: " + client.get_user().login)
"##;

#[tokio::test]
async fn a_reply_line_over_the_size_cap_raises_fpt_login_error() {
    let (ok, out, err) = with_fake_app(HUGE_REPLY).await;
    assert!(ok, "{out}\n{err}");
    assert_eq!(
        out,
        "900 KiB: answered\n\
         2 MiB: FptLoginError: the FPT Login app sent a reply line longer than 1048576 bytes; not read further\n\
         after: answered",
        "{err}"
    );
}

const HUGE_REPLY: &str = r#"
import fpt_login
from fake_fpt_login_app import FakeApp, default_reply, user

def sized(size):
    reply = user()
    reply["site"] = "https://" + "a" * size
    return reply

def respond(connection, request):
    if request.get("site") == "https://900k.test":
        return sized(900 * 1024)
    if request.get("site") == "https://2m.test":
        return sized(2 * 1024 * 1024)
    return default_reply(connection, request)

app = FakeApp(respond)
client = fpt_login.Client(path=app.path)
for label, site in (("900 KiB", "https://900k.test"), ("2 MiB", "https://2m.test"), ("after", None)):
    try:
        client.get_user(site=site)
        print(label + ": answered")
    except Exception as e:
        print("%s: %s: %s" % (label, type(e).__name__, e))
"#;

#[tokio::test(flavor = "multi_thread")]
async fn an_empty_tmpdir_puts_the_socket_in_tmp_for_the_app_and_the_client_alike() {
    let env = NoRuntimeDir::new(0o700);
    let expected = format!("/tmp/fpt-login-{}", rustix::process::getuid().as_raw());
    // Started from a folder of their own, as a desktop launcher might.
    let cwd = env.profile.home().join("home");
    let doctor = env
        .command(bin("fpt-login"))
        .arg("doctor")
        .env("TMPDIR", "")
        .current_dir(&cwd)
        .output()
        .await
        .expect("fpt-login doctor runs");
    let report = String::from_utf8_lossy(&doctor.stdout);
    assert!(
        report.contains(&format!("socket folder {expected}")),
        "the app's side: {report}"
    );
    let client = env
        .command(python())
        .args(["-c", "import fpt_login; print(fpt_login.socket_path())"])
        .env("TMPDIR", "")
        .env("PYTHONPATH", workspace_root().join("clients/python"))
        .current_dir(&cwd)
        .output()
        .await
        .expect("python runs");
    assert_eq!(
        String::from_utf8_lossy(&client.stdout).trim(),
        format!("{expected}/fpt-login.sock"),
        "the client's side: {}",
        String::from_utf8_lossy(&client.stderr)
    );
}
