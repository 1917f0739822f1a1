//! Untrusted input through the parsers that meet it: every file of the fuzz corpus kept in
//! `tests/fuzz_corpus/<target>/` (seeds written by hand, and inputs `.ci/fuzz` found that once
//! crashed) replayed through the checks the fuzz targets run, and property tests over
//! generated input for the same functions. A crash found once stays fixed.

#[path = "../../../fuzz/src/lib.rs"]
mod checks;

use std::path::Path;

use proptest::prelude::*;

#[test]
fn every_kept_fuzz_input_passes_its_target() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz_corpus");
    let mut failed = Vec::new();
    for (target, check) in checks::TARGETS {
        let dir = corpus.join(target);
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|entry| entry.expect("a corpus entry").path())
            .collect();
        files.sort();
        assert!(!files.is_empty(), "{} has no inputs", dir.display());
        for file in files {
            let data = std::fs::read(&file).expect("a corpus file");
            if std::panic::catch_unwind(|| check(&data)).is_err() {
                failed.push(file.display().to_string());
            }
        }
    }
    assert!(failed.is_empty(), "failing inputs: {failed:#?}");
}

#[test]
fn inputs_too_deep_or_too_long_are_refused_without_a_crash() {
    let deep = |open: &str, close: &str, depth: usize| {
        format!("{}{}", open.repeat(depth), close.repeat(depth)).into_bytes()
    };
    checks::settings_json(&deep("[", "]", 100_000));
    checks::settings_json(&deep(r#"{"x":"#, "}", 100_000));
    checks::request_line(&deep(r#"{"type":"status","x":"#, "}", 10_000));
    checks::toolkit_yaml(&deep("[", "]", 10_000));
    checks::toolkit_yaml(&deep("{a: ", "}", 10_000));
    checks::toolkit_yaml(&"- ".repeat(10_000).into_bytes());
    checks::site(&"a.".repeat(100_000).into_bytes());
    checks::proxy(&format!("{}:1", "9".repeat(100_000)).into_bytes());
    let long_line = format!(
        r#"{{"type":"hello","version":1,"client":"{}"}}"#,
        "x".repeat(70_000)
    );
    assert!(fpt_login_core::protocol::parse_request(long_line.as_bytes()).is_err());
}

/// Text that looks like what people type as a site, and then some.
fn site_like() -> impl Strategy<Value = String> {
    prop_oneof![
        "(https?://|HTTPS://|ftp://|)[a-zA-Z0-9.\\-_~%@:\\[\\]]{0,24}(:[0-9]{0,6})?(/|/[a-z.]{0,4}|\\?x|#y)?",
        "(https://)?(xn--|[a-z]{1,3}\\.){0,3}(shotgunstudio\\.com|shotgrid\\.autodesk\\.com|localhost)(:[0-9]{1,5})?",
        "\\PC{0,30}",
    ]
}

/// A YAML scalar that a site or a person could put in Toolkit's file.
fn yaml_text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[ -~]{0,12}",
        "[a-z]{0,4}[\\n\\t\\r'\"\\\\:#\\- ]{0,3}[a-z]{0,4}",
        "(yes|no|on|off|null|~|true|1|0x1f|1e3|2024-01-02|=|<<|-|:|\\.inf)",
        "\\PC{0,8}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn a_parsed_site_reparses_to_itself_and_its_folders_stay_inside(typed in site_like()) {
        checks::site(typed.as_bytes());
    }

    #[test]
    fn a_parsed_proxy_is_the_url_requests_go_through(
        typed in "(http://)?([a-z]{0,4}(:[^@ ]{0,4})?@)?[a-zA-Z0-9.\\-\\[\\]:#?/%]{0,20}(:[0-9]{0,6})?"
    ) {
        checks::proxy(typed.as_bytes());
    }

    #[test]
    fn toolkit_files_are_rewritten_unchanged(
        current in yaml_text(),
        users in prop::collection::vec((yaml_text(), yaml_text()), 0..4),
        extra in prop::collection::btree_map(yaml_text(), yaml_text(), 0..4),
    ) {
        use yaml_rust2::Yaml;
        use yaml_rust2::yaml::Hash;
        let s = |t: &str| Yaml::String(t.to_owned());
        let mut doc = Hash::new();
        doc.insert(s("current_user"), s(&current));
        let users = users
            .iter()
            .map(|(login, token)| {
                let mut user = Hash::new();
                user.insert(s("login"), s(login));
                user.insert(s("session_token"), s(token));
                Yaml::Hash(user)
            })
            .collect();
        doc.insert(s("users"), Yaml::Array(users));
        for (key, value) in &extra {
            doc.insert(s(key), s(value));
        }
        let written = fpt_login_core::toolkit::yaml::dump(&doc);
        let read = fpt_login_core::toolkit::yaml::load(&written);
        prop_assert!(read.as_ref().is_ok_and(|read| checks::same_hash(read, &doc)), "{}\n{:?}", written, read);
        checks::toolkit_yaml(written.as_bytes());
    }

    #[test]
    fn requests_read_back_as_written(
        kind in "(hello|get_user|status|logout|logout_all|login|use|subscribe|store_session|nope)",
        site in prop::option::of(site_like()),
        number in prop::option::of(any::<i128>()),
        text in prop::option::of("\\PC{0,12}"),
    ) {
        let mut request = serde_json::json!({ "type": kind });
        if let Some(site) = site { request["site"] = site.into(); }
        if let Some(n) = number {
            let n = serde_json::Value::from(serde_json::Number::from_i128(n).unwrap_or_else(|| 0.into()));
            request["version"] = n.clone();
            request["min_ttl"] = n;
        }
        if let Some(text) = text {
            request["login"] = text.clone().into();
            request["method"] = text.into();
        }
        checks::request_line(request.to_string().as_bytes());
    }

    #[test]
    fn settings_read_back_as_written(
        site in site_like(),
        login in "\\PC{0,10}",
        number in any::<i64>(),
        unknown in "[a-z_]{1,8}",
    ) {
        let json = serde_json::json!({
            "default_site": site,
            "recent_sites": [site],
            "keep_alive_interval": number,
            "renew_timeout": number,
            unknown.clone(): {"kept": number},
            "sites": { site.clone(): {
                "current_user": login,
                "recent_users": [login],
                "users": { login.clone(): {
                    "user_id": number, "signed_in_at": number,
                    "claims_expire_at": number, "session_expires_at": number,
                    "state": unknown, "method": unknown, unknown.clone(): number,
                }},
            }},
        });
        checks::settings_json(json.to_string().as_bytes());
    }
}
