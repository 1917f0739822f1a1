//! Handing the user to other programs from the CLI: tk-core's serialized user, `exec` with the
//! user in the environment (exit codes and signals pass through), and choosing the default
//! site and user among several.

use std::process::Stdio;
use std::time::Duration;

use fpt_login_tests::harness::{PasswordSite, Profile, bin, python, sign_in_with_password};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt as _, BufReader};

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn serialize_prints_what_tk_core_writes() {
    let site = PasswordSite::new().start().await;
    let profile = Profile::new();
    sign_in_with_password(&profile, site.url(), "artist", "sesame").await;
    let token = profile.session_token(&[]).await;
    let out = profile.cli(&["serialize"]).await;
    assert!(out.status.success());
    assert_eq!(
        stdout(&out),
        format!(
            r#"{{"type": "SessionUser", "data": {{"http_proxy": null, "host": "{}", "login": "artist", "session_token": "{token}"}}}}"#,
            site.url()
        )
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn exec_puts_the_user_in_the_environment_and_passes_the_exit_code() {
    let site = PasswordSite::new().start().await;
    let profile = Profile::new();
    sign_in_with_password(&profile, site.url(), "artist", "sesame").await;
    let token = profile.session_token(&[]).await;

    let out = profile
        .command(bin("fpt-login"))
        .args(["exec", "--", "sh", "-c", "env; exit 7"])
        .output()
        .await
        .expect("fpt-login runs");
    assert_eq!(out.status.code(), Some(7), "the program's exit code");
    let env = String::from_utf8_lossy(&out.stdout);
    let var = |name: &str| {
        env.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}=")))
            .unwrap_or_else(|| panic!("{name} is not set"))
            .to_owned()
    };
    assert_eq!(var("FPT_SITE"), site.url());
    assert_eq!(var("FPT_LOGIN"), "artist");
    assert_eq!(var("FPT_SESSION_TOKEN"), token);
    let user: Value = serde_json::from_str(&var("SHOTGUN_DESKTOP_CURRENT_USER")).expect("JSON");
    assert_eq!(user["type"], "SessionUser");
    assert_eq!(user["data"]["session_token"], token.as_str());
    assert_eq!(user["data"]["host"], site.url());

    // The program can use the variables with shotgun_api3.
    let count = profile
        .command(bin("fpt-login"))
        .args(["exec", "--"])
        .arg(python())
        .args([
            "-c",
            "import os, shotgun_api3\n\
             sg = shotgun_api3.Shotgun(os.environ['FPT_SITE'], session_token=os.environ['FPT_SESSION_TOKEN'])\n\
             print(len(sg.find('Project', [], ['name'])))",
        ])
        .output()
        .await
        .expect("fpt-login runs");
    assert_eq!(stdout(&count), site.config().projects.len().to_string());

    let missing = profile.cli(&["exec", "--", "no-such-program-here"]).await;
    assert_eq!(missing.status.code(), Some(127));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("cannot run no-such-program-here"));
}

#[tokio::test(flavor = "multi_thread")]
async fn exec_drops_an_outer_users_variables_before_handing_over_its_own() {
    let site = PasswordSite::new().start().await;
    let profile = Profile::new();
    sign_in_with_password(&profile, site.url(), "artist", "sesame").await;
    let token = profile.session_token(&[]).await;
    // As when a farm job running as a script starts a person's tool, or one exec nests in
    // another.
    let out = profile
        .command(bin("fpt-login"))
        .args(["exec", "--min-ttl", "60", "--", "env"])
        .env("FPT_API_SCRIPT", "outer-script")
        .env("FPT_API_KEY", "outer-key")
        .env("FPT_SOMETHING_ELSE", "outer")
        .env("SHOTGUN_DESKTOP_CURRENT_USER", "outer-user")
        .output()
        .await
        .expect("fpt-login runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let env = String::from_utf8_lossy(&out.stdout);
    for outer in [
        "outer-script",
        "outer-key",
        "FPT_SOMETHING_ELSE",
        "outer-user",
    ] {
        assert!(!env.contains(outer), "{outer} reached the program:\n{env}");
    }
    assert!(env.contains(&format!("FPT_SESSION_TOKEN={token}")), "{env}");
    assert!(
        env.lines().any(|l| l.starts_with("FPT_LOGIN_HOME=")),
        "FPT Login's own settings stay, so the program can call fpt-login again"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn signals_sent_to_exec_reach_the_program() {
    let site = PasswordSite::new().start().await;
    let profile = Profile::new();
    sign_in_with_password(&profile, site.url(), "artist", "sesame").await;
    let mut child = profile
        .command(bin("fpt-login"))
        .args([
            "exec",
            "--",
            "sh",
            "-c",
            "trap 'exit 42' TERM; echo ready; while :; do sleep 0.05; done",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .expect("fpt-login starts");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let ready = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
        .await
        .expect("the program starts")
        .expect("read");
    assert_eq!(ready.as_deref(), Some("ready"));
    let pid = child.id().expect("pid").to_string();
    let sent = tokio::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .await
        .expect("kill");
    assert!(sent.success());
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .expect("the program exits")
        .expect("wait");
    assert_eq!(
        status.code(),
        Some(42),
        "the program's own TERM handler ran"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn several_sites_and_users_switch_with_use() {
    let first = PasswordSite::new().start().await;
    let second = PasswordSite::new().start().await;
    let profile = Profile::new();
    sign_in_with_password(&profile, first.url(), "artist", "sesame").await;
    sign_in_with_password(&profile, first.url(), "lead", "open-up").await;
    sign_in_with_password(&profile, second.url(), "artist", "sesame").await;

    let sites = profile.cli(&["sites"]).await;
    let listing = stdout(&sites);
    assert!(
        listing.contains(&format!("* {}  artist", second.url())),
        "{listing}"
    );
    assert!(
        listing.contains(&format!("  {}  lead", first.url())),
        "{listing}"
    );

    let switched = profile.cli(&["use", first.url(), "artist"]).await;
    assert!(
        switched.status.success(),
        "{}",
        String::from_utf8_lossy(&switched.stderr)
    );
    assert_eq!(
        stdout(&profile.cli(&["whoami"]).await),
        format!("artist (Ada Artist) @ {}", first.url())
    );
    let whoami: Value =
        serde_json::from_str(&stdout(&profile.cli(&["whoami", "--json"]).await)).expect("JSON");
    assert_eq!(whoami["login"], "artist");
    assert!(
        whoami.get("session_token").is_none(),
        "whoami shows no secrets"
    );
    let token_site = profile.token(&[]).await.expect("signed in");
    assert_eq!(token_site["site"], first.url());
    assert_eq!(
        first
            .session_login(token_site["session_token"].as_str().expect("token"))
            .as_deref(),
        Some("artist")
    );

    let unknown = profile.cli(&["use", second.url(), "lead"]).await;
    assert_eq!(unknown.status.code(), Some(4));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("lead is not signed in"));

    // Signing out of one site leaves the other working.
    assert!(
        profile
            .cli(&["logout", "--site", second.url()])
            .await
            .status
            .success()
    );
    assert!(
        profile
            .cli(&["token", "--site", first.url()])
            .await
            .status
            .success()
    );
    assert_eq!(
        profile
            .cli(&["token", "--site", second.url()])
            .await
            .status
            .code(),
        Some(4)
    );
}
