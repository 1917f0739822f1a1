//! SIGKILL at random moments while `fpt-login` writes: the settings file, Toolkit's session
//! files and the keyring entries of sign-ins and API scripts. Whatever moment a kill lands on,
//! every file parses, every person and script has exactly one token in the keyring (none lost,
//! none twice), and once the next write has run no temporary file is left behind.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use fpt_login_core::settings::Settings;
use fpt_login_core::toolkit::yaml;
use fpt_login_tests::harness::{PasswordSite, Profile, bin, stderr};
use rand::{Rng as _, SeedableRng as _};
use tokio::io::AsyncWriteExt as _;

/// Kills that land while the process runs (kills after it finished do not count).
const KILLS: usize = 200;
const PEOPLE: [(&str, &str); 2] = [("artist", "sesame"), ("lead", "open-up")];
const SCRIPT: (&str, &str) = ("farm", "k3y-f0r-farm");

/// One write of FPT Login's, as a command line and what it reads on stdin.
#[derive(Debug, Clone)]
struct Write {
    args: Vec<String>,
    stdin: String,
}

fn writes(site: &str) -> Vec<Write> {
    let mut all: Vec<Write> = PEOPLE
        .iter()
        .map(|(login, password)| Write {
            args: [
                "login",
                "--site",
                site,
                "--method",
                "credentials",
                "--login",
                login,
                "--password-stdin",
            ]
            .map(str::to_owned)
            .to_vec(),
            stdin: format!("{password}\n"),
        })
        .collect();
    all.push(Write {
        args: ["script", "add", "--site", site, "--name", SCRIPT.0]
            .map(str::to_owned)
            .to_vec(),
        stdin: format!("{}\n", SCRIPT.1),
    });
    all.push(Write {
        args: ["settings", "set", "keep-alive-interval", "300"]
            .map(str::to_owned)
            .to_vec(),
        stdin: String::new(),
    });
    all
}

/// Runs `write`; with `kill_after`, sends SIGKILL that long after the start. Returns whether
/// the kill hit a running process, and how long the process ran.
async fn run(profile: &Profile, write: &Write, kill_after: Option<Duration>) -> (bool, Duration) {
    let started = Instant::now();
    let mut child = profile
        .command(bin("fpt-login"))
        .args(&write.args)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("fpt-login starts");
    let mut input = child.stdin.take().expect("stdin");
    // A kill can land before the password is read: the pipe is then closed, which is fine.
    let _ = input.write_all(write.stdin.as_bytes()).await;
    drop(input);
    let Some(after) = kill_after else {
        let out = child.wait_with_output().await.expect("fpt-login runs");
        assert!(out.status.success(), "{:?}: {}", write.args, stderr(&out));
        return (false, started.elapsed());
    };
    // The random moment is the point of this test: nothing to wait for but the clock.
    tokio::time::sleep(after).await;
    let hit = child
        .try_wait()
        .expect("the process can be polled")
        .is_none();
    let _ = child.start_kill();
    let _ = child.wait().await;
    (hit, started.elapsed())
}

/// Everything that can be checked after any kill: the files parse, and (with `keyring`) no
/// person or script has a token twice in the keyring, nor a record in settings without one.
async fn check_consistent(
    profile: &Profile,
    site: &str,
    toolkit_root: &Path,
    keyring: bool,
) -> Settings {
    let settings_path = profile.home().join("settings.json");
    let settings = match std::fs::read(&settings_path) {
        Ok(bytes) => Settings::from_json(&bytes)
            .unwrap_or_else(|e| panic!("{} does not parse: {e}", settings_path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Settings::default(),
        Err(e) => panic!("{}: {e}", settings_path.display()),
    };
    for file in toolkit_files(toolkit_root) {
        let text =
            std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let doc = yaml::load(&text).unwrap_or_else(|_| panic!("{} has aliases", file.display()));
        // FPT Login never writes an empty file: an empty read is a torn one.
        assert!(!doc.is_empty(), "{} is torn:\n{text}", file.display());
        let logins: Vec<String> = text
            .lines()
            .filter_map(|l| l.trim_start_matches("- ").trim().strip_prefix("login: "))
            .map(str::to_lowercase)
            .collect();
        let mut unique = logins.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(
            unique.len(),
            logins.len(),
            "a login twice in {}:\n{text}",
            file.display()
        );
    }

    if !keyring {
        return settings;
    }
    let entries = keyring_entries(profile, site).await;
    for (owner, count) in &entries {
        assert_eq!(*count, 1, "{owner} has {count} keyring entries");
    }
    if let Some(site_settings) = settings.sites.values().next() {
        for login in site_settings.users.keys() {
            assert!(
                entries.contains_key(&format!("person {login} @ {site}")),
                "settings list {login} but the keyring has no token: {entries:?}"
            );
        }
        for script in site_settings.scripts.keys() {
            assert!(
                entries.keys().any(|owner| owner.contains(script.as_str())),
                "settings list script {script} but the keyring has no key: {entries:?}"
            );
        }
    }
    settings
}

/// The keyring's FPT Login entries for `site`, by account name, with how many there are of
/// each, as any Secret Service client sees them.
async fn keyring_entries(profile: &Profile, site: &str) -> BTreeMap<String, usize> {
    let paths = fpt_login_core::paths::Paths::under(profile.home().to_path_buf());
    let service = fpt_login_core::store::service_name(&paths);
    let out = fpt_login_tests::harness::command("secret-tool")
        .args(["search", "--all", "service", &service])
        .output()
        .await
        .expect("secret-tool runs (Debian package libsecret-tools)");
    // secret-tool prints the attributes on stdout and the rest on stderr, depending on its
    // version: read both.
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let suffix = format!(" @ {site}");
    let mut entries = BTreeMap::new();
    for line in text.lines() {
        if let Some(account) = line.strip_prefix("attribute.username = ")
            && account.ends_with(&suffix)
        {
            *entries.entry(account.to_owned()).or_insert(0) += 1;
        }
    }
    entries
}

fn toolkit_files(root: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let global = root.join("authentication.yml");
    if global.exists() {
        found.push(global);
    }
    for entry in std::fs::read_dir(root).into_iter().flatten().flatten() {
        let file = entry.path().join("authentication.yml");
        if file.exists() {
            found.push(file);
        }
    }
    found
}

/// Files in `dir` and below that are none of FPT Login's lasting files: what a killed write
/// would leave behind.
fn temporary_files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if path.is_dir() {
            found.extend(temporary_files(&path));
        } else if name.starts_with('.') || name.contains("tmp") {
            found.push(path);
        }
    }
    found
}

