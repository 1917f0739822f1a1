//! What the desktop app keeps for its web engine between windows, and when the engine's helper
//! processes may end.
//!
//! WebKit runs the network side of every webview in a helper process (`WebKitNetworkProcess`)
//! that stays alive after the last window closes and holds 30–40 MiB for nothing, with no API to
//! end it. The app ends it once no window has been open for [`HELPER_GRACE`] ([`HelperIdle`]),
//! and WebKit starts a new one with the next window. What that process held in memory only — the
//! session cookies (no expiry) of the sign-in pages: the site's `_session_id`, and most identity
//! providers' own session — would be lost with it, turning every silent renewal into a new
//! session or a prompt. So those cookies are carried here ([`SessionCookies`]): taken from the
//! window that landed, handed to the next window for the same site before it loads anything,
//! in memory only (never on disk), and gone with the site's sign-out. Cookies with an expiry
//! live in the engine's own per-site store and are left to it.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::{Secret, Site};

/// How long the app waits after the last window closed before it ends the engine's helpers:
/// a sign-in that closes one window and opens the next, or a renewal right after a sign-in,
/// keeps the running helper.
pub const HELPER_GRACE: Duration = Duration::from_secs(5);

/// Browsers keep at most 4096 bytes of name and value per cookie (RFC 6265 §6.1); a larger one
/// did not come from a page the engine accepted it from.
const MAX_COOKIE_BYTES: usize = 4096;
/// At most this many cookies, and bytes of them, per site: a sign-in sets a handful; an IdP
/// that sets thousands is not carried further than this.
const MAX_COOKIES_PER_SITE: usize = 200;
const MAX_BYTES_PER_SITE: usize = 256 * 1024;
/// At most this many places (host and path) are asked for their cookies when a window lands,
/// and at most this many cookies read: a page that sets thousands of cookies on as many paths
/// must not keep the app's main thread busy.
pub const MAX_PLACES_READ: usize = 64;
pub const MAX_COOKIES_READ: usize = 4 * MAX_COOKIES_PER_SITE;

/// The `SameSite` attribute of a cookie, as the engine keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SameSite {
    None,
    Lax,
    Strict,
}

/// A cookie as the engine's cookie manager gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineCookie {
    pub name: String,
    pub value: Secret,
    /// As the engine keeps it: a leading dot marks a domain cookie, a bare host a host-only one
    /// (the distinction is kept: a host-only cookie must not become a domain cookie).
    pub domain: String,
    pub path: String,
    pub secure: bool,
    pub http_only: bool,
    pub same_site: SameSite,
    /// Whether it has an expiry (lives in the engine's store on disk) or ends with the engine.
    pub persistent: bool,
}

impl EngineCookie {
    fn bytes(&self) -> usize {
        self.name
            .len()
            .saturating_add(self.value.expose().len())
            .saturating_add(self.domain.len())
            .saturating_add(self.path.len())
    }

    fn is_sane(&self) -> bool {
        !self.name.is_empty()
            && !self.domain.trim_start_matches('.').is_empty()
            && self.path.starts_with('/')
            && self.name.len().saturating_add(self.value.expose().len()) <= MAX_COOKIE_BYTES
    }
}

/// What [`SessionCookies::keep`] kept of what it was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Kept {
    pub kept: usize,
    /// Session cookies left out: malformed, too large, or over the site's limits.
    pub refused: usize,
}

/// The session cookies of each site's last landed web sign-in or renewal, in memory.
#[derive(Debug, Default)]
pub struct SessionCookies {
    sites: Mutex<Sites>,
}

#[derive(Debug, Default)]
struct Sites {
    kept: HashMap<Site, Carried>,
    /// How many times each site was signed out of: cookies read before a sign-out are not
    /// kept after it.
    sign_outs: HashMap<Site, u64>,
    /// How many times the engine's helpers were ended: its network process holds the kept
    /// cookies until then.
    engine: u64,
    /// How many windows of each site landed: what a later landing kept is never replaced by
    /// what an earlier one read (a renewal of one person finishing after another's sign-in).
    landings: HashMap<Site, u64>,
}

