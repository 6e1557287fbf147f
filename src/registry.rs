//! Server-URL parsing and normalisation: the one place where "which stored
//! credential does this URL mean" is decided. Every command goes through
//! [`ServerKey::parse`].
//!
//! Rules (upstream docker-credential-helpers and docker/cli behaviour):
//! - No scheme means `https`; `https://host` and `host` are the same key.
//!   `http://host` is a different key (upstream osxkeychain/wincred: http and
//!   https are distinct), kept with its `http://` prefix.
//! - Host names are case-insensitive (lower-cased); ports must match exactly;
//!   a path is kept (case-sensitive) as a repository scope, except the API
//!   version roots `/v1` and `/v2`, and trailing slashes, which are dropped.
//! - Docker Hub answers to `index.docker.io`, `docker.io`, `registry-1.docker.io`
//!   and `registry.hub.docker.com` (docker asks with `https://index.docker.io/v1/`,
//!   podman with `docker.io`): all are the key `docker.io`. Paths under it, like
//!   `https://index.docker.io/v1/access-token`, stay distinct keys.

use std::fmt;

/// The canonical key of Docker Hub.
pub(crate) const DOCKER_HUB_KEY: &str = "docker.io";

/// The spelling docker and kubelet use for Docker Hub in config files and pull secrets.
pub(crate) const DOCKER_HUB_CONFIG_KEY: &str = "https://index.docker.io/v1/";

/// The host serving Docker Hub's registry API.
pub(crate) const DOCKER_HUB_API_HOST: &str = "registry-1.docker.io";

/// The username docker stores with an identity (refresh) token instead of a
/// password (`docker login` with an OAuth2 auth server; `identitytoken` in
/// config files).
pub(crate) const IDENTITY_TOKEN_USER: &str = "<token>";

/// The longest server URL a credential is stored under, in bytes. docker
/// sets no limit and Windows Credential Manager takes target names up to
/// 32,767 characters; a registry host, port and repository path need far
/// less. Bounded so that no store, index or table meets an unbounded key.
pub(crate) const MAX_SERVER_URL_BYTES: usize = 4096;

/// The longest username stored, in bytes: registry users, robot accounts
/// and `<token>` are short (Windows keeps at most 513 characters as a
/// credential's user name); bounded for the same reason as server URLs.
pub(crate) const MAX_USERNAME_BYTES: usize = 1024;

/// A server URL or username longer than this helper stores.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TooLong {
    what: &'static str,
    len: usize,
    max: usize,
}

impl fmt::Display for TooLong {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let TooLong { what, len, max } = self;
        let fix = match *what {
            "username" => "check what was given as the username",
            _ => "a registry is host[:port], with a repository path if needed",
        };
        write!(
            f,
            "the {what} is {len} bytes long: this helper stores at most {max} ({fix})"
        )
    }
}

impl std::error::Error for TooLong {}

/// Refuses a server URL (surrounding whitespace aside) over [`MAX_SERVER_URL_BYTES`].
pub(crate) fn check_server_url_length(server_url: &str) -> Result<(), TooLong> {
    check_length("server URL", server_url.trim().len(), MAX_SERVER_URL_BYTES)
}

/// Refuses a username over [`MAX_USERNAME_BYTES`].
pub(crate) fn check_username_length(username: &str) -> Result<(), TooLong> {
    check_length("username", username.len(), MAX_USERNAME_BYTES)
}

fn check_length(what: &'static str, len: usize, max: usize) -> Result<(), TooLong> {
    match len > max {
        true => Err(TooLong { what, len, max }),
        false => Ok(()),
    }
}

const DOCKER_HUB_ALIASES: &[&str] = &[
    "docker.io",
    "index.docker.io",
    "registry-1.docker.io",
    "registry.hub.docker.com",
];

/// Why a server URL was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyError {
    /// Nothing but whitespace: the protocol's "no credentials server URL".
    Empty,
    UnsupportedScheme(String),
    Whitespace,
    UserInfo,
    QueryOrFragment,
    BadHost(String),
    BadPort(String),
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyError::Empty => f.write_str("no credentials server URL"),
            KeyError::UnsupportedScheme(s) => write!(
                f,
                "invalid server URL: unsupported scheme {:?} (use a host like registry.example.com, or http:// or https://)",
                shown(s)
            ),
            KeyError::Whitespace => f.write_str(
                "invalid server URL: it contains spaces or control characters",
            ),
            KeyError::UserInfo => f.write_str(
                "invalid server URL: it must not contain user@ (pass the username separately)",
            ),
            KeyError::QueryOrFragment => {
                f.write_str("invalid server URL: it must not contain '?' or '#'")
            }
            KeyError::BadHost(h) => write!(f, "invalid server URL: bad host name {h:?}"),
            KeyError::BadPort(p) => write!(f, "invalid server URL: bad port {p:?} (1-65535)"),
        }
    }
}

