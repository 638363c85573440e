//! Tokio driver for WARP: moves bytes between tokio sockets and the `warp-proto` core (not yet implemented; see issue 4).
