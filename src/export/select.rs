//! `--registry` patterns: a registry key (any spelling [`ServerKey::parse`]
//! accepts) or a glob where `*` matches any run of characters except `/`
//! (`*.example.com` matches `a.example.com` and `a.b.example.com:5000` is
//! matched by `*.example.com:*`). Globs are tried against the key and the
//! config spelling (`https://index.docker.io/v1/` for Docker Hub).

use anyhow::{Context, Result};

use crate::registry::ServerKey;

/// One `--registry` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Pattern {
    /// What the user typed (for error messages).
    pub(crate) raw: String,
    matcher: Matcher,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Matcher {
    Key(String),
    Glob(String),
}

impl Pattern {
    pub(crate) fn parse(raw: &str) -> Result<Pattern> {
        let trimmed = raw.trim();
        let matcher = if trimmed.contains(['*', '?']) {
            let lower = trimmed.to_ascii_lowercase();
            let glob = lower.strip_prefix("https://").unwrap_or(&lower);
            Matcher::Glob(glob.trim_end_matches('/').to_owned())
        } else {
            let key = ServerKey::parse(trimmed).with_context(|| format!("--registry {raw:?}"))?;
            Matcher::Key(key.as_str().to_owned())
        };
        Ok(Pattern {
            raw: raw.to_owned(),
            matcher,
        })
    }

    /// Whether this pattern names `key` itself (not through a glob): an entry
    /// the user asked for by name is an error to skip, one a glob or "all"
    /// brought in is skipped with a warning.
    pub(crate) fn names(&self, key: &str) -> bool {
        matches!(&self.matcher, Matcher::Key(k) if k == key)
    }

    /// Whether the normalised `key` is selected.
    pub(crate) fn matches(&self, key: &str) -> bool {
        match &self.matcher {
            Matcher::Key(k) => k == key,
            Matcher::Glob(g) => {
                let config = ServerKey::parse(key)
                    .map(|k| k.config_key().trim_end_matches('/').to_owned())
                    .unwrap_or_default();
                glob(g.as_bytes(), key.as_bytes())
                    || glob(
                        g.as_bytes(),
                        config
                            .strip_prefix("https://")
                            .unwrap_or(&config)
                            .as_bytes(),
                    )
            }
        }
    }
}

/// Whether any of `patterns` selects `key` (no patterns: everything).
pub(crate) fn selected(patterns: &[Pattern], key: &str) -> bool {
    patterns.is_empty() || patterns.iter().any(|p| p.matches(key))
}

/// `*` = any run without `/`, `?` = one character other than `/`.
fn glob(pattern: &[u8], text: &[u8]) -> bool {
    match pattern.split_first() {
        None => text.is_empty(),
        Some((b'*', rest)) => {
            for i in 0..=text.len() {
                if glob(rest, &text[i..]) {
                    return true;
                }
                if i < text.len() && text[i] == b'/' {
                    return false;
                }
            }
            false
        }
        Some((b'?', rest)) => {
            matches!(text.split_first(), Some((c, t)) if *c != b'/' && glob(rest, t))
        }
        Some((c, rest)) => matches!(text.split_first(), Some((t, tr)) if t == c && glob(rest, tr)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Pattern {
        Pattern::parse(s).unwrap()
    }

    #[test]
    fn keys_match_any_spelling() {
        assert!(p("https://index.docker.io/v1/").matches("docker.io"));
        assert!(p("QUAY.io").matches("quay.io"));
        assert!(!p("quay.io").matches("quay.io/repository-main"));
        assert!(p("quay.io/repository-main").matches("quay.io/repository-main"));
        assert!(Pattern::parse("bad host!").is_err());
    }

    #[test]
    fn globs() {
        assert!(p("*.example.com").matches("registry.example.com"));
        assert!(p("*.example.com").matches("a.b.example.com"));
        assert!(!p("*.example.com").matches("example.com"));
        assert!(!p("*.example.com").matches("registry.example.com:5000"));
        assert!(p("*.example.com:*").matches("registry.example.com:5000"));
        assert!(!p("quay.io*").matches("quay.io/repository-main"));
        assert!(p("quay.io/*").matches("quay.io/repository-main"));
        assert!(p("index.docker.io/*").matches("docker.io"));
        assert!(p("https://*.example.com/").matches("r.example.com"));
    }
}