impl std::error::Error for KeyError {}

/// `key` as a message may show it: whatever stands before an '@' in its
/// authority (`user:password@`) and after a `?` or `#` (`?access_token=`)
/// replaced by `***`, so a key from a document (or another helper's `list`)
/// that holds a credential is named without it.
pub(crate) fn shown(key: &str) -> String {
    match key.find(['?', '#']) {
        Some(cut) => format!("{}{}***", shown_authority(&key[..cut]), &key[cut..=cut]),
        None => shown_authority(key),
    }
}

fn shown_authority(key: &str) -> String {
    let start = match key.find("://") {
        Some(i) if !key[..i].contains(['/', '@']) => i + 3,
        _ => 0,
    };
    let end = key[start..].find('/').map_or(key.len(), |i| start + i);
    match key[start..end].rfind('@') {
        Some(at) => format!("{}***{}", &key[..start], &key[start + at..]),
        None => key.to_owned(),
    }
}

/// A normalised registry key: `[http://]host[:port][/path]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ServerKey {
    key: String,
    http: bool,
    host: String,
    port: Option<u16>,
    path: String,
}

impl ServerKey {
    /// Parses and normalises a server URL as clients send it.
    pub fn parse(input: &str) -> Result<ServerKey, KeyError> {
        let input = input.trim();
        if input.is_empty() {
            return Err(KeyError::Empty);
        }
        if input.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(KeyError::Whitespace);
        }
        if input.contains(['?', '#']) {
            return Err(KeyError::QueryOrFragment);
        }
        // A "://" after the first '/' is part of the path, not a scheme, so a
        // key like `host/a://b` re-parses to itself.
        let (http, rest) = match input.split_once("://") {
            Some((scheme, rest)) if !scheme.contains('/') => {
                match scheme.to_ascii_lowercase().as_str() {
                    "https" => (false, rest),
                    "http" => (true, rest),
                    _ => return Err(KeyError::UnsupportedScheme(scheme.to_owned())),
                }
            }
            _ => (false, input),
        };
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        if authority.contains('@') {
            return Err(KeyError::UserInfo);
        }
        let (host, port) = split_host_port(authority)?;
        let path = normalise_path(path);
        let host = if !http && path.is_empty() && DOCKER_HUB_ALIASES.contains(&host.as_str()) {
            DOCKER_HUB_KEY.to_owned()
        } else {
            host
        };
        let mut key = String::with_capacity(input.len());
        if http {
            key.push_str("http://");
        }
        push_authority(&mut key, &host, port);
        key.push_str(&path);
        Ok(ServerKey {
            key,
            http,
            host,
            port,
            path,
        })
    }

    /// The canonical key string (what the store indexes by).
    pub fn as_str(&self) -> &str {
        &self.key
    }

    /// Lower-cased host name, IPv6 literals in brackets.
    pub fn host(&self) -> &str {
        &self.host
    }

    pub fn port(&self) -> Option<u16> {
        self.port
    }

    /// Repository scope path (`/repository-main`), empty for a whole registry.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Whether the key was given with `http://` (a distinct credential).
    pub fn is_http(&self) -> bool {
        self.http
    }

    /// The host that serves the registry API: Docker Hub's keys all mean
    /// `registry-1.docker.io` (what docker and podman connect to).
    pub(crate) fn api_host(&self) -> &str {
        if self.is_docker_hub() {
            DOCKER_HUB_API_HOST
        } else {
            &self.host
        }
    }

    /// `host[:port]`: the registry without scheme or path (a `credHelpers` key).
    pub(crate) fn authority(&self) -> String {
        let mut out = String::with_capacity(self.host.len() + 6);
        push_authority(&mut out, &self.host, self.port);
        out
    }

    /// `api_host[:port]`: where the registry API answers (see [`api_host`](Self::api_host)).
    pub(crate) fn api_authority(&self) -> String {
        let mut out = String::with_capacity(self.api_host().len() + 6);
        push_authority(&mut out, self.api_host(), self.port);
        out
    }

    pub(crate) fn is_docker_hub(&self) -> bool {
        self.key == DOCKER_HUB_KEY
    }

    /// The spelling used in docker config files and pull secrets: Docker Hub as
    /// `https://index.docker.io/v1/`, everything else as its key.
    pub fn config_key(&self) -> &str {
        if self.is_docker_hub() {
            DOCKER_HUB_CONFIG_KEY
        } else {
            &self.key
        }
    }
}

