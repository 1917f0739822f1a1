//! `fpt-login`: what other programs and people call to get the signed-in FPT user.

mod backend;
mod commands;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

const EXIT_CODES: &str = "\
Exit codes:
  0  success
  1  failure (keyring locked, app unreachable, bad settings file, ...)
  2  usage error (unknown option, bad site URL)
  4  sign-in required: nobody usable is signed in to the site

Environment:
  FPT_LOGIN_HOME  keep settings, webview data and the socket under this folder
  FPT_LOGIN_LOG   log filter for -v output, e.g. debug";

/// Hands the Flow Production Tracking user signed in with FPT Login to scripts, DCCs and
/// render-farm submitters.
///
/// When the FPT Login app is running, every command asks it over a private local socket;
/// otherwise the token is read straight from the OS keyring.
#[derive(Debug, Parser)]
#[command(name = "fpt-login", version, after_help = EXIT_CODES)]
pub struct Cli {
    /// Say on stderr where answers come from; repeat for debug logs (tokens are never logged).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print the session token of the signed-in user.
    #[command(after_help = "Examples:
  fpt-login token
  fpt-login token --site https://mystudio.shotgrid.autodesk.com --json
  python -c \"import shotgun_api3, subprocess; t = subprocess.check_output(['fpt-login', 'token'], text=True).strip(); ...\"

With --json the output is one object:
  {\"site\", \"login\", \"session_token\", \"expires_at\" (epoch seconds or null), \"http_proxy\" (or null)}

Exits with 4 when nobody is signed in, so scripts can tell the user to sign in.")]
    Token {
        /// The site (default: the default site, usually the last one signed in to).
        #[arg(long, value_name = "URL")]
        site: Option<String>,
        /// Print a JSON object instead of the bare token.
        #[arg(long)]
        json: bool,
        /// Refuse (exit 4) a session known to end within this many seconds.
        #[arg(long, value_name = "SECS")]
        min_ttl: Option<u64>,
    },
    /// Show who is signed in where.
    #[command(after_help = "Examples:
  fpt-login status
  fpt-login status --json")]
    Status {
        /// Print a JSON object: {\"app_running\", \"app_pid\", \"default_site\", \"sites\": [{\"site\", \"current_user\", \"users\": [...]}]}.
        #[arg(long)]
        json: bool,
    },
    /// Sign out: remove the user's token from the keyring.
    #[command(after_help = "Examples:
  fpt-login logout
  fpt-login logout --site https://mystudio.shotgrid.autodesk.com --login jane")]
    Logout {
        /// The site (default: the default site).
        #[arg(long, value_name = "URL")]
        site: Option<String>,
        /// The login to sign out (default: the site's current user).
        #[arg(long)]
        login: Option<String>,
        /// Print a JSON object: {\"site\", \"login\" (null when nobody was signed in)}.
        #[arg(long)]
        json: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose);
    match commands::run(cli.command, cli.verbose > 0) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("fpt-login: {}", failure.message);
            ExitCode::from(failure.code)
        }
    }
}

fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("FPT_LOGIN_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .init();
}
