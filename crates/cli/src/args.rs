//! The command line: every subcommand, option and help text, parsed by clap. Sites are
//! parsed into [`Site`] here, so a bad `--site` is a usage error (exit 2) that says what is
//! wrong with it.

use std::ffi::OsStr;

use clap::builder::TypedValueParser;
use clap::error::ErrorKind;
use clap::{Parser, Subcommand};
use fpt_login_core::Site;
use fpt_login_core::model::Method;

/// Parses a site URL. Unlike clap's own parsers it does not quote the raw value back: a
/// password typed into the URL must not reach the terminal, logs or CI output. Site's own
/// messages leave it out.
#[derive(Debug, Clone, Copy)]
pub struct SiteParser;

impl TypedValueParser for SiteParser {
    type Value = Site;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &OsStr,
    ) -> Result<Site, clap::Error> {
        let name = arg.map_or_else(|| "the site".to_owned(), ToString::to_string);
        let error = |message: String| {
            clap::Error::raw(ErrorKind::ValueValidation, format!("{name}: {message}\n"))
                .with_cmd(cmd)
        };
        let text = value
            .to_str()
            .ok_or_else(|| error("the site URL is not valid UTF-8".to_owned()))?;
        Site::parse(text).map_err(|e| error(e.to_string()))
    }
}

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
#[command(name = "fpt-login", version = env!("FPT_LOGIN_VERSION"), after_help = EXIT_CODES)]
pub struct Cli {
    /// Say on stderr where answers come from; repeat for debug logs (tokens are never logged).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the session token of the signed-in user.
    #[command(after_help = "Examples:
  fpt-login token
  fpt-login token --site https://mystudio.shotgrid.autodesk.com --json
  python -c \"import shotgun_api3, subprocess; t = subprocess.check_output(['fpt-login', 'token'], text=True).strip(); ...\"

With --json the output is one object, for a person's session:
  {\"site\", \"kind\": \"session\", \"login\", \"session_token\", \"expires_at\" (epoch seconds or null), \"http_proxy\" (or null)}
and, where an API script is the site's default user (see `fpt-login script add`):
  {\"site\", \"kind\": \"script\", \"api_script\", \"api_key\", \"http_proxy\"}

With --rest it prints a REST API access token (`Authorization: Bearer <token>`) for the same
user instead, minted from the stored session (an API script: its key). The running app keeps it
in memory only and hands the same one to every caller until --min-ttl seconds (default 60)
before it ends; without the app, each call mints a new one. --rest --json prints:
  {\"site\", \"kind\", \"login\" or \"api_script\", \"token_type\": \"Bearer\", \"access_token\", \"expires_at\"}

Exits with 4 when nobody is signed in, so scripts can tell the user to sign in (with --rest:
also when the site no longer accepts the session).")]
    Token {
        /// The site (default: the default site, usually the last one signed in to).
        #[arg(long, value_name = "URL", value_parser = SiteParser)]
        site: Option<Site>,
        /// Print a JSON object instead of the bare token.
        #[arg(long)]
        json: bool,
        /// Make sure the session lasts this many more seconds: the running app renews it first
        /// when it would not (all callers share one renewal); exit 4 when it cannot. With
        /// --rest: the REST token's seconds left (default 60).
        #[arg(long, value_name = "SECS")]
        min_ttl: Option<u64>,
        /// Print a REST API access token (Bearer) instead of the session token.
        #[arg(long)]
        rest: bool,
    },
    /// Show the default site's signed-in user (no secrets).
    #[command(after_help = "Examples:
  fpt-login whoami
  fpt-login whoami --site https://mystudio.shotgrid.autodesk.com --json")]
    Whoami {
        /// The site (default: the default site).
        #[arg(long, value_name = "URL", value_parser = SiteParser)]
        site: Option<Site>,
        /// Print {"site", "kind", "login" or "api_script", "name", "expires_at"}.
        #[arg(long)]
        json: bool,
    },
    /// List the sites with someone signed in, the default first.
    #[command(after_help = "Examples:
  fpt-login sites
  fpt-login sites --json   # [{\"site\", \"default\", \"current_user\", \"current_script\"}]")]
    Sites {
        /// Print a JSON array, one object per site.
        #[arg(long)]
        json: bool,
    },
    /// Make a site the default (and a signed-in user its current user).
    #[command(after_help = "Examples:
  fpt-login use https://mystudio.shotgrid.autodesk.com
  fpt-login use https://mystudio.shotgrid.autodesk.com jane")]
    Use {
        /// The site, which must have someone signed in.
        #[arg(value_name = "URL", value_parser = SiteParser)]
        site: Site,
        /// A login signed in to that site.
        login: Option<String>,
    },
    /// Print the user as tk-core's serialized user (JSON), for Toolkit processes.
    #[command(
        after_help = "The output is what tk-core's serialize_user(user, use_json=True) writes:
  {\"type\": \"SessionUser\", \"data\": {\"http_proxy\", \"host\", \"login\", \"session_token\"}}
  {\"type\": \"ScriptUser\", \"data\": {\"http_proxy\", \"host\", \"api_script\", \"api_key\"}}
tk-core's deserialize_user() reads it (a payload starting with '{' is JSON).

Example:
  SHOTGUN_DESKTOP_CURRENT_USER=\"$(fpt-login serialize)\" tank ..."
    )]
    Serialize {
        /// The site (default: the default site).
        #[arg(long, value_name = "URL", value_parser = SiteParser)]
        site: Option<Site>,
    },
    /// Run a program with the signed-in user in its environment.
    #[command(after_help = "The program gets:
  FPT_SITE                       the site URL
  FPT_LOGIN, FPT_SESSION_TOKEN   for a person's session
  FPT_API_SCRIPT, FPT_API_KEY    for an API script user
  SHOTGUN_DESKTOP_CURRENT_USER   the tk-core serialized user (see `fpt-login serialize`)
Inherited FPT_* variables (other than FPT Login's own FPT_LOGIN_* settings) and
SHOTGUN_DESKTOP_CURRENT_USER are removed first, so an outer user never sits beside this one.
fpt-login replaces itself with the program, so signals reach it directly and its exit code
is the exit code.

Examples:
  fpt-login exec -- maya
  fpt-login exec --min-ttl 3600 -- python long_publish.py
  fpt-login exec --site https://mystudio.shotgrid.autodesk.com -- python submit.py --frames 1-100")]
    Exec {
        /// The site (default: the default site).
        #[arg(long, value_name = "URL", value_parser = SiteParser)]
        site: Option<Site>,
        /// Make sure the session lasts this many more seconds before the program starts: the
        /// running app renews it first when it would not; exit 4 when it cannot.
        #[arg(long, value_name = "SECS")]
        min_ttl: Option<u64>,
        /// The program and its arguments.
        #[arg(
            required = true,
            trailing_var_arg = true,
            allow_hyphen_values = true,
            value_name = "CMD"
        )]
        command: Vec<String>,
    },
    /// Keep Toolkit's own session cache up to date, for unmodified Toolkit (opt-in).
    #[command(subcommand)]
    Toolkit(ToolkitCommand),
    /// Show or change the network settings: the HTTP proxy and the CA bundle.
    #[command(after_help = "Keys:
  http-proxy  [user@]host[:port] (port 8080 when absent), used for every request the app and
              the CLI make, and handed to clients (`token --json` http_proxy). With a user,
              the password is asked for on the terminal (or read with --password-stdin) and
              kept in the OS keyring, never on the command line or in settings.json. Without
              it, HTTPS_PROXY/HTTP_PROXY/NO_PROXY apply.
  ca-bundle   a PEM file of the CAs to trust instead of the system's (for studios with their
              own CA). Without it, SHOTGUN_API_CACERTS applies, as for shotgun_api3.
  keep-alive  on (default) or off: while the app runs, use each session with one small call
              now and then so it does not idle out. Off: sessions may end after the site's
              inactivity timeout, and the tray says so.
  keep-alive-interval  seconds between those calls (default 600; sooner when the site says
              the session ends sooner; at least 60 unless the site's sessions are shorter)
  renew-timeout  seconds a silent SSO renewal may take before the tray asks you to renew
              (default 30)
  autostart   on or off (default): start the app in the tray when you log in

Examples:
  fpt-login settings
  fpt-login settings set http-proxy proxy.studio.lan:3128
  fpt-login settings set http-proxy jane@proxy.studio.lan:3128      # asks for the password
  pass show proxy | fpt-login settings set http-proxy jane@proxy.studio.lan:3128 --password-stdin
  fpt-login settings set ca-bundle /etc/ssl/studio-ca.pem
  fpt-login settings set keep-alive-interval 300
  fpt-login settings unset http-proxy")]
    Settings {
        #[command(subcommand)]
        action: Option<SettingsAction>,
        /// Print {"http_proxy" (password hidden), "ca_bundle"} after any change.
        #[arg(long, global = true)]
        json: bool,
    },
    /// Check what FPT Login needs, and say how to fix what fails.
    #[command(
        after_help = "Checks: the OS keyring works; the socket folder is private; the app runs;
WebKitGTK is installed for the web sign-in; the site answers (DNS, TLS, proxy) and how it signs
people in; this machine's clock agrees with the site's.
Exits with 1 when any check fails.

Examples:
  fpt-login doctor
  fpt-login doctor --site https://mystudio.shotgrid.autodesk.com --json"
    )]
    Doctor {
        /// The site to check (default: the default site).
        #[arg(long, value_name = "URL", value_parser = SiteParser)]
        site: Option<Site>,
        /// Print [{"name", "ok", "detail", "fix"}].
        #[arg(long)]
        json: bool,
    },
    /// Show who is signed in where.
    #[command(after_help = "Examples:
  fpt-login status
  fpt-login status --json")]
    Status {
        /// Print a JSON object: {"app_running", "app_pid", "default_site", "sites": [{"site", "current_user", "users": [...]}]}.
        #[arg(long)]
        json: bool,
    },
    /// Print session changes as they happen (needs the app running).
    #[command(
        after_help = "Events: signed_in, renewed, needs_attention, expired, signed_out,
default_changed. With --json each is one line:
  {\"event\", \"site\", \"login\", \"expires_at\", \"message\"}
A client that sees renewed or signed_in can fetch the token again instead of prompting.

Examples:
  fpt-login watch
  fpt-login watch --json | while read -r line; do ...; done"
    )]
    Watch {
        /// Print each event as one JSON object per line, for scripts.
        #[arg(long)]
        json: bool,
    },
    /// Sign in to a site, without the desktop app if need be.
    #[command(after_help = "Methods:
  asl          App Session Launcher: approve the sign-in in your web browser (works over SSH:
               open the printed address on any machine where you can sign in to the site)
  credentials  login and password, plus a two-factor code when the account has one
  web          the site's own web sign-in, in the FPT Login app's window (needs the app)
Without --method, the site's default is used (the method last chosen for the site, then
SGTK_DEFAULT_AUTH_METHOD, then asl > web > credentials, among those the site offers).

