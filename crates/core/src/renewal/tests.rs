//! The policy against simulated sites: hours of renewals and keep-alives in milliseconds.

use super::*;

const DAY: i64 = 24 * 3600;
const START: i64 = 1_700_000_000;

fn site_name() -> Site {
    Site::parse("https://studio.example.com").unwrap()
}

fn site_with(login: &str, record: UserRecord) -> SiteSettings {
    let mut site = SiteSettings {
        current_user: Some(login.to_owned()),
        ..SiteSettings::default()
    };
    site.users.insert(login.to_owned(), record);
    site
}

fn web_record(signed_in_at: i64, claims_expire_at: Option<i64>) -> UserRecord {
    UserRecord {
        method: Some(Method::Web),
        signed_in_at,
        claims_expire_at,
        ..UserRecord::default()
    }
}

fn keep_alive_every(secs: u64) -> Config {
    Config {
        keep_alive: Some(secs),
    }
}

/// A site and the app's loop around one plan, on a simulated clock.
struct World {
    /// Our clock.
    now: i64,
    /// The site's clock minus ours.
    skew: i64,
    plan: Plan,
    config: Config,
    settings: SiteSettings,
    /// The site's claims lifetime (`None`: no SSO), inactivity timeout, and what it tells.
    claims_lifetime: Option<i64>,
    idle: i64,
    tells_idle: bool,
    sends_date: bool,
    /// Our times at which the site does not answer.
    down: std::ops::Range<i64>,
    /// The IdP signs the hidden renewal in as this person.
    lands_as: Option<String>,
    /// How long each call takes.
    latency: i64,
    /// When the session was last used, on the site's clock.
    last_used: i64,
    renewals: Vec<i64>,
    keep_alives: Vec<i64>,
    /// Answers that meant the session had lapsed or ended.
    lapses: Vec<Outcome>,
    marks: Vec<Mark>,
}

impl World {
    fn new(claims_lifetime: Option<i64>, config: Config) -> Self {
        let mut world = Self {
            now: START,
            skew: 0,
            plan: Plan::default(),
            config,
            settings: SiteSettings::default(),
            claims_lifetime,
            idle: DAY,
            tells_idle: true,
            sends_date: true,
            down: 0..0,
            lands_as: None,
            latency: 1,
            last_used: 0,
            renewals: Vec::new(),
            keep_alives: Vec::new(),
            lapses: Vec::new(),
            marks: Vec::new(),
        };
        world.sign_in();
        world
    }

    fn site_now(&self) -> i64 {
        self.now + self.skew
    }

    fn record(&self) -> &UserRecord {
        &self.settings.users["artist"]
    }

    fn record_mut(&mut self) -> &mut UserRecord {
        self.settings.users.get_mut("artist").unwrap()
    }

    /// A fresh sign-in, as `Accounts::sign_in` stores it.
    fn sign_in(&mut self) {
        let method = if self.claims_lifetime.is_some() {
            Method::Web
        } else {
            Method::Credentials
        };
        let record = UserRecord {
            method: Some(method),
            signed_in_at: self.now,
            claims_expire_at: self.claims_lifetime.map(|l| self.site_now() + l),
            ..UserRecord::default()
        };
        self.settings = site_with("artist", record);
        self.last_used = self.site_now();
    }

    fn is_down(&self) -> bool {
        self.down.contains(&self.now)
    }

    /// `session::check` against this site.
    fn check(&mut self) -> Outcome {
        if self.is_down() {
            return Outcome::Unreachable {
                reason: "connection refused".into(),
            };
        }
        let site_now = self.site_now();
        if self
            .record()
            .claims_expire_at
            .is_some_and(|at| site_now >= at)
        {
            return Outcome::ClaimsLapsed {
                reason: "302 to the IdP".into(),
            };
        }
        if site_now > self.last_used + self.idle {
            return Outcome::Expired {
                reason: "102".into(),
            };
        }
        self.last_used = site_now;
        Outcome::KeptAlive {
            expires_at: self.tells_idle.then_some(site_now + self.idle),
            site_now: self.sends_date.then_some(site_now),
        }
    }

