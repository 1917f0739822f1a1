//! The desktop side of core's `web_engine`: a landed window's session cookies are read into
//! core's [`SessionCookies`], the next window for the site gets them before it loads anything
//! when the engine that held them has ended, and WebKit's helper processes end once no window
//! has been open for a while (core's [`HelperIdle`] decides when).

use std::sync::Mutex;
use std::time::{Duration, Instant};

use fpt_login_core::Site;
use fpt_login_core::web_engine::{
    EngineCookie, HELPER_GRACE, HelperIdle, Landed, MAX_PLACES_READ, SessionCookies,
};
use tauri::{AppHandle, Manager as _, Runtime, WebviewWindow};
use url::Url;

/// What the app keeps for the web engine (managed Tauri state).
#[derive(Debug)]
pub struct WebEngine {
    pub session_cookies: SessionCookies,
    idle: Mutex<HelperIdle>,
}

impl WebEngine {
    /// For this run of the app; whether automation drives it is read as Tauri's runtime reads
    /// it (WebKitWebDriver starts the app with `TAURI_WEBVIEW_AUTOMATION=true`).
    pub fn for_this_run() -> Self {
        let driven_by_automation =
            std::env::var("TAURI_WEBVIEW_AUTOMATION").as_deref() == Ok("true");
        if driven_by_automation {
            tracing::info!(
                "driven by automation: the web engine's helpers are kept while no window is open"
            );
        }
        Self {
            session_cookies: SessionCookies::default(),
            idle: Mutex::new(HelperIdle::new(HELPER_GRACE, driven_by_automation)),
        }
    }

    fn idle(&self) -> std::sync::MutexGuard<'_, HelperIdle> {
        self.idle.lock().expect("helper idle lock")
    }
}

/// Loads `url` in `window` (built on the empty page) once the session cookies it needs are in
/// its cookie store: a load started first could reach the site or the IdP without them.
pub fn load_with_carried_cookies<R: Runtime>(window: &WebviewWindow<R>, site: &Site, url: Url) {
    let put = window.state::<WebEngine>().session_cookies.to_put(site);
    if put.is_empty() {
        navigate(window, &url);
        return;
    }
    let loader = window.clone();
    let app = window.app_handle().clone();
    let fallback = url.clone();
    let put = window.with_webview(move |webview| {
        imp::put_cookies(&webview, app, put, move || navigate(&loader, &url));
    });
    if let Err(e) = put {
        tracing::warn!(error = %e, "cannot reach the window's cookie store");
        navigate(window, &fallback);
    }
}

fn navigate<R: Runtime>(window: &WebviewWindow<R>, url: &Url) {
    if let Err(e) = window.navigate(url.clone()) {
        tracing::warn!(error = %e, "cannot load the sign-in page");
    }
}

/// The session cookies of a window that landed, on their way to core's carry-over once the
/// landed session is stored ([`Carry::keep`]).
pub struct Carry {
    site: Site,
    landed: Landed,
    /// `None` when they could not all be read: what was kept before stays.
    cookies: tokio::sync::oneshot::Receiver<Option<Vec<EngineCookie>>>,
}

impl Carry {
    /// Keeps the cookies for the next window of the site, unless the site was signed out of
    /// since the window landed. Call once the landed session was stored.
    pub async fn keep<R: Runtime>(self, app: &AppHandle<R>) {
        let engine = app.state::<WebEngine>();
        let Ok(Some(cookies)) = self.cookies.await else {
            // What was kept is an older session's: it must not reach the next window.
            engine.session_cookies.read_failed(&self.site, self.landed);
            return;
        };
        let Some(kept) = engine
            .session_cookies
            .keep(&self.site, self.landed, cookies)
        else {
            tracing::debug!(site = %self.site, "signed out since the window landed: nothing carried");
            return;
        };
        tracing::debug!(
            site = %self.site,
            kept = kept.kept,
            refused = kept.refused,
            "carried the session cookies"
        );
    }
}

/// Ends the read that keeps the helpers alive however the read ends, even when its closure
/// is dropped unrun (the window went away first).
struct Reading<R: Runtime>(AppHandle<R>);

impl<R: Runtime> Drop for Reading<R> {
    fn drop(&mut self) {
        let at = self.0.state::<WebEngine>().idle().read_done(Instant::now());
        end_helpers_when_idle(&self.0, at);
    }
}

