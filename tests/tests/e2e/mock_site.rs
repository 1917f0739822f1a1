//! The mock FPT site behaves as `shared/reference/fpt-auth-protocol.md` says a real one does:
//! the only stand-in in the tests, so it is tested against the protocol on its own.

use std::time::Duration;

use fpt_login_tests::harness::run_python;
use fpt_login_tests::mock::{MockConfig, MockSite};
use reqwest::header::{LOCATION, SET_COOKIE};
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

fn client() -> Client {
    Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .expect("http client")
}

/// The value of `name="field"` in an HTML form.
fn form_value(html: &str, field: &str) -> String {
    let marker = format!("name=\"{field}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no {field} in {html}"))
        + marker.len();
    html[start..]
        .split('"')
        .next()
        .expect("closing quote")
        .to_owned()
}

fn cookies(response: &reqwest::Response) -> Vec<String> {
    response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().expect("ascii").to_owned())
        .collect()
}

async fn api(site: &MockSite, method: &str, params: Value) -> reqwest::Response {
    client()
        .post(format!("{}/api3/json", site.url()))
        .json(&json!({"method_name": method, "params": params}))
        .send()
        .await
        .expect("api3 call")
}

/// Goes through `/auth/renew` → IdP form → SAML POST like a browser; returns the site's
/// `Set-Cookie` headers and the IdP session cookie.
async fn web_sign_in(site: &MockSite) -> (Vec<String>, String) {
    let http = client();
    let renew = http
        .get(format!("{}/auth/renew?product=toolkit", site.url()))
        .send()
        .await
        .expect("renew");
    assert_eq!(renew.status(), StatusCode::FOUND);
    let idp = renew.headers()[LOCATION]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert!(
        idp.starts_with(&format!("{}/idp/sso?", site.idp_url())),
        "{idp}"
    );
    let form = http
        .get(&idp)
        .send()
        .await
        .expect("idp")
        .text()
        .await
        .expect("html");
    let login = http
        .post(format!("{}/idp/login", site.idp_url()))
        .form(&[
            ("username", "artist"),
            ("password", "sesame"),
            ("SAMLRequest", &form_value(&form, "SAMLRequest")),
            ("RelayState", &form_value(&form, "RelayState")),
        ])
        .send()
        .await
        .expect("idp login");
    assert_eq!(login.status(), StatusCode::OK);
    let idp_cookie = cookies(&login)
        .into_iter()
        .next()
        .expect("IdP session cookie");
    let post_back = login.text().await.expect("html");
    assert!(post_back.contains(&format!("action=\"{}/saml/saml_consume\"", site.url())));
    assert!(post_back.contains(".submit()"), "the page posts itself");
    let consume = http
        .post(format!("{}/saml/saml_consume", site.url()))
        .form(&[
            ("SAMLResponse", form_value(&post_back, "SAMLResponse")),
            ("RelayState", form_value(&post_back, "RelayState")),
        ])
        .send()
        .await
        .expect("consume");
    assert_eq!(consume.status(), StatusCode::FOUND);
    assert_eq!(consume.headers()[LOCATION], "/auth/landing");
    (cookies(&consume), idp_cookie)
}

fn cookie_value(cookies: &[String], name: &str) -> Option<String> {
    cookies
        .iter()
        .find_map(|c| c.strip_prefix(&format!("{name}=")))
        .map(|rest| rest.split(';').next().unwrap_or_default().to_owned())
}

#[tokio::test]
async fn info_is_unauthenticated_and_carries_the_login_flags() {
    let site = MockSite::start(MockConfig::saml2()).await.expect("mock");
    let info: Value = api(&site, "info", json!([]))
        .await
        .json()
        .await
        .expect("json");
    let results = &info["results"];
    assert_eq!(results["user_authentication_method"], "saml2");
    assert_eq!(results["unified_login_flow_enabled"], true);
    assert_eq!(results["authentication_app_session_launcher_enabled"], true);
    assert!(results["version"].as_array().is_some_and(|v| v.len() >= 3));
}

#[tokio::test]
async fn the_saml_sign_in_sets_the_real_cookie_names() {
    let site = MockSite::start(MockConfig::saml2()).await.expect("mock");
    let (cookies, _) = web_sign_in(&site).await;
    let session = cookies
        .iter()
        .find(|c| c.starts_with("_session_id="))
        .expect("_session_id");
    assert!(session.contains("HttpOnly"), "{session}");
    assert!(
        cookie_value(&cookies, "csrf_token_u42").is_some(),
        "{cookies:?}"
    );
    assert_eq!(
        cookie_value(&cookies, "shotgun_current_user_login").as_deref(),
        Some("artist")
    );
    let claims: i64 = cookie_value(&cookies, "shotgun_current_user_sso_claims_expiration")
        .expect("claims expiry")
        .parse()
        .expect("epoch seconds");
    assert!(claims > 1_700_000_000);
    let token = cookie_value(&cookies, "_session_id").expect("token");
    assert_eq!(site.session_login(&token).as_deref(), Some("artist"));
}

