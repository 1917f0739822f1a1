//! Handing this process over to another program (`fpt-login exec -- maya`).
//!
//! Contract: `exec(command)` runs `command` in this process's place, so that signals reach the
//! program and its exit status is the caller's, and returns only the error that kept it from
//! starting.

#[cfg(unix)]
pub use unix::exec;

#[cfg(unix)]
mod unix {
    use std::io;
    use std::os::unix::process::CommandExt as _;
    use std::process::Command;

    /// exec(2): the program keeps this process's id, so signals go straight to it and its
    /// exit status is ours.
    pub fn exec(command: &mut Command) -> io::Error {
        command.exec()
    }
}
