//! `check --image`: may the stored credential pull this repository (and,
//! with `--push`, push to it)? A login proves a credential; this proves
//! access to one repository, which per-repository permissions (token
//! servers, Harbor projects, robot accounts) decide separately.
//!
//! The flow, over [`crate::verify::authorize`] (the one token request, with
//! a `repository:NAME:pull[,push]` scope, under the trust rule of
//! [`crate::pairs`]): a `HEAD` of the manifest with every OCI and Docker
//! manifest and index media type in `Accept`, whose `Docker-Content-Digest`
//! is the answer. A refusal is told apart: the credential itself (the realm
//! refuses it), access to this repository (a token without the scope, an
//! empty access list, 401 `insufficient_scope`, 403), the repository or the
//! tag missing (`NAME_UNKNOWN` from the tag list vs `MANIFEST_UNKNOWN`), or
//! no answer. `--push` starts a blob upload and cancels it (`POST`, then
//! `DELETE` of its `Location` on the same host only), then checks that the
//! upload is gone: nothing is ever `PUT`, nothing is left behind.

use anyhow::{bail, Result};
use serde::Serialize;

use crate::http::{self, Auth, Client, Method, Reply};
use crate::image_ref::ImageRef;
use crate::redact;
use crate::verify::{self, Access, Attempt, Authorized, Party};

/// The manifest media types asked for (docker's and containerd's list).
const MANIFEST_TYPES: &str = "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.docker.distribution.manifest.v2+json";

/// Exit code: access to the repository denied (the credential itself works).
pub(crate) const EXIT_DENIED: i32 = 4;

/// Exit code: the repository, tag or digest does not exist.
pub(crate) const EXIT_NOT_FOUND: i32 = 5;

/// The verdict on one image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Verdict {
    Ok,
    /// The credential itself was refused (by the registry or its auth server).
    Rejected,
    /// The stored secret is a JWT past its `exp`: not sent.
    Expired,
    /// The credential works but may not pull (or push) this repository.
    Denied,
    /// The repository, or the tag or digest in it, does not exist.
    NotFound,
    Unreachable,
    /// The server answered something that proves nothing (the detail says what).
    NotCheckable,
    /// Nothing is stored for the image's registry: not asked.
    NoCredential,
}

impl Verdict {
    /// Its exit code: 0, 1 (rejected, expired, no credential), 4 (denied), 5 (not found),
    /// 3 (could not ask).
    pub(crate) fn exit_code(self) -> i32 {
        match self {
            Verdict::Ok => 0,
            Verdict::Rejected | Verdict::Expired | Verdict::NoCredential => {
                crate::check::EXIT_REJECTED
            }
            Verdict::Denied => EXIT_DENIED,
            Verdict::NotFound => EXIT_NOT_FOUND,
            Verdict::Unreachable | Verdict::NotCheckable => crate::check::EXIT_NOT_ASKED,
        }
    }

    /// How severe, for the exit code of several images: rejected or expired,
    /// then denied, then not found, then could not ask, then ok.
    fn severity(self) -> u8 {
        match self.exit_code() {
            1 => 4,
            EXIT_DENIED => 3,
            EXIT_NOT_FOUND => 2,
            3 => 1,
            _ => 0,
        }
    }
}

/// One image's report line (`--json`: one object each).
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Row {
    /// The reference as given.
    pub(crate) reference: String,
    /// The registry and repository asked (`docker.io/library/alpine`).
    pub(crate) registry: String,
    pub(crate) repository: String,
    /// The stored credential used (its key) and its username (`null` when
    /// none is stored for the image).
    pub(crate) credential: Option<String>,
    pub(crate) username: Option<String>,
    pub(crate) verdict: Verdict,
    /// The manifest digest (`sha256:...`) the registry answered with.
    pub(crate) digest: Option<String>,
    /// Which case it was, in words (never a secret).
    pub(crate) detail: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) notes: Vec<String>,
}

/// The exit code of several images: the most severe verdict's
/// ([`Verdict::severity`]), 0 for none.
pub(crate) fn exit_code(rows: &[Row]) -> i32 {
    rows.iter()
        .map(|r| r.verdict)
        .max_by_key(|v| v.severity())
        .map_or(0, Verdict::exit_code)
}

/// What was found out about one image.
struct Found {
    verdict: Verdict,
    digest: Option<String>,
    detail: String,
}

fn found(verdict: Verdict, detail: String) -> Found {
    Found {
        verdict,
        digest: None,
        detail,
    }
}