#[derive(Debug)]
struct Carried {
    cookies: Vec<EngineCookie>,
    /// The landing they were read at.
    landing: u64,
    /// The engine that holds them (the one they were read from, or put into).
    engine: u64,
}

/// The cookies [`SessionCookies::to_put`] handed out for a new window of a site.
#[derive(Debug)]
pub struct ToPut {
    site: Site,
    /// The engine running when they were handed out, which will hold them.
    engine: u64,
    /// The landing they were kept at: a later landing's cookies kept meanwhile are not these.
    landing: u64,
    /// The site's sign-outs when they were handed out.
    sign_outs: u64,
    cookies: Vec<EngineCookie>,
}

impl ToPut {
    pub fn is_empty(&self) -> bool {
        self.cookies.is_empty()
    }
}

/// What a cookie store did with one cookie [`SessionCookies::put_each`] gave it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Added {
    Yes,
    Refused,
    /// No answer in time: the store is stuck, and each of the rest would wait as long.
    NoAnswer,
}

/// What [`SessionCookies::put_each`] put in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Put {
    pub added: usize,
    /// Cookies the store did not take, or that were left out once it stopped answering.
    pub failed: usize,
    /// The site was signed out of while they were being put: the rest were left out.
    pub signed_out: bool,
}

/// Taken when a window lands, before its session is checked and stored; see
/// [`SessionCookies::keep`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Landed {
    sign_outs: u64,
    /// The engine that held the cookies when the window landed.
    engine: u64,
    landing: u64,
}

impl SessionCookies {
    /// Marks the moment `site`'s window landed.
    pub fn landed(&self, site: &Site) -> Landed {
        let mut sites = self.sites.lock().expect("session cookies lock");
        let landing = sites.landings.entry(site.clone()).or_default();
        *landing = landing.wrapping_add(1);
        let landing = *landing;
        Landed {
            sign_outs: sites.sign_outs.get(site).copied().unwrap_or(0),
            engine: sites.engine,
            landing,
        }
    }

    /// Whether what `landed` read may still be kept: no sign-out of the site since, and
    /// nothing kept from a later landing.
    fn may_keep(sites: &Sites, site: &Site, landed: Landed) -> bool {
        sites.sign_outs.get(site).copied().unwrap_or(0) == landed.sign_outs
            && sites
                .kept
                .get(site)
                .is_none_or(|kept| kept.landing < landed.landing)
    }

    /// The cookies of the window that `landed` could not be read, though its session was
    /// stored: what was kept before belongs to an older session (maybe someone else's) and
    /// goes, unless a later landing replaced it already.
    pub fn read_failed(&self, site: &Site, landed: Landed) {
        let mut sites = self.sites.lock().expect("session cookies lock");
        if Self::may_keep(&sites, site, landed) {
            sites.kept.remove(site);
        }
    }

