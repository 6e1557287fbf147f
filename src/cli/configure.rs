//! `configure` / `unconfigure`: point docker (`credsStore` or `credHelpers`)
//! or podman/skopeo (`credHelpers` in the containers auth file) at this helper,
//! and undo exactly that.
//!
//! What `configure` changed is recorded, with each member's previous value, in
//! `$XDG_CONFIG_HOME/docker-credential-keyring/configured.json`, so
//! `unconfigure` restores the previous value (e.g. `"credsStore": "desktop"`)
//! and leaves alone anything the user changed since. Without a record it only
//! removes members whose value is `keyring`.
//!
//! podman and skopeo have no catch-all helper setting: `configure --podman`
//! without `--registry` lists the stored registries, and the record marks the
//! file so that a later `login` adds its registry too (as `credsStore` makes
//! every later `docker login` use the helper). A file `configure` created is
//! deleted again by `unconfigure` when nothing else was put in it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::CommandResult;
use crate::config::helper::{self, HelperConfig};
use crate::config::{ConfigFile, Flavor};
use crate::registry::ServerKey;
use crate::store::{Credentials, StoreChoice};

pub use crate::config::HELPER;

const RECORD_FILE: &str = "configured.json";

#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  docker-credential-keyring configure                      # \"credsStore\": \"keyring\" in docker's config.json
  docker-credential-keyring configure --registry quay.io   # only quay.io (credHelpers)
  docker-credential-keyring configure --podman             # podman/skopeo/buildah: credHelpers for the stored
                                                           # registries, and for each later `login`
  docker-credential-keyring configure --dry-run            # show the diff, change nothing

Exit codes: 0 configured (or nothing to change), 1 error (nothing was changed), 2 bad command line.")]
pub struct Args {
    /// Configure only this registry (credHelpers entry); repeat for several
    #[arg(short, long = "registry", value_name = "REGISTRY")]
    pub registries: Vec<String>,
    /// Set up podman, skopeo and buildah instead of docker: credHelpers in the containers
    /// auth file (docker's config.json is not touched; run without --podman for docker).
    /// Without --registry: the registries you have credentials for, and each later `login`
    #[arg(long)]
    pub podman: bool,
    /// Also choose where new secrets go (writes our own config.json)
    #[arg(long, value_name = "auto|file|secret-service|keychain|windows")]
    pub store: Option<String>,
    /// Print the change as a unified diff and change nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Configure even if docker-credential-keyring is not on PATH
    #[arg(long)]
    pub force: bool,
    /// Print nothing on success
    #[arg(short, long)]
    pub quiet: bool,
}

pub fn run(args: Args) -> CommandResult {
    if crate::config::helper_on_path().is_none() {
        let problem = format!(
            "{} is not on your PATH, so docker and podman could not run it",
            crate::BINARY_NAME
        );
        if !args.force && !args.dry_run {
            bail!(
                "{problem}: {}; or pass --force to configure anyway",
                crate::config::path_fix_advice()
            );
        }
        crate::errln!("warning: {problem}");
    }
    let flavor = if args.podman {
        Flavor::Containers
    } else {
        Flavor::Docker
    };
    let mut file = flavor.open()?;
    let hosts = target_hosts(flavor, &args.registries)?;
    let changes = plan(&mut file, &hosts);

    let mut own = match &args.store {
        Some(word) => Some(HelperConfig::with_store(StoreChoice::parse(word)?.name())?),
        None => None,
    };

    if args.dry_run {
        let mut diff = file.diff();
        if let Some(own) = &own {
            diff.push_str(&own.diff());
        }
        if diff.is_empty() {
            crate::outln!(
                "Nothing to change: {} already uses {HELPER}",
                file.path().display()
            );
        } else {
            print!("{}", crate::printable::printable_text(&diff));
        }
        return Ok(0);
    }

    let created = !file.exists() && !changes.is_empty();
    let follow = flavor == Flavor::Containers && args.registries.is_empty();
    let backup = file.save()?;
    if !changes.is_empty() || follow {
        let mut record = Record::load()?;
        record.add(file.path(), changes.clone());
        if created {
            record.created.insert(record_key(file.path()));
        }
        if follow {
            record.follow_logins.insert(record_key(file.path()));
        }
        record.save()?;
    }
    if let Some(own) = &mut own {
        own.save_without_backup()?;
    }
    if !args.quiet {
        report_configured(&file, &changes, backup.as_deref(), own.as_ref());
    }
    Ok(0)
}

