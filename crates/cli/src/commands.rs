//! The subcommands.

use std::io::Write as _;

use fpt_login_core::network::{CA_BUNDLE_ENV, Network, Proxy, load_bundle};
use fpt_login_core::protocol::{Request, Response, SessionState, StatusInfo};
use fpt_login_core::site::Site;
use fpt_login_core::time;
use serde_json::json;

use crate::backend::{Backend, EXIT_FAILURE, EXIT_SIGN_IN_REQUIRED, EXIT_USAGE, Failure};
use crate::doctor;
use crate::handoff;
use crate::login;
use crate::toolkit;
use crate::{Command, ScriptCommand, SettingKey, SettingsAction};

pub fn run(command: Command, verbose: bool) -> Result<(), Failure> {
    match command {
        Command::Token {
            site,
            json,
            min_ttl,
        } => handoff::token(site, json, min_ttl, verbose),
        Command::Serialize { site } => handoff::serialize(site, verbose),
        Command::Exec { site, command } => handoff::exec(site, &command, verbose),
        Command::Whoami { site, json } => whoami(site, json, verbose),
        Command::Sites { json } => sites(json, verbose),
        Command::Doctor { site, json } => doctor::doctor(site, json),
        Command::Settings { action, json } => settings(action, json),
        Command::Toolkit(command) => toolkit::toolkit(&command, verbose),
        Command::Use { site, login } => use_site(&site, login, verbose),
        Command::Status { json } => status(json, verbose),
        Command::Logout {
            site,
            login,
            all,
            json,
        } => logout(site, login, all, json, verbose),
        Command::Watch { json } => watch(json, verbose),
        Command::Login(args) => login::login(&args, verbose),
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

fn whoami(site: Option<String>, json: bool, verbose: bool) -> Result<(), Failure> {
    let site = checked_site(site)?;
    let (status, _, _) = load_status(verbose)?;
    let wanted = site.or_else(|| status.default_site.as_ref().map(ToString::to_string));
    let not_signed_in = || {
        let site = wanted.clone().unwrap_or_else(|| "<site>".to_owned());
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
        .find(|s| Some(s.site.to_string()) == wanted)
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

fn sites(json: bool, verbose: bool) -> Result<(), Failure> {
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

fn use_site(site: &str, login: Option<String>, verbose: bool) -> Result<(), Failure> {
    let site = Site::parse(site).map_err(|e| Failure::new(EXIT_USAGE, e.to_string()))?;
    let mut backend = Backend::open(verbose)?;
    let request = Request::Use {
        site: site.to_string(),
        login,
    };
    match backend.request(&request)? {
        Response::User(user) => print(&format!(
            "{} is now the default site, as {}.",
            user.site,
            user.credentials.who()
        )),
        other => Err(unexpected(&other)),
    }
}

fn status(json: bool, verbose: bool) -> Result<(), Failure> {
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

fn settings(action: Option<SettingsAction>, json: bool) -> Result<(), Failure> {
    let file = Backend::accounts()?.settings_file().clone();
    let failed = |e: &dyn std::fmt::Display| Failure::new(EXIT_FAILURE, e.to_string());
    let usage = |e: &dyn std::fmt::Display| Failure::new(EXIT_USAGE, e.to_string());
    match action {
        None => {
            let settings = file.load().map_err(|e| failed(&e))?;
            let network = Network::from_settings(&settings).map_err(|e| failed(&e))?;
            if json {
                return print(&to_json(&json!({
                    "http_proxy": network.proxy.as_ref().map(ToString::to_string),
                    "ca_bundle": network.ca_bundle,
                    "keep_alive": settings.keep_alive_enabled(),
                    "keep_alive_interval": settings.keep_alive_every().as_secs(),
                    "renew_timeout": settings.renew_timeout().as_secs(),
                    "autostart": settings.autostart,
                })));
            }
            let proxy = network.proxy.map_or_else(
                || "not set (HTTPS_PROXY/HTTP_PROXY/NO_PROXY apply)".to_owned(),
                |p| p.to_string(),
            );
            let bundle = match (&settings.ca_bundle, network.ca_bundle) {
                (Some(path), _) => path.display().to_string(),
                (None, Some(path)) => format!("{} (from {CA_BUNDLE_ENV})", path.display()),
                (None, None) => "not set (the system's CAs are trusted)".to_owned(),
            };
            let on_off = |on: bool| if on { "on" } else { "off" };
            print(&format!(
                "http-proxy           {proxy}\nca-bundle            {bundle}\n\
                 keep-alive           {}\nkeep-alive-interval  {}s\n\
                 renew-timeout        {}s\nautostart            {}",
                on_off(settings.keep_alive_enabled()),
                settings.keep_alive_every().as_secs(),
                settings.renew_timeout().as_secs(),
                on_off(settings.autostart),
            ))
        }
        Some(SettingsAction::Set { key, value }) => {
            match key {
                SettingKey::HttpProxy => {
                    let proxy = Proxy::parse(&value).map_err(|e| usage(&e))?;
                    file.update(|s| s.http_proxy = Some(proxy.toolkit_form()))
                        .map_err(|e| failed(&e))?;
                }
                SettingKey::CaBundle => {
                    let path = std::path::absolute(&value).map_err(|e| usage(&e))?;
                    let count = load_bundle(&path).map_err(|e| usage(&e))?.len();
                    file.update(|s| s.ca_bundle = Some(path.clone()))
                        .map_err(|e| failed(&e))?;
                    eprintln!("{} holds {count} certificate(s).", path.display());
                }
                SettingKey::KeepAlive => {
                    let on = on_off(key, &value)?;
                    file.update(|s| s.keep_alive = Some(on))
                        .map_err(|e| failed(&e))?;
                }
                SettingKey::Autostart => {
                    let on = on_off(key, &value)?;
                    file.update(|s| s.autostart = on).map_err(|e| failed(&e))?;
                    eprintln!(
                        "The FPT Login app applies this when it next starts or the tray toggle is used."
                    );
                }
                SettingKey::KeepAliveInterval | SettingKey::RenewTimeout => {
                    let secs = seconds(key, &value)?;
                    file.update(|s| match key {
                        SettingKey::KeepAliveInterval => s.keep_alive_interval = Some(secs),
                        _ => s.renew_timeout = Some(secs),
                    })
                    .map_err(|e| failed(&e))?;
                }
            }
            settings(None, json)
        }
        Some(SettingsAction::Unset { key }) => {
            file.update(|s| match key {
                SettingKey::HttpProxy => s.http_proxy = None,
                SettingKey::CaBundle => s.ca_bundle = None,
                SettingKey::KeepAlive => s.keep_alive = None,
                SettingKey::KeepAliveInterval => s.keep_alive_interval = None,
                SettingKey::RenewTimeout => s.renew_timeout = None,
                SettingKey::Autostart => s.autostart = false,
            })
            .map_err(|e| failed(&e))?;
            settings(None, json)
        }
    }
}

fn on_off(key: SettingKey, value: &str) -> Result<bool, Failure> {
    match value.to_ascii_lowercase().as_str() {
        "on" | "true" | "yes" | "1" => Ok(true),
        "off" | "false" | "no" | "0" => Ok(false),
        _ => Err(Failure::new(
            EXIT_USAGE,
            format!("{} takes on or off, not {value:?}", key.name()),
        )),
    }
}

fn seconds(key: SettingKey, value: &str) -> Result<u64, Failure> {
    value
        .trim_end_matches('s')
        .parse::<u64>()
        .ok()
        .filter(|s| *s > 0)
        .ok_or_else(|| {
            Failure::new(
                EXIT_USAGE,
                format!(
                    "{} takes a number of seconds above 0, such as 300, not {value:?}",
                    key.name()
                ),
            )
        })
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
    all: bool,
    json: bool,
    verbose: bool,
) -> Result<(), Failure> {
    let site = checked_site(site)?;
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
fn watch(json: bool, verbose: bool) -> Result<(), Failure> {
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
