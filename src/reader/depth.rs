//! The nesting-depth pre-scan every JSON and YAML document goes through
//! before a parser sees it: one linear pass that refuses a document nested
//! deeper than [`MAX_DEPTH`] levels.
//!
//! Why a pre-scan: the YAML parser (libyaml) spends time proportional to the
//! flow nesting (`[[[...` or `{a: {a: ...`) on every token, so a 128 KB
//! document of brackets took half a minute before its own recursion limit
//! refused it. A bracket counter is not enough: brackets inside quoted,
//! plain and block scalars and comments are text, and block collections
//! (`- - - x`, deeper and deeper indentation) nest without any bracket.
//!
//! So this follows libyaml's scanner where it decides what is a token: the
//! flow level (`[`/`{` and their ends outside scalars and comments) exactly,
//! and the block indentation stack as libyaml rolls and unrolls it (which
//! also decides where plain and block scalars end). The depth is the block
//! stack plus the flow level. JSON is YAML's flow syntax, so the same scan
//! measures JSON exactly. Where libyaml would stop with an error, the scan
//! just goes on: it may then over-count, never under-count what the parser
//! reads.
//!
//! The same pass finds YAML aliases, which [`check_yaml`] refuses.

use super::{ErrorKind, ReadError};

/// Deepest nesting a document may have. The documents read here are shallow:
/// a pull secret is 3 levels (`auths` → registry → field), a Secret 3, a
/// `List` of ServiceAccounts with `managedFields` about 10; the parsers stop
/// at 128 on their own. 64 leaves room for any real document and keeps the
/// parser's per-token cost small.
pub(crate) const MAX_DEPTH: usize = 64;

/// Refuses `text` if it nests deeper than [`MAX_DEPTH`], with the position
/// where it first does.
pub(crate) fn check(text: &str) -> Result<(), ReadError> {
    check_with_limit(text, MAX_DEPTH)
}

/// Most tokens (keys, values, indicators) a YAML document may have. The YAML
/// parser keeps every event of a document in memory, about a hundred times
/// the bytes of a document of short values (16 MiB took 1.9 GB), so its size
/// is bounded by tokens, not bytes. A Secret has a few dozen; a `List` of ten
/// thousand ServiceAccounts under a million. JSON input has no such cost.
pub(crate) const MAX_YAML_TOKENS: usize = 1_000_000;

/// [`check`] for YAML, which also refuses more than [`MAX_YAML_TOKENS`]
/// tokens and the first alias (`*name`): a
/// handful of aliases to an anchored collection expand an 80 KB document
/// into gigabytes (the parser's own limit counts alias uses, not what each
/// copies), and no pull secret, Secret or ServiceAccount needs one.
pub(crate) fn check_yaml(text: &str) -> Result<(), ReadError> {
    let mut scan = Scan::new(text, MAX_DEPTH);
    scan.max_tokens = MAX_YAML_TOKENS;
    scan.run()?;
    match scan.first_alias {
        Some((line, column)) => Err(ReadError {
            kind: ErrorKind::Alias,
            line,
            column,
        }),
        None => Ok(()),
    }
}

pub(crate) fn check_with_limit(text: &str, limit: usize) -> Result<(), ReadError> {
    Scan::new(text, limit).run()
}

/// The deepest nesting the scan sees in `text`: (total, flow, block), for tests.
#[cfg(test)]
fn measure(text: &str) -> (usize, usize, usize) {
    let mut scan = Scan::new(text, usize::MAX);
    scan.run().expect("no limit");
    scan.max
}

/// A saved simple key at flow level 0 (libyaml's `simple_key`): where a
/// block mapping starts if a `:` follows on the same line.
#[derive(Clone, Copy)]
struct Key {
    col: usize,
    line: usize,
    pos: usize,
}

