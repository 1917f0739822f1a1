//! A session logout (SIGTERM) and Ctrl-C (SIGINT) quit the app as the tray's "Quit" does.

use fpt_login_tests::harness::Profile;
use rustix::process::{Pid, Signal, kill_process};

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_and_sigint_quit_the_app_cleanly() {
    for signal in [Signal::TERM, Signal::INT] {
        let profile = Profile::new();
        let mut app = profile.spawn_app(&[]);
        // The handlers are in place before the socket is served.
        profile.wait_for_app().await;
        let pid = app
            .pid()
            .and_then(|pid| i32::try_from(pid).ok())
            .and_then(Pid::from_raw)
            .expect("the app is running");
        kill_process(pid, signal).expect("the signal is sent");
        // Without the app's handlers the signal would kill it, which is no success.
        let status = app.wait_for_exit().await;
        assert!(status.success(), "{signal:?}: {status}\n{}", app.log());
        assert!(app.log().contains("quitting on a signal"), "{}", app.log());
    }
}
