//! The web sign-in: a remote webview at `<site>/auth/renew` that is watched until it lands on
//! the site's own `/auth/landing`, where the session is read from the cookie store.
//!
//! The webview gets no IPC (it matches no capability), keeps its cookies in a per-site data
//! directory, and its cookies are read once, on the main thread, when the landing page has
//! finished loading: navigation events fire before the landing response has set them, and
//! reading cookies from another thread can deadlock.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use anyhow::Context as _;
use fpt_login_core::http::Network;
use fpt_login_core::landing::{self, Cookie, WebSession};
use fpt_login_core::method::Method;
use fpt_login_core::session::Expiry;
use fpt_login_core::{Accounts, Secret, Site};
use tauri::webview::{NewWindowResponse, PageLoadEvent};
use tauri::{
    AppHandle, Manager as _, Runtime, WebviewUrl, WebviewWindow, WebviewWindowBuilder, WindowEvent,
};
use url::Url;

use super::{renew_url, status};
use crate::AppState;

/// Label of the remote sign-in window. No capability names it.
pub const WEB_SIGN_IN_WINDOW: &str = "web-sign-in";
/// Coming back to `/auth/renew` this often without landing means the IdP is looping.
const MAX_RENEW_VISITS: u32 = 5;

/// One web sign-in, from opening the window to its outcome.
#[derive(Debug)]
pub struct Attempt {
    site: Site,
    /// Set once the outcome is decided (landed or failed); closing the window after that is
    /// not a cancellation.
    finished: AtomicBool,
    renew_visits: AtomicU32,
}

impl Attempt {
    /// Claims the outcome; only the first caller gets `true`.
    fn finish(&self) -> bool {
        !self.finished.swap(true, Ordering::SeqCst)
    }
}

/// Brings the open sign-in window forward when it is for `site` and still going (a second
/// launch, `fpt-login login`), instead of making the person start over; otherwise closes it.
/// Returns whether it was reused.
fn reuse_open_window<R: Runtime>(app: &AppHandle<R>, state: &AppState, site: &Site) -> bool {
    let Some(window) = app.get_webview_window(WEB_SIGN_IN_WINDOW) else {
        return false;
    };
    let current = state.web_attempt.lock().expect("attempt lock").clone();
    if current.is_some_and(|a| a.site == *site && !a.finished.load(Ordering::SeqCst)) {
        let _ = window.show();
        let _ = window.set_focus();
        let message = format!("Sign in to {site} in the window that is open.");
        state.report(app, status("waiting", site, message));
        return true;
    }
    let _ = window.destroy();
    false
}

/// Opens the web sign-in for `site`, replacing one already open for another site.
pub fn open_web_sign_in<R: Runtime>(app: &AppHandle<R>, site: &Site) {
    let state = app.state::<AppState>();
    if let Some(error) = &state.keyring_error {
        state.report(
            app,
            status("failed", site, format!("cannot sign in: {error}")),
        );
        return;
    }
    if reuse_open_window(app, &state, site) {
        return;
    }
    let attempt = Arc::new(Attempt {
        site: site.clone(),
        finished: AtomicBool::new(false),
        renew_visits: AtomicU32::new(0),
    });
    *state.web_attempt.lock().expect("attempt lock") = Some(Arc::clone(&attempt));
    let url = renew_url(site, &state.product, &super::IdentityHints::from_env());
    state.report(
        app,
        status(
            "waiting",
            site,
            format!("Sign in to {site} in the window that opened."),
        ),
    );

    let on_nav = Arc::clone(&attempt);
    let nav_app = app.clone();
    let on_load = Arc::clone(&attempt);
    let mut builder = WebviewWindowBuilder::new(app, WEB_SIGN_IN_WINDOW, WebviewUrl::External(url));
    // The configured proxy (WebKitGTK takes no proxy credentials; the system's own proxy
    // settings apply otherwise).
    match Network::current() {
        Ok(Network {
            proxy: Some(proxy), ..
        }) => builder = builder.proxy_url(proxy.url()),
        Ok(_) => {}
        Err(e) => {
            tracing::warn!(error = %e, "the proxy setting is not usable; signing in without it");
        }
    }
    let built = builder
        .title(format!("Sign in to {site}"))
        .inner_size(820.0, 680.0)
        .data_directory(state.paths.webview_dir(site))
        .on_navigation(move |url| navigation_allowed(&nav_app, &on_nav, url))
        .on_page_load(move |window, payload| {
            if payload.event() == PageLoadEvent::Finished
                && landing::is_landing(&on_load.site, payload.url())
            {
                landed(&window, payload.url(), &on_load);
            }
        })
        // Help and download links open new windows; the sign-in window stays the only one.
        .on_new_window(|url, _| {
            tracing::info!(%url, "refused a new window from the sign-in page");
            NewWindowResponse::Deny
        })
        .build();
    let window = match built {
        Ok(window) => window,
        Err(e) => {
            attempt.finish();
            state.report(
                app,
                status(
                    "failed",
                    site,
                    format!("cannot open the sign-in window: {e}"),
                ),
            );
            return;
        }
    };
    let close_app = app.clone();
    window.on_window_event(move |event| {
        if matches!(event, WindowEvent::Destroyed) && attempt.finish() {
            let state = close_app.state::<AppState>();
            state.report(
                &close_app,
                status(
                    "cancelled",
                    &attempt.site,
                    "Sign-in cancelled: the window was closed before it finished.",
                ),
            );
        }
    });
}

