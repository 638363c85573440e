//! The three deterministic corpora of WARP frames.
//!
//! - **S**: 10,000 small envelopes of 40–100 bytes: `link`, `sync`, `linked`, `synced`,
//!   `command` and `event`, with short bodies (none, a number, a word, a string, a small record,
//!   an argument-less attribute).
//! - **M**: 2,000 map-lane updates `@event(node:…,lane:…)@update(key:"…"){…}` whose record has
//!   5–15 slots (text with escapes, numbers, Bools, small nested records), about 400 bytes.
//! - **L**: 24 events each carrying 500–900 nested `@reading(id:…,ts:…){…}` records, 50–90 KB.
//!
//! Every corpus comes from a fixed-seed [`XorShift`], so every run reads the same bytes.

use crate::doc::{Doc, DocItem};

/// A tiny xorshift64* pseudo-random generator (deterministic, not for anything but test data).
#[derive(Clone, Debug)]
pub struct XorShift(u64);

impl XorShift {
    /// A generator from `seed` (0 is replaced by a fixed non-zero constant).
    pub fn new(seed: u64) -> Self {
        XorShift(if seed == 0 {
            0x9E37_79B9_7F4A_7C15
        } else {
            seed
        })
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `lo..=hi` (`lo` when `hi < lo`).
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        let span = hi.saturating_sub(lo).saturating_add(1);
        lo + self.next_u64() % span
    }

    /// An index below `n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % (n.max(1) as u64)) as usize
    }

    /// One element of `items` (which must not be empty).
    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }

    /// `true` with probability `percent`/100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.next_u64() % 100 < percent
    }

    /// A float with `decimals` decimals in `lo..=hi` (in hundredths etc.), e.g. `21.53`.
    pub fn decimal(&mut self, lo: i64, hi: i64, decimals: u32) -> f64 {
        let scale = 10i64.pow(decimals);
        let span = (hi - lo) * scale;
        let v = lo * scale + self.range(0, span as u64) as i64;
        v as f64 / scale as f64
    }
}

/// One corpus: frames as Recon text, the same content as JSON, and the logical trees.
#[derive(Clone, Debug)]
pub struct Corpus {
    /// `S`, `M` or `L`.
    pub name: &'static str,
    /// The logical content of each frame.
    pub docs: Vec<Doc>,
    /// Each frame as Recon text (what a WARP peer sends).
    pub frames: Vec<String>,
    /// Each frame rendered as JSON (see [`crate::doc`]).
    pub json: Vec<String>,
}

impl Corpus {
    fn from_docs(name: &'static str, docs: Vec<Doc>) -> Corpus {
        let frames = docs.iter().map(Doc::to_recon).collect();
        let json = docs.iter().map(Doc::to_json).collect();
        Corpus {
            name,
            docs,
            frames,
            json,
        }
    }

    /// Total bytes of the Recon frames.
    pub fn recon_bytes(&self) -> usize {
        self.frames.iter().map(String::len).sum()
    }

    /// Total bytes of the JSON frames.
    pub fn json_bytes(&self) -> usize {
        self.json.iter().map(String::len).sum()
    }

    /// Smallest and largest Recon frame, in bytes.
    pub fn frame_size_range(&self) -> (usize, usize) {
        let min = self.frames.iter().map(String::len).min().unwrap_or(0);
        let max = self.frames.iter().map(String::len).max().unwrap_or(0);
        (min, max)
    }
}

/// The three corpora, S, M and L.
pub fn all() -> Vec<Corpus> {
    vec![small(), medium(), large()]
}

/// Number of frames of corpus S.
pub const S_FRAMES: usize = 10_000;
/// Number of frames of corpus M.
pub const M_FRAMES: usize = 2_000;
/// Number of frames of corpus L.
pub const L_FRAMES: usize = 24;

fn slot(k: &str, v: Doc) -> DocItem {
    DocItem::Slot(k.into(), v)
}

fn attr(name: &str, v: Doc) -> DocItem {
    DocItem::Attr(name.into(), v)
}

