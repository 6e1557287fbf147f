//! `audit`: is what is deployed in a cluster still what we hold, and does it
//! still work? Reads pull secrets someone else holds (a Secret, a `v1` List
//! of them as `kubectl get secrets -A -o json` prints it, a bare payload)
//! through [`crate::export::document`], and gives each entry of each Secret
//! one finding, never carrying a secret:
//!
//! - **stale**: the store holds another credential for that registry (what
//!   `get` answers for its key, so a paired auth server's entry is compared
//!   with what `export` writes for it): rotated here, not deployed;
//! - **rejected**: the registry or its token realm refuses the deployed
//!   credential, asked by [`crate::check`]'s pool and verdicts;
//! - **expired** / **expiring** (within 7 days): the deployed secret is a
//!   JWT that says so ([`crate::jwt`]);
//! - **unreachable**: the registry could not be asked (or answered like no
//!   registry);
//! - **unknown**: we hold nothing for that registry (still asked, unless
//!   offline);
//! - **invalid**: the entry or its Secret's payload cannot be read.
//!
//! The deployed credential goes only where kubelet sends it: the registry of
//! its own entry and the token realm that registry names (no paired auth
//! server's stored credential is ever sent). An auth server's entry (a key
//! our pairs name as an auth server) is compared, not asked on its own: it
//! is checked through its paired registry's entry in the same Secret when
//! that holds the same credential, as `check` does, and is `unknown`
//! without one. Copies are asked
//! once: entries are grouped by (registry key, username, secret), so 10,000
//! copies of one credential make one network check.
//!
//! Exit codes ([`exit_code`]), the first that applies winning: 1 rejected,
//! expired or invalid; 6 stale; 3 unreachable; 7 unknown; 8 expiring; 0.

use std::collections::HashMap;

use anyhow::Result;
use serde::Serialize;

use crate::check::{self, Job, Status};
use crate::export::dockerconfig::{read_entry, Found, Unusable};
use crate::export::document::{Deployed, Document};
use crate::http::Client;
use crate::jwt::{self, Horizon};
use crate::pairs::{self, Lookup};
use crate::registry::ServerKey;
use crate::store::{Credential, Credentials, Database, IDENTITY_TOKEN_USER};

/// Exit code: a deployed credential differs from the stored one.
pub(crate) const EXIT_STALE: i32 = 6;
/// Exit code: we hold nothing for a deployed registry.
pub(crate) const EXIT_UNKNOWN: i32 = 7;
/// Exit code: a deployed secret (a JWT) expires within 7 days.
pub(crate) const EXIT_EXPIRING: i32 = 8;

/// What `audit` says about one entry, most urgent first (the order of
/// [`exit_code`]'s precedence).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Finding {
    Rejected,
    Expired,
    Invalid,
    Stale,
    Unreachable,
    Unknown,
    Expiring,
    Ok,
}

impl Finding {
    /// Every finding, most urgent first.
    pub(crate) const ALL: [Finding; 8] = [
        Finding::Rejected,
        Finding::Expired,
        Finding::Invalid,
        Finding::Stale,
        Finding::Unreachable,
        Finding::Unknown,
        Finding::Expiring,
        Finding::Ok,
    ];

    /// The word the report shows.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Finding::Rejected => "rejected",
            Finding::Expired => "expired",
            Finding::Invalid => "invalid",
            Finding::Stale => "stale",
            Finding::Unreachable => "unreachable",
            Finding::Unknown => "unknown",
            Finding::Expiring => "expiring",
            Finding::Ok => "ok",
        }
    }

    /// The exit code this finding asks for.
    pub(crate) fn exit_code(self) -> i32 {
        match self {
            Finding::Rejected | Finding::Expired | Finding::Invalid => check::EXIT_REJECTED,
            Finding::Stale => EXIT_STALE,
            Finding::Unreachable => check::EXIT_NOT_ASKED,
            Finding::Unknown => EXIT_UNKNOWN,
            Finding::Expiring => EXIT_EXPIRING,
            Finding::Ok => 0,
        }
    }

    /// What to do about it (`None` for ok).
    pub(crate) fn fix(self) -> Option<&'static str> {
        Some(match self {
            Finding::Rejected => "rejected: `login REGISTRY` with the working credential, then re-export it into the Secret (`export --merge`)",
            Finding::Expired | Finding::Expiring => "expired/expiring: `login REGISTRY` with a fresh token, then re-export it into the Secret (`export --merge`)",
            Finding::Invalid => "invalid: re-export the Secret (`export --merge`), or fix the entry by hand",
            Finding::Stale => "stale: deploy the stored credential: `kubectl get secret -n NS NAME -o json | docker-credential-keyring export --merge - --registry REGISTRY | kubectl replace -f -`",
            Finding::Unreachable => "unreachable: check the address and the network (--timeout, --insecure), or audit with --offline",
            Finding::Unknown => "unknown: `login REGISTRY` (or `import` the Secret) so this store holds it, or remove the entry; for an auth server's entry alone, merge its registry's entry beside it (`export --merge - --registry REGISTRY`)",
            Finding::Ok => return None,
        })
    }
}

