//! "Start at login": the desktop's autostart entry (XDG Autostart) that starts the app in the
//! tray.
//!
//! Contract:
//! - `LoginItem::for_this_user(&paths)` finds the folder (`$XDG_CONFIG_HOME/autostart`, else
//!   `~/.config/autostart`) and names the entry: `fpt-login.desktop` for the person's own
//!   profile, `fpt-login-profile-<hash>.desktop` for a separate `FPT_LOGIN_HOME` one, whose
//!   entry starts that profile (two profiles never overwrite each other's entry).
//! - `apply(wanted, &launch)` makes the entry match the setting: written atomically (a crash
//!   leaves the old entry or the new one, never half of one) and only when its text changes;
//!   removed when unwanted. A link at the entry's place is replaced, never followed, so
//!   enabling cannot write into whatever file it points at.
//! - The command is quoted by the Desktop Entry rules, so a program whose path has spaces,
//!   quotes, `$` or `%` in it still starts; a path that cannot be written there (not UTF-8,
//!   control characters) is refused with an error naming it.
//! - The entry older versions wrote (`FPT Login.desktop`, unquoted, always the person's own
//!   profile) is removed by the person's own profile once the new one is in place, when it is
//!   a plain file that starts `fpt-login-desktop`.
//! - `exec_arguments(text)` reads the command back as the desktop does (for checks and tests).

use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use crate::paths::{HOME_ENV, Paths};
use crate::platform::files;

/// The entry of the person's own profile.
pub const ENTRY_FILE: &str = "fpt-login.desktop";
/// The entry versions before 0.1 wrote through `tauri-plugin-autostart`.
const OLD_ENTRY_FILE: &str = "FPT Login.desktop";
/// Text and entries larger than this are not ours: nothing reads them whole.
const MAX_ENTRY_BYTES: u64 = 64 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum AutostartError {
    #[error(
        "cannot find the folder for login items; set XDG_CONFIG_HOME or HOME to your configuration folder"
    )]
    NoFolder,
    #[error("cannot tell which program to start at login: {0}")]
    Program(#[source] io::Error),
    #[error(
        "cannot start {} at login: its path is not valid UTF-8 or holds control characters, which a login item cannot name; install FPT Login under a plainer path",
        path.display()
    )]
    UnusablePath { path: PathBuf },
    #[error("cannot write the login item {}: {source}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot remove the login item {}: {source}", path.display())]
    Remove {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// What starts at login: this program, for this profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Launch {
    program: PathBuf,
    profile: Option<PathBuf>,
}

impl Launch {
    /// `program --background`, with `FPT_LOGIN_HOME` set for a separate profile.
    pub fn new(program: PathBuf, paths: &Paths) -> Self {
        Self {
            program,
            profile: paths.profile.clone(),
        }
    }

    /// The running program. After an upgrade replaced it on disk, Linux names it
    /// `<path> (deleted)`; the new program at `<path>` is the one to start next time.
    pub fn this_program(paths: &Paths) -> Result<Self, AutostartError> {
        let exe = std::env::current_exe().map_err(AutostartError::Program)?;
        let mut launch = Self::new(replaced_program(exe), paths);
        // A login item starts in another folder than a terminal did.
        if let Some(profile) = &mut launch.profile {
            *profile = std::path::absolute(&*profile).map_err(AutostartError::Program)?;
        }
        Ok(launch)
    }

    /// The entry's `Exec` value.
    fn exec(&self) -> Result<String, AutostartError> {
        let mut words = Vec::with_capacity(4);
        if let Some(profile) = &self.profile {
            let profile = usable(profile)?;
            words.push("env".to_owned());
            words.push(quoted(&format!("{HOME_ENV}={profile}")));
        }
        words.push(quoted(usable(&self.program)?));
        words.push("--background".to_owned());
        Ok(words.join(" "))
    }

    /// The whole entry.
    fn entry(&self) -> Result<String, AutostartError> {
        let mut text = String::from(
            "[Desktop Entry]\n\
             Type=Application\n\
             Name=FPT Login\n\
             Comment=Keeps you signed in to Flow Production Tracking from the tray\n\
             Icon=fpt-login\n",
        );
        text.push_str("Exec=");
        text.push_str(&self.exec()?);
        text.push_str(
            "\nTerminal=false\n\
             StartupNotify=false\n\
             X-GNOME-Autostart-enabled=true\n",
        );
        Ok(text)
    }
}

/// `<path> (deleted)` → `<path>` when a program is there again.
fn replaced_program(exe: PathBuf) -> PathBuf {
    const DELETED: &str = " (deleted)";
    match exe.to_str().and_then(|s| s.strip_suffix(DELETED)) {
        Some(path) if Path::new(path).is_file() => PathBuf::from(path),
        _ => exe,
    }
}

