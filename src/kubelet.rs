//! `kubelet-credential-provider`: the kubelet's exec credential provider
//! plugin (KEP-2133). The kubelet runs it with a `CredentialProviderRequest`
//! on stdin for each image its `CredentialProviderConfig` sends here, and
//! reads one `CredentialProviderResponse` of the same `apiVersion` on stdout;
//! a non-zero exit (with the reason on stderr, nothing on stdout) makes it
//! pull without our credentials. It runs on every pull of a matched image,
//! so it takes the protocol verbs' lean path (no clap, see [`crate::run`]).
//!
//! The rules, decided here:
//! - **What the image gets**: the registry is the image's first path
//!   component when it looks like a host (docker's rule: a `.` or `:`, or
//!   `localhost`), else Docker Hub. The answer holds every stored credential
//!   of that `host[:port]` (the whole registry, each path-scoped key as its
//!   own `auth` key, which the kubelet matches by path prefix), since the
//!   kubelet caches the answer for the whole registry (`cacheKeyType:
//!   Registry`). Each key's credential is what `get` answers for it
//!   ([`crate::pairs::lookup`]): an auth server answers with its paired
//!   registry's credential; a tied auth-server credential never leaves (the
//!   registry's own credential goes to the registry, which forwards it to its
//!   realm as docker does: the trust rule in [`crate::pairs`]).
//! - **`auth` keys**: `host[:port][/path]` without scheme, Docker Hub as
//!   `docker.io` (the kubelet hands plugins the normalised repository,
//!   `docker.io/library/nginx`, and matches keys by host, port and path
//!   prefix). A `http://` key counts only where no https key has the same
//!   scope (the kubelet drops the scheme).
//! - **Left out, with a warning on stderr** (never the secret): an identity
//!   token (username `<token>`: the kubelet can only send it as a password,
//!   which registries refuse), a JWT that has expired, an auth server whose
//!   paired registries disagree.
//! - **`cacheDuration`**: omitted when no returned secret is a JWT with an
//!   `exp` (the kubelet then uses its `defaultCacheDuration`); else the
//!   shortest time left minus [`JWT_MARGIN`], at most [`JWT_CACHE_CAP`], and
//!   `0s` (do not cache) when that is not positive. An answer with no `auth`
//!   says `0s` too, so a `login` on the node counts from the next pull.
//! - **Request**: keys case-sensitive, unknown ones ignored, the last of
//!   duplicates wins (the kubelet's own decoder, sigs.k8s.io/json); `kind`
//!   must be `CredentialProviderRequest`, `apiVersion` `v1` or `v1beta1` of
//!   `credentialprovider.kubelet.k8s.io`. The **response** has only the
//!   fields of that version: the kubelet decodes it strictly.

use std::collections::BTreeMap;
use std::io::{self, Read, Write};

use anyhow::{anyhow, bail, Result};
use serde_json::Value;

use crate::jwt::Expiry;
use crate::pairs::{self, Lookup};
use crate::registry::{ServerKey, IDENTITY_TOKEN_USER};
use crate::secret::Secret;
use crate::store::{Credentials, Database};

/// The command word the kubelet's `CredentialProviderConfig` passes in `args`.
pub(crate) const COMMAND: &str = "kubelet-credential-provider";

/// The API group of requests and responses.
const GROUP: &str = "credentialprovider.kubelet.k8s.io";

/// The versions answered (both have the same request and response shape).
const VERSIONS: [&str; 2] = ["v1", "v1beta1"];

/// How long before a JWT's `exp` the kubelet must stop using it, in seconds:
/// a pull that starts just before the expiry still has time to finish.
pub(crate) const JWT_MARGIN: i64 = 60;

/// The longest `cacheDuration` given for a JWT, in seconds: one hour, so a
/// credential changed on the node (a new `login`) reaches the kubelet within
/// the hour even when the token lives for months.
pub(crate) const JWT_CACHE_CAP: i64 = 3600;

/// What the kubelet asked.
#[derive(Debug, PartialEq, Eq)]
pub struct Request {
    /// `credentialprovider.kubelet.k8s.io/v1` or `/v1beta1`, answered in kind.
    pub api_version: String,
    pub image: String,
    /// Whether a service-account token came along (v1, kubelet 1.33+ with
    /// `tokenAttributes`): the answer must then say how to cache per account.
    pub service_account_token: bool,
}

