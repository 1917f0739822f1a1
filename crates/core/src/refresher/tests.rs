//! The loop on paused time, with a fake desktop and a fake site: a day of rounds runs in
//! milliseconds, and every call the refresher makes is counted.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::Semaphore;

use super::*;
use crate::method::Pick;
use crate::model::{Method, SessionState};
use crate::paths::Paths;
use crate::protocol::NewSession;

/// Where the fake clock starts (local epoch seconds).
const NOW: i64 = 1_700_000_000;
const DAY: u64 = 24 * 3600;
const JANE: &str = "jane";

fn site() -> Site {
    Site::parse("https://studio.example.com").unwrap()
}

/// `NOW` plus the seconds tokio's (paused) clock moved since this was called.
fn paused_clock() -> Clock {
    let start = tokio::time::Instant::now();
    Arc::new(move || NOW + i64::try_from(start.elapsed().as_secs()).unwrap())
}

/// What the fake desktop and site were asked, and when (on the fake clock).
#[derive(Debug, Default)]
struct Calls {
    renewals: Mutex<Vec<i64>>,
    checks: Mutex<Vec<i64>>,
    forgotten: Mutex<Vec<Site>>,
    forgot_stale: AtomicUsize,
    notified: Mutex<Vec<String>>,
    redraws: AtomicUsize,
    /// Told when a renewal starts, and when data is forgotten.
    renewal_started: Notify,
    forgot: Notify,
}

impl Calls {
    fn renewals(&self) -> Vec<i64> {
        self.renewals.lock().unwrap().clone()
    }

    fn checks(&self) -> Vec<i64> {
        self.checks.lock().unwrap().clone()
    }
}

/// A desktop whose silent renewals extend the claims by `lifetime` seconds from now, once
/// `gate` lets them (a permit each), or time out when `idp_wants_its_form`.
struct FakeDesktop {
    accounts: Arc<Accounts>,
    clock: Clock,
    lifetime: i64,
    gate: Option<Semaphore>,
    idp_wants_its_form: bool,
    calls: Arc<Calls>,
}

impl Desktop for FakeDesktop {
    async fn renew_silently(
        &self,
        site: &Site,
        renewing: &Generation,
        _watchdog: Duration,
    ) -> Result<Landing, SilentRenewalError> {
        self.calls.renewals.lock().unwrap().push((self.clock)());
        self.calls.renewal_started.notify_one();
        if let Some(gate) = &self.gate {
            gate.acquire().await.unwrap().forget();
        }
        if self.idp_wants_its_form {
            return Err(SilentRenewalError::Watchdog(3));
        }
        let now = (self.clock)();
        let claims_expire_at = Some(now + self.lifetime);
        self.accounts
            .settings_file()
            .update(|settings| {
                let users = &mut settings.sites.get_mut(site).unwrap().users;
                let record = users.get_mut(&renewing.login).unwrap();
                record.signed_in_at = now;
                record.claims_expire_at = claims_expire_at;
            })
            .unwrap();
        Ok(Landing::Renewed { claims_expire_at })
    }

    fn notify(&self, _site: &Site, title: &str, _body: &str) {
        self.calls.notified.lock().unwrap().push(title.to_owned());
    }

    fn forget_site_data(&self, site: &Site) {
        self.calls.forgotten.lock().unwrap().push(site.clone());
        self.calls.forgot.notify_one();
    }

    fn forget_stale_site_data(&self) {
        self.calls.forgot_stale.fetch_add(1, Ordering::SeqCst);
        self.calls.forgot.notify_one();
    }

    fn redraw(&self) {
        self.calls.redraws.fetch_add(1, Ordering::SeqCst);
    }
}

/// A site that answers `info` and finds every session alive, telling its clock (ours).
struct FakeSite {
    clock: Clock,
    calls: Arc<Calls>,
}

