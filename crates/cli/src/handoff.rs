//! Handing the signed-in user to other programs: the bare token, tk-core's serialized user,
//! and a program started with the user in its environment.

use fpt_login_core::Site;
use fpt_login_core::platform::process;
use fpt_login_core::protocol::{Credentials, Request, UserInfo};
use fpt_login_core::toolkit;

use crate::backend::Backend;
use crate::exit::{EXIT_FAILURE, Failure};
use crate::output::{print, to_json};

/// The default user of `site` (or of the default site).
fn user(site: Option<Site>, min_ttl: Option<u64>, verbose: bool) -> Result<UserInfo, Failure> {
    Backend::open(verbose)?.user(&Request::GetUser { site, min_ttl })
}

pub fn token(
    site: Option<Site>,
    json: bool,
    min_ttl: Option<u64>,
    verbose: bool,
) -> Result<(), Failure> {
    let user = user(site, min_ttl, verbose)?;
    if json {
        return print(&to_json(&user));
    }
    match &user.credentials {
        Credentials::Session { session_token, .. } => print(session_token.expose()),
        Credentials::Script { api_script, .. } => Err(Failure::new(
            EXIT_FAILURE,
            format!(
                "the default user of {} is the API script {api_script}, which has a key, not a token; use `fpt-login token --json`",
                user.site
            ),
        )),
    }
}

pub fn serialize(site: Option<Site>, verbose: bool) -> Result<(), Failure> {
    print(&toolkit::serialize_user(&user(site, None, verbose)?))
}

/// The variables a child program gets.
fn environment(user: &UserInfo) -> Vec<(&'static str, String)> {
    let mut vars = vec![
        ("FPT_SITE", user.site.to_string()),
        (
            "SHOTGUN_DESKTOP_CURRENT_USER",
            toolkit::serialize_user(user),
        ),
    ];
    match &user.credentials {
        Credentials::Session {
            login,
            session_token,
            ..
        } => {
            vars.push(("FPT_LOGIN", login.clone()));
            vars.push(("FPT_SESSION_TOKEN", session_token.expose().to_owned()));
        }
        Credentials::Script {
            api_script,
            api_key,
        } => {
            vars.push(("FPT_API_SCRIPT", api_script.clone()));
            vars.push(("FPT_API_KEY", api_key.expose().to_owned()));
        }
    }
    vars
}

/// Replaces this process with `command`, the user in its environment. Only returns on error.
pub fn exec(site: Option<Site>, command: &[String], verbose: bool) -> Result<(), Failure> {
    let user = user(site, None, verbose)?;
    let (program, args) = command.split_first().expect("clap requires a command");
    let error = process::exec(
        std::process::Command::new(program)
            .args(args)
            .envs(environment(&user)),
    );
    let code = if error.kind() == std::io::ErrorKind::NotFound {
        127
    } else {
        126
    };
    Err(Failure::new(code, format!("cannot run {program}: {error}")))
}
