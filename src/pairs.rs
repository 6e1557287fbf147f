//! Delegated-auth pairs: a registry linked to the auth server (SSO/token
//! realm) that issues its tokens. Stored in the index (`store.json`) next to
//! the credentials, so they are written atomically under the same lock and
//! read in the same single file read as the credentials.
//!
//! Rules (the one place they live):
//! - a registry has at most one auth server; an auth server may serve many
//!   registries; a key cannot be both (no chains), nor paired with itself;
//! - an auth-server key (see [`serves`]) answers for an asked key when both
//!   name the same scheme, host and port and one path is a segment prefix of
//!   the other (`sso.example.com` and `sso.example.com/auth/realms/x`);
//! - `get AUTH_SERVER` answers with the auth server's own credential if one is
//!   stored under the asked key, else with the credential of its paired
//!   registry. When several paired registries hold a credential they must
//!   agree: the same username **and** the same secret. Otherwise it is a
//!   conflict and nothing answers (docker gets "not found"; `pair ls` shows it);
//! - protocol `list` adds every auth server that resolves by the index alone
//!   (own credential aside): usernames are compared there, secrets are not
//!   (`list` never reads a secret), so a listed auth server whose registries'
//!   secrets differ answers "not found" to `get`, which docker's sweep ignores;
//! - protocol `erase REGISTRY` removes the registry's credential only (a later
//!   `store` brings the pair back to life); human `logout REGISTRY` removes the
//!   credential, the pair, and the auth server's own credential unless another
//!   pair still uses that auth server ([`logout`]).

use std::collections::BTreeMap;

use anyhow::{bail, Result};
use serde::Serialize;

use crate::registry::ServerKey;
use crate::store::db::{IndexBytes, IndexView, ListedRef};
use crate::store::{Credential, Credentials, Database};

use crate::store::db::Pair;

/// Which stored credential answers for a key, by the index alone (usernames).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Resolution {
    /// A credential is stored under the key itself.
    Own(String),
    /// The key is an auth server without its own credential: use this
    /// registry's (the first, sorted, when several agree on the username;
    /// [`lookup`] also compares their secrets).
    ViaRegistry(String),
    /// An auth server whose paired registries hold different usernames.
    Conflict(Vec<String>),
    /// Nothing answers.
    None,
}

/// Whether the auth-server key `auth_server` answers for the asked key
/// `asked`: same scheme, host and port, and one path a segment prefix of the other.
pub(crate) fn serves(auth_server: &str, asked: &ServerKey) -> bool {
    if auth_server == asked.as_str() {
        return true;
    }
    let Ok(auth) = ServerKey::parse(auth_server) else {
        return false;
    };
    auth.is_http() == asked.is_http()
        && auth.host() == asked.host()
        && auth.port() == asked.port()
        && (segment_prefix(auth.path(), asked.path()) || segment_prefix(asked.path(), auth.path()))
}

fn segment_prefix(prefix: &str, path: &str) -> bool {
    path.strip_prefix(prefix)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/') || prefix.ends_with('/'))
}

/// Registry keys whose auth server answers for `auth_server` (see [`serves`]), sorted.
pub(crate) fn registries_for<'a>(db: &'a Database, auth_server: &str) -> Vec<&'a str> {
    matching(&db.pairs, auth_server)
}

fn matching<'a>(pairs: &'a BTreeMap<String, Pair>, asked: &str) -> Vec<&'a str> {
    if pairs.is_empty() {
        return Vec::new();
    }
    let Ok(asked) = ServerKey::parse(asked) else {
        return Vec::new();
    };
    pairs
        .iter()
        .filter(|(_, p)| serves(&p.auth_server, &asked))
        .map(|(r, _)| r.as_str())
        .collect()
}

/// Resolves `key` to the stored credential that answers for it (index only).
pub(crate) fn resolve(db: &Database, key: &str) -> Resolution {
    resolve_with(
        &db.pairs,
        |k| db.credentials.get(k).map(|r| r.username.as_str()),
        key,
    )
}

