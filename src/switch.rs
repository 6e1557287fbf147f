//! Switching from another credential helper without losing a credential:
//! which helpers docker's config.json (`credsStore`, `credHelpers`) and the
//! containers auth file (`credHelpers`) name, what each holds for the hosts
//! it serves (read through its own protocol, [`crate::other_helper`]), the
//! members pointed at this helper once our store holds their credentials,
//! what `configure` would strand, and the way back (`unconfigure --move-back`).
//!
//! The rule: no config member is switched away from a helper that holds
//! credentials before our store holds them and has read them back; `migrate`
//! does the moving ([`crate::migrate::Plan`] stores everything in one
//! transaction), `configure` refuses instead of stranding them.

use std::collections::BTreeSet;

use anyhow::{bail, Context, Result};
use serde_json::Value;

use crate::config::setup::{self, Change};
use crate::config::{helper_of, ConfigFile, HELPER};
use crate::other_helper::{mints_credentials, OtherHelper};
use crate::registry::ServerKey;
use crate::store::{Credential, Credentials};

/// One credential another helper holds, read with `get`.
pub(crate) struct HeldEntry {
    /// The helper's name (`secretservice` for `docker-credential-secretservice`).
    pub(crate) helper: String,
    pub(crate) key: ServerKey,
    /// The server URL as that helper keeps it (its `list` key).
    pub(crate) credential: Credential,
    /// Whether a config file sends this registry to that helper (false for
    /// a helper named with `--from` that no file uses): docker used it.
    pub(crate) routed: bool,
}

/// What the helpers named by the config files hold.
#[derive(Default)]
pub(crate) struct Held {
    pub(crate) entries: Vec<HeldEntry>,
    /// The helpers read in full: their members may be switched to this helper.
    pub(crate) helpers: Vec<OtherHelper>,
    /// Why a helper or a credential was left where it is.
    pub(crate) notes: Vec<String>,
}

/// The helper names `file` uses (`credsStore`, `credHelpers` values), not ours.
pub(crate) fn named_helpers(file: &ConfigFile) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    if file.flavor == crate::config::Flavor::Docker {
        if let Some(name) = file.str_at("credsStore") {
            names.insert(name.to_owned());
        }
    }
    for value in file.cred_helpers().into_iter().flat_map(|h| h.values()) {
        if let Some(name) = value.as_str() {
            names.insert(name.to_owned());
        }
    }
    names.remove(HELPER);
    names.remove("");
    names
}

/// Whether some file sends `key` to `helper`.
fn routed(files: &[ConfigFile], key: &ServerKey, helper: &str) -> bool {
    files
        .iter()
        .any(|f| helper_of(&f.root, f.flavor, key).is_some_and(|(name, _)| name == helper))
}

impl Held {
    /// Reads, through `list` then `get`, the credentials every helper named
    /// by `files` (or only `from`) holds for the hosts the files send it.
    /// A helper that mints credentials, or is missing, is reported and left.
    pub(crate) fn read(files: &[ConfigFile], from: Option<&str>) -> Result<Held> {
        let mut names: BTreeSet<String> = files.iter().flat_map(named_helpers).collect();
        let mut held = Held::default();
        if let Some(from) = from {
            if from == HELPER {
                bail!("--from names another helper; {HELPER} is this one");
            }
            names.retain(|n| n == from);
            names.insert(from.to_owned());
        }
        for name in names {
            if mints_credentials(&name) {
                held.notes.push(format!(
                    "docker-credential-{name} mints short-lived credentials rather than storing them: left configured for its hosts"
                ));
                continue;
            }
            let helper = match OtherHelper::find(&name) {
                Ok(helper) => helper,
                Err(err) if from.is_none() => {
                    held.notes
                        .push(format!("{err:#}; its hosts were left as they are"));
                    continue;
                }
                Err(err) => return Err(err),
            };
            held.read_helper(files, &helper, from.is_some())?;
            held.helpers.push(helper);
        }
        held.check_duplicates()?;
        Ok(held)
    }