/// Checks `image` with `attempt`'s credentials; `expired`: the stored secret
/// is a JWT past its `exp`, not sent anywhere.
pub(crate) fn check(
    client: &Client,
    attempt: &Attempt<'_>,
    image: &ImageRef,
    push: bool,
    expired: bool,
) -> Row {
    let mut notes = Vec::new();
    let outcome = match expired {
        true => Ok(found(
            Verdict::Expired,
            "the stored secret is a JWT whose exp has passed: log in again".into(),
        )),
        false => ask(client, attempt, image, push, &mut notes),
    };
    let found = outcome.unwrap_or_else(|err| {
        let verdict = match http::is_unreachable(&err) {
            true => Verdict::Unreachable,
            false => Verdict::NotCheckable,
        };
        found(verdict, format!("{err:#}"))
    });
    Row {
        reference: image.given.clone(),
        registry: image.registry.as_str().to_owned(),
        repository: image.repository.clone(),
        credential: Some(attempt.registry.as_str().to_owned()),
        username: Some(attempt.credential.username.to_owned()),
        verdict: found.verdict,
        digest: found.digest,
        detail: found.detail,
        notes,
    }
}

/// The row of an image whose registry has no stored credential (nothing asked).
pub(crate) fn no_credential(image: &ImageRef) -> Row {
    let registry = image.registry.as_str();
    Row {
        reference: image.given.clone(),
        registry: registry.to_owned(),
        repository: image.repository.clone(),
        credential: None,
        username: None,
        verdict: Verdict::NoCredential,
        digest: None,
        detail: format!(
            "no credential is stored for {registry} (log in with `login {registry}`); not asked"
        ),
        notes: Vec::new(),
    }
}

/// The scope asked of the token realm.
fn scope(image: &ImageRef, push: bool) -> String {
    let actions = if push { "pull,push" } else { "pull" };
    format!("repository:{}:{actions}", image.repository)
}

fn ask(
    client: &Client,
    attempt: &Attempt<'_>,
    image: &ImageRef,
    push: bool,
    notes: &mut Vec<String>,
) -> Result<Found> {
    let scope = scope(image, push);
    let authorized = verify::authorize(client, attempt, Some(&scope))?;
    notes.extend(authorized.notes.iter().cloned());
    let cred = attempt.credential;
    let (auth, granted) = match &authorized.access {
        Access::Refused { by, url, status } => {
            return refused(client, attempt, &scope, *by, url, *status)
        }
        Access::Open => (None, None),
        Access::Basic => (Some(Auth::Basic(cred.username, cred.secret)), None),
        Access::Bearer(token) => (
            Some(Auth::Bearer(token)),
            granted_actions(token.expose(), &image.repository),
        ),
    };
    let api = Api {
        client,
        attempt,
        base: format!(
            "{}/v2/{}",
            authorized.base(attempt.registry),
            image.repository
        ),
        auth,
        authorized: &authorized,
        granted,
    };
    let manifest = api.head_manifest(image)?;
    if !push || matches!(manifest.verdict, Verdict::Denied | Verdict::Rejected) {
        return Ok(manifest);
    }
    let pushed = api.try_push(image)?;
    Ok(match (pushed.verdict, manifest.verdict) {
        (Verdict::Ok, Verdict::NotFound) => Found {
            verdict: Verdict::Ok,
            digest: None,
            detail: format!(
                "{}; {} (nothing to pull yet)",
                pushed.detail, manifest.detail
            ),
        },
        (Verdict::Ok, _) => Found {
            detail: format!("{}; {}", manifest.detail, pushed.detail),
            ..manifest
        },
        _ => pushed,
    })
}

/// The realm refused a token for `scope`: the credential itself, unless a
/// token without a scope (a login) is granted, which makes it a refusal of
/// the repository.
fn refused(
    client: &Client,
    attempt: &Attempt<'_>,
    scope: &str,
    by: Party,
    url: &str,
    status: u16,
) -> Result<Found> {
    let login = verify::authorize(client, attempt, None)?;
    Ok(match login.access {
        Access::Bearer(_) => found(
            Verdict::Denied,
            format!("the {by} refused a token for {scope} ({status} at {url}) but accepts the credential itself"),
        ),
        _ => found(Verdict::Rejected, verify::refusal(attempt.registry, by, url, status)),
    })
}

/// The actions a distribution token (a JWT with an `access` claim) grants on
/// `repository`; `None` when the token says nothing readable.
fn granted_actions(token: &str, repository: &str) -> Option<Vec<String>> {
    let claims = crate::jwt::claims(token)?;
    let access = claims.get("access")?.as_array()?;
    let mut actions = Vec::new();
    for entry in access {
        let is_repo = entry.get("type").and_then(|t| t.as_str()) == Some("repository")
            && entry.get("name").and_then(|n| n.as_str()) == Some(repository);
        if is_repo {
            let granted = entry.get("actions").and_then(|a| a.as_array());
            for action in granted.into_iter().flatten().filter_map(|a| a.as_str()) {
                actions.push(action.to_owned());
            }
        }
    }
    Some(actions)
}

