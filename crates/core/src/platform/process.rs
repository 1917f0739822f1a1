//! Handing this process over to another program (`fpt-login exec -- maya`), or to itself
//! again with a changed environment (the desktop app without OpenGL).
//!
//! Contract: `exec(command)` runs `command` in this process's place, so that signals reach the
//! program and its exit status is the caller's, and returns only the error that kept it from
//! starting. `restart_with_env(name, value)` runs this same program in its own place, as it
//! was started (its name and arguments), with `name=value` added to its environment, and
//! likewise returns only the error that kept it from starting over.

#[cfg(unix)]
pub use unix::{exec, restart_with_env};

#[cfg(unix)]
mod unix {
    use std::ffi::OsStr;
    use std::io;
    use std::os::unix::process::CommandExt as _;
    use std::process::Command;

    /// exec(2): the program keeps this process's id, so signals go straight to it and its
    /// exit status is ours.
    pub fn exec(command: &mut Command) -> io::Error {
        command.exec()
    }

    /// exec(2) of this program again: same pid, same arguments, `name=value` added.
    pub fn restart_with_env(name: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> io::Error {
        match restart_command(name.as_ref(), value.as_ref()) {
            Ok(mut again) => again.exec(),
            Err(e) => e,
        }
    }

    /// The binary's own path, not /proc/self/exe: the process name (`ps`, system monitors) is
    /// the file name it was started from. A binary replaced by an upgrade meanwhile cannot
    /// start over, and the caller carries on.
    fn restart_command(name: &OsStr, value: &OsStr) -> io::Result<Command> {
        let exe = std::env::current_exe()?;
        let mut args = std::env::args_os();
        let mut again = Command::new(exe);
        if let Some(started_as) = args.next() {
            again.arg0(started_as);
        }
        again.args(args).env(name, value);
        Ok(again)
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn starting_over_runs_this_binary_with_its_arguments_and_the_variable() {
            let again = restart_command(OsStr::new("FPT_LOGIN_TEST_VAR"), OsStr::new("x")).unwrap();
            assert_eq!(again.get_program(), std::env::current_exe().unwrap());
            let args: Vec<_> = again.get_args().map(OsStr::to_os_string).collect();
            let ours: Vec<_> = std::env::args_os().skip(1).collect();
            assert_eq!(args, ours);
            let envs: Vec<_> = again.get_envs().collect();
            assert_eq!(
                envs,
                [(OsStr::new("FPT_LOGIN_TEST_VAR"), Some(OsStr::new("x")))]
            );
        }
    }
}
