//! Toolkit's session cache files, kept by FPT Login when enabled: what tk-core reads, written
//! exactly as PyYAML writes them, with unknown keys kept, and never torn by concurrent writers.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use fantoccini::Locator;
use fpt_login_tests::harness::{
    PasswordSite, Profile, WebDriver, bin, click, command, python, shown, sign_in_with_password,
    success_stdout, wait_for,
};
use fpt_login_tests::mock::MockSite;
use tokio::io::AsyncWriteExt as _;

async fn cli(profile: &Profile, shotgun_home: &Path, args: &[&str]) -> std::process::Output {
    profile
        .command(bin("fpt-login"))
        .args(args)
        .env("SHOTGUN_HOME", shotgun_home)
        .output()
        .await
        .expect("fpt-login runs")
}

/// Python: `yaml.safe_dump(yaml.safe_load(file)) == file` for every file given, then prints the
/// token a pipeline script reading the cache would find.
const CHECK: &str = "import os, sys, yaml\n\
root = os.environ['SHOTGUN_HOME']\n\
for path in sys.argv[1:]:\n    \
    text = open(path).read()\n    \
    again = yaml.safe_dump(yaml.safe_load(text), default_flow_style=False)\n    \
    assert again == text, 'not what PyYAML writes:\\n' + text + '---\\n' + again\n\
host = yaml.safe_load(open(os.path.join(root, 'authentication.yml')))['current_host']\n\
site = yaml.safe_load(open(os.path.join(root, host.split('://')[1].split(':')[0], 'authentication.yml')))\n\
print([u for u in site['users'] if u['login'] == site['current_user']][0]['session_token'])";

