//! Recon, the structured-data notation every WARP envelope is written in.
//!
//! - [`Reader`] is a pull parser over `&str` that allocates nothing and copies nothing: it yields
//!   [`Event`]s whose text is a slice of the input, or an escape-decoding view of it.
//! - [`Value`] (feature `alloc`) is the owned data model, built from the reader.
//! - The writer prints values following the project's portable profile.
//!
//! The grammar read is the one of the Java and JavaScript reference implementations, restricted as
//! the project's profile says (no expressions; trailing input is an error).

mod error;
mod event;
pub mod ident;
mod print;
mod reader;

#[cfg(feature = "alloc")]
mod value;

pub use error::{Error, ErrorKind, Expected, Found};
pub(crate) use event::TextForm;
pub use event::{Data, DataDecodeError, Event, Number, Text, TextChars};
pub use print::{RecordWriter, SliceSink, ValueWriter, Writer};
pub use reader::{Reader, ReaderConfig, DEFAULT_MAX_DEPTH};

#[cfg(feature = "alloc")]
pub use value::{Item, Value};
