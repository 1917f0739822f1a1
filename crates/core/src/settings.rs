//! Non-secret state in one JSON file: recent sites, the default site, per-site users and what
//! is known of their sessions.
//!
//! Writes take an advisory lock, re-read the file, apply the change and replace the file
//! atomically (temp file, fsync, rename), so two processes never lose each other's updates
//! and a crash never leaves half a file. Keys this version does not know are kept.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::model::{Method, SessionState};
use crate::platform::files::{self, FileIdentity};
use crate::site::Site;

/// How many recent sites and users are remembered (as Toolkit does).
pub const RECENT_LIMIT: usize = 8;
/// Keep-alive interval unless configured: well inside the shortest inactivity timeouts sites
/// are set to, and cheap (one small read).
pub const DEFAULT_KEEP_ALIVE_SECS: u64 = 600;
/// How long a silent renewal may take unless configured. Toolkit gives up after 5 seconds,
/// which slow IdPs routinely exceed.
pub const DEFAULT_RENEW_TIMEOUT_SECS: u64 = 30;
/// The seconds a duration setting may hold: at least one, at most a day. A longer keep-alive
/// would let every site's session idle out; a longer watchdog would hang renewals; and no
/// value, typed or found in a hand-edited file, can overflow the arithmetic on it.
pub const SECONDS_SETTING: std::ops::RangeInclusive<u64> = 1..=86_400;

/// A duration setting as typed (`300` or `300s`), within [`SECONDS_SETTING`].
pub fn parse_seconds(value: &str) -> Option<u64> {
    value
        .trim()
        .trim_end_matches('s')
        .parse::<u64>()
        .ok()
        .filter(|s| SECONDS_SETTING.contains(s))
}

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("cannot read settings file {}: {source}", .path.display())]
    Read { path: PathBuf, source: io::Error },
    #[error("settings file {} is not valid JSON ({source}); fix or remove it", .path.display())]
    Parse {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("cannot write settings file {}: {source}", .path.display())]
    Write { path: PathBuf, source: io::Error },
    #[error("settings file {} is larger than any FPT Login writes ({size} bytes); fix or remove it", .path.display())]
    TooLarge { path: PathBuf, size: u64 },
}

/// The settings of a workstation take a few kilobytes; a larger file is not read into memory.
pub const MAX_FILE: u64 = 16 << 20;

/// The whole settings file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    /// Most recent first.
    #[serde(default)]
    pub recent_sites: Vec<Site>,
    /// The site used when a caller names none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_site: Option<Site>,
    #[serde(default)]
    pub sites: BTreeMap<Site, SiteSettings>,
    /// The HTTP proxy for every request, in Toolkit's `[user:pass@]host[:port]` form.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_proxy: Option<String>,
    /// When the proxy user's password was last put in the keyring (epoch seconds): a new value
    /// tells every running process to read it again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_proxy_password_set: Option<i64>,
    /// Keep Toolkit's session cache files (`~/.shotgun/…/authentication.yml`) up to date, for
    /// unmodified Toolkit processes. Off by default: those files hold tokens in plain text.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub toolkit_files: bool,
    /// A PEM bundle of the CAs to trust instead of the system's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_bundle: Option<PathBuf>,
    /// Keep sessions from idling out with a cheap call while signed in (`None`: on).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_alive: Option<bool>,
    /// Seconds between keep-alive calls (`None`: [`DEFAULT_KEEP_ALIVE_SECS`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_alive_interval: Option<u64>,
    /// Seconds a silent renewal may take before the person is asked (`None`:
    /// [`DEFAULT_RENEW_TIMEOUT_SECS`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renew_timeout: Option<u64>,
    /// Start the app in the tray at login.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub autostart: bool,
    #[serde(flatten)]
    pub unknown: Map<String, Value>,
}