struct Scan<'a> {
    s: &'a [u8],
    pos: usize,
    /// Line and column (in characters), from 0, as libyaml counts them.
    line: usize,
    col: usize,
    /// libyaml's flow level.
    flow: usize,
    /// libyaml's block indentation and its stack.
    indent: isize,
    indents: Vec<isize>,
    /// libyaml's `simple_key_allowed`.
    key_allowed: bool,
    /// The possible simple key of flow level 0.
    key: Option<Key>,
    limit: usize,
    /// The deepest nesting seen so far: total, flow, block.
    max: (usize, usize, usize),
    /// Where the first alias token is (1-based line and column).
    first_alias: Option<(usize, usize)>,
    /// Tokens seen, and how many are allowed.
    tokens: usize,
    max_tokens: usize,
}

impl<'a> Scan<'a> {
    /// A scan at the start of `text`, in libyaml's initial state.
    fn new(text: &'a str, limit: usize) -> Self {
        Scan {
            s: text.as_bytes(),
            pos: 0,
            line: 0,
            col: 0,
            flow: 0,
            indent: -1,
            indents: Vec::new(),
            key_allowed: true,
            key: None,
            limit,
            max: (0, 0, 0),
            first_alias: None,
            tokens: 0,
            max_tokens: usize::MAX,
        }
    }

    fn at(&self, offset: usize) -> u8 {
        self.s.get(self.pos + offset).copied().unwrap_or(0)
    }

    /// Length in bytes of the line break at `pos + offset`, 0 if none
    /// (LF, CR, CRLF, NEL, LS, PS as libyaml counts them).
    fn break_len(&self, offset: usize) -> usize {
        let rest = &self.s[(self.pos + offset).min(self.s.len())..];
        match rest {
            [b'\r', b'\n', ..] => 2,
            [b'\r' | b'\n', ..] => 1,
            [0xC2, 0x85, ..] => 2,
            [0xE2, 0x80, 0xA8 | 0xA9, ..] => 3,
            _ => 0,
        }
    }

    fn is_break(&self, offset: usize) -> bool {
        self.break_len(offset) > 0
    }

    fn is_blank(&self, offset: usize) -> bool {
        matches!(self.at(offset), b' ' | b'\t')
    }

    /// Blank, line break or end of input (libyaml's `IS_BLANKZ`).
    fn is_blankz(&self, offset: usize) -> bool {
        self.is_blank(offset) || self.is_break(offset) || self.at(offset) == 0
    }

    fn eof(&self) -> bool {
        self.pos >= self.s.len()
    }

    /// Steps over one character (not a line break).
    fn skip(&mut self) {
        let width = match self.at(0) {
            b if b < 0x80 => 1,
            b if b >= 0xF0 => 4,
            b if b >= 0xE0 => 3,
            _ => 2,
        };
        self.pos = (self.pos + width).min(self.s.len());
        self.col += 1;
    }

    /// Steps over the line break at the current position.
    fn skip_line(&mut self) {
        self.pos += self.break_len(0).max(1);
        self.line += 1;
        self.col = 0;
    }

    fn too_deep(&self) -> ReadError {
        ReadError {
            kind: ErrorKind::TooDeep,
            line: self.line + 1,
            column: self.col + 1,
        }
    }

    /// The current depth, checked against the limit.
    fn check_depth(&mut self) -> Result<(), ReadError> {
        let depth = self.indents.len() + self.flow;
        self.max = (
            self.max.0.max(depth),
            self.max.1.max(self.flow),
            self.max.2.max(self.indents.len()),
        );
        if depth > self.limit {
            return Err(self.too_deep());
        }
        Ok(())
    }

    fn roll_indent(&mut self, col: usize) -> Result<(), ReadError> {
        if self.flow == 0 && self.indent < col as isize {
            self.indents.push(self.indent);
            self.indent = col as isize;
            self.check_depth()?;
        }
        Ok(())
    }

    fn unroll_indent(&mut self, col: isize) {
        if self.flow == 0 {
            while self.indent > col {
                self.indent = self.indents.pop().unwrap_or(-1);
            }
        }
    }

