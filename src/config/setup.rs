//! What `configure` sets in docker's config.json or the containers auth file
//! (`credsStore`, `credHelpers`), and how `unconfigure` undoes exactly that.
//!
//! What `configure` changed is recorded, with each member's previous value, in
//! `$XDG_CONFIG_HOME/docker-credential-keyring/configured.json` ([`Record`]),
//! so `unconfigure` restores the previous value (e.g. `"credsStore": "desktop"`)
//! and leaves alone anything the user changed since. Without a record it only
//! removes members whose value is `keyring`.
//!
//! podman and skopeo have no catch-all helper setting: the record marks a
//! containers auth file set up for every stored registry, so that a later
//! `login` adds its registry too ([`follow_login`]). A file `configure`
//! created is deleted again by `unconfigure` when nothing else was put in it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{helper_key, ConfigFile, Flavor, HELPER};
use crate::registry::ServerKey;

const RECORD_FILE: &str = "configured.json";

/// The credHelpers keys for the registries `names` as `flavor`'s client spells
/// them: docker looks Docker Hub up as `https://index.docker.io/v1/`,
/// containers/image as `docker.io`; both use `host[:port]` for other
/// registries. A repository path is refused when the names were given
/// (`explicit`), skipped when they are the stored keys.
pub(crate) fn helper_hosts(
    flavor: Flavor,
    names: &[String],
    explicit: bool,
) -> Result<Vec<String>> {
    let mut hosts = Vec::new();
    for name in names {
        let key = ServerKey::parse(name)?;
        if !key.path().is_empty() {
            if explicit {
                bail!("credHelpers name a registry host, not a repository path: use {} instead of {name}", helper_key(flavor, &key));
            }
            continue;
        }
        let host = helper_key(flavor, &key);
        if !hosts.contains(&host) {
            hosts.push(host);
        }
    }
    Ok(hosts)
}

/// One member `configure` set, with what was there before.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Change {
    /// `["credsStore"]`, `["credHelpers"]` (the map was created) or `["credHelpers", host]`.
    pub(crate) key: Vec<String>,
    /// The value before `configure`, `None` when the member did not exist.
    pub(crate) previous: Option<Value>,
    /// The value `configure` wrote.
    pub(crate) set: Value,
}

impl Change {
    /// A member holding the helper's name (not the `credHelpers` map itself).
    pub(crate) fn is_member(&self) -> bool {
        self.set.is_string()
    }

    /// `credsStore` or `credHelpers.host`.
    pub(crate) fn member(&self) -> String {
        self.key.join(".")
    }
}