/// Allows a navigation unless it leaves the web (no `file:`, `javascript:` …) or the IdP
/// keeps sending the user back to `/auth/renew`.
fn navigation_allowed<R: Runtime>(app: &AppHandle<R>, attempt: &Arc<Attempt>, url: &Url) -> bool {
    if !matches!(url.scheme(), "https" | "http") {
        tracing::warn!(
            scheme = url.scheme(),
            "blocked a non-web navigation in the sign-in window"
        );
        return false;
    }
    if attempt.site.is_same_origin(url) && url.path() == landing::RENEW_PATH {
        let visits = attempt.renew_visits.fetch_add(1, Ordering::SeqCst) + 1;
        if visits > MAX_RENEW_VISITS && attempt.finish() {
            let message = format!(
                "the sign-in keeps coming back to {} without finishing; check with your studio's IT that your account may use this site",
                url.origin().ascii_serialization() + url.path()
            );
            fail_and_close(app, &attempt.site, &message);
            return false;
        }
    }
    true
}

fn fail_and_close<R: Runtime>(app: &AppHandle<R>, site: &Site, message: &str) {
    let state = app.state::<AppState>();
    state.report(app, status("failed", site, message));
    if let Some(window) = app.get_webview_window(WEB_SIGN_IN_WINDOW) {
        let _ = window.destroy();
    }
}

/// The landing page finished loading: read the cookies once and hand the session over for
/// validation.
fn landed<R: Runtime>(window: &WebviewWindow<R>, url: &Url, attempt: &Arc<Attempt>) {
    if !attempt.finish() {
        return;
    }
    let app = window.app_handle().clone();
    let site = attempt.site.clone();
    let session = window
        .cookies()
        .context("cannot read the sign-in window's cookies")
        .map(|cookies| {
            cookies
                .into_iter()
                .map(|c| Cookie {
                    name: c.name().to_owned(),
                    value: Secret::new(c.value()),
                    domain: c.domain().map_or_else(
                        || url.host_str().unwrap_or_default().to_owned(),
                        str::to_owned,
                    ),
                    http_only: c.http_only().unwrap_or(false),
                })
                .collect::<Vec<_>>()
        })
        .and_then(|cookies| Ok(landing::session_from_cookies(&site, url, &cookies)?));
    let session = match session {
        Ok(session) => session,
        Err(e) => {
            fail_and_close(&app, &site, &format!("{e:#}"));
            return;
        }
    };
    let window = window.clone();
    tauri::async_runtime::spawn(async move {
        let accounts = Arc::clone(&app.state::<AppState>().accounts);
        let login = session.login.clone();
        match validate_and_store(accounts, &site, session).await {
            Ok(()) => {
                let state = app.state::<AppState>();
                state.report(
                    &app,
                    status(
                        "signed_in",
                        &site,
                        format!("Signed in to {site} as {login}."),
                    ),
                );
                let _ = window.destroy();
            }
            Err(e) => fail_and_close(
                &app,
                &site,
                &format!("the sign-in finished but could not be used: {e:#}"),
            ),
        }
    });
}

/// Checks the token with one authenticated call for the login the cookies named, then stores
/// it as the site's current user.
async fn validate_and_store(
    accounts: Arc<Accounts>,
    site: &Site,
    session: WebSession,
) -> anyhow::Result<()> {
    let expiry = Expiry {
        claims_expire_at: session.claims_expire_at,
        session_expires_at: session.session_expires_at,
    };
    let new_session =
        fpt_login_core::session::validate(site, &session.login, session.token, Method::Web, expiry)
            .await?;
    let site = site.clone();
    tauri::async_runtime::spawn_blocking(move || accounts.sign_in(&site, new_session))
        .await
        .context("storing the session stopped unexpectedly")??;
    Ok(())
}
