//! `login REGISTRY`: check a credential with the registry the way `docker
//! login` does ([`crate::verify`]), then store it through the same store path
//! as the protocol's `store`. The sequence lives in `crate::login`; this
//! file reads the username and passwords and prints.

use anyhow::{bail, Result};
use clap::builder::TypedValueParser as _;

use super::CommandResult;
use crate::login::{self, Pairing};
use crate::registry::ServerKey;
use crate::secret::Secret;
use crate::store::{Credential, Credentials};
use crate::verify::Verdict;

#[derive(Debug, clap::Args)]
#[command(after_help = "\
The password is never taken from the command line (it would show in `ps` and shell history):
pipe it in with --password-stdin, or type it at the no-echo prompt. A password given with
`-p`/`--password`, as docker and oc take it, is refused (exit 2) and nothing is stored. Without
--username, the username is asked for on the terminal too (as `docker login` does).

The credential is checked with the registry before it is stored, as `docker login` does
(GET /v2/, then Basic, or a token from the registry's token realm; for a paired registry,
from its auth server with the credential the pair gives it). A refused credential is not
stored and an earlier one stays. --no-verify stores without asking the registry.

Example:
  echo \"$PW\" | docker-credential-keyring login registry.example.com -u me --password-stdin

Exit codes: 0 checked and stored, 1 error or refused (nothing was stored), 2 bad command line.")]
pub(crate) struct Args {
    /// Registry host (e.g. quay.io, registry.example.com:5000, docker.io)
    pub(crate) registry: String,
    /// Username (`<token>` stores an identity token); asked for on a terminal when missing
    #[arg(short, long)]
    pub(crate) username: Option<String>,
    /// Read the password (or token) from standard input
    #[arg(long)]
    pub(crate) password_stdin: bool,
    /// Refused (hidden; the after-help says why): docker's and oc's `-p VALUE`,
    /// parsed only so that it gets a pointer to the safe ways instead of
    /// clap's "unexpected argument". With or without a value, whatever follows.
    #[arg(
        short = 'p',
        long = "password",
        hide = true,
        num_args = 0..=1,
        default_missing_value = "",
        allow_hyphen_values = true,
        value_parser = clap::builder::OsStringValueParser::new().map(|_| ArgvPassword)
    )]
    pub(crate) password: Option<ArgvPassword>,
    /// Email to put in exported pull secrets
    #[arg(long)]
    pub(crate) email: Option<String>,
    /// Print nothing on success
    #[arg(short, long)]
    pub(crate) quiet: bool,
    /// Store without checking the credential with the registry (offline, registry not up yet)
    #[arg(long)]
    pub(crate) no_verify: bool,
    /// How to reach the registry
    #[command(flatten)]
    pub(crate) probe: super::pair::ProbeArgs,
    /// Delegated auth: pair the registry with its auth server (see `pair --help`)
    #[command(flatten)]
    pub(crate) pair: super::pair::LoginPairArgs,
}

/// A password given on the command line: only the fact is kept, never the
/// value (argv is already public; no copy of it goes further).
#[derive(Debug, Clone)]
pub(crate) struct ArgvPassword;

/// The refusal of `-p/--password`: the safe ways to give the password.
const PASSWORD_ON_ARGV: &str = "login does not take the password on the command line \
(-p/--password): it would show in `ps` and shell history. Pipe it in with --password-stdin \
(echo \"$PW\" | docker-credential-keyring login REGISTRY -u USER --password-stdin), or leave \
-p out to type it at the no-echo prompt";

