//! Moving credentials into the store: the plaintext ones (`auths` with
//! `auth` or `identitytoken`) of docker's config.json and the containers auth
//! file, and those other helpers named by the files hold
//! ([`crate::switch::Held`]); then the files are rewritten: plaintext removed
//! (leaving the `{}` markers docker writes for credentials kept by a helper),
//! members naming a helper moved from pointed at this one (recorded, so
//! `unconfigure` restores them).
//!
//! All or nothing: every credential is stored first, in one store transaction
//! ([`Credentials::put_all`]: one index save; keyring writes are undone if any
//! step fails), those of other helpers read back; the files are rewritten
//! only after that, atomically. A failure leaves the files untouched. No
//! `.bak` copy of the secrets is kept; an existing `config.json.bak` loses them too.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::Serialize;

use crate::config::setup::{Change, Record};
use crate::config::{ConfigFile, Flavor, PlaintextAuth, HELPER};
use crate::registry::ServerKey;
use crate::store::{Credential, Credentials, Put};
use crate::switch::{same_credential, Held};

/// One credential to move.
struct Entry {
    /// Index into [`Plan::files`].
    file: usize,
    key: ServerKey,
    auth: PlaintextAuth,
}

/// One credential moved (or that would move), as the summary reports it.
#[derive(Debug, Serialize)]
pub(crate) struct Moved {
    pub(crate) server: String,
    pub(crate) username: String,
    /// The config file that held it in plaintext.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) file: Option<PathBuf>,
    /// The helper that held it (`secretservice` for `docker-credential-secretservice`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) helper: Option<String>,
    /// The store that now holds it (`None` in a dry run).
    pub(crate) store: Option<String>,
    /// Whether it replaced a different credential already in the store.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub(crate) replaced: bool,
}

/// A config member pointed at this helper, as the summary reports it.
pub(crate) struct Switched {
    pub(crate) file: PathBuf,
    pub(crate) member: String,
    pub(crate) previous: String,
}

/// What a migration would move, read from the files (nothing changed yet).
pub(crate) struct Plan {
    files: Vec<ConfigFile>,
    entries: Vec<Entry>,
    held: Held,
    /// Per file: the members pointed at this helper (already in `files`' memory).
    switches: Vec<Vec<Change>>,
}

impl Plan {
    /// Reads the plaintext credentials of docker's config.json and the
    /// containers auth file (once if they are the same file), and those the
    /// helpers they name hold (only helper `from`'s when given), and points
    /// those helpers' members at this one in memory. Refuses a malformed
    /// entry and two different credentials for one registry.
    pub(crate) fn read(from: Option<&str>) -> Result<Plan> {
        let mut files = source_files()?;
        let entries = if from.is_some() {
            Vec::new()
        } else {
            plaintext_entries(&files)?
        };
        let held = Held::read(&files, from)?;
        crate::debug!(
            "phase: read {} credential(s) from other helpers",
            held.entries.len()
        );
        // Only members of helpers something moves from are switched: one
        // holding nothing for its hosts is left as the user set it.
        let names: Vec<String> = held
            .helpers
            .iter()
            .filter(|h| held.entries.iter().any(|e| e.helper == h.name))
            .map(|h| h.name.clone())
            .collect();
        let switches = files
            .iter_mut()
            .map(|file| crate::switch::point_at_keyring(file, &names))
            .collect();
        let plan = Plan {
            files,
            entries,
            held,
            switches,
        };
        plan.check_conflicts()?;
        Ok(plan)
    }

    /// Leaves out the credentials of a helper named with `--from` that
    /// docker did not use and that would replace a different one in `store`
    /// ([`Held::keep_live`]); notes each. A member is still switched only
    /// when something moves from its helper.
    pub(crate) fn keep_live(&mut self, store: &Credentials) -> Result<()> {
        self.held.keep_live(store)
    }

