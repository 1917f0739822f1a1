//! The work under way that the app's state keeps a place for: the open web sign-in, the App
//! Session Launcher run, and the refresher's renewals and plans.
//!
//! Only their data is here, below the state that holds them; what they do is in `login` and
//! `refresher`, which use the state. Defining them there would have the state and the flows
//! import each other.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use fpt_login_core::Site;
use fpt_login_core::method::Pick;
use fpt_login_core::renewal::Plan;
use fpt_login_core::signin::{Ending, NavigationGuard};
use tokio::sync::{Notify, OnceCell};

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

/// A renewal's result for everyone waiting on it: done, or why not.
pub type Renewal = Result<(), String>;

/// The refresher's bookkeeping, per site.
#[derive(Debug, Default)]
pub struct Refresher {
    /// One renewal per site at a time; everyone who asks meanwhile gets its outcome.
    pub(crate) inflight: Mutex<HashMap<Site, Arc<OnceCell<Renewal>>>>,
    pub(crate) plans: Mutex<HashMap<Site, Plan>>,
    /// Sites with a loop task (renewal or keep-alive) under way.
    pub(crate) busy: Mutex<HashSet<Site>>,
    pub(crate) wake: Notify,
}

impl Refresher {
    /// How far `site`'s clock is ahead of ours (seconds), as far as the refresher has seen.
    pub fn clock_offset(&self, site: &Site) -> i64 {
        self.plans
            .lock()
            .expect("plans lock")
            .get(site)
            .map_or(0, Plan::clock_offset)
    }
}
