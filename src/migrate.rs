//! Moving plaintext credentials (`auths` with `auth` or `identitytoken`) of
//! docker's config.json and the containers auth file into the store, then
//! removing them from the files, leaving the `{}` markers docker writes for
//! credentials kept by a helper.
//!
//! All or nothing: every credential is stored first, in one store transaction
//! ([`Credentials::put_all`]: one index save; keyring writes are undone if any
//! step fails); the files are rewritten only after that, atomically. A failure
//! leaves the files untouched. No `.bak` copy of the secrets is kept; an
//! existing `config.json.bak` loses them too.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::Serialize;

use crate::config::{ConfigFile, Flavor, PlaintextAuth, HELPER};
use crate::registry::ServerKey;
use crate::store::{Credential, Credentials, Put};

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
    pub(crate) file: PathBuf,
    /// The store that now holds it (`None` in a dry run).
    pub(crate) store: Option<String>,
}

/// What a migration would move, read from the files (nothing changed yet).
pub(crate) struct Plan {
    files: Vec<ConfigFile>,
    entries: Vec<Entry>,
}

impl Plan {
    /// Reads the plaintext credentials of docker's config.json and the
    /// containers auth file (once if they are the same file). Refuses a
    /// malformed entry and two different credentials for one registry.
    pub(crate) fn read() -> Result<Plan> {
        let files = source_files()?;
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
        let plan = Plan { files, entries };
        plan.check_conflicts()?;
        Ok(plan)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The files read.
    pub(crate) fn file_paths(&self) -> Vec<&Path> {
        self.files.iter().map(ConfigFile::path).collect()
    }

    /// Every credential the plan moves, in order.
    pub(crate) fn moves(&self) -> Vec<Moved> {
        self.entries
            .iter()
            .map(|e| Moved {
                server: e.auth.server.clone(),
                username: e.auth.username.clone(),
                file: self.files[e.file].path().to_path_buf(),
                store: None,
            })
            .collect()
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

    /// Moves every credential: stores them all in one transaction, then strips
    /// them from the files (and their `.bak` copies). Fills in the store of
    /// each of `moved` (from [`moves`](Self::moves)); returns notes for the
    /// user about backups that could not be cleaned.
    pub(crate) fn apply(mut self, store: &Credentials, moved: &mut [Moved]) -> Result<Vec<String>> {
        let kinds = self.store_all(store)?;
        for (m, kind) in moved.iter_mut().zip(kinds) {
            m.store = Some(kind.name().to_owned());
        }
        let mut notes = Vec::new();
        for (index, file) in self.files.iter_mut().enumerate() {
            let servers: Vec<&str> = self
                .entries
                .iter()
                .filter(|e| e.file == index)
                .map(|e| e.auth.server.as_str())
                .collect();
            if servers.is_empty() {
                continue;
            }
            crate::config::strip_plaintext(&mut file.root, servers.iter().copied());
            file.save_without_backup().with_context(|| {
                "the credentials are in the store, but their plaintext copies are still in the file"
            })?;
            notes.extend(scrub_backup(file, &servers)?);
        }
        Ok(notes)
    }

    /// Stores every entry in one transaction ([`Credentials::put_all`]: one
    /// index save, every keyring write undone if one fails). Returns each
    /// entry's store, in order.
    fn store_all(&self, store: &Credentials) -> Result<Vec<crate::store::StoreKind>> {
        let entries = &self.entries;
        // The same credential in both files (conflicts were refused before) is stored once.
        let mut first_of: Vec<usize> = Vec::with_capacity(entries.len());
        let mut unique: Vec<usize> = Vec::new();
        let mut seen: HashMap<&str, usize> = HashMap::new();
        for (i, entry) in entries.iter().enumerate() {
            let slot = *seen.entry(entry.key.as_str()).or_insert_with(|| {
                unique.push(i);
                unique.len() - 1
            });
            first_of.push(slot);
        }
        let credentials: Vec<Credential> = unique
            .iter()
            .map(|&i| Credential {
                server_url: entries[i].auth.server.clone(),
                username: entries[i].auth.username.clone(),
                secret: entries[i].auth.secret.clone(),
            })
            .collect();
        let puts: Vec<Put<'_>> = unique
            .iter()
            .zip(&credentials)
            .map(|(&i, credential)| Put {
                key: &entries[i].key,
                credential,
                // An email in the file replaces the stored one; none keeps it.
                email: entries[i]
                    .auth
                    .email
                    .is_some()
                    .then_some(&entries[i].auth.email),
            })
            .collect();
        let kinds = store
            .put_all(&puts)
            .context("nothing was stored, and the config files were left untouched")?;
        Ok(first_of.into_iter().map(|slot| kinds[slot]).collect())
    }
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
