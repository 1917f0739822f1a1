//! The web sign-in: a remote webview at `<site>/auth/renew` that is watched until it lands on
//! the site's own `/auth/landing`, where the session is read from the cookie store.
//!
//! The webview gets no IPC (it matches no capability), keeps its cookies in a per-site data
//! directory, and its cookies are read once, on the main thread, when the landing page has
//! finished loading: navigation events fire before the landing response has set them, and
//! reading cookies from another thread can deadlock.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use anyhow::Context as _;
use fpt_login_core::landing::{self, Cookie, WebSession};
use fpt_login_core::method::Pick;
use fpt_login_core::model::SignInState;
use fpt_login_core::network::{Network, NetworkError};
use fpt_login_core::paths::Paths;
use fpt_login_core::renewal::{self, CompletionError, Generation, Landing, SilentRenewalError};
use fpt_login_core::signin::{self, Ending, Navigation, NavigationGuard, SiteClient};
use fpt_login_core::{Accounts, Secret, Site};
use tauri::webview::{DownloadEvent, NewWindowResponse, PageLoadEvent};
use tauri::{
    AppHandle, Manager as _, Runtime, WebviewUrl, WebviewWindow, WebviewWindowBuilder, WindowEvent,
};
use url::Url;

use super::{renew_url, status};
use crate::in_flight::Attempt;
use crate::state::AppState;

/// Label of the remote sign-in window. No capability names it.
pub const WEB_SIGN_IN_WINDOW: &str = "web-sign-in";

impl Attempt {
    /// Claims the outcome; only the first caller gets `true`.
    fn finish(&self) -> bool {
        self.ending.claim()
    }
}

/// Brings the open sign-in window forward when it is for `site` and still going (a second
/// launch, `fpt-login login`), instead of making the person start over; otherwise closes it.
/// Returns whether it was reused.
fn reuse_open_window<R: Runtime>(
    app: &AppHandle<R>,
    state: &AppState,
    site: &Site,
    pick: Pick,
) -> bool {
    let Some(window) = app.get_webview_window(WEB_SIGN_IN_WINDOW) else {
        return false;
    };
    let current = state.web_attempt.lock().expect("attempt lock").clone();
    if let Some(attempt) = current.filter(|a| a.site == *site && !a.ending.is_claimed()) {
        let mut picked = attempt.pick.lock().expect("pick lock");
        *picked = picked.joined(pick);
        drop(picked);
        let _ = window.show();
        let _ = window.set_focus();
        let message = format!("Sign in to {site} in the window that is open.");
        state.report(app, status(SignInState::Waiting, site, message));
        return true;
    }
    let _ = window.destroy();
    false
}

/// Opens the web sign-in for `site`, replacing one already open for another site.
pub fn open_web_sign_in<R: Runtime>(app: &AppHandle<R>, site: &Site, pick: Pick) {
    let state = app.state::<AppState>();
    if super::refused_without_keyring(app, &state, site) {
        return;
    }
    if reuse_open_window(app, &state, site, pick) {
        return;
    }
    let attempt = Arc::new(Attempt {
        site: site.clone(),
        ending: Ending::default(),
        navigations: NavigationGuard::new(site),
        pick: std::sync::Mutex::new(pick),
    });
    *state.web_attempt.lock().expect("attempt lock") = Some(Arc::clone(&attempt));
    let url = renew_url(site, &state.product, &super::IdentityHints::from_env());
    state.report(
        app,
        status(
            SignInState::Waiting,
            site,
            format!("Sign in to {site} in the window that opened."),
        ),
    );

    let on_nav = Arc::clone(&attempt);
    let nav_app = app.clone();
    let on_load = Arc::clone(&attempt);
    let builder = match site_webview(app, WEB_SIGN_IN_WINDOW, site) {
        Ok(builder) => builder,
        Err(e) => {
            attempt.finish();
            let message = format!("cannot open the sign-in window: {e}");
            state.report(app, status(SignInState::Failed, site, message));
            return;
        }
    };
    let built = builder
        .title(format!("Sign in to {site}"))
        .inner_size(820.0, 680.0)
        .on_navigation(move |url| navigation_allowed(&nav_app, &on_nav, url))
        .on_page_load(move |window, payload| {
            let is_landing = landing::is_landing(&on_load.site, payload.url());
            // Origins only: paths and queries of an IdP's pages can carry its own secrets.
            tracing::debug!(
                event = ?payload.event(),
                origin = %signin::origin(payload.url()),
                landing = is_landing,
                "sign-in page load"
            );
            if payload.event() == PageLoadEvent::Started {
                // The person sees which host they are typing into.
                let _ = window.set_title(&on_load.navigations.title(payload.url()));
            }
            if payload.event() == PageLoadEvent::Finished && is_landing {
                landed(&window, payload.url(), &on_load);
            }
        })
        .build();
    let window = match built {
        Ok(window) => window,
        Err(e) => {
            attempt.finish();
            state.report(
                app,
                status(
                    SignInState::Failed,
                    site,
                    format!("cannot open the sign-in window: {e}"),
                ),
            );
            return;
        }
    };
    crate::web_engine::load_with_carried_cookies(&window, site, url);
    let close_app = app.clone();
    window.on_window_event(move |event| {
        if matches!(event, WindowEvent::Destroyed) && attempt.finish() {
            let state = close_app.state::<AppState>();
            state.report(
                &close_app,
                status(
                    SignInState::Cancelled,
                    &attempt.site,
                    "Sign-in cancelled: the window was closed before it finished.",
                ),
            );
        }
    });
}

