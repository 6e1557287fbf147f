//! The registry client: the one HTTP client of `login`'s check, `check` and
//! `pair discover`. Never on the get/list/store/erase path.
//!
//! Built on ureq (rustls, ring provider). The rules that keep it safe live here:
//! - TLS trusts the system roots plus the CAs docker and the containers tools
//!   use for a host: `*.crt` in `certs.d/HOST[:PORT]/` under `/etc/docker`,
//!   `/etc/containers` and `~/.config/containers` (or the directories listed
//!   in [`certs_d::CERTS_D_ENV`]), read once per host and within the deadline;
//!   a self-signed CA:TRUE certificate pinned in the host's `certs.d` is
//!   accepted for that host, as docker accepts it ([`tls`]).
//! - Plain HTTP only to a loopback host, or with `--insecure`.
//! - `HTTPS_PROXY`/`HTTP_PROXY` (per scheme, either case) with `NO_PROXY`;
//!   HTTPS goes through a CONNECT tunnel.
//! - One deadline bounds the whole exchange (every request, redirect and body).
//! - Response heads are bounded by [`MAX_RESPONSE_HEAD`], bodies by
//!   [`MAX_BODY`], request heads by [`MAX_REQUEST_HEAD`]; a limit that is hit
//!   is named in the error.
//! - Redirects of token requests (at most [`MAX_REDIRECTS`]) are followed as
//!   Go's client does for docker, except that the `Authorization` header goes
//!   only to the same scheme, host and port; a redirect to plain HTTP obeys the
//!   rule above. `/v2/` requests use [`Client::get_once`]: a registry's API
//!   root that redirects is reported, not followed.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use rustls::{ClientConfig, RootCertStore};
use ureq::http::Uri;
use ureq::unversioned::resolver::DefaultResolver;
use ureq::unversioned::transport::{ConnectProxyConnector, Connector, TcpConnector};
use zeroize::Zeroizing;

use crate::redact;
use crate::secret::Secret;
use crate::www_authenticate::{self, Challenge};

mod certs_d;
mod tls;

/// Default bound for a whole exchange.
pub(crate) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Largest response body read (token responses are a few KiB).
pub(crate) const MAX_BODY: u64 = 1024 * 1024;

/// Largest response head read (status line and headers; ureq's default).
pub(crate) const MAX_RESPONSE_HEAD: usize = 64 * 1024;

/// Largest request head sent. The longest credential the input limits admit
/// (1 MiB, in base64 in a Basic header) and the longest token [`MAX_BODY`]
/// admits (sent back as a Bearer header, as docker sends it) fit.
pub(crate) const MAX_REQUEST_HEAD: usize = 2 * 1024 * 1024;

/// Room for the request line and the headers other than `Authorization`.
const HEAD_SLACK: usize = 8 * 1024;

/// How many origins' agents (and their idle connections) a client keeps:
/// twice `check`'s threads, each asking a registry and its realm.
const MAX_POOLED_ORIGINS: usize = 32;

/// ureq's default output buffer, enough for a request without a large header.
const MIN_OUTPUT_BUFFER: usize = 128 * 1024;

/// Redirects followed per request (Go's client, which docker uses, stops at 10).
pub(crate) const MAX_REDIRECTS: usize = 10;

/// How to reach registries.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Options {
    /// Allow plain HTTP to a host that is not loopback.
    pub(crate) insecure: bool,
    /// Bound on everything this client does.
    pub(crate) timeout: Duration,
}

impl Options {
    /// Checks a `--timeout` in seconds.
    pub(crate) fn new(insecure: bool, timeout_secs: f64) -> Result<Options> {
        if !(timeout_secs.is_finite() && timeout_secs > 0.0 && timeout_secs <= 3600.0) {
            bail!("--timeout must be a number of seconds between 0 and 3600");
        }
        Ok(Options {
            insecure,
            timeout: Duration::from_secs_f64(timeout_secs),
        })
    }
}

/// `request` bounded by the time `left` until the client's deadline, with
/// an output buffer that holds its head (`head` bytes). A head larger than
/// the agent's buffer takes a connection of its own (ureq pools only
/// connections of one buffer size).
fn scoped<B>(
    request: ureq::RequestBuilder<B>,
    left: Duration,
    head: usize,
) -> ureq::RequestBuilder<B> {
    let config = request.config().timeout_global(Some(left));
    match head > MIN_OUTPUT_BUFFER {
        true => config.output_buffer_size(head).build(),
        false => config.build(),
    }
}

