//! What `export --merge` does to each registry it writes into someone else's
//! pull secret: which existing entries ours replaces or removes, when that
//! needs `--replace`, and the per-host report printed on stderr.
//!
//! **Same registry.** kubelet matches a pull-secret key against an image by
//! host, port and path prefix; it drops the scheme (`http://` as well as
//! `https://`) and a leading `/v1/` or `/v2/` of the path (kubernetes
//! `pkg/credentialprovider/keyring.go`, `BasicDockerKeyring.Add`), and docker
//! and containers/image drop the scheme too. So `HOST`, `https://HOST`,
//! `http://HOST`, `HOST/`, `HOST/v2/` and `HOST` in upper case all hand out a
//! credential for the same images: they share a [`Scope`]. A key with another
//! path (`quay.io/org`), another port, or one that does not parse (a glob)
//! is another entry.
//!
//! **The rule.** Our entry is written under our key (the spelling a plain
//! `export` writes) and every other key of the same scope is removed, so no
//! old password survives under another spelling. The entry keeps the old
//! entry's other fields (`email` unless we have one, unknown fields): the
//! entry under our key, else the first one of the scope.
//!
//! **Ownership.** An entry held by another username is someone else's
//! credential (the OpenShift release credential on `quay.io`): replacing it
//! needs `--replace HOST`, or the merge is refused, naming each host and
//! both usernames. An entry whose username cannot be read (an identity
//! token only, a malformed `auth`, a `username` that disagrees with `auth`)
//! counts as another username.

use anyhow::{bail, Result};
use serde_json::{Map, Value};

use super::dockerconfig::{read_entry, Found};
use crate::registry::{shown, ServerKey};

/// Where kubelet uses a pull-secret key: `host[:port]` (Docker Hub's aliases
/// as one) and the repository path prefix (empty for a whole registry).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Scope {
    authority: String,
    path: String,
}

/// The scope of `key`, or `None` for a key that names no registry we can
/// parse (left alone by every merge).
fn scope(key: &str) -> Option<Scope> {
    let trimmed = key.trim();
    // The scheme does not matter to kubelet: parse `http://HOST` as `HOST`,
    // so Docker Hub's aliases are recognised behind it too.
    let schemeless = match trimmed.get(..7) {
        Some(scheme) if scheme.eq_ignore_ascii_case("http://") => &trimmed[7..],
        _ => trimmed,
    };
    let parsed = ServerKey::parse(schemeless).ok()?;
    let path = parsed.path();
    let path = match path.get(..4) {
        Some("/v1/" | "/v2/") => &path[3..],
        _ => path,
    };
    Some(Scope {
        authority: parsed.authority(),
        path: path.to_owned(),
    })
}

/// The credential kubelet reads from an entry, if its username can be read
/// unambiguously (`auth` wins, as in kubelet; a `username` field naming
/// someone else makes it unreadable).
fn credential(key: &str, entry: &Value) -> Option<Found> {
    let found = read_entry(key, entry).ok()?.ok()?;
    match entry.get("username").and_then(Value::as_str) {
        Some(user) if !user.is_empty() && user != found.username => None,
        _ => Some(found),
    }
}

/// Whether two entries hold the same username and password (an email or
/// other field may differ: it is not the credential).
fn same_credential(a: Option<&Found>, b: Option<&Found>) -> bool {
    matches!((a, b), (Some(a), Some(b)) if a.username == b.username && a.password == b.password)
}

/// What the merge does for one of our registries.
struct HostPlan {
    /// Our key (the spelling written).
    key: String,
    /// The entry written under `key`.
    entry: Value,
    /// The other spellings of the same scope, removed.
    removed: Vec<String>,
    /// The report line.
    line: String,
    /// Why the merge may not write it (the host and both usernames), when
    /// it would replace another username's entry and `--replace` does not
    /// name the host.
    refused: Option<String>,
}

