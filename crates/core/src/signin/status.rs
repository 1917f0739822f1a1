//! How far a sign-in has come, as the sign-in window shows it and socket clients wait for it.

use serde::Serialize;

use crate::model::SignInState;
use crate::site::Site;

/// Progress of a sign-in, shown in the main window.
#[derive(Debug, Clone, Serialize)]
pub struct SignInStatus {
    pub state: SignInState,
    /// The site signed in to; `None` when what was asked for is no site at all (the window
    /// keeps the text typed).
    pub site: Option<Site>,
    pub message: String,
    /// The page to approve the sign-in on (App Session Launcher).
    pub url: Option<String>,
    /// When waiting stops (epoch seconds), for the countdown.
    pub deadline: Option<i64>,
}
