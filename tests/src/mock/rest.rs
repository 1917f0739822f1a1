//! The REST API's token endpoint (`POST /api/v1/auth/access_token`, protocol reference §6.4)
//! and one entity route that takes its Bearer tokens (`GET /api/v1/entity/projects`).
//!
//! Parameters come form-encoded, in the query string of an empty POST (as the official
//! clients send them) or in the body; a JSON body is refused as the site refuses it. Refresh
//! tokens are single-use: a spent one answers 401, and is counted, so tests can prove no
//! client ever sent one twice.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{RawQuery, State as Extract};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use url::form_urlencoded;

use super::{AtomicCounters, PasswordRefusal, State, random_token};

/// Who a REST token acts for.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Owner {
    User(u64),
    Script(String),
}

/// A token the endpoint handed out.
#[derive(Debug, Clone)]
pub(super) struct Grant {
    owner: Owner,
    /// The session it was minted from: revoking the session revokes it too.
    session: Option<String>,
    expires: Instant,
}

/// The REST tokens alive on the site.
#[derive(Debug, Default)]
pub(super) struct RestTokens {
    access: HashMap<String, Grant>,
    refresh: HashMap<String, Grant>,
}

impl RestTokens {
    /// Forgets every token minted from a session the site no longer has.
    pub(super) fn retain_sessions(&mut self, alive: impl Fn(&str) -> bool) {
        let keep = |g: &Grant| g.session.as_deref().is_none_or(&alive);
        self.access.retain(|_, g| keep(g));
        self.refresh.retain(|_, g| keep(g));
    }
}

/// One JSON:API error answer.
fn error(status: StatusCode, code: i64, title: &str, source: Option<Value>) -> Response {
    let mut item = json!({
        "id": random_token(16),
        "status": status.as_u16(),
        "code": code,
        "title": title,
        "detail": null,
        "meta": null,
    });
    if let Some(source) = source {
        item["source"] = source;
    }
    json_response(status, &json!({ "errors": [item] }))
}

fn json_response(status: StatusCode, value: &Value) -> Response {
    (
        status,
        [(CONTENT_TYPE, "application/json; charset=utf-8")],
        value.to_string(),
    )
        .into_response()
}

/// `POST /api/v1/auth/access_token`.
pub(super) async fn access_token(
    Extract(state): Extract<Arc<State>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let content_type = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    if content_type.starts_with("application/json") {
        return error(
            StatusCode::BAD_REQUEST,
            103,
            "Invalid JSON body",
            Some(json!({"body": "use application/x-www-form-urlencoded"})),
        );
    }
    let mut params: HashMap<String, String> =
        form_urlencoded::parse(query.unwrap_or_default().as_bytes())
            .into_owned()
            .collect();
    params.extend(form_urlencoded::parse(&body).into_owned());
    let param = |name: &str| params.get(name).map(String::as_str).unwrap_or_default();
    match param("grant_type") {
        "password" => password(&state, param("username"), param("password"), {
            Some(param("auth_token")).filter(|c| !c.is_empty())
        }),
        "client_credentials" => {
            let (name, key) = (param("client_id"), param("client_secret"));
            let known = state
                .config
                .scripts
                .iter()
                .any(|s| s.name == name && s.key == key);
            if !known {
                return error(
                    StatusCode::BAD_REQUEST,
                    102,
                    &format!("Can't authenticate script '{name}'."),
                    None,
                );
            }
            mint(&state, Owner::Script(name.to_owned()), None)
        }
        "session_token" if state.config.rest_session_grant => {
            session_token(&state, param("session_token"))
        }
        "refresh_token" => refresh(&state, param("refresh_token")),
        _ => error(
            StatusCode::BAD_REQUEST,
            103,
            "Unsupported grant_type",
            Some(json!({"grant_type": "unsupported"})),
        ),
    }
}

