//! Every file and folder FPT Login uses, in one place.
//!
//! `FPT_LOGIN_HOME` moves all of them under one folder, which is how tests (and people who
//! want a second, separate profile) keep away from the real home.

use std::fs;
use std::os::unix::fs::{DirBuilderExt as _, MetadataExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use crate::site::Site;

/// Environment variable that relocates every path.
pub const HOME_ENV: &str = "FPT_LOGIN_HOME";
const APP_DIR: &str = "fpt-login";
const SOCKET_FILE: &str = "fpt-login.sock";

#[derive(Debug, thiserror::Error)]
pub enum PathsError {
    #[error("cannot find the home folder; set {HOME_ENV} to a folder FPT Login may use")]
    NoHome,
    #[error("cannot create {}: {source}", .path.display())]
    Create {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{} is a symbolic link; remove it so FPT Login can create a private folder there", .path.display())]
    Symlink { path: PathBuf },
    #[error("{} belongs to another user (uid {owner}); remove it or set {HOME_ENV}", .path.display())]
    NotOwned { path: PathBuf, owner: u32 },
    #[error("{} is readable by other users (mode {mode:o}); run `chmod 700 {}`", .path.display(), .path.display())]
    NotPrivate { path: PathBuf, mode: u32 },
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
}

impl Paths {
    /// Paths from the environment: `FPT_LOGIN_HOME` if set, else the platform's folders.
    pub fn from_env() -> Result<Self, PathsError> {
        if let Some(home) = std::env::var_os(HOME_ENV).filter(|v| !v.is_empty()) {
            return Ok(Self::under(PathBuf::from(home)));
        }
        let dirs = directories::ProjectDirs::from("", "", APP_DIR).ok_or(PathsError::NoHome)?;
        let runtime = dirs.runtime_dir().map_or_else(
            || std::env::temp_dir().join(format!("{APP_DIR}-{}", current_uid())),
            Path::to_path_buf,
        );
        Ok(Self {
            config: dirs.config_dir().to_path_buf(),
            data: dirs.data_dir().to_path_buf(),
            runtime,
        })
    }

    /// All paths under one folder.
    pub fn under(home: PathBuf) -> Self {
        Self {
            data: home.join("data"),
            runtime: home.join("run"),
            config: home,
        }
    }

    pub fn settings_file(&self) -> PathBuf {
        self.config.join("settings.json")
    }

    pub fn socket_file(&self) -> PathBuf {
        self.runtime.join(SOCKET_FILE)
    }

    /// Where the web sign-in webview for `site` keeps its cookies (one store per site, so that
    /// signing out of one site can wipe just that site).
    pub fn webview_dir(&self, site: &Site) -> PathBuf {
        self.data.join("webview").join(site.folder_name())
    }
}

/// The uid of this process.
pub fn current_uid() -> u32 {
    rustix::process::getuid().as_raw()
}

/// Creates `dir` (and its parents) if needed and makes sure it is private: a real folder, not
/// a symlink, owned by us, with no permissions for group or others.
///
/// The local socket lives in such a folder: the kernel then refuses other users before our
/// peer-uid check even runs, and a socket file's own mode is not honoured everywhere.
pub fn ensure_private_dir(dir: &Path) -> Result<(), PathsError> {
    if let Some(parent) = dir.parent() {
        fs::create_dir_all(parent).map_err(|source| PathsError::Create {
            path: parent.to_path_buf(),
            source,
        })?;
    }
    match fs::DirBuilder::new().mode(0o700).create(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(source) => {
            return Err(PathsError::Create {
                path: dir.to_path_buf(),
                source,
            });
        }
    }
    check_private_dir(dir)
}

/// Checks that an existing `dir` is private (see [`ensure_private_dir`]).
pub fn check_private_dir(dir: &Path) -> Result<(), PathsError> {
    let meta = fs::symlink_metadata(dir).map_err(|source| PathsError::Create {
        path: dir.to_path_buf(),
        source,
    })?;
    if meta.file_type().is_symlink() {
        return Err(PathsError::Symlink {
            path: dir.to_path_buf(),
        });
    }
    if meta.uid() != current_uid() {
        return Err(PathsError::NotOwned {
            path: dir.to_path_buf(),
            owner: meta.uid(),
        });
    }
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(PathsError::NotPrivate {
            path: dir.to_path_buf(),
            mode,
        });
    }
    Ok(())
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
    fn private_dir_is_created_0700_and_checked() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("a/run");
        ensure_private_dir(&dir).unwrap();
        let mode = fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);

        fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
        let e = ensure_private_dir(&dir).unwrap_err();
        assert!(
            matches!(e, PathsError::NotPrivate { mode: 0o755, .. }),
            "{e}"
        );
        assert!(e.to_string().contains("chmod 700"));
    }

    #[test]
    fn a_symlinked_dir_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let real = tmp.path().join("real");
        fs::DirBuilder::new().mode(0o700).create(&real).unwrap();
        let link = tmp.path().join("link");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        assert!(matches!(
            ensure_private_dir(&link),
            Err(PathsError::Symlink { .. })
        ));
    }
}
