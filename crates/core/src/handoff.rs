//! Handing a user to a child program through its environment (`fpt-login exec`): which
//! variables it gets, and which inherited ones go first, so a person's token never sits beside
//! an outer script's key (or the other way round).

use std::ffi::OsStr;

use crate::protocol::{Credentials, UserInfo};
use crate::toolkit;

/// What tk-core reads the serialized user from.
pub const TOOLKIT_USER_ENV: &str = "SHOTGUN_DESKTOP_CURRENT_USER";

/// Whether an inherited variable speaks for a user and must not reach the child next to the
/// one handed over: every `FPT_*` but FPT Login's own settings (`FPT_LOGIN_*`, such as
/// `FPT_LOGIN_HOME`, which a child calling `fpt-login` again needs), and tk-core's user.
pub fn is_inherited_user_variable(name: &OsStr) -> bool {
    let Some(name) = name.to_str() else {
        return false;
    };
    name == TOOLKIT_USER_ENV || (name.starts_with("FPT_") && !name.starts_with("FPT_LOGIN_"))
}

/// The variables a child program gets for `user`.
pub fn environment(user: &UserInfo) -> Vec<(&'static str, String)> {
    let mut vars = vec![
        ("FPT_SITE", user.site.to_string()),
        (TOOLKIT_USER_ENV, toolkit::serialize_user(user)),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inherited_users_go_and_fpt_logins_own_settings_stay() {
        for gone in [
            "FPT_API_KEY",
            "FPT_API_SCRIPT",
            "FPT_SESSION_TOKEN",
            "FPT_LOGIN",
            "FPT_SITE",
            "FPT_ANYTHING",
            "SHOTGUN_DESKTOP_CURRENT_USER",
        ] {
            assert!(is_inherited_user_variable(OsStr::new(gone)), "{gone}");
        }
        for kept in [
            "FPT_LOGIN_HOME",
            "FPT_LOGIN_LOG",
            "PATH",
            "SHOTGUN_HOME",
            "fpt_site",
        ] {
            assert!(!is_inherited_user_variable(OsStr::new(kept)), "{kept}");
        }
    }
}
