//! What the connection tasks of one server share: the [`Plane`] of agents, and the fan-out of
//! published changes to the connections watching each node.
//!
//! # Fan-out and backpressure
//!
//! Every change of an agent ([`Published`]) is produced while holding the hub's lock, and sent
//! to the connections with a link on its node before the lock is released, so every connection
//! receives the changes in the plane's order. Each connection has a **bounded** channel
//! ([`ServerConfig::fanout_capacity`](super::ServerConfig::fanout_capacity) changes); a send
//! never waits. When a connection's channel is full, that connection is not keeping up (it
//! reads slower than the plane changes): it is marked **overloaded** and its task closes it
//! (close code 1013, "try again later"), as it can no longer be given every event. The
//! publisher and the other connections are not slowed down, and nothing is buffered beyond
//! the bound.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::{mpsc, Notify};
use warp_proto::app::{Plane, Published};

/// A connection's number, unique within a server.
pub(crate) type ConnId = u64;

/// A change as sent to connections: shared, not copied.
pub(crate) type Change = Arc<Published>;

/// How the hub tells a connection task that it fell behind.
#[derive(Debug, Default)]
pub(crate) struct Overload {
    flag: AtomicBool,
    notify: Notify,
}

impl Overload {
    /// Marks the connection overloaded and wakes its task; returns whether it was not marked
    /// yet.
    fn raise(&self) -> bool {
        let first = !self.flag.swap(true, Ordering::AcqRel);
        if first {
            self.notify.notify_one();
        }
        first
    }

    /// Resolves once the connection has been marked overloaded.
    pub(crate) async fn raised(&self) {
        if self.flag.load(Ordering::Acquire) {
            return;
        }
        self.notify.notified().await;
    }
}

/// One connection as the hub knows it.
#[derive(Debug)]
struct Slot {
    tx: mpsc::Sender<Change>,
    overload: Arc<Overload>,
}

/// The shared state of a server: the plane, the connections, and which node each watches.
#[derive(Debug)]
pub(crate) struct Hub {
    /// The agents.
    pub(crate) plane: Plane,
    slots: HashMap<ConnId, Slot>,
    /// Node URI → the connections with links on it, with their link counts.
    watchers: HashMap<String, HashMap<ConnId, usize>>,
    next_id: ConnId,
}

/// What a connection task gets when it joins the hub.
#[derive(Debug)]
pub(crate) struct Membership {
    /// Its number.
    pub(crate) id: ConnId,
    /// The changes to deliver to its uplinks.
    pub(crate) changes: mpsc::Receiver<Change>,
    /// Raised when it fell behind.
    pub(crate) overload: Arc<Overload>,
}

impl Hub {
    /// A hub around `plane`, with no connections.
    pub(crate) fn new(plane: Plane) -> Hub {
        Hub {
            plane,
            slots: HashMap::new(),
            watchers: HashMap::new(),
            next_id: 0,
        }
    }

    /// Adds a connection whose channel holds `capacity` changes (at least one).
    pub(crate) fn join(&mut self, capacity: usize) -> Membership {
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1);
        let (tx, changes) = mpsc::channel(capacity.max(1));
        let overload = Arc::new(Overload::default());
        self.slots.insert(
            id,
            Slot {
                tx,
                overload: Arc::clone(&overload),
            },
        );
        Membership {
            id,
            changes,
            overload,
        }
    }

    /// Removes a connection and its watches of `nodes` (every node it has links on); it gets
    /// no more changes.
    pub(crate) fn leave<'a>(&mut self, id: ConnId, nodes: impl IntoIterator<Item = &'a str>) {
        self.slots.remove(&id);
        for node in nodes {
            if let Some(conns) = self.watchers.get_mut(node) {
                conns.remove(&id);
                if conns.is_empty() {
                    self.watchers.remove(node);
                }
            }
        }
    }

    /// Records one more link of connection `id` on `node`.
    pub(crate) fn watch(&mut self, id: ConnId, node: &str) {
        if !self.slots.contains_key(&id) {
            return;
        }
        let conns = self.watchers.entry(node.to_owned()).or_default();
        let count = conns.entry(id).or_insert(0);
        *count = count.saturating_add(1);
    }

    /// Records one link less of connection `id` on `node`.
    pub(crate) fn unwatch(&mut self, id: ConnId, node: &str) {
        let Some(conns) = self.watchers.get_mut(node) else {
            return;
        };
        if let Some(count) = conns.get_mut(&id) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                conns.remove(&id);
            }
        }
        if conns.is_empty() {
            self.watchers.remove(node);
        }
    }

    /// Sends a change to every connection watching its node; returns to how many. A
    /// connection whose channel is full is marked overloaded (see the module docs).
    pub(crate) fn publish(&mut self, published: Published) -> usize {
        if published.is_empty() {
            return 0;
        }
        let Some(conns) = self.watchers.get(published.node()) else {
            return 0;
        };
        let change: Change = Arc::new(published);
        let mut sent = 0usize;
        for id in conns.keys() {
            let Some(slot) = self.slots.get(id) else {
                continue;
            };
            match slot.tx.try_send(Arc::clone(&change)) {
                Ok(()) => sent = sent.saturating_add(1),
                Err(mpsc::error::TrySendError::Full(_)) => {
                    if slot.overload.raise() {
                        tracing::debug!(conn = id, "connection overloaded: its channel is full");
                    }
                }
                // The task is ending; it leaves the hub shortly.
                Err(mpsc::error::TrySendError::Closed(_)) => {}
            }
        }
        sent
    }

    /// How many connections are in the hub.
    pub(crate) fn connections(&self) -> usize {
        self.slots.len()
    }
}