    /// The hidden `/auth/renew` and `renewal::complete`.
    fn renew(&mut self) -> Outcome {
        if self.is_down() {
            return Outcome::Unreachable {
                reason: "connection refused".into(),
            };
        }
        if let Some(login) = self.lands_as.clone() {
            return Outcome::LandedAsSomeoneElse { login };
        }
        let (now, claims) = (self.now, self.site_now() + self.claims_lifetime.unwrap());
        self.last_used = self.site_now();
        let record = self.record_mut();
        record.signed_in_at = now;
        record.claims_expire_at = Some(claims);
        record.state = SessionState::Active;
        record.attention = None;
        Outcome::Renewed
    }

    fn report(&mut self, generation: &Generation, outcome: Outcome) -> Effects {
        if matches!(
            outcome,
            Outcome::ClaimsLapsed { .. } | Outcome::Expired { .. }
        ) {
            self.lapses.push(outcome.clone());
        }
        let effects = self
            .plan
            .record(generation, outcome, &self.settings, &self.config, self.now);
        if let Some(mark) = &effects.mark {
            let record = self.record_mut();
            record.state = mark.state;
            record.attention = Some(mark.reason.clone());
            self.marks.push(mark.clone());
        }
        match effects.session_expiry {
            ExpiryUpdate::Keep => {}
            ExpiryUpdate::Set(at) => self.record_mut().session_expires_at = Some(at),
            ExpiryUpdate::Clear => self.record_mut().session_expires_at = None,
        }
        effects
    }

    /// One round of the app's loop: do what is due, or sleep until told.
    fn round(&mut self) {
        let next = self
            .plan
            .next_action(&self.settings, &self.config, self.now);
        assert!(next.wake_at > self.now, "{next:?} at {}", self.now);
        let start = self.now;
        match next.action {
            Action::Nothing => self.now = next.wake_at,
            Action::Renew(generation) => {
                self.renewals.push(start);
                self.now += self.latency;
                let outcome = self.renew();
                self.report(&generation, outcome);
            }
            Action::KeepAlive(generation) => {
                self.keep_alives.push(start);
                self.now += self.latency;
                let outcome = self.check();
                self.report(&generation, outcome);
            }
        }
    }

    fn run_for(&mut self, secs: i64) {
        let end = self.now + secs;
        let mut rounds = 0_u64;
        while self.now < end {
            self.round();
            rounds += 1;
            assert!(rounds < 1_000_000, "the loop spins");
        }
    }
}

fn gaps(times: &[i64]) -> Vec<i64> {
    times.windows(2).map(|w| w[1] - w[0]).collect()
}

#[test]
fn twenty_second_claims_are_renewed_all_day_and_never_lapse() {
    let mut world = World::new(Some(20), keep_alive_every(600));
    world.run_for(DAY);
    assert!(world.lapses.is_empty(), "{:?}", world.lapses);
    assert!(world.marks.is_empty(), "{:?}", world.marks);
    // Every 18 s (90 % of 20) plus the call's own second.
    let renewals = i64::try_from(world.renewals.len()).unwrap();
    assert!((DAY / 20..=DAY / 18).contains(&renewals), "{renewals}");
    let between = gaps(&world.renewals);
    assert!(
        between.iter().all(|&g| g >= 10),
        "never closer than the floor"
    );
    assert!(
        between.iter().all(|&g| g < 20),
        "always before the claims lapse"
    );
    // The first keep-alive comes at once, then 600 s after each (which took a second).
    assert_eq!(world.keep_alives[0], START);
    let between = gaps(&world.keep_alives);
    // (or a second later when a renewal was due at the same time and went first)
    assert!(
        between.iter().all(|&g| (601..=602).contains(&g)),
        "{between:?}"
    );
}

#[test]
fn a_site_that_never_says_when_sessions_idle_out_is_kept_alive_once_a_minute_at_most() {
    let mut world = World::new(None, keep_alive_every(2));
    world.tells_idle = false;
    world.idle = 3600;
    world.run_for(DAY);
    assert!(world.lapses.is_empty(), "{:?}", world.lapses);
    let gaps = gaps(&world.keep_alives);
    assert!(
        gaps.iter().all(|&g| g >= 60),
        "the floor, not the 2 s setting"
    );
    assert!(
        world.keep_alives.len() <= 1 + 1440,
        "{}",
        world.keep_alives.len()
    );
}

