//! `migrate`: move the plaintext credentials of docker's config.json and the
//! containers auth file, and the credentials of the helpers they name, into
//! the store ([`crate::migrate`] does the moving, all or nothing); this file
//! prints what moved.

use super::CommandResult;
use crate::config::HELPER;
use crate::migrate::{Moved, Plan, Switched};
use crate::store::Credentials;

#[derive(Debug, clap::Args)]
#[command(after_help = "\
Credentials of other helpers (credsStore, credHelpers: docker-credential-NAME) are read through
their `list` and `get`, stored here in one transaction and read back; then the members naming
those helpers point at keyring (`unconfigure` restores them). Helpers that mint credentials
(ecr-login, gcr) are left configured.

Plaintext credentials need docker (and podman) sending their registries here: without it docker
would no longer find them, so migrate refuses (run `docker-credential-keyring configure`, or --force).

Exit codes: 0 moved (or nothing to move), 1 error (the files were left untouched), 2 bad command line.")]
pub(crate) struct Args {
    /// Move only the credentials of docker-credential-NAME (no plaintext ones)
    #[arg(long, value_name = "NAME")]
    pub(crate) from: Option<String>,
    /// Then erase the moved credentials from the helpers they came from
    /// (only once this store holds them and read them back)
    #[arg(long)]
    pub(crate) erase_old: bool,
    /// Show what would move and change nothing
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// Move even if docker/podman are not configured to use this helper
    #[arg(long)]
    pub(crate) force: bool,
    /// Print the summary as JSON
    #[arg(long)]
    pub(crate) json: bool,
    /// Print nothing on success
    #[arg(short, long, conflicts_with = "json")]
    pub(crate) quiet: bool,
}

pub(crate) fn run(args: Args) -> CommandResult {
    let mut plan = Plan::read(args.from.as_deref())?;
    let store = Credentials::open()?;
    plan.keep_live(&store)?;
    if plan.is_empty() {
        for note in plan.notes() {
            crate::errln!("note: {note}");
        }
        if args.json {
            println!("[]");
        } else if !args.quiet {
            let names: Vec<String> = plan
                .file_paths()
                .iter()
                .map(|p| p.display().to_string())
                .collect();
            crate::outln!(
                "No plaintext credentials in {}, and no other helper to move from",
                names.join(" or ")
            );
        }
        return Ok(0);
    }
    if !args.force {
        plan.check_configured()?;
    }
    let mut moved = plan.moves();
    let switched = plan.switched();
    let notes = if args.dry_run {
        plan.notes().to_vec()
    } else {
        plan.apply(&store, &mut moved, args.erase_old)?
    };
    for note in notes {
        crate::errln!("note: {note}");
    }
    print_summary(&args, &moved);
    if !args.json && !args.quiet {
        print_switched(&args, &switched, &moved);
    }
    Ok(0)
}

fn print_switched(args: &Args, switched: &[Switched], moved: &[Moved]) {
    let verb = if args.dry_run { "Would set" } else { "Set" };
    for s in switched {
        crate::outln!(
            "{verb} {} = {HELPER:?} in {} (was {:?}; `unconfigure` restores it)",
            s.member,
            s.file.display(),
            s.previous
        );
    }
    let from_helpers = moved.iter().filter(|m| m.helper.is_some()).count();
    if args.erase_old && from_helpers > 0 {
        let verb = if args.dry_run {
            "Would erase"
        } else {
            "Erased"
        };
        crate::outln!("{verb} the {from_helpers} credential(s) moved from their old helpers");
    }
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
        let source = match (&m.helper, &m.file) {
            (Some(helper), _) => format!("docker-credential-{helper}"),
            (None, Some(file)) => file.display().to_string(),
            (None, None) => String::new(),
        };
        let replaced = if m.replaced {
            " (replacing a different credential it held)"
        } else {
            ""
        };
        crate::outln!(
            "{verb} {} (user {}) from {source}{store}{replaced}",
            m.server,
            m.username,
        );
    }
    if args.dry_run {
        crate::outln!(
            "{} credential(s) would move; nothing was changed",
            moved.len()
        );
    } else {
        crate::outln!("{} credential(s) moved", moved.len());
    }
}