/// The credHelpers keys for `registries` as this file's client spells them:
/// docker looks Docker Hub up as `https://index.docker.io/v1/`, containers/image
/// as `docker.io`; both use `host[:port]` for other registries.
fn target_hosts(flavor: Flavor, registries: &[String]) -> Result<Vec<String>> {
    let explicit = !registries.is_empty();
    let names: Vec<String> = if explicit || flavor == Flavor::Docker {
        registries.to_vec()
    } else {
        let stored = Credentials::open()?.list()?;
        let mut names: Vec<String> = stored.into_iter().map(|l| l.key).collect();
        names.retain(|k| {
            ServerKey::parse(k)
                .map(|k| k.path().is_empty())
                .unwrap_or(false)
        });
        if names.is_empty() {
            bail!(
                "podman and skopeo have no catch-all helper setting: name the registries with --registry REGISTRY (repeatable), or log in first with `{} login REGISTRY`",
                crate::BINARY_NAME
            );
        }
        names
    };
    let mut hosts = Vec::new();
    for name in &names {
        let key = ServerKey::parse(name)?;
        if !key.path().is_empty() {
            if explicit {
                bail!("credHelpers name a registry host, not a repository path: use {} instead of {name}", crate::config::helper_key(flavor, &key));
            }
            continue;
        }
        let host = crate::config::helper_key(flavor, &key);
        if !hosts.contains(&host) {
            hosts.push(host);
        }
    }
    Ok(hosts)
}

/// One member `configure` set, with what was there before.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Change {
    /// `["credsStore"]`, `["credHelpers"]` (the map was created) or `["credHelpers", host]`.
    key: Vec<String>,
    /// The value before `configure`, `None` when the member did not exist.
    previous: Option<Value>,
    /// The value `configure` wrote.
    set: Value,
}

/// Sets the members and returns what changed (nothing for members already set).
fn plan(file: &mut ConfigFile, hosts: &[String]) -> Vec<Change> {
    let mut changes = Vec::new();
    let helper = Value::String(HELPER.to_owned());
    if hosts.is_empty() {
        let previous = file.root.get("credsStore").cloned();
        if previous.as_ref() != Some(&helper) {
            file.root.insert("credsStore".to_owned(), helper.clone());
            changes.push(Change {
                key: vec!["credsStore".to_owned()],
                previous,
                set: helper,
            });
        }
        return changes;
    }
    if !file.root.get("credHelpers").is_some_and(Value::is_object) {
        let previous = file.root.get("credHelpers").cloned();
        file.root
            .insert("credHelpers".to_owned(), Value::Object(Map::new()));
        changes.push(Change {
            key: vec!["credHelpers".to_owned()],
            previous,
            set: Value::Object(Map::new()),
        });
    }
    let helpers = file
        .root
        .get_mut("credHelpers")
        .and_then(Value::as_object_mut)
        .expect("credHelpers is an object");
    for host in hosts {
        let previous = helpers.get(host).cloned();
        if previous.as_ref() != Some(&helper) {
            helpers.insert(host.clone(), helper.clone());
            changes.push(Change {
                key: vec!["credHelpers".to_owned(), host.clone()],
                previous,
                set: helper.clone(),
            });
        }
    }
    changes
}