Examples:
  fpt-login login --site https://mystudio.shotgrid.autodesk.com
  fpt-login login --site https://mystudio.shotgrid.autodesk.com --method asl --no-browser
  printf '%s\\n' \"$PASSWORD\" | fpt-login login --site URL --method credentials --login jane --password-stdin --code 123456

Exits with 0 when signed in, 4 when the sign-in did not go through (cancelled, rejected,
wrong password, a two-factor code needed without a terminal), 1 on errors and --timeout.")]
    Login(LoginArgs),
    /// API script credentials, for render farms and other unattended tools.
    #[command(subcommand)]
    Script(ScriptCommand),
    /// Sign out: remove the user's token from the keyring and the site's web sign-in data.
    #[command(after_help = "Examples:
  fpt-login logout
  fpt-login logout --site https://mystudio.shotgrid.autodesk.com --login jane
  fpt-login logout --all")]
    Logout {
        /// The site (default: the default site).
        #[arg(long, value_name = "URL", value_parser = SiteParser, conflicts_with = "all")]
        site: Option<Site>,
        /// The login to sign out (default: the site's current user).
        #[arg(long, conflicts_with = "all")]
        login: Option<String>,
        /// Sign everyone out of every site (API script keys stay).
        #[arg(long)]
        all: bool,
        /// Print a JSON object: {"site", "login" (null when nobody was signed in)}.
        #[arg(long)]
        json: bool,
    },
    /// Completion scripts and manual pages, generated from this definition.
    #[command(flatten)]
    InstallFiles(InstallFilesCommand),
}

