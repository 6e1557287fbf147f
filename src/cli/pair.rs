//! `pair add|rm|ls|discover`: link registries to the auth servers (SSO token
//! realms) that issue their tokens. The rules live in [`crate::pairs`]; the
//! network probe in [`crate::discover`] and `crate::login::find_auth_server`.

use anyhow::{bail, Result};
use clap::Subcommand;

use super::CommandResult;
use crate::http;
use crate::pairs::{
    self, AuthCredential, AuthStatus, Intent, LinkReport, Linked, Origin, PairStatus,
};
use crate::registry::ServerKey;
use crate::store::Credentials;

#[derive(Debug, clap::Args)]
#[command(after_help = "\
A registry that delegates login (e.g. registry.connect.redhat.com -> sso.redhat.com) \
needs a credential for both hosts in pull secrets. Pair them once: `get AUTH_SERVER` \
then answers with the registry's credential (unless the auth server has its own), \
`list` shows the auth server, and exports carry both entries.

A registry never chooses which of your credentials it gets: the registry's token \
requests carry its own credential, unless the pair ties the auth server's own to it \
(`login --auth-username`, or `--use-auth-credential` on an auth server you name). An \
auth server's credential that is not tied to the pair is never sent, exported or \
removed with the registry.

Exit codes: 0 done, 1 error (the pairs are unchanged), 2 bad command line.")]
pub(crate) struct Args {
    #[command(subcommand)]
    pub(crate) command: PairCommand,
}

/// The exit-code line of every `pair` subcommand.
const SUBCOMMAND_EXIT_CODES: &str =
    "Exit codes: 0 done, 1 error (the pairs are unchanged), 2 bad command line.";

#[derive(Debug, Subcommand)]
pub(crate) enum PairCommand {
    /// Link REGISTRY to AUTH_SERVER (replaces REGISTRY's earlier pair)
    Add(AddArgs),
    /// Remove REGISTRY's pair (credentials stay)
    Rm(RmArgs),
    /// Show every pair and what its auth server answers with
    Ls(LsArgs),
    /// Ask REGISTRY's /v2/ endpoint for its token realm and record the pair
    Discover(DiscoverArgs),
}

#[derive(Debug, clap::Args)]
#[command(after_help = SUBCOMMAND_EXIT_CODES)]
pub(crate) struct AddArgs {
    /// Registry key (e.g. registry.connect.redhat.com)
    pub(crate) registry: String,
    /// Auth server key: a host (sso.redhat.com) or host + realm path prefix
    pub(crate) auth_server: String,
    /// Use the credential AUTH_SERVER already holds for REGISTRY's token
    /// requests (by default they carry REGISTRY's own credential)
    #[arg(long)]
    pub(crate) use_auth_credential: bool,
    /// Print nothing on success
    #[arg(short, long)]
    pub(crate) quiet: bool,
}

#[derive(Debug, clap::Args)]
#[command(after_help = SUBCOMMAND_EXIT_CODES)]
pub(crate) struct RmArgs {
    /// Registry whose pair to remove
    pub(crate) registry: String,
    /// Print nothing on success
    #[arg(short, long)]
    pub(crate) quiet: bool,
}

#[derive(Debug, clap::Args)]
#[command(after_help = SUBCOMMAND_EXIT_CODES)]
pub(crate) struct LsArgs {
    /// Print JSON instead of a table
    #[arg(long)]
    pub(crate) json: bool,
}

/// Options for talking to registries (shared by `pair discover`, `login`, `check`).
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct ProbeArgs {
    /// Allow plain HTTP to a host that is not loopback (loopback hosts fall back to it anyway)
    #[arg(long)]
    pub(crate) insecure: bool,
    /// Give up after this many seconds (bounds the whole exchange)
    #[arg(long, value_name = "SECONDS", default_value_t = http::DEFAULT_TIMEOUT.as_secs_f64())]
    pub(crate) timeout: f64,
}

impl ProbeArgs {
    /// The registry client these options describe.
    pub(crate) fn client(&self) -> Result<http::Client> {
        Ok(http::Client::new(http::Options::new(
            self.insecure,
            self.timeout,
        )?))
    }
}

#[derive(Debug, clap::Args)]
#[command(after_help = SUBCOMMAND_EXIT_CODES)]
pub(crate) struct DiscoverArgs {
    /// Registry to ask (HTTPS GET /v2/)
    pub(crate) registry: String,
    /// Print what was found without recording the pair
    #[arg(long)]
    pub(crate) dry_run: bool,
    #[command(flatten)]
    pub(crate) probe: ProbeArgs,
    /// Print nothing but errors
    #[arg(short, long)]
    pub(crate) quiet: bool,
}

pub(crate) fn run(args: Args) -> CommandResult {
    match args.command {
        PairCommand::Add(a) => add(a),
        PairCommand::Rm(a) => rm(a),
        PairCommand::Ls(a) => ls(a),
        PairCommand::Discover(a) => discover_cmd(a),
    }
}

fn add(args: AddArgs) -> CommandResult {
    let registry = ServerKey::parse(&args.registry)?;
    let auth = ServerKey::parse(&args.auth_server)?;
    let intent = if args.use_auth_credential {
        Intent::UseStored
    } else {
        Intent::RegistryCredential
    };
    let (report, plan) = pairs::link(
        &Credentials::open()?,
        &registry,
        &auth,
        &intent,
        Origin::Named,
    )?;
    if let Some(note) = plan.note(&registry, &auth) {
        crate::errln!("note: {note}");
    }
    if !args.quiet {
        crate::outln!("{}", linked_message(&registry, &auth, &report.linked));
        print_removed(&report);
    }
    Ok(0)
}

