//! FPT Login's desktop app: a thin Tauri shell over `fpt-login-core`.
//!
//! It owns what needs a desktop: the tray, the sign-in windows (the local `main` window and
//! the remote web sign-in webview), the Accounts window, and serving the local socket for
//! other programs.
//!
//! The root only wires the modules together: what they share is in `state` (and the work
//! under way it keeps a place for, in `in_flight`), so that no module imports the root.

mod accounts_window;
mod actions;
mod commands;
mod desktop;
mod in_flight;
mod local_api;
mod login;
mod sign_in_window;
mod state;
mod tray;
mod web_engine;

use std::hash::{DefaultHasher, Hash as _, Hasher as _};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use clap::Parser;
use fpt_login_core::accounts::overview::LaunchWindow;
use fpt_login_core::model::SignInState;
use fpt_login_core::paths::{self, Paths};
use fpt_login_core::platform::files;
use fpt_login_core::platform::signals::QuitSignals;
use fpt_login_core::refresher::Refresher;
use fpt_login_core::signin::SignInStatus;
use fpt_login_core::site;
use fpt_login_core::{Accounts, Site};
use tauri::{AppHandle, Manager as _, RunEvent, Runtime};
use tokio::sync::broadcast;
use tokio::sync::broadcast::error::RecvError;

use crate::sign_in_window::show_main_window;
use crate::state::{AppState, overview};

/// Signs artists in to Flow Production Tracking and keeps them signed in from the tray.
///
/// Other programs get the signed-in user with `fpt-login token` or over the local socket.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "fpt-login-desktop",
    version = env!("FPT_LOGIN_VERSION"),
    after_help = "Examples:\n  fpt-login-desktop\n  fpt-login-desktop --sign-in https://mystudio.shotgrid.autodesk.com\n\nWith no arguments it opens the Accounts window when someone is signed in, the sign-in window when nobody is. If the app is already running, the arguments are handed to it."
)]
struct Args {
    /// Open the web sign-in for this site right away.
    #[arg(long, value_name = "URL")]
    sign_in: Option<String>,
    /// Prefill the sign-in window with this site.
    #[arg(long, value_name = "URL", conflicts_with = "sign_in")]
    site: Option<String>,
    /// Start in the tray without opening a window, even when nobody is signed in (for
    /// starting at login).
    #[arg(long, conflicts_with_all = ["sign_in", "site"])]
    background: bool,
    /// The `product` sent to /auth/renew (it appears in the site's logs).
    #[arg(long, default_value = "toolkit", env = "FPT_LOGIN_PRODUCT")]
    product: String,
    /// How long to wait for an App Session Launcher approval, in seconds.
    #[arg(
        long,
        value_name = "SECS",
        default_value_t = 180,
        env = "FPT_LOGIN_ASL_TIMEOUT"
    )]
    asl_timeout: u64,
    /// Write the manual page (fpt-login-desktop.1) into DIR and exit, for packaging.
    #[arg(long, value_name = "DIR", hide = true, exclusive = true)]
    man: Option<std::path::PathBuf>,
}

/// Whoever changes the accounts (a sign-in here, a logout over the socket, a renewal) or the
/// settings, the tray and the Accounts window follow.
fn follow_changes<R: Runtime>(app: &AppHandle<R>) {
    let state = app.state::<AppState>();
    let mut sessions = state.accounts.subscribe();
    let mut redraws = state.redraws.subscribe();
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        loop {
            // A lagged receiver only means several changes at once: one redraw covers them.
            let heard = tokio::select! {
                heard = sessions.recv() => heard.map(drop),
                heard = redraws.recv() => heard,
            };
            if matches!(heard, Err(RecvError::Closed)) {
                break;
            }
            // One read of the accounts for both.
            let view = overview(&app);
            accounts_window::update(&app, &view);
            tray::refresh(&app, view);
        }
    });
}