/// The server could not be reached or did not speak HTTP: connection refused,
/// name not found, timeout, TLS failure. Callers branch on it (`check`'s
/// "unreachable"); the text says what happened.
#[derive(Debug)]
pub(crate) struct Unreachable {
    text: String,
    /// The peer speaks TLS but the handshake failed (certificate, alert):
    /// trying plain HTTP instead would be wrong.
    tls: bool,
}

impl std::fmt::Display for Unreachable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::error::Error for Unreachable {}

/// Whether `err` is (or wraps) [`Unreachable`].
pub(crate) fn is_unreachable(err: &anyhow::Error) -> bool {
    err.chain()
        .any(|c| c.downcast_ref::<Unreachable>().is_some())
}

/// Whether `err` is a failed TLS handshake with a peer that speaks TLS.
pub(crate) fn is_tls_failure(err: &anyhow::Error) -> bool {
    err.chain()
        .any(|c| c.downcast_ref::<Unreachable>().is_some_and(|u| u.tls))
}

/// Credentials sent with a request.
#[derive(Clone, Copy)]
pub(crate) enum Auth<'a> {
    Basic(&'a str, &'a Secret),
    Bearer(&'a Secret),
}

impl Auth<'_> {
    fn header(&self) -> Zeroizing<String> {
        use base64::Engine;
        match self {
            Auth::Basic(user, secret) => {
                let pair = Zeroizing::new(format!("{user}:{}", secret.expose()));
                let encoded = Zeroizing::new(
                    base64::engine::general_purpose::STANDARD.encode(pair.as_bytes()),
                );
                Zeroizing::new(format!("Basic {}", encoded.as_str()))
            }
            Auth::Bearer(token) => Zeroizing::new(format!("Bearer {}", token.expose())),
        }
    }
}

/// What a server answered (after redirects).
pub(crate) struct Reply {
    /// The URL that answered (the last one, after redirects), as asked: a
    /// message shows it through [`redact::url`].
    pub(crate) url: String,
    pub(crate) status: u16,
    /// Its `WWW-Authenticate` challenges (an unparsable header: the error).
    pub(crate) challenges: Result<Vec<Challenge>, www_authenticate::Malformed>,
    /// `Location` of a redirect that was not followed (or of a created upload).
    pub(crate) location: Option<String>,
    /// `Docker-Content-Digest`: the digest of the manifest or blob answered.
    pub(crate) digest: Option<String>,
    /// The body, at most [`MAX_BODY`] bytes.
    pub(crate) body: Vec<u8>,
}

/// The body holds tokens and the URL a query: neither is shown.
impl std::fmt::Debug for Reply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reply")
            .field("url", &redact::url(&self.url))
            .field("status", &self.status)
            .field("body_len", &self.body.len())
            .finish_non_exhaustive()
    }
}

/// The shared client: options, deadline, the system roots (loaded once) and
/// the TLS configuration of each host asked (once per `certs.d` name; none
/// when there is no root to check against).
pub(crate) struct Client {
    options: Options,
    deadline: Instant,
    system_roots: OnceLock<RootCertStore>,
    host_tls: Mutex<HashMap<String, Option<Arc<ClientConfig>>>>,
    /// One agent per origin, so that the requests of one check (a
    /// registry's `/v2/` twice, its realm) share connections: one name
    /// resolution and one TLS handshake per host, not one per request.
    agents: Mutex<HashMap<String, ureq::Agent>>,
}

/// A request body: `application/x-www-form-urlencoded`, wiped after use
/// (it may hold a password or refresh token).
type Form = Zeroizing<String>;

impl Client {
    /// A client whose every request ends by `options.timeout` from now.
    pub(crate) fn new(options: Options) -> Client {
        Client {
            options,
            deadline: Instant::now() + options.timeout,
            system_roots: OnceLock::new(),
            host_tls: Mutex::new(HashMap::new()),
            agents: Mutex::new(HashMap::new()),
        }
    }

    pub(crate) fn options(&self) -> Options {
        self.options
    }

    /// `GET url`, following redirects.
    pub(crate) fn get(&self, url: &str, auth: Option<Auth<'_>>) -> Result<Reply> {
        self.send(url, auth, None)
    }

    /// `GET url`, a redirect answered as it is (its `Location` in the reply).
    pub(crate) fn get_once(&self, url: &str, auth: Option<Auth<'_>>) -> Result<Reply> {
        self.call_once(Method::Get, url, auth, None)
    }

