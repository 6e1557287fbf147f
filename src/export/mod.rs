//! Pull secrets: stored credentials out to `.dockerconfigjson`, `.dockercfg`
//! and Kubernetes manifests, and other people's pull secrets back in.
//!
//! - [`dockerconfig`]: the payload bytes (kubectl's byte form) and entry reading;
//! - [`manifest`]: Secret, List, RoleBinding;
//! - [`link_script`]: the printed script that links Secrets to ServiceAccounts;
//! - [`shell`]: shell quoting for what we print;
//! - [`kubectl`]: which program the printed script calls (`kubectl` or `oc`);
//! - [`document`]: an existing pull secret, for `--merge` and `import`;
//! - [`grant`]: `grant-pull`'s subjects and their RoleBinding names;
//! - [`import`]: a pull secret's entries planned and written into the store;
//! - [`render`]: one export's output from its request;
//! - [`kube_name`]: Kubernetes namespace and object name rules;
//! - [`select`]: `--registry` patterns;
//! - [`yaml`]: YAML out (hand-written) and in.
//!
//! This file picks which credentials an export holds: the selection, the
//! paired auth servers, and the safety rules (identity tokens skipped unless
//! asked for, since kubelet ignores them; a username with ':' skipped with a
//! warning, or refused when that registry was asked for by name, since the
//! `auth` field could not carry it).

pub mod dockerconfig;
pub mod document;
pub(crate) mod grant;
pub(crate) mod import;
pub(crate) mod kube_name;
pub(crate) mod kubectl;
pub mod link;
pub(crate) mod link_script;
pub(crate) mod manifest;
pub(crate) mod render;
pub(crate) mod select;
pub(crate) mod shell;
pub mod yaml;

use std::collections::BTreeMap;

use anyhow::{anyhow, bail, Result};

use crate::pairs;
use crate::registry::ServerKey;
use crate::store::{Credentials, Database, IDENTITY_TOKEN_USER};
pub use dockerconfig::{Entry, PayloadKind};
use select::Pattern;

/// What to take from the store.
#[derive(Debug, Clone, Default)]
pub(crate) struct Selection {
    /// `--registry` patterns; empty means every credential.
    pub(crate) patterns: Vec<Pattern>,
    /// Leave paired auth servers out (`--no-auth-servers`).
    pub(crate) no_auth_servers: bool,
    /// Export identity tokens as `identitytoken` entries instead of skipping them.
    pub(crate) include_tokens: bool,
    /// Email for every exported entry, overriding the stored ones.
    pub(crate) email: Option<String>,
}

/// The entries of an export, by config key, and the warnings to print.
#[derive(Debug, Default)]
pub(crate) struct Collected {
    pub(crate) entries: BTreeMap<String, Entry>,
    pub(crate) warnings: Vec<String>,
}