/// The rule behind [`resolve`], over any index: `username_of` says whether a
/// key holds a credential and under which username.
fn resolve_with<'a>(
    pairs: &BTreeMap<String, Pair>,
    username_of: impl Fn(&str) -> Option<&'a str>,
    key: &str,
) -> Resolution {
    if username_of(key).is_some() {
        return Resolution::Own(key.to_owned());
    }
    let stored: Vec<(&str, &str)> = matching(pairs, key)
        .into_iter()
        .filter_map(|r| username_of(r).map(|u| (r, u)))
        .collect();
    match stored.as_slice() {
        [] => Resolution::None,
        [(first, user), rest @ ..] => {
            if rest.iter().all(|(_, u)| u == user) {
                Resolution::ViaRegistry((*first).to_owned())
            } else {
                Resolution::Conflict(stored.iter().map(|(r, _)| (*r).to_owned()).collect())
            }
        }
    }
}

/// Why the registries paired with one auth server do not agree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Disagreement {
    Username,
    Secret,
}

/// What answers for a key, secrets compared: what `get` returns.
#[derive(Debug)]
pub(crate) enum Lookup {
    /// `credential` is stored under `from` (the key itself or a paired registry).
    Found {
        from: String,
        credential: Credential,
    },
    /// Several paired registries disagree: nothing answers.
    Conflict {
        registries: Vec<String>,
        reason: Disagreement,
    },
    NotFound,
}

/// What `get KEY` answers: the credential stored under `key` itself (one
/// index read that decodes no other record: the hot path), else, only on a
/// miss, [`lookup`]'s over the whole index; a conflict answers nothing.
/// `export` and `pair ls`, which hold a loaded index already, call [`lookup`]
/// for the same answer.
pub(crate) fn answer(store: &Credentials, key: &ServerKey) -> Result<Option<Credential>> {
    if let Some(credential) = store.get(key)? {
        return Ok(Some(credential));
    }
    Ok(match lookup(store, &store.load()?, key.as_str())? {
        Lookup::Found { credential, .. } => Some(credential),
        Lookup::Conflict { registries, reason } => {
            crate::debug!("get {key}: paired registries {registries:?} disagree ({reason:?})");
            None
        }
        Lookup::NotFound => None,
    })
}

/// The credential that answers for `key` in the loaded index `db`: one keyring
/// read in the common cases, one per paired registry when several could answer
/// for an auth server. No extra work when `key` holds a credential or there are no pairs.
pub(crate) fn lookup(store: &Credentials, db: &Database, key: &str) -> Result<Lookup> {
    let from = match resolve(db, key) {
        Resolution::None => return Ok(Lookup::NotFound),
        Resolution::Conflict(registries) => {
            return Ok(Lookup::Conflict {
                registries,
                reason: Disagreement::Username,
            })
        }
        Resolution::Own(from) => from,
        Resolution::ViaRegistry(from) => {
            let others: Vec<&str> = registries_for(db, key)
                .into_iter()
                .filter(|r| *r != from && db.credentials.contains_key(*r))
                .collect();
            if !others.is_empty() {
                return lookup_agreeing(store, db, from, others);
            }
            from
        }
    };
    Ok(match store.get_in(db, &from)? {
        Some(credential) => Lookup::Found { from, credential },
        None => Lookup::NotFound,
    })
}

/// Several registries agree on the username: they must also hold the same secret.
fn lookup_agreeing(
    store: &Credentials,
    db: &Database,
    first: String,
    others: Vec<&str>,
) -> Result<Lookup> {
    let Some(credential) = store.get_in(db, &first)? else {
        return Ok(Lookup::NotFound);
    };
    let mut registries = vec![first.clone()];
    let mut agree = true;
    for other in others {
        registries.push(other.to_owned());
        if let Some(c) = store.get_in(db, other)? {
            agree &= c.secret.expose() == credential.secret.expose();
        }
    }
    Ok(if agree {
        Lookup::Found {
            from: first,
            credential,
        }
    } else {
        Lookup::Conflict {
            registries,
            reason: Disagreement::Secret,
        }
    })
}

/// Every line protocol `list` reports, unsorted: each stored credential's
/// ServerURL spelling and username (borrowed from `index`), then the auth
/// servers of [`listed_auth_servers`]. The second parse happens only when the
/// index holds pairs.
pub(crate) fn listed(index: &IndexBytes) -> Result<Vec<ListedRef<'_>>> {
    let (mut entries, has_pairs) = index.listed_and_pairs()?;
    if has_pairs {
        entries.extend(
            listed_auth_servers(&index.view()?)
                .into_iter()
                .map(|(auth, user)| ListedRef::owned(auth, user)),
        );
    }
    Ok(entries)
}

