//! `migrate`: move the plaintext credentials (`auths` with `auth` or
//! `identitytoken`) of docker's config.json and the containers auth file into
//! the store, then remove them from the files, leaving the `{}` markers docker
//! writes for credentials kept by a helper.
//!
//! All or nothing: every credential is stored first (and the ones already
//! stored are rolled back if one fails); the files are rewritten only after
//! that, atomically. A failure leaves the files untouched. No `.bak` copy of
//! the secrets is kept; an existing `config.json.bak` loses them too.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use serde::Serialize;

use super::CommandResult;
use crate::config::{ConfigFile, Flavor, PlaintextAuth};
use crate::registry::ServerKey;
use crate::store::{Credential, Credentials, StoreKind};

#[derive(Debug, clap::Args)]
#[command(after_help = "\
Run `docker-credential-keyring configure` (and `configure --podman` for podman) first:
without it docker would no longer find the moved credentials, so migrate refuses (--force overrides).

Exit codes: 0 moved (or nothing to move), 1 error (the files were left untouched), 2 bad command line.")]
pub struct Args {
    /// Show what would move and change nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Move even if docker/podman are not configured to use this helper
    #[arg(long)]
    pub force: bool,
    /// Print the summary as JSON
    #[arg(long)]
    pub json: bool,
    /// Print nothing on success
    #[arg(short, long, conflicts_with = "json")]
    pub quiet: bool,
}

/// One credential to move.
struct Entry {
    file: usize,
    key: ServerKey,
    auth: PlaintextAuth,
}

#[derive(Debug, Serialize)]
struct Moved {
    server: String,
    username: String,
    file: PathBuf,
    store: Option<String>,
}

