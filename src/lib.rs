//! docker-credential-keyring: a credential helper for docker, podman, skopeo and friends.
//!
//! Module map (one concept each; docs/architecture.md has every file):
//! - [`protocol`]: the docker-credential-helpers wire protocol (store/get/erase/list/version),
//!   served over a store handed in.
//! - [`input`]: bounded, wiping readers of stdin and small files.
//! - [`registry`]: server-URL parsing and normalisation, the one place for key rules.
//! - [`store`]: the index, its locks and transactions over a `SecretStore` seam (file
//!   store, Secret Service, Keychain, Credential Manager, in-memory for tests).
//! - [`pairs`]: delegated-auth pairs (registry -> auth server).
//! - [`discover`]: `pair discover`, a registry's token realm from its challenge.
//! - [`www_authenticate`]: the `WWW-Authenticate` challenge parser.
//! - `http`: the registry client (TLS roots, certs.d, proxies, timeout). Never on
//!   the get/list path.
//! - `verify`: docker's login flow over `http`.
//! - `login`: `login`'s pair preparation and verify-then-store sequence.
//! - `check`: does each stored credential still work (`check`).
//! - [`image_ref`]: image references by docker/distribution's grammar.
//! - `image_access`: may the stored credential pull (push) an image (`check --image`).
//! - `jwt`: when a secret that is a JWT expires.
//! - [`kubelet`]: `kubelet-credential-provider`, the kubelet's exec credential provider.
//! - `doctor`: the checks behind `doctor` (store, keyrings, file store, client configs,
//!   expiry) as a report of status, detail and fix; `cli::doctor` prints it.
//! - [`cli`]: the human commands (login, ls, check, export, ...): parse, call, print.
//! - [`config`]: docker's config.json and the containers auth.json (locate, edit,
//!   plaintext auths), what `configure` sets, the helper's own config file.
//! - `migrate`: plaintext credentials of those config files, and other helpers' credentials,
//!   into the store, all or nothing.
//! - `other_helper`: another `docker-credential-NAME` spoken to through its protocol, bounded.
//! - `switch`: switching from another helper: what it holds, what `configure` would strand,
//!   the members pointed here, the way back.
//! - [`export`]: pull secrets out (dockerconfigjson, Secret, List) and back in.
//! - [`reader`]: every JSON/YAML document read from outside: bounded nesting,
//!   errors that never quote the input.
//! - [`gojson`]: JSON written byte-for-byte the way Go's encoding/json writes it.
//! - [`fsutil`]: private directories, atomic writes, lock files.
//! - [`secret`]: the secret type, zeroized on drop and redacted when formatted.
//! - [`printable`]: the sanitiser of human output and error lines (controls, bidi).
//! - [`redact`]: URLs as messages show them (no query, fragment or user information).
//! - [`paths`]: the XDG data and config directories, programs on `PATH` (absolute entries only).
//! - `interrupt`: Ctrl-C held off while `migrate` writes the store, the config files and the record.
//! - `settings`: the helper's own config file (the store for new secrets).
//! - [`log`]: `debug!` to stderr under `DOCKER_CREDENTIAL_KEYRING_LOG=debug`.
//! - `start`: Linux start-up without std's runtime set-up.

pub(crate) mod audit;
pub(crate) mod check;
pub(crate) mod cli;
pub mod config;
pub(crate) mod discover;
pub(crate) mod doctor;
pub mod export;
pub(crate) mod fsutil;
pub(crate) mod gojson;
pub(crate) mod http;
pub(crate) mod image_access;
pub mod image_ref;
pub mod input;
pub(crate) mod interrupt;
pub(crate) mod jwt;
pub mod kubelet;
pub(crate) mod log;
pub(crate) mod login;
pub(crate) mod migrate;
pub(crate) mod other_helper;
pub(crate) mod pairs;
pub(crate) mod paths;
pub mod printable;
pub mod protocol;
pub mod reader;
pub mod redact;
pub mod registry;
pub mod secret;
pub(crate) mod settings;
#[cfg(target_os = "linux")]
pub mod start;
pub(crate) mod store;
pub(crate) mod switch;
pub(crate) mod verify;
pub mod www_authenticate;

use std::ffi::OsString;

/// The binary's name, as docker derives it from `"credsStore": "keyring"`.
pub const BINARY_NAME: &str = "docker-credential-keyring";

/// Runs the binary with `args` (including argv[0]) and returns the process exit code.
///
/// Protocol verbs (one bare word) and a bare `kubelet-credential-provider`
/// (the kubelet runs it on every pull) take a lean path that never touches clap.
/// No argument, or a verb with more arguments, gets the protocol's usage on
/// stdout (exit 1), as upstream helpers answer; any other first word is a
/// command line clap judges: a human command, or a typo it names on stderr
/// with the closest command (exit 2).
pub fn run(args: Vec<OsString>) -> i32 {
    let Some(first) = args.get(1) else {
        return protocol::usage_error();
    };
    if let Some(verb) = first.to_str().and_then(protocol::Action::from_word) {
        if args.len() != 2 {
            return protocol::usage_error();
        }
        return protocol::run(verb);
    }
    if first == kubelet::COMMAND && args.len() == 2 {
        return kubelet::run();
    }
    cli::run(args)
}