/// A window for `site`'s own web pages: its per-site cookie store (where the IdP session
/// lives, so renewals can pass silently), the configured proxy, no IPC (no capability names
/// these labels), no pop-ups. It starts on the empty page:
/// [`load_with_carried_cookies`](crate::web_engine::load_with_carried_cookies) sends it on.
fn site_webview<'a, R: Runtime>(
    app: &'a AppHandle<R>,
    label: &str,
    site: &Site,
) -> Result<WebviewWindowBuilder<'a, R, AppHandle<R>>, NetworkError> {
    let state = app.state::<AppState>();
    let empty = Url::parse(signin::EMPTY_PAGE).expect("the empty page is a URL");
    let mut builder = WebviewWindowBuilder::new(app, label, WebviewUrl::External(empty))
        .data_directory(state.paths.webview_dir(site))
        // Help and download links open new windows; the sign-in window stays the only one.
        .on_new_window(|url, _| {
            let origin = signin::origin(&url);
            tracing::info!(%origin, "refused a new window from a sign-in page");
            NewWindowResponse::Deny
        })
        // Nothing a sign-in page offers belongs on this machine's disk.
        .on_download(|_, event| {
            if let DownloadEvent::Requested { url, .. } = event {
                let origin = signin::origin(&url);
                tracing::warn!(%origin, "refused a download from a sign-in page");
            }
            false
        });
    // The configured proxy (WebKitGTK takes no proxy credentials; the system's own proxy
    // settings apply otherwise).
    // A proxy setting that cannot be read stops the sign-in: going without it could send the
    // person's password around a proxy the studio requires.
    if let Network {
        proxy: Some(proxy), ..
    } = Network::current()?
    {
        builder = builder.proxy_url(proxy.url());
    }
    Ok(builder)
}

