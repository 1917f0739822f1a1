//! Both ends of the local channel: a Unix socket in a private runtime folder, speaking
//! [`crate::protocol`].
//!
//! Three layers keep other users out: the folder is 0700 and checked (owner, mode, not a
//! symlink) before use, the server checks every peer's uid against its own, and there is no
//! TCP listener at all.

mod client;
mod server;

pub use client::{Client, ClientError};
pub use server::{AccountsHandler, BindError, Handler, answer, bind, serve};