/// Reads the session cookies of `site`'s window, which has landed, while the helper that
/// holds them still runs. Call on the main thread, holding no lock a page callback takes: the
/// cookie list runs the main loop.
pub fn carry_session_cookies<R: Runtime>(window: &WebviewWindow<R>, site: &Site) -> Carry {
    let engine = window.state::<WebEngine>();
    let (tx, cookies) = tokio::sync::oneshot::channel();
    let carry = Carry {
        site: site.clone(),
        landed: engine.session_cookies.landed(site),
        cookies,
    };
    if !imp::CARRIES {
        return carry;
    }
    // Which hosts and paths hold session cookies; wry lists them all but drops the leading
    // dot that marks a domain cookie, so each is read again from the engine with it.
    let listed = match window.cookies() {
        Ok(listed) => listed,
        Err(e) => {
            tracing::warn!(error = %e, "cannot list the sign-in window's cookies");
            return carry;
        }
    };
    let mut places: Vec<String> = listed
        .iter()
        .filter(|c| c.expires().is_none_or(|e| e.is_session()))
        .filter_map(|c| {
            let host = c.domain()?.trim_start_matches('.');
            let path = c.path().unwrap_or("/");
            // A plain cookie is given to https too, so one scheme finds both kinds.
            Some(format!("https://{host}{path}"))
        })
        .collect();
    // The site's own places first: a page that sets cookies in many places must not push out
    // `_session_id`'s.
    let own = format!("https://{}", site.host());
    places.sort_unstable_by_key(|place| (!place.starts_with(&own), place.clone()));
    places.dedup();
    if places.len() > MAX_PLACES_READ {
        tracing::warn!(
            places = places.len(),
            "the sign-in pages set cookies in too many places: only some are carried"
        );
        places.truncate(MAX_PLACES_READ);
    }
    engine.idle().reading();
    let reading = Reading(window.app_handle().clone());
    let read = window.with_webview(move |webview| {
        imp::read_cookies(&webview, places, move |cookies| {
            let _ = tx.send(cookies);
            drop(reading);
        });
    });
    if let Err(e) = read {
        tracing::warn!(error = %e, "cannot reach the window's cookie store");
    }
    carry
}

/// A window closed: the helpers end at the grace's end if no window is open then.
pub fn window_closed<R: Runtime>(app: &AppHandle<R>) {
    let at = app
        .state::<WebEngine>()
        .idle()
        .window_closed(Instant::now());
    end_helpers_when_idle(app, at);
}

fn end_helpers_when_idle<R: Runtime>(app: &AppHandle<R>, at: Instant) {
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        tokio::time::sleep_until(at.into()).await;
        let checker = app.clone();
        // On the main thread, where windows are made: none can appear between the check and
        // the helpers' end.
        let _ = app.run_on_main_thread(move || {
            let open = checker.webview_windows().len();
            let engine = checker.state::<WebEngine>();
            if !engine.idle().may_end(open, Instant::now()) {
                return;
            }
            if imp::end_helpers() {
                engine.session_cookies.helpers_ended();
            }
        });
    });
}

/// How long the main thread waits for an ended helper to be gone, so that the next window
/// starts a new one instead of talking to the one ending.
const HELPER_EXIT_WAIT: Duration = Duration::from_secs(2);

#[cfg(target_os = "linux")]
mod imp {
    use std::time::Duration;

    use fpt_login_core::Secret;
    use fpt_login_core::platform::process;
    use fpt_login_core::web_engine::{Added, EngineCookie, MAX_COOKIES_READ, SameSite, ToPut};
    use tauri::webview::PlatformWebview;
    use tauri::{AppHandle, Manager as _, Runtime};
    use webkit2gtk::glib;
    use webkit2gtk::{CookieManagerExt as _, WebViewExt as _, WebsiteDataManagerExt as _};

    use super::WebEngine;

    /// Whether landed windows' cookies are read for carrying.
    pub const CARRIES: bool = true;

    /// The program names WebKitGTK gives its helpers (`WebKitNetworkProcess`,
    /// `WebKitWebProcess`).
    const HELPER_PREFIX: &str = "WebKit";

    /// A cookie store that does not answer in this long is given up on.
    const READ_TIMEOUT: Duration = Duration::from_secs(5);

    /// Ends the helpers and waits for them to be gone; whether any was ended.
    pub fn end_helpers() -> bool {
        match process::end_children(HELPER_PREFIX) {
            Ok(ended) if ended.is_empty() => false,
            Ok(ended) => {
                let names: Vec<&str> = ended.iter().map(|e| e.name.as_str()).collect();
                let gone = ended.iter().all(|e| e.wait(super::HELPER_EXIT_WAIT));
                tracing::info!(
                    ?names,
                    gone,
                    "no window open: ended the web engine's helpers"
                );
                true
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot end the web engine's helpers");
                false
            }
        }
    }

