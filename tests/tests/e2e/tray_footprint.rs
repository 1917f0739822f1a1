//! What the app holds while it sits in the tray all day.

use std::path::Path;

use fpt_login_tests::harness::Profile;

/// The OpenGL driver libraries mapped into `pid`: the vendor libraries glvnd loads, Mesa's
/// drivers and the LLVM they compile shaders with.
fn gl_driver_libraries(pid: u32) -> Vec<String> {
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).expect("the app's maps");
    let mut found: Vec<String> = maps
        .lines()
        .filter_map(|line| line.split_whitespace().nth(5))
        .filter(|path| {
            let name = path.rsplit('/').next().unwrap_or(path);
            name.ends_with("_dri.so")
                || name.starts_with("libLLVM")
                || name.starts_with("libGLX_")
                || name.starts_with("libEGL_mesa")
        })
        .map(str::to_owned)
        .collect();
    found.sort();
    found.dedup();
    found
}

/// GTK loads the OpenGL driver when it starts unless told not to, and the tray draws nothing
/// with it: under Xvfb that is Mesa's software driver and libLLVM, about 30 MiB of the idle app.
/// The app starts over as itself to tell it, and still shows its own name in `ps`. Someone who
/// sets `GDK_GL` keeps their choice, which also shows what the check looks for is there.
#[tokio::test(flavor = "multi_thread")]
async fn the_app_in_the_tray_loads_no_opengl_driver() {
    let app = idle_app(&[]).await;
    assert_eq!(
        app.gl_driver,
        Vec::<String>::new(),
        "the idle app mapped an OpenGL driver\n{}",
        app.log
    );
    // `comm` keeps 15 bytes of the name.
    assert_eq!(app.name, "fpt-login-deskt", "{}", app.log);
    let app = idle_app(&[("GDK_GL", Path::new(""))]).await;
    assert_ne!(
        app.gl_driver,
        Vec::<String>::new(),
        "with GDK_GL set by the person, GTK loads its driver as usual\n{}",
        app.log
    );
}

/// What the app started in the tray with `env` has loaded, its process name and its log.
struct IdleApp {
    gl_driver: Vec<String>,
    name: String,
    log: String,
}

async fn idle_app(env: &[(&str, &Path)]) -> IdleApp {
    let profile = Profile::new();
    let app = profile.spawn_app_with(&["--background"], env);
    // GTK is up before the socket is served.
    profile.wait_for_app().await;
    let pid = app.pid().expect("the app runs");
    let name = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
    IdleApp {
        gl_driver: gl_driver_libraries(pid),
        name: name.trim().to_owned(),
        log: app.log(),
    }
}
