//! The identity provider, on its own origin: a login form, an IdP session cookie, and the
//! SAML POST binding back to the site (an auto-submitting form).

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Query, State as Extract};
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;

use super::web::{cookie, issue_assertion};
use super::{AtomicCounters, IdpMode, IdpSession, State, html_escape, page, random_token};

const IDP_COOKIE: &str = "idp_session";

pub(super) fn router(state: Arc<State>) -> Router {
    Router::new()
        .route("/idp/sso", get(sso))
        .route("/idp/login", post(login))
        .route("/idp/help.pdf", get(help))
        .route("/idp/ready", post(ready))
        .with_state(state)
}

/// The form page reports it has loaded (see [`login_form`]).
async fn ready(Extract(state): Extract<Arc<State>>) -> StatusCode {
    AtomicCounters::bump(&state.counters.idp_forms_ready);
    StatusCode::NO_CONTENT
}

/// The help link real IdPs have next to their form: a file the browser would save.
async fn help() -> Response {
    (
        [
            (axum::http::header::CONTENT_TYPE, "application/pdf"),
            (
                axum::http::header::CONTENT_DISPOSITION,
                "attachment; filename=\"sign-in-help.pdf\"",
            ),
        ],
        "%PDF-1.4 mock help\n",
    )
        .into_response()
}

#[derive(Debug, Deserialize)]
struct SsoQuery {
    #[serde(rename = "SAMLRequest")]
    request: String,
    #[serde(rename = "RelayState", default)]
    relay_state: String,
    #[serde(default)]
    login_hint: Option<String>,
}

/// Applies the IdP's current mode: a delay, or an error page instead of an answer.
async fn trouble(state: &State) -> Option<Response> {
    let mode = *state.idp_mode.lock().expect("idp mode lock");
    match mode {
        IdpMode::Normal => None,
        IdpMode::Slow(delay) => {
            tokio::time::sleep(delay).await;
            None
        }
        IdpMode::Failing => Some(
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                Html(page(
                    "Identity provider error",
                    "<h1>Something went wrong</h1><p class=\"error\">The identity provider could not process the request.</p>",
                )),
            )
                .into_response(),
        ),
    }
}

async fn sso(
    Extract(state): Extract<Arc<State>>,
    headers: HeaderMap,
    Query(query): Query<SsoQuery>,
) -> Response {
    if let Some(error) = trouble(&state).await {
        return error;
    }
    let live_user = cookie(&headers, IDP_COOKIE).and_then(|id| {
        let sessions = state.idp_sessions.lock().expect("idp sessions lock");
        sessions
            .get(&id)
            .filter(|s| s.expires > Instant::now())
            .map(|s| s.user_id)
    });
    if state.config.idp_loops {
        let back = format!("{}/auth/renew?product=idp_loop", state.site_origin);
        return Html(page(
            "Redirecting…",
            &format!(
                "<meta http-equiv=\"refresh\" content=\"0;url={}\"><p>Redirecting…</p>",
                html_escape(&back)
            ),
        ))
        .into_response();
    }
    if let Some(user_id) = live_user {
        AtomicCounters::bump(&state.counters.idp_silent_passes);
        return post_back(&state, user_id, &query.request, &query.relay_state, true)
            .into_response();
    }
    AtomicCounters::bump(&state.counters.idp_forms_shown);
    login_form(
        &state,
        &query.request,
        &query.relay_state,
        query.login_hint.as_deref().unwrap_or(""),
        None,
    )
    .into_response()
}