/// `auths` with `ours` merged in (see the module doc), and the report: one
/// line per registry of `ours`. Refused, with nothing merged, when an entry
/// of another username would be replaced and `replace` does not name it.
pub(crate) fn merge_auths(
    auths: &Map<String, Value>,
    ours: &Map<String, Value>,
    replace: &[ServerKey],
) -> Result<(Map<String, Value>, Vec<String>)> {
    check_replace(ours, replace)?;
    let mut plans: Vec<HostPlan> = Vec::with_capacity(ours.len());
    for (key, entry) in ours {
        let Some(ours_scope) = scope(key) else {
            bail!("cannot merge {:?}: not a registry key", shown(key));
        };
        if let Some(twin) = plans
            .iter()
            .find(|p| scope(&p.key).as_ref() == Some(&ours_scope))
        {
            bail!(
                "{} and {key} are the same registry in a pull secret (kubelet ignores the scheme): select one of them with --registry",
                twin.key
            );
        }
        let named =
            ServerKey::parse(key).is_ok_and(|k| replace.iter().any(|r| r.as_str() == k.as_str()));
        plans.push(plan_host(auths, key, entry, &ours_scope, named));
    }
    let refused: Vec<&str> = plans.iter().filter_map(|p| p.refused.as_deref()).collect();
    if !refused.is_empty() {
        let hosts: Vec<String> = plans
            .iter()
            .filter(|p| p.refused.is_some())
            .map(|p| format!("--replace {}", replace_name(&p.key)))
            .collect();
        bail!(
            "refusing to replace another user's credential: {}; nothing was written: pass {} to replace it (whatever pulls with it, such as cluster updates with the OpenShift release credential on quay.io, then uses yours), or leave it out of --registry",
            refused.join("; "),
            hosts.join(" ")
        );
    }
    let mut merged = auths.clone();
    for plan in &plans {
        for key in &plan.removed {
            merged.shift_remove(key);
        }
        merged.insert(plan.key.clone(), plan.entry.clone());
    }
    merged.sort_keys();
    Ok((merged, plans.into_iter().map(|p| p.line).collect()))
}

/// How `--replace` names a host: its normalised key.
fn replace_name(key: &str) -> String {
    ServerKey::parse(key).map_or_else(|_| key.to_owned(), |k| k.as_str().to_owned())
}

/// Every `--replace` must name a registry this merge writes: a typo would
/// otherwise go unnoticed until the merge is refused anyway.
fn check_replace(ours: &Map<String, Value>, replace: &[ServerKey]) -> Result<()> {
    let merged: Vec<String> = ours.keys().map(|k| replace_name(k)).collect();
    for wanted in replace {
        if !merged.iter().any(|m| m == wanted.as_str()) {
            bail!(
                "--replace {wanted}: this merge does not write {wanted} (it writes {}): name one of those, or add --registry {wanted}",
                merged.join(", ")
            );
        }
    }
    Ok(())
}

/// The plan for our `key` / `entry` against the document's `auths`.
fn plan_host(
    auths: &Map<String, Value>,
    key: &str,
    entry: &Value,
    ours_scope: &Scope,
    replace_named: bool,
) -> HostPlan {
    let same: Vec<(&String, &Value)> = auths
        .iter()
        .filter(|(k, _)| scope(k).as_ref() == Some(ours_scope))
        .collect();
    let new = credential(key, entry);
    let olds: Vec<Option<Found>> = same.iter().map(|(k, v)| credential(k, v)).collect();
    let others = other_users(&olds, new.as_ref());
    let removed: Vec<String> = same
        .iter()
        .map(|(k, _)| (*k).clone())
        .filter(|k| k != key)
        .collect();
    let mut parts = vec![format!("{key}: {}", verb(&olds, new.as_ref(), &others))];
    if !removed.is_empty() {
        let names: Vec<String> = removed.iter().map(|k| shown(k)).collect();
        parts.push(format!("other spellings removed: {}", names.join(", ")));
    }
    parts.extend(
        auths
            .keys()
            .filter(|k| {
                scope(k).is_some_and(|s| s.authority == ours_scope.authority && s != *ours_scope)
            })
            .map(|k| format!("kept {} (another scope)", shown(k))),
    );
    let refused = (!others.is_empty() && !replace_named).then(|| {
        format!(
            "{key} holds username {} in the pull secret, yours is {}",
            users(&others),
            ours_name(new.as_ref())
        )
    });
    let base = auths.get(key).or_else(|| same.first().map(|(_, v)| *v));
    HostPlan {
        key: key.to_owned(),
        entry: base.map_or_else(|| entry.clone(), |old| replace_entry(old, entry)),
        removed,
        line: parts.join("; "),
        refused,
    }
}