#[test]
fn intervals_have_a_floor_unless_the_sites_own_lifetime_is_shorter() {
    // Keep-alive every 2 s asked, 6 s inactivity: every 3 s, which keeps it alive.
    let mut world = World::new(None, keep_alive_every(2));
    world.latency = 0;
    world.idle = 6;
    world.run_for(3600);
    assert!(world.lapses.is_empty(), "{:?}", world.lapses);
    assert!(gaps(&world.keep_alives).iter().all(|&g| g == 3));

    // 600 s asked, 100 s inactivity: every 50 s.
    let mut world = World::new(None, keep_alive_every(600));
    world.latency = 0;
    world.idle = 100;
    world.run_for(3600);
    assert!(world.lapses.is_empty());
    assert!(gaps(&world.keep_alives).iter().all(|&g| g == 50));

    // 2 s asked, 10 min inactivity: once a minute.
    let mut world = World::new(None, keep_alive_every(2));
    world.latency = 0;
    world.idle = 600;
    world.run_for(3600);
    assert!(gaps(&world.keep_alives).iter().all(|&g| g == 60));
}

#[test]
fn a_local_clock_ten_minutes_off_renews_on_the_sites_time() {
    for skew in [-600, 600] {
        let mut world = World::new(None, keep_alive_every(600));
        world.skew = skew;
        world.claims_lifetime = Some(20);
        world.sign_in();
        world.run_for(DAY);
        assert!(world.lapses.is_empty(), "skew {skew}: {:?}", world.lapses);
        let between = gaps(&world.renewals);
        assert!(
            between.iter().all(|&g| (10..20).contains(&g)),
            "skew {skew}: {:?}",
            &between[..10]
        );
        assert!(world.marks.is_empty());
        // The idle expiry the site gave is stored as the site said it, and not taken for
        // one in the past.
        let stored = world.record().session_expires_at.unwrap();
        assert!(stored > world.site_now(), "skew {skew}");
        assert_eq!(
            world
                .plan
                .for_caller(&site_name(), Some(&world.settings), Some(1), world.now),
            Freshness::Serve
        );
    }
}

#[test]
fn callers_are_answered_on_the_sites_time() {
    // Our clock is 10 min ahead: the site's 1 h claims look like 50 min on it.
    let mut world = World::new(Some(3600), keep_alive_every(600));
    world.skew = -600;
    world.sign_in();
    world.round(); // the first keep-alive learns the site's clock
    let site = site_name();
    assert_eq!(
        world
            .plan
            .for_caller(&site, Some(&world.settings), Some(3500), world.now),
        Freshness::Serve
    );
    assert_eq!(
        world.plan.local_expiry(world.record()),
        Some(START + 3600),
        "on our clock"
    );
}

#[test]
fn a_site_down_for_an_hour_is_retried_with_doubling_delays_and_nothing_is_marked() {
    let mut world = World::new(Some(1200), keep_alive_every(600));
    world.down = START + 100..START + 3700;
    world.run_for(3 * 3600);
    assert!(world.marks.is_empty(), "{:?}", world.marks);
    let during: Vec<i64> = world
        .renewals
        .iter()
        .chain(&world.keep_alives)
        .copied()
        .filter(|t| world.down.contains(t))
        .collect();
    let mut during = during;
    during.sort_unstable();
    let between = gaps(&during);
    // 2, 4, 8 … up to a minute, plus the call's own second.
    assert!(
        between.iter().all(|&g| (2..=61).contains(&g)),
        "{between:?}"
    );
    assert!(
        between.iter().rev().take(10).all(|&g| g >= 60),
        "{between:?}"
    );
    assert!(during.len() < 80, "{}", during.len());
    // Back within a minute of the site: renewed, and on the usual schedule again.
    let back = world
        .renewals
        .iter()
        .find(|&&t| t >= world.down.end)
        .copied()
        .unwrap();
    assert!(back - world.down.end <= 61, "{back}");
    assert_eq!(world.record().state, SessionState::Active);
    let after: Vec<i64> = world
        .renewals
        .iter()
        .copied()
        .filter(|&t| t > back)
        .collect();
    assert!(gaps(&after).iter().all(|&g| g == 1081), "{after:?}");
}

