fn main() {
    // Declaring the app's commands makes them subject to capabilities: only the local "main"
    // window is granted them, so the remote sign-in webview has no IPC at all.
    let manifest =
        tauri_build::AppManifest::new().commands(&["initial_state", "start_web_sign_in"]);
    tauri_build::try_build(tauri_build::Attributes::new().app_manifest(manifest))
        .expect("tauri build configuration");
}