    /// Lists `helper` and reads each credential the files send it (all of
    /// them when it was named with `--from` and no file uses it).
    fn read_helper(
        &mut self,
        files: &[ConfigFile],
        helper: &OtherHelper,
        named: bool,
    ) -> Result<()> {
        let unchanged = "nothing was changed";
        let listed = helper.list().with_context(|| unchanged.to_owned())?;
        let used = files
            .iter()
            .any(|f| named_helpers(f).contains(&helper.name));
        let mut wanted: Vec<(&str, ServerKey)> = Vec::new();
        for server in listed.keys() {
            let Ok(key) = ServerKey::parse(server) else {
                self.notes.push(format!(
                    "{} keeps {:?}, which is not a registry address: left there",
                    helper.program_name(),
                    crate::printable::clipped(&crate::registry::shown(server), 80)
                ));
                continue;
            };
            if used && !routed(files, &key, &helper.name) || !used && !named {
                self.notes.push(format!(
                    "{} also keeps {key}, but neither docker nor podman asks it for that registry: left there",
                    helper.program_name()
                ));
                continue;
            }
            wanted.push((server, key));
        }
        let servers: Vec<&str> = wanted.iter().map(|(server, _)| *server).collect();
        let got = get_all(helper, &servers).with_context(|| unchanged.to_owned())?;
        for ((_, key), credential) in wanted.into_iter().zip(got) {
            let Some(credential) = credential else {
                self.notes.push(format!(
                    "{} lists {key} but has no credential for it: skipped",
                    helper.program_name()
                ));
                continue;
            };
            self.entries.push(HeldEntry {
                helper: helper.name.clone(),
                key,
                credential,
                routed: used,
            });
        }
        Ok(())
    }

    /// Refuses two different credentials for one registry (two spellings in
    /// one helper, or two helpers): which one docker used is not ours to guess.
    fn check_duplicates(&self) -> Result<()> {
        for (i, a) in self.entries.iter().enumerate() {
            for b in &self.entries[i + 1..] {
                if a.key == b.key && !same_credential(&a.credential, &b.credential) {
                    bail!(
                        "{} has two different credentials ({:?} in docker-credential-{}, {:?} in docker-credential-{}); erase the stale one (`echo SERVER | docker-credential-NAME erase`), then run migrate again (nothing was changed)",
                        a.key,
                        crate::registry::shown(&a.credential.server_url),
                        a.helper,
                        crate::registry::shown(&b.credential.server_url),
                        b.helper
                    );
                }
            }
        }
        Ok(())
    }

    /// Leaves out each credential docker did not use (not `routed`) for a
    /// registry `store` holds a different one for: ours is the live one
    /// (docker already asks this helper, or will), never replaced by a stale
    /// copy. Each is left in its old helper, with a note.
    pub(crate) fn keep_live(&mut self, store: &Credentials) -> Result<()> {
        let mut kept = Vec::with_capacity(self.entries.len());
        for entry in std::mem::take(&mut self.entries) {
            if !entry.routed {
                let ours = store.get(&entry.key)?;
                if ours.is_some_and(|o| !same_credential(&o, &entry.credential)) {
                    self.notes.push(format!(
                        "docker-credential-{} holds a different credential for {} than this store, and no config file sends {} to it: kept this store's, left that one there",
                        entry.helper, entry.key, entry.key
                    ));
                    continue;
                }
            }
            kept.push(entry);
        }
        self.entries = kept;
        Ok(())
    }

    /// Reads every moved credential back from `store`: the config files are
    /// switched only when each answers what the old helper gave.
    pub(crate) fn read_back(&self, store: &Credentials) -> Result<()> {
        for entry in &self.entries {
            let back = store
                .get(&entry.key)
                .with_context(|| format!("reading {} back from the store", entry.key))?;
            if !back.is_some_and(|b| same_credential(&b, &entry.credential)) {
                bail!(
                    "{} did not read back from the store as stored; the config files were not switched (the old helpers still hold everything)",
                    entry.key
                );
            }
        }
        Ok(())
    }