impl SiteCalls for FakeSite {
    async fn info(&self, _site: &Site) -> Result<(), Api3Error> {
        Ok(())
    }

    fn check(
        &self,
        _site: &Site,
        _login: &str,
        _token: &Secret,
    ) -> impl Future<Output = Health> + Send {
        let now = (self.clock)();
        self.calls.checks.lock().unwrap().push(now);
        async move {
            Health::Alive {
                expires_at: None,
                site_now: Some(now),
            }
        }
    }
}

/// Jane, signed in with the web sign-in, and a refresher with a fake desktop and site on the
/// paused clock.
struct World {
    _home: tempfile::TempDir,
    accounts: Arc<Accounts>,
    refresher: Arc<Refresher<FakeSite>>,
    desktop: Arc<FakeDesktop>,
    calls: Arc<Calls>,
}

impl World {
    /// Jane signed in `ago` seconds ago with claims of `lifetime` seconds; keep-alives every
    /// `keep_alive` seconds, or none. Renewals wait for a permit each when `gated`.
    fn new(ago: i64, lifetime: i64, keep_alive: Option<u64>, gated: bool) -> Self {
        let home = tempfile::tempdir().unwrap();
        let accounts = Arc::new(Accounts::in_memory(&Paths::under(home.path().to_owned())));
        let session = NewSession {
            login: JANE.into(),
            token: Secret::new("token-of-jane"),
            user_id: Some(42),
            name: None,
            method: Method::Web,
            claims_expire_at: None,
            session_expires_at: None,
        };
        accounts.sign_in(&site(), &session, Pick::Offered).unwrap();
        accounts
            .settings_file()
            .update(|settings| {
                settings.keep_alive = Some(keep_alive.is_some());
                settings.keep_alive_interval = keep_alive;
                let users = &mut settings.sites.get_mut(&site()).unwrap().users;
                let record = users.get_mut(JANE).unwrap();
                record.signed_in_at = NOW - ago;
                record.claims_expire_at = Some(NOW - ago + lifetime);
            })
            .unwrap();
        let clock = paused_clock();
        let calls = Arc::new(Calls::default());
        let sites = FakeSite {
            clock: Arc::clone(&clock),
            calls: Arc::clone(&calls),
        };
        let refresher = Arc::new(Refresher::with(
            Arc::clone(&accounts),
            Arc::clone(&clock),
            sites,
        ));
        let desktop = Arc::new(FakeDesktop {
            accounts: Arc::clone(&accounts),
            clock,
            lifetime,
            gate: gated.then(|| Semaphore::new(0)),
            idp_wants_its_form: false,
            calls: Arc::clone(&calls),
        });
        Self {
            _home: home,
            accounts,
            refresher,
            desktop,
            calls,
        }
    }

    fn start(&self) {
        tokio::spawn(Arc::clone(&self.refresher).run(Arc::clone(&self.desktop)));
    }

    fn record(&self) -> UserRecord {
        self.accounts.record(&site(), JANE).unwrap().unwrap()
    }
}

