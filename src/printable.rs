//! Text from outside (registry names, usernames, a registry's challenge
//! fields, error chains) made safe to show on a terminal: the one sanitiser
//! of human output and error lines. Characters that move the cursor, start
//! escape sequences (C0 and C1 controls, DEL) or reorder what is displayed
//! (bidi and other invisible format characters) are replaced by a visible
//! escape such as `\u{202e}`, so a stored name cannot forge another on screen.
//! Protocol answers (JSON) never pass through here: they stay byte-exact.

use std::borrow::Cow;

/// Whether `c` must not reach a terminal as it is.
pub fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{00AD}'                  // soft hyphen (invisible)
            | '\u{034F}'                // combining grapheme joiner
            | '\u{061C}'                // Arabic letter mark
            | '\u{115F}' | '\u{1160}'  // Hangul fillers (blank)
            | '\u{17B4}' | '\u{17B5}'  // Khmer inherent vowels (invisible)
            | '\u{180B}'..='\u{180F}'   // Mongolian variation selectors, vowel separator
            | '\u{200B}'..='\u{200F}'   // zero-width characters, LRM, RLM
            | '\u{2028}'..='\u{202E}'   // line/paragraph separators, bidi embeddings and overrides
            | '\u{2060}'..='\u{206F}'   // word joiner, invisible operators, bidi isolates, deprecated formats
            | '\u{2800}'                // braille blank
            | '\u{3164}' | '\u{FFA0}'  // Hangul fillers (blank)
            | '\u{FEFF}'                // zero-width no-break space (BOM)
            | '\u{FFF9}'..='\u{FFFB}'   // interlinear annotation
            | '\u{1D173}'..='\u{1D17A}' // musical format characters
            | '\u{E0000}'..='\u{E007F}' // tag characters (invisible)
        )
}

/// `text` with every unsafe character escaped visibly (`\u{1b}`): for one
/// value or one line, where even a line break would forge output.
pub(crate) fn printable(text: &str) -> Cow<'_, str> {
    escape(text, |_| false)
}

/// [`printable`] for a block of our own layout: line breaks and tabs stay.
pub(crate) fn printable_text(text: &str) -> Cow<'_, str> {
    escape(text, |c| c == '\n' || c == '\t')
}

fn escape(text: &str, keep: impl Fn(char) -> bool) -> Cow<'_, str> {
    if !text.chars().any(|c| is_unsafe(c) && !keep(c)) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if is_unsafe(c) && !keep(c) {
            out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// `text` cut to `max` characters, its last one `…` when cut: for a name
/// too long to show whole (a table cell, an error naming an entry).
pub(crate) fn clipped(text: &str, max: usize) -> Cow<'_, str> {
    match text.char_indices().nth(max) {
        None => Cow::Borrowed(text),
        Some(_) => {
            let keep = text
                .char_indices()
                .nth(max.saturating_sub(1))
                .map_or(0, |(i, _)| i);
            Cow::Owned(format!("{}…", &text[..keep]))
        }
    }
}

/// `println!` for human output: the formatted text through [`printable_text`].
#[macro_export]
macro_rules! outln {
    ($($arg:tt)*) => {
        println!("{}", $crate::printable::printable_text(&format!($($arg)*)))
    };
}

/// `eprintln!` for human notes and warnings: the formatted text through [`printable_text`].
#[macro_export]
macro_rules! errln {
    ($($arg:tt)*) => {
        eprintln!("{}", $crate::printable::printable_text(&format!($($arg)*)))
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clipped_counts_characters_and_marks_the_cut() {
        assert_eq!(clipped("abc", 3), "abc");
        assert!(matches!(clipped("abc", 3), Cow::Borrowed(_)));
        assert_eq!(clipped("abcd", 3), "ab…");
        assert_eq!(clipped("ééééé", 4), "ééé…");
        assert_eq!(clipped(&"a".repeat(70_000), 200).chars().count(), 200);
    }

    #[test]
    fn escapes_controls_and_bidi_visibly() {
        assert_eq!(printable("quay.io"), "quay.io");
        assert!(matches!(printable("quay.io"), Cow::Borrowed(_)));
        assert_eq!(
            printable("evil.io/\u{202e}oi.yauq"),
            "evil.io/\\u{202e}oi.yauq"
        );
        assert_eq!(printable("a\u{1b}[2Jb"), "a\\u{1b}[2Jb");
        assert_eq!(printable("\u{9b}31m"), "\\u{9b}31m");
        assert_eq!(printable("x\u{7f}"), "x\\u{7f}");
        for c in [
            '\u{200e}',
            '\u{200f}',
            '\u{061c}',
            '\u{2066}',
            '\u{2069}',
            '\u{feff}',
            // Blank or invisible letters and format characters that would let
            // two different names look alike.
            '\u{034f}',
            '\u{115f}',
            '\u{3164}',
            '\u{ffa0}',
            '\u{2800}',
            '\u{e0041}',
        ] {
            assert_eq!(printable(&c.to_string()), format!("\\u{{{:x}}}", c as u32));
        }
        assert_eq!(printable("a\nb\tc"), "a\\u{a}b\\u{9}c");
        assert_eq!(printable_text("a\nb\tc\u{202e}"), "a\nb\tc\\u{202e}");
        // Other non-ASCII text stays as it is.
        assert_eq!(printable("régistry.例え.jp"), "régistry.例え.jp");
    }
}