/// Parses a `CredentialProviderRequest` (see the module header for the rules).
pub fn parse_request(input: &str) -> Result<Request> {
    if input.trim().is_empty() {
        bail!("no CredentialProviderRequest on standard input: {}", RUN_BY);
    }
    let value = crate::reader::parse(input, crate::reader::Syntax::Json)
        .map_err(|e| anyhow!("invalid CredentialProviderRequest JSON on standard input: {e}"))?;
    let Value::Object(mut map) = value else {
        bail!("invalid CredentialProviderRequest: expected a JSON object");
    };
    // The token is a secret: out of the map and into a wiped string first.
    let token = Secret::new(string_field(
        map.remove("serviceAccountToken"),
        "serviceAccountToken",
    )?);
    let kind = string_field(map.remove("kind"), "kind")?;
    let api_version = string_field(map.remove("apiVersion"), "apiVersion")?;
    let image = string_field(map.remove("image"), "image")?;
    if kind != "CredentialProviderRequest" {
        bail!("invalid CredentialProviderRequest: kind must be \"CredentialProviderRequest\"");
    }
    let known = api_version
        .strip_prefix(GROUP)
        .and_then(|v| v.strip_prefix('/'))
        .is_some_and(|v| VERSIONS.contains(&v));
    if !known {
        bail!(
            "unsupported CredentialProviderRequest apiVersion: this helper answers {GROUP}/v1 and {GROUP}/v1beta1 (set one of them as the provider's apiVersion in the kubelet's CredentialProviderConfig)"
        );
    }
    if image.is_empty() {
        bail!("invalid CredentialProviderRequest: image is missing or empty");
    }
    Ok(Request {
        api_version,
        image,
        service_account_token: !token.expose().is_empty(),
    })
}

/// Who sends the request, for the error of an empty one.
const RUN_BY: &str = "this command is run by the kubelet (see its --image-credential-provider-config); to try it, pipe {\"apiVersion\":\"credentialprovider.kubelet.k8s.io/v1\",\"kind\":\"CredentialProviderRequest\",\"image\":\"REGISTRY/REPOSITORY\"} into it";

/// A string field as Go decodes it: absent or `null` is empty, another type an error.
fn string_field(value: Option<Value>, name: &str) -> Result<String> {
    match value {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::String(s)) => Ok(s),
        Some(_) => bail!("invalid CredentialProviderRequest: {name} must be a string"),
    }
}

/// The registry an image is pulled from, as a host-level key, by docker's
/// reference grammar ([`crate::image_ref`], the one `check --image` reads):
/// the first component is a host when it has a `.` or `:`, is `localhost`
/// or has upper case; else the image is on Docker Hub. The kubelet sends the
/// normalised repository (`docker.io/library/nginx`), which always parses.
pub fn registry_of(image: &str) -> Result<ServerKey> {
    crate::image_ref::parse(image)
        .map(|reference| reference.registry)
        .map_err(|e| {
            anyhow!("invalid CredentialProviderRequest: the image is not an image reference: {e}")
        })
}

/// How long the kubelet may keep an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheFor {
    /// No `cacheDuration`: the kubelet's `defaultCacheDuration`.
    Default,
    /// This many seconds (`0`: not cached).
    Seconds(i64),
}

/// What the image's registry gets: `auth` entries by kubelet key, how long to
/// cache them, and the warnings for what was left out.
#[derive(Debug)]
pub struct Answer {
    pub auth: BTreeMap<String, (String, Secret)>,
    pub cache: CacheFor,
    pub warnings: Vec<String>,
}

/// The credentials `registry` gets from `store`, as of `now` (Unix seconds).
pub(crate) fn answer(store: &Credentials, registry: &ServerKey, now: i64) -> Result<Answer> {
    let db = store.load()?;
    let mut answer = Answer {
        auth: BTreeMap::new(),
        cache: CacheFor::Default,
        warnings: Vec::new(),
    };
    let mut expiries = Vec::new();
    for (kubelet_key, key) in keys_of_registry(&db, registry) {
        let credential = match pairs::lookup(store, &db, &key)? {
            Lookup::Found { credential, .. } => credential,
            Lookup::Conflict { registries, reason } => {
                let why = pairs::conflict_reason(&key, &registries, reason);
                answer.warnings.push(format!("{key}: left out: {why}"));
                continue;
            }
            Lookup::NotFound => continue,
        };
        if credential.username == IDENTITY_TOKEN_USER {
            answer.warnings.push(format!(
                "{key}: left out: it holds an identity token, which the kubelet cannot use (log in with a username and a password or access token)"
            ));
            continue;
        }
        if let Expiry::At(exp) = crate::jwt::expiry(credential.secret.expose()) {
            if exp <= now {
                answer.warnings.push(format!(
                    "{key}: left out: its secret (a JWT) expired {} (log in again: docker-credential-keyring login {key})",
                    Expiry::At(exp).display()
                ));
                continue;
            }
            expiries.push(exp);
        }
        answer
            .auth
            .insert(kubelet_key, (credential.username, credential.secret));
    }
    answer.cache = if answer.auth.is_empty() {
        CacheFor::Seconds(0)
    } else {
        cache_for(&expiries, now)
    };
    Ok(answer)
}

