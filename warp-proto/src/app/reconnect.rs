//! The client's reconnection policy, sans-IO: when to connect again ([`Reconnect`]), which
//! links to open again once connected ([`WantedLinks`]), and the commands held while
//! disconnected ([`CommandBuffer`]). PROFILE.md: reconnection with back-off and re-opening of
//! wanted links is on by default; commands sent while disconnected are buffered up to a bound,
//! then refused with an error.

use alloc::collections::{BTreeMap, VecDeque};
use alloc::string::String;
use core::fmt;

use super::backoff::Backoff;
use crate::envelope::Body;
use crate::ws::Instant;

/// Where a reconnecting client stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ReconnectState {
    /// A connection attempt is under way (or should start now).
    Connecting,
    /// Connected.
    Connected,
    /// Waiting until this deadline before the next attempt.
    Waiting(Instant),
    /// The attempts allowed are spent.
    GaveUp,
}

/// When to connect again: a small state machine over a [`Backoff`].
///
/// The driver connects while the state is [`ReconnectState::Connecting`], reports the outcome
/// ([`Reconnect::connected`], [`Reconnect::disconnected`] for a failed attempt or a lost
/// connection), sleeps until [`Reconnect::poll_timeout`] and then calls
/// [`Reconnect::handle_timeout`].
///
/// ```
/// use core::time::Duration;
/// use warp_proto::app::{Backoff, Reconnect, ReconnectState};
/// use warp_proto::ws::Instant;
///
/// let backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(1));
/// let mut r = Reconnect::new(backoff);
/// assert_eq!(r.state(), ReconnectState::Connecting);
/// let t0 = Instant::from_millis(0);
/// assert_eq!(r.disconnected(t0), Some(Instant::from_millis(100))); // first attempt failed
/// assert!(!r.handle_timeout(Instant::from_millis(99)));
/// assert!(r.handle_timeout(Instant::from_millis(100)));
/// assert_eq!(r.state(), ReconnectState::Connecting);
/// r.connected();
/// assert_eq!(r.poll_timeout(), None);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Reconnect {
    backoff: Backoff,
    state: ReconnectState,
}

impl Reconnect {
    /// Starts in [`ReconnectState::Connecting`]: connect now.
    pub fn new(backoff: Backoff) -> Reconnect {
        Reconnect {
            backoff,
            state: ReconnectState::Connecting,
        }
    }

    /// The current state.
    pub fn state(&self) -> ReconnectState {
        self.state
    }

    /// The back-off, with its attempt count.
    pub fn backoff(&self) -> &Backoff {
        &self.backoff
    }

    /// The attempt succeeded: back-off starts over.
    pub fn connected(&mut self) {
        self.backoff.reset();
        self.state = ReconnectState::Connected;
    }

    /// The attempt failed or the connection was lost at `now`: returns the deadline of the
    /// next attempt, or `None` when the attempts allowed are spent ([`ReconnectState::GaveUp`]).
    /// While already waiting it keeps the deadline it has.
    pub fn disconnected(&mut self, now: Instant) -> Option<Instant> {
        match self.state {
            ReconnectState::Waiting(deadline) => Some(deadline),
            ReconnectState::GaveUp => None,
            ReconnectState::Connecting | ReconnectState::Connected => {
                match self.backoff.schedule(now) {
                    Some(deadline) => {
                        self.state = ReconnectState::Waiting(deadline);
                        Some(deadline)
                    }
                    None => {
                        self.state = ReconnectState::GaveUp;
                        None
                    }
                }
            }
        }
    }

    /// The deadline the driver must wake up at, if waiting.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match self.state {
            ReconnectState::Waiting(deadline) => Some(deadline),
            _ => None,
        }
    }

    /// Time passed: returns `true` when the deadline is reached and the driver must connect
    /// now (the state becomes [`ReconnectState::Connecting`]).
    pub fn handle_timeout(&mut self, now: Instant) -> bool {
        match self.state {
            ReconnectState::Waiting(deadline) if now >= deadline => {
                self.state = ReconnectState::Connecting;
                true
            }
            _ => false,
        }
    }

    /// Stops reconnecting (the application closed the client).
    pub fn give_up(&mut self) {
        self.state = ReconnectState::GaveUp;
    }
}

/// A bound of a client-side record was reached. Nothing changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BufferError {
    /// The record holds its maximum number of items.
    TooMany {
        /// The bound.
        max: usize,
    },
    /// The item would take the record over its byte bound.
    TooLarge {
        /// The bound, in bytes.
        max: usize,
    },
}

impl fmt::Display for BufferError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BufferError::TooMany { max } => write!(f, "at most {max} items"),
            BufferError::TooLarge { max } => write!(f, "at most {max} bytes"),
        }
    }
}

impl core::error::Error for BufferError {}

/// One link the application wants open.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct WantedLink<'a> {
    /// The node URI.
    pub node: &'a str,
    /// The lane URI.
    pub lane: &'a str,
    /// Whether to open it with `sync` (else `link`).
    pub sync: bool,
}

/// The links a client re-opens after reconnecting: one per (node, lane), opened with `sync` if
/// any handle wanted it (as the JS client's `keepSynced`), bounded in number.
///
/// ```
/// use warp_proto::app::{WantedLink, WantedLinks};
///
/// let mut wanted = WantedLinks::new(100);
/// wanted.want("/unit/1", "info", false).unwrap();
/// wanted.want("/unit/1", "info", true).unwrap(); // upgraded to sync
/// wanted.want("/unit/2", "count", false).unwrap();
/// let all: Vec<_> = wanted.iter().collect();
/// assert_eq!(all[0], WantedLink { node: "/unit/1", lane: "info", sync: true });
/// assert!(wanted.unwant("/unit/2", "count"));
/// assert_eq!(wanted.len(), 1);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WantedLinks {
    links: BTreeMap<String, BTreeMap<String, bool>>,
    len: usize,
    max: usize,
}

