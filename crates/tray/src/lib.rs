//! FPT Login's tray icon, without a GUI toolkit: a StatusNotifierItem over D-Bus (the tray
//! protocol KDE, XFCE, Cinnamon, LXQt and GNOME's AppIndicator extension show) whose menu is
//! core's [`tray_menu`](fpt_login_core::actions::tray_menu). Any process can own it — the
//! desktop app today — since it needs neither GTK nor a window, and what it shows can be read
//! back over the bus (`com.canonical.dbusmenu`), which is how the tests click it.
//!
//! Linux only; elsewhere [`Tray::spawn`] says the platform has no tray here.

use std::sync::Arc;

use fpt_login_core::actions::{Action, Entry};

#[cfg(target_os = "linux")]
mod sni;

/// What a click on an entry asks for. It runs on the tray's own task: hand real work off.
pub type OnAction = Arc<dyn Fn(Action) + Send + Sync>;

#[derive(Debug, thiserror::Error)]
pub enum TrayError {
    /// The session bus could not be reached or would not take the tray's name.
    #[error("cannot put the icon in the tray: {0}")]
    Bus(String),
    #[error("this platform has no tray icon in FPT Login yet")]
    Unsupported,
}

/// The icon in the tray, for as long as this lives.
#[derive(Debug)]
pub struct Tray {
    #[cfg(target_os = "linux")]
    inner: sni::Icon,
}

impl Tray {
    /// Puts the icon in the tray with `menu`; `headline` is its tooltip. A desktop that shows
    /// no tray yet (its tray starts later, or never, as on stock GNOME) is no error: the icon
    /// appears whenever one does.
    pub async fn spawn(
        headline: String,
        menu: Vec<Entry>,
        on_action: OnAction,
    ) -> Result<Self, TrayError> {
        #[cfg(target_os = "linux")]
        return Ok(Self {
            inner: sni::Icon::spawn(headline, menu, on_action).await?,
        });
        #[cfg(not(target_os = "linux"))]
        {
            let _ = (headline, menu, on_action);
            Err(TrayError::Unsupported)
        }
    }

    /// Shows `menu` (and `headline` as the tooltip) from now on.
    pub async fn show(&self, headline: String, menu: Vec<Entry>) {
        #[cfg(target_os = "linux")]
        self.inner.show(headline, menu).await;
        #[cfg(not(target_os = "linux"))]
        let _ = (headline, menu);
    }
}