    /// One `method` request to `url` with an optional `Accept` header, a
    /// redirect answered as it is (the registry API calls of `check --image`:
    /// `HEAD` of a manifest, `POST` and `DELETE` of a blob upload; a `POST`
    /// has an empty body).
    pub(crate) fn call_once(
        &self,
        method: Method,
        url: &str,
        auth: Option<Auth<'_>>,
        accept: Option<&str>,
    ) -> Result<Reply> {
        let target = Target::parse(url)?;
        self.allowed(&target)?;
        self.once(&target, auth, Body::Empty(method, accept))
    }

    /// `POST url` with a form body (`name=value&...`, values percent-encoded).
    pub(crate) fn post_form(
        &self,
        url: &str,
        fields: &[(&str, &str)],
        auth: Option<Auth<'_>>,
    ) -> Result<Reply> {
        let mut body = Zeroizing::new(String::new());
        for (i, (name, value)) in fields.iter().enumerate() {
            if i > 0 {
                body.push('&');
            }
            body.push_str(&form_encode(name));
            body.push('=');
            body.push_str(&form_encode(value));
        }
        self.send(url, auth, Some(body))
    }

    fn send(&self, url: &str, auth: Option<Auth<'_>>, mut form: Option<Form>) -> Result<Reply> {
        let first = Target::parse(url)?;
        let mut target = first.clone();
        for _ in 0..=MAX_REDIRECTS {
            self.allowed(&target)?;
            // The credential goes only where it was meant to go.
            let auth = auth.filter(|_| target.same_origin(&first));
            let body = match &form {
                Some(form) => Body::Form(form),
                None => Body::Empty(Method::Get, None),
            };
            let mut reply = self.once(&target, auth, body)?;
            let redirect = matches!(reply.status, 301 | 302 | 303 | 307 | 308);
            match (redirect, reply.location.take()) {
                (true, Some(location)) => {
                    let next = Target::parse(&target.join(&location)).with_context(|| {
                        format!(
                            "{} redirects to {:?}",
                            target.shown(),
                            redact::url(&location)
                        )
                    })?;
                    // A form body (a refresh token) is a credential too. As
                    // Go: 301/302/303 turn the POST into a GET without a body;
                    // a 307/308 elsewhere would re-send it, so it is refused.
                    if form.is_some() {
                        if matches!(reply.status, 301..=303) {
                            form = None;
                        } else if !next.same_origin(&first) {
                            bail!(
                                "{} redirects a token request to {}: not sending the credential there",
                                target.shown(),
                                next.authority()
                            );
                        }
                    }
                    target = next;
                    crate::debug!("http: redirected to {}", target.shown());
                }
                (_, location) => {
                    reply.location = location;
                    return Ok(reply);
                }
            }
        }
        bail!("{}: more than {MAX_REDIRECTS} redirects", redact::url(url))
    }

    /// The plain-HTTP rule.
    fn allowed(&self, target: &Target) -> Result<()> {
        if target.https || self.options.insecure || is_loopback(&target.host) {
            return Ok(());
        }
        bail!(
            "refusing plain HTTP to {}: pass --insecure to allow it",
            target.authority()
        )
    }

    fn remaining(&self, target: &Target) -> Result<Duration> {
        match self.deadline.checked_duration_since(Instant::now()) {
            Some(left) if !left.is_zero() => Ok(left),
            _ => Err(self.timed_out(target)),
        }
    }

    fn timed_out(&self, target: &Target) -> anyhow::Error {
        anyhow::Error::new(Unreachable {
            text: format!(
                "timed out after {}s asking {} (is it reachable? raise --timeout if it is slow)",
                self.options.timeout.as_secs_f64(),
                target.shown()
            ),
            tls: false,
        })
    }

