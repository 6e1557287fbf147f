//! `import FILE|-`: credentials from a pull secret or a docker config.json
//! into the store, all or nothing ([`crate::export::import`] plans and
//! writes); this file prints what was added, replaced and skipped.

use anyhow::Result;

use super::CommandResult;
use crate::config::{self, Flavor};
use crate::export::document::Document;
use crate::export::import::{Holder, Plan};
use crate::export::select::Pattern;
use crate::reader::source::read_source;
use crate::registry::ServerKey;
use crate::store::Credentials;

#[derive(Debug, clap::Args)]
#[command(after_help = "\
Reads a .dockerconfigjson (e.g. the pull secret downloaded from the cluster manager),
a Secret in JSON or YAML (kubectl/oc get secret -o json|yaml), a legacy .dockercfg,
or a docker config.json (its plaintext \"auths\"). Entries without usable \"auth\" are skipped.
The empty {} entry of a registry whose secret a credential helper holds (credsStore or
credHelpers in the file) is skipped naming that helper: if it is this one, the secret is in
the store already (`export` makes a pull secret of it); for another, the line shows the
command that copies it here (its `get` piped into `store`).

Exit codes: 0 imported, or nothing to import (skipped entries are listed), 1 error (nothing
was imported), 2 bad command line.")]
pub(crate) struct Args {
    /// The file to read, or - for standard input
    pub(crate) file: String,
    /// Only these registries (repeatable; key or glob like '*.example.com')
    #[arg(long = "registry", value_name = "KEY")]
    pub(crate) registries: Vec<String>,
    /// Print only the summary line
    #[arg(short, long)]
    pub(crate) quiet: bool,
}

pub(crate) fn run(args: Args) -> CommandResult {
    let patterns = args
        .registries
        .iter()
        .map(|r| Pattern::parse(r))
        .collect::<Result<Vec<_>>>()?;
    let doc = Document::parse(&read_source(&args.file)?)?;
    for note in doc.opaque_notes() {
        crate::errln!("note: {note}");
    }
    let helpers = doc.raw_config();
    let holder = |key: &ServerKey| {
        // A raw {"auths":...} may be docker's config.json or podman's auth.json.
        let (helper, member) = helpers.and_then(|root| {
            config::helper_of(root, Flavor::Docker, key)
                .or_else(|| config::helper_of(root, Flavor::Containers, key))
        })?;
        Some(Holder {
            helper: helper.to_owned(),
            member,
            ours: helper == config::HELPER,
        })
    };
    let plan = Plan::new(&doc, &patterns, &args.file, &holder)?;
    let store = Credentials::open()?;
    let (added, replaced) = plan.write(&store)?;
    if !args.quiet {
        for p in plan.planned.values() {
            let verb = if replaced.contains(p.key.as_str()) {
                "replaced"
            } else {
                "added"
            };
            crate::outln!("{verb:<8} {} ({})", p.key, p.username());
        }
        for s in &plan.skipped {
            crate::outln!("skipped  {s}");
        }
    }
    let held = match plan.held {
        0 => String::new(),
        n => format!(" ({n} held by a credential helper)"),
    };
    crate::outln!(
        "{} added, {} replaced, {} skipped{held}",
        added,
        replaced.len(),
        plan.skipped.len()
    );
    Ok(0)
}