#[test]
fn a_renewal_that_lands_as_someone_else_stores_nothing_and_asks_the_person() {
    let mut world = World::new(Some(600), keep_alive_every(600));
    world.lands_as = Some("intruder".into());
    world.run_for(560);
    assert_eq!(
        world.renewals.len(),
        1,
        "not retried while the session works"
    );
    let mark = &world.marks[0];
    assert_eq!(mark.state, SessionState::NeedsAttention);
    assert!(mark.reason.contains("intruder"), "{}", mark.reason);
    assert!(mark.reason.contains("as artist"), "{}", mark.reason);
    assert!(mark.notify.wanted(true));
    assert_eq!(world.settings.current_user.as_deref(), Some("artist"));
    assert_eq!(world.record().signed_in_at, START, "nothing stored");
    // A caller who needs longer than is left is refused with that reason for a while…
    let site = site_name();
    let marked_at = world.renewals[0] + world.latency;
    let asked = world
        .plan
        .for_caller(&site, Some(&world.settings), Some(3600), marked_at + 10);
    assert!(
        matches!(&asked, Freshness::Refuse { reason } if reason.contains("intruder")),
        "{asked:?}"
    );
    // …then may try again.
    let later = world.plan.clone().for_caller(
        &site,
        Some(&world.settings),
        Some(3600),
        marked_at + ATTENTION_RETRY,
    );
    assert_eq!(later, Freshness::RenewFirst);
    // Once the claims lapse, silent tries come every five minutes, and store nothing.
    world.run_for(3 * 3600);
    assert!(gaps(&world.renewals).iter().all(|&g| g >= LAPSED_RETRY));
    assert_eq!(world.record().signed_in_at, START);
    assert_eq!(world.record().state, SessionState::ClaimsLapsed);
}

#[test]
fn the_landed_person_must_be_the_one_renewed() {
    assert!(same_person("artist", Some(7), "artist", Some(7)));
    assert!(same_person("Artist", Some(7), "artist", None));
    assert!(same_person("artist", None, "ARTIST", Some(9)));
    assert!(!same_person("artist", Some(7), "artist", Some(8)));
    assert!(!same_person("artist", None, "intruder", None));
    assert!(extends(Some(100), Some(101)));
    assert!(!extends(Some(100), Some(100)));
    assert!(!extends(Some(100), Some(99)));
    assert!(extends(None, Some(1)));
}

#[test]
fn a_keep_alive_that_never_reports_back_is_not_due_again_at_once() {
    // The record has no usable token, or the task dies: the loop asks again and again.
    let mut plan = Plan::default();
    let site = site_with("artist", UserRecord::default());
    let config = keep_alive_every(600);
    let first = plan.next_action(&site, &config, START);
    assert!(matches!(first.action, Action::KeepAlive(_)));
    let mut now = START;
    let mut calls = 1;
    while now < START + DAY {
        let next = plan.next_action(&site, &config, now);
        assert!(next.wake_at > now);
        if matches!(next.action, Action::KeepAlive(_)) {
            calls += 1;
        }
        now = next.wake_at;
    }
    assert_eq!(calls, DAY / 600);

    // Likewise a renewal whose outcome never comes.
    let mut plan = Plan::default();
    let site = site_with("artist", web_record(START - 3600, Some(START - 1)));
    let off = Config { keep_alive: None };
    assert!(matches!(
        plan.next_action(&site, &off, START).action,
        Action::Renew(_)
    ));
    let again = plan.next_action(&site, &off, START);
    assert_eq!(again.action, Action::Nothing);
    assert_eq!(again.wake_at, START + FLOOR);
}

#[test]
fn a_script_as_the_sites_default_user_plans_nothing_and_never_spins() {
    // A person signed in, then `fpt-login script add --default` on the same site.
    let mut site = site_with("artist", web_record(START - 3600, Some(START - 1)));
    site.current_script = Some("farm".into());
    let mut plan = Plan::default();
    let next = plan.next_action(&site, &keep_alive_every(2), START);
    assert_eq!(next.action, Action::Nothing);
    assert_eq!(next.wake_at, START + IDLE_WAKE);
    assert_eq!(
        plan.for_caller(&site_name(), Some(&site), Some(60), START),
        Freshness::Serve
    );
}