/// What is known about one site.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SiteSettings {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_user: Option<String>,
    /// Most recent first.
    #[serde(default)]
    pub recent_users: Vec<String>,
    /// Users with a token in the keyring, by login.
    #[serde(default)]
    pub users: BTreeMap<String, UserRecord>,
    /// API scripts with a key in the keyring, by script name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub scripts: BTreeMap<String, ScriptRecord>,
    /// The way in the person last chose for this site, offered first next time.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "Method::deserialize_lenient"
    )]
    pub method: Option<Method>,
    /// When set, this script is the site's default user (farm machines), not `current_user`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_script: Option<String>,
    /// Someone signed out: the web sign-in's cookies (the IdP's too) must go before the next
    /// web sign-in, so it does not pass silently as them. The desktop app clears them (now if
    /// it runs, else when it starts) and then this flag.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub web_data_stale: bool,
    #[serde(flatten)]
    pub unknown: Map<String, Value>,
}

/// An API script whose key is in the keyring.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ScriptRecord {
    /// Epoch seconds.
    #[serde(default)]
    pub added_at: i64,
    #[serde(flatten)]
    pub unknown: Map<String, Value>,
}

/// Metadata of a signed-in user; the token itself is in the keyring.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UserRecord {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// How the user signed in.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "Method::deserialize_lenient"
    )]
    pub method: Option<Method>,
    /// Epoch seconds.
    #[serde(default)]
    pub signed_in_at: i64,
    /// When the SAML claims lapse (epoch seconds), for SSO users.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claims_expire_at: Option<i64>,
    /// When the session itself ends, when the site says so (epoch seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_expires_at: Option<i64>,
    #[serde(default, skip_serializing_if = "is_active")]
    pub state: SessionState,
    /// Why the session needs attention or expired, for people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attention: Option<String>,
    #[serde(flatten)]
    pub unknown: Map<String, Value>,
}

#[expect(
    clippy::trivially_copy_pass_by_ref,
    reason = "serde's skip_serializing_if passes a reference"
)]
fn is_active(state: &SessionState) -> bool {
    *state == SessionState::Active
}

impl UserRecord {
    /// The earliest known moment the token stops working, if any is known.
    pub fn expires_at(&self) -> Option<i64> {
        match (self.claims_expire_at, self.session_expires_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

impl SiteSettings {
    /// The site's current user and what is known of their session, when someone is signed in.
    pub fn current_session(&self) -> Option<(&String, &UserRecord)> {
        let login = self.current_user.as_ref()?;
        Some((login, self.users.get(login)?))
    }
}

impl Settings {
    /// The settings file's contents as read; what any hand edit or older version wrote.
    pub fn from_json(bytes: &[u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(bytes)
    }

    /// [`SiteSettings::current_session`] of `site`.
    pub fn current_session(&self, site: &Site) -> Option<(&String, &UserRecord)> {
        self.sites.get(site)?.current_session()
    }

    /// When `login`'s session on `site` was signed in (or last renewed): what tells one of
    /// their sessions from the next.
    pub fn current_generation(&self, site: &Site, login: &str) -> Option<i64> {
        Some(self.sites.get(site)?.users.get(login)?.signed_in_at)
    }

    pub fn keep_alive_enabled(&self) -> bool {
        self.keep_alive.unwrap_or(true)
    }

    pub fn keep_alive_every(&self) -> std::time::Duration {
        std::time::Duration::from_secs(
            self.keep_alive_interval
                .unwrap_or(DEFAULT_KEEP_ALIVE_SECS)
                .clamp(*SECONDS_SETTING.start(), *SECONDS_SETTING.end()),
        )
    }

    pub fn renew_timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs(
            self.renew_timeout
                .unwrap_or(DEFAULT_RENEW_TIMEOUT_SECS)
                .clamp(*SECONDS_SETTING.start(), *SECONDS_SETTING.end()),
        )
    }

    /// The longest a caller of `get_user` with `min_ttl` may wait for the app's answer: one
    /// call to see the site answers, the silent renewal's watchdog, one call to check what it
    /// brought, and a margin. Clients wait this long, and never send such a request twice.
    pub fn longest_renewal(&self) -> std::time::Duration {
        const CALL: std::time::Duration = std::time::Duration::from_secs(30);
        const MARGIN: std::time::Duration = std::time::Duration::from_secs(60);
        self.renew_timeout()
            .saturating_add(CALL.saturating_mul(2))
            .saturating_add(MARGIN)
    }

    /// The site to use: `site` if given, else the default site.
    pub fn resolve_site<'a>(&'a self, site: Option<&'a Site>) -> Option<&'a Site> {
        site.or(self.default_site.as_ref())
    }

    /// The site asked for (else the default site) and who is signed in to it as its current
    /// user, if anyone.
    pub fn current_user<'a>(&'a self, site: Option<&'a Site>) -> Option<(&'a Site, &'a str)> {
        let site = self.resolve_site(site)?;
        Some((site, self.sites.get(site)?.current_user.as_deref()?))
    }
}

/// Moves `item` to the front of `list`, keeping at most [`RECENT_LIMIT`] entries.
pub fn push_recent<T: PartialEq>(list: &mut Vec<T>, item: T) {
    list.retain(|existing| *existing != item);
    list.insert(0, item);
    list.truncate(RECENT_LIMIT);
}

/// The settings file on disk.
#[derive(Debug, Clone)]
pub struct SettingsFile {
    path: PathBuf,
    /// The last contents read or written, with the identity of the file they came from.
    cache: Arc<Mutex<Option<Cached>>>,
}

/// Settings as read (or written) and the file they came from.
type Cached = (FileStamp, Arc<Settings>);

/// What changes whenever the file is replaced or rewritten: atomic writes make a new file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileStamp {
    identity: FileIdentity,
    modified: Option<SystemTime>,
    len: u64,
}

impl FileStamp {
    fn of(path: &Path) -> io::Result<Option<Self>> {
        match fs::metadata(path) {
            Ok(meta) => Ok(Some(Self {
                identity: FileIdentity::of(&meta),
                modified: meta.modified().ok(),
                len: meta.len(),
            })),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }
}

impl SettingsFile {
    pub fn new(path: PathBuf) -> Self {
        Self {
            path,
            cache: Arc::default(),
        }
    }

