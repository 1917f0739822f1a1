//! This app as the desktop of core's refresher and socket answers: the hidden renewal webview,
//! notifications, the web sign-in data, the tray's redraws, and sign-ins for socket clients.

use std::future::Future;
use std::time::Duration;

use fpt_login_core::Site;
use fpt_login_core::local_api::{SignIns, StartError};
use fpt_login_core::method::Pick;
use fpt_login_core::model::Method;
use fpt_login_core::refresher::Desktop;
use fpt_login_core::renewal::{Generation, Landing, SilentRenewalError};
use fpt_login_core::signin::SignInStatus;
use tauri::{AppHandle, Manager as _, Runtime};
use tokio::sync::broadcast;

use crate::login;
use crate::state::AppState;

/// The app, for core's refresher and socket answers.
#[derive(Debug)]
pub struct AppDesktop<R: Runtime> {
    app: AppHandle<R>,
    #[cfg(target_os = "linux")]
    notifier: fpt_login_tray::notifications::Notifier,
}

impl<R: Runtime> AppDesktop<R> {
    pub fn new(app: &AppHandle<R>) -> Self {
        Self {
            app: app.clone(),
            // As the desktop entry and the icons the package installs name them.
            #[cfg(target_os = "linux")]
            notifier: fpt_login_tray::notifications::Notifier::new(
                fpt_login_tray::notifications::Sender {
                    name: "FPT Login",
                    icon: "fpt-login",
                    desktop_entry: "fpt-login-desktop",
                },
            ),
        }
    }
}

impl<R: Runtime> Desktop for AppDesktop<R> {
    fn renew_silently(
        &self,
        site: &Site,
        renewing: &Generation,
        watchdog: Duration,
    ) -> impl Future<Output = Result<Landing, SilentRenewalError>> + Send {
        login::renew_silently(&self.app, site, renewing, watchdog)
    }

    fn notify(&self, site: &Site, title: &str, body: &str) {
        #[cfg(target_os = "linux")]
        self.notifier.show(site.as_str(), title, body);
        #[cfg(not(target_os = "linux"))]
        {
            let _ = (site, body);
            tracing::warn!("cannot show a notification on this platform yet: {title}");
        }
    }

    // WebKit's data is the main thread's.
    fn forget_site_data(&self, site: &Site) {
        let (forget, site) = (self.app.clone(), site.clone());
        let _ = self
            .app
            .run_on_main_thread(move || login::forget_site_data(&forget, &site));
    }

    fn forget_stale_site_data(&self) {
        let forget = self.app.clone();
        let _ = self
            .app
            .run_on_main_thread(move || login::forget_stale_site_data(&forget));
    }

    fn redraw(&self) {
        self.app.state::<AppState>().redraw();
    }
}

impl<R: Runtime> SignIns for AppDesktop<R> {
    fn start_sign_in(
        &self,
        site: &Site,
        method: Method,
        pick: Pick,
    ) -> impl Future<Output = Result<(), StartError>> + Send {
        let (starter, site) = (self.app.clone(), site.clone());
        let (started_tx, started_rx) = tokio::sync::oneshot::channel();
        // Windows open on the main thread.
        let asked = self.app.run_on_main_thread(move || {
            let started = login::start(&starter, &site, method, pick);
            let _ = started_tx.send(started);
        });
        async move {
            asked.map_err(|e| StartError::Desktop(e.to_string()))?;
            started_rx
                .await
                .map_err(|e| StartError::Desktop(e.to_string()))?
                .map_err(StartError::Refused)
        }
    }

    fn sign_in_statuses(&self) -> broadcast::Receiver<SignInStatus> {
        self.app.state::<AppState>().statuses.subscribe()
    }
}
