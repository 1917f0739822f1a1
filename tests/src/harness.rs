//! What the end-to-end tests share: the built binaries, a private profile per test, the mock
//! site the password tests use, the app as a real process, WebDriver, and waiting for
//! conditions instead of sleeping.

use std::ffi::OsStr;
use std::future::Future;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime};

use tokio::process::{Child, Command};

use crate::mock::{MockConfig, MockScript, MockSite, SiteKind};

/// `target/debug` (or whichever profile built the running test or tool).
pub fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    // target/<profile>/deps/<test-binary>, or target/<profile>/<tool> for this crate's binaries
    let dir = exe.parent().expect("an executable lives in a folder");
    let dir = if dir.ends_with("deps") {
        dir.parent().expect("deps lives in target/<profile>")
    } else {
        dir
    };
    dir.to_path_buf()
}

/// Names the folder of the binaries under test instead, e.g. `/usr/bin` to check an installed
/// package.
pub const BIN_DIR_ENV: &str = "FPT_LOGIN_BIN_DIR";

/// A binary of the workspace, built by `cargo build --workspace --bins` (or in `BIN_DIR_ENV`).
/// A built binary older than a source it is built from fails the test: it would test
/// yesterday's code.
pub fn bin(name: &str) -> PathBuf {
    static SOURCES: OnceLock<Sources> = OnceLock::new();
    if let Some(dir) = std::env::var_os(BIN_DIR_ENV) {
        let path = PathBuf::from(dir).join(name);
        assert!(path.exists(), "{} is missing", path.display());
        return path;
    }
    let path = target_dir().join(name);
    if let Err(problem) = SOURCES
        .get_or_init(|| Sources::read(&workspace_root()))
        .check(name, &path)
    {
        panic!("{problem}");
    }
    path
}

/// The workspace's Rust sources and when each last changed: what tells a stale binary.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    /// Paths relative to the workspace root.
    files: Vec<(PathBuf, SystemTime)>,
}

impl Sources {
    /// The `.rs` files under `crates/`, `src-tauri/src` and `tests/src`, and the windows' files
    /// under `ui/` (compiled into the app), of the workspace at `root`, in one walk.
    pub fn read(root: &Path) -> Self {
        let mut files = Vec::new();
        let mut pending: Vec<PathBuf> = ["crates", "src-tauri/src", "tests/src", "ui"]
            .into_iter()
            .map(PathBuf::from)
            .collect();
        while let Some(dir) = pending.pop() {
            let Ok(entries) = std::fs::read_dir(root.join(&dir)) else {
                continue;
            };
            for entry in entries.filter_map(Result::ok) {
                let relative = dir.join(entry.file_name());
                let Ok(meta) = entry.metadata() else { continue };
                if meta.is_dir() {
                    pending.push(relative);
                } else if (relative.extension() == Some(OsStr::new("rs"))
                    || relative.starts_with("ui"))
                    && let Ok(changed) = meta.modified()
                {
                    files.push((relative, changed));
                }
            }
        }
        Self { files }
    }

    /// Whether `source` goes into the workspace binary `binary` (every one links the core).
    fn builds(binary: &str, source: &Path) -> bool {
        let under = |dir: &str| source.starts_with(dir);
        under("crates/core/src")
            || match binary {
                "fpt-login" => under("crates/cli/src"),
                "fpt-login-desktop" => under("src-tauri/src") || under("ui"),
                // The library (harness and mock) and its own entry point, not the other bins.
                "fpt-mock-site" => {
                    under("tests/src")
                        && (!under("tests/src/bin")
                            || source == Path::new("tests/src/bin/fpt-mock-site.rs"))
                }
                _ => false,
            }
    }

    /// The most recently changed source of `binary`.
    pub fn newest_for(&self, binary: &str) -> Option<(&Path, SystemTime)> {
        self.files
            .iter()
            .filter(|(source, _)| Self::builds(binary, source))
            .max_by_key(|(_, changed)| *changed)
            .map(|(source, changed)| (source.as_path(), *changed))
    }

    /// Whether the file at `path`, built as the workspace binary `binary`, can be run: it
    /// exists and is newer than every source it is built from. The error says how to fix it.
    pub fn check(&self, binary: &str, path: &Path) -> Result<(), String> {
        let rebuild = "run `cargo build --workspace --bins` before the tests (`.ci/test` does)";
        let built = std::fs::metadata(path)
            .and_then(|m| m.modified())
            .map_err(|e| format!("{} is missing ({e}): {rebuild}", path.display()))?;
        match self.newest_for(binary) {
            Some((source, changed)) if changed > built => Err(format!(
                "{} is older than {}, changed since it was built: {rebuild}",
                path.display(),
                source.display()
            )),
            _ => Ok(()),
        }
    }
}

