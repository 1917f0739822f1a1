//! Files and folders only the user may read: the local channel's folder, Toolkit's session
//! files and their locks.
//!
//! Contract:
//! - `ensure_private_dir(dir)` creates `dir` (parents as usual) readable by the user alone, then
//!   `check_private_dir(dir)`: a real folder, not a link, owned by the user, open to no one
//!   else; otherwise a `PrivateDirError` that names the folder and says how to fix it.
//! - `create_private_dirs(dir)` creates `dir` and every missing parent readable by the user
//!   alone, without checking folders that already exist.
//! - `open_private(path)` opens `path` for writing without truncating it, creating it readable
//!   by the user alone.
//! - `sync_dir(dir)` makes a rename into `dir` durable (the atomic writes' last step).
//! - `FileIdentity::of(&metadata)` tells files apart: a file replaced by a rename gets a new one.
//! - `keep_new_files_private()` makes every file and folder this process creates from now on
//!   (the webview engine's cookies and storage too) readable by the user alone.
//! - `make_tree_private(dir)` takes group and others' access off `dir` and everything in it
//!   (data written before, by an older version or another umask).
//! - `temp_file_in(dir, prefix)` makes the temporary file of an atomic replace, first removing
//!   the ones a writer killed before its rename left behind; callers hold the lock every
//!   writer of those files takes.

#[cfg(unix)]
pub use unix::{
    FileIdentity, PrivateDirError, check_private_dir, create_private_dirs, ensure_private_dir,
    first_open_entry, keep_new_files_private, make_tree_private, open_private, sync_dir,
};

/// The random part of a temporary file's name: tempfile's default length, spelled out so that
/// stale files are recognised by exactly the names this module makes.
const TEMP_RANDOM_LEN: usize = 6;

/// Creates the temporary file `<dir>/<prefix>XXXXXX` of an atomic replace (0600, removed when
/// dropped unpersisted), after removing every such file already there: a process killed
/// between creating its temporary file and renaming it leaves one, and nothing else would
/// ever remove it. Call it only under the lock that every writer of `prefix` files holds,
/// so that none of them is still being written; a file that cannot be removed is logged and
/// left, and does not stop the write.
pub fn temp_file_in(
    dir: &std::path::Path,
    prefix: &str,
) -> std::io::Result<tempfile::NamedTempFile> {
    if let Err(e) = remove_stale_temp_files(dir, prefix) {
        tracing::warn!(dir = %dir.display(), error = %e, "could not remove stale temporary files");
    }
    tempfile::Builder::new()
        .prefix(prefix)
        .rand_bytes(TEMP_RANDOM_LEN)
        .tempfile_in(dir)
}

/// Removes the files in `dir` named `prefix` and [`TEMP_RANDOM_LEN`] random letters or
/// digits; returns how many went.
fn remove_stale_temp_files(dir: &std::path::Path, prefix: &str) -> std::io::Result<usize> {
    let mut removed = 0usize;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let is_ours = name
            .to_str()
            .and_then(|n| n.strip_prefix(prefix))
            .is_some_and(|random| {
                random.len() == TEMP_RANDOM_LEN && random.bytes().all(|b| b.is_ascii_alphanumeric())
            });
        if !is_ours || !entry.file_type()?.is_file() {
            continue;
        }
        match std::fs::remove_file(entry.path()) {
            Ok(()) => removed = removed.saturating_add(1),
            // Another cleaner got there first.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod temp_file_tests {
    use super::*;

    #[test]
    fn temporary_files_left_by_a_killed_writer_go_at_the_next_write_and_nothing_else_does() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        // What a writer killed between create and rename leaves: its temporary file, kept.
        let (_, stale) = temp_file_in(dir, ".settings.").unwrap().keep().unwrap();
        let others = [
            ".settings.json",
            ".settings.abc",
            ".settings.abcdefg",
            "settings.json",
            ".authentication.abcdef",
        ];
        for name in others {
            std::fs::write(dir.join(name), "not a leftover").unwrap();
        }
        std::fs::create_dir(dir.join(".settings.folder")).unwrap();

        let fresh = temp_file_in(dir, ".settings.").unwrap();
        assert!(!stale.exists(), "the leftover is still there");
        assert!(fresh.path().exists());
        for name in others {
            assert!(dir.join(name).exists(), "{name} was removed");
        }
        assert!(dir.join(".settings.folder").is_dir());
        drop(fresh);
        assert_eq!(std::fs::read_dir(dir).unwrap().count(), others.len() + 1);
    }
}

#[cfg(unix)]
mod unix {
    use std::fs::{self, File, OpenOptions};
    use std::io;
    use std::os::unix::fs::{
        DirBuilderExt as _, MetadataExt as _, OpenOptionsExt as _, PermissionsExt as _,
    };
    use std::path::{Path, PathBuf};

    use crate::platform::runtime::current_uid;

