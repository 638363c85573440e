//! Recorded traces (`conformance/traces/*.jsonl`, format in CONFORMANCE.md): a header line,
//! then one WebSocket frame per line with its direction.
//!
//! ```
//! use conformance::suite::trace::{Dir, Payload, Trace};
//!
//! let text = r#"{"trace":"t","notes":"n","order":"per-link"}
//! {"t_ms":1,"dir":"c2s","text":"@sync(node:\"/unit/1\",lane:info)"}
//! {"t_ms":2,"dir":"s2c","close":1000}
//! "#;
//! let trace = Trace::parse("t.jsonl", text).unwrap();
//! assert_eq!(trace.name, "t");
//! assert_eq!(trace.frames[0].dir, Dir::C2s);
//! assert_eq!(trace.frames[1].payload, Payload::Close(1000));
//! ```

use std::fmt;
use std::path::Path;

use serde_json::Value as Json;

use crate::json::decode_base64;

/// Who sent a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dir {
    /// Client to server.
    C2s,
    /// Server to client.
    S2c,
}

impl Dir {
    /// `c2s` or `s2c`.
    pub fn name(self) -> &'static str {
        match self {
            Dir::C2s => "c2s",
            Dir::S2c => "s2c",
        }
    }
}

/// A frame's content.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Payload {
    /// A text frame.
    Text(String),
    /// A binary frame.
    Binary(Vec<u8>),
    /// A close frame with its code. 1006 is never sent on the wire: the recorder writes it
    /// when the connection ended without a close frame.
    Close(u16),
}

/// The close code recorders write when a connection ended without a close frame.
pub const ABNORMAL_CLOSE: u16 = 1006;

/// One recorded frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceFrame {
    /// The 1-based line of the trace file.
    pub line: usize,
    /// Who sent it.
    pub dir: Dir,
    /// What it was.
    pub payload: Payload,
}

/// A parsed trace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trace {
    /// The header's `trace` member (the file name without extension when absent).
    pub name: String,
    /// The header's `notes` (empty when absent).
    pub notes: String,
    /// The header's `order` (empty when absent; `per-link` is what every replay assumes).
    pub order: String,
    /// The header's `profile_differs`, when present.
    pub profile_differs: Option<String>,
    /// The frames in recorded order.
    pub frames: Vec<TraceFrame>,
}

/// A trace file that cannot be read: the file, the line and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceError {
    /// The file.
    pub file: String,
    /// The 1-based line (0: the file as a whole).
    pub line: usize,
    /// Why.
    pub message: String,
}

impl fmt::Display for TraceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file, self.message)
        } else {
            write!(f, "{}:{}: {}", self.file, self.line, self.message)
        }
    }
}

impl std::error::Error for TraceError {}

impl Trace {
    /// Reads and parses the trace file at `path`.
    pub fn read(path: &Path) -> Result<Trace, TraceError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| TraceError {
            file: file.clone(),
            line: 0,
            message: e.to_string(),
        })?;
        Trace::parse(&file, &text)
    }

    /// Parses the text of a trace; `file` names it in errors (and gives the default name).
    pub fn parse(file: &str, text: &str) -> Result<Trace, TraceError> {
        let err = |line: usize, message: String| TraceError {
            file: file.to_string(),
            line,
            message,
        };
        let mut lines = text
            .lines()
            .enumerate()
            .map(|(i, l)| (i + 1, l))
            .filter(|(_, l)| !l.trim().is_empty());
        let (header_line, header_text) = lines
            .next()
            .ok_or_else(|| err(0, "empty trace (no header line)".into()))?;
        let header: Json = serde_json::from_str(header_text)
            .map_err(|e| err(header_line, format!("header is not JSON: {e}")))?;
        if !header.is_object() {
            return Err(err(header_line, "the header is not a JSON object".into()));
        }
        let text_member = |key: &str| header.get(key).and_then(Json::as_str).map(str::to_string);
        let default_name = Path::new(file)
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| file.to_string());
        let mut frames = Vec::new();
        for (line, text) in lines {
            let json: Json =
                serde_json::from_str(text).map_err(|e| err(line, format!("not JSON: {e}")))?;
            let dir = match json.get("dir").and_then(Json::as_str) {
                Some("c2s") => Dir::C2s,
                Some("s2c") => Dir::S2c,
                Some(other) => return Err(err(line, format!("unknown dir `{other}`"))),
                None => return Err(err(line, "no `dir`".into())),
            };
            let payload = if let Some(t) = json.get("text") {
                let t = t
                    .as_str()
                    .ok_or_else(|| err(line, "`text` is not a string".into()))?;
                Payload::Text(t.to_string())
            } else if let Some(b) = json.get("bin") {
                let b = b
                    .as_str()
                    .ok_or_else(|| err(line, "`bin` is not a string".into()))?;
                Payload::Binary(decode_base64(b).map_err(|e| err(line, format!("`bin`: {}", e.0)))?)
            } else if let Some(c) = json.get("close") {
                let code = c
                    .as_u64()
                    .and_then(|c| u16::try_from(c).ok())
                    .ok_or_else(|| err(line, "`close` is not a close code".into()))?;
                Payload::Close(code)
            } else {
                return Err(err(line, "no `text`, `bin` or `close`".into()));
            };
            frames.push(TraceFrame { line, dir, payload });
        }
        Ok(Trace {
            name: text_member("trace").unwrap_or(default_name),
            notes: text_member("notes").unwrap_or_default(),
            order: text_member("order").unwrap_or_default(),
            profile_differs: text_member("profile_differs"),
            frames,
        })
    }

    /// The first frame the client sends, if any.
    pub fn first_c2s(&self) -> Option<&TraceFrame> {
        self.frames.iter().find(|f| f.dir == Dir::C2s)
    }

    /// The trace as rounds: each a run of client frames followed by the run of server frames
    /// that answers them (either may be empty only at the ends).
    pub fn rounds(&self) -> Vec<Round<'_>> {
        let mut rounds: Vec<Round<'_>> = Vec::new();
        let mut current = Round::default();
        for frame in &self.frames {
            match frame.dir {
                Dir::C2s if !current.s2c.is_empty() => {
                    rounds.push(std::mem::take(&mut current));
                    current.c2s.push(frame);
                }
                Dir::C2s => current.c2s.push(frame),
                Dir::S2c => current.s2c.push(frame),
            }
        }
        if !current.c2s.is_empty() || !current.s2c.is_empty() {
            rounds.push(current);
        }
        rounds
    }

    /// Whether the header says the entries of a map sync arrive in no fixed order.
    pub fn map_sync_unordered(&self) -> bool {
        self.order.contains("unordered")
    }
}

/// A run of client frames and the run of server frames that follows it in a trace.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Round<'t> {
    /// What the client sends.
    pub c2s: Vec<&'t TraceFrame>,
    /// What the server answers.
    pub s2c: Vec<&'t TraceFrame>,
}
