//! The owned Recon data model (feature `alloc`).

use alloc::string::String;
use alloc::vec::Vec;

/// An owned Recon value.
///
/// Integers are kept in one canonical form so that equal numbers compare equal: `Int` for every
/// integer that fits `i64`, `UInt` only for integers above `i64::MAX` that fit `u64`, `BigInt`
/// only for integers outside both. Use [`Value::from`] on integer types (or
/// [`Value::int_from_big`]) to keep that invariant.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// An ordered sequence of attributes, slots and values.
    Record(Vec<Item>),
    /// A Unicode string.
    Text(String),
    /// An integer that fits `i64`.
    Int(i64),
    /// An integer above `i64::MAX` that fits `u64`.
    UInt(u64),
    /// An integer outside the `i64` and `u64` ranges.
    BigInt(num_bigint::BigInt),
    /// A 64-bit float.
    Float(f64),
    /// `true` or `false`.
    Bool(bool),
    /// A byte string.
    Data(Vec<u8>),
    /// Present but empty.
    Extant,
    /// Nothing (an empty document).
    Absent,
}

/// One item of a [`Value::Record`].
#[derive(Clone, Debug, PartialEq)]
pub enum Item {
    /// An attribute `@name(value)`.
    Attr(String, Value),
    /// A slot `key:value`.
    Slot(Value, Value),
    /// A plain value.
    Value(Value),
}
