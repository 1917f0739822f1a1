//! The app's notifications as the desktop's notification server gets them over the session bus
//! (`fpt-login-tray`'s notifier, which the app shows them with).

use fpt_login_tests::notification_server::{Notification, NotificationServer};
use fpt_login_tray::notifications::{Notifier, Sender};

const FROM: Sender = Sender {
    name: "FPT Login",
    icon: "fpt-login",
    desktop_entry: "fpt-login-desktop",
};

#[tokio::test(flavor = "multi_thread")]
async fn a_second_notification_about_a_site_replaces_the_first_and_text_cannot_break_the_bus() {
    let server = NotificationServer::start().await;
    let pid = std::process::id();
    let notifier = Notifier::new(FROM);

    notifier.show(
        "https://a.example.com",
        "a: first",
        "Choose <b>Renew now</b> & go",
    );
    let first = server.from_the_app(pid, "a: first").await;
    assert_eq!(first.replaces_id, 0, "{first:?}");
    // Markup in a body is shown as written.
    assert_eq!(
        first.body, "Choose &lt;b&gt;Renew now&lt;/b&gt; &amp; go",
        "{first:?}"
    );

    // Another site's stacks up beside it; the same site's replaces its last one.
    notifier.show("https://b.example.com", "b: first", "");
    let other = server.from_the_app(pid, "b: first").await;
    assert_eq!(other.replaces_id, 0, "{other:?}");
    notifier.show("https://a.example.com", "a: second", "");
    let second = server.from_the_app(pid, "a: second").await;
    assert_eq!(second.replaces_id, first.id, "{second:?}");

    // Asked one after the other, they are shown in that order: the later one replaces the
    // earlier, never the other way round.
    notifier.show("https://a.example.com", "a: third", "");
    notifier.show("https://a.example.com", "a: fourth", "");
    let fourth = server.from_the_app(pid, "a: fourth").await;
    let third = server.from_the_app(pid, "a: third").await;
    assert_eq!(third.replaces_id, second.id, "{third:?}");
    assert_eq!(fourth.replaces_id, third.id, "{fourth:?}");
    let order: Vec<Notification> = server.all().into_iter().filter(|n| n.pid == pid).collect();
    let at = |n: &Notification| order.iter().position(|o| o == n);
    let (third_at, fourth_at) = (at(&third).expect("third"), at(&fourth).expect("fourth"));
    assert!(third_at < fourth_at, "{order:#?}");

    // A NUL would get the connection dropped by the bus: it is replaced, and the notifier
    // still reaches the server afterwards.
    notifier.show("https://c.example.com", "c: a\0b", "x\0y");
    let nul = server.from_the_app(pid, "c: a\u{fffd}b").await;
    assert_eq!(nul.body, "x\u{fffd}y", "{nul:?}");
    notifier.show("https://c.example.com", "c: after", "");
    let after = server.from_the_app(pid, "c: after").await;
    assert_eq!(after.replaces_id, nul.id, "{after:?}");
}