/// Reloads `<site>/auth/renew` in a hidden window with the site's cookie store; when it lands,
/// core's renewal policy checks the new cookies and stores them only as the renewed session
/// of the person being renewed (`renewing`). Gives up after `watchdog`.
pub async fn renew_silently<R: Runtime>(
    app: &AppHandle<R>,
    site: &Site,
    renewing: &Generation,
    watchdog: std::time::Duration,
) -> Result<Landing, SilentRenewalError> {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let label = format!("renew-{}", NEXT.fetch_add(1, Ordering::Relaxed));
    let (tx, rx) = tokio::sync::oneshot::channel();
    let tx = Arc::new(std::sync::Mutex::new(Some(tx)));
    let (opener, open_label, open_site) = (app.clone(), label.clone(), site.clone());
    let url = renew_url(
        site,
        &app.state::<AppState>().product,
        &super::IdentityHints::from_env(),
    );
    app.run_on_main_thread(move || {
        let load_site = open_site.clone();
        let guard = NavigationGuard::new(&open_site);
        let builder = match site_webview(&opener, &open_label, &open_site) {
            Ok(builder) => builder,
            Err(e) => {
                if let Some(tx) = tx.lock().expect("renewal channel lock").take() {
                    let _ = tx.send(Err(e.into()));
                }
                return;
            }
        };
        let built = builder
            .title("FPT Login renewal")
            .visible(false)
            .focused(false)
            .skip_taskbar(true)
            .on_navigation(move |url| match guard.check(url) {
                Navigation::Allow => true,
                Navigation::Refuse(why) | Navigation::Looping(why) => {
                    tracing::warn!("the hidden renewal did not follow {why}");
                    false
                }
            })
            .on_page_load(move |window, payload| {
                if payload.event() != PageLoadEvent::Finished
                    || !landing::is_landing(&load_site, payload.url())
                {
                    return;
                }
                // Taken before the cookies are read: reading runs the main loop, which can call
                // this again.
                let sender = tx.lock().expect("renewal channel lock").take();
                if let Some(tx) = sender {
                    let landed = read_session(&window, &load_site, payload.url()).map(|session| {
                        let carry = crate::web_engine::carry_session_cookies(&window, &load_site);
                        (session, carry)
                    });
                    let _ = tx.send(landed);
                }
            })
            .build();
        match built {
            Ok(window) => crate::web_engine::load_with_carried_cookies(&window, &open_site, url),
            Err(e) => tracing::error!(error = %e, "cannot open the hidden renewal window"),
        }
    })
    .map_err(|e| SilentRenewalError::Page(format!("{e:#}")))?;
    let outcome = tokio::time::timeout(watchdog, rx).await;
    let closer = app.clone();
    let _ = app.run_on_main_thread(move || {
        if let Some(window) = closer.get_webview_window(&label) {
            let _ = window.destroy();
        }
    });
    let session = match outcome {
        Err(_) => return Err(SilentRenewalError::Watchdog(watchdog.as_secs())),
        Ok(Err(_)) => {
            return Err(SilentRenewalError::Page(
                "the hidden renewal window closed before it finished".to_owned(),
            ));
        }
        Ok(Ok(landed)) => landed.map_err(|e| SilentRenewalError::Page(format!("{e:#}")))?,
    };
    let (session, carry) = session;
    let accounts = Arc::clone(&app.state::<AppState>().accounts);
    let api = SiteClient::new(site).map_err(|e| CompletionError::Check {
        site: site.clone(),
        login: renewing.login.clone(),
        source: e.into(),
    })?;
    let landing = renewal::complete(accounts, &api, renewing, session).await?;
    // Only the stored person's session goes on to the next window.
    if matches!(landing, Landing::Renewed { .. } | Landing::NotExtended) {
        carry.keep(app).await;
    }
    Ok(landing)
}

/// Removes `site`'s web sign-in data folder (the IdP and site cookies), so the next sign-in
/// starts clean.
pub fn remove_site_data(paths: &Paths, site: &Site) {
    let dir = paths.webview_dir(site);
    match std::fs::remove_dir_all(&dir) {
        Ok(()) => tracing::debug!(dir = %dir.display(), "removed the site's web data"),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            tracing::warn!(dir = %dir.display(), error = %e, "cannot remove the site's web data");
        }
    }
}

/// The sites someone signed out of whose web data is still here; none when that cannot be
/// told (said in the log).
fn sites_with_stale_data(accounts: &Accounts) -> Vec<Site> {
    accounts.sites_with_stale_web_data().unwrap_or_else(|e| {
        tracing::warn!(error = %e, "cannot tell which sites' web data to clear");
        Vec::new()
    })
}

/// Removes `site`'s web data folder and records that it is gone.
fn clear_site_folder(paths: &Paths, accounts: &Accounts, site: &Site) {
    remove_site_data(paths, site);
    if let Err(e) = accounts.web_data_cleared(site) {
        tracing::warn!(%site, error = %e, "cannot record that the site's web data is gone");
    }
}

/// At start-up: the web data of sites someone signed out of while the app was not running
/// (with the CLI) goes too.
pub fn remove_stale_site_data(paths: &Paths, accounts: &Accounts) {
    for site in sites_with_stale_data(accounts) {
        clear_site_folder(paths, accounts, &site);
    }
}

