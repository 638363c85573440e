//! Proptest strategies for Recon [`Value`]s, shared by the round-trip and differential tests.
//!
//! A [`Profile`] says which values to generate, so that a differential test only generates what
//! the reference it runs against can represent: the Rust reference (`swimos_model`) keeps
//! attributes before other items, has no Absent, reads neither quoted attribute names nor
//! attributed slot keys, and reads a separator before `}` as one more Extant; JavaScript numbers
//! are doubles, exact only up to 2^53.
//!
//! ```
//! use conformance::arb::{value, Profile};
//! use proptest::strategy::{Strategy, ValueTree};
//! use proptest::test_runner::TestRunner;
//!
//! let mut runner = TestRunner::deterministic();
//! let v = value(Profile::RUST).new_tree(&mut runner).unwrap().current();
//! assert!(v.to_recon_string().is_ok());
//! ```

use num_bigint::{BigInt, BigUint, Sign};
use proptest::prelude::*;
use warp_proto::recon::{ident, Item, Value};

/// Which integers to generate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ints {
    /// Any `i64`, `u64` above `i64::MAX`, and big integers beyond both.
    Full,
    /// Only integers a double holds exactly: |i| < 2^53.
    JsSafe,
}

/// Which values to generate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Profile {
    /// Attributes anywhere among a record's items (Java/JS); otherwise before all other items.
    pub attrs_anywhere: bool,
    /// Attribute names of any text, including ones written quoted (Java/JS); otherwise only
    /// identifiers other than `true`/`false`.
    pub quoted_attr_names: bool,
    /// Records with attributes as slot keys (Java/JS).
    pub attributed_keys: bool,
    /// A plain Extant as the last item of a record (written `{a,,}`; Java/JS read it back, the
    /// Rust reference reads one more Extant).
    pub trailing_extant: bool,
    /// Absent inside records (written as Extant, so it reads back as Extant).
    pub nested_absent: bool,
    /// Which integers.
    pub ints: Ints,
    /// Maximum record nesting.
    pub depth: u32,
    /// Maximum items per record.
    pub max_items: usize,
}

impl Profile {
    /// Everything the value model holds (finite floats only).
    pub const ALL: Profile = Profile {
        attrs_anywhere: true,
        quoted_attr_names: true,
        attributed_keys: true,
        trailing_extant: true,
        nested_absent: true,
        ints: Ints::Full,
        depth: 4,
        max_items: 5,
    };

    /// What the Rust reference (`swimos_recon` 0.1.1) represents and reads back.
    pub const RUST: Profile = Profile {
        attrs_anywhere: false,
        quoted_attr_names: false,
        attributed_keys: false,
        trailing_extant: false,
        nested_absent: false,
        ints: Ints::Full,
        depth: 4,
        max_items: 5,
    };

    /// What the JavaScript reference (`@swim/recon` 4.0.0) represents and reads back.
    pub const JS: Profile = Profile {
        attrs_anywhere: true,
        quoted_attr_names: true,
        attributed_keys: true,
        trailing_extant: true,
        nested_absent: false,
        ints: Ints::JsSafe,
        depth: 4,
        max_items: 5,
    };
}

/// Texts weighted towards the cases a writer can get wrong: identifiers, `true`/`false`,
/// digits, the empty text, identifier characters allowed only after the start, characters
/// that are never identifiers, quotes, backslashes and control characters.
pub fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[a-zA-Z_][a-zA-Z0-9_-]{0,6}",
        1 => Just("true".to_string()),
        1 => Just("false".to_string()),
        1 => Just(String::new()),
        1 => "-?[0-9]{1,4}(\\.[0-9])?",
        2 => "[a-z_é日\u{300}\u{b7}\u{203f}\u{d7}\u{f7}\u{f0000}😀0-9 @:,{}()#$%\\[\\]-]{1,6}",
        2 => "[\"\\\\\u{0}-\u{1f}\u{7f}\u{80}\u{2028} a']{0,6}",
        1 => prop::collection::vec(any::<char>(), 0..6).prop_map(String::from_iter),
    ]
}