#[test]
fn results_for_an_older_session_never_touch_the_current_one() {
    let config = keep_alive_every(600);
    let mut plan = Plan::default();
    let site = site_with("artist", web_record(START, Some(START + 3600)));
    let Action::KeepAlive(old) = plan.next_action(&site, &config, START).action else {
        panic!("the first keep-alive comes at once");
    };
    // The person signs in again while the check of the old token is under way…
    let again = site_with("artist", web_record(START + 5, Some(START + 3605)));
    // …or someone else does.
    let other = site_with("jane", web_record(START, Some(START + 3600)));
    for now_current in [&again, &other] {
        for outcome in [
            Outcome::Expired {
                reason: "102".into(),
            },
            Outcome::ClaimsLapsed {
                reason: "302".into(),
            },
            Outcome::NeedsPerson {
                reason: "watchdog".into(),
            },
            Outcome::LandedAsSomeoneElse {
                login: "jane".into(),
            },
            Outcome::KeptAlive {
                expires_at: Some(START + 60),
                site_now: Some(START + 6),
            },
        ] {
            let effects =
                plan.clone()
                    .record(&old, outcome.clone(), now_current, &config, START + 6);
            assert_eq!(effects, Effects::default(), "{outcome:?}");
        }
    }
    // The same answer about the current session counts.
    let effects = plan.record(
        &old,
        Outcome::Expired {
            reason: "102".into(),
        },
        &site,
        &config,
        START + 6,
    );
    assert_eq!(effects.mark.unwrap().state, SessionState::Expired);
}

#[test]
fn a_past_expiry_hint_is_dropped_after_a_successful_check() {
    let config = keep_alive_every(600);
    let mut plan = Plan::default();
    let mut record = web_record(START - 7200, None);
    record.session_expires_at = Some(START - 100);
    let site = site_with("artist", record);
    let Action::KeepAlive(generation) = plan.next_action(&site, &config, START).action else {
        panic!("due at once");
    };
    let alive = |expires_at| Outcome::KeptAlive {
        expires_at,
        site_now: Some(START),
    };
    let effects = plan
        .clone()
        .record(&generation, alive(None), &site, &config, START);
    assert_eq!(effects.session_expiry, ExpiryUpdate::Clear);
    // A hint that is itself in the past is not stored either.
    let effects = plan
        .clone()
        .record(&generation, alive(Some(START - 5)), &site, &config, START);
    assert_eq!(effects.session_expiry, ExpiryUpdate::Clear);
    let effects = plan.record(&generation, alive(Some(START + 600)), &site, &config, START);
    assert_eq!(effects.session_expiry, ExpiryUpdate::Set(START + 600));
}

#[test]
fn site_answers_map_to_states() {
    let config = keep_alive_every(600);
    let site = site_with("artist", web_record(START, Some(START + 3600)));
    let generation = Generation::of("artist", &site.users["artist"]);
    let record = |outcome| Plan::default().record(&generation, outcome, &site, &config, START);
    let expired = record(Outcome::Expired {
        reason: "the site refused the session".into(),
    })
    .mark
    .unwrap();
    assert_eq!(
        (expired.state, expired.notify),
        (SessionState::Expired, Notify::IfChanged)
    );
    let lapsed = record(Outcome::ClaimsLapsed {
        reason: "302".into(),
    })
    .mark
    .unwrap();
    assert_eq!(
        (lapsed.state, lapsed.notify),
        (SessionState::ClaimsLapsed, Notify::Never)
    );
    let person = record(Outcome::NeedsPerson {
        reason: "watchdog".into(),
    })
    .mark
    .unwrap();
    assert_eq!(
        (person.state, person.notify),
        (SessionState::NeedsAttention, Notify::IfChanged)
    );
    // Lapsed claims the IdP would not renew stay lapsed, and each failure is told.
    let mut lapsed_record = web_record(START, Some(START + 3600));
    lapsed_record.state = SessionState::ClaimsLapsed;
    let lapsed_site = site_with("artist", lapsed_record);
    let still = Plan::default()
        .record(
            &generation,
            Outcome::NeedsPerson {
                reason: "watchdog".into(),
            },
            &lapsed_site,
            &config,
            START,
        )
        .mark
        .unwrap();
    assert_eq!(
        (still.state, still.notify),
        (SessionState::ClaimsLapsed, Notify::Always)
    );
    for outcome in [
        Outcome::Renewed,
        Outcome::Unreachable {
            reason: "503".into(),
        },
        Outcome::KeptAlive {
            expires_at: None,
            site_now: None,
        },
    ] {
        assert_eq!(record(outcome).mark, None);
    }
}

#[test]
fn lapsed_claims_are_renewed_at_once_then_retried_rarely_when_the_idp_wants_the_person() {
    let off = Config { keep_alive: None };
    let mut record = web_record(START - 100, Some(START + 3500));
    record.state = SessionState::ClaimsLapsed;
    let site = site_with("artist", record);
    let mut plan = Plan::default();
    let Action::Renew(generation) = plan.next_action(&site, &off, START).action else {
        panic!("lapsed claims are renewed at once");
    };
    plan.record(
        &generation,
        Outcome::NeedsPerson {
            reason: "watchdog".into(),
        },
        &site,
        &off,
        START + 30,
    );
    let next = plan.next_action(&site, &off, START + 31);
    assert_eq!(next.action, Action::Nothing);
    assert_eq!(next.wake_at, START + 30 + LAPSED_RETRY);
}