    /// The settings, re-read only when the file changed since the last read or write: the
    /// app answers many requests a second, and other processes may write the file too.
    pub fn load_shared(&self) -> Result<Arc<Settings>, SettingsError> {
        let stamp = FileStamp::of(&self.path).map_err(|source| SettingsError::Read {
            path: self.path.clone(),
            source,
        })?;
        let mut cache = self.cache.lock().expect("settings cache lock");
        if let (Some(stamp), Some((cached, settings))) = (stamp, cache.as_ref())
            && stamp == *cached
        {
            return Ok(Arc::clone(settings));
        }
        let settings = Arc::new(self.load()?);
        // Stamp taken before the read: a write in between only causes one more read later.
        *cache = stamp.map(|stamp| (stamp, Arc::clone(&settings)));
        Ok(settings)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads the settings; a missing file is the defaults.
    pub fn load(&self) -> Result<Settings, SettingsError> {
        let read_err = |source| SettingsError::Read {
            path: self.path.clone(),
            source,
        };
        let file = match File::open(&self.path) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Settings::default()),
            Err(source) => return Err(read_err(source)),
        };
        let mut bytes = Vec::new();
        // One byte past the cap tells "too large" from "exactly the cap".
        io::Read::read_to_end(&mut io::Read::take(file, MAX_FILE + 1), &mut bytes)
            .map_err(read_err)?;
        let size = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
        if size > MAX_FILE {
            return Err(SettingsError::TooLarge {
                path: self.path.clone(),
                size,
            });
        }
        Settings::from_json(&bytes).map_err(|source| SettingsError::Parse {
            path: self.path.clone(),
            source,
        })
    }

