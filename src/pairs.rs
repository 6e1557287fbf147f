//! Delegated-auth pairs: a registry linked to the auth server (SSO/token
//! realm) that issues its tokens. Stored in the index (`store.json`) next to
//! the credentials, so they are written atomically under the same lock and
//! read in the same single file read as the credentials. Nothing outside this
//! module (and the store) reads the pair table: `verify`, `check`, `audit`,
//! `export`, `logout`, `ls` and `doctor` ask the functions here.
//!
//! **The trust rule** (the one place it is enforced; docs/pairs.md and
//! SECURITY.md say it in words): *a registry never chooses which of your
//! credentials it gets.* A registry's challenge is input from the network and
//! may name any host as its token realm, so:
//! - a paired registry's token requests ([`auth_for`]: `login`, `check`)
//!   carry the **registry's own credential**, as docker sends it to whatever
//!   realm the registry names, unless the pair **ties** the auth server's own
//!   credential to it ([`AuthCredential`]): `Owned` when the same `login`
//!   stored it (`--auth-username`), `Shared` or `Owned` when the user named
//!   the auth server and agreed to reuse the credential it already holds
//!   (`--use-auth-credential`; never through `--discover`). A tied auth-server
//!   credential goes only to a realm on that auth server's host
//!   (`verify::bearer_flow`);
//! - pairing never changes or adopts a credential the auth-server key already
//!   holds ([`plan`] reports it as left alone);
//! - an export of a registry carries its auth server ([`companion`]) with the
//!   auth server's own credential only when the pair ties it; an auth server
//!   holding an untied credential of its own is left out with a warning
//!   (naming it in `--registry` exports it, as any credential);
//! - `logout REGISTRY` and re-pairing remove the auth-server credential the
//!   old pair owned, unless another pair still uses it ([`logout`],
//!   [`link_in`]); nothing untied is ever removed with a registry;
//! - `check` checks an auth-server credential a pair ties through its
//!   registries, and any other credential as the registry it is stored for
//!   ([`checked_through_pairs`]).
//!
//! What `get`/`list` answer (unchanged by the rule: the user's own
//! credential for a host goes to that host):
//! - a registry has at most one auth server; an auth server may serve many
//!   registries; a key cannot be both (no chains), nor paired with itself,
//!   and Docker Hub's registry key is no auth server;
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
//!   `store` brings the pair back to life).

use std::collections::BTreeMap;

use anyhow::{bail, Result};
use serde::Serialize;

use crate::registry::ServerKey;
use crate::store::db::{IndexBytes, IndexView, ListedRef, Pair};
use crate::store::{Credential, Credentials, Database, Removals};

pub(crate) use crate::store::AuthCredential;

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

// ------------------------------------------------------------ the trust rule

/// Where a paired registry's token requests go and what they carry.
#[derive(Debug)]
pub(crate) struct AuthFor {
    pub(crate) auth_server: ServerKey,
    /// The auth server's own credential when the pair ties it to the
    /// registry; `None`: the registry's own credential goes there.
    pub(crate) credential: Option<Credential>,
}

/// The auth server `registry`'s token requests go to, and which stored
/// credential they carry (the trust rule's first part; `login` and `check`).
/// `None` when the registry is not paired.
pub(crate) fn auth_for(
    store: &Credentials,
    db: &Database,
    registry: &str,
) -> Result<Option<AuthFor>> {
    let Some(pair) = db.pairs.get(registry) else {
        return Ok(None);
    };
    let auth_server = ServerKey::parse(&pair.auth_server)?;
    let credential = if tie(db, pair).uses_auth_server_credential() {
        store.get_in(db, &pair.auth_server)?
    } else {
        None
    };
    Ok(Some(AuthFor {
        auth_server,
        credential,
    }))
}

/// How `pair` relates to the credential stored under its auth server now:
/// tied only while that credential is the one it was tied to (the same
/// username); a credential stored there later by someone else's hand
/// (`docker login AUTH_SERVER` as another user, an import) is untied.
fn tie(db: &Database, pair: &Pair) -> AuthCredential {
    let held = db.credentials.get(&pair.auth_server).map(|r| &r.username);
    match (held, &pair.auth_username) {
        (Some(held), Some(tied)) if held == tied => pair.auth_credential,
        _ => AuthCredential::Registry,
    }
}

