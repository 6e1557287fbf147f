//! Reading JSON and YAML documents that may hold secrets (pull secrets,
//! docker config files, ServiceAccounts, `store` requests): the one place a
//! parser sees such input.
//!
//! Two guarantees, whatever the input's shape:
//! - an error never carries text of the input. The parsers' own messages
//!   quote values (a YAML `!!int` tag on a password prints the password), so
//!   every error is rebuilt from a position and a kind chosen here;
//! - reading takes time linear in the input: [`depth`] refuses deep nesting
//!   before a parser sees it (libyaml's time grows with the nesting depth).

pub(crate) mod depth;
pub(crate) mod source;

use std::fmt;

use serde_json::Value;

pub(crate) use depth::MAX_DEPTH;

/// The syntax a document is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Syntax {
    Json,
    Yaml,
}

impl Syntax {
    /// JSON when the document starts with `{` (after a BOM and whitespace), YAML otherwise.
    pub fn guess(text: &str) -> Syntax {
        if text
            .trim_start_matches('\u{feff}')
            .trim_start()
            .starts_with('{')
        {
            Syntax::Json
        } else {
            Syntax::Yaml
        }
    }
}

/// Why a document could not be read, and where: never the input's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadError {
    pub(crate) kind: ErrorKind,
    /// 1-based; 0 when the parser gave no position.
    pub(crate) line: usize,
    pub(crate) column: usize,
}

/// What went wrong, in words chosen here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ErrorKind {
    /// Nested deeper than [`MAX_DEPTH`].
    TooDeep,
    /// Past the pre-scan, nested deeper than the parser allows (sequences in
    /// sequences at one indentation).
    ParserTooDeep,
    /// A syntax error; the text is one of the parsers' fixed descriptions
    /// (see [`SYNTAX_PROBLEMS`]) or a generic one.
    Syntax(&'static str),
    /// The document ends in the middle of a value.
    UnexpectedEnd,
    /// A YAML value whose type tag (`!!int`, `!!bool`, ...) it does not match.
    TagMismatch,
    /// A YAML value JSON cannot hold (a custom tag, a key that is not a string).
    NotJsonValue,
    /// A YAML alias (`*name`): refused before parsing (see [`depth::check_yaml`]).
    Alias,
    /// A YAML document of more than [`depth::MAX_YAML_TOKENS`] tokens.
    TooManyTokens,
    /// More than one YAML document (`---`).
    SeveralDocuments,
    /// The bytes are not UTF-8.
    NotUtf8,
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorKind::TooDeep => write!(f, "nesting deeper than {MAX_DEPTH} levels"),
            ErrorKind::ParserTooDeep => f.write_str(
                "nesting deeper than the parser's limit (sequences nested at one indentation)",
            ),
            ErrorKind::Syntax(what) => write!(f, "syntax error ({what})"),
            ErrorKind::UnexpectedEnd => f.write_str("unexpected end of input"),
            ErrorKind::TagMismatch => f.write_str(
                "a value does not match its type tag (remove the !!int, !!float, !!bool or !!null tag)",
            ),
            ErrorKind::NotJsonValue => f.write_str(
                "a value JSON cannot hold (a custom tag, or a key that is not a string)",
            ),
            ErrorKind::TooManyTokens => write!(
                f,
                "more than {} YAML values, keys and indicators (the YAML reader keeps each in memory); give the document as JSON (kubectl/oc -o json)",
                depth::MAX_YAML_TOKENS
            ),
            ErrorKind::Alias => f.write_str(
                "a YAML alias (*name): aliases are not read, since a few can expand a small document into gigabytes; write the value out",
            ),
            ErrorKind::SeveralDocuments => f.write_str("more than one YAML document"),
            ErrorKind::NotUtf8 => f.write_str("not UTF-8 text"),
        }
    }
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.kind)?;
        if self.line > 0 {
            write!(f, " at line {}, column {}", self.line, self.column)?;
        }
        Ok(())
    }
}

impl std::error::Error for ReadError {}

/// Parses `text` as `syntax` into a JSON value, after the depth check.
pub fn parse(text: &str, syntax: Syntax) -> Result<Value, ReadError> {
    match syntax {
        Syntax::Json => depth::check(text)?,
        Syntax::Yaml => depth::check_yaml(text)?,
    }
    match syntax {
        Syntax::Json => serde_json::from_str(text).map_err(|e| json_error(&e)),
        Syntax::Yaml => serde_norway::from_str(text).map_err(|e| yaml_error(&e)),
    }
}

