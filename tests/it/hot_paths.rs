//! The fast paths of `get` and `list` behave exactly like the general ones (no timing
//! here: `bench/run` measures): `list` reads only the index, never the keyring;
//! `get` on the Secret Service (its own plain D-Bus session, not keyring-core's)
//! finds the same items any Secret Service client sees.

use crate::common;

use std::process::Command;

use common::{run_command, Backend, Env};

fn secret_tool(env: &Env, args: &[&str], stdin: &[u8]) -> common::Run {
    let mut cmd = Command::new("secret-tool");
    cmd.args(args);
    env.apply(&mut cmd);
    run_command(cmd, stdin)
}

backend_tests!(list_never_touches_the_keyring);
fn list_never_touches_the_keyring(backend: Backend) {
    let env = Env::new(backend);
    env.store("quay.io", "alice", "s1").ok();
    env.store("registry.example.com:5000", "bob", "s2").ok();
    let expected = env.list();
    assert_eq!(expected.len(), 2, "{backend:?}");
    // A bus that does not exist: any keyring call would fail or time out.
    let mut cmd = env.command(&["list"]);
    cmd.env(
        "DBUS_SESSION_BUS_ADDRESS",
        "unix:path=/nonexistent/dck-test-bus",
    )
    .env("DOCKER_CREDENTIAL_KEYRING_TIMEOUT", "0.5");
    let run = run_command(cmd, b"unused");
    run.ok();
    let listed: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(listed, expected, "{backend:?}");
}

#[test]
#[ignore = "needs the Secret Service (run through tests/with-secret-service)"]
fn secret_service_get_reads_the_live_item_by_its_attributes() {
    common::require_secret_service();
    let env = Env::new(Backend::SecretService);
    let service = env.service().to_owned();
    env.store("quay.io", "alice", "old-secret").ok();
    // The item's attributes as any Secret Service client sees them.
    let found = secret_tool(&env, &["search", "--all", "service", &service], b"");
    assert_eq!(found.code, 0, "{found:?}");
    let username = found
        .stdout
        .lines()
        .chain(found.stderr.lines())
        .find_map(|l| l.strip_prefix("attribute.username = "))
        .unwrap_or_else(|| panic!("no username attribute: {found:?}"))
        .to_owned();
    // Replace the item behind our back with another client (libsecret adds
    // its own `xdg:schema` attribute): `get` must return the new secret.
    let cleared = secret_tool(&env, &["clear", "service", &service], b"");
    assert_eq!(cleared.code, 0, "{cleared:?}");
    let stored = secret_tool(
        &env,
        &[
            "store",
            "--label=replaced",
            "service",
            &service,
            "username",
            &username,
        ],
        b"new-secret",
    );
    assert_eq!(stored.code, 0, "{stored:?}");
    assert_eq!(env.secret("quay.io").as_deref(), Some("new-secret"));
    // And a missing item is the exact upstream not-found answer.
    let cleared = secret_tool(&env, &["clear", "service", &service], b"");
    assert_eq!(cleared.code, 0, "{cleared:?}");
    let run = env.get("quay.io");
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(run.stdout, "credentials not found in native keychain\n");
}