/// What an export of a registry carries for its auth server.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Companion {
    /// Not paired, or nothing answers for the auth server.
    Nothing,
    /// Export the auth server's key with the credential stored under `from`.
    Entry { auth_server: String, from: String },
    /// The auth server stays out of the export, for the reason given.
    LeftOut { auth_server: String, why: String },
}

/// The auth-server entry an export of `registry` brings along: the auth
/// server's own credential only when the pair ties it, else what `get`
/// answers for it through its registries; an auth server holding an untied
/// credential of its own is left out (exporting the registry must not ship a
/// credential the registry's challenge picked).
pub(crate) fn companion(store: &Credentials, db: &Database, registry: &str) -> Result<Companion> {
    let Some(pair) = db.pairs.get(registry) else {
        return Ok(Companion::Nothing);
    };
    let auth = pair.auth_server.clone();
    if let Some(own) = db.credentials.get(&auth) {
        return Ok(if tie(db, pair).uses_auth_server_credential() {
            Companion::Entry {
                from: auth.clone(),
                auth_server: auth,
            }
        } else {
            Companion::LeftOut {
                why: format!(
                    "it holds a credential of its own (username {}) that is not tied to {registry}; name it with --registry {auth} to export it",
                    own.username
                ),
                auth_server: auth,
            }
        });
    }
    Ok(match lookup(store, db, &auth)? {
        Lookup::Found { from, .. } => Companion::Entry {
            auth_server: auth,
            from,
        },
        Lookup::Conflict { registries, reason } => Companion::LeftOut {
            why: conflict_reason(&auth, &registries, reason),
            auth_server: auth,
        },
        Lookup::NotFound => Companion::Nothing,
    })
}

/// Why an auth server whose registries disagree answers nothing.
pub(crate) fn conflict_reason(auth: &str, registries: &[String], reason: Disagreement) -> String {
    format!(
        "its registries {} use different {}s; log in to {auth} itself",
        registries.join(", "),
        match reason {
            Disagreement::Username => "username",
            Disagreement::Secret => "password",
        }
    )
}

/// Every auth-server key of the pairs (an export may name one by itself).
pub(crate) fn auth_servers(db: &Database) -> std::collections::BTreeSet<&str> {
    db.pairs.values().map(|p| p.auth_server.as_str()).collect()
}

/// Each paired registry's auth server, taken out of the secret-less index (`ls`).
pub(crate) fn take_auth_servers(view: &mut IndexView) -> BTreeMap<String, String> {
    std::mem::take(&mut view.pairs)
        .into_iter()
        .map(|(registry, pair)| (registry, pair.auth_server))
        .collect()
}

/// Whether the credential stored under `key` is an auth-server credential a
/// pair ties to its registry: `check` checks it through that registry's
/// token request, not as a registry of its own. An untied one is checked as
/// the registry it was stored for.
pub(crate) fn checked_through_pairs(db: &Database, key: &str) -> bool {
    db.pairs
        .values()
        .any(|p| p.auth_server == key && tie(db, p).uses_auth_server_credential())
}

/// A problem `doctor` reports about one pair.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum PairProblem {
    /// Neither the registry nor its auth server holds a credential.
    NoCredential {
        registry: String,
        auth_server: String,
    },
    /// The auth server holds a credential of its own that the pair does not
    /// use (the registry's own goes to the realm).
    Untied {
        registry: String,
        auth_server: String,
        username: String,
    },
}

/// What `doctor` says about the pairs.
pub(crate) fn problems(db: &Database) -> Vec<PairProblem> {
    let mut out = Vec::new();
    for (registry, pair) in &db.pairs {
        let auth_server = pair.auth_server.clone();
        if resolve(db, registry) == Resolution::None {
            out.push(PairProblem::NoCredential {
                registry: registry.clone(),
                auth_server,
            });
        } else if let (Some(own), false) = (
            db.credentials.get(&pair.auth_server),
            tie(db, pair).uses_auth_server_credential(),
        ) {
            out.push(PairProblem::Untied {
                registry: registry.clone(),
                auth_server,
                username: own.username.clone(),
            });
        }
    }
    out
}

