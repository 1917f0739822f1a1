//! The running app under abuse of its local socket: hundreds of idle connections, a client
//! streaming megabytes without a newline, a subscriber that never reads. Meanwhile a
//! well-behaved `fpt-login token` is still answered by the app, the app's memory stays bounded
//! and it stays up. (The benchmark runs the full-size load and times `token` under it.)

use std::time::Duration;

use fpt_login_core::paths::Paths;
use fpt_login_tests::harness::{PasswordSite, Profile, sign_in_with_password, stderr, wait_for};
use fpt_login_tests::process_tree;
use fpt_login_tests::socket_abuse::{Abuse, Load};

/// More than the app serves at once (256), and a fifth of the benchmark's stream.
const LOAD: Load = Load {
    idle_connections: 300,
    stream_bytes: 20 << 20,
};
/// What the abuse may add to the app's memory: each connection costs a task and small buffers,
/// and no request line is read past 64 KiB.
const MEMORY_BOUND_KIB: u64 = 64 * 1024;

fn app_pss_kib(pid: u32) -> u64 {
    process_tree::memory(pid).iter().map(|p| p.pss_kib).sum()
}

#[tokio::test(flavor = "multi_thread")]
async fn token_is_still_answered_by_the_app_under_socket_abuse_and_the_app_stays_bounded_and_up() {
    let site = PasswordSite::new().start().await;
    let profile = Profile::new();
    let mut app = profile.spawn_app(&["--background"]);
    profile.wait_for_app().await;
    sign_in_with_password(&profile, site.url(), "artist", "sesame").await;
    let token = profile.session_token(&[]).await;
    let pid = app.pid().expect("the app runs");
    let before = app_pss_kib(pid);

    let socket = Paths::under(profile.home().to_path_buf()).socket_file();
    let abuse = Abuse::start(&socket, LOAD);
    wait_for(
        "every abusive client to be on",
        Duration::from_secs(120),
        || async { abuse.is_all_on(LOAD).then_some(()) },
    )
    .await;
    for _ in 0..5 {
        let out = profile.cli(&["--verbose", "token"]).await;
        assert!(out.status.success(), "{}", stderr(&out));
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), token);
        assert!(
            stderr(&out).contains("asking the running app"),
            "not answered by the app: {}",
            stderr(&out)
        );
    }
    let during = app_pss_kib(pid);
    let report = abuse.stop().await;
    println!("app PSS {before} KiB before, {during} KiB under abuse; {report:?}");
    assert!(
        during.saturating_sub(before) < MEMORY_BOUND_KIB,
        "the app grew from {before} KiB to {during} KiB"
    );
    assert!(
        report.stream_cut_off > 0,
        "the app read a stream without a newline to its end: {report:?}"
    );
    assert!(
        report.idle_still_open <= fpt_login_core::local_api::MAX_CONNECTIONS,
        "{report:?}"
    );
    assert!(
        app.pid().is_some() && profile.status_json().await["app_running"] == true,
        "the app did not survive:\n{}",
        app.log()
    );
    app.stop().await;
}