    /// One request, no redirect followed.
    fn once(&self, target: &Target, auth: Option<Auth<'_>>, body: Body<'_>) -> Result<Reply> {
        let left = self.remaining(target)?;
        let header = auth.map(|a| a.header());
        let head = target.url.len() + header.as_ref().map_or(0, |h| h.len()) + HEAD_SLACK;
        if head > MAX_REQUEST_HEAD {
            bail!(
                "the request headers to {} would exceed the {} limit (the credential or token is {})",
                target.shown(),
                size(MAX_REQUEST_HEAD as u64),
                size(head as u64)
            );
        }
        let agent = self.agent(target)?;
        let authorization = header.as_ref().map(|h| h.as_str());
        let url = target.url.as_str();
        let result = match body {
            Body::Form(form) => {
                let request = scoped(agent.post(url), left, head)
                    .header("Content-Type", "application/x-www-form-urlencoded");
                with_headers(request, authorization, None).send(form.as_bytes())
            }
            Body::Empty(Method::Post, accept) => {
                with_headers(scoped(agent.post(url), left, head), authorization, accept)
                    .send_empty()
            }
            Body::Empty(Method::Get, accept) => {
                with_headers(scoped(agent.get(url), left, head), authorization, accept).call()
            }
            Body::Empty(Method::Head, accept) => {
                with_headers(scoped(agent.head(url), left, head), authorization, accept).call()
            }
            Body::Empty(Method::Delete, accept) => {
                with_headers(scoped(agent.delete(url), left, head), authorization, accept).call()
            }
        };
        let mut response = result.map_err(|e| self.failure(target, e))?;
        let status = response.status().as_u16();
        let headers = response.headers();
        let values: Vec<String> = headers
            .get_all("www-authenticate")
            .iter()
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .collect();
        let challenges = www_authenticate::parse_headers(values.iter().map(String::as_str));
        let text = |name: &str| {
            headers
                .get(name)
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        };
        let location = text("location");
        let digest = text("docker-content-digest");
        let body = response
            .body_mut()
            .with_config()
            .limit(MAX_BODY)
            .read_to_vec()
            .map_err(|e| match e {
                ureq::Error::BodyExceedsLimit(_) => anyhow!(
                    "the response body of {} exceeds the {} limit",
                    target.shown(),
                    size(MAX_BODY)
                ),
                other => self.failure(target, other),
            })?;
        Ok(Reply {
            url: target.url.clone(),
            status,
            challenges,
            location,
            digest,
            body,
        })
    }

    /// The ureq agent of the target's origin (built on first use): the
    /// proxy and TLS set-up that fit it, and its pool of connections. The
    /// connector chain is ureq's default one (CONNECT proxy, TCP, TLS) with
    /// our TLS step, whose verifier ureq cannot take. The deadline is set
    /// per request ([`scoped`]).
    fn agent(&self, target: &Target) -> Result<ureq::Agent> {
        let origin = format!(
            "{}://{}",
            if target.https { "https" } else { "http" },
            target.authority()
        );
        let mut agents = self.agents.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(agent) = agents.get(&origin) {
            return Ok(agent.clone());
        }
        let agent = self.new_agent(target)?;
        if agents.len() >= MAX_POOLED_ORIGINS {
            // Idle connections hold their buffers (256 KiB each): a check
            // of hundreds of registries keeps only the latest ones.
            agents.clear();
        }
        agents.insert(origin, agent.clone());
        Ok(agent)
    }

    fn new_agent(&self, target: &Target) -> Result<ureq::Agent> {
        let tls = self.tls_config(target)?;
        let proxy = match proxy_for(target, &|name: &str| std::env::var(name)) {
            Some(proxy) => Some(connect_proxy(&proxy)?),
            None => None,
        };
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .max_redirects_will_error(false)
            .max_response_header_size(MAX_RESPONSE_HEAD)
            .output_buffer_size(MIN_OUTPUT_BUFFER)
            .user_agent(format!(
                "{}/{}",
                crate::BINARY_NAME,
                env!("CARGO_PKG_VERSION")
            ))
            .proxy(proxy)
            .build();
        let connector =
            ().chain(ConnectProxyConnector::default())
                .chain(TcpConnector::default())
                .chain(tls::Tls {
                    config: tls,
                    deadline: self.deadline,
                });
        Ok(ureq::Agent::with_parts(
            config,
            connector,
            DefaultResolver::default(),
        ))
    }

    /// The TLS configuration of the target's host: system roots plus its
    /// certs.d CAs, read once per host (the lock is held while reading, so
    /// each file is read and warned about once even when `check` asks a host
    /// from several threads).
    fn tls_config(&self, target: &Target) -> Result<Option<Arc<ClientConfig>>> {
        let name = target.authority();
        let mut cache = self.host_tls.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(config) = cache.get(&name) {
            return Ok(config.clone());
        }
        let extra = certs_d::load(&name, self.deadline).map_err(|_| {
            anyhow::Error::new(Unreachable {
                text: format!(
                    "timed out after {}s reading the certs.d CAs of {} (is a certs.d directory on a file system that hangs?)",
                    self.options.timeout.as_secs_f64(),
                    crate::printable::printable(&name)
                ),
                tls: false,
            })
        })?;
        let system = self.system_roots.get_or_init(tls::system_roots);
        let config = tls::host_config(system, extra);
        cache.insert(name, config.clone());
        Ok(config)
    }

