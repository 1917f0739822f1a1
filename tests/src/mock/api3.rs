//! `POST /api3/json`: the JSON-RPC endpoint shotgun_api3 and tk-core talk to.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::State as Extract;
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::web::redirect;
use super::{AtomicCounters, SiteKind, State, epoch_now};

const ERR_AUTH: i64 = 102;
/// Not in the reference; any non-auth `error_code` reads as a generic `Fault` to clients.
const ERR_GENERIC: i64 = 103;

pub(super) async fn rpc(Extract(state): Extract<Arc<State>>, body: Bytes) -> Response {
    AtomicCounters::bump(&state.counters.api_calls);
    let failure = *state.api_failure.lock().expect("api failure lock");
    if let Some(status) = failure.and_then(|s| StatusCode::from_u16(s).ok()) {
        return (status, "the site is having trouble").into_response();
    }
    let Ok(payload) = serde_json::from_slice::<Value>(&body) else {
        return fault(ERR_GENERIC, "the request body is not JSON");
    };
    let method = payload
        .get("method_name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let params = payload
        .get("params")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if method == "info" {
        return results(&info(&state));
    }
    let auth_params = params.first().and_then(Value::as_object);
    if method == "get_session_token" {
        return get_session_token(&state, auth_params);
    }
    let auth = params
        .first()
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    match authenticate(&state, &auth) {
        Ok(()) => {}
        Err(Refusal::Credentials(code, message)) => {
            AtomicCounters::bump(&state.counters.rejected_sessions);
            return fault(code, message);
        }
        Err(Refusal::ClaimsLapsed) => {
            return redirect(&format!("{}/saml/saml_login_request", state.site_origin));
        }
    }
    match method {
        "read" => read(&state, params.get(1).unwrap_or(&Value::Null)),
        other => fault(ERR_GENERIC, &format!("unknown method {other}")),
    }
}

fn info(state: &State) -> Value {
    json!({
        "version": [8, 50, 0, 0],
        "full_version": [8, 50, 0, 0],
        "s3_uploads_enabled": false,
        "user_authentication_method": state.config.kind.wire_name(),
        "unified_login_flow_enabled": state.config.ulf_enabled,
        "authentication_app_session_launcher_enabled": state.config.asl_enabled,
    })
}

fn results(value: &Value) -> Response {
    json_response(&json!({ "results": value }))
}

fn fault(code: i64, message: &str) -> Response {
    json_response(&json!({"exception": true, "error_code": code, "message": message}))
}

fn json_response(value: &Value) -> Response {
    (
        [(CONTENT_TYPE, "application/json; charset=utf-8")],
        value.to_string(),
    )
        .into_response()
}

/// `get_session_token`: a login and password (and a 2FA or backup code as `auth_token`) for a
/// session token, or the error code that says why not (102, 106, 108, 110).
fn get_session_token(state: &State, auth: Option<&Map<String, Value>>) -> Response {
    let field = |name: &str| {
        auth.and_then(|a| a.get(name))
            .and_then(Value::as_str)
            .unwrap_or_default()
    };
    let code = Some(field("auth_token")).filter(|c| !c.is_empty());
    match state.check_password(field("user_login"), field("user_password"), code) {
        Ok(user) => {
            let (token, _) = state.create_session(user.id);
            AtomicCounters::bump(&state.counters.password_logins);
            results(&json!({ "session_id": token }))
        }
        Err(refusal) => fault(refusal.error_code(), refusal.message()),
    }
}

/// Why a call's credentials are refused.
enum Refusal {
    /// Bad credentials or an unknown or idle-expired session, with the `error_code` to send.
    Credentials(i64, &'static str),
    /// The SAML claims lapsed: a 302 to the IdP (the token itself may still be valid).
    ClaimsLapsed,
}

/// Checks a call's auth params (a session token, a script's name and key, or a login and
/// password) and counts the call as use of the session.
fn authenticate(state: &State, auth: &Map<String, Value>) -> Result<(), Refusal> {
    let field = |name: &str| auth.get(name).and_then(Value::as_str);
    if let (Some(name), Some(key)) = (field("script_name"), field("script_key")) {
        let known = state
            .config
            .scripts
            .iter()
            .any(|s| s.name == name && s.key == key);
        return if known {
            Ok(())
        } else {
            Err(Refusal::Credentials(
                ERR_AUTH,
                "Can't authenticate script. Wrong script name or key.",
            ))
        };
    }
    if let (Some(login), Some(password)) = (field("user_login"), field("user_password")) {
        return state
            .check_password(login, password, field("auth_token"))
            .map(|_| ())
            .map_err(|r| Refusal::Credentials(r.error_code(), r.message()));
    }
    let Some(token) = field("session_token") else {
        return Err(Refusal::Credentials(
            ERR_AUTH,
            "Can't authenticate user. Authentication parameters are missing.",
        ));
    };
    let mut sessions = state.sessions.lock().expect("sessions lock");
    let Some(session) = sessions.get_mut(token) else {
        return Err(Refusal::Credentials(
            ERR_AUTH,
            "Can't authenticate user. The session token is invalid or has expired.",
        ));
    };
    if session.last_used.elapsed() > state.config.session_inactivity {
        sessions.remove(token);
        return Err(Refusal::Credentials(
            ERR_AUTH,
            "Can't authenticate user. The session has expired.",
        ));
    }
    // Only SAML sessions carry claims that lapse.
    if state.config.kind == SiteKind::Saml2 && epoch_now() >= session.claims_expire_at {
        return Err(Refusal::ClaimsLapsed);
    }
    session.last_used = Instant::now();
    Ok(())
}

/// `read` (what `find` and `find_one` send) of `HumanUser` or `Project`, with `is` / `is_not`
/// filters, paging and return fields.
fn read(state: &State, params: &Value) -> Response {
    let entity_type = params
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let records: Vec<Value> = match entity_type {
        "HumanUser" => state
            .config
            .users
            .iter()
            .map(|u| {
                json!({"type": "HumanUser", "id": u.id, "login": u.login, "name": u.name,
                       "sg_status_list": "act"})
            })
            .collect(),
        "Project" => state
            .config
            .projects
            .iter()
            .zip(1_u64..)
            .map(|(name, id)| json!({"type": "Project", "id": id, "name": name}))
            .collect(),
        other => return fault(ERR_GENERIC, &format!("entity type {other} is not known")),
    };
    let conditions = params
        .pointer("/filters/conditions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut matching = Vec::new();
    for record in records {
        let mut keep = true;
        for condition in &conditions {
            match matches(&record, condition) {
                Ok(m) => keep &= m,
                Err(message) => return fault(ERR_GENERIC, &message),
            }
        }
        if keep {
            matching.push(record);
        }
    }
    let per_page = params
        .pointer("/paging/entities_per_page")
        .and_then(Value::as_u64)
        .unwrap_or(500)
        .max(1);
    let page = params
        .pointer("/paging/current_page")
        .and_then(Value::as_u64)
        .unwrap_or(1)
        .max(1);
    let total = matching.len();
    let start = usize::try_from((page - 1) * per_page).unwrap_or(usize::MAX);
    let per_page_usize = usize::try_from(per_page).unwrap_or(usize::MAX);
    let fields: Vec<String> = params
        .get("return_fields")
        .and_then(Value::as_array)
        .map(|f| {
            f.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let entities: Vec<Value> = matching
        .into_iter()
        .skip(start)
        .take(per_page_usize)
        .map(|record| project_fields(&record, &fields))
        .collect();
    let has_next_page = start.saturating_add(per_page_usize) < total;
    results(&json!({
        "entities": entities,
        "paging_info": {"entity_count": total, "has_next_page": has_next_page,
                         "current_page": page, "entities_per_page": per_page}
    }))
}

fn matches(record: &Value, condition: &Value) -> Result<bool, String> {
    let path = condition
        .get("path")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let relation = condition
        .get("relation")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let wanted = condition.pointer("/values/0").unwrap_or(&Value::Null);
    let actual = record.get(path).unwrap_or(&Value::Null);
    let equal = match (actual, wanted) {
        (Value::String(a), Value::String(w)) => a.eq_ignore_ascii_case(w),
        (a, w) => a == w,
    };
    match relation {
        "is" => Ok(equal),
        "is_not" => Ok(!equal),
        other => Err(format!(
            "filter relation {other} is not supported by this mock"
        )),
    }
}

fn project_fields(record: &Value, fields: &[String]) -> Value {
    let mut out = Map::new();
    for key in ["type", "id"] {
        if let Some(v) = record.get(key) {
            out.insert(key.to_owned(), v.clone());
        }
    }
    for field in fields {
        out.insert(
            field.clone(),
            record.get(field).cloned().unwrap_or(Value::Null),
        );
    }
    Value::Object(out)
}