/// The auth-server credential a replaced pair owned, removed with it.
pub(crate) fn print_removed(report: &LinkReport) {
    if let Some(old) = &report.removed {
        crate::outln!(
            "Removed the credential for auth server {old} (stored with the replaced pair)"
        );
    }
}

/// One line saying what [`pairs::link`] did.
pub(crate) fn linked_message(registry: &ServerKey, auth: &ServerKey, linked: &Linked) -> String {
    match linked {
        Linked::Added => format!("Paired {registry} with auth server {auth}"),
        Linked::Unchanged => format!("{registry} is already paired with auth server {auth}"),
        Linked::Replaced(old) => {
            format!("Paired {registry} with auth server {auth} (was {old})")
        }
    }
}

fn rm(args: RmArgs) -> CommandResult {
    let registry = ServerKey::parse(&args.registry)?;
    match pairs::unlink(&Credentials::open()?, &registry)? {
        Some(auth) => {
            if !args.quiet {
                crate::outln!("Removed the pair {registry} -> {auth}");
            }
            Ok(0)
        }
        None => bail!("{registry} is not paired with an auth server (see `pair ls`)"),
    }
}

fn ls(args: LsArgs) -> CommandResult {
    let store = Credentials::open()?;
    let rows = pairs::status(&store, &store.load()?)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(0);
    }
    if rows.is_empty() {
        crate::outln!(
            "No pairs (add one with `pair add REGISTRY AUTH_SERVER` or `pair discover REGISTRY`)"
        );
        return Ok(0);
    }
    print_table(&rows);
    Ok(0)
}

fn answer_text(status: &PairStatus) -> String {
    match &status.answer {
        AuthStatus::Own => "own credential".into(),
        AuthStatus::Registry { registry } => format!("credential of {registry}"),
        AuthStatus::Conflict { registries, reason } => format!(
            "CONFLICT: {} have different {}s (store its own credential, or fix one)",
            registries.join(", "),
            match reason {
                pairs::Disagreement::Username => "username",
                pairs::Disagreement::Secret => "password",
            }
        ),
        AuthStatus::None => "nothing (no credential stored)".into(),
    }
}

/// Whose credential the registry's token requests carry.
fn tokens_text(status: &PairStatus) -> &'static str {
    match status.auth_credential {
        AuthCredential::Registry => "registry's own",
        AuthCredential::Owned => "auth server's (stored with the pair)",
        AuthCredential::Shared => "auth server's (shared, agreed)",
    }
}

fn print_table(rows: &[PairStatus]) {
    let cells: Vec<[String; 5]> = rows
        .iter()
        .map(|r| {
            [
                r.registry.clone(),
                r.auth_server.clone(),
                if r.registry_credential { "yes" } else { "no" }.into(),
                tokens_text(r).into(),
                answer_text(r),
            ]
        })
        .collect();
    super::table::print(
        [
            "REGISTRY",
            "AUTH SERVER",
            "LOGGED IN",
            "TOKEN REQUESTS CARRY",
            "AUTH SERVER ANSWERS WITH",
        ],
        &cells,
    );
}

fn discover_cmd(args: DiscoverArgs) -> CommandResult {
    let registry = ServerKey::parse(&args.registry)?;
    let found = crate::login::find_auth_server(&args.probe.client()?, &registry)?;
    if args.dry_run {
        crate::outln!("registry:    {registry}");
        crate::outln!("realm:       {}", found.realm);
        if let Some(service) = &found.service {
            crate::outln!("service:     {service}");
        }
        crate::outln!("auth server: {}", found.auth_server);
        crate::outln!("(dry run: nothing recorded; run without --dry-run to pair them)");
        return Ok(0);
    }
    // A discovered realm never picks one of the user's credentials: the
    // registry's own is what its token requests carry.
    let (report, plan) = pairs::link(
        &Credentials::open()?,
        &registry,
        &found.auth_server,
        &Intent::RegistryCredential,
        Origin::Discovered,
    )?;
    if let Some(note) = plan.note(&registry, &found.auth_server) {
        crate::errln!("note: {note}");
    }
    if !args.quiet {
        crate::outln!(
            "{} (realm {})",
            linked_message(&registry, &found.auth_server, &report.linked),
            found.realm
        );
        print_removed(&report);
    }
    Ok(0)
}

/// `login`'s pair options: link the registry to its auth server in the same step.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct LoginPairArgs {
    /// Also pair the registry with this auth server (SSO host that issues its tokens)
    #[arg(long, value_name = "HOST", conflicts_with = "discover")]
    pub(crate) auth_server: Option<String>,
    /// Also pair the registry with the auth server its /v2/ endpoint names (HTTPS)
    #[arg(long)]
    pub(crate) discover: bool,
    /// Store a credential of its own for the auth server under this username
    /// (by default the auth server uses the registry's credential)
    #[arg(long, value_name = "USER")]
    pub(crate) auth_username: Option<String>,
    /// Read the auth server's password from stdin. With --password-stdin, stdin
    /// holds two lines: the registry password, then the auth server password
    #[arg(long, requires = "auth_username", requires = "password_stdin")]
    pub(crate) auth_password_stdin: bool,
    /// With --auth-server: use the credential that auth server already holds
    /// for this registry's token requests (by default they carry the
    /// registry's own credential; a discovered auth server never gets this)
    #[arg(
        long,
        requires = "auth_server",
        conflicts_with_all = ["auth_username", "discover"]
    )]
    pub(crate) use_auth_credential: bool,
}