/// Variables (compared without case) a developer's shell or a CI runner may set that change
/// where FPT Login and shotgun_api3 connect, what they trust or what the app loads; no child
/// of a test inherits them.
const SCRUBBED: [&str; 6] = [
    "HTTPS_PROXY",
    "HTTP_PROXY",
    "NO_PROXY",
    "ALL_PROXY",
    "SHOTGUN_API_CACERTS",
    "GDK_GL",
];
/// Toolkit's own variables (`SGTK_DEFAULT_AUTH_METHOD`, `TK_SHOTGRID_DEFAULT_LOGIN`, …) change
/// how FPT Login signs in; no child of a test inherits them either.
const SCRUBBED_PREFIXES: [&str; 2] = ["SGTK_", "TK_SHOTGRID_"];

/// Whether a child of a test must not inherit the environment variable `name`.
pub fn is_scrubbed(name: &OsStr) -> bool {
    name.to_str().is_some_and(|name| {
        SCRUBBED.iter().any(|s| name.eq_ignore_ascii_case(s))
            || SCRUBBED_PREFIXES.iter().any(|p| name.starts_with(p))
    })
}

/// A command for `program` without the test process's proxy, CA bundle and Toolkit variables
/// (what a test needs of them it sets on the command), killed when dropped.
pub fn command(program: impl AsRef<OsStr>) -> Command {
    let mut command = Command::new(program);
    for (name, _) in std::env::vars_os() {
        if is_scrubbed(&name) {
            command.env_remove(name);
        }
    }
    command.kill_on_drop(true);
    command
}

/// What a desktop runs at login for an autostart entry whose `Exec` is `exec`: its command, in
/// an environment that knows nothing of the test's profile (`FPT_LOGIN_HOME` removed), with
/// `home` and `config` as `HOME` and `XDG_CONFIG_HOME`, and no terminal.
pub fn login_item_command(exec: &[String], home: &Path, config: &Path) -> Command {
    let (program, args) = exec.split_first().expect("an Exec with a program");
    let mut login = command(program);
    login
        .args(args)
        .env_remove("FPT_LOGIN_HOME")
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", config)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    login
}

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is inside the workspace")
        .to_path_buf()
}

/// The Python with the real `shotgun_api3` installed (`.ci/run` creates `.venv`).
pub fn python() -> PathBuf {
    let path = std::env::var_os("FPT_TEST_PYTHON")
        .map_or_else(|| workspace_root().join(".venv/bin/python"), PathBuf::from);
    assert!(
        path.exists(),
        "{} is missing: create the venv with `.ci/run` (or set FPT_TEST_PYTHON)",
        path.display()
    );
    path
}

