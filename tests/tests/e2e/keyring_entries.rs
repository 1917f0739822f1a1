//! How tokens are filed in the real keyring (gnome-keyring's Secret Service): one entry per
//! profile and kind, and tokens of earlier releases taken over by the person's own profile.

use std::process::Stdio;

use fpt_login_tests::harness::{
    PasswordSite, Profile, bin, command, sign_in_with_password, stderr,
};
use tokio::io::AsyncWriteExt as _;
use tokio::process::Command;

#[tokio::test(flavor = "multi_thread")]
async fn signing_out_in_one_profile_leaves_another_profiles_token() {
    let site = PasswordSite::new().start().await;
    let first = Profile::new();
    let second = Profile::new();
    sign_in_with_password(&first, site.url(), "artist", "sesame").await;
    sign_in_with_password(&second, site.url(), "artist", "sesame").await;
    let first_token = first.session_token(&[]).await;
    let second_token = second.session_token(&[]).await;
    assert_ne!(
        first_token, second_token,
        "each profile keeps the session it signed in with"
    );

    let out = second.cli(&["logout"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(second.keyring_lookup(site.url(), "artist").await, None);
    assert_eq!(
        first.keyring_lookup(site.url(), "artist").await,
        Some(first_token.clone())
    );
    assert_eq!(first.session_token(&[]).await, first_token);
}

/// `fpt-login ARGS` in the person's own profile (no `FPT_LOGIN_HOME`), with every folder the
/// platform would use inside `profile`'s.
fn own_profile_cli(profile: &Profile, args: &[&str]) -> Command {
    let home = profile.home();
    let runtime = home.join("xdg-run");
    std::fs::create_dir_all(&runtime).expect("runtime folder");
    let mut command = profile.command(bin("fpt-login"));
    command
        .env_remove("FPT_LOGIN_HOME")
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join("xdg-config"))
        .env("XDG_DATA_HOME", home.join("xdg-data"))
        .env("XDG_RUNTIME_DIR", runtime)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

async fn run(mut command: Command, stdin: &str) -> std::process::Output {
    let mut child = command.spawn().expect("starts");
    let mut input = child.stdin.take().expect("stdin");
    input.write_all(stdin.as_bytes()).await.expect("stdin");
    drop(input);
    child.wait_with_output().await.expect("runs")
}

async fn secret_tool(args: &[&str], stdin: &str) -> String {
    let mut command = command("secret-tool");
    command
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let out = run(command, stdin).await;
    String::from_utf8(out.stdout).expect("utf-8")
}

#[tokio::test(flavor = "multi_thread")]
async fn the_persons_own_profile_takes_over_a_token_an_earlier_release_kept() {
    let site = PasswordSite::new().start().await;
    let profile = Profile::new();
    let out = run(
        own_profile_cli(
            &profile,
            &[
                "login",
                "--site",
                site.url(),
                "--method",
                "credentials",
                "--login",
                "artist",
                "--password-stdin",
            ],
        ),
        "sesame\n",
    )
    .await;
    assert!(out.status.success(), "{}", stderr(&out));

    // As an earlier release kept it: `<login> @ <site>`, under the shared service.
    let new_name = format!("person artist @ {}", site.url());
    let old_name = format!("artist @ {}", site.url());
    let token = secret_tool(
        &["lookup", "service", "fpt-login", "username", &new_name],
        "",
    )
    .await;
    assert!(
        !token.is_empty(),
        "the sign-in stored the token as {new_name}"
    );
    secret_tool(
        &[
            "store",
            "--label",
            "old",
            "service",
            "fpt-login",
            "username",
            &old_name,
        ],
        &token,
    )
    .await;
    secret_tool(
        &["clear", "service", "fpt-login", "username", &new_name],
        "",
    )
    .await;

    let out = run(own_profile_cli(&profile, &["token"]), "").await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), token);
    assert_eq!(
        secret_tool(
            &["lookup", "service", "fpt-login", "username", &new_name],
            ""
        )
        .await,
        token,
        "moved to the new name"
    );
    assert_eq!(
        secret_tool(
            &["lookup", "service", "fpt-login", "username", &old_name],
            ""
        )
        .await,
        "",
        "and gone from the old one"
    );

    // Clean up the shared service the person's own profile uses.
    let out = run(own_profile_cli(&profile, &["logout"]), "").await;
    assert!(out.status.success(), "{}", stderr(&out));
}