fn header(tag: &str, node: String, lane: &str, extra: Vec<DocItem>) -> DocItem {
    let mut args = vec![slot("node", Doc::Text(node)), slot("lane", Doc::text(lane))];
    args.extend(extra);
    attr(tag, Doc::Record(args))
}

const LANES: [&str; 10] = [
    "info",
    "status",
    "temperature",
    "lights",
    "history",
    "config",
    "users",
    "alerts",
    "latest",
    "metrics",
];

const WORDS: [&str; 12] = [
    "on", "off", "open", "closed", "idle", "busy", "ok", "warning", "alarm", "north", "south",
    "auto",
];

fn node_uri(rng: &mut XorShift) -> String {
    match rng.below(4) {
        0 => format!("/unit/{}", rng.range(1, 500)),
        1 => format!("/sensors/{}", rng.range(1, 9999)),
        2 => format!("/house/room{}", rng.range(1, 40)),
        _ => format!("/building/{}/floor/{}", rng.range(1, 9), rng.range(1, 30)),
    }
}

fn small_body(rng: &mut XorShift) -> Vec<DocItem> {
    match rng.below(10) {
        0 => vec![DocItem::Value(Doc::Int(
            rng.range(0, 100_000) as i64 - 50_000,
        ))],
        1 => vec![DocItem::Value(Doc::Float(rng.decimal(-40, 120, 2)))],
        2 => vec![DocItem::Value(Doc::text(rng.pick(&WORDS)))],
        3 => vec![DocItem::Value(Doc::Text(format!(
            "{} {}",
            rng.pick(&WORDS),
            rng.range(1, 99)
        )))],
        4 => vec![
            slot("x", Doc::Int(rng.range(0, 999) as i64)),
            slot("y", Doc::Int(rng.range(0, 999) as i64)),
        ],
        5 => vec![attr(rng.pick(&["toggle", "reset", "refresh"]), Doc::Extant)],
        6 => vec![
            slot("lat", Doc::Float(rng.decimal(-90, 90, 4))),
            slot("lng", Doc::Float(rng.decimal(-180, 180, 4))),
            slot("alt", Doc::Int(rng.range(0, 3000) as i64)),
        ],
        7 => vec![attr(
            "set",
            Doc::Record(vec![
                slot("level", Doc::Float(rng.decimal(0, 1, 2))),
                slot("fade", Doc::Int(rng.range(0, 500) as i64)),
            ]),
        )],
        8 => vec![DocItem::Value(Doc::Text(format!(
            "{} {} {}, {} {}",
            rng.pick(&WORDS),
            rng.pick(&WORDS),
            rng.pick(&WORDS),
            rng.pick(&WORDS),
            rng.range(1, 99)
        )))],
        _ => vec![slot(rng.pick(&WORDS), Doc::Bool(rng.chance(50)))],
    }
}

fn small_frame(rng: &mut XorShift) -> Doc {
    let tag = rng.pick(&["link", "sync", "linked", "synced", "command", "event"]);
    let node = node_uri(rng);
    let lane = rng.pick(&LANES);
    let mut extra = Vec::new();
    if matches!(tag, "link" | "sync" | "linked") && rng.chance(30) {
        extra.push(slot("prio", Doc::Float(rng.decimal(0, 1, 1))));
        extra.push(slot("rate", Doc::Float(rng.decimal(1, 60, 0))));
    }
    let mut items = vec![header(tag, node, lane, extra)];
    if matches!(tag, "command" | "event") {
        items.extend(small_body(rng));
    }
    Doc::Record(items)
}

/// Corpus S: 10,000 small envelopes of 40–100 bytes.
pub fn small() -> Corpus {
    let mut rng = XorShift::new(0x5EED_0001);
    let mut docs = Vec::with_capacity(S_FRAMES);
    while docs.len() < S_FRAMES {
        let doc = small_frame(&mut rng);
        let len = doc.to_recon().len();
        if (40..=100).contains(&len) {
            docs.push(doc);
        }
    }
    Corpus::from_docs("S", docs)
}

