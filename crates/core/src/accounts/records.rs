//! The non-secret half of a session, as it changes: pure edits of [`Settings`], so each rule
//! (who becomes current, what a renewal keeps, which state a check leaves) is unit-tested
//! without a file or a keyring.

use crate::model::SessionState;
use crate::protocol::{NewSession, SiteStatus, StatusInfo, UserStatus};
use crate::settings::{Settings, UserRecord, push_recent};
use crate::site::Site;

/// Who a site's current user was before a sign-in, for the announcement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Replaced {
    /// The same person again: a renewal.
    SamePerson,
    /// Someone else was the current user.
    Someone(String),
    Nobody,
}

/// Records a validated session as `site`'s current user; with `make_default` (or when there
/// is no default yet) `site` becomes the default site.
pub fn record_session(
    settings: &mut Settings,
    site: &Site,
    session: &NewSession,
    make_default: bool,
    now: i64,
) -> Replaced {
    push_recent(&mut settings.recent_sites, site.clone());
    if make_default || settings.default_site.is_none() {
        settings.default_site = Some(site.clone());
    }
    let s = settings.sites.entry(site.clone()).or_default();
    let previous = s.current_user.replace(session.login.clone());
    // A person signing in on a farm machine takes over from its script.
    s.current_script = None;
    push_recent(&mut s.recent_users, session.login.clone());
    let record = s.users.entry(session.login.clone()).or_default();
    let was_signed_in = record.signed_in_at != 0;
    *record = UserRecord {
        user_id: session.user_id,
        name: session.name.clone(),
        method: Some(session.method),
        signed_in_at: now,
        claims_expire_at: session.claims_expire_at,
        session_expires_at: session.session_expires_at,
        state: SessionState::Active,
        attention: None,
        unknown: std::mem::take(&mut record.unknown),
    };
    match previous {
        Some(previous) if previous == session.login && was_signed_in => Replaced::SamePerson,
        Some(previous) if previous != session.login => Replaced::Someone(previous),
        _ => Replaced::Nobody,
    }
}

/// Records a renewal of `login`'s session on `site` that was signed in at
/// `expected_signed_in_at`: only that person's record changes (the site's current user, its
/// script and the recent lists stay as they are). Returns false, changing nothing, when that
/// session is gone or was replaced meanwhile.
pub fn record_renewal(
    settings: &mut Settings,
    site: &Site,
    session: &NewSession,
    expected_signed_in_at: i64,
    now: i64,
) -> bool {
    let Some(record) = settings
        .sites
        .get_mut(site)
        .and_then(|s| s.users.get_mut(&session.login))
    else {
        return false;
    };
    if record.signed_in_at != expected_signed_in_at {
        return false;
    }
    *record = UserRecord {
        user_id: session.user_id,
        name: session.name.clone(),
        method: Some(session.method),
        signed_in_at: now.max(expected_signed_in_at.saturating_add(1)),
        claims_expire_at: session.claims_expire_at,
        session_expires_at: session.session_expires_at,
        state: SessionState::Active,
        attention: None,
        unknown: std::mem::take(&mut record.unknown),
    };
    true
}

/// Sets the state of `login`'s session on `site`; returns whether it changed (`None` when
/// nobody by that login is signed in there).
pub fn mark(
    settings: &mut Settings,
    site: &Site,
    login: &str,
    state: SessionState,
    why: &str,
) -> Option<bool> {
    let record = settings.sites.get_mut(site)?.users.get_mut(login)?;
    let changed = record.state != state;
    record.state = state;
    record.attention = (state != SessionState::Active).then(|| why.to_owned());
    Some(changed)
}

/// Records when the site says the session idles out (epoch seconds), or forgets the hint.
pub fn set_session_expiry(
    settings: &mut Settings,
    site: &Site,
    login: &str,
    expires_at: Option<i64>,
) {
    if let Some(record) = settings
        .sites
        .get_mut(site)
        .and_then(|s| s.users.get_mut(login))
    {
        record.session_expires_at = expires_at;
    }
}

/// Makes `site` the default and `login` (who must be signed in there) its current user;
/// returns false when there is nobody (or not that person) to make current.
pub fn use_site(settings: &mut Settings, site: &Site, login: Option<&str>) -> bool {
    let Some(s) = settings.sites.get_mut(site) else {
        return false;
    };
    match login {
        Some(login) if !s.users.contains_key(login) => return false,
        Some(login) => {
            s.current_user = Some(login.to_owned());
            s.current_script = None;
            push_recent(&mut s.recent_users, login.to_owned());
        }
        None if s.users.is_empty() && s.scripts.is_empty() => return false,
        None => {}
    }
    settings.default_site = Some(site.clone());
    push_recent(&mut settings.recent_sites, site.clone());
    true
}

