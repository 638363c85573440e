//! The zero-copy pull parser.

use super::{Error, Event};

/// The default maximum nesting depth of records and attributes.
pub const DEFAULT_MAX_DEPTH: usize = 64;

/// Limits of a [`Reader`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReaderConfig {
    /// Maximum nesting depth of records and attribute arguments; deeper input is an
    /// [`ErrorKind::DepthExceeded`](super::ErrorKind::DepthExceeded) error.
    pub max_depth: usize,
}

impl Default for ReaderConfig {
    fn default() -> Self {
        ReaderConfig {
            max_depth: DEFAULT_MAX_DEPTH,
        }
    }
}

/// A pull parser over one Recon document.
pub struct Reader<'a> {
    input: &'a str,
    pos: usize,
    config: ReaderConfig,
}

impl<'a> Reader<'a> {
    /// A reader over `input` with the default configuration.
    pub fn new(input: &'a str) -> Self {
        Self::with_config(input, ReaderConfig::default())
    }

    /// A reader over `input` with `config`.
    pub fn with_config(input: &'a str, config: ReaderConfig) -> Self {
        Reader {
            input,
            pos: 0,
            config,
        }
    }

    /// The next event, `Ok(None)` once the document has ended.
    pub fn next_event(&mut self) -> Result<Option<Event<'a>>, Error> {
        let _ = (self.input, self.pos, self.config);
        todo!("parser")
    }
}
