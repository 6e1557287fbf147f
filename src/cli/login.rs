//! `login REGISTRY`: store a credential the way `docker login` would, through
//! the same store path as the protocol's `store`.

use anyhow::bail;

use super::CommandResult;
use crate::registry::ServerKey;
use crate::store::{Credential, Credentials, Put};

#[derive(Debug, clap::Args)]
#[command(after_help = "\
The password is never taken from the command line (it would show in `ps` and shell history):
pipe it in with --password-stdin, or type it at the no-echo prompt. Without --username, the
username is asked for on the terminal too (as `docker login` does).

Example:
  echo \"$PW\" | docker-credential-keyring login registry.example.com -u me --password-stdin

Exit codes: 0 stored, 1 error (nothing was stored), 2 bad command line.")]
pub struct Args {
    /// Registry host (e.g. quay.io, registry.example.com:5000, docker.io)
    pub registry: String,
    /// Username (`<token>` stores an identity token); asked for on a terminal when missing
    #[arg(short, long)]
    pub username: Option<String>,
    /// Read the password (or token) from standard input
    #[arg(long)]
    pub password_stdin: bool,
    /// Email to put in exported pull secrets
    #[arg(long)]
    pub email: Option<String>,
    /// Print nothing on success
    #[arg(short, long)]
    pub quiet: bool,
    /// Delegated auth: pair the registry with its auth server (see `pair --help`)
    #[command(flatten)]
    pub pair: super::pair::LoginPairArgs,
}

pub fn run(args: Args) -> CommandResult {
    let key = ServerKey::parse(&args.registry)?;
    let username = match args.username {
        Some(username) => username,
        // Standard input holds the password: the username cannot come from there too.
        None if args.password_stdin => bail!("--password-stdin needs --username"),
        None => super::prompt::line_from_tty(&format!("Username for {key}: "))?,
    };
    if username.is_empty() {
        bail!("the username is empty: pass --username");
    }
    if let Some(why) = crate::export::dockerconfig::unrepresentable_username(&username) {
        // Stored anyway (docker itself can use it); said now rather than at export.
        crate::errln!("warning: {key}: {why}; `export` will skip this credential");
    }
    // Delegated auth: find and check the auth server before reading or storing anything.
    let pairing = super::pair::LoginPairing::prepare(&args.pair, &key)?;
    let mut auth_secret = None;
    let secret = if args.password_stdin && args.pair.auth_password_stdin {
        let (registry_secret, auth) = super::pair::two_secrets_from_stdin()?;
        auth_secret = Some(auth);
        registry_secret
    } else if args.password_stdin {
        if args.pair.auth_username.is_some() {
            bail!("--auth-username with --password-stdin needs --auth-password-stdin too (stdin then holds two lines: registry password, auth server password)");
        }
        super::prompt::secret_from_stdin()?
    } else {
        super::prompt::secret_from_tty(&format!("Password for {username}@{key}: "))?
    };
    let store = Credentials::open()?;
    let credential = Credential {
        server_url: args.registry.trim().to_owned(),
        username,
        secret,
    };
    // The email (when given) lands with the credential, in the same index write.
    let email = args.email.map(Some);
    let kind = store.put_all(&[Put {
        key: &key,
        credential: &credential,
        email: email.as_ref(),
    }])?[0];
    if !args.quiet {
        crate::outln!("Login Succeeded: {key} (stored in the {kind} store)");
        note_if_docker_ignores(&key);
    }
    super::configure::follow_login(&key, args.quiet);
    if let Some(pairing) = pairing {
        pairing.finish(&store, &key, auth_secret, args.quiet)?;
    }
    Ok(0)
}

/// Warns (stderr) when docker would not ask this helper for `key`.
fn note_if_docker_ignores(key: &ServerKey) {
    if let Ok(file) = crate::config::Flavor::Docker.open() {
        if !file.uses_helper(key, super::configure::HELPER) {
            crate::errln!(
                "note: {} does not send {key} to this helper yet; run `{} configure`",
                file.path().display(),
                crate::BINARY_NAME
            );
        }
    }
}