/// Every site and user known, with what is known of their sessions, most recently used site
/// first (the way people think of their sites).
pub fn status(settings: &Settings) -> StatusInfo {
    let mut sites: Vec<SiteStatus> = settings
        .sites
        .iter()
        .map(|(site, s)| SiteStatus {
            site: site.clone(),
            current_user: s
                .current_user
                .clone()
                .filter(|login| s.users.contains_key(login)),
            users: s
                .users
                .iter()
                .map(|(login, r)| UserStatus {
                    login: login.clone(),
                    name: r.name.clone(),
                    method: r.method,
                    signed_in_at: r.signed_in_at,
                    expires_at: r.expires_at(),
                    state: r.state,
                    attention: r.attention.clone(),
                })
                .collect(),
            scripts: s.scripts.keys().cloned().collect(),
            current_script: s.current_script.clone(),
        })
        .collect();
    sites.sort_by_key(|s| {
        settings
            .recent_sites
            .iter()
            .position(|r| *r == s.site)
            .unwrap_or(usize::MAX)
    });
    StatusInfo {
        default_site: settings.default_site.clone(),
        sites,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Method;
    use crate::secret::Secret;

    fn site(s: &str) -> Site {
        Site::parse(s).unwrap()
    }

    fn session(login: &str) -> NewSession {
        NewSession {
            login: login.to_owned(),
            token: Secret::new("t"),
            user_id: Some(1),
            name: None,
            method: Method::Web,
            claims_expire_at: Some(500),
            session_expires_at: None,
        }
    }

    #[test]
    fn the_same_person_again_is_a_renewal_someone_else_replaces_them() {
        let mut settings = Settings::default();
        let a = site("https://a.example.com");
        assert_eq!(
            record_session(&mut settings, &a, &session("jane"), true, 10),
            Replaced::Nobody
        );
        assert_eq!(
            record_session(&mut settings, &a, &session("jane"), false, 20),
            Replaced::SamePerson
        );
        assert_eq!(settings.sites[&a].users["jane"].signed_in_at, 20);
        assert_eq!(
            record_session(&mut settings, &a, &session("joe"), true, 30),
            Replaced::Someone("jane".to_owned())
        );
        assert_eq!(settings.sites[&a].current_user.as_deref(), Some("joe"));
        assert!(
            settings.sites[&a].users.contains_key("jane"),
            "the previous person keeps their record"
        );
    }

    #[test]
    fn a_renewal_changes_only_the_person_renewed_and_only_their_session() {
        let mut settings = Settings::default();
        let a = site("https://a.example.com");
        record_session(&mut settings, &a, &session("jane"), true, 10);
        record_session(&mut settings, &a, &session("joe"), true, 20);
        let before = settings.clone();
        // jane's session of 10 is renewed while joe is current: joe stays current.
        assert!(record_renewal(&mut settings, &a, &session("jane"), 10, 30));
        assert_eq!(settings.sites[&a].current_user.as_deref(), Some("joe"));
        assert_eq!(
            settings.sites[&a].recent_users,
            before.sites[&a].recent_users
        );
        assert_eq!(settings.sites[&a].users["jane"].signed_in_at, 30);
        // A renewal of a session that was replaced (or signed out) meanwhile changes nothing.
        let before = settings.clone();
        assert!(!record_renewal(&mut settings, &a, &session("jane"), 10, 40));
        assert!(!record_renewal(
            &mut settings,
            &a,
            &session("nobody"),
            10,
            40
        ));
        assert_eq!(settings, before);
        // Each renewal is a new generation, even within the same second.
        assert!(record_renewal(&mut settings, &a, &session("jane"), 30, 30));
        assert_eq!(settings.sites[&a].users["jane"].signed_in_at, 31);
    }

    #[test]
    fn a_renewal_does_not_move_the_default_site() {
        let mut settings = Settings::default();
        let (a, b) = (site("https://a.example.com"), site("https://b.example.com"));
        record_session(&mut settings, &a, &session("jane"), true, 1);
        record_session(&mut settings, &b, &session("jane"), false, 2);
        assert_eq!(settings.default_site, Some(a.clone()));
        record_session(&mut settings, &b, &session("jane"), true, 3);
        assert_eq!(settings.default_site, Some(b));
    }

    #[test]
    fn marking_says_whether_anything_changed_and_keeps_why() {
        let mut settings = Settings::default();
        let a = site("https://a.example.com");
        assert_eq!(
            mark(&mut settings, &a, "jane", SessionState::Expired, "gone"),
            None
        );
        record_session(&mut settings, &a, &session("jane"), true, 1);
        assert_eq!(
            mark(&mut settings, &a, "jane", SessionState::Expired, "gone"),
            Some(true)
        );
        assert_eq!(
            mark(&mut settings, &a, "jane", SessionState::Expired, "gone"),
            Some(false)
        );
        let record = &settings.sites[&a].users["jane"];
        assert_eq!(record.attention.as_deref(), Some("gone"));
        mark(&mut settings, &a, "jane", SessionState::Active, "");
        assert_eq!(settings.sites[&a].users["jane"].attention, None);
    }

    #[test]
    fn only_signed_in_people_can_be_made_current() {
        let mut settings = Settings::default();
        let a = site("https://a.example.com");
        assert!(!use_site(&mut settings, &a, None));
        record_session(&mut settings, &a, &session("jane"), true, 1);
        assert!(!use_site(&mut settings, &a, Some("joe")));
        assert!(use_site(&mut settings, &a, Some("jane")));
    }
}
