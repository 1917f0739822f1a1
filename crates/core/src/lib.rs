//! GUI-free core of FPT Login.
//!
//! Everything that does not need a window lives here so that the CLI (which must start in
//! milliseconds on machines without a desktop) and the desktop app share one implementation:
//! site URLs, the landing check and cookie extraction, the api3 client, the credential store,
//! settings, and both ends of the local channel.

pub mod accounts;
pub mod actions;
pub mod api3;
pub mod asl;
pub mod autostart;
pub mod events;
pub mod handoff;
pub mod landing;
pub mod local_api;
pub mod method;
pub mod model;
pub mod network;
pub mod paths;
pub mod platform;
pub mod protocol;
pub mod refresher;
pub mod renewal;
pub mod rest;
pub mod secret;
pub mod session;
pub mod settings;
pub mod signin;
pub mod site;
pub mod store;
pub mod time;
pub mod toolkit;
pub mod web_engine;

pub use accounts::{Accounts, AccountsError};
pub use secret::Secret;
pub use site::Site;

/// Name and version, as sent in user agents and the protocol handshake.
pub const USER_AGENT: &str = concat!("fpt-login/", env!("CARGO_PKG_VERSION"));
