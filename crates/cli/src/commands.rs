//! The subcommands.

use std::io::Write as _;

use fpt_login_core::protocol::{Credentials, Request, Response, StatusInfo};
use fpt_login_core::site::Site;
use fpt_login_core::time;
use serde_json::json;

use crate::backend::{Backend, EXIT_FAILURE, EXIT_USAGE, Failure};
use crate::login::{self, LoginArgs};
use crate::{Command, ScriptCommand};

pub fn run(command: Command, verbose: bool) -> Result<(), Failure> {
    match command {
        Command::Token {
            site,
            json,
            min_ttl,
        } => token(site, json, min_ttl, verbose),
        Command::Status { json } => status(json, verbose),
        Command::Logout { site, login, json } => logout(site, login, json, verbose),
        Command::Login {
            site,
            method,
            login,
            password_stdin,
            code,
            timeout,
            no_browser,
            json,
        } => login::login(
            &LoginArgs {
                site,
                method,
                login,
                password_stdin,
                code,
                timeout,
                no_browser,
                json,
            },
            verbose,
        ),
        Command::Script(ScriptCommand::Add {
            site,
            name,
            default,
        }) => login::add_script(&site, &name, default),
        Command::Script(ScriptCommand::Remove { site, name }) => login::remove_script(&site, &name),
    }
}

/// Checks a `--site` value before anything else, so a typo is a usage error (exit 2) that
/// says what is wrong with it.
pub fn checked_site(site: Option<String>) -> Result<Option<String>, Failure> {
    match site {
        Some(raw) => Site::parse(&raw)
            .map(|s| Some(s.to_string()))
            .map_err(|e| Failure::new(EXIT_USAGE, e.to_string())),
        None => Ok(None),
    }
}

pub fn unexpected(response: &Response) -> Failure {
    Failure::new(
        EXIT_FAILURE,
        format!("unexpected answer from the FPT Login app: {response:?}"),
    )
}

pub fn print(text: &str) -> Result<(), Failure> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{text}")
        .and_then(|()| out.flush())
        .map_err(|e| Failure::new(EXIT_FAILURE, format!("cannot write to stdout: {e}")))
}

pub fn to_json(value: &impl serde::Serialize) -> String {
    serde_json::to_string_pretty(value).expect("protocol types serialise")
}

fn token(
    site: Option<String>,
    json: bool,
    min_ttl: Option<u64>,
    verbose: bool,
) -> Result<(), Failure> {
    let site = checked_site(site)?;
    let mut backend = Backend::open(verbose)?;
    match backend.request(&Request::GetUser { site, min_ttl })? {
        Response::User(user) if json => print(&to_json(&user)),
        Response::User(user) => match &user.credentials {
            Credentials::Session { session_token, .. } => print(session_token.expose()),
            Credentials::Script { api_script, .. } => Err(Failure::new(
                EXIT_FAILURE,
                format!(
                    "the default user of {} is the API script {api_script}, which has a key, not a token; use `fpt-login token --json`",
                    user.site
                ),
            )),
        },
        other => Err(unexpected(&other)),
    }
}

fn status(json: bool, verbose: bool) -> Result<(), Failure> {
    let mut backend = Backend::open(verbose)?;
    let app_pid = backend.app_pid();
    let app_running = matches!(backend, Backend::App(_));
    let status = match backend.request(&Request::Status)? {
        Response::Status(status) => status,
        other => return Err(unexpected(&other)),
    };
    if json {
        let mut value = serde_json::to_value(&status).expect("protocol types serialise");
        value["app_running"] = json!(app_running);
        value["app_pid"] = json!(app_pid);
        return print(&to_json(&value));
    }
    print(&describe_status(&status, app_running, time::now()))
}