/// Forgets everything `site`'s web sign-in kept: the folder, and what the WebKit context
/// holds in memory. Call on the main thread.
pub fn forget_site_data<R: Runtime>(app: &AppHandle<R>, site: &Site) {
    let state = app.state::<AppState>();
    clear_site_folder(&state.paths, &state.accounts, site);
    app.state::<crate::web_engine::WebEngine>()
        .session_cookies
        .forget(site);
    let label = "forget-site-data";
    let builder = match site_webview(app, label, site) {
        Ok(builder) => builder,
        Err(e) => {
            tracing::warn!(%site, error = %e, "cannot clear the site's web data in memory");
            return;
        }
    };
    match builder.visible(false).build() {
        Ok(window) => {
            if let Err(e) = window.clear_all_browsing_data() {
                tracing::warn!(%site, error = %e, "cannot clear the site's web data");
            }
            let _ = window.destroy();
        }
        Err(e) => tracing::warn!(%site, error = %e, "cannot clear the site's web data"),
    }
}

/// Forgets what the web sign-ins of every site signed out of kept (for sign-outs whose event
/// was missed). Call on the main thread.
pub fn forget_stale_site_data<R: Runtime>(app: &AppHandle<R>) {
    for site in sites_with_stale_data(&app.state::<AppState>().accounts) {
        forget_site_data(app, &site);
    }
}

/// Follows a navigation only when core's guard allows it; a loop ends the sign-in.
fn navigation_allowed<R: Runtime>(app: &AppHandle<R>, attempt: &Arc<Attempt>, url: &Url) -> bool {
    match attempt.navigations.check(url) {
        Navigation::Allow => true,
        Navigation::Refuse(why) => {
            tracing::warn!("the sign-in window did not follow {why}");
            false
        }
        Navigation::Looping(message) => {
            if attempt.finish() {
                fail_and_close(app, &attempt.site, &message);
            }
            false
        }
    }
}

fn fail_and_close<R: Runtime>(app: &AppHandle<R>, site: &Site, message: &str) {
    let state = app.state::<AppState>();
    state.report(app, status(SignInState::Failed, site, message));
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
    let pick = *attempt.pick.lock().expect("pick lock");
    let session = match read_session(window, &site, url) {
        Ok(session) => session,
        Err(e) => {
            fail_and_close(&app, &site, &format!("{e:#}"));
            return;
        }
    };
    let carry = crate::web_engine::carry_session_cookies(window, &site);
    let window = window.clone();
    tauri::async_runtime::spawn(async move {
        let accounts = Arc::clone(&app.state::<AppState>().accounts);
        let login = session.login.clone();
        match store_web_sign_in(accounts, &site, session, pick).await {
            Ok(()) => {
                carry.keep(&app).await;
                let state = app.state::<AppState>();
                state.report(
                    &app,
                    status(
                        SignInState::SignedIn,
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

/// The session the cookie store holds once `url` (the landing page) has loaded. Call on the
/// main thread.
fn read_session<R: Runtime>(
    window: &WebviewWindow<R>,
    site: &Site,
    url: &Url,
) -> anyhow::Result<WebSession> {
    let cookies = window
        .cookies()
        .context("cannot read the sign-in window's cookies")?
        .into_iter()
        .map(|c| Cookie {
            name: c.name().to_owned(),
            value: Secret::new(c.value()),
            domain: c.domain().map(str::to_owned),
            path: c.path().map(str::to_owned),
            http_only: c.http_only().unwrap_or(false),
            secure: c.secure().unwrap_or(false),
        })
        .collect::<Vec<_>>();
    Ok(landing::session_from_cookies(site, url, &cookies)?)
}

/// Checks the token of a finished web sign-in (core's flow) and stores it as the site's
/// current user, making the site the default.
async fn store_web_sign_in(
    accounts: Arc<Accounts>,
    site: &Site,
    session: WebSession,
    pick: Pick,
) -> anyhow::Result<()> {
    let api = SiteClient::new(site)?;
    let new_session = signin::complete_web_sign_in(&api, session).await?;
    let site = site.clone();
    tauri::async_runtime::spawn_blocking(move || accounts.sign_in(&site, &new_session, pick))
        .await
        .context("storing the session stopped unexpectedly")??;
    Ok(())
}
