//! tk-core's session cache (protocol reference §7): a global `authentication.yml` with
//! `current_host` and `recent_hosts`, and one per site with `current_user`, `recent_users` and
//! `users: [{login, session_token[, session_metadata]}]`. Unmodified Toolkit processes read
//! the signed-in user from these files.
//!
//! Unlike tk-core, every write takes a lock, re-reads the file, and replaces it atomically
//! (0600 file in a 0700 folder), so a reader never sees half a file. Keys FPT Login does not
//! know are kept.

use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use yaml_rust2::Yaml;
use yaml_rust2::yaml::Hash;

use super::yaml;
use crate::platform::files;
use crate::secret::Secret;
use crate::settings::RECENT_LIMIT;
use crate::site::Site;

/// Moves all of Toolkit's files, as tk-core honours it.
pub const SHOTGUN_HOME_ENV: &str = "SHOTGUN_HOME";
const FILE: &str = "authentication.yml";

#[derive(Debug, thiserror::Error)]
pub enum ToolkitError {
    #[error("cannot find Toolkit's cache folder; set {SHOTGUN_HOME_ENV}")]
    NoRoot,
    #[error("cannot read {}: {source}", .path.display())]
    Read { path: PathBuf, source: io::Error },
    #[error("cannot write {}: {source}", .path.display())]
    Write { path: PathBuf, source: io::Error },
    #[error(
        "{} is larger than any file Toolkit writes ({size} bytes); it was left alone — move it away if Toolkit should start afresh",
        .path.display()
    )]
    TooLarge { path: PathBuf, size: u64 },
    #[error(
        "{} uses YAML anchors or aliases, which Toolkit never writes; it was left alone — move it away if Toolkit should start afresh",
        .path.display()
    )]
    Aliases { path: PathBuf },
    #[error(
        "{} nests lists or mappings deeper than any file Toolkit writes; it was left alone — move it away if Toolkit should start afresh",
        .path.display()
    )]
    TooDeep { path: PathBuf },
}

/// Toolkit's files hold a few sites and users: a kilobyte or two.
pub const MAX_FILE: u64 = 1 << 20;

/// A session found in Toolkit's cache.
#[derive(Debug, Clone)]
pub struct CachedSession {
    pub site: Site,
    pub login: String,
    pub token: Secret,
}

/// Toolkit's cache folder.
#[derive(Debug, Clone)]
pub struct ToolkitCache {
    root: PathBuf,
}

impl ToolkitCache {
    /// `$SHOTGUN_HOME`, else the platform's root: `~/.shotgun` on Linux,
    /// `~/Library/Caches/Shotgun` on macOS, `%APPDATA%\Shotgun` on Windows.
    pub fn locate() -> Result<Self, ToolkitError> {
        if let Some(home) = std::env::var_os(SHOTGUN_HOME_ENV).filter(|v| !v.is_empty()) {
            let home = PathBuf::from(home);
            let expanded = match home.strip_prefix("~") {
                Ok(rest) => directories::BaseDirs::new()
                    .ok_or(ToolkitError::NoRoot)?
                    .home_dir()
                    .join(rest),
                Err(_) => home,
            };
            return Ok(Self::under(
                std::path::absolute(&expanded).unwrap_or(expanded),
            ));
        }
        let base = directories::BaseDirs::new().ok_or(ToolkitError::NoRoot)?;
        let root = if cfg!(target_os = "macos") {
            base.home_dir().join("Library/Caches/Shotgun")
        } else if cfg!(windows) {
            base.config_dir().join("Shotgun")
        } else {
            base.home_dir().join(".shotgun")
        };
        Ok(Self::under(root))
    }

