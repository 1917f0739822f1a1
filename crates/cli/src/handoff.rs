//! Handing the signed-in user to other programs: the bare token, a REST API token, tk-core's
//! serialized user, and a program started with the user in its environment.

use fpt_login_core::Site;
use fpt_login_core::handoff;
use fpt_login_core::platform::process;
use fpt_login_core::protocol::{Credentials, Request, Response, RestTokenInfo, UserInfo};
use fpt_login_core::rest::RestTokens;
use fpt_login_core::toolkit;

use crate::backend::{Backend, unexpected};
use crate::exit::{EXIT_FAILURE, Failure};
use crate::output::{print, to_json};

/// The default user of `site` (or of the default site).
fn user(site: Option<Site>, min_ttl: Option<u64>, verbose: bool) -> Result<UserInfo, Failure> {
    let mut backend = Backend::open(verbose)?;
    if min_ttl.is_some() {
        // The app may renew first: wait as long as the longest renewal takes, not the usual
        // minute, so the answer is never given up on while the renewal is under way.
        backend.wait_for_renewals()?;
    }
    backend.user(&Request::GetUser { site, min_ttl })
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

/// A REST API token for the default user of `site` (or of the default site): the app's, or
/// without the app one minted here from the stored credential.
fn rest(site: Option<Site>, min_ttl: Option<u64>, verbose: bool) -> Result<RestTokenInfo, Failure> {
    let mut backend = Backend::open(verbose)?;
    // The app may renew lapsed SAML claims before it mints.
    backend.wait_for_renewals()?;
    if let Backend::App(_) = backend {
        return match backend.request(&Request::GetRestToken { site, min_ttl })? {
            Response::RestToken(info) => Ok(info),
            other => Err(unexpected(&other)),
        };
    }
    let user = backend.user(&Request::GetUser {
        site,
        min_ttl: None,
    })?;
    if verbose {
        eprintln!(
            "fpt-login: minting a REST token from {}'s stored credentials at {} (without the app, nothing is kept between calls)",
            user.credentials.who(),
            user.site
        );
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(Failure::failed)?;
    runtime
        .block_on(RestTokens::default().for_user(&user, min_ttl))
        .map_err(|e| e.to_error_info().into())
}

pub fn rest_token(
    site: Option<Site>,
    json: bool,
    min_ttl: Option<u64>,
    verbose: bool,
) -> Result<(), Failure> {
    let info = rest(site, min_ttl, verbose)?;
    if json {
        return print(&to_json(&info));
    }
    print(info.access_token.expose())
}

pub fn serialize(site: Option<Site>, verbose: bool) -> Result<(), Failure> {
    print(&toolkit::serialize_user(&user(site, None, verbose)?))
}

/// Replaces this process with `command`, the user in its environment. Only returns on error.
pub fn exec(
    site: Option<Site>,
    min_ttl: Option<u64>,
    command: &[String],
    verbose: bool,
) -> Result<(), Failure> {
    let user = user(site, min_ttl, verbose)?;
    let (program, args) = command.split_first().expect("clap requires a command");
    let mut child = std::process::Command::new(program);
    for (name, _) in std::env::vars_os() {
        if handoff::is_inherited_user_variable(&name) {
            child.env_remove(name);
        }
    }
    let error = process::exec(child.args(args).envs(handoff::environment(&user)));
    let code = if error.kind() == std::io::ErrorKind::NotFound {
        127
    } else {
        126
    };
    Err(Failure::new(code, format!("cannot run {program}: {error}")))
}
