//! The App Session Launcher from the app: the approval page opens in the system browser and
//! the app polls (from this one place only: the token is handed out once) until it is
//! approved, refused, expired, timed out or cancelled.

use std::sync::Arc;

use anyhow::Context as _;
use fpt_login_core::model::SignInState;
use fpt_login_core::signin::{self, ApprovalPage, AslOptions, SiteClient};
use fpt_login_core::{Site, time};
use tauri::{AppHandle, Manager as _, Runtime};

use super::status;
use crate::{AppState, SignInStatus};

/// The App Session Launcher sign-in in progress, so that Cancel can stop it.
#[derive(Debug)]
pub struct AslRun {
    site: Site,
    task: tauri::async_runtime::JoinHandle<()>,
}

/// Starts an App Session Launcher sign-in for `site`, replacing one in progress.
pub fn start_asl<R: Runtime>(app: &AppHandle<R>, site: &Site) {
    let state = app.state::<AppState>();
    if super::keyring_unusable(app, &state, site) {
        return;
    }
    if let Some(previous) = state.asl.lock().expect("asl lock").take() {
        previous.task.abort();
    }
    state.report(
        app,
        status(
            SignInState::Waiting,
            site,
            "Asking the site for a sign-in request…",
        ),
    );
    let task = tauri::async_runtime::spawn(run(app.clone(), site.clone()));
    *state.asl.lock().expect("asl lock") = Some(AslRun {
        site: site.clone(),
        task,
    });
}

/// Stops the App Session Launcher sign-in in progress; returns whether there was one.
pub fn cancel_asl<R: Runtime>(app: &AppHandle<R>) -> bool {
    let state = app.state::<AppState>();
    let Some(run) = state.asl.lock().expect("asl lock").take() else {
        return false;
    };
    run.task.abort();
    state.report(
        app,
        status(
            SignInState::Cancelled,
            &run.site,
            "Sign-in cancelled: the request was abandoned.",
        ),
    );
    true
}

async fn run<R: Runtime>(app: AppHandle<R>, site: Site) {
    let outcome = approve_and_store(&app, &site).await;
    let state = app.state::<AppState>();
    // Finished by itself: nothing is left for Cancel to stop.
    state.asl.lock().expect("asl lock").take();
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

async fn approve_and_store<R: Runtime>(app: &AppHandle<R>, site: &Site) -> anyhow::Result<String> {
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
    let session = signin::app_session_launcher(&api, options, time::now(), show).await?;
    let login = session.login.clone();
    let accounts = Arc::clone(&state.accounts);
    let site = site.clone();
    tauri::async_runtime::spawn_blocking(move || accounts.sign_in(&site, &session))
        .await
        .context("storing the session stopped unexpectedly")??;
    Ok(login)
}
