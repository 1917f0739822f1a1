//! Test support for FPT Login: the mock FPT site (also served by the `fpt-mock-site` binary for
//! the demo) and the harness the end-to-end tests share.

pub mod ca;
pub mod harness;
pub mod mock;
pub mod notification_server;
pub mod process_tree;
pub mod proxy;
pub mod socket_abuse;
pub mod tray_host;