/// Identifiers other than `true` and `false` (texts written bare).
pub fn identifier() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[a-zA-Z_][a-zA-Z0-9_-]{0,6}",
        1 => "[a-zé日_][a-z0-9é\u{300}\u{b7}\u{203f}-]{0,4}",
    ]
    .prop_filter("bare text", |s| ident::is_bare_text(s))
}

/// Finite floats: any bit pattern, small exact fractions, and edge values.
pub fn float() -> impl Strategy<Value = f64> {
    prop_oneof![
        3 => any::<f64>().prop_filter("finite", |f| f.is_finite()),
        2 => (-4000i32..4000).prop_map(|n| f64::from(n) / 8.0),
        1 => prop::sample::select(vec![
            0.0,
            -0.0,
            1.0,
            0.1,
            1e16,
            1e21,
            1.5e-7,
            5e-324,
            f64::MAX,
            f64::MIN,
            f64::MIN_POSITIVE,
            f64::EPSILON,
        ]),
    ]
}

/// Big integers outside the `i64` and `u64` ranges (the canonical `BigInt` form).
pub fn big_int() -> impl Strategy<Value = BigInt> {
    (any::<bool>(), prop::collection::vec(any::<u32>(), 3..6)).prop_filter_map(
        "outside i64 and u64",
        |(negative, digits)| {
            let sign = if negative { Sign::Minus } else { Sign::Plus };
            let b = BigInt::from_biguint(sign, BigUint::new(digits));
            let in_range = i64::try_from(&b).is_ok() || u64::try_from(&b).is_ok();
            (!in_range).then_some(b)
        },
    )
}

/// Integers, in canonical form, within `ints`.
pub fn integer(ints: Ints) -> BoxedStrategy<Value> {
    const JS_MAX: i64 = (1 << 53) - 1;
    match ints {
        Ints::Full => prop_oneof![
            6 => any::<i64>().prop_map(Value::Int),
            2 => (-1000i64..1000).prop_map(Value::Int),
            1 => ((i64::MAX as u64 + 1)..=u64::MAX).prop_map(Value::UInt),
            1 => big_int().prop_map(Value::BigInt),
        ]
        .boxed(),
        Ints::JsSafe => prop_oneof![
            3 => (-JS_MAX..=JS_MAX).prop_map(Value::Int),
            2 => (-1000i64..1000).prop_map(Value::Int),
        ]
        .boxed(),
    }
}

/// Non-record values (Extant included, Absent only when `nested_absent`).
pub fn scalar(profile: Profile) -> BoxedStrategy<Value> {
    let absent_weight = if profile.nested_absent { 1 } else { 0 };
    prop_oneof![
        6 => text().prop_map(Value::Text),
        4 => integer(profile.ints),
        3 => float().prop_map(Value::Float),
        1 => any::<bool>().prop_map(Value::Bool),
        1 => prop::collection::vec(any::<u8>(), 0..8).prop_map(Value::Data),
        2 => Just(Value::Extant),
        absent_weight => Just(Value::Absent),
    ]
    .boxed()
}

/// Makes a generated record fit `profile`: attributes moved before other items (keeping their
/// order) unless `attrs_anywhere`, trailing Extant items dropped unless `trailing_extant`.
fn fit_record(profile: Profile, mut items: Vec<Item>) -> Value {
    if !profile.attrs_anywhere {
        let (attrs, others): (Vec<Item>, Vec<Item>) = items
            .into_iter()
            .partition(|item| matches!(item, Item::Attr(..)));
        items = attrs.into_iter().chain(others).collect();
    }
    if !profile.trailing_extant {
        while matches!(
            items.last(),
            Some(Item::Value(Value::Extant | Value::Absent))
        ) {
            items.pop();
        }
    }
    Value::Record(items)
}

/// A slot key fitting `profile`: without `attributed_keys`, a record key loses its attributes.
fn fit_key(profile: Profile, key: Value) -> Value {
    match key {
        Value::Record(items) if !profile.attributed_keys => Value::Record(
            items
                .into_iter()
                .filter(|item| !matches!(item, Item::Attr(..)))
                .collect(),
        ),
        other => other,
    }
}

