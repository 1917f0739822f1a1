//! Used from the binaries' `build.rs`: sets `FPT_LOGIN_VERSION` for `env!` to
//! `<package version> (<git commit>)`, so `--version`, the tray and bug reports name the exact
//! source a binary was built from.
//!
//! The commit comes from `FPT_LOGIN_GIT_COMMIT` when set (builds from a source archive, where
//! there is no git), else from `git rev-parse`, else it is `unknown`.

use std::path::PathBuf;
use std::process::Command;

/// The variable a build can set to name the commit itself.
pub const COMMIT_ENV: &str = "FPT_LOGIN_GIT_COMMIT";

/// Prints the `cargo:` instructions; call it from `build.rs`.
pub fn emit_version() {
    println!("cargo:rerun-if-env-changed={COMMIT_ENV}");
    let commit = std::env::var(COMMIT_ENV)
        .ok()
        .filter(|c| !c.trim().is_empty())
        .unwrap_or_else(|| {
            for file in git_files_naming_head() {
                println!("cargo:rerun-if-changed={}", file.display());
            }
            git(&["rev-parse", "--short=12", "HEAD"]).unwrap_or_else(|| "unknown".to_owned())
        });
    let version = std::env::var("CARGO_PKG_VERSION").unwrap_or_default();
    println!("cargo:rustc-env=FPT_LOGIN_VERSION={version} ({commit})");
}

/// What `git` prints, trimmed, when it succeeds.
fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    (out.status.success() && !text.trim().is_empty()).then(|| text.trim().to_owned())
}

/// The files whose change means HEAD names another commit: HEAD itself, the branch it points
/// to, and packed-refs. Only existing ones: Cargo reruns a build script on every build while a
/// file it watches is missing.
fn git_files_naming_head() -> Vec<PathBuf> {
    let mut names = vec!["HEAD".to_owned(), "packed-refs".to_owned()];
    if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
        names.push(branch);
    }
    names
        .iter()
        .filter_map(|name| git(&["rev-parse", "--path-format=absolute", "--git-path", name]))
        .map(PathBuf::from)
        .filter(|path| path.exists())
        .collect()
}