/// Auth servers that `list` reports besides the stored credentials: every
/// auth-server key without its own credential that resolves (by the index)
/// to a registry's credential, with that credential's username.
pub(crate) fn listed_auth_servers(view: &IndexView) -> Vec<(String, String)> {
    if view.pairs.is_empty() {
        return Vec::new();
    }
    let username_of = |k: &str| view.credentials.get(k).map(|m| m.username.as_str());
    let mut out: Vec<(String, String)> = Vec::new();
    for pair in view.pairs.values() {
        let auth = &pair.auth_server;
        if out.iter().any(|(a, _)| a == auth) {
            continue;
        }
        if let Resolution::ViaRegistry(registry) = resolve_with(&view.pairs, username_of, auth) {
            if let Some(user) = username_of(&registry) {
                out.push((auth.clone(), user.to_owned()));
            }
        }
    }
    out
}

/// What [`link`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Linked {
    Added,
    Unchanged,
    /// The registry was paired with this other auth server before.
    Replaced(String),
}

/// Checks that `registry` may be paired with `auth_server` in `db`.
pub(crate) fn check_link(
    db: &Database,
    registry: &ServerKey,
    auth_server: &ServerKey,
) -> Result<()> {
    let (r, a) = (registry.as_str(), auth_server.as_str());
    if r == a {
        bail!("cannot pair {r} with itself: the auth server must be another host");
    }
    if let Some(p) = db.pairs.get(a) {
        bail!(
            "{a} is itself a registry paired with {}: an auth server cannot have an auth server (run `pair rm {a}` first)",
            p.auth_server
        );
    }
    if let Some((served, _)) = db.pairs.iter().find(|(_, p)| p.auth_server == r) {
        bail!("{r} is the auth server of {served}: it cannot also be a paired registry (run `pair rm {served}` first)");
    }
    Ok(())
}

/// Pairs `registry` with `auth_server`, atomically (concurrent helpers never lose a pair).
pub(crate) fn link(
    store: &Credentials,
    registry: &ServerKey,
    auth_server: &ServerKey,
) -> Result<Linked> {
    store.update(|db| link_in(db, registry, auth_server))
}

/// [`link`] inside a transaction the caller holds (`login` stores the
/// credentials and the pair in one index write).
pub(crate) fn link_in(
    db: &mut Database,
    registry: &ServerKey,
    auth_server: &ServerKey,
) -> Result<Linked> {
    check_link(db, registry, auth_server)?;
    let pair = Pair {
        auth_server: auth_server.as_str().to_owned(),
    };
    Ok(match db.pairs.insert(registry.as_str().to_owned(), pair) {
        None => Linked::Added,
        Some(old) if old.auth_server == auth_server.as_str() => Linked::Unchanged,
        Some(old) => Linked::Replaced(old.auth_server),
    })
}

/// Removes `registry`'s pair, atomically. Returns the auth server it had.
pub(crate) fn unlink(store: &Credentials, registry: &ServerKey) -> Result<Option<String>> {
    store.update(|db| Ok(db.pairs.remove(registry.as_str()).map(|p| p.auth_server)))
}

/// What [`logout`] removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct LogoutReport {
    /// Whether the registry had a credential.
    pub(crate) credential: bool,
    /// The auth server the registry was paired with.
    pub(crate) auth_server: Option<String>,
    /// Whether the auth server's own credential was removed.
    pub(crate) auth_credential: bool,
    /// Other registries still paired with the auth server (its credential stays).
    pub(crate) still_used_by: Vec<String>,
    /// Registries paired with the logged-out key as their auth server whose
    /// pairs were removed because no credential was left to answer for them.
    pub(crate) emptied_pairs: Vec<String>,
}

