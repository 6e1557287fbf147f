//! The human commands. Protocol verbs (store/get/erase/list/version) never
//! reach this module: [`crate::run`] sends them to [`crate::protocol`].
//!
//! Each command lives in its own file with its `Args` struct and a `run`
//! function; this file only declares the command set and turns errors into
//! `error: ...` on stderr with the documented exit codes.

use std::ffi::OsString;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

pub(crate) mod audit;
pub(crate) mod check;
pub(crate) mod completions;
pub(crate) mod configure;
pub(crate) mod doctor;
pub(crate) mod export;
pub(crate) mod grant_pull;
pub(crate) mod import;
pub(crate) mod kubelet_provider;
pub(crate) mod login;
pub(crate) mod logout;
pub(crate) mod ls;
pub(crate) mod migrate;
pub(crate) mod output;
pub(crate) mod pair;
pub(crate) mod prompt;
pub(crate) mod table;

/// Exit codes, shown in `--help`.
pub(crate) const EXIT_CODES: &str = "\
Exit codes:
  0  success
  1  error (the message says what happened and what to do)
  2  invalid command line

Protocol verbs (for docker, podman, skopeo): store, get, erase, list, version.
They read the request on stdin and answer on stdout, as docker-credential-helpers do.";

#[derive(Debug, Parser)]
#[command(
    name = "docker-credential-keyring",
    version,
    about = "Registry credentials in your OS keyring (or an embedded file store), for docker, podman, skopeo and cluster pull secrets",
    after_help = EXIT_CODES
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Check a registry credential with the registry, then store it (password from stdin or a prompt, never from argv)
    Login(login::Args),
    /// Remove a registry credential (and its pair link)
    Logout(logout::Args),
    /// List stored credentials (never prints secrets)
    Ls(ls::Args),
    /// Ask each registry whether its stored credential still works
    Check(check::Args),
    /// Report whether deployed pull secrets are stale, rejected, expiring or unknown here (never prints secrets)
    Audit(audit::Args),
    /// Write stored credentials as a pull secret (.dockerconfigjson, .dockercfg, Secret)
    Export(export::Args),
    /// Load credentials from a pull secret or a docker config.json
    Import(import::Args),
    /// Link registries to the auth servers (SSO) that issue their tokens
    Pair(pair::Args),
    /// Make docker (or, with --podman, podman, skopeo and buildah) use this helper
    Configure(configure::Args),
    /// Undo what `configure` set
    Unconfigure(configure::UnconfigureArgs),
    /// Move plaintext secrets out of docker/containers config files into the store
    Migrate(migrate::Args),
    /// Explain which store is used and why, and what is broken
    Doctor(doctor::Args),
    /// Print shell completions (bash, zsh, fish, ...) or the man page
    Completions(completions::Args),
    /// Print a RoleBinding that lets one namespace pull images from another
    GrantPull(grant_pull::Args),
    /// Answer the kubelet's image credential requests from the store (run by the kubelet, see its CredentialProviderConfig)
    KubeletCredentialProvider(kubelet_provider::Args),
}

/// The clap command, for completions and the man page.
pub(crate) fn command() -> clap::Command {
    Cli::command()
}

/// The protocol verbs, hidden from help and completions, so that a near-miss
/// such as `stor` gets clap's "a similar subcommand exists" tip too.
const PROTOCOL_VERBS: [&str; 5] = ["store", "get", "erase", "list", "version"];

/// Parses `args` and runs the command; returns the exit code. A bad command
/// line (unknown command or flag) is clap's message on stderr, exit 2.
///
/// SIGPIPE is ignored (a closed pipe must be an error for the protocol), so
/// `println!` panics when the reader has gone (`ls | head -1`). That is the
/// end of the output, not a bug: the command unwinds (its undo guards run)
/// and exits 1, silently for a reader that went away, with one error line for
/// another write failure (a full disk), never with a panic and backtrace.
pub(crate) fn run(args: Vec<OsString>) -> i32 {
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if stdout_failure(info.payload()).is_none() {
            default_hook(info);
        }
    }));
    match std::panic::catch_unwind(move || run_command(args)) {
        Ok(code) => code,
        Err(payload) => match stdout_failure(payload.as_ref()) {
            Some(message) => {
                if !message.contains("Broken pipe") {
                    eprintln!("error: {}", crate::printable::printable(message));
                }
                1
            }
            None => std::panic::resume_unwind(payload),
        },
    }
}

/// The message of a panic raised by `print!`/`println!` failing to write
/// standard output, if that is what `payload` is.
fn stdout_failure(payload: &(dyn std::any::Any + Send)) -> Option<&str> {
    let message = payload
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| payload.downcast_ref::<&str>().copied())?;
    message
        .starts_with("failed printing to stdout")
        .then_some(message)
}

fn run_command(args: Vec<OsString>) -> i32 {
    let parser = Cli::command().subcommands(
        PROTOCOL_VERBS
            .iter()
            .map(|verb| clap::Command::new(*verb).hide(true)),
    );
    let parsed =
        parser
            .try_get_matches_from(args)
            .and_then(|matches| match matches.subcommand_name() {
                // A verb reached here only with extra words: `crate::run` answers
                // that with the protocol usage before clap sees it.
                Some(name) if PROTOCOL_VERBS.contains(&name) => Ok(None),
                _ => Cli::from_arg_matches(&matches).map(Some),
            });
    let cli = match parsed {
        Ok(Some(cli)) => cli,
        Ok(None) => return crate::protocol::usage_error(),
        Err(err) => {
            let _ = err.print();
            return if err.use_stderr() { 2 } else { 0 };
        }
    };
    let result = match cli.command {
        Command::Login(args) => login::run(args),
        Command::Logout(args) => logout::run(args),
        Command::Ls(args) => ls::run(args),
        Command::Check(args) => check::run(args),
        Command::Audit(args) => audit::run(args),
        Command::Export(args) => export::run(args),
        Command::Import(args) => import::run(args),
        Command::Pair(args) => pair::run(args),
        Command::Configure(args) => configure::run(args),
        Command::Unconfigure(args) => configure::run_unconfigure(args),
        Command::Migrate(args) => migrate::run(args),
        Command::Doctor(args) => doctor::run(args),
        Command::Completions(args) => completions::run(args),
        Command::GrantPull(args) => grant_pull::run(args),
        Command::KubeletCredentialProvider(args) => kubelet_provider::run(args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {}", crate::protocol::error_line(&err));
            1
        }
    }
}

/// The result of a command: an exit code (0 unless the command says otherwise).
pub(crate) type CommandResult = anyhow::Result<i32>;
