//! Does a registry accept a credential? The flow `docker login` runs (the
//! distribution token-auth specification), through the shared client
//! ([`crate::http`]):
//!
//! 1. `GET /v2/` without credentials (HTTPS; plain HTTP for loopback or
//!    `--insecure`, as docker does for insecure registries).
//! 2. A `Basic` challenge: `GET /v2/` again with the credential.
//! 3. A `Bearer` challenge: a token from the realm with `service`, `account`
//!    and the credential (for a paired registry, the credential the pair
//!    resolves to), then `GET /v2/` with the token.
//!    An identity token (username `<token>`) uses the OAuth2 `refresh_token`
//!    grant instead (`POST` to the realm), as docker does.
//!
//! [`authorize`] is steps 1 and 3's token request on their own, with an
//! optional scope (`repository:NAME:pull` for `check --image`): the one token
//! client of this crate.
//!
//! A refresh token the auth server hands out for a password (docker asks for
//! one with `offline_token=true`) is not stored: the password stays the
//! stored credential, because pull secrets and the other clients reading the
//! store need a username and password.

use anyhow::{anyhow, bail, Context, Result};
use serde::Serialize;

use crate::http::{self, Auth, Client, Reply};
use crate::redact;
use crate::registry::ServerKey;
use crate::secret::Secret;
use crate::store::{Credential, Credentials};
use crate::www_authenticate::Challenge;

/// The username docker uses for an identity (refresh) token.
pub(crate) const IDENTITY_TOKEN_USER: &str = "<token>";

/// The `client_id` sent to auth servers.
const CLIENT_ID: &str = crate::BINARY_NAME;

/// A username and secret.
#[derive(Clone, Copy)]
pub(crate) struct Cred<'a> {
    pub(crate) username: &'a str,
    pub(crate) secret: &'a Secret,
}

/// What to check: a registry credential, and (paired registries) the auth
/// server and the credential it is sent.
pub(crate) struct Attempt<'a> {
    pub(crate) registry: &'a ServerKey,
    pub(crate) credential: Cred<'a>,
    /// The recorded (or about to be recorded) auth server, with the
    /// credential the pair resolves to for it.
    pub(crate) auth_server: Option<(&'a ServerKey, Cred<'a>)>,
}

/// Who refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Party {
    Registry,
    AuthServer,
}

impl std::fmt::Display for Party {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Party::Registry => "registry",
            Party::AuthServer => "auth server",
        })
    }
}

/// The answer about one credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// The registry accepted it.
    Accepted,
    /// `by` answered `status` at `url`.
    Rejected { by: Party, url: String, status: u16 },
    /// The registry asks for no credential (`/v2/` answers 200): nothing to check.
    Open,
}

/// A verdict and what was learnt on the way.
#[derive(Debug)]
pub(crate) struct Checked {
    pub(crate) verdict: Verdict,
    /// Things the user should know (the realm is not on the recorded auth server).
    pub(crate) notes: Vec<String>,
}

/// `https://HOST[:PORT]/v2/` of a registry (its key's path is a namespace, not asked).
fn v2_url(registry: &ServerKey, https: bool) -> String {
    let scheme = if https { "https" } else { "http" };
    format!("{scheme}://{}/v2/", registry.api_authority())
}

/// `GET /v2/` of `registry`, with `auth` if given (a redirect is not followed:
/// `/v2/` is the registry's API root on the host asked). HTTPS first; plain HTTP
/// when the key says `http://`, or as a fallback when HTTPS fails and plain
/// HTTP is allowed (loopback host, `--insecure`).
pub(crate) fn ping(client: &Client, registry: &ServerKey, auth: Option<Auth<'_>>) -> Result<Reply> {
    if registry.is_http() {
        return client.get_once(&v2_url(registry, false), auth);
    }
    let plain_ok = client.options().insecure || http::is_loopback(registry.host());
    match client.get_once(&v2_url(registry, true), auth) {
        Err(err) if plain_ok && http::is_unreachable(&err) && !http::is_tls_failure(&err) => {
            crate::debug!("verify: HTTPS failed ({err:#}); asking over plain HTTP");
            // A TLS server answers plain HTTP with 400: its HTTPS error is the one to report.
            match client.get_once(&v2_url(registry, false), auth) {
                Ok(reply) if !matches!(reply.status, 400) => Ok(reply),
                Ok(_) => Err(err),
                // Plain HTTP failed too (a hang, garbage): its error is the telling one.
                Err(plain) => Err(plain),
            }
        }
        other => other,
    }
}

