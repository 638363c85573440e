//! The owned Recon data model (feature `alloc`).

use alloc::borrow::ToOwned;
use alloc::string::{String, ToString};

use alloc::vec::Vec;
use core::str::FromStr;

use num_bigint::BigInt;

use super::reader::Status;
use super::{Error, ErrorKind, Event, Found, Number, Reader};

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

/// The stacks of the value builder: the finished items of all open records (innermost last)
/// and the saved states of the outer records. With `std`, one pair per thread is kept between
/// parses, so a parse allocates only what the value it returns holds.
#[derive(Default)]
struct Scratch {
    items: Vec<Item>,
    open: Vec<(usize, bool)>,
}

/// Stacks larger than this (in items) are freed rather than kept for the next parse.
#[cfg(feature = "std")]
const SCRATCH_KEEP: usize = 1024;

#[cfg(feature = "std")]
std::thread_local! {
    static SCRATCH: core::cell::Cell<Scratch> = const {
        core::cell::Cell::new(Scratch { items: Vec::new(), open: Vec::new() })
    };
}

impl Scratch {
    /// The thread's stacks (empty), or new ones.
    #[inline]
    fn take() -> Scratch {
        #[cfg(feature = "std")]
        if let Ok(scratch) = SCRATCH.try_with(core::cell::Cell::take) {
            return scratch;
        }
        Scratch::default()
    }

    /// Empties the stacks and keeps them for the thread's next parse, unless they grew large.
    #[inline]
    fn give_back(mut self) {
        self.items.clear();
        self.open.clear();
        #[cfg(feature = "std")]
        if self.items.capacity() <= SCRATCH_KEEP && self.open.capacity() <= SCRATCH_KEEP {
            let _ = SCRATCH.try_with(|cell| cell.set(self));
        }
    }
}

impl Value {
    /// Parses a Recon document.
    ///
    /// ```
    /// use warp_proto::recon::{Item, Value};
    ///
    /// let v = Value::parse("@point{x:1,y:2.5}").unwrap();
    /// assert_eq!(v.tag(), Some("point"));
    /// assert_eq!(v.get("x"), Some(&Value::Int(1)));
    /// assert_eq!(Value::parse("a:1, 2").unwrap(), Value::Record(vec![
    ///     Item::slot("a", 1),
    ///     Item::value(2),
    /// ]));
    /// assert!(Value::parse("1 + 2").is_err());
    /// ```
    pub fn parse(input: &str) -> Result<Value, Error> {
        // The lazy reader skips the document-level lookahead; a document that turns out to be
        // a record of several items announces it after its first item (see `Reader::new_lazy`).
        let mut reader = Reader::new_lazy(input);
        let first = Self::build(&mut reader, None)?;
        if !reader.is_lazy() {
            return Self::finish(&mut reader, first);
        }
        match reader.next_event()? {
            None => Ok(first),
            Some(Event::StartRecord) => {
                let record = Self::build(&mut reader, Some(first))?;
                Self::finish(&mut reader, record)
            }
            Some(_) => Err(Self::trailing(&reader)),
        }
    }

    /// Parses the body of an envelope: the text that follows the tag attribute (see
    /// [`Reader::for_record_body`]).
    ///
    /// ```
    /// use warp_proto::recon::{Item, Value};
    ///
    /// assert_eq!(Value::parse_body("{}").unwrap(), Value::Absent);
    /// assert_eq!(Value::parse_body(" 42").unwrap(), Value::Int(42));
    /// assert_eq!(
    ///     Value::parse_body("@update(key:k){temp:21.5}").unwrap(),
    ///     Value::Record(vec![Item::attr("update", Value::record([Item::slot("key", "k")])),
    ///                        Item::slot("temp", 21.5)]),
    /// );
    /// ```
    pub fn parse_body(input: &str) -> Result<Value, Error> {
        Self::parse_all(&mut Reader::for_record_body(input))
    }

    /// Reads one value and checks that the reader has nothing more.
    fn parse_all(reader: &mut Reader<'_>) -> Result<Value, Error> {
        let value = Self::from_reader(reader)?;
        Self::finish(reader, value)
    }

    /// Checks that `reader` has nothing after `value`.
    fn finish(reader: &mut Reader<'_>, value: Value) -> Result<Value, Error> {
        match reader.next_event()? {
            None => Ok(value),
            Some(_) => Err(Self::trailing(reader)),
        }
    }