    pub fn under(root: PathBuf) -> Self {
        Self { root }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The folder tk-core keeps a site's file in: the host without port, lowercased, with
    /// `.shotgunstudio.com` and `.shotgrid.autodesk.com` removed.
    pub fn site_folder(site: &Site) -> String {
        site.host()
            .to_lowercase()
            .replace(".shotgunstudio.com", "")
            .replace(".shotgrid.autodesk.com", "")
    }

    fn global_file(&self) -> PathBuf {
        self.root.join(FILE)
    }

    /// The site's file; the legacy location (full host name) only when it alone exists, as
    /// tk-core does.
    pub fn site_file(&self, site: &Site) -> PathBuf {
        let current = self.root.join(Self::site_folder(site)).join(FILE);
        let legacy = self.root.join(site.host().to_lowercase()).join(FILE);
        if !current.exists() && legacy.exists() {
            legacy
        } else {
            current
        }
    }

    /// `login` signed in to `site`: the site becomes the current host and the user its current
    /// user, with `token`.
    pub fn record_sign_in(
        &self,
        site: &Site,
        login: &str,
        token: &Secret,
    ) -> Result<(), ToolkitError> {
        update(&self.global_file(), |doc| {
            set(doc, "current_host", Yaml::String(site.to_string()));
            push_recent(doc, "recent_hosts", site.as_str(), |a, b| a == b);
        })?;
        update(&self.site_file(site), |doc| {
            set(doc, "current_user", Yaml::String(login.trim().to_owned()));
            push_recent(doc, "recent_users", login.trim(), same_login);
            let users = list(doc, "users");
            let existing = users
                .iter_mut()
                .filter_map(|u| match u {
                    Yaml::Hash(h) => Some(h),
                    _ => None,
                })
                .find(|h| text(h, "login").is_some_and(|l| same_login(&l, login)));
            if let Some(user) = existing {
                set(
                    user,
                    "session_token",
                    Yaml::String(token.expose().to_owned()),
                );
            } else {
                let mut user = Hash::new();
                set(&mut user, "login", Yaml::String(login.trim().to_owned()));
                set(
                    &mut user,
                    "session_token",
                    Yaml::String(token.expose().to_owned()),
                );
                users.push(Yaml::Hash(user));
            }
        })
    }

    /// `login` signed out of `site`: their entry leaves `users` (`current_user` stays, as
    /// tk-core's `clear_default_user` leaves it). Returns whether there was one.
    pub fn record_sign_out(&self, site: &Site, login: &str) -> Result<bool, ToolkitError> {
        let path = self.site_file(site);
        if !path.exists() {
            return Ok(false);
        }
        let mut removed = false;
        update(&path, |doc| {
            let users = list(doc, "users");
            let before = users.len();
            users.retain(|u| !matches!(u, Yaml::Hash(h) if text(h, "login").is_some_and(|l| same_login(&l, login))));
            removed = users.len() != before;
        })?;
        Ok(removed)
    }

    /// Every session in the cache: the current and recent hosts' users with a token.
    pub fn sessions(&self) -> Result<Vec<CachedSession>, ToolkitError> {
        let global = read(&self.global_file())?;
        let mut hosts: Vec<String> = text(&global, "current_host").into_iter().collect();
        hosts.extend(strings(&global, "recent_hosts"));
        let mut found = Vec::new();
        let mut seen: Vec<Site> = Vec::new();
        for host in hosts {
            // Plain http only for a site on this machine: elsewhere the token would travel in
            // clear, and taking it over would keep it doing so.
            let Ok(site) = Site::parse(&host) else {
                continue;
            };
            if seen.contains(&site) {
                continue;
            }
            seen.push(site.clone());
            let doc = read(&self.site_file(&site))?;
            let Some(Yaml::Array(users)) = doc.get(&key("users")) else {
                continue;
            };
            for user in users {
                let Yaml::Hash(user) = user else { continue };
                // Entries without a token are skipped, not errors (tk-core PR #942).
                if let (Some(login), Some(token)) =
                    (text(user, "login"), text(user, "session_token"))
                {
                    found.push(CachedSession {
                        site: site.clone(),
                        login,
                        token: Secret::new(token),
                    });
                }
            }
        }
        Ok(found)
    }
}

/// tk-core matches logins ignoring case and surrounding blanks.
fn same_login(a: &str, b: &str) -> bool {
    a.trim().eq_ignore_ascii_case(b.trim())
}

fn key(name: &str) -> Yaml {
    Yaml::String(name.to_owned())
}

fn set(map: &mut Hash, name: &str, value: Yaml) {
    map.insert(key(name), value);
}

fn text(map: &Hash, name: &str) -> Option<String> {
    match map.get(&key(name)) {
        Some(Yaml::String(s)) if !s.trim().is_empty() => Some(s.clone()),
        _ => None,
    }
}

fn strings(map: &Hash, name: &str) -> Vec<String> {
    match map.get(&key(name)) {
        Some(Yaml::Array(items)) => items
            .iter()
            .filter_map(|i| i.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

/// The list under `name`, made one if it is missing or not a list.
fn list<'a>(map: &'a mut Hash, name: &str) -> &'a mut Vec<Yaml> {
    let entry = map
        .entry(key(name))
        .or_insert_with(|| Yaml::Array(Vec::new()));
    if !matches!(entry, Yaml::Array(_)) {
        *entry = Yaml::Array(Vec::new());
    }
    match entry {
        Yaml::Array(items) => items,
        _ => unreachable!("just made a list"),
    }
}

/// Moves `value` to the front of the list `name`, keeping at most eight.
fn push_recent(map: &mut Hash, name: &str, value: &str, same: impl Fn(&str, &str) -> bool) {
    let items = list(map, name);
    items.retain(|i| !i.as_str().is_some_and(|s| same(s, value)));
    items.insert(0, Yaml::String(value.to_owned()));
    items.truncate(RECENT_LIMIT);
}

fn read(path: &Path) -> Result<Hash, ToolkitError> {
    let read_err = |source| ToolkitError::Read {
        path: path.to_path_buf(),
        source,
    };
    let file = match fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Hash::new()),
        Err(source) => return Err(read_err(source)),
    };
    let size = file.metadata().map_err(read_err)?.len();
    let mut text = String::new();
    // One byte past the cap tells "too large" from "exactly the cap", even for a file that
    // grows while it is read.
    let read = io::Read::read_to_string(&mut io::Read::take(file, MAX_FILE + 1), &mut text)
        .map_err(read_err)?;
    if size > MAX_FILE || u64::try_from(read).unwrap_or(u64::MAX) > MAX_FILE {
        return Err(ToolkitError::TooLarge {
            path: path.to_path_buf(),
            size,
        });
    }
    let mut doc = yaml::load(&text).map_err(|refused| match refused {
        yaml::Refused::Aliases => ToolkitError::Aliases {
            path: path.to_path_buf(),
        },
        yaml::Refused::TooDeep => ToolkitError::TooDeep {
            path: path.to_path_buf(),
        },
    })?;
    // tk-core deletes a `method: null` it finds (PR #941).
    if doc.get(&key("method")) == Some(&Yaml::Null) {
        doc.remove(&key("method"));
    }
    Ok(doc)
}