/// How requests to a registry are authorised, once [`authorize`] has run.
pub(crate) enum Access {
    /// `/v2/` answered 200 without a credential.
    Open,
    /// A `Basic` challenge: each request carries the attempt's credential.
    Basic,
    /// A token from the realm (for the scope asked, if any).
    Bearer(Secret),
    /// The realm refused the credential: `by` answered `status` at `url`.
    Refused { by: Party, url: String, status: u16 },
}

/// What [`authorize`] learnt: how to ask, over which scheme, and notes.
pub(crate) struct Authorized {
    pub(crate) access: Access,
    /// The scheme `/v2/` answered on (`https://` unless plain HTTP was allowed
    /// and needed).
    pub(crate) https: bool,
    /// Things the user should know (the realm is not on the recorded auth server).
    pub(crate) notes: Vec<String>,
}

impl Authorized {
    /// `https://HOST[:PORT]` (or `http://`) of `registry` as it answered.
    pub(crate) fn base(&self, registry: &ServerKey) -> String {
        let scheme = if self.https { "https" } else { "http" };
        format!("{scheme}://{}", registry.api_authority())
    }
}

/// The login flow up to the credential check: `GET /v2/` without a
/// credential, then a token from the realm for `scope` (the distribution
/// token scope, `repository:NAME:pull`; none for a login check) when the
/// challenge is `Bearer`. The one token request of this crate.
pub(crate) fn authorize(
    client: &Client,
    attempt: &Attempt<'_>,
    scope: Option<&str>,
) -> Result<Authorized> {
    let first = ping(client, attempt.registry, None)?;
    let challenges = challenges(&first)?;
    let https = first.url.starts_with("https://");
    let done = |access| Authorized {
        access,
        https,
        notes: Vec::new(),
    };
    if first.status == 200 {
        return Ok(done(Access::Open));
    }
    if first.status != 401 {
        bail!(
            "{} answered {} (expected 401 or 200): is {} a registry?",
            redact::url(&first.url),
            first.status,
            attempt.registry
        );
    }
    if let Some(bearer) = challenges.iter().find(|c| c.is("Bearer")) {
        return bearer_token(client, attempt, bearer, https, scope);
    }
    if challenges.iter().any(|c| c.is("Basic")) {
        return Ok(done(Access::Basic));
    }
    bail!(
        "{} answered 401 without a Basic or Bearer challenge: cannot check the credential",
        redact::url(&first.url)
    )
}

/// Runs the login flow for `attempt`.
pub(crate) fn check(client: &Client, attempt: &Attempt<'_>) -> Result<Checked> {
    let authorized = authorize(client, attempt, None)?;
    let v2 = v2_url(attempt.registry, authorized.https);
    let cred = attempt.credential;
    let verdict = match &authorized.access {
        Access::Open => Verdict::Open,
        Access::Refused { by, url, status } => Verdict::Rejected {
            by: *by,
            url: url.clone(),
            status: *status,
        },
        Access::Basic => confirm(
            &client.get_once(&v2, Some(Auth::Basic(cred.username, cred.secret)))?,
            Party::Registry,
        )?,
        Access::Bearer(token) => confirm(
            &client.get_once(&v2, Some(Auth::Bearer(token)))?,
            Party::Registry,
        )?,
    };
    Ok(Checked {
        verdict,
        notes: authorized.notes,
    })
}

