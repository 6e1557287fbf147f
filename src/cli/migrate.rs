//! `migrate`: move the plaintext credentials (`auths` with `auth` or
//! `identitytoken`) of docker's config.json and the containers auth file into
//! the store, then remove them from the files, leaving the `{}` markers docker
//! writes for credentials kept by a helper.
//!
//! All or nothing: every credential is stored first, in one store transaction
//! (one index save; keyring writes are undone if any step fails); the files
//! are rewritten only after that, atomically. A failure leaves the files untouched. No `.bak` copy of
//! the secrets is kept; an existing `config.json.bak` loses them too.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use serde::Serialize;

use super::CommandResult;
use crate::config::{ConfigFile, Flavor, PlaintextAuth};
use crate::registry::ServerKey;
use crate::store::{Credential, Credentials, Put, StoreKind};

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
    check_conflicts(&files, &entries)?;
    if entries.is_empty() {
        if args.json {
            println!("[]");
        } else if !args.quiet {
            let names: Vec<String> = files
                .iter()
                .map(|f| f.path().display().to_string())
                .collect();
            crate::outln!("No plaintext credentials in {}", names.join(" or "));
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

/// Stores every entry in one transaction ([`Credentials::put_all`]: one
/// index save, every keyring write undone if one fails). Returns each entry's
/// store, in order.
fn store_all(store: &Credentials, entries: &[Entry]) -> Result<Vec<StoreKind>> {
    // The same credential in both files (conflicts were refused before) is stored once.
    let mut first_of: Vec<usize> = Vec::with_capacity(entries.len());
    let mut unique: Vec<usize> = Vec::new();
    let mut seen: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
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

/// Removes the same secrets from `<file>.bak`, if one exists (an earlier
/// `configure` backup must not keep what migrate moved).
fn scrub_backup(file: &ConfigFile, servers: &[&str]) -> Result<()> {
    let bak = file.backup_path();
    if !bak.exists() {
        return Ok(());
    }
    let Ok(mut backup) = ConfigFile::open(file.flavor, &bak) else {
        crate::errln!(
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
        crate::outln!(
            "{verb} {} (user {}) from {}{store}",
            m.server,
            m.username,
            m.file.display()
        );
    }
    if args.dry_run {
        crate::outln!(
            "{} credential(s) would move; nothing was changed",
            moved.len()
        );
    } else {
        crate::outln!(
            "{} credential(s) moved; the files keep only empty {{}} markers",
            moved.len()
        );
    }
}
