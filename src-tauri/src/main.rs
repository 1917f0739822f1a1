#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    fpt_login_desktop::run();
}