/// What the user asked about the auth server's own credential when pairing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Intent {
    /// Nothing: the registry's own credential goes to the auth server.
    RegistryCredential,
    /// The same `login` stores a credential of the auth server's own, under this username.
    NewAuthCredential(String),
    /// Use the credential the auth server already holds (the user named the
    /// auth server and agreed: `--use-auth-credential`).
    UseStored,
}

/// Who named the auth server: the user, or the registry's challenge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Origin {
    /// `--auth-server HOST`, `pair add`.
    Named,
    /// `--discover`, `pair discover`: a registry's challenge chose it.
    Discovered,
}

/// How a pair will be recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Plan {
    pub(crate) auth_credential: AuthCredential,
    /// The username of the auth server's credential the pair ties.
    pub(crate) auth_username: Option<String>,
    /// The username of a credential the auth server already holds that this
    /// pair leaves alone (not tied, never used, exported or removed with it).
    pub(crate) left_alone: Option<String>,
    origin: Origin,
}

impl Plan {
    /// The note for [`Plan::left_alone`], if any. Tying such a credential
    /// sends tokens minted with it to the registry: suggested only when the
    /// user named the auth server.
    pub(crate) fn note(&self, registry: &ServerKey, auth: &ServerKey) -> Option<String> {
        let user = self.left_alone.as_ref()?;
        let head = format!(
            "{auth} already holds a credential of its own (username {user}); it is not tied to {registry}, \
             so it is never sent, exported or removed for {registry} (its token requests carry {registry}'s \
             own credential)"
        );
        Some(match self.origin {
            Origin::Discovered => format!(
                "{head}. {registry}'s challenge chose {auth}: leave it so unless you know {auth} issues {registry}'s tokens"
            ),
            Origin::Named => format!(
                "{head}. Only if that credential belongs to {registry}'s login (tokens minted with it then go \
                 to {registry}): `pair add {registry} {auth} --use-auth-credential`"
            ),
        })
    }
}

/// Checks that `registry` may be paired with `auth_server` in `db` as
/// `intent` asks, and says how the pair will be recorded. A credential the
/// auth-server key already holds is never replaced or adopted for a
/// registry's challenge, and replaced for a login that names the auth
/// server only when it is itself an auth-server credential a pair stored.
pub(crate) fn plan(
    db: &Database,
    registry: &ServerKey,
    auth_server: &ServerKey,
    intent: &Intent,
    origin: Origin,
) -> Result<Plan> {
    check_link(db, registry, auth_server)?;
    let a = auth_server.as_str();
    let held = db.credentials.get(a).map(|r| r.username.clone());
    let owned_by_a_pair = db
        .pairs
        .values()
        .any(|p| p.auth_server == a && tie(db, p) == AuthCredential::Owned);
    let plan = |auth_credential, auth_username, left_alone| Plan {
        auth_credential,
        auth_username,
        left_alone,
        origin,
    };
    Ok(match intent {
        Intent::NewAuthCredential(username) => {
            if let Some(user) = &held {
                if origin == Origin::Discovered || !owned_by_a_pair {
                    bail!(
                        "{a} already holds a credential (username {user}) that no pair stored: not replacing it{}. \
                         Log in to {a} itself to change it, then pair with --auth-server {a} --use-auth-credential",
                        if origin == Origin::Discovered { " for a registry's challenge" } else { "" }
                    );
                }
            }
            plan(AuthCredential::Owned, Some(username.clone()), None)
        }
        Intent::UseStored => {
            if origin == Origin::Discovered {
                bail!("a discovered auth server never gets one of your stored credentials: name it with --auth-server");
            }
            let Some(user) = held else {
                bail!("{a} holds no credential to use: log in to it, or pass --auth-username to store one with this pair");
            };
            // A credential some pair owns is an auth-server credential: share
            // the ownership, so the last pair's logout removes it.
            let kind = if owned_by_a_pair {
                AuthCredential::Owned
            } else {
                AuthCredential::Shared
            };
            plan(kind, Some(user), None)
        }
        // Logging in again to a pair that is there keeps what it is tied to.
        Intent::RegistryCredential => match db.pairs.get(registry.as_str()) {
            Some(p) if p.auth_server == a && tie(db, p).uses_auth_server_credential() => {
                plan(p.auth_credential, p.auth_username.clone(), None)
            }
            _ => plan(AuthCredential::Registry, None, held),
        },
    })
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
    // Whatever the scheme or path: `http://registry-1.docker.io` is Docker Hub too.
    if auth_server.is_docker_hub()
        || ServerKey::parse(auth_server.host()).is_ok_and(|host| host.is_docker_hub())
    {
        bail!("{a} is Docker Hub's registry, not an auth server: refusing to pair {r} with it (Docker Hub's token service is auth.docker.io)");
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

/// What [`link_in`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Linked {
    Added,
    Unchanged,
    /// The registry was paired with this other auth server before.
    Replaced(String),
}

/// [`link_in`]'s report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LinkReport {
    pub(crate) linked: Linked,
    /// The auth server whose credential the replaced pair owned, removed with it.
    pub(crate) removed: Option<String>,
}

