//! `fpt-login login` and `fpt-login script`: signing in from a terminal, with or without the
//! desktop app. The flows are core's (`signin`); this module asks on the terminal and prints.

use std::io::{BufRead as _, ErrorKind};
use std::time::Duration;

use fpt_login_core::local_api::ClientError;
use fpt_login_core::method::Pick;
use fpt_login_core::model::Method;
use fpt_login_core::protocol::{NewSession, Request, Response, UserInfo};
use fpt_login_core::signin::{self, AslOptions, Choice, PasswordOutcome, SiteApi, SiteClient};
use fpt_login_core::{Secret, Site, time};

use crate::args::LoginArgs;
use crate::backend::{Backend, unexpected};
use crate::exit::Failure;
use crate::input::{self, ask};
use crate::output::{print, to_json};

fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::failed(format!("cannot start: {e}")))
}

pub fn login(args: &LoginArgs, verbose: bool) -> Result<(), Failure> {
    let mut backend = Backend::open(verbose)?;
    let rt = runtime()?;
    let accounts = Backend::accounts()?;
    let Choice {
        site,
        api,
        method,
        pick,
    } = rt.block_on(signin::choose(&accounts, args.site.as_ref(), args.method))?;
    eprintln!("Signing in to {site} ({}).", method.label());
    // The person's choice of method is remembered with the session, in the same write.
    let chosen = pick == Pick::Chosen;
    let user = match method {
        Method::Web => web(&mut backend, &site, args.timeout, chosen)?,
        Method::AppSessionLauncher => {
            let session = rt.block_on(app_session_launcher(&api, args))?;
            store(&mut backend, site.clone(), session, chosen)?
        }
        Method::Credentials => {
            let session = rt.block_on(credentials(&api, args))?;
            store(&mut backend, site.clone(), session, chosen)?
        }
    };
    if args.json {
        return print(&to_json(&user));
    }
    print(&format!(
        "Signed in to {} as {}.",
        user.site,
        user.credentials.who()
    ))
}

/// Web sign-in needs a window: the app does it and answers when it is over.
fn web(
    backend: &mut Backend,
    site: &Site,
    timeout: Option<u64>,
    chosen: bool,
) -> Result<UserInfo, Failure> {
    let Backend::App(client) = backend else {
        return Err(Failure::failed(
            "the web sign-in needs the FPT Login app: start fpt-login-desktop, or use --method asl (or credentials)",
        ));
    };
    client
        .set_timeout(timeout.map(Duration::from_secs))
        .map_err(Failure::failed)?;
    eprintln!("Finish signing in in the FPT Login window.");
    let request = Request::Login {
        site: Some(site.clone()),
        method: Some(Method::Web),
        chosen,
    };
    match client.request(&request) {
        Ok(Response::User(user)) => Ok(user),
        Ok(Response::Error(e)) => Err(e.into()),
        Ok(other) => Err(unexpected(&other)),
        Err(ClientError::Io { source, .. })
            if matches!(source.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) =>
        {
            Err(Failure::failed(format!(
                "gave up after --timeout {}s; the sign-in window stays open",
                timeout.unwrap_or_default()
            )))
        }
        Err(e) => Err(Failure::failed(e)),
    }
}

async fn app_session_launcher(api: &impl SiteApi, args: &LoginArgs) -> Result<NewSession, Failure> {
    let options = AslOptions {
        timeout: args
            .timeout
            .map_or(AslOptions::default().timeout, Duration::from_secs),
        ..AslOptions::default()
    };
    let show = |page: &signin::ApprovalPage| {
        eprintln!(
            "Approve the sign-in in a web browser signed in to the site:\n\n    {}\n",
            page.url
        );
        if !args.no_browser
            && let Err(e) = page.open_in_browser()
        {
            eprintln!(
                "(no web browser could be opened here: {e}; open the address above yourself)"
            );
        }
        eprintln!(
            "Waiting up to {} s for the approval (Ctrl-C to give up)…",
            options.timeout.as_secs()
        );
    };
    // Ctrl-C ends the process: nothing here cancels but that.
    let ending = signin::Ending::default();
    Ok(signin::app_session_launcher(api, options, time::now(), &ending, show).await?)
}

async fn credentials(api: &impl SiteApi, args: &LoginArgs) -> Result<NewSession, Failure> {
    let login = match &args.login {
        Some(login) => login.clone(),
        None => ask("Login: ", false, "no login given: pass --login LOGIN")?,
    };
    let password = input::secret(
        args.password_stdin,
        "Password: ",
        "no password given and no terminal to ask on: pass --password-stdin",
    )?;
    if password.is_empty() {
        return Err(Failure::usage("the password is empty"));
    }
    let mut code = args.code.clone();
    // At most one code is asked for on the terminal: a second wrong one ends the sign-in.
    let mut asked = false;
    loop {
        let outcome = signin::with_password(api, &login, &password, code.as_deref()).await?;
        match outcome {
            PasswordOutcome::SignedIn(session) => return Ok(session),
            PasswordOutcome::NeedsCode { wrong_code: false } if !asked => {
                asked = true;
                code = Some(ask(
                    "Two-factor code (or a backup code): ",
                    false,
                    "this account needs a two-factor code and there is no terminal to ask on: pass --code CODE",
                )?);
            }
            other => return Err(Failure::sign_in_required(other.message())),
        }
    }
}

/// Stores a session: through the app when it runs (so it serves and shows it), else directly.
fn store(
    backend: &mut Backend,
    site: Site,
    session: NewSession,
    chosen: bool,
) -> Result<UserInfo, Failure> {
    backend.user(&Request::StoreSession {
        site,
        session,
        chosen,
    })
}

/// `fpt-login script add`: checks the key against the site, then stores it.
pub fn add_script(site: &Site, name: &str, make_default: bool) -> Result<(), Failure> {
    let mut key = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut key)
        .map_err(|e| Failure::failed(format!("cannot read the key from stdin: {e}")))?;
    let key = Secret::new(key.trim());
    if key.is_empty() {
        return Err(Failure::usage(
            "no key on standard input: pipe the script's key into this command",
        ));
    }
    runtime()?
        .block_on(async { SiteClient::new(site)?.api3().check_script(name, &key).await })
        .map_err(|e| Failure::from(signin::SignInError::from(e)))?;
    Backend::accounts()?
        .add_script(site, name, &key, make_default)
        .map_err(Failure::failed)?;
    let role = if make_default {
        ", as the site's default user"
    } else {
        ""
    };
    print(&format!(
        "Stored the key of script {name} for {site}{role}."
    ))
}

/// `fpt-login script remove`.
pub fn remove_script(site: &Site, name: &str) -> Result<(), Failure> {
    let removed = Backend::accounts()?
        .remove_script(site, name)
        .map_err(Failure::failed)?;
    if removed {
        print(&format!("Removed the key of script {name} for {site}."))
    } else {
        Err(Failure::failed(format!(
            "no script {name} is stored for {site}"
        )))
    }
}
