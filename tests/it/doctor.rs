//! `doctor` through the real binary: each check and the fix it names (docker
//! on another helper, no session bus, the Secret Service answering, locked or
//! absent, pairs without a credential, store file permissions, plaintext
//! secrets in config files and backups, the binary not on PATH), with
//! `--json`, and no output showing a secret.

// Unix only (file modes); the Windows build is checked by tests/windows/run.
#![cfg(unix)]

use std::path::Path;
use std::process::Command;

use crate::common::human::{
    assert_no_test_secret, bin_dir, empty_path, human_command, login, plaintext_config, run, secret,
};
use crate::common::{self, chmod, read_file, write_file, Backend, Env, Run};

fn doctor(env: &Env, extra: &[(&str, &str)]) -> Run {
    let mut cmd = human_command(env, &["doctor"]);
    for (k, v) in extra {
        cmd.env(k, v);
    }
    let out = common::run_command(cmd, b"");
    assert_no_test_secret(&out);
    out
}

/// Docker still on another helper (e.g. after `unconfigure`): the fix is
/// `migrate`, which moves what that helper holds (a plain `configure` would
/// refuse to strand it), with `configure` for a helper that holds nothing.
#[test]
fn doctor_names_migrate_when_docker_uses_another_helper() {
    let env = Env::new(Backend::File);
    let dir = env.docker_config_dir();
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("config.json"),
        r#"{"credsStore": "secretservice"}"#,
    )
    .unwrap();
    let out = doctor(&env, &[]);
    assert!(
        out.stdout.contains(
            "fix: docker-credential-keyring migrate (moves what docker-credential-secretservice holds, then points docker here; if it holds nothing: docker-credential-keyring configure)"
        ),
        "{out:?}"
    );
}

#[test]
fn doctor_without_a_bus_explains_the_file_store_and_is_not_broken() {
    let env = Env::new(Backend::File);
    run(&env, &["configure", "-q"], b"").ok();
    let out = doctor(&env, &[("DOCKER_CREDENTIAL_KEYRING_STORE", "auto")]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stdout.contains("[info] D-Bus: no session bus"),
        "{out:?}"
    );
    assert!(
        out.stdout.contains("[ok  ] store: auto (environment variable DOCKER_CREDENTIAL_KEYRING_STORE) uses the file store: no D-Bus session bus"),
        "{out:?}"
    );
    assert!(out.stdout.contains("[ok  ] docker config:"), "{out:?}");

    // The Secret Service named explicitly without a bus is broken, with a fix.
    let out = doctor(
        &env,
        &[("DOCKER_CREDENTIAL_KEYRING_STORE", "secret-service")],
    );
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stdout.contains("[FAIL] store: secret-service"),
        "{out:?}"
    );
    assert!(out.stdout.contains("fix: start or unlock the keyring, or use another store: unset DOCKER_CREDENTIAL_KEYRING_STORE or set it to file"), "{out:?}");
}

#[test]
#[ignore = "needs the Secret Service (run through tests/with-secret-service)"]
fn doctor_with_the_secret_service_says_it_answers() {
    common::require_secret_service();
    let env = Env::new(Backend::SecretService);
    run(&env, &["configure", "-q"], b"").ok();
    let out = doctor(&env, &[("DOCKER_CREDENTIAL_KEYRING_STORE", "auto")]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stdout.contains("[info] D-Bus: session bus at"),
        "{out:?}"
    );
    assert!(
        out.stdout
            .contains("uses secret-service: provider answering, default collection unlocked"),
        "{out:?}"
    );
    let out = doctor(&env, &[]);
    assert!(
        out.stdout
            .contains("[ok  ] store: secret-service (chosen by environment variable"),
        "{out:?}"
    );
}

/// A locked collection, in a private Secret Service of its own (locking the
/// shared one would break the tests running next to this one).
#[test]
#[ignore = "needs the Secret Service (run through tests/with-secret-service)"]
fn doctor_reports_a_locked_keyring() {
    common::require_secret_service();
    let env = Env::new(Backend::SecretService);
    let script = r#"
        dbus-send --session --dest=org.freedesktop.secrets --print-reply /org/freedesktop/secrets \
          org.freedesktop.Secret.Service.Lock array:objpath:/org/freedesktop/secrets/collection/login >/dev/null
        DOCKER_CREDENTIAL_KEYRING_STORE=auto "$DCK_BIN" doctor; echo "exit=$?"
        DOCKER_CREDENTIAL_KEYRING_STORE=secret-service "$DCK_BIN" doctor; echo "exit=$?"
    "#;
    let mut cmd =
        Command::new(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/with-secret-service"));
    cmd.args(["bash", "-c", script]);
    env.apply(&mut cmd);
    cmd.env_remove("DCK_IN_SECRET_SERVICE")
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .env("DCK_BIN", common::BIN)
        .env("DOCKER_CREDENTIAL_KEYRING_TIMEOUT", "3");
    let out = common::run_command(cmd, b"");
    assert_eq!(out.code, 0, "{out:?}");
    let (auto, fixed) = out
        .stdout
        .split_once("exit=0\n")
        .expect("auto is not broken");
    assert!(
        auto.contains("[WARN] store: auto (environment variable DOCKER_CREDENTIAL_KEYRING_STORE) uses secret-service, which cannot store secrets now")
            && auto.contains("never falls back to the file store")
            && auto.contains("the secret-service store is locked"),
        "{out:?}"
    );
    assert!(fixed.contains("[FAIL] store: secret-service"), "{out:?}");
    assert!(fixed.contains("is locked; unlock it"), "{out:?}");
    assert!(fixed.trim_end().ends_with("exit=1"), "{out:?}");
}

#[test]
#[ignore = "needs the Secret Service (run through tests/with-secret-service)"]
fn doctor_fails_when_stored_credentials_live_in_an_absent_keyring() {
    common::require_secret_service();
    let env = Env::new(Backend::SecretService);
    run(&env, &["configure", "-q"], b"").ok();
    assert_no_test_secret(&login(&env, "quay.io", "alice", secret(0), &["-q"]));
    let mut cmd = env.command(&["doctor"]);
    let path = std::env::var("PATH").unwrap_or_default();
    cmd.env("PATH", format!("{}:{path}", bin_dir().display()))
        .env("DOCKER_CREDENTIAL_KEYRING_STORE", "file")
        .env_remove("DBUS_SESSION_BUS_ADDRESS");
    let out = common::run_command(cmd, b"");
    assert_no_test_secret(&out);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stdout.contains(
            "[FAIL] keyring: 1 credential(s) are kept in secret-service, which does not answer"
        ),
        "{out:?}"
    );
    env.erase("quay.io").ok();
}

