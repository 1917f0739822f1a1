//! The end of a silent renewal: the hidden page landed, and its session is checked and stored
//! only when it is the same person's, for the session being renewed, with claims that moved.

use std::sync::Arc;

use super::{Generation, Outcome, extends, same_person};
use crate::accounts::{Accounts, AccountsError};
use crate::landing::WebSession;
use crate::signin::{self, SignInError, SiteApi};
use crate::site::Site;

/// What became of a landed renewal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Landing {
    /// Stored as the person's renewed session.
    Renewed { claims_expire_at: Option<i64> },
    /// The same person, but the claims did not move; nothing stored.
    NotExtended,
    /// The page signed in as someone else (`login`); nothing stored, the site's current user
    /// left as it was.
    SomeoneElse { login: String },
    /// The session being renewed was replaced or signed out meanwhile; nothing stored.
    Superseded,
}

#[derive(Debug, thiserror::Error)]
pub enum CompletionError {
    #[error("cannot check the renewed session of {login} on {site}: {source}")]
    Check {
        site: Site,
        login: String,
        source: SignInError,
    },
    #[error("cannot store the renewed session of {login} on {site}: {source}")]
    Accounts {
        site: Site,
        login: String,
        source: AccountsError,
    },
    #[error("storing the renewed session of {login} on {site} stopped unexpectedly")]
    Interrupted { site: Site, login: String },
}

impl CompletionError {
    /// Whether the site could not be asked about the landed session
    /// ([`super::site_unreachable`]): then nothing is known and the renewal is tried again
    /// later. Any answer the site gave (it refused the session, says it is someone else's,
    /// a fault) needs the person, as does a store that failed: retrying on a timer would open
    /// a hidden window each time for the same answer.
    pub fn site_unreachable(&self) -> bool {
        match self {
            Self::Check { source, .. } => {
                !source.needs_person()
                    && matches!(source, SignInError::Site(e) if super::site_unreachable(e))
            }
            Self::Accounts { .. } | Self::Interrupted { .. } => false,
        }
    }
}

/// Why a silent renewal stored nothing.
#[derive(Debug, thiserror::Error)]
pub enum SilentRenewalError {
    /// The IdP did not send the hidden page back to the site in time: it shows its form, is
    /// too slow, or fails.
    #[error(
        "the sign-in page did not finish within {0} s (the identity provider may want you to sign in again)"
    )]
    Watchdog(u64),
    /// The hidden page could not be opened, or what it landed with could not be read.
    #[error("{0}")]
    Page(String),
    /// What the page landed with could not be checked or stored.
    #[error(transparent)]
    Completion(#[from] CompletionError),
}

impl Outcome {
    /// What the end of a silent renewal means for the session renewed; `None` when it says
    /// nothing about it (a newer session is stored already, and it is the one callers get).
    /// Only a site that could not be asked is retried after a back-off: network trouble
    /// never needs the person.
    pub fn of_renewal(ended: Result<Landing, SilentRenewalError>) -> Option<Self> {
        let needs_person = |reason: String| Self::NeedsPerson { reason };
        Some(match ended {
            Ok(Landing::Renewed { .. }) => Self::Renewed,
            Ok(Landing::Superseded) => return None,
            Ok(Landing::NotExtended) => {
                needs_person("the identity provider did not extend the session".to_owned())
            }
            Ok(Landing::SomeoneElse { login }) => Self::LandedAsSomeoneElse { login },
            Err(SilentRenewalError::Watchdog(s)) => needs_person(format!(
                "the silent renewal did not finish within {s} s; the identity provider wants you to sign in again"
            )),
            Err(SilentRenewalError::Completion(e)) if e.site_unreachable() => Self::Unreachable {
                reason: e.to_string(),
            },
            Err(e) => needs_person(format!("the silent renewal failed: {e}")),
        })
    }
}