impl WantedLinks {
    /// An empty record of at most `max` links.
    pub fn new(max: usize) -> WantedLinks {
        WantedLinks {
            links: BTreeMap::new(),
            len: 0,
            max,
        }
    }

    /// Wants `node`/`lane` open (with `sync`, or `sync` stays as it was if already wanted with
    /// it). Fails with [`BufferError::TooMany`] for a new link beyond the bound.
    pub fn want(&mut self, node: &str, lane: &str, sync: bool) -> Result<(), BufferError> {
        if let Some(s) = self
            .links
            .get_mut(node)
            .and_then(|lanes| lanes.get_mut(lane))
        {
            *s |= sync;
            return Ok(());
        }
        if self.len >= self.max {
            return Err(BufferError::TooMany { max: self.max });
        }
        self.links
            .entry(String::from(node))
            .or_default()
            .insert(String::from(lane), sync);
        self.len += 1;
        Ok(())
    }

    /// No longer wants `node`/`lane`; returns whether it was wanted.
    pub fn unwant(&mut self, node: &str, lane: &str) -> bool {
        let Some(lanes) = self.links.get_mut(node) else {
            return false;
        };
        let removed = lanes.remove(lane).is_some();
        if lanes.is_empty() {
            self.links.remove(node);
        }
        if removed {
            self.len = self.len.saturating_sub(1);
        }
        removed
    }

    /// Whether `node`/`lane` is wanted, and with `sync`.
    pub fn get(&self, node: &str, lane: &str) -> Option<WantedLink<'_>> {
        let (node, lanes) = self.links.get_key_value(node)?;
        let (lane, &sync) = lanes.get_key_value(lane)?;
        Some(WantedLink { node, lane, sync })
    }

    /// Every wanted link, by node then lane: what to open after reconnecting.
    pub fn iter(&self) -> impl Iterator<Item = WantedLink<'_>> + '_ {
        self.links.iter().flat_map(|(node, lanes)| {
            lanes
                .iter()
                .map(move |(lane, &sync)| WantedLink { node, lane, sync })
        })
    }

    /// How many links are wanted.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Forgets every link.
    pub fn clear(&mut self) {
        self.links.clear();
        self.len = 0;
    }
}

/// A command held while disconnected.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct BufferedCommand {
    /// The node URI.
    pub node: String,
    /// The lane URI.
    pub lane: String,
    /// The body's Recon text (as [`Body::raw`]).
    pub body: String,
}

impl BufferedCommand {
    /// The body, for `ClientConnection::command`.
    pub fn body(&self) -> Body<'_> {
        Body::from_raw(&self.body)
    }

    fn size(&self) -> usize {
        self.node
            .len()
            .saturating_add(self.lane.len())
            .saturating_add(self.body.len())
    }
}

/// Commands sent while disconnected, in order, bounded in number and bytes (node, lane and
/// body text). After connecting, send them from the front, popping each once the connection
/// took it.
///
/// ```
/// use warp_proto::app::{BufferError, CommandBuffer};
/// use warp_proto::envelope::Body;
///
/// let mut buffer = CommandBuffer::new(2, 1024);
/// buffer.push("/unit/1", "add", Body::from_raw("5")).unwrap();
/// buffer.push("/unit/1", "add", Body::from_raw("3")).unwrap();
/// let full = buffer.push("/unit/1", "add", Body::from_raw("1"));
/// assert_eq!(full, Err(BufferError::TooMany { max: 2 }));
/// while let Some(c) = buffer.front() {
///     // client.command(&c.node, &c.lane, c.body())?;
///     assert_eq!(c.lane, "add");
///     buffer.pop();
/// }
/// assert!(buffer.is_empty());
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CommandBuffer {
    queue: VecDeque<BufferedCommand>,
    bytes: usize,
    max_commands: usize,
    max_bytes: usize,
}

impl CommandBuffer {
    /// An empty buffer of at most `max_commands` commands and `max_bytes` bytes.
    pub fn new(max_commands: usize, max_bytes: usize) -> CommandBuffer {
        CommandBuffer {
            queue: VecDeque::new(),
            bytes: 0,
            max_commands,
            max_bytes,
        }
    }

    /// Holds a command. Fails, holding nothing, when a bound would be passed.
    pub fn push(&mut self, node: &str, lane: &str, body: Body<'_>) -> Result<(), BufferError> {
        if self.queue.len() >= self.max_commands {
            return Err(BufferError::TooMany {
                max: self.max_commands,
            });
        }
        let size = node
            .len()
            .saturating_add(lane.len())
            .saturating_add(body.raw().len());
        if self.bytes.saturating_add(size) > self.max_bytes {
            return Err(BufferError::TooLarge {
                max: self.max_bytes,
            });
        }
        self.queue.push_back(BufferedCommand {
            node: String::from(node),
            lane: String::from(lane),
            body: String::from(body.raw()),
        });
        self.bytes = self.bytes.saturating_add(size);
        Ok(())
    }

    /// The oldest command.
    pub fn front(&self) -> Option<&BufferedCommand> {
        self.queue.front()
    }

    /// Removes and returns the oldest command.
    pub fn pop(&mut self) -> Option<BufferedCommand> {
        let c = self.queue.pop_front()?;
        self.bytes = self.bytes.saturating_sub(c.size());
        Some(c)
    }

    /// How many commands are held.
    pub fn len(&self) -> usize {
        self.queue.len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// Bytes held (node, lane and body text).
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Drops every command.
    pub fn clear(&mut self) {
        self.queue.clear();
        self.bytes = 0;
    }
}
