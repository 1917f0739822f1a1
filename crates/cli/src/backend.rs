//! Where answers come from: the running desktop app over the local socket, or, when no app
//! runs, the keyring and settings file directly through the same core code.

use std::time::Duration;

use fpt_login_core::Accounts;
use fpt_login_core::local_api::{self, Client, ClientError};
use fpt_login_core::paths::Paths;
use fpt_login_core::protocol::{ErrorInfo, ErrorKind, Request, Response};

/// Exit codes, as documented in `--help` and the README.
pub const EXIT_FAILURE: u8 = 1;
pub const EXIT_USAGE: u8 = 2;
pub const EXIT_SIGN_IN_REQUIRED: u8 = 4;

/// How long to wait for the app's answer before giving up.
const APP_TIMEOUT: Duration = Duration::from_secs(60);

/// A failed command: what to print and which exit code to use.
#[derive(Debug)]
pub struct Failure {
    pub code: u8,
    pub message: String,
}

impl Failure {
    pub fn new(code: u8, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

impl From<ErrorInfo> for Failure {
    fn from(e: ErrorInfo) -> Self {
        let code = match e.kind {
            // The person has to do something (sign in, or sign in again another way).
            ErrorKind::SignInRequired | ErrorKind::Cancelled | ErrorKind::SignInFailed => {
                EXIT_SIGN_IN_REQUIRED
            }
            ErrorKind::BadRequest => EXIT_USAGE,
            _ => EXIT_FAILURE,
        };
        Self::new(code, e.message)
    }
}

#[derive(Debug)]
pub enum Backend {
    App(Client),
    Direct(Accounts),
}

impl Backend {
    pub fn open(verbose: bool) -> Result<Self, Failure> {
        let paths = Paths::from_env().map_err(|e| Failure::new(EXIT_FAILURE, e.to_string()))?;
        match Client::connect(&paths.socket_file(), APP_TIMEOUT) {
            Ok(client) => {
                if verbose {
                    eprintln!("fpt-login: asking the running app ({})", client.server());
                }
                Ok(Self::App(client))
            }
            Err(ClientError::NotRunning { socket }) => {
                if verbose {
                    eprintln!(
                        "fpt-login: the FPT Login app is not running (no socket at {}); reading the keyring directly",
                        socket.display()
                    );
                }
                Ok(Self::Direct(Accounts::new(&paths)))
            }
            Err(e) => Err(Failure::new(EXIT_FAILURE, e.to_string())),
        }
    }

    /// The desktop app's process id when answers come from it.
    pub fn app_pid(&self) -> Option<u32> {
        match self {
            Self::App(client) => client.server_pid(),
            Self::Direct(_) => None,
        }
    }

    /// The accounts on this machine, for what the CLI does without the app.
    pub fn accounts() -> Result<Accounts, Failure> {
        let paths = Paths::from_env().map_err(|e| Failure::new(EXIT_FAILURE, e.to_string()))?;
        Ok(Accounts::new(&paths))
    }

    /// Sends `request` and turns an error response into a [`Failure`].
    pub fn request(&mut self, request: &Request) -> Result<Response, Failure> {
        let response = match self {
            Self::App(client) => client
                .request(request)
                .map_err(|e| Failure::new(EXIT_FAILURE, e.to_string()))?,
            Self::Direct(accounts) => local_api::answer(accounts, request.clone()),
        };
        match response {
            Response::Error(e) => Err(e.into()),
            other => Ok(other),
        }
    }
}
