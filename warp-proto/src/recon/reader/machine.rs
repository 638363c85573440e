//! The reader's state machine: the nesting stack, the states between events, and one handler
//! per state. Each call of `next_event` runs handlers until one produces an event.

use super::lex::{self, at, expected, unexpected};
use super::scan::{self, skip_blank, skip_comment, skip_spaces, Shape};
use super::{Reader, Status};
use crate::recon::{Error, ErrorKind, Event, Expected, Text};

/// Frames of the nesting stack, one byte each: a kind in the low three bits plus flags.
pub(super) mod frame {
    /// The document (the root of an ordinary reader).
    pub const TOP: u8 = 0;
    /// The argument block of an attribute, `(…)`.
    pub const ARGS: u8 = 1;
    /// The items between `{` and `}`.
    pub const RECORD: u8 = 2;
    /// The text and embedded items between `[` and `]`.
    pub const MARKUP: u8 = 3;
    /// A record made by an item's attributes (or a leading `{…}`/`[…]`), after its first part:
    /// more attributes, a value or a spliced group may follow. Also the root of a body reader.
    pub const CONT: u8 = 4;
    /// A markup inline item `@name(…)` whose `{…}` or `[…]` may follow immediately.
    pub const INLINE: u8 = 5;
    pub const KIND: u8 = 0b111;

    /// Lists (document, arguments, record): the item being read is a slot value.
    pub const IN_VALUE: u8 = 1 << 3;
    /// Blocks (document, arguments): the block is a record (`StartRecord` was emitted).
    pub const IS_RECORD: u8 = 1 << 4;
    /// The document of a lazy reader (see `Reader::new_lazy`): read as a single value until a
    /// second item or a `:` shows it is a record.
    pub const LAZY: u8 = 1 << 7;

    /// Groups (record, markup): what happens at the closing bracket.
    pub const THEN: u8 = 0b11 << 5;
    /// The group was spliced into the record of the `CONT` frame it replaced: become that frame
    /// again.
    pub const THEN_CONT: u8 = 0;
    /// The group was spliced into a markup inline item: end that record.
    pub const THEN_END: u8 = 1 << 5;
    /// The group was spliced into the enclosing markup: return to it.
    pub const THEN_POP: u8 = 2 << 5;
}

/// What the reader does next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum St {
    /// Nothing read yet (document reader).
    TopStart,
    /// Nothing read yet (body reader).
    BodyStart,
    /// Just after the `(` of attribute arguments.
    ArgsStart,
    /// A list (document, arguments, record) expects an item: after `{` or a separator.
    ItemStart,
    /// A list's item has been read and may be a slot key.
    AfterKey,
    /// A list's slot value has been read.
    AfterValue,
    /// After a slot's `:`.
    SlotValue,
    /// A key was read and its `:` consumed: `Slot` comes next, then the slot's value.
    SlotNext,
    /// In a `CONT` frame after an attribute: anything of the item may follow.
    ContAttr,
    /// In a `CONT` frame after a value or a spliced group: only attributes may follow.
    ContValue,
    /// In a `MARKUP` frame.
    Markup,
    /// In an `INLINE` frame, before its attribute.
    InlineStart,
    /// In an `INLINE` frame, after its attribute.
    InlineAttr,
    /// The document is complete.
    Done,
    /// The reader has failed (the error is in `failed`).
    Failed,
}

/// Which bytes may follow a value as an operator of an expression (`1 + 2`, `f(x)`, `a ? b : c`).
#[inline]
fn is_operator(c: u8) -> bool {
    matches!(
        c,
        b'+' | b'-'
            | b'*'
            | b'/'
            | b'%'
            | b'<'
            | b'>'
            | b'='
            | b'!'
            | b'&'
            | b'|'
            | b'^'
            | b'?'
            | b'('
            | b'~'
            | b'$'
    )
}

/// Which bytes start an expression where a value is expected (`$a`, `(1)`, `!x`, `~x`, `+1`).
#[inline]
fn is_prefix_operator(c: u8) -> bool {
    matches!(c, b'$' | b'(' | b'!' | b'~' | b'+')
}

fn expression(at: usize) -> Error {
    Error::new(ErrorKind::ExpressionNotSupported, at)
}

