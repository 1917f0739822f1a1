//! Measures how fast other programs get the signed-in user, against the way pipeline scripts
//! do it today, in one run on one machine. Run it through `.ci/bench` (release builds, a
//! private keyring and display).
//!
//! Prints medians and each as a ratio to the baseline: a fresh `python3` that imports
//! `shotgun_api3`, reads Toolkit's `authentication.yml` with PyYAML and prints the token. REST
//! tokens have their own baseline: a fresh `python3` that mints one with the session token
//! (`POST /api/v1/auth/access_token`, `grant_type=session_token`), as a script does today.
//!
//! `--timings-only` stops after the timings (a quick check of a debug build).
//!
//! Then what the app costs while it sits in the tray all day: start-up to the socket answering
//! `hello`, memory (PSS and RSS of the app and every process it started) with nobody signed in,
//! signed in without a webview, and after a web sign-in once its window closed, whether a
//! WebKit process is still alive then, CPU time and context switches over a minute idle, and
//! the size of the binaries.
//!
//! And `fpt-login token` while the socket is abused (1,000 idle connections, 100 MB streamed
//! without a newline, a subscriber that never reads): its median against the quiet one, the
//! app's memory before, under and after the abuse, and whether the app is still up.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail, ensure};
use fpt_login_core::local_api::Client;
use fpt_login_core::paths::Paths;
use fpt_login_core::protocol::{Request, Response};
use fpt_login_tests::harness::{self, Profile};
use fpt_login_tests::mock::{MockConfig, MockSite, SiteKind};
use fpt_login_tests::process_tree;
use fpt_login_tests::socket_abuse::{Abuse, Load};

/// The binaries next to this one (so a release bench measures release binaries).
fn sibling(name: &str) -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let path = exe.with_file_name(name);
    ensure!(
        path.exists(),
        "{} is missing; build it first (.ci/bench does)",
        path.display()
    );
    Ok(path)
}

fn python() -> PathBuf {
    std::env::var_os("FPT_TEST_PYTHON").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/python"),
        PathBuf::from,
    )
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort_unstable();
    samples[samples.len() / 2]
}

/// Median wall time of `runs` runs of `command`, which must succeed and print `expect`.
fn time_command(
    runs: usize,
    expect: &str,
    mut command: impl FnMut() -> Command,
) -> anyhow::Result<Duration> {
    let mut samples = Vec::with_capacity(runs);
    for _ in 0..runs {
        let started = Instant::now();
        let out = command().stdin(Stdio::null()).output()?;
        samples.push(started.elapsed());
        ensure!(
            out.status.success(),
            "command failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        ensure!(
            String::from_utf8_lossy(&out.stdout).trim() == expect,
            "unexpected output"
        );
    }
    Ok(median(samples))
}

/// Toolkit's cache files for the user, as tk-core writes them, under `root` (`SHOTGUN_HOME`).
fn write_toolkit_cache(
    root: &Path,
    site: &str,
    login: &str,
    token: &str,
) -> anyhow::Result<PathBuf> {
    let host = site.split("://").nth(1).unwrap_or(site);
    let folder = root.join(host.split(':').next().unwrap_or(host));
    std::fs::create_dir_all(&folder)?;
    std::fs::write(
        root.join("authentication.yml"),
        format!("current_host: {site}\nrecent_hosts:\n- {site}\n"),
    )?;
    let file = folder.join("authentication.yml");
    std::fs::write(
        &file,
        format!(
            "current_user: {login}\nrecent_users:\n- {login}\nusers:\n- login: {login}\n  session_token: {token}\n"
        ),
    )?;
    Ok(root.to_path_buf())
}

const BASELINE: &str = "import os, yaml, shotgun_api3\n\
root = os.environ['SHOTGUN_HOME']\n\
host = yaml.safe_load(open(os.path.join(root, 'authentication.yml')))['current_host']\n\
folder = host.split('://')[1].split(':')[0]\n\
site = yaml.safe_load(open(os.path.join(root, folder, 'authentication.yml')))\n\
user = [u for u in site['users'] if u['login'] == site['current_user']][0]\n\
print(user['session_token'])";