#[tokio::test(start_paused = true)]
async fn a_caller_needing_a_fresh_session_joins_the_renewal_under_way() {
    // 95 s into claims of 100: the renewal is due, and 5 s are too few for the caller.
    let world = World::new(95, 100, None, true);
    world.start();
    world.calls.renewal_started.notified().await;
    let site = site();
    let caller = world
        .refresher
        .ensure_fresh(&*world.desktop, Some(&site), Some(60));
    let release = async {
        // The caller has joined (it waits on the renewal) before the renewal ends.
        tokio::time::sleep(Duration::from_secs(1)).await;
        world.desktop.gate.as_ref().unwrap().add_permits(1);
    };
    // A second renewal would wait for a permit that never comes.
    let both = async { tokio::join!(caller, release) };
    let (served, ()) = tokio::time::timeout(Duration::from_secs(600), both)
        .await
        .expect("the caller was served by the one renewal");
    served.unwrap();
    assert_eq!(world.calls.renewals(), [NOW]);
    assert_eq!(world.record().claims_expire_at, Some(NOW + 1 + 100));
    // Later callers are served the renewed session without another renewal.
    world
        .refresher
        .ensure_fresh(&*world.desktop, None, Some(60))
        .await
        .unwrap();
    assert_eq!(world.calls.renewals().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_sign_out_forgets_the_sites_web_data() {
    let world = World::new(0, 3600, None, false);
    world.start();
    world.accounts.sign_out(Some(&site()), None).unwrap();
    tokio::time::timeout(Duration::from_secs(60), world.calls.forgot.notified())
        .await
        .expect("the site's data was forgotten");
    assert_eq!(*world.calls.forgotten.lock().unwrap(), [site()]);
    assert_eq!(world.calls.forgot_stale.load(Ordering::SeqCst), 0);
}

#[tokio::test(start_paused = true)]
async fn missed_events_forget_the_data_of_every_site_signed_out_of() {
    let world = World::new(0, 3600, None, false);
    world.start();
    // More changes than the loop's channel holds, before it runs: it hears it missed some.
    for _ in 0..300 {
        world.accounts.use_site(&site(), None).unwrap();
    }
    tokio::time::timeout(Duration::from_secs(60), world.calls.forgot.notified())
        .await
        .expect("stale data was forgotten");
    assert_eq!(world.calls.forgot_stale.load(Ordering::SeqCst), 1);
    assert!(world.calls.forgotten.lock().unwrap().is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_day_of_renewals_and_keep_alives_follows_the_policy_in_milliseconds() {
    let started = std::time::Instant::now();
    // Claims of an hour, renewed at nine tenths (54 min); a keep-alive every 30 min, the first
    // at once.
    let world = World::new(0, 3600, Some(1800), false);
    world.start();
    tokio::time::sleep(Duration::from_secs(DAY - 1)).await;
    let renewals: Vec<i64> = (1..=26).map(|k| NOW + k * 3240).collect();
    assert_eq!(world.calls.renewals(), renewals);
    let keep_alives: Vec<i64> = (0..48).map(|k| NOW + k * 1800).collect();
    assert_eq!(world.calls.checks(), keep_alives);
    let record = world.record();
    assert_eq!(record.state, SessionState::Active);
    assert_eq!(record.claims_expire_at, Some(NOW + 26 * 3240 + 3600));
    assert!(world.calls.notified.lock().unwrap().is_empty());
    let took = started.elapsed();
    assert!(took < Duration::from_secs(10), "a day took {took:?}");
}

#[tokio::test(start_paused = true)]
async fn a_renewal_only_the_person_can_do_marks_the_session_and_notifies_once() {
    let mut world = World::new(95, 100, None, false);
    Arc::get_mut(&mut world.desktop).unwrap().idp_wants_its_form = true;
    world.start();
    tokio::time::sleep(Duration::from_secs(3600)).await;
    assert_eq!(world.calls.renewals(), [NOW]);
    assert_eq!(world.record().state, SessionState::NeedsAttention);
    assert_eq!(
        *world.calls.notified.lock().unwrap(),
        ["Session for https://studio.example.com expires in 1 min — Renew"]
    );
    assert!(world.calls.redraws.load(Ordering::SeqCst) >= 1);
}

#[test]
fn the_notification_says_how_long_the_session_has_left() {
    let (title, body) = notification(&site(), Some(NOW + 61), NOW);
    assert_eq!(
        title,
        "Session for https://studio.example.com expires in 2 min — Renew"
    );
    assert!(body.contains("Renew now"), "{body}");
    let (title, _) = notification(&site(), Some(NOW), NOW);
    assert_eq!(
        title,
        "Session for https://studio.example.com has expired — Renew"
    );
    let (unknown, _) = notification(&site(), None, NOW);
    assert_eq!(unknown, title);
}
