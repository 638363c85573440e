//! The hub: the plane of agents shared by every connection, and the fan-out of its changes.

use alloc::collections::{BTreeMap, VecDeque};
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::task::{Context, Poll, Waker};

use crate::app::{AgentContext, CommandError, LaneError, Plane, Published};
use crate::recon::Value;
use crate::ws::Instant;

/// A connection's number, unique within a hub.
pub type ConnId = u64;

/// A change as queued for connections: shared, not copied.
pub type Change = Arc<Published>;

/// What the hub has for a connection ([`Hub::poll_signal`], [`Hub::take_signal`]).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Signal {
    /// Changes of the nodes it watches, in the plane's order: hand them to
    /// [`ConnectionSession::signal`](super::ConnectionSession::signal).
    Changes(Vec<Change>),
    /// Its queue overflowed: it did not keep up and is to be closed with 1013.
    Overloaded,
    /// The server is shutting down: close with 1001.
    ShuttingDown,
    /// The hub does not know this connection (it left).
    Gone,
}

/// One connection as the hub knows it.
#[derive(Debug)]
struct Slot {
    queue: VecDeque<Change>,
    capacity: usize,
    overloaded: bool,
    /// Node URI → links on it.
    nodes: BTreeMap<String, usize>,
    waker: Option<Waker>,
}

impl Slot {
    fn wake(&mut self) {
        if let Some(waker) = self.waker.take() {
            waker.wake();
        }
    }
}

/// The state every connection of a server shares: the [`Plane`], the connections, which
/// nodes each watches, and a bounded queue of changes per connection.
///
/// # Fan-out and backpressure
///
/// Every change of an agent ([`Published`]) is made while holding the hub (behind the driver's
/// lock) and queued for every connection with a link on its node before the hub is released,
/// so every connection receives the changes in the plane's order. Each connection's queue
/// holds at most its `capacity` changes ([`Hub::join`]); queuing never waits. When a
/// connection's queue is full that connection is not keeping up (it reads slower than the
/// plane changes): its queue is dropped and it is marked **overloaded**; its next signal is
/// [`Signal::Overloaded`] and its session closes it with code 1013 ("try again later"), as it
/// can no longer be given every event. The publisher and the other connections are not slowed
/// down, and nothing is buffered beyond the bound.
///
/// ```
/// use warp_proto::app::demo::UnitAgent;
/// use warp_proto::app::session::server::{Hub, Signal};
/// use warp_proto::app::{Plane, PlaneConfig};
/// use warp_proto::recon::Value;
/// use warp_proto::ws::Instant;
///
/// let mut plane = Plane::new(PlaneConfig::default());
/// UnitAgent::route(&mut plane).unwrap();
/// let mut hub = Hub::new(plane);
/// let (slow, fast) = (hub.join(1), hub.join(8));
/// hub.watch(slow, "/unit/1");
/// hub.watch(fast, "/unit/1");
/// for n in 1..=2 {
///     hub.command("/unit/1", "add", Value::Int(n), Instant::ZERO).unwrap();
/// }
/// assert_eq!(hub.take_signal(slow, 16), Some(Signal::Overloaded));
/// let Some(Signal::Changes(changes)) = hub.take_signal(fast, 16) else { panic!() };
/// assert_eq!(changes.len(), 2);
/// ```
#[derive(Debug)]
pub struct Hub {
    plane: Plane,
    slots: BTreeMap<ConnId, Slot>,
    /// Node URI → the connections with links on it.
    watchers: BTreeMap<String, BTreeMap<ConnId, ()>>,
    next_id: ConnId,
    shutting_down: bool,
}

impl Hub {
    /// A hub around `plane`, with no connections.
    pub fn new(plane: Plane) -> Hub {
        Hub {
            plane,
            slots: BTreeMap::new(),
            watchers: BTreeMap::new(),
            next_id: 0,
            shutting_down: false,
        }
    }

    /// The plane of agents.
    pub fn plane(&self) -> &Plane {
        &self.plane
    }