pub fn run(args: Args) -> CommandResult {
    let mut files = source_files()?;
    let mut entries = Vec::new();
    for (index, file) in files.iter().enumerate() {
        let found = crate::config::plaintext_auths(&file.root)
            .with_context(|| format!("in {} (nothing was changed)", file.path().display()))?;
        for auth in found {
            let key = ServerKey::parse(&auth.server).with_context(|| {
                format!(
                    "the \"auths\" entry {:?} in {}",
                    auth.server,
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
    check_conflicts(&files, &entries)?;
    if entries.is_empty() {
        if args.json {
            println!("[]");
        } else if !args.quiet {
            let names: Vec<String> = files
                .iter()
                .map(|f| f.path().display().to_string())
                .collect();
            println!("No plaintext credentials in {}", names.join(" or "));
        }
        return Ok(0);
    }
    if !args.force {
        check_configured(&files, &entries)?;
    }

    let mut moved: Vec<Moved> = entries
        .iter()
        .map(|e| Moved {
            server: e.auth.server.clone(),
            username: e.auth.username.clone(),
            file: files[e.file].path().to_path_buf(),
            store: None,
        })
        .collect();
    if !args.dry_run {
        let store = Credentials::open()?;
        let kinds = store_all(&store, &entries)?;
        for (m, kind) in moved.iter_mut().zip(kinds) {
            m.store = Some(kind.name().to_owned());
        }
        set_emails(&store, &entries)?;
        for (index, file) in files.iter_mut().enumerate() {
            let servers: Vec<&str> = entries
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
            scrub_backup(file, &servers)?;
        }
    }
    print_summary(&args, &moved);
    Ok(0)
}

/// docker's config.json and the containers auth file (once if they are the same file).
fn source_files() -> Result<Vec<ConfigFile>> {
    let docker = Flavor::Docker.open()?;
    let containers_path = Flavor::Containers.path()?;
    let same = |a: &std::path::Path, b: &std::path::Path| {
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

/// Refuses two different credentials for one registry (nothing is changed).
fn check_conflicts(files: &[ConfigFile], entries: &[Entry]) -> Result<()> {
    for (i, a) in entries.iter().enumerate() {
        for b in &entries[i + 1..] {
            if a.key == b.key
                && (a.auth.username != b.auth.username || a.auth.secret != b.auth.secret)
            {
                bail!(
                    "{} has two different credentials ({:?} in {}, {:?} in {}); remove the stale one, then run migrate again (nothing was changed)",
                    a.key,
                    a.auth.server,
                    files[a.file].path().display(),
                    b.auth.server,
                    files[b.file].path().display()
                );
            }
        }
    }
    Ok(())
}

/// Refuses to move credentials a client would then not find.
fn check_configured(files: &[ConfigFile], entries: &[Entry]) -> Result<()> {
    let helper = super::configure::HELPER;
    for entry in entries {
        let file = &files[entry.file];
        if !file.uses_helper(&entry.key, helper) {
            let host = crate::config::helper_key(file.flavor, &entry.key);
            // A credHelpers entry for another helper wins over credsStore.
            let elsewhere = file.cred_helpers().is_some_and(|h| h.contains_key(&host));
            let fix = match file.flavor {
                Flavor::Containers => format!(
                    "{} configure --podman --registry {host}",
                    crate::BINARY_NAME
                ),
                _ if elsewhere => format!("{} configure --registry {host}", crate::BINARY_NAME),
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

/// The few store operations migrate needs (a seam for the rollback test).
trait Target {
    fn get(&self, key: &ServerKey) -> Result<Option<Credential>>;
    fn put(&self, key: &ServerKey, credential: &Credential) -> Result<StoreKind>;
    fn delete(&self, key: &ServerKey) -> Result<bool>;
}

impl Target for Credentials {
    fn get(&self, key: &ServerKey) -> Result<Option<Credential>> {
        Credentials::get(self, key)
    }
    fn put(&self, key: &ServerKey, credential: &Credential) -> Result<StoreKind> {
        Credentials::put(self, key, credential)
    }
    fn delete(&self, key: &ServerKey) -> Result<bool> {
        Credentials::delete(self, key)
    }
}

/// Stores every entry; if one fails, puts back what was there before the
/// earlier ones and returns the error.
fn store_all(store: &impl Target, entries: &[Entry]) -> Result<Vec<StoreKind>> {
    let mut done: Vec<(&ServerKey, Option<Credential>)> = Vec::new();
    let mut kinds: Vec<StoreKind> = Vec::new();
    for (i, entry) in entries.iter().enumerate() {
        // The same credential in both files (conflicts were refused before).
        if let Some(j) = entries[..i].iter().position(|e| e.key == entry.key) {
            kinds.push(kinds[j]);
            continue;
        }
        let credential = Credential {
            server_url: entry.auth.server.clone(),
            username: entry.auth.username.clone(),
            secret: entry.auth.secret.clone(),
        };
        let result = store
            .get(&entry.key)
            .and_then(|previous| Ok((previous, store.put(&entry.key, &credential)?)));
        match result {
            Ok((previous, kind)) => {
                done.push((&entry.key, previous));
                kinds.push(kind);
            }
            Err(err) => {
                let rolled_back = done.len();
                for (key, previous) in done.into_iter().rev() {
                    let undo = match previous {
                        Some(previous) => store.put(key, &previous).map(|_| ()),
                        None => store.delete(key).map(|_| ()),
                    };
                    if let Err(undo_err) = undo {
                        crate::debug!("migrate: could not roll back {key}: {undo_err:#}");
                    }
                }
                return Err(err.context(format!(
                    "cannot store the credential for {} ({rolled_back} stored before it were rolled back; the config files were left untouched)",
                    entry.key
                )));
            }
        }
    }
    Ok(kinds)
}

fn set_emails(store: &Credentials, entries: &[Entry]) -> Result<()> {
    if entries.iter().all(|e| e.auth.email.is_none()) {
        return Ok(());
    }
    store.update(|db| {
        for entry in entries {
            if let (Some(email), Some(record)) = (
                &entry.auth.email,
                db.credentials.get_mut(entry.key.as_str()),
            ) {
                record.email = Some(email.clone());
            }
        }
        Ok(())
    })
}

/// Removes the same secrets from `<file>.bak`, if one exists (an earlier
/// `configure` backup must not keep what migrate moved).
fn scrub_backup(file: &ConfigFile, servers: &[&str]) -> Result<()> {
    let bak = file.backup_path();
    if !bak.exists() {
        return Ok(());
    }
    let Ok(mut backup) = ConfigFile::open(file.flavor, &bak) else {
        eprintln!(
            "note: could not read {} to remove the moved secrets from it; check it by hand",
            bak.display()
        );
        return Ok(());
    };
    crate::config::strip_plaintext(&mut backup.root, servers.iter().copied());
    backup.save_without_backup()
}

fn print_summary(args: &Args, moved: &[Moved]) {
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(moved).unwrap_or_default()
        );
        return;
    }
    if args.quiet {
        return;
    }
    let verb = if args.dry_run { "Would move" } else { "Moved" };
    for m in moved {
        let store = m
            .store
            .as_deref()
            .map(|s| format!(" -> {s} store"))
            .unwrap_or_default();
        println!(
            "{verb} {} (user {}) from {}{store}",
            m.server,
            m.username,
            m.file.display()
        );
    }
    if args.dry_run {
        println!(
            "{} credential(s) would move; nothing was changed",
            moved.len()
        );
    } else {
        println!(
            "{} credential(s) moved; the files keep only empty {{}} markers",
            moved.len()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::collections::BTreeMap;

    /// In-memory store that fails to put `fail_on`.
    struct Fake {
        items: RefCell<BTreeMap<String, Credential>>,
        fail_on: &'static str,
    }

    impl Target for Fake {
        fn get(&self, key: &ServerKey) -> Result<Option<Credential>> {
            Ok(self.items.borrow().get(key.as_str()).cloned())
        }
        fn put(&self, key: &ServerKey, credential: &Credential) -> Result<StoreKind> {
            if key.as_str() == self.fail_on {
                bail!("injected failure");
            }
            self.items
                .borrow_mut()
                .insert(key.as_str().to_owned(), credential.clone());
            Ok(StoreKind::File)
        }
        fn delete(&self, key: &ServerKey) -> Result<bool> {
            Ok(self.items.borrow_mut().remove(key.as_str()).is_some())
        }
    }

    fn entry(server: &str, user: &str, secret: &str) -> Entry {
        Entry {
            file: 0,
            key: ServerKey::parse(server).unwrap(),
            auth: PlaintextAuth {
                server: server.to_owned(),
                username: user.to_owned(),
                secret: secret.into(),
                email: None,
            },
        }
    }

    fn cred(user: &str, secret: &str) -> Credential {
        Credential {
            server_url: "a.io".into(),
            username: user.into(),
            secret: secret.into(),
        }
    }

    #[test]
    fn a_failure_half_way_rolls_back_what_was_stored() {
        let fake = Fake {
            items: RefCell::new(BTreeMap::from([(
                "a.io".to_owned(),
                cred("old", "old-secret"),
            )])),
            fail_on: "c.io",
        };
        let entries = [
            entry("a.io", "new", "s1"),
            entry("b.io", "u", "s2"),
            entry("c.io", "u", "s3"),
        ];
        let err = store_all(&fake, &entries).unwrap_err();
        assert!(
            format!("{err:#}").contains("2 stored before it were rolled back"),
            "{err:#}"
        );
        let items = fake.items.borrow();
        assert_eq!(items.len(), 1, "b.io removed again");
        assert_eq!(items["a.io"], cred("old", "old-secret"), "a.io restored");
    }

    #[test]
    fn all_stored_when_nothing_fails() {
        let fake = Fake {
            items: RefCell::new(BTreeMap::new()),
            fail_on: "none",
        };
        let entries = [entry("a.io", "u", "s1"), entry("b.io", "u", "s2")];
        assert_eq!(store_all(&fake, &entries).unwrap().len(), 2);
        assert_eq!(fake.items.borrow().len(), 2);
    }
}
