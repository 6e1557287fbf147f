//! `audit FILE|-`: are the pull secrets deployed in a cluster still what the
//! store holds, and do they still work? The findings come from
//! [`crate::audit`]; this file reads the document, calls, prints.

use super::{table, CommandResult};
use crate::audit::{self, Report};
use crate::export::document::Document;
use crate::reader::source::{read_source_up_to, MAX_CLUSTER_SOURCE};
use crate::store::Credentials;

#[derive(Debug, clap::Args)]
#[command(after_help = "\
Reads what is deployed: a Secret, a v1 List of them (items that are no pull secrets are
skipped), or a bare .dockerconfigjson/.dockercfg payload, in JSON or YAML:
  kubectl get secrets -A --field-selector type=kubernetes.io/dockerconfigjson -o json \\
    | docker-credential-keyring audit -
One line per entry of each Secret, never a secret:
  ok           what the store holds, and the registry accepts it
  stale        the store holds another credential for that registry (rotated here, not deployed)
  rejected     the registry or its token realm refuses the deployed credential
  expired      the deployed secret is a JWT past its exp
  expiring     ... within 7 days
  unreachable  the registry could not be asked
  unknown      the store holds nothing for that registry
  invalid      the entry (or the Secret's payload) cannot be read
Each distinct credential is asked once (as `check` asks: GET /v2/, then Basic or a token
from the realm the registry names), 16 at a time, all within --timeout; never with a
credential of the store.

Exit codes (the first that applies wins):
  1  a credential was rejected or has expired, an entry is invalid, or an error
  6  stale
  3  unreachable (could not ask)
  7  unknown here
  8  expiring within 7 days
  0  every entry is ok
  2  bad command line")]
pub(crate) struct Args {
    /// The deployed pull secrets: a file, or - for standard input
    #[arg(value_name = "FILE|-")]
    pub(crate) source: String,
    /// Print a JSON array of findings instead of a table
    #[arg(long)]
    pub(crate) json: bool,
    /// Compare with the store and read JWT expiry only: ask no registry
    #[arg(long)]
    pub(crate) offline: bool,
    /// How to reach registries (--timeout bounds the whole run)
    #[command(flatten)]
    pub(crate) probe: super::pair::ProbeArgs,
}

pub(crate) fn run(args: Args) -> CommandResult {
    let text = read_source_up_to(
        &args.source,
        MAX_CLUSTER_SOURCE,
        "audit fewer Secrets at a time (one namespace with -n, or --field-selector type=kubernetes.io/dockerconfigjson)",
    )?;
    let doc = Document::parse_unread(&text);
    zeroize::Zeroize::zeroize(&mut text.into_bytes());
    let doc = doc?;
    let client = if args.offline {
        None
    } else {
        Some(args.probe.client()?)
    };
    let report = audit::run(&doc, &Credentials::open()?, client.as_ref())?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report.rows)?);
    } else {
        print_table(&report);
    }
    if report.skipped > 0 {
        crate::errln!(
            "note: {} item(s) of the List are no pull secrets: skipped",
            report.skipped
        );
    }
    for (finding, _) in audit::counts(&report.rows) {
        if let Some(fix) = finding.fix() {
            crate::errln!("fix: {fix}");
        }
    }
    for command in audit::stale_fix_commands(&report.rows) {
        crate::errln!("  {command}");
    }
    Ok(audit::exit_code(&report.rows))
}

fn print_table(report: &Report) {
    let rows: Vec<[String; 5]> = report
        .rows
        .iter()
        .map(|r| {
            let secret = match (&r.namespace, &r.name) {
                (Some(ns), Some(name)) => format!("{ns}/{name}"),
                (None, Some(name)) => name.clone(),
                _ => "-".into(),
            };
            [
                secret,
                r.registry.clone(),
                r.username.clone().unwrap_or_else(|| "-".into()),
                r.finding.name().into(),
                r.detail.clone(),
            ]
        })
        .collect();
    if !rows.is_empty() {
        table::print(
            ["SECRET", "REGISTRY", "USERNAME", "FINDING", "DETAIL"],
            &rows,
        );
    }
    let counts: Vec<String> = audit::counts(&report.rows)
        .iter()
        .map(|(f, n)| format!("{n} {}", f.name()))
        .collect();
    crate::outln!(
        "{} in {}: {}; {} asked",
        plural(report.rows.len(), "entry", "entries"),
        plural(report.secrets, "pull secret", "pull secrets"),
        if counts.is_empty() {
            "nothing to audit".to_owned()
        } else {
            counts.join(", ")
        },
        plural(report.asked, "distinct credential", "distinct credentials")
    );
}

/// `1 entry`, `2 entries`.
fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}