    /// Folders: read, write and enter for the owner only.
    const PRIVATE_DIR_MODE: u32 = 0o700;
    /// Files: read and write for the owner only.
    const PRIVATE_FILE_MODE: u32 = 0o600;

    #[derive(Debug, thiserror::Error)]
    pub enum PrivateDirError {
        #[error("cannot create {}: {source}", .path.display())]
        Create { path: PathBuf, source: io::Error },
        #[error("{} is a symbolic link; remove it so FPT Login can create a private folder there", .path.display())]
        Symlink { path: PathBuf },
        // `FPT_LOGIN_HOME` is `paths::HOME_ENV`, spelled out because this module sits below
        // `paths`; a test there keeps the two equal.
        #[error("{} belongs to another user (uid {owner}); remove it or set FPT_LOGIN_HOME", .path.display())]
        NotOwned { path: PathBuf, owner: u32 },
        #[error("{} is readable by other users (mode {mode:o}); run `chmod 700 {}`", .path.display(), .path.display())]
        NotPrivate { path: PathBuf, mode: u32 },
    }

    /// Creates `dir` (and its parents) if needed and makes sure it is private: a real folder,
    /// not a symlink, owned by us, with no permissions for group or others.
    ///
    /// The local socket lives in such a folder: the kernel then refuses other users before
    /// the peer-uid check even runs, and a socket file's own mode is not honoured everywhere.
    pub fn ensure_private_dir(dir: &Path) -> Result<(), PrivateDirError> {
        if let Some(parent) = dir.parent() {
            fs::create_dir_all(parent).map_err(|source| PrivateDirError::Create {
                path: parent.to_path_buf(),
                source,
            })?;
        }
        match fs::DirBuilder::new().mode(PRIVATE_DIR_MODE).create(dir) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(source) => {
                return Err(PrivateDirError::Create {
                    path: dir.to_path_buf(),
                    source,
                });
            }
        }
        check_private_dir(dir)
    }

    /// Checks that an existing `dir` is private (see [`ensure_private_dir`]).
    pub fn check_private_dir(dir: &Path) -> Result<(), PrivateDirError> {
        let meta = fs::symlink_metadata(dir).map_err(|source| PrivateDirError::Create {
            path: dir.to_path_buf(),
            source,
        })?;
        if meta.file_type().is_symlink() {
            return Err(PrivateDirError::Symlink {
                path: dir.to_path_buf(),
            });
        }
        if meta.uid() != current_uid() {
            return Err(PrivateDirError::NotOwned {
                path: dir.to_path_buf(),
                owner: meta.uid(),
            });
        }
        let mode = meta.mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(PrivateDirError::NotPrivate {
                path: dir.to_path_buf(),
                mode,
            });
        }
        Ok(())
    }

    /// Creates `dir` and its missing parents 0700 (subject to the umask, which can only take
    /// permissions away). Existing folders are left as they are.
    pub fn create_private_dirs(dir: &Path) -> io::Result<()> {
        match fs::DirBuilder::new()
            .recursive(true)
            .mode(PRIVATE_DIR_MODE)
            .create(dir)
        {
            Err(e) if e.kind() != io::ErrorKind::AlreadyExists => Err(e),
            _ => Ok(()),
        }
    }

    /// Opens `path` for writing without truncating it, creating it 0600.
    pub fn open_private(path: &Path) -> io::Result<File> {
        OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(PRIVATE_FILE_MODE)
            .open(path)
    }

    /// Sets the process umask to 077. Libraries that create files with the usual 0644/0755
    /// (WebKit's cookie database, local storage, caches) then create them private too.
    pub fn keep_new_files_private() {
        rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
    }

    /// Removes group and others' permissions from `dir` and everything below it; links are
    /// not followed. A missing `dir` is nothing to do.
    pub fn make_tree_private(dir: &Path) -> io::Result<()> {
        let meta = match fs::symlink_metadata(dir) {
            Ok(meta) => meta,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        if meta.file_type().is_symlink() {
            return Ok(());
        }
        let mode = meta.mode() & 0o7777;
        if mode & 0o077 != 0 {
            fs::set_permissions(dir, fs::Permissions::from_mode(mode & 0o700))?;
        }
        if meta.is_dir() {
            for entry in fs::read_dir(dir)? {
                make_tree_private(&entry?.path())?;
            }
        }
        Ok(())
    }

    /// The first file or folder in `dir` (itself included) that group or others may use, if
    /// any; links are not followed.
    pub fn first_open_entry(dir: &Path) -> io::Result<Option<PathBuf>> {
        let meta = match fs::symlink_metadata(dir) {
            Ok(meta) => meta,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        if meta.file_type().is_symlink() {
            return Ok(None);
        }
        if meta.mode() & 0o077 != 0 {
            return Ok(Some(dir.to_path_buf()));
        }
        if meta.is_dir() {
            for entry in fs::read_dir(dir)? {
                if let Some(open) = first_open_entry(&entry?.path())? {
                    return Ok(Some(open));
                }
            }
        }
        Ok(None)
    }

    /// A rename is only durable once the folder's entry is on disk: fsync the folder.
    pub fn sync_dir(dir: &Path) -> io::Result<()> {
        File::open(dir)?.sync_all()
    }

    /// Device and inode: an atomic replace (rename over the old file) gives a new inode even
    /// when the size and modification time happen to match.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct FileIdentity {
        device: u64,
        inode: u64,
    }

    impl FileIdentity {
        pub fn of(meta: &fs::Metadata) -> Self {
            Self {
                device: meta.dev(),
                inode: meta.ino(),
            }
        }
    }

    #[cfg(test)]
    mod tests {
        use std::os::unix::fs::PermissionsExt as _;

        use super::*;

        fn mode(path: &Path) -> u32 {
            fs::metadata(path).unwrap().permissions().mode() & 0o777
        }

        #[test]
        fn private_dir_is_created_0700_and_checked() {
            let tmp = tempfile::tempdir().unwrap();
            let dir = tmp.path().join("a/run");
            ensure_private_dir(&dir).unwrap();
            assert_eq!(mode(&dir), 0o700);

            fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
            let e = ensure_private_dir(&dir).unwrap_err();
            assert!(
                matches!(e, PrivateDirError::NotPrivate { mode: 0o755, .. }),
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
                Err(PrivateDirError::Symlink { .. })
            ));
            assert!(matches!(
                check_private_dir(&link),
                Err(PrivateDirError::Symlink { .. })
            ));
        }

        #[test]
        fn a_missing_dir_fails_the_check_naming_it() {
            let tmp = tempfile::tempdir().unwrap();
            let missing = tmp.path().join("missing");
            let e = check_private_dir(&missing).unwrap_err();
            assert!(matches!(e, PrivateDirError::Create { .. }), "{e}");
            assert!(e.to_string().contains(&*missing.to_string_lossy()), "{e}");
        }

        #[test]
        fn private_dirs_and_files_are_the_owners_alone() {
            let tmp = tempfile::tempdir().unwrap();
            let dir = tmp.path().join("a/b");
            create_private_dirs(&dir).unwrap();
            create_private_dirs(&dir).unwrap();
            assert_eq!(mode(&tmp.path().join("a")), 0o700);
            assert_eq!(mode(&dir), 0o700);

            let file = dir.join("f.lock");
            open_private(&file).unwrap();
            assert_eq!(mode(&file), 0o600);
            fs::write(&file, "kept").unwrap();
            open_private(&file).unwrap();
            assert_eq!(fs::read_to_string(&file).unwrap(), "kept", "not truncated");
        }

        #[test]
        fn a_replaced_file_has_a_new_identity() {
            let tmp = tempfile::tempdir().unwrap();
            let path = tmp.path().join("settings.json");
            fs::write(&path, "1").unwrap();
            let before = FileIdentity::of(&fs::metadata(&path).unwrap());
            assert_eq!(before, FileIdentity::of(&fs::metadata(&path).unwrap()));
            let next = tmp.path().join("next");
            fs::write(&next, "2").unwrap();
            fs::rename(&next, &path).unwrap();
            assert_ne!(before, FileIdentity::of(&fs::metadata(&path).unwrap()));
        }

        #[test]
        fn a_tree_written_open_is_made_private_and_links_are_not_followed() {
            let tmp = tempfile::tempdir().unwrap();
            let web = tmp.path().join("webview/site");
            fs::create_dir_all(web.join("storage")).unwrap();
            fs::set_permissions(
                tmp.path().join("webview"),
                fs::Permissions::from_mode(0o755),
            )
            .unwrap();
            fs::set_permissions(&web, fs::Permissions::from_mode(0o755)).unwrap();
            fs::write(web.join("cookies"), "idp session").unwrap();
            fs::set_permissions(web.join("cookies"), fs::Permissions::from_mode(0o644)).unwrap();
            let outside = tmp.path().join("outside");
            fs::write(&outside, "not ours to change").unwrap();
            fs::set_permissions(&outside, fs::Permissions::from_mode(0o644)).unwrap();
            std::os::unix::fs::symlink(&outside, web.join("link")).unwrap();

            assert_eq!(
                first_open_entry(&tmp.path().join("webview")).unwrap(),
                Some(tmp.path().join("webview"))
            );
            make_tree_private(&tmp.path().join("webview")).unwrap();
            assert_eq!(first_open_entry(&tmp.path().join("webview")).unwrap(), None);
            assert_eq!(mode(&tmp.path().join("webview")), 0o700);
            assert_eq!(mode(&web), 0o700);
            assert_eq!(mode(&web.join("cookies")), 0o600);
            assert_eq!(mode(&outside), 0o644, "a link's target is left alone");
            make_tree_private(&tmp.path().join("missing")).unwrap();
        }
    }
}