fn challenges(reply: &Reply) -> Result<Vec<Challenge>> {
    reply
        .challenges
        .clone()
        .map_err(|e| anyhow!("{} answered {}: {e}", redact::url(&reply.url), reply.status))
}

/// 200: accepted; 401/403: `by` refused; anything else is an error.
fn confirm(reply: &Reply, by: Party) -> Result<Verdict> {
    match reply.status {
        200..=299 => Ok(Verdict::Accepted),
        401 | 403 => Ok(Verdict::Rejected {
            by,
            url: redact::url(&reply.url),
            status: reply.status,
        }),
        status => bail!(
            "{} answered {status} (expected 200, 401 or 403)",
            redact::url(&reply.url)
        ),
    }
}

fn bearer_token(
    client: &Client,
    attempt: &Attempt<'_>,
    bearer: &Challenge,
    https: bool,
    scope: Option<&str>,
) -> Result<Authorized> {
    let v2 = v2_url(attempt.registry, https);
    let realm = bearer
        .param("realm")
        .ok_or_else(|| anyhow!("{v2}: the Bearer challenge has no realm"))?
        .to_owned();
    let realm_host = realm_host(&realm).with_context(|| format!("{v2}: unusable realm"))?;
    let mut notes = Vec::new();
    let realm_is_http = realm
        .get(..7)
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("http://"));
    let (by, cred) = realm_credential(attempt, &realm_host, realm_is_http, &mut notes)?;
    let reply = token_request(client, &realm, bearer.param("service"), scope, cred)?;
    // The OAuth2 endpoint answers a bad refresh token with 400 (invalid_grant).
    let refused = matches!(reply.status, 401 | 403)
        || (reply.status == 400 && cred.username == IDENTITY_TOKEN_USER);
    if refused {
        return Ok(Authorized {
            access: Access::Refused {
                by,
                url: redact::url(&reply.url),
                status: reply.status,
            },
            https,
            notes,
        });
    }
    if !(200..=299).contains(&reply.status) {
        bail!(
            "the token realm {} answered {} (expected 200, 401 or 403)",
            redact::url(&reply.url),
            reply.status
        );
    }
    let token = token_of(&reply.body)
        .with_context(|| format!("the token realm {} answered 200", redact::url(&reply.url)))?;
    Ok(Authorized {
        access: Access::Bearer(token),
        https,
        notes,
    })
}

/// Who the realm on `realm_host` is and which credential it gets, by the
/// trust rule of [`crate::pairs`]: a paired auth server's own credential only
/// to a realm on that auth server (its host, port and scheme), the
/// registry's own wherever the registry says (as docker sends it).
fn realm_credential<'a>(
    attempt: &Attempt<'a>,
    realm_host: &str,
    realm_is_http: bool,
    notes: &mut Vec<String>,
) -> Result<(Party, Cred<'a>)> {
    let Some((auth_server, cred)) = attempt.auth_server else {
        let by = match same_host(realm_host, attempt.registry) {
            true => Party::Registry,
            false => Party::AuthServer,
        };
        return Ok((by, attempt.credential));
    };
    // On the auth server: its host, port and scheme (an https key's
    // credential never goes over plain HTTP).
    let on_auth_server =
        same_host(realm_host, auth_server) && realm_is_http == auth_server.is_http();
    if !on_auth_server {
        let own = cred.username != attempt.credential.username
            || cred.secret.expose() != attempt.credential.secret.expose();
        let shown = format!("{}{realm_host}", if realm_is_http { "http://" } else { "" });
        if own {
            bail!(
                "{} names its token realm on {shown}, not on its recorded auth server {auth_server}: not sending {auth_server}'s credential there",
                attempt.registry
            );
        }
        notes.push(format!(
            "{} names its token realm on {shown}, not on its recorded auth server {auth_server}",
            attempt.registry
        ));
    }
    Ok((Party::AuthServer, cred))
}

