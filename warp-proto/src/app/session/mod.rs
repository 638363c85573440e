//! Sessions: what a driver runs per connection above the endpoint, sans-IO. A driver only
//! moves bytes, reads its clock and waits; a session decides everything else.

pub mod client;
pub mod server;
