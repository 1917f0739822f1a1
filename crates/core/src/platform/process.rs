//! Handing this process over to another program (`fpt-login exec -- maya`), or to itself
//! again with a changed environment (the desktop app without OpenGL), and ending helper
//! processes this one started.
//!
//! Contract: `exec(command)` runs `command` in this process's place, so that signals reach the
//! program and its exit status is the caller's, and returns only the error that kept it from
//! starting. `restart_with_env(name, value)` runs this same program in its own place, as it
//! was started (its name and arguments), with `name=value` added to its environment, and
//! likewise returns only the error that kept it from starting over. `end_children(prefix)`
//! asks every child of this process whose program name starts with `prefix` to end (SIGTERM)
//! and returns one [`Ending`] for each, to wait for; a process that is not this one's child is
//! never signalled, whatever its name.

#[cfg(unix)]
pub use unix::{exec, restart_with_env};

#[cfg(target_os = "linux")]
pub use linux::{Ending, end_children};

#[cfg(target_os = "linux")]
mod linux {
    use std::io;
    use std::os::fd::OwnedFd;
    use std::time::Duration;

    use rustix::event::{PollFd, PollFlags, Timespec, poll};
    use rustix::process::{Pid, PidfdFlags, Signal, getpid, pidfd_open, pidfd_send_signal};

    /// A child asked to end.
    #[derive(Debug)]
    pub struct Ending {
        /// Its program name (`comm`, at most 15 bytes).
        pub name: String,
        pidfd: OwnedFd,
    }

    impl Ending {
        /// Waits up to `timeout` for the child to have ended; whether it has.
        pub fn wait(&self, timeout: Duration) -> bool {
            let mut fds = [PollFd::new(&self.pidfd, PollFlags::IN)];
            let timeout = Timespec::try_from(timeout).unwrap_or(Timespec {
                tv_sec: 1,
                tv_nsec: 0,
            });
            matches!(poll(&mut fds, Some(&timeout)), Ok(n) if n > 0)
        }
    }

    /// `(parent, name)` of `pid` from `/proc/<pid>/stat`; the name is `comm`, at most 15 bytes.
    fn parent_and_name(pid: i32) -> Option<(i32, String)> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        // "pid (name) state ppid ...": the name may hold spaces and parentheses.
        let (head, tail) = stat.rsplit_once(')')?;
        let (_, name) = head.split_once('(')?;
        let parent = tail.split_whitespace().nth(1)?.parse().ok()?;
        Some((parent, name.to_owned()))
    }

    pub fn end_children(prefix: &str) -> io::Result<Vec<Ending>> {
        let me = getpid().as_raw_nonzero().get();
        let ours = |pid: i32| {
            parent_and_name(pid)
                .filter(|(parent, name)| *parent == me && name.starts_with(prefix))
                .map(|(_, name)| name)
        };
        let mut ended = Vec::new();
        for entry in std::fs::read_dir("/proc")? {
            // An entry that cannot be read (a process that just ended) does not stop the scan.
            let Some(pid) = entry
                .ok()
                .and_then(|e| e.file_name().to_str().and_then(|n| n.parse::<i32>().ok()))
            else {
                continue;
            };
            if ours(pid).is_none() {
                continue;
            }
            let Some(pid) = Pid::from_raw(pid) else {
                continue;
            };
            // The pid could have ended and been reused between the scan and now; a pidfd names
            // one process for good, so checking again after opening it signals only our child.
            let Ok(pidfd) = pidfd_open(pid, PidfdFlags::empty()) else {
                continue;
            };
            let Some(name) = ours(pid.as_raw_nonzero().get()) else {
                continue;
            };
            // One that cannot be signalled (it ended meanwhile) does not keep the others.
            if pidfd_send_signal(&pidfd, Signal::TERM).is_ok() {
                ended.push(Ending { name, pidfd });
            }
        }
        Ok(ended)
    }

    #[cfg(test)]
    mod tests {
        use std::process::{Child, Command, Stdio};

        use super::*;

        /// Children of the test, killed whatever the test's outcome.
        struct Children(Vec<Child>);

        impl Drop for Children {
            fn drop(&mut self) {
                for child in &mut self.0 {
                    let _ = child.kill();
                    let _ = child.wait();
                }
            }
        }

        fn spawn(program: &str, args: &[&str]) -> Child {
            Command::new(program)
                .args(args)
                .stdin(Stdio::null())
                .spawn()
                .expect("a child runs")
        }

        #[test]
        fn only_children_with_the_name_are_ended() {
            let mut children = Children(vec![
                spawn("sleep", &["60"]),
                spawn("tail", &["-f", "/dev/null"]),
            ]);
            let ended = end_children("slee").expect("children can be ended");
            let names: Vec<&str> = ended.iter().map(|e| e.name.as_str()).collect();
            assert_eq!(names, ["sleep"]);
            assert!(
                ended[0].wait(Duration::from_secs(10)),
                "the named child ended"
            );
            assert!(
                children.0[1].try_wait().expect("child status").is_none(),
                "another child is left alone"
            );
            let ended = end_children("tai").expect("ends");
            assert!(ended.iter().any(|e| e.name == "tail"));
            assert!(ended.iter().all(|e| e.wait(Duration::from_secs(10))));
            assert!(
                end_children("init").expect("scans").is_empty(),
                "pid 1 is nobody's child here"
            );
            drop(children);
        }
    }
}

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
