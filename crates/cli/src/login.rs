//! `fpt-login login` and `fpt-login script`: signing in from a terminal, with or without the
//! desktop app.

use std::io::{BufRead as _, ErrorKind, IsTerminal as _, Write as _};
use std::time::Duration;

use fpt_login_core::api3::{Api3, Api3Error};
use fpt_login_core::asl::{self, AslClient, AslError};
use fpt_login_core::local_api::ClientError;
use fpt_login_core::method;
use fpt_login_core::model::Method;
use fpt_login_core::protocol::{NewSession, Request, Response, UserInfo};
use fpt_login_core::session::{self, Expiry};
use fpt_login_core::{Secret, Site};

use crate::backend::{Backend, EXIT_FAILURE, EXIT_SIGN_IN_REQUIRED, EXIT_USAGE, Failure};
use crate::commands::{checked_site, print, to_json, unexpected};

/// What `fpt-login login` was asked.
#[derive(Debug, clap::Args)]
pub struct LoginArgs {
    /// The site (default: the default site).
    #[arg(long, value_name = "URL")]
    pub site: Option<String>,
    /// How to sign in: asl, web or credentials.
    #[arg(long, value_name = "METHOD")]
    pub method: Option<Method>,
    /// The login, for --method credentials (asked on the terminal when missing).
    #[arg(long)]
    pub login: Option<String>,
    /// Read the password from the first line of standard input.
    #[arg(long)]
    pub password_stdin: bool,
    /// The two-factor code (or a backup code), when the account needs one.
    #[arg(long, value_name = "CODE")]
    pub code: Option<String>,
    /// Give up after this many seconds (default: 180 for asl, no limit for web).
    #[arg(long, value_name = "SECS")]
    pub timeout: Option<u64>,
    /// Print the approval address for asl but do not open a browser.
    #[arg(long)]
    pub no_browser: bool,
    /// Print the signed-in user as JSON (the object `token --json` prints).
    #[arg(long)]
    pub json: bool,
}

fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::new(EXIT_FAILURE, format!("cannot start: {e}")))
}

/// The sign-in failed in a way the person can fix by signing in again differently.
fn not_signed_in(e: impl std::fmt::Display) -> Failure {
    Failure::new(EXIT_SIGN_IN_REQUIRED, e.to_string())
}

fn api_failure(e: &Api3Error) -> Failure {
    match e {
        Api3Error::WrongPassword
        | Api3Error::TwoFactorRequired
        | Api3Error::WrongTwoFactorCode
        | Api3Error::SsoOnly
        | Api3Error::IdentityOnly
        | Api3Error::SessionExpired { .. }
        | Api3Error::UnknownUser { .. }
        | Api3Error::WrongScriptKey { .. } => not_signed_in(e),
        _ => Failure::new(EXIT_FAILURE, e.to_string()),
    }
}

fn asl_failure(e: &AslError) -> Failure {
    match e {
        AslError::RejectedOrExpired | AslError::Disabled => not_signed_in(e),
        _ => Failure::new(EXIT_FAILURE, e.to_string()),
    }
}

pub fn login(args: &LoginArgs, verbose: bool) -> Result<(), Failure> {
    let mut backend = Backend::open(verbose)?;
    let site = match checked_site(args.site.clone())? {
        Some(site) => Site::parse(&site).map_err(|e| Failure::new(EXIT_USAGE, e.to_string()))?,
        None => match backend.request(&Request::Status)? {
            Response::Status(status) => status.default_site.ok_or_else(|| {
                Failure::new(
                    EXIT_USAGE,
                    "no site given and no default site yet: pass --site URL",
                )
            })?,
            other => return Err(unexpected(&other)),
        },
    };
    let rt = runtime()?;
    let accounts = Backend::accounts()?;
    let method = if let Some(method) = args.method {
        method
    } else {
        let saved = accounts
            .saved_method(&site)
            .map_err(|e| Failure::new(EXIT_FAILURE, e.to_string()))?;
        rt.block_on(method::default_for(&site, saved))
            .map_err(|e| Failure::new(EXIT_FAILURE, e.to_string()))?
    };
    eprintln!("Signing in to {site} ({}).", method.label());
    let user = match method {
        Method::Web => web(&mut backend, &site, args.timeout)?,
        Method::AppSessionLauncher => {
            let session = rt.block_on(app_session_launcher(&site, args))?;
            store(&mut backend, &site, session)?
        }
        Method::Credentials => {
            let session = rt.block_on(credentials(&site, args))?;
            store(&mut backend, &site, session)?
        }
    };
    if args.method.is_some() {
        // An explicit choice is remembered, as tk-core does.
        let _ = accounts.remember_method(&site, method);
    }
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
fn web(backend: &mut Backend, site: &Site, timeout: Option<u64>) -> Result<UserInfo, Failure> {
    let Backend::App(client) = backend else {
        return Err(Failure::new(
            EXIT_FAILURE,
            "the web sign-in needs the FPT Login app: start fpt-login-desktop, or use --method asl (or credentials)",
        ));
    };
    client
        .set_timeout(timeout.map(Duration::from_secs))
        .map_err(|e| Failure::new(EXIT_FAILURE, e.to_string()))?;
    eprintln!("Finish signing in in the FPT Login window.");
    let request = Request::Login {
        site: Some(site.to_string()),
        method: Some(Method::Web),
    };
    match client.request(&request) {
        Ok(Response::User(user)) => Ok(user),
        Ok(Response::Error(e)) => Err(e.into()),
        Ok(other) => Err(unexpected(&other)),
        Err(ClientError::Io { source, .. })
            if matches!(source.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) =>
        {
            Err(Failure::new(
                EXIT_FAILURE,
                format!(
                    "gave up after --timeout {}s; the sign-in window stays open",
                    timeout.unwrap_or_default()
                ),
            ))
        }
        Err(e) => Err(Failure::new(EXIT_FAILURE, e.to_string())),
    }
}

async fn app_session_launcher(site: &Site, args: &LoginArgs) -> Result<NewSession, Failure> {
    let client = AslClient::new(site).map_err(|e| asl_failure(&e))?;
    let request = client
        .create(&asl::app_name(), &asl::machine_name())
        .await
        .map_err(|e| asl_failure(&e))?;
    eprintln!(
        "Approve the sign-in in a web browser signed in to the site:\n\n    {}\n",
        request.url
    );
    if !args.no_browser
        && let Err(e) = asl::open_in_browser(&request.url)
    {
        eprintln!("(no web browser could be opened here: {e}; open the address above yourself)");
    }
    let timeout = args
        .timeout
        .map_or(asl::DEFAULT_TIMEOUT, Duration::from_secs);
    eprintln!(
        "Waiting up to {} s for the approval (Ctrl-C to give up)…",
        timeout.as_secs()
    );
    let approval = client
        .wait_for_approval(&request, asl::POLL_INTERVAL, timeout)
        .await
        .map_err(|e| asl_failure(&e))?;
    session::validate(
        site,
        &approval.login,
        approval.token,
        Method::AppSessionLauncher,
        Expiry::default(),
    )
    .await
    .map_err(|e| api_failure(&e))
}

/// Asks on the terminal, or fails with `missing` when there is none.
fn ask(prompt: &str, secret: bool, missing: &str) -> Result<String, Failure> {
    if !std::io::stdin().is_terminal() {
        return Err(not_signed_in(missing));
    }
    let answer = if secret {
        rpassword::prompt_password(prompt)
    } else {
        eprint!("{prompt}");
        let _ = std::io::stderr().flush();
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).map(|_| line)
    }
    .map_err(|e| Failure::new(EXIT_FAILURE, format!("cannot read from the terminal: {e}")))?;
    Ok(answer.trim().to_owned())
}

