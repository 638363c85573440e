//! `recon_reader` and `recon_value`: the pull reader's contract, and the owned value's
//! print/parse round trip and agreement with the reader.

use warp_proto::recon::{Error, ErrorKind, Event, Item, Reader, ReaderConfig, Value};

/// Checks the events of one document against the contract documented on [`Event`]: exactly
/// one value; records balanced; an attribute or a slot followed by exactly one value; a slot
/// only after a plain value; `Absent` only as the whole of an empty document.
#[derive(Default)]
struct Contract {
    /// Per open record: is a value due (after `Attr` or `Slot`), and may a `Slot` come now.
    open: Vec<(bool, bool)>,
    done: bool,
    seen: usize,
}

impl Contract {
    fn value_done(&mut self) {
        match self.open.last_mut() {
            None => self.done = true,
            Some((due, slot_ok)) => {
                *slot_ok = !*due;
                *due = false;
            }
        }
    }

    fn feed(&mut self, event: &Event<'_>) -> Result<(), &'static str> {
        if self.done {
            return Err("an event after the document's value");
        }
        self.seen += 1;
        match event {
            Event::StartRecord => {
                self.open.push((false, false));
                Ok(())
            }
            Event::EndRecord => match self.open.pop() {
                Some((false, _)) => {
                    self.value_done();
                    Ok(())
                }
                Some((true, _)) => Err("EndRecord while a value is due"),
                None => Err("EndRecord without StartRecord"),
            },
            Event::Attr(_) => match self.open.last_mut() {
                Some((due @ false, slot_ok)) => {
                    *due = true;
                    *slot_ok = false;
                    Ok(())
                }
                _ => Err("Attr outside a record or while a value is due"),
            },
            Event::Slot => match self.open.last_mut() {
                Some((due @ false, slot_ok @ true)) => {
                    *due = true;
                    *slot_ok = false;
                    Ok(())
                }
                _ => Err("Slot without a key"),
            },
            Event::Absent if self.seen == 1 => {
                self.done = true;
                Ok(())
            }
            Event::Absent => Err("Absent inside a document"),
            _ => {
                self.value_done();
                Ok(())
            }
        }
    }
}

/// Checks an error of a reader over `input`: inside the input, on a character boundary.
fn check_error(input: &str, e: &Error) {
    assert!(
        e.offset <= input.len() && input.is_char_boundary(e.offset),
        "error offset {} outside the input or inside a character: {e} on {input:?}",
        e.offset
    );
    assert!(!e.to_string().is_empty());
}

/// Checks the views an event carries: texts and data decode the same every way.
fn check_event(input: &str, event: &Event<'_>) {
    match event {
        Event::Text(t) | Event::Attr(t) => {
            let decoded: String = t.chars().collect();
            assert_eq!(t.decoded_len(), decoded.len(), "decoded_len on {input:?}");
            let mut buf = vec![0u8; decoded.len()];
            assert_eq!(t.decode_into(&mut buf), Ok(decoded.as_str()));
            assert!(t.eq_str(&decoded));
            if !decoded.is_empty() {
                let mut short = vec![0u8; decoded.len() - 1];
                assert_eq!(t.decode_into(&mut short), Err(decoded.len()));
            }
            if !t.is_escaped() {
                assert_eq!(t.as_str(), Some(t.raw()));
                assert_eq!(t.raw(), decoded);
            }
            assert!(input.contains(t.raw()), "text not borrowed from {input:?}");
        }
        Event::Data(d) => {
            let bytes = d.to_vec();
            assert_eq!(d.decoded_len(), bytes.len(), "data length on {input:?}");
            let mut buf = vec![0u8; bytes.len()];
            assert_eq!(d.decode_into(&mut buf).ok(), Some(bytes.as_slice()));
        }
        _ => {}
    }
}

/// Runs `reader` over `input` to its end, checking the event contract, progress, positions
/// and errors. Returns the events, or the error that ended them.
fn drive<'a>(input: &'a str, mut reader: Reader<'a>) -> Result<Vec<Event<'a>>, Error> {
    let mut contract = Contract::default();
    let mut events = Vec::new();
    // Every event but an attribute's implied Extant and the closing EndRecords consumes
    // input; a reader past this bound is looping.
    let bound = 4 * input.len() + 16;
    loop {
        assert!(
            events.len() <= bound,
            "reader does not terminate on {input:?}"
        );
        let at = Reader::position(&reader);
        assert!(
            at <= input.len() && input.is_char_boundary(at),
            "position {at} on {input:?}"
        );
        match reader.next_event() {
            Ok(Some(event)) => {
                if let Err(why) = contract.feed(&event) {
                    panic!("{why}: {event:?} after {events:?} on {input:?}");
                }
                check_event(input, &event);
                events.push(event);
            }
            Ok(None) => {
                assert!(
                    contract.done,
                    "document ended early after {events:?} on {input:?}"
                );
                assert_eq!(
                    reader.next_event(),
                    Ok(None),
                    "end not repeated on {input:?}"
                );
                return Ok(events);
            }
            Err(e) => {
                check_error(input, &e);
                assert_eq!(
                    reader.next_event(),
                    Err(e),
                    "error not repeated on {input:?}"
                );
                assert!(reader.next().is_none(), "iterator not fused on {input:?}");
                return Err(e);
            }
        }
    }
}

/// `recon_reader`: arbitrary bytes through the pull reader, as a document, as an envelope body
/// and with a small depth limit.
pub fn recon_reader(data: &[u8]) {
    let input = match Reader::from_bytes(data) {
        Ok(_) => match core::str::from_utf8(data) {
            Ok(text) => text,
            Err(_) => panic!("Reader::from_bytes accepted invalid UTF-8 {data:?}"),
        },
        Err(e) => {
            let Err(bad) = core::str::from_utf8(data) else {
                panic!("Reader::from_bytes refused valid UTF-8 {data:?}: {e}");
            };
            assert_eq!(
                (e.kind, e.offset),
                (ErrorKind::InvalidUtf8, bad.valid_up_to())
            );
            // Read the valid prefix instead.
            core::str::from_utf8(&data[..bad.valid_up_to()]).unwrap_or_default()
        }
    };
    let events = drive(input, Reader::new(input));
    let shallow = drive(
        input,
        Reader::with_config(input, ReaderConfig::default().with_max_depth(2)),
    );
    // A depth limit only ever refuses more.
    if let Ok(shallow) = &shallow {
        assert_eq!(
            events.as_ref().ok(),
            Some(shallow),
            "depth limit on {input:?}"
        );
    }
    if let (Ok(_), Err(e)) = (&events, &shallow) {
        assert_eq!(
            e.kind,
            ErrorKind::DepthExceeded { limit: 2 },
            "on {input:?}"
        );
    }
    // skip_value reads exactly the document's one value.
    let mut skipper = Reader::new(input);
    match (&events, skipper.skip_value()) {
        (Ok(_), Ok(())) => assert_eq!(skipper.next_event(), Ok(None), "on {input:?}"),
        (Ok(_), Err(e)) => panic!("skip_value failed on a valid document {input:?}: {e}"),
        (Err(_), _) => {}
    }
    let _ = drive(input, Reader::for_record_body(input));
}

/// `recon_value`: `Value::parse` agrees with the pull reader, and what it parses prints and
/// parses back to the same value.
pub fn recon_value(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let input: &str = &text;

    let parsed = Value::parse(input);
    let pulled = drive(input, Reader::new(input));
    match (&parsed, &pulled) {
        (Ok(_), Ok(_)) | (Err(_), Err(_)) => {}
        (Ok(v), Err(e)) => panic!("Value::parse accepted {input:?} as {v:?}; the reader: {e}"),
        (Err(e), Ok(_)) => panic!("Value::parse refused {input:?} ({e}); the reader accepts it"),
    }
    if let Err(e) = &parsed {
        check_error(input, e);
    }
    let body = Value::parse_body(input);
    let pulled_body = drive(input, Reader::for_record_body(input));
    assert_eq!(
        body.is_ok(),
        pulled_body.is_ok(),
        "Value::parse_body and the body reader disagree on {input:?}: {body:?}"
    );
    if let Err(e) = &body {
        check_error(input, e);
    }
    if let Ok(v) = &parsed {
        round_trip(input, v);
    }
    if let Ok(v) = &body {
        round_trip(input, v);
    }
}

/// Whether `v` holds a NaN or infinite float (which the writer refuses).
fn has_non_finite(v: &Value) -> bool {
    match v {
        Value::Float(f) => !f.is_finite(),
        Value::Record(items) => items.iter().any(|item| match item {
            Item::Attr(_, v) | Item::Value(v) => has_non_finite(v),
            Item::Slot(k, v) => has_non_finite(k) || has_non_finite(v),
        }),
        _ => false,
    }
}

/// Print, parse back, compare; the printed text is a fixed point of printing.
fn round_trip(input: &str, v: &Value) {
    let printed = match v.to_recon_string() {
        Ok(s) => s,
        Err(e) => {
            assert_eq!(
                e.kind,
                ErrorKind::NonFiniteFloat,
                "printing {v:?} from {input:?}"
            );
            assert!(has_non_finite(v), "NonFiniteFloat without one in {v:?}");
            return;
        }
    };
    assert!(
        !has_non_finite(v),
        "a non-finite float printed: {printed:?}"
    );
    assert_eq!(
        format!("{v}"),
        printed,
        "Display differs from to_recon_string"
    );
    let mut buf = vec![0u8; printed.len()];
    assert_eq!(v.write_to_slice(&mut buf), Ok(printed.len()));
    assert_eq!(buf, printed.as_bytes());
    if !printed.is_empty() {
        let mut short = vec![0u8; printed.len() - 1];
        let e = v
            .write_to_slice(&mut short)
            .expect_err("printed into a short buffer");
        assert!(
            matches!(e.kind, ErrorKind::BufferTooSmall { required } if required == 0 || required >= printed.len()),
            "{e:?} for {printed:?}"
        );
    }
    let back = match Value::parse(&printed) {
        Ok(back) => back,
        Err(e) => {
            panic!("printed {v:?} (from {input:?}) as {printed:?}, which does not parse: {e}")
        }
    };
    // Extant has no text of its own: it prints as nothing, which reads as Absent.
    let expected = match v {
        Value::Extant => &Value::Absent,
        v => v,
    };
    assert_eq!(
        &back, expected,
        "{input:?} parsed to {v:?}, printed as {printed:?}, read back differently"
    );
    assert_eq!(
        back.to_recon_string().ok().as_deref(),
        Some(printed.as_str()),
        "printing is not a fixed point for {input:?}"
    );
}