#[test]
fn callers_needing_longer_than_is_left_renew_first_or_are_told_why_not() {
    let site = site_name();
    let now = START + 3000;
    let web = site_with("artist", web_record(START, Some(START + 3600)));
    let ask = |settings: &SiteSettings, min_ttl| {
        Plan::default().for_caller(&site, Some(settings), min_ttl, now)
    };
    assert_eq!(ask(&web, None), Freshness::Serve);
    assert_eq!(ask(&web, Some(600)), Freshness::Serve);
    assert_eq!(ask(&web, Some(601)), Freshness::RenewFirst);
    assert_eq!(ask(&web, Some(u64::MAX)), Freshness::RenewFirst);

    let mut password = web_record(START, None);
    password.method = Some(Method::Credentials);
    password.session_expires_at = Some(START + 3600);
    let password = site_with("artist", password);
    let Freshness::Refuse { reason } = ask(&password, Some(601)) else {
        panic!("only a sign-in renews a password session");
    };
    assert!(reason.contains("ends in 600s"), "{reason}");
    assert!(reason.contains("without the web sign-in"), "{reason}");

    let mut expired = web_record(START, Some(START + 3600));
    expired.state = SessionState::Expired;
    assert_eq!(
        ask(&site_with("artist", expired), Some(1)),
        Freshness::Serve,
        "the store says why"
    );
    let mut lapsed = web_record(START, Some(START + 3600));
    lapsed.state = SessionState::ClaimsLapsed;
    assert_eq!(
        ask(&site_with("artist", lapsed), None),
        Freshness::RenewFirst
    );
    assert_eq!(
        Plan::default().for_caller(&site, None, Some(60), now),
        Freshness::Serve,
        "nobody signed in: the store says so"
    );
}

#[test]
fn a_caller_is_not_renewed_for_again_right_after_a_renewal_that_fell_short() {
    // The site grants 120 s; a tool asks for 125 s.
    let site = site_name();
    let config = Config { keep_alive: None };
    let mut settings = site_with("artist", web_record(START, Some(START + 120)));
    let mut plan = Plan::default();
    assert_eq!(
        plan.for_caller(&site, Some(&settings), Some(125), START),
        Freshness::RenewFirst
    );
    plan.renewal_started(START);
    let generation = Generation::of("artist", &settings.users["artist"]);
    *settings.users.get_mut("artist").unwrap() = web_record(START + 1, Some(START + 121));
    plan.record(&generation, Outcome::Renewed, &settings, &config, START + 1);
    let Freshness::Refuse { reason } =
        plan.for_caller(&site, Some(&settings), Some(125), START + 2)
    else {
        panic!("no renewal per call");
    };
    assert!(reason.contains("renewed 1s ago"), "{reason}");
    assert_eq!(
        plan.for_caller(&site, Some(&settings), Some(125), START + 61),
        Freshness::RenewFirst
    );
}

#[test]
fn keep_alives_retry_with_the_back_off_but_never_later_than_planned() {
    let config = keep_alive_every(600);
    let mut plan = Plan::default();
    let site = site_with("artist", web_record(START, None));
    let mut now = START;
    let mut delays = Vec::new();
    for _ in 0..8 {
        let Action::KeepAlive(generation) = plan.next_action(&site, &config, now).action else {
            panic!("a keep-alive is due at {now}");
        };
        let unreachable = Outcome::Unreachable {
            reason: "503".into(),
        };
        let retry_at = plan
            .record(&generation, unreachable, &site, &config, now)
            .retry_at
            .unwrap();
        delays.push(retry_at - now);
        now = plan.next_action(&site, &config, now).wake_at;
        assert_eq!(now, retry_at);
    }
    assert_eq!(delays, [2, 4, 8, 16, 32, 60, 60, 60]);

    // With a 6 s inactivity timeout the keep-alive is due every 3 s, back-off or not.
    let mut plan = Plan::default();
    let config = keep_alive_every(2);
    let Action::KeepAlive(generation) = plan.next_action(&site, &config, START).action else {
        panic!("due at once");
    };
    let alive = Outcome::KeptAlive {
        expires_at: Some(START + 6),
        site_now: Some(START),
    };
    plan.record(&generation, alive, &site, &config, START);
    for _ in 0..5 {
        plan.back_off(START);
    }
    let unreachable = Outcome::Unreachable {
        reason: "503".into(),
    };
    plan.record(&generation, unreachable, &site, &config, START);
    assert_eq!(plan.next_action(&site, &config, START).wake_at, START + 3);
}

