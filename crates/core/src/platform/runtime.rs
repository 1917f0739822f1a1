//! Facts about the running user and machine: where per-user runtime files go, who the user
//! is, what the machine is called.
//!
//! Contract:
//! - `runtime_dir(dirs, app)`: the folder for the local channel's endpoint, private to the user
//!   and ideally cleared at logout.
//! - `machine_name()`: the name people know this machine by (shown on the App Session
//!   Launcher's approval page).
//! - On Unix also `current_uid()`, which [`super::files`] and [`super::transport`] compare
//!   owners and peers with.

#[cfg(unix)]
pub use unix::{current_uid, machine_name, runtime_dir};

#[cfg(unix)]
mod unix {
    use std::path::{Path, PathBuf};

    /// The uid of this process.
    pub fn current_uid() -> u32 {
        rustix::process::getuid().as_raw()
    }

    /// `$XDG_RUNTIME_DIR/<app>` where the platform has one (Linux), else `<app>-<uid>` in the
    /// temporary folder, which is per user on macOS and shared on Linux; either way the folder
    /// is created 0700 and checked before the socket goes in it.
    pub fn runtime_dir(dirs: &directories::ProjectDirs, app: &str) -> PathBuf {
        dirs.runtime_dir().map_or_else(
            || fallback_runtime_dir(&std::env::temp_dir(), app, current_uid()),
            Path::to_path_buf,
        )
    }

    /// `<app>-<uid>` in the temporary folder `tmp` — `/tmp` when `tmp` is not absolute (an
    /// empty `TMPDIR` would otherwise put the socket in whatever folder the app started in,
    /// where no client looks). The Python client applies the same rule.
    pub(super) fn fallback_runtime_dir(tmp: &Path, app: &str, uid: u32) -> PathBuf {
        let tmp = if tmp.is_absolute() {
            tmp
        } else {
            Path::new("/tmp")
        };
        tmp.join(format!("{app}-{uid}"))
    }

    /// The host name, as `uname -n` prints it.
    pub fn machine_name() -> String {
        rustix::system::uname()
            .nodename()
            .to_string_lossy()
            .into_owned()
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn an_empty_or_relative_tmpdir_never_makes_a_relative_socket_folder() {
            for tmp in ["", ".", "tmp", "../elsewhere"] {
                assert_eq!(
                    fallback_runtime_dir(Path::new(tmp), "fpt-login", 1000),
                    Path::new("/tmp/fpt-login-1000"),
                    "TMPDIR={tmp:?}"
                );
            }
            assert_eq!(
                fallback_runtime_dir(Path::new("/var/tmp/x"), "fpt-login", 7),
                Path::new("/var/tmp/x/fpt-login-7")
            );
        }
    }
}
