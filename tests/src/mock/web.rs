//! The site's web routes: `/auth/renew`, the SAML assertion consumer, `/auth/landing`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{Query, State as Extract};
use axum::http::header::{COOKIE, LOCATION, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Json, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use url::form_urlencoded;

use super::{State, html_escape, page, random_token};

/// How long an assertion may take from the IdP to the site.
const ASSERTION_LIFETIME: Duration = Duration::from_secs(300);

pub(super) fn router(state: Arc<State>) -> Router {
    Router::new()
        .route("/", get(home))
        .route("/api3/json", post(super::api3::rpc))
        .route("/auth/renew", get(renew))
        .route("/saml/saml_consume", post(consume))
        .route("/saml/saml_login_request", get(login_request))
        .route("/auth/landing", get(landing))
        .route("/__mock/counters", get(counters))
        .with_state(state)
}

/// The value of cookie `name` in a request.
pub(super) fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

pub(super) fn redirect(location: &str) -> Response {
    (StatusCode::FOUND, [(LOCATION, location.to_owned())]).into_response()
}

/// The user whose live `_session_id` cookie came with a request.
fn signed_in_user<'s>(state: &'s State, headers: &HeaderMap) -> Option<&'s super::MockUser> {
    let token = cookie(headers, "_session_id")?;
    let user_id = state
        .sessions
        .lock()
        .expect("sessions lock")
        .get(&token)?
        .user_id;
    state.user(user_id)
}

async fn home(Extract(state): Extract<Arc<State>>, headers: HeaderMap) -> Html<String> {
    let who = signed_in_user(&state, &headers).map_or_else(
        || "Not signed in.".to_owned(),
        |u| format!("Signed in as {}.", html_escape(&u.name)),
    );
    Html(page(
        "Mock Flow Production Tracking",
        &format!(
            "<h1>Mock Flow Production Tracking</h1><p>{who}</p>\
             <p><a href=\"/auth/renew?product=browser\">Sign in</a></p>"
        ),
    ))
}

#[derive(Debug, Deserialize)]
struct RenewQuery {
    #[serde(default)]
    product: Option<String>,
    #[serde(default)]
    email: Option<String>,
}

/// Starts a SAML sign-in: off to the IdP with a request and where to come back to.
async fn renew(Extract(state): Extract<Arc<State>>, Query(query): Query<RenewQuery>) -> Response {
    tracing::info!(product = ?query.product, "auth/renew");
    let mut query_string = form_urlencoded::Serializer::new(String::new());
    query_string.append_pair("SAMLRequest", &random_token(16));
    query_string.append_pair("RelayState", "/auth/landing");
    if let Some(email) = &query.email {
        query_string.append_pair("login_hint", email);
    }
    redirect(&format!(
        "{}/idp/sso?{}",
        state.idp_origin,
        query_string.finish()
    ))
}

#[derive(Debug, Deserialize)]
struct SamlPost {
    #[serde(rename = "SAMLResponse")]
    saml_response: String,
    #[serde(rename = "RelayState", default)]
    relay_state: String,
}

/// The assertion consumer: the IdP's auto-submitted form lands here; the site starts a session
/// and sets the cookies tk-core reads.
async fn consume(Extract(state): Extract<Arc<State>>, Form(post): Form<SamlPost>) -> Response {
    let assertion = state
        .assertions
        .lock()
        .expect("assertions lock")
        .remove(&post.saml_response);
    let Some(assertion) = assertion.filter(|a| a.issued.elapsed() < ASSERTION_LIFETIME) else {
        return (
            StatusCode::FORBIDDEN,
            Html(page("Sign-in failed", "<h1>Sign-in failed</h1><p class=\"error\">The SAML response is invalid or was already used.</p>")),
        )
            .into_response();
    };
    let Some(user) = state.user(assertion.user_id).cloned() else {
        return (StatusCode::FORBIDDEN, "unknown user").into_response();
    };
    let (token, claims_expire_at) = state.create_session(user.id);
    let login: String = form_urlencoded::byte_serialize(user.login.as_bytes()).collect();
    let cookies = [
        format!("_session_id={token}; Path=/; HttpOnly; SameSite=Lax"),
        format!(
            "csrf_token_u{}={}; Path=/; SameSite=Lax",
            user.id,
            random_token(24)
        ),
        format!("shotgun_current_user_login={login}; Path=/; SameSite=Lax"),
        format!(
            "shotgun_current_user_sso_claims_expiration={claims_expire_at}; Path=/; SameSite=Lax"
        ),
    ];
    let next = if post.relay_state.starts_with('/') && !post.relay_state.starts_with("//") {
        post.relay_state
    } else {
        "/auth/landing".to_owned()
    };
    let mut response = redirect(&next);
    for c in cookies {
        response.headers_mut().append(
            SET_COOKIE,
            HeaderValue::from_str(&c).expect("cookie is a header value"),
        );
    }
    response
}

/// Where a lapsed SAML session is sent: back through the IdP.
async fn login_request() -> Response {
    redirect("/auth/renew?product=saml_login_request")
}

async fn landing(Extract(state): Extract<Arc<State>>, headers: HeaderMap) -> Html<String> {
    let name = signed_in_user(&state, &headers).map(|u| u.name.clone());
    let text = name.map_or_else(
        || "You are signed in.".to_owned(),
        |n| format!("You are signed in as {}.", html_escape(&n)),
    );
    Html(page(
        "Signed in",
        &format!("<h1>Signed in</h1><p>{text}</p>"),
    ))
}

async fn counters(Extract(state): Extract<Arc<State>>) -> Json<super::Counters> {
    Json(state.counters.snapshot())
}

/// For the IdP: a fresh assertion for `user_id`.
pub(super) fn issue_assertion(state: &State, user_id: u64) -> String {
    let id = random_token(24);
    state.assertions.lock().expect("assertions lock").insert(
        id.clone(),
        super::Assertion {
            user_id,
            issued: Instant::now(),
        },
    );
    id
}
