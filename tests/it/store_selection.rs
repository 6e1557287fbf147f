//! Choosing a store: `auto`, the environment variable, the config file, and
//! bounded failure when a keyring is absent.

use crate::common;

use std::time::{Duration, Instant};

use common::time::{self, bound};
use common::{Backend, Env};

#[test]
fn auto_without_a_session_bus_uses_the_file_store() {
    let env = Env::new(Backend::File);
    let mut cmd = env.command(&["store"]);
    cmd.env("DOCKER_CREDENTIAL_KEYRING_STORE", "auto")
        .env_remove("DBUS_SESSION_BUS_ADDRESS");
    let run = common::run_command(
        cmd,
        br#"{"ServerURL":"auto.example.com","Username":"u","Secret":"s"}"#,
    );
    run.ok();
    let text = std::fs::read_to_string(env.store_file()).unwrap();
    assert!(text.contains("\"store\": \"file\""), "{text}");
}

#[test]
#[ignore = "needs the Secret Service (run through tests/with-secret-service)"]
fn auto_with_a_secret_service_uses_it() {
    common::require_secret_service();
    let env = Env::new(Backend::SecretService);
    let mut cmd = env.command(&["store"]);
    cmd.env("DOCKER_CREDENTIAL_KEYRING_STORE", "auto");
    common::run_command(
        cmd,
        br#"{"ServerURL":"auto.example.com","Username":"u","Secret":"s"}"#,
    )
    .ok();
    let text = std::fs::read_to_string(env.store_file()).unwrap();
    assert!(text.contains("\"store\": \"secret-service\""), "{text}");
    assert!(!text.contains("\"secret\""), "{text}");
}

#[test]
fn config_file_chooses_the_store_and_env_overrides_it() {
    let env = Env::new(Backend::File);
    let config = env.home().join("config/docker-credential-keyring");
    std::fs::create_dir_all(&config).unwrap();
    std::fs::write(config.join("config.json"), r#"{"store":"file"}"#).unwrap();
    let mut cmd = env.command(&["version"]);
    cmd.env_remove("DOCKER_CREDENTIAL_KEYRING_STORE");
    let run = common::run_command(cmd, b"");
    assert!(run.stdout.contains("store: file"), "{run:?}");

    std::fs::write(config.join("config.json"), r#"{"store":"nonsense"}"#).unwrap();
    let mut cmd = env.command(&["get"]);
    cmd.env_remove("DOCKER_CREDENTIAL_KEYRING_STORE");
    let run = common::run_command(cmd, b"quay.io");
    assert_eq!(run.code, 1);
    assert!(run.stdout.contains("unknown store"), "{run:?}");

    let mut cmd = env.command(&["version"]);
    cmd.env("DOCKER_CREDENTIAL_KEYRING_STORE", "secret-service");
    let run = common::run_command(cmd, b"");
    assert!(run.stdout.contains("store: secret-service"), "{run:?}");
}

#[test]
fn secret_service_without_a_bus_fails_fast_and_clearly() {
    let _machine = time::timed();
    let env = Env::new(Backend::SecretService);
    let mut cmd = env.command(&["store"]);
    cmd.env_remove("DBUS_SESSION_BUS_ADDRESS");
    let start = Instant::now();
    let run = common::run_command(
        cmd,
        br#"{"ServerURL":"nobus.example.com","Username":"u","Secret":"s"}"#,
    );
    assert!(start.elapsed() < bound(Duration::from_secs(5)));
    assert_eq!(run.code, 1);
    assert!(run.stdout.contains("no D-Bus session bus"), "{run:?}");
    assert!(
        run.stdout.contains("DOCKER_CREDENTIAL_KEYRING_STORE=file"),
        "{run:?}"
    );
}

#[test]
fn secret_service_on_a_dead_bus_address_fails_within_the_bound() {
    let _machine = time::timed();
    let env = Env::new(Backend::SecretService);
    let mut cmd = env.command(&["store"]);
    cmd.env(
        "DBUS_SESSION_BUS_ADDRESS",
        format!("unix:path={}/no-such-socket", env.home().display()),
    )
    .env("DOCKER_CREDENTIAL_KEYRING_TIMEOUT", "2");
    let start = Instant::now();
    let run = common::run_command(
        cmd,
        br#"{"ServerURL":"dead.example.com","Username":"u","Secret":"s"}"#,
    );
    assert!(
        start.elapsed() < bound(Duration::from_secs(4)),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stdout.contains("secret-service store is not available"),
        "{run:?}"
    );
    assert!(env.list().is_empty());
}

/// A private session bus where the Secret Service is only D-Bus-activated
/// (gnome-keyring with no default collection: creating one needs a prompt).
/// A keyring exists, so `auto` refuses within the bound instead of sending
/// the secret to the file store; with no service file it has no keyring and
/// uses the file store.
#[test]
fn auto_on_a_bus_with_an_unusable_keyring_refuses_quickly() {
    let _machine = time::timed();
    let activatable =
        std::path::Path::new("/usr/share/dbus-1/services/org.freedesktop.secrets.service").exists();
    let env = Env::new(Backend::File);
    let mut cmd = std::process::Command::new("dbus-run-session");
    cmd.arg("--").arg(common::BIN).arg("store");
    env.apply(&mut cmd);
    cmd.env("DOCKER_CREDENTIAL_KEYRING_STORE", "auto");
    let start = Instant::now();
    let run = common::run_command(
        cmd,
        br#"{"ServerURL":"fallback.example.com","Username":"u","Secret":"s"}"#,
    );
    assert!(
        start.elapsed() < bound(Duration::from_secs(8)),
        "{:?}",
        start.elapsed()
    );
    if activatable {
        assert_eq!(run.code, 1, "{run:?}");
        assert!(run.stdout.contains("secret-service store"), "{run:?}");
        assert!(run.stdout.contains("STORE=file"), "{run:?}");
        assert!(env.list().is_empty(), "auto fell back to the file store");
    } else {
        assert_eq!(run.code, 0, "{run:?}");
        assert_eq!(env.secret("fallback.example.com").as_deref(), Some("s"));
    }
}
