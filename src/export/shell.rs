//! POSIX shell words for the scripts we print (`export --link-commands`):
//! every value put into a printed script goes through [`quote`], so a name
//! can never become shell syntax.

/// `s` as one POSIX shell word: as is when every character is safe bare,
/// else single-quoted (a `'` inside written as `'\''`).
pub(crate) fn quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@".contains(c))
    {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_what_the_shell_would_read() {
        assert_eq!(quote("team-a"), "team-a");
        assert_eq!(quote("it's"), r"'it'\''s'");
        assert_eq!(quote(""), "''");
        for word in ["*", "a b", "$(touch x)", "`x`", "a;b", "~", "a\nb"] {
            let q = quote(word);
            assert!(q.starts_with('\'') && q.ends_with('\''), "{word:?}: {q}");
        }
    }
}
