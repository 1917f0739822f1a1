//! What each fuzz target asserts about one input. The fuzz targets (`fuzz_targets/`) call
//! these under libFuzzer; the normal stable test run (`crates/core/tests/untrusted_input.rs`)
//! replays every kept input through the very same functions, so a crash once found stays
//! fixed. Each function takes raw bytes, as they arrive from a person, a site, a file or a
//! local process, and panics only when a property of the product breaks.

use std::path::{Component, Path};
use std::sync::OnceLock;

use fpt_login_core::landing::{self, Cookie, LANDING_PATH, SESSION_COOKIE};
use fpt_login_core::network::Proxy;
use fpt_login_core::protocol;
use fpt_login_core::settings::Settings;
use fpt_login_core::toolkit::{ToolkitCache, ToolkitError, yaml};
use fpt_login_core::{Secret, Site};
use yaml_rust2::Yaml;
use yaml_rust2::yaml::Hash;

/// What a target runs on one input.
pub type Check = fn(&[u8]);

/// The fuzz targets, by name: the folders of the kept corpus are named the same.
pub const TARGETS: [(&str, Check); 6] = [
    ("site", site),
    ("landing", landing),
    ("request_line", request_line),
    ("proxy", proxy),
    ("toolkit_yaml", toolkit_yaml),
    ("settings_json", settings_json),
];

/// A site URL as typed (`Site::parse`) or as stored (`parse_with(.., true)`).
pub fn site(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for allow_http in [false, true] {
        if let Ok(site) = Site::parse_with(text, allow_http) {
            check_site(&site);
        }
    }
}

/// What every accepted site keeps: its normal form parses to itself, its own landing page
/// is same-origin, its folders stay inside their parent, and it survives JSON.
pub fn check_site(site: &Site) {
    let again = Site::parse_with(site.as_str(), true)
        .unwrap_or_else(|e| panic!("{site} does not parse again: {e}"));
    assert_eq!(&again, site, "normal form is not stable");
    assert!(
        site.is_same_origin(&site.join(LANDING_PATH)),
        "{site} is not its own origin"
    );
    for folder in [site.folder_name(), ToolkitCache::site_folder(site)] {
        assert!(is_one_folder(&folder), "{site} has folder {folder:?}");
    }
    let json = serde_json::to_string(site).unwrap_or_default();
    let read: Site = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{json}: {e}"));
    assert_eq!(&read, site);
}

/// True when `name`, joined to any folder, names one entry directly inside that folder.
pub fn is_one_folder(name: &str) -> bool {
    let mut parts = Path::new(name).components();
    matches!(
        (parts.next(), parts.next()),
        (Some(Component::Normal(part)), None) if part == name
    )
}

/// A landing URL and the cookie jar: first line the site (a default one when it does not
/// parse), second line the URL the webview reached, then one cookie a line as
/// `name<TAB>value<TAB>domain<TAB>flags<TAB>path` (`h` in flags: HttpOnly, `s`: Secure; an
/// empty domain or path: none reported).
pub fn landing(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut lines = text.split('\n');
    let site = lines
        .next()
        .and_then(|l| Site::parse_with(l, true).ok())
        .unwrap_or_else(|| {
            Site::parse("https://mystudio.shotgrid.autodesk.com").expect("a good site")
        });
    let reached = lines
        .next()
        .and_then(|l| url::Url::parse(l).ok())
        .unwrap_or_else(|| site.join(LANDING_PATH));
    let is_landing = landing::is_landing(&site, &reached);
    if is_landing {
        assert!(site.is_same_origin(&reached));
    }
    let cookies: Vec<Cookie> = lines
        .map(|line| {
            let mut fields = line.split('\t');
            let mut field = || fields.next().unwrap_or_default().to_owned();
            let (name, value, domain, flags, path) = (field(), field(), field(), field(), field());
            let reported = |s: String| Some(s).filter(|s| !s.is_empty());
            Cookie {
                name,
                value: Secret::new(value),
                domain: reported(domain),
                path: reported(path),
                http_only: flags.contains('h'),
                secure: flags.contains('s'),
            }
        })
        .collect();
    let Ok(session) = landing::session_from_cookies(&site, &reached, &cookies) else {
        return;
    };
    assert!(!session.token.is_empty(), "an empty token was taken");
    // The token is the site's own: a `_session_id` for exactly its host, HttpOnly, Secure
    // on https.
    let https = reached.scheme() == "https";
    assert!(
        cookies.iter().any(|c| c.name == SESSION_COOKIE
            && c.value == session.token
            && c.domain
                .as_deref()
                .unwrap_or(reached.host_str().unwrap_or_default())
                .eq_ignore_ascii_case(site.host())
            && c.http_only
            && (c.secure || !https)),
        "the token is not {site}'s own _session_id cookie"
    );
    assert!(!session.login.is_empty() && session.login.trim() == session.login);
}

/// One line of a local client, as the server reads it: whatever it accepts, it can write back
/// and read again to the same request.
pub fn request_line(data: &[u8]) {
    let Ok(request) = protocol::parse_request(data) else {
        return;
    };
    let written = serde_json::to_vec(&request).unwrap_or_default();
    let again = protocol::parse_request(&written)
        .unwrap_or_else(|e| panic!("{request:?} written as a line is refused: {}", e.message));
    assert_eq!(again, request);
}

