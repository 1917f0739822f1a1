//! Measures how fast other programs get the signed-in user, against the way pipeline scripts
//! do it today, in one run on one machine. Run it through `.ci/bench` (release builds, a
//! private keyring and display).
//!
//! Prints medians and each as a ratio to the baseline: a fresh `python3` that imports
//! `shotgun_api3`, reads Toolkit's `authentication.yml` with PyYAML and prints the token.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail, ensure};
use fpt_login_core::local_api::Client;
use fpt_login_core::paths::Paths;
use fpt_login_core::protocol::{Request, Response};
use fpt_login_tests::mock::{MockConfig, MockSite, SiteKind};

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

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut setup = setup().await?;
    println!(
        "FPT Login benchmark: one run, this machine ({} cores)",
        std::thread::available_parallelism()?.get()
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
    let client_call = python_client_call(&setup)?;
    let throughput = socket_throughput(&setup.socket(), 8, Duration::from_secs(3))?;

    let ratio = |d: Duration| baseline.as_secs_f64() / d.as_secs_f64();
    println!(
        "baseline (python3 + shotgun_api3 + PyYAML reads authentication.yml): median {:8.2} ms   1x",
        ms(baseline)
    );
    println!(
        "fpt-login token (app running):                                       median {:8.2} ms   {:.0}x faster",
        ms(cli_time),
        ratio(cli_time)
    );
    println!(
        "fpt_login.get_user() per call (Python client, open socket):          median {:8.3} ms   {:.0}x faster",
        ms(client_call),
        ratio(client_call)
    );
    println!(
        "socket get_user, 8 connections for 3 s:                              {throughput:8.0} requests/s"
    );
    let _ = setup.app.kill();
    Ok(())
}