/// At most this many Secrets get their own `fix:` command line.
const FIX_COMMANDS_SHOWN: usize = 10;

/// The commands that deploy the stored credential into each stale Secret
/// (one per Secret, naming its stale registries), for the `fix:` lines;
/// names shell-quoted. Entries of a bare payload (no Secret name) get the
/// generic [`Finding::fix`] only.
pub(crate) fn stale_fix_commands(rows: &[Row]) -> Vec<String> {
    let mut per_secret: Vec<((&str, &str), Vec<&str>)> = Vec::new();
    for row in rows.iter().filter(|r| r.finding == Finding::Stale) {
        let (Some(namespace), Some(name)) = (&row.namespace, &row.name) else {
            continue;
        };
        let secret = (namespace.as_str(), name.as_str());
        match per_secret.iter_mut().find(|(s, _)| *s == secret) {
            Some((_, registries)) => registries.push(&row.registry),
            None => per_secret.push((secret, vec![&row.registry])),
        }
    }
    let quote = crate::export::shell::quote;
    let mut commands: Vec<String> = per_secret
        .iter()
        .take(FIX_COMMANDS_SHOWN)
        .map(|((namespace, name), registries)| {
            let selected: String = registries
                .iter()
                .map(|r| format!(" --registry {}", quote(r)))
                .collect();
            format!(
                "kubectl get secret -n {} {} -o json | {} export --merge -{selected} | kubectl replace -f -",
                quote(namespace),
                quote(name),
                crate::BINARY_NAME
            )
        })
        .collect();
    if per_secret.len() > FIX_COMMANDS_SHOWN {
        commands.push(format!(
            "... and the same for {} more stale Secret(s) (`--json` lists them)",
            per_secret.len() - FIX_COMMANDS_SHOWN
        ));
    }
    commands
}

/// One line of the report: one entry of one Secret.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Row {
    /// The Secret's namespace and name (`null` for a bare payload).
    pub(crate) namespace: Option<String>,
    pub(crate) name: Option<String>,
    /// The entry's key as the Secret spells it (user information hidden).
    pub(crate) registry: String,
    /// `null` when the entry holds none that can be read.
    pub(crate) username: Option<String>,
    pub(crate) finding: Finding,
    pub(crate) detail: String,
}

/// The whole audit.
#[derive(Debug)]
pub(crate) struct Report {
    pub(crate) rows: Vec<Row>,
    /// Pull secrets read.
    pub(crate) secrets: usize,
    /// Items of a List that are no pull secrets (skipped).
    pub(crate) skipped: usize,
    /// Distinct credentials asked of their registries.
    pub(crate) asked: usize,
}

/// What we hold for a registry key: what `get` answers for it.
enum Held {
    Credential(Credential),
    Nothing(String),
}

/// One readable entry on its way through the audit.
struct Pending {
    row: Row,
    found: Found,
    key: ServerKey,
    /// Every finding so far with its detail (the row shows the most urgent).
    findings: Vec<(Finding, String)>,
    /// Index into the jobs, when asked of the registry.
    job: Option<usize>,
}