    fn tls_failure(&self, target: &Target, err: &rustls::Error) -> String {
        let authority = target.authority();
        if tls::is_ca_used_as_end_entity(err) {
            return format!(
                "TLS failure talking to {authority}: its certificate is a CA certificate (CA:TRUE, as `openssl req -x509` makes), trusted as a server's own certificate only for the host whose certs.d holds it: if it is this registry's certificate, put it in {}",
                certs_d::ca_file_advice(&authority)
            );
        }
        format!(
            "TLS failure talking to {authority}: {err} (a certificate not signed by a system root or by a CA in certs.d/{authority}/, or a name mismatch?)"
        )
    }

    /// Turns a ureq error into what happened and what to do.
    fn failure(&self, target: &Target, err: ureq::Error) -> anyhow::Error {
        let authority = target.authority();
        // A peer that answered the handshake in TLS (a certificate, an alert).
        let speaks_tls = |e: &rustls::Error| !matches!(e, rustls::Error::InvalidMessage(_));
        let mut tls = false;
        let text = match &err {
            ureq::Error::Timeout(_) => return self.timed_out(target),
            ureq::Error::HostNotFound => format!("cannot resolve {}", target.host),
            ureq::Error::Io(e) if e.kind() == std::io::ErrorKind::TimedOut => {
                return self.timed_out(target)
            }
            ureq::Error::Io(e) => match e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>())
            {
                Some(e) => {
                    tls = speaks_tls(e);
                    self.tls_failure(target, e)
                }
                None => {
                    use std::io::ErrorKind::*;
                    match e.kind() {
                        ConnectionRefused | HostUnreachable | NetworkUnreachable
                        | AddrNotAvailable => format!("cannot connect to {authority}: {e}"),
                        _ if e.to_string().contains("lookup address") => {
                            format!("cannot resolve {}: {e}", target.host)
                        }
                        _ => format!("cannot talk to {authority}: {e}"),
                    }
                }
            },
            ureq::Error::ConnectionFailed => format!("cannot connect to {authority}"),
            ureq::Error::Tls(tls::NO_ROOTS) => format!(
                "cannot check the TLS certificate of {authority}: no system root certificates (install them, e.g. the ca-certificates package) and no CA in {}",
                certs_d::ca_file_advice(&authority)
            ),
            ureq::Error::Rustls(e) => {
                tls = speaks_tls(e);
                self.tls_failure(target, e)
            }
            ureq::Error::ConnectProxyFailed(e) => {
                format!("the proxy refused to open a tunnel to {authority}: {e}")
            }
            ureq::Error::Protocol(e) => {
                format!("{} did not answer with valid HTTP/1.x: {e}", target.shown())
            }
            ureq::Error::LargeResponseHeader(..) => format!(
                "the response headers of {} exceed the {} limit",
                target.shown(),
                size(MAX_RESPONSE_HEAD as u64)
            ),
            // ureq's text of a bad URI quotes the URI.
            ureq::Error::BadUri(_) => format!("{} is not a URL ureq can ask", target.shown()),
            other => format!("cannot ask {}: {other}", target.shown()),
        };
        anyhow::Error::new(Unreachable {
            text: crate::printable::printable(&text).into_owned(),
            tls,
        })
    }
}

/// The methods of [`Client::call_once`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Method {
    Get,
    Head,
    Post,
    Delete,
}

