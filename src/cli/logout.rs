//! `logout REGISTRY` / `logout --all`.

use anyhow::bail;

use super::CommandResult;
use crate::registry::ServerKey;
use crate::store::Credentials;

#[derive(Debug, clap::Args)]
#[command(after_help = "\
Logging out of a registry you are not logged in to is not an error. `logout REGISTRY`
also removes the registry's pair, the auth server credential stored with that pair
(`login --auth-username`) when no other pair uses it (a credential the pair did not
store is never removed with it), and, when REGISTRY is an auth server, its pairs whose
registries hold no credential (nothing would answer for them).

Exit codes: 0 done, 1 error (the store could not be changed), 2 bad command line.")]
pub(crate) struct Args {
    /// Registry to log out of
    #[arg(required_unless_present = "all", conflicts_with = "all")]
    pub(crate) registry: Option<String>,
    /// Remove every stored credential and every pair
    #[arg(long)]
    pub(crate) all: bool,
    /// Print nothing on success
    #[arg(short, long)]
    pub(crate) quiet: bool,
}

pub(crate) fn run(args: Args) -> CommandResult {
    let store = Credentials::open()?;
    if args.all {
        let report = crate::pairs::logout_all(&store)?;
        if !args.quiet {
            print_all_report(&report);
        }
        return Ok(0);
    }
    let key = match &args.registry {
        Some(r) => ServerKey::parse(r)?,
        None => bail!("name a registry or pass --all"),
    };
    // Also removes the key's pair and its auth server's own credential
    // when no other pair uses it (crate::pairs::logout).
    let report = crate::pairs::logout(&store, &key)?;
    if !args.quiet {
        if report.credential {
            crate::outln!("Removed the credential for {key}");
        } else {
            crate::outln!("Not logged in to {key}");
        }
        print_pair_report(&key, &report);
    }
    Ok(0)
}

/// What `logout --all` removed, one line each.
fn print_all_report(report: &crate::pairs::LogoutAllReport) {
    if report.credentials.is_empty() && report.pairs.is_empty() {
        crate::outln!("No stored credentials");
    }
    for key in &report.credentials {
        crate::outln!("Removed the credential for {key}");
    }
    for (registry, auth) in &report.pairs {
        crate::outln!("Removed the pair {registry} -> {auth}");
    }
}

/// What the pair cascade of `logout` did, one line each.
fn print_pair_report(key: &ServerKey, report: &crate::pairs::LogoutReport) {
    for registry in &report.emptied_pairs {
        crate::outln!("Removed the pair {registry} -> {key}: no credential is left for it");
    }
    let Some(auth) = &report.auth_server else {
        return;
    };
    crate::outln!("Removed the pair {key} -> {auth}");
    if report.auth_credential {
        crate::outln!("Removed the credential for auth server {auth}");
    } else if !report.still_used_by.is_empty() {
        crate::outln!(
            "Kept auth server {auth}: still paired with {}",
            report.still_used_by.join(", ")
        );
    } else if report.not_owned {
        crate::outln!(
            "Kept the credential for {auth}: it was not stored with this pair (`logout {auth}` removes it)"
        );
    }
}