/// A D-Bus name suffix per `FPT_LOGIN_HOME`: two profiles are two separate apps, each with its
/// own socket, so the second must not be folded into the first.
fn single_instance_id(identifier: &str) -> String {
    match std::env::var_os(paths::HOME_ENV).filter(|v| !v.is_empty()) {
        Some(home) => {
            let mut hasher = DefaultHasher::new();
            home.hash(&mut hasher);
            format!("{identifier}.h{:016x}", hasher.finish())
        }
        None => identifier.to_owned(),
    }
}

/// Handles the command line of this process or of a second one forwarded to it.
fn handle_args<R: Runtime>(app: &AppHandle<R>, args: &Args) {
    let state = app.state::<AppState>();
    if let Some(site) = &args.site {
        *state.prefill_site.lock().expect("prefill lock") = Some(site::without_user_info(site));
    }
    let Some(raw) = &args.sign_in else {
        match overview(app).window_on_launch(args.background, args.site.is_some()) {
            LaunchWindow::Nothing => {}
            LaunchWindow::SignIn => show_main_window(app),
            LaunchWindow::Accounts => accounts_window::show(app),
        }
        return;
    };
    match Site::parse(raw) {
        Ok(site) => login::open_web_sign_in(app, &site, fpt_login_core::method::Pick::Offered),
        Err(e) => {
            // What was typed goes to the log and the window: never with a password in it.
            let shown = site::without_user_info(raw);
            *state.prefill_site.lock().expect("prefill lock") = Some(shown);
            state.report(
                app,
                SignInStatus {
                    state: SignInState::Failed,
                    site: None,
                    message: e.to_string(),
                    url: None,
                    deadline: None,
                },
            );
        }
    }
}