/// The usernames of `olds` that are not `new`'s (an unreadable one as
/// `None`), each once: the entries only `--replace` may replace.
fn other_users<'a>(olds: &'a [Option<Found>], new: Option<&Found>) -> Vec<Option<&'a str>> {
    let new_user = new.map(|c| c.username.as_str());
    let mut others = Vec::new();
    for old in olds {
        let user = old.as_ref().map(|c| c.username.as_str());
        if (user.is_none() || user != new_user) && !others.contains(&user) {
            others.push(user);
        }
    }
    others
}

/// What the merge did to the registry's credential, for the report.
fn verb(olds: &[Option<Found>], new: Option<&Found>, others: &[Option<&str>]) -> String {
    let ours = ours_label(new);
    if olds.is_empty() {
        format!("added ({ours})")
    } else if !others.is_empty() {
        format!(
            "replaced username {} with {}",
            users(others),
            ours_name(new)
        )
    } else if olds.iter().all(|old| same_credential(old.as_ref(), new)) {
        format!("unchanged ({ours})")
    } else {
        format!("updated ({ours}, new password)")
    }
}

/// Our credential as the report names it: `username U`, or an identity token.
fn ours_label(new: Option<&Found>) -> String {
    match new {
        Some(_) => format!("username {}", ours_name(new)),
        None => ours_name(new),
    }
}

/// Our username, or "an identity token" (which has none).
fn ours_name(new: Option<&Found>) -> String {
    match new {
        Some(c) => c.username.clone(),
        None => "an identity token".to_owned(),
    }
}

/// Usernames of the document as the report names them.
fn users(users: &[Option<&str>]) -> String {
    let names: Vec<&str> = users
        .iter()
        .map(|u| u.unwrap_or("(none readable)"))
        .collect();
    names.join(", ")
}

