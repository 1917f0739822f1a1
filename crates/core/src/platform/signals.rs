//! The requests to quit a long-running process honours: a session logout and Ctrl-C.
//!
//! Contract: `QuitSignals::register()` (inside a tokio runtime) starts listening, and
//! `QuitSignals::recv().await` returns when one of them arrives.

#[cfg(unix)]
pub use unix::QuitSignals;

#[cfg(unix)]
mod unix {
    use std::io;

    use tokio::signal::unix::{Signal, SignalKind, signal};

    /// SIGTERM (what a session logout sends) and SIGINT (Ctrl-C).
    #[derive(Debug)]
    pub struct QuitSignals {
        terminate: Signal,
        interrupt: Signal,
    }

    impl QuitSignals {
        /// Registering needs the runtime's reactor; the handlers stay for the process's life.
        pub fn register() -> io::Result<Self> {
            Ok(Self {
                terminate: signal(SignalKind::terminate())?,
                interrupt: signal(SignalKind::interrupt())?,
            })
        }

        pub async fn recv(&mut self) {
            tokio::select! {
                _ = self.terminate.recv() => {}
                _ = self.interrupt.recv() => {}
            }
        }
    }

    #[cfg(test)]
    mod tests {
        use std::time::Duration;

        use rustix::process::{Signal, getpid, kill_process};

        use super::*;

        #[tokio::test]
        async fn a_terminate_signal_is_a_request_to_quit() {
            let mut signals = QuitSignals::register().unwrap();
            // Without the handler this would end the test process, which fails the test too.
            kill_process(getpid(), Signal::TERM).unwrap();
            tokio::time::timeout(Duration::from_secs(30), signals.recv())
                .await
                .expect("SIGTERM was seen");
        }
    }
}