/// Checks what a silent renewal of `renewing` landed with and stores it as that person's
/// renewed session, or says why it was not stored.
pub async fn complete(
    accounts: Arc<Accounts>,
    api: &impl SiteApi,
    renewing: &Generation,
    landed: WebSession,
) -> Result<Landing, CompletionError> {
    let site = api.site();
    let login = renewing.login.clone();
    let accounts_error = |source| CompletionError::Accounts {
        site: site.clone(),
        login: login.clone(),
        source,
    };
    let Some(before) = accounts.record(site, &login).map_err(accounts_error)? else {
        return Ok(Landing::Superseded);
    };
    if Generation::of(&login, &before) != *renewing {
        return Ok(Landing::Superseded);
    }
    // The cookies already say who it is: someone else's token is not even checked.
    if !same_person(&login, before.user_id, &landed.login, landed.user_id) {
        return Ok(Landing::SomeoneElse {
            login: landed.login,
        });
    }
    let mut session = signin::complete_web_sign_in(api, landed)
        .await
        .map_err(|source| CompletionError::Check {
            site: site.clone(),
            login: login.clone(),
            source,
        })?;
    if !same_person(&login, before.user_id, &session.login, session.user_id) {
        return Ok(Landing::SomeoneElse {
            login: session.login,
        });
    }
    if !extends(before.claims_expire_at, session.claims_expire_at) {
        return Ok(Landing::NotExtended);
    }
    let claims_expire_at = session.claims_expire_at;
    // The record keeps its key even when the site spells the login differently.
    session.login.clone_from(&login);
    let store_site = site.clone();
    let expected = renewing.signed_in_at;
    // Stored only if the session renewed is still the person's current one: a sign-out or a
    // new sign-in while the site was checking wins.
    let stored = tokio::task::spawn_blocking(move || {
        accounts.store_renewal(&store_site, &session, expected)
    })
    .await
    .map_err(|_| CompletionError::Interrupted {
        site: site.clone(),
        login: login.clone(),
    })?
    .map_err(accounts_error)?;
    if !stored {
        return Ok(Landing::Superseded);
    }
    Ok(Landing::Renewed { claims_expire_at })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::method::Pick;
    use crate::model::Method;
    use crate::paths::Paths;
    use crate::protocol::NewSession;
    use crate::secret::Secret;
    use crate::settings::{SiteSettings, UserRecord};
    use crate::signin::fake::FakeSite;

    fn fake() -> FakeSite {
        FakeSite::sso()
    }

    /// Accounts (secrets in memory) with `jane`, user 42, signed in to the fake site.
    fn accounts(home: &std::path::Path) -> Arc<Accounts> {
        let accounts = Accounts::in_memory(&Paths::under(home.to_owned()));
        accounts
            .settings_file()
            .update(|settings| {
                let s = settings
                    .sites
                    .entry(fake().site().clone())
                    .or_insert_with(SiteSettings::default);
                s.current_user = Some("jane".into());
                s.users.insert(
                    "jane".into(),
                    UserRecord {
                        user_id: Some(42),
                        method: Some(Method::Web),
                        signed_in_at: 1000,
                        claims_expire_at: Some(2000),
                        ..UserRecord::default()
                    },
                );
            })
            .unwrap();
        Arc::new(accounts)
    }

    fn landed(login: &str, user_id: u64, token: &str, claims: i64) -> WebSession {
        WebSession {
            login: login.into(),
            token: Secret::new(token),
            user_id: Some(user_id),
            claims_expire_at: Some(claims),
            session_expires_at: None,
        }
    }

    /// What `complete` makes of `landed`, which must not be an error.
    async fn landing(
        accounts: &Arc<Accounts>,
        api: &FakeSite,
        renewing: &Generation,
        landed: WebSession,
    ) -> Landing {
        complete(Arc::clone(accounts), api, renewing, landed)
            .await
            .unwrap()
    }

    fn jane(signed_in_at: i64) -> Generation {
        Generation {
            login: "jane".into(),
            signed_in_at,
        }
    }

    #[tokio::test]
    async fn the_same_person_with_claims_that_moved_is_stored() {
        let home = tempfile::tempdir().unwrap();
        let accounts = accounts(home.path());
        let landing = landing(
            &accounts,
            &fake(),
            &jane(1000),
            landed("Jane", 42, FakeSite::TOKEN, 5000),
        )
        .await;
        assert_eq!(
            landing,
            Landing::Renewed {
                claims_expire_at: Some(5000)
            }
        );
        let record = accounts.record(fake().site(), "jane").unwrap().unwrap();
        assert_eq!(record.claims_expire_at, Some(5000));
    }

    #[tokio::test]
    async fn landing_as_someone_else_stores_nothing() {
        let home = tempfile::tempdir().unwrap();
        let accounts = accounts(home.path());
        let before = accounts.settings_file().load().unwrap();
        for session in [
            landed("intruder", 8, FakeSite::TOKEN, 5000),
            landed("jane", 8, FakeSite::TOKEN, 5000),
        ] {
            let landing = complete(Arc::clone(&accounts), &fake(), &jane(1000), session)
                .await
                .unwrap();
            assert!(
                matches!(&landing, Landing::SomeoneElse { .. }),
                "{landing:?}"
            );
        }
        let after = accounts.settings_file().load().unwrap();
        assert_eq!(
            after, before,
            "the site's current user and record untouched"
        );
    }

    #[tokio::test]
    async fn claims_that_did_not_move_are_not_a_renewal() {
        let home = tempfile::tempdir().unwrap();
        let accounts = accounts(home.path());
        let landing = landing(
            &accounts,
            &fake(),
            &jane(1000),
            landed("jane", 42, FakeSite::TOKEN, 2000),
        )
        .await;
        assert_eq!(landing, Landing::NotExtended);
    }

    #[tokio::test]
    async fn a_token_the_site_refuses_is_an_error_and_nothing_is_stored() {
        let home = tempfile::tempdir().unwrap();
        let accounts = accounts(home.path());
        let before = accounts.settings_file().load().unwrap();
        let e = complete(
            Arc::clone(&accounts),
            &fake(),
            &jane(1000),
            landed("jane", 42, "forged", 5000),
        )
        .await
        .unwrap_err();
        assert!(matches!(e, CompletionError::Check { .. }), "{e}");
        assert_eq!(accounts.settings_file().load().unwrap(), before);
    }

    #[tokio::test]
    async fn a_sign_out_while_the_site_checks_the_renewal_is_not_undone() {
        let home = tempfile::tempdir().unwrap();
        let accounts = accounts(home.path());
        let meanwhile = Arc::clone(&accounts);
        let site = fake().site().clone();
        let signing_out = fake().during_read(move || {
            meanwhile.sign_out(Some(&site), Some("jane")).unwrap();
        });
        let landing = landing(
            &accounts,
            &signing_out,
            &jane(1000),
            landed("jane", 42, FakeSite::TOKEN, 5000),
        )
        .await;
        assert_eq!(landing, Landing::Superseded);
        let site = fake().site().clone();
        assert!(accounts.record(&site, "jane").unwrap().is_none());
        assert!(
            accounts.token(&site, "jane").unwrap().is_none(),
            "no token revived"
        );
        assert!(accounts.user(Some(&site), None).is_err());
    }

    #[tokio::test]
    async fn someone_becoming_current_while_the_site_checks_stays_current() {
        let home = tempfile::tempdir().unwrap();
        let accounts = accounts(home.path());
        let meanwhile = Arc::clone(&accounts);
        let site = fake().site().clone();
        let joe_signs_in = fake().during_read(move || {
            let joe = NewSession {
                login: "joe".into(),
                token: Secret::new("joe's"),
                user_id: Some(9),
                name: None,
                method: Method::Web,
                claims_expire_at: None,
                session_expires_at: None,
            };
            meanwhile.sign_in(&site, &joe, Pick::Offered).unwrap();
        });
        let landing = landing(
            &accounts,
            &joe_signs_in,
            &jane(1000),
            landed("jane", 42, FakeSite::TOKEN, 5000),
        )
        .await;
        assert!(matches!(landing, Landing::Renewed { .. }), "{landing:?}");
        let site = fake().site().clone();
        let settings = accounts.settings_file().load().unwrap();
        assert_eq!(settings.sites[&site].current_user.as_deref(), Some("joe"));
    }

    #[tokio::test]
    async fn a_renewal_for_a_session_replaced_meanwhile_stores_nothing() {
        let home = tempfile::tempdir().unwrap();
        let accounts = accounts(home.path());
        let landing = landing(
            &accounts,
            &fake(),
            &jane(999),
            landed("jane", 42, FakeSite::TOKEN, 5000),
        )
        .await;
        assert_eq!(landing, Landing::Superseded);
        let gone = Generation {
            login: "joe".into(),
            signed_in_at: 1000,
        };
        let landing = complete(accounts, &fake(), &gone, landed("joe", 9, "t", 5000))
            .await
            .unwrap();
        assert_eq!(landing, Landing::Superseded);
    }

    fn check_failed(source: impl Into<SignInError>) -> SilentRenewalError {
        CompletionError::Check {
            site: fake().site().clone(),
            login: "jane".into(),
            source: source.into(),
        }
        .into()
    }

    #[test]
    fn a_renewal_the_site_could_not_check_is_retried_not_put_to_the_person() {
        let url = url::Url::parse("https://a.example.com/api3/json").unwrap();
        for unreachable in [
            crate::api3::Api3Error::Network {
                url: url.clone(),
                detail: "connection refused".into(),
            },
            crate::api3::Api3Error::Http {
                url: url.clone(),
                status: 503,
            },
        ] {
            let outcome = Outcome::of_renewal(Err(check_failed(unreachable)));
            assert!(
                matches!(outcome, Some(Outcome::Unreachable { .. })),
                "{outcome:?}"
            );
        }
        for refused in [
            // The site answered: the same answer would come back at every retry.
            check_failed(crate::api3::Api3Error::Fault {
                url: url.clone(),
                code: 1,
                message: "boom".into(),
            }),
            check_failed(crate::api3::Api3Error::SessionExpired {
                url: url.clone(),
                message: "expired".into(),
            }),
            check_failed(crate::api3::Api3Error::ClaimsExpired { url }),
            check_failed(crate::api3::Api3Error::UnknownUser {
                login: "jane".into(),
            }),
            check_failed(SignInError::WrongPerson {
                site: fake().site().clone(),
                login: "joe".into(),
                cookie_id: 42,
            }),
            SilentRenewalError::Completion(CompletionError::Interrupted {
                site: fake().site().clone(),
                login: "jane".into(),
            }),
            SilentRenewalError::Page("cannot read the cookies".into()),
            SilentRenewalError::Watchdog(30),
        ] {
            let outcome = Outcome::of_renewal(Err(refused));
            assert!(
                matches!(outcome, Some(Outcome::NeedsPerson { .. })),
                "{outcome:?}"
            );
        }
    }

    #[test]
    fn what_landed_says_what_to_record() {
        assert_eq!(
            Outcome::of_renewal(Ok(Landing::Renewed {
                claims_expire_at: Some(5000)
            })),
            Some(Outcome::Renewed)
        );
        assert_eq!(Outcome::of_renewal(Ok(Landing::Superseded)), None);
        assert!(matches!(
            Outcome::of_renewal(Ok(Landing::NotExtended)),
            Some(Outcome::NeedsPerson { .. })
        ));
        assert_eq!(
            Outcome::of_renewal(Ok(Landing::SomeoneElse {
                login: "joe".into()
            })),
            Some(Outcome::LandedAsSomeoneElse {
                login: "joe".into()
            })
        );
        let Some(Outcome::NeedsPerson { reason }) =
            Outcome::of_renewal(Err(SilentRenewalError::Watchdog(30)))
        else {
            panic!("the watchdog means the IdP wants its form");
        };
        assert!(reason.contains("within 30 s"), "{reason}");
    }
}
