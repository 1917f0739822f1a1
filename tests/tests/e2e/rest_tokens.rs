//! REST API tokens end to end: `fpt-login token --rest` through the real app (one mint for
//! everyone, refreshes that never spend a refresh token twice, a revoked session is "sign
//! in"), scripts and the CLI without the app, and the Python client's `connect()` riding out a
//! revoked session.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use fpt_login_tests::harness::{
    PasswordSite, Profile, bin, python, sign_in_with_password, stderr, wait_for_explained,
    web_sign_in, workspace_root,
};
use fpt_login_tests::mock::{MockConfig, MockSite};
use fpt_login_tests::notification_server::NotificationServer;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt as _, BufReader};

const WAIT: Duration = Duration::from_secs(90);

/// `fpt-login token --rest --json ARGS`: the token handed out, or the exit code and message.
async fn rest_token(profile: &Profile, args: &[&str]) -> Result<Value, (i32, String)> {
    let mut all = vec!["token", "--rest", "--json"];
    all.extend_from_slice(args);
    let out = profile.cli(&all).await;
    if out.status.success() {
        Ok(serde_json::from_slice(&out.stdout).expect("token --rest --json prints JSON"))
    } else {
        Err((out.status.code().unwrap_or(-1), stderr(&out)))
    }
}

