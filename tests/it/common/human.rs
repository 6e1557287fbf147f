//! Running the binary as a user does after `cargo install`: its directory on
//! PATH (so `configure` finds it), `login` through stdin, and the check that
//! no output shows a secret; the secrets and the plaintext config file the
//! human-command tests (`configure`, `doctor`, `login`, `switching`,
//! `import`, `hygiene`) share.

use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine as _;

use super::{run_command, Backend, Env, Run};

/// The directory of the binary under test.
pub fn bin_dir() -> PathBuf {
    Path::new(super::BIN).parent().unwrap().to_path_buf()
}

/// Puts the binary's directory first on `cmd`'s PATH.
pub fn put_bin_on_path(cmd: &mut Command) {
    let path = std::env::var("PATH").unwrap_or_default();
    cmd.env("PATH", format!("{}:{path}", bin_dir().display()));
}

/// The binary with its directory on PATH; the session bus is kept only for
/// the Secret Service, so file-store runs never reach a keyring.
pub fn human_command(env: &Env, args: &[&str]) -> Command {
    let mut cmd = env.command(args);
    put_bin_on_path(&mut cmd);
    cmd.env_remove("DBUS_SESSION_BUS_ADDRESS");
    if env.backend == Backend::SecretService {
        if let Ok(bus) = std::env::var("DBUS_SESSION_BUS_ADDRESS") {
            cmd.env("DBUS_SESSION_BUS_ADDRESS", bus);
        }
    }
    cmd
}

/// `login --no-verify ARGS` with `stdin`, which must succeed. These tests log
/// in to registries that do not exist: checking with the registry is tested
/// against real ones in the `login` and `check` modules.
pub fn login_with(env: &Env, args: &[&str], stdin: &str) -> Run {
    let mut all = vec!["login", "--no-verify"];
    all.extend_from_slice(args);
    let run = run_command(human_command(env, &all), stdin.as_bytes());
    run.ok();
    run
}

/// `login REGISTRY -u USER --password-stdin EXTRA...` with the password on
/// stdin, which must succeed.
pub fn login(env: &Env, registry: &str, user: &str, password: &str, extra: &[&str]) -> Run {
    let mut args = vec![registry, "-u", user, "--password-stdin"];
    args.extend_from_slice(extra);
    login_with(env, &args, &format!("{password}\n"))
}

/// The `auth` field of a docker config: base64 of `user:password`.
pub fn auth_b64(user: &str, password: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
}

/// The forms a `(user, password)` takes in output: the password and its
/// `auth` field.
pub fn secret_forms(user: &str, password: &str) -> [String; 2] {
    [password.to_owned(), auth_b64(user, password)]
}

/// Fails if `run` printed any of `secrets` in any of its forms.
pub fn assert_no_secret(run: &Run, secrets: &[(&str, &str)]) {
    for (user, password) in secrets {
        for needle in secret_forms(user, password) {
            assert!(
                !run.stdout.contains(&needle) && !run.stderr.contains(&needle),
                "a secret leaked into the output: {run:?}"
            );
        }
    }
}

/// Every secret the human-command tests use; no output of the binary may
/// contain one (nor its `user:secret` base64 form).
pub const SECRETS: &[(&str, &str)] = &[
    ("alice", "pw-one-Secret-1"),
    ("bob", "pw-two-Secret-2"),
    ("<token>", "tok-three-Secret-3"),
    ("carol", "stdin-Secret-4"),
    ("dave", "podman-Secret-5"),
];

/// The password of [`SECRETS`]`[i]`.
pub fn secret(i: usize) -> &'static str {
    SECRETS[i].1
}

/// Runs a human command (the binary on PATH) and checks that it printed no
/// secret of [`SECRETS`].
pub fn run(env: &Env, args: &[&str], stdin: &[u8]) -> Run {
    let out = run_command(human_command(env, args), stdin);
    assert_no_test_secret(&out);
    out
}

/// Fails if `run` printed any secret of [`SECRETS`].
pub fn assert_no_test_secret(run: &Run) {
    assert_no_secret(run, SECRETS);
}

/// A PATH without docker-credential-keyring (the machine may have one installed).
#[cfg(unix)] // for the Unix-only configure and doctor
pub fn empty_path(env: &Env) -> PathBuf {
    let dir = env.home().join("empty-bin");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A docker config.json holding [`SECRETS`] 0 to 2 in plaintext (`auth`
/// fields and an identity token), with `credsStore` already ours.
#[cfg(unix)] // for the Unix-only doctor, switching and hygiene
pub fn plaintext_config() -> String {
    format!(
        r#"{{
	"auths": {{
		"quay.io": {{
			"auth": "{}"
		}},
		"https://index.docker.io/v1/": {{
			"auth": "{}",
			"email": "bob@example.com"
		}},
		"registry.example.com": {{
			"auth": "",
			"identitytoken": "{}"
		}},
		"already.example.com": {{}}
	}},
	"credsStore": "keyring"
}}"#,
        auth_b64("alice", secret(0)),
        auth_b64("bob", secret(1)),
        secret(2)
    )
}