/// Reads the selected credentials (and their paired auth servers) from `store`.
/// Fails, naming the registry, on anything that would make a broken secret.
pub(crate) fn collect(store: &Credentials, selection: &Selection) -> Result<Collected> {
    let db = store.load()?;
    if db.credentials.is_empty() {
        bail!("no credentials are stored: add one with `docker-credential-keyring login REGISTRY` or `docker login`");
    }
    // Auth servers answer through their pairs (as `get` does), so they can be
    // selected by their own names too.
    let auth_servers: std::collections::BTreeSet<&String> =
        db.pairs.values().map(|p| &p.auth_server).collect();
    for pattern in &selection.patterns {
        let stored = db.credentials.keys().any(|k| pattern.matches(k));
        if !stored && !auth_servers.iter().any(|a| pattern.matches(a)) {
            bail!(
                "--registry {:?} matches no stored credential (see `docker-credential-keyring ls`)",
                pattern.raw
            );
        }
    }
    // (key written in the secret, key whose credential it carries)
    let mut plan: BTreeMap<String, String> = db
        .credentials
        .keys()
        .filter(|k| select::selected(&selection.patterns, k))
        .map(|k| (k.clone(), k.clone()))
        .collect();
    let mut out = Collected::default();
    let named_auth_servers: Vec<(String, Option<String>)> = auth_servers
        .iter()
        .filter(|a| !selection.patterns.is_empty() && select::selected(&selection.patterns, a))
        .map(|a| ((*a).clone(), None))
        .collect();
    add_auth_servers(
        store,
        &db,
        &mut plan,
        named_auth_servers,
        &selection.patterns,
        &mut out.warnings,
    )?;
    if !selection.no_auth_servers {
        let paired: Vec<(String, Option<String>)> = plan
            .keys()
            .filter_map(|r| {
                db.pairs
                    .get(r)
                    .map(|p| (p.auth_server.clone(), Some(r.clone())))
            })
            .collect();
        add_auth_servers(
            store,
            &db,
            &mut plan,
            paired,
            &selection.patterns,
            &mut out.warnings,
        )?;
    }
    for (key, source) in &plan {
        let server = ServerKey::parse(key).map_err(|e| anyhow!("stored key {key:?}: {e}"))?;
        // From the index read above: one file parse for the whole export.
        let credential = store.get_in(&db, source)?.ok_or_else(|| {
            anyhow!("the index lists {source} but its secret is missing from the store: run `docker-credential-keyring login {source}` again")
        })?;
        let config_key = server.config_key().to_owned();
        if credential.username == IDENTITY_TOKEN_USER {
            if selection.include_tokens {
                out.warnings.push(format!(
                    "{config_key}: exported as an identity token, which kubelet ignores (docker and podman can use it)"
                ));
                out.entries
                    .insert(config_key, Entry::IdentityToken(credential.secret));
            } else {
                out.warnings.push(format!(
                    "{config_key}: skipped: it holds an identity token, which kubelet cannot use (pass --include-tokens to export it anyway)"
                ));
            }
            continue;
        }
        if let Some(why) = dockerconfig::unrepresentable_username(&credential.username) {
            // Asked for by name: an error. Brought in by "all", a glob or a
            // pair: skipped, so one such entry never blocks the others.
            if selection.patterns.iter().any(|p| p.names(key)) {
                bail!("{config_key}: {why}; log in to it with a username without ':'");
            }
            out.warnings.push(format!(
                "{config_key}: skipped: {why} (log in to it with a username without ':')"
            ));
            continue;
        }
        let email = selection
            .email
            .clone()
            .or_else(|| db.credentials.get(source).and_then(|r| r.email.clone()));
        out.entries.insert(
            config_key,
            Entry::Password {
                username: credential.username,
                password: credential.secret,
                email,
            },
        );
    }
    if out.entries.is_empty() {
        // The warnings are not printed on failure: the one error line says why.
        bail!(
            "nothing to export: every selected credential was skipped ({})",
            out.warnings.join("; ")
        );
    }
    Ok(out)
}

/// Adds each auth server of `wanted` (with the registry that brought it in,
/// or `None` when it was selected by its own name: then one that cannot
/// answer is an error if a pattern names it), answered by the same
/// credential `get` returns for it ([`pairs::lookup`]: its own, else its
/// registries' when they agree on username and secret).
fn add_auth_servers(
    store: &Credentials,
    db: &Database,
    plan: &mut BTreeMap<String, String>,
    wanted: Vec<(String, Option<String>)>,
    patterns: &[Pattern],
    warnings: &mut Vec<String>,
) -> Result<()> {
    for (auth, registry) in wanted {
        if plan.contains_key(&auth) {
            continue;
        }
        match pairs::lookup(store, db, &auth)? {
            pairs::Lookup::Found { from, .. } => {
                plan.insert(auth, from);
            }
            pairs::Lookup::Conflict { registries, reason } => {
                let why = format!(
                    "its registries {} use different {}s; log in to {auth} itself",
                    registries.join(", "),
                    match reason {
                        pairs::Disagreement::Username => "username",
                        pairs::Disagreement::Secret => "password",
                    }
                );
                match registry {
                    Some(registry) => {
                        warnings.push(format!("{auth}: auth server of {registry} left out: {why}"))
                    }
                    None if patterns.iter().any(|p| p.names(&auth)) => bail!("{auth}: {why}"),
                    None => warnings.push(format!("{auth}: skipped: {why}")),
                }
            }
            pairs::Lookup::NotFound => {}
        }
    }
    Ok(())
}

/// The payload value for `entries` as `Map` of entry objects (for merging).
pub(crate) fn entry_map(
    entries: &BTreeMap<String, Entry>,
) -> serde_json::Map<String, serde_json::Value> {
    entries
        .iter()
        .map(|(k, e)| (k.clone(), e.to_value()))
        .collect()
}
