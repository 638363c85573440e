//! A total order on [`Value`]s, so that map lanes can keep their entries in a `BTreeMap`.
//!
//! Values of different kinds order as Absent < Extant < Bool < numbers < Text < Data < Record.
//! Numbers order by magnitude across `Int`, `UInt`, `BigInt` and `Float` (an integer before a
//! float of the same `f64` value, so `1` and `1.0` stay distinct keys, as they are distinct
//! values); texts and data byte-wise; records item by item. Two values are the same key exactly
//! when they are equal values (except `0.0` and `-0.0`, which are distinct keys).

use core::cmp::Ordering;

use num_bigint::BigInt;

use crate::recon::{Item, Value};

/// A map lane key: a value ordered by [`cmp_values`].
#[derive(Clone, Debug)]
pub(crate) struct Key(pub(crate) Value);

impl PartialEq for Key {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Key {}

impl PartialOrd for Key {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Key {
    fn cmp(&self, other: &Self) -> Ordering {
        cmp_values(&self.0, &other.0)
    }
}

/// The rank of a value's kind.
fn class(v: &Value) -> u8 {
    match v {
        Value::Absent => 0,
        Value::Extant => 1,
        Value::Bool(_) => 2,
        Value::Int(_) | Value::UInt(_) | Value::BigInt(_) | Value::Float(_) => 3,
        Value::Text(_) => 4,
        Value::Data(_) => 5,
        Value::Record(_) => 6,
    }
}

/// The total order described in the module docs.
pub(crate) fn cmp_values(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        (Value::Text(x), Value::Text(y)) => x.cmp(y),
        (Value::Data(x), Value::Data(y)) => x.cmp(y),
        (Value::Record(x), Value::Record(y)) => cmp_items(x, y),
        _ => match (class(a), class(b)) {
            (3, 3) => cmp_numbers(a, b),
            (x, y) => x.cmp(&y),
        },
    }
}

fn cmp_items(a: &[Item], b: &[Item]) -> Ordering {
    for (x, y) in a.iter().zip(b) {
        let order = match (x, y) {
            (Item::Attr(n, v), Item::Attr(m, w)) => n.cmp(m).then_with(|| cmp_values(v, w)),
            (Item::Slot(k, v), Item::Slot(l, w)) => cmp_values(k, l).then_with(|| cmp_values(v, w)),
            (Item::Value(v), Item::Value(w)) => cmp_values(v, w),
            _ => item_rank(x).cmp(&item_rank(y)),
        };
        if order != Ordering::Equal {
            return order;
        }
    }
    a.len().cmp(&b.len())
}

fn item_rank(item: &Item) -> u8 {
    match item {
        Item::Attr(..) => 0,
        Item::Slot(..) => 1,
        Item::Value(_) => 2,
    }
}

/// An integer value as a big integer (`None` for a float or a non-number).
fn big(v: &Value) -> Option<BigInt> {
    match v {
        Value::Int(i) => Some(BigInt::from(*i)),
        Value::UInt(u) => Some(BigInt::from(*u)),
        Value::BigInt(b) => Some(b.clone()),
        _ => None,
    }
}

/// A number's `f64` approximation (monotone in the exact value).
fn approx(v: &Value) -> f64 {
    match v {
        Value::Float(f) => *f,
        Value::BigInt(b) => v
            .as_f64()
            .unwrap_or(if b.sign() == num_bigint::Sign::Minus {
                f64::NEG_INFINITY
            } else {
                f64::INFINITY
            }),
        other => other.as_f64().unwrap_or(0.0),
    }
}

/// Numbers: exact between integers; otherwise by `f64` value, then integers before floats.
/// Equivalent to ordering by (approximation, is float, exact value), a total order because the
/// approximation never decreases as the exact value grows.
fn cmp_numbers(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::Int(x), Value::Int(y)) => x.cmp(y),
        (Value::UInt(x), Value::UInt(y)) => x.cmp(y),
        (Value::Int(x), Value::UInt(y)) => i128::from(*x).cmp(&i128::from(*y)),
        (Value::UInt(x), Value::Int(y)) => i128::from(*x).cmp(&i128::from(*y)),
        (Value::Float(x), Value::Float(y)) => x.total_cmp(y),
        _ => match (big(a), big(b)) {
            (Some(x), Some(y)) => x.cmp(&y),
            _ => {
                let float = |v: &Value| matches!(v, Value::Float(_));
                approx(a)
                    .total_cmp(&approx(b))
                    .then_with(|| float(a).cmp(&float(b)))
            }
        },
    }
}
