//! `WWW-Authenticate` header parsing (RFC 9110 §11.6.1), for `pair discover`.
//!
//! A header holds one or more challenges, separated by commas:
//! `Bearer realm="https://sso.example.com/token",service="registry:5000", Basic realm="x"`.
//! Each challenge is a scheme, then either a token68 or comma-separated
//! `name=value` parameters (value a token or a quoted string with `\` escapes).
//! A comma therefore separates both parameters and challenges: a token followed
//! by `=` is a parameter, anything else starts the next challenge.

use std::fmt;

/// One challenge: `Bearer realm="...",service="..."`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// The scheme as sent (compare with [`Challenge::is`], schemes are case-insensitive).
    pub scheme: String,
    /// Parameters in order, names lower-cased (they are case-insensitive).
    pub params: Vec<(String, String)>,
    /// The token68 form (`Negotiate abc==`), when the challenge uses it.
    pub token68: Option<String>,
}

impl Challenge {
    /// Whether the scheme is `scheme` (case-insensitive).
    pub(crate) fn is(&self, scheme: &str) -> bool {
        self.scheme.eq_ignore_ascii_case(scheme)
    }

    /// The first value of parameter `name` (case-insensitive).
    pub(crate) fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Why a header could not be parsed: what was expected and at which byte.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Malformed {
    pub(crate) what: &'static str,
    pub at: usize,
}

impl fmt::Display for Malformed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "malformed WWW-Authenticate header: {} at byte {}",
            self.what, self.at
        )
    }
}

impl std::error::Error for Malformed {}

/// Parses every challenge of several header lines (a response may repeat the header).
pub fn parse_headers<'a>(
    headers: impl IntoIterator<Item = &'a str>,
) -> Result<Vec<Challenge>, Malformed> {
    let mut all = Vec::new();
    for header in headers {
        all.extend(parse(header)?);
    }
    Ok(all)
}