fn report_configured(
    file: &ConfigFile,
    changes: &[Change],
    backup: Option<&Path>,
    own: Option<&ConfigFile>,
) {
    let path = file.path().display();
    if changes.is_empty() {
        crate::outln!("{path} already uses {HELPER}; nothing changed");
    }
    for change in changes.iter().filter(|c| c.set.is_string()) {
        let member = change.key.join(".");
        match &change.previous {
            Some(prev) => crate::outln!(
                "Set {member} = {HELPER:?} in {path} (was {prev}; `unconfigure` restores it)"
            ),
            None => crate::outln!("Set {member} = {HELPER:?} in {path}"),
        }
    }
    if let Some(bak) = backup {
        crate::outln!("Backed up the previous file to {}", bak.display());
    }
    if file.flavor == Flavor::Containers {
        println!(
            "podman, skopeo and buildah now use {HELPER} for these registries; docker's config is unchanged"
        );
    }
    if let Some(own) = own {
        crate::outln!(
            "Store for new secrets: {} (in {})",
            own.str_at(helper::STORE_KEY).unwrap_or("auto"),
            own.path().display()
        );
    }
    let runtime = std::env::var_os("XDG_RUNTIME_DIR").filter(|d| !d.is_empty());
    if file.flavor == Flavor::Containers && runtime.is_some_and(|dir| file.path().starts_with(dir))
    {
        crate::errln!(
            "note: {path} is under $XDG_RUNTIME_DIR, which is emptied when you log out or reboot; to keep this setting, set REGISTRY_AUTH_FILE to a lasting file and run configure --podman again"
        );
    }
    if file.flavor == Flavor::Docker {
        let others: Vec<&String> = file
            .cred_helpers()
            .map(|h| {
                h.iter()
                    .filter(|(_, v)| v.as_str() != Some(HELPER))
                    .map(|(k, _)| k)
                    .collect()
            })
            .unwrap_or_default();
        if file.str_at("credsStore") == Some(HELPER) && !others.is_empty() {
            crate::errln!(
                "note: credHelpers still send these registries to other helpers: {}",
                others
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        let plaintext = crate::config::plaintext_auths(&file.root)
            .map(|a| a.len())
            .unwrap_or(0);
        if plaintext > 0 {
            crate::errln!(
                "note: {path} still holds {plaintext} plaintext password(s); move them into the store with `{} migrate`",
                crate::BINARY_NAME
            );
        }
    }
}

#[derive(Debug, clap::Args)]
#[command(after_help = "\
Restores what `configure` replaced (e.g. a previous credsStore) and removes what it added,
leaving every member you changed since then alone.

Exit codes: 0 done (or nothing to undo), 1 error (nothing was changed), 2 bad command line.")]
pub struct UnconfigureArgs {
    /// Undo only this registry's credHelpers entry; repeat for several
    #[arg(short, long = "registry", value_name = "REGISTRY")]
    pub registries: Vec<String>,
    /// Undo the containers auth file (podman, skopeo) instead of docker's config.json
    #[arg(long)]
    pub podman: bool,
    /// Print the change as a unified diff and change nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Print nothing on success
    #[arg(short, long)]
    pub quiet: bool,
}

pub fn run_unconfigure(args: UnconfigureArgs) -> CommandResult {
    let flavor = if args.podman {
        Flavor::Containers
    } else {
        Flavor::Docker
    };
    let mut file = flavor.open()?;
    let only: Option<Vec<String>> = if args.registries.is_empty() {
        None
    } else {
        // Accept both spellings of Docker Hub whatever the file.
        let mut hosts = target_hosts(Flavor::Docker, &args.registries)?;
        hosts.extend(target_hosts(Flavor::Containers, &args.registries)?);
        Some(hosts)
    };
    let mut record = Record::load()?;
    let recorded = record.files.get(&record_key(file.path())).cloned();
    let wanted = |key: &[String]| match &only {
        None => true,
        Some(hosts) => {
            (key.len() == 2 && hosts.contains(&key[1]))
                || (key.len() == 1 && key[0] == "credHelpers")
        }
    };
    let changes: Vec<Change> = match &recorded {
        Some(changes) => changes.iter().filter(|c| wanted(&c.key)).cloned().collect(),
        None => guessed_changes(&file, &wanted),
    };

    let mut undone = Vec::new();
    let mut left = Vec::new();
    for change in changes.iter().rev() {
        let current = get_path(&file.root, &change.key);
        let ours = match (&change.set, current) {
            (Value::Object(_), Some(Value::Object(map))) => map.is_empty(),
            (set, Some(current)) => set == current,
            (_, None) => {
                undone.push(change.clone());
                continue;
            }
        };
        if !ours {
            if change.set.is_string() {
                left.push(change.key.join("."));
            }
            continue;
        }
        match &change.previous {
            Some(prev) => set_path(&mut file.root, &change.key, prev.clone()),
            None => remove_path(&mut file.root, &change.key),
        }
        undone.push(change.clone());
    }

    if args.dry_run {
        let diff = file.diff();
        if diff.is_empty() {
            crate::outln!("Nothing to undo in {}", file.path().display());
        } else {
            print!("{}", crate::printable::printable_text(&diff));
        }
        return Ok(0);
    }
    let file_key = record_key(file.path());
    // A file `configure` created and nothing else uses goes away again.
    let delete = record.created.contains(&file_key) && file.root.is_empty();
    let backup = if delete {
        std::fs::remove_file(file.path())
            .with_context(|| format!("cannot remove {}", file.path().display()))?;
        None
    } else {
        file.save()?
    };
    let unfollow = only.is_none() && record.follow_logins.remove(&file_key);
    if recorded.is_some() || unfollow || delete {
        record.remove(file.path(), &undone);
        if delete || !record.files.contains_key(&file_key) {
            record.created.remove(&file_key);
        }
        record.save()?;
    }
    if !args.quiet {
        let path = file.path().display();
        let restored: Vec<&Change> = undone.iter().filter(|c| c.set.is_string()).collect();
        if restored.is_empty() && left.is_empty() {
            crate::outln!("Nothing to undo in {path}");
        }
        for change in restored {
            match &change.previous {
                Some(prev) => crate::outln!("Restored {} = {prev} in {path}", change.key.join(".")),
                None => crate::outln!("Removed {} from {path}", change.key.join(".")),
            }
        }
        if let Some(bak) = backup {
            crate::outln!("Backed up the previous file to {}", bak.display());
        }
        if delete {
            println!("Removed {path}: `configure` created it and it holds nothing else");
        }
    }
    for member in left {
        crate::errln!("note: left {member} alone: it was changed after `configure`");
    }
    Ok(0)
}

/// Without a record: the members whose value is `keyring`.
fn guessed_changes(file: &ConfigFile, wanted: &dyn Fn(&[String]) -> bool) -> Vec<Change> {
    let helper = Value::String(HELPER.to_owned());
    let mut changes = Vec::new();
    if file.str_at("credsStore") == Some(HELPER) && wanted(&["credsStore".to_owned()]) {
        changes.push(Change {
            key: vec!["credsStore".to_owned()],
            previous: None,
            set: helper.clone(),
        });
    }
    if let Some(helpers) = file.cred_helpers() {
        let ours: Vec<Change> = helpers
            .iter()
            .filter(|(_, v)| v.as_str() == Some(HELPER))
            .map(|(k, _)| Change {
                key: vec!["credHelpers".to_owned(), k.clone()],
                previous: None,
                set: helper.clone(),
            })
            .filter(|c| wanted(&c.key))
            .collect();
        if !ours.is_empty() && ours.len() == helpers.len() {
            changes.push(Change {
                key: vec!["credHelpers".to_owned()],
                previous: None,
                set: Value::Object(Map::new()),
            });
        }
        changes.extend(ours);
    }
    changes
}

fn get_path<'a>(root: &'a Map<String, Value>, key: &[String]) -> Option<&'a Value> {
    match key {
        [a] => root.get(a),
        [a, b] => root.get(a)?.as_object()?.get(b),
        _ => None,
    }
}

