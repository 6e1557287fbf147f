//! `logout REGISTRY` / `logout --all`.

use anyhow::bail;

use super::CommandResult;
use crate::registry::ServerKey;
use crate::store::Credentials;

#[derive(Debug, clap::Args)]
#[command(after_help = "\
Logging out of a registry you are not logged in to is not an error.

Exit codes: 0 done, 1 error (the store could not be changed), 2 bad command line.")]
pub struct Args {
    /// Registry to log out of
    #[arg(required_unless_present = "all", conflicts_with = "all")]
    pub registry: Option<String>,
    /// Remove every stored credential
    #[arg(long)]
    pub all: bool,
    /// Print nothing on success
    #[arg(short, long)]
    pub quiet: bool,
}

pub fn run(args: Args) -> CommandResult {
    let store = Credentials::open()?;
    let keys: Vec<ServerKey> = if args.all {
        store
            .list()?
            .into_iter()
            .filter_map(|l| ServerKey::parse(&l.key).ok())
            .collect()
    } else {
        match &args.registry {
            Some(r) => vec![ServerKey::parse(r)?],
            None => bail!("name a registry or pass --all"),
        }
    };
    if keys.is_empty() && !args.quiet {
        println!("No stored credentials");
    }
    for key in &keys {
        // Also removes the key's pair and its auth server's own credential
        // when no other pair uses it (crate::pairs::logout).
        let report = crate::pairs::logout(&store, key)?;
        if !args.quiet {
            if report.credential {
                println!("Removed the credential for {key}");
            } else {
                println!("Not logged in to {key}");
            }
            print_pair_report(key, &report);
        }
    }
    Ok(0)
}

/// What the pair cascade of `logout` did, one line each.
fn print_pair_report(key: &ServerKey, report: &crate::pairs::LogoutReport) {
    let Some(auth) = &report.auth_server else {
        return;
    };
    println!("Removed the pair {key} -> {auth}");
    if report.auth_credential {
        println!("Removed the credential for auth server {auth}");
    } else if !report.still_used_by.is_empty() {
        println!(
            "Kept auth server {auth}: still paired with {}",
            report.still_used_by.join(", ")
        );
    }
}