/// Parses one header value into its challenges (empty input: none).
pub fn parse(header: &str) -> Result<Vec<Challenge>, Malformed> {
    let mut p = Parser {
        s: header.as_bytes(),
        i: 0,
    };
    let mut out = Vec::new();
    loop {
        p.skip_list_separators();
        if p.eof() {
            return Ok(out);
        }
        let scheme = p.token().ok_or_else(|| p.error("expected a scheme"))?;
        let mut challenge = Challenge {
            scheme: scheme.to_owned(),
            params: Vec::new(),
            token68: None,
        };
        let spaced = p.skip_ws();
        if spaced && !p.eof() && p.peek() != Some(b',') {
            if p.at_param() {
                p.params(&mut challenge)?;
            } else {
                challenge.token68 = Some(p.token68()?.to_owned());
                p.skip_ws();
                if !p.eof() && p.peek() != Some(b',') {
                    return Err(p.error("expected ',' after token68"));
                }
            }
        } else if !p.eof() && p.peek() != Some(b',') {
            return Err(p.error("expected a space after the scheme"));
        }
        out.push(challenge);
    }
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

/// RFC 9110 `tchar`.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

impl<'a> Parser<'a> {
    fn eof(&self) -> bool {
        self.i >= self.s.len()
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn error(&self, what: &'static str) -> Malformed {
        Malformed { what, at: self.i }
    }

    /// Skips spaces and tabs; returns whether there were any.
    fn skip_ws(&mut self) -> bool {
        let start = self.i;
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.i += 1;
        }
        self.i > start
    }

    /// Skips whitespace and the empty list elements `,` allows.
    fn skip_list_separators(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b',')) {
            self.i += 1;
        }
    }

    fn token(&mut self) -> Option<&'a str> {
        let start = self.i;
        while self.peek().is_some_and(is_tchar) {
            self.i += 1;
        }
        let s: &'a [u8] = self.s;
        // tchars are ASCII, so this slice is valid UTF-8.
        (self.i > start).then(|| std::str::from_utf8(&s[start..self.i]).unwrap_or_default())
    }

    fn token68(&mut self) -> Result<&'a str, Malformed> {
        let start = self.i;
        while self
            .peek()
            .is_some_and(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b))
        {
            self.i += 1;
        }
        if self.i == start {
            return Err(self.error("expected a parameter or token68"));
        }
        while self.peek() == Some(b'=') {
            self.i += 1;
        }
        let s: &'a [u8] = self.s;
        Ok(std::str::from_utf8(&s[start..self.i]).unwrap_or_default())
    }

    /// Whether the input here is `name = value` (a parameter) rather than a new scheme.
    fn at_param(&self) -> bool {
        let mut probe = Parser {
            s: self.s,
            i: self.i,
        };
        if probe.token().is_none() {
            return false;
        }
        probe.skip_ws();
        if probe.peek() != Some(b'=') {
            return false;
        }
        probe.i += 1;
        probe.skip_ws();
        probe.peek().is_some_and(|b| b == b'"' || is_tchar(b))
    }

    /// Reads `name=value` parameters until the input ends or the next challenge starts.
    fn params(&mut self, challenge: &mut Challenge) -> Result<(), Malformed> {
        loop {
            let name = self
                .token()
                .ok_or_else(|| self.error("expected a parameter name"))?
                .to_ascii_lowercase();
            self.skip_ws();
            if self.peek() != Some(b'=') {
                return Err(self.error("expected '=' after the parameter name"));
            }
            self.i += 1;
            self.skip_ws();
            let value = if self.peek() == Some(b'"') {
                self.quoted_string()?
            } else {
                self.token()
                    .ok_or_else(|| self.error("expected a token or a quoted string"))?
                    .to_owned()
            };
            challenge.params.push((name, value));
            self.skip_ws();
            if self.eof() {
                return Ok(());
            }
            if self.peek() != Some(b',') {
                return Err(self.error("expected ',' between parameters"));
            }
            self.skip_list_separators();
            if self.eof() || !self.at_param() {
                // The end, or the next challenge's scheme.
                return Ok(());
            }
        }
    }

    /// A quoted string with `\` escapes, the opening quote under the cursor.
    fn quoted_string(&mut self) -> Result<String, Malformed> {
        let open = self.i;
        self.i += 1;
        let mut bytes = Vec::new();
        loop {
            match self.peek() {
                None => {
                    return Err(Malformed {
                        what: "unterminated quoted string",
                        at: open,
                    })
                }
                Some(b'"') => {
                    self.i += 1;
                    break;
                }
                Some(b'\\') => {
                    self.i += 1;
                    match self.peek() {
                        Some(b) if b == b'\t' || !b.is_ascii_control() => {
                            bytes.push(b);
                            self.i += 1;
                        }
                        _ => return Err(self.error("bad escape in quoted string")),
                    }
                }
                Some(b) if b == b'\t' || !b.is_ascii_control() => {
                    bytes.push(b);
                    self.i += 1;
                }
                Some(_) => return Err(self.error("control character in quoted string")),
            }
        }
        String::from_utf8(bytes).map_err(|_| Malformed {
            what: "quoted string is not UTF-8",
            at: open,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ch(scheme: &str, params: &[(&str, &str)]) -> Challenge {
        Challenge {
            scheme: scheme.into(),
            params: params
                .iter()
                .map(|(n, v)| ((*n).into(), (*v).into()))
                .collect(),
            token68: None,
        }
    }

    #[test]
    fn table() {
        let cases: Vec<(&str, Vec<Challenge>)> = vec![
            // Docker Hub / distribution: realm with a path, service, scope.
            (
                r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull""#,
                vec![ch(
                    "Bearer",
                    &[
                        ("realm", "https://auth.docker.io/token"),
                        ("service", "registry.docker.io"),
                        ("scope", "repository:library/alpine:pull"),
                    ],
                )],
            ),
            // Red Hat SSO: realm path with several segments; ':' and ',' in service.
            (
                r#"Bearer realm="https://sso.redhat.com/auth/realms/rhcc/protocol/redhat-docker-v2/auth",service="docker-registry:5000,extra""#,
                vec![ch(
                    "Bearer",
                    &[
                        (
                            "realm",
                            "https://sso.redhat.com/auth/realms/rhcc/protocol/redhat-docker-v2/auth",
                        ),
                        ("service", "docker-registry:5000,extra"),
                    ],
                )],
            ),
            // Case-insensitive names, spaces around '=' and ',', token values.
            (
                "bearer  Realm = \"https://a.example/t\" ,  Service=reg.example",
                vec![ch(
                    "bearer",
                    &[("realm", "https://a.example/t"), ("service", "reg.example")],
                )],
            ),
            // Escapes inside quoted strings.
            (
                r#"Bearer realm="https://a.example/t",error="a \"quoted\" \\ word""#,
                vec![ch(
                    "Bearer",
                    &[
                        ("realm", "https://a.example/t"),
                        ("error", r#"a "quoted" \ word"#),
                    ],
                )],
            ),
            // Several challenges in one header.
            (
                r#"Basic realm="Registry", Bearer realm="https://sso.example.com/token",service="r""#,
                vec![
                    ch("Basic", &[("realm", "Registry")]),
                    ch(
                        "Bearer",
                        &[("realm", "https://sso.example.com/token"), ("service", "r")],
                    ),
                ],
            ),
            // A bare scheme, then another challenge.
            (
                "Negotiate, Basic realm=x",
                vec![ch("Negotiate", &[]), ch("Basic", &[("realm", "x")])],
            ),
            // Basic only.
            (
                r#"Basic realm="Registry Realm""#,
                vec![ch("Basic", &[("realm", "Registry Realm")])],
            ),
            // Empty list elements are allowed.
            (", ,Basic realm=x,,", vec![ch("Basic", &[("realm", "x")])]),
            ("", vec![]),
        ];
        for (input, want) in cases {
            assert_eq!(
                parse(input).unwrap_or_else(|e| panic!("{input}: {e}")),
                want,
                "{input}"
            );
        }
    }

    #[test]
    fn token68() {
        let got = parse("Negotiate YII+/ab==, Basic realm=x").unwrap();
        assert_eq!(got[0].token68.as_deref(), Some("YII+/ab=="));
        assert!(got[1].is("basic"));
    }

    #[test]
    fn several_headers() {
        let got = parse_headers([
            r#"Basic realm="r""#,
            r#"Bearer realm="https://sso.example.com/auth",service="s""#,
        ])
        .unwrap();
        assert_eq!(got.len(), 2);
        assert!(got[1].is("Bearer"));
        assert_eq!(got[1].param("REALM"), Some("https://sso.example.com/auth"));
    }

    #[test]
    fn malformed() {
        for (input, what) in [
            (r#"Bearer realm="https://x"#, "unterminated quoted string"),
            (
                r#"Bearer realm="x", service="#,
                "expected a space after the scheme",
            ),
            (
                r#"Bearer realm="x" junk"#,
                "expected ',' between parameters",
            ),
            ("=Bearer", "expected a scheme"),
            (
                "Bearer realm=\"a\u{1}b\"",
                "control character in quoted string",
            ),
            ("Bearer realm=\"a\\", "bad escape in quoted string"),
            (r#"Bearer"realm""#, "expected a space after the scheme"),
            ("Negotiate abc== def", "expected ',' after token68"),
        ] {
            let err = parse(input).unwrap_err();
            assert_eq!(err.what, what, "{input:?}");
            assert!(err
                .to_string()
                .starts_with("malformed WWW-Authenticate header"));
        }
    }
}