/// Applies `change` to the file under a lock and replaces the file atomically.
fn update(path: &Path, change: impl FnOnce(&mut Hash)) -> Result<(), ToolkitError> {
    let write_err = |source| ToolkitError::Write {
        path: path.to_path_buf(),
        source,
    };
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    files::create_private_dirs(dir).map_err(write_err)?;
    let lock = files::open_private(&path.with_extension("yml.lock")).map_err(write_err)?;
    lock.lock().map_err(write_err)?;
    let mut doc = read(path)?;
    change(&mut doc);
    // tempfile creates the file 0600, as tk-core's umask 077 does.
    let mut tmp = files::temp_file_in(dir, ".authentication.").map_err(write_err)?;
    tmp.write_all(yaml::dump(&doc).as_bytes())
        .map_err(write_err)?;
    tmp.as_file().sync_all().map_err(write_err)?;
    tmp.persist(path).map_err(|e| write_err(e.error))?;
    files::sync_dir(dir).map_err(write_err)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site(url: &str) -> Site {
        Site::parse(url).unwrap()
    }

    #[test]
    fn site_folders_follow_tk_core() {
        assert_eq!(
            ToolkitCache::site_folder(&site("https://MyStudio.shotgrid.autodesk.com")),
            "mystudio"
        );
        assert_eq!(
            ToolkitCache::site_folder(&site("https://sg.corp.local:8080")),
            "sg.corp.local"
        );
        assert_eq!(
            ToolkitCache::site_folder(&site("https://old.shotgunstudio.com")),
            "old"
        );
    }

    #[test]
    fn the_files_are_what_tk_core_writes() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = ToolkitCache::under(tmp.path().to_path_buf());
        let studio = site("https://mystudio.shotgrid.autodesk.com");
        cache
            .record_sign_in(&studio, "jdoe", &Secret::new("0123abcd"))
            .unwrap();
        assert_eq!(
            fs::read_to_string(tmp.path().join("authentication.yml")).unwrap(),
            "current_host: https://mystudio.shotgrid.autodesk.com\nrecent_hosts:\n- https://mystudio.shotgrid.autodesk.com\n"
        );
        assert_eq!(
            fs::read_to_string(tmp.path().join("mystudio/authentication.yml")).unwrap(),
            "current_user: jdoe\nrecent_users:\n- jdoe\nusers:\n- login: jdoe\n  session_token: 0123abcd\n"
        );
        // Modes are what Unix has to keep the token from others.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&tmp.path().join("mystudio")), 0o700);
            assert_eq!(mode(&tmp.path().join("mystudio/authentication.yml")), 0o600);
        }
    }

    #[test]
    fn updates_keep_unknown_keys_and_metadata_and_match_logins_loosely() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = ToolkitCache::under(tmp.path().to_path_buf());
        let studio = site("https://mystudio.shotgrid.autodesk.com");
        fs::create_dir_all(tmp.path().join("mystudio")).unwrap();
        fs::write(
            tmp.path().join("mystudio/authentication.yml"),
            "current_user: other\nmethod: app_session_launcher\nrecent_users: [other, JDoe]\nusers:\n- {login: ' JDoe ', session_metadata: YWJj, session_token: old}\n- {login: nobody}\nfuture_key: {a: 1}\n",
        )
        .unwrap();
        cache
            .record_sign_in(&studio, "jdoe", &Secret::new("new"))
            .unwrap();
        assert_eq!(
            fs::read_to_string(tmp.path().join("mystudio/authentication.yml")).unwrap(),
            "current_user: jdoe\nfuture_key:\n  a: 1\nmethod: app_session_launcher\nrecent_users:\n- jdoe\n- other\nusers:\n- login: ' JDoe '\n  session_metadata: YWJj\n  session_token: new\n- login: nobody\n"
        );
        let sessions = cache.sessions().unwrap();
        assert_eq!(sessions.len(), 1, "the entry without a token is skipped");
        assert_eq!(sessions[0].token.expose(), "new");

        assert!(cache.record_sign_out(&studio, "JDOE").unwrap());
        let after = fs::read_to_string(tmp.path().join("mystudio/authentication.yml")).unwrap();
        assert!(
            after.contains("current_user: jdoe") && !after.contains("session_token"),
            "{after}"
        );
    }

    #[test]
    fn a_corrupt_file_reads_as_empty_and_is_rewritten_whole() {
        let tmp = tempfile::tempdir().unwrap();
        fs::write(tmp.path().join("authentication.yml"), "- just\n- a list\n").unwrap();
        let cache = ToolkitCache::under(tmp.path().to_path_buf());
        cache
            .record_sign_in(&site("https://a.example.com"), "x", &Secret::new("t"))
            .unwrap();
        let global = fs::read_to_string(tmp.path().join("authentication.yml")).unwrap();
        assert!(
            global.starts_with("current_host: https://a.example.com\n"),
            "{global}"
        );
    }

    fn global_with_hosts(root: &Path, hosts: &[&str]) {
        let recent: String = hosts.iter().flat_map(|h| ["- ", h, "\n"]).collect();
        fs::write(
            root.join("authentication.yml"),
            format!("current_host: {}\nrecent_hosts:\n{recent}", hosts[0]),
        )
        .unwrap();
    }

    #[test]
    fn aliases_are_refused_before_anything_expands() {
        let tmp = tempfile::tempdir().unwrap();
        // Nine levels of ten: a billion strings once expanded, 500 bytes on disk.
        let mut laughs = String::from(
            "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
        );
        let names = ["a", "b", "c", "d", "e", "f", "g", "h", "i"];
        for pair in names.windows(2) {
            let (prev, next) = (pair[0], pair[1]);
            let refs = vec![format!("*{prev}"); 10].join(",");
            laughs += &[next, ": &", next, " [", &refs, "]\n"].concat();
        }
        fs::write(tmp.path().join("authentication.yml"), &laughs).unwrap();
        let cache = ToolkitCache::under(tmp.path().to_path_buf());
        let e = cache.sessions().unwrap_err();
        assert!(matches!(e, ToolkitError::Aliases { .. }), "{e}");
        assert!(e.to_string().contains("authentication.yml"), "{e}");
        // Nor is the file rewritten (or read) on a sign-in.
        let e = cache
            .record_sign_in(&site("https://a.example.com"), "x", &Secret::new("t"))
            .unwrap_err();
        assert!(matches!(e, ToolkitError::Aliases { .. }), "{e}");
        assert_eq!(
            fs::read_to_string(tmp.path().join("authentication.yml")).unwrap(),
            laughs
        );
    }

    #[test]
    fn a_file_larger_than_toolkit_ever_writes_is_not_read() {
        let tmp = tempfile::tempdir().unwrap();
        let big = format!(
            "current_host: https://a.example.com\n# {}\n",
            "x".repeat(2 << 20)
        );
        fs::write(tmp.path().join("authentication.yml"), big).unwrap();
        let e = ToolkitCache::under(tmp.path().to_path_buf())
            .sessions()
            .unwrap_err();
        assert!(matches!(e, ToolkitError::TooLarge { .. }), "{e}");
    }

    #[test]
    fn tokens_for_plain_http_sites_elsewhere_are_not_taken_over() {
        let tmp = tempfile::tempdir().unwrap();
        global_with_hosts(
            tmp.path(),
            &["http://studio.example.com", "http://127.0.0.1:8090"],
        );
        let cache = ToolkitCache::under(tmp.path().to_path_buf());
        for host in ["http://studio.example.com", "http://127.0.0.1:8090"] {
            let site = Site::parse_with(host, true).unwrap();
            let file = cache.site_file(&site);
            fs::create_dir_all(file.parent().unwrap()).unwrap();
            fs::write(&file, "users:\n- login: jane\n  session_token: abc\n").unwrap();
        }
        let found: Vec<String> = cache
            .sessions()
            .unwrap()
            .iter()
            .map(|s| s.site.to_string())
            .collect();
        assert_eq!(found, ["http://127.0.0.1:8090"]);
    }
}