/// What a state handler did: `Ok(true)` when it wrote an event into the caller's slot,
/// `Ok(false)` when it only moved on (no event yet).
type Emit = Result<bool, Error>;

/// Writes `event` into `out`: the handlers' way of producing an event.
#[inline(always)]
fn emit<'a>(out: &mut Event<'a>, event: Event<'a>) -> Emit {
    *out = event;
    Ok(true)
}

impl<'a> Reader<'a> {
    /// A lazy document turns out to be a record: returns its late `StartRecord`.
    #[cold]
    fn promote(&mut self) -> Event<'a> {
        self.stack[0] = (self.stack[0] & !frame::LAZY) | frame::IS_RECORD;
        Event::StartRecord
    }

    #[inline(always)]
    fn bytes(&self) -> &'a [u8] {
        self.src.as_bytes()
    }

    #[inline(always)]
    fn top(&self) -> u8 {
        self.stack
            .get(self.len.wrapping_sub(1))
            .copied()
            .unwrap_or(frame::TOP)
    }

    #[inline(always)]
    fn set_top(&mut self, f: u8) {
        if let Some(slot) = self.stack.get_mut(self.len.wrapping_sub(1)) {
            *slot = f;
        }
    }

    #[inline]
    fn push(&mut self, f: u8, at: usize) -> Result<(), Error> {
        if self.len > self.max_depth {
            return Err(Error::new(
                ErrorKind::DepthExceeded {
                    limit: self.config.max_depth,
                },
                at,
            ));
        }
        match self.stack.get_mut(self.len) {
            Some(slot) => *slot = f,
            None => {
                return Err(Error::new(
                    ErrorKind::DepthExceeded {
                        limit: self.config.max_depth,
                    },
                    at,
                ))
            }
        }
        self.len += 1;
        Ok(())
    }

    /// Pops the top frame and resumes its parent.
    #[inline]
    fn pop(&mut self) {
        if self.len > 1 {
            self.len -= 1;
        }
        let parent = self.top();
        self.st = match parent & frame::KIND {
            frame::TOP | frame::ARGS | frame::RECORD => {
                if parent & frame::IN_VALUE != 0 {
                    St::AfterValue
                } else {
                    St::AfterKey
                }
            }
            frame::MARKUP => St::Markup,
            frame::INLINE => St::InlineAttr,
            // CONT: the only frames pushed from it are attribute arguments.
            _ => St::ContAttr,
        };
    }

    /// Whether a `:` after a key may make a slot in the list on top: in a record, or in a block
    /// already known to be a record.
    #[inline(always)]
    fn slot_allowed(&self) -> bool {
        let top = self.top();
        top & frame::KIND == frame::RECORD || top & frame::IS_RECORD != 0
    }

    /// The scan limit: a little above the depth limit so that valid input never makes the scan
    /// give up.
    #[inline]
    fn scan_limit(&self) -> usize {
        self.max_depth + 2
    }

    /// The next event. Plain scalars in records and argument lists, which are most events,
    /// take a short path here; everything else goes to [`Reader::step_slow`].
    #[inline(always)]
    pub(super) fn step(&mut self, out: &mut Event<'a>) -> Status {
        loop {
            let st = self.st;
            match st {
                St::SlotNext => {
                    self.st = St::SlotValue;
                    *out = Event::Slot;
                    return Status::Event;
                }
                St::SlotValue if self.fast_scalar(true, out) => return Status::Event,
                St::ItemStart => {
                    let top = self.top();
                    if (top & frame::KIND == frame::RECORD
                        || top & (frame::KIND | frame::IS_RECORD) == frame::ARGS | frame::IS_RECORD)
                        && self.fast_scalar(false, out)
                    {
                        return Status::Event;
                    }
                }
                St::AfterKey | St::AfterValue => {
                    let i = self.pos;
                    let top = self.top();
                    match self.bytes().get(i) {
                        Some(b',') => {
                            self.pos = i + 1;
                            self.st = St::ItemStart;
                            continue;
                        }
                        // A `{…}` record spliced into an item record (`pos:{x:1}`, `@a{x:1}`)
                        // closes, and no attribute follows: the item record ends with it.
                        Some(b'}')
                            if top & (frame::KIND | frame::THEN)
                                == frame::RECORD | frame::THEN_CONT
                                && self.len > 1
                                && matches!(
                                    self.bytes().get(i + 1),
                                    None | Some(b',' | b'}' | b')')
                                ) =>
                        {
                            self.pos = i + 1;
                            self.pop();
                            *out = Event::EndRecord;
                            return Status::Event;
                        }
                        // The argument record of an attribute closes.
                        Some(b')')
                            if top & (frame::KIND | frame::IS_RECORD)
                                == frame::ARGS | frame::IS_RECORD =>
                        {
                            self.pos = i + 1;
                            self.pop();
                            *out = Event::EndRecord;
                            return Status::Event;
                        }
                        _ => {}
                    }
                }
                St::ContAttr => {
                    let i = self.pos;
                    match self.bytes().get(i) {
                        Some(b'@') if self.len > 1 => {
                            if let Ok(true) = self.attr(i, out) {
                                return Status::Event;
                            }
                        }
                        Some(b'{') => {
                            self.set_top(frame::RECORD | frame::THEN_CONT);
                            self.pos = i + 1;
                            self.st = St::ItemStart;
                            continue;
                        }
                        _ => {}
                    }
                }
                _ => {}
            }
            if let Some(status) = self.step_slow(out) {
                return status;
            }
        }
    }

    /// If the key just read was followed by its `:` (the reader is about to report `Slot`),
    /// consumes that `Slot` and returns `true` (crate-internal, for the owned value builder,
    /// which thus skips one round through the reader per slot).
    #[cfg(feature = "alloc")]
    #[inline(always)]
    pub(crate) fn take_slot(&mut self) -> bool {
        if self.st == St::SlotNext {
            self.st = St::SlotValue;
            true
        } else {
            false
        }
    }

    /// The short path of an item of a record, or of an argument list known to be a record
    /// (`in_value`: a slot value): an
    /// identifier, a number or a quoted string right at the current position, directly followed
    /// by `,`, `:` (keys only), `}` or `)`; or the `StartRecord` of an item that begins with `@`
    /// or `{`. Writes the event and moves on exactly as the general
    /// path would; returns `false` without changing the reader's state on anything else (the
    /// general path then reads the item again and reports any error).
    #[inline(always)]
    fn fast_scalar(&mut self, in_value: bool, out: &mut Event<'a>) -> bool {
        let (src, b) = (self.src, self.bytes());
        let i = self.pos;
        let Some(&c) = b.get(i) else {
            return false;
        };
        let end = if lex::is_ascii_ident_start(c) {
            let Some(end) = lex::ascii_ident_end(b, i + 1) else {
                return false;
            };
            let Some(s) = src.get(i..end) else {
                return false;
            };
            *out = match s.as_bytes() {
                [b't' | b'f', ..] if s.len() <= 5 => match s.as_bytes() {
                    b"true" => Event::Bool(true),
                    b"false" => Event::Bool(false),
                    _ => Event::Text(Text::plain(s)),
                },
                _ => Event::Text(Text::plain(s)),
            };
            end
        } else if c == b'-' || c.is_ascii_digit() {
            match lex::number(src, b, i, out) {
                Ok(end) => end,
                Err(_) => return false,
            }
        } else if c == b'"' {
            match lex::string(src, b, i) {
                Ok((t, end)) => {
                    *out = Event::Text(t);
                    end
                }
                Err(_) => return false,
            }
        } else if c == b'@' || c == b'{' {
            // An attributed item or a record: its `StartRecord`, as `begin_item` does it.
            let (child, pos, st) = if c == b'@' {
                (frame::CONT, i, St::ContAttr)
            } else {
                (frame::RECORD | frame::THEN_CONT, i + 1, St::ItemStart)
            };
            if self.push_child(child, i, in_value).is_err() {
                return false;
            }
            self.pos = pos;
            self.st = st;
            *out = Event::StartRecord;
            return true;
        } else {
            return false;
        };
        match b.get(end) {
            Some(b',') => {
                self.pos = end + 1;
                self.st = St::ItemStart;
            }
            // A key (`step` only takes this path for keys in records and in argument lists
            // known to be records, where a `:` always makes a slot).
            Some(b':') if !in_value => {
                self.pos = end + 1;
                self.st = St::SlotNext;
            }
            Some(b'}' | b')') => {
                self.pos = end;
                self.st = if in_value {
                    St::AfterValue
                } else {
                    St::AfterKey
                };
            }
            _ => return false,
        }
        true
    }

    /// The general path of [`Reader::step`]: one handler of the current state (the states of
    /// lists inline, the others in [`Reader::step_rare`]); `None` when it produced no event
    /// and the reader goes on from its new state.
    ///
    /// Every handler writes its event straight into `out` and returns `Ok(true)`, or `Ok(false)`
    /// when it produced none yet; nothing event-sized is returned through the layers, so no
    /// event is copied on the way out. Errors are kept in `failed`.
    #[inline(never)]
    fn step_slow(&mut self, out: &mut Event<'a>) -> Option<Status> {
        let r = match self.st {
            St::Failed => return Some(Status::Failed),
            St::ItemStart => self.item_start(out),
            St::AfterKey | St::AfterValue => self.after_item(out),
            St::SlotValue => self.slot_value(out),
            St::SlotNext => {
                self.st = St::SlotValue;
                *out = Event::Slot;
                return Some(Status::Event);
            }
            St::Done => return Some(Status::End),
            _ => self.step_rare(out),
        };
        match r {
            Ok(true) => Some(Status::Event),
            Ok(false) => None,
            Err(e) => Some(self.fail(e)),
        }
    }

    /// Records the error that stops the reader.
    #[cold]
    #[inline(never)]
    fn fail(&mut self, e: Error) -> Status {
        self.failed = Some(e);
        self.st = St::Failed;
        Status::Failed
    }

    /// The states outside lists. `Ok(false)`: no event yet, go on.
    #[inline(never)]
    fn step_rare(&mut self, out: &mut Event<'a>) -> Emit {
        match self.st {
            St::ContAttr | St::ContValue => self.cont(out),
            St::Markup => self.markup(out),
            St::InlineStart => self.attr(self.pos, out),
            St::InlineAttr => {
                let i = self.pos;
                match at(self.bytes(), i) {
                    Some(b'{') => {
                        self.set_top(frame::RECORD | frame::THEN_END);
                        self.pos = i + 1;
                        self.st = St::ItemStart;
                        Ok(false)
                    }
                    Some(b'[') => {
                        self.set_top(frame::MARKUP | frame::THEN_END);
                        self.pos = i + 1;
                        self.st = St::Markup;
                        Ok(false)
                    }
                    _ => {
                        self.pop();
                        emit(out, Event::EndRecord)
                    }
                }
            }
            St::TopStart => self.top_start(out),
            St::ArgsStart => self.args_start(out),
            St::BodyStart => self.body_start(out),
            St::ItemStart
            | St::AfterKey
            | St::AfterValue
            | St::SlotValue
            | St::SlotNext
            | St::Done
            | St::Failed => Ok(false),
        }
    }

    /// The error for a byte `c` at `i` that cannot start a value where one is required.
    #[cold]
    #[inline(never)]
    fn not_a_value(&self, i: usize, otherwise: Error) -> Error {
        match at(self.bytes(), i) {
            Some(c) if is_prefix_operator(c) => expression(i),
            _ => otherwise,
        }
    }

    /// Reads a scalar (identifier, string, raw string, number, data) at `i` into `out`;
    /// returns the position after it.
    #[inline(always)]
    fn scalar(&self, i: usize, out: &mut Event<'a>) -> Result<usize, Error> {
        let (src, b) = (self.src, self.bytes());
        match at(b, i) {
            Some(b'"' | b'\'') => {
                let (t, e) = lex::string(src, b, i)?;
                *out = Event::Text(t);
                Ok(e)
            }
            Some(b'-' | b'0'..=b'9') => lex::number(src, b, i, out),
            Some(b'%') => {
                let (d, e) = lex::data(src, b, i)?;
                *out = Event::Data(d);
                Ok(e)
            }
            Some(b'`') => {
                let (t, e) = lex::raw_string(src, b, i)?;
                *out = Event::Text(t);
                Ok(e)
            }
            _ => match lex::ident(src, b, i) {
                Some((s, end)) => {
                    *out = match s.as_bytes() {
                        [b't' | b'f', ..] if s.len() <= 5 => match s.as_bytes() {
                            b"true" => Event::Bool(true),
                            b"false" => Event::Bool(false),
                            _ => Event::Text(Text::plain(s)),
                        },
                        _ => Event::Text(Text::plain(s)),
                    };
                    Ok(end)
                }
                None => Err(self.not_a_value(i, unexpected(src, i))),
            },
        }
    }

    /// Begins an item of the list on top (document, arguments, record, or a body root) at `i`,
    /// which holds a value-start byte. `in_value`: the item is a slot value.
    #[inline(always)]
    fn begin_item(&mut self, i: usize, in_value: bool, out: &mut Event<'a>) -> Emit {
        self.st = if in_value {
            St::AfterValue
        } else {
            St::AfterKey
        };
        let (child, pos, st) = match at(self.bytes(), i) {
            Some(b'@') => (frame::CONT, i, St::ContAttr),
            Some(b'{') => (frame::RECORD | frame::THEN_CONT, i + 1, St::ItemStart),
            Some(b'[') => (frame::MARKUP | frame::THEN_CONT, i + 1, St::Markup),
            _ => {
                let end = self.scalar(i, out)?;
                let b = self.bytes();
                let j = skip_spaces(b, end);
                match at(b, j) {
                    // A value followed by attributes (`1 @a`) is a record: read the value again
                    // as the record's first part.
                    Some(b'@') => (frame::CONT, i, St::ContAttr),
                    // What `after_item` would do next, done now: a separator starts the next
                    // item, and a `:` after a key in a record makes it a slot key.
                    Some(b',' | b';') => {
                        self.pos = j + 1;
                        self.st = St::ItemStart;
                        return Ok(true);
                    }
                    Some(b':') if !in_value && self.slot_allowed() => {
                        self.pos = j + 1;
                        self.st = St::SlotNext;
                        return Ok(true);
                    }
                    _ => {
                        self.pos = j;
                        return Ok(true);
                    }
                }
            }
        };
        self.push_child(child, i, in_value)?;
        self.pos = pos;
        self.st = st;
        emit(out, Event::StartRecord)
    }

    /// Pushes the frame of an item of the list on top, noting in the list whether the item is a
    /// slot value, which decides where it resumes.
    #[inline]
    fn push_child(&mut self, child: u8, at: usize, in_value: bool) -> Result<(), Error> {
        let top = self.top();
        if top & frame::KIND != frame::CONT {
            let flag = if in_value { frame::IN_VALUE } else { 0 };
            self.set_top((top & !frame::IN_VALUE) | flag);
        }
        self.push(child, at)
    }

    /// The first item of the document.
    fn top_start(&mut self, out: &mut Event<'a>) -> Emit {
        let b = self.bytes();
        let i = skip_blank(b, self.pos);
        self.pos = i;
        if i >= b.len() {
            self.st = St::Done;
            return emit(out, Event::Absent);
        }
        if !lex::is_value_start(self.src, b, i) {
            return Err(self.not_a_value(i, unexpected(self.src, i)));
        }
        if self.top() & frame::LAZY != 0 {
            return self.begin_item(i, false, out);
        }
        self.first_item(i, None, out)
    }

    /// The first item of a block (document or arguments) at `i`, once the block's shape is known.
    #[inline]
    fn first_item(&mut self, i: usize, closer: Option<u8>, out: &mut Event<'a>) -> Emit {
        // An identifier directly followed by `:` is a slot key: the block is a record, as the
        // scan would find at once.
        let b = self.bytes();
        let keyed = b.get(i).is_some_and(|&c| lex::is_ascii_ident_start(c))
            && lex::ascii_ident_end(b, i + 1).is_some_and(|end| b.get(end) == Some(&b':'));
        let shape = if keyed {
            Shape::Record
        } else {
            scan::block_shape(self.src, b, i, closer, self.scan_limit())
        };
        match shape {
            Shape::Record => {
                let top = self.top();
                self.set_top(top | frame::IS_RECORD);
                self.pos = i;
                self.st = St::ItemStart;
                emit(out, Event::StartRecord)
            }
            _ => self.begin_item(i, false, out),
        }
    }

    /// Just after the `(` of attribute arguments.
    #[inline]
    fn args_start(&mut self, out: &mut Event<'a>) -> Emit {
        let b = self.bytes();
        let i = skip_blank(b, self.pos);
        self.pos = i;
        match at(b, i) {
            None => Err(expected(self.src, Expected::Char(')'), i)),
            Some(b')') => {
                self.pos = i + 1;
                self.pop();
                emit(out, Event::Extant)
            }
            Some(_) if lex::is_value_start(self.src, b, i) => self.first_item(i, Some(b')'), out),
            Some(_) => Err(self.not_a_value(i, expected(self.src, Expected::Value, i))),
        }
    }

    /// A list expects an item (after its opening or a separator).
    #[inline(always)]
    fn item_start(&mut self, out: &mut Event<'a>) -> Emit {
        let (src, b) = (self.src, self.bytes());
        let i = skip_blank(b, self.pos);
        self.pos = i;
        let top = self.top();
        let c = at(b, i);
        match top & frame::KIND {
            frame::RECORD => match c {
                Some(b'}') => self.close_record(i, out),
                Some(b',' | b';') => {
                    self.pos = i + 1;
                    emit(out, Event::Extant)
                }
                Some(b':') => {
                    self.st = St::AfterKey;
                    emit(out, Event::Extant)
                }
                None => Err(expected(src, Expected::Char('}'), i)),
                Some(_) if lex::is_value_start(src, b, i) => self.begin_item(i, false, out),
                Some(_) => Err(self.not_a_value(i, expected(src, Expected::RecordEnd, i))),
            },
            frame::ARGS => match c {
                Some(b')') => self.close_args(i, out),
                None => Err(expected(src, Expected::Char(')'), i)),
                Some(_) if top & frame::IS_RECORD == 0 => {
                    Err(expected(src, Expected::Char(')'), i))
                }
                Some(_) if lex::is_value_start(src, b, i) => self.begin_item(i, false, out),
                Some(_) => Err(self.not_a_value(i, expected(src, Expected::Value, i))),
            },
            _ => match c {
                None => Ok(self.close_top(out)),
                Some(_) if top & frame::LAZY != 0 && lex::is_value_start(src, b, i) => {
                    emit(out, self.promote())
                }
                Some(_) if top & frame::IS_RECORD == 0 => Err(unexpected(src, i)),
                Some(_) if lex::is_value_start(src, b, i) => self.begin_item(i, false, out),
                Some(_) => Err(self.not_a_value(i, unexpected(src, i))),
            },
        }
    }

    /// A list's item has been read: a `:` (if it may be a key), a separator or the list's end.
    #[inline(always)]
    fn after_item(&mut self, out: &mut Event<'a>) -> Emit {
        let (src, b) = (self.src, self.bytes());
        let i = skip_spaces(b, self.pos);
        self.pos = i;
        let top = self.top();
        let kind = top & frame::KIND;
        match at(b, i) {
            Some(b',' | b';' | b'\n' | b'\r') => {
                self.pos = i + 1;
                self.st = St::ItemStart;
                Ok(false)
            }
            Some(b':') if self.st == St::AfterKey && self.slot_allowed() => {
                self.pos = i + 1;
                self.st = St::SlotValue;
                emit(out, Event::Slot)
            }
            Some(b':') if self.st == St::AfterKey && top & frame::LAZY != 0 => {
                emit(out, self.promote())
            }
            Some(b'#') => {
                self.pos = skip_comment(b, i);
                self.st = St::ItemStart;
                Ok(false)
            }
            Some(b'}') if kind == frame::RECORD => self.close_record(i, out),
            Some(b')') if kind == frame::ARGS => self.close_args(i, out),
            None if kind == frame::TOP => Ok(self.close_top(out)),
            None if kind == frame::RECORD => Err(expected(src, Expected::Char('}'), i)),
            None => Err(expected(src, Expected::Char(')'), i)),
            Some(c) if is_operator(c) => Err(expression(i)),
            Some(_) if kind == frame::RECORD => Err(expected(src, Expected::RecordEnd, i)),
            Some(_) if kind == frame::ARGS => Err(expected(src, Expected::AttrArgsEnd, i)),
            Some(_) => Err(unexpected(src, i)),
        }
    }

    /// After a slot's `:`: its value, or Extant when none follows on the line.
    #[inline(always)]
    fn slot_value(&mut self, out: &mut Event<'a>) -> Emit {
        let b = self.bytes();
        let i = skip_spaces(b, self.pos);
        self.pos = i;
        if lex::is_value_start(self.src, b, i) {
            return self.begin_item(i, true, out);
        }
        if let Some(c) = at(b, i) {
            if is_prefix_operator(c) {
                return Err(expression(i));
            }
        }
        self.st = St::AfterValue;
        emit(out, Event::Extant)
    }

    /// The `}` at `i` closes the record on top.
    #[inline(always)]
    fn close_record(&mut self, i: usize, out: &mut Event<'a>) -> Emit {
        self.pos = i + 1;
        let top = self.top();
        match top & frame::THEN {
            frame::THEN_CONT => {
                self.set_top(frame::CONT);
                self.st = St::ContValue;
                Ok(false)
            }
            frame::THEN_END => {
                self.pop();
                emit(out, Event::EndRecord)
            }
            _ => {
                self.pop();
                Ok(false)
            }
        }
    }

    /// The `)` at `i` closes the argument block on top.
    #[inline(always)]
    fn close_args(&mut self, i: usize, out: &mut Event<'a>) -> Emit {
        self.pos = i + 1;
        let record = self.top() & frame::IS_RECORD != 0;
        self.pop();
        if record {
            *out = Event::EndRecord;
        }
        Ok(record)
    }

    /// The end of input closes the document; whether that wrote an event.
    #[inline(always)]
    fn close_top(&mut self, out: &mut Event<'a>) -> bool {
        self.st = St::Done;
        let record = self.top() & frame::IS_RECORD != 0;
        if record {
            *out = Event::EndRecord;
        }
        record
    }

    /// An attribute at `i` (its `@`): writes `Attr(name)`; its arguments follow, or an `Extant`
    /// when it has none.
    #[inline]
    fn attr(&mut self, i: usize, out: &mut Event<'a>) -> Emit {
        let (src, b) = (self.src, self.bytes());
        let n = i + 1;
        let (name, end) = match at(b, n) {
            Some(b'"' | b'\'') => lex::string(src, b, n)?,
            _ => match lex::ident(src, b, n) {
                // `true` and `false` read as booleans, which cannot name attributes.
                Some((s, end)) if s != "true" && s != "false" => (Text::plain(s), end),
                _ => return Err(expected(src, Expected::AttrName, n)),
            },
        };
        let resume = if self.top() & frame::KIND == frame::INLINE {
            St::InlineAttr
        } else {
            St::ContAttr
        };
        if at(b, end) == Some(b'(') {
            self.push(frame::ARGS, end)?;
            self.pos = end + 1;
            self.st = St::ArgsStart;
        } else {
            self.pos = end;
            self.st = resume;
            self.extant_next = true;
        }
        emit(out, Event::Attr(name))
    }

    /// In a `CONT` frame: the parts of an item record after its first.
    #[inline]
    fn cont(&mut self, out: &mut Event<'a>) -> Emit {
        let b = self.bytes();
        let i = skip_spaces(b, self.pos);
        self.pos = i;
        let c = at(b, i);
        if c == Some(b'@') {
            if self.len == 1 && !self.body_record {
                // A single-valued body cannot take attributes (the shape scan saw none).
                return Err(unexpected(self.src, i));
            }
            return self.attr(i, out);
        }
        if self.st == St::ContAttr {
            match c {
                Some(b'{') => {
                    self.set_top(frame::RECORD | frame::THEN_CONT);
                    self.pos = i + 1;
                    self.st = St::ItemStart;
                    return Ok(false);
                }
                Some(b'[') => {
                    self.set_top(frame::MARKUP | frame::THEN_CONT);
                    self.pos = i + 1;
                    self.st = St::Markup;
                    return Ok(false);
                }
                Some(c) if is_prefix_operator(c) => return Err(expression(i)),
                Some(_) if lex::is_value_start(self.src, b, i) => {
                    let end = self.scalar(i, out)?;
                    self.pos = end;
                    self.st = St::ContValue;
                    return Ok(true);
                }
                _ => {}
            }
        }
        // The item record ends here.
        if self.len > 1 {
            self.pop();
            return emit(out, Event::EndRecord);
        }
        self.body_end(i, out)
    }

    /// The end of a body reader's value at `i`: only a separator, blanks and comments may
    /// follow.
    fn body_end(&mut self, i: usize, out: &mut Event<'a>) -> Emit {
        let b = self.bytes();
        let j = match at(b, i) {
            Some(b',' | b';' | b'\n' | b'\r') => skip_blank(b, i + 1),
            Some(b'#') => skip_blank(b, i),
            _ => i,
        };
        self.pos = j;
        if j < b.len() {
            return Err(match at(b, j) {
                Some(c) if is_operator(c) => expression(j),
                _ => unexpected(self.src, j),
            });
        }
        self.st = St::Done;
        if self.body_record {
            emit(out, Event::EndRecord)
        } else if self.body_absent {
            emit(out, Event::Absent)
        } else {
            Ok(false)
        }
    }

    /// The start of a body reader.
    fn body_start(&mut self, out: &mut Event<'a>) -> Emit {
        let (src, b) = (self.src, self.bytes());
        let i = skip_blank(b, self.pos);
        self.pos = i;
        match at(b, i) {
            None => {
                self.st = St::Done;
                emit(out, Event::Absent)
            }
            Some(b'@') => {
                self.body_record = true;
                self.st = St::ContAttr;
                emit(out, Event::StartRecord)
            }
            Some(c @ (b'{' | b'[')) => {
                let shape = scan::body_shape(src, b, i, self.scan_limit());
                if c == b'{' {
                    self.set_top(frame::RECORD | frame::THEN_CONT);
                    self.st = St::ItemStart;
                } else {
                    self.set_top(frame::MARKUP | frame::THEN_CONT);
                    self.st = St::Markup;
                }
                self.pos = i + 1;
                match shape {
                    Shape::Record => {
                        self.body_record = true;
                        emit(out, Event::StartRecord)
                    }
                    Shape::Absent => {
                        self.body_absent = true;
                        Ok(false)
                    }
                    Shape::Single => Ok(false),
                }
            }
            Some(_) if lex::is_value_start(src, b, i) => {
                let end = self.scalar(i, out)?;
                let j = skip_spaces(b, end);
                if at(b, j) == Some(b'@') {
                    self.body_record = true;
                    self.st = St::ContAttr;
                    return emit(out, Event::StartRecord);
                }
                self.pos = j;
                self.st = St::ContValue;
                Ok(true)
            }
            Some(_) => Err(self.not_a_value(i, unexpected(src, i))),
        }
    }

    /// In a `MARKUP` frame: text, an inline item, a spliced group, or the closing `]`.
    #[inline]
    fn markup(&mut self, out: &mut Event<'a>) -> Emit {
        let (src, b) = (self.src, self.bytes());
        let i = self.pos;
        match at(b, i) {
            None => Err(expected(src, Expected::Char(']'), i)),
            Some(b']') => {
                self.pos = i + 1;
                match self.top() & frame::THEN {
                    frame::THEN_CONT => {
                        self.set_top(frame::CONT);
                        self.st = St::ContValue;
                        Ok(false)
                    }
                    frame::THEN_END => {
                        self.pop();
                        emit(out, Event::EndRecord)
                    }
                    _ => {
                        self.pop();
                        Ok(false)
                    }
                }
            }
            Some(b'@') => {
                self.push(frame::INLINE, i)?;
                self.st = St::InlineStart;
                emit(out, Event::StartRecord)
            }
            Some(b'{') => {
                self.push(frame::RECORD | frame::THEN_POP, i)?;
                self.pos = i + 1;
                self.st = St::ItemStart;
                Ok(false)
            }
            Some(b'[') => {
                self.push(frame::MARKUP | frame::THEN_POP, i)?;
                self.pos = i + 1;
                Ok(false)
            }
            Some(b'}') => Err(unexpected(src, i)),
            Some(_) => {
                let (text, end) = lex::markup_text(src, b, i)?;
                self.pos = end;
                emit(out, Event::Text(text))
            }
        }
    }
}
