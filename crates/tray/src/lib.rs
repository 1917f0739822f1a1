//! FPT Login's tray icon, without a GUI toolkit: a StatusNotifierItem over D-Bus (the tray
//! protocol KDE, XFCE, Cinnamon, LXQt and GNOME's AppIndicator extension show) whose menu is
//! core's [`tray_menu`](fpt_login_core::actions::tray_menu). Any process can own it — the
//! desktop app today — since it needs neither GTK nor a window, and what it shows can be read
//! back over the bus (`com.canonical.dbusmenu`), which is how the tests click it.
//!
//! Trays that take only XEmbed icons (i3bar, some older panels) show nothing: the Accounts
//! window is the way in there, as on stock GNOME. Linux only; elsewhere [`Tray::start`] says
//! the platform has no tray here.

use std::sync::Arc;

use fpt_login_core::actions::{Action, Entry};
use tokio::sync::watch;

#[cfg(target_os = "linux")]
pub mod notifications;
#[cfg(target_os = "linux")]
mod sni;

/// What a click on an entry asks for. It runs on the tray's own task: hand real work off.
pub type OnAction = Arc<dyn Fn(Action) + Send + Sync>;

#[derive(Debug, thiserror::Error)]
pub enum TrayError {
    #[error("this platform has no tray icon in FPT Login yet")]
    Unsupported,
}

/// The icon in the tray, for as long as this lives.
#[derive(Debug)]
pub struct Tray {
    shown: watch::Sender<(String, Vec<Entry>)>,
}

impl Tray {
    /// Puts the icon in the tray with `menu`; `headline` is its tooltip. Returns at once:
    /// reaching the bus and the desktop's tray happens on a task of its own (call this inside
    /// a tokio runtime), so a tray that hangs cannot hold up the app. A desktop that shows no
    /// tray yet (its tray starts later, or never) is no error: the icon appears whenever one
    /// does.
    pub fn start(
        headline: String,
        menu: Vec<Entry>,
        on_action: OnAction,
    ) -> Result<Self, TrayError> {
        #[cfg(target_os = "linux")]
        {
            let (shown, latest) = watch::channel((headline, menu));
            tokio::spawn(sni::serve(latest, on_action));
            Ok(Self { shown })
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = (headline, menu, on_action);
            Err(TrayError::Unsupported)
        }
    }

    /// Shows `menu` (and `headline` as the tooltip) from now on. Never waits on the bus: the
    /// tray's task draws the latest menu it was given, so menus are never shown out of order
    /// and one that is replaced before it was drawn is skipped.
    pub fn show(&self, headline: String, menu: Vec<Entry>) {
        // The task ends only with the connection; nothing is left to draw on then.
        let _ = self.shown.send((headline, menu));
    }
}