#[test]
fn doctor_warns_about_pairs_without_credentials() {
    let env = Env::new(Backend::File);
    run(&env, &["configure", "-q"], b"").ok();
    assert_no_test_secret(&login(
        &env,
        "paired.example.com",
        "alice",
        secret(0),
        &["-q"],
    ));
    // Two pairs in the index: one whose registry has a credential, one without.
    let store = env.store_file();
    let mut db: serde_json::Value = serde_json::from_str(&read_file(&store)).unwrap();
    db["pairs"] = serde_json::json!({
        "paired.example.com": {"authServer": "sso.example.com"},
        "lonely.example.com": {"authServer": "sso.example.com"}
    });
    std::fs::write(&store, db.to_string()).unwrap();
    let out = doctor(&env, &[]);
    assert_eq!(out.code, 0, "a warning, not broken: {out:?}");
    assert!(
        out.stdout.contains(
            "[WARN] pairs: lonely.example.com is paired with sso.example.com but has no credential"
        ),
        "{out:?}"
    );
    assert!(
        out.stdout.contains(
            "fix: docker-credential-keyring login lonely.example.com -u USER --password-stdin"
        ),
        "{out:?}"
    );
    assert!(
        !out.stdout.contains("paired.example.com is paired"),
        "{out:?}"
    );
}

#[test]
fn doctor_flags_a_store_file_with_bad_permissions() {
    let env = Env::new(Backend::File);
    run(&env, &["configure", "-q"], b"").ok();
    assert_no_test_secret(&login(&env, "quay.io", "alice", secret(0), &["-q"]));
    let store = env.store_file();
    chmod(&store, 0o644);
    let out = doctor(&env, &[]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stdout.contains("[FAIL] file store:"), "{out:?}");
    assert!(
        out.stdout
            .contains(&format!("fix: chmod 600 {}", store.display())),
        "{out:?}"
    );
    chmod(&store, 0o600);
    let dir = store.parent().unwrap();
    chmod(dir, 0o755);
    let out = doctor(&env, &[]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stdout
            .contains(&format!("fix: chmod 700 {}", dir.display())),
        "{out:?}"
    );
    chmod(dir, 0o700);
    let out = doctor(&env, &[]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stdout.contains("1 credential(s) (1 in file)"),
        "{out:?}"
    );
}

#[test]
fn doctor_flags_plaintext_secrets_and_json_says_so() {
    let env = Env::new(Backend::File);
    write_file(&env.docker_config(), &plaintext_config());
    let out = doctor(&env, &[]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stdout.contains("holds 3 plaintext password(s): quay.io, https://index.docker.io/v1/, registry.example.com"), "{out:?}");
    assert!(
        out.stdout
            .contains("fix: docker-credential-keyring migrate"),
        "{out:?}"
    );

    let mut cmd = human_command(&env, &["doctor", "--json"]);
    cmd.env("DOCKER_CREDENTIAL_KEYRING_STORE", "file");
    let out = common::run_command(cmd, b"");
    assert_no_test_secret(&out);
    assert_eq!(out.code, 1);
    let report: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(report["ok"], false);
    let fail = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["status"] == "fail")
        .unwrap();
    assert_eq!(fail["name"], "docker config");

    run(&env, &["migrate", "-q"], b"").ok();
    let out = doctor(&env, &[]);
    assert_eq!(out.code, 0, "fixed by migrate: {out:?}");

    // A backup with secrets in it (made by hand) is a problem too.
    let bak = env.docker_config_dir().join("config.json.bak");
    write_file(&bak, &plaintext_config());
    let out = doctor(&env, &[]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stdout.contains(&format!("fix: rm {}", bak.display())),
        "{out:?}"
    );
}

#[test]
fn doctor_fails_when_configured_but_not_on_path() {
    let env = Env::new(Backend::File);
    run(&env, &["configure", "-q"], b"").ok();
    let mut cmd = env.command(&["doctor"]);
    cmd.env("PATH", empty_path(&env));
    let out = common::run_command(cmd, b"");
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stdout.contains("[FAIL] on PATH"), "{out:?}");
    assert!(out.stdout.contains("fix: install it with"), "{out:?}");
}
