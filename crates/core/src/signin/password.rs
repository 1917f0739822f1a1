//! Login + password (+ two-factor or backup code). The password goes to the site once and is
//! then dropped; it is never stored or logged.

use super::{Expiry, SignInError, SiteApi, validate};
use crate::api3::Api3Error;
use crate::model::Method;
use crate::protocol::NewSession;
use crate::secret::Secret;

/// What came of a login and password.
#[derive(Debug)]
pub enum PasswordOutcome {
    SignedIn(NewSession),
    /// The account needs a two-factor (or backup) code: ask for one and try again with it.
    /// `wrong_code` when the one sent was not accepted.
    NeedsCode {
        wrong_code: bool,
    },
    /// Wrong login or password: ask again, keeping the login.
    WrongLoginOrPassword,
    /// The site takes no passwords (SSO or Autodesk Identity): use the web sign-in.
    UseWeb {
        identity: bool,
    },
}

impl PasswordOutcome {
    /// What to tell the person, for every outcome but a sign-in.
    pub fn message(&self) -> String {
        let error = match self {
            Self::SignedIn(session) => return format!("signed in as {}", session.login),
            Self::NeedsCode { wrong_code: false } => Api3Error::TwoFactorRequired,
            Self::NeedsCode { wrong_code: true } => Api3Error::WrongTwoFactorCode,
            Self::WrongLoginOrPassword => Api3Error::WrongPassword,
            Self::UseWeb { identity: false } => Api3Error::SsoOnly,
            Self::UseWeb { identity: true } => Api3Error::IdentityOnly,
        };
        error.to_string()
    }
}

/// Signs in with `login` and `password`, and `code` when the account needs one. Errors are
/// what the person cannot fix by typing again (the site is unreachable, answers nonsense).
pub async fn with_password(
    api: &impl SiteApi,
    login: &str,
    password: &Secret,
    code: Option<&str>,
) -> Result<PasswordOutcome, SignInError> {
    let code = code.map(str::trim).filter(|c| !c.is_empty());
    let token = match api.get_session_token(login.trim(), password, code).await {
        Ok(token) => token,
        Err(Api3Error::TwoFactorRequired) => {
            return Ok(PasswordOutcome::NeedsCode { wrong_code: false });
        }
        Err(Api3Error::WrongTwoFactorCode) => {
            return Ok(PasswordOutcome::NeedsCode { wrong_code: true });
        }
        Err(Api3Error::WrongPassword) => return Ok(PasswordOutcome::WrongLoginOrPassword),
        Err(Api3Error::SsoOnly) => return Ok(PasswordOutcome::UseWeb { identity: false }),
        Err(Api3Error::IdentityOnly) => return Ok(PasswordOutcome::UseWeb { identity: true }),
        Err(other) => return Err(other.into()),
    };
    let session = validate(
        api,
        login.trim(),
        token,
        Method::Credentials,
        Expiry::default(),
    )
    .await?;
    Ok(PasswordOutcome::SignedIn(session))
}

#[cfg(test)]
mod tests {
    use super::super::fake::FakeSite;
    use super::*;

    async fn try_with(
        fake: &FakeSite,
        login: &str,
        password: &str,
        code: Option<&str>,
    ) -> PasswordOutcome {
        with_password(fake, login, &Secret::new(password), code)
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn the_right_password_signs_in_with_a_checked_session() {
        let fake = FakeSite::passwords();
        let outcome = try_with(&fake, " jane ", FakeSite::PASSWORD, None).await;
        let PasswordOutcome::SignedIn(session) = outcome else {
            panic!("{outcome:?}");
        };
        assert_eq!(
            (session.login.as_str(), session.method),
            ("jane", Method::Credentials)
        );
        assert_eq!(fake.calls("read"), 1);
    }

    #[tokio::test]
    async fn a_wrong_password_asks_again() {
        let fake = FakeSite::passwords();
        let outcome = try_with(&fake, "jane", "guess", None).await;
        assert!(matches!(outcome, PasswordOutcome::WrongLoginOrPassword));
        assert_eq!(outcome.message(), "wrong login or password");
    }

    #[tokio::test]
    async fn two_factor_asks_for_a_code_then_says_when_it_is_wrong() {
        let fake = FakeSite::passwords().with_two_factor();
        let first = try_with(&fake, "jane", FakeSite::PASSWORD, None).await;
        assert!(matches!(
            first,
            PasswordOutcome::NeedsCode { wrong_code: false }
        ));
        assert!(
            first.message().contains("backup code"),
            "{}",
            first.message()
        );
        // A blank code is no code.
        let blank = try_with(&fake, "jane", FakeSite::PASSWORD, Some("  ")).await;
        assert!(matches!(
            blank,
            PasswordOutcome::NeedsCode { wrong_code: false }
        ));
        let wrong = try_with(&fake, "jane", FakeSite::PASSWORD, Some("000000")).await;
        assert!(matches!(
            wrong,
            PasswordOutcome::NeedsCode { wrong_code: true }
        ));
        let right = try_with(&fake, "jane", FakeSite::PASSWORD, Some(FakeSite::CODE)).await;
        assert!(matches!(right, PasswordOutcome::SignedIn(_)));
    }

    #[tokio::test]
    async fn sites_that_refuse_passwords_send_the_person_to_the_web_sign_in() {
        for (why, identity) in [
            ((|| Api3Error::SsoOnly) as fn() -> Api3Error, false),
            (|| Api3Error::IdentityOnly, true),
        ] {
            let fake = FakeSite::passwords().refusing_passwords(why);
            let outcome = try_with(&fake, "jane", FakeSite::PASSWORD, None).await;
            assert!(
                matches!(outcome, PasswordOutcome::UseWeb { identity: i } if i == identity),
                "{outcome:?}"
            );
        }
    }

    #[tokio::test]
    async fn an_unreachable_site_is_an_error_not_a_wrong_password() {
        let fake = FakeSite::passwords().refusing_passwords(|| Api3Error::Http {
            url: url::Url::parse("https://studio.example.com/api3/json").unwrap(),
            status: 503,
        });
        let e = with_password(&fake, "jane", &Secret::new("x"), None)
            .await
            .unwrap_err();
        assert!(!e.needs_person(), "{e}");
        assert!(e.to_string().contains("503"), "{e}");
    }
}