impl fmt::Display for ServerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.key)
    }
}

/// The one place `host[:port]` is spelled (appended to `out`: the key is built in place).
fn push_authority(out: &mut String, host: &str, port: Option<u16>) {
    out.push_str(host);
    if let Some(port) = port {
        out.push(':');
        out.push_str(&port.to_string());
    }
}

fn split_host_port(authority: &str) -> Result<(String, Option<u16>), KeyError> {
    let (host, port) = if let Some(rest) = authority.strip_prefix('[') {
        let end = rest
            .find(']')
            .ok_or_else(|| KeyError::BadHost(authority.to_owned()))?;
        let inner = &rest[..end];
        if inner.is_empty()
            || !inner
                .chars()
                .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.')
        {
            return Err(KeyError::BadHost(authority.to_owned()));
        }
        let after = &rest[end + 1..];
        let port = match after {
            "" => None,
            p => Some(
                p.strip_prefix(':')
                    .ok_or_else(|| KeyError::BadHost(authority.to_owned()))?,
            ),
        };
        (format!("[{}]", inner.to_ascii_lowercase()), port)
    } else {
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        };
        let valid = !host.is_empty()
            && !host.starts_with(['.', '-'])
            && !host.ends_with('.')
            && !host.contains("..")
            && host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
        if !valid {
            return Err(KeyError::BadHost(host.to_owned()));
        }
        (host.to_ascii_lowercase(), port)
    };
    let port = match port {
        None => None,
        Some(p) => {
            let valid = !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit());
            match p.parse::<u16>() {
                Ok(n) if valid && n > 0 => Some(n),
                _ => return Err(KeyError::BadPort(p.to_owned())),
            }
        }
    };
    Ok((host, port))
}

