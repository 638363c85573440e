//! Arbitrary input never panics the reader, errors point inside the input, and whatever the
//! reader accepts is a well-formed event stream of exactly one value.
#![cfg(feature = "alloc")]

use proptest::prelude::*;
use warp_proto::recon::{Event, Reader, ReaderConfig, Value};

/// Checks the events of one document against the contract documented on [`Event`].
#[derive(Default)]
struct Contract {
    /// Per open record: does the next value complete an attribute or a slot, and may a `Slot`
    /// come now (the last item was a plain value).
    open: Vec<(bool, bool)>,
    done: bool,
    seen: usize,
}

impl Contract {
    fn value_done(&mut self) -> Result<(), String> {
        match self.open.last_mut() {
            None => self.done = true,
            Some((waiting, key_ok)) => {
                *key_ok = !*waiting;
                *waiting = false;
            }
        }
        Ok(())
    }

    fn feed(&mut self, event: &Event<'_>) -> Result<(), String> {
        if self.done {
            return Err(format!("{event:?} after the document's value"));
        }
        self.seen += 1;
        match event {
            Event::StartRecord => {
                if let Some((_, key_ok)) = self.open.last_mut() {
                    *key_ok = false;
                }
                self.open.push((false, false));
                Ok(())
            }
            Event::EndRecord => match self.open.pop() {
                Some((false, _)) => self.value_done(),
                Some((true, _)) => Err("EndRecord while a value is due".into()),
                None => Err("EndRecord outside a record".into()),
            },
            Event::Attr(_) => match self.open.last_mut() {
                Some((waiting @ false, key_ok)) => {
                    *waiting = true;
                    *key_ok = false;
                    Ok(())
                }
                _ => Err("Attr outside a record or while a value is due".into()),
            },
            Event::Slot => match self.open.last_mut() {
                Some((waiting @ false, key_ok @ true)) => {
                    *waiting = true;
                    *key_ok = false;
                    Ok(())
                }
                _ => Err("Slot without a key".into()),
            },
            Event::Absent => {
                if self.seen == 1 {
                    self.done = true;
                    Ok(())
                } else {
                    Err("Absent inside a document".into())
                }
            }
            _ => self.value_done(),
        }
    }
}

/// Runs a reader to its end; panics (failing the property) on a contract breach.
fn drive(input: &str, mut reader: Reader<'_>) {
    let mut contract = Contract::default();
    let mut steps = 0usize;
    loop {
        steps += 1;
        assert!(steps <= 4 * input.len() + 16, "no progress on {input:?}");
        match reader.next_event() {
            Ok(Some(event)) => {
                if let Err(why) = contract.feed(&event) {
                    panic!("{why} on {input:?}");
                }
            }
            Ok(None) => {
                assert!(contract.done, "early end on {input:?}");
                assert_eq!(reader.next_event(), Ok(None));
                break;
            }
            Err(e) => {
                assert!(e.offset <= input.len(), "offset {} on {input:?}", e.offset);
                let _ = e.to_string();
                assert_eq!(
                    reader.next_event(),
                    Err(e),
                    "error not repeated on {input:?}"
                );
                assert!(reader.next().is_none());
                break;
            }
        }
    }
}

fn check(input: &str) {
    drive(input, Reader::new(input));
    drive(input, Reader::for_record_body(input));
    drive(
        input,
        Reader::with_config(input, ReaderConfig::default().with_max_depth(3)),
    );
    // `Value::parse` reads without the document lookahead; it must agree with building from
    // an ordinary reader.
    let eager = {
        let mut r = Reader::new(input);
        Value::from_reader(&mut r).and_then(|v| match r.next_event() {
            Ok(None) => Ok(v),
            Ok(Some(e)) => panic!("{e:?} after the value on {input:?}"),
            Err(e) => Err(e),
        })
    };
    match Value::parse(input) {
        Ok(v) => assert_eq!(eager.as_ref().ok(), Some(&v), "on {input:?}"),
        Err(e) => {
            assert!(e.offset <= input.len());
            assert!(
                eager.is_err(),
                "only the lazy parse failed on {input:?}: {e}"
            );
        }
    }
    if let Err(e) = Value::parse_body(input) {
        assert!(e.offset <= input.len());
    }
    let bytes = input.as_bytes();
    for cut in [bytes.len() / 2, bytes.len().saturating_sub(1)] {
        match Reader::from_bytes(&bytes[..cut]) {
            Ok(r) => drive(input, r),
            Err(e) => assert!(e.offset <= cut),
        }
    }
}

