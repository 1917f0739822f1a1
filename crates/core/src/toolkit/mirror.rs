//! Keeps Toolkit's session cache files in step with sign-ins and sign-outs, when the person
//! turned that on (`toolkit_files`).

use super::ToolkitCache;
use crate::events::{Change, Listener};
use crate::settings::Settings;

/// Mirrors every change into Toolkit's files while `toolkit_files` is on.
#[derive(Debug, Default)]
pub struct ToolkitMirror;

impl Listener for ToolkitMirror {
    fn changed(&self, settings: &Settings, change: &Change<'_>) {
        if !settings.toolkit_files {
            return;
        }
        let result = ToolkitCache::locate().and_then(|cache| match change {
            Change::Stored { site, login, token } => cache.record_sign_in(site, login, token),
            Change::Removed { site, login } => cache.record_sign_out(site, login).map(drop),
        });
        // The sign-in itself already happened, so a failure here is reported, not returned.
        match result {
            Ok(()) => tracing::debug!("updated Toolkit's session cache"),
            Err(e) => tracing::warn!(error = %e, "could not update Toolkit's session cache"),
        }
    }
}