/// The hub behind its lock.
#[derive(Debug)]
pub(crate) struct SharedHub(Mutex<Hub>);

impl SharedHub {
    /// Wraps `hub`.
    pub(crate) fn new(hub: Hub) -> SharedHub {
        SharedHub(Mutex::new(hub))
    }

    /// Locks the hub. A panic in application code (an agent's logic) while it was held does
    /// not stop the server: the lock is taken over as it is (agents' changes are all or
    /// nothing, so the plane is consistent).
    pub(crate) fn lock(&self) -> MutexGuard<'_, Hub> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use warp_proto::app::{demo::UnitAgent, PlaneConfig};
    use warp_proto::recon::Value;
    use warp_proto::ws::Instant;

    fn hub() -> Hub {
        let mut plane = Plane::new(PlaneConfig::default());
        UnitAgent::route(&mut plane).expect("route");
        Hub::new(plane)
    }

    fn add(hub: &mut Hub, node: &str, n: i64) -> Published {
        hub.plane
            .command(node, "add", Value::Int(n), Instant::ZERO)
            .expect("command")
    }

    #[test]
    fn publish_reaches_only_watchers_of_the_node() {
        let mut hub = hub();
        let mut a = hub.join(4);
        let mut b = hub.join(4);
        hub.watch(a.id, "/unit/1");
        hub.watch(b.id, "/unit/2");
        let p = add(&mut hub, "/unit/1", 5);
        assert_eq!(hub.publish(p), 1);
        assert_eq!(
            a.changes.try_recv().map(|c| c.node().to_owned()).ok(),
            Some("/unit/1".into())
        );
        assert!(b.changes.try_recv().is_err());
    }

    #[test]
    fn full_channel_marks_the_connection_overloaded_and_others_keep_going() {
        let mut hub = hub();
        let slow = hub.join(1);
        let mut fast = hub.join(8);
        hub.watch(slow.id, "/unit/1");
        hub.watch(fast.id, "/unit/1");
        for n in 1..=3 {
            let p = add(&mut hub, "/unit/1", n);
            hub.publish(p);
        }
        assert!(slow.overload.flag.load(Ordering::Acquire));
        assert!(!fast.overload.flag.load(Ordering::Acquire));
        let mut got = 0;
        while fast.changes.try_recv().is_ok() {
            got += 1;
        }
        assert_eq!(got, 3);
    }

    #[test]
    fn unwatch_and_leave_stop_deliveries() {
        let mut hub = hub();
        let mut a = hub.join(4);
        hub.watch(a.id, "/unit/1");
        hub.watch(a.id, "/unit/1");
        hub.unwatch(a.id, "/unit/1");
        let p = add(&mut hub, "/unit/1", 1);
        assert_eq!(hub.publish(p), 1, "one of two links is still open");
        hub.leave(a.id, ["/unit/1"]);
        let p = add(&mut hub, "/unit/1", 1);
        assert_eq!(hub.publish(p), 0);
        assert_eq!(hub.connections(), 0);
        assert!(a.changes.try_recv().is_ok());
        assert!(a.changes.try_recv().is_err());
    }
}