/// The registry API of one repository, with the authorisation found.
struct Api<'a> {
    client: &'a Client,
    attempt: &'a Attempt<'a>,
    /// `https://HOST[:PORT]/v2/NAME`.
    base: String,
    auth: Option<Auth<'a>>,
    authorized: &'a Authorized,
    /// What the token grants on this repository, when it says.
    granted: Option<Vec<String>>,
}

impl Api<'_> {
    fn call(&self, method: Method, url: &str, accept: Option<&str>) -> Result<Reply> {
        self.client.call_once(method, url, self.auth, accept)
    }

    /// `HEAD` of the manifest: the digest, or why not.
    fn head_manifest(&self, image: &ImageRef) -> Result<Found> {
        let reference = image.manifest_reference();
        let url = format!("{}/manifests/{reference}", self.base);
        let reply = self.call(Method::Head, &url, Some(MANIFEST_TYPES))?;
        match reply.status {
            200 => Ok(answered_digest(image, reply.digest)),
            401 | 403 => Ok(self.refusal(&reply, "pull")),
            404 => self.not_found(image, reference),
            status => bail!(
                "{} answered {status} (expected 200, 401, 403 or 404)",
                redact::url(&reply.url)
            ),
        }
    }

    /// A 401 or 403 from the registry, with a token or credential in hand.
    fn refusal(&self, reply: &Reply, action: &str) -> Found {
        let url = redact::url(&reply.url);
        let status = reply.status;
        let insufficient = reply.challenges.as_ref().is_ok_and(|c| {
            c.iter()
                .any(|c| c.param("error") == Some("insufficient_scope"))
        });
        let lacking = self
            .granted
            .as_ref()
            .is_some_and(|a| !a.iter().any(|g| g == action || g == "*"));
        let detail = match &self.authorized.access {
            Access::Basic if status == 401 => {
                return found(
                    Verdict::Rejected,
                    format!("the registry refused the credential ({url} answered 401)"),
                )
            }
            Access::Open if status == 401 => format!(
                "the registry asks for no credential at /v2/ but refused {action} ({url} answered 401)"
            ),
            Access::Bearer(_) if lacking => format!(
                "the token server granted no {action} access to this repository (the token's access list lacks it); {url} answered {status}"
            ),
            _ if insufficient => format!(
                "{action} denied: {url} answered {status} insufficient_scope (the token does not grant it)"
            ),
            _ => format!("{action} denied: {url} answered {status}"),
        };
        found(Verdict::Denied, detail)
    }

    /// A 404 of the manifest: the repository missing (`NAME_UNKNOWN` from
    /// its tag list), or only the tag or digest.
    fn not_found(&self, image: &ImageRef, reference: &str) -> Result<Found> {
        let tags = format!("{}/tags/list?n=1", self.base);
        let reply = self.call(Method::Get, &tags, Some("application/json"))?;
        let repository = &image.repository;
        let detail = if reply.status == 404 && error_code(&reply.body) == Some("NAME_UNKNOWN") {
            format!("repository {repository} not found (NAME_UNKNOWN)")
        } else if image.digest.is_some() {
            format!("manifest {reference} not found in {repository} (MANIFEST_UNKNOWN)")
        } else {
            format!("tag {reference} not found in {repository} (MANIFEST_UNKNOWN)")
        };
        Ok(found(Verdict::NotFound, detail))
    }

    /// Starts a blob upload and cancels it; then checks that it is gone.
    fn try_push(&self, image: &ImageRef) -> Result<Found> {
        let start = format!("{}/blobs/uploads/", self.base);
        let reply = self.call(Method::Post, &start, None)?;
        match reply.status {
            202 => {}
            401 | 403 => return Ok(self.refusal(&reply, "push")),
            status => bail!(
                "{} answered {status} to starting an upload (expected 202, 401 or 403)",
                redact::url(&reply.url)
            ),
        }
        let Some(location) = reply.location.as_deref() else {
            bail!(
                "{} started an upload without a Location: it cannot be cancelled (the registry removes stale uploads itself)",
                redact::url(&reply.url)
            );
        };
        let upload = http::same_origin_location(&start, location)?;
        let pushed = format!(
            "may push to {} (an upload was started and cancelled)",
            image.repository
        );
        Ok(match self.cancel(&upload, image)? {
            None => found(Verdict::Ok, pushed),
            Some(left) => found(
                Verdict::Ok,
                format!("may push to {}; {left}", image.repository),
            ),
        })
    }

    /// `DELETE` of the upload, then a `GET` that must answer 404. distribution
    /// wants the `delete` action for that `DELETE`: refused for want of it
    /// (401), a token with `repository:NAME:delete` is asked for and the
    /// `DELETE` tried once more. `Some(why)` when the upload is left.
    fn cancel(&self, upload: &str, image: &ImageRef) -> Result<Option<String>> {
        let shown = redact::url(upload);
        let mut cancelled = self.call(Method::Delete, upload, None)?;
        if cancelled.status == 401 && matches!(self.authorized.access, Access::Bearer(_)) {
            let scope = format!("repository:{}:delete", image.repository);
            let delete = verify::authorize(self.client, self.attempt, Some(&scope))?;
            if let Access::Bearer(token) = &delete.access {
                cancelled = self.client.call_once(
                    Method::Delete,
                    upload,
                    Some(Auth::Bearer(token)),
                    None,
                )?;
            }
        }
        if !(200..=299).contains(&cancelled.status) {
            return Ok(Some(format!(
                "the upload it started could not be cancelled (DELETE {shown} answered {}: the credential lacks the delete action); the registry removes stale uploads itself (distribution: after 7 days)",
                cancelled.status
            )));
        }
        let after = self.call(Method::Get, upload, None)?;
        if after.status != 404 {
            bail!(
                "push allowed, but the cancelled upload at {shown} still answers {} (the registry removes stale uploads itself)",
                after.status
            );
        }
        Ok(None)
    }
}