fn set_path(root: &mut Map<String, Value>, key: &[String], value: Value) {
    match key {
        [a] => {
            root.insert(a.clone(), value);
        }
        [a, b] => {
            if let Some(map) = root.get_mut(a).and_then(Value::as_object_mut) {
                map.insert(b.clone(), value);
            }
        }
        _ => {}
    }
}

fn remove_path(root: &mut Map<String, Value>, key: &[String]) {
    match key {
        [a] => {
            root.shift_remove(a);
        }
        [a, b] => {
            if let Some(map) = root.get_mut(a).and_then(Value::as_object_mut) {
                map.shift_remove(b);
            }
        }
        _ => {}
    }
}

/// What `configure` set, per file (keyed by the file's path).
#[derive(Debug, Default, Serialize, Deserialize)]
struct Record {
    #[serde(default)]
    files: BTreeMap<String, Vec<Change>>,
    /// Files `configure` created (absent before): `unconfigure` deletes them
    /// when they end up empty.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    created: BTreeSet<String>,
    /// Containers auth files set up without `--registry`: `login` adds its
    /// registry's credHelpers entry there.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    follow_logins: BTreeSet<String>,
    #[serde(flatten)]
    extra: Map<String, Value>,
}

fn record_path() -> Result<PathBuf> {
    Ok(crate::paths::config_dir()?.join(RECORD_FILE))
}

