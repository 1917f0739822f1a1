//! Every file and folder FPT Login uses, in one place.
//!
//! `FPT_LOGIN_HOME` moves all of them under one folder, which is how tests (and people who
//! want a second, separate profile) keep away from the real home.

use std::path::PathBuf;

use crate::platform::runtime;
use crate::site::Site;

/// Environment variable that relocates every path.
pub const HOME_ENV: &str = "FPT_LOGIN_HOME";
const APP_DIR: &str = "fpt-login";
const SOCKET_FILE: &str = "fpt-login.sock";

#[derive(Debug, thiserror::Error)]
pub enum PathsError {
    #[error("cannot find the home folder; set {HOME_ENV} to a folder FPT Login may use")]
    NoHome,
}

/// The folders FPT Login reads and writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paths {
    /// Settings (non-secret state).
    pub config: PathBuf,
    /// Webview data (per-site cookie stores) and logs.
    pub data: PathBuf,
    /// The local socket. Must be private to the user.
    pub runtime: PathBuf,
    /// The `FPT_LOGIN_HOME` folder of a separate profile; `None` for the person's own.
    pub profile: Option<PathBuf>,
}

impl Paths {
    /// Paths from the environment: `FPT_LOGIN_HOME` if set, else the platform's folders.
    pub fn from_env() -> Result<Self, PathsError> {
        if let Some(home) = std::env::var_os(HOME_ENV).filter(|v| !v.is_empty()) {
            return Ok(Self::under(PathBuf::from(home)));
        }
        let dirs = directories::ProjectDirs::from("", "", APP_DIR).ok_or(PathsError::NoHome)?;
        // The local folders: the same as the others on Linux and macOS, and on Windows
        // %LOCALAPPDATA% rather than the roaming %APPDATA%, as webview data is large and
        // nothing here should follow the person to another machine.
        Ok(Self {
            config: dirs.config_local_dir().to_path_buf(),
            data: dirs.data_local_dir().to_path_buf(),
            runtime: runtime::runtime_dir(&dirs, APP_DIR),
            profile: None,
        })
    }

    /// All paths under one folder.
    pub fn under(home: PathBuf) -> Self {
        Self {
            data: home.join("data"),
            runtime: home.join("run"),
            config: home.clone(),
            profile: Some(home),
        }
    }

    pub fn settings_file(&self) -> PathBuf {
        self.config.join("settings.json")
    }

    pub fn socket_file(&self) -> PathBuf {
        self.runtime.join(SOCKET_FILE)
    }

    /// Where the web sign-in webviews keep their data, one folder per site.
    pub fn webview_root(&self) -> PathBuf {
        self.data.join("webview")
    }

    /// Where the web sign-in webview for `site` keeps its cookies (one store per site, so that
    /// signing out of one site can wipe just that site).
    pub fn webview_dir(&self, site: &Site) -> PathBuf {
        self.webview_root().join(site.folder_name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn home_override_moves_everything() {
        let p = Paths::under(PathBuf::from("/x"));
        assert_eq!(p.settings_file(), PathBuf::from("/x/settings.json"));
        assert_eq!(p.socket_file(), PathBuf::from("/x/run/fpt-login.sock"));
        let site = Site::parse("http://127.0.0.1:9").unwrap();
        assert_eq!(
            p.webview_dir(&site),
            PathBuf::from("/x/data/webview/127.0.0.1_9")
        );
    }

    #[test]
    fn the_private_folder_errors_name_the_home_variable() {
        let e = crate::platform::files::PrivateDirError::NotOwned {
            path: PathBuf::from("/x/run"),
            owner: 0,
        };
        assert!(e.to_string().contains(HOME_ENV), "{e}");
    }
}
