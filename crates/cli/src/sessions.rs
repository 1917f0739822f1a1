//! Who is signed in where, and changing it: `whoami`, `sites`, `use`, `status`, `logout`,
//! `watch`.

use fpt_login_core::protocol::{Request, Response, SessionState, StatusInfo};
use fpt_login_core::site::Site;
use fpt_login_core::time;
use serde_json::json;

use crate::backend::{Backend, unexpected};
use crate::exit::{EXIT_FAILURE, EXIT_SIGN_IN_REQUIRED, Failure};
use crate::output::{duration, print, to_json};

/// The status, and whether it came from the running app (with its pid).
fn load_status(verbose: bool) -> Result<(StatusInfo, Option<u32>, bool), Failure> {
    let mut backend = Backend::open(verbose)?;
    match backend.request(&Request::Status)? {
        Response::Status(status) => Ok((
            status,
            backend.app_pid(),
            matches!(backend, Backend::App(_)),
        )),
        other => Err(unexpected(&other)),
    }
}

pub fn whoami(site: Option<Site>, json: bool, verbose: bool) -> Result<(), Failure> {
    let (status, _, _) = load_status(verbose)?;
    let wanted = site.or_else(|| status.default_site.clone());
    let not_signed_in = || {
        let site = wanted
            .as_ref()
            .map_or_else(|| "<site>".to_owned(), ToString::to_string);
        Failure::new(
            EXIT_SIGN_IN_REQUIRED,
            format!(
                "nobody is signed in to {site}; sign in with `fpt-login-desktop --sign-in {site}`"
            ),
        )
    };
    let entry = status
        .sites
        .iter()
        .find(|s| Some(&s.site) == wanted.as_ref())
        .ok_or_else(not_signed_in)?;
    if let Some(script) = &entry.current_script {
        if json {
            return print(&to_json(
                &json!({"site": entry.site, "kind": "script", "api_script": script}),
            ));
        }
        return print(&format!("script {script} @ {}", entry.site));
    }
    let user = entry
        .current_user
        .as_ref()
        .and_then(|login| entry.users.iter().find(|u| &u.login == login))
        .ok_or_else(not_signed_in)?;
    if json {
        return print(&to_json(&json!({
            "site": entry.site, "kind": "session", "login": user.login, "name": user.name,
            "expires_at": user.expires_at,
        })));
    }
    let name = user
        .name
        .as_deref()
        .map_or_else(String::new, |n| format!(" ({n})"));
    print(&format!("{}{name} @ {}", user.login, entry.site))
}

pub fn sites(json: bool, verbose: bool) -> Result<(), Failure> {
    let (status, _, _) = load_status(verbose)?;
    let known: Vec<_> = status
        .sites
        .iter()
        .filter(|s| !s.users.is_empty() || !s.scripts.is_empty())
        .collect();
    let is_default = |site: &Site| status.default_site.as_ref() == Some(site);
    if json {
        let list: Vec<_> = known
            .iter()
            .map(|s| {
                json!({"site": s.site, "default": is_default(&s.site),
                       "current_user": s.current_user, "current_script": s.current_script})
            })
            .collect();
        return print(&to_json(&list));
    }
    if known.is_empty() {
        return print(
            "No site has anyone signed in. Sign in with `fpt-login-desktop --sign-in <site>`.",
        );
    }
    let lines: Vec<String> = known
        .iter()
        .map(|s| {
            let mark = if is_default(&s.site) { "*" } else { " " };
            let who = s
                .current_script
                .as_ref()
                .map(|n| format!("script {n}"))
                .or_else(|| s.current_user.clone())
                .unwrap_or_default();
            format!("{mark} {}  {who}", s.site)
        })
        .collect();
    print(&lines.join("\n"))
}

pub fn use_site(site: Site, login: Option<String>, verbose: bool) -> Result<(), Failure> {
    let user = Backend::open(verbose)?.user(&Request::Use { site, login })?;
    print(&format!(
        "{} is now the default site, as {}.",
        user.site,
        user.credentials.who()
    ))
}

pub fn status(json: bool, verbose: bool) -> Result<(), Failure> {
    let (status, app_pid, app_running) = load_status(verbose)?;
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
            if user.state != SessionState::Active {
                let why = user.attention.as_deref().unwrap_or_default();
                lines.push(format!("      {}: {why}", user.state.name()));
            }
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

pub fn logout(
    site: Option<Site>,
    login: Option<String>,
    all: bool,
    json: bool,
    verbose: bool,
) -> Result<(), Failure> {
    let mut backend = Backend::open(verbose)?;
    if all {
        return match backend.request(&Request::LogoutAll)? {
            Response::LoggedOutAll { sessions } if json => print(&to_json(&sessions)),
            Response::LoggedOutAll { sessions } if sessions.is_empty() => {
                print("Nobody was signed in.")
            }
            Response::LoggedOutAll { sessions } => {
                for out in sessions {
                    let login = out.login.unwrap_or_default();
                    print(&format!("Signed {login} out of {}.", out.site))?;
                }
                Ok(())
            }
            other => Err(unexpected(&other)),
        };
    }
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

/// Prints session changes as the app announces them, until interrupted.
pub fn watch(json: bool, verbose: bool) -> Result<(), Failure> {
    let Backend::App(mut client) = Backend::open(verbose)? else {
        return Err(Failure::new(
            EXIT_FAILURE,
            "the FPT Login app is not running, so there is nothing to watch; start fpt-login-desktop",
        ));
    };
    let failed = |e: &dyn std::fmt::Display| Failure::new(EXIT_FAILURE, e.to_string());
    client.set_timeout(None).map_err(|e| failed(&e))?;
    match client
        .request(&Request::Subscribe)
        .map_err(|e| failed(&e))?
    {
        Response::Subscribed => {}
        Response::Error(e) => return Err(e.into()),
        other => return Err(unexpected(&other)),
    }
    eprintln!("Watching for session changes (Ctrl-C to stop).");
    loop {
        match client.next_response().map_err(|e| failed(&e))? {
            Response::SessionChanged(event) if json => {
                print(&serde_json::to_string(&event).expect("protocol types serialise"))?;
            }
            Response::SessionChanged(event) => {
                let who = event.login.as_deref().unwrap_or("-");
                let detail = event
                    .message
                    .as_deref()
                    .map_or_else(String::new, |m| format!(": {m}"));
                print(&format!(
                    "{} {} @ {}{detail}",
                    event.event.name(),
                    who,
                    event.site
                ))?;
            }
            other => return Err(unexpected(&other)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fpt_login_core::protocol::{SiteStatus, UserStatus};

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
                    method: Some(fpt_login_core::model::Method::Web),
                    signed_in_at: 1000,
                    expires_at: Some(1000 + 3600 + 600),
                    state: SessionState::Active,
                    attention: None,
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