/// Values of `profile`: scalars and nested records of attributes, slots and values.
pub fn value(profile: Profile) -> BoxedStrategy<Value> {
    let max_items = profile.max_items;
    scalar(profile)
        .prop_recursive(profile.depth, 64, 4, move |inner| {
            let name = if profile.quoted_attr_names {
                prop_oneof![3 => identifier(), 1 => text()].boxed()
            } else {
                identifier().boxed()
            };
            let item = prop_oneof![
                2 => (name, inner.clone()).prop_map(|(n, v)| Item::Attr(n, v)),
                2 => (inner.clone(), inner.clone())
                    .prop_map(move |(k, v)| Item::Slot(fit_key(profile, k), v)),
                3 => inner.prop_map(Item::Value),
            ];
            prop::collection::vec(item, 0..=max_items)
                .prop_map(move |items| fit_record(profile, items))
        })
        .boxed()
}

/// The value that printing `v` with the project's writer reads back as, by the Java/JS grammar
/// the project's parser follows: Extant at top level reads back as Absent, Absent nested in a
/// record reads back as Extant.
pub fn reads_back_as(v: &Value) -> Value {
    fn nested(v: &Value) -> Value {
        match v {
            Value::Absent => Value::Extant,
            Value::Record(items) => Value::Record(
                items
                    .iter()
                    .map(|item| match item {
                        Item::Attr(n, x) => Item::Attr(n.clone(), nested(x)),
                        Item::Slot(k, x) => Item::Slot(nested(k), nested(x)),
                        Item::Value(x) => Item::Value(nested(x)),
                    })
                    .collect(),
            ),
            other => other.clone(),
        }
    }
    match v {
        Value::Extant | Value::Absent => Value::Absent,
        other => nested(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::test_runner::TestRunner;

    fn sample(profile: Profile, n: usize) -> Vec<Value> {
        let mut runner = TestRunner::deterministic();
        let strategy = value(profile);
        (0..n)
            .filter_map(|_| strategy.new_tree(&mut runner).ok().map(|t| t.current()))
            .collect()
    }

    fn all_records(v: &Value, f: &mut impl FnMut(&[Item])) {
        if let Value::Record(items) = v {
            f(items);
            for item in items {
                match item {
                    Item::Attr(_, x) | Item::Value(x) => all_records(x, f),
                    Item::Slot(k, x) => {
                        all_records(k, f);
                        all_records(x, f);
                    }
                }
            }
        }
    }

    #[test]
    fn rust_profile_values_keep_attributes_first_and_no_trailing_extant() {
        let values = sample(Profile::RUST, 500);
        let mut records = 0;
        for v in &values {
            all_records(v, &mut |items| {
                records += 1;
                let first_other = items.iter().position(|i| !matches!(i, Item::Attr(..)));
                if let Some(at) = first_other {
                    assert!(!items[at..].iter().any(|i| matches!(i, Item::Attr(..))));
                }
                assert!(!matches!(items.last(), Some(Item::Value(Value::Extant))));
            });
        }
        assert!(records > 200, "only {} records generated", records);
    }

    #[test]
    fn js_profile_integers_are_exact_doubles() {
        for v in sample(Profile::JS, 500) {
            all_records(&v, &mut |items| {
                for item in items {
                    if let Item::Value(Value::Int(i)) = item {
                        assert!(i.unsigned_abs() < 1 << 53);
                    }
                    assert!(!matches!(
                        item,
                        Item::Value(Value::UInt(_) | Value::BigInt(_))
                    ));
                }
            });
        }
    }

    #[test]
    fn reads_back_as_maps_top_extant_to_absent_and_nested_absent_to_extant() {
        assert_eq!(reads_back_as(&Value::Extant), Value::Absent);
        let nested = Value::Record(vec![Item::Slot(Value::Absent, Value::Absent)]);
        assert_eq!(
            reads_back_as(&nested),
            Value::Record(vec![Item::Slot(Value::Extant, Value::Extant)])
        );
    }
}
