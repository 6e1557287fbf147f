//! `pair discover`: ask a registry's `/v2/` endpoint who issues its tokens.
//!
//! A registry that delegates authentication answers `GET /v2/` with `401` and
//! `WWW-Authenticate: Bearer realm="https://sso.example.com/...",service=...`.
//! The realm's host is the auth server.
//!
//! HTTP client: one `GET` with `Connection: close`, reading only the status line
//! and headers, so a small HTTP/1.1 exchange over `std::net::TcpStream` is all we
//! need; HTTPS goes through rustls (ring provider, system roots via
//! rustls-native-certs). None of it runs on the protocol's get/list path.
//! Every step (connect, TLS handshake, each read and write) is bounded by one
//! deadline. Name resolution uses the system resolver and is not bounded.

use std::io::{self, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};

use crate::registry::ServerKey;
use crate::www_authenticate::{self, Challenge};

/// Default bound for the whole exchange.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Largest response head we read (status line and headers).
const MAX_HEAD: usize = 64 * 1024;

/// How to reach the registry.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Allow plain HTTP for a host that is not loopback.
    pub insecure: bool,
    pub timeout: Duration,
}

/// What the registry answered.
#[derive(Debug, Clone)]
pub struct Answer {
    /// The URL asked (`https://host/v2/` or `http://...`).
    pub url: String,
    pub status: u16,
    pub challenges: Vec<Challenge>,
    /// The `Location` of a redirect (not followed: the pair is for the host asked).
    pub location: Option<String>,
}

/// A delegating registry's auth server, as found in its Bearer challenge.
#[derive(Debug, Clone)]
pub struct Found {
    /// The auth server key: the realm's scheme (when http), host and port.
    pub auth_server: ServerKey,
    pub realm: String,
    pub service: Option<String>,
}

/// Asks `registry`'s `/v2/` endpoint and parses its challenges.
///
/// Tries HTTPS first. Plain HTTP is used when the key says `http://`, or as a
/// fallback when the peer does not speak TLS, and only for loopback hosts or
/// with `insecure` (as docker does for insecure registries).
pub fn probe(registry: &ServerKey, options: Options) -> Result<Answer> {
    let deadline = Instant::now() + options.timeout;
    let plain_ok = options.insecure || is_loopback(registry.host());
    // `host[:port]` of the registry (its path, a repository scope, is not asked).
    let authority = registry.api_authority();
    if registry.is_http() {
        if !plain_ok {
            bail!("refusing plain HTTP to {authority}: pass --insecure to allow it");
        }
        return ask(&authority, registry, false, deadline, options.timeout);
    }
    match ask(&authority, registry, true, deadline, options.timeout) {
        Err(err) if plain_ok && not_tls(&err) => {
            crate::errln!("note: {authority} does not speak TLS; asking over plain HTTP");
            ask(&authority, registry, false, deadline, options.timeout)
        }
        other => other,
    }
}

/// Finds the auth server in `answer`, or explains why the registry does not delegate.
pub fn auth_server(registry: &ServerKey, answer: &Answer) -> Result<Found> {
    let bearer = answer.challenges.iter().find(|c| c.is("Bearer"));
    let Some(bearer) = bearer else {
        if answer.challenges.iter().any(|c| c.is("Basic")) {
            bail!(
                "{registry} uses Basic authentication ({} answered {}): it does not delegate to an auth server, so there is nothing to pair",
                answer.url,
                answer.status
            );
        }
        if let (300..=399, Some(location)) = (answer.status, &answer.location) {
            bail!(
                "{} redirects ({}) to {location}: it is not a registry's API root; run `pair discover` on the registry host it names, or use `pair add`",
                answer.url,
                answer.status
            );
        }
        if answer.status == 401 {
            bail!(
                "{} answered 401 without a Bearer challenge: {registry} does not delegate to an auth server; use `pair add` if you know it",
                answer.url
            );
        }
        bail!(
            "{} answered {} with no authentication challenge: {registry} does not delegate to an auth server (or is not a registry); use `pair add` if you know it",
            answer.url,
            answer.status
        );
    };
    let realm = bearer.param("realm").ok_or_else(|| {
        anyhow!(
            "{}: the Bearer challenge has no realm, so the auth server is unknown",
            answer.url
        )
    })?;
    let auth_server = realm_server(realm)
        .with_context(|| format!("{}: unusable Bearer realm {realm:?}", answer.url))?;
    if auth_server.host() == registry.host() && auth_server.port() == registry.port() {
        bail!(
            "{registry} issues its own tokens (realm {realm}): it does not delegate to another server, so there is nothing to pair"
        );
    }
    Ok(Found {
        auth_server,
        realm: realm.to_owned(),
        service: bearer.param("service").map(str::to_owned),
    })
}