#[test]
fn extreme_times_and_settings_never_panic() {
    let extremes = [
        i64::MIN,
        i64::MIN + 1,
        -1,
        0,
        1,
        START,
        i64::MAX - 1,
        i64::MAX,
    ];
    let optional = std::iter::once(None).chain(extremes.iter().copied().map(Some));
    let configs = [
        Config { keep_alive: None },
        keep_alive_every(0),
        keep_alive_every(u64::MAX),
    ];
    let site = site_name();
    for signed_in_at in extremes {
        for claims in optional.clone() {
            let mut record = web_record(signed_in_at, claims);
            record.session_expires_at = claims.map(i64::wrapping_neg);
            let settings = site_with("artist", record);
            let generation = Generation::of("artist", &settings.users["artist"]);
            for now in extremes {
                for config in &configs {
                    let mut plan = Plan::default();
                    let next = plan.next_action(&settings, config, now);
                    assert!(next.wake_at >= now);
                    assert!(next.wake_at > now || now == i64::MAX);
                    for site_now in optional.clone() {
                        let outcome = Outcome::KeptAlive {
                            expires_at: claims,
                            site_now,
                        };
                        plan.record(&generation, outcome, &settings, config, now);
                        plan.next_action(&settings, config, now);
                    }
                    let unreachable = Outcome::Unreachable {
                        reason: String::new(),
                    };
                    for _ in 0..70 {
                        plan.record(&generation, unreachable.clone(), &settings, config, now);
                    }
                    for min_ttl in [None, Some(0), Some(u64::MAX)] {
                        plan.for_caller(&site, Some(&settings), min_ttl, now);
                    }
                    plan.local_expiry(&settings.users["artist"]);
                }
            }
        }
    }
}

#[test]
fn site_given_times_are_kept_within_a_sane_window() {
    let config = keep_alive_every(600);
    let mut plan = Plan::default();
    let site = site_with("artist", web_record(START, None));
    let generation = Generation::of("artist", &site.users["artist"]);
    let far = plan.record(
        &generation,
        Outcome::KeptAlive {
            expires_at: Some(i64::MAX),
            site_now: Some(START),
        },
        &site,
        &config,
        START,
    );
    assert_eq!(far.session_expiry, ExpiryUpdate::Set(START + MAX_HORIZON));
    // A `Date` a year off is a broken header, not a clock to follow.
    plan.record(
        &generation,
        Outcome::KeptAlive {
            expires_at: None,
            site_now: Some(START + 365 * DAY),
        },
        &site,
        &config,
        START,
    );
    let mut lapsing = web_record(START, Some(START + 100));
    lapsing.session_expires_at = None;
    assert_eq!(plan.local_expiry(&lapsing), Some(START + 100));
}

#[test]
fn clients_refused_again_and_again_remind_the_person_once_per_ten_minutes() {
    let mut plan = Plan::default();
    let start = 1_900_000_000;
    let reminders = (0..3600)
        .step_by(5)
        .filter(|t| plan.remind(start + t))
        .count();
    assert_eq!(reminders, 6, "an hour of calls every 5 s");
    // A clock set back does not silence reminders for good.
    assert!(plan.remind(start - 10_000));
}

#[test]
fn a_scheduled_renewal_for_a_session_replaced_meanwhile_serves_the_new_one() {
    let record = web_record(START, Some(START + 3600));
    let planned = Generation::of("artist", &record);
    let plan = Plan::default();
    assert_eq!(
        plan.for_schedule(&planned, "artist", &record, START + 3300),
        Freshness::RenewFirst
    );
    let renewed = web_record(START + 10, Some(START + 7200));
    assert_eq!(
        plan.for_schedule(&planned, "artist", &renewed, START + 3300),
        Freshness::Serve
    );
    assert_eq!(
        plan.for_schedule(&planned, "joe", &record, START + 3300),
        Freshness::Serve
    );
    let mut password = record.clone();
    password.method = Some(Method::Credentials);
    assert!(matches!(
        plan.for_schedule(&planned, "artist", &password, START + 3300),
        Freshness::Refuse { .. }
    ));
}