    fn cookie_manager(webview: &PlatformWebview) -> Option<webkit2gtk::CookieManager> {
        webview.inner().website_data_manager()?.cookie_manager()
    }

    /// Puts `put`'s cookies into the webview's store (core stops at a sign-out of the site),
    /// then runs `then`.
    pub fn put_cookies<R: Runtime>(
        webview: &PlatformWebview,
        app: AppHandle<R>,
        put: ToPut,
        then: impl FnOnce() + 'static,
    ) {
        let Some(manager) = cookie_manager(webview) else {
            then();
            return;
        };
        glib::MainContext::default().spawn_local(async move {
            let engine = app.state::<WebEngine>();
            let put = engine
                .session_cookies
                .put_each(put, |cookie| {
                    let manager = manager.clone();
                    async move {
                        let mut soup_cookie = to_soup(&cookie);
                        let added = glib::future_with_timeout(
                            READ_TIMEOUT,
                            manager.add_cookie_future(&mut soup_cookie),
                        )
                        .await;
                        match added {
                            Ok(Ok(())) => Added::Yes,
                            Ok(Err(_)) => Added::Refused,
                            Err(_) => Added::NoAnswer,
                        }
                    }
                })
                .await;
            if put.failed > 0 {
                tracing::warn!(
                    failed = put.failed,
                    "the window did not take carried cookies"
                );
            }
            if put.signed_out {
                tracing::info!(
                    "signed out while the carried cookies went in: the rest were left out"
                );
            }
            then();
        });
    }

    pub fn read_cookies(
        webview: &PlatformWebview,
        places: Vec<String>,
        then: impl FnOnce(Option<Vec<EngineCookie>>) + 'static,
    ) {
        let Some(manager) = cookie_manager(webview) else {
            then(None);
            return;
        };
        glib::MainContext::default().spawn_local(async move {
            let mut found = Vec::new();
            for place in &places {
                let read =
                    glib::future_with_timeout(READ_TIMEOUT, manager.cookies_future(place)).await;
                let Ok(Ok(cookies)) = read else {
                    tracing::warn!("cannot read the window's cookies: nothing new is carried");
                    then(None);
                    return;
                };
                found.extend(cookies.into_iter().filter_map(from_soup));
                if found.len() >= MAX_COOKIES_READ {
                    break;
                }
            }
            then(Some(found));
        });
    }

    fn from_soup(mut cookie: soup::Cookie) -> Option<EngineCookie> {
        Some(EngineCookie {
            name: cookie.name()?.to_string(),
            value: Secret::new(cookie.value()?.as_str()),
            domain: cookie.domain()?.to_string(),
            path: cookie.path()?.to_string(),
            secure: cookie.is_secure(),
            http_only: cookie.is_http_only(),
            same_site: match cookie.same_site_policy() {
                soup::SameSitePolicy::Strict => SameSite::Strict,
                soup::SameSitePolicy::Lax => SameSite::Lax,
                _ => SameSite::None,
            },
            persistent: cookie.expires().is_some(),
        })
    }

    fn to_soup(cookie: &EngineCookie) -> soup::Cookie {
        // A max-age of -1: a session cookie, as it was.
        let mut soup_cookie = soup::Cookie::new(
            &cookie.name,
            cookie.value.expose(),
            &cookie.domain,
            &cookie.path,
            -1,
        );
        soup_cookie.set_secure(cookie.secure);
        soup_cookie.set_http_only(cookie.http_only);
        soup_cookie.set_same_site_policy(match cookie.same_site {
            SameSite::Strict => soup::SameSitePolicy::Strict,
            SameSite::Lax => soup::SameSitePolicy::Lax,
            SameSite::None => soup::SameSitePolicy::None,
        });
        soup_cookie
    }
}

/// Elsewhere the engine's helpers and session cookies are left to it.
#[cfg(not(target_os = "linux"))]
mod imp {
    use fpt_login_core::web_engine::{EngineCookie, ToPut};
    use tauri::webview::PlatformWebview;
    use tauri::{AppHandle, Runtime};

    pub const CARRIES: bool = false;

    pub fn end_helpers() -> bool {
        let _ = super::HELPER_EXIT_WAIT;
        false
    }

    pub fn put_cookies<R: Runtime>(
        _: &PlatformWebview,
        _: AppHandle<R>,
        _: ToPut,
        then: impl FnOnce() + 'static,
    ) {
        then();
    }

    pub fn read_cookies(
        _: &PlatformWebview,
        _: Vec<String>,
        then: impl FnOnce(Option<Vec<EngineCookie>>) + 'static,
    ) {
        then(None);
    }
}
