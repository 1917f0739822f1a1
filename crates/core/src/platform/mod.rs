//! What differs between operating systems, one module per concern, so that the rest of the
//! crate is the same everywhere and a port is one module each (see the README's "Porting").
//!
//! - [`transport`]: the local channel's listener and streams, and who the peer is.
//! - [`files`]: private folders and files, and a file's identity.
//! - [`runtime`]: the per-user runtime folder, the current user, the machine's name.
//! - [`process`]: running another program, or this one again, in this process's place;
//!   ending helper processes this one started.
//! - [`signals`]: the requests to quit that the desktop app honours.
//!
//! Each module states its contract in platform-neutral terms and implements it in a
//! `#[cfg(unix)]` submodule (Linux and macOS). Nothing here knows about sites, sessions or
//! settings: these modules are the ground the others stand on and import nothing from them.

pub mod files;
pub mod process;
pub mod runtime;
pub mod signals;
pub mod transport;