/// Audits `doc` against `store`; asks the registries with `client` unless
/// it is `None` (offline).
pub(crate) fn run(doc: &Document, store: &Credentials, client: Option<&Client>) -> Result<Report> {
    let (deployed, skipped) = doc.deployed();
    let db = store.load()?;
    let mut held: HashMap<String, Held> = HashMap::new();
    let mut rows = Vec::new();
    let mut pending = Vec::new();
    for secret in &deployed {
        for item in read_secret(secret) {
            match item {
                Err(row) => rows.push(Some(row)),
                Ok(mut entry) => {
                    entry.key = our_key(&mut held, store, &db, &entry.key)?;
                    let what = cached(&mut held, store, &db, &entry.key)?;
                    compare(&mut entry, what);
                    rows.push(None);
                    pending.push((rows.len() - 1, entry));
                }
            }
        }
    }
    let mut jobs = Vec::new();
    if client.is_some() {
        plan_jobs(&mut pending, &db, &mut jobs);
        check_auth_servers_through_registries(&mut pending, &db);
    }
    let checked = client.map_or_else(Vec::new, |c| check::check_all(c, &jobs));
    for (at, entry) in pending {
        rows[at] = Some(conclude(entry, &checked, client.is_none()));
    }
    Ok(Report {
        rows: rows.into_iter().flatten().collect(),
        secrets: deployed.len(),
        skipped,
        asked: jobs.len(),
    })
}

/// The entries of one Secret, each readable one pending, each other one an
/// `invalid` row (a payload that cannot be read is one row for its Secret).
fn read_secret(secret: &Deployed) -> Vec<std::result::Result<Pending, Row>> {
    let row = |registry: &str, username: Option<String>, finding, detail: String| Row {
        namespace: secret.namespace.clone(),
        name: secret.name.clone(),
        registry: crate::registry::shown(registry),
        username,
        finding,
        detail,
    };
    let entries = match &secret.entries {
        Ok(entries) => entries,
        Err(err) => return vec![Err(row("-", None, Finding::Invalid, format!("{err:#}")))],
    };
    let mut out = Vec::with_capacity(entries.len());
    for (key, value) in entries {
        let found = match read_entry(key, value) {
            Ok(Ok(found)) => found,
            Ok(Err(why)) => {
                let detail = match why {
                    Unusable::NoAuth => {
                        "no auth, username or password: kubelet cannot pull with it"
                    }
                    Unusable::IdentityTokenOnly => {
                        "only an identity token, which kubelet does not use"
                    }
                };
                out.push(Err(row(key, None, Finding::Invalid, detail.into())));
                continue;
            }
            Err(err) => {
                out.push(Err(row(key, None, Finding::Invalid, format!("{err:#}"))));
                continue;
            }
        };
        let username = Some(found.username.clone());
        match ServerKey::parse(key) {
            Ok(parsed) => out.push(Ok(Pending {
                row: row(key, username, Finding::Ok, String::new()),
                found,
                key: parsed,
                findings: Vec::new(),
                job: None,
            })),
            Err(err) => out.push(Err(row(
                key,
                username,
                Finding::Invalid,
                format!("not a registry address: {err}"),
            ))),
        }
    }
    out
}

/// The key a deployed entry is compared with: its own, or, for `http://HOST`
/// when we hold nothing under it, our `HOST` (kubelet ignores the scheme).
fn our_key(
    cache: &mut HashMap<String, Held>,
    store: &Credentials,
    db: &Database,
    key: &ServerKey,
) -> Result<ServerKey> {
    let plain = key.as_str().strip_prefix("http://");
    let Some(plain) = plain.and_then(|k| ServerKey::parse(k).ok()) else {
        return Ok(key.clone());
    };
    if let Held::Credential(_) = cached(cache, store, db, key)? {
        return Ok(key.clone());
    }
    Ok(match cached(cache, store, db, &plain)? {
        Held::Credential(_) => plain,
        Held::Nothing(_) => key.clone(),
    })
}

/// [`held_for`], asked once per key.
fn cached<'h>(
    cache: &'h mut HashMap<String, Held>,
    store: &Credentials,
    db: &Database,
    key: &ServerKey,
) -> Result<&'h Held> {
    if !cache.contains_key(key.as_str()) {
        cache.insert(key.as_str().to_owned(), held_for(store, db, key)?);
    }
    Ok(&cache[key.as_str()])
}

/// What `get` answers for `key`: its own credential, else its paired
/// registries' when it is an auth server they agree on.
fn held_for(store: &Credentials, db: &Database, key: &ServerKey) -> Result<Held> {
    Ok(match pairs::lookup(store, db, key.as_str())? {
        Lookup::Found { credential, .. } => Held::Credential(credential),
        Lookup::Conflict { registries, reason } => Held::Nothing(format!(
            "nothing answers for it here: {}",
            pairs::conflict_reason(key.as_str(), &registries, reason)
        )),
        Lookup::NotFound => Held::Nothing("nothing is stored for this registry here".into()),
    })
}

