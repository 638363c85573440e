//! Where a client stands, shared by its handles and its task: a small watch cell on
//! `event-listener`.

use std::sync::Mutex;

use event_listener::Event;

use super::ClientState;

/// The current [`ClientState`] and a way to wait for a change.
#[derive(Debug)]
pub(crate) struct StateCell {
    state: Mutex<ClientState>,
    changed: Event,
}

impl StateCell {
    pub(crate) fn new(state: ClientState) -> StateCell {
        StateCell {
            state: Mutex::new(state),
            changed: Event::new(),
        }
    }

    /// The state now.
    pub(crate) fn get(&self) -> ClientState {
        *self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sets the state and wakes the waiters.
    pub(crate) fn set(&self, state: ClientState) {
        *self.state.lock().unwrap_or_else(|e| e.into_inner()) = state;
        self.changed.notify(usize::MAX);
    }

    /// Resolves with the first state (now or later) for which `want` holds.
    pub(crate) async fn wait_for(&self, want: impl Fn(ClientState) -> bool) -> ClientState {
        loop {
            let state = self.get();
            if want(state) {
                return state;
            }
            let listener = self.changed.listen();
            let state = self.get();
            if want(state) {
                return state;
            }
            listener.await;
        }
    }
}
