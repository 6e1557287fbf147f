//! `configure` and `unconfigure` through the real binary in a temp HOME:
//! docker's config.json and podman's auth file edited key by key (golden
//! files), the backup, `--dry-run` diffs, a symlinked config, a file absent or
//! broken, the binary missing from PATH, `--store`, and the real skopeo
//! finding a credential through the helper after `configure --podman`.

// Unix only (file modes and symlinks); the Windows build is checked by tests/windows/run.
#![cfg(unix)]

use std::process::Command;

use crate::common::golden::read_golden;
use crate::common::human::{
    assert_no_test_secret, bin_dir, empty_path, human_command, login, run, secret,
};
use crate::common::{self, chmod, mode, read_file, write_file, Backend, Env};

#[test]
fn configure_and_unconfigure_round_trip_keeps_every_other_key_and_order() {
    let env = Env::new(Backend::File);
    let config = env.docker_config();
    let input = read_golden("configure/docker-input.json");
    write_file(&config, &input);
    chmod(&config, 0o640);

    let out = run(&env, &["configure"], b"");
    out.ok();
    assert!(out.stdout.contains("was \"desktop\""), "{out:?}");
    assert_eq!(
        read_file(&config),
        read_golden("configure/docker-credsstore.json")
    );
    assert_eq!(mode(&config), 0o640, "the file keeps its mode");
    let backup = env.docker_config_dir().join("config.json.bak");
    assert_eq!(read_file(&backup), input, "the original is backed up");

    // A second configure changes nothing.
    let out = run(&env, &["configure"], b"");
    out.ok();
    assert!(out.stdout.contains("nothing changed"), "{out:?}");

    run(&env, &["unconfigure"], b"").ok();
    assert_eq!(
        read_file(&config),
        input,
        "unconfigure restores the file byte for byte"
    );

    // credHelpers for named registries, Docker Hub spelled as docker looks it up.
    run(
        &env,
        &[
            "configure",
            "-r",
            "quay.io",
            "--registry",
            "https://docker.io/",
            "-r",
            "localhost:5000",
        ],
        b"",
    )
    .ok();
    assert_eq!(
        read_file(&config),
        read_golden("configure/docker-registries.json")
    );
    run(&env, &["unconfigure", "-r", "quay.io"], b"").ok();
    let partial: serde_json::Value = serde_json::from_str(&read_file(&config)).unwrap();
    assert!(partial["credHelpers"].get("quay.io").is_none());
    assert_eq!(partial["credHelpers"]["localhost:5000"], "keyring");
    assert_eq!(partial["credHelpers"]["gcr.io"], "gcloud");
    run(&env, &["unconfigure"], b"").ok();
    assert_eq!(read_file(&config), input);
    assert_eq!(read_file(&backup), input, "the backup keeps the original");
}

#[test]
fn configure_dry_run_prints_the_diff_and_changes_nothing() {
    let env = Env::new(Backend::File);
    let config = env.docker_config();
    write_file(&config, &read_golden("configure/docker-input.json"));
    let out = run(&env, &["configure", "--dry-run"], b"");
    out.ok();
    let shown = out.stdout.replace(&config.display().to_string(), "CONFIG");
    assert_eq!(shown, read_golden("configure/docker-credsstore.diff"));
    assert_eq!(
        read_file(&config),
        read_golden("configure/docker-input.json")
    );
    assert!(!env.docker_config_dir().join("config.json.bak").exists());
    assert!(!env
        .home()
        .join("config/docker-credential-keyring/configured.json")
        .exists());

    // A new file: the diff creates it; still nothing written.
    let env = Env::new(Backend::File);
    let out = run(&env, &["configure", "--dry-run"], b"");
    out.ok();
    assert!(
        out.stdout.contains("+\t\"credsStore\": \"keyring\""),
        "{out:?}"
    );
    assert!(!env.docker_config().exists());
}

#[test]
fn configure_creates_a_private_file_when_there_is_none() {
    let env = Env::new(Backend::File);
    run(&env, &["configure", "-q"], b"").ok();
    let config = env.docker_config();
    assert_eq!(read_file(&config), "{\n\t\"credsStore\": \"keyring\"\n}");
    assert_eq!(mode(&config), 0o600);
    assert_eq!(mode(&env.docker_config_dir()), 0o700);
    // Removing what it added leaves the file as it was: absent.
    run(&env, &["unconfigure", "-q"], b"").ok();
    assert!(!config.exists());
    assert!(!env.docker_config_dir().join("config.json.bak").exists());
}

#[test]
fn configure_writes_through_a_symlinked_config() {
    let env = Env::new(Backend::File);
    let real = env.home().join("dotfiles/docker-config.json");
    write_file(&real, "{\"psFormat\": \"x\"}");
    std::fs::create_dir_all(env.docker_config_dir()).unwrap();
    let link = env.docker_config();
    std::os::unix::fs::symlink(&real, &link).unwrap();
    run(&env, &["configure", "-q"], b"").ok();
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink(),
        "the link stays"
    );
    assert_eq!(
        read_file(&real),
        "{\n\t\"psFormat\": \"x\",\n\t\"credsStore\": \"keyring\"\n}"
    );
    run(&env, &["unconfigure", "-q"], b"").ok();
    assert_eq!(read_file(&real), "{\n\t\"psFormat\": \"x\"\n}");
}