/// Human `logout REGISTRY`: removes the registry's credential, its pair, and
/// the auth server's own credential unless another pair still uses that auth
/// server. When the key is itself an auth server, its pairs whose registries
/// hold no credential either go too: a pair with no credential on either side
/// answers nothing (`doctor` would warn about it). One atomic index update.
pub(crate) fn logout(store: &Credentials, registry: &ServerKey) -> Result<LogoutReport> {
    store.update_removing(|db, removals| {
        let mut report = LogoutReport {
            credential: removals.delete_in(db, registry.as_str())?,
            ..LogoutReport::default()
        };
        if let Some(pair) = db.pairs.remove(registry.as_str()) {
            report.still_used_by = db
                .pairs
                .iter()
                .filter(|(_, p)| p.auth_server == pair.auth_server)
                .map(|(r, _)| r.clone())
                .collect();
            if report.still_used_by.is_empty() {
                report.auth_credential = removals.delete_in(db, &pair.auth_server)?;
            }
            report.auth_server = Some(pair.auth_server);
        }
        let credentials = &db.credentials;
        db.pairs.retain(|paired, pair| {
            let emptied =
                pair.auth_server == registry.as_str() && !credentials.contains_key(paired);
            if emptied {
                report.emptied_pairs.push(paired.clone());
            }
            !emptied
        });
        Ok(report)
    })
}

/// What `logout --all` removed.
#[derive(Debug, Default)]
pub(crate) struct LogoutAllReport {
    /// Every key that had a credential.
    pub(crate) credentials: Vec<String>,
    /// Every pair, as (registry, auth server).
    pub(crate) pairs: Vec<(String, String)>,
}

/// Human `logout --all`: every credential and every pair (with no credential
/// left, no pair can answer). One index transaction: one save however many
/// credentials, and keyring secrets are put back if it fails.
pub(crate) fn logout_all(store: &Credentials) -> Result<LogoutAllReport> {
    store.update_removing(|db, removals| {
        let credentials: Vec<String> = db.credentials.keys().cloned().collect();
        for key in &credentials {
            removals.delete_in(db, key)?;
        }
        let pairs = std::mem::take(&mut db.pairs)
            .into_iter()
            .map(|(registry, pair)| (registry, pair.auth_server))
            .collect();
        Ok(LogoutAllReport { credentials, pairs })
    })
}

/// How an auth server answers, for `pair ls`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub(crate) enum AuthStatus {
    /// Its own credential.
    Own,
    /// The credential of this paired registry.
    Registry { registry: String },
    /// Paired registries that disagree: `get` finds nothing.
    Conflict {
        registries: Vec<String>,
        reason: Disagreement,
    },
    /// No credential answers.
    None,
}

/// One line of `pair ls`.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct PairStatus {
    pub(crate) registry: String,
    #[serde(rename = "authServer")]
    pub(crate) auth_server: String,
    /// Whether the registry has a credential.
    #[serde(rename = "registryCredential")]
    pub(crate) registry_credential: bool,
    /// What `get AUTH_SERVER` answers with.
    #[serde(rename = "authServerAnswer")]
    pub(crate) answer: AuthStatus,
}