const PRODUCT_WORDS: [&str; 10] = [
    "Widget", "Gadget", "Sprocket", "Bracket", "Valve", "Sensor", "Relay", "Cable", "Fuse", "Lamp",
];

const DESCRIPTION_WORDS: [&str; 16] = [
    "heavy",
    "duty",
    "stainless",
    "steel",
    "bracket",
    "for",
    "outdoor",
    "mounting",
    "with",
    "zinc",
    "coating",
    "and",
    "two",
    "spare",
    "bolts",
    "included",
];

fn sentence(rng: &mut XorShift, words: usize) -> String {
    let mut s = String::new();
    for i in 0..words {
        if i > 0 {
            s.push(' ');
        }
        s.push_str(rng.pick(&DESCRIPTION_WORDS));
    }
    s
}

fn medium_slot(rng: &mut XorShift, index: usize) -> DocItem {
    match index {
        0 => slot(
            "name",
            Doc::Text(if rng.chance(40) {
                format!(
                    "{} \"{}\" {}",
                    rng.pick(&PRODUCT_WORDS),
                    rng.pick(&["Pro", "Max", "Lite"]),
                    rng.range(100, 9999)
                )
            } else {
                format!("{} {}", rng.pick(&PRODUCT_WORDS), rng.range(100, 9999))
            }),
        ),
        1 => slot("qty", Doc::Int(rng.range(0, 5000) as i64)),
        2 => {
            let words = rng.range(12, 18) as usize;
            slot("description", Doc::Text(sentence(rng, words)))
        }
        3 => slot("price", Doc::Float(rng.decimal(0, 999, 2))),
        4 => slot("active", Doc::Bool(rng.chance(80))),
        5 => slot(
            "note",
            Doc::Text(format!(
                "checked by {} on shift {}; {}",
                rng.pick(&["ana", "bo", "chen", "dee"]),
                rng.range(1, 3),
                rng.pick(&[
                    "no damage",
                    "box dented",
                    "label \"faded\"",
                    "recount needed"
                ])
            )),
        ),
        6 => slot(
            "supplier",
            Doc::text(rng.pick(&[
                "Acme Café",
                "Nordic Parts AB",
                "Müller & Söhne",
                "Tab\tSeparated Ltd",
                "C:\\parts\\inbox",
            ])),
        ),
        7 => slot(
            "location",
            Doc::Text(format!(
                "aisle {}\nshelf {}",
                rng.range(1, 40),
                rng.pick(&["A", "B", "C", "D"])
            )),
        ),
        8 => slot(
            "dims",
            Doc::Record(vec![
                slot("w", Doc::Float(rng.decimal(1, 99, 1))),
                slot("h", Doc::Float(rng.decimal(1, 99, 2))),
                slot("d", Doc::Int(rng.range(1, 99) as i64)),
                slot("unit", Doc::text("cm")),
            ]),
        ),
        9 => slot(
            "updated",
            Doc::Int(1_700_000_000_000 + rng.range(0, 99_999_999) as i64),
        ),
        10 => slot(
            "tags",
            Doc::Record(
                (0..rng.range(2, 5))
                    .map(|_| DocItem::Value(Doc::text(rng.pick(&WORDS))))
                    .collect(),
            ),
        ),
        11 => slot("status", Doc::text(rng.pick(&WORDS))),
        12 => slot("reorderLevel", Doc::Int(rng.range(0, 500) as i64)),
        13 => slot("weightKg", Doc::Float(rng.decimal(0, 250, 3))),
        _ => slot("hazardous", Doc::Bool(rng.chance(5))),
    }
}

fn medium_frame(rng: &mut XorShift) -> Doc {
    let node = format!(
        "/warehouse/w{}/aisle/{}/bin/{}",
        rng.range(1, 20),
        rng.range(1, 40),
        rng.range(1, 999)
    );
    let lane = rng.pick(&["inventory", "stock", "orders"]);
    let key = format!("sku-{:05}", rng.range(0, 99_999));
    let mut items = vec![
        header("event", node, lane, Vec::new()),
        attr("update", Doc::Record(vec![slot("key", Doc::Text(key))])),
    ];
    let n = rng.range(5, 15) as usize;
    items.extend((0..n).map(|i| medium_slot(rng, i)));
    Doc::Record(items)
}

