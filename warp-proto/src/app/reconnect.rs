//! The client's reconnection policy, sans-IO: when to connect again ([`Reconnect`]) and the
//! commands held while disconnected ([`CommandBuffer`]). The downlinks to open again once
//! connected are the client session's own records
//! ([`ClientSession`](super::session::client::ClientSession)). PROFILE.md: reconnection with back-off and re-opening of
//! wanted links is on by default; commands sent while disconnected are buffered up to a bound,
//! then refused with an error.

use alloc::collections::VecDeque;
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
/// Each command carries a tag `T` chosen by the caller (by default `()`), for example the
/// channel its outcome goes to: [`push_tagged`](Self::push_tagged) and
/// [`pop_tagged`](Self::pop_tagged) keep the two together, so they cannot get out of step.
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
///
/// // Tagged: the tag comes back with its command.
/// let mut tagged = CommandBuffer::<u32>::new(8, 1024);
/// tagged.push_tagged("/unit/1", "add", Body::from_raw("5"), 17).unwrap();
/// let (command, tag) = tagged.pop_tagged().unwrap();
/// assert_eq!((command.body().raw(), tag), ("5", 17));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommandBuffer<T = ()> {
    queue: VecDeque<(BufferedCommand, T)>,
    bytes: usize,
    max_commands: usize,
    max_bytes: usize,
}

impl<T> Default for CommandBuffer<T> {
    /// An empty buffer that holds nothing (both bounds 0).
    fn default() -> Self {
        CommandBuffer::new(0, 0)
    }
}

impl CommandBuffer<()> {
    /// Holds a command. Fails, holding nothing, when a bound would be passed.
    pub fn push(&mut self, node: &str, lane: &str, body: Body<'_>) -> Result<(), BufferError> {
        self.push_tagged(node, lane, body, ())
    }

    /// Removes and returns the oldest command.
    pub fn pop(&mut self) -> Option<BufferedCommand> {
        self.pop_tagged().map(|(c, ())| c)
    }
}

impl<T> CommandBuffer<T> {
    /// An empty buffer of at most `max_commands` commands and `max_bytes` bytes.
    pub fn new(max_commands: usize, max_bytes: usize) -> CommandBuffer<T> {
        CommandBuffer {
            queue: VecDeque::new(),
            bytes: 0,
            max_commands,
            max_bytes,
        }
    }

    /// Holds a command with its tag. Fails, holding nothing, when a bound would be passed;
    /// the tag is then dropped (keep what you need from it first, or check
    /// [`would_accept`](Self::would_accept)).
    pub fn push_tagged(
        &mut self,
        node: &str,
        lane: &str,
        body: Body<'_>,
        tag: T,
    ) -> Result<(), BufferError> {
        self.would_accept(node, lane, body)?;
        let command = BufferedCommand {
            node: String::from(node),
            lane: String::from(lane),
            body: String::from(body.raw()),
        };
        self.bytes = self.bytes.saturating_add(command.size());
        self.queue.push_back((command, tag));
        Ok(())
    }

    /// Whether a command would fit: `Ok`, or the bound it would pass. Changes nothing.
    pub fn would_accept(&self, node: &str, lane: &str, body: Body<'_>) -> Result<(), BufferError> {
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
        Ok(())
    }

    /// The oldest command.
    pub fn front(&self) -> Option<&BufferedCommand> {
        self.queue.front().map(|(c, _)| c)
    }

    /// Removes and returns the oldest command with its tag.
    pub fn pop_tagged(&mut self) -> Option<(BufferedCommand, T)> {
        let (c, tag) = self.queue.pop_front()?;
        self.bytes = self.bytes.saturating_sub(c.size());
        Some((c, tag))
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

    /// Removes every command, oldest first, with its tag (to answer each).
    pub fn drain(&mut self) -> impl Iterator<Item = (BufferedCommand, T)> + '_ {
        self.bytes = 0;
        self.queue.drain(..)
    }

    /// Drops every command (and its tag).
    pub fn clear(&mut self) {
        self.queue.clear();
        self.bytes = 0;
    }
}
