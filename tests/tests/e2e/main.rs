//! FPT Login's integration and end-to-end tests, one module per area, in one test binary so
//! that the suite links axum, rustls, fantoccini and reqwest once instead of once per area.
//! The harness they share is `fpt_login_tests::harness`; the mock FPT site is
//! `fpt_login_tests::mock`.

mod accounts_window;
mod autostart;
mod cli;
mod cli_sign_in;
mod cli_web_sign_in;
mod doctor;
mod handoff;
mod harness_checks;
mod keep_alive;
mod keyring_entries;
mod kill_nine;
mod layering;
mod local_socket;
mod mock_site;
mod network;
mod notifications;
mod python_client;
mod quit_on_signal;
mod renewal;
mod rest_tokens;
mod sign_in_failures;
mod sign_in_window;
mod single_instance;
mod sites_and_users;
mod socket_abuse;
mod toolkit;
mod tray;
mod tray_footprint;
mod web_engine;
mod web_sign_in;