    /// Keeps the session cookies among `cookies` (read from `site`'s window when it `landed`)
    /// as what the next window for `site` starts with, replacing what was kept before. Call it
    /// once the landed session was stored: cookies of a session that was refused (someone
    /// else, a stale renewal) are not carried. Nothing is kept when the site was signed out of
    /// since it landed (`None`): a renewal finishing after a sign-out must not bring the
    /// signed-out session back to the next sign-in. Nor when what a later landing of the site
    /// read was kept already: the last to land wins, not the last to finish checking. A cookie
    /// set twice for the same name, domain and path is kept once, the later one.
    pub fn keep(
        &self,
        site: &Site,
        landed: Landed,
        cookies: impl IntoIterator<Item = EngineCookie>,
    ) -> Option<Kept> {
        let mut outcome = Kept::default();
        let mut carried: Vec<EngineCookie> = Vec::new();
        let mut slots: HashMap<(String, String, String), usize> = HashMap::new();
        for cookie in cookies
            .into_iter()
            .take(MAX_COOKIES_READ)
            .filter(|c| !c.persistent)
        {
            if !cookie.is_sane() {
                outcome.refused = outcome.refused.saturating_add(1);
                continue;
            }
            let slot = (
                cookie.name.clone(),
                cookie.domain.clone(),
                cookie.path.clone(),
            );
            if let Some(earlier) = slots.get(&slot).and_then(|&at| carried.get_mut(at)) {
                *earlier = cookie;
            } else {
                slots.insert(slot, carried.len());
                carried.push(cookie);
            }
        }
        let mut bytes = 0usize;
        let mut within = Vec::with_capacity(carried.len().min(MAX_COOKIES_PER_SITE));
        for cookie in carried {
            let total = bytes.saturating_add(cookie.bytes());
            if within.len() >= MAX_COOKIES_PER_SITE || total > MAX_BYTES_PER_SITE {
                outcome.refused = outcome.refused.saturating_add(1);
                continue;
            }
            bytes = total;
            within.push(cookie);
        }
        outcome.kept = within.len();
        let mut sites = self.sites.lock().expect("session cookies lock");
        if !Self::may_keep(&sites, site, landed) {
            return None;
        }
        sites.kept.insert(
            site.clone(),
            Carried {
                cookies: within,
                engine: landed.engine,
                landing: landed.landing,
            },
        );
        Some(outcome)
    }

    /// The session cookies a new window for `site` must be given: those kept, when the engine
    /// that held them has ended since. A running engine has them already, maybe newer (an IdP
    /// that rotated its session), and putting the kept ones back would roll them back. Put them
    /// in with [`SessionCookies::put_each`]: from then on they count as held by the running
    /// engine. A window that goes away before it puts them leaves them to the next.
    pub fn to_put(&self, site: &Site) -> ToPut {
        let sites = self.sites.lock().expect("session cookies lock");
        let engine = sites.engine;
        let sign_outs = sites.sign_outs.get(site).copied().unwrap_or(0);
        let (cookies, landing) = match sites.kept.get(site) {
            Some(carried) if carried.engine != engine => (carried.cookies.clone(), carried.landing),
            _ => (Vec::new(), 0),
        };
        ToPut {
            site: site.clone(),
            engine,
            landing,
            sign_outs,
            cookies,
        }
    }

    /// Puts `put`'s cookies into a window's store one at a time with `add`, and stops at a
    /// sign-out of the site: the engine's puts are asynchronous, so a sign-out can clear the
    /// site's web data between two of them, and the rest would then bring the signed-out
    /// session back to the next sign-in, which would pass the IdP without its form. A put
    /// already under way when the sign-out came is in the store before the sign-out's clear,
    /// which removes it. It also stops once the store gives no answer: the window waits for
    /// the puts before it loads, and would otherwise wait that long for every cookie.
    pub async fn put_each<F, Fut>(&self, put: ToPut, mut add: F) -> Put
    where
        F: FnMut(EngineCookie) -> Fut,
        Fut: std::future::Future<Output = Added>,
    {
        let mut outcome = Put::default();
        let mut cookies = put.cookies.into_iter();
        while let Some(cookie) = cookies.next() {
            if self.signed_out_since(&put.site, put.sign_outs) {
                outcome.signed_out = true;
                break;
            }
            match add(cookie).await {
                Added::Yes => {
                    // From the first one in, the engine has them: its next window is not given
                    // them again.
                    if outcome.added == 0 {
                        self.held_by(&put.site, put.engine, put.landing);
                    }
                    outcome.added = outcome.added.saturating_add(1);
                }
                Added::Refused => outcome.failed = outcome.failed.saturating_add(1),
                Added::NoAnswer => {
                    outcome.failed = outcome
                        .failed
                        .saturating_add(1)
                        .saturating_add(cookies.len());
                    break;
                }
            }
        }
        outcome
    }