/// The auth server key of a realm URL: scheme (http only when http), host, port.
/// The realm's path is not kept: pull secrets and the consumers that look the
/// auth server up use the host.
fn realm_server(realm: &str) -> Result<ServerKey> {
    let Some((scheme, rest)) = realm.split_once("://") else {
        bail!("it is not an absolute http(s) URL");
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let key = match scheme.to_ascii_lowercase().as_str() {
        "https" => authority.to_owned(),
        "http" => format!("http://{authority}"),
        _ => bail!("it is not an http(s) URL"),
    };
    Ok(ServerKey::parse(&key)?)
}

fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    host == "localhost"
        || host.ends_with(".localhost")
        || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Whether `err` says the peer answered, but not with TLS (a plain HTTP server).
fn not_tls(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        if let Some(rustls::Error::InvalidMessage(_)) = cause.downcast_ref::<rustls::Error>() {
            return true;
        }
        match cause.downcast_ref::<io::Error>() {
            Some(e) => {
                if let Some(rustls::Error::InvalidMessage(_)) =
                    e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>())
                {
                    return true;
                }
                matches!(
                    e.kind(),
                    io::ErrorKind::UnexpectedEof | io::ErrorKind::ConnectionReset
                )
            }
            None => false,
        }
    })
}

/// One `GET /v2/` over TLS or plain TCP, bounded by `deadline`.
fn ask(
    authority: &str,
    registry: &ServerKey,
    tls: bool,
    deadline: Instant,
    timeout: Duration,
) -> Result<Answer> {
    let scheme = if tls { "https" } else { "http" };
    let url = format!("{scheme}://{authority}/v2/");
    let port = registry.port().unwrap_or(if tls { 443 } else { 80 });
    let timed_out = || {
        anyhow!(
            "timed out after {}s asking {url} (is the registry reachable? raise --timeout if it is slow)",
            timeout.as_secs_f64()
        )
    };
    let tcp = connect(registry.api_host(), port, deadline).map_err(|e| {
        if e.kind() == io::ErrorKind::TimedOut {
            timed_out()
        } else {
            anyhow!("cannot connect to {authority}: {e}")
        }
    })?;
    let mut stream = Deadline { tcp, deadline };
    let request = format!(
        "GET /v2/ HTTP/1.1\r\nHost: {authority}\r\nUser-Agent: {}/{}\r\nAccept: */*\r\nConnection: close\r\n\r\n",
        crate::BINARY_NAME,
        env!("CARGO_PKG_VERSION")
    );
    let mut have_roots = true;
    let head = if tls {
        let (config, roots) = tls_config()?;
        have_roots = roots;
        let host = registry
            .api_host()
            .trim_start_matches('[')
            .trim_end_matches(']');
        let name = rustls::pki_types::ServerName::try_from(host.to_owned())
            .map_err(|_| anyhow!("{host} is not a valid TLS server name"))?;
        let conn =
            rustls::ClientConnection::new(config, name).context("cannot start a TLS session")?;
        let mut tls_stream = rustls::StreamOwned::new(conn, stream);
        exchange(&mut tls_stream, &request)
    } else {
        exchange(&mut stream, &request)
    };
    let head = head.map_err(|e| {
        if e.kind() == io::ErrorKind::TimedOut || e.kind() == io::ErrorKind::WouldBlock {
            timed_out()
        } else if tls && is_tls_error(&e) && !have_roots {
            anyhow::Error::new(e).context(format!(
                "TLS failure talking to {authority}: no system root certificates found (install the ca-certificates package, or set SSL_CERT_FILE)"
            ))
        } else if tls && is_tls_error(&e) {
            anyhow::Error::new(e).context(format!(
                "TLS failure talking to {authority} (a certificate not signed by a CA in the system roots, or a name mismatch?)"
            ))
        } else {
            anyhow::Error::new(e).context(format!("cannot read {url}"))
        }
    })?;
    let (status, headers) = parse_response(&head)?;
    let values = headers
        .iter()
        .filter(|(name, _)| name == "www-authenticate")
        .map(|(_, value)| value.as_str());
    let challenges = www_authenticate::parse_headers(values)
        .with_context(|| format!("{url} answered {status}"))?;
    let location = headers
        .iter()
        .find(|(name, _)| name == "location")
        .map(|(_, value)| value.clone());
    Ok(Answer {
        url,
        status,
        challenges,
        location,
    })
}

fn is_tls_error(e: &io::Error) -> bool {
    e.get_ref()
        .is_some_and(|i| i.downcast_ref::<rustls::Error>().is_some())
}

/// Sends `request` and reads the response head (up to the blank line).
fn exchange(stream: &mut (impl Read + Write), request: &str) -> io::Result<Vec<u8>> {
    stream.write_all(request.as_bytes())?;
    stream.flush()?;
    let mut head = Vec::with_capacity(1024);
    let mut buf = [0u8; 4096];
    loop {
        if let Some(end) = find_head_end(&head) {
            head.truncate(end);
            return Ok(head);
        }
        if head.len() > MAX_HEAD {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "response headers larger than 64 KiB",
            ));
        }
        let n = stream.read(&mut buf)?;
        if n == 0 {
            if head.is_empty() {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "the connection closed in the middle of the response headers",
            ));
        }
        head.extend_from_slice(&buf[..n]);
    }
}

fn find_head_end(bytes: &[u8]) -> Option<usize> {
    bytes.windows(4).position(|w| w == b"\r\n\r\n")
}

