//! `fpt-login toolkit`: Toolkit's session cache files, opt-in.

use fpt_login_core::protocol::{NewSession, Request};
use fpt_login_core::signin::{self, SiteClient};
use fpt_login_core::toolkit::ToolkitCache;

use crate::args::ToolkitCommand;
use crate::backend::Backend;
use crate::exit::Failure;
use crate::output::{print, to_json};

fn failed(e: &dyn std::fmt::Display) -> Failure {
    Failure::failed(e)
}

pub fn toolkit(command: &ToolkitCommand, verbose: bool) -> Result<(), Failure> {
    let cache = ToolkitCache::locate().map_err(|e| failed(&e))?;
    let file = Backend::accounts()?.settings_file().clone();
    match command {
        ToolkitCommand::Status { json } => {
            let enabled = file.load().map_err(|e| failed(&e))?.toolkit_files;
            let sessions = cache.sessions().map_err(|e| failed(&e))?;
            if *json {
                let list: Vec<_> = sessions
                    .iter()
                    .map(|s| serde_json::json!({"site": s.site, "login": s.login}))
                    .collect();
                return print(&to_json(&serde_json::json!({
                    "root": cache.root(), "enabled": enabled, "sessions": list,
                })));
            }
            let mut lines = vec![
                format!("Toolkit's files: {}", cache.root().display()),
                format!(
                    "Kept up to date: {}",
                    if enabled {
                        "yes"
                    } else {
                        "no (`fpt-login toolkit enable`)"
                    }
                ),
            ];
            for s in sessions {
                lines.push(format!("  {} @ {}", s.login, s.site));
            }
            print(&lines.join("\n"))
        }
        ToolkitCommand::Enable => {
            let written = Backend::accounts()?
                .set_toolkit_files(true)
                .map_err(|e| failed(&e))?;
            print(&format!(
                "Toolkit's files in {} are kept up to date ({written} signed-in user(s) written).",
                cache.root().display()
            ))
        }
        ToolkitCommand::Disable { scrub } => {
            let accounts = Backend::accounts()?;
            accounts.set_toolkit_files(false).map_err(|e| failed(&e))?;
            if *scrub {
                let removed = accounts.scrub_toolkit_files().map_err(|e| failed(&e))?;
                return print(&format!(
                    "No longer updating Toolkit's files; removed the {removed} token(s) FPT Login had written to {}.",
                    cache.root().display()
                ));
            }
            print(&format!(
                "No longer updating Toolkit's files. The tokens FPT Login wrote to {} remain until Toolkit signs out; remove them with `fpt-login toolkit disable --scrub`.",
                cache.root().display()
            ))
        }
        ToolkitCommand::Import => import(&cache, verbose),
    }
}

/// Stores each session Toolkit's files hold, once its site has confirmed it.
fn import(cache: &ToolkitCache, verbose: bool) -> Result<(), Failure> {
    let sessions = cache.sessions().map_err(|e| failed(&e))?;
    if sessions.is_empty() {
        return print(&format!(
            "Toolkit's files in {} hold no session.",
            cache.root().display()
        ));
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| failed(&e))?;
    let mut backend = Backend::open(verbose)?;
    let reports = rt.block_on(signin::import_toolkit_sessions(
        sessions,
        SiteClient::new,
        |site, session: NewSession| {
            let request = Request::StoreSession {
                site,
                session,
                chosen: false,
            };
            std::future::ready(backend.request(&request).map(drop).map_err(|f| f.message))
        },
    ));
    let lines: Vec<String> = reports.iter().map(signin::ImportReport::line).collect();
    print(&lines.join("\n"))
}
