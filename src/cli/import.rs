//! `import FILE|-`: credentials from a pull secret or a docker config.json
//! into the store. Everything is validated before the first write, and a
//! failed write puts back what the earlier ones changed: all or nothing.

use std::collections::BTreeMap;

use anyhow::{anyhow, bail, Context, Result};

use super::CommandResult;
use crate::export::dockerconfig::{self, Found};
use crate::export::document::Document;
use crate::export::select::{self, Pattern};
use crate::registry::ServerKey;
use crate::store::{Credential, Credentials, Put};

/// Largest input read (a pull secret with hundreds of registries is ~100 KiB).
const MAX_INPUT: u64 = 16 * 1024 * 1024;

#[derive(Debug, clap::Args)]
#[command(after_help = "\
Reads a .dockerconfigjson (e.g. the pull secret downloaded from the cluster manager),
a Secret in JSON or YAML (kubectl/oc get secret -o json|yaml), a legacy .dockercfg,
or a docker config.json (its plaintext \"auths\"). Entries without usable \"auth\" are skipped.

Exit codes: 0 imported (skipped entries are listed), 1 error (nothing was imported), 2 bad command line.")]
pub struct Args {
    /// The file to read, or - for standard input
    pub file: String,
    /// Only these registries (repeatable; key or glob like '*.example.com')
    #[arg(long = "registry", value_name = "KEY")]
    pub registries: Vec<String>,
    /// Print only the summary line
    #[arg(short, long)]
    pub quiet: bool,
}

/// One credential to write.
struct Planned {
    key: ServerKey,
    spelling: String,
    found: Found,
}

pub fn run(args: Args) -> CommandResult {
    let patterns = args
        .registries
        .iter()
        .map(|r| Pattern::parse(r))
        .collect::<Result<Vec<_>>>()?;
    let doc = Document::parse(&read_input(&args.file)?)?;
    let mut planned: BTreeMap<String, Planned> = BTreeMap::new();
    let mut skipped: Vec<String> = Vec::new();
    for (spelling, value) in doc.entries()? {
        let key = ServerKey::parse(&spelling)
            .map_err(|e| anyhow!("entry {:?}: {e}", crate::registry::shown(&spelling)))?;
        let found = match dockerconfig::read_entry(&spelling, &value)? {
            Ok(found) => found,
            Err(why) => {
                skipped.push(format!("{spelling}: {why}"));
                continue;
            }
        };
        if let Some(why) = dockerconfig::unrepresentable_username(&found.username) {
            skipped.push(format!("{spelling}: {why}"));
            continue;
        }
        if !select::selected(&patterns, key.as_str()) {
            continue;
        }
        if let Some(other) = planned.get(key.as_str()) {
            if other.found.username != found.username || other.found.password != found.password {
                bail!(
                    "entries {:?} and {spelling:?} are the same registry ({key}) with different credentials: remove one and import again",
                    other.spelling
                );
            }
            continue;
        }
        planned.insert(
            key.as_str().to_owned(),
            Planned {
                key,
                spelling,
                found,
            },
        );
    }
    for pattern in &patterns {
        if !planned.keys().any(|k| pattern.matches(k)) {
            bail!(
                "--registry {:?} matches no importable entry in {}",
                pattern.raw,
                args.file
            );
        }
    }
    let store = Credentials::open()?;
    let (added, replaced) = write_all(&store, &planned)?;
    if !args.quiet {
        for p in planned.values() {
            let verb = if replaced.contains(p.key.as_str()) {
                "replaced"
            } else {
                "added"
            };
            crate::outln!("{verb:<8} {} ({})", p.key, p.found.username);
        }
        for s in &skipped {
            crate::outln!("skipped  {s}");
        }
    }
    crate::outln!(
        "{} added, {} replaced, {} skipped",
        added,
        replaced.len(),
        skipped.len()
    );
    Ok(0)
}

/// Writes every planned credential in one all-or-nothing batch
/// ([`Credentials::put_all`]: one lock, one index save). Returns how many were
/// added and which keys were replaced.
fn write_all(
    store: &Credentials,
    planned: &BTreeMap<String, Planned>,
) -> Result<(usize, std::collections::BTreeSet<String>)> {
    let db = store.load()?;
    let replaced: std::collections::BTreeSet<String> = planned
        .values()
        .filter(|p| db.credentials.contains_key(p.key.as_str()))
        .map(|p| p.key.as_str().to_owned())
        .collect();
    let credentials: Vec<Credential> = planned
        .values()
        .map(|p| Credential {
            server_url: p.spelling.clone(),
            username: p.found.username.clone(),
            secret: p.found.password.clone(),
        })
        .collect();
    let puts: Vec<Put> = planned
        .values()
        .zip(&credentials)
        .map(|(p, credential)| Put {
            key: &p.key,
            credential,
            email: Some(&p.found.email),
        })
        .collect();
    store.put_all(&puts).context("nothing was imported")?;
    Ok((planned.len() - replaced.len(), replaced))
}

/// Reads FILE or standard input (`-`), bounded, as UTF-8 text. A pull secret
/// holds passwords: read through the wiping reader the protocol uses.
pub fn read_input(source: &str) -> Result<String> {
    let max = MAX_INPUT as usize;
    let mut bytes = if source == "-" {
        crate::input::read_limited(&mut std::io::stdin().lock(), max)
            .context("cannot read standard input")?
    } else {
        std::fs::File::open(source)
            .and_then(|mut f| crate::input::read_limited(&mut f, max))
            .with_context(|| format!("cannot read {source}"))?
    };
    if bytes.len() > max {
        bail!(
            "{} is larger than {} MiB: not a pull secret",
            if source == "-" {
                "standard input"
            } else {
                source
            },
            MAX_INPUT / 1024 / 1024
        );
    }
    String::from_utf8(std::mem::take(&mut *bytes)).map_err(|err| {
        zeroize::Zeroize::zeroize(&mut err.into_bytes());
        anyhow!("{source} is not UTF-8 text")
    })
}
