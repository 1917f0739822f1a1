//! Where answers come from: the running desktop app over the local socket, or, when no app
//! runs, the keyring and settings file directly through the same core code.

use std::time::Duration;

use fpt_login_core::Accounts;
use fpt_login_core::local_api::{self, Client, ClientError};
use fpt_login_core::paths::Paths;
use fpt_login_core::protocol::{Request, Response, UserInfo};

use crate::exit::Failure;

/// How long to wait for the app's answer before giving up.
const APP_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Debug)]
pub enum Backend {
    App(Client),
    Direct(Accounts),
}

impl Backend {
    pub fn open(verbose: bool) -> Result<Self, Failure> {
        let paths = Paths::from_env().map_err(Failure::failed)?;
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
            Err(e) => Err(Failure::failed(e)),
        }
    }

    /// Waits for the app's answers as long as a renewal can take (see
    /// `Settings::longest_renewal`).
    pub fn wait_for_renewals(&mut self) -> Result<(), Failure> {
        let Self::App(client) = self else {
            return Ok(());
        };
        let settings = Self::accounts()?
            .settings_file()
            .load_shared()
            .map_err(Failure::failed)?;
        client
            .set_timeout(Some(settings.longest_renewal().max(APP_TIMEOUT)))
            .map_err(Failure::failed)
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
        let paths = Paths::from_env().map_err(Failure::failed)?;
        Ok(Accounts::new(&paths))
    }

    /// Sends `request` and turns an error response into a [`Failure`].
    pub fn request(&mut self, request: &Request) -> Result<Response, Failure> {
        let response = match self {
            Self::App(client) => client.request(request).map_err(Failure::failed)?,
            Self::Direct(accounts) => local_api::answer(accounts, request.clone()),
        };
        match response {
            Response::Error(e) => Err(e.into()),
            other => Ok(other),
        }
    }

    /// The answer to `request` when it is the `User` an app or the accounts hand back.
    pub fn user(&mut self, request: &Request) -> Result<UserInfo, Failure> {
        match self.request(request)? {
            Response::User(user) => Ok(user),
            other => Err(unexpected(&other)),
        }
    }
}

/// An answer the request does not call for: a bug in one of the two ends.
pub fn unexpected(response: &Response) -> Failure {
    Failure::failed(format!(
        "unexpected answer from the FPT Login app: {response:?}"
    ))
}