    /// libyaml's `save_simple_key` (only flow level 0's key matters here).
    fn save_key(&mut self) {
        if self.key_allowed && self.flow == 0 {
            self.key = Some(Key {
                col: self.col,
                line: self.line,
                pos: self.pos,
            });
        }
    }

    fn remove_key(&mut self) {
        if self.flow == 0 {
            self.key = None;
        }
    }

    fn doc_indicator(&self) -> bool {
        self.col == 0
            && ((self.at(0) == b'-' && self.at(1) == b'-' && self.at(2) == b'-')
                || (self.at(0) == b'.' && self.at(1) == b'.' && self.at(2) == b'.'))
            && self.is_blankz(3)
    }

    fn run(&mut self) -> Result<(), ReadError> {
        loop {
            self.skip_to_next_token();
            if self.eof() {
                return Ok(());
            }
            self.tokens += 1;
            if self.tokens > self.max_tokens {
                return Err(ReadError {
                    kind: ErrorKind::TooManyTokens,
                    line: self.line + 1,
                    column: self.col + 1,
                });
            }
            self.unroll_indent(self.col as isize);
            let (c, next_blankz) = (self.at(0), self.is_blankz(1));
            if self.col == 0 && c == b'%' {
                self.unroll_indent(-1);
                self.remove_key();
                self.key_allowed = false;
                while !self.eof() && !self.is_break(0) {
                    self.skip();
                }
            } else if self.doc_indicator() {
                self.unroll_indent(-1);
                self.remove_key();
                self.key_allowed = false;
                (0..3).for_each(|_| self.skip());
            } else if c == b'[' || c == b'{' {
                self.save_key();
                self.flow += 1;
                self.check_depth()?;
                self.key_allowed = true;
                self.skip();
            } else if c == b']' || c == b'}' {
                self.remove_key();
                self.flow = self.flow.saturating_sub(1);
                self.key_allowed = false;
                self.skip();
            } else if c == b',' {
                self.remove_key();
                self.key_allowed = true;
                self.skip();
            } else if c == b'-' && next_blankz {
                self.roll_indent(self.col)?;
                self.remove_key();
                self.key_allowed = true;
                self.skip();
            } else if c == b'?' && (self.flow > 0 || next_blankz) {
                self.roll_indent(self.col)?;
                self.remove_key();
                self.key_allowed = self.flow == 0;
                self.skip();
            } else if c == b':' && (self.flow > 0 || next_blankz) {
                self.value()?;
            } else if c == b'*' || c == b'&' {
                if c == b'*' && self.first_alias.is_none() {
                    self.first_alias = Some((self.line + 1, self.col + 1));
                }
                self.save_key();
                self.key_allowed = false;
                self.skip();
                while self.at(0).is_ascii_alphanumeric() || matches!(self.at(0), b'_' | b'-') {
                    self.skip();
                }
            } else if c == b'!' {
                self.save_key();
                self.key_allowed = false;
                self.tag();
            } else if (c == b'|' || c == b'>') && self.flow == 0 {
                self.remove_key();
                self.key_allowed = true;
                self.block_scalar();
            } else if c == b'\'' || c == b'"' {
                self.save_key();
                self.key_allowed = false;
                self.quoted(c);
            } else if self.plain_start() {
                self.save_key();
                self.key_allowed = false;
                if self.plain() {
                    self.key_allowed = true;
                }
            } else {
                // A character no token starts with: libyaml stops here.
                self.skip();
            }
        }
    }

    /// libyaml's `scan_skip_to_next_token`: spaces, tabs where allowed, comments, line breaks.
    fn skip_to_next_token(&mut self) {
        loop {
            if self.col == 0 && self.s[self.pos..].starts_with("\u{feff}".as_bytes()) {
                self.skip();
            }
            while self.at(0) == b' '
                || ((self.flow > 0 || !self.key_allowed) && self.at(0) == b'\t')
            {
                self.skip();
            }
            if self.at(0) == b'#' {
                while !self.eof() && !self.is_break(0) {
                    self.skip();
                }
            }
            if self.eof() || !self.is_break(0) {
                return;
            }
            self.skip_line();
            if self.flow == 0 {
                self.key_allowed = true;
            }
        }
    }