/// Every pair with what its auth server answers (reads the secrets needed to
/// detect a secret conflict, like `get` does).
pub(crate) fn status(store: &Credentials, db: &Database) -> Result<Vec<PairStatus>> {
    let mut answers: BTreeMap<&str, AuthStatus> = BTreeMap::new();
    let mut out = Vec::new();
    for (registry, pair) in &db.pairs {
        let auth = pair.auth_server.as_str();
        if !answers.contains_key(auth) {
            let answer = match lookup(store, db, auth)? {
                Lookup::Found { from, .. } if from == auth => AuthStatus::Own,
                Lookup::Found { from, .. } => AuthStatus::Registry { registry: from },
                Lookup::Conflict { registries, reason } => {
                    AuthStatus::Conflict { registries, reason }
                }
                Lookup::NotFound => AuthStatus::None,
            };
            answers.insert(auth, answer);
        }
        out.push(PairStatus {
            registry: registry.clone(),
            auth_server: pair.auth_server.clone(),
            registry_credential: db.credentials.contains_key(registry),
            answer: answers[auth].clone(),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Record, StoreKind};

    fn db(creds: &[(&str, &str)], pairs: &[(&str, &str)]) -> Database {
        let mut db = Database::default();
        for (k, u) in creds {
            db.credentials.insert(
                (*k).into(),
                Record {
                    server_url: (*k).into(),
                    username: (*u).into(),
                    store: StoreKind::File,
                    ..Record::default()
                },
            );
        }
        for (r, a) in pairs {
            db.pairs.insert(
                (*r).into(),
                Pair {
                    auth_server: (*a).into(),
                },
            );
        }
        db
    }

    #[test]
    fn resolution_rules() {
        let d = db(
            &[
                ("reg1.example", "alice"),
                ("reg2.example", "alice"),
                ("reg3.example", "bob"),
            ],
            &[
                ("reg1.example", "sso.example"),
                ("reg2.example", "sso.example"),
                ("reg3.example", "other-sso.example"),
                ("reg4.example", "lonely-sso.example"),
            ],
        );
        assert_eq!(
            resolve(&d, "reg1.example"),
            Resolution::Own("reg1.example".into())
        );
        assert_eq!(
            resolve(&d, "sso.example"),
            Resolution::ViaRegistry("reg1.example".into())
        );
        assert_eq!(
            resolve(&d, "other-sso.example"),
            Resolution::ViaRegistry("reg3.example".into())
        );
        assert_eq!(resolve(&d, "lonely-sso.example"), Resolution::None);
        assert_eq!(resolve(&d, "unknown.example"), Resolution::None);
        let conflict = db(
            &[("reg1.example", "alice"), ("reg2.example", "bob")],
            &[
                ("reg1.example", "sso.example"),
                ("reg2.example", "sso.example"),
            ],
        );
        assert_eq!(
            resolve(&conflict, "sso.example"),
            Resolution::Conflict(vec!["reg1.example".into(), "reg2.example".into()])
        );
        // The auth server's own credential wins over any conflict.
        let own = db(
            &[
                ("reg1.example", "alice"),
                ("reg2.example", "bob"),
                ("sso.example", "carol"),
            ],
            &[
                ("reg1.example", "sso.example"),
                ("reg2.example", "sso.example"),
            ],
        );
        assert_eq!(
            resolve(&own, "sso.example"),
            Resolution::Own("sso.example".into())
        );
    }

    #[test]
    fn auth_server_keys_match_by_host_and_path_prefix() {
        let k = |s: &str| ServerKey::parse(s).unwrap();
        assert!(serves("sso.example", &k("https://sso.example/")));
        assert!(serves("sso.example/auth/realms/x", &k("sso.example")));
        assert!(serves("sso.example/auth", &k("sso.example/auth/realms/x")));
        assert!(!serves("sso.example/auth", &k("sso.example/authx")));
        assert!(!serves("sso.example", &k("sso.example:8443")));
        assert!(!serves("sso.example", &k("http://sso.example")));
        assert!(!serves("sso.example", &k("other.example")));
        let d = db(
            &[("reg.example", "u")],
            &[("reg.example", "sso.example/auth/realms/rh")],
        );
        assert_eq!(
            resolve(&d, "sso.example"),
            Resolution::ViaRegistry("reg.example".into())
        );
    }

    #[test]
    fn list_adds_resolving_auth_servers_only() {
        let d = db(
            &[
                ("reg1.example", "alice"),
                ("reg2.example", "bob"),
                ("reg3.example", "carol"),
                ("own-sso.example", "dave"),
            ],
            &[
                ("reg1.example", "conflict-sso.example"),
                ("reg2.example", "conflict-sso.example"),
                ("reg3.example", "sso.example"),
                ("reg4.example", "empty-sso.example"),
                ("reg5.example", "own-sso.example"),
            ],
        );
        let view = IndexView {
            version: d.version,
            credentials: d
                .credentials
                .iter()
                .map(|(k, r)| {
                    (
                        k.clone(),
                        crate::store::db::RecordMeta {
                            server_url: r.server_url.clone(),
                            username: r.username.clone(),
                            store: r.store,
                        },
                    )
                })
                .collect(),
            pairs: d.pairs.clone(),
        };
        assert_eq!(
            listed_auth_servers(&view),
            vec![("sso.example".to_owned(), "carol".to_owned())]
        );
    }

    #[test]
    fn chains_and_self_pairs_are_refused() {
        let k = |s: &str| ServerKey::parse(s).unwrap();
        let d = db(&[], &[("reg.example", "sso.example")]);
        assert!(check_link(&d, &k("a.example"), &k("a.example")).is_err());
        assert!(check_link(&d, &k("sso.example"), &k("x.example")).is_err());
        assert!(check_link(&d, &k("x.example"), &k("reg.example")).is_err());
        assert!(check_link(&d, &k("reg2.example"), &k("sso.example")).is_ok());
        assert!(check_link(&d, &k("reg.example"), &k("sso2.example")).is_ok());
    }
}