/// A 200 to the manifest `HEAD`: ok with the `Docker-Content-Digest` the
/// registry answered, when it is a digest. Asked by digest, the registry
/// must answer that digest: another one proves nothing about the image.
fn answered_digest(image: &ImageRef, digest: Option<String>) -> Found {
    let pull = format!("may pull {}", image.repository);
    match (digest, image.digest.as_deref()) {
        (Some(answered), Some(asked)) if crate::image_ref::is_digest(&answered) && answered != asked => {
            found(
                Verdict::NotCheckable,
                format!("asked for manifest {asked}, the registry answered another digest ({answered}): not the image asked for"),
            )
        }
        (Some(answered), _) if crate::image_ref::is_digest(&answered) => Found {
            verdict: Verdict::Ok,
            digest: Some(answered),
            detail: pull,
        },
        (Some(_), _) => found(
            Verdict::Ok,
            format!("{pull} (the registry's Docker-Content-Digest is not a digest: not shown)"),
        ),
        (None, _) => found(
            Verdict::Ok,
            format!("{pull} (the registry sent no Docker-Content-Digest)"),
        ),
    }
}

/// The first `errors[].code` of a registry error body.
fn error_code(body: &[u8]) -> Option<&'static str> {
    let value = crate::reader::parse_json_bytes(body).ok()?;
    let code = value.get("errors")?.get(0)?.get("code")?.as_str()?;
    ["NAME_UNKNOWN", "MANIFEST_UNKNOWN"]
        .into_iter()
        .find(|known| *known == code)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(verdict: Verdict) -> Row {
        Row {
            reference: "r".into(),
            registry: "reg".into(),
            repository: "team/app".into(),
            credential: Some("reg".into()),
            username: Some("u".into()),
            verdict,
            digest: None,
            detail: String::new(),
            notes: Vec::new(),
        }
    }

    #[test]
    fn the_most_severe_verdict_decides_the_exit_code() {
        let code = |vs: &[Verdict]| exit_code(&vs.iter().map(|v| row(*v)).collect::<Vec<_>>());
        use Verdict::*;
        assert_eq!(code(&[]), 0);
        assert_eq!(code(&[Ok, Ok]), 0);
        assert_eq!(code(&[Ok, Unreachable]), 3);
        assert_eq!(code(&[NotCheckable, NotFound]), 5);
        assert_eq!(code(&[NotFound, Denied, Unreachable]), 4);
        assert_eq!(code(&[Denied, Rejected, NotFound]), 1);
        assert_eq!(code(&[Expired, Ok]), 1);
    }

    #[test]
    fn error_codes_and_granted_actions() {
        assert_eq!(
            error_code(br#"{"errors":[{"code":"NAME_UNKNOWN","message":"x"}]}"#),
            Some("NAME_UNKNOWN")
        );
        assert_eq!(error_code(b"<html>"), None);
        use base64::Engine;
        let e = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        let token = |claims: &str| format!("{}.{}.c2ln", e(r#"{"alg":"RS256"}"#), e(claims));
        let t = token(r#"{"access":[{"type":"repository","name":"team/app","actions":["pull"]}]}"#);
        assert_eq!(granted_actions(&t, "team/app"), Some(vec!["pull".into()]));
        assert_eq!(granted_actions(&t, "team/other"), Some(vec![]));
        assert_eq!(
            granted_actions(&token(r#"{"access":[]}"#), "team/app"),
            Some(vec![])
        );
        assert_eq!(granted_actions("opaque-token", "team/app"), None);
    }
}