/// What one request sends: a form (always a `POST`), or nothing.
#[derive(Clone, Copy)]
enum Body<'a> {
    Form(&'a Form),
    /// The method and the `Accept` header.
    Empty(Method, Option<&'a str>),
}

/// `request` with the `Authorization` and `Accept` headers given.
fn with_headers<B>(
    mut request: ureq::RequestBuilder<B>,
    authorization: Option<&str>,
    accept: Option<&str>,
) -> ureq::RequestBuilder<B> {
    if let Some(value) = authorization {
        request = request.header("Authorization", value);
    }
    if let Some(value) = accept {
        request = request.header("Accept", value);
    }
    request
}

/// `location` (absolute, or relative to `base`) as an absolute URL, only
/// when it is on `base`'s scheme, host and port: a registry's upload
/// `Location` gets the registry's credential, so it must not lead elsewhere.
pub(crate) fn same_origin_location(base: &str, location: &str) -> Result<String> {
    let base = Target::parse(base)?;
    let joined = base.join(location);
    let next = Target::parse(&joined)
        .with_context(|| format!("{} answered with an unusable Location", base.shown()))?;
    if !next.same_origin(&base) {
        bail!(
            "{} answered with a Location on {}: not sending the credential there",
            base.shown(),
            next.authority()
        );
    }
    Ok(joined)
}

/// A request URL, split the way the rules need it.
#[derive(Debug, Clone)]
struct Target {
    url: String,
    https: bool,
    host: String,
    port: u16,
    explicit_port: bool,
}

impl Target {
    fn parse(url: &str) -> Result<Target> {
        let uri: Uri = url
            .parse()
            .map_err(|_| anyhow!("{:?} is not a URL", shown(url)))?;
        let https = match uri.scheme_str().map(str::to_ascii_lowercase).as_deref() {
            Some("https") => true,
            Some("http") => false,
            _ => bail!("{} is not an http(s) URL", shown(url)),
        };
        let authority = uri
            .authority()
            .ok_or_else(|| anyhow!("{} has no host", shown(url)))?;
        if authority.as_str().contains('@') {
            bail!("{} carries a user name: refusing it", shown(url));
        }
        let explicit = authority.port_u16();
        Ok(Target {
            url: url.to_owned(),
            https,
            host: authority.host().to_ascii_lowercase(),
            port: explicit.unwrap_or(if https { 443 } else { 80 }),
            explicit_port: explicit.is_some(),
        })
    }

    /// The URL as messages show it (no query, fragment or user information).
    fn shown(&self) -> String {
        shown(&self.url)
    }

    /// `HOST[:PORT]` as the URL spelled it (the same rule as the `certs.d` name).
    fn authority(&self) -> String {
        certs_d::dir_name(&self.host, self.port, self.explicit_port)
    }

    fn same_origin(&self, other: &Target) -> bool {
        self.https == other.https && self.host == other.host && self.port == other.port
    }

    /// Resolves a `Location` against this URL.
    fn join(&self, location: &str) -> String {
        if location.contains("://") {
            return location.to_owned();
        }
        let scheme = if self.https { "https" } else { "http" };
        let origin = format!("{scheme}://{}", self.authority());
        if let Some(rest) = location.strip_prefix("//") {
            return format!("{scheme}://{rest}");
        }
        if location.starts_with('/') {
            return format!("{origin}{location}");
        }
        let path = self.url[origin.len().min(self.url.len())..]
            .split(['?', '#'])
            .next()
            .unwrap_or("/");
        let dir = &path[..path.rfind('/').map_or(0, |i| i + 1)];
        format!(
            "{origin}{}{location}",
            if dir.is_empty() { "/" } else { dir }
        )
    }
}

/// Whether `host` is loopback (`localhost`, 127.0.0.0/8, ::1). Not
/// `*.localhost`: the system resolver (glibc's `files dns`) sends those to DNS
/// and its search domains, which may answer with any address.
pub(crate) fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare.eq_ignore_ascii_case("localhost")
        || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// The proxy for `target` from the environment, as Go's `ProxyFromEnvironment`
/// (which docker uses) picks it: `HTTPS_PROXY` for https, `HTTP_PROXY` for
/// http (upper case first), unless `NO_PROXY` names the host. Loopback hosts
/// go direct, as in Go.
fn proxy_for(
    target: &Target,
    var: &dyn Fn(&str) -> Result<String, std::env::VarError>,
) -> Option<String> {
    let get = |names: [&str; 2]| {
        names
            .iter()
            .find_map(|n| var(n).ok().filter(|v| !v.is_empty()))
    };
    let proxy = if target.https {
        get(["HTTPS_PROXY", "https_proxy"])
    } else {
        get(["HTTP_PROXY", "http_proxy"])
    }?;
    let no_proxy = get(["NO_PROXY", "no_proxy"]).unwrap_or_default();
    if is_loopback(&target.host) || no_proxy_matches(&no_proxy, &target.host, target.port) {
        return None;
    }
    // A bare host:port means http:// (as Go reads it).
    Some(if proxy.contains("://") {
        proxy
    } else {
        format!("http://{proxy}")
    })
}

/// A proxy setting as ureq's CONNECT proxy. A SOCKS proxy is refused: the
/// connector chain has no SOCKS step, so the request would go around it
/// (ureq's own chain panicked instead).
fn connect_proxy(setting: &str) -> Result<ureq::Proxy> {
    let proxy = ureq::Proxy::new(setting).map_err(|_| {
        anyhow!(
            "the proxy setting {} is not a usable proxy URL (expected http://HOST:PORT)",
            shown(setting)
        )
    })?;
    if !matches!(
        proxy.protocol(),
        ureq::ProxyProtocol::Http | ureq::ProxyProtocol::Https
    ) {
        bail!(
            "the proxy setting {} is a SOCKS proxy, which this client does not support: set HTTPS_PROXY/HTTP_PROXY to an HTTP proxy (http://HOST:PORT), or name the registry in NO_PROXY",
            shown(setting)
        );
    }
    Ok(proxy)
}

/// `NO_PROXY`: `*`, or entries `host`, `.domain`/`domain` (suffix match),
/// `host:port`, an IP address (CIDR ranges are not supported).
fn no_proxy_matches(no_proxy: &str, host: &str, port: u16) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    no_proxy.split(',').map(str::trim).any(|entry| {
        if entry == "*" {
            return true;
        }
        let (name, entry_port) = match entry.rsplit_once(':') {
            Some((n, p)) if !n.contains(':') || n.ends_with(']') => (n, p.parse::<u16>().ok()),
            _ => (entry, None),
        };
        let name = name
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_ascii_lowercase();
        let name = name.trim_start_matches('.');
        if name.is_empty() || entry_port.is_some_and(|p| p != port) {
            return false;
        }
        host == name || host.ends_with(&format!(".{name}"))
    })
}

