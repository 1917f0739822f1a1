fn main() {
    fpt_login_build_info::emit_version();
    // Declaring the app's commands makes them subject to capabilities: only the local "main"
    // window is granted them, so the remote sign-in webview has no IPC at all.
    let manifest = tauri_build::AppManifest::new().commands(&[
        "initial_state",
        "site_info",
        "start_sign_in",
        "cancel_sign_in",
        "sign_in_with_password",
        "import_toolkit_sessions",
    ]);
    tauri_build::try_build(tauri_build::Attributes::new().app_manifest(manifest))
        .expect("tauri build configuration");
}