pub(crate) fn run(args: Args) -> CommandResult {
    if args.password.is_some() {
        // A command-line mistake (exit 2), refused before anything is read or stored.
        eprintln!("error: {PASSWORD_ON_ARGV}");
        return Ok(2);
    }
    let key = ServerKey::parse(&args.registry)?;
    // The store refuses these too; said before anything is asked or sent.
    crate::registry::check_server_url_length(&args.registry)?;
    let username = match args.username {
        Some(username) => username,
        // Standard input holds the password: the username cannot come from there too.
        None if args.password_stdin => bail!("--password-stdin needs --username"),
        None => super::prompt::line_from_tty(&format!("Username for {key}: "))?,
    };
    crate::registry::check_username_length(&username)?;
    login::check_username(&key, &username)?;
    if let Some(why) = crate::export::dockerconfig::unrepresentable_username(&username) {
        // Stored anyway (docker itself can use it); said now rather than at export.
        crate::errln!("warning: {key}: {why}; `export` will skip this credential");
    }
    // Delegated auth: find and check the auth server before reading or storing anything.
    let pairing = login::Pairing::prepare(
        login::PairOptions {
            auth_server: args.pair.auth_server.as_deref(),
            discover: args.pair.discover,
            auth_username: args.pair.auth_username.as_deref(),
            use_auth_credential: args.pair.use_auth_credential,
        },
        &key,
        || args.probe.client(),
    )?;
    if let Some(note) = pairing.as_ref().and_then(|p| p.note(&key)) {
        crate::errln!("note: {note}");
    }
    let mut auth_stdin = None;
    let secret = if args.password_stdin && args.pair.auth_password_stdin {
        let (registry_secret, auth) = super::prompt::two_secrets_from_stdin()?;
        auth_stdin = Some(auth);
        registry_secret
    } else if args.password_stdin {
        if args.pair.auth_username.is_some() {
            bail!("--auth-username with --password-stdin needs --auth-password-stdin too (stdin then holds two lines: registry password, auth server password)");
        }
        super::prompt::secret_from_stdin()?
    } else {
        super::prompt::secret_from_tty(&format!("Password for {username}@{key}: "))?
    };
    let auth_secret = match &pairing {
        Some(p) => read_auth_secret(p, auth_stdin)?,
        None => None,
    };
    let store = Credentials::open()?;
    let credential = Credential {
        server_url: args.registry.trim().to_owned(),
        username,
        secret,
    };
    let client = if args.no_verify {
        None
    } else {
        Some(args.probe.client()?)
    };
    let stored = login::verify_then_store(
        &store,
        client.as_ref(),
        login::Login {
            key: &key,
            credential: &credential,
            email: args.email,
            pairing: pairing.as_ref(),
            auth_secret: auth_secret.as_ref(),
        },
        |note| crate::errln!("note: {note}"),
    )?;
    let kind = stored.kind;
    if !args.quiet {
        match stored.verdict {
            Some(Verdict::Accepted) => {
                crate::outln!("Login Succeeded: {key} (stored in the {kind} store)")
            }
            Some(_) => crate::outln!(
                "Stored {key} in the {kind} store: the registry asks for no credential, so it was not checked"
            ),
            None => crate::outln!(
                "Stored {key} in the {kind} store without checking it (--no-verify)"
            ),
        }
        note_if_docker_ignores(&key);
    }
    super::configure::follow_login(&key, args.quiet);
    if let (Some(pairing), Some(linked), false) = (&pairing, &stored.linked, args.quiet) {
        let auth_server = pairing.auth_server();
        let mut line = super::pair::linked_message(&key, auth_server, &linked.linked);
        if let Some(realm) = pairing.realm() {
            line.push_str(&format!(" (realm {realm})"));
        }
        crate::outln!("{line}");
        super::pair::print_removed(linked);
        if let Some(kind) = stored.auth_kind {
            crate::outln!(
                "Stored the auth server credential for {auth_server} (in the {kind} store)"
            );
        }
    }
    Ok(0)
}

/// The auth server's own password: the one read from stdin, else asked on
/// the terminal. `None` without `--auth-username`.
fn read_auth_secret(pairing: &Pairing, from_stdin: Option<Secret>) -> Result<Option<Secret>> {
    let Some(username) = pairing.auth_username() else {
        return Ok(None);
    };
    Ok(Some(match from_stdin {
        Some(secret) => secret,
        None => super::prompt::secret_from_tty(&format!(
            "Password for {username}@{}: ",
            pairing.auth_server()
        ))?,
    }))
}

/// Warns (stderr) when docker would not ask this helper for `key`.
fn note_if_docker_ignores(key: &ServerKey) {
    if let Ok(file) = crate::config::Flavor::Docker.open() {
        if !file.uses_helper(key, crate::config::HELPER) {
            crate::errln!(
                "note: {} does not send {key} to this helper yet; run `{} configure`",
                file.path().display(),
                crate::BINARY_NAME
            );
        }
    }
}