    /// The plane of agents, to change. Publish what a change returns with [`Hub::publish`]
    /// (or use [`Hub::modify`] / [`Hub::command`], which do both).
    pub fn plane_mut(&mut self) -> &mut Plane {
        &mut self.plane
    }

    /// Adds a connection whose queue holds `capacity` changes (at least one); returns its
    /// number. [`ConnectionSession::new`](super::ConnectionSession::new) calls it.
    pub fn join(&mut self, capacity: usize) -> ConnId {
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1);
        self.slots.insert(
            id,
            Slot {
                queue: VecDeque::new(),
                capacity: capacity.max(1),
                overloaded: false,
                nodes: BTreeMap::new(),
                waker: None,
            },
        );
        id
    }

    /// Removes a connection and its watches; it gets no more changes.
    pub fn leave(&mut self, id: ConnId) {
        let Some(slot) = self.slots.remove(&id) else {
            return;
        };
        for node in slot.nodes.keys() {
            if let Some(conns) = self.watchers.get_mut(node.as_str()) {
                conns.remove(&id);
                if conns.is_empty() {
                    self.watchers.remove(node.as_str());
                }
            }
        }
    }

    /// Records one more link of connection `id` on `node`: changes of `node` are queued for
    /// it from now on.
    pub fn watch(&mut self, id: ConnId, node: &str) {
        let Some(slot) = self.slots.get_mut(&id) else {
            return;
        };
        let count = slot.nodes.entry(String::from(node)).or_insert(0);
        *count = count.saturating_add(1);
        self.watchers
            .entry(String::from(node))
            .or_default()
            .insert(id, ());
    }

    /// Records one link less of connection `id` on `node`; with none left, changes of `node`
    /// are no longer queued for it.
    pub fn unwatch(&mut self, id: ConnId, node: &str) {
        let Some(slot) = self.slots.get_mut(&id) else {
            return;
        };
        let Some(count) = slot.nodes.get_mut(node) else {
            return;
        };
        *count = count.saturating_sub(1);
        if *count > 0 {
            return;
        }
        slot.nodes.remove(node);
        if let Some(conns) = self.watchers.get_mut(node) {
            conns.remove(&id);
            if conns.is_empty() {
                self.watchers.remove(node);
            }
        }
    }

    /// Whether connection `id` watches `node`.
    pub fn watches(&self, id: ConnId, node: &str) -> bool {
        self.slots
            .get(&id)
            .is_some_and(|slot| slot.nodes.contains_key(node))
    }

    /// Queues a change for every connection watching its node; returns for how many. A
    /// connection whose queue is full is marked overloaded instead (see [`Hub`]).
    pub fn publish(&mut self, published: Published) -> usize {
        if published.is_empty() {
            return 0;
        }
        let Some(conns) = self.watchers.get(published.node()) else {
            return 0;
        };
        let change: Change = Arc::new(published);
        let mut sent = 0usize;
        for id in conns.keys() {
            let Some(slot) = self.slots.get_mut(id) else {
                continue;
            };
            if slot.overloaded {
                continue;
            }
            if slot.queue.len() >= slot.capacity {
                slot.overloaded = true;
                slot.queue.clear();
            } else {
                slot.queue.push_back(Arc::clone(&change));
                sent = sent.saturating_add(1);
            }
            slot.wake();
        }
        sent
    }

    /// Runs `change` on the lanes of the agent of `node` (starting it if needed) and publishes
    /// the events it makes; returns to how many connections. All or nothing.
    pub fn modify<F>(&mut self, node: &str, now: Instant, change: F) -> Result<usize, CommandError>
    where
        F: FnOnce(&mut AgentContext<'_>) -> Result<(), LaneError>,
    {
        let published = self.plane.modify(node, now, change)?;
        Ok(self.publish(published))
    }

    /// Delivers a command to `node`/`lane` as if a client had sent it, and publishes what it
    /// changed; returns to how many connections.
    pub fn command(
        &mut self,
        node: &str,
        lane: &str,
        value: Value,
        now: Instant,
    ) -> Result<usize, CommandError> {
        let published = self.plane.command(node, lane, value, now)?;
        Ok(self.publish(published))
    }

    /// Asks every connection to close with 1001 ("going away"): their next signal is
    /// [`Signal::ShuttingDown`], also for connections joining later.
    pub fn shut_down(&mut self) {
        self.shutting_down = true;
        for slot in self.slots.values_mut() {
            slot.wake();
        }
    }

    /// Whether [`Hub::shut_down`] was called.
    pub fn is_shutting_down(&self) -> bool {
        self.shutting_down
    }

    /// What the hub has for connection `id` now, taking at most `max` changes (0: only an
    /// overload or a shutdown is reported); `None` when nothing.
    pub fn take_signal(&mut self, id: ConnId, max: usize) -> Option<Signal> {
        let shutting_down = self.shutting_down;
        let Some(slot) = self.slots.get_mut(&id) else {
            return Some(Signal::Gone);
        };
        if slot.overloaded {
            return Some(Signal::Overloaded);
        }
        if shutting_down {
            return Some(Signal::ShuttingDown);
        }
        if max == 0 || slot.queue.is_empty() {
            return None;
        }
        let n = max.min(slot.queue.len());
        Some(Signal::Changes(slot.queue.drain(..n).collect()))
    }

    /// [`Hub::take_signal`] for an async driver: when there is nothing, `cx`'s waker is
    /// woken by the next change, overload or shutdown for `id`.
    pub fn poll_signal(&mut self, id: ConnId, cx: &mut Context<'_>, max: usize) -> Poll<Signal> {
        if let Some(signal) = self.take_signal(id, max) {
            return Poll::Ready(signal);
        }
        if let Some(slot) = self.slots.get_mut(&id) {
            match &slot.waker {
                Some(w) if w.will_wake(cx.waker()) => {}
                _ => slot.waker = Some(cx.waker().clone()),
            }
        }
        Poll::Pending
    }

    /// How many connections are in the hub.
    pub fn connections(&self) -> usize {
        self.slots.len()
    }
}

