//! `fpt-login` as scripts meet it, without a desktop app: documented exit codes, clear errors,
//! and no GUI libraries linked in.

use fpt_login_tests::harness::{Profile, bin, stderr};

#[tokio::test]
async fn nobody_signed_in_is_exit_4_with_how_to_sign_in() {
    let profile = Profile::new();
    for args in [&["token"][..], &["token", "--json"], &["logout"]] {
        let out = profile.cli(args).await;
        assert_eq!(out.status.code(), Some(4), "{args:?}: {}", stderr(&out));
        assert!(out.stdout.is_empty());
        assert!(
            stderr(&out).contains("sign in with `fpt-login-desktop --sign-in"),
            "{}",
            stderr(&out)
        );
    }
    let site = profile
        .cli(&["token", "--site", "https://mystudio.example.com"])
        .await;
    assert_eq!(site.status.code(), Some(4));
    assert!(
        stderr(&site).contains("--sign-in https://mystudio.example.com"),
        "{}",
        stderr(&site)
    );
}

#[tokio::test]
async fn a_bad_site_is_a_usage_error_that_says_what_is_wrong() {
    let profile = Profile::new();
    let cases = [
        ("javascript:alert(1)", "javascript: scheme"),
        ("file:///etc/passwd", "file: scheme"),
        ("https://my studio.com", "contains spaces"),
        ("https://mystudio.example.com/page/1", "has a path"),
        ("http://mystudio.example.com", "plain http"),
        ("", "is empty"),
    ];
    for (site, expected) in cases {
        let out = profile.cli(&["token", "--site", site]).await;
        assert_eq!(out.status.code(), Some(2), "{site:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains(expected),
            "{site:?}: {}",
            stderr(&out)
        );
    }
    let secret = profile
        .cli(&[
            "token",
            "--site",
            "https://jane:hunter2@mystudio.example.com",
        ])
        .await;
    assert_eq!(secret.status.code(), Some(2));
    assert!(
        !stderr(&secret).contains("hunter2"),
        "a password in the URL is not repeated"
    );
}

#[tokio::test]
async fn unknown_options_are_exit_2() {
    let out = Profile::new().cli(&["token", "--no-such-option"]).await;
    assert_eq!(out.status.code(), Some(2));
}

#[tokio::test]
async fn help_documents_the_exit_codes_and_the_json_fields() {
    let profile = Profile::new();
    let help = String::from_utf8(profile.cli(&["--help"]).await.stdout).expect("utf-8");
    for needle in [
        "0  success",
        "2  usage error",
        "4  sign-in required",
        "FPT_LOGIN_HOME",
    ] {
        assert!(help.contains(needle), "--help lacks {needle:?}:\n{help}");
    }
    let token_help =
        String::from_utf8(profile.cli(&["token", "--help"]).await.stdout).expect("utf-8");
    assert!(
        token_help
            .contains(r#"{"site", "kind": "session", "login", "session_token", "expires_at""#),
        "{token_help}"
    );
    assert!(token_help.contains("Examples:"), "{token_help}");
}

#[tokio::test]
async fn the_cli_links_no_gtk_or_webkit() {
    let out = tokio::process::Command::new("ldd")
        .arg(bin("fpt-login"))
        .output()
        .await
        .expect("ldd runs");
    let libraries = String::from_utf8_lossy(&out.stdout);
    assert!(
        libraries.contains("libc.so"),
        "ldd read the binary: {libraries}"
    );
    for gui in ["gtk", "webkit", "gdk", "javascriptcore", "soup"] {
        assert!(
            !libraries.contains(gui),
            "fpt-login links {gui}:\n{libraries}"
        );
    }
}
