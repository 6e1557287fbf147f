//! `check [REGISTRY...]`: does each stored credential still work? And
//! `check --image REF...`: may it pull (or push) these repositories? The
//! checks live in [`crate::check`] and [`crate::image_access`]; this file
//! parses, calls, prints.

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
     what the server answered (not a registry, pairs that disagree)

With --image REF (REGISTRY/REPOSITORY[:TAG|@sha256:DIGEST], as docker reads it: `alpine`
is docker.io/library/alpine:latest), the credential stored for that repository (the most
specific key: REGISTRY/team/app, then REGISTRY/team, then REGISTRY) asks for a token with
repository:NAME:pull scope (through the pair's auth server under the trust rule), then
HEADs the manifest. One line per image with the digest on success. --push also starts a
blob upload and cancels it (never a PUT; an upload it cannot cancel is named). Exit codes
for --image:
  0  every image may be pulled (and pushed, with --push)
  1  a credential was rejected or has expired, none is stored for an image's registry
     (the other images are still checked), or an error named on stderr
  2  bad command line (an invalid image reference is refused before any network I/O)
  3  some registry could not be asked (unreachable, or an answer that proves nothing)
  4  the credential works but access to the repository is denied
  5  the repository, tag or digest does not exist
With several images the most severe wins, in this order: 1, 4, 5, 3, 0.")]
pub(crate) struct Args {
    /// Registries to check (default: every stored credential)
    #[arg(conflicts_with = "images")]
    pub(crate) registries: Vec<String>,
    /// Prove the stored credential may pull this image's repository (repeatable)
    #[arg(long = "image", value_name = "REF", value_parser = parse_image)]
    pub(crate) images: Vec<crate::image_ref::ImageRef>,
    /// With --image: also prove push access (an upload started and cancelled)
    #[arg(long, requires = "images")]
    pub(crate) push: bool,
    /// Print JSON instead of lines
    #[arg(long)]
    pub(crate) json: bool,
    /// How to reach registries (--timeout bounds the whole run)
    #[command(flatten)]
    pub(crate) probe: super::pair::ProbeArgs,
}

fn parse_image(text: &str) -> Result<crate::image_ref::ImageRef, String> {
    crate::image_ref::parse(text).map_err(|e| e.to_string())
}

pub(crate) fn run(args: Args) -> CommandResult {
    if !args.images.is_empty() {
        return run_images(args);
    }
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

fn run_images(args: Args) -> CommandResult {
    let client = args.probe.client()?;
    let store = Credentials::open()?;
    let rows = crate::check::run_images(&store, &args.images, args.push, &client)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
    } else {
        let shown: Vec<String> = rows.iter().map(|r| table::cell(&r.reference)).collect();
        let width = shown.iter().map(|s| s.chars().count()).max().unwrap_or(0);
        for (row, reference) in rows.iter().zip(&shown) {
            let mut line = String::new();
            table::push_padded(&mut line, reference, width);
            // `-`: no credential was found for the image.
            let username = row.username.as_deref().map_or("-".to_owned(), table::cell);
            let verdict = serde_json::to_value(row.verdict)?;
            let verdict = verdict.as_str().unwrap_or_default();
            let digest = row
                .digest
                .as_deref()
                .map(|d| format!(" {d}"))
                .unwrap_or_default();
            crate::outln!("{line}  {username}  {verdict}{digest}: {}", row.detail);
            for note in &row.notes {
                crate::errln!("note: {note}");
            }
        }
    }
    Ok(crate::image_access::exit_code(&rows))
}