#[tokio::test(flavor = "multi_thread")]
async fn kills_at_random_moments_leave_every_file_whole_and_every_token_once() {
    let site = PasswordSite::new()
        .with_script(SCRIPT.0, SCRIPT.1)
        .start()
        .await;
    let profile = Profile::new();
    let toolkit_root = profile.home().join("shotgun");
    let seed = std::env::var("FPT_LOGIN_KILL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random::<u64>);
    // Printed so that a failure can be replayed with FPT_LOGIN_KILL_SEED.
    println!("kill -9 seed: {seed}");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);

    let enabled = profile.cli(&["toolkit", "enable"]).await;
    assert!(enabled.status.success(), "{}", stderr(&enabled));
    let writes = writes(site.url());
    // Each write once without a kill: how long it runs is the span its kills are spread over.
    let mut spans = Vec::new();
    for write in &writes {
        let (_, took) = run(&profile, write, None).await;
        spans.push(took);
    }
    check_consistent(&profile, site.url(), &toolkit_root, true).await;

    let (mut kills, mut attempts, mut left_by_kills) = (0usize, 0usize, 0usize);
    while kills < KILLS {
        attempts += 1;
        assert!(
            attempts < KILLS * 4,
            "only {kills} of {attempts} kills hit a running process"
        );
        let which = rng.random_range(0..writes.len());
        let span = spans[which].as_micros().max(1);
        let after =
            Duration::from_micros(u64::try_from(rng.random_range(0..span)).unwrap_or(u64::MAX));
        let (hit, _) = run(&profile, &writes[which], Some(after)).await;
        if hit {
            kills += 1;
        }
        // The keyring is asked every few kills: a duplicate or a lost token stays once made.
        check_consistent(&profile, site.url(), &toolkit_root, kills % 5 == 0).await;
        // Toolkit's folder (SHOTGUN_HOME) is inside the profile.
        left_by_kills += temporary_files(profile.home()).len();
    }

    // The next writes, unkilled, find whatever the kills left and finish the job.
    for write in &writes {
        run(&profile, write, None).await;
    }
    let settings = check_consistent(&profile, site.url(), &toolkit_root, true).await;
    let leftovers = temporary_files(profile.home());
    assert!(
        leftovers.is_empty(),
        "left behind after {kills} kills: {leftovers:?}"
    );

    // None lost: every person and the script have their token, and it is the one served.
    let site_settings = settings.sites.values().next().expect("the site is known");
    for (login, _) in PEOPLE {
        assert!(
            site_settings.users.contains_key(login),
            "{login} is gone from settings"
        );
        assert!(
            profile.keyring_lookup(site.url(), login).await.is_some(),
            "{login}'s token is lost"
        );
    }
    assert!(
        site_settings.scripts.contains_key(SCRIPT.0),
        "the script is gone"
    );
    let last = PEOPLE[PEOPLE.len() - 1].0;
    let served = profile.session_token(&["--site", site.url()]).await;
    assert_eq!(
        Some(served.clone()),
        profile.keyring_lookup(site.url(), last).await
    );
    let site_file = toolkit_files(&toolkit_root)
        .into_iter()
        .find(|f| f.parent() != Some(toolkit_root.as_path()))
        .expect("Toolkit's site file");
    let text = std::fs::read_to_string(&site_file).expect("Toolkit's site file");
    assert!(
        text.contains(&served),
        "Toolkit's file lacks the token served:\n{text}"
    );
    // How often a kill landed between a temporary file's creation and its rename: the moments
    // this test is about (a run where this stays 0 proves less).
    println!(
        "{kills} kills in {attempts} attempts; temporary files found after kills (summed over kills): {left_by_kills}; spans {spans:?}"
    );
}