    /// The error for an event after the document's value (which the reader never produces).
    #[cold]
    fn trailing(reader: &Reader<'_>) -> Error {
        let at = Reader::position(reader);
        Error::new(
            ErrorKind::Unexpected(Found::first_of(reader.input().get(at..).unwrap_or(""))),
            at,
        )
    }

    /// Builds the next value from `reader`'s events: consumes exactly the events of one value
    /// and leaves the reader after them. Iterative, so nesting costs heap, not stack.
    ///
    /// ```
    /// use warp_proto::recon::{Event, Reader, Value};
    ///
    /// let mut reader = Reader::new("@a(x:1){2}");
    /// assert_eq!(reader.next_event().unwrap(), Some(Event::StartRecord));
    /// assert_eq!(reader.next_event().unwrap().map(|e| matches!(e, Event::Attr(_))), Some(true));
    /// let args = Value::from_reader(&mut reader).unwrap();
    /// assert_eq!(args.get("x"), Some(&Value::Int(1)));
    /// ```
    pub fn from_reader(reader: &mut Reader<'_>) -> Result<Value, Error> {
        Self::build(reader, None)
    }

    /// The builder. With `first`, a record is already open holding `first` as its only item
    /// so far (a lazy document that turned out to be a record); the call returns when the value
    /// being read (that record, with `first`) is complete.
    ///
    /// All open records' finished items share one stack, innermost last. The innermost
    /// record's state lives in locals: the plain value just finished (`last`, not yet pushed,
    /// since a `Slot` may make it a key) and whether the value being read completes the last
    /// item on the stack (`fill`: an attribute or a slot pushed with a placeholder value when
    /// its name or key was read, so nothing moves while its value is read). Outer records'
    /// `(start, fill)` are on a second stack.
    fn build(reader: &mut Reader<'_>, first: Option<Value>) -> Result<Value, Error> {
        let mut scratch = Scratch::take();
        let result = Self::build_with(reader, first, &mut scratch);
        scratch.give_back();
        result
    }