/// Status code and headers (names lower-cased, values trimmed) of a response head.
fn parse_response(head: &[u8]) -> Result<(u16, Vec<(String, String)>)> {
    let text = String::from_utf8_lossy(head);
    let mut lines = text.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or_default();
    let status = parts.next().and_then(|s| s.parse::<u16>().ok());
    let (true, Some(status)) = (version.starts_with("HTTP/1."), status) else {
        bail!("the server did not answer with HTTP/1.x (is this a registry?)");
    };
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
        .collect();
    Ok((status, headers))
}

/// Connects to the first address of `host:port` that answers before `deadline`.
fn connect(host: &str, port: u16, deadline: Instant) -> io::Result<TcpStream> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let addrs: Vec<SocketAddr> = (bare, port).to_socket_addrs()?.collect();
    let mut last = io::Error::new(io::ErrorKind::NotFound, "the host name has no address");
    for addr in addrs {
        let left = remaining(deadline)?;
        match TcpStream::connect_timeout(&addr, left) {
            Ok(s) => return Ok(s),
            Err(e) => last = e,
        }
    }
    Err(last)
}

fn remaining(deadline: Instant) -> io::Result<Duration> {
    match deadline.checked_duration_since(Instant::now()) {
        Some(d) if !d.is_zero() => Ok(d),
        _ => Err(io::ErrorKind::TimedOut.into()),
    }
}

/// A TCP stream whose every read and write ends by the deadline.
struct Deadline {
    tcp: TcpStream,
    deadline: Instant,
}

impl Read for Deadline {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.tcp.set_read_timeout(Some(remaining(self.deadline)?))?;
        self.tcp.read(buf)
    }
}

impl Write for Deadline {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.tcp
            .set_write_timeout(Some(remaining(self.deadline)?))?;
        self.tcp.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.tcp.flush()
    }
}

/// rustls with the ring provider and the system's root certificates.
/// Without any root the handshake still runs (so a plain-HTTP loopback
/// registry is still detected); a certificate then fails, and the error says why.
fn tls_config() -> Result<(Arc<rustls::ClientConfig>, bool)> {
    let loaded = rustls_native_certs::load_native_certs();
    let mut roots = rustls::RootCertStore::empty();
    let (added, _ignored) = roots.add_parsable_certificates(loaded.certs);
    crate::debug!("discover: {added} system root certificates");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("cannot set up TLS")?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok((Arc::new(config), added > 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, header: &str) -> Answer {
        Answer {
            url: "https://reg.example.com/v2/".into(),
            status,
            challenges: www_authenticate::parse(header).unwrap(),
            location: None,
        }
    }

    #[test]
    fn realm_host_is_the_auth_server() {
        let reg = ServerKey::parse("reg.example.com").unwrap();
        let found = auth_server(
            &reg,
            &answer(
                401,
                r#"Bearer realm="https://SSO.example.com/auth/realms/x?a=b",service="reg:5000""#,
            ),
        )
        .unwrap();
        assert_eq!(found.auth_server.as_str(), "sso.example.com");
        assert_eq!(found.service.as_deref(), Some("reg:5000"));
        let http = auth_server(&reg, &answer(401, r#"Bearer realm="http://sso:8080/t""#)).unwrap();
        assert_eq!(http.auth_server.as_str(), "http://sso:8080");
    }

    #[test]
    fn non_delegating_answers_are_explained() {
        let reg = ServerKey::parse("reg.example.com").unwrap();
        for (status, header, needle) in [
            (401, r#"Basic realm="r""#, "uses Basic authentication"),
            (200, "", "no authentication challenge"),
            (401, "", "without a Bearer challenge"),
            (401, r#"Bearer service="x""#, "has no realm"),
            (401, r#"Bearer realm="/token""#, "unusable Bearer realm"),
            (
                401,
                r#"Bearer realm="https://reg.example.com/token""#,
                "issues its own tokens",
            ),
        ] {
            let err = format!(
                "{:#}",
                auth_server(&reg, &answer(status, header)).unwrap_err()
            );
            assert!(err.contains(needle), "{header}: {err}");
        }
    }

    #[test]
    fn response_head() {
        let (status, values) = parse_response(
            b"HTTP/1.1 401 Unauthorized\r\nContent-Type: x\r\nwww-authenticate: Basic realm=a\r\nWWW-Authenticate:  Bearer realm=\"https://s/t\"",
        )
        .unwrap();
        assert_eq!(status, 401);
        let auth: Vec<&str> = values
            .iter()
            .filter(|(n, _)| n == "www-authenticate")
            .map(|(_, v)| v.as_str())
            .collect();
        assert_eq!(auth, ["Basic realm=a", "Bearer realm=\"https://s/t\""]);
        assert!(parse_response(b"SSH-2.0-OpenSSH").is_err());
    }

    #[test]
    fn loopback() {
        for h in ["localhost", "127.0.0.1", "127.1.2.3", "[::1]"] {
            assert!(is_loopback(h), "{h}");
        }
        for h in ["example.com", "10.0.0.1", "localhost.example.com"] {
            assert!(!is_loopback(h), "{h}");
        }
    }
}
