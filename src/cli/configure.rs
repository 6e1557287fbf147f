//! `configure` / `unconfigure`: point docker (`credsStore` or `credHelpers`)
//! or podman/skopeo (`credHelpers` in the containers auth file) at this helper,
//! and undo exactly that. The edits and their record are
//! [`crate::config::setup`]'s; this file picks the file and hosts and prints.

use std::path::Path;

use anyhow::{bail, Context, Result};

use super::CommandResult;
use crate::config::setup::{self, Change, Followed};
use crate::config::{ConfigFile, Flavor};
use crate::registry::ServerKey;
use crate::settings;
use crate::store::{Credentials, StoreChoice};

use crate::config::HELPER;

#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  docker-credential-keyring configure                      # \"credsStore\": \"keyring\" in docker's config.json
  docker-credential-keyring configure --registry quay.io   # only quay.io (credHelpers)
  docker-credential-keyring configure --podman             # podman/skopeo/buildah: credHelpers for the stored
                                                           # registries, and for each later `login`
  docker-credential-keyring configure --dry-run            # show the diff, change nothing

Exit codes: 0 configured (or nothing to change), 1 error (nothing was changed), 2 bad command line.")]
pub(crate) struct Args {
    /// Configure only this registry (credHelpers entry); repeat for several
    #[arg(short, long = "registry", value_name = "REGISTRY")]
    pub(crate) registries: Vec<String>,
    /// Set up podman, skopeo and buildah instead of docker: credHelpers in the containers
    /// auth file (docker's config.json is not touched; run without --podman for docker).
    /// Without --registry: the registries you have credentials for, and each later `login`
    #[arg(long)]
    pub(crate) podman: bool,
    /// Also choose where new secrets go (writes our own config.json)
    #[arg(long, value_name = "auto|file|secret-service|keychain|windows")]
    pub(crate) store: Option<String>,
    /// Print the change as a unified diff and change nothing
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// Configure even if docker-credential-keyring is not on PATH
    #[arg(long)]
    pub(crate) force: bool,
    /// Switch even if the helper replaced still holds credentials (they stay
    /// there, and docker stops finding them until `unconfigure`)
    #[arg(long)]
    pub(crate) leave_credentials: bool,
    /// Print nothing on success
    #[arg(short, long)]
    pub(crate) quiet: bool,
}

pub(crate) fn run(args: Args) -> CommandResult {
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
    let hosts = target_hosts(flavor, &args.registries)?;
    let store = match &args.store {
        Some(word) => Some(StoreChoice::parse(word)?),
        None => None,
    };
    let follow = flavor == Flavor::Containers && args.registries.is_empty();
    let mut plan = setup::Configure::plan(flavor, &hosts, store.map(|s| s.name()), follow)?;

    if args.dry_run {
        let diff = plan.diff();
        if diff.is_empty() {
            crate::outln!(
                "Nothing to change: {} already uses {HELPER}",
                plan.file.path().display()
            );
        } else {
            print!("{}", crate::printable::printable_text(&diff));
        }
        if !args.leave_credentials {
            if let Err(err) = refuse_stranding(flavor, &plan.changes) {
                crate::errln!(
                    "note: without --dry-run: {}",
                    crate::protocol::error_line(&err)
                );
            }
        }
        return Ok(0);
    }

    if !args.leave_credentials {
        refuse_stranding(flavor, &plan.changes)?;
        // Asking the helpers takes a while: a `docker login` meanwhile may
        // have put a credential in one of them.
        plan.file
            .ensure_unchanged_on_disk()
            .context("nothing was changed; run configure again")?;
    }
    let backup = plan.apply()?;
    if !args.quiet {
        report_configured(
            &plan.file,
            &plan.changes,
            backup.as_deref(),
            plan.own.as_ref(),
        );
    }
    Ok(0)
}

/// Refuses a change that would switch the file away from a helper holding
/// credentials for the registries it sends there, naming the `migrate`
/// command that moves them first ([`crate::switch::stranded`]).
fn refuse_stranding(flavor: Flavor, changes: &[Change]) -> Result<()> {
    let before = flavor.open()?;
    let check = crate::switch::stranded(&before, changes)?;
    for note in &check.notes {
        crate::errln!("note: {note}");
    }
    let stranded = check.stranded;
    if stranded.is_empty() {
        return Ok(());
    }
    let held: Vec<String> = stranded
        .iter()
        .map(|s| {
            format!(
                "{} credential(s) in docker-credential-{} ({})",
                s.count, s.helper, s.member
            )
        })
        .collect();
    let mut helpers: Vec<&str> = stranded.iter().map(|s| s.helper.as_str()).collect();
    helpers.sort_unstable();
    helpers.dedup();
    let command = match helpers.as_slice() {
        [one] => format!("{} migrate --from {one}", crate::BINARY_NAME),
        _ => format!("{} migrate", crate::BINARY_NAME),
    };
    bail!(
        "{} sends registries to other helpers that hold {}: switching now would leave them unreachable. Run `{command}` to move them here and switch (or configure --leave-credentials to switch anyway); nothing was changed",
        before.path().display(),
        held.join(", ")
    );
}

/// The credHelpers keys for `registries` as this file's client spells them
/// ([`setup::helper_hosts`]); podman without `--registry`: the stored registries.
fn target_hosts(flavor: Flavor, registries: &[String]) -> Result<Vec<String>> {
    let explicit = !registries.is_empty();
    let names = if explicit || flavor == Flavor::Docker {
        registries.to_vec()
    } else {
        stored_registries()?
    };
    setup::helper_hosts(flavor, &names, explicit)
}