/// Stale or unknown, and the deployed secret's expiry.
fn compare(entry: &mut Pending, held: &Held) {
    let found = &entry.found;
    match held {
        Held::Nothing(why) => entry.findings.push((Finding::Unknown, why.clone())),
        Held::Credential(ours) if ours.username == IDENTITY_TOKEN_USER => entry.findings.push((
            Finding::Unknown,
            "the store holds an identity token for it, which a pull secret cannot carry".into(),
        )),
        Held::Credential(ours) if ours.username != found.username => entry.findings.push((
            Finding::Stale,
            format!(
                "the store holds username {} for it",
                crate::printable::printable(&ours.username)
            ),
        )),
        Held::Credential(ours) if !ours.secret.same_as(&found.password) => entry.findings.push((
            Finding::Stale,
            "the store holds a different password".into(),
        )),
        Held::Credential(_) => {}
    }
    let expiry = jwt::expiry(found.password.expose());
    match expiry.soon() {
        Horizon::Expired => entry
            .findings
            .push((Finding::Expired, format!("expired {}", expiry.display()))),
        Horizon::Within7Days => entry.findings.push((
            Finding::Expiring,
            format!("expires {} (within 7 days)", expiry.display()),
        )),
        Horizon::Unknown | Horizon::Later => {}
    }
}

/// One job per distinct (registry key, username, secret); auth servers'
/// entries (see [`check_auth_servers_through_registries`]) and expired
/// secrets are not asked. Copies are found through a
/// randomly keyed hash of the secret (in memory only, never shown), then
/// compared in full: linear in the entries, however many distinct secrets
/// one username has (an ECR or GCR token per namespace).
fn plan_jobs(pending: &mut [(usize, Pending)], db: &Database, jobs: &mut Vec<Job>) {
    use std::hash::BuildHasher;
    let auth_servers = pairs::auth_servers(db);
    let hasher = std::collections::hash_map::RandomState::new();
    let mut groups: HashMap<(String, String, u64), Vec<usize>> = HashMap::new();
    for (_, entry) in pending.iter_mut() {
        if auth_servers.contains(entry.key.as_str()) {
            continue;
        }
        if entry.findings.iter().any(|(f, _)| *f == Finding::Expired) {
            continue;
        }
        let bucket = (
            entry.key.as_str().to_owned(),
            entry.found.username.clone(),
            hasher.hash_one(entry.found.password.expose()),
        );
        let group = groups.entry(bucket).or_default();
        let same = group
            .iter()
            .copied()
            .find(|&j| jobs[j].secret().same_as(&entry.found.password));
        entry.job = Some(same.unwrap_or_else(|| {
            jobs.push(Job::unpaired(
                entry.key.clone(),
                entry.found.username.clone(),
                entry.found.password.clone(),
            ));
            group.push(jobs.len() - 1);
            jobs.len() - 1
        }));
    }
}

/// An auth server's entry is never sent on its own (its host serves no
/// images): it counts as checked when the same Secret has an entry of one of
/// its paired registries holding the same credential, whose check (the
/// registry, then the realm it names) is then its verdict too. Without one,
/// nothing vouches for it: `unknown`, never an unchecked `ok`.
fn check_auth_servers_through_registries(pending: &mut [(usize, Pending)], db: &Database) {
    let auth_servers = pairs::auth_servers(db);
    if auth_servers.is_empty() {
        return;
    }
    // Each Secret's entries, so an entry is compared with its own Secret's
    // only: linear in a List of thousands of Secrets.
    let mut by_secret: HashMap<(&Option<String>, &Option<String>), Vec<usize>> = HashMap::new();
    for (at, (_, entry)) in pending.iter().enumerate() {
        by_secret
            .entry((&entry.row.namespace, &entry.row.name))
            .or_default()
            .push(at);
    }
    let mut verdicts = Vec::new();
    for (at, (_, entry)) in pending.iter().enumerate() {
        if !auth_servers.contains(entry.key.as_str()) {
            continue;
        }
        let registries = pairs::registries_for(db, entry.key.as_str());
        let same_secret = &by_secret[&(&entry.row.namespace, &entry.row.name)];
        let through = same_secret.iter().find_map(|&i| {
            let other = &pending[i].1;
            let same_credential = other.found.username == entry.found.username
                && other.found.password.same_as(&entry.found.password);
            let paired = registries.contains(&other.key.as_str());
            (same_credential && paired)
                .then_some(other.job.map(|job| (job, other.row.registry.clone())))
                .flatten()
        });
        let verdict = match through {
            Some((job, registry)) => (
                Some(job),
                Finding::Ok,
                format!("an auth server's entry: checked through {registry}'s entry, which holds the same credential"),
            ),
            None => (
                None,
                Finding::Unknown,
                format!(
                    "not asked: an auth server's entry is checked through a paired registry's entry with the same credential in the same Secret, and this Secret has none ({})",
                    registries.join(", ")
                ),
            ),
        };
        verdicts.push((at, verdict));
    }
    for (at, (job, finding, detail)) in verdicts {
        let entry = &mut pending[at].1;
        entry.job = job;
        entry.findings.push((finding, detail));
    }
}