/// The entry that replaces `old`: our username/password/auth (and email if we
/// have one), the old entry's other fields kept; the old credential's tokens go.
fn replace_entry(old: &Value, ours: &Value) -> Value {
    let (Some(old), Some(ours)) = (old.as_object(), ours.as_object()) else {
        return ours.clone();
    };
    let mut out = Map::new();
    for field in ["username", "password", "email", "auth", "identitytoken"] {
        if let Some(v) = ours
            .get(field)
            .or_else(|| (field == "email").then(|| old.get(field)).flatten())
        {
            out.insert(field.to_owned(), v.clone());
        }
    }
    for (k, v) in old {
        let owned = matches!(
            k.as_str(),
            "username" | "password" | "email" | "auth" | "identitytoken" | "registrytoken"
        );
        if !owned {
            out.insert(k.clone(), v.clone());
        }
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::dockerconfig::B64;
    use base64::Engine;
    use serde_json::json;

    fn entry(user: &str, password: &str) -> Value {
        json!({"username": user, "password": password, "auth": B64.encode(format!("{user}:{password}"))})
    }

    fn auth_only(user: &str, password: &str) -> Value {
        json!({"auth": B64.encode(format!("{user}:{password}"))})
    }

    fn map(pairs: &[(&str, Value)]) -> Map<String, Value> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect()
    }

    fn key(s: &str) -> ServerKey {
        ServerKey::parse(s).unwrap()
    }

    #[test]
    fn scopes_follow_kubelet() {
        let quay = scope("quay.io").unwrap();
        for spelling in [
            "https://quay.io",
            "http://quay.io",
            "HTTPS://QUAY.IO/",
            "HTTP://quay.io/v2/",
            "quay.io/v1/",
            "quay.io/",
        ] {
            assert_eq!(scope(spelling).as_ref(), Some(&quay), "{spelling}");
        }
        assert_eq!(scope("quay.io/v2/org"), scope("quay.io/org"));
        assert_ne!(scope("quay.io/org"), Some(quay.clone()));
        assert_ne!(scope("quay.io:443"), Some(quay));
        assert_eq!(
            scope("http://docker.io"),
            scope("https://index.docker.io/v1/")
        );
        assert_eq!(scope("*.example.com"), None);
    }

    #[test]
    fn another_username_needs_replace_and_both_are_named() {
        let auths = map(&[
            ("quay.io", auth_only("openshift-release-dev+ocm", "release")),
            ("registry.redhat.io", auth_only("rh", "rhpw")),
        ]);
        let ours = map(&[("quay.io", entry("me", "mine"))]);
        let err = merge_auths(&auths, &ours, &[]).unwrap_err().to_string();
        for needle in [
            "openshift-release-dev+ocm",
            "yours is me",
            "--replace quay.io",
        ] {
            assert!(err.contains(needle), "{needle}: {err}");
        }
        let (merged, report) = merge_auths(&auths, &ours, &[key("QUAY.IO")]).unwrap();
        assert_eq!(merged["quay.io"], entry("me", "mine"));
        assert_eq!(merged["registry.redhat.io"], auths["registry.redhat.io"]);
        assert_eq!(
            report,
            ["quay.io: replaced username openshift-release-dev+ocm with me"]
        );
    }

    #[test]
    fn unreadable_usernames_count_as_another() {
        for old in [
            json!({"identitytoken": "tok"}),
            json!({"auth": "!!!"}),
            json!({"username": "me", "auth": B64.encode("other:pw")}),
        ] {
            let auths = map(&[("quay.io", old.clone())]);
            let ours = map(&[("quay.io", entry("me", "pw"))]);
            let err = merge_auths(&auths, &ours, &[]).unwrap_err().to_string();
            assert!(err.contains("(none readable)"), "{old}: {err}");
        }
    }

    #[test]
    fn every_spelling_of_the_scope_goes_and_other_scopes_stay() {
        let auths = map(&[
            ("http://quay.io", auth_only("me", "old")),
            ("quay.io/", entry("me", "old")),
            ("HTTPS://QUAY.IO", auth_only("me", "old")),
            (
                "quay.io",
                json!({"auth": B64.encode("me:old"), "email": "e@x", "x": 1}),
            ),
            ("quay.io/org", auth_only("org", "orgpw")),
            ("quay.io:8443", auth_only("me", "old")),
        ]);
        let ours = map(&[("quay.io", entry("me", "new"))]);
        let (merged, report) = merge_auths(&auths, &ours, &[]).unwrap();
        let keys: Vec<&str> = merged.keys().map(String::as_str).collect();
        assert_eq!(keys, ["quay.io", "quay.io/org", "quay.io:8443"]);
        assert_eq!(merged["quay.io"]["email"], "e@x");
        assert_eq!(merged["quay.io"]["x"], 1);
        assert_eq!(merged["quay.io"]["password"], "new");
        assert_eq!(
            report,
            ["quay.io: updated (username me, new password); other spellings removed: http://quay.io, quay.io/, HTTPS://QUAY.IO; kept quay.io/org (another scope)"]
        );
    }

    #[test]
    fn verbs() {
        let ours = map(&[("a.io", entry("me", "pw"))]);
        let report = |auths: &[(&str, Value)]| merge_auths(&map(auths), &ours, &[]).unwrap().1;
        assert_eq!(report(&[]), ["a.io: added (username me)"]);
        assert_eq!(
            report(&[("a.io", auth_only("me", "pw"))]),
            ["a.io: unchanged (username me)"]
        );
        assert_eq!(
            report(&[("https://a.io", auth_only("me", "pw"))]),
            ["a.io: unchanged (username me); other spellings removed: https://a.io"]
        );
        assert_eq!(
            report(&[("a.io", auth_only("me", "old"))]),
            ["a.io: updated (username me, new password)"]
        );
    }

    /// `--include-tokens`: our entry has no username; any entry it meets
    /// is another user's.
    #[test]
    fn identity_tokens_of_ours() {
        let ours = map(&[("a.io", json!({"identitytoken": "tok"}))]);
        let (_, report) = merge_auths(&Map::new(), &ours, &[]).unwrap();
        assert_eq!(report, ["a.io: added (an identity token)"]);
        let auths = map(&[("a.io", auth_only("me", "pw"))]);
        let err = merge_auths(&auths, &ours, &[]).unwrap_err().to_string();
        assert!(
            err.contains("holds username me in the pull secret, yours is an identity token"),
            "{err}"
        );
        let (_, report) = merge_auths(&auths, &ours, &[key("a.io")]).unwrap();
        assert_eq!(
            report,
            ["a.io: replaced username me with an identity token"]
        );
    }

    #[test]
    fn replace_must_name_a_merged_registry_and_scopes_must_differ() {
        let ours = map(&[("a.io", entry("me", "pw"))]);
        let err = merge_auths(&Map::new(), &ours, &[key("b.io")])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("--replace b.io") && err.contains("writes a.io"),
            "{err}"
        );
        let twins = map(&[
            ("a.io", entry("me", "pw")),
            ("http://a.io", entry("me", "pw")),
        ]);
        let err = merge_auths(&Map::new(), &twins, &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains("same registry"), "{err}");
    }
}