/// Runs a Python `script` in the venv (with the real `shotgun_api3`), with `SITE` and `TOKEN`
/// in its environment; returns what it printed. A failing script fails the test.
pub async fn run_python(script: &str, site: &str, token: &str) -> String {
    let out = command(python())
        .args(["-c", script])
        .env("SITE", site)
        .env("TOKEN", token)
        .output()
        .await
        .expect("python runs");
    assert!(
        out.status.success(),
        "python failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

/// Signs `login` in to `site` with `fpt-login login --method credentials` (through the app when
/// one runs for `profile`); a refusal fails the test.
pub async fn sign_in_with_password(profile: &Profile, site: &str, login: &str, password: &str) {
    let out = profile
        .password_login(site, login, password, None, &[])
        .await;
    assert!(out.status.success(), "sign-in failed: {}", stderr(&out));
}

/// The mock site the tests that sign in with a login and password share: a `default` site
/// (App Session Launcher on) where `artist` / `sesame` and `lead` / `open-up` sign in, with two
/// projects. Each test asks for what it needs on top.
#[derive(Debug, Clone)]
pub struct PasswordSite {
    config: MockConfig,
}

impl Default for PasswordSite {
    fn default() -> Self {
        Self::new()
    }
}

impl PasswordSite {
    pub fn new() -> Self {
        Self {
            config: MockConfig::password(),
        }
    }

    /// `lead` needs a two-factor code: `123456`, or the single-use backup codes `backup-1`
    /// and `backup-2`.
    #[must_use]
    pub fn with_two_factor(mut self) -> Self {
        self.config.users = MockConfig::password_with_two_factor().users;
        self
    }

    /// The site says it is a `kind` site (`ldap`, or an SSO kind that refuses passwords).
    #[must_use]
    pub fn kind(mut self, kind: SiteKind) -> Self {
        self.config.kind = kind;
        self
    }

    /// Neither the App Session Launcher nor the unified login flow: on a `default` site, login
    /// and password is then the only way in.
    #[must_use]
    pub fn password_only(mut self) -> Self {
        self.config.asl_enabled = false;
        self.config.ulf_enabled = false;
        self
    }

    /// The site's token endpoint does not know `grant_type=session_token`, as older sites.
    #[must_use]
    pub fn without_rest_session_grant(mut self) -> Self {
        self.config.rest_session_grant = false;
        self
    }

    /// The site also knows the API script `name` with `key`.
    #[must_use]
    pub fn with_script(mut self, name: &str, key: &str) -> Self {
        self.config.scripts.push(MockScript {
            name: name.to_owned(),
            key: key.to_owned(),
        });
        self
    }

    /// The configuration, for a test that changes more of it.
    pub fn config(self) -> MockConfig {
        self.config
    }

    pub async fn start(self) -> MockSite {
        MockSite::start(self.config)
            .await
            .expect("the mock site starts")
    }
}

/// How `fpt-login` refused: its exit code (-1 when a signal ended it) and what it said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    pub code: i32,
    pub stderr: String,
}

/// What a program that must have succeeded wrote to stdout, trimmed.
pub fn success_stdout(out: &Output) -> String {
    assert!(out.status.success(), "{}", stderr(out));
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// What a finished program wrote to stderr.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Polls an App Session Launcher request the way an app does, from its approval page's
/// address, as a second poller would (the token is handed out once).
pub async fn poll_request_again(site: &str, approval_url: &str) -> reqwest::Response {
    let id = approval_url
        .rsplit('/')
        .next()
        .and_then(|s| s.split('?').next())
        .expect("request id");
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("http client")
        .put(format!("{site}/internal_api/app_session_request/{id}"))
        .send()
        .await
        .expect("poll")
}

/// Polls `check` until it yields a value. Panics with `what` after `timeout`.
pub async fn wait_for<T, F, Fut>(what: &str, timeout: Duration, check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    wait_for_explained(what, timeout, check, String::new).await
}

/// [`wait_for`], and a timeout also shows what `explain` says then (a log's tail, say).
pub async fn wait_for_explained<T, F, Fut>(
    what: &str,
    timeout: Duration,
    mut check: F,
    explain: impl Fn() -> String,
) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}\n{}",
            explain()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The last `lines` lines of an app's `log` that are not `TRACE`, newest first, for failure
/// messages.
pub fn log_tail(log: &str, lines: usize) -> String {
    let tail: Vec<&str> = log
        .lines()
        .filter(|l| !l.contains("TRACE"))
        .rev()
        .take(lines)
        .collect();
    format!("app log (newest first):\n{}", tail.join("\n"))
}

/// A free loopback TCP port.
pub fn free_port() -> u16 {
    TcpListener::bind(("127.0.0.1", 0))
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// A private FPT Login profile (`FPT_LOGIN_HOME`) for one test.
#[derive(Debug)]
pub struct Profile {
    dir: tempfile::TempDir,
}

impl Default for Profile {
    fn default() -> Self {
        Self::new()
    }
}

impl Profile {
    pub fn new() -> Self {
        Self {
            dir: tempfile::Builder::new()
                .prefix("fpt-login-test.")
                .tempdir()
                .expect("a temporary folder"),
        }
    }

    pub fn home(&self) -> &Path {
        self.dir.path()
    }

    /// A command with this profile's environment and without the test process's proxy, CA
    /// bundle and Toolkit variables (see [`command`]). Toolkit's cache (`SHOTGUN_HOME`) is the
    /// profile's too, so no test ever writes the real `~/.shotgun`.
    pub fn command(&self, program: impl AsRef<OsStr>) -> Command {
        let mut command = command(program);
        command
            .env("FPT_LOGIN_HOME", self.home())
            .env("SHOTGUN_HOME", self.home().join("shotgun"));
        command
    }

    /// Runs `fpt-login ARGS` to completion.
    pub async fn cli(&self, args: &[&str]) -> Output {
        self.command(bin("fpt-login"))
            .args(args)
            .stdin(Stdio::null())
            .output()
            .await
            .expect("fpt-login runs")
    }

    /// Starts `fpt-login ARGS` (no input, output piped) and lets it run.
    pub fn spawn_cli(&self, args: &[&str]) -> Child {
        self.command(bin("fpt-login"))
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("fpt-login starts")
    }

    /// Runs `fpt-login ARGS` with `stdin` as its standard input (no terminal) and `env` added.
    pub async fn cli_with_stdin(
        &self,
        args: &[&str],
        stdin: &str,
        env: &[(&str, &Path)],
    ) -> Output {
        let mut command = self.command(bin("fpt-login"));
        for (key, value) in env {
            command.env(key, value);
        }
        let mut child = command
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("fpt-login starts");
        let mut input = child.stdin.take().expect("stdin");
        tokio::io::AsyncWriteExt::write_all(&mut input, stdin.as_bytes())
            .await
            .expect("write stdin");
        drop(input);
        child.wait_with_output().await.expect("fpt-login runs")
    }

    /// `fpt-login status --json`.
    pub async fn status_json(&self) -> serde_json::Value {
        let out = self.cli(&["status", "--json"]).await;
        serde_json::from_slice(&out.stdout).expect("status --json prints JSON")
    }

    /// `fpt-login token --json ARGS`: the user handed out, or how the CLI refused.
    pub async fn token(&self, args: &[&str]) -> Result<serde_json::Value, Refused> {
        let mut all = vec!["token", "--json"];
        all.extend_from_slice(args);
        let out = self.cli(&all).await;
        if out.status.success() {
            Ok(serde_json::from_slice(&out.stdout).expect("token --json prints JSON"))
        } else {
            Err(Refused {
                code: out.status.code().unwrap_or(-1),
                stderr: stderr(&out),
            })
        }
    }

    /// Waits until `fpt-login token --json ARGS` hands out a user (a sign-in under way is
    /// stored), and returns it; a timeout shows what `app_log` returns then.
    pub async fn wait_for_token(
        &self,
        args: &[&str],
        app_log: impl Fn() -> String,
    ) -> serde_json::Value {
        wait_for_explained(
            "fpt-login token --json to hand out a user",
            Duration::from_secs(90),
            || async { self.token(args).await.ok() },
            || log_tail(&app_log(), 40),
        )
        .await
    }

    /// The token this profile's keyring entry holds for `login` on `site`, read with
    /// `secret-tool` as any other program would.
    pub async fn keyring_lookup(&self, site: &str, login: &str) -> Option<String> {
        self.keyring_secret(&format!("person {login} @ {site}"))
            .await
    }

    /// What this profile's keyring entry `account` holds, read with `secret-tool`.
    pub async fn keyring_secret(&self, account: &str) -> Option<String> {
        let paths = fpt_login_core::paths::Paths::under(self.home().to_path_buf());
        let out = command("secret-tool")
            .args([
                "lookup",
                "service",
                &fpt_login_core::store::service_name(&paths),
                "username",
                account,
            ])
            .output()
            .await
            .expect("secret-tool runs (Debian package libsecret-tools)");
        let value = String::from_utf8(out.stdout).expect("utf-8");
        (out.status.success() && !value.is_empty()).then_some(value)
    }

    /// The session token `fpt-login token --json ARGS` hands out; a refusal fails the test.
    pub async fn session_token(&self, args: &[&str]) -> String {
        let user = self.token(args).await.expect("someone is signed in");
        user["session_token"]
            .as_str()
            .unwrap_or_else(|| panic!("no session token in {user}"))
            .to_owned()
    }

    /// `fpt-login login --site SITE --method credentials --login LOGIN --password-stdin`
    /// (and `--code CODE`), the password on stdin and `env` added.
    pub async fn password_login(
        &self,
        site: &str,
        login: &str,
        password: &str,
        code: Option<&str>,
        env: &[(&str, &Path)],
    ) -> Output {
        let mut args = vec![
            "login",
            "--site",
            site,
            "--method",
            "credentials",
            "--login",
            login,
            "--password-stdin",
        ];
        if let Some(code) = code {
            args.extend(["--code", code]);
        }
        self.cli_with_stdin(&args, &format!("{password}\n"), env)
            .await
    }

    /// Starts the desktop app with `args`; its log goes to a file in the profile.
    pub fn spawn_app(&self, args: &[&str]) -> App {
        self.spawn_app_with(args, &[])
    }

    /// [`Profile::spawn_app`] with more environment.
    pub fn spawn_app_with(&self, args: &[&str], env: &[(&str, &Path)]) -> App {
        let (file, log) = tempfile::Builder::new()
            .prefix("app-")
            .suffix(".log")
            .tempfile_in(self.home())
            .and_then(|f| f.keep().map_err(|e| e.error))
            .expect("app log file");
        let mut command = self.command(bin("fpt-login-desktop"));
        for (key, value) in env {
            command.env(key, value);
        }
        let child = command
            .args(args)
            .env("FPT_LOGIN_LOG", "trace")
            .stdin(Stdio::null())
            .stdout(file.try_clone().expect("log file handle"))
            .stderr(file)
            .spawn()
            .expect("fpt-login-desktop starts");
        App { child, log }
    }

    /// Waits until an app serves this profile's socket.
    pub async fn wait_for_app(&self) {
        wait_for(
            "the app's socket to answer",
            Duration::from_secs(60),
            || async {
                let out = self.cli(&["status", "--json"]).await;
                let json: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
                (json["app_running"] == true).then_some(())
            },
        )
        .await;
    }
}

/// The desktop app, killed when dropped.
#[derive(Debug)]
pub struct App {
    child: Child,
    log: PathBuf,
}

impl App {
    /// Everything the app logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Stops the app (SIGKILL) and waits for it to be gone.
    pub async fn stop(&mut self) {
        let _ = self.child.kill().await;
    }

    /// The app's process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// Waits (up to a minute) for the app to exit on its own.
    pub async fn wait_for_exit(&mut self) -> std::process::ExitStatus {
        tokio::time::timeout(Duration::from_secs(60), self.child.wait())
            .await
            .expect("the app exits within a minute")
            .expect("waiting for the app works")
    }
}

/// `WebKitWebDriver`, which launches the app itself so it can drive the app's webview.
#[derive(Debug)]
pub struct WebDriver {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl WebDriver {
    /// Starts WebKitWebDriver with the profile's environment (the app it launches inherits it).
    pub async fn start(profile: &Profile) -> Self {
        Self::start_with(profile, |_| {}).await
    }

    /// Like [`WebDriver::start`], with more environment for the app set by `configure`.
    pub async fn start_with(profile: &Profile, configure: impl FnOnce(&mut Command)) -> Self {
        let port = free_port();
        let log = profile.home().join("webdriver.log");
        let file = std::fs::File::create(&log).expect("webdriver log file");
        let mut command = profile.command("WebKitWebDriver");
        command
            .arg(format!("--port={port}"))
            .env("TAURI_WEBVIEW_AUTOMATION", "true")
            .env("FPT_LOGIN_LOG", "trace")
            .stdout(file.try_clone().expect("log file handle"))
            .stderr(file);
        configure(&mut command);
        let child = command
            .spawn()
            .expect("WebKitWebDriver starts (Debian package webkit2gtk-driver)");
        wait_for(
            "WebKitWebDriver to listen",
            Duration::from_secs(20),
            || async {
                tokio::net::TcpStream::connect(("127.0.0.1", port))
                    .await
                    .ok()
                    .map(|_| ())
            },
        )
        .await;
        Self { child, port, log }
    }

    /// Launches `fpt-login-desktop ARGS` under automation and connects to it.
    pub async fn launch_app(&self, args: &[&str]) -> fantoccini::Client {
        let mut caps = serde_json::Map::new();
        caps.insert(
            "webkitgtk:browserOptions".into(),
            serde_json::json!({"binary": bin("fpt-login-desktop"), "args": args}),
        );
        // WebDriver is plain HTTP on loopback; the TLS backend is never used.
        fantoccini::ClientBuilder::native()
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{}", self.port))
            .await
            .unwrap_or_else(|e| panic!("WebDriver session with the app: {e}\n{}", self.log()))
    }

    /// What WebKitWebDriver and the app it launched logged.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The app WebKitWebDriver launched, once it runs.
    pub fn app_pid(&self) -> Option<u32> {
        let driver = self.child.id()?;
        crate::process_tree::tree(driver)
            .into_iter()
            .find(|&pid| crate::process_tree::name(pid).starts_with("fpt-login-desk"))
    }
}

impl Drop for WebDriver {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

/// Closes the X11 window whose title contains `title` the way a person does (the window
/// manager's close request), retrying until the window exists.
pub async fn close_window_like_a_person(title: &str, app_log: impl Fn() -> String) {
    let script = workspace_root().join("tests/support/close_window.py");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let out = command(python())
            .arg(&script)
            .arg(title)
            .output()
            .await
            .expect("python runs");
        if out.status.success() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "could not close a window titled like {title:?}: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            log_tail(&app_log(), 30)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A key a person presses, for [`type_like_a_person`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key<'a> {
    /// Printable ASCII characters, one key each (with Shift where the character needs it).
    Text(&'a str),
    Tab,
    Return,
    /// Ctrl+A: what is typed next replaces what the field held.
    SelectAll,
}

impl Key<'_> {
    fn arg(self) -> String {
        match self {
            Key::Text(text) => format!("text:{text}"),
            Key::Tab => "tab".to_owned(),
            Key::Return => "return".to_owned(),
            Key::SelectAll => "select-all".to_owned(),
        }
    }
}

/// Types `keys` into the X11 window whose title contains `title` as a person at the keyboard
/// does (the window gets the input focus, the keys come through XTEST), retrying until the
/// window exists.
pub async fn type_like_a_person(title: &str, keys: &[Key<'_>], app_log: impl Fn() -> String) {
    let script = workspace_root().join("tests/support/type_keys.py");
    let args: Vec<String> = keys.iter().map(|k| k.arg()).collect();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let out = command(python())
            .arg(&script)
            .arg(title)
            .args(&args)
            .output()
            .await
            .expect("python runs");
        match out.status.code() {
            Some(0) => return,
            Some(1) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            _ => panic!(
                "could not type into a window titled like {title:?}: {}\n{}",
                String::from_utf8_lossy(&out.stderr),
                log_tail(&app_log(), 30)
            ),
        }
    }
}

/// Seconds until `expires_at` (epoch seconds), on this machine's clock.
pub fn seconds_left(expires_at: i64) -> i64 {
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs();
    expires_at.saturating_sub(i64::try_from(now).expect("a sane clock"))
}

/// The title of `site`'s sign-in window while it shows the IdP: the window names the host the
/// person types into.
pub fn idp_window_title(site: &MockSite) -> String {
    let idp = site
        .idp_url()
        .trim_start_matches("http://")
        .trim_end_matches('/');
    let host = idp.split(':').next().unwrap_or(idp);
    format!("Sign in to {} — {host}", site.url().trim_end_matches('/'))
}

/// Once the IdP's form has loaded for the `nth` time (it says so when its login field has the
/// focus), types `login` and `password` into the app's window showing it and presses Return,
/// as a person does — no automation drives the app.
pub async fn type_idp_credentials(
    site: &MockSite,
    nth: u64,
    login: &str,
    password: &str,
    app_log: impl Fn() -> String,
) {
    wait_for(
        &format!("the IdP's form, shown and ready {nth} times"),
        Duration::from_secs(90),
        || async { (site.counters().idp_forms_ready >= nth).then_some(()) },
    )
    .await;
    let keys = [
        Key::SelectAll,
        Key::Text(login),
        Key::Tab,
        Key::Text(password),
        Key::Return,
    ];
    type_like_a_person(&idp_window_title(site), &keys, app_log).await;
}

/// The titles of the X11 windows a person can see now.
pub async fn visible_windows() -> Vec<String> {
    let out = command(python())
        .arg(workspace_root().join("tests/support/visible_windows.py"))
        .output()
        .await
        .expect("python runs");
    assert!(out.status.success(), "{}", stderr(&out));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

/// `fpt-login watch --json`, collecting the events it prints.
#[derive(Debug)]
pub struct Watch {
    _child: Child,
    events: std::sync::Arc<std::sync::Mutex<Vec<serde_json::Value>>>,
}

impl Watch {
    /// Starts watching; returns once the app has accepted the subscription.
    pub async fn start(profile: &Profile) -> Self {
        use tokio::io::AsyncBufReadExt as _;
        let mut child = profile.spawn_cli(&["watch", "--json"]);
        let mut stderr = tokio::io::BufReader::new(child.stderr.take().expect("stderr"));
        let mut first = String::new();
        stderr
            .read_line(&mut first)
            .await
            .expect("watch says it watches");
        assert!(first.contains("Watching"), "fpt-login watch: {first}");
        let events: std::sync::Arc<std::sync::Mutex<Vec<serde_json::Value>>> =
            std::sync::Arc::default();
        let sink = std::sync::Arc::clone(&events);
        let mut lines = tokio::io::BufReader::new(child.stdout.take().expect("stdout")).lines();
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                let event = serde_json::from_str(&line).expect("one JSON event per line");
                sink.lock().expect("events lock").push(event);
            }
        });
        Self {
            _child: child,
            events,
        }
    }

    /// The `event` names seen so far, in order.
    pub fn kinds(&self) -> Vec<String> {
        self.events()
            .iter()
            .map(|e| e["event"].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    pub fn events(&self) -> Vec<serde_json::Value> {
        self.events.lock().expect("events lock").clone()
    }

    /// Waits for an event named `kind` and returns it.
    pub async fn wait_for(&self, kind: &str) -> serde_json::Value {
        wait_for(
            &format!("a {kind} event"),
            Duration::from_secs(90),
            || async { self.events().into_iter().find(|e| e["event"] == kind) },
        )
        .await
    }
}

/// A stand-in for the person's web browser (`BROWSER`): it records the addresses it is asked to
/// open.
#[derive(Debug)]
pub struct RecordingBrowser {
    log: PathBuf,
}

impl RecordingBrowser {
    pub fn new(profile: &Profile) -> Self {
        Self {
            log: profile.home().join("browser.log"),
        }
    }

    /// Sets `BROWSER` (and where to record) on `command`.
    pub fn apply(&self, command: &mut Command) {
        command
            .env(
                "BROWSER",
                workspace_root().join("tests/support/record_browser.sh"),
            )
            .env("FPT_TEST_BROWSER_LOG", &self.log);
    }

    /// The first address opened, once there is one.
    pub async fn opened(&self) -> String {
        wait_for(
            "the browser to be asked to open a page",
            Duration::from_secs(60),
            || async {
                let text = std::fs::read_to_string(&self.log).ok()?;
                text.lines().next().map(str::to_owned)
            },
        )
        .await
    }
}

/// Acts as the person in their own browser: signs in to the site (its login page, or the IdP
/// for SSO sites) and answers the App Session Launcher page at `approval_url`.
pub async fn answer_approval(approval_url: &str, login: &str, password: &str, approve: bool) {
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .no_proxy()
        .build()
        .expect("http client");
    // Unsigned, the approval page sends the browser to sign in first (with redirects).
    let page = browser
        .get(approval_url)
        .send()
        .await
        .expect("approval page");
    let url = page.url().clone();
    let html = page.text().await.expect("html");
    let form_value = |html: &str, field: &str| {
        let marker = format!("name=\"{field}\" value=\"");
        html.find(&marker).map(|i| {
            html[i + marker.len()..]
                .split('"')
                .next()
                .unwrap_or_default()
                .to_owned()
        })
    };
    let approval_page = if html.contains("id=\"approve\"") {
        html
    } else {
        let mut form = vec![
            ("username", login.to_owned()),
            ("password", password.to_owned()),
        ];
        for field in ["SAMLRequest", "RelayState", "return_path"] {
            if let Some(value) = form_value(&html, field) {
                form.push((field, value));
            }
        }
        let action = if html.contains("action=\"/idp/login\"") {
            "/idp/login"
        } else {
            "/user/login"
        };
        let signed_in = browser
            .post(url.join(action).expect("form action"))
            .form(&form)
            .send()
            .await
            .expect("sign in");
        let mut html = signed_in.text().await.expect("html");
        // SSO: the IdP answers with the SAML POST binding the browser submits by itself.
        if let Some(assertion) = form_value(&html, "SAMLResponse") {
            let relay = form_value(&html, "RelayState").unwrap_or_default();
            let acs = html
                .split("action=\"")
                .nth(1)
                .and_then(|s| s.split('"').next())
                .expect("SAML form action")
                .to_owned();
            html = browser
                .post(acs)
                .form(&[("SAMLResponse", assertion), ("RelayState", relay)])
                .send()
                .await
                .expect("SAML post")
                .text()
                .await
                .expect("html");
        }
        html
    };
    assert!(
        approval_page.contains("id=\"approve\""),
        "no approval page: {approval_page}"
    );
    let decision = if approve { "approve" } else { "deny" };
    let answered = browser
        .post(approval_url)
        .form(&[("decision", decision)])
        .send()
        .await
        .expect("answer");
    assert!(answered.status().is_success(), "{}", answered.status());
}

/// Launches the app with `--sign-in <site>` under WebDriver and waits until its webview shows
/// the IdP's form, which lives on `idp_origin`.
pub async fn open_idp_form(driver: &WebDriver, site: &str, idp_origin: &str) -> fantoccini::Client {
    let browser = driver.launch_app(&["--sign-in", site]).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let url = browser.current_url().await;
        if url
            .as_ref()
            .is_ok_and(|u| u.as_str().starts_with(idp_origin))
        {
            return browser;
        }
        assert!(
            Instant::now() < deadline,
            "the app's webview never showed the IdP at {idp_origin}; it is at {url:?}\n{}",
            driver.log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A web sign-in driven by WebDriver: the app launched with `--sign-in`, `artist` / `sesame`
/// typed into the IdP's form, and the user the app then hands out. The driver and its window
/// stay for the test.
pub async fn web_sign_in(
    profile: &Profile,
    site: &MockSite,
) -> (WebDriver, fantoccini::Client, serde_json::Value) {
    let driver = WebDriver::start(profile).await;
    let browser = open_idp_form(&driver, site.url(), site.idp_url()).await;
    submit_idp_form(&browser, "artist", "sesame").await;
    let user = profile.wait_for_token(&[], || driver.log()).await;
    (driver, browser, user)
}

/// Types a login and password into the IdP form and presses "Sign in", as a person would.
///
/// A person whose press did not take (the page still shows the same, untouched form a while
/// later: under load WebKit can drop a click that races the page's own start-up) presses again;
/// so does this, once, and says so. A form that answered (an error, another page) is left alone.
pub async fn submit_idp_form(browser: &fantoccini::Client, login: &str, password: &str) {
    let form_page = browser.current_url().await.ok();
    for _ in 0..2 {
        fill(browser, "#username", login).await;
        fill(browser, "#password", password).await;
        click(browser, "#sign-in").await;
        let left = wait_until(Duration::from_secs(20), || async {
            let here = browser.current_url().await.ok();
            // An error reading the page means the window went away: the sign-in finished.
            let moved = here.is_none() || here != form_page;
            let answered = browser
                .find(fantoccini::Locator::Css("#error"))
                .await
                .is_ok();
            moved || answered
        })
        .await;
        if left {
            return;
        }
        eprintln!("the IdP form still shows, untouched, 20 s after Sign in was pressed: again");
    }
    panic!(
        "the IdP form at {form_page:?} never submitted; the page says:\n{}",
        browser.source().await.unwrap_or_default()
    );
}

/// Replaces what the element matching `css` holds with `text`, once it is shown.
async fn fill(client: &fantoccini::Client, css: &str, text: &str) {
    let element = shown(client, css).await;
    element
        .clear()
        .await
        .unwrap_or_else(|e| panic!("clearing {css}: {e}"));
    element
        .send_keys(text)
        .await
        .unwrap_or_else(|e| panic!("typing into {css}: {e}"));
}

/// Whether `check` holds within `timeout` (checked every 50 ms).
async fn wait_until<F, Fut>(timeout: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if check().await {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Types `text` into the element matching `css`, once it is shown.
pub async fn type_into(client: &fantoccini::Client, css: &str, text: &str) {
    shown(client, css)
        .await
        .send_keys(text)
        .await
        .unwrap_or_else(|e| panic!("typing into {css}: {e}"));
}

/// The element matching `css`, once it is on the page and shown.
pub async fn shown(client: &fantoccini::Client, css: &str) -> fantoccini::elements::Element {
    wait_for(
        &format!("{css} to be shown"),
        Duration::from_secs(30),
        || async {
            let element = client.find(fantoccini::Locator::Css(css)).await.ok()?;
            element.is_displayed().await.ok()?.then_some(element)
        },
    )
    .await
}

/// Clicks the element matching `css`, once it is shown.
pub async fn click(client: &fantoccini::Client, css: &str) {
    shown(client, css)
        .await
        .click()
        .await
        .unwrap_or_else(|e| panic!("clicking {css}: {e}"));
}

/// The text of `css` once it is shown and says something.
pub async fn text_of(client: &fantoccini::Client, css: &str) -> String {
    wait_for(
        &format!("{css} to say something"),
        Duration::from_secs(60),
        || async {
            let element = client.find(fantoccini::Locator::Css(css)).await.ok()?;
            if !element.is_displayed().await.ok()? {
                return None;
            }
            let text = element.text().await.ok()?;
            (!text.trim().is_empty()).then_some(text)
        },
    )
    .await
}

/// Waits until `css` shows text containing `needle`; returns the whole text.
pub async fn wait_for_text(client: &fantoccini::Client, css: &str, needle: &str) -> String {
    wait_for(
        &format!("{css} to contain {needle:?}"),
        Duration::from_secs(60),
        || async {
            let text = client
                .find(fantoccini::Locator::Css(css))
                .await
                .ok()?
                .text()
                .await
                .ok()?;
            text.contains(needle).then_some(text)
        },
    )
    .await
}

/// Switches WebDriver to the app's window whose address satisfies `wanted` (`what` says which
/// for the timeout message), once there is one.
pub async fn switch_to_window(
    client: &fantoccini::Client,
    what: &str,
    wanted: impl Fn(&str) -> bool,
) {
    wait_for(what, Duration::from_secs(90), || async {
        for handle in client.windows().await.ok()? {
            client.switch_to_window(handle).await.ok()?;
            let url = client.current_url().await.ok()?;
            if wanted(url.as_str()) {
                return Some(());
            }
        }
        None
    })
    .await;
}