    /// Applies `change` to the current file contents under the lock and writes the result
    /// atomically. Returns the settings as written.
    pub fn update<R>(
        &self,
        change: impl FnOnce(&mut Settings) -> R,
    ) -> Result<(Settings, R), SettingsError> {
        let write_err = |source| SettingsError::Write {
            path: self.path.clone(),
            source,
        };
        let dir = self.path.parent().unwrap_or_else(|| Path::new("."));
        let lock = self.take_lock()?;

        let mut settings = self.load()?;
        let result = change(&mut settings);
        let mut json = serde_json::to_vec_pretty(&settings)
            .map_err(|e| write_err(io::Error::new(io::ErrorKind::InvalidData, e)))?;
        json.push(b'\n');
        let mut tmp = files::temp_file_in(dir, ".settings.").map_err(write_err)?;
        tmp.write_all(&json).map_err(write_err)?;
        tmp.as_file().sync_all().map_err(write_err)?;
        tmp.persist(&self.path).map_err(|e| write_err(e.error))?;
        let written = Arc::new(settings.clone());
        if let Ok(Some(stamp)) = FileStamp::of(&self.path) {
            *self.cache.lock().expect("settings cache lock") = Some((stamp, written));
        }
        files::sync_dir(dir).map_err(write_err)?;
        drop(lock);
        Ok((settings, result))
    }

    /// Runs `f` holding the lock every [`SettingsFile::update`] holds, writing nothing: for work
    /// that must not interleave with a writer in any process.
    pub fn locked<R>(&self, f: impl FnOnce() -> R) -> Result<R, SettingsError> {
        let lock = self.take_lock()?;
        let result = f();
        drop(lock);
        Ok(result)
    }

    /// Waits for the writers' lock and holds it until the file is dropped.
    fn take_lock(&self) -> Result<File, SettingsError> {
        let write_err = |source| SettingsError::Write {
            path: self.path.clone(),
            source,
        };
        let dir = self.path.parent().unwrap_or_else(|| Path::new("."));
        fs::create_dir_all(dir).map_err(write_err)?;
        let lock = self.lock_file().map_err(write_err)?;
        lock.lock().map_err(write_err)?;
        Ok(lock)
    }

    fn lock_file(&self) -> io::Result<File> {
        let mut name = self.path.file_name().unwrap_or_default().to_owned();
        name.push(".lock");
        OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(self.path.with_file_name(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site(s: &str) -> Site {
        Site::parse(s).unwrap()
    }

    #[test]
    fn missing_file_reads_as_defaults() {
        let tmp = tempfile::tempdir().unwrap();
        let file = SettingsFile::new(tmp.path().join("settings.json"));
        assert_eq!(file.load().unwrap(), Settings::default());
    }

    #[test]
    fn a_file_larger_than_settings_ever_are_is_refused_unread() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("settings.json");
        File::create(&path).unwrap().set_len(MAX_FILE + 1).unwrap();
        let e = SettingsFile::new(path.clone()).load().unwrap_err();
        assert!(matches!(e, SettingsError::TooLarge { .. }), "{e}");
        assert!(e.to_string().contains(&*path.to_string_lossy()), "{e}");
        let e = SettingsFile::new(path.clone())
            .update(|s| s.autostart = true)
            .unwrap_err();
        assert!(matches!(e, SettingsError::TooLarge { .. }), "{e}");
        assert_eq!(
            fs::metadata(&path).unwrap().len(),
            MAX_FILE + 1,
            "overwritten"
        );
    }

    #[test]
    fn a_write_removes_what_a_killed_write_left() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("settings.json");
        fs::write(tmp.path().join(".settings.Ab12Cd"), "{\"half\": ").unwrap();
        let file = SettingsFile::new(path.clone());
        file.update(|s| s.autostart = true).unwrap();
        let mut names: Vec<_> = fs::read_dir(tmp.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, ["settings.json", "settings.json.lock"]);
    }

    #[test]
    fn unknown_keys_survive_a_rewrite() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("settings.json");
        fs::write(
            &path,
            r#"{"future_key": {"a": 1}, "sites": {"https://a.example.com": {"pinned": true, "users": {"jane": {"user_id": 3, "colour": "red"}}}}}"#,
        )
        .unwrap();
        let file = SettingsFile::new(path.clone());
        file.update(|s| s.default_site = Some(site("https://a.example.com")))
            .unwrap();
        let raw: Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
        assert_eq!(raw["future_key"]["a"], 1);
        assert_eq!(raw["sites"]["https://a.example.com"]["pinned"], true);
        assert_eq!(
            raw["sites"]["https://a.example.com"]["users"]["jane"]["colour"],
            "red"
        );
        assert_eq!(raw["default_site"], "https://a.example.com");
    }