/// The project names `GET /api/v1/entity/projects` lists with `access_token` as the Bearer.
async fn rest_projects(site: &MockSite, access_token: &str) -> Result<Vec<String>, u16> {
    let response = reqwest::Client::new()
        .get(format!("{}/api/v1/entity/projects", site.url()))
        .bearer_auth(access_token)
        .send()
        .await
        .expect("the mock answers");
    if !response.status().is_success() {
        return Err(response.status().as_u16());
    }
    let body: Value = response.json().await.expect("JSON:API");
    Ok(body["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|p| {
            p["attributes"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect())
}

/// `n` `fpt-login token --rest --json` callers at once; their answers.
async fn concurrent_callers(profile: &Profile, n: usize) -> Vec<Value> {
    let children: Vec<_> = (0..n)
        .map(|_| profile.spawn_cli(&["token", "--rest", "--json"]))
        .collect();
    let mut answers = Vec::new();
    for child in children {
        let out = child.wait_with_output().await.expect("fpt-login ends");
        assert!(out.status.success(), "{}", stderr(&out));
        answers.push(serde_json::from_slice(&out.stdout).expect("JSON"));
    }
    answers
}

fn access_token(answer: &Value) -> String {
    answer["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("no access_token in {answer}"))
        .to_owned()
}

/// Every file under `dir` whose bytes contain `needle`.
fn files_containing(dir: &Path, needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if std::fs::read(&path)
                .is_ok_and(|bytes| bytes.windows(needle.len()).any(|w| w == needle.as_bytes()))
            {
                found.push(path.display().to_string());
            }
        }
    }
    found
}

#[tokio::test(flavor = "multi_thread")]
async fn after_a_web_sign_in_rest_tokens_come_from_one_mint_refresh_cleanly_and_end_with_the_session()
 {
    let site = MockSite::start(MockConfig {
        rest_token_lifetime: Duration::from_secs(20),
        ..MockConfig::saml2()
    })
    .await
    .expect("mock site");
    let profile = Profile::new();
    let notifications = NotificationServer::start().await;
    let (driver, _browser, _) = web_sign_in(&profile, &site).await;

    // Fifty tools asking at once, before anything was minted, get one token from one mint.
    let answers = concurrent_callers(&profile, 50).await;
    let tokens: BTreeSet<String> = answers.iter().map(access_token).collect();
    assert_eq!(tokens.len(), 1, "{tokens:?}");
    assert_eq!(site.counters().rest_mints, 1);
    let first = &answers[0];
    assert_eq!(first["site"], site.url());
    assert_eq!(first["kind"], "session");
    assert_eq!(first["login"], "artist");
    assert_eq!(first["token_type"], "Bearer");
    assert!(first["expires_at"].as_i64().is_some(), "{first}");
    assert_eq!(
        rest_projects(&site, &access_token(first)).await,
        Ok(site.config().projects.clone())
    );

    // Callers across a minute of 20-second tokens: every token they get works, the app
    // refreshes several times, and never sends a spent refresh token.
    let started = Instant::now();
    let mut seen = BTreeSet::new();
    while started.elapsed() < Duration::from_secs(60) {
        for answer in concurrent_callers(&profile, 4).await {
            let token = access_token(&answer);
            assert_eq!(
                rest_projects(&site, &token).await,
                Ok(site.config().projects.clone()),
                "a token handed out did not work"
            );
            seen.insert(token);
        }
        // Pacing, so the calls spread over the minute.
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let counters = site.counters();
    assert!(seen.len() >= 4, "only {} tokens in a minute", seen.len());
    assert!(counters.rest_refreshes >= 3, "{counters:?}");
    assert_eq!(counters.rest_refused_refreshes, 0, "{counters:?}");
    assert_eq!(counters.rest_mints, 1, "refreshed, never minted again");
    assert_eq!(counters.rest_rejected, 0);
    // Tokens live in the app's memory: never in a file, never in its trace-level log.
    for token in &seen {
        let found = files_containing(profile.home(), token);
        assert!(found.is_empty(), "a REST token in {found:?}");
        assert!(
            !driver.log().contains(token.as_str()),
            "a REST token in the log"
        );
    }

    // An administrator revokes the session (and the REST tokens minted from it): once the
    // token in hand needs refreshing, the refresh and the new mint are refused and callers
    // are told to sign in.
    site.end_sessions();
    let refused = wait_for_explained(
        "token --rest to exit 4",
        WAIT,
        || async { rest_token(&profile, &[]).await.err() },
        || driver.log(),
    )
    .await;
    assert_eq!(refused.0, 4, "{}", refused.1);
    assert!(
        refused
            .1
            .contains("no longer accepts the session of artist"),
        "{}",
        refused.1
    );
    let status = profile.status_json().await;
    assert_eq!(
        status["sites"][0]["users"][0]["state"], "expired",
        "{status}"
    );
    let notified = notifications
        .from_the_app(
            driver.app_pid().expect("the app runs"),
            &format!("Session for {}", site.url()),
        )
        .await;
    assert!(notified.body.contains("Renew now"), "{notified:?}");
    assert_eq!(profile.token(&[]).await.map_err(|r| r.code), Err(4));
}

#[tokio::test(flavor = "multi_thread")]
async fn scripts_get_rest_tokens_and_without_the_app_every_call_mints_its_own() {
    let site = PasswordSite::new()
        .with_script("farm", "farm-key")
        .start()
        .await;
    let profile = Profile::new();
    let added = profile
        .cli_with_stdin(
            &[
                "script",
                "add",
                "--site",
                site.url(),
                "--name",
                "farm",
                "--default",
            ],
            "farm-key\n",
            &[],
        )
        .await;
    assert!(added.status.success(), "{}", stderr(&added));

    // No app: the CLI mints itself, says so with -v, and keeps nothing between calls.
    let out = profile.cli(&["-v", "token", "--rest", "--json"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("minting a REST token"),
        "{}",
        stderr(&out)
    );
    let direct: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(direct["kind"], "script");
    assert_eq!(direct["api_script"], "farm");
    assert!(direct.get("login").is_none(), "{direct}");
    let bare = profile.cli(&["token", "--rest"]).await;
    let bare = String::from_utf8_lossy(&bare.stdout).trim().to_owned();
    assert_ne!(bare, access_token(&direct));
    assert_eq!(site.counters().rest_mints, 2);
    for token in [bare, access_token(&direct)] {
        assert_eq!(
            rest_projects(&site, &token).await,
            Ok(site.config().projects.clone())
        );
    }

    // With the app, callers share the app's token.
    let mut app = profile.spawn_app(&["--background"]);
    profile.wait_for_app().await;
    let one = rest_token(&profile, &[]).await.expect("a token");
    let two = rest_token(&profile, &["--min-ttl", "300"])
        .await
        .expect("a token");
    assert_eq!(access_token(&one), access_token(&two));
    assert_eq!(site.counters().rest_mints, 3);
    assert_eq!(one["api_script"], "farm");
    assert_eq!(
        rest_projects(&site, &access_token(&one)).await,
        Ok(site.config().projects.clone())
    );
    // Nobody signed in anywhere else: exit 4, not a crash.
    let elsewhere = rest_token(&profile, &["--site", "https://elsewhere.example.com"]).await;
    assert_eq!(elsewhere.map_err(|e| e.0), Err(4));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_mock_token_endpoint_follows_the_reference() {
    let site = PasswordSite::new().with_two_factor().start().await;
    let http = reqwest::Client::new();
    let endpoint = format!("{}/api/v1/auth/access_token", site.url());
    let post = |query: &'static str, body: &'static str| {
        http.post(format!("{endpoint}?{query}"))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("accept", "application/json")
            .body(body)
            .send()
    };
    // Parameters in the query string of an empty POST, as the official clients send them.
    let granted = post("grant_type=password&username=artist&password=sesame", "")
        .await
        .expect("answer");
    assert_eq!(granted.status(), 200);
    let granted: Value = granted.json().await.expect("JSON");
    assert_eq!(granted["token_type"], "Bearer");
    assert_eq!(granted["expires_in"], 600);
    // 2FA: 400, code 106, source.auth_token; then the same call with the code.
    let missing = post("", "grant_type=password&username=lead&password=open-up")
        .await
        .expect("answer");
    assert_eq!(missing.status(), 400);
    let missing: Value = missing.json().await.expect("JSON");
    assert_eq!(missing["errors"][0]["code"], 106);
    assert_eq!(
        missing["errors"][0]["title"],
        "Missing argument for 2FA login"
    );
    assert_eq!(
        missing["errors"][0]["source"]["auth_token"],
        "missing for 2FA login"
    );
    let with_code = post(
        "",
        "grant_type=password&username=lead&password=open-up&auth_token=123456",
    )
    .await
    .expect("answer");
    assert_eq!(with_code.status(), 200);
    // A refresh token works once; the second use is a 401, counted.
    let refresh = granted["refresh_token"].as_str().expect("refresh token");
    for expected in [200, 401] {
        let answer = http
            .post(&endpoint)
            .form(&[("grant_type", "refresh_token"), ("refresh_token", refresh)])
            .send()
            .await
            .expect("answer");
        assert_eq!(answer.status(), expected);
    }
    let json_body = http
        .post(&endpoint)
        .json(&serde_json::json!({"grant_type": "password"}))
        .send()
        .await
        .expect("answer");
    assert_eq!(json_body.status(), 400);
    let unsupported = post("grant_type=magic", "").await.expect("answer");
    let unsupported: Value = unsupported.json().await.expect("JSON");
    assert_eq!(unsupported["errors"][0]["code"], 103);
    let counters = site.counters();
    assert_eq!((counters.rest_mints, counters.rest_refreshes), (2, 1));
    assert_eq!(counters.rest_refused_refreshes, 1);
    assert_eq!(rest_projects(&site, "nonsense").await, Err(401));
}

/// Runs `script` with the Python client importable (the real shotgun_api3 beside it) and stdin
/// closed, so any prompt would fail; returns the running process.
fn spawn_python(profile: &Profile, script: &str) -> tokio::process::Child {
    profile
        .command(python())
        .args(["-c", script])
        .env("PYTHONPATH", workspace_root().join("clients/python"))
        .env("FPT_LOGIN_CLI", bin("fpt-login"))
        .env("GO", profile.home().join("go"))
        .env("GO_AGAIN", profile.home().join("go-again"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("python starts")
}

const RECOVERING_TOOL: &str = r#"
import json, os, sys, time, urllib.request
import fpt_login

def wait_for(path):
    while not os.path.exists(path):
        time.sleep(0.05)

sg = fpt_login.connect()
print("first", ",".join(p["name"] for p in sg.find("Project", [], ["name"])), flush=True)
wait_for(os.environ["GO"])
# The session was revoked at the site and the person signed in again in the app.
print("second", ",".join(p["name"] for p in sg.find("Project", [], ["name"])), flush=True)
token = fpt_login.get_rest_token(min_ttl=120)
request = urllib.request.Request(token.site + "/api/v1/entity/projects",
                                 headers=fpt_login.rest_headers())
with urllib.request.urlopen(request) as reply:
    names = [p["attributes"]["name"] for p in json.load(reply)["data"]]
print("rest", token.kind, token.login, token.token_type, ",".join(names), flush=True)
wait_for(os.environ["GO_AGAIN"])
# Revoked again, and nobody is signed in now.
try:
    sg.find("Project", [], ["name"])
    print("no error", flush=True)
except fpt_login.FptLoginError as e:
    print("refused", e.sign_in_required, flush=True)
"#;

#[tokio::test(flavor = "multi_thread")]
async fn a_connection_rides_out_a_revoked_session_and_says_sign_in_when_nobody_is_left() {
    let site = PasswordSite::new().start().await;
    let profile = Profile::new();
    // Only the tool's calls reach the site with a revoked token, so they can be counted.
    let off = profile.cli(&["settings", "set", "keep-alive", "off"]).await;
    assert!(off.status.success(), "{}", stderr(&off));
    let notifications = NotificationServer::start().await;
    let mut app = profile.spawn_app(&["--background"]);
    profile.wait_for_app().await;
    sign_in_with_password(&profile, site.url(), "artist", "sesame").await;
    let projects = site.config().projects.join(",");

    let mut tool = spawn_python(&profile, RECOVERING_TOOL);
    let mut lines = BufReader::new(tool.stdout.take().expect("stdout")).lines();
    let mut next_line = async || {
        tokio::time::timeout(WAIT, lines.next_line())
            .await
            .expect("the tool goes on")
            .expect("read")
            .unwrap_or_default()
    };
    assert_eq!(next_line().await, format!("first {projects}"));

    let before = profile.session_token(&[]).await;
    site.end_sessions();
    sign_in_with_password(&profile, site.url(), "artist", "sesame").await;
    assert_ne!(profile.session_token(&[]).await, before);
    std::fs::write(profile.home().join("go"), "").expect("go");
    assert_eq!(next_line().await, format!("second {projects}"));
    assert_eq!(
        next_line().await,
        format!("rest session artist Bearer {projects}")
    );

    site.end_sessions();
    assert!(profile.cli(&["logout"]).await.status.success());
    std::fs::write(profile.home().join("go-again"), "").expect("go again");
    assert_eq!(next_line().await, "refused True");
    let out = tool.wait_with_output().await.expect("the tool ends");
    let errors = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{errors}");
    assert!(!errors.contains("Traceback"), "{errors}");
    notifications
        .from_the_app(
            app.pid().expect("the app runs"),
            &format!("Session for {}", site.url()),
        )
        .await;
    assert_eq!(
        site.counters().rejected_sessions,
        2,
        "one refused call per revocation, never a retry loop"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_client_knows_a_refused_session_from_other_failures() {
    // The lapsed-claims 302 as shotgun_api3 raises it (httplib2 does not follow a POST's 302,
    // and `_call_rpc` puts the reply's headers, lowercased, on the ProtocolError).
    let script = r#"
import fpt_login, shotgun_api3 as sg
def lapsed(location):
    e = sg.ProtocolError("site", 302, "Found", "HTTP error from server")
    e.headers = {"location": location}
    return e
cases = [
    sg.AuthenticationFault("session expired"),
    lapsed("https://studio.example.com/saml/saml_login_request"),
    lapsed("https://studio.example.com/elsewhere"),
    sg.ProtocolError("site", 503, "down", "HTTP error from server"),
    sg.Fault("some other fault"),
    ValueError("not a site answer"),
]
print(" ".join(str(fpt_login._is_session_refusal(sg, e)) for e in cases))
"#;
    let profile = Profile::new();
    let out = spawn_python(&profile, script)
        .wait_with_output()
        .await
        .expect("python runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "True True False False False False"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_site_that_gives_no_rest_tokens_for_sessions_leaves_the_session_alone() {
    // An older site: its token endpoint answers 400, code 103, "Unsupported grant_type".
    let site = PasswordSite::new()
        .without_rest_session_grant()
        .start()
        .await;
    let profile = Profile::new();
    let _app = profile.spawn_app(&["--background"]);
    profile.wait_for_app().await;
    sign_in_with_password(&profile, site.url(), "artist", "sesame").await;
    let token = profile.session_token(&[]).await;

    let (code, message) = rest_token(&profile, &[]).await.expect_err("no REST token");
    assert_eq!(code, 1, "a failure, not sign-in required: {message}");
    assert!(message.contains("which still works"), "{message}");
    // Everyone else still gets the session: nothing was marked.
    assert_eq!(profile.session_token(&[]).await, token);
    let status = profile.status_json().await;
    assert_eq!(
        status["sites"][0]["users"][0]["state"], "active",
        "{status}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_recovering_connection_never_repeats_a_call_as_someone_else() {
    let site = PasswordSite::new().start().await;
    let profile = Profile::new();
    let off = profile.cli(&["settings", "set", "keep-alive", "off"]).await;
    assert!(off.status.success(), "{}", stderr(&off));
    let _app = profile.spawn_app(&["--background"]);
    profile.wait_for_app().await;
    sign_in_with_password(&profile, site.url(), "artist", "sesame").await;
    let script = r#"
import os, time, fpt_login
sg = fpt_login.connect()
sg.find("Project", [], ["name"])
print("connected", flush=True)
while not os.path.exists(os.environ["GO"]):
    time.sleep(0.05)
try:
    sg.find("Project", [], ["name"])
    print("repeated", flush=True)
except fpt_login.FptLoginError as e:
    print("refused", e.sign_in_required, flush=True)
"#;
    let mut tool = spawn_python(&profile, script);
    let mut lines = BufReader::new(tool.stdout.take().expect("stdout")).lines();
    let line = tokio::time::timeout(WAIT, lines.next_line()).await;
    assert_eq!(
        line.expect("in time").expect("read").as_deref(),
        Some("connected")
    );

    // The artist's session ends; the lead signs in to the site on this machine.
    site.end_sessions();
    sign_in_with_password(&profile, site.url(), "lead", "open-up").await;
    std::fs::write(profile.home().join("go"), "").expect("go");
    let line = tokio::time::timeout(WAIT, lines.next_line()).await;
    assert_eq!(
        line.expect("in time").expect("read").as_deref(),
        Some("refused True"),
        "the artist's call is not repeated as the lead"
    );
    let calls_as_lead = site.counters().api_calls;
    let _ = tool.wait().await;
    assert_eq!(site.counters().api_calls, calls_as_lead);
}
