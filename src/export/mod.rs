//! Pull secrets: stored credentials out to `.dockerconfigjson`, `.dockercfg`
//! and Kubernetes manifests, and other people's pull secrets back in.
//!
//! - [`dockerconfig`]: the payload bytes (kubectl's byte form) and entry reading;
//! - [`manifest`]: Secret, List, RoleBinding;
//! - [`link_script`]: the printed script that links Secrets to ServiceAccounts;
//! - [`shell`]: shell quoting for what we print;
//! - [`kubectl`]: which program the printed script calls (`kubectl` or `oc`);
//! - [`document`]: an existing pull secret, for `--merge` and `import`;
//! - [`merge`]: what `--merge` replaces, removes and reports per registry;
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
pub(crate) mod merge;
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

/// What happens to the auth servers paired with the selected registries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) enum AuthServers {
    /// They come along (as the trust rule allows, [`pairs::companion`]).
    #[default]
    Along,
    /// Left out (`--no-auth-servers`, `--split`).
    Out,
    /// Left out with a note naming each (`--merge`: a merge writes only the
    /// hosts `--registry` names into someone else's pull secret).
    OutSaid,
}

/// What to take from the store.
#[derive(Debug, Clone, Default)]
pub(crate) struct Selection {
    /// `--registry` patterns; empty means every credential.
    pub(crate) patterns: Vec<Pattern>,
    /// Whether the selected registries bring their paired auth servers along.
    pub(crate) auth_servers: AuthServers,
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
    let auth_servers = pairs::auth_servers(&db);
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
    if !selection.patterns.is_empty() {
        add_named_auth_servers(store, &db, &mut plan, &auth_servers, &selection.patterns)?;
    }
    match selection.auth_servers {
        AuthServers::Along => add_companions(store, &db, &mut plan, &mut out.warnings)?,
        AuthServers::OutSaid => say_companions_left_out(store, &db, &plan, &mut out.warnings)?,
        AuthServers::Out => {}
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

/// Adds the auth servers `--registry` names by their own names, answered by
/// the credential `get` returns for them ([`pairs::lookup`]: their own, else
/// their registries' when those agree). One that cannot answer is an error
/// when a pattern names it exactly, else skipped.
fn add_named_auth_servers(
    store: &Credentials,
    db: &Database,
    plan: &mut BTreeMap<String, String>,
    auth_servers: &std::collections::BTreeSet<&str>,
    patterns: &[Pattern],
) -> Result<()> {
    for auth in auth_servers {
        if plan.contains_key(*auth) || !select::selected(patterns, auth) {
            continue;
        }
        match pairs::lookup(store, db, auth)? {
            pairs::Lookup::Found { from, .. } => {
                plan.insert((*auth).to_owned(), from);
            }
            pairs::Lookup::Conflict { registries, reason } => {
                if patterns.iter().any(|p| p.names(auth)) {
                    bail!(
                        "{auth}: {}",
                        pairs::conflict_reason(auth, &registries, reason)
                    );
                }
            }
            pairs::Lookup::NotFound => {}
        }
    }
    Ok(())
}

/// Adds the auth server each planned registry brings along, as the trust
/// rule allows ([`pairs::companion`]); one left out gets a warning.
fn add_companions(
    store: &Credentials,
    db: &Database,
    plan: &mut BTreeMap<String, String>,
    warnings: &mut Vec<String>,
) -> Result<()> {
    let registries: Vec<String> = plan.keys().cloned().collect();
    for registry in registries {
        match pairs::companion(store, db, &registry)? {
            pairs::Companion::Nothing => {}
            pairs::Companion::Entry { auth_server, from } => {
                plan.entry(auth_server).or_insert(from);
            }
            pairs::Companion::LeftOut { auth_server, why } => {
                if !plan.contains_key(&auth_server) {
                    warnings.push(format!(
                        "{auth_server}: auth server of {registry} left out: {why}"
                    ));
                }
            }
        }
    }
    Ok(())
}

/// The auth servers the planned registries would bring along, each named
/// in a note: a merge writes only what `--registry` names.
fn say_companions_left_out(
    store: &Credentials,
    db: &Database,
    plan: &BTreeMap<String, String>,
    warnings: &mut Vec<String>,
) -> Result<()> {
    for registry in plan.keys() {
        if let pairs::Companion::Entry { auth_server, .. }
        | pairs::Companion::LeftOut { auth_server, .. } = pairs::companion(store, db, registry)?
        {
            if !plan.contains_key(&auth_server) {
                warnings.push(format!(
                    "{auth_server}: auth server of {registry} not merged: a merge writes only what --registry names (add --registry {auth_server} to merge it too)"
                ));
            }
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
