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

use super::{MockUser, SiteKind, State, html_escape, page, random_token};

const LANDING: &str = "/auth/landing";

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
        .route("/user/login", get(login_page).post(login_post))
        .route(
            "/internal_api/session",
            get(session_info).post(session_keep_alive),
        )
        .route("/api/v1/auth/access_token", post(super::rest::access_token))
        .route("/api/v1/entity/projects", get(super::rest::projects))
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
pub(super) fn signed_in_user<'s>(
    state: &'s State,
    headers: &HeaderMap,
) -> Option<&'s super::MockUser> {
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
    #[serde(default)]
    sso_domain: Option<String>,
    /// Where to go once signed in (the site's own pages use it; apps land on /auth/landing).
    #[serde(default)]
    return_path: Option<String>,
}

/// A same-site path to go to next, never another origin.
fn local_path(path: Option<&str>, fallback: &str) -> String {
    match path {
        Some(p) if p.starts_with('/') && !p.starts_with("//") => p.to_owned(),
        _ => fallback.to_owned(),
    }
}

/// Starts a web sign-in: SSO and Autodesk Identity sites send the browser to the IdP, the
/// others to the site's own login page.
async fn renew(
    Extract(state): Extract<Arc<State>>,
    headers: HeaderMap,
    Query(query): Query<RenewQuery>,
    raw: axum::extract::RawQuery,
) -> Response {
    tracing::info!(product = ?query.product, "auth/renew");
    *state.last_renew_query.lock().expect("renew query lock") = raw.0;
    let next = local_path(query.return_path.as_deref(), LANDING);
    if !matches!(state.config.kind, SiteKind::Saml2 | SiteKind::Oxygen) {
        let mut login = form_urlencoded::Serializer::new(String::new());
        login.append_pair("return_path", &next);
        return redirect(&format!("/user/login?{}", login.finish()));
    }
    let request = random_token(16);
    state
        .saml_requests
        .lock()
        .expect("saml requests lock")
        .insert(request.clone(), cookie(&headers, "_session_id"));
    let mut query_string = form_urlencoded::Serializer::new(String::new());
    query_string.append_pair("SAMLRequest", &request);
    query_string.append_pair("RelayState", &next);
    if let Some(email) = &query.email {
        query_string.append_pair("login_hint", email);
    }
    if let Some(domain) = &query.sso_domain {
        query_string.append_pair("sso_domain", domain);
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
    let next = local_path(Some(&post.relay_state), LANDING);
    // A silent pass for the person whose live session the browser carried into /auth/renew
    // renews that session's claims (the token stays); a typed-in sign-in starts a new one.
    let carried = state
        .saml_requests
        .lock()
        .expect("saml requests lock")
        .remove(&assertion.in_response_to)
        .flatten();
    if assertion.silent
        && let Some(token) = carried
        && let Some(claims_expire_at) = renew_claims(&state, &token, user.id)
    {
        return with_session_cookies(&state, &user, &token, claims_expire_at, &next);
    }
    signed_in(&state, &user, &next)
}

/// Extends the claims of `token`'s live session when it belongs to `user_id`.
fn renew_claims(state: &State, token: &str, user_id: u64) -> Option<i64> {
    let mut sessions = state.sessions.lock().expect("sessions lock");
    let session = sessions.get_mut(token).filter(|s| {
        s.user_id == user_id && s.last_used.elapsed() <= state.config.session_inactivity
    })?;
    session.claims_expire_at = super::epoch_now() + super::secs(state.config.claims_lifetime);
    session.last_used = Instant::now();
    super::AtomicCounters::bump(&state.counters.claims_renewals);
    Some(session.claims_expire_at)
}

/// Starts a session for `user` and redirects to `next` with the cookies FPT sets: the token,
/// the CSRF cookie that carries the user id, the login, and the expiry that tells SAML users
/// (claims) from other web users (session).
fn signed_in(state: &State, user: &MockUser, next: &str) -> Response {
    let (token, claims_expire_at) = state.create_session(user.id);
    with_session_cookies(state, user, &token, claims_expire_at, next)
}

fn with_session_cookies(
    state: &State,
    user: &MockUser,
    token: &str,
    claims_expire_at: i64,
    next: &str,
) -> Response {
    let login: String = form_urlencoded::byte_serialize(user.login.as_bytes()).collect();
    let expiry = if state.config.kind == SiteKind::Saml2 {
        format!("shotgun_current_user_sso_claims_expiration={claims_expire_at}")
    } else {
        let ends = super::epoch_now() + super::secs(state.config.session_inactivity);
        format!("shotgun_current_session_expiration={ends}")
    };
    // Like a real site: every cookie Secure over https, the token host-only and HttpOnly.
    let secure = if state.config.tls.is_some() {
        "; Secure"
    } else {
        ""
    };
    let cookies = [
        format!("_session_id={token}; Path=/; HttpOnly; SameSite=Lax"),
        format!(
            "csrf_token_u{}={}; Path=/; SameSite=Lax",
            user.id,
            random_token(24)
        ),
        format!("shotgun_current_user_login={login}; Path=/; SameSite=Lax"),
        format!("{expiry}; Path=/; SameSite=Lax"),
    ];
    let mut response = redirect(next);
    for c in cookies {
        response.headers_mut().append(
            SET_COOKIE,
            HeaderValue::from_str(&format!("{c}{secure}")).expect("cookie is a header value"),
        );
    }
    response
}

#[derive(Debug, Deserialize)]
struct LoginQuery {
    #[serde(default)]
    return_path: Option<String>,
}

/// The site's own login page. SSO and Identity sites send it through the IdP instead.
async fn login_page(
    Extract(state): Extract<Arc<State>>,
    Query(query): Query<LoginQuery>,
) -> Response {
    let next = local_path(query.return_path.as_deref(), "/");
    if matches!(state.config.kind, SiteKind::Saml2 | SiteKind::Oxygen) {
        let mut renew = form_urlencoded::Serializer::new(String::new());
        renew.append_pair("product", "browser");
        renew.append_pair("return_path", &next);
        return redirect(&format!("/auth/renew?{}", renew.finish()));
    }
    login_form(&next, None).into_response()
}

fn login_form(next: &str, error: Option<&str>) -> Html<String> {
    let error = error.map_or_else(String::new, |e| {
        format!("<p class=\"error\" id=\"error\">{}</p>", html_escape(e))
    });
    Html(page(
        "Flow Production Tracking — Sign in",
        &format!(
            "<h1>Sign in to Flow Production Tracking</h1>{error}\
             <form method=\"post\" action=\"/user/login\">\
             <input type=\"hidden\" name=\"return_path\" value=\"{next}\">\
             <label for=\"username\">Login</label><input id=\"username\" name=\"username\" autofocus>\
             <label for=\"password\">Password</label><input id=\"password\" name=\"password\" type=\"password\">\
             <label for=\"code\">Two-factor code (if you use one)</label><input id=\"code\" name=\"code\" inputmode=\"numeric\">\
             <button id=\"sign-in\" type=\"submit\">Sign in</button></form>",
            next = html_escape(next),
        ),
    ))
}

#[derive(Debug, Deserialize)]
struct LoginPost {
    username: String,
    password: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    return_path: String,
}

async fn login_post(Extract(state): Extract<Arc<State>>, Form(form): Form<LoginPost>) -> Response {
    let next = local_path(Some(&form.return_path), "/");
    let code = Some(form.code.trim()).filter(|c| !c.is_empty());
    match state.check_password(&form.username, &form.password, code) {
        Ok(user) => signed_in(&state, &user, &next),
        Err(refusal) => {
            let mut response = login_form(&next, Some(refusal.message())).into_response();
            *response.status_mut() = StatusCode::UNAUTHORIZED;
            response
        }
    }
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

/// `GET /internal_api/session` with the `_session_id` cookie: when the session was created
/// and when it idles out (protocol reference §4.5). Reading does not count as use.
async fn session_info(Extract(state): Extract<Arc<State>>, headers: HeaderMap) -> Response {
    super::AtomicCounters::bump(&state.counters.session_info_calls);
    let sessions = state.sessions.lock().expect("sessions lock");
    let live = cookie(&headers, "_session_id")
        .and_then(|token| sessions.get(&token).cloned())
        .filter(|s| s.last_used.elapsed() <= state.config.session_inactivity);
    let Some(session) = live else {
        return session_gone();
    };
    let expires_at = session.expires_at(state.config.session_inactivity);
    Json(serde_json::json!({
        "app": {"createdAt": session.created_at, "expiresAt": expires_at},
        "license": {},
        "expired": false,
        "expiresAt": expires_at,
    }))
    .into_response()
}

/// `POST /internal_api/session`: counts as use of the session.
async fn session_keep_alive(Extract(state): Extract<Arc<State>>, headers: HeaderMap) -> Response {
    super::AtomicCounters::bump(&state.counters.session_info_calls);
    let mut sessions = state.sessions.lock().expect("sessions lock");
    let live = cookie(&headers, "_session_id")
        .and_then(|token| sessions.get_mut(&token))
        .filter(|s| s.last_used.elapsed() <= state.config.session_inactivity);
    let Some(session) = live else {
        return session_gone();
    };
    session.last_used = Instant::now();
    Json(serde_json::json!({"message": "OK"})).into_response()
}

/// The reference does not show the answer for a dead session; the mock says 401.
fn session_gone() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        Json(serde_json::json!({"expired": true})),
    )
        .into_response()
}

async fn counters(Extract(state): Extract<Arc<State>>) -> Json<super::Counters> {
    Json(state.counters.snapshot())
}

/// For the IdP: a fresh assertion for `user_id`.
pub(super) fn issue_assertion(
    state: &State,
    user_id: u64,
    in_response_to: &str,
    silent: bool,
) -> String {
    let id = random_token(24);
    state.assertions.lock().expect("assertions lock").insert(
        id.clone(),
        super::Assertion {
            user_id,
            issued: Instant::now(),
            silent,
            in_response_to: in_response_to.to_owned(),
        },
    );
    id
}
