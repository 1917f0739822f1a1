//! The work under way that the app's state keeps a place for: the open web sign-in and the
//! App Session Launcher run.
//!
//! Only their data is here, below the state that holds them; what they do is in `login`,
//! which uses the state. Defining them there would have the state and the flows import each
//! other.

use std::sync::{Arc, Mutex};

use fpt_login_core::Site;
use fpt_login_core::method::Pick;
use fpt_login_core::signin::{Ending, NavigationGuard};

/// One web sign-in, from opening the window to its outcome.
#[derive(Debug)]
pub struct Attempt {
    pub(crate) site: Site,
    /// Claimed once the outcome is decided (landed, failed, or the window closed); closing the
    /// window after it landed is not a cancellation.
    pub(crate) ending: Ending,
    pub(crate) navigations: NavigationGuard,
    /// How the web sign-in was picked: remembered once it is stored. A second request that
    /// brings the open window forward can make it the person's choice.
    pub(crate) pick: Mutex<Pick>,
}

/// The App Session Launcher sign-in in progress, so that Cancel can stop it.
#[derive(Debug)]
pub struct AslRun {
    pub(crate) site: Site,
    pub(crate) ending: Arc<Ending>,
    pub(crate) task: tauri::async_runtime::JoinHandle<()>,
}