#[derive(Debug, Subcommand)]
pub enum InstallFilesCommand {
    /// Print the completion script for a shell.
    #[command(
        after_help = "The Debian package installs them already. From a source build:
  fpt-login completions bash > ~/.local/share/bash-completion/completions/fpt-login
  fpt-login completions zsh > ~/.zfunc/_fpt-login   # with fpath+=(~/.zfunc) before compinit
  fpt-login completions fish > ~/.config/fish/completions/fpt-login.fish"
    )]
    Completions {
        /// The shell to complete for.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Write the manual pages (fpt-login.1, fpt-login-token.1, ...) into DIR, for packaging.
    #[command(hide = true)]
    Man {
        /// The folder to write them into (created when missing).
        #[arg(value_name = "DIR")]
        dir: std::path::PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum ToolkitCommand {
    /// Whether the files are kept, where they are, and the sessions in them.
    #[command(after_help = "Examples:
  fpt-login toolkit status
  fpt-login toolkit status --json   # {\"root\", \"enabled\", \"sessions\": [{\"site\", \"login\"}]}")]
    Status {
        /// Print a JSON object instead of sentences.
        #[arg(long)]
        json: bool,
    },
    /// Write every signed-in user to Toolkit's files now and on every sign-in and sign-out.
    #[command(
        after_help = "The files are ~/.shotgun/authentication.yml and ~/.shotgun/<site>/authentication.yml
($SHOTGUN_HOME when set; ~/Library/Caches/Shotgun on macOS, %APPDATA%\\Shotgun on Windows),
exactly as tk-core writes them. They hold session tokens in plain text (0600 files in 0700
folders), which is why this is off by default."
    )]
    Enable,
    /// Stop updating Toolkit's files; with --scrub, also remove the tokens FPT Login wrote there.
    #[command(
        after_help = "Without --scrub the sessions already in the files stay (they hold tokens in
plain text) until Toolkit signs out or `fpt-login toolkit disable --scrub` removes them. Sessions
Toolkit stored itself are left alone either way.

