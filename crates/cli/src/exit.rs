//! How a command fails: the message printed and the exit code, as documented in `--help` and
//! the README.

use fpt_login_core::protocol::{ErrorInfo, ErrorKind};
use fpt_login_core::signin::SignInError;

pub const EXIT_FAILURE: u8 = 1;
pub const EXIT_USAGE: u8 = 2;
pub const EXIT_SIGN_IN_REQUIRED: u8 = 4;

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

    /// Exit 1 with `error`'s message.
    pub fn failed(error: impl std::fmt::Display) -> Self {
        Self::new(EXIT_FAILURE, error.to_string())
    }

    /// Exit 2 with `error`'s message.
    pub fn usage(error: impl std::fmt::Display) -> Self {
        Self::new(EXIT_USAGE, error.to_string())
    }

    /// Exit 4: the person has to sign in (again, or differently).
    pub fn sign_in_required(error: impl std::fmt::Display) -> Self {
        Self::new(EXIT_SIGN_IN_REQUIRED, error.to_string())
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

impl From<SignInError> for Failure {
    fn from(e: SignInError) -> Self {
        match e {
            SignInError::NoSite => Self::usage(e),
            e if e.needs_person() => Self::sign_in_required(e),
            e => Self::failed(e),
        }
    }
}
