//! The runtime bits: where tasks run, and small async signals on `event-listener`.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use event_listener::Event;

#[cfg(not(any(feature = "smol", feature = "async-std")))]
compile_error!("warp-smol needs the `smol` (default) or the `async-std` feature");

/// Runs `task` in the background on the runtime of the enabled feature (async-std when it
/// is enabled, else smol's global executor).
pub(crate) fn spawn<F>(task: F)
where
    F: Future<Output = ()> + Send + 'static,
{
    #[cfg(feature = "async-std")]
    {
        // Dropping the handle detaches the task.
        drop(async_std::task::spawn(task));
    }
    #[cfg(all(feature = "smol", not(feature = "async-std")))]
    {
        smol::spawn(task).detach();
    }
}

/// A flag set once, which tasks can wait for.
#[derive(Debug, Default)]
pub(crate) struct Flag {
    set: AtomicBool,
    event: Event,
}

impl Flag {
    /// Sets the flag and wakes every waiter.
    pub(crate) fn set(&self) {
        self.set.store(true, Ordering::SeqCst);
        self.event.notify(usize::MAX);
    }

    /// Whether the flag is set.
    pub(crate) fn is_set(&self) -> bool {
        self.set.load(Ordering::SeqCst)
    }

    /// Resolves once the flag is set.
    pub(crate) async fn wait(&self) {
        loop {
            if self.is_set() {
                return;
            }
            let listener = self.event.listen();
            if self.is_set() {
                return;
            }
            listener.await;
        }
    }
}

/// Counts the running connection tasks.
#[derive(Debug, Default)]
pub(crate) struct Tracker {
    active: AtomicUsize,
    event: Event,
}

/// One running task of a [`Tracker`]; counted until dropped.
#[derive(Debug)]
pub(crate) struct Tracked<'a>(&'a Tracker);

impl Drop for Tracked<'_> {
    fn drop(&mut self) {
        self.0.active.fetch_sub(1, Ordering::SeqCst);
        self.0.event.notify(usize::MAX);
    }
}

impl Tracker {
    /// Counts one more task until the guard is dropped.
    pub(crate) fn enter(&self) -> Tracked<'_> {
        self.active.fetch_add(1, Ordering::SeqCst);
        Tracked(self)
    }

    /// How many tasks run.
    pub(crate) fn active(&self) -> usize {
        self.active.load(Ordering::SeqCst)
    }

    /// Resolves once fewer than `n` tasks run.
    pub(crate) async fn below(&self, n: usize) {
        loop {
            if self.active() < n {
                return;
            }
            let listener = self.event.listen();
            if self.active() < n {
                return;
            }
            listener.await;
        }
    }
}
