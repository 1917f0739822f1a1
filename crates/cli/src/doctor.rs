//! `fpt-login doctor`: checks what FPT Login needs, one line each, with what to do about any
//! that fails.

use std::time::{Duration, Instant, SystemTime};

use fpt_login_core::Site;
use fpt_login_core::api3::Api3;
use fpt_login_core::local_api::{Client, ClientError};
use fpt_login_core::paths::Paths;
use fpt_login_core::platform::files;
use fpt_login_core::protocol::{Request, Response};
use fpt_login_core::signin;
use fpt_login_core::store::{KeyringStore, TokenStore as _};
use serde::Serialize;

use crate::exit::Failure;
use crate::output::{print, to_json};

/// More clock difference than this breaks SAML assertions and session expiry estimates.
const MAX_SKEW: Duration = Duration::from_secs(60);

#[derive(Debug, Serialize)]
struct Check {
    name: &'static str,
    ok: bool,
    detail: String,
    /// What to do when the check failed.
    fix: Option<String>,
}

fn pass(name: &'static str, detail: impl Into<String>) -> Check {
    Check {
        name,
        ok: true,
        detail: detail.into(),
        fix: None,
    }
}

fn fail(name: &'static str, detail: impl Into<String>, fix: impl Into<String>) -> Check {
    Check {
        name,
        ok: false,
        detail: detail.into(),
        fix: Some(fix.into()),
    }
}

fn keyring() -> Check {
    match KeyringStore::default().probe() {
        Ok(()) => pass("keyring", "the OS keyring stores and returns secrets"),
        Err(e) => fail(
            "keyring",
            e.to_string(),
            "unlock or start the desktop's keyring (gnome-keyring, KWallet, Keychain, Credential Manager)",
        ),
    }
}

/// The socket folder's safety and the app behind the socket.
fn socket_and_app(paths: &Paths) -> (Check, Check, Option<Site>) {
    let socket = paths.socket_file();
    let folder = socket.parent().unwrap_or(&paths.runtime);
    let private = if folder.exists() {
        match files::check_private_dir(folder) {
            Ok(()) => pass(
                "socket folder",
                format!("{} is private to this user", folder.display()),
            ),
            Err(e) => fail(
                "socket folder",
                e.to_string(),
                format!("remove {} and start the app again", folder.display()),
            ),
        }
    } else {
        pass(
            "socket folder",
            format!(
                "{} does not exist yet; the app creates it private",
                folder.display()
            ),
        )
    };
    let (app, default_site) = match Client::connect(&socket, Duration::from_secs(5)) {
        Ok(mut client) => {
            let default = match client.request(&Request::Status) {
                Ok(Response::Status(status)) => status.default_site,
                _ => None,
            };
            let pid = client
                .server_pid()
                .map_or_else(String::new, |p| format!(", pid {p}"));
            (
                pass(
                    "app",
                    format!("{} answers on {}{pid}", client.server(), socket.display()),
                ),
                default,
            )
        }
        Err(ClientError::NotRunning { .. }) => (
            fail(
                "app",
                "the FPT Login app is not running: tokens are served from the keyring but not kept fresh",
                "start fpt-login-desktop (it can start at login)",
            ),
            None,
        ),
        Err(e) => (
            fail("app", e.to_string(), "quit and restart fpt-login-desktop"),
            None,
        ),
    };
    (private, app, default_site)
}

/// The web sign-in's data (the site's and the IdP's cookies) is readable by the user alone.
fn web_data(paths: &Paths) -> Check {
    let root = paths.webview_root();
    match files::first_open_entry(&root) {
        Ok(None) => pass("web data", format!("{} is private", root.display())),
        Ok(Some(open)) => fail(
            "web data",
            format!(
                "{} is readable by other users: it holds sign-in cookies",
                open.display()
            ),
            format!(
                "run `chmod -R go-rwx {}` (the app also does this when it starts)",
                root.display()
            ),
        ),
        Err(e) => fail(
            "web data",
            format!("cannot check {}: {e}", root.display()),
            "check the folder's permissions",
        ),
    }
}

