//! The memory figures of the core, as the program prints them with `--sizes`.
//!
//! The per-link cost is measured, not computed: the size of the demo's endpoint type with
//! 16 links (and 16 handles) minus that with 8, divided by 8.

use core::fmt;
use core::mem::size_of;

use warp_proto::connection::Fixed;
use warp_proto::endpoint::ClientEndpoint;

use crate::{DemoEndpoint, LINKS, OUT_LEN, READ_LEN, RX_LEN, TX_LEN, URI_LEN};

/// The demo's endpoint with twice the links and handles.
type Endpoint16<'b> = ClientEndpoint<&'b mut [u8], &'b mut [u8], Fixed<16, 16, URI_LEN, OUT_LEN>>;

/// The RAM budget: all WARP and WebSocket state for 8 links and one 4 KiB frame.
pub const BUDGET: usize = 16 * 1024;

/// The memory figures, in bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sizes {
    /// The demo's endpoint ([`DemoEndpoint`], [`LINKS`] links), without the storages it
    /// borrows: link and handle tables, outbound queue, WebSocket and handshake state.
    pub endpoint: usize,
    /// The same endpoint type with 16 links and 16 handles.
    pub endpoint_16: usize,
    /// What one more link (with its handle) costs: `(endpoint_16 - endpoint) / 8`.
    pub per_link: usize,
    /// The receive storage (the largest message taken: one 4 KiB frame).
    pub rx: usize,
    /// The transmit storage.
    pub tx: usize,
    /// The socket read buffer of the drive loop.
    pub read_buffer: usize,
    /// All of the above for 8 links: what the budget covers.
    pub total: usize,
}

impl Sizes {
    /// The figures of this build.
    ///
    /// ```
    /// let sizes = warp_nostd_demo::sizes::Sizes::measure();
    /// assert!(sizes.per_link > 0);
    /// assert_eq!(sizes.total, sizes.endpoint + sizes.rx + sizes.tx + sizes.read_buffer);
    /// ```
    pub fn measure() -> Self {
        let endpoint = size_of::<DemoEndpoint<'static>>();
        let endpoint_16 = size_of::<Endpoint16<'static>>();
        let extra_links = 16 - LINKS;
        Sizes {
            endpoint,
            endpoint_16,
            per_link: endpoint_16.saturating_sub(endpoint) / extra_links,
            rx: RX_LEN,
            tx: TX_LEN,
            read_buffer: READ_LEN,
            total: endpoint + RX_LEN + TX_LEN + READ_LEN,
        }
    }

    /// Whether the total is under [`BUDGET`].
    pub fn within_budget(&self) -> bool {
        self.total < BUDGET
    }
}

impl fmt::Display for Sizes {
    /// One `name value` line per figure, then the budget and whether it is met.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "endpoint-{LINKS}-links {}", self.endpoint)?;
        writeln!(f, "endpoint-16-links {}", self.endpoint_16)?;
        writeln!(f, "per-link {}", self.per_link)?;
        writeln!(f, "rx-storage {}", self.rx)?;
        writeln!(f, "tx-storage {}", self.tx)?;
        writeln!(f, "read-buffer {}", self.read_buffer)?;
        writeln!(f, "total {}", self.total)?;
        let verdict = if self.within_budget() {
            "met"
        } else {
            "not-met"
        };
        writeln!(f, "budget {BUDGET} {verdict}")
    }
}
