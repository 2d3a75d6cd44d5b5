//! Shutdown signals: SIGTERM and SIGINT (Ctrl-C).
//!
//! The first signal starts a graceful shutdown (stop accepting connections, finish
//! in-flight requests and commands, stop the workers); a second one, or the shutdown
//! taking longer than `shutdown_timeout`, ends the process at once with exit code 1.

use std::time::Duration;

use tokio::sync::watch;

/// The process's shutdown signal handlers, installed before the server starts so an early
/// signal is not lost.
pub struct Signals {
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
}

impl Signals {
    /// Installs the handlers.
    ///
    /// # Errors
    /// When the operating system refuses a handler.
    pub fn install() -> std::io::Result<Signals> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Signals { term: signal(SignalKind::terminate())?, int: signal(SignalKind::interrupt())? })
        }
        #[cfg(not(unix))]
        Ok(Signals {})
    }

    /// Waits for the next signal and names it.
    pub async fn recv(&mut self) -> &'static str {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = self.term.recv() => "SIGTERM",
                _ = self.int.recv() => "SIGINT",
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
            "Ctrl-C"
        }
    }
}

/// A flag that turns true once shutdown is requested.
#[derive(Debug, Clone)]
pub struct Shutdown(watch::Receiver<bool>);

impl Shutdown {
    /// Resolves once shutdown is requested.
    pub async fn requested(mut self) {
        // An error means the sender is gone, which only happens at process end.
        let _ = self.0.wait_for(|stop| *stop).await;
    }
}

/// Spawns the task that turns signals into a [`Shutdown`] request and enforces the
/// shutdown timeout and the second-signal exit.
pub fn watch(mut signals: Signals, timeout: Duration) -> Shutdown {
    let (tx, rx) = watch::channel(false);
    tokio::spawn(async move {
        let signal = signals.recv().await;
        tracing::info!(signal, "shutdown requested: finishing in-flight requests and commands");
        let _ = tx.send(true);
        tokio::select! {
            () = tokio::time::sleep(timeout) => {
                tracing::error!(timeout_secs = timeout.as_secs_f64(), "graceful shutdown took too long; exiting now");
            }
            signal = signals.recv() => {
                tracing::warn!(signal, "second signal: exiting without finishing");
            }
        }
        std::process::exit(1);
    });
    Shutdown(rx)
}