#[tokio::test]
async fn an_assertion_is_good_once() {
    let site = MockSite::start(MockConfig::saml2()).await.expect("mock");
    let replayed = client()
        .post(format!("{}/saml/saml_consume", site.url()))
        .form(&[("SAMLResponse", "made-up"), ("RelayState", "/auth/landing")])
        .send()
        .await
        .expect("consume");
    assert_eq!(replayed.status(), StatusCode::FORBIDDEN);
    assert!(cookies(&replayed).is_empty());
}

#[tokio::test]
async fn a_live_idp_session_skips_the_form_and_a_wrong_password_gets_the_error_page() {
    let site = MockSite::start(MockConfig::saml2()).await.expect("mock");
    let (_, idp_cookie) = web_sign_in(&site).await;
    let idp_session = idp_cookie.split(';').next().expect("name=value").to_owned();
    let again = client()
        .get(format!(
            "{}/idp/sso?SAMLRequest=x&RelayState=%2Fauth%2Flanding",
            site.idp_url()
        ))
        .header("cookie", idp_session)
        .send()
        .await
        .expect("sso");
    let page = again.text().await.expect("html");
    assert!(
        page.contains("SAMLResponse") && !page.contains("type=\"password\""),
        "{page}"
    );
    assert_eq!(site.counters().idp_silent_passes, 1);

    let wrong = client()
        .post(format!("{}/idp/login", site.idp_url()))
        .form(&[
            ("username", "artist"),
            ("password", "nope"),
            ("SAMLRequest", "x"),
            ("RelayState", "/"),
        ])
        .send()
        .await
        .expect("login");
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert!(cookies(&wrong).is_empty());
    assert!(
        wrong
            .text()
            .await
            .expect("html")
            .contains("Incorrect login or password.")
    );
}

/// Runs `sg.find("Project", [], ["name"])` with the real shotgun_api3 and reports how it ended.
async fn shotgun_find(site: &MockSite, token: &str) -> String {
    let script = "import os, shotgun_api3\n\
        sg = shotgun_api3.Shotgun(os.environ['SITE'], session_token=os.environ['TOKEN'])\n\
        try:\n    print(len(sg.find('Project', [], ['name'])))\n\
        except shotgun_api3.AuthenticationFault:\n    print('AuthenticationFault')\n\
        except shotgun_api3.ProtocolError as e:\n    print('ProtocolError', e.errcode, e.headers.get('location'))";
    run_python(script, site.url(), token)
        .await
        .trim()
        .to_owned()
}

#[tokio::test]
async fn shotgun_api3_sees_projects_then_102_for_unknown_tokens() {
    let site = MockSite::start(MockConfig::saml2()).await.expect("mock");
    let (cookies, _) = web_sign_in(&site).await;
    let token = cookie_value(&cookies, "_session_id").expect("token");
    assert_eq!(
        shotgun_find(&site, &token).await,
        site.config().projects.len().to_string()
    );
    assert_eq!(
        shotgun_find(&site, "not-a-token").await,
        "AuthenticationFault"
    );
    assert_eq!(site.counters().rejected_sessions, 1);
}

#[tokio::test]
async fn an_idle_session_is_gone_and_lapsed_claims_redirect_to_the_idp() {
    let idle = MockSite::start(MockConfig {
        session_inactivity: Duration::ZERO,
        ..MockConfig::saml2()
    })
    .await
    .expect("mock");
    let (cookies, _) = web_sign_in(&idle).await;
    let token = cookie_value(&cookies, "_session_id").expect("token");
    // With no inactivity allowed, the session is already idle at its first use.
    assert_eq!(shotgun_find(&idle, &token).await, "AuthenticationFault");
    assert_eq!(
        idle.session_login(&token),
        None,
        "the expired session is dropped"
    );

    let lapsed = MockSite::start(MockConfig {
        claims_lifetime: Duration::ZERO,
        ..MockConfig::saml2()
    })
    .await
    .expect("mock");
    let (cookies, _) = web_sign_in(&lapsed).await;
    let token = cookie_value(&cookies, "_session_id").expect("token");
    let expected = format!("ProtocolError 302 {}/saml/saml_login_request", lapsed.url());
    assert_eq!(shotgun_find(&lapsed, &token).await, expected);
    assert_eq!(
        lapsed.session_login(&token).as_deref(),
        Some("artist"),
        "the token itself is still valid"
    );
}