    /// The cookies `site` kept at `landing` are in `engine` now (or going in): the next window
    /// of that engine is not given them again. A later landing's, kept meanwhile, are not in it.
    fn held_by(&self, site: &Site, engine: u64, landing: u64) {
        let mut sites = self.sites.lock().expect("session cookies lock");
        if let Some(carried) = sites.kept.get_mut(site)
            && carried.landing == landing
        {
            carried.engine = engine;
        }
    }

    fn signed_out_since(&self, site: &Site, sign_outs: u64) -> bool {
        let sites = self.sites.lock().expect("session cookies lock");
        sites.sign_outs.get(site).copied().unwrap_or(0) != sign_outs
    }

    /// The engine's helpers ended: what they held is gone.
    pub fn helpers_ended(&self) {
        let mut sites = self.sites.lock().expect("session cookies lock");
        sites.engine = sites.engine.wrapping_add(1);
    }

    /// Drops what was kept for `site` (its sign-out: the next sign-in starts clean).
    pub fn forget(&self, site: &Site) {
        let mut sites = self.sites.lock().expect("session cookies lock");
        sites.kept.remove(site);
        let sign_outs = sites.sign_outs.entry(site.clone()).or_default();
        *sign_outs = sign_outs.wrapping_add(1);
    }
}

/// When the web engine's helper processes may end: no window open, none closed in the last
/// [`HELPER_GRACE`], and no window's cookies still being read; never while the app is driven
/// by automation.
#[derive(Debug)]
pub struct HelperIdle {
    grace: Duration,
    last_closed: Option<Instant>,
    reading: usize,
    /// A WebDriver session drives the app: the driver ends its session when the engine's
    /// network process goes away (it takes it for a crash), so ending the helpers would end
    /// the session driving the app.
    driven_by_automation: bool,
}

impl HelperIdle {
    pub fn new(grace: Duration, driven_by_automation: bool) -> Self {
        Self {
            grace,
            last_closed: None,
            reading: 0,
            driven_by_automation,
        }
    }

    /// A window closed at `now`; returns when to ask [`Self::may_end`] again.
    pub fn window_closed(&mut self, now: Instant) -> Instant {
        self.last_closed = Some(now);
        now.checked_add(self.grace).unwrap_or(now)
    }

    /// A window's cookies are being read for [`SessionCookies`]: the helper holding them must
    /// not end before [`Self::read_done`].
    pub fn reading(&mut self) {
        self.reading = self.reading.saturating_add(1);
    }

    pub fn read_done(&mut self, now: Instant) -> Instant {
        self.reading = self.reading.saturating_sub(1);
        self.window_closed(now)
    }