    /// [`Value::build`] with the item and record stacks of `scratch` (empty on entry; left
    /// holding whatever an error interrupted).
    fn build_with(
        reader: &mut Reader<'_>,
        first: Option<Value>,
        scratch: &mut Scratch,
    ) -> Result<Value, Error> {
        let Scratch { items, open } = scratch;
        // Whether a record is open, where its items start in `items`, and its state.
        let mut inside = first.is_some();
        let mut start = 0usize;
        let mut fill = false;
        let mut last: Option<Value> = first;
        let mut event = Event::Absent;
        // Puts a finished value where it belongs: the whole result outside any record, the
        // placeholder of the attribute or slot being read, or `last`.
        macro_rules! place {
            ($value:expr, $malformed:expr) => {{
                let value = $value;
                if !inside {
                    return Ok(value);
                }
                if fill {
                    fill = false;
                    match items.last_mut() {
                        Some(Item::Attr(_, slot) | Item::Slot(_, slot)) => {
                            // The placeholder is the `Extant` pushed with the name or key,
                            // which owns nothing: forgetting it skips a drop call and leaks
                            // nothing.
                            core::mem::forget(core::mem::replace(slot, value));
                        }
                        _ => return Err($malformed),
                    }
                } else {
                    if let Some(v) = last.take() {
                        items.push(Item::Value(v));
                    }
                    // A key whose `:` the reader has already read: make the slot now rather
                    // than on the `Slot` event.
                    if reader.take_slot() {
                        items.push(Item::Slot(value, Value::Extant));
                        fill = true;
                    } else {
                        last = Some(value);
                    }
                }
            }};
        }
        loop {
            let at = Reader::position(reader);
            let malformed = || Error::new(ErrorKind::Unexpected(Found::EndOfInput), at);
            match reader.next_into(&mut event) {
                Status::Event => {}
                Status::End => return Err(malformed()),
                Status::Failed => return Err(reader.error()),
            }
            match event {
                Event::Text(t) => {
                    let s = match t.as_str() {
                        Some(s) => String::from(s),
                        None => {
                            let mut s = String::with_capacity(t.raw().len());
                            t.push_decoded(&mut s);
                            s
                        }
                    };
                    // Texts are most keys and many values: placed here with their variant
                    // known, so the value is written straight where it goes.
                    if !inside {
                        return Ok(Value::Text(s));
                    }
                    if fill {
                        fill = false;
                        match items.last_mut() {
                            Some(Item::Attr(_, slot) | Item::Slot(_, slot)) => {
                                core::mem::forget(core::mem::replace(slot, Value::Text(s)));
                            }
                            _ => return Err(malformed()),
                        }
                    } else {
                        if let Some(v) = last.take() {
                            items.push(Item::Value(v));
                        }
                        if reader.take_slot() {
                            items.push(Item::Slot(Value::Text(s), Value::Extant));
                            fill = true;
                        } else {
                            last = Some(Value::Text(s));
                        }
                    }
                }
                Event::Number(Number::Int(i)) => place!(Value::Int(i), malformed()),
                Event::Number(Number::Float(f)) => place!(Value::Float(f), malformed()),
                Event::Number(n) => place!(Self::from_number(n, at)?, malformed()),
                Event::Slot => match last.take() {
                    Some(key) if inside && !fill => {
                        items.push(Item::Slot(key, Value::Extant));
                        fill = true;
                    }
                    _ => return Err(malformed()),
                },
                Event::StartRecord => {
                    if inside {
                        if let Some(v) = last.take() {
                            items.push(Item::Value(v));
                        }
                        open.push((start, fill));
                        fill = false;
                    } else {
                        inside = true;
                    }
                    if items.capacity() == 0 {
                        items.reserve(32);
                    }
                    start = items.len();
                }
                Event::EndRecord => {
                    if !inside || fill || start > items.len() {
                        return Err(malformed());
                    }
                    if let Some(v) = last.take() {
                        items.push(Item::Value(v));
                    }
                    // An exact-size copy; the stack keeps its buffer (`split_off(0)` would
                    // hand the whole buffer to the record and allocate a new one).
                    let record = Value::Record(if start == 0 {
                        let mut all = Vec::with_capacity(items.len());
                        all.append(items);
                        all
                    } else {
                        items.split_off(start)
                    });
                    match open.pop() {
                        Some((outer_start, outer_fill)) => {
                            start = outer_start;
                            fill = outer_fill;
                        }
                        None => return Ok(record),
                    }
                    place!(record, malformed());
                }
                Event::Attr(name) => {
                    if !inside || fill {
                        return Err(malformed());
                    }
                    if let Some(v) = last.take() {
                        items.push(Item::Value(v));
                    }
                    let name = match name.as_str() {
                        Some(s) => String::from(s),
                        None => {
                            let mut s = String::with_capacity(name.raw().len());
                            name.push_decoded(&mut s);
                            s
                        }
                    };
                    items.push(Item::Attr(name, Value::Extant));
                    fill = true;
                }
                Event::Bool(b) => place!(Value::Bool(b), malformed()),
                Event::Data(d) => place!(Value::Data(d.to_vec()), malformed()),
                Event::Extant => place!(Value::Extant, malformed()),
                Event::Absent => place!(Value::Absent, malformed()),
            }
        }
    }

    /// The value of a number event (`at`: where it was read, for errors).
    fn from_number(n: Number<'_>, at: usize) -> Result<Value, Error> {
        Ok(match n {
            Number::Int(i) => Value::Int(i),
            Number::UInt(u) => Value::from(u),
            Number::Float(f) => Value::Float(f),
            Number::Big {
                negative,
                digits,
                radix,
            } => {
                let magnitude = BigInt::parse_bytes(digits.as_bytes(), radix)
                    .ok_or(Error::new(ErrorKind::IntegerOutOfRange, at))?;
                Value::int_from_big(if negative { -magnitude } else { magnitude })
            }
        })
    }

    /// An integer value in canonical form: `Int` if it fits `i64`, `UInt` if it fits `u64`,
    /// else `BigInt`.
    ///
    /// ```
    /// use num_bigint::BigInt;
    /// use warp_proto::recon::Value;
    ///
    /// assert_eq!(Value::int_from_big(BigInt::from(-5)), Value::Int(-5));
    /// assert_eq!(Value::int_from_big(BigInt::from(u64::MAX)), Value::UInt(u64::MAX));
    /// assert!(matches!(Value::int_from_big(BigInt::from(u64::MAX) + 1), Value::BigInt(_)));
    /// ```
    pub fn int_from_big(n: BigInt) -> Value {
        if let Ok(i) = i64::try_from(&n) {
            Value::Int(i)
        } else if let Ok(u) = u64::try_from(&n) {
            Value::UInt(u)
        } else {
            Value::BigInt(n)
        }
    }

    /// A record of `items`.
    pub fn record(items: impl IntoIterator<Item = Item>) -> Value {
        Value::Record(items.into_iter().collect())
    }

    /// A text value.
    pub fn text(s: impl Into<String>) -> Value {
        Value::Text(s.into())
    }

