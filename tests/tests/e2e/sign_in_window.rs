//! The sign-in window, driven by WebDriver like a person: it asks the typed site how it signs
//! people in, offers that way first and the others one click away, and runs each of them.

use std::time::Duration;

use fantoccini::{Client, Locator};
use fpt_login_tests::harness::{
    PasswordSite, Profile, RecordingBrowser, WebDriver, answer_approval, click, free_port,
    poll_request_again, shown, text_of, type_into, wait_for, wait_for_text,
};
use fpt_login_tests::mock::{MockConfig, MockSite, SiteKind};

const WAIT: Duration = Duration::from_secs(60);

/// The app with its sign-in window open on `site`, the window driven by WebDriver.
async fn open_window(driver: &WebDriver, site: &MockSite) -> Client {
    let browser = driver.launch_app(&["--site", site.url()]).await;
    wait_for_text(&browser, "#continue", "Continue:").await;
    browser
}

/// Replaces what the field `css` holds with `text`, as a person selecting it and typing would.
async fn fill(browser: &Client, css: &str, text: &str) {
    let field = shown(browser, css).await;
    field.clear().await.expect("clear");
    field.send_keys(text).await.expect("type");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_password_site_signs_in_with_login_password_and_two_factor_code() {
    let site = PasswordSite::new()
        .with_two_factor()
        .password_only()
        .start()
        .await;
    let profile = Profile::new();
    let driver = WebDriver::start(&profile).await;
    let browser = open_window(&driver, &site).await;
    assert_eq!(
        text_of(&browser, "#continue").await,
        "Continue: Login and password"
    );
    click(&browser, "#continue").await;

    // 102: said plainly, and the login stays.
    fill(&browser, "#login", "lead").await;
    fill(&browser, "#password", "wrong-password").await;
    click(&browser, "#password-submit").await;
    assert_eq!(
        text_of(&browser, "#password-error").await,
        "Wrong login or password"
    );
    let login = shown(&browser, "#login")
        .await
        .prop("value")
        .await
        .expect("value");
    assert_eq!(login.as_deref(), Some("lead"), "the login is kept");

    // 106: the code page; a wrong code, then the authenticator's code.
    fill(&browser, "#password", "open-up").await;
    click(&browser, "#password-submit").await;
    fill(&browser, "#code", "999999").await;
    click(&browser, "#code-submit").await;
    assert!(
        text_of(&browser, "#code-error")
            .await
            .contains("not accepted")
    );
    fill(&browser, "#code", "123456").await;
    click(&browser, "#code-submit").await;
    wait_for_text(&browser, "#status", "Signed in to").await;
    assert_eq!(
        profile.token(&[]).await.expect("signed in")["login"],
        "lead"
    );

    // Again, with a backup code instead of the authenticator.
    click(&browser, "#continue").await;
    fill(&browser, "#password", "open-up").await;
    click(&browser, "#password-submit").await;
    shown(&browser, "#code").await;
    click(&browser, "#use-backup").await;
    assert_eq!(text_of(&browser, "#code-label").await, "Backup code");
    fill(&browser, "#code", "backup-1").await;
    click(&browser, "#code-submit").await;
    wait_for("the second sign-in", WAIT, || async {
        (site.counters().password_logins == 2).then_some(())
    })
    .await;
    assert_eq!(
        profile.token(&[]).await.expect("signed in")["login"],
        "lead"
    );
    let log = driver.log();
    assert!(log.contains("TRACE"), "the app ran with trace logging");
    assert!(!log.contains("open-up"), "the password never reaches a log");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_site_that_cannot_be_used_is_a_clear_message_on_the_form() {
    let site = MockSite::start(MockConfig::saml2()).await.expect("mock");
    let profile = Profile::new();
    let driver = WebDriver::start(&profile).await;
    let browser = open_window(&driver, &site).await;

    let closed = format!("http://127.0.0.1:{}", free_port());
    fill(&browser, "#site", &closed).await;
    let unreachable = wait_for_text(&browser, "#site-error", "Cannot reach").await;
    assert!(
        unreachable.starts_with(&format!("Cannot reach {closed}/api3/json")),
        "{unreachable}"
    );

    // The IdP answers HTTP, but it is no FPT site.
    fill(&browser, "#site", site.idp_url()).await;
    let message = wait_for_text(
        &browser,
        "#site-error",
        "does not look like a Flow Production Tracking site",
    )
    .await;
    assert!(message.contains(site.idp_url()), "{message}");

    fill(&browser, "#site", "http://mystudio.example.com").await;
    wait_for_text(&browser, "#site-error", "only https is allowed").await;
    assert_eq!(
        text_of(&browser, "#continue").await,
        "Continue",
        "nothing is offered"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn sso_and_identity_sites_refuse_passwords_and_offer_the_web_sign_in() {
    for (kind, says) in [
        (SiteKind::Saml2, "single sign-on"),
        (SiteKind::Oxygen, "Autodesk Identity"),
    ] {
        let site = PasswordSite::new()
            .with_two_factor()
            .kind(kind)
            .start()
            .await;
        let profile = Profile::new();
        let driver = WebDriver::start(&profile).await;
        let browser = open_window(&driver, &site).await;
        assert_eq!(
            text_of(&browser, "#continue").await,
            "Continue: Approve in your web browser"
        );
        click(&browser, "#other-ways summary").await;
        let others: Vec<String> = {
            let mut labels = Vec::new();
            for button in browser
                .find_all(Locator::Css("#other-list button"))
                .await
                .expect("buttons")
            {
                labels.push(button.text().await.expect("label"));
            }
            labels
        };
        assert_eq!(
            others,
            ["Sign in with the site's web page", "Login and password"],
            "{kind:?}"
        );

        click(&browser, "#other-list button[data-method=credentials]").await;
        type_into(&browser, "#login", "artist").await;
        type_into(&browser, "#password", "sesame").await;
        click(&browser, "#password-submit").await;
        assert!(
            text_of(&browser, "#password-error").await.contains(says),
            "{kind:?}"
        );
        assert_eq!(
            text_of(&browser, "#switch-method").await,
            "Continue with the web sign-in"
        );
        assert!(profile.token(&[]).await.is_err(), "nothing stored");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_app_session_launcher_in_the_window_signs_in_once_approved() {
    let site = MockSite::start(MockConfig::saml2()).await.expect("mock");
    let profile = Profile::new();
    let browser_stand_in = RecordingBrowser::new(&profile);
    let driver = WebDriver::start_with(&profile, |c| browser_stand_in.apply(c)).await;
    let window = open_window(&driver, &site).await;
    click(&window, "#continue").await;

    let opened = browser_stand_in.opened().await;
    assert_eq!(
        text_of(&window, "#asl-url").await,
        opened,
        "the page shown is the page opened"
    );
    assert!(text_of(&window, "#asl-countdown").await.contains("left"));
    answer_approval(&opened, "artist", "sesame", true).await;
    wait_for_text(&window, "#status", "Signed in to").await;
    assert_eq!(
        profile.token(&[]).await.expect("signed in")["login"],
        "artist"
    );
    assert_eq!(site.counters().asl_handed_out, 1);
    let again = poll_request_again(site.url(), &opened).await;
    assert_eq!(
        again.status(),
        reqwest::StatusCode::NOT_FOUND,
        "handed out once"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn rejection_cancel_and_expiry_of_the_launcher_in_the_window() {
    let site = MockSite::start(MockConfig::saml2()).await.expect("mock");
    let profile = Profile::new();
    let browser_stand_in = RecordingBrowser::new(&profile);
    let driver = WebDriver::start_with(&profile, |c| browser_stand_in.apply(c)).await;
    let window = open_window(&driver, &site).await;

    // Rejected: the window says so and offers to try again.
    click(&window, "#continue").await;
    let first = browser_stand_in.opened().await;
    answer_approval(&first, "artist", "sesame", false).await;
    wait_for_text(&window, "#status", "rejected or expired").await;
    assert_eq!(text_of(&window, "#asl-retry").await, "Try again");

    // Cancelled: the app stops polling, so an approval given afterwards is never picked up.
    click(&window, "#asl-retry").await;
    let second = wait_for("a second request", WAIT, || async {
        let urls = std::fs::read_to_string(profile.home().join("browser.log")).ok()?;
        urls.lines().nth(1).map(str::to_owned)
    })
    .await;
    wait_for_text(&window, "#asl-url", &second).await;
    click(&window, "#asl-cancel").await;
    wait_for_text(&window, "#status", "cancelled").await;
    answer_approval(&second, "artist", "sesame", true).await;
    let unclaimed: serde_json::Value = poll_request_again(site.url(), &second)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(
        unclaimed["approved"], true,
        "the cancelled app did not take the token"
    );
    assert!(profile.token(&[]).await.is_err(), "nothing stored");

    // Expired: a site that forgets requests after a second.
    let short = MockSite::start(MockConfig {
        asl_request_lifetime: Duration::from_secs(1),
        ..MockConfig::saml2()
    })
    .await
    .expect("mock");
    let field = window
        .find(Locator::Css("#site"))
        .await
        .expect("site field");
    click(&window, "button.back").await;
    field.clear().await.expect("clear");
    field.send_keys(short.url()).await.expect("type");
    wait_for_text(&window, "#continue", "Continue:").await;
    click(&window, "#continue").await;
    wait_for_text(&window, "#status", "rejected or expired").await;
    assert!(profile.token(&[]).await.is_err());
}

#[tokio::test(flavor = "multi_thread")]
async fn sso_sites_without_the_launcher_open_the_web_sign_in_with_identity_hints() {
    let site = MockSite::start(MockConfig {
        kind: SiteKind::Oxygen,
        asl_enabled: false,
        ..MockConfig::saml2()
    })
    .await
    .expect("mock");
    let profile = Profile::new();
    let driver = WebDriver::start_with(&profile, |c| {
        c.env("TK_SHOTGRID_DEFAULT_LOGIN", "charlie@bar.com")
            .env("TK_SHOTGRID_SSO_DOMAIN", "HTTPS://Bar.com/");
    })
    .await;
    let window = open_window(&driver, &site).await;
    assert_eq!(
        text_of(&window, "#continue").await,
        "Continue: Sign in with the site's web page"
    );
    click(&window, "#continue").await;
    wait_for("the web sign-in to reach the site", WAIT, || async {
        site.last_renew_query()
    })
    .await;
    assert_eq!(
        site.last_renew_query().as_deref(),
        Some("product=toolkit&email=charlie%40bar.com&sso_domain=bar.com")
    );
}
