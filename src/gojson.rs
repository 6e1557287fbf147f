//! JSON written exactly as Go's `encoding/json` (Go 1.22 and later) writes it:
//! object keys in the order given (Go sorts map keys; callers pass sorted
//! maps), `\b`, `\f`, `\n`, `\r`, `\t` and `\u00XX` for the other control
//! characters, and the HTML-safe escaping of `<`, `>`, `&`, U+2028 and U+2029
//! as `\u00XX` / `\u20XX`. Docker, kubectl (payloads and `-o json`), oc and
//! the upstream helpers all produce this form, so byte-for-byte comparisons
//! hold. Every Go-compatible byte we print goes through [`GoFormatter`].

use std::io;

use serde::Serialize;
use serde_json::ser::{CompactFormatter, Formatter, PrettyFormatter};
use serde_json::Value;

/// A serde_json [`Formatter`] that escapes strings as Go does, around a
/// layout (`CompactFormatter` or `PrettyFormatter`). serde_json already
/// writes Go's escapes for controls, `"` and `\`; this adds Go's HTML-safe
/// escapes inside the runs of text between them.
pub(crate) struct GoFormatter<F>(F);

impl<F: Formatter> Formatter for GoFormatter<F> {
    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        let bytes = fragment.as_bytes();
        let mut start = 0;
        for (i, &b) in bytes.iter().enumerate() {
            // Every escaped character starts with an ASCII byte or 0xE2 (the
            // lead byte of U+2028/U+2029), so `i` is a char boundary here.
            let escape: &[u8] = match b {
                b'<' => b"\\u003c",
                b'>' => b"\\u003e",
                b'&' => b"\\u0026",
                0xE2 if bytes[i + 1..].starts_with(&[0x80, 0xA8]) => b"\\u2028",
                0xE2 if bytes[i + 1..].starts_with(&[0x80, 0xA9]) => b"\\u2029",
                _ => continue,
            };
            writer.write_all(&bytes[start..i])?;
            writer.write_all(escape)?;
            start = i + if b == 0xE2 { 3 } else { 1 };
        }
        writer.write_all(&bytes[start..])
    }

    // The layout: everything that writes punctuation or whitespace.
    fn begin_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_array(w)
    }
    fn end_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_array(w)
    }
    fn begin_array_value<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.0.begin_array_value(w, first)
    }
    fn end_array_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_array_value(w)
    }
    fn begin_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_object(w)
    }
    fn end_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_object(w)
    }
    fn begin_object_key<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.0.begin_object_key(w, first)
    }
    fn end_object_key<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_object_key(w)
    }
    fn begin_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_object_value(w)
    }
    fn end_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_object_value(w)
    }
}

/// Lets serde_json write straight into a `String`: the serializer and
/// [`GoFormatter`] only ever split their output at char boundaries.
struct StringWriter<'a>(&'a mut String);

impl io::Write for StringWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let text =
            std::str::from_utf8(buf).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        self.0.push_str(text);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Serializes `value` into `out` with Go's escaping around `layout`.
fn write_with<T: Serialize + ?Sized, F: Formatter>(out: &mut String, value: &T, layout: F) {
    let mut ser = serde_json::Serializer::with_formatter(StringWriter(out), GoFormatter(layout));
    value
        .serialize(&mut ser)
        .expect("a JSON value or string always serializes to a String");
}

/// Appends `s` as a Go-escaped JSON string (with quotes) to `out`, without
/// an allocation: `list` writes every stored server URL and username
/// through here.
pub(crate) fn write_string(out: &mut String, s: &str) {
    out.reserve(s.len() + 2);
    write_with(out, s, CompactFormatter);
}

/// Appends `value` as compact Go-style JSON to `out`. Object keys keep the
/// value's own order (serde_json is built with `preserve_order`).
pub(crate) fn write_value(out: &mut String, value: &Value) {
    write_with(out, value, CompactFormatter);
}

/// `value` as compact Go-style JSON (`json.Marshal`).
pub(crate) fn to_string(value: &Value) -> String {
    let mut out = String::new();
    write_value(&mut out, value);
    out
}

/// `value` as Go's `json.MarshalIndent(v, "", indent)` writes it (docker and
/// containers/image save their config files with `indent` = a tab; kubectl's
/// `-o json` uses four spaces): one member per line, `": "` after keys, empty
/// objects and arrays as `{}` and `[]`, no trailing newline.
pub(crate) fn to_string_indent(value: &Value, indent: &str) -> String {
    let mut out = String::new();
    write_with(
        &mut out,
        value,
        PrettyFormatter::with_indent(indent.as_bytes()),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_like_go() {
        let mut out = String::new();
        write_string(&mut out, "<token>&\"\\\n\u{2028}\u{1}é\u{8}\u{c}\u{7f}/");
        assert_eq!(
            out,
            "\"\\u003ctoken\\u003e\\u0026\\\"\\\\\\n\\u2028\\u0001é\\b\\f\u{7f}/\""
        );
    }

    /// Go 1.22's rule, char by char, to check the formatter against.
    fn reference(s: &str) -> String {
        let mut out = String::from('"');
        for c in s.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                '\u{8}' => out.push_str("\\b"),
                '\u{c}' => out.push_str("\\f"),
                '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                    out.push_str(&format!("\\u{:04x}", c as u32))
                }
                c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
                c => out.push(c),
            }
        }
        out.push('"');
        out
    }

    #[test]
    fn fast_escaping_matches_the_char_rule() {
        let pieces = [
            "", "a", "quay.io", "<", ">", "&", "\"", "\\", "\n", "\r", "\t", "\u{0}", "\u{8}",
            "\u{c}", "\u{1f}", "\u{7f}", "é", "\u{2027}", "\u{2028}", "\u{2029}", "\u{202a}",
            "\u{20ac}", "😀", "\u{e2}",
        ];
        for a in pieces {
            for b in pieces {
                for c in pieces {
                    let s = format!("{a}{b}x{c}");
                    let mut out = String::from("prefix");
                    write_string(&mut out, &s);
                    assert_eq!(out, format!("prefix{}", reference(&s)), "{s:?}");
                }
            }
        }
    }

    #[test]
    fn compact_objects_keep_order() {
        let v: Value = serde_json::from_str(r#"{"b":1,"a":[true,null,"x"]}"#).unwrap();
        assert_eq!(to_string(&v), r#"{"b":1,"a":[true,null,"x"]}"#);
    }

    #[test]
    fn indented_like_go_marshal_indent() {
        let v: Value =
            serde_json::from_str(r#"{"auths":{"a<b":{}},"list":[1,[]],"credsStore":"keyring"}"#)
                .unwrap();
        assert_eq!(
            to_string_indent(&v, "\t"),
            "{\n\t\"auths\": {\n\t\t\"a\\u003cb\": {}\n\t},\n\t\"list\": [\n\t\t1,\n\t\t[]\n\t],\n\t\"credsStore\": \"keyring\"\n}"
        );
        assert_eq!(to_string_indent(&serde_json::json!({}), "\t"), "{}");
    }
}