async fn pyyaml_check(shotgun_home: &Path, files: &[&Path]) -> String {
    let out = command(python())
        .args(["-c", CHECK])
        .args(files)
        .env("SHOTGUN_HOME", shotgun_home)
        .output()
        .await
        .expect("python runs");
    success_stdout(&out)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_files_follow_sign_in_and_sign_out_as_pyyaml_writes_them() {
    let site = PasswordSite::new().start().await;
    let profile = Profile::new();
    let toolkit = tempfile::tempdir().expect("SHOTGUN_HOME");
    let home = toolkit.path();
    let enabled = cli(&profile, home, &["toolkit", "enable"]).await;
    assert!(
        enabled.status.success(),
        "{}",
        String::from_utf8_lossy(&enabled.stderr)
    );

    success_stdout(
        &profile
            .password_login(
                site.url(),
                "artist",
                "sesame",
                None,
                &[("SHOTGUN_HOME", home)],
            )
            .await,
    );
    let token = profile.session_token(&[]).await;
    let global = home.join("authentication.yml");
    let per_site = home.join("127.0.0.1/authentication.yml");
    assert_eq!(
        std::fs::read_to_string(&global).expect("global file"),
        format!("current_host: {0}\nrecent_hosts:\n- {0}\n", site.url())
    );
    assert_eq!(pyyaml_check(home, &[&global, &per_site]).await, token);

    // Keys FPT Login does not know survive its writes, and the result is still PyYAML's.
    let mut text = std::fs::read_to_string(&per_site).expect("per-site file");
    text.push_str("a_future_key:\n  nested: 'yes'\n  when: '2026-11-22'\n");
    std::fs::write(&per_site, text).expect("write");
    success_stdout(
        &profile
            .password_login(
                site.url(),
                "lead",
                "open-up",
                None,
                &[("SHOTGUN_HOME", home)],
            )
            .await,
    );
    let lead_token = profile.session_token(&[]).await;
    assert_eq!(pyyaml_check(home, &[&global, &per_site]).await, lead_token);
    let text = std::fs::read_to_string(&per_site).expect("per-site file");
    assert!(
        text.starts_with(
            "a_future_key:\n  nested: 'yes'\n  when: '2026-11-22'\ncurrent_user: lead\n"
        ),
        "{text}"
    );

    assert!(cli(&profile, home, &["logout"]).await.status.success());
    let text = std::fs::read_to_string(&per_site).expect("per-site file");
    assert!(
        !text.contains(&lead_token) && text.contains(&token),
        "{text}"
    );

    assert!(
        cli(&profile, home, &["toolkit", "disable"])
            .await
            .status
            .success()
    );
    assert!(
        cli(&profile, home, &["logout", "--login", "artist"])
            .await
            .status
            .success()
    );
    assert!(
        std::fs::read_to_string(&per_site)
            .expect("file")
            .contains(&token),
        "disabled: untouched"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn disabling_says_the_tokens_remain_and_scrub_removes_only_fpt_logins() {
    let site = PasswordSite::new().start().await;
    let profile = Profile::new();
    let toolkit = tempfile::tempdir().expect("SHOTGUN_HOME");
    let home = toolkit.path();
    success_stdout(&cli(&profile, home, &["toolkit", "enable"]).await);
    success_stdout(
        &profile
            .password_login(
                site.url(),
                "artist",
                "sesame",
                None,
                &[("SHOTGUN_HOME", home)],
            )
            .await,
    );
    let token = profile.session_token(&[]).await;
    let per_site = home.join("127.0.0.1/authentication.yml");
    // Toolkit signed `lead` in by itself: not FPT Login's to remove.
    let mut text = std::fs::read_to_string(&per_site).expect("per-site file");
    text.push_str("- login: lead\n  session_token: toolkits-own-token\n");
    std::fs::write(&per_site, &text).expect("write");

    let disabled = success_stdout(&cli(&profile, home, &["toolkit", "disable"]).await);
    assert!(
        disabled.contains("remain") && disabled.contains("--scrub"),
        "{disabled}"
    );
    assert!(
        std::fs::read_to_string(&per_site)
            .expect("file")
            .contains(&token)
    );

    let scrubbed = success_stdout(&cli(&profile, home, &["toolkit", "disable", "--scrub"]).await);
    assert!(scrubbed.contains("removed the 1 token"), "{scrubbed}");
    let text = std::fs::read_to_string(&per_site).expect("file");
    assert!(!text.contains(&token), "FPT Login's token is gone:\n{text}");
    assert!(
        text.contains("toolkits-own-token"),
        "Toolkit's own stays:\n{text}"
    );
    // FPT Login's own session is untouched.
    assert_eq!(profile.session_token(&[]).await, token);
}

/// Writes Toolkit's cache with PyYAML as tk-core does: `artist` with `token` (valid) and
/// `lead` with a token the site no longer knows.
async fn write_toolkit_cache(root: &Path, site: &str, token: &str) {
    let write = "import os, sys, yaml\nroot = os.environ['SHOTGUN_HOME']\n\
        os.makedirs(os.path.join(root, '127.0.0.1'))\n\
        yaml.safe_dump({'current_host': sys.argv[1], 'recent_hosts': [sys.argv[1]]}, open(os.path.join(root, 'authentication.yml'), 'w'))\n\
        yaml.safe_dump({'current_user': 'artist', 'recent_users': ['artist', 'lead'], 'users': [\n    \
            {'login': 'artist', 'session_token': sys.argv[2]}, {'login': 'lead', 'session_token': 'expired-long-ago'}]},\n    \
            open(os.path.join(root, '127.0.0.1', 'authentication.yml'), 'w'))";
    let wrote = command(python())
        .args(["-c", write, site, token])
        .env("SHOTGUN_HOME", root)
        .status()
        .await
        .expect("python runs");
    assert!(wrote.success());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_first_start_offers_toolkits_sessions_in_the_window() {
    let site = PasswordSite::new().start().await;
    let donor = Profile::new();
    sign_in_with_password(&donor, site.url(), "artist", "sesame").await;
    let token = donor.session_token(&[]).await;
    let profile = Profile::new();
    // The profile's own SHOTGUN_HOME, which the app launched by WebDriver inherits.
    write_toolkit_cache(&profile.home().join("shotgun"), site.url(), &token).await;

    let driver = WebDriver::start(&profile).await;
    let window = driver.launch_app(&[]).await;
    let offer = shown(&window, "#toolkit-who")
        .await
        .text()
        .await
        .expect("text");
    assert_eq!(offer, format!("artist @ {0}, lead @ {0}", site.url()));
    click(&window, "#toolkit-import").await;
    let status = wait_for("the import report", Duration::from_secs(60), || async {
        let text = window
            .find(Locator::Css("#status"))
            .await
            .ok()?
            .text()
            .await
            .ok()?;
        text.contains("Imported").then_some(text)
    })
    .await;
    assert!(
        status.contains(&format!("Imported artist @ {}.", site.url())),
        "{status}"
    );
    assert!(
        status.contains(&format!("Skipped lead @ {}", site.url())),
        "{status}"
    );
    assert_eq!(profile.session_token(&[]).await, token);
}

#[tokio::test(flavor = "multi_thread")]
async fn sessions_in_toolkits_files_are_imported_once_the_site_confirms_them() {
    let site = PasswordSite::new().start().await;
    let toolkit = tempfile::tempdir().expect("SHOTGUN_HOME");
    // A Toolkit user signed in before FPT Login existed: tk-core wrote this cache.
    let donor = Profile::new();
    sign_in_with_password(&donor, site.url(), "artist", "sesame").await;
    let token = donor.session_token(&[]).await;
    write_toolkit_cache(toolkit.path(), site.url(), &token).await;

    let profile = Profile::new();
    let out = cli(&profile, toolkit.path(), &["toolkit", "import"]).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        report.contains(&format!("imported artist @ {}", site.url())),
        "{report}"
    );
    assert!(
        report.contains(&format!("skipped lead @ {}", site.url())),
        "{report}"
    );
    assert_eq!(profile.session_token(&[]).await, token);
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_writers_never_leave_a_torn_file() {
    let sites: Vec<MockSite> = {
        let mut sites = Vec::new();
        for _ in 0..4 {
            sites.push(PasswordSite::new().start().await);
        }
        sites
    };
    let profile = Profile::new();
    let toolkit = tempfile::tempdir().expect("SHOTGUN_HOME");
    let home = toolkit.path();
    assert!(
        cli(&profile, home, &["toolkit", "enable"])
            .await
            .status
            .success()
    );
    // The app writes on every sign-in it stores; `toolkit enable` writes from another process.
    let mut app = profile.spawn_app_with(&["--background"], &[("SHOTGUN_HOME", home)]);
    profile.wait_for_app().await;
    std::fs::write(
        home.join("authentication.yml"),
        "current_host: https://first.example.com\n",
    )
    .expect("seed");

    // A reader that parses the global file as fast as it can until told to stop.
    let stop = home.join("stop");
    let reader = "import os, sys, yaml\nroot = os.environ['SHOTGUN_HOME']\nreads = 0\n\
        while not os.path.exists(os.path.join(root, 'stop')):\n    \
            doc = yaml.safe_load(open(os.path.join(root, 'authentication.yml')))\n    \
            assert isinstance(doc, dict) and doc.get('current_host'), repr(doc)\n    \
            reads += 1\nprint(reads)";
    let reader = command(python())
        .args(["-c", reader])
        .env("SHOTGUN_HOME", home)
        .output();
    let writers = async {
        // Every writer runs at once: four sign-ins stored by the app, four `toolkit enable`s.
        let mut children = Vec::new();
        for site in &sites {
            let mut child = profile
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
                .env("SHOTGUN_HOME", home)
                .stdin(Stdio::piped())
                .spawn()
                .expect("fpt-login starts");
            let mut stdin = child.stdin.take().expect("stdin");
            stdin.write_all(b"sesame\n").await.expect("password");
            children.push(child);
        }
        for _ in 0..4 {
            children.push(
                profile
                    .command(bin("fpt-login"))
                    .args(["toolkit", "enable"])
                    .env("SHOTGUN_HOME", home)
                    .stdout(Stdio::null())
                    .spawn()
                    .expect("fpt-login starts"),
            );
        }
        for mut child in children {
            assert!(child.wait().await.expect("fpt-login runs").success());
        }
        std::fs::write(&stop, "").expect("stop the reader");
    };
    let (read, ()) = tokio::join!(
        tokio::time::timeout(Duration::from_secs(120), reader),
        writers
    );
    let read = read.expect("the reader finishes").expect("python runs");
    assert!(
        read.status.success(),
        "a reader saw a torn file: {}",
        String::from_utf8_lossy(&read.stderr)
    );
    let global = std::fs::read_to_string(home.join("authentication.yml")).expect("global");
    for site in &sites {
        assert!(global.contains(site.url()), "no update was lost: {global}");
    }
    app.stop().await;
}