    #[test]
    fn corrupt_file_is_an_error_naming_the_file_and_is_not_overwritten() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("settings.json");
        fs::write(&path, "{not json").unwrap();
        let file = SettingsFile::new(path.clone());
        let e = file.update(|s| s.recent_sites.clear()).unwrap_err();
        assert!(e.to_string().contains("settings.json"), "{e}");
        assert_eq!(fs::read_to_string(&path).unwrap(), "{not json");
    }

    #[test]
    fn recent_lists_move_to_front_and_cap_at_eight() {
        let mut list: Vec<u32> = (0..8).collect();
        push_recent(&mut list, 5);
        assert_eq!(list[0], 5);
        assert_eq!(list.len(), 8);
        push_recent(&mut list, 99);
        assert_eq!(list.len(), 8);
        assert_eq!(list[0], 99);
        assert!(!list.contains(&7));
    }

    #[test]
    fn concurrent_updates_are_not_lost() {
        let tmp = tempfile::tempdir().unwrap();
        let file = SettingsFile::new(tmp.path().join("settings.json"));
        let threads: Vec<_> = (0..8)
            .map(|i| {
                let file = file.clone();
                std::thread::spawn(move || {
                    for j in 0..10 {
                        let s = site(&format!("https://s{i}-{j}.example.com"));
                        file.update(|settings| {
                            settings.sites.insert(s, SiteSettings::default());
                        })
                        .unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(file.load().unwrap().sites.len(), 80);
    }

    #[test]
    fn the_shared_copy_follows_writes_from_anyone() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("settings.json");
        let ours = SettingsFile::new(path.clone());
        assert!(ours.load_shared().unwrap().sites.is_empty());
        ours.update(|s| s.default_site = Some(site("https://a.example.com")))
            .unwrap();
        let first = ours.load_shared().unwrap();
        assert_eq!(first.default_site, Some(site("https://a.example.com")));
        assert!(
            Arc::ptr_eq(&first, &ours.load_shared().unwrap()),
            "unchanged: not re-read"
        );
        // Another process (another SettingsFile) replaces the file.
        SettingsFile::new(path)
            .update(|s| s.default_site = Some(site("https://b.example.com")))
            .unwrap();
        assert_eq!(
            ours.load_shared().unwrap().default_site,
            Some(site("https://b.example.com"))
        );
    }

    #[test]
    fn a_caller_waits_out_the_longest_renewal() {
        let mut settings = Settings::default();
        assert_eq!(settings.longest_renewal().as_secs(), 30 + 60 + 60);
        // Even a value no one could type (a hand-edited file) stays within a day.
        settings.renew_timeout = Some(u64::MAX);
        assert_eq!(settings.longest_renewal().as_secs(), 86_400 + 60 + 60);
    }

    #[test]
    fn duration_settings_have_bounds_typed_or_stored() {
        assert_eq!(parse_seconds("300"), Some(300));
        assert_eq!(parse_seconds("300s"), Some(300));
        for bad in [
            "0",
            "-5",
            "86401",
            "18446744073709551615",
            "1e3",
            "",
            "soon",
        ] {
            assert_eq!(parse_seconds(bad), None, "{bad}");
        }
        let stored = Settings {
            keep_alive_interval: Some(u64::MAX),
            renew_timeout: Some(0),
            ..Settings::default()
        };
        assert_eq!(stored.keep_alive_every().as_secs(), 86_400);
        assert_eq!(stored.renew_timeout().as_secs(), 1);
    }

    #[test]
    fn expiry_is_the_earliest_known() {
        let mut r = UserRecord::default();
        assert_eq!(r.expires_at(), None);
        r.claims_expire_at = Some(20);
        assert_eq!(r.expires_at(), Some(20));
        r.session_expires_at = Some(10);
        assert_eq!(r.expires_at(), Some(10));
    }
}
