//! Toolkit (tk-core) compatibility: the serialized user tk-core's `deserialize_user` reads
//! (protocol reference §8), and tk-core's session cache files (§7).

mod cache;
mod mirror;
pub mod yaml;

pub use cache::{CachedSession, SHOTGUN_HOME_ENV, ToolkitCache, ToolkitError};
pub use mirror::ToolkitMirror;

use std::fmt::Write as _;

use crate::protocol::{Credentials, UserInfo};

/// `serialize_user(user, use_json=True)` as tk-core writes it: `{"type": "SessionUser" |
/// "ScriptUser", "data": {...}}` with `json.dumps`' default separators and tk-core's key order.
/// tk-core treats any payload starting with `{` as JSON, so this is what
/// `SHOTGUN_DESKTOP_CURRENT_USER` can carry. No `session_metadata`: FPT Login keeps no cookie
/// blob, and tk-core writes the key only when there is one.
pub fn serialize_user(user: &UserInfo) -> String {
    let mut data = vec![
        ("http_proxy", user.http_proxy.as_deref()),
        ("host", Some(user.site.as_str())),
    ];
    let kind = match &user.credentials {
        Credentials::Session {
            login,
            session_token,
            ..
        } => {
            data.push(("login", Some(login)));
            data.push(("session_token", Some(session_token.expose())));
            "SessionUser"
        }
        Credentials::Script {
            api_script,
            api_key,
        } => {
            data.push(("api_script", Some(api_script)));
            data.push(("api_key", Some(api_key.expose())));
            "ScriptUser"
        }
    };
    let fields: Vec<String> = data
        .into_iter()
        .map(|(key, value)| {
            let value = value.map_or_else(|| "null".to_owned(), python_string);
            format!("{}: {value}", python_string(key))
        })
        .collect();
    format!(
        "{{\"type\": {}, \"data\": {{{}}}}}",
        python_string(kind),
        fields.join(", ")
    )
}

/// A string as Python's `json.dumps` writes it (`ensure_ascii=True`).
fn python_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_ascii() && !c.is_ascii_control() => out.push(c),
            c => {
                let mut units = [0_u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    // Writing to a String cannot fail.
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Secret, Site};

    fn site() -> Site {
        Site::parse("https://mystudio.shotgrid.autodesk.com").unwrap()
    }

    #[test]
    fn a_session_user_is_what_tk_core_writes() {
        let user = UserInfo {
            site: site(),
            credentials: Credentials::Session {
                login: "jdoe".into(),
                session_token: Secret::new("0123abcd"),
                expires_at: Some(1),
            },
            http_proxy: None,
        };
        assert_eq!(
            serialize_user(&user),
            r#"{"type": "SessionUser", "data": {"http_proxy": null, "host": "https://mystudio.shotgrid.autodesk.com", "login": "jdoe", "session_token": "0123abcd"}}"#
        );
    }

    #[test]
    fn a_script_user_is_what_tk_core_writes() {
        let user = UserInfo {
            site: site(),
            credentials: Credentials::Script {
                api_script: "myscript".into(),
                api_key: Secret::new("k"),
            },
            http_proxy: Some("proxy.corp:3128".into()),
        };
        assert_eq!(
            serialize_user(&user),
            r#"{"type": "ScriptUser", "data": {"http_proxy": "proxy.corp:3128", "host": "https://mystudio.shotgrid.autodesk.com", "api_script": "myscript", "api_key": "k"}}"#
        );
    }

    #[test]
    fn non_ascii_is_escaped_like_python() {
        assert_eq!(
            python_string("José \"J\" 😀"),
            r#""Jos\u00e9 \"J\" \ud83d\ude00""#
        );
    }
}