/// Points `file` at this helper: `credsStore` when `hosts` is empty, else a
/// `credHelpers` entry per host. Returns what changed (nothing for members
/// already set).
pub(crate) fn set_helper(file: &mut ConfigFile, hosts: &[String]) -> Vec<Change> {
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

/// What [`unset_helper`] did to a file.
#[derive(Debug, Default)]
pub(crate) struct Undone {
    /// The changes undone (restored, removed, or already gone).
    pub(crate) undone: Vec<Change>,
    /// Members left alone because they were changed after `configure`.
    pub(crate) left: Vec<String>,
    /// Whether `record` had an entry for the file.
    pub(crate) recorded: bool,
}

/// Undoes in `file` what `record` says `configure` set (without a record:
/// the members whose value is `keyring`), for the credHelpers hosts `only`
/// or everything.
pub(crate) fn unset_helper(
    file: &mut ConfigFile,
    record: &Record,
    only: Option<&[String]>,
) -> Undone {
    let recorded = record.files.get(&record_key(file.path()));
    let wanted = |key: &[String]| match only {
        None => true,
        Some(hosts) => {
            (key.len() == 2 && hosts.contains(&key[1]))
                || (key.len() == 1 && key[0] == "credHelpers")
        }
    };
    let changes: Vec<Change> = match recorded {
        Some(changes) => changes.iter().filter(|c| wanted(&c.key)).cloned().collect(),
        None => guessed_changes(file, &wanted),
    };
    let mut out = Undone {
        recorded: recorded.is_some(),
        ..Undone::default()
    };
    for change in changes.iter().rev() {
        let current = get_path(&file.root, &change.key);
        let ours = match (&change.set, current) {
            (Value::Object(_), Some(Value::Object(map))) => map.is_empty(),
            (set, Some(current)) => set == current,
            (_, None) => {
                out.undone.push(change.clone());
                continue;
            }
        };
        if !ours {
            if change.is_member() {
                out.left.push(change.member());
            }
            continue;
        }
        match &change.previous {
            Some(prev) => set_path(&mut file.root, &change.key, prev.clone()),
            None => remove_path(&mut file.root, &change.key),
        }
        out.undone.push(change.clone());
    }
    out
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
pub(crate) struct Record {
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
    pub(crate) fn load() -> Result<Record> {
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

    pub(crate) fn save(&self) -> Result<()> {
        let path = record_path()?;
        if let Some(dir) = path.parent() {
            crate::fsutil::ensure_private_dir(dir)?;
        }
        let mut bytes = serde_json::to_vec_pretty(self)?;
        bytes.push(b'\n');
        crate::fsutil::write_atomic(&path, &bytes, 0o600)
    }

    /// Records what `configure` did to `file`: its `changes` (a member
    /// already recorded keeps its first previous value), whether it `created`
    /// the file, and whether later logins are to be added (`follow_logins`).
    pub(crate) fn configured(
        &mut self,
        file: &Path,
        changes: Vec<Change>,
        created: bool,
        follow_logins: bool,
    ) {
        let key = record_key(file);
        let list = self.files.entry(key.clone()).or_default();
        for change in changes {
            if !list.iter().any(|c| c.key == change.key) {
                list.push(change);
            }
        }
        if created {
            self.created.insert(key.clone());
        }
        if follow_logins {
            self.follow_logins.insert(key);
        }
    }

    /// The helpers recorded as replaced for a `credHelpers` host in the
    /// files other than `file`: (host as that file spells it, helper name).
    pub(crate) fn replaced_elsewhere(&self, file: &Path) -> Vec<(&str, &str)> {
        let own = record_key(file);
        self.files
            .iter()
            .filter(|(path, _)| **path != own)
            .flat_map(|(_, changes)| changes)
            .filter_map(|c| match (c.key.as_slice(), c.previous.as_ref()) {
                ([map, host], Some(Value::String(name))) if map == "credHelpers" => {
                    Some((host.as_str(), name.as_str()))
                }
                _ => None,
            })
            .collect()
    }

    /// Whether `configure` created `file` (so `unconfigure` may delete it).
    pub(crate) fn created(&self, file: &Path) -> bool {
        self.created.contains(&record_key(file))
    }

    /// Stops adding later logins to `file`; returns whether it was followed.
    pub(crate) fn unfollow(&mut self, file: &Path) -> bool {
        self.follow_logins.remove(&record_key(file))
    }

    /// Forgets the `undone` changes of `file` (and that `configure` created
    /// it, once nothing of it is recorded or it was `deleted`).
    pub(crate) fn unconfigured(&mut self, file: &Path, undone: &[Change], deleted: bool) {
        let key = record_key(file);
        if let Some(list) = self.files.get_mut(&key) {
            list.retain(|c| !undone.iter().any(|u| u.key == c.key));
            if list.is_empty() {
                self.files.remove(&key);
            }
        }
        if deleted || !self.files.contains_key(&key) {
            self.created.remove(&key);
        }
    }
}

/// What [`follow_login`] did.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Followed {
    /// Nothing to do: a repository path, or the file already uses the helper,
    /// or the file is not set up for this helper at all.
    Nothing,
    /// The file sends other registries to this helper but was set up for
    /// named registries only: `host` must be added by hand.
    AddByHand { file: PathBuf, host: String },
    /// `host`'s credHelpers entry was added to `file` (and recorded).
    Added { file: PathBuf, host: String },
}

/// After `login` stored `key`: when `configure --podman` set the containers
/// auth file up for every stored registry, adds `key` to its `credHelpers`
/// (recorded, so `unconfigure --podman` removes it).
pub(crate) fn follow_login(key: &ServerKey) -> Result<Followed> {
    if !key.path().is_empty() {
        return Ok(Followed::Nothing);
    }
    let mut file = Flavor::Containers.open()?;
    if file.uses_helper(key, HELPER) {
        return Ok(Followed::Nothing);
    }
    let mut record = Record::load()?;
    let host = helper_key(Flavor::Containers, key);
    if !record.follow_logins.contains(&record_key(file.path())) {
        let ours = file
            .cred_helpers()
            .is_some_and(|h| h.values().any(|v| v.as_str() == Some(HELPER)));
        return Ok(if ours {
            Followed::AddByHand {
                file: file.path().to_path_buf(),
                host,
            }
        } else {
            Followed::Nothing
        });
    }
    let changes = set_helper(&mut file, std::slice::from_ref(&host));
    // `configure` already backed up the user's file before its first change.
    file.save_without_backup()?;
    record.configured(file.path(), changes, false, false);
    record.save()?;
    Ok(Followed::Added {
        file: file.path().to_path_buf(),
        host,
    })
}

/// What `configure` will change: the client's file with the helper set for
/// the hosts, and the helper's own config file when a store is chosen. Built
/// first (for `--dry-run`'s diff), then applied in one fixed order.
pub(crate) struct Configure {
    /// The client's config file, edited in memory.
    pub(crate) file: ConfigFile,
    /// What [`set_helper`] changed in it.
    pub(crate) changes: Vec<Change>,
    /// The helper's own config file with the store set (`configure --store`).
    pub(crate) own: Option<ConfigFile>,
    /// Later logins add their registry too (podman without `--registry`).
    follow: bool,
}

impl Configure {
    /// Opens `flavor`'s file and sets the helper for `hosts` in memory;
    /// nothing is written.
    pub(crate) fn plan(
        flavor: Flavor,
        hosts: &[String],
        store: Option<&str>,
        follow: bool,
    ) -> Result<Configure> {
        let mut file = flavor.open()?;
        let changes = set_helper(&mut file, hosts);
        let own = store.map(helper_store).transpose()?;
        Ok(Configure {
            file,
            changes,
            own,
            follow,
        })
    }

    /// The unified diff of every file the plan changes.
    pub(crate) fn diff(&self) -> String {
        let mut diff = self.file.diff();
        if let Some(own) = &self.own {
            diff.push_str(&own.diff());
        }
        diff
    }

    /// Writes the client's file (with a backup), then the record
    /// `unconfigure` reads, then the helper's own file: the record never
    /// names a change that was not saved. Returns the backup's path.
    pub(crate) fn apply(&mut self) -> Result<Option<PathBuf>> {
        let created = !self.file.exists() && !self.changes.is_empty();
        let backup = self.file.save()?;
        if !self.changes.is_empty() || self.follow {
            let mut record = Record::load()?;
            record.configured(self.file.path(), self.changes.clone(), created, self.follow);
            record.save()?;
        }
        if let Some(own) = &mut self.own {
            own.save_without_backup()?;
        }
        Ok(backup)
    }
}

/// What `unconfigure` will undo in one client's file ([`unset_helper`]),
/// built first (for `--dry-run`), then applied in one fixed order.
pub(crate) struct Unconfigure {
    /// The client's config file, edited in memory.
    pub(crate) file: ConfigFile,
    /// What was undone and what was left alone.
    pub(crate) undone: Undone,
    record: Record,
    /// Undo everything (no `--registry`): later logins stop adding theirs.
    all: bool,
}

impl Unconfigure {
    /// Opens `flavor`'s file and undoes, in memory, what `configure` set
    /// (for the credHelpers hosts `only`, or everything).
    pub(crate) fn plan(flavor: Flavor, only: Option<Vec<String>>) -> Result<Unconfigure> {
        let mut file = flavor.open()?;
        let record = Record::load()?;
        let undone = unset_helper(&mut file, &record, only.as_deref());
        Ok(Unconfigure {
            file,
            undone,
            record,
            all: only.is_none(),
        })
    }

    /// Writes the file (or deletes it when `configure` created it and it now
    /// holds nothing), then the record. Returns the backup's path and whether
    /// the file was deleted.
    pub(crate) fn apply(&mut self) -> Result<(Option<PathBuf>, bool)> {
        let file = &mut self.file;
        // A file `configure` created and nothing else uses goes away again.
        let delete = self.record.created(file.path()) && file.root.is_empty();
        let backup = if delete {
            std::fs::remove_file(file.path())
                .with_context(|| format!("cannot remove {}", file.path().display()))?;
            None
        } else {
            file.save()?
        };
        let unfollow = self.all && self.record.unfollow(file.path());
        if self.undone.recorded || unfollow || delete {
            self.record
                .unconfigured(file.path(), &self.undone.undone, delete);
            self.record.save()?;
        }
        Ok((backup, delete))
    }
}

/// The helper's own config file opened for editing with its store set to
/// `store` (a store choice's name); the caller shows the diff or saves it.
/// Other keys in the file are kept.
pub(crate) fn helper_store(store: &str) -> Result<ConfigFile> {
    let mut file = Flavor::Helper.open()?;
    file.root.insert(
        crate::settings::STORE_KEY.to_owned(),
        Value::String(store.to_owned()),
    );
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn docker_file(root: Value) -> ConfigFile {
        let path = std::env::temp_dir().join("dck-setup-test-never-written/config.json");
        let mut file = ConfigFile::open(Flavor::Docker, &path).unwrap();
        file.root = root.as_object().unwrap().clone();
        file
    }

    #[test]
    fn unset_restores_what_set_replaced_and_leaves_later_edits() {
        let mut file = docker_file(json!({"credsStore": "desktop"}));
        let changes = set_helper(&mut file, &[]);
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].previous, Some(json!("desktop")));
        assert_eq!(file.str_at("credsStore"), Some(HELPER));
        assert!(set_helper(&mut file, &[]).is_empty(), "already set");

        let mut record = Record::default();
        record.configured(file.path(), changes, false, false);
        let mut edited = docker_file(json!({"credsStore": "other"}));
        let kept = unset_helper(&mut edited, &record, None);
        assert_eq!(kept.left, ["credsStore"]);
        assert_eq!(edited.str_at("credsStore"), Some("other"));

        let undone = unset_helper(&mut file, &record, None);
        assert!(undone.recorded && undone.left.is_empty());
        assert_eq!(file.str_at("credsStore"), Some("desktop"));
        record.unconfigured(file.path(), &undone.undone, false);
        assert!(record.files.is_empty());
    }

    #[test]
    fn without_a_record_only_keyring_members_go() {
        let mut file =
            docker_file(json!({"credHelpers": {"a.io": "keyring", "b.io": "ecr-login"}}));
        let undone = unset_helper(&mut file, &Record::default(), None);
        assert!(!undone.recorded);
        assert_eq!(file.root["credHelpers"], json!({"b.io": "ecr-login"}));
    }

    #[test]
    fn hosts_are_spelled_per_client_and_paths_refused_when_named() {
        let names = [
            "https://index.docker.io/v1/".to_owned(),
            "Quay.io:443".to_owned(),
        ];
        assert_eq!(
            helper_hosts(Flavor::Docker, &names, true).unwrap(),
            ["https://index.docker.io/v1/", "quay.io:443"]
        );
        assert_eq!(
            helper_hosts(Flavor::Containers, &names, true).unwrap(),
            ["docker.io", "quay.io:443"]
        );
        let path = ["quay.io/team".to_owned()];
        assert!(helper_hosts(Flavor::Docker, &path, true).is_err());
        assert!(helper_hosts(Flavor::Docker, &path, false)
            .unwrap()
            .is_empty());
    }
}