    /// Nothing to move and no member to switch.
    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
            && self.held.entries.is_empty()
            && self.switches.iter().all(Vec::is_empty)
    }

    /// Why helpers or credentials were left where they are.
    pub(crate) fn notes(&self) -> &[String] {
        &self.held.notes
    }

    /// The members pointed at this helper.
    pub(crate) fn switched(&self) -> Vec<Switched> {
        let mut out = Vec::new();
        for (file, changes) in self.files.iter().zip(&self.switches) {
            for change in changes.iter().filter(|c| c.is_member()) {
                out.push(Switched {
                    file: file.path().to_path_buf(),
                    member: change.member(),
                    previous: change
                        .previous
                        .as_ref()
                        .and_then(|v| v.as_str())
                        .unwrap_or_default()
                        .to_owned(),
                });
            }
        }
        out
    }

    /// The files read.
    pub(crate) fn file_paths(&self) -> Vec<&Path> {
        self.files.iter().map(ConfigFile::path).collect()
    }

    /// Every credential the plan moves, in order.
    pub(crate) fn moves(&self) -> Vec<Moved> {
        let plaintext = self.entries.iter().map(|e| Moved {
            server: e.auth.server.clone(),
            username: e.auth.username.clone(),
            file: Some(self.files[e.file].path().to_path_buf()),
            helper: None,
            store: None,
            replaced: false,
        });
        let held = self.held.entries.iter().map(|e| Moved {
            server: e.credential.server_url.clone(),
            username: e.credential.username.clone(),
            file: None,
            helper: Some(e.helper.clone()),
            store: None,
            replaced: false,
        });
        plaintext.chain(held).collect()
    }

    /// Refuses two different credentials for one registry (nothing is changed).
    fn check_conflicts(&self) -> Result<()> {
        for (i, a) in self.entries.iter().enumerate() {
            for b in &self.entries[i + 1..] {
                if a.key == b.key
                    && (a.auth.username != b.auth.username || a.auth.secret != b.auth.secret)
                {
                    bail!(
                        "{} has two different credentials ({:?} in {}, {:?} in {}); remove the stale one, then run migrate again (nothing was changed)",
                        a.key,
                        a.auth.server,
                        self.files[a.file].path().display(),
                        b.auth.server,
                        self.files[b.file].path().display()
                    );
                }
            }
            for b in &self.held.entries {
                if a.key == b.key
                    && (a.auth.username != b.credential.username
                        || a.auth.secret != b.credential.secret)
                {
                    bail!(
                        "{} has two different credentials ({:?} in {}, {:?} in docker-credential-{}); remove the stale one, then run migrate again (nothing was changed)",
                        a.key,
                        a.auth.server,
                        self.files[a.file].path().display(),
                        crate::registry::shown(&b.credential.server_url),
                        b.helper
                    );
                }
            }
        }
        Ok(())
    }

    /// Refuses to move credentials a client would then not find.
    pub(crate) fn check_configured(&self) -> Result<()> {
        for entry in &self.entries {
            let file = &self.files[entry.file];
            if !file.uses_helper(&entry.key, HELPER) {
                let host = crate::config::helper_key(file.flavor, &entry.key);
                // A credHelpers entry for another helper wins over credsStore.
                let elsewhere = file.cred_helpers().is_some_and(|h| h.contains_key(&host));
                let fix = match file.flavor {
                    Flavor::Containers => format!(
                        "{} configure --podman --registry {host}",
                        crate::BINARY_NAME
                    ),
                    _ if elsewhere => {
                        format!("{} configure --registry {host}", crate::BINARY_NAME)
                    }
                    _ => format!("{} configure", crate::BINARY_NAME),
                };
                bail!(
                    "{} does not send {} to this helper, so it would lose the credential after the move: run `{fix}` first (or pass --force); nothing was changed",
                    file.path().display(),
                    entry.auth.server
                );
            }
        }
        Ok(())
    }

    /// Moves every credential: stores them all in one transaction, reads
    /// back those of other helpers, then strips the plaintext ones from the
    /// files (and their `.bak` copies) and saves the switched members
    /// (recorded for `unconfigure`); with `erase`, then erases the moved
    /// credentials from their old helpers. Fills in the store of each of
    /// `moved` (from [`moves`](Self::moves)); returns notes for the user.
    pub(crate) fn apply(
        mut self,
        store: &Credentials,
        moved: &mut [Moved],
        erase: bool,
    ) -> Result<Vec<String>> {
        crate::debug!("phase: storing {} credential(s)", moved.len());
        let (kinds, replaced) = {
            let _interrupts = crate::interrupt::hold_off();
            self.store_all(store)?
        };
        crate::debug!("phase: stored; reading back");
        for ((m, kind), replaced) in moved.iter_mut().zip(kinds).zip(replaced) {
            m.store = Some(kind.name().to_owned());
            m.replaced = replaced;
        }
        self.held.read_back(store)?;
        self.check_files_unchanged()?;
        crate::debug!("phase: read back; rewriting the config files");
        // Ctrl-C from here on acts once every file and the record are written.
        let interrupts = crate::interrupt::hold_off();
        let mut notes = self.held.notes.clone();
        let mut record = Record::load()?;
        for (index, file) in self.files.iter_mut().enumerate() {
            let servers: Vec<&str> = self
                .entries
                .iter()
                .filter(|e| e.file == index)
                .map(|e| e.auth.server.as_str())
                .collect();
            let switched = std::mem::take(&mut self.switches[index]);
            if servers.is_empty() && switched.is_empty() {
                continue;
            }
            crate::config::strip_plaintext(&mut file.root, servers.iter().copied());
            let saved = if switched.is_empty() {
                file.save_without_backup().map(|_| ())
            } else {
                file.save().map(|_| ())
            };
            saved.with_context(|| {
                "the credentials are in the store, but the config file was not rewritten"
            })?;
            crate::interrupt::pause_for_tests();
            if !switched.is_empty() {
                record.configured(file.path(), switched, false, false);
                record.save()?;
            }
            if !servers.is_empty() {
                notes.extend(scrub_backup(file, &servers)?);
            }
        }
        drop(interrupts);
        if erase {
            notes.extend(self.held.erase_moved());
        }
        Ok(notes)
    }

    /// Refuses when another program rewrote a config file this plan
    /// rewrites since it was read: a `docker login` while the helpers were
    /// read may have put a new credential in an old helper, and switching
    /// now would strand it.
    fn check_files_unchanged(&self) -> Result<()> {
        for (index, file) in self.files.iter().enumerate() {
            let rewritten =
                !self.switches[index].is_empty() || self.entries.iter().any(|e| e.file == index);
            if rewritten {
                file.ensure_unchanged_on_disk().context(
                    "no config file was switched (the credentials read so far are in this store too); run migrate again",
                )?;
            }
        }
        Ok(())
    }

    /// Stores every credential (plaintext, then other helpers') in one
    /// transaction ([`Credentials::put_all`]: one index save, every keyring
    /// write undone if one fails). Returns each one's store, in order, and
    /// whether it replaced a different credential.
    fn store_all(&self, store: &Credentials) -> Result<(Vec<crate::store::StoreKind>, Vec<bool>)> {
        let mut all: Vec<(&ServerKey, Credential, Option<&Option<String>>)> = Vec::new();
        for e in &self.entries {
            let credential = Credential {
                server_url: e.auth.server.clone(),
                username: e.auth.username.clone(),
                secret: e.auth.secret.clone(),
            };
            // An email in the file replaces the stored one; none keeps it.
            let email = e.auth.email.is_some().then_some(&e.auth.email);
            all.push((&e.key, credential, email));
        }
        for e in &self.held.entries {
            all.push((&e.key, e.credential.clone(), None));
        }
        // The same credential twice (conflicts were refused before) is stored once.
        let mut first_of: Vec<usize> = Vec::with_capacity(all.len());
        let mut unique: Vec<usize> = Vec::new();
        let mut seen: HashMap<&str, usize> = HashMap::new();
        for (i, (key, _, _)) in all.iter().enumerate() {
            let slot = *seen.entry(key.as_str()).or_insert_with(|| {
                unique.push(i);
                unique.len() - 1
            });
            first_of.push(slot);
        }
        let stored = store.index_view()?.credentials;
        let mut replaced = Vec::with_capacity(unique.len());
        for &i in &unique {
            let (key, credential, _) = &all[i];
            let differs = stored.contains_key(key.as_str())
                && !store
                    .get(key)?
                    .is_some_and(|old| same_credential(&old, credential));
            replaced.push(differs);
        }
        let puts: Vec<Put<'_>> = unique
            .iter()
            .map(|&i| Put {
                key: all[i].0,
                credential: &all[i].1,
                email: all[i].2,
            })
            .collect();
        let kinds = store
            .put_all(&puts)
            .context("nothing was stored, and the config files were left untouched")?;
        Ok((
            first_of.iter().map(|&slot| kinds[slot]).collect(),
            first_of.iter().map(|&slot| replaced[slot]).collect(),
        ))
    }
}