/// Pairs `registry` with `auth_server` as `intent` asks, atomically
/// (concurrent helpers never lose a pair), with the plan's note.
pub(crate) fn link(
    store: &Credentials,
    registry: &ServerKey,
    auth_server: &ServerKey,
    intent: &Intent,
    origin: Origin,
) -> Result<(LinkReport, Plan)> {
    store.update_removing(|db, removals| {
        let plan = plan(db, registry, auth_server, intent, origin)?;
        let report = link_in(db, removals, registry, auth_server, &plan)?;
        Ok((report, plan))
    })
}

/// [`link`] inside a transaction the caller holds (`login` stores the
/// credentials and the pair in one index write). Replacing a pair whose auth
/// server's credential it owned removes that credential, unless another
/// pair still uses it.
pub(crate) fn link_in(
    db: &mut Database,
    removals: &mut Removals<'_>,
    registry: &ServerKey,
    auth_server: &ServerKey,
    plan: &Plan,
) -> Result<LinkReport> {
    check_link(db, registry, auth_server)?;
    let pair = Pair {
        auth_server: auth_server.as_str().to_owned(),
        auth_credential: plan.auth_credential,
        auth_username: plan.auth_username.clone(),
    };
    let (linked, removed) = match db.pairs.insert(registry.as_str().to_owned(), pair) {
        None => (Linked::Added, None),
        Some(old) if old.auth_server == auth_server.as_str() => (Linked::Unchanged, None),
        Some(old) => {
            let removed = release(db, removals, &old)?;
            (Linked::Replaced(old.auth_server), removed)
        }
    };
    Ok(LinkReport { linked, removed })
}

/// A pair `old` is gone: removes the auth-server credential it owned unless
/// another pair still uses it. Returns the key removed.
fn release(db: &mut Database, removals: &mut Removals<'_>, old: &Pair) -> Result<Option<String>> {
    if tie(db, old) != AuthCredential::Owned || !users_of(db, &old.auth_server).is_empty() {
        return Ok(None);
    }
    Ok(removals
        .delete_in(db, &old.auth_server)?
        .then(|| old.auth_server.clone()))
}

/// Registries whose pairs use the credential stored under `auth_server`.
fn users_of(db: &Database, auth_server: &str) -> Vec<String> {
    db.pairs
        .iter()
        .filter(|(_, p)| p.auth_server == auth_server && tie(db, p).uses_auth_server_credential())
        .map(|(r, _)| r.clone())
        .collect()
}

/// Removes `registry`'s pair, atomically. Returns the auth server it had.
/// Credentials stay (`pair rm` says so).
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
    /// Other registries whose pairs still use the auth server's credential (it stays).
    pub(crate) still_used_by: Vec<String>,
    /// The auth server holds a credential this pair did not own: left alone.
    pub(crate) not_owned: bool,
    /// Registries paired with the logged-out key as their auth server whose
    /// pairs were removed because no credential was left to answer for them.
    pub(crate) emptied_pairs: Vec<String>,
}