/// The entry's row: the most urgent of its findings, with every detail.
fn conclude(mut entry: Pending, checked: &[check::Row], offline: bool) -> Row {
    if let Some(row) = entry.job.and_then(|j| checked.get(j)) {
        match &row.status {
            Status::Ok => {}
            Status::Rejected { .. } | Status::Expired => {
                entry.findings.push((Finding::Rejected, row.verdict()))
            }
            Status::Unreachable { detail } => {
                entry.findings.push((Finding::Unreachable, detail.clone()))
            }
            Status::NotCheckable {
                on_purpose: true,
                detail,
            } => entry.findings.push((Finding::Ok, detail.clone())),
            Status::NotCheckable { detail, .. } => entry
                .findings
                .push((Finding::Unreachable, format!("could not check: {detail}"))),
        }
        entry
            .findings
            .extend(row.notes.iter().map(|n| (Finding::Ok, n.clone())));
    } else if offline {
        entry
            .findings
            .push((Finding::Ok, "not asked (--offline)".into()));
    }
    entry.findings.sort_by_key(|(f, _)| *f);
    let mut row = entry.row;
    row.finding = entry.findings.first().map_or(Finding::Ok, |(f, _)| *f);
    let details: Vec<&str> = entry.findings.iter().map(|(_, d)| d.as_str()).collect();
    row.detail = details.join("; ");
    row
}

/// The run's exit code: that of its most urgent finding (1 rejected,
/// expired or invalid; then 6 stale; 3 unreachable; 7 unknown; 8 expiring);
/// 0 when every entry is ok.
pub(crate) fn exit_code(rows: &[Row]) -> i32 {
    rows.iter()
        .map(|r| r.finding)
        .min()
        .map_or(0, Finding::exit_code)
}

/// How many rows have each finding, most urgent first, those with none left out.
pub(crate) fn counts(rows: &[Row]) -> Vec<(Finding, usize)> {
    Finding::ALL
        .iter()
        .map(|&f| (f, rows.iter().filter(|r| r.finding == f).count()))
        .filter(|(_, n)| *n > 0)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(finding: Finding) -> Row {
        Row {
            namespace: None,
            name: None,
            registry: "reg.example.com".into(),
            username: Some("u".into()),
            finding,
            detail: String::new(),
        }
    }

    #[test]
    fn the_most_urgent_finding_sets_the_exit_code() {
        let code = |fs: &[Finding]| exit_code(&fs.iter().map(|&f| row(f)).collect::<Vec<_>>());
        assert_eq!(code(&[]), 0);
        assert_eq!(code(&[Finding::Ok, Finding::Ok]), 0);
        assert_eq!(code(&[Finding::Ok, Finding::Expiring]), EXIT_EXPIRING);
        assert_eq!(code(&[Finding::Expiring, Finding::Unknown]), EXIT_UNKNOWN);
        assert_eq!(code(&[Finding::Unknown, Finding::Unreachable]), 3);
        assert_eq!(code(&[Finding::Unreachable, Finding::Stale]), EXIT_STALE);
        assert_eq!(code(&[Finding::Stale, Finding::Rejected]), 1);
        assert_eq!(code(&[Finding::Stale, Finding::Invalid]), 1);
        assert_eq!(code(&[Finding::Expired, Finding::Ok]), 1);
    }

    #[test]
    fn every_finding_but_ok_names_a_fix() {
        for f in Finding::ALL {
            assert_eq!(f.fix().is_none(), f == Finding::Ok, "{f:?}");
            assert!(f.fix().is_none_or(|fix| fix.contains(f.name())));
        }
    }
}