/// WebKitGTK, which the web sign-in needs (the CLI itself does not link it).
fn webview() -> Check {
    let found = std::process::Command::new("ldconfig")
        .arg("-p")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).contains("libwebkit2gtk-4.1.so"));
    match found {
        Ok(true) => pass("webview", "WebKitGTK 4.1 is installed"),
        Ok(false) => fail(
            "webview",
            "WebKitGTK 4.1 is not installed: the web sign-in cannot open",
            "install libwebkit2gtk-4.1-0, or sign in with `fpt-login login --method asl`",
        ),
        Err(e) => pass("webview", format!("not checked (ldconfig: {e})")),
    }
}

/// The site answers `info` (DNS, TLS, proxy all work), says how it signs people in, and its
/// clock agrees with ours.
async fn site_checks(site: &Site) -> Vec<Check> {
    let started = Instant::now();
    let info = async { Api3::new(site)?.info().await }.await;
    let mut checks = vec![match &info {
        Ok(_) => pass(
            "site",
            format!("{site} answers ({} ms)", started.elapsed().as_millis()),
        ),
        Err(e) => fail(
            "site",
            e.to_string(),
            "check the address, the network and any proxy; a TLS error means the site's certificate is not trusted here",
        ),
    }];
    if let Ok(info) = info {
        let offer = signin::offer(&info, None);
        let others: Vec<&str> = offer.others.iter().map(|m| m.name()).collect();
        checks.push(pass(
            "sign-in",
            format!(
                "{} site; app session launcher {}; signs in with {} first (also: {})",
                info.user_authentication_method
                    .as_deref()
                    .unwrap_or("unknown"),
                if info.authentication_app_session_launcher_enabled {
                    "on"
                } else {
                    "off"
                },
                offer.default,
                if others.is_empty() {
                    "nothing else".to_owned()
                } else {
                    others.join(", ")
                },
            ),
        ));
    }
    checks.push(clock(site).await);
    checks
}

async fn clock(site: &Site) -> Check {
    let answer = match fpt_login_core::network::client() {
        Ok(http) => http.get(site.join("/").as_str()).send().await,
        Err(e) => return fail("clock", e.to_string(), "see the site check"),
    };
    let date = answer
        .ok()
        .and_then(|r| r.headers().get(reqwest::header::DATE).cloned())
        .and_then(|v| {
            v.to_str()
                .ok()
                .and_then(|s| httpdate::parse_http_date(s).ok())
        });
    let Some(theirs) = date else {
        return pass("clock", "not checked: the site sent no Date header");
    };
    let ours = SystemTime::now();
    let skew = match ours.duration_since(theirs) {
        Ok(ahead) => ahead,
        Err(behind) => behind.duration(),
    };
    if skew > MAX_SKEW {
        fail(
            "clock",
            format!(
                "this machine's clock is {} s off the site's",
                skew.as_secs()
            ),
            "turn on network time (timedatectl set-ntp true)",
        )
    } else {
        pass(
            "clock",
            format!("within {} s of the site's", skew.as_secs().max(1)),
        )
    }
}

pub fn doctor(site: Option<Site>, json: bool) -> Result<(), Failure> {
    let paths = Paths::from_env().map_err(Failure::failed)?;
    let mut checks = vec![keyring()];
    let (folder, app, default_site) = socket_and_app(&paths);
    checks.extend([folder, app, webview(), web_data(&paths)]);
    let site = site.or(default_site).or_else(|| {
        fpt_login_core::Accounts::new(&paths)
            .settings_file()
            .load()
            .ok()
            .and_then(|s| s.default_site)
    });
    match &site {
        Some(site) => {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(Failure::failed)?;
            checks.extend(rt.block_on(site_checks(site)));
        }
        None => checks.push(pass(
            "site",
            "not checked: no site given and no default site (use --site URL)",
        )),
    }
    let all_ok = checks.iter().all(|c| c.ok);
    if json {
        print(&to_json(&checks))?;
    } else {
        let lines: Vec<String> = checks
            .iter()
            .map(|c| {
                let fix = c
                    .fix
                    .as_deref()
                    .map_or_else(String::new, |f| format!("\n      fix: {f}"));
                format!(
                    "{} {:<13} {}{fix}",
                    if c.ok { "ok  " } else { "FAIL" },
                    c.name,
                    c.detail
                )
            })
            .collect();
        print(&lines.join("\n"))?;
    }
    if all_ok {
        Ok(())
    } else {
        Err(Failure::failed("some checks failed (see above)"))
    }
}