/// Human `logout REGISTRY`: removes the registry's credential, its pair, and
/// the auth-server credential the pair owned unless another pair still uses
/// it; a credential the pair did not own stays. When the key is itself an
/// auth server, its pairs whose registries hold no credential either go too:
/// a pair with no credential on either side answers nothing (`doctor` would
/// warn about it). One atomic index update.
pub(crate) fn logout(store: &Credentials, registry: &ServerKey) -> Result<LogoutReport> {
    store.update_removing(|db, removals| {
        let mut report = LogoutReport {
            credential: removals.delete_in(db, registry.as_str())?,
            ..LogoutReport::default()
        };
        if let Some(pair) = db.pairs.remove(registry.as_str()) {
            let held = db.credentials.contains_key(&pair.auth_server);
            if tie(db, &pair) == AuthCredential::Owned {
                report.still_used_by = users_of(db, &pair.auth_server);
                report.auth_credential = release(db, removals, &pair)?.is_some();
            } else {
                report.not_owned = held;
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
    /// Whose credential the registry's token requests carry (the trust rule).
    #[serde(rename = "authCredential")]
    pub(crate) auth_credential: AuthCredential,
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
            auth_credential: tie(db, pair),
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
                    auth_credential: AuthCredential::Registry,
                    auth_username: None,
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

    fn k(s: &str) -> ServerKey {
        ServerKey::parse(s).unwrap()
    }

    fn cred(user: &str, secret: &str) -> Credential {
        Credential {
            server_url: String::new(),
            username: user.into(),
            secret: crate::secret::Secret::from(secret),
        }
    }

    /// `login reg.example --auth-server sso.example` as `intent` asks:
    /// `reg.example` (alice) and, for a new auth credential, `sso.example`
    /// (sso-user) in one transaction with the pair.
    fn login_paired(store: &Credentials, intent: Intent) -> Result<(Vec<StoreKind>, LinkReport)> {
        let (reg, sso) = (cred("alice", "reg-pw"), cred("sso-user", "sso-pw"));
        let (reg_key, sso_key) = (k("reg.example"), k("sso.example"));
        let put = |key, credential| crate::store::Put {
            key,
            credential,
            email: None,
        };
        let mut puts = vec![put(&reg_key, &reg)];
        if matches!(intent, Intent::NewAuthCredential(_)) {
            puts.push(put(&sso_key, &sso));
        }
        store.put_all_with(&puts, |db, removals| {
            let plan = plan(db, &reg_key, &sso_key, &intent, Origin::Named)?;
            link_in(db, removals, &reg_key, &sso_key, &plan)
        })
    }

    /// A store where `reg.example` is paired with `sso.example` as `intent`
    /// asks; for other intents the auth server's credential (sso-user) was
    /// there first, stored on its own.
    fn paired_store(intent: Intent) -> (tempfile::TempDir, Credentials) {
        let (dir, _, store) = crate::store::memory_store();
        if !matches!(intent, Intent::NewAuthCredential(_)) {
            store
                .put(&k("sso.example"), &cred("sso-user", "sso-pw"))
                .unwrap();
        }
        login_paired(&store, intent).unwrap();
        (dir, store)
    }

    #[test]
    fn an_untied_auth_server_credential_is_never_used_exported_or_removed() {
        let (_dir, store) = paired_store(Intent::RegistryCredential);
        let db = store.load().unwrap();
        let plan = plan(
            &db,
            &k("reg.example"),
            &k("sso.example"),
            &Intent::RegistryCredential,
            Origin::Discovered,
        )
        .unwrap();
        assert_eq!(plan.left_alone.as_deref(), Some("sso-user"));
        let note = plan.note(&k("reg.example"), &k("sso.example")).unwrap();
        assert!(
            !note.contains("--use-auth-credential"),
            "a discovery never suggests tying: {note}"
        );
        let auth = auth_for(&store, &db, "reg.example").unwrap().unwrap();
        assert_eq!(auth.auth_server.as_str(), "sso.example");
        assert!(
            auth.credential.is_none(),
            "the registry's own goes to the realm"
        );
        assert!(matches!(
            companion(&store, &db, "reg.example").unwrap(),
            Companion::LeftOut { auth_server, .. } if auth_server == "sso.example"
        ));
        assert!(!checked_through_pairs(&db, "sso.example"));
        assert!(
            matches!(&problems(&db)[..], [PairProblem::Untied { username, .. }] if username == "sso-user")
        );
        let report = logout(&store, &k("reg.example")).unwrap();
        assert!(report.credential && report.not_owned && !report.auth_credential);
        let db = store.load().unwrap();
        assert!(db.credentials.contains_key("sso.example"));
        assert!(db.pairs.is_empty());
    }

    #[test]
    fn an_auth_server_credential_stored_with_the_pair_goes_with_it() {
        let (_dir, store) = paired_store(Intent::NewAuthCredential("sso-user".into()));
        let db = store.load().unwrap();
        assert_eq!(
            db.pairs["reg.example"].auth_credential,
            AuthCredential::Owned
        );
        assert_eq!(
            db.pairs["reg.example"].auth_username.as_deref(),
            Some("sso-user")
        );
        let auth = auth_for(&store, &db, "reg.example").unwrap().unwrap();
        assert_eq!(auth.credential.unwrap().username, "sso-user");
        assert_eq!(
            companion(&store, &db, "reg.example").unwrap(),
            Companion::Entry {
                auth_server: "sso.example".into(),
                from: "sso.example".into()
            }
        );
        assert!(checked_through_pairs(&db, "sso.example"));
        assert!(problems(&db).is_empty());
        let report = logout(&store, &k("reg.example")).unwrap();
        assert!(report.auth_credential, "{report:?}");
        assert!(store.load().unwrap().credentials.is_empty());
    }

    #[test]
    fn a_tie_lapses_when_another_user_is_stored_under_the_auth_server() {
        let (_dir, store) = paired_store(Intent::NewAuthCredential("sso-user".into()));
        // `docker login sso.example` as someone else: not what was tied.
        store
            .put(&k("sso.example"), &cred("carol", "carol-pw"))
            .unwrap();
        let db = store.load().unwrap();
        assert!(auth_for(&store, &db, "reg.example")
            .unwrap()
            .unwrap()
            .credential
            .is_none());
        assert!(matches!(
            companion(&store, &db, "reg.example").unwrap(),
            Companion::LeftOut { .. }
        ));
        assert!(!checked_through_pairs(&db, "sso.example"));
        let report = logout(&store, &k("reg.example")).unwrap();
        assert!(!report.auth_credential && report.not_owned, "{report:?}");
        assert_eq!(
            store.get(&k("sso.example")).unwrap().unwrap().username,
            "carol"
        );
    }

    #[test]
    fn a_login_never_replaces_a_credential_no_pair_stored() {
        let (_dir, _, store) = crate::store::memory_store();
        store
            .put(&k("sso.example"), &cred("release-user", "release-pw"))
            .unwrap();
        let err = login_paired(&store, Intent::NewAuthCredential("eve".into())).unwrap_err();
        assert!(err.to_string().contains("not replacing it"), "{err}");
        assert_eq!(
            store.get(&k("sso.example")).unwrap().unwrap().username,
            "release-user"
        );
        assert!(store.load().unwrap().pairs.is_empty());
        // A discovered auth server never gets a stored credential replaced or reused.
        let db = store.load().unwrap();
        for intent in [Intent::NewAuthCredential("eve".into()), Intent::UseStored] {
            let err = plan(
                &db,
                &k("reg.example"),
                &k("sso.example"),
                &intent,
                Origin::Discovered,
            );
            assert!(err.is_err(), "{intent:?}");
        }
        // An auth-server credential a pair stored may be refreshed by naming it.
        let (_dir, store) = paired_store(Intent::NewAuthCredential("sso-user".into()));
        let db = store.load().unwrap();
        let refreshed = plan(
            &db,
            &k("reg2.example"),
            &k("sso.example"),
            &Intent::NewAuthCredential("sso-user".into()),
            Origin::Named,
        )
        .unwrap();
        assert_eq!(refreshed.auth_credential, AuthCredential::Owned);
    }

    #[test]
    fn repairing_removes_what_the_old_pair_owned_unless_another_pair_uses_it() {
        let (_dir, store) = paired_store(Intent::NewAuthCredential("sso-user".into()));
        // Another spelling of the auth server is another key: the old one goes.
        let (report, _) = link(
            &store,
            &k("reg.example"),
            &k("http://sso.example"),
            &Intent::RegistryCredential,
            Origin::Named,
        )
        .unwrap();
        assert_eq!(report.linked, Linked::Replaced("sso.example".into()));
        assert_eq!(report.removed.as_deref(), Some("sso.example"));
        assert!(!store
            .load()
            .unwrap()
            .credentials
            .contains_key("sso.example"));

        // Shared ownership: a second registry agreed to use it; re-pairing one keeps it.
        let (_dir, store) = paired_store(Intent::NewAuthCredential("sso-user".into()));
        store
            .put(&k("reg2.example"), &cred("alice", "reg-pw"))
            .unwrap();
        let (_, plan) = link(
            &store,
            &k("reg2.example"),
            &k("sso.example"),
            &Intent::UseStored,
            Origin::Named,
        )
        .unwrap();
        assert_eq!(plan.auth_credential, AuthCredential::Owned, "co-owner");
        let (report, _) = link(
            &store,
            &k("reg.example"),
            &k("other-sso.example"),
            &Intent::RegistryCredential,
            Origin::Named,
        )
        .unwrap();
        assert_eq!(report.removed, None);
        let report = logout(&store, &k("reg2.example")).unwrap();
        assert!(
            report.auth_credential,
            "the last owner removes it: {report:?}"
        );
    }

    #[test]
    fn reusing_a_stored_auth_credential_needs_one_and_never_removes_it() {
        let empty = db(&[], &[]);
        let err = plan(
            &empty,
            &k("reg.example"),
            &k("sso.example"),
            &Intent::UseStored,
            Origin::Named,
        )
        .unwrap_err();
        assert!(err.to_string().contains("holds no credential"), "{err}");
        let (_dir, store) = paired_store(Intent::UseStored);
        let db = store.load().unwrap();
        assert_eq!(
            db.pairs["reg.example"].auth_credential,
            AuthCredential::Shared
        );
        assert_eq!(
            auth_for(&store, &db, "reg.example")
                .unwrap()
                .unwrap()
                .credential
                .unwrap()
                .username,
            "sso-user"
        );
        assert!(
            checked_through_pairs(&db, "sso.example"),
            "a tied credential is checked through its registry"
        );
        let report = logout(&store, &k("reg.example")).unwrap();
        assert!(!report.auth_credential && report.not_owned, "{report:?}");
        assert!(store
            .load()
            .unwrap()
            .credentials
            .contains_key("sso.example"));
    }

    #[test]
    fn docker_hub_is_no_auth_server() {
        for hub in [
            "index.docker.io",
            "docker.io",
            "https://index.docker.io/v1/",
            "http://registry-1.docker.io",
            "http://index.docker.io/token",
        ] {
            let err = check_link(&db(&[], &[]), &k("reg.example"), &k(hub)).unwrap_err();
            assert!(err.to_string().contains("Docker Hub"), "{hub}: {err}");
        }
    }

    #[test]
    fn chains_and_self_pairs_are_refused() {
        let d = db(&[], &[("reg.example", "sso.example")]);
        assert!(check_link(&d, &k("a.example"), &k("a.example")).is_err());
        assert!(check_link(&d, &k("sso.example"), &k("x.example")).is_err());
        assert!(check_link(&d, &k("x.example"), &k("reg.example")).is_err());
        assert!(check_link(&d, &k("reg2.example"), &k("sso.example")).is_ok());
        assert!(check_link(&d, &k("reg.example"), &k("sso2.example")).is_ok());
    }
}
