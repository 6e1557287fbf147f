//! `migrate`: move the plaintext credentials of docker's config.json and the
//! containers auth file into the store ([`crate::migrate`] does the moving,
//! all or nothing); this file prints what moved.

use super::CommandResult;
use crate::migrate::{Moved, Plan};
use crate::store::Credentials;

#[derive(Debug, clap::Args)]
#[command(after_help = "\
Run `docker-credential-keyring configure` (and `configure --podman` for podman) first:
without it docker would no longer find the moved credentials, so migrate refuses (--force overrides).

Exit codes: 0 moved (or nothing to move), 1 error (the files were left untouched), 2 bad command line.")]
pub(crate) struct Args {
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
    let plan = Plan::read()?;
    if plan.is_empty() {
        if args.json {
            println!("[]");
        } else if !args.quiet {
            let names: Vec<String> = plan
                .file_paths()
                .iter()
                .map(|p| p.display().to_string())
                .collect();
            crate::outln!("No plaintext credentials in {}", names.join(" or "));
        }
        return Ok(0);
    }
    if !args.force {
        plan.check_configured()?;
    }
    let mut moved = plan.moves();
    if !args.dry_run {
        for note in plan.apply(&Credentials::open()?, &mut moved)? {
            crate::errln!("note: {note}");
        }
    }
    print_summary(&args, &moved);
    Ok(0)
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