/// The token request to `realm` with `cred`: an OAuth2 refresh-token `POST`
/// for an identity token, else a `GET` with Basic auth.
fn token_request(
    client: &Client,
    realm: &str,
    service: Option<&str>,
    scope: Option<&str>,
    cred: Cred<'_>,
) -> Result<Reply> {
    if cred.username == IDENTITY_TOKEN_USER {
        let mut form = vec![
            ("grant_type", "refresh_token"),
            ("refresh_token", cred.secret.expose()),
            ("client_id", CLIENT_ID),
        ];
        if let Some(service) = service {
            form.push(("service", service));
        }
        if let Some(scope) = scope {
            form.push(("scope", scope));
        }
        client.post_form(realm, &form, None)
    } else {
        let mut url = realm.to_owned();
        let mut sep = if realm.contains('?') { '&' } else { '?' };
        let mut add = |name: &str, value: &str| {
            url.push(sep);
            url.push_str(name);
            url.push('=');
            url.push_str(&http::query_encode(value));
            sep = '&';
        };
        if let Some(service) = service {
            add("service", service);
        }
        if let Some(scope) = scope {
            add("scope", scope);
        }
        add("account", cred.username);
        add("client_id", CLIENT_ID);
        add("offline_token", "true");
        client.get(&url, Some(Auth::Basic(cred.username, cred.secret)))
    }
}

/// The `token` (or OAuth2 `access_token`) of a token response. Errors never
/// quote the body (it holds tokens).
fn token_of(body: &[u8]) -> Result<Secret> {
    let value =
        crate::reader::parse_json_bytes(body).map_err(|_| anyhow!("its response is not JSON"))?;
    let pick = |name: &str| {
        value
            .get(name)
            .and_then(|v| v.as_str())
            .filter(|t| !t.is_empty())
            .map(|t| Secret::new(t.to_owned()))
    };
    pick("token")
        .or_else(|| pick("access_token"))
        .ok_or_else(|| anyhow!("its response holds no token"))
}

/// `host[:port]` of a realm URL (for messages and the pair comparison).
fn realm_host(realm: &str) -> Result<String> {
    let shown = redact::url(realm);
    let Some((scheme, rest)) = realm.split_once("://") else {
        bail!("{shown:?} is not an absolute http(s) URL");
    };
    if !matches!(scheme.to_ascii_lowercase().as_str(), "http" | "https") {
        bail!("{shown:?} is not an http(s) URL");
    }
    let authority = rest
        .split(['/', '?', '#'])
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    // Messages show this host: a realm with user information is refused
    // here, as the client refuses any URL with it.
    if authority.contains('@') {
        bail!("{shown:?} carries a user name: refusing it");
    }
    // The scheme's default port is no port: `sso.example.com:443` is `sso.example.com`.
    let default = if scheme.eq_ignore_ascii_case("https") {
        ":443"
    } else {
        ":80"
    };
    Ok(match authority.strip_suffix(default) {
        Some(host) => host.to_owned(),
        None => authority,
    })
}

/// Whether `authority` (`host[:port]`) is `key`'s host and port.
fn same_host(authority: &str, key: &ServerKey) -> bool {
    authority == key.api_authority() || (key.port().is_none() && authority == key.host())
}

/// The pair a `login` is about to record, for its check.
pub(crate) struct NewPair<'a> {
    pub(crate) auth_server: ServerKey,
    /// The auth server's own credential given with the login (`--auth-username`).
    pub(crate) given: Option<(&'a str, &'a Secret)>,
    /// The pair will use the credential the auth server already holds (the
    /// user agreed now, or a pair being logged in to again is tied to it).
    pub(crate) use_stored: bool,
}

