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

    /// The scan limit: a little above the depth limit so that valid input never makes the scan
    /// give up.
    #[inline]
    fn scan_limit(&self) -> usize {
        self.max_depth + 2
    }

    /// The next event: the states of lists, where most events come from, inline; the others in
    /// [`Reader::step_rare`].
    ///
    /// Writes the event into `out` and returns a status rather than a `Result` carrying the
    /// event or the error; errors are kept in `failed`.
    pub(super) fn step(&mut self, out: &mut Event<'a>) -> Status {
        if self.failed.is_some() {
            return Status::Failed;
        }
        let result = loop {
            let event = match self.st {
                St::ItemStart => self.item_start(),
                St::AfterKey | St::AfterValue => self.after_item(),
                St::SlotValue => break self.slot_value().map(Some),
                St::Done => return Status::End,
                _ => self.step_rare(),
            };
            match event {
                Ok(None) => {}
                other => break other,
            }
        };
        match result {
            Ok(Some(event)) => {
                *out = event;
                Status::Event
            }
            Ok(None) => Status::End,
            Err(e) => self.fail(e),
        }
    }

    /// Records the error that stops the reader.
    #[cold]
    #[inline(never)]
    fn fail(&mut self, e: Error) -> Status {
        self.failed = Some(e);
        Status::Failed
    }

    /// The states outside lists. `Ok(None)`: no event yet, go on.
    #[inline(never)]
    fn step_rare(&mut self) -> Result<Option<Event<'a>>, Error> {
        match self.st {
            St::ContAttr | St::ContValue => self.cont(),
            St::Markup => self.markup(),
            St::InlineStart => self.attr(self.pos).map(Some),
            St::InlineAttr => {
                let i = self.pos;
                match at(self.bytes(), i) {
                    Some(b'{') => {
                        self.set_top(frame::RECORD | frame::THEN_END);
                        self.pos = i + 1;
                        self.st = St::ItemStart;
                        Ok(None)
                    }
                    Some(b'[') => {
                        self.set_top(frame::MARKUP | frame::THEN_END);
                        self.pos = i + 1;
                        self.st = St::Markup;
                        Ok(None)
                    }
                    _ => {
                        self.pop();
                        Ok(Some(Event::EndRecord))
                    }
                }
            }
            St::TopStart => self.top_start().map(Some),
            St::ArgsStart => self.args_start().map(Some),
            St::BodyStart => self.body_start(),
            St::ItemStart | St::AfterKey | St::AfterValue | St::SlotValue | St::Done => Ok(None),
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

    /// Reads a scalar (identifier, string, raw string, number, data) at `i`.
    #[inline(always)]
    fn scalar(&self, i: usize) -> Result<(Event<'a>, usize), Error> {
        let (src, b) = (self.src, self.bytes());
        match at(b, i) {
            Some(b'"' | b'\'') => lex::string(src, b, i).map(|(t, e)| (Event::Text(t), e)),
            Some(b'-' | b'0'..=b'9') => lex::number(src, b, i).map(|(n, e)| (Event::Number(n), e)),
            Some(b'%') => lex::data(src, b, i).map(|(d, e)| (Event::Data(d), e)),
            Some(b'`') => lex::raw_string(src, b, i).map(|(t, e)| (Event::Text(t), e)),
            _ => match lex::ident_start_len(src, b, i) {
                Some(len) => {
                    let end = lex::ident_end(src, b, i, len);
                    let event = match src.get(i..end) {
                        Some("true") => Event::Bool(true),
                        Some("false") => Event::Bool(false),
                        Some(s) => Event::Text(Text::plain(s)),
                        None => return Err(unexpected(src, i)),
                    };
                    Ok((event, end))
                }
                None => Err(self.not_a_value(i, unexpected(src, i))),
            },
        }
    }

    /// Begins an item of the list on top (document, arguments, record, or a body root) at `i`,
    /// which holds a value-start byte. `in_value`: the item is a slot value.
    #[inline(always)]
    fn begin_item(&mut self, i: usize, in_value: bool) -> Result<Event<'a>, Error> {
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
                let (event, end) = self.scalar(i)?;
                let j = skip_spaces(self.bytes(), end);
                if at(self.bytes(), j) != Some(b'@') {
                    self.pos = j;
                    return Ok(event);
                }
                // A value followed by attributes (`1 @a`) is a record: read the value again as
                // the record's first part.
                (frame::CONT, i, St::ContAttr)
            }
        };
        self.push_child(child, i, in_value)?;
        self.pos = pos;
        self.st = st;
        Ok(Event::StartRecord)
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
    fn top_start(&mut self) -> Result<Event<'a>, Error> {
        let b = self.bytes();
        let i = skip_blank(b, self.pos);
        self.pos = i;
        if i >= b.len() {
            self.st = St::Done;
            return Ok(Event::Absent);
        }
        if !lex::is_value_start(self.src, b, i) {
            return Err(self.not_a_value(i, unexpected(self.src, i)));
        }
        if self.top() & frame::LAZY != 0 {
            return self.begin_item(i, false);
        }
        self.first_item(i, None)
    }

    /// The first item of a block (document or arguments) at `i`, once the block's shape is known.
    #[inline]
    fn first_item(&mut self, i: usize, closer: Option<u8>) -> Result<Event<'a>, Error> {
        match scan::block_shape(self.src, self.bytes(), i, closer, self.scan_limit()) {
            Shape::Record => {
                let top = self.top();
                self.set_top(top | frame::IS_RECORD);
                self.pos = i;
                self.st = St::ItemStart;
                Ok(Event::StartRecord)
            }
            _ => self.begin_item(i, false),
        }
    }

    /// Just after the `(` of attribute arguments.
    #[inline]
    fn args_start(&mut self) -> Result<Event<'a>, Error> {
        let b = self.bytes();
        let i = skip_blank(b, self.pos);
        self.pos = i;
        match at(b, i) {
            None => Err(expected(self.src, Expected::Char(')'), i)),
            Some(b')') => {
                self.pos = i + 1;
                self.pop();
                Ok(Event::Extant)
            }
            Some(_) if lex::is_value_start(self.src, b, i) => self.first_item(i, Some(b')')),
            Some(_) => Err(self.not_a_value(i, expected(self.src, Expected::Value, i))),
        }
    }

    /// A list expects an item (after its opening or a separator).
    #[inline(always)]
    fn item_start(&mut self) -> Result<Option<Event<'a>>, Error> {
        let (src, b) = (self.src, self.bytes());
        let i = skip_blank(b, self.pos);
        self.pos = i;
        let top = self.top();
        let c = at(b, i);
        match top & frame::KIND {
            frame::RECORD => match c {
                Some(b'}') => self.close_record(i),
                Some(b',' | b';') => {
                    self.pos = i + 1;
                    Ok(Some(Event::Extant))
                }
                Some(b':') => {
                    self.st = St::AfterKey;
                    Ok(Some(Event::Extant))
                }
                None => Err(expected(src, Expected::Char('}'), i)),
                Some(_) if lex::is_value_start(src, b, i) => self.begin_item(i, false).map(Some),
                Some(_) => Err(self.not_a_value(i, expected(src, Expected::RecordEnd, i))),
            },
            frame::ARGS => match c {
                Some(b')') => self.close_args(i),
                None => Err(expected(src, Expected::Char(')'), i)),
                Some(_) if top & frame::IS_RECORD == 0 => {
                    Err(expected(src, Expected::Char(')'), i))
                }
                Some(_) if lex::is_value_start(src, b, i) => self.begin_item(i, false).map(Some),
                Some(_) => Err(self.not_a_value(i, expected(src, Expected::Value, i))),
            },
            _ => match c {
                None => Ok(self.close_top()),
                Some(_) if top & frame::LAZY != 0 && lex::is_value_start(src, b, i) => {
                    Ok(Some(self.promote()))
                }
                Some(_) if top & frame::IS_RECORD == 0 => Err(unexpected(src, i)),
                Some(_) if lex::is_value_start(src, b, i) => self.begin_item(i, false).map(Some),
                Some(_) => Err(self.not_a_value(i, unexpected(src, i))),
            },
        }
    }

    /// A list's item has been read: a `:` (if it may be a key), a separator or the list's end.
    #[inline(always)]
    fn after_item(&mut self) -> Result<Option<Event<'a>>, Error> {
        let (src, b) = (self.src, self.bytes());
        let i = skip_spaces(b, self.pos);
        self.pos = i;
        let top = self.top();
        let kind = top & frame::KIND;
        match at(b, i) {
            Some(b',' | b';' | b'\n' | b'\r') => {
                self.pos = i + 1;
                self.st = St::ItemStart;
                Ok(None)
            }
            Some(b':')
                if self.st == St::AfterKey
                    && (kind == frame::RECORD || top & frame::IS_RECORD != 0) =>
            {
                self.pos = i + 1;
                self.st = St::SlotValue;
                Ok(Some(Event::Slot))
            }
            Some(b':') if self.st == St::AfterKey && top & frame::LAZY != 0 => {
                Ok(Some(self.promote()))
            }
            Some(b'#') => {
                self.pos = skip_comment(b, i);
                self.st = St::ItemStart;
                Ok(None)
            }
            Some(b'}') if kind == frame::RECORD => self.close_record(i),
            Some(b')') if kind == frame::ARGS => self.close_args(i),
            None if kind == frame::TOP => Ok(self.close_top()),
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
    fn slot_value(&mut self) -> Result<Event<'a>, Error> {
        let b = self.bytes();
        let i = skip_spaces(b, self.pos);
        self.pos = i;
        if lex::is_value_start(self.src, b, i) {
            return self.begin_item(i, true);
        }
        if let Some(c) = at(b, i) {
            if is_prefix_operator(c) {
                return Err(expression(i));
            }
        }
        self.st = St::AfterValue;
        Ok(Event::Extant)
    }

    /// The `}` at `i` closes the record on top.
    #[inline(always)]
    fn close_record(&mut self, i: usize) -> Result<Option<Event<'a>>, Error> {
        self.pos = i + 1;
        let top = self.top();
        match top & frame::THEN {
            frame::THEN_CONT => {
                self.set_top(frame::CONT);
                self.st = St::ContValue;
                Ok(None)
            }
            frame::THEN_END => {
                self.pop();
                Ok(Some(Event::EndRecord))
            }
            _ => {
                self.pop();
                Ok(None)
            }
        }
    }

    /// The `)` at `i` closes the argument block on top.
    #[inline(always)]
    fn close_args(&mut self, i: usize) -> Result<Option<Event<'a>>, Error> {
        self.pos = i + 1;
        let record = self.top() & frame::IS_RECORD != 0;
        self.pop();
        Ok(record.then_some(Event::EndRecord))
    }

    /// The end of input closes the document.
    #[inline(always)]
    fn close_top(&mut self) -> Option<Event<'a>> {
        self.st = St::Done;
        (self.top() & frame::IS_RECORD != 0).then_some(Event::EndRecord)
    }

    /// An attribute at `i` (its `@`): returns `Attr(name)`; its arguments follow, or an `Extant`
    /// when it has none.
    #[inline]
    fn attr(&mut self, i: usize) -> Result<Event<'a>, Error> {
        let (src, b) = (self.src, self.bytes());
        let n = i + 1;
        let (name, end) = match at(b, n) {
            Some(b'"' | b'\'') => lex::string(src, b, n)?,
            _ => match lex::ident_start_len(src, b, n) {
                Some(len) => {
                    let end = lex::ident_end(src, b, n, len);
                    match src.get(n..end) {
                        // `true` and `false` read as booleans, which cannot name attributes.
                        Some("true" | "false") | None => {
                            return Err(expected(src, Expected::AttrName, n))
                        }
                        Some(s) => (Text::plain(s), end),
                    }
                }
                None => return Err(expected(src, Expected::AttrName, n)),
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
        Ok(Event::Attr(name))
    }

    /// In a `CONT` frame: the parts of an item record after its first.
    #[inline]
    fn cont(&mut self) -> Result<Option<Event<'a>>, Error> {
        let b = self.bytes();
        let i = skip_spaces(b, self.pos);
        self.pos = i;
        let c = at(b, i);
        if c == Some(b'@') {
            if self.len == 1 && !self.body_record {
                // A single-valued body cannot take attributes (the shape scan saw none).
                return Err(unexpected(self.src, i));
            }
            return self.attr(i).map(Some);
        }
        if self.st == St::ContAttr {
            match c {
                Some(b'{') => {
                    self.set_top(frame::RECORD | frame::THEN_CONT);
                    self.pos = i + 1;
                    self.st = St::ItemStart;
                    return Ok(None);
                }
                Some(b'[') => {
                    self.set_top(frame::MARKUP | frame::THEN_CONT);
                    self.pos = i + 1;
                    self.st = St::Markup;
                    return Ok(None);
                }
                Some(c) if is_prefix_operator(c) => return Err(expression(i)),
                Some(_) if lex::is_value_start(self.src, b, i) => {
                    let (event, end) = self.scalar(i)?;
                    self.pos = end;
                    self.st = St::ContValue;
                    return Ok(Some(event));
                }
                _ => {}
            }
        }
        // The item record ends here.
        if self.len > 1 {
            self.pop();
            return Ok(Some(Event::EndRecord));
        }
        self.body_end(i)
    }

    /// The end of a body reader's value at `i`: only a separator, blanks and comments may
    /// follow.
    fn body_end(&mut self, i: usize) -> Result<Option<Event<'a>>, Error> {
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
            Ok(Some(Event::EndRecord))
        } else if self.body_absent {
            Ok(Some(Event::Absent))
        } else {
            Ok(None)
        }
    }

    /// The start of a body reader.
    fn body_start(&mut self) -> Result<Option<Event<'a>>, Error> {
        let (src, b) = (self.src, self.bytes());
        let i = skip_blank(b, self.pos);
        self.pos = i;
        match at(b, i) {
            None => {
                self.st = St::Done;
                Ok(Some(Event::Absent))
            }
            Some(b'@') => {
                self.body_record = true;
                self.st = St::ContAttr;
                Ok(Some(Event::StartRecord))
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
                        Ok(Some(Event::StartRecord))
                    }
                    Shape::Absent => {
                        self.body_absent = true;
                        Ok(None)
                    }
                    Shape::Single => Ok(None),
                }
            }
            Some(_) if lex::is_value_start(src, b, i) => {
                let (event, end) = self.scalar(i)?;
                let j = skip_spaces(b, end);
                if at(b, j) == Some(b'@') {
                    self.body_record = true;
                    self.st = St::ContAttr;
                    return Ok(Some(Event::StartRecord));
                }
                self.pos = j;
                self.st = St::ContValue;
                Ok(Some(event))
            }
            Some(_) => Err(self.not_a_value(i, unexpected(src, i))),
        }
    }

    /// In a `MARKUP` frame: text, an inline item, a spliced group, or the closing `]`.
    #[inline]
    fn markup(&mut self) -> Result<Option<Event<'a>>, Error> {
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
                        Ok(None)
                    }
                    frame::THEN_END => {
                        self.pop();
                        Ok(Some(Event::EndRecord))
                    }
                    _ => {
                        self.pop();
                        Ok(None)
                    }
                }
            }
            Some(b'@') => {
                self.push(frame::INLINE, i)?;
                self.st = St::InlineStart;
                Ok(Some(Event::StartRecord))
            }
            Some(b'{') => {
                self.push(frame::RECORD | frame::THEN_POP, i)?;
                self.pos = i + 1;
                self.st = St::ItemStart;
                Ok(None)
            }
            Some(b'[') => {
                self.push(frame::MARKUP | frame::THEN_POP, i)?;
                self.pos = i + 1;
                Ok(None)
            }
            Some(b'}') => Err(unexpected(src, i)),
            Some(_) => {
                let (text, end) = lex::markup_text(src, b, i)?;
                self.pos = end;
                Ok(Some(Event::Text(text)))
            }
        }
    }
}