    /// `:` as a value indicator: a block mapping starts at the simple key's
    /// column (or at the `:` itself after an explicit `?` key).
    fn value(&mut self) -> Result<(), ReadError> {
        let key = self
            .key
            .filter(|k| k.line == self.line && k.pos + 1024 >= self.pos);
        if self.flow == 0 {
            match key {
                Some(key) => {
                    self.roll_indent(key.col)?;
                    self.key = None;
                    self.key_allowed = false;
                }
                None => {
                    self.roll_indent(self.col)?;
                    self.key_allowed = true;
                }
            }
        } else {
            self.key_allowed = false;
        }
        self.skip();
        Ok(())
    }

    /// Whether the character here starts a plain scalar (libyaml's rule).
    fn plain_start(&self) -> bool {
        let c = self.at(0);
        let indicator = self.is_blankz(0) || b"-?:,[]{}#&*!|>'\"%@`".contains(&c);
        !indicator
            || (c == b'-' && !self.is_blank(1))
            || (self.flow == 0 && (c == b'?' || c == b':') && !self.is_blankz(1))
    }

    /// A plain scalar, possibly over several lines. Returns whether it ended
    /// after a line break (libyaml then allows a simple key again).
    fn plain(&mut self) -> bool {
        let min_col = self.indent + 1;
        let mut leading_blanks = false;
        loop {
            if self.doc_indicator() || self.at(0) == b'#' {
                break;
            }
            while !self.is_blankz(0) {
                let c = self.at(0);
                // Inside a flow, `:` before a flow indicator is an error in
                // libyaml; ending the scalar there too can only over-count.
                if (c == b':'
                    && (self.is_blankz(1) || (self.flow > 0 && b",?[]{}".contains(&self.at(1)))))
                    || (self.flow > 0 && b",[]{}".contains(&c))
                {
                    break;
                }
                leading_blanks = false;
                self.skip();
            }
            if !(self.is_blank(0) || self.is_break(0)) {
                break;
            }
            while self.is_blank(0) || self.is_break(0) {
                if self.is_blank(0) {
                    self.skip();
                } else {
                    self.skip_line();
                    leading_blanks = true;
                }
            }
            if self.flow == 0 && (self.col as isize) < min_col {
                break;
            }
        }
        leading_blanks
    }

    /// A single- or double-quoted scalar, possibly over several lines.
    fn quoted(&mut self, quote: u8) {
        self.skip();
        loop {
            if self.eof() || self.doc_indicator() {
                return;
            }
            let c = self.at(0);
            if quote == b'\'' && c == b'\'' && self.at(1) == b'\'' {
                self.skip();
                self.skip();
            } else if c == quote {
                self.skip();
                return;
            } else if quote == b'"' && c == b'\\' {
                self.skip();
                if self.is_break(0) {
                    self.skip_line();
                } else if !self.eof() {
                    self.skip();
                }
            } else if self.is_break(0) {
                self.skip_line();
            } else {
                self.skip();
            }
        }
    }

    /// A tag: `!<uri>` or `!handle!suffix` / `!suffix` (libyaml's URI characters).
    fn tag(&mut self) {
        let uri = |c: u8, verbatim: bool| {
            c.is_ascii_alphanumeric()
                || b"_-;/?:@&=+$.%!~*'()".contains(&c)
                || (verbatim && b",[]".contains(&c))
        };
        self.skip();
        if self.at(0) == b'<' {
            self.skip();
            while uri(self.at(0), true) {
                self.skip();
            }
            if self.at(0) == b'>' {
                self.skip();
            }
        } else {
            while uri(self.at(0), false) {
                self.skip();
            }
        }
    }