async fn credentials(site: &Site, args: &LoginArgs) -> Result<NewSession, Failure> {
    let login = match &args.login {
        Some(login) => login.clone(),
        None => ask("Login: ", false, "no login given: pass --login LOGIN")?,
    };
    let password = if args.password_stdin {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).map_err(|e| {
            Failure::new(
                EXIT_FAILURE,
                format!("cannot read the password from stdin: {e}"),
            )
        })?;
        Secret::new(line.trim_end_matches(['\r', '\n']))
    } else {
        Secret::new(ask(
            "Password: ",
            true,
            "no password given and no terminal to ask on: pass --password-stdin",
        )?)
    };
    if password.is_empty() {
        return Err(Failure::new(EXIT_USAGE, "the password is empty"));
    }
    match session::with_password(site, &login, &password, args.code.as_deref()).await {
        Err(Api3Error::TwoFactorRequired) => {
            let code = ask(
                "Two-factor code (or a backup code): ",
                false,
                "this account needs a two-factor code and there is no terminal to ask on: pass --code CODE",
            )?;
            session::with_password(site, &login, &password, Some(&code))
                .await
                .map_err(|e| api_failure(&e))
        }
        other => other.map_err(|e| api_failure(&e)),
    }
}

/// Stores a session: through the app when it runs (so it serves and shows it), else directly.
fn store(backend: &mut Backend, site: &Site, session: NewSession) -> Result<UserInfo, Failure> {
    let request = Request::StoreSession {
        site: site.to_string(),
        session,
    };
    match backend.request(&request)? {
        Response::User(user) => Ok(user),
        other => Err(unexpected(&other)),
    }
}

/// `fpt-login script add`: checks the key against the site, then stores it.
pub fn add_script(site: &str, name: &str, make_default: bool) -> Result<(), Failure> {
    let site = Site::parse(site).map_err(|e| Failure::new(EXIT_USAGE, e.to_string()))?;
    let mut key = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut key)
        .map_err(|e| Failure::new(EXIT_FAILURE, format!("cannot read the key from stdin: {e}")))?;
    let key = Secret::new(key.trim());
    if key.is_empty() {
        return Err(Failure::new(
            EXIT_USAGE,
            "no key on standard input: pipe the script's key into this command",
        ));
    }
    runtime()?
        .block_on(async { Api3::new(&site)?.check_script(name, &key).await })
        .map_err(|e| api_failure(&e))?;
    Backend::accounts()?
        .add_script(&site, name, &key, make_default)
        .map_err(|e| Failure::new(EXIT_FAILURE, e.to_string()))?;
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
pub fn remove_script(site: &str, name: &str) -> Result<(), Failure> {
    let site = Site::parse(site).map_err(|e| Failure::new(EXIT_USAGE, e.to_string()))?;
    let removed = Backend::accounts()?
        .remove_script(&site, name)
        .map_err(|e| Failure::new(EXIT_FAILURE, e.to_string()))?;
    if removed {
        print(&format!("Removed the key of script {name} for {site}."))
    } else {
        Err(Failure::new(
            EXIT_FAILURE,
            format!("no script {name} is stored for {site}"),
        ))
    }
}