Examples:
  fpt-login toolkit disable
  fpt-login toolkit disable --scrub"
    )]
    Disable {
        /// Remove the tokens FPT Login wrote into Toolkit's files (those still equal to the
        /// one in the keyring).
        #[arg(long)]
        scrub: bool,
    },
    /// Take over the sessions Toolkit's files hold, after checking each with its site.
    #[command(
        after_help = "Example:\n  SHOTGUN_HOME=/mnt/home/jane/.shotgun fpt-login toolkit import"
    )]
    Import,
}

#[derive(Debug, Subcommand)]
pub enum SettingsAction {
    /// Set a key (checked before it is saved).
    Set {
        /// What to set.
        key: SettingKey,
        /// Its new value (see the list under `fpt-login settings --help`).
        value: String,
        /// http-proxy with USER@: read the proxy password from the first line of standard
        /// input instead of asking on the terminal (an empty line: no password).
        #[arg(long)]
        password_stdin: bool,
    },
    /// Remove a key.
    Unset {
        /// What to set back to its default.
        key: SettingKey,
    },
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum SettingKey {
    HttpProxy,
    CaBundle,
    KeepAlive,
    KeepAliveInterval,
    RenewTimeout,
    Autostart,
}

impl SettingKey {
    pub fn name(self) -> String {
        clap::ValueEnum::to_possible_value(&self)
            .map(|v| v.get_name().to_owned())
            .unwrap_or_default()
    }
}

#[derive(Debug, Subcommand)]
pub enum ScriptCommand {
    /// Store a script's key (read from standard input) after checking it against the site.
    #[command(after_help = "Examples:
  fpt-login script add --site https://mystudio.shotgrid.autodesk.com --name farm --default < farm.key
  fpt-login token --json   # then {\"kind\": \"script\", \"api_script\": \"farm\", \"api_key\": ...}")]
    Add {
        /// The site the script belongs to.
        #[arg(long, value_name = "URL", value_parser = SiteParser)]
        site: Site,
        /// The script's name, as on the site's Scripts page.
        #[arg(long)]
        name: String,
        /// Make the script the site's default user (what `token` returns), e.g. on a farm node.
        #[arg(long)]
        default: bool,
    },
    /// Remove a script's key from the keyring.
    #[command(
        after_help = "Example:\n  fpt-login script remove --site https://mystudio.shotgrid.autodesk.com --name farm"
    )]
    Remove {
        /// The site the script belongs to.
        #[arg(long, value_name = "URL", value_parser = SiteParser)]
        site: Site,
        /// The script's name, as stored with `fpt-login script add`.
        #[arg(long)]
        name: String,
    },
}

