//! The proxy and CA settings apply to every request FPT Login makes: a real forward proxy on
//! loopback sees them, and an HTTPS site with a studio CA is trusted only when that CA is.

use std::time::Duration;

use fpt_login_tests::ca::TestCa;
use fpt_login_tests::harness::{
    PasswordSite, Profile, bin, python, sign_in_with_password, stderr, visible_windows, wait_for,
};
use fpt_login_tests::mock::{MockConfig, MockSite};
use fpt_login_tests::proxy::ForwardProxy;

#[tokio::test(flavor = "multi_thread")]
async fn the_cli_the_app_and_the_webview_go_through_the_configured_proxy() {
    let site = PasswordSite::new().password_only().start().await;
    let proxy = ForwardProxy::start().await;
    let profile = Profile::new();
    let setting = format!("Jane:Pa55@{}", proxy.address());
    set_proxy(&profile, &format!("Jane@{}", proxy.address()), "Pa55").await;
    sign_in_with_password(&profile, site.url(), "artist", "sesame").await;
    let api = format!("POST {}/api3/json", site.url());
    let seen = proxy.seen();
    let through = seen
        .iter()
        .find(|s| s.request == api)
        .unwrap_or_else(|| panic!("{seen:?}"));
    assert_eq!(
        through.authorization.as_deref(),
        Some("Basic SmFuZTpQYTU1"),
        "Jane:Pa55, case kept"
    );

    let user = profile.token(&[]).await.expect("signed in");
    assert_eq!(user["http_proxy"], setting, "clients get the same proxy");

    // The app's own requests: a sign-in asked over the socket starts with the site's info.
    let mut app = profile.spawn_app(&["--background"]);
    profile.wait_for_app().await;
    let before = proxy.seen().len();
    let ask = "import json, os, socket, sys\n\
        s = socket.socket(socket.AF_UNIX); s.connect(os.path.join(os.environ['FPT_LOGIN_HOME'], 'run', 'fpt-login.sock'))\n\
        f = s.makefile('rb')\n\
        for r in ({'type': 'hello', 'version': 1}, {'type': 'login', 'site': sys.argv[1]}):\n    \
            s.sendall(json.dumps(r).encode() + b'\\n'); print(f.readline().decode().strip())";
    let out = profile
        .command(python())
        .args(["-c", ask, site.url()])
        .output()
        .await
        .expect("python");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("needs the password"),
        "{out:?}"
    );
    wait_for(
        "the app's info request at the proxy",
        Duration::from_secs(30),
        || async {
            proxy.seen()[before..]
                .iter()
                .any(|s| s.request == api)
                .then_some(())
        },
    )
    .await;

    // The web sign-in's webview too.
    let web = profile
        .command(bin("fpt-login"))
        .args([
            "login",
            "--site",
            site.url(),
            "--method",
            "web",
            "--timeout",
            "1",
        ])
        .output();
    let renew = format!("GET {}/auth/renew?product=toolkit", site.url());
    let (web, ()) = tokio::join!(
        web,
        wait_for(
            "the webview's request at the proxy",
            Duration::from_secs(30),
            || async {
                proxy
                    .seen()
                    .iter()
                    .any(|s| s.request == renew)
                    .then_some(())
            }
        )
    );
    assert_eq!(
        web.expect("fpt-login runs").status.code(),
        Some(1),
        "gave up after --timeout"
    );
    // A new password reaches the running app's answers at once.
    set_proxy(&profile, &format!("Jane@{}", proxy.address()), "N3w").await;
    let user = profile.token(&[]).await.expect("signed in");
    assert_eq!(user["http_proxy"], format!("Jane:N3w@{}", proxy.address()));
    app.stop().await;
}

/// `fpt-login settings set http-proxy USER_AT --password-stdin` with `password`.
async fn set_proxy(profile: &Profile, user_at: &str, password: &str) -> std::process::Output {
    let set = profile
        .cli_with_stdin(
            &["settings", "set", "http-proxy", user_at, "--password-stdin"],
            &format!("{password}\n"),
            &[],
        )
        .await;
    assert!(set.status.success(), "{}", stderr(&set));
    set
}

