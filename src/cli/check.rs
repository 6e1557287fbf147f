//! `check [REGISTRY...]`: does each stored credential still work? The checks
//! live in [`crate::check`]; this file parses, calls, prints.

use super::{table, CommandResult};
use crate::registry::ServerKey;
use crate::store::Credentials;

#[derive(Debug, clap::Args)]
#[command(after_help = "\
Asks each registry the way `login` does (GET /v2/, then Basic or a token from its realm;
through the paired auth server for a paired registry), 16 at a time, all within --timeout.
One line per credential: ok, rejected (by the registry or by its auth server, with the
HTTP status), unreachable, expired (a JWT whose exp has passed), or not checkable (why).
A secret that is a JWT expiring within 7 days gets a warning. Never prints a secret.

Exit codes:
  0  every credential checked is ok (or not checked on purpose: an auth server's own
     credential, checked through its paired registry; a registry that asks for none)
  1  a credential was rejected or has expired (or an error, named on stderr)
  2  bad command line
  3  none rejected, but some could not be asked: unreachable, or not checkable from
     what the server answered (not a registry, pairs that disagree)")]
pub(crate) struct Args {
    /// Registries to check (default: every stored credential)
    pub(crate) registries: Vec<String>,
    /// Print JSON instead of lines
    #[arg(long)]
    pub(crate) json: bool,
    /// How to reach registries (--timeout bounds the whole run)
    #[command(flatten)]
    pub(crate) probe: super::pair::ProbeArgs,
}

pub(crate) fn run(args: Args) -> CommandResult {
    let only = args
        .registries
        .iter()
        .map(|r| ServerKey::parse(r))
        .collect::<Result<Vec<_>, _>>()?;
    let client = args.probe.client()?;
    let rows = crate::check::run(&Credentials::open()?, &only, &client)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
    } else if rows.is_empty() {
        crate::outln!("No credentials stored (add one with `login REGISTRY`)");
    } else {
        let servers: Vec<String> = rows.iter().map(|r| table::cell(&r.server)).collect();
        let width = servers.iter().map(|s| s.chars().count()).max().unwrap_or(0);
        for (row, server) in rows.iter().zip(&servers) {
            let mut line = String::new();
            table::push_padded(&mut line, server, width);
            let username = table::cell(&row.username);
            crate::outln!("{line}  {username}  {}", row.verdict());
            if let Some(warning) = &row.expiry_warning {
                crate::errln!("warning: {warning}");
            }
            for note in &row.notes {
                crate::errln!("note: {note}");
            }
        }
    }
    Ok(crate::check::exit_code(&rows))
}