    /// Erases the moved credentials from their old helpers (our store holds
    /// them, read back). Returns a note per one that could not be erased.
    pub(crate) fn erase_moved(&self) -> Vec<String> {
        let mut notes = Vec::new();
        for entry in &self.entries {
            let Some(helper) = self.helpers.iter().find(|h| h.name == entry.helper) else {
                continue;
            };
            if let Err(err) = helper.erase(&entry.credential.server_url) {
                // The config no longer names the helper for this host, so a
                // plain `migrate --erase-old` would not see it again.
                notes.push(format!(
                    "{} is in this store, but could not be erased from {}: {err:#}; to finish, run `echo {} | {} erase`",
                    entry.key,
                    helper.program_name(),
                    crate::export::shell::quote(&entry.credential.server_url),
                    helper.program_name()
                ));
            }
        }
        notes
    }
}

/// How many `get`s run at once: each is a process that mostly waits on its
/// keyring, so a few overlap well even on two cores.
const PARALLEL_GETS: usize = 4;

/// `get` of every server, in order, a few at a time; the first failure
/// stops the rest and is returned (naming the server).
fn get_all(helper: &OtherHelper, servers: &[&str]) -> Result<Vec<Option<Credential>>> {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::Mutex;
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let results: Mutex<Vec<Option<Result<Option<Credential>>>>> =
        Mutex::new(servers.iter().map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..PARALLEL_GETS.min(servers.len()) {
            scope.spawn(|| {
                while !failed.load(Ordering::Relaxed) {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(server) = servers.get(i) else { break };
                    let got = helper
                        .get(server)
                        .with_context(|| format!("reading {}", crate::registry::shown(server)));
                    failed.fetch_or(got.is_err(), Ordering::Relaxed);
                    results.lock().unwrap_or_else(|e| e.into_inner())[i] = Some(got);
                }
            });
        }
    });
    // Workers take servers in order, so a failure comes before any server left untried.
    let mut got = Vec::with_capacity(servers.len());
    for result in results.into_inner().unwrap_or_else(|e| e.into_inner()) {
        match result {
            Some(Ok(credential)) => got.push(credential),
            Some(Err(err)) => return Err(err),
            None => bail!("{} get stopped early", helper.program_name()),
        }
    }
    Ok(got)
}

pub(crate) fn same_credential(a: &Credential, b: &Credential) -> bool {
    a.username == b.username && a.secret == b.secret
}

/// Points every member of `file` that names one of `helpers` at this
/// helper, in memory (`credsStore`, and each such `credHelpers` entry).
/// Returns the changes, for `configured.json` (so `unconfigure` restores them).
pub(crate) fn point_at_keyring(file: &mut ConfigFile, helpers: &[String]) -> Vec<Change> {
    let names = |v: &Value| v.as_str().is_some_and(|s| helpers.iter().any(|h| h == s));
    let mut changes = Vec::new();
    if file.flavor == crate::config::Flavor::Docker
        && file.root.get("credsStore").is_some_and(names)
    {
        changes.extend(setup::set_helper(file, &[]));
    }
    let hosts: Vec<String> = file
        .cred_helpers()
        .map(|h| {
            h.iter()
                .filter(|(_, v)| names(v))
                .map(|(k, _)| k.clone())
                .collect()
        })
        .unwrap_or_default();
    if !hosts.is_empty() {
        changes.extend(setup::set_helper(file, &hosts));
    }
    changes
}

/// A helper `configure` would switch docker away from while it holds credentials.
pub(crate) struct Stranded {
    pub(crate) helper: String,
    /// `credsStore` or `credHelpers.HOST`.
    pub(crate) member: String,
    pub(crate) count: usize,
}

