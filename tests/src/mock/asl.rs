//! The App Session Launcher: an app asks for a session, the person approves it in their own
//! browser (signed in to the site), and the app's polling gets the token exactly once.
//! Rejected, expired and unknown requests all read the same 404 (protocol reference §5).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Path, State as Extract};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Form, Router};
use serde_json::{Value, json};
use url::form_urlencoded;

use super::web::{redirect, signed_in_user};
use super::{AtomicCounters, State, html_escape, page, random_token};

#[derive(Debug, Clone)]
pub(super) struct Request {
    app_name: String,
    machine_id: String,
    created: Instant,
    decision: Decision,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Decision {
    Pending,
    Approved {
        token: String,
        login: String,
    },
    /// Denied, or the token was already handed out: both read as 404 from now on.
    Gone,
}

pub(super) fn router(state: Arc<State>) -> Router {
    Router::new()
        .route("/internal_api/app_session_request", post(create))
        .route("/internal_api/app_session_request/{id}", put(poll))
        .route("/app_session_request/{id}", get(approval_page).post(decide))
        .with_state(state)
}

fn json_reply(status: StatusCode, body: &Value) -> Response {
    (
        status,
        [(CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn not_found() -> Response {
    json_reply(StatusCode::NOT_FOUND, &json!({"message": "Not Found"}))
}

/// Accepts a form or JSON body, as the real endpoint does.
fn params(headers: &HeaderMap, body: &[u8]) -> HashMap<String, String> {
    let is_json = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if is_json {
        serde_json::from_slice::<HashMap<String, Value>>(body)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|(k, v)| v.as_str().map(|s| (k, s.to_owned())))
            .collect()
    } else {
        form_urlencoded::parse(body).into_owned().collect()
    }
}

async fn create(
    Extract(state): Extract<Arc<State>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    if !state.config.asl_enabled {
        return json_reply(
            StatusCode::FORBIDDEN,
            &json!({"message": "App Session Launcher is disabled"}),
        );
    }
    let params = params(&headers, &body);
    let missing: Vec<&str> = ["appName", "machineId"]
        .into_iter()
        .filter(|k| params.get(*k).is_none_or(String::is_empty))
        .collect();
    if !missing.is_empty() {
        return json_reply(
            StatusCode::BAD_REQUEST,
            &json!({"message": format!("Missing params: {}", missing.join(", "))}),
        );
    }
    let id = random_token(20);
    state.asl_requests.lock().expect("asl lock").insert(
        id.clone(),
        Request {
            app_name: params["appName"].clone(),
            machine_id: params["machineId"].clone(),
            created: Instant::now(),
            decision: Decision::Pending,
        },
    );
    AtomicCounters::bump(&state.counters.asl_requests);
    let url = format!(
        "{}/app_session_request/{id}?sticky_id={id}",
        state.site_origin
    );
    json_reply(StatusCode::OK, &json!({"sessionRequestId": id, "url": url}))
}

/// The live request `id`, or `None` once it expired (expired requests are forgotten).
fn live(state: &State, requests: &mut HashMap<String, Request>, id: &str) -> Option<Request> {
    let request = requests.get(id)?;
    if request.created.elapsed() > state.config.asl_request_lifetime {
        requests.remove(id);
        return None;
    }
    Some(request.clone())
}

async fn poll(Extract(state): Extract<Arc<State>>, Path(id): Path<String>) -> Response {
    AtomicCounters::bump(&state.counters.asl_polls);
    let mut requests = state.asl_requests.lock().expect("asl lock");
    let Some(request) = live(&state, &mut requests, &id) else {
        return not_found();
    };
    match request.decision {
        Decision::Pending => json_reply(StatusCode::OK, &json!({"approved": false})),
        Decision::Gone => not_found(),
        Decision::Approved { token, login } => {
            // Handed out once: the next poll, from anywhere, is a 404.
            if let Some(r) = requests.get_mut(&id) {
                r.decision = Decision::Gone;
            }
            AtomicCounters::bump(&state.counters.asl_handed_out);
            json_reply(
                StatusCode::OK,
                &json!({"approved": true, "sessionToken": token, "userLogin": login}),
            )
        }
    }
}

async fn approval_page(
    Extract(state): Extract<Arc<State>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let Some(user) = signed_in_user(&state, &headers) else {
        let mut login = form_urlencoded::Serializer::new(String::new());
        login.append_pair("return_path", &format!("/app_session_request/{id}"));
        return redirect(&format!("/user/login?{}", login.finish()));
    };
    let request = live(
        &state,
        &mut state.asl_requests.lock().expect("asl lock"),
        &id,
    );
    let Some(request) = request.filter(|r| r.decision == Decision::Pending) else {
        return (
            StatusCode::NOT_FOUND,
            Html(page(
                "Request not found",
                "<h1>This request has expired or was already answered.</h1>",
            )),
        )
            .into_response();
    };
    Html(page(
        "Approve sign-in",
        &format!(
            "<h1>Sign in to {app}?</h1><p>{name}, <strong>{app}</strong> on <strong>{machine}</strong> \
             asks to use your Flow Production Tracking account.</p>\
             <form method=\"post\"><button id=\"approve\" name=\"decision\" value=\"approve\">Approve</button> \
             <button id=\"deny\" name=\"decision\" value=\"deny\">Deny</button></form>",
            app = html_escape(&request.app_name),
            machine = html_escape(&request.machine_id),
            name = html_escape(&user.name),
        ),
    ))
    .into_response()
}

#[derive(Debug, serde::Deserialize)]
struct DecisionForm {
    decision: String,
}

async fn decide(
    Extract(state): Extract<Arc<State>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<DecisionForm>,
) -> Response {
    let Some(user) = signed_in_user(&state, &headers).cloned() else {
        return (StatusCode::FORBIDDEN, "sign in first").into_response();
    };
    let mut requests = state.asl_requests.lock().expect("asl lock");
    if live(&state, &mut requests, &id).is_none_or(|r| r.decision != Decision::Pending) {
        return not_found();
    }
    let decision = if form.decision == "approve" {
        let (token, _) = state.create_session(user.id);
        Decision::Approved {
            token,
            login: user.login.clone(),
        }
    } else {
        Decision::Gone
    };
    let approved = matches!(decision, Decision::Approved { .. });
    if let Some(r) = requests.get_mut(&id) {
        r.decision = decision;
    }
    let text = if approved {
        "Approved. You can close this tab and go back to the app."
    } else {
        "Denied. The app was not signed in."
    };
    Html(page("Done", &format!("<h1>{text}</h1>"))).into_response()
}
