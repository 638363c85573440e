//! smol / async-std driver for WARP over `futures-io` sockets (not yet implemented; see issue 5).
