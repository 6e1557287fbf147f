//! `pair discover`: ask a registry's `/v2/` endpoint who issues its tokens.
//!
//! A registry that delegates authentication answers `GET /v2/` with `401` and
//! `WWW-Authenticate: Bearer realm="https://sso.example.com/...",service=...`.
//! The realm's host is the auth server. The request goes through the shared
//! registry client ([`crate::http`], [`crate::verify::ping`]): proxies,
//! certs.d CAs, the plain-HTTP rule and the timeout are the same as `login`'s.

use anyhow::{anyhow, bail, Context, Result};

use crate::http::Client;
use crate::redact;
use crate::registry::ServerKey;
use crate::www_authenticate::Challenge;

/// What the registry answered.
#[derive(Debug, Clone)]
pub(crate) struct Answer {
    /// The URL asked (`https://host/v2/` or `http://...`), as messages show it.
    pub(crate) url: String,
    pub(crate) status: u16,
    pub(crate) challenges: Vec<Challenge>,
    /// The `Location` of a redirect (not followed), as messages show it.
    pub(crate) location: Option<String>,
}

/// A delegating registry's auth server, as found in its Bearer challenge.
#[derive(Debug, Clone)]
pub(crate) struct Found {
    /// The auth server key: the realm's scheme (when http), host and port.
    pub(crate) auth_server: ServerKey,
    /// The realm URL as messages show it (no query, fragment or user information).
    pub(crate) realm: String,
    pub(crate) service: Option<String>,
}

/// Asks `registry`'s `/v2/` endpoint and parses its challenges.
pub(crate) fn probe(client: &Client, registry: &ServerKey) -> Result<Answer> {
    let reply = crate::verify::ping(client, registry, None)?;
    if !registry.is_http() && reply.url.starts_with("http://") {
        crate::errln!("note: {registry} does not speak TLS; asked over plain HTTP");
    }
    let url = redact::url(&reply.url);
    let challenges = reply
        .challenges
        .with_context(|| format!("{url} answered {}", reply.status))?;
    Ok(Answer {
        url,
        status: reply.status,
        challenges,
        location: reply.location.as_deref().map(redact::url),
    })
}

/// Finds the auth server in `answer`, or explains why the registry does not delegate.
pub(crate) fn auth_server(registry: &ServerKey, answer: &Answer) -> Result<Found> {
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
    let auth_server = realm_server(realm).with_context(|| {
        format!(
            "{}: unusable Bearer realm {:?}",
            answer.url,
            redact::url(realm)
        )
    })?;
    let realm = redact::url(realm);
    if auth_server.host() == registry.host() && auth_server.port() == registry.port() {
        bail!(
            "{registry} issues its own tokens (realm {realm}): it does not delegate to another server, so there is nothing to pair"
        );
    }
    Ok(Found {
        auth_server,
        realm,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, header: &str) -> Answer {
        Answer {
            url: "https://reg.example.com/v2/".into(),
            status,
            challenges: crate::www_authenticate::parse(header).unwrap(),
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
        // Shown without its query.
        assert_eq!(found.realm, "https://SSO.example.com/auth/realms/x");
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
}
