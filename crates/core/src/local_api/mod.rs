//! Both ends of the local channel, speaking [`crate::protocol`] over
//! [`crate::platform::transport`]: a Unix socket in a private runtime folder.
//!
//! Three layers keep other users out: the folder is 0700 and checked (owner, mode, not a
//! symlink) before use, the server checks every peer against the user running it, and there is
//! no TCP listener at all.

mod app;
mod client;
mod idle;
mod refused;
mod server;

pub use crate::platform::transport::{BindError, Listener, bind};
pub use app::{AppHandler, SignIns, StartError};
pub use client::{Client, ClientError};
pub use refused::{RefusalEffects, ask_site, rest_token_failed, session_refused};
pub use server::{
    AccountsHandler, Handler, IDLE_TIMEOUT, Limits, MAX_CONNECTIONS, RestFailure, WRITE_TIMEOUT,
    answer, serve, serve_with,
};