/// Drops trailing slashes and the bare API roots `/v1` and `/v2`.
fn normalise_path(path: &str) -> String {
    let trimmed = path.trim_end_matches('/');
    match trimmed {
        "" | "/v1" | "/v2" => String::new(),
        p => p.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authority_is_host_and_port_without_scheme_or_path() {
        let key = ServerKey::parse("http://Reg.Example.com:5000/team/app").unwrap();
        assert_eq!(key.authority(), "reg.example.com:5000");
        assert_eq!(key.api_authority(), "reg.example.com:5000");
        assert_eq!(
            ServerKey::parse("[::1]:5000").unwrap().authority(),
            "[::1]:5000"
        );
        let hub = ServerKey::parse("https://index.docker.io/v1/").unwrap();
        assert_eq!(hub.authority(), "docker.io");
        assert_eq!(hub.api_authority(), "registry-1.docker.io");
    }

    #[test]
    fn shown_hides_user_information() {
        for (key, want) in [
            ("u:PASSWORD@x.io", "***@x.io"),
            ("https://u:PASSWORD@x.io/v2", "https://***@x.io/v2"),
            ("u:PASSWORD@x.io://y", "***@x.io://y"),
            ("a@b@x.io:5000", "***@x.io:5000"),
            ("x.io/a@b", "x.io/a@b"),
            ("https://index.docker.io/v1/", "https://index.docker.io/v1/"),
            ("https://x.io/v2?access_token=SECRET", "https://x.io/v2?***"),
            ("u:PASSWORD@x.io#SECRET?x", "***@x.io#***"),
        ] {
            assert_eq!(shown(key), want, "{key}");
        }
        let err = ServerKey::parse("u:PASSWORD@x.io://y")
            .unwrap_err()
            .to_string();
        assert!(!err.contains("PASSWORD"), "{err}");
    }

    fn key(s: &str) -> String {
        ServerKey::parse(s)
            .unwrap_or_else(|e| panic!("{s:?}: {e}"))
            .as_str()
            .to_owned()
    }

    #[test]
    fn docker_hub_spellings_are_one_key() {
        for s in [
            "https://index.docker.io/v1/",
            "index.docker.io",
            "docker.io",
            "registry-1.docker.io",
            "https://registry-1.docker.io/v2/",
            "DOCKER.IO",
        ] {
            assert_eq!(key(s), DOCKER_HUB_KEY, "{s}");
            assert!(ServerKey::parse(s).unwrap().is_docker_hub());
            assert_eq!(
                ServerKey::parse(s).unwrap().config_key(),
                DOCKER_HUB_CONFIG_KEY
            );
        }
    }

    #[test]
    fn docker_hub_tokens_are_distinct() {
        let access = key("https://index.docker.io/v1/access-token");
        let refresh = key("https://index.docker.io/v1/refresh-token");
        assert_eq!(access, "index.docker.io/v1/access-token");
        assert_eq!(refresh, "index.docker.io/v1/refresh-token");
        assert_ne!(access, DOCKER_HUB_KEY);
        assert_ne!(access, refresh);
    }

    #[test]
    fn quay_spellings() {
        for s in [
            "quay.io",
            "https://quay.io",
            "https://quay.io/",
            "quay.io/v2/",
            "QUAY.IO",
            "  quay.io\n",
        ] {
            assert_eq!(key(s), "quay.io", "{s}");
        }
        assert_eq!(key("quay.io:8443"), "quay.io:8443");
        assert_eq!(ServerKey::parse("QUAY.io/x").unwrap().api_host(), "quay.io");
        assert_eq!(key("quay.io/repository-main"), "quay.io/repository-main");
        assert_eq!(
            key("https://quay.io/repository-main/"),
            "quay.io/repository-main"
        );
        assert_ne!(key("quay.io:8443"), key("quay.io"));
    }

    #[test]
    fn loopback_keys() {
        assert_eq!(key("localhost:5000"), "localhost:5000");
        assert_eq!(key("127.0.0.1:5000"), "127.0.0.1:5000");
        assert_eq!(key("[::1]:5000"), "[::1]:5000");
        assert_eq!(key("https://[::1]:5000/v2/"), "[::1]:5000");
        assert_eq!(ServerKey::parse("[::1]:5000").unwrap().port(), Some(5000));
    }

    #[test]
    fn http_and_https_are_distinct_and_https_is_the_default() {
        assert_eq!(key("https://host.example"), key("host.example"));
        assert_eq!(key("http://host.example:5000/"), "http://host.example:5000");
        assert_ne!(key("http://host.example"), key("host.example"));
        assert!(ServerKey::parse("HTTP://host.example").unwrap().is_http());
        // docker.io over http is not Docker Hub.
        assert_eq!(key("http://docker.io"), "http://docker.io");
    }

    #[test]
    fn garbage_is_refused_with_a_reason() {
        let cases: &[(&str, KeyError)] = &[
            ("", KeyError::Empty),
            ("   \n", KeyError::Empty),
            ("ftp://x", KeyError::UnsupportedScheme("ftp".into())),
            ("quay .io", KeyError::Whitespace),
            ("quay.io/a b", KeyError::Whitespace),
            ("quay\u{1}.io", KeyError::Whitespace),
            ("user@quay.io", KeyError::UserInfo),
            ("quay.io?x=1", KeyError::QueryOrFragment),
            ("quay.io:0", KeyError::BadPort("0".into())),
            ("quay.io:65536", KeyError::BadPort("65536".into())),
            ("quay.io:abc", KeyError::BadPort("abc".into())),
            ("quay.io:", KeyError::BadPort("".into())),
            ("https://", KeyError::BadHost("".into())),
            ("/v2/", KeyError::BadHost("".into())),
            ("qu!ay.io", KeyError::BadHost("qu!ay.io".into())),
            ("[::1", KeyError::BadHost("[::1".into())),
        ];
        for (input, expected) in cases {
            assert_eq!(ServerKey::parse(input).as_ref(), Err(expected), "{input:?}");
            assert!(!expected.to_string().is_empty());
        }
        assert_eq!(KeyError::Empty.to_string(), "no credentials server URL");
    }

    #[test]
    fn lengths_are_bounded_in_bytes() {
        let url = |n: usize| format!("r.io/{}", "a".repeat(n - 5));
        assert!(check_server_url_length(&url(MAX_SERVER_URL_BYTES)).is_ok());
        assert!(check_server_url_length(&format!(" {} ", url(MAX_SERVER_URL_BYTES))).is_ok());
        let err = check_server_url_length(&url(MAX_SERVER_URL_BYTES + 1)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the server URL is 4097 bytes long: this helper stores at most 4096 \
             (a registry is host[:port], with a repository path if needed)"
        );
        // Bytes, not characters: 2,049 'é' are 4,098 bytes.
        assert!(check_server_url_length(&"é".repeat(2049)).is_err());
        assert!(check_username_length(&"u".repeat(MAX_USERNAME_BYTES)).is_ok());
        let err = check_username_length(&"é".repeat(513)).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("the username is 1026 bytes long"),
            "{err}"
        );
    }

    #[test]
    fn normalisation_is_idempotent() {
        for s in [
            "https://index.docker.io/v1/",
            "http://Host.Example:5000/v2/",
            "quay.io/repository-main",
            "[::1]:5000",
            "https://index.docker.io/v1/access-token",
            "https://host.example/a://b",
        ] {
            let once = key(s);
            assert_eq!(key(&once), once, "{s}");
        }
    }
}