/// Quits like the tray's "Quit" on SIGTERM (a session logout) or SIGINT (Ctrl-C).
fn quit_on_signals<R: Runtime>(app: &AppHandle<R>) -> std::io::Result<()> {
    // Registering needs the runtime's reactor; the handlers then live as long as the app.
    let mut signals = tauri::async_runtime::block_on(async { QuitSignals::register() })?;
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        signals.recv().await;
        tracing::info!("quitting on a signal");
        app.exit(0);
    });
    Ok(())
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("FPT_LOGIN_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}

/// `--man DIR`: writes the manual page without starting GTK, then exits.
fn write_man_page(dir: &std::path::Path) -> ! {
    use clap::CommandFactory as _;
    let written = std::fs::create_dir_all(dir)
        .and_then(|()| clap_mangen::Man::new(Args::command()).generate_to(dir));
    match written {
        Ok(_) => std::process::exit(0),
        Err(e) => {
            eprintln!(
                "fpt-login-desktop: cannot write the manual page into {}: {e}",
                dir.display()
            );
            std::process::exit(1);
        }
    }
}

/// Starts what runs for as long as the app does, then handles this process's arguments.
fn start_parts<R: Runtime>(
    app: &AppHandle<R>,
    args: &Args,
) -> Result<(), Box<dyn std::error::Error>> {
    quit_on_signals(app)?;
    // Desktops without a tray have the Accounts window: no reason not to start.
    if let Err(e) = tray::create(app) {
        tracing::error!(error = %e, "tray");
    }
    follow_changes(app);
    // A login item that cannot be written is no reason not to start.
    if let Err(e) = actions::apply_autostart(app) {
        tracing::error!(error = %e, "start at login");
    }
    let desktop = Arc::new(desktop::AppDesktop::new(app));
    local_api::start(app, &desktop)?;
    let refresher = Arc::clone(&app.state::<AppState>().refresher);
    tauri::async_runtime::spawn(refresher.run(desktop));
    handle_args(app, args);
    Ok(())
}

/// Keeps GTK from loading the system's OpenGL driver, which nothing in the tray draws with: with
/// Mesa's software driver it is about 30 MiB of the idle app (libLLVM alone 26 MiB PSS). The
/// webviews render without it (WebKit paints through Cairo then). GDK only reads `GDK_GL` from
/// the environment it starts with, and changing our own environment is unsound once threads
/// run (WebKit's allocator starts one before `main`), so the process starts over as itself
/// with the variable set: same pid, same arguments. Someone who sets `GDK_GL` themselves keeps
/// their choice, and so does a process that cannot start over (it carries on with GL).
fn leave_gl_unloaded() {
    #[cfg(target_os = "linux")]
    if std::env::var_os("GDK_GL").is_none() {
        let e = fpt_login_core::platform::process::restart_with_env("GDK_GL", "disable");
        eprintln!("fpt-login-desktop: starting without OpenGL failed ({e}); carrying on with it");
    }
}

/// Starts the app; returns when the user quits.
pub fn run() {
    // Before anything is written: the webview engine creates its cookie and storage files
    // with the usual modes, and they hold the IdP session.
    files::keep_new_files_private();
    let args = Args::parse();
    if let Some(dir) = &args.man {
        write_man_page(dir);
    }
    // After the arguments: `--help` and `--version` need no second start.
    leave_gl_unloaded();
    init_logging();
    let paths = match Paths::from_env() {
        Ok(paths) => paths,
        Err(e) => {
            eprintln!("fpt-login-desktop: {e}");
            std::process::exit(1);
        }
    };
    // Before anything writes the settings: their absence is what makes this a first start.
    let toolkit_offer = fpt_login_core::signin::toolkit_offer(&paths);
    let accounts = Arc::new(Accounts::new(&paths));
    let refresher = Arc::new(Refresher::new(Arc::clone(&accounts)));
    login::remove_stale_site_data(&paths, &accounts);
    // Data an older version left readable by others is tightened before any webview opens.
    if let Err(e) = files::make_tree_private(&paths.webview_root()) {
        tracing::warn!(error = %e, "cannot make the web sign-in data private");
    }
    // Fail loudly, not later: a token that silently does not persist is worse than no app.
    let keyring_error = accounts.probe_store().err().map(|e| {
        tracing::error!("{e}");
        e.to_string()
    });

    let context = tauri::generate_context!();
    let instance_id = single_instance_id(&context.config().identifier);
    let state = AppState {
        paths,
        accounts,
        product: args.product.clone(),
        keyring_error,
        prefill_site: Mutex::new(
            args.site
                .as_deref()
                .or(args.sign_in.as_deref())
                .map(site::without_user_info),
        ),
        last_status: Mutex::new(None),
        statuses: broadcast::channel(32).0,
        web_attempt: Mutex::new(None),
        asl: Mutex::new(None),
        asl_timeout: Duration::from_secs(args.asl_timeout),
        toolkit_offer: Mutex::new(toolkit_offer),
        refresher,
        redraws: broadcast::channel(16).0,
    };

    let app = tauri::Builder::default()
        .plugin(
            tauri_plugin_single_instance::Builder::new()
                .dbus_id(instance_id)
                .callback(|app, argv, _cwd| match Args::try_parse_from(&argv) {
                    Ok(args) => handle_args(app, &args),
                    Err(e) => tracing::warn!("ignored the arguments of a second launch: {e}"),
                })
                .build(),
        )
        .manage(state)
        .manage(web_engine::WebEngine::for_this_run())
        .invoke_handler(tauri::generate_handler![
            commands::initial_state,
            commands::site_info,
            commands::start_sign_in,
            commands::cancel_sign_in,
            commands::sign_in_with_password,
            commands::import_toolkit_sessions,
            commands::accounts_overview,
            commands::account_action,
        ])
        .setup(move |app| start_parts(app.handle(), &args))
        .build(context);
    let app = match app {
        Ok(app) => app,
        Err(e) => {
            eprintln!("fpt-login-desktop: {e}");
            std::process::exit(1);
        }
    };
    app.run(|app, event| match event {
        // Closing the last window keeps the app in the tray; only "Quit" (an explicit exit
        // code) ends it.
        RunEvent::ExitRequested {
            code: None, api, ..
        } => api.prevent_exit(),
        // Clients then see "not running" at once instead of a refused connection.
        RunEvent::Exit => {
            let _ = std::fs::remove_file(app.state::<AppState>().paths.socket_file());
        }
        RunEvent::WindowEvent {
            event: tauri::WindowEvent::Destroyed,
            ..
        } => web_engine::window_closed(app),
        _ => {}
    });
}