/// What `fpt-login login` was asked.
#[derive(Debug, clap::Args)]
pub struct LoginArgs {
    /// The site (default: the default site).
    #[arg(long, value_name = "URL", value_parser = SiteParser)]
    pub site: Option<Site>,
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

#[cfg(test)]
mod tests {
    use clap::CommandFactory as _;

    use super::*;

    #[test]
    fn every_option_and_argument_says_what_it_is_for_in_help() {
        fn undocumented(command: &clap::Command, path: &str, missing: &mut Vec<String>) {
            for arg in command.get_arguments() {
                if !arg.is_hide_set() && arg.get_help().is_none() && arg.get_long_help().is_none() {
                    missing.push(format!("{path} {}", arg.get_id()));
                }
            }
            for sub in command.get_subcommands() {
                undocumented(sub, &format!("{path} {}", sub.get_name()), missing);
            }
        }
        let mut missing = Vec::new();
        undocumented(&Cli::command(), "fpt-login", &mut missing);
        assert!(missing.is_empty(), "no help line: {missing:?}");
    }

    /// Doc comments are not string literals: an escaped quote in one shows its backslash.
    #[test]
    fn help_never_shows_an_escaped_quote() {
        fn escaped_quotes(command: &mut clap::Command, found: &mut Vec<String>) {
            if command.render_long_help().to_string().contains("\\\"") {
                found.push(command.get_name().to_owned());
            }
            for sub in command.get_subcommands_mut() {
                escaped_quotes(sub, found);
            }
        }
        let mut cli = Cli::command();
        cli.build();
        let mut escaped = Vec::new();
        escaped_quotes(&mut cli, &mut escaped);
        assert!(
            escaped.is_empty(),
            "a backslash before a quote in: {escaped:?}"
        );
    }

    #[test]
    fn no_site_argument_repeats_a_password_typed_into_it() {
        let cli = Cli::command();
        let mut checked = 0;
        for sub in cli.get_subcommands() {
            let paths: Vec<Vec<&clap::Command>> = std::iter::once(vec![sub])
                .chain(sub.get_subcommands().map(|nested| vec![sub, nested]))
                .collect();
            for path in paths {
                let command = path[path.len() - 1];
                let Some(site) = command.get_arguments().find(|a| a.get_id() == "site") else {
                    continue;
                };
                let mut argv = vec!["fpt-login".to_owned()];
                argv.extend(path.iter().map(|c| c.get_name().to_owned()));
                if site.get_long().is_some() {
                    argv.push("--site".to_owned());
                }
                argv.push("https://jane:hunter2@a.example.com".to_owned());
                let e = Cli::try_parse_from(&argv).unwrap_err();
                let text = e.to_string();
                assert_eq!(e.exit_code(), 2, "{argv:?}: {text}");
                assert!(!text.contains("hunter2"), "{argv:?}: {text}");
                assert!(text.contains("user name or password"), "{argv:?}: {text}");
                checked += 1;
            }
        }
        assert!(checked >= 10, "only {checked} commands take a site");
    }
}
