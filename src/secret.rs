//! The secret type: zeroized on drop, redacted in every formatting path.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use zeroize::Zeroizing;

/// A password or identity token. Its `Debug`/`Display` never show the value,
/// and its memory is wiped when dropped.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(Zeroizing<String>);

impl Secret {
    pub fn new(value: String) -> Self {
        Secret(Zeroizing::new(value))
    }

    /// The secret's text. Callers must not log or format it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether both hold the same text, comparing every byte whatever the
    /// first difference (only the lengths may show through the timing).
    pub(crate) fn same_as(&self, other: &Secret) -> bool {
        let (a, b) = (self.0.as_bytes(), other.0.as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }

    /// An empty secret with room for `capacity` bytes, to be built with
    /// [`push_str`](Self::push_str).
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        Secret::new(String::with_capacity(capacity))
    }

    /// Appends `more`. When the buffer must grow, the text moves to a new one
    /// and the old one is wiped (a plain `String` would leave a copy behind
    /// in freed memory).
    pub(crate) fn push_str(&mut self, more: &str) {
        if self.0.capacity() - self.0.len() < more.len() {
            let mut grown =
                String::with_capacity((self.0.len() + more.len()).max(2 * self.0.capacity()));
            grown.push_str(&self.0);
            self.0 = Zeroizing::new(grown);
        }
        self.0.push_str(more);
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Secret::new(value.to_owned())
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

impl std::fmt::Display for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Secret::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formatting_never_shows_the_value() {
        let s = Secret::from("hunter2");
        assert_eq!(format!("{s:?}"), "<redacted>");
        assert_eq!(format!("{s}"), "<redacted>");
        assert_eq!(s.expose(), "hunter2");
    }

    #[test]
    fn push_str_appends_past_the_reserved_capacity() {
        let mut s = Secret::with_capacity(4);
        for piece in ["ab", "cd", "ef", "😀"] {
            s.push_str(piece);
        }
        assert_eq!(s.expose(), "abcdef😀");
    }
}