fn record_key(path: &Path) -> String {
    std::path::absolute(path)
        .unwrap_or_else(|_| path.to_path_buf())
        .display()
        .to_string()
}

impl Record {
    fn load() -> Result<Record> {
        let path = record_path()?;
        match crate::fsutil::read_if_exists(&path)? {
            None => Ok(Record::default()),
            Some(bytes) => serde_json::from_slice(&bytes).with_context(|| {
                format!(
                    "{} is not valid; move it away (unconfigure then only removes members set to \"keyring\")",
                    path.display()
                )
            }),
        }
    }

    fn save(&self) -> Result<()> {
        let path = record_path()?;
        if let Some(dir) = path.parent() {
            crate::fsutil::ensure_private_dir(dir)?;
        }
        let mut bytes = serde_json::to_vec_pretty(self)?;
        bytes.push(b'\n');
        crate::fsutil::write_atomic(&path, &bytes, 0o600)
    }

    /// Adds `changes`; a member already recorded keeps its first previous value.
    fn add(&mut self, file: &Path, changes: Vec<Change>) {
        let list = self.files.entry(record_key(file)).or_default();
        for change in changes {
            if !list.iter().any(|c| c.key == change.key) {
                list.push(change);
            }
        }
    }

    fn remove(&mut self, file: &Path, undone: &[Change]) {
        let key = record_key(file);
        if let Some(list) = self.files.get_mut(&key) {
            list.retain(|c| !undone.iter().any(|u| u.key == c.key));
            if list.is_empty() {
                self.files.remove(&key);
            }
        }
    }
}

/// After `login` stored `key`: when `configure --podman` set the containers
/// auth file up for every stored registry, adds `key` to its `credHelpers`
/// (recorded, so `unconfigure --podman` removes it); when podman was set up
/// for other registries only, says how to add this one. A failure here is a
/// warning: the credential is stored.
pub fn follow_login(key: &ServerKey, quiet: bool) {
    if let Err(err) = add_login_to_containers(key, quiet) {
        eprintln!(
            "warning: {key} is stored, but podman and skopeo were not set up for it: {}",
            crate::protocol::error_line(&err)
        );
    }
}

fn add_login_to_containers(key: &ServerKey, quiet: bool) -> Result<()> {
    if !key.path().is_empty() {
        return Ok(());
    }
    let mut file = Flavor::Containers.open()?;
    if file.uses_helper(key, HELPER) {
        return Ok(());
    }
    let mut record = Record::load()?;
    let host = crate::config::helper_key(Flavor::Containers, key);
    if !record.follow_logins.contains(&record_key(file.path())) {
        let ours = file
            .cred_helpers()
            .is_some_and(|h| h.values().any(|v| v.as_str() == Some(HELPER)));
        if ours && !quiet {
            eprintln!(
                "note: {} does not send {host} to this helper, so podman and skopeo will not use it; run `{} configure --podman --registry {host}`",
                file.path().display(),
                crate::BINARY_NAME
            );
        }
        return Ok(());
    }
    let changes = plan(&mut file, std::slice::from_ref(&host));
    // `configure` already backed up the user's file before its first change.
    file.save_without_backup()?;
    record.add(file.path(), changes);
    record.save()?;
    if !quiet {
        println!(
            "Set credHelpers.{host} = {HELPER:?} in {} for podman, skopeo and buildah (`configure --podman` set this file up)",
            file.path().display()
        );
    }
    Ok(())
}