/// An HTTP proxy setting (`[user:password@]host[:port]`).
pub fn proxy(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(proxy) = Proxy::parse(text) else {
        return;
    };
    // Every request is sent through this URL: it must be the proxy's and nothing more.
    let url = proxy.url();
    assert_eq!(url.path(), "/", "{proxy}: {url}");
    assert!(
        url.query().is_none() && url.fragment().is_none(),
        "{proxy}: {url}"
    );
    let again = Proxy::parse(&proxy.toolkit_form())
        .unwrap_or_else(|e| panic!("{proxy} does not parse again: {e}"));
    assert_eq!(again.url(), url);
    let _ = format!("{proxy:?}");
}

/// Toolkit's `authentication.yml`, as any Toolkit version or a person may have left it: what
/// is read is written back unchanged, and a sign-in recorded over any file FPT Login agreed to
/// read is found again.
pub fn toolkit_yaml(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(doc) = yaml::load(text) {
        let written = yaml::dump(&doc);
        let reread =
            yaml::load(&written).unwrap_or_else(|_| panic!("dump wrote an alias: {written:?}"));
        if doc.keys().all(plain_keys) {
            assert!(
                same_hash(&reread, &doc),
                "rewriting changed the file:\n{written}\n{reread:?}\n{doc:?}"
            );
        } else {
            // Lists or mappings as keys (no Toolkit writes them) come back as empty ones; the
            // rest of the file must survive, and a second rewrite change nothing.
            assert_eq!(reread.len(), doc.len(), "rewriting lost keys:\n{written}");
            assert_eq!(yaml::dump(&reread), written, "rewriting is not stable");
        }
    }
    toolkit_files(text);
}

/// True when `key` and every key inside it are scalars, which a rewrite keeps as they are.
fn plain_keys(key: &Yaml) -> bool {
    !matches!(
        key,
        Yaml::Hash(_) | Yaml::Array(_) | Yaml::Alias(_) | Yaml::BadValue
    )
}

/// Equal as YAML: mappings compared without regard to their order (a rewrite sorts keys).
fn same(a: &Yaml, b: &Yaml) -> bool {
    match (a, b) {
        (Yaml::Hash(a), Yaml::Hash(b)) => same_hash(a, b),
        (Yaml::Array(a), Yaml::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(a, b)| same(a, b))
        }
        _ => a == b,
    }
}

/// [`same`] for two mappings.
pub fn same_hash(a: &Hash, b: &Hash) -> bool {
    a.len() == b.len()
        && a.iter().all(|(key, value)| {
            plain_keys(key) && b.get(key).is_some_and(|other| same(value, other))
        })
}

/// The input as the site's file (after a line `--- global ---`, the global file), then a
/// sign-in recorded over them.
fn toolkit_files(text: &str) {
    static ROOT: OnceLock<Option<tempfile::TempDir>> = OnceLock::new();
    // In memory where there is a tmpfs: every write is synced to disk, which would otherwise
    // cost the fuzzer most of its runs.
    let Some(root) = ROOT.get_or_init(|| {
        tempfile::tempdir_in("/dev/shm")
            .or_else(|_| tempfile::tempdir())
            .ok()
    }) else {
        return;
    };
    let cache = ToolkitCache::under(root.path().to_path_buf());
    let site = Site::parse("https://fuzz.shotgunstudio.com").expect("a good site");
    let (site_text, global_text) = text
        .split_once("--- global ---\n")
        .unwrap_or((text, "current_host: https://fuzz.shotgunstudio.com\n"));
    let site_file = cache.site_file(&site);
    let global_file = root.path().join("authentication.yml");
    if let Some(dir) = site_file.parent()
        && (std::fs::create_dir_all(dir).is_err()
            || std::fs::write(&site_file, site_text).is_err()
            || std::fs::write(&global_file, global_text).is_err())
    {
        return;
    }
    let _ = cache.sessions();
    let token = Secret::new("fuzz-token");
    match cache.record_sign_in(&site, "Jane", &token) {
        Ok(()) => {}
        // Files FPT Login refuses to read are left alone, by design.
        Err(
            ToolkitError::Aliases { .. }
            | ToolkitError::TooLarge { .. }
            | ToolkitError::TooDeep { .. },
        ) => return,
        Err(e) => panic!("recording a sign-in failed: {e}"),
    }
    let sessions = cache
        .sessions()
        .unwrap_or_else(|e| panic!("the files just written are refused: {e}"));
    assert!(
        sessions.iter().any(|s| s.site == site
            && s.login.trim().eq_ignore_ascii_case("jane")
            && s.token == token),
        "the sign-in just recorded is not found"
    );
}

/// `settings.json` as any version or a hand edit left it: read, used, written and read back to
/// the same settings.
pub fn settings_json(data: &[u8]) {
    let Ok(settings) = Settings::from_json(data) else {
        return;
    };
    let _ = (
        settings.keep_alive_every(),
        settings.renew_timeout(),
        settings.longest_renewal(),
        settings.keep_alive_enabled(),
    );
    for (site, site_settings) in &settings.sites {
        let _ = settings.current_session(site);
        for record in site_settings.users.values() {
            let _ = record.expires_at();
        }
    }
    let written = serde_json::to_vec_pretty(&settings).unwrap_or_default();
    let again = Settings::from_json(&written).unwrap_or_else(|e| {
        panic!(
            "written settings do not read back ({e}):\n{}",
            String::from_utf8_lossy(&written)
        )
    });
    assert_eq!(again, settings);
}
