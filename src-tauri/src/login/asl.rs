//! The App Session Launcher from the app: the approval page opens in the system browser and
//! the app polls (from this one place only: the token is handed out once) until it is
//! approved, refused, expired, timed out or cancelled. Cancel and the flow race for the run's
//! [`Ending`]: a Cancel that comes after the flow claimed it (the session is being stored) is
//! told it came too late, and one that comes first keeps anything from being stored.

use std::sync::Arc;

use anyhow::Context as _;
use fpt_login_core::method::Pick;
use fpt_login_core::model::SignInState;
use fpt_login_core::protocol::NewSession;
use fpt_login_core::signin::{self, ApprovalPage, AslOptions, Ending, SignInStatus, SiteClient};
use fpt_login_core::{Site, time};
use tauri::{AppHandle, Manager as _, Runtime};

use super::status;
use crate::in_flight::AslRun;
use crate::state::AppState;

impl AslRun {
    /// Stops the run unless its flow already claimed the ending (it is storing the session);
    /// returns whether it stopped.
    fn stop(&self) -> bool {
        let stopped = self.ending.claim();
        if stopped {
            self.task.abort();
        }
        stopped
    }
}

/// Starts an App Session Launcher sign-in for `site`, replacing one in progress.
pub fn start_asl<R: Runtime>(app: &AppHandle<R>, site: &Site, pick: Pick) {
    let state = app.state::<AppState>();
    if super::refused_without_keyring(app, &state, site) {
        return;
    }
    state.report(
        app,
        status(
            SignInState::Waiting,
            site,
            "Asking the site for a sign-in request…",
        ),
    );
    // One lock for replacing the run and recording the new one: a run that ends at once
    // still finds itself in the slot to clear.
    let mut current = state.asl.lock().expect("asl lock");
    if let Some(previous) = current.take() {
        // One that is storing its session finishes doing so and says so.
        previous.stop();
    }
    let ending = Arc::new(Ending::default());
    let task =
        tauri::async_runtime::spawn(run(app.clone(), site.clone(), pick, Arc::clone(&ending)));
    *current = Some(AslRun {
        site: site.clone(),
        ending,
        task,
    });
}

/// Stops the App Session Launcher sign-in in progress; returns whether there was one to stop
/// (not when it is already storing the session the site approved: that one reports itself).
pub fn cancel_asl<R: Runtime>(app: &AppHandle<R>) -> bool {
    let state = app.state::<AppState>();
    let site = {
        let mut current = state.asl.lock().expect("asl lock");
        match current.take_if(|run| run.stop()) {
            Some(run) => run.site,
            None => return false,
        }
    };
    state.report(
        app,
        status(
            SignInState::Cancelled,
            &site,
            "Sign-in cancelled: the request was abandoned.",
        ),
    );
    true
}

async fn run<R: Runtime>(app: AppHandle<R>, site: Site, pick: Pick, ending: Arc<Ending>) {
    let approved = approve(&app, &site, &ending).await;
    // A failure before the approval was handed over is claimed here, so that a Cancel pressed
    // meanwhile and this report never both speak; from the hand-over on, the run is ours to
    // finish and report, whatever happens.
    let outcome = match approved {
        Ok(session) => store(&app, &site, session, pick).await,
        Err(_) if !ending.claim() => {
            forget_run(&app, &ending);
            return;
        }
        Err(e) => Err(e),
    };
    forget_run(&app, &ending);
    let state = app.state::<AppState>();
    match outcome {
        Ok(login) => state.report(
            &app,
            status(
                SignInState::SignedIn,
                &site,
                format!("Signed in to {site} as {login}."),
            ),
        ),
        Err(e) => state.report(&app, status(SignInState::Failed, &site, format!("{e:#}"))),
    }
}

/// Finished by itself: nothing is left for Cancel to stop. A newer run started meanwhile is
/// not this one's to clear.
fn forget_run<R: Runtime>(app: &AppHandle<R>, ending: &Arc<Ending>) {
    app.state::<AppState>()
        .asl
        .lock()
        .expect("asl lock")
        .take_if(|current| Arc::ptr_eq(&current.ending, ending));
}

/// Waits for the approval and checks it; a session returned has its `ending` claimed.
async fn approve<R: Runtime>(
    app: &AppHandle<R>,
    site: &Site,
    ending: &Ending,
) -> anyhow::Result<NewSession> {
    let state = app.state::<AppState>();
    let api = SiteClient::new(site)?;
    let options = AslOptions {
        timeout: state.asl_timeout,
        ..AslOptions::default()
    };
    let show = |page: &ApprovalPage| {
        let message = match page.open_in_browser() {
            Ok(()) => "Approve the sign-in in your web browser.".to_owned(),
            Err(e) => {
                tracing::warn!(error = %e, "no web browser could be opened");
                "Open the page below in a web browser signed in to the site, and approve."
                    .to_owned()
            }
        };
        state.report(
            app,
            SignInStatus {
                url: Some(page.url.to_string()),
                deadline: Some(page.deadline),
                ..status(SignInState::Approve, site, message)
            },
        );
    };
    Ok(signin::app_session_launcher(&api, options, time::now(), ending, show).await?)
}

async fn store<R: Runtime>(
    app: &AppHandle<R>,
    site: &Site,
    session: NewSession,
    pick: Pick,
) -> anyhow::Result<String> {
    let login = session.login.clone();
    let accounts = Arc::clone(&app.state::<AppState>().accounts);
    let site = site.clone();
    tauri::async_runtime::spawn_blocking(move || accounts.sign_in(&site, &session, pick))
        .await
        .context("storing the session stopped unexpectedly")??;
    Ok(login)
}
