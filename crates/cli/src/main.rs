//! `fpt-login`: what other programs and people call to get the signed-in FPT user.

mod args;
mod backend;
mod doctor;
mod exit;
mod handoff;
mod input;
mod install_files;
mod login;
mod output;
mod sessions;
mod settings;
mod toolkit;

use std::process::ExitCode;

use clap::{CommandFactory as _, Parser as _};

use crate::args::{Cli, Command, ScriptCommand};
use crate::exit::Failure;

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose);
    match run(cli.command, cli.verbose > 0) {
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

/// Hands each subcommand to its handler; handlers depend on `args`, `backend`, `exit` and
/// `output`, never on each other.
fn run(command: Command, verbose: bool) -> Result<(), Failure> {
    match command {
        Command::Token {
            site,
            json,
            min_ttl,
            rest: false,
        } => handoff::token(site, json, min_ttl, verbose),
        Command::Token {
            site,
            json,
            min_ttl,
            rest: true,
        } => handoff::rest_token(site, json, min_ttl, verbose),
        Command::Serialize { site } => handoff::serialize(site, verbose),
        Command::Exec {
            site,
            min_ttl,
            command,
        } => handoff::exec(site, min_ttl, &command, verbose),
        Command::Whoami { site, json } => sessions::whoami(site, json, verbose),
        Command::Sites { json } => sessions::sites(json, verbose),
        Command::Doctor { site, json } => doctor::doctor(site, json),
        Command::Settings { action, json } => settings::settings(action, json),
        Command::Toolkit(command) => toolkit::toolkit(&command, verbose),
        Command::Use { site, login } => sessions::use_site(site, login, verbose),
        Command::Status { json } => sessions::status(json, verbose),
        Command::Logout {
            site,
            login,
            all,
            json,
        } => sessions::logout(site, login, all, json, verbose),
        Command::Watch { json } => sessions::watch(json, verbose),
        Command::Login(args) => login::login(&args, verbose),
        Command::Script(ScriptCommand::Add {
            site,
            name,
            default,
        }) => login::add_script(&site, &name, default),
        Command::Script(ScriptCommand::Remove { site, name }) => login::remove_script(&site, &name),
        Command::InstallFiles(command) => install_files::run(command, Cli::command()),
    }
}