/// The path as text a desktop entry can hold.
fn usable(path: &Path) -> Result<&str, AutostartError> {
    path.to_str()
        .filter(|s| !s.is_empty() && !s.chars().any(char::is_control))
        .ok_or_else(|| AutostartError::UnusablePath {
            path: path.to_path_buf(),
        })
}

/// One argument of `Exec`, always in double quotes: inside them `"`, `` ` ``, `$` and `\` take
/// a backslash; then, as in every string value, a backslash is written twice; and `%` (a field
/// code otherwise) is written twice.
fn quoted(word: &str) -> String {
    let mut out = String::with_capacity(word.len().saturating_add(2));
    out.push('"');
    for c in word.chars() {
        match c {
            '"' | '`' | '$' => {
                out.push_str("\\\\");
                out.push(c);
            }
            '\\' => out.push_str("\\\\\\\\"),
            '%' => out.push_str("%%"),
            _ => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The arguments of an entry's `Exec` line, as a desktop reads them; `None` when the entry has
/// none or it is malformed.
pub fn exec_arguments(entry: &str) -> Option<Vec<String>> {
    let value = entry
        .lines()
        .skip_while(|l| l.trim() != "[Desktop Entry]")
        .skip(1)
        .take_while(|l| !l.starts_with('['))
        .find_map(|l| l.strip_prefix("Exec="))?;
    // The string value's escapes first, then the command line's quoting.
    let mut unescaped = String::with_capacity(value.len());
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            unescaped.push(c);
            continue;
        }
        match chars.next()? {
            's' => unescaped.push(' '),
            'n' => unescaped.push('\n'),
            't' => unescaped.push('\t'),
            'r' => unescaped.push('\r'),
            '\\' => unescaped.push('\\'),
            // Exec's own escapes (`\"`, `\$`) reach the second pass as written.
            other => {
                unescaped.push('\\');
                unescaped.push(other);
            }
        }
    }
    let mut words = Vec::new();
    let mut chars = unescaped.chars().peekable();
    loop {
        while chars.next_if(|c| *c == ' ').is_some() {}
        let Some(first) = chars.next() else {
            break;
        };
        let mut word = String::new();
        if first == '"' {
            loop {
                match chars.next()? {
                    '"' => break,
                    '\\' => word.push(chars.next()?),
                    '%' => word.push(field_code(chars.next()?)?),
                    c => word.push(c),
                }
            }
        } else {
            let mut c = first;
            loop {
                match c {
                    '%' => word.push(field_code(chars.next()?)?),
                    c => word.push(c),
                }
                match chars.next_if(|c| *c != ' ') {
                    Some(next) => c = next,
                    None => break,
                }
            }
        }
        words.push(word);
    }
    (!words.is_empty()).then_some(words)
}

/// Only `%%` is literal; the field codes a login item never uses are malformed here.
fn field_code(c: char) -> Option<char> {
    (c == '%').then_some('%')
}

/// The login item of one profile.
#[derive(Debug, Clone)]
pub struct LoginItem {
    dir: PathBuf,
    file: String,
    own_profile: bool,
}

impl LoginItem {
    /// The entry in `$XDG_CONFIG_HOME/autostart` (else `~/.config/autostart`).
    pub fn for_this_user(paths: &Paths) -> Result<Self, AutostartError> {
        let config = directories::BaseDirs::new()
            .map(|dirs| dirs.config_dir().to_path_buf())
            .ok_or(AutostartError::NoFolder)?;
        Ok(Self::in_dir(config.join("autostart"), paths))
    }

    /// The entry in `dir`.
    pub fn in_dir(dir: PathBuf, paths: &Paths) -> Self {
        let file = match &paths.profile {
            None => ENTRY_FILE.to_owned(),
            Some(profile) => {
                use std::hash::Hasher as _;
                let mut hasher = fnv::FnvHasher::default();
                hasher.write(profile.as_os_str().as_encoded_bytes());
                format!("fpt-login-profile-{:016x}.desktop", hasher.finish())
            }
        };
        Self {
            dir,
            file,
            own_profile: paths.profile.is_none(),
        }
    }

    /// Where the entry is.
    pub fn path(&self) -> PathBuf {
        self.dir.join(&self.file)
    }

    /// Makes the entry match `wanted`; returns whether anything changed on disk.
    pub fn apply(&self, wanted: bool, launch: &Launch) -> Result<bool, AutostartError> {
        let path = self.path();
        let mut changed = if wanted {
            let text = launch.entry()?;
            if read_small(&path).as_deref() == Some(text.as_str()) {
                false
            } else {
                self.write(&path, &text)?;
                true
            }
        } else {
            remove(&path)?
        };
        if self.own_profile {
            let old = self.dir.join(OLD_ENTRY_FILE);
            if is_old_entry(&old) {
                changed |= remove(&old)?;
            }
        }
        Ok(changed)
    }

    fn write(&self, path: &Path, text: &str) -> Result<(), AutostartError> {
        let write_err = |source| AutostartError::Write {
            path: path.to_path_buf(),
            source,
        };
        std::fs::create_dir_all(&self.dir).map_err(write_err)?;
        let mut tmp = tempfile::Builder::new()
            .prefix(".fpt-login-")
            .suffix(".tmp")
            .tempfile_in(&self.dir)
            .map_err(write_err)?;
        tmp.write_all(text.as_bytes()).map_err(write_err)?;
        tmp.as_file().sync_all().map_err(write_err)?;
        // A rename replaces whatever is at `path` (a link included) without opening it.
        tmp.persist(path).map_err(|e| write_err(e.error))?;
        files::sync_dir(&self.dir).map_err(write_err)
    }
}

/// The text of a small regular file at `path` (not through a link).
fn read_small(path: &Path) -> Option<String> {
    let meta = std::fs::symlink_metadata(path).ok()?;
    if !meta.is_file() || meta.len() > MAX_ENTRY_BYTES {
        return None;
    }
    std::fs::read_to_string(path).ok()
}

/// Whether `path` is the plain file an older version wrote.
fn is_old_entry(path: &Path) -> bool {
    read_small(path)
        .and_then(|text| exec_arguments(&text))
        .and_then(|args| args.into_iter().next())
        .is_some_and(|program| {
            Path::new(&program)
                .file_name()
                .is_some_and(|name| name == "fpt-login-desktop")
        })
}

/// Removes `path` (a link itself, never its target); whether there was one.
fn remove(path: &Path) -> Result<bool, AutostartError> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(source) => Err(AutostartError::Remove {
            path: path.to_path_buf(),
            source,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn own() -> Paths {
        Paths {
            config: "/c".into(),
            data: "/d".into(),
            runtime: "/r".into(),
            profile: None,
        }
    }

    fn entries(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn the_entry_starts_the_program_in_the_tray_however_its_path_is_spelled() {
        for program in [
            "/usr/bin/fpt-login-desktop",
            "/home/ann/My Apps/fpt-login-desktop",
            "/opt/it's \"quoted\" $HOME `x` 100% \\ back/fpt-login-desktop",
        ] {
            let launch = Launch::new(program.into(), &own());
            let text = launch.entry().unwrap();
            assert_eq!(
                exec_arguments(&text).unwrap(),
                [program, "--background"],
                "{text}"
            );
        }
    }

    #[test]
    fn a_separate_profile_has_its_own_entry_that_starts_that_profile() {
        let dir = tempfile::tempdir().unwrap();
        let one = Paths::under("/home/ann/profile one".into());
        let two = Paths::under("/home/ann/profile-two".into());
        let program = PathBuf::from("/usr/bin/fpt-login-desktop");
        for paths in [&one, &two, &own()] {
            let item = LoginItem::in_dir(dir.path().to_path_buf(), paths);
            assert!(
                item.apply(true, &Launch::new(program.clone(), paths))
                    .unwrap()
            );
        }
        let names = entries(dir.path());
        assert_eq!(names.len(), 3, "{names:?}");
        assert!(names.contains(&ENTRY_FILE.to_owned()));
        let item = LoginItem::in_dir(dir.path().to_path_buf(), &one);
        let text = std::fs::read_to_string(item.path()).unwrap();
        assert_eq!(
            exec_arguments(&text).unwrap(),
            [
                "env",
                "FPT_LOGIN_HOME=/home/ann/profile one",
                "/usr/bin/fpt-login-desktop",
                "--background"
            ]
        );
    }

    #[test]
    fn unchanged_entries_are_not_rewritten_and_off_removes_only_ours() {
        let dir = tempfile::tempdir().unwrap();
        let item = LoginItem::in_dir(dir.path().to_path_buf(), &own());
        let launch = Launch::new("/usr/bin/fpt-login-desktop".into(), &own());
        std::fs::write(dir.path().join("other.desktop"), "[Desktop Entry]\n").unwrap();
        assert!(item.apply(true, &launch).unwrap());
        assert!(!item.apply(true, &launch).unwrap(), "nothing to change");
        let moved = Launch::new("/opt/fpt/fpt-login-desktop".into(), &own());
        assert!(item.apply(true, &moved).unwrap(), "a moved program");
        assert!(item.apply(false, &moved).unwrap());
        assert!(!item.apply(false, &moved).unwrap());
        assert_eq!(entries(dir.path()), ["other.desktop"]);
    }

    /// `tauri-plugin-autostart` opened the entry's path for writing, so a link placed there
    /// had its target truncated and overwritten.
    #[test]
    fn a_link_at_the_entrys_place_is_replaced_never_written_through() {
        let dir = tempfile::tempdir().unwrap();
        let precious = dir.path().join("precious");
        std::fs::write(&precious, "keep me").unwrap();
        let autostart = dir.path().join("autostart");
        std::fs::create_dir(&autostart).unwrap();
        let item = LoginItem::in_dir(autostart.clone(), &own());
        std::os::unix::fs::symlink(&precious, item.path()).unwrap();
        std::os::unix::fs::symlink(&precious, autostart.join(OLD_ENTRY_FILE)).unwrap();
        let launch = Launch::new("/usr/bin/fpt-login-desktop".into(), &own());
        assert!(item.apply(true, &launch).unwrap());
        assert_eq!(std::fs::read_to_string(&precious).unwrap(), "keep me");
        assert!(std::fs::symlink_metadata(item.path()).unwrap().is_file());
        // The old name is not ours when it is a link: it stays as it was.
        assert!(
            std::fs::symlink_metadata(autostart.join(OLD_ENTRY_FILE))
                .unwrap()
                .is_symlink()
        );
        assert!(item.apply(false, &launch).unwrap());
        assert_eq!(std::fs::read_to_string(&precious).unwrap(), "keep me");
    }

    #[test]
    fn the_old_entry_goes_once_the_new_one_is_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let old = dir.path().join(OLD_ENTRY_FILE);
        let old_text = "[Desktop Entry]\nType=Application\nVersion=1.0\nName=FPT Login\n\
                        Comment=FPT Login startup script\n\
                        Exec=/usr/bin/fpt-login-desktop --background\n\
                        StartupNotify=false\nTerminal=false";
        std::fs::write(&old, old_text).unwrap();
        // A separate profile never touches the person's own entries.
        let profile = Paths::under("/p".into());
        let item = LoginItem::in_dir(dir.path().to_path_buf(), &profile);
        item.apply(
            true,
            &Launch::new("/usr/bin/fpt-login-desktop".into(), &profile),
        )
        .unwrap();
        assert!(old.exists());
        let item = LoginItem::in_dir(dir.path().to_path_buf(), &own());
        item.apply(
            true,
            &Launch::new("/usr/bin/fpt-login-desktop".into(), &own()),
        )
        .unwrap();
        assert!(!old.exists());
        // Someone else's entry under that name stays.
        std::fs::write(&old, "[Desktop Entry]\nExec=/usr/bin/other --x\n").unwrap();
        item.apply(
            false,
            &Launch::new("/usr/bin/fpt-login-desktop".into(), &own()),
        )
        .unwrap();
        assert!(old.exists());
    }

    #[test]
    fn paths_a_login_item_cannot_name_are_refused_with_the_path() {
        let launch = Launch::new("/opt/new\nline/fpt-login-desktop".into(), &own());
        let e = launch.entry().unwrap_err();
        assert!(matches!(e, AutostartError::UnusablePath { .. }));
        assert!(e.to_string().contains("plainer path"), "{e}");
    }

    #[test]
    fn a_program_replaced_by_an_upgrade_is_started_from_its_path() {
        let dir = tempfile::tempdir().unwrap();
        let program = dir.path().join("fpt-login-desktop");
        let deleted = PathBuf::from(format!("{} (deleted)", program.display()));
        assert_eq!(
            replaced_program(deleted.clone()),
            deleted,
            "nothing there yet"
        );
        std::fs::write(&program, "").unwrap();
        assert_eq!(replaced_program(deleted), program);
    }

    #[test]
    fn malformed_exec_lines_read_as_none() {
        for text in [
            "[Desktop Entry]\nName=x\n",
            "[Desktop Entry]\nExec=\"unterminated\n",
            "[Desktop Entry]\nExec=prog %u\n",
            "[Desktop Entry]\nExec=prog \\\n",
            "[Other]\nExec=prog\n",
        ] {
            assert_eq!(exec_arguments(text), None, "{text:?}");
        }
    }

    proptest! {
        #[test]
        fn every_usable_path_reads_back_as_written(program in "/[^\\p{Cc}]{1,40}") {
            let launch = Launch::new(program.clone().into(), &own());
            let text = launch.entry().unwrap();
            prop_assert_eq!(exec_arguments(&text).unwrap(), vec![program, "--background".to_owned()]);
        }

        #[test]
        fn any_entry_text_reads_without_panicking(text in "\\PC{0,200}") {
            let _ = exec_arguments(&format!("[Desktop Entry]\nExec={text}\n"));
        }
    }
}