/// [`parse`] for bytes that should be UTF-8 JSON (a file read from disk).
pub(crate) fn parse_json_bytes(bytes: &[u8]) -> Result<Value, ReadError> {
    match std::str::from_utf8(bytes) {
        Ok(text) => parse(text, Syntax::Json),
        Err(err) => {
            let before = &bytes[..err.valid_up_to()];
            let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
            let line_start = before
                .iter()
                .rposition(|&b| b == b'\n')
                .map_or(0, |i| i + 1);
            let column = String::from_utf8_lossy(&before[line_start..])
                .chars()
                .count()
                + 1;
            Err(ReadError {
                kind: ErrorKind::NotUtf8,
                line,
                column,
            })
        }
    }
}

/// The fixed descriptions serde_json gives for syntax errors.
const JSON_PROBLEMS: &[&str] = &[
    "EOF while parsing a list",
    "EOF while parsing an object",
    "EOF while parsing a string",
    "EOF while parsing a value",
    "expected `:`",
    "expected `,` or `]`",
    "expected `,` or `}`",
    "expected ident",
    "expected value",
    "expected `\"`",
    "invalid escape",
    "invalid number",
    "number out of range",
    "invalid unicode code point",
    "control character (\\u0000-\\u001F) found while parsing a string",
    "key must be a string",
    "lone leading surrogate in hex escape",
    "trailing comma",
    "trailing characters",
    "unexpected end of hex escape",
];

/// The fixed problem descriptions of libyaml's scanner and parser.
pub(crate) const SYNTAX_PROBLEMS: &[&str] = &[
    "block sequence entries are not allowed in this context",
    "control characters are not allowed",
    "could not find expected ':'",
    "did not find expected ',' or ']'",
    "did not find expected ',' or '}'",
    "did not find expected '-' indicator",
    "did not find expected <document start>",
    "did not find expected alphabetic or numeric character",
    "did not find expected comment or line break",
    "did not find expected hexadecimal number",
    "did not find expected key",
    "did not find expected node content",
    "did not find expected tag URI",
    "did not find expected whitespace or line break",
    "did not find the expected '>'",
    "found a tab character that violates indentation",
    "found a tab character where an indentation space is expected",
    "found an indentation indicator equal to 0",
    "found character that cannot start any token",
    "found undefined tag handle",
    "found unexpected ':'",
    "found unexpected document indicator",
    "found unexpected end of stream",
    "found unknown escape character",
    "found invalid Unicode character escape code",
    "mapping keys are not allowed in this context",
    "mapping values are not allowed in this context",
    "invalid Unicode character",
    "found incompatible YAML document",
    "found duplicate %YAML directive",
    "found duplicate %TAG directive",
];

fn json_error(err: &serde_json::Error) -> ReadError {
    use serde_json::error::Category;
    let message = err.to_string();
    let problem = message.split(" at line ").next().unwrap_or_default();
    let kind = if problem == "recursion limit exceeded" {
        ErrorKind::ParserTooDeep
    } else if err.classify() == Category::Eof {
        ErrorKind::UnexpectedEnd
    } else {
        ErrorKind::Syntax(
            JSON_PROBLEMS
                .iter()
                .find(|known| **known == problem)
                .copied()
                .unwrap_or("not JSON"),
        )
    };
    ReadError {
        kind,
        line: err.line(),
        column: err.column(),
    }
}