/// What `configure` would leave behind: the helpers holding credentials,
/// and notes on the replaced helpers that could not be asked (not installed,
/// or a name docker-credential-NAME cannot be): the user is told, not
/// stopped, since docker cannot reach those either.
#[derive(Default)]
pub(crate) struct StrandCheck {
    pub(crate) stranded: Vec<Stranded>,
    pub(crate) notes: Vec<String>,
}

/// The credentials `changes` (to `before`, the file as it is on disk) would
/// leave behind in the helpers they replace: each replaced helper is asked
/// (`list`) which registries it holds that this member sends it.
pub(crate) fn stranded(before: &ConfigFile, changes: &[Change]) -> Result<StrandCheck> {
    let mut check = StrandCheck::default();
    for change in changes.iter().filter(|c| c.is_member()) {
        let Some(name) = change.previous.as_ref().and_then(Value::as_str) else {
            continue;
        };
        if name.is_empty() || name == HELPER || mints_credentials(name) {
            continue;
        }
        let member = change.member();
        // A helper that is not installed holds nothing docker could reach
        // now; say so, in case it is only missing from this PATH.
        let helper = match OtherHelper::find(name) {
            Ok(helper) => helper,
            Err(err) => {
                check.notes.push(format!(
                    "{member} named {name:?}, which could not be asked what it holds ({err:#}): credentials it may keep elsewhere are not moved; `unconfigure` switches back"
                ));
                continue;
            }
        };
        let listed = helper.list().with_context(|| {
            format!(
                "cannot tell whether {} holds credentials that {member} sends it; nothing was changed",
                helper.program_name()
            )
        })?;
        let count = listed
            .keys()
            .filter_map(|s| ServerKey::parse(s).ok())
            .filter(|key| match change.key.as_slice() {
                [_, host] => crate::config::helper_key(before.flavor, key) == *host,
                _ => helper_of(&before.root, before.flavor, key) == Some((name, "credsStore")),
            })
            .count();
        if count > 0 {
            check.stranded.push(Stranded {
                helper: name.to_owned(),
                member,
                count,
            });
        }
    }
    Ok(check)
}

/// A credential `unconfigure --move-back` hands (or would hand) to the restored helper.
pub(crate) struct MovedBack {
    pub(crate) server: String,
    pub(crate) helper: String,
}

/// What `unconfigure --move-back` handed back, and why others were not.
#[derive(Default)]
pub(crate) struct MoveBack {
    pub(crate) moved: Vec<MovedBack>,
    /// Credentials the restored helpers already held unchanged (not handed).
    pub(crate) unchanged: usize,
    pub(crate) notes: Vec<String>,
}

/// Hands the restored helpers what our store holds for the hosts `restored`
/// (the file after `unconfigure`, in memory) sends them: `store` through
/// each helper, then `get` to read it back. Credentials the helper already
/// holds unchanged are skipped, and so are those of a host another file
/// sent to a different helper before `configure`/`migrate` ([`served_elsewhere`]).
/// With `dry_run`, only says what would move.
pub(crate) fn move_back(
    restored: &ConfigFile,
    undone: &[Change],
    store: &Credentials,
    dry_run: bool,
) -> Result<MoveBack> {
    let names: BTreeSet<&str> = undone
        .iter()
        .filter(|c| c.is_member())
        .filter_map(|c| c.previous.as_ref().and_then(Value::as_str))
        .filter(|n| !n.is_empty() && *n != HELPER)
        .collect();
    let record = setup::Record::load()?;
    let elsewhere = record.replaced_elsewhere(restored.path());
    let mut out = MoveBack::default();
    for name in names {
        if mints_credentials(name) {
            continue;
        }
        let helper = OtherHelper::find(name)?;
        for listed in store.list()? {
            let Ok(key) = ServerKey::parse(&listed.key) else {
                continue;
            };
            if helper_of(&restored.root, restored.flavor, &key).map(|(n, _)| n) != Some(name) {
                continue;
            }
            if let Some(other) = served_elsewhere(&elsewhere, &key, name) {
                out.notes.push(format!(
                    "{key} was not handed to {}: another config file sent it to docker-credential-{other} before, so this helper never held it",
                    helper.program_name()
                ));
                continue;
            }
            let Some(ours) = store.get(&key)? else {
                continue;
            };
            if hand_back_one(&helper, &key, &ours, dry_run)? {
                out.moved.push(MovedBack {
                    server: ours.server_url.clone(),
                    helper: name.to_owned(),
                });
            } else {
                out.unchanged += 1;
            }
        }
    }
    Ok(out)
}