/// A script minting its own REST token from the session token, with the standard library.
const REST_BASELINE: &str = "import json, os, urllib.parse, urllib.request\n\
form = urllib.parse.urlencode({'grant_type': 'session_token', 'session_token': os.environ['TOKEN']})\n\
request = urllib.request.Request(os.environ['SITE'] + '/api/v1/auth/access_token?' + form,\n\
    data=b'', headers={'Accept': 'application/json',\n\
                       'Content-Type': 'application/x-www-form-urlencoded'})\n\
with urllib.request.urlopen(request) as reply:\n    \
    print(json.load(reply)['token_type'])";

const CLIENT_LOOP: &str = "import sys, time\n\
sys.path.insert(0, sys.argv[1])\n\
import fpt_login\n\
client = fpt_login.Client(cli='/nonexistent')\n\
token = client.get_user().session_token\n\
samples = []\n\
for _ in range(int(sys.argv[2])):\n    \
    started = time.perf_counter()\n    \
    assert client.get_user().session_token == token\n    \
    samples.append(time.perf_counter() - started)\n\
samples.sort()\n\
print(samples[len(samples) // 2])";

/// Sustained `get_user` requests per second from `clients` connections over `window`.
fn socket_throughput(socket: &Path, clients: usize, window: Duration) -> anyhow::Result<f64> {
    let done = Arc::new(AtomicBool::new(false));
    let count = Arc::new(AtomicU64::new(0));
    let threads: Vec<_> = (0..clients)
        .map(|_| {
            let (done, count, socket) =
                (Arc::clone(&done), Arc::clone(&count), socket.to_path_buf());
            std::thread::spawn(move || -> anyhow::Result<()> {
                let mut client = Client::connect(&socket, Duration::from_secs(30))?;
                let request = Request::GetUser {
                    site: None,
                    min_ttl: None,
                };
                while !done.load(Ordering::Relaxed) {
                    match client.request(&request)? {
                        Response::User(_) => count.fetch_add(1, Ordering::Relaxed),
                        other => bail!("unexpected answer {other:?}"),
                    };
                }
                Ok(())
            })
        })
        .collect();
    let started = Instant::now();
    std::thread::sleep(window);
    done.store(true, Ordering::Relaxed);
    let elapsed = started.elapsed();
    for thread in threads {
        thread
            .join()
            .map_err(|_| anyhow::anyhow!("a client thread panicked"))??;
    }
    #[allow(clippy::cast_precision_loss)]
    Ok(count.load(Ordering::Relaxed) as f64 / elapsed.as_secs_f64())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// A signed-in profile with the app running, and Toolkit's cache for the same user.
struct Setup {
    cli: PathBuf,
    site: MockSite,
    home: tempfile::TempDir,
    shotgun_home: tempfile::TempDir,
    app: std::process::Child,
    token: String,
}

impl Setup {
    fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut command = Command::new(program);
        command.env("FPT_LOGIN_HOME", self.home.path());
        command
    }

    fn socket(&self) -> PathBuf {
        Paths::under(self.home.path().to_path_buf()).socket_file()
    }
}