fn password(state: &State, login: &str, password: &str, code: Option<&str>) -> Response {
    match state.check_password(login, password, code) {
        Ok(user) => mint(state, Owner::User(user.id), None),
        Err(PasswordRefusal::TwoFactorRequired) if code.is_none() => error(
            StatusCode::BAD_REQUEST,
            106,
            "Missing argument for 2FA login",
            Some(json!({"auth_token": "missing for 2FA login"})),
        ),
        Err(PasswordRefusal::TwoFactorRequired) => error(
            StatusCode::BAD_REQUEST,
            106,
            "Invalid 2FA token",
            Some(json!({"auth_token": "invalid"})),
        ),
        Err(refusal) => error(
            StatusCode::BAD_REQUEST,
            refusal.error_code(),
            &format!("Can't authenticate user '{login}'."),
            None,
        ),
    }
}

fn session_token(state: &State, token: &str) -> Response {
    let user_id = {
        let mut sessions = state.sessions.lock().expect("sessions lock");
        match sessions.get_mut(token) {
            Some(session) if session.last_used.elapsed() <= state.config.session_inactivity => {
                // Each mint slides the session's expiry, as the site does.
                session.last_used = Instant::now();
                Some(session.user_id)
            }
            _ => None,
        }
    };
    let Some(user_id) = user_id else {
        let tail: String = token
            .chars()
            .rev()
            .take(4)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        return error(
            StatusCode::BAD_REQUEST,
            102,
            &format!("Can't authenticate session token ending with '{tail}'"),
            None,
        );
    };
    mint(state, Owner::User(user_id), Some(token.to_owned()))
}

fn refresh(state: &State, token: &str) -> Response {
    let spent = state
        .rest
        .lock()
        .expect("rest tokens lock")
        .refresh
        .remove(token);
    let Some(grant) = spent.filter(|g| g.expires > Instant::now()) else {
        AtomicCounters::bump(&state.counters.rest_refused_refreshes);
        return error(StatusCode::UNAUTHORIZED, 102, "Token invalid", None);
    };
    AtomicCounters::bump(&state.counters.rest_refreshes);
    issue(state, grant.owner, grant.session)
}

fn mint(state: &State, owner: Owner, session: Option<String>) -> Response {
    AtomicCounters::bump(&state.counters.rest_mints);
    issue(state, owner, session)
}

/// A new access token and refresh token for `owner`.
fn issue(state: &State, owner: Owner, session: Option<String>) -> Response {
    let lifetime = state.config.rest_token_lifetime;
    let access = format!("at-{}", random_token(40));
    let refresh = format!("rt-{}", random_token(40));
    let now = Instant::now();
    let mut rest = state.rest.lock().expect("rest tokens lock");
    rest.access.insert(
        access.clone(),
        Grant {
            owner: owner.clone(),
            session: session.clone(),
            expires: now + lifetime,
        },
    );
    // Refresh tokens stay valid for a day, as on real sites.
    rest.refresh.insert(
        refresh.clone(),
        Grant {
            owner,
            session,
            expires: now + std::time::Duration::from_secs(24 * 3600),
        },
    );
    json_response(
        StatusCode::OK,
        &json!({
            "token_type": "Bearer",
            "access_token": access,
            "expires_in": lifetime.as_secs(),
            "refresh_token": refresh,
        }),
    )
}

/// `GET /api/v1/entity/projects`: the projects, for a live Bearer token.
pub(super) async fn projects(Extract(state): Extract<Arc<State>>, headers: HeaderMap) -> Response {
    AtomicCounters::bump(&state.counters.rest_calls);
    let bearer = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    let live = state
        .rest
        .lock()
        .expect("rest tokens lock")
        .access
        .get(bearer)
        .is_some_and(|g| g.expires > Instant::now());
    if !live {
        AtomicCounters::bump(&state.counters.rest_rejected);
        return error(StatusCode::UNAUTHORIZED, 102, "Unauthorized", None);
    }
    let data: Vec<Value> = state
        .config
        .projects
        .iter()
        .zip(1_u64..)
        .map(|(name, id)| {
            json!({"type": "Project", "id": id, "attributes": {"name": name},
                   "links": {"self": format!("/api/v1/entity/projects/{id}")}})
        })
        .collect();
    json_response(
        StatusCode::OK,
        &json!({"data": data, "links": {"self": "/api/v1/entity/projects"}}),
    )
}
