fn main() {
    fpt_login_build_info::emit_version();
    // Declaring the app's commands makes them subject to capabilities: only the local windows
    // ("main", "accounts") are granted theirs, so the remote sign-in webview has no IPC at all.
    let manifest = tauri_build::AppManifest::new().commands(&[
        "initial_state",
        "site_info",
        "start_sign_in",
        "cancel_sign_in",
        "sign_in_with_password",
        "import_toolkit_sessions",
        "accounts_overview",
        "account_action",
    ]);
    // The windows' HTML, CSS and JS are compressed into the binary when it compiles; without
    // this, a change to them alone would leave the old ones in a binary cargo calls fresh.
    println!("cargo:rerun-if-changed=../ui");
    tauri_build::try_build(tauri_build::Attributes::new().app_manifest(manifest))
        .expect("tauri build configuration");
}