/// The helper another file's recorded `credHelpers` entry for `key`'s
/// registry named before (compared as [`ServerKey`]s), if not `name`.
fn served_elsewhere<'a>(
    elsewhere: &[(&str, &'a str)],
    key: &ServerKey,
    name: &str,
) -> Option<&'a str> {
    elsewhere
        .iter()
        .filter(|(_, other)| *other != name && *other != HELPER)
        .find(|(host, _)| {
            ServerKey::parse(host).is_ok_and(|h| {
                h.host() == key.host() && h.port() == key.port() && h.is_http() == key.is_http()
            })
        })
        .map(|(_, other)| *other)
}

/// Stores `ours` through `helper` and reads it back, unless the helper
/// already holds it unchanged. Returns whether it was (or would be) handed.
fn hand_back_one(
    helper: &OtherHelper,
    key: &ServerKey,
    ours: &Credential,
    dry_run: bool,
) -> Result<bool> {
    let theirs = helper
        .get(&ours.server_url)
        .with_context(nothing_restored)?;
    if theirs.is_some_and(|t| same_credential(&t, ours)) {
        return Ok(false);
    }
    if !dry_run {
        helper.store(ours).with_context(nothing_restored)?;
        let back = helper
            .get(&ours.server_url)
            .with_context(nothing_restored)?;
        if !back.is_some_and(|b| same_credential(&b, ours)) {
            bail!(
                "{} did not read back from {} as stored; the config was not restored",
                key,
                helper.program_name()
            );
        }
    }
    Ok(true)
}

fn nothing_restored() -> &'static str {
    "the config was not restored (credentials already handed back stay in both)"
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Flavor;
    use serde_json::json;

    fn file(flavor: Flavor, root: Value) -> ConfigFile {
        let path = std::env::temp_dir().join("dck-switch-test-never-written/config.json");
        let mut file = ConfigFile::open(flavor, &path).unwrap();
        file.root = root.as_object().unwrap().clone();
        file
    }

    /// Only the members naming a helper moved from change, each recorded
    /// with its previous value; podman's file has no credsStore to switch.
    #[test]
    fn only_members_of_the_helpers_moved_from_point_here() {
        let root =
            json!({"credsStore": "sec", "credHelpers": {"quay.io": "pass", "gcr.io": "gcr"}});
        let mut docker = file(Flavor::Docker, root.clone());
        assert_eq!(
            named_helpers(&docker).into_iter().collect::<Vec<_>>(),
            ["gcr", "pass", "sec"]
        );
        let changes = point_at_keyring(&mut docker, &["sec".to_owned(), "pass".to_owned()]);
        assert_eq!(
            Value::Object(docker.root.clone()),
            json!({"credsStore": "keyring", "credHelpers": {"quay.io": "keyring", "gcr.io": "gcr"}})
        );
        let previous: Vec<(String, Option<Value>)> = changes
            .iter()
            .map(|c| (c.member(), c.previous.clone()))
            .collect();
        assert_eq!(
            previous,
            [
                ("credsStore".to_owned(), Some(json!("sec"))),
                ("credHelpers.quay.io".to_owned(), Some(json!("pass")))
            ]
        );
        let mut podman = file(Flavor::Containers, root);
        point_at_keyring(&mut podman, &["sec".to_owned()]);
        assert_eq!(
            podman.str_at("credsStore"),
            Some("sec"),
            "podman ignores credsStore"
        );
        assert!(!named_helpers(&podman).contains("sec"));
    }
}