    /// Whether the helpers may end at `now` with `windows_open` windows.
    pub fn may_end(&self, windows_open: usize, now: Instant) -> bool {
        !self.driven_by_automation
            && windows_open == 0
            && self.reading == 0
            && self
                .last_closed
                .is_some_and(|closed| now.saturating_duration_since(closed) >= self.grace)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site() -> Site {
        "https://studio.example.com".parse().expect("a site")
    }

    impl SessionCookies {
        /// What a window opened after the engine ended would be given.
        fn for_site(&self, site: &Site) -> Vec<EngineCookie> {
            self.helpers_ended();
            self.to_put(site).cookies
        }
    }

    fn cookie(name: &str, value: &str, persistent: bool) -> EngineCookie {
        EngineCookie {
            name: name.to_owned(),
            value: Secret::new(value),
            domain: ".idp.example.com".to_owned(),
            path: "/".to_owned(),
            secure: true,
            http_only: true,
            same_site: SameSite::Lax,
            persistent,
        }
    }

    #[test]
    fn only_session_cookies_are_carried_and_the_latest_landing_replaces_the_last() {
        let jar = SessionCookies::default();
        let kept = jar.keep(
            &site(),
            jar.landed(&site()),
            [cookie("sid", "a", false), cookie("remember", "b", true)],
        );
        assert_eq!(
            kept,
            Some(Kept {
                kept: 1,
                refused: 0
            })
        );
        assert_eq!(jar.for_site(&site()), vec![cookie("sid", "a", false)]);

        jar.keep(
            &site(),
            jar.landed(&site()),
            [cookie("_session_id", "t", false)],
        );
        assert_eq!(
            jar.for_site(&site()),
            vec![cookie("_session_id", "t", false)]
        );
    }

    #[test]
    fn a_cookie_set_twice_is_carried_once_as_last_set_and_domain_and_host_cookies_stay_apart() {
        let jar = SessionCookies::default();
        let mut host_only = cookie("sid", "host", false);
        host_only.domain = "idp.example.com".to_owned();
        jar.keep(
            &site(),
            jar.landed(&site()),
            [
                cookie("sid", "old", false),
                host_only.clone(),
                cookie("sid", "new", false),
            ],
        );
        assert_eq!(
            jar.for_site(&site()),
            vec![cookie("sid", "new", false), host_only]
        );
    }

    #[test]
    fn malformed_and_oversized_cookies_are_refused_and_a_site_is_capped() {
        let jar = SessionCookies::default();
        let mut no_domain = cookie("a", "1", false);
        no_domain.domain = ".".to_owned();
        let mut relative = cookie("b", "1", false);
        relative.path = "x".to_owned();
        let huge = cookie("c", &"v".repeat(MAX_COOKIE_BYTES), false);
        let kept = jar.keep(
            &site(),
            jar.landed(&site()),
            [cookie("", "1", false), no_domain, relative, huge],
        );
        assert_eq!(
            kept,
            Some(Kept {
                kept: 0,
                refused: 4
            })
        );

        let many = (0..1000).map(|i| cookie(&format!("c{i}"), &"v".repeat(2000), false));
        let kept = jar.keep(&site(), jar.landed(&site()), many).expect("kept");
        assert!(kept.kept <= MAX_COOKIES_PER_SITE, "{kept:?}");
        assert_eq!(
            kept.kept.saturating_add(kept.refused),
            MAX_COOKIES_READ,
            "no more are read"
        );
        let bytes: usize = jar.for_site(&site()).iter().map(EngineCookie::bytes).sum();
        assert!(bytes <= MAX_BYTES_PER_SITE, "{bytes}");
    }

    #[test]
    fn sign_out_forgets_only_that_sites_cookies() {
        let jar = SessionCookies::default();
        let other: Site = "https://other.example.com".parse().expect("a site");
        jar.keep(&site(), jar.landed(&site()), [cookie("sid", "a", false)]);
        jar.keep(&other, jar.landed(&other), [cookie("sid", "b", false)]);
        jar.forget(&site());
        assert!(jar.for_site(&site()).is_empty());
        assert_eq!(jar.for_site(&other), vec![cookie("sid", "b", false)]);
    }

    #[test]
    fn a_window_that_landed_before_a_sign_out_brings_nothing_back_after_it() {
        let jar = SessionCookies::default();
        let renewing = jar.landed(&site());
        let other: Site = "https://other.example.com".parse().expect("a site");
        let elsewhere = jar.landed(&other);
        jar.forget(&site());
        assert_eq!(
            jar.keep(&site(), renewing, [cookie("sid", "old", false)]),
            None
        );
        assert!(jar.for_site(&site()).is_empty());
        assert!(
            jar.keep(&other, elsewhere, [cookie("sid", "b", false)])
                .is_some(),
            "another site's sign-out does not matter"
        );
        let signed_in_again = jar.landed(&site());
        assert!(
            jar.keep(&site(), signed_in_again, [cookie("sid", "new", false)])
                .is_some()
        );
        assert_eq!(jar.for_site(&site()), vec![cookie("sid", "new", false)]);
    }

    #[tokio::test]
    async fn kept_cookies_go_only_to_a_window_of_a_new_engine_and_once() {
        let jar = SessionCookies::default();
        jar.keep(&site(), jar.landed(&site()), [cookie("sid", "a", false)]);
        assert!(
            jar.to_put(&site()).is_empty(),
            "the running engine holds them, maybe newer"
        );
        jar.helpers_ended();
        // A window that went away before it put them leaves them to the next one.
        assert_eq!(jar.to_put(&site()).cookies, [cookie("sid", "a", false)]);
        let put = jar.to_put(&site());
        assert_eq!(put.cookies, [cookie("sid", "a", false)]);
        let put = jar.put_each(put, |_| std::future::ready(Added::Yes)).await;
        assert_eq!(put.added, 1);
        assert!(
            jar.to_put(&site()).is_empty(),
            "the new engine holds them now"
        );
        jar.helpers_ended();
        assert_eq!(jar.to_put(&site()).cookies, [cookie("sid", "a", false)]);

        // A store that took none of them does not hold them.
        let put = jar
            .put_each(jar.to_put(&site()), |_| std::future::ready(Added::NoAnswer))
            .await;
        assert_eq!(put.added, 0);
        assert_eq!(jar.to_put(&site()).cookies, [cookie("sid", "a", false)]);

        // A renewal that landed in the engine before this one kept newer cookies while the
        // window was about to put the older ones: the newer ones are not in this engine, and
        // the next window gets them.
        let renewal = jar.landed(&site());
        jar.helpers_ended();
        let older = jar.to_put(&site());
        jar.keep(&site(), renewal, [cookie("sid", "b", false)]);
        jar.put_each(older, |_| std::future::ready(Added::Yes))
            .await;
        assert_eq!(jar.to_put(&site()).cookies, [cookie("sid", "b", false)]);
    }

    #[test]
    fn the_last_window_to_land_wins_not_the_last_to_finish_checking() {
        let jar = SessionCookies::default();
        let renewing_jane = jar.landed(&site());
        let signing_in_joe = jar.landed(&site());
        assert!(
            jar.keep(&site(), signing_in_joe, [cookie("sid", "joe", false)])
                .is_some()
        );
        assert_eq!(
            jar.keep(&site(), renewing_jane, [cookie("sid", "jane", false)]),
            None,
            "an earlier landing finishing later does not replace it"
        );
        assert_eq!(jar.for_site(&site()), vec![cookie("sid", "joe", false)]);
    }

    #[test]
    fn a_window_whose_cookies_could_not_be_read_drops_the_older_ones() {
        let jar = SessionCookies::default();
        jar.keep(&site(), jar.landed(&site()), [cookie("sid", "jane", false)]);
        let joe = jar.landed(&site());
        jar.read_failed(&site(), joe);
        assert!(
            jar.for_site(&site()).is_empty(),
            "jane's session is not carried to joe's next window"
        );

        let earlier = jar.landed(&site());
        let later = jar.landed(&site());
        jar.keep(&site(), later, [cookie("sid", "new", false)]);
        jar.read_failed(&site(), earlier);
        assert_eq!(jar.for_site(&site()), vec![cookie("sid", "new", false)]);
    }

    #[test]
    fn cookies_read_before_the_helpers_ended_go_to_the_next_engine() {
        let jar = SessionCookies::default();
        let landed = jar.landed(&site());
        // The site took a while to confirm the session; the helpers ended meanwhile.
        jar.helpers_ended();
        jar.keep(&site(), landed, [cookie("sid", "a", false)]);
        assert_eq!(jar.to_put(&site()).cookies, [cookie("sid", "a", false)]);
    }

    /// The engine's puts are asynchronous: a sign-out can come between two of them. The
    /// desktop shell used to put every cookie regardless, bringing the signed-out session back.
    #[tokio::test]
    async fn a_sign_out_during_the_puts_stops_them() {
        let jar = SessionCookies::default();
        let cookies = [
            cookie("idp", "a", false),
            cookie("sid", "b", false),
            cookie("other", "c", false),
        ];
        jar.keep(&site(), jar.landed(&site()), cookies.clone());
        jar.helpers_ended();
        let mut store = Vec::new();
        let put = jar
            .put_each(jar.to_put(&site()), |cookie| {
                // The person signs out while the first cookie is being put.
                if store.is_empty() {
                    jar.forget(&site());
                }
                store.push(cookie);
                std::future::ready(Added::Yes)
            })
            .await;
        assert_eq!(
            put,
            Put {
                added: 1,
                failed: 0,
                signed_out: true
            }
        );
        assert_eq!(store, [cookie("idp", "a", false)], "only the one under way");

        // Without a sign-out every cookie goes in, and a refused one is counted.
        jar.keep(&site(), jar.landed(&site()), cookies.clone());
        jar.helpers_ended();
        let mut store = Vec::new();
        let put = jar
            .put_each(jar.to_put(&site()), |cookie| {
                let took = if cookie.name == "sid" {
                    Added::Refused
                } else {
                    Added::Yes
                };
                store.push(cookie);
                std::future::ready(took)
            })
            .await;
        assert_eq!(
            put,
            Put {
                added: 2,
                failed: 1,
                signed_out: false
            }
        );
        assert_eq!(store, cookies);
        // Another site's sign-out does not stop them.
        jar.helpers_ended();
        let other: Site = "https://other.example.com".parse().unwrap();
        let put = jar
            .put_each(jar.to_put(&site()), |_| {
                jar.forget(&other);
                std::future::ready(Added::Yes)
            })
            .await;
        assert_eq!(put.added, 3);

        // A store that stops answering is not waited for once per cookie.
        jar.helpers_ended();
        let mut asked = 0;
        let put = jar
            .put_each(jar.to_put(&site()), |_| {
                asked += 1;
                std::future::ready(Added::NoAnswer)
            })
            .await;
        assert_eq!(asked, 1);
        assert_eq!(
            put,
            Put {
                added: 0,
                failed: 3,
                signed_out: false
            }
        );
    }

    #[test]
    fn helpers_end_only_after_the_grace_with_no_window_and_no_read_in_flight() {
        let start = Instant::now();
        let mut idle = HelperIdle::new(Duration::from_secs(5), false);
        assert!(
            !idle.may_end(0, start),
            "nothing was ever opened: nothing to end"
        );

        let ask_at = idle.window_closed(start);
        assert_eq!(ask_at, start + Duration::from_secs(5));
        assert!(!idle.may_end(0, start + Duration::from_secs(4)));
        assert!(idle.may_end(0, ask_at));
        assert!(!idle.may_end(1, ask_at), "a window opened meanwhile");

        // A second window closing later postpones the end.
        let later = idle.window_closed(start + Duration::from_secs(3));
        assert!(!idle.may_end(0, ask_at));
        assert!(idle.may_end(0, later));

        idle.reading();
        assert!(!idle.may_end(0, later + Duration::from_secs(60)));
        let after_read = idle.read_done(later + Duration::from_secs(60));
        assert!(!idle.may_end(0, later + Duration::from_secs(61)));
        assert!(idle.may_end(0, after_read));
    }

    #[test]
    fn helpers_never_end_while_automation_drives_the_app() {
        let start = Instant::now();
        let mut idle = HelperIdle::new(Duration::from_secs(5), true);
        let ask_at = idle.window_closed(start);
        assert!(!idle.may_end(0, ask_at));
        assert!(!idle.may_end(0, ask_at + Duration::from_secs(3600)));
    }
}