/// The plaintext credentials of `files`.
fn plaintext_entries(files: &[ConfigFile]) -> Result<Vec<Entry>> {
    let mut entries = Vec::new();
    for (index, file) in files.iter().enumerate() {
        let found = crate::config::plaintext_auths(&file.root)
            .with_context(|| format!("in {} (nothing was changed)", file.path().display()))?;
        for auth in found {
            let key = ServerKey::parse(&auth.server).with_context(|| {
                format!(
                    "the \"auths\" entry {:?} in {}",
                    crate::registry::shown(&auth.server),
                    file.path().display()
                )
            })?;
            entries.push(Entry {
                file: index,
                key,
                auth,
            });
        }
    }
    Ok(entries)
}

/// docker's config.json and the containers auth file (once if they are the same file).
fn source_files() -> Result<Vec<ConfigFile>> {
    let docker = Flavor::Docker.open()?;
    let containers_path = Flavor::Containers.path()?;
    let same = |a: &Path, b: &Path| {
        std::fs::canonicalize(a)
            .ok()
            .is_some_and(|a| Some(a) == std::fs::canonicalize(b).ok())
    };
    let mut files = vec![docker];
    if !same(files[0].path(), &containers_path) {
        files.push(ConfigFile::open(Flavor::Containers, &containers_path)?);
    }
    Ok(files)
}

/// Removes the same secrets from `<file>.bak`, if one exists (an earlier
/// `configure` backup must not keep what migrate moved). Returns a note when
/// the backup cannot be read.
fn scrub_backup(file: &ConfigFile, servers: &[&str]) -> Result<Option<String>> {
    let bak = file.backup_path();
    if !bak.exists() {
        return Ok(None);
    }
    let Ok(mut backup) = ConfigFile::open(file.flavor, &bak) else {
        return Ok(Some(format!(
            "could not read {} to remove the moved secrets from it; check it by hand",
            bak.display()
        )));
    };
    crate::config::strip_plaintext(&mut backup.root, servers.iter().copied());
    backup.save_without_backup()?;
    Ok(None)
}
