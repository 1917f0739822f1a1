//! Plain types every other module shares: how a person signed in, how usable a session is,
//! and where a sign-in stands. This module depends on nothing else in the crate, so anything
//! may use it without creating an import cycle.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize};

/// A way to sign in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Method {
    /// App Session Launcher: approve the sign-in in the system browser.
    #[serde(rename = "asl")]
    AppSessionLauncher,
    /// The site's web sign-in (SSO, Autodesk Identity) in an embedded webview.
    #[serde(rename = "web")]
    Web,
    /// Login and password (and a two-factor code) sent to the site.
    #[serde(rename = "credentials")]
    Credentials,
}

/// Tried in this order when nothing else decides.
pub const PREFERENCE: [Method; 3] = [Method::AppSessionLauncher, Method::Web, Method::Credentials];

impl Method {
    /// The short name used on the command line and in settings: `asl`, `web`, `credentials`.
    pub fn name(self) -> &'static str {
        match self {
            Self::AppSessionLauncher => "asl",
            Self::Web => "web",
            Self::Credentials => "credentials",
        }
    }

    /// The name tk-core stores and reads from `SGTK_DEFAULT_AUTH_METHOD`.
    pub fn toolkit_name(self) -> &'static str {
        match self {
            Self::AppSessionLauncher => "app_session_launcher",
            Self::Web => "qt_web_login",
            Self::Credentials => "credentials",
        }
    }

    /// Either kind of name.
    pub fn from_any_name(name: &str) -> Option<Self> {
        PREFERENCE
            .into_iter()
            .find(|m| m.name() == name || m.toolkit_name() == name)
    }

    /// What a person reads on the button.
    pub fn label(self) -> &'static str {
        match self {
            Self::AppSessionLauncher => "Approve in your web browser",
            Self::Web => "Sign in with the site's web page",
            Self::Credentials => "Login and password",
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An unknown method name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown sign-in method {0:?}; use asl, web or credentials")]
pub struct UnknownMethod(pub String);

impl FromStr for Method {
    type Err = UnknownMethod;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::from_any_name(s).ok_or_else(|| UnknownMethod(s.to_owned()))
    }
}

impl Method {
    /// Reads a method stored in a file written by any version: an unknown or missing name is
    /// `None` rather than an unreadable file.
    pub fn deserialize_lenient<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Self>, D::Error> {
        let name = Option::<String>::deserialize(d)?;
        Ok(name.as_deref().and_then(Self::from_any_name))
    }
}

/// How usable a stored session is, as far as the app has seen.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionState {
    /// Works, and is renewed or kept alive as needed.
    #[default]
    Active,
    /// Works for now, but cannot be renewed without the person (the IdP wants its form,
    /// the renewal timed out).
    NeedsAttention,
    /// The site redirected a call to the IdP: the SAML claims lapsed. A silent renewal may
    /// still bring it back.
    ClaimsLapsed,
    /// The site refused the token (`error_code` 102).
    Expired,
}

impl SessionState {
    pub fn name(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::NeedsAttention => "needs attention",
            Self::ClaimsLapsed => "claims lapsed",
            Self::Expired => "expired",
        }
    }

    /// Whether the token can be handed out.
    pub fn usable(self) -> bool {
        matches!(self, Self::Active | Self::NeedsAttention)
    }
}

/// Where a sign-in stands, as the sign-in window shows it and socket clients wait for it.
/// Serialised as `waiting`, `approve`, `signed_in`, `cancelled` or `failed` (the UI's
/// contract).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignInState {
    /// Under way; nothing for the person to do yet.
    Waiting,
    /// App Session Launcher: waiting for the person to approve in the browser.
    Approve,
    SignedIn,
    /// The person closed the window or pressed Cancel.
    Cancelled,
    Failed,
}

impl SignInState {
    /// True once the sign-in is over, one way or the other.
    pub fn is_final(self) -> bool {
        matches!(self, Self::SignedIn | Self::Cancelled | Self::Failed)
    }

    /// Whether the person has to look at the outcome (the window is shown).
    pub fn needs_a_look(self) -> bool {
        matches!(self, Self::Cancelled | Self::Failed)
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Waiting => "waiting",
            Self::Approve => "approve",
            Self::SignedIn => "signed_in",
            Self::Cancelled => "cancelled",
            Self::Failed => "failed",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn method_names_round_trip() {
        for m in PREFERENCE {
            assert_eq!(m.name().parse::<Method>().unwrap(), m);
            assert_eq!(m.toolkit_name().parse::<Method>().unwrap(), m);
            assert_eq!(serde_json::to_value(m).unwrap(), m.name());
        }
        assert!(
            "password"
                .parse::<Method>()
                .unwrap_err()
                .to_string()
                .contains("asl, web or credentials")
        );
    }

    #[test]
    fn stored_methods_are_read_leniently() {
        #[derive(Deserialize)]
        struct Record {
            #[serde(default, deserialize_with = "Method::deserialize_lenient")]
            method: Option<Method>,
        }
        let read = |json: &str| serde_json::from_str::<Record>(json).unwrap().method;
        assert_eq!(read(r#"{"method": "web"}"#), Some(Method::Web));
        assert_eq!(read(r#"{"method": "qt_web_login"}"#), Some(Method::Web));
        assert_eq!(read(r#"{"method": "carrier pigeon"}"#), None);
        assert_eq!(read(r#"{"method": null}"#), None);
        assert_eq!(read("{}"), None);
    }

    #[test]
    fn sign_in_states_use_the_ui_names() {
        for s in [
            SignInState::Waiting,
            SignInState::Approve,
            SignInState::SignedIn,
            SignInState::Cancelled,
            SignInState::Failed,
        ] {
            assert_eq!(serde_json::to_value(s).unwrap(), s.name());
        }
    }
}