#[test]
fn only_acceptance_is_recorded_about_a_token_no_longer_stored() {
    let (used, newer) = (Secret::new("old"), Secret::new("new"));
    let alive = Outcome::KeptAlive {
        expires_at: None,
        site_now: None,
    };
    let refused = [
        Outcome::Expired {
            reason: "102".into(),
        },
        Outcome::ClaimsLapsed {
            reason: "302".into(),
        },
        Outcome::Unreachable {
            reason: "503".into(),
        },
    ];
    assert!(alive.concerns(&used, Some(&newer)));
    assert!(alive.concerns(&used, None));
    for outcome in refused {
        assert!(outcome.concerns(&used, Some(&used)), "{outcome:?}");
        assert!(!outcome.concerns(&used, Some(&newer)), "{outcome:?}");
        assert!(!outcome.concerns(&used, None), "{outcome:?}");
    }
}

#[test]
fn a_site_that_cannot_be_reached_is_not_renewed_against_but_one_that_answers_is() {
    let url = url::Url::parse("https://studio.example.com/api3/json").unwrap();
    for error in [
        Api3Error::Network {
            url: url.clone(),
            detail: "connection refused".into(),
        },
        Api3Error::Http {
            url: url.clone(),
            status: 502,
        },
        Api3Error::NotFpt {
            url: url.clone(),
            detail: "answers with a proxy's page".into(),
        },
    ] {
        assert_eq!(unreachable(&error), Some(error.to_string()));
    }
    // The site answered: the renewal goes ahead, and what it ends with needs the person (with
    // the plan's slower retry), instead of a back-off that never tells anyone.
    for answered in [
        Api3Error::Fault {
            url: url.clone(),
            code: 1,
            message: "maintenance".into(),
        },
        Api3Error::Redirect {
            url: url.clone(),
            location: "/maintenance".into(),
        },
        // Lapsed claims are what the renewal is for.
        Api3Error::ClaimsExpired { url },
    ] {
        assert_eq!(unreachable(&answered), None, "{answered}");
    }
}

/// Runs [`Freshness::serve`] with the plan answering `answers` in turn and a renewal that
/// ends with `renewal`; returns the result and how many renewals ran.
fn serve_with(answers: [Freshness; 2], renewal: Result<(), String>) -> (Result<(), String>, usize) {
    let mut answers = answers.into_iter();
    let renewals = std::cell::Cell::new(0);
    let renew = async {
        renewals.set(renewals.get() + 1);
        renewal
    };
    let result = block_on(Freshness::serve(
        &site_name(),
        || Ok::<_, String>(answers.next().expect("asked at most twice")),
        renew,
        |reason| reason,
    ));
    (result, renewals.get())
}

fn block_on<F: Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(future)
}

#[test]
fn a_caller_is_renewed_for_asked_again_and_refused_with_why_the_renewal_failed() {
    let refuse = |reason: &str| Freshness::Refuse {
        reason: reason.into(),
    };
    assert_eq!(
        serve_with([Freshness::Serve, refuse("unused")], Err("unused".into())),
        (Ok(()), 0)
    );
    assert_eq!(
        serve_with([refuse("short"), Freshness::Serve], Ok(())),
        (Err("short".into()), 0)
    );
    assert_eq!(
        serve_with([Freshness::RenewFirst, Freshness::Serve], Ok(())),
        (Ok(()), 1)
    );
    // Someone else renewed meanwhile: the failure of this one does not matter.
    assert_eq!(
        serve_with(
            [Freshness::RenewFirst, Freshness::Serve],
            Err("watchdog".into())
        ),
        (Ok(()), 1)
    );
    assert_eq!(
        serve_with(
            [Freshness::RenewFirst, refuse("renewed 1s ago")],
            Err("watchdog".into())
        ),
        (Err("renewed 1s ago".into()), 1)
    );
    assert_eq!(
        serve_with(
            [Freshness::RenewFirst, Freshness::RenewFirst],
            Err("watchdog".into())
        ),
        (Err("watchdog".into()), 1)
    );
    let (result, _) = serve_with([Freshness::RenewFirst, Freshness::RenewFirst], Ok(()));
    assert_eq!(
        result,
        Err("the session on https://studio.example.com could not be renewed".into())
    );
}