#[tokio::test(flavor = "multi_thread")]
async fn the_proxy_password_is_never_an_argument_and_lives_in_the_keyring() {
    let proxy = ForwardProxy::start().await;
    let profile = Profile::new();
    // On the command line (where `ps` shows it) it is refused without being repeated.
    let setting = format!("Jane:Pa55@{}", proxy.address());
    let refused = profile
        .cli(&["settings", "set", "http-proxy", &setting])
        .await;
    assert_eq!(refused.status.code(), Some(2), "{}", stderr(&refused));
    assert!(
        stderr(&refused).contains("not taken on the command line")
            && !stderr(&refused).contains("Pa55"),
        "{}",
        stderr(&refused)
    );

    let set = set_proxy(&profile, &format!("Jane@{}", proxy.address()), "Pa55").await;
    assert!(
        String::from_utf8_lossy(&set.stdout).contains(&format!("Jane:***@{}", proxy.address())),
        "the password is kept and not shown: {}",
        String::from_utf8_lossy(&set.stdout)
    );
    let file = std::fs::read_to_string(profile.home().join("settings.json")).expect("settings");
    assert!(!file.contains("Pa55"), "not in settings.json: {file}");
    let account = format!("proxy Jane @ {}", proxy.address());
    assert_eq!(
        profile.keyring_secret(&account).await.as_deref(),
        Some("Pa55"),
        "in the keyring"
    );

    // Unset, the password leaves the keyring too.
    let unset = profile.cli(&["settings", "unset", "http-proxy"]).await;
    assert!(unset.status.success(), "{}", stderr(&unset));
    assert_eq!(profile.keyring_secret(&account).await, None);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_studio_ca_is_trusted_only_when_configured() {
    let studio = TestCa::new("Studio CA");
    let stranger = TestCa::new("Someone Else's CA");
    let site = MockSite::start(MockConfig {
        tls: Some(studio.issue_for_loopback()),
        ..PasswordSite::new().password_only().config()
    })
    .await
    .expect("mock");
    assert!(site.url().starts_with("https://127.0.0.1:"));
    let profile = Profile::new();
    let studio_pem = profile.home().join("studio-ca.pem");
    let stranger_pem = profile.home().join("stranger-ca.pem");
    studio.write_bundle(&studio_pem);
    stranger.write_bundle(&stranger_pem);

    let untrusted = profile
        .password_login(site.url(), "artist", "sesame", None, &[])
        .await;
    assert_eq!(untrusted.status.code(), Some(1), "{}", stderr(&untrusted));
    let message = stderr(&untrusted);
    assert!(
        message.contains("certificate") && message.contains("ca-bundle"),
        "{message}"
    );

    let trusted = profile
        .password_login(
            site.url(),
            "artist",
            "sesame",
            None,
            &[("SHOTGUN_API_CACERTS", &studio_pem)],
        )
        .await;
    assert!(trusted.status.success(), "{}", stderr(&trusted));

    // The setting wins over the environment: a wrong bundle fails clearly.
    let stranger_arg = stranger_pem.to_str().expect("utf-8 path");
    assert!(
        profile
            .cli(&["settings", "set", "ca-bundle", stranger_arg])
            .await
            .status
            .success()
    );
    let wrong = profile
        .password_login(
            site.url(),
            "artist",
            "sesame",
            None,
            &[("SHOTGUN_API_CACERTS", &studio_pem)],
        )
        .await;
    assert_eq!(wrong.status.code(), Some(1));
    assert!(stderr(&wrong).contains("certificate"), "{}", stderr(&wrong));

    let bad_file = profile
        .cli(&["settings", "set", "ca-bundle", "/etc/hostname"])
        .await;
    assert_eq!(bad_file.status.code(), Some(2));
    assert!(
        stderr(&bad_file).contains("holds no PEM certificates"),
        "{}",
        stderr(&bad_file)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_corrupt_settings_file_is_named_and_nothing_goes_without_its_proxy() {
    let site = PasswordSite::new().password_only().start().await;
    let proxy = ForwardProxy::start().await;
    let profile = Profile::new();
    let set = profile
        .cli(&["settings", "set", "http-proxy", &proxy.address()])
        .await;
    assert!(set.status.success(), "{}", stderr(&set));
    // A hand edit gone wrong.
    let file = profile.home().join("settings.json");
    let good = std::fs::read_to_string(&file).expect("settings written");
    std::fs::write(&file, format!("{good}\n, \"oops\"")).expect("edit");

    let _app = profile.spawn_app(&["--background"]);
    let socket = profile.home().join("run/fpt-login.sock");
    wait_for("the app's socket", Duration::from_secs(60), || async {
        socket.exists().then_some(())
    })
    .await;
    let named = |out: &std::process::Output| {
        let message = stderr(out);
        out.status.code() == Some(1)
            && message.contains("asking the running app")
            && message.contains(&format!(
                "settings file {} is not valid JSON",
                file.display()
            ))
    };
    for args in [
        &["-v", "token"][..],
        &["-v", "status"],
        &["-v", "login", "--site", site.url(), "--method", "web"],
    ] {
        let out = wait_for("the app to answer", Duration::from_secs(30), || async {
            let out = profile.cli(args).await;
            stderr(&out)
                .contains("asking the running app")
                .then_some(out)
        })
        .await;
        assert!(named(&out), "fpt-login {args:?}: {}", stderr(&out));
    }
    assert!(
        !visible_windows()
            .await
            .iter()
            .any(|w| w.contains("Sign in")),
        "no sign-in window opens without the proxy"
    );
    assert_eq!(site.counters().api_calls, 0, "nothing reached the site");
    assert!(proxy.seen().is_empty(), "nor the proxy");

    // Mended, the same app carries on: nobody is signed in yet.
    std::fs::write(&file, good).expect("mend");
    let out = profile.cli(&["-v", "token"]).await;
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
}