/// The cache duration of an answer whose JWTs expire at `expiries`.
pub(crate) fn cache_for(expiries: &[i64], now: i64) -> CacheFor {
    match expiries.iter().min() {
        None => CacheFor::Default,
        Some(exp) => CacheFor::Seconds((exp - now - JWT_MARGIN).clamp(0, JWT_CACHE_CAP)),
    }
}

/// (kubelet `auth` key, store key) of every key that may answer for
/// `registry`: its stored keys on that `host[:port]` (an https key wins over
/// the `http://` one of the same scope) and the registry's own host-level key
/// (an auth server answers for it through its pairs).
fn keys_of_registry(db: &Database, registry: &ServerKey) -> BTreeMap<String, String> {
    let mut keys = BTreeMap::new();
    let mut http = Vec::new();
    for stored in db.credentials.keys() {
        let Ok(key) = ServerKey::parse(stored) else {
            continue;
        };
        if key.host() != registry.host() || key.port() != registry.port() {
            continue;
        }
        let kubelet_key = format!("{}{}", key.authority(), key.path());
        match key.is_http() {
            true => http.push((kubelet_key, stored.clone())),
            false => {
                keys.insert(kubelet_key, stored.clone());
            }
        }
    }
    for (kubelet_key, stored) in http {
        keys.entry(kubelet_key).or_insert(stored);
    }
    keys.entry(registry.authority())
        .or_insert_with(|| registry.as_str().to_owned());
    keys
}

/// Go's `time.Duration.String()` of whole seconds (metav1.Duration's JSON form).
pub fn go_duration(seconds: i64) -> String {
    let (h, m, s) = (seconds / 3600, seconds % 3600 / 60, seconds % 60);
    match (h, m) {
        (0, 0) => format!("{s}s"),
        (0, _) => format!("{m}m{s}s"),
        _ => format!("{h}h{m}m{s}s"),
    }
}

/// The `CredentialProviderResponse` line (with its newline), Go's field order
/// and escaping. It holds secrets: the caller wipes it.
pub fn render(request: &Request, answer: &Answer) -> String {
    let mut out = String::with_capacity(256);
    out.push_str("{\"kind\":\"CredentialProviderResponse\",\"apiVersion\":");
    crate::gojson::write_string(&mut out, &request.api_version);
    out.push_str(",\"cacheKeyType\":\"Registry\"");
    if let CacheFor::Seconds(seconds) = answer.cache {
        out.push_str(",\"cacheDuration\":\"");
        out.push_str(&go_duration(seconds));
        out.push('"');
    }
    if request.service_account_token && request.api_version.ends_with("/v1") {
        // The credential does not depend on the pod or its token.
        out.push_str(",\"serviceAccountTokenCacheType\":\"ServiceAccount\"");
    }
    if !answer.auth.is_empty() {
        out.push_str(",\"auth\":{");
        for (i, (key, (username, password))) in answer.auth.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            crate::gojson::write_string(&mut out, key);
            out.push_str(":{\"username\":");
            crate::gojson::write_string(&mut out, username);
            out.push_str(",\"password\":");
            crate::gojson::write_string(&mut out, password.expose());
            out.push('}');
        }
        out.push('}');
    }
    out.push_str("}\n");
    out
}

/// Serves one request: reads it from `input` (bounded, wiped), opens the
/// store only for a valid one, writes the response to `out` and warnings and
/// errors to `err`. Exit code 0 with a response (also one without `auth`),
/// 1 with nothing on `out`.
pub(crate) fn serve(
    open: impl FnOnce() -> Result<Credentials>,
    input: &mut impl Read,
    out: &mut impl Write,
    err: &mut impl Write,
    now: i64,
) -> i32 {
    let result = crate::input::read_stdin(input).and_then(|text| {
        let text = zeroize::Zeroizing::new(text);
        let request = parse_request(&text)?;
        let registry = registry_of(&request.image)?;
        let answer = answer(&open()?, &registry, now)?;
        Ok((request, answer))
    });
    match result {
        Ok((request, answer)) => {
            for warning in &answer.warnings {
                let line = crate::printable::printable_text(warning);
                let _ = writeln!(err, "warning: {line}");
            }
            let mut line = zeroize::Zeroizing::new(render(&request, &answer));
            let written = out.write_all(line.as_bytes()).and_then(|()| out.flush());
            zeroize::Zeroize::zeroize(&mut *line);
            match written {
                Ok(()) => 0,
                Err(e) => {
                    let _ = writeln!(err, "error: cannot write to standard output: {e}");
                    1
                }
            }
        }
        Err(e) => {
            // One line, its context chain joined by ": " (the kubelet logs it).
            let flat = format!("{e:#}").replace(['\n', '\r', '\t'], " ");
            let _ = writeln!(err, "error: {}", crate::printable::printable(&flat));
            1
        }
    }
}