/// `login`'s check of `credential` for `registry`. The auth server is the one
/// being paired (`new_pair`) or the one recorded; its token request carries
/// the credential the trust rule gives it ([`crate::pairs`]): the auth
/// server's own when the pair ties it (given now, or stored and agreed to),
/// else the registry's.
pub(crate) fn check_login(
    client: &Client,
    store: &Credentials,
    registry: &ServerKey,
    credential: &Credential,
    new_pair: Option<NewPair<'_>>,
) -> Result<Checked> {
    let db = store.load()?;
    let registry_cred = Cred {
        username: &credential.username,
        secret: &credential.secret,
    };
    let (auth_key, stored) = match &new_pair {
        Some(pair) if pair.use_stored => (
            Some(pair.auth_server.clone()),
            store.get_in(&db, pair.auth_server.as_str())?,
        ),
        Some(pair) => (Some(pair.auth_server.clone()), None),
        None => match crate::pairs::auth_for(store, &db, registry.as_str())? {
            Some(found) => (Some(found.auth_server), found.credential),
            None => (None, None),
        },
    };
    let given = new_pair.as_ref().and_then(|p| p.given);
    let auth_cred = match (given, &stored) {
        (Some((username, secret)), _) => Cred { username, secret },
        (None, Some(c)) => Cred {
            username: &c.username,
            secret: &c.secret,
        },
        (None, None) => registry_cred,
    };
    check(
        client,
        &Attempt {
            registry,
            credential: registry_cred,
            auth_server: auth_key.as_ref().map(|k| (k, auth_cred)),
        },
    )
}

/// One sentence for a refusal, naming who refused and the status.
pub(crate) fn refusal(registry: &ServerKey, by: Party, url: &str, status: u16) -> String {
    match by {
        Party::Registry => {
            format!("the registry {registry} refused the credential ({url} answered {status})")
        }
        Party::AuthServer => format!(
            "the auth server of {registry} refused the credential ({url} answered {status})"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_responses() {
        assert_eq!(token_of(br#"{"token":"abc"}"#).unwrap().expose(), "abc");
        assert_eq!(
            token_of(br#"{"access_token":"xyz","expires_in":60}"#)
                .unwrap()
                .expose(),
            "xyz"
        );
        let err = token_of(b"<html>secret-ish</html>")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("not JSON") && !err.contains("secret-ish"),
            "{err}"
        );
        let err = token_of(br#"{"token":""}"#).unwrap_err().to_string();
        assert!(err.contains("no token"), "{err}");
        let err = token_of(br#"["hunter2"]"#).unwrap_err().to_string();
        assert!(!err.contains("hunter2"), "{err}");
    }

    #[test]
    fn realm_hosts() {
        assert_eq!(
            realm_host("https://SSO.example.com:8443/auth?x").unwrap(),
            "sso.example.com:8443"
        );
        assert!(realm_host("ftp://x/").is_err());
        let err = realm_host("https://bob:hunter2@sso.example.com/auth?account=bob")
            .unwrap_err()
            .to_string();
        assert!(err.contains("user name") && !err.contains("hunter2") && !err.contains("account"));
        assert!(realm_host("/relative").is_err());
        let reg = ServerKey::parse("127.0.0.1:5000").unwrap();
        assert!(same_host("127.0.0.1:5000", &reg));
        assert!(!same_host("127.0.0.1:5001", &reg));
        let hub = ServerKey::parse("quay.io").unwrap();
        assert!(same_host("quay.io", &hub));
        let sso = ServerKey::parse("sso.example.com").unwrap();
        let explicit = realm_host("https://sso.example.com:443/auth").unwrap();
        assert!(same_host(&explicit, &sso), "{explicit}");
        assert_eq!(realm_host("http://h:80/t").unwrap(), "h");
        assert_eq!(realm_host("http://h:443/t").unwrap(), "h:443");
    }

    #[test]
    fn v2_urls() {
        let key = ServerKey::parse("reg.example.com:5000/team").unwrap();
        assert_eq!(v2_url(&key, true), "https://reg.example.com:5000/v2/");
        assert_eq!(v2_url(&key, false), "http://reg.example.com:5000/v2/");
    }
}