fn describe_status(status: &StatusInfo, app_running: bool, now: i64) -> String {
    let mut lines = Vec::new();
    let signed_in: Vec<_> = status
        .sites
        .iter()
        .filter(|s| !s.users.is_empty() || !s.scripts.is_empty())
        .collect();
    if signed_in.is_empty() {
        lines.push(
            "Nobody is signed in. Sign in with `fpt-login-desktop --sign-in <site>`.".to_owned(),
        );
    }
    for site in signed_in {
        let default = if status.default_site.as_ref() == Some(&site.site) {
            " (default)"
        } else {
            ""
        };
        lines.push(format!("{}{default}", site.site));
        for user in &site.users {
            let current = if site.current_user.as_deref() == Some(user.login.as_str()) {
                "*"
            } else {
                " "
            };
            let name = user
                .name
                .as_deref()
                .map_or_else(String::new, |n| format!(" ({n})"));
            let method = user
                .method
                .as_deref()
                .map_or_else(String::new, |m| format!(" via {m}"));
            let expiry = match user.expires_at {
                Some(at) if at <= now => ", session has ended".to_owned(),
                Some(at) => format!(", session ends in {}", duration(at - now)),
                None => String::new(),
            };
            lines.push(format!(
                "  {current} {}{name}, signed in {} ago{method}{expiry}",
                user.login,
                duration(now - user.signed_in_at)
            ));
        }
        for script in &site.scripts {
            let current = if site.current_script.as_ref() == Some(script) {
                "*"
            } else {
                " "
            };
            lines.push(format!(
                "  {current} script {script} (API key in the keyring)"
            ));
        }
    }
    lines.push(if app_running {
        "FPT Login app: running".to_owned()
    } else {
        "FPT Login app: not running (sessions are not kept fresh)".to_owned()
    });
    lines.join("\n")
}

/// A short human duration: `45s`, `12 min`, `3 h 5 min`, `2 days`.
fn duration(secs: i64) -> String {
    let secs = secs.max(0);
    match secs {
        0..60 => format!("{secs}s"),
        60..3600 => format!("{} min", secs / 60),
        3600..86_400 => match (secs % 3600) / 60 {
            0 => format!("{} h", secs / 3600),
            m => format!("{} h {m} min", secs / 3600),
        },
        _ => format!("{} days", secs / 86_400),
    }
}

fn logout(
    site: Option<String>,
    login: Option<String>,
    json: bool,
    verbose: bool,
) -> Result<(), Failure> {
    let site = checked_site(site)?;
    let mut backend = Backend::open(verbose)?;
    match backend.request(&Request::Logout { site, login })? {
        Response::LoggedOut(out) if json => print(&to_json(&out)),
        Response::LoggedOut(out) => match out.login {
            Some(login) => print(&format!(
                "Signed {login} out of {}; the token is removed from the keyring.",
                out.site
            )),
            None => print(&format!("Nobody was signed in to {}.", out.site)),
        },
        other => Err(unexpected(&other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fpt_login_core::protocol::{SiteStatus, UserStatus};

    #[test]
    fn durations_read_naturally() {
        assert_eq!(duration(5), "5s");
        assert_eq!(duration(600), "10 min");
        assert_eq!(duration(3600), "1 h");
        assert_eq!(duration(3 * 3600 + 300), "3 h 5 min");
        assert_eq!(duration(3 * 86_400), "3 days");
        assert_eq!(duration(-4), "0s");
    }

    #[test]
    fn status_names_the_site_the_user_and_the_expiry() {
        let site = Site::parse("https://a.example.com").unwrap();
        let status = StatusInfo {
            default_site: Some(site.clone()),
            sites: vec![SiteStatus {
                site,
                current_user: Some("jane".into()),
                users: vec![UserStatus {
                    login: "jane".into(),
                    name: Some("Jane Doe".into()),
                    method: Some("web".into()),
                    signed_in_at: 1000,
                    expires_at: Some(1000 + 3600 + 600),
                }],
                scripts: vec!["farm".into()],
                current_script: None,
            }],
        };
        let text = describe_status(&status, true, 1000 + 600);
        assert!(text.contains("https://a.example.com (default)"), "{text}");
        assert!(
            text.contains("* jane (Jane Doe), signed in 10 min ago via web, session ends in 1 h"),
            "{text}"
        );
        assert!(text.contains("app: running"), "{text}");
        assert!(
            text.contains("    script farm (API key in the keyring)"),
            "{text}"
        );
    }

    #[test]
    fn status_with_nobody_says_how_to_sign_in() {
        let text = describe_status(&StatusInfo::default(), false, 0);
        assert!(text.contains("Nobody is signed in"), "{text}");
        assert!(text.contains("not running"), "{text}");
    }
}