/// Valid documents the mutations start from.
const SEEDS: &[&str] = &[
    "@event(node:\"/unit/1\",lane:info)@update(key:\"k1\"){temp:21.5,name:\"abc\",ok:true}",
    "{a:1,b:{c:[x{y}z],d:%AQ==},e:`raw`,f:```r\nw```}",
    "first: 3,\nsecond: 'hello',\n@name(7) { 1, 2, 3},\ntrue # end",
    "[hello @b[world] {x:1} \\[esc\\]]",
    "@a(@b(@c(x:{y:-1.5e3,z:0xff})))",
    "{a,,b;\n,:\n}",
    "1 @a {2} @b(\"q\\u00e9\\\"\") 3",
    "\"\\uD83D\\uDE00\" @x",
    "{@a:1,{b}:2,[c]:3}",
    "123456789012345678901234567890",
];

fn interesting_char() -> impl Strategy<Value = char> {
    prop_oneof![
        3 => proptest::sample::select(vec![
            '{', '}', '[', ']', '(', ')', '@', ':', ',', ';', '\n', '\r', ' ', '\t', '#', '"',
            '\'', '`', '\\', '%', '-', '+', '.', 'e', 'x', '0', '1', '9', 'a', '=', '$', '!',
            'u', '/', '\u{0}', '\u{1}', '\u{e9}', '\u{d7}', '\u{1F600}', '\u{300}',
        ]),
        1 => any::<char>(),
    ]
}

#[derive(Clone, Debug)]
enum Edit {
    Insert(usize, char),
    Delete(usize),
    Replace(usize, char),
    Duplicate(usize, usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<usize>(), interesting_char()).prop_map(|(i, c)| Edit::Insert(i, c)),
        any::<usize>().prop_map(Edit::Delete),
        (any::<usize>(), interesting_char()).prop_map(|(i, c)| Edit::Replace(i, c)),
        (any::<usize>(), 0usize..8).prop_map(|(i, n)| Edit::Duplicate(i, n)),
    ]
}

fn apply(seed: &str, edits: &[Edit]) -> String {
    let mut chars: Vec<char> = seed.chars().collect();
    for e in edits {
        let n = chars.len();
        match *e {
            Edit::Insert(i, c) => chars.insert(i % (n + 1), c),
            Edit::Delete(i) if n > 0 => {
                chars.remove(i % n);
            }
            Edit::Replace(i, c) if n > 0 => chars[i % n] = c,
            Edit::Duplicate(i, len) if n > 0 => {
                let from = i % n;
                let to = (from + len).min(n);
                let copy: Vec<char> = chars[from..to].to_vec();
                for (k, c) in copy.into_iter().enumerate() {
                    chars.insert(to + k, c);
                }
            }
            _ => {}
        }
    }
    chars.into_iter().collect()
}

proptest! {
    // At least 3000 cases; more with PROPTEST_CASES.
    #![proptest_config(ProptestConfig {
        cases: ProptestConfig::default().cases.max(3000),
        ..ProptestConfig::default()
    })]

    #[test]
    fn arbitrary_strings_never_panic(s in any::<String>()) {
        check(&s);
    }

    #[test]
    fn strings_of_recon_characters_never_panic(
        s in proptest::collection::vec(interesting_char(), 0..40)
            .prop_map(|v| v.into_iter().collect::<String>())
    ) {
        check(&s);
    }

    #[test]
    fn mutations_of_valid_recon_never_panic(
        seed in proptest::sample::select(SEEDS.to_vec()),
        edits in proptest::collection::vec(edit(), 1..6),
    ) {
        check(&apply(seed, &edits));
    }
}

#[test]
fn the_seeds_are_valid() {
    for seed in SEEDS {
        Value::parse(seed).unwrap_or_else(|e| panic!("{seed:?}: {e}"));
        check(seed);
    }
}

#[test]
fn deep_and_long_inputs_stay_cheap() {
    // Nested argument blocks make every level scan the rest: bounded by depth x length.
    let nested_args = "@a(".repeat(60) + &"1".repeat(100_000) + &")".repeat(60);
    check(&nested_args);
    let wide = "{".to_string() + &"a:1,".repeat(50_000) + "}";
    check(&wide);
    let unclosed = "[".repeat(10_000) + &"\"".repeat(10_000);
    check(&unclosed);
}