/// How a [`ConnectionSession`](super::ConnectionSession) reaches the hub: directly (`&mut Hub`,
/// single-threaded drivers and tests) or through the driver's lock ([`SharedHub`] with `std`).
/// The session holds it only while answering a request.
pub trait HubAccess {
    /// Runs `f` on the hub.
    fn with_hub<R>(&mut self, f: impl FnOnce(&mut Hub) -> R) -> R;
}

impl HubAccess for Hub {
    fn with_hub<R>(&mut self, f: impl FnOnce(&mut Hub) -> R) -> R {
        f(self)
    }
}

impl<T: HubAccess + ?Sized> HubAccess for &mut T {
    fn with_hub<R>(&mut self, f: impl FnOnce(&mut Hub) -> R) -> R {
        (**self).with_hub(f)
    }
}

#[cfg(feature = "std")]
pub use shared::SharedHub;

#[cfg(feature = "std")]
mod shared {
    use std::sync::{Mutex, MutexGuard};

    use super::{ConnId, Hub, HubAccess, Signal};

    /// A [`Hub`] behind a `std` mutex, held briefly (never across an await): what both async
    /// drivers share between their connection tasks.
    #[derive(Debug)]
    pub struct SharedHub(Mutex<Hub>);

    impl SharedHub {
        /// Wraps `hub`.
        pub fn new(hub: Hub) -> SharedHub {
            SharedHub(Mutex::new(hub))
        }

        /// Locks the hub. A panic in application code (an agent's logic) while it was held
        /// does not stop the server: the lock is taken over as it is (agents' changes are all
        /// or nothing, so the plane is consistent).
        pub fn lock(&self) -> MutexGuard<'_, Hub> {
            self.0
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
        }

        /// Waits for the next [`Signal`] for connection `id` (see [`Hub::poll_signal`]).
        pub async fn signal(&self, id: ConnId, max: usize) -> Signal {
            core::future::poll_fn(|cx| self.lock().poll_signal(id, cx, max)).await
        }
    }

    impl HubAccess for &SharedHub {
        fn with_hub<R>(&mut self, f: impl FnOnce(&mut Hub) -> R) -> R {
            f(&mut self.lock())
        }
    }
}
