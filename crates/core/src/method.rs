//! The ways into a site, and which one to offer first.
//!
//! Availability and order follow tk-core's login dialog (protocol reference §2.3): the App
//! Session Launcher when the site enables it, the web sign-in for SSO and Autodesk Identity
//! sites (and any site with the unified login flow), and login + password always as the last
//! resort. The default is the first that is available of: the choice saved for the site,
//! `SGTK_DEFAULT_AUTH_METHOD`, then App Session Launcher > web > credentials.

use serde::Serialize;

use crate::api3::SiteInfo;
use crate::model::{Method, PREFERENCE};

/// Environment variable Toolkit uses to pick the default method.
pub const DEFAULT_METHOD_ENV: &str = "SGTK_DEFAULT_AUTH_METHOD";

/// What to offer for a site: the default, and the other ways in, one click away.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Offer {
    pub default: Method,
    pub others: Vec<Method>,
}

/// How the way in of a sign-in was picked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pick {
    /// By the person: `--method`, or another way in picked in the sign-in window.
    Chosen,
    /// The default offered for the site, taken as it was.
    Offered,
}

impl Pick {
    /// [`Pick::Chosen`] when `chosen`, as the socket's requests say it.
    pub fn chosen_if(chosen: bool) -> Self {
        if chosen { Self::Chosen } else { Self::Offered }
    }

    /// How `requested` (the method a caller asked for, if any) was picked.
    pub fn of(requested: Option<Method>) -> Self {
        if requested.is_some() {
            Self::Chosen
        } else {
            Self::Offered
        }
    }

    /// One sign-in asked for twice (the open window brought forward by a second request): the
    /// person chose it if either request was their choice.
    #[must_use]
    pub fn joined(self, other: Self) -> Self {
        if self == Self::Chosen || other == Self::Chosen {
            Self::Chosen
        } else {
            Self::Offered
        }
    }
}

/// What to save as the site's choice once a sign-in with `used`, picked as `pick`, succeeded;
/// `None` leaves the saved choice as it is. Only an explicit choice is saved, as tk-core does
/// (protocol reference §2.3): saving a default taken would pin it after the site changes what
/// it offers. A sign-in that failed or was cancelled saves nothing: call this on success only.
pub fn to_remember(used: Method, pick: Pick) -> Option<Method> {
    match pick {
        Pick::Chosen => Some(used),
        Pick::Offered => None,
    }
}

/// The methods `info` says the site supports, in preference order.
pub fn available(info: &SiteInfo) -> Vec<Method> {
    let sso_or_identity = matches!(
        info.user_authentication_method.as_deref(),
        Some("saml2" | "oxygen")
    );
    PREFERENCE
        .into_iter()
        .filter(|m| match m {
            Method::AppSessionLauncher => info.authentication_app_session_launcher_enabled,
            Method::Web => sso_or_identity || info.unified_login_flow_enabled,
            // Always offered, as tk-core does: Autodesk Identity accounts may still sign in
            // with a personal access token, and the site says clearly when it refuses.
            Method::Credentials => true,
        })
        .collect()
}

/// The default and the alternatives for a site. `saved` is the choice remembered for the site,
/// `env_default` the value of `SGTK_DEFAULT_AUTH_METHOD`.
pub fn offer(info: &SiteInfo, saved: Option<Method>, env_default: Option<&str>) -> Offer {
    let available = available(info);
    let env_default = env_default.and_then(Method::from_any_name);
    let default = [saved, env_default]
        .into_iter()
        .flatten()
        .chain(PREFERENCE)
        .find(|m| available.contains(m))
        .unwrap_or(Method::Credentials);
    Offer {
        default,
        others: available.into_iter().filter(|m| *m != default).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Method::{AppSessionLauncher as Asl, Credentials, Web};

    fn info(kind: &str, asl: bool, ulf: bool) -> SiteInfo {
        SiteInfo {
            user_authentication_method: Some(kind.to_owned()),
            unified_login_flow_enabled: ulf,
            authentication_app_session_launcher_enabled: asl,
            ..SiteInfo::default()
        }
    }

    #[test]
    fn a_sign_in_asked_for_again_by_choice_counts_as_chosen() {
        assert_eq!(Pick::Offered.joined(Pick::Chosen), Pick::Chosen);
        assert_eq!(Pick::Chosen.joined(Pick::Offered), Pick::Chosen);
        assert_eq!(Pick::Offered.joined(Pick::Offered), Pick::Offered);
    }

    #[test]
    fn with_the_launcher_every_kind_of_site_defaults_to_it() {
        for kind in ["default", "ldap", "saml2", "oxygen"] {
            let o = offer(&info(kind, true, true), None, None);
            assert_eq!(o.default, Asl, "{kind}");
            assert_eq!(o.others, [Web, Credentials], "{kind}");
        }
    }

    #[test]
    fn without_the_launcher_sso_and_identity_sites_default_to_web() {
        for kind in ["saml2", "oxygen"] {
            let o = offer(&info(kind, false, false), None, None);
            assert_eq!(o.default, Web, "{kind}");
            assert_eq!(o.others, [Credentials], "{kind}");
        }
    }

    #[test]
    fn password_sites_without_launcher_or_unified_login_default_to_credentials() {
        for kind in ["default", "ldap"] {
            let o = offer(&info(kind, false, false), None, None);
            assert_eq!(o.default, Credentials, "{kind}");
            assert!(o.others.is_empty(), "{kind}");
        }
        // The unified login flow makes the site's own web page a way in too.
        let o = offer(&info("default", false, true), None, None);
        assert_eq!((o.default, o.others), (Web, vec![Credentials]));
    }

    #[test]
    fn the_saved_choice_wins_then_the_environment() {
        let site = info("saml2", true, true);
        assert_eq!(
            offer(&site, Some(Credentials), Some("qt_web_login")).default,
            Credentials
        );
        assert_eq!(offer(&site, None, Some("qt_web_login")).default, Web);
        assert_eq!(offer(&site, None, Some("credentials")).default, Credentials);
        let o = offer(&site, None, Some("web"));
        assert_eq!((o.default, o.others), (Web, vec![Asl, Credentials]));
    }

    #[test]
    fn choices_the_site_does_not_offer_are_skipped() {
        let site = info("saml2", false, false);
        assert_eq!(
            offer(&site, Some(Asl), Some("app_session_launcher")).default,
            Web
        );
        assert_eq!(offer(&site, None, Some("nonsense")).default, Web);
    }

    #[test]
    fn only_a_method_the_person_chose_is_remembered() {
        for used in PREFERENCE {
            assert_eq!(to_remember(used, Pick::Chosen), Some(used));
            assert_eq!(to_remember(used, Pick::Offered), None);
        }
        assert_eq!(Pick::of(Some(Web)), Pick::Chosen);
        assert_eq!(Pick::of(None), Pick::Offered);
    }

    #[test]
    fn an_unreachable_site_still_offers_credentials() {
        let o = offer(&SiteInfo::default(), None, None);
        assert_eq!(o.default, Credentials);
    }
}