    /// A literal or folded block scalar: its header, then every line indented
    /// at least as far as its content (libyaml's `scan_block_scalar`).
    fn block_scalar(&mut self) {
        self.skip();
        let mut increment = 0usize;
        for _ in 0..2 {
            match self.at(0) {
                b'+' | b'-' => self.skip(),
                d @ b'1'..=b'9' => {
                    increment = usize::from(d - b'0');
                    self.skip();
                }
                _ => {}
            }
        }
        while self.is_blank(0) {
            self.skip();
        }
        if self.at(0) == b'#' {
            while !self.eof() && !self.is_break(0) {
                self.skip();
            }
        }
        if !self.is_break(0) {
            // libyaml stops: "did not find expected comment or line break".
            return;
        }
        self.skip_line();
        let mut indent = if increment > 0 {
            (self.indent.max(0) as usize) + increment
        } else {
            0
        };
        let mut max_indent = 0;
        // Leading empty lines; they also fix the indentation when not given.
        loop {
            while (indent == 0 || self.col < indent) && self.at(0) == b' ' {
                self.skip();
            }
            max_indent = max_indent.max(self.col);
            if !self.is_break(0) {
                break;
            }
            self.skip_line();
        }
        if indent == 0 {
            indent = max_indent.max((self.indent + 1) as usize).max(1);
        }
        while self.col == indent && !self.eof() {
            while !self.eof() && !self.is_break(0) {
                self.skip();
            }
            if self.eof() {
                return;
            }
            self.skip_line();
            loop {
                while self.col < indent && self.at(0) == b' ' {
                    self.skip();
                }
                if !self.is_break(0) {
                    break;
                }
                self.skip_line();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn measured(text: &str) -> usize {
        let max = measure(text).0;
        assert!(
            check_with_limit(text, max).is_ok()
                && check_with_limit(text, max.wrapping_sub(1)).is_err()
                || max == 0,
            "{text:?}"
        );
        max
    }

    /// libyaml's own nesting for `text`, (flow, block) collections, from its
    /// token stream, up to the end or its first error.
    fn libyaml_depth(text: &str) -> (usize, usize) {
        use unsafe_libyaml_norway as unsafe_yaml;
        use unsafe_yaml::yaml_token_type_t::*;
        let (mut flow, mut block, mut max) = (0usize, 0usize, (0, 0));
        // SAFETY: the parser and token live on this stack frame; every
        // scanned token is deleted; the input outlives the parser.
        unsafe {
            let mut parser = std::mem::MaybeUninit::<unsafe_yaml::yaml_parser_t>::zeroed();
            let parser = parser.as_mut_ptr();
            assert!(unsafe_yaml::yaml_parser_initialize(parser).ok);
            unsafe_yaml::yaml_parser_set_input_string(parser, text.as_ptr(), text.len() as _);
            let mut token = std::mem::MaybeUninit::<unsafe_yaml::yaml_token_t>::zeroed();
            loop {
                if unsafe_yaml::yaml_parser_scan(parser, token.as_mut_ptr()).fail {
                    break;
                }
                let kind = (*token.as_ptr()).type_;
                unsafe_yaml::yaml_token_delete(token.as_mut_ptr());
                match kind {
                    YAML_FLOW_SEQUENCE_START_TOKEN | YAML_FLOW_MAPPING_START_TOKEN => flow += 1,
                    YAML_FLOW_SEQUENCE_END_TOKEN | YAML_FLOW_MAPPING_END_TOKEN => {
                        flow = flow.saturating_sub(1)
                    }
                    YAML_BLOCK_SEQUENCE_START_TOKEN | YAML_BLOCK_MAPPING_START_TOKEN => block += 1,
                    YAML_BLOCK_END_TOKEN => block = block.saturating_sub(1),
                    YAML_STREAM_END_TOKEN => break,
                    _ => {}
                }
                max = (max.0.max(flow), max.1.max(block));
            }
            unsafe_yaml::yaml_parser_delete(parser);
        }
        max
    }

    /// Random documents from YAML's special characters: the scan never
    /// counts fewer flow levels (what libyaml's time grows with) nor block
    /// levels than libyaml's tokens open before it stops. (A block mapping
    /// whose key is a flow collection opens before that key, one level the
    /// total may miss; such a key is one line of at most 1024 characters.)
    #[test]
    fn never_less_than_libyaml() {
        const PIECES: &[&str] = &[
            "[", "]", "{", "}", ",", ":", ": ", "- ", "? ", "#", " #", "'", "\"", "\\", "|", ">",
            "|2", ">-", "!", "!!int ", "!<a[b]> ", "&a ", "*a", "%", "---", "...", "a", "b: ",
            "\n", "\n  ", "\n    ", "\n- ", "\t", " ", "x'y", "\r\n", "\u{2028}", "é", "@",
        ];
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..30_000 {
            let len = 1 + (next() % 32) as usize;
            let text: String = (0..len)
                .map(|_| PIECES[(next() % PIECES.len() as u64) as usize])
                .collect();
            let (_, flow, block) = measure(&text);
            let theirs = libyaml_depth(&text);
            assert!(
                flow >= theirs.0 && block >= theirs.1,
                "{text:?}: scan {:?} < libyaml {theirs:?}",
                (flow, block)
            );
        }
    }

    #[test]
    fn measures_flow_and_block_nesting() {
        assert_eq!(measured(r#"{"auths":{"a.io":{"auth":"YTpi"}}}"#), 3);
        assert_eq!(measured("[[[]]]"), 3);
        assert_eq!(measured("a: [[1]]\n"), 3);
        assert_eq!(measured("- - - x\n"), 3);
        assert_eq!(measured("a:\n  b:\n    c: d\n"), 3);
        assert_eq!(measured("a: {b: [c, {d: e}]}\n"), 4);
        assert_eq!(measured("- a: 1\n  b:\n  - c\n"), 2);
    }

    #[test]
    fn brackets_in_scalars_and_comments_are_text() {
        for text in [
            "a: \"[[[[\"\n",
            "a: '[[[[ '' [[['\n",
            "a: x[[[[\n",
            "a: b # [[[[\n",
            "# [[[[\na: b\n",
            "a: |\n  [[[[\n  {{{{\nb: c\n",
            "a: >-\n    [[[[\n\n    [[[[\n",
            "a: \"multi\n  line [[[[\"\n",
            "a: plain\n  continued [[[[\n",
            "a: !tag [[]]\n",
            "{\"a\": \"[[[[\\\"[[[[\"}",
        ] {
            assert!(measured(text) <= 3, "{text:?}: {}", measured(text));
        }
    }

    /// Places where a naive reader would see a string but libyaml sees
    /// structure: the scan must count those brackets.
    #[test]
    fn structure_that_looks_like_text_is_counted() {
        let deep = "[".repeat(20);
        for text in [
            // A quote inside a plain scalar does not start a string.
            format!("a: it's\nb: {deep}"),
            format!("[a'b, {deep}"),
            format!("a: foo\n  \"\nb: {deep}"),
            // A block scalar ends at a less indented line.
            format!("a: |\n  \"\nb: {deep}"),
            // In a flow, a bracket ends a plain scalar; `:` inside one does not.
            format!("[a{deep}"),
            format!("[a:'b, {deep}"),
            // A comment needs a space before '#'.
            format!("[a#b, {deep}"),
        ] {
            assert!(measured(&text) >= 20, "{text:?}: {}", measured(&text));
        }
    }

    #[test]
    fn refuses_with_the_position() {
        let text = format!("a:\n  b: {}", "[".repeat(100));
        let err = check(&text).unwrap_err();
        assert_eq!(err.kind, ErrorKind::TooDeep);
        assert_eq!((err.line, err.column), (2, MAX_DEPTH + 4));
        let block: String = (0..100).map(|i| format!("{}a:\n", " ".repeat(i))).collect();
        assert_eq!(check(&block).unwrap_err().line, MAX_DEPTH + 1);
        assert!(check(&"- ".repeat(100)).is_err());
    }
}
