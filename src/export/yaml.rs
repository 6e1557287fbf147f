//! YAML in and out for manifests. Writing is done here by hand (block style as
//! kubectl prints it; a string stays plain only when no YAML 1.1 or 1.2 reader
//! could take it for anything but that string, else it is double-quoted with
//! JSON escapes, which YAML accepts). Reading uses `serde_norway` into a JSON value.

use anyhow::Result;
use serde_json::Value;

/// `value` as a YAML document (block style, trailing newline).
pub fn to_string(value: &Value) -> String {
    let mut out = String::new();
    match value {
        Value::Object(map) if !map.is_empty() => write_map(&mut out, map, 0),
        Value::Array(items) if !items.is_empty() => write_seq(&mut out, items, 0),
        scalar => {
            write_scalar(&mut out, scalar);
            out.push('\n');
        }
    }
    out
}

/// Parses a YAML (or JSON, a YAML subset) document into a JSON value
/// (through [`crate::reader`]: bounded nesting, errors without the input's text).
pub fn parse(text: &str) -> Result<Value> {
    crate::reader::parse(text, crate::reader::Syntax::Yaml)
        .map_err(|e| anyhow::anyhow!("not valid YAML: {e}"))
}

fn indent(out: &mut String, n: usize) {
    out.extend(std::iter::repeat_n(' ', n));
}

fn write_map(out: &mut String, map: &serde_json::Map<String, Value>, level: usize) {
    for (i, (key, value)) in map.iter().enumerate() {
        // The first key of a sequence item follows its "- " on the same line.
        if i > 0 || !out.ends_with("- ") {
            indent(out, level);
        }
        write_str(out, key);
        out.push(':');
        write_child(out, value, level);
    }
}

fn write_seq(out: &mut String, items: &[Value], level: usize) {
    for item in items {
        indent(out, level);
        out.push_str("- ");
        match item {
            Value::Object(map) if !map.is_empty() => write_map(out, map, level + 2),
            Value::Array(inner) if !inner.is_empty() => {
                out.push('\n');
                write_seq(out, inner, level + 2);
            }
            scalar => {
                write_scalar(out, scalar);
                out.push('\n');
            }
        }
    }
}

/// Writes what follows `key:`; nested maps indent by two, sequences stay at
/// the key's level (kubectl's style).
fn write_child(out: &mut String, value: &Value, level: usize) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            out.push('\n');
            write_map(out, map, level + 2);
        }
        Value::Array(items) if !items.is_empty() => {
            out.push('\n');
            write_seq(out, items, level);
        }
        scalar => {
            out.push(' ');
            write_scalar(out, scalar);
            out.push('\n');
        }
    }
}

fn write_scalar(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => write_str(out, s),
        Value::Object(_) => out.push_str("{}"),
        Value::Array(_) => out.push_str("[]"),
    }
}

fn write_str(out: &mut String, s: &str) {
    if is_plain_safe(s) {
        out.push_str(s);
    } else {
        crate::gojson::write_string(out, s);
    }
}

/// Whether `s` reads back as the same string when written unquoted.
fn is_plain_safe(s: &str) -> bool {
    const RESERVED: &[&str] = &[
        "true", "false", "yes", "no", "on", "off", "y", "n", "null", "~",
    ];
    let Some(first) = s.chars().next() else {
        return false;
    };
    // A leading '.' is fine before a letter (`.dockerconfigjson`), but not `.5`, `.inf`, `.nan`.
    let dot_word = first == '.'
        && s[1..].starts_with(|c: char| c.is_ascii_alphabetic())
        && !matches!(s.to_ascii_lowercase().as_str(), ".inf" | ".nan");
    (first.is_ascii_alphabetic() || first == '/' || first == '_' || dot_word)
        && !s.ends_with(':')
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "._/-:@+=".contains(c))
        && !s.contains("://")
        && !RESERVED.contains(&s.to_ascii_lowercase().as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_a_yaml_reader() {
        let v = serde_json::json!({
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "x", "labels": {"a": "yes", "b": "0123", "c": "a: b", "d": "<&>\u{2028}", "e": ""},
                          "annotations": {"https://x/y": "line1\nline2", "k": "-x", "t": "true"}},
            "data": {".dockerconfigjson": "eyJ+/="},
            ".inf": ".NaN", ".5": 1,
            "list": [{"a": 1, "b": [true, null]}, "s", [], {}],
            "empty": {},
            "n": 1.5
        });
        let text = to_string(&v);
        assert!(
            text.starts_with("apiVersion: v1\nkind: Secret\nmetadata:\n  name: x\n"),
            "{text}"
        );
        assert!(text.contains("\n  .dockerconfigjson: eyJ+/=\n"), "{text}");
        assert_eq!(parse(&text).unwrap(), v, "{text}");
    }
}