/// A limit as errors name it: `64 KiB`, `1 MiB`.
fn size(bytes: u64) -> String {
    const MIB: u64 = 1024 * 1024;
    if bytes >= MIB && bytes.is_multiple_of(MIB) {
        format!("{} MiB", bytes / MIB)
    } else {
        format!("{} KiB", bytes.div_ceil(1024))
    }
}

/// `url` for a message: through [`redact::url`], then terminal-safe.
fn shown(url: &str) -> String {
    crate::printable::printable(&redact::url(url)).into_owned()
}

/// `application/x-www-form-urlencoded` encoding of one name or value.
fn form_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'*' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Percent-encodes a query parameter value.
pub(crate) fn query_encode(text: &str) -> String {
    form_encode(text).replace('+', "%20")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(url: &str) -> Target {
        Target::parse(url).unwrap()
    }

    #[test]
    fn loopback_hosts() {
        for h in ["localhost", "127.0.0.1", "127.1.2.3", "[::1]"] {
            assert!(is_loopback(h), "{h}");
        }
        for h in [
            "example.com",
            "10.0.0.1",
            "localhost.example.com",
            "a.localhost",
        ] {
            assert!(!is_loopback(h), "{h}");
        }
    }

    #[test]
    fn plain_http_only_for_loopback_or_insecure() {
        let strict = Client::new(Options::new(false, 5.0).unwrap());
        assert!(strict.allowed(&target("http://127.0.0.1:5000/v2/")).is_ok());
        assert!(strict
            .allowed(&target("https://reg.example.com/v2/"))
            .is_ok());
        let err = strict
            .allowed(&target("http://reg.example.com/v2/"))
            .unwrap_err();
        assert!(err.to_string().contains("--insecure"), "{err}");
        let insecure = Client::new(Options::new(true, 5.0).unwrap());
        assert!(insecure
            .allowed(&target("http://reg.example.com/v2/"))
            .is_ok());
    }

    #[test]
    fn proxy_per_scheme_and_no_proxy() {
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                vars.iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, v)| v.to_string())
                    .ok_or(std::env::VarError::NotPresent)
            }
        };
        let vars = env(&[
            ("https_proxy", "http://p:3128"),
            ("HTTP_PROXY", "plain:8080"),
            (
                "no_proxy",
                "internal.example, .corp,10.1.1.1,reg.example.com:5000",
            ),
        ]);
        let https = target("https://reg.example.com/v2/");
        assert_eq!(proxy_for(&https, &vars).as_deref(), Some("http://p:3128"));
        let http = target("http://reg.example.com/v2/");
        assert_eq!(
            proxy_for(&http, &vars).as_deref(),
            Some("http://plain:8080")
        );
        for bypass in [
            "https://internal.example/v2/",
            "https://a.internal.example/v2/",
            "https://x.corp/v2/",
            "https://10.1.1.1/v2/",
            "https://reg.example.com:5000/v2/",
        ] {
            assert_eq!(proxy_for(&target(bypass), &vars), None, "{bypass}");
        }
        assert!(proxy_for(&target("https://reg.example.com:5001/v2/"), &vars).is_some());
        assert!(proxy_for(&target("https://notinternal.example/v2/"), &vars).is_some());
        let star = env(&[("HTTPS_PROXY", "http://p:1"), ("NO_PROXY", "*")]);
        assert_eq!(proxy_for(&https, &star), None);
        assert_eq!(proxy_for(&https, &env(&[])), None);
        let local = env(&[("HTTPS_PROXY", "http://p:1"), ("HTTP_PROXY", "http://p:1")]);
        assert_eq!(
            proxy_for(&target("https://127.0.0.1:5000/v2/"), &local),
            None
        );
        assert_eq!(
            proxy_for(&target("http://localhost:5000/v2/"), &local),
            None
        );
    }

    #[test]
    fn socks_proxies_are_refused_not_bypassed() {
        for setting in ["socks5://127.0.0.1:1080", "socks4://u:pw@127.0.0.1:1080"] {
            let err = connect_proxy(setting).unwrap_err().to_string();
            assert!(err.contains("SOCKS") && !err.contains("pw"), "{err}");
        }
        assert!(connect_proxy("http://127.0.0.1:3128").is_ok());
        assert!(connect_proxy("127.0.0.1:3128").is_ok());
    }

    #[test]
    fn redirect_targets() {
        let t = target("https://reg.example.com:5000/v2/token?x=1");
        assert_eq!(t.join("/other"), "https://reg.example.com:5000/other");
        assert_eq!(t.join("next"), "https://reg.example.com:5000/v2/next");
        assert_eq!(t.join("//cdn.example/x"), "https://cdn.example/x");
        assert_eq!(t.join("http://elsewhere/y"), "http://elsewhere/y");
        assert!(t.same_origin(&target("https://REG.example.com:5000/a")));
        assert!(!t.same_origin(&target("http://reg.example.com:5000/a")));
        assert!(!t.same_origin(&target("https://reg.example.com/a")));
    }

    #[test]
    fn upload_locations_stay_on_the_registry() {
        let start = "http://127.0.0.1:5000/v2/team/app/blobs/uploads/";
        let same = |l: &str| same_origin_location(start, l);
        assert_eq!(
            same("/v2/team/app/blobs/uploads/u1?_state=x").unwrap(),
            "http://127.0.0.1:5000/v2/team/app/blobs/uploads/u1?_state=x"
        );
        assert_eq!(
            same("http://127.0.0.1:5000/v2/team/app/blobs/uploads/u2").unwrap(),
            "http://127.0.0.1:5000/v2/team/app/blobs/uploads/u2"
        );
        for elsewhere in [
            "http://evil.example:5000/v2/x",
            "//evil.example/v2/x",
            "https://127.0.0.1:5000/v2/x",
            "http://127.0.0.1:5001/v2/x",
        ] {
            let err = same(elsewhere).unwrap_err().to_string();
            assert!(
                err.contains("not sending the credential"),
                "{elsewhere}: {err}"
            );
        }
        assert!(same("http://user:pw@127.0.0.1:5000/x").is_err());
    }

    #[test]
    fn urls_with_user_info_are_refused_without_echoing_it() {
        let err = Target::parse("https://bob:hunter2@reg.example.com/v2/")
            .unwrap_err()
            .to_string();
        assert!(!err.contains("hunter2"), "{err}");
        assert_eq!(redact::url("http://u:p@proxy:3128"), "http://proxy:3128");
    }

    #[test]
    fn form_encoding() {
        assert_eq!(form_encode("a b&c=d/é"), "a+b%26c%3Dd%2F%C3%A9");
        assert_eq!(query_encode("registry:5000 x"), "registry%3A5000%20x");
    }

    #[test]
    fn limits_are_named_in_their_units() {
        assert_eq!(size(MAX_RESPONSE_HEAD as u64), "64 KiB");
        assert_eq!(size(MAX_BODY), "1 MiB");
        assert_eq!(size(MAX_REQUEST_HEAD as u64), "2 MiB");
        assert_eq!(size(1_500_000), "1465 KiB");
    }

    #[test]
    fn timeout_bounds() {
        assert!(Options::new(false, 0.0).is_err());
        assert!(Options::new(false, f64::NAN).is_err());
        assert!(Options::new(false, 4000.0).is_err());
        assert!(Options::new(false, 0.5).is_ok());
    }
}