fn login_form(
    state: &State,
    request: &str,
    relay_state: &str,
    login: &str,
    error: Option<&str>,
) -> Html<String> {
    let hint = state
        .config
        .idp_hint
        .as_deref()
        .map_or_else(String::new, |h| {
            format!("<p class=\"hint\">{}</p>", html_escape(h))
        });
    let error = error.map_or_else(String::new, |e| {
        format!("<p class=\"error\" id=\"error\">{}</p>", html_escape(e))
    });
    Html(page(
        "Mock IdP — Sign in",
        &format!(
            "<h1>Mock Identity Provider</h1><p>Sign in to continue to Flow Production Tracking.</p>{hint}{error}\
             <form method=\"post\" action=\"/idp/login\">\
             <input type=\"hidden\" name=\"SAMLRequest\" value=\"{request}\">\
             <input type=\"hidden\" name=\"RelayState\" value=\"{relay}\">\
             <label for=\"username\">Login</label><input id=\"username\" name=\"username\" autocomplete=\"username\" value=\"{login}\" autofocus>\
             <label for=\"password\">Password</label><input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\">\
             <button id=\"sign-in\" type=\"submit\">Sign in</button></form>\
             <p><a id=\"help\" href=\"/idp/help.pdf\">Trouble signing in? (PDF)</a></p>\
             <script>addEventListener(\"load\", () => {{ document.getElementById(\"username\").focus(); \
             fetch(\"/idp/ready\", {{ method: \"POST\" }}); }});</script>",
            request = html_escape(request),
            relay = html_escape(relay_state),
            login = html_escape(login),
        ),
    ))
}

#[derive(Debug, Deserialize)]
struct LoginForm {
    username: String,
    password: String,
    #[serde(rename = "SAMLRequest")]
    request: String,
    #[serde(rename = "RelayState", default)]
    relay_state: String,
}

async fn login(Extract(state): Extract<Arc<State>>, Form(form): Form<LoginForm>) -> Response {
    if let Some(error) = trouble(&state).await {
        return error;
    }
    let user = state
        .config
        .users
        .iter()
        .find(|u| u.login.eq_ignore_ascii_case(form.username.trim()) && u.password == form.password)
        .cloned();
    let Some(user) = user else {
        AtomicCounters::bump(&state.counters.idp_failed_logins);
        // Like a real IdP: an error page with the form again, nothing for the site.
        let mut response = login_form(
            &state,
            &form.request,
            &form.relay_state,
            &form.username,
            Some("Incorrect login or password."),
        )
        .into_response();
        *response.status_mut() = StatusCode::UNAUTHORIZED;
        return response;
    };
    AtomicCounters::bump(&state.counters.idp_logins);
    let session_id = random_token(24);
    state
        .idp_sessions
        .lock()
        .expect("idp sessions lock")
        .insert(
            session_id.clone(),
            IdpSession {
                user_id: user.id,
                expires: Instant::now() + state.config.idp_session_lifetime,
            },
        );
    let mut response =
        post_back(&state, user.id, &form.request, &form.relay_state, false).into_response();
    // Persistent, like real IdPs' "keep me signed in", it survives an app restart; a session
    // cookie lives as long as the browser's network side does.
    let lifetime = if state.config.idp_cookie_persistent {
        format!("; Max-Age={}", state.config.idp_session_lifetime.as_secs())
    } else {
        String::new()
    };
    response.headers_mut().append(
        SET_COOKIE,
        format!("{IDP_COOKIE}={session_id}; Path=/{lifetime}; HttpOnly; SameSite=Lax")
            .parse()
            .expect("cookie is a header value"),
    );
    response
}

/// The SAML POST binding: a page whose form posts the assertion to the site by itself. No
/// control is named `submit`, which would shadow `form.submit()`.
fn post_back(
    state: &State,
    user_id: u64,
    request: &str,
    relay_state: &str,
    silent: bool,
) -> Html<String> {
    let assertion = issue_assertion(state, user_id, request, silent);
    Html(page(
        "Signing in…",
        &format!(
            "<p>Signing in to Flow Production Tracking…</p>\
             <form id=\"saml\" method=\"post\" action=\"{site}/saml/saml_consume\">\
             <input type=\"hidden\" name=\"SAMLResponse\" value=\"{assertion}\">\
             <input type=\"hidden\" name=\"RelayState\" value=\"{relay}\">\
             <noscript><button type=\"submit\">Continue</button></noscript></form>\
             <script>document.getElementById('saml').submit();</script>",
            site = html_escape(&state.site_origin),
            relay = html_escape(relay_state),
        ),
    ))
}