/// Runs the command against the process's stdin, stdout, stderr and store.
pub(crate) fn run() -> i32 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    serve(
        Credentials::open,
        &mut io::stdin().lock(),
        &mut io::stdout().lock(),
        &mut io::stderr().lock(),
        now,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_registry_of_an_image_follows_dockers_reference_rule() {
        let digest = format!("sha256:{}", "ab".repeat(32));
        for (image, registry) in [
            ("docker.io/library/nginx", "docker.io"),
            ("nginx", "docker.io"),
            ("nginx:1.27", "docker.io"),
            (&format!("library/nginx@{digest}"), "docker.io"),
            ("index.docker.io/team/app", "docker.io"),
            ("Quay.IO/org/app:v1", "quay.io"),
            ("localhost/app", "localhost"),
            (
                &format!("localhost:5000/team/app:1@{digest}"),
                "localhost:5000",
            ),
            ("[::1]:5000/app", "[::1]:5000"),
            ("registry.example.com/a/b/c", "registry.example.com"),
        ] {
            assert_eq!(registry_of(image).unwrap().as_str(), registry, "{image}");
        }
        for bad in [
            "https://quay.io/app",
            "quay.io/",
            "quay.io/app/",
            "quay.io app",
            "quay.io:99999/app",
            ":tag",
            "bad_host.io:x/app",
            "quay.io/Team/app",
            "quay.io/app@sha256:abc",
        ] {
            let err = registry_of(bad).unwrap_err().to_string();
            assert!(err.contains("not an image reference"), "{bad}: {err}");
        }
    }

    #[test]
    fn durations_are_written_as_go_writes_them() {
        for (seconds, text) in [
            (0, "0s"),
            (5, "5s"),
            (60, "1m0s"),
            (1739, "28m59s"),
            (3600, "1h0m0s"),
            (3723, "1h2m3s"),
        ] {
            assert_eq!(go_duration(seconds), text);
        }
    }

    #[test]
    fn a_jwt_bounds_the_cache_duration() {
        let now = 1_800_000_000;
        assert_eq!(cache_for(&[], now), CacheFor::Default);
        assert_eq!(cache_for(&[now + 1800], now), CacheFor::Seconds(1740));
        assert_eq!(
            cache_for(&[now + 86_400, now + 600], now),
            CacheFor::Seconds(540)
        );
        assert_eq!(
            cache_for(&[now + 30 * 86_400], now),
            CacheFor::Seconds(JWT_CACHE_CAP)
        );
        assert_eq!(cache_for(&[now + 30], now), CacheFor::Seconds(0));
    }

    #[test]
    fn requests_are_read_like_the_kubelets_decoder() {
        let v1 = r#"{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":"a.io/b","serviceAccountToken":"t","serviceAccountAnnotations":{"x":"y"},"future":[1]}"#;
        assert_eq!(
            parse_request(v1).unwrap(),
            Request {
                api_version: "credentialprovider.kubelet.k8s.io/v1".into(),
                image: "a.io/b".into(),
                service_account_token: true,
            }
        );
        for (bad, needle) in [
            ("", "no CredentialProviderRequest"),
            ("[]", "expected a JSON object"),
            ("{", "invalid CredentialProviderRequest JSON"),
            (
                r#"{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1alpha1","image":"a.io/b"}"#,
                "unsupported",
            ),
            (
                r#"{"kind":"CredentialProviderRequest","APIVersion":"credentialprovider.kubelet.k8s.io/v1","image":"a.io/b"}"#,
                "unsupported",
            ),
            (
                r#"{"kind":"Other","apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":"a.io/b"}"#,
                "kind must be",
            ),
            (
                r#"{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1"}"#,
                "image is missing",
            ),
            (
                r#"{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":7}"#,
                "image must be a string",
            ),
        ] {
            let err = parse_request(bad).unwrap_err().to_string();
            assert!(err.contains(needle), "{bad}: {err}");
        }
    }
}