    /// The text, if this is a `Text`.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Text(s) => Some(s),
            _ => None,
        }
    }

    /// The integer, if this is an integer that fits `i64` (`Int`).
    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            Value::Int(i) => Some(i),
            _ => None,
        }
    }

    /// The integer, if this is an integer that fits `u64` (a non-negative `Int`, or `UInt`).
    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            Value::Int(i) => u64::try_from(i).ok(),
            Value::UInt(u) => Some(u),
            _ => None,
        }
    }

    /// The number as an `f64` (rounded for large integers), if this is a number.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(i) => Some(*i as f64),
            Value::UInt(u) => Some(*u as f64),
            Value::Float(f) => Some(*f),
            Value::BigInt(b) => b.to_string().parse().ok(),
            _ => None,
        }
    }

    /// The boolean, if this is a `Bool`.
    pub fn as_bool(&self) -> Option<bool> {
        match *self {
            Value::Bool(b) => Some(b),
            _ => None,
        }
    }

    /// The bytes, if this is `Data`.
    pub fn as_data(&self) -> Option<&[u8]> {
        match self {
            Value::Data(d) => Some(d),
            _ => None,
        }
    }

    /// Whether this is a record.
    pub fn is_record(&self) -> bool {
        matches!(self, Value::Record(_))
    }

    /// Whether this is `Extant`.
    pub fn is_extant(&self) -> bool {
        matches!(self, Value::Extant)
    }

    /// Whether this is `Absent`.
    pub fn is_absent(&self) -> bool {
        matches!(self, Value::Absent)
    }

    /// The items of a record; empty for any other value.
    pub fn items(&self) -> &[Item] {
        match self {
            Value::Record(items) => items,
            _ => &[],
        }
    }

    /// The value of the first slot whose key is the text `key`.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.items().iter().find_map(|item| match item {
            Item::Slot(Value::Text(k), v) if k == key => Some(v),
            _ => None,
        })
    }

    /// The value of the first attribute named `name`.
    pub fn attr(&self, name: &str) -> Option<&Value> {
        self.items().iter().find_map(|item| match item {
            Item::Attr(n, v) if n == name => Some(v),
            _ => None,
        })
    }

    /// The name of the record's first item, if that is an attribute (its "tag").
    pub fn tag(&self) -> Option<&str> {
        match self.items().first() {
            Some(Item::Attr(name, _)) => Some(name),
            _ => None,
        }
    }
}

impl Item {
    /// An attribute `@name(value)`.
    pub fn attr(name: impl Into<String>, value: impl Into<Value>) -> Item {
        Item::Attr(name.into(), value.into())
    }

    /// A slot `key:value`.
    pub fn slot(key: impl Into<Value>, value: impl Into<Value>) -> Item {
        Item::Slot(key.into(), value.into())
    }

    /// A plain value item.
    pub fn value(value: impl Into<Value>) -> Item {
        Item::Value(value.into())
    }

    /// Whether this is an attribute or a slot.
    pub fn is_field(&self) -> bool {
        !matches!(self, Item::Value(_))
    }
}

impl FromStr for Value {
    type Err = Error;

    fn from_str(s: &str) -> Result<Value, Error> {
        Value::parse(s)
    }
}

impl From<i64> for Value {
    fn from(i: i64) -> Value {
        Value::Int(i)
    }
}

impl From<i32> for Value {
    fn from(i: i32) -> Value {
        Value::Int(i64::from(i))
    }
}

impl From<u64> for Value {
    /// `Int` up to `i64::MAX`, `UInt` above.
    fn from(u: u64) -> Value {
        match i64::try_from(u) {
            Ok(i) => Value::Int(i),
            Err(_) => Value::UInt(u),
        }
    }
}

impl From<u32> for Value {
    fn from(u: u32) -> Value {
        Value::Int(i64::from(u))
    }
}

impl From<f64> for Value {
    fn from(f: f64) -> Value {
        Value::Float(f)
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Value {
        Value::Bool(b)
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::Text(s.to_owned())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::Text(s)
    }
}

impl From<Vec<u8>> for Value {
    fn from(d: Vec<u8>) -> Value {
        Value::Data(d)
    }
}

impl From<BigInt> for Value {
    /// In canonical form, as [`Value::int_from_big`].
    fn from(n: BigInt) -> Value {
        Value::int_from_big(n)
    }
}

impl From<Vec<Item>> for Value {
    fn from(items: Vec<Item>) -> Value {
        Value::Record(items)
    }
}