/// The stored keys that name a whole registry (podman's `configure` without `--registry`).
fn stored_registries() -> Result<Vec<String>> {
    let mut names: Vec<String> = Credentials::open()?
        .list()?
        .into_iter()
        .map(|l| l.key)
        .collect();
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
    Ok(names)
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
    for change in changes.iter().filter(|c| c.is_member()) {
        let member = change.member();
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
            own.str_at(settings::STORE_KEY).unwrap_or("auto"),
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
pub(crate) struct UnconfigureArgs {
    /// Undo only this registry's credHelpers entry; repeat for several
    #[arg(short, long = "registry", value_name = "REGISTRY")]
    pub(crate) registries: Vec<String>,
    /// Undo the containers auth file (podman, skopeo) instead of docker's config.json
    #[arg(long)]
    pub(crate) podman: bool,
    /// Also hand the helpers restored what this store holds for their
    /// registries (e.g. logins since `migrate`), through their `store`, read back
    #[arg(long)]
    pub(crate) move_back: bool,
    /// Print the change as a unified diff and change nothing
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// Print nothing on success
    #[arg(short, long)]
    pub(crate) quiet: bool,
}

pub(crate) fn run_unconfigure(args: UnconfigureArgs) -> CommandResult {
    let flavor = if args.podman {
        Flavor::Containers
    } else {
        Flavor::Docker
    };
    let only: Option<Vec<String>> = if args.registries.is_empty() {
        None
    } else {
        // Accept both spellings of Docker Hub whatever the file.
        let mut hosts = target_hosts(Flavor::Docker, &args.registries)?;
        hosts.extend(target_hosts(Flavor::Containers, &args.registries)?);
        Some(hosts)
    };
    let mut plan = setup::Unconfigure::plan(flavor, only)?;
    if args.move_back {
        hand_back(&args, &plan)?;
        // A `docker login` meanwhile stored here what was not handed back.
        plan.file.ensure_unchanged_on_disk().context(
            "the config was not restored (credentials already handed back stay in both); run unconfigure --move-back again",
        )?;
    }
    if args.dry_run {
        let file = &plan.file;
        let diff = file.diff();
        if diff.is_empty() {
            crate::outln!("Nothing to undo in {}", file.path().display());
        } else {
            print!("{}", crate::printable::printable_text(&diff));
        }
        return Ok(0);
    }
    let (backup, delete) = plan.apply()?;
    let file = &plan.file;
    let (undone, left) = (&plan.undone.undone, &plan.undone.left);
    if !args.quiet {
        let path = file.path().display();
        let restored: Vec<&Change> = undone.iter().filter(|c| c.is_member()).collect();
        if restored.is_empty() && left.is_empty() {
            crate::outln!("Nothing to undo in {path}");
        }
        for change in restored {
            match &change.previous {
                Some(prev) => crate::outln!("Restored {} = {prev} in {path}", change.member()),
                None => crate::outln!("Removed {} from {path}", change.member()),
            }
        }
        if let Some(bak) = backup {
            crate::outln!("Backed up the previous file to {}", bak.display());
        }
        if delete {
            crate::outln!("Removed {path}: `configure` created it and it holds nothing else");
        }
    }
    for member in left {
        crate::errln!("note: left {member} alone: it was changed after `configure`");
    }
    Ok(0)
}

/// `unconfigure --move-back`: hands the helpers `plan` restores what this
/// store holds for their registries ([`crate::switch::move_back`]), before
/// the file changes.
fn hand_back(args: &UnconfigureArgs, plan: &setup::Unconfigure) -> Result<()> {
    let store = Credentials::open()?;
    let back = crate::switch::move_back(&plan.file, &plan.undone.undone, &store, args.dry_run)?;
    for note in &back.notes {
        crate::errln!("note: {note}");
    }
    if args.quiet {
        return Ok(());
    }
    let (verb, checked) = if args.dry_run {
        ("Would hand", "")
    } else {
        ("Handed", " (read back)")
    };
    for m in &back.moved {
        crate::outln!(
            "{verb} {} back to docker-credential-{}{checked}",
            m.server,
            m.helper
        );
    }
    if back.unchanged > 0 {
        crate::outln!(
            "{} credential(s) the restored helpers already hold unchanged: nothing to hand back for them",
            back.unchanged
        );
    }
    Ok(())
}

/// After `login` stored `key`: when `configure --podman` set the containers
/// auth file up for every stored registry, adds `key` to its `credHelpers`
/// (recorded, so `unconfigure --podman` removes it); when podman was set up
/// for other registries only, says how to add this one. A failure here is a
/// warning: the credential is stored.
pub(crate) fn follow_login(key: &ServerKey, quiet: bool) {
    if let Err(err) = add_login_to_containers(key, quiet) {
        crate::errln!(
            "warning: {key} is stored, but podman and skopeo were not set up for it: {}",
            crate::protocol::error_line(&err)
        );
    }
}

fn add_login_to_containers(key: &ServerKey, quiet: bool) -> Result<()> {
    match setup::follow_login(key)? {
        Followed::Nothing => {}
        Followed::AddByHand { file, host } => {
            if !quiet {
                crate::errln!(
                    "note: {} does not send {host} to this helper, so podman and skopeo will not use it; run `{} configure --podman --registry {host}`",
                    file.display(),
                    crate::BINARY_NAME
                );
            }
        }
        Followed::Added { file, host } => {
            if !quiet {
                crate::outln!(
                    "Set credHelpers.{host} = {HELPER:?} in {} for podman, skopeo and buildah (`configure --podman` set this file up)",
                    file.display()
                );
            }
        }
    }
    Ok(())
}