async fn setup() -> anyhow::Result<Setup> {
    let cli = sibling("fpt-login")?;
    let site = MockSite::start(MockConfig {
        kind: SiteKind::Default,
        ..MockConfig::saml2()
    })
    .await?;
    let home = tempfile::tempdir()?;
    let app = Command::new(sibling("fpt-login-desktop")?)
        .env("FPT_LOGIN_HOME", home.path())
        .arg("--background")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    let mut setup = Setup {
        cli,
        site,
        home,
        shotgun_home: tempfile::tempdir()?,
        app,
        token: String::new(),
    };
    let started = Instant::now();
    while Client::connect(&setup.socket(), Duration::from_secs(5)).is_err() {
        ensure!(
            started.elapsed() < Duration::from_secs(60),
            "the app did not start"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut login = setup
        .command(&setup.cli)
        .args([
            "login",
            "--site",
            setup.site.url(),
            "--method",
            "credentials",
        ])
        .args(["--login", "artist", "--password-stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()?;
    std::io::Write::write_all(&mut login.stdin.take().context("stdin")?, b"sesame\n")?;
    ensure!(login.wait()?.success(), "signing in failed");
    let out = setup.command(&setup.cli).arg("token").output()?;
    String::from_utf8(out.stdout)?
        .trim()
        .clone_into(&mut setup.token);
    write_toolkit_cache(
        setup.shotgun_home.path(),
        setup.site.url(),
        "artist",
        &setup.token,
    )?;
    Ok(setup)
}

/// Median time of one `get_user()` of the Python client on an open connection.
fn python_client_call(setup: &Setup) -> anyhow::Result<Duration> {
    let client_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../clients/python");
    let out = setup
        .command(python())
        .args(["-c", CLIENT_LOOP])
        .arg(&client_dir)
        .arg("2000")
        .output()?;
    ensure!(
        out.status.success(),
        "python client: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(Duration::from_secs_f64(
        String::from_utf8(out.stdout)?.trim().parse()?,
    ))
}

/// `fpt-login token --rest` with the app running (its token cached) against a fresh `python3`
/// minting its own REST token.
fn rest_timings(setup: &Setup) -> anyhow::Result<()> {
    let rest_baseline = time_command(15, "Bearer", || {
        let mut c = Command::new(python());
        c.args(["-c", REST_BASELINE])
            .env("SITE", setup.site.url())
            .env("TOKEN", &setup.token);
        c
    })?;
    // The first call mints; the app then serves the same token from memory.
    let cached = setup
        .command(&setup.cli)
        .args(["token", "--rest"])
        .output()?;
    ensure!(cached.status.success(), "fpt-login token --rest failed");
    let cached = String::from_utf8(cached.stdout)?.trim().to_owned();
    let rest_time = time_command(50, &cached, || {
        let mut c = setup.command(&setup.cli);
        c.args(["token", "--rest"]);
        c
    })?;
    println!(
        "REST baseline (python3 mints with the session token):                median {:8.2} ms   1x",
        ms(rest_baseline)
    );
    println!(
        "fpt-login token --rest (app running, token cached):                  median {:8.2} ms   {:.0}x faster",
        ms(rest_time),
        rest_baseline.as_secs_f64() / rest_time.as_secs_f64()
    );
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    if std::env::args().any(|a| a == "--tray-only") {
        return in_the_tray(None).await;
    }
    let mut setup = setup().await?;
    println!(
        "FPT Login benchmark: one run, this machine ({} cores)",
        std::thread::available_parallelism()?.get()
    );
    settle().await;
    report_memory(
        "signed in with a password (no webview ever), 10 s after",
        setup.app.id(),
    );
    let baseline = time_command(15, &setup.token, || {
        let mut c = Command::new(python());
        c.args(["-c", BASELINE])
            .env("SHOTGUN_HOME", setup.shotgun_home.path());
        c
    })?;
    let cli_time = time_command(50, &setup.token, || {
        let mut c = setup.command(&setup.cli);
        c.arg("token");
        c
    })?;
    let version_output = format!("fpt-login {}", cli_version(&setup.cli)?);
    let version_time = time_command(50, &version_output, || {
        let mut c = setup.command(&setup.cli);
        c.arg("--version");
        c
    })?;
    let true_time = time_command(50, "", || Command::new("/bin/true"))?;
    let client_call = python_client_call(&setup)?;
    let throughput = socket_throughput(&setup.socket(), 8, Duration::from_secs(3))?;

    let ratio = |d: Duration| baseline.as_secs_f64() / d.as_secs_f64();
    let bare = |d: Duration| d.as_secs_f64() / true_time.as_secs_f64();
    println!(
        "baseline (python3 + shotgun_api3 + PyYAML reads authentication.yml): median {:8.2} ms   1x",
        ms(baseline)
    );
    println!(
        "fpt-login token (app running):                                       median {:8.2} ms   {:.0}x faster   ({:.1}x /bin/true)",
        ms(cli_time),
        ratio(cli_time),
        bare(cli_time)
    );
    println!(
        "fpt-login --version:                                                 median {:8.2} ms                ({:.1}x /bin/true)",
        ms(version_time),
        bare(version_time)
    );
    println!(
        "/bin/true (a bare process start, for scale):                         median {:8.2} ms",
        ms(true_time)
    );
    println!(
        "fpt_login.get_user() per call (Python client, open socket):          median {:8.3} ms   {:.0}x faster",
        ms(client_call),
        ratio(client_call)
    );
    println!(
        "socket get_user, 8 connections for 3 s:                              {throughput:8.0} requests/s"
    );
    rest_timings(&setup)?;
    if std::env::args().any(|a| a == "--timings-only") {
        return Ok(());
    }

    socket_abuse(&mut setup, cli_time).await?;

    settle().await;
    report_memory(
        "the same app after the runs above (about 100,000 socket requests and the abuse), 10 s after",
        setup.app.id(),
    );
    core_only_process(&setup)?;
    // Alone from here on: PSS splits pages among every process mapping them, our own included.
    let _ = terminate(&mut setup.app);
    in_the_tray(Some((&setup.cli, true_time))).await
}

/// What the app costs idle in the tray, alone on the machine. `timings` (the CLI and the time of
/// a bare process start) adds the start-up and the binaries' sizes.
async fn in_the_tray(timings: Option<(&Path, Duration)>) -> anyhow::Result<()> {
    println!("\nIn the tray (release build):");
    println!(
        "(PSS shares each page among the processes mapping it, so other GTK and WebKit programs \
         running lower it; USS is what only the app holds; RSS counts every page it maps)"
    );
    if let Some((_, true_time)) = timings {
        let startup = startup_to_hello(7).await?;
        println!(
            "start-up, fpt-login-desktop --background to the socket answering hello: median {:.0} ms ({:.0}x /bin/true)",
            ms(startup),
            startup.as_secs_f64() / true_time.as_secs_f64()
        );
    }
    idle_app_memory(
        "nobody signed in, 10 s after start",
        nobody_signed_in_app().await?,
    )?;
    web_sign_in_idle().await?;
    if let Some((cli, _)) = timings {
        binary_sizes(cli)?;
    }
    Ok(())
}

/// `fpt-login token` while other clients abuse the app's socket, against `quiet` (its median
/// without them); the app's PSS before, under and after; and whether the app is still up.
async fn socket_abuse(setup: &mut Setup, quiet: Duration) -> anyhow::Result<()> {
    const LOAD: Load = Load {
        idle_connections: 1000,
        stream_bytes: 100 << 20,
    };
    let pid = setup.app.id();
    let pss_kib = || -> u64 { process_tree::memory(pid).iter().map(|p| p.pss_kib).sum() };
    let before = pss_kib();
    let abuse = Abuse::start(&setup.socket(), LOAD);
    let started = Instant::now();
    while !abuse.is_all_on(LOAD) {
        ensure!(
            started.elapsed() < Duration::from_secs(300),
            "the abuse did not get going: {} idle connections, {} bytes streamed",
            abuse.idle_opened(),
            abuse.streamed()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let took_to_start = started.elapsed();
    let (cli, home, token) = (
        setup.cli.clone(),
        setup.home.path().to_path_buf(),
        setup.token.clone(),
    );
    // The abusive clients run on the runtime; the timed commands block, so elsewhere.
    let loaded = tokio::task::spawn_blocking(move || {
        time_command(50, &token, || {
            let mut c = Command::new(&cli);
            c.env("FPT_LOGIN_HOME", &home).arg("token");
            c
        })
    })
    .await??;
    let during = pss_kib();
    let report = abuse.stop().await;
    settle().await;
    let after = pss_kib();
    let alive = setup.app.try_wait()?.is_none()
        && Client::connect(&setup.socket(), Duration::from_secs(5)).is_ok();

    #[allow(clippy::cast_precision_loss)]
    let mib = |kib: u64| kib as f64 / 1024.0;
    println!(
        "\nSocket abuse: {} idle connections, {} MiB streamed without a newline, a subscriber that never reads (all on after {:.1} s):",
        LOAD.idle_connections,
        LOAD.stream_bytes >> 20,
        took_to_start.as_secs_f64()
    );
    println!(
        "fpt-login token under the abuse:                                     median {:8.2} ms   {:.2}x its quiet median ({:.2} ms)",
        ms(loaded),
        loaded.as_secs_f64() / quiet.as_secs_f64(),
        ms(quiet)
    );
    println!(
        "app PSS: {:.1} MiB before, {:.1} MiB under the abuse ({:.2}x), {:.1} MiB 10 s after it ended; app still up: {}",
        mib(before),
        mib(during),
        mib(during) / mib(before).max(f64::MIN_POSITIVE),
        mib(after),
        if alive { "yes" } else { "NO" }
    );
    println!(
        "the app kept {} of {} idle connections open (it serves {} at once, closing the longest idle for newcomers), cut the stream off {} times, and {} the subscriber that never read",
        report.idle_still_open,
        report.idle_opened,
        fpt_login_core::local_api::MAX_CONNECTIONS,
        report.stream_cut_off,
        if report.subscriber_dropped {
            "dropped"
        } else {
            "still held"
        }
    );
    ensure!(alive, "the app did not survive the abuse");
    Ok(())
}

/// What a process that links the core but no GTK or WebKit costs while it waits on the socket:
/// `fpt-login watch`, subscribed to the running app. (What an agent without the webview would
/// start from.)
fn core_only_process(setup: &Setup) -> anyhow::Result<()> {
    let mut watch = setup
        .command(&setup.cli)
        .arg("watch")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()?;
    // It says it watches once subscribed.
    let mut said = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(watch.stderr.take().context("stderr")?),
        &mut said,
    )?;
    ensure!(said.contains("Watching"), "fpt-login watch: {said}");
    report_memory(
        "fpt-login watch, idle on the socket (links the core, no GTK or WebKit)",
        watch.id(),
    );
    terminate(&mut watch)
}

/// The version `fpt-login --version` prints after its name.
fn cli_version(cli: &Path) -> anyhow::Result<String> {
    let out = Command::new(cli).arg("--version").output()?;
    let text = String::from_utf8(out.stdout)?;
    Ok(text
        .trim()
        .strip_prefix("fpt-login ")
        .context("fpt-login --version")?
        .to_owned())
}

/// How long the app waits before measuring: the 10 s the measurement is defined with, so
/// start-up and closing work is over.
async fn settle() {
    tokio::time::sleep(Duration::from_secs(10)).await;
}

/// Starts the app in the tray with a new, empty profile, without logs.
fn spawn_background_app(home: &Path) -> anyhow::Result<std::process::Child> {
    Ok(Command::new(sibling("fpt-login-desktop")?)
        .env("FPT_LOGIN_HOME", home)
        .env("SHOTGUN_HOME", home.join("shotgun"))
        .arg("--background")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?)
}

/// Asks the process to quit as a session logout does, and waits until it has.
fn terminate(child: &mut std::process::Child) -> anyhow::Result<()> {
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()?;
    ensure!(killed.success(), "kill -TERM {} failed", child.id());
    child.wait()?;
    Ok(())
}

/// Median time from starting `fpt-login-desktop --background` to its socket answering
/// `hello`, over `runs` starts (after one not counted, which creates the profile).
async fn startup_to_hello(runs: usize) -> anyhow::Result<Duration> {
    let home = tempfile::tempdir()?;
    let socket = Paths::under(home.path().to_path_buf()).socket_file();
    let mut samples = Vec::with_capacity(runs);
    for run in 0..=runs {
        let started = Instant::now();
        let mut app = spawn_background_app(home.path())?;
        while Client::connect(&socket, Duration::from_secs(5)).is_err() {
            ensure!(
                started.elapsed() < Duration::from_secs(60),
                "the app did not answer on its socket"
            );
            ensure!(app.try_wait()?.is_none(), "the app exited at start-up");
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        if run > 0 {
            samples.push(started.elapsed());
        }
        terminate(&mut app)?;
    }
    Ok(median(samples))
}

/// The app, idle in the tray with a profile nobody signed in to.
struct IdleApp {
    child: std::process::Child,
    _home: tempfile::TempDir,
}

async fn nobody_signed_in_app() -> anyhow::Result<IdleApp> {
    let home = tempfile::tempdir()?;
    let socket = Paths::under(home.path().to_path_buf()).socket_file();
    let child = spawn_background_app(home.path())?;
    let started = Instant::now();
    while Client::connect(&socket, Duration::from_secs(5)).is_err() {
        ensure!(
            started.elapsed() < Duration::from_secs(60),
            "the app did not start"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    settle().await;
    Ok(IdleApp { child, _home: home })
}

fn idle_app_memory(what: &str, mut app: IdleApp) -> anyhow::Result<()> {
    report_memory(what, app.child.id());
    terminate(&mut app.child)
}

/// Prints the memory of `pid` and its descendants, and what takes most of the first; returns
/// the names of those that are WebKit's.
fn report_memory(what: &str, pid: u32) -> Vec<String> {
    let processes = process_tree::memory(pid);
    let total = |f: fn(&process_tree::Process) -> u64| processes.iter().map(f).sum::<u64>();
    #[allow(clippy::cast_precision_loss)]
    let mib = |kib: u64| kib as f64 / 1024.0;
    let dirty = processes
        .iter()
        .map(|p| p.pss_dirty_kib)
        .sum::<Option<u64>>()
        .map_or_else(
            || "unknown".to_owned(),
            |kib| format!("{:.1} MiB", mib(kib)),
        );
    println!(
        "memory, {what}: PSS {:.1} MiB (of which dirty {dirty}), RSS {:.1} MiB, USS {:.1} MiB in {} process(es)",
        mib(total(|p| p.pss_kib)),
        mib(total(|p| p.rss_kib)),
        mib(total(|p| p.uss_kib)),
        processes.len()
    );
    for p in &processes {
        println!(
            "    {:>7}  {:<16} PSS {:6.1}  RSS {:6.1}  USS {:6.1} MiB",
            p.pid,
            p.name,
            mib(p.pss_kib),
            mib(p.rss_kib),
            mib(p.uss_kib)
        );
    }
    let largest = process_tree::largest_mappings(pid, 6)
        .into_iter()
        .map(|(name, rss, uss)| {
            let short = name.rsplit('/').next().unwrap_or(&name).to_owned();
            format!("{short} {:.1}/{:.1}", mib(rss), mib(uss))
        })
        .collect::<Vec<_>>();
    println!(
        "    largest in the app (RSS/USS MiB): {}",
        largest.join(", ")
    );
    processes
        .into_iter()
        .filter(|p| p.name.starts_with("WebKit"))
        .map(|p| p.name)
        .collect()
}
/// Signs in through the site's web sign-in in the app's webview, as a person would (typing into
/// the IdP's form under Xvfb; no automation drives the app, which would keep WebKit's helpers),
/// then measures the app once the window has closed: memory, WebKit processes left, and CPU
/// over a minute of idling.
async fn web_sign_in_idle() -> anyhow::Result<()> {
    // An SSO site: the web sign-in goes through its IdP on another origin.
    let site = MockSite::start(MockConfig::saml2()).await?;
    let profile = Profile::new();
    // Info, as installed; the harness's default is trace.
    let info = std::path::Path::new("info");
    let app = profile.spawn_app_with(&["--sign-in", site.url()], &[("FPT_LOGIN_LOG", info)]);
    harness::type_idp_credentials(&site, 1, "artist", "sesame", || app.log()).await;
    harness::wait_for(
        "the web sign-in to hand out a token",
        Duration::from_secs(60),
        || async { profile.cli(&["token"]).await.status.success().then_some(()) },
    )
    .await;
    harness::wait_for(
        "the sign-in window to close",
        Duration::from_secs(60),
        || async { harness::visible_windows().await.is_empty().then_some(()) },
    )
    .await;
    let pid = profile.status_json().await["app_pid"]
        .as_u64()
        .and_then(|p| u32::try_from(p).ok())
        .context("the app says its pid")?;
    settle().await;
    let webkit = report_memory("after a web sign-in, 10 s after its window closed", pid);
    if webkit.is_empty() {
        println!("WebKit processes alive with no window open: none");
    } else {
        println!(
            "WebKit processes alive with no window open: {} (the goal is none)",
            webkit.join(", ")
        );
    }
    let idle = Duration::from_secs(60);
    let (ticks, switches) = (
        process_tree::cpu_ticks(pid),
        process_tree::context_switches(pid),
    );
    tokio::time::sleep(idle).await;
    let used_ticks = process_tree::cpu_ticks(pid).saturating_sub(ticks);
    let (used_switches, threads_ended) =
        process_tree::switches_between(&switches, &process_tree::context_switches(pid));
    #[allow(clippy::cast_precision_loss)]
    let cpu_ms = used_ticks as f64 * 1000.0 / clock_ticks_per_second()? as f64;
    #[allow(clippy::cast_precision_loss)]
    let per_second = used_switches as f64 / idle.as_secs_f64();
    println!(
        "idle for {} s after that: CPU {cpu_ms:.0} ms ({:.3} % of one core), {used_switches} context switches ({per_second:.1}/s; {threads_ended} thread(s) ended meanwhile, their last ones uncounted)",
        idle.as_secs(),
        cpu_ms / 10.0 / idle.as_secs_f64(),
    );
    let _ = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
    drop(app);
    Ok(())
}

/// `getconf CLK_TCK`: the unit of the CPU times in `/proc/<pid>/stat`.
fn clock_ticks_per_second() -> anyhow::Result<u64> {
    let out = Command::new("getconf").arg("CLK_TCK").output()?;
    let ticks: u64 = String::from_utf8(out.stdout)?.trim().parse()?;
    ensure!(ticks > 0, "getconf CLK_TCK said 0");
    Ok(ticks)
}

/// The size of the release binaries (and of the package, when `.ci/package` has built one).
fn binary_sizes(cli: &Path) -> anyhow::Result<()> {
    #[allow(clippy::cast_precision_loss)]
    let mib = |path: &Path| -> anyhow::Result<f64> {
        Ok(std::fs::metadata(path)
            .with_context(|| path.display().to_string())?
            .len() as f64
            / 1_048_576.0)
    };
    let app = sibling("fpt-login-desktop")?;
    println!("\nSizes:");
    println!("{:>8.1} MiB  {}", mib(cli)?, cli.display());
    println!("{:>8.1} MiB  {}", mib(&app)?, app.display());
    let package_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/package");
    for entry in std::fs::read_dir(package_dir).into_iter().flatten() {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "deb") {
            println!("{:>8.1} MiB  {}", mib(&path)?, path.display());
        }
    }
    Ok(())
}