/// Classifies a serde_norway error by its message, which is never passed on:
/// only the kind and the position leave this function.
fn yaml_error(err: &serde_norway::Error) -> ReadError {
    let message = err.to_string();
    let starts = |fixed: &str| message.starts_with(fixed);
    let kind = if let Some(problem) = SYNTAX_PROBLEMS.iter().find(|p| {
        message.strip_prefix(**p).is_some_and(|rest| {
            rest.is_empty() || rest.starts_with(" at ") || rest.starts_with(", ")
        })
    }) {
        ErrorKind::Syntax(problem)
    } else if starts("recursion limit exceeded") {
        ErrorKind::ParserTooDeep
    } else if starts("EOF while parsing") {
        ErrorKind::UnexpectedEnd
    } else if starts("deserializing from YAML containing more than one document") {
        ErrorKind::SeveralDocuments
    } else if message.contains("invalid value: ") {
        ErrorKind::TagMismatch
    } else if message.contains("invalid type: ") {
        ErrorKind::NotJsonValue
    } else {
        ErrorKind::Syntax("not YAML")
    };
    let (line, column) = err.location().map_or((0, 0), |at| (at.line(), at.column()));
    ReadError { kind, line, column }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "YmlSeCrEt42";

    fn yaml_err(text: &str) -> ReadError {
        parse(text, Syntax::Yaml).unwrap_err()
    }

    #[test]
    fn type_tags_give_a_kind_and_a_position_not_the_value() {
        for tag in ["!!int", "!!float", "!!bool", "!!null"] {
            let text = format!("auths:\n  x.io:\n    password: {tag} {SECRET}\n    username: u\n");
            let err = yaml_err(&text);
            assert_eq!(err.kind, ErrorKind::TagMismatch, "{tag}");
            assert_eq!((err.line, err.column), (3, 15), "{tag}");
            assert!(!err.to_string().contains(SECRET), "{err}");
        }
    }

    #[test]
    fn yaml_kinds() {
        let alias = yaml_err("a: &x 1\nb: [1, *x]\n");
        assert_eq!(
            (alias.kind, alias.line, alias.column),
            (ErrorKind::Alias, 2, 8)
        );
        assert_eq!(yaml_err("a: *nope\n").kind, ErrorKind::Alias);
        // A `*` inside a scalar is text, and an anchor alone is harmless.
        assert!(parse("a: '*x'\nb: x*y\nc: &x 1\n", Syntax::Yaml).is_ok());
        assert_eq!(yaml_err("a: !custom x\n").kind, ErrorKind::NotJsonValue);
        assert_eq!(yaml_err("? [a]\n: b\n").kind, ErrorKind::NotJsonValue);
        assert_eq!(
            yaml_err("a: 1\n---\nb: 2\n").kind,
            ErrorKind::SeveralDocuments
        );
        assert_eq!(yaml_err("a: &x\n  b: *x\n").kind, ErrorKind::Alias);
        assert_eq!(
            yaml_err("key: [unclosed\n").kind,
            ErrorKind::Syntax("did not find expected ',' or ']'")
        );
        assert_eq!(
            yaml_err("a: \"x\\qy\"\n").kind,
            ErrorKind::Syntax("found unknown escape character")
        );
        let laughs = "a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\ng: [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n";
        assert_eq!(yaml_err(laughs).kind, ErrorKind::Alias);
        // Many short values: refused by count before the parser holds them
        // all; the same values as JSON are read.
        let many = format!("a: [{}]\n", vec!["x"; depth::MAX_YAML_TOKENS].join(","));
        assert_eq!(yaml_err(&many).kind, ErrorKind::TooManyTokens);
        let fewer = format!("a: [{}]\n", vec!["x"; depth::MAX_YAML_TOKENS / 3].join(","));
        assert!(parse(&fewer, Syntax::Yaml).is_ok());
        let json = format!(
            "{{\"a\": [{}]}}",
            vec!["1"; depth::MAX_YAML_TOKENS].join(",")
        );
        assert!(parse(&json, Syntax::Json).is_ok());
    }

    #[test]
    fn json_kinds() {
        let err = parse(&format!(r#"{{"a":"{SECRET}" x}}"#), Syntax::Json).unwrap_err();
        assert_eq!(err.kind, ErrorKind::Syntax("expected `,` or `}`"));
        assert_eq!(
            parse(r#"{"a":"#, Syntax::Json).unwrap_err().kind,
            ErrorKind::UnexpectedEnd
        );
        assert_eq!(
            parse_json_bytes(b"{\"a\":\n\"\xff\"}").unwrap_err(),
            ReadError {
                kind: ErrorKind::NotUtf8,
                line: 2,
                column: 2
            }
        );
    }

    #[test]
    fn deep_nesting_is_refused_before_parsing() {
        for (text, syntax) in [
            (format!("{{\"a\":{}", "[".repeat(200_000)), Syntax::Json),
            (format!("a: {}", "[".repeat(200_000)), Syntax::Yaml),
            (format!("a: {}", "{a: ".repeat(200_000)), Syntax::Yaml),
            ("- ".repeat(200_000), Syntax::Yaml),
        ] {
            let err = parse(&text, syntax).unwrap_err();
            assert_eq!(err.kind, ErrorKind::TooDeep, "{}", &text[..10]);
            assert_eq!(err.line, 1);
        }
    }
}