#[test]
fn configure_podman_finds_the_containers_auth_file_like_podman() {
    let env = Env::new(Backend::File);
    // No REGISTRY_AUTH_FILE: $XDG_RUNTIME_DIR/containers/auth.json, with a note.
    let mut cmd = human_command(&env, &["configure", "--podman", "-r", "quay.io"]);
    cmd.env_remove("REGISTRY_AUTH_FILE");
    let out = common::run_command(cmd, b"");
    assert_eq!(out.code, 0, "{out:?}");
    let runtime = env.home().join("run/containers/auth.json");
    assert!(read_file(&runtime).contains("\"quay.io\": \"keyring\""));
    assert!(out.stderr.contains("emptied when you log out"), "{out:?}");
    // Nor XDG_RUNTIME_DIR: ~/.config/containers/auth.json.
    let mut cmd = human_command(&env, &["configure", "--podman", "-r", "quay.io"]);
    cmd.env_remove("REGISTRY_AUTH_FILE")
        .env_remove("XDG_RUNTIME_DIR");
    let out = common::run_command(cmd, b"");
    assert_eq!(out.code, 0, "{out:?}");
    assert!(read_file(&env.home().join(".config/containers/auth.json")).contains("keyring"));
    assert!(out.stderr.is_empty(), "{out:?}");
}

#[test]
fn unconfigure_leaves_alone_what_the_user_changed_since() {
    let env = Env::new(Backend::File);
    let config = env.docker_config();
    run(&env, &["configure", "-q"], b"").ok();
    write_file(&config, "{\"credsStore\": \"pass\"}");
    let out = run(&env, &["unconfigure"], b"");
    out.ok();
    assert!(out.stderr.contains("left credsStore alone"), "{out:?}");
    assert_eq!(
        read_file(&config),
        "{\"credsStore\": \"pass\"}",
        "nothing written"
    );
}

#[test]
fn unconfigure_without_a_record_removes_only_keyring_members() {
    let env = Env::new(Backend::File);
    let config = env.docker_config();
    write_file(
        &config,
        r#"{"credsStore":"keyring","credHelpers":{"a.io":"keyring","b.io":"pass"},"auths":{}}"#,
    );
    run(&env, &["unconfigure", "-q"], b"").ok();
    assert_eq!(
        read_file(&config),
        "{\n\t\"credHelpers\": {\n\t\t\"b.io\": \"pass\"\n\t},\n\t\"auths\": {}\n}"
    );
}

#[test]
fn configure_podman_writes_cred_helpers_for_stored_registries() {
    let env = Env::new(Backend::File);
    let file = env.containers_auth_file();
    write_file(&file, &read_golden("configure/podman-input.json"));
    let out = run(&env, &["configure", "--podman"], b"");
    assert_eq!(out.code, 1, "no registries and nothing stored: {out:?}");
    assert!(out.stderr.contains("--registry"), "{out:?}");

    assert_no_test_secret(&login(&env, "quay.io", "alice", secret(0), &["-q"]));
    assert_no_test_secret(&login(
        &env,
        "https://index.docker.io/v1/",
        "bob",
        secret(1),
        &["-q"],
    ));
    run(&env, &["configure", "--podman", "-q"], b"").ok();
    assert_eq!(
        read_file(&file),
        read_golden("configure/podman-configured.json")
    );
    assert!(
        !env.docker_config().exists(),
        "--podman leaves docker's file alone"
    );

    // The real skopeo finds the credential through the helper.
    let mut skopeo = Command::new("skopeo");
    skopeo
        .args(["login", "--get-login", "--authfile"])
        .arg(&file)
        .arg("quay.io");
    env.apply(&mut skopeo);
    let path = std::env::var("PATH").unwrap_or_default();
    skopeo.env("PATH", format!("{}:{path}", bin_dir().display()));
    let out = common::run_command(skopeo, b"");
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stdout.trim(), "alice");

    run(&env, &["unconfigure", "--podman", "-q"], b"").ok();
    assert_eq!(
        read_file(&file),
        "{\n\t\"auths\": {\n\t\t\"quay.io\": {}\n\t},\n\t\"x-keep\": 1\n}"
    );
}

#[test]
fn configure_refuses_when_the_binary_is_not_on_path() {
    let env = Env::new(Backend::File);
    let mut cmd = env.command(&["configure"]);
    cmd.env("PATH", empty_path(&env));
    let out = common::run_command(cmd, b"");
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr
            .starts_with("error: docker-credential-keyring is not on your PATH"),
        "{out:?}"
    );
    assert!(out.stderr.contains("cargo install"), "{out:?}");
    assert_eq!(out.stderr.lines().count(), 1, "one line: {out:?}");
    assert!(!env.docker_config().exists(), "nothing written");

    let mut cmd = env.command(&["configure", "--force", "-q"]);
    cmd.env("PATH", empty_path(&env));
    let out = common::run_command(cmd, b"");
    assert_eq!(out.code, 0, "{out:?}");
    assert!(env.docker_config().exists());
}

#[test]
fn configure_store_writes_our_config() {
    let env = Env::new(Backend::File);
    run(&env, &["configure", "--store", "file", "-q"], b"").ok();
    let mut cmd = human_command(&env, &["version"]);
    cmd.env_remove("DOCKER_CREDENTIAL_KEYRING_STORE");
    let out = common::run_command(cmd, b"");
    assert!(out.stdout.contains("(store: file)"), "{out:?}");
    let out = run(&env, &["configure", "--store", "nonsense"], b"");
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("unknown store"), "{out:?}");
}

#[test]
fn configure_refuses_a_broken_config_file_untouched() {
    let env = Env::new(Backend::File);
    let config = env.docker_config();
    write_file(&config, "{\"auths\": {");
    let out = run(&env, &["configure"], b"");
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("is not valid JSON"), "{out:?}");
    assert_eq!(read_file(&config), "{\"auths\": {");
}