/// Corpus M: 2,000 map updates with 5–15 slots, about 400 bytes each.
pub fn medium() -> Corpus {
    let mut rng = XorShift::new(0x5EED_0002);
    let docs = (0..M_FRAMES).map(|_| medium_frame(&mut rng)).collect();
    Corpus::from_docs("M", docs)
}

fn reading(rng: &mut XorShift, id: i64, ts: i64) -> Doc {
    let mut items = vec![
        attr(
            "reading",
            Doc::Record(vec![slot("id", Doc::Int(id)), slot("ts", Doc::Int(ts))]),
        ),
        slot("temp", Doc::Float(rng.decimal(-20, 45, 2))),
        slot("hum", Doc::Float(rng.decimal(0, 99, 1))),
        slot("ok", Doc::Bool(rng.chance(95))),
        slot(
            "pos",
            Doc::Record(vec![
                slot("x", Doc::Float(rng.decimal(0, 500, 2))),
                slot("y", Doc::Float(rng.decimal(0, 500, 2))),
            ]),
        ),
    ];
    if rng.chance(10) {
        items.push(slot(
            "status",
            Doc::text(rng.pick(&["drift detected", "recalibrated", "battery low"])),
        ));
    } else {
        items.push(slot("status", Doc::text(rng.pick(&WORDS))));
    }
    Doc::Record(items)
}

fn large_frame(rng: &mut XorShift) -> Doc {
    let target = rng.range(50_000, 89_000) as usize;
    let node = format!("/sensors/array{}", rng.range(1, 64));
    let mut items = vec![header("event", node, "history", Vec::new())];
    let mut len = 40;
    let mut ts = 1_700_000_000_000 + rng.range(0, 1_000_000) as i64;
    let mut id = 0;
    while len < target {
        id += 1;
        ts += rng.range(900, 1100) as i64;
        let r = reading(rng, id, ts);
        len += r.to_recon().len() + 1;
        items.push(DocItem::Value(r));
    }
    Doc::Record(items)
}

/// Corpus L: 24 events of 500–900 `@reading` records, 50–90 KB each.
pub fn large() -> Corpus {
    let mut rng = XorShift::new(0x5EED_0003);
    let docs = (0..L_FRAMES).map(|_| large_frame(&mut rng)).collect();
    Corpus::from_docs("L", docs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corpora_have_the_promised_shape() {
        let s = small();
        assert_eq!(s.frames.len(), S_FRAMES);
        let (lo, hi) = s.frame_size_range();
        assert!(lo >= 40 && hi <= 100, "S sizes {lo}..{hi}");

        let m = medium();
        assert_eq!(m.frames.len(), M_FRAMES);
        let avg = m.recon_bytes() / m.frames.len();
        assert!((300..=500).contains(&avg), "M average {avg}");
        assert!(m.frames.iter().any(|f| f.contains("\\\"")));
        assert!(m.frames.iter().any(|f| f.contains("\\n")));

        let l = large();
        assert_eq!(l.frames.len(), L_FRAMES);
        let (lo, hi) = l.frame_size_range();
        assert!(lo >= 50_000 && hi <= 90_000, "L sizes {lo}..{hi}");
        for doc in &l.docs {
            let Doc::Record(items) = doc else {
                panic!("L frame is not a record")
            };
            let readings = items.len() - 1;
            assert!((500..=900).contains(&readings), "{readings} readings");
        }
    }

    #[test]
    fn generation_is_deterministic() {
        assert_eq!(small().frames, small().frames);
        assert_eq!(medium().frames[..10], medium().frames[..10]);
    }

    #[test]
    fn every_tag_of_s_appears() {
        let s = small();
        for tag in [
            "@link(",
            "@sync(",
            "@linked(",
            "@synced(",
            "@command(",
            "@event(",
        ] {
            assert!(s.frames.iter().any(|f| f.starts_with(tag)), "{tag}");
        }
    }
}
