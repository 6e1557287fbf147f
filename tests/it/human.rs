//! The human commands through the real binary in a temp HOME/XDG/DOCKER_CONFIG:
//! configure/unconfigure (golden files), migrate, doctor, login, completions,
//! and a sweep that no output ever carries a test secret.

// Unix only (file modes and symlinks); the Windows build is checked by tests/windows/run.
#![cfg(unix)]

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::golden::read_golden;
use common::human::{auth_b64, bin_dir, human_command, login};
use common::{Backend, Env, Run};

/// Every secret these tests use; no output of the binary may contain one
/// (nor its `user:secret` base64 form).
const SECRETS: &[(&str, &str)] = &[
    ("alice", "pw-one-Secret-1"),
    ("bob", "pw-two-Secret-2"),
    ("<token>", "tok-three-Secret-3"),
    ("carol", "stdin-Secret-4"),
    ("dave", "podman-Secret-5"),
];

fn secret(i: usize) -> &'static str {
    SECRETS[i].1
}

/// Runs a human command and checks that it printed no secret.
fn run(env: &Env, args: &[&str], stdin: &[u8]) -> Run {
    let out = common::run_command(human_command(env, args), stdin);
    assert_no_secret(&out);
    out
}

/// Fails if `run` printed any test secret.
fn assert_no_secret(run: &Run) {
    common::human::assert_no_secret(run, SECRETS);
}

/// A PATH without docker-credential-keyring (the machine may have one installed).
fn empty_path(env: &Env) -> PathBuf {
    let dir = env.home().join("empty-bin");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn docker_config(env: &Env) -> PathBuf {
    env.docker_config_dir().join("config.json")
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn chmod(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

// ---------------------------------------------------------------- configure

#[test]
fn configure_and_unconfigure_round_trip_keeps_every_other_key_and_order() {
    let env = Env::new(Backend::File);
    let config = docker_config(&env);
    let input = read_golden("configure/docker-input.json");
    write(&config, &input);
    chmod(&config, 0o640);

    let out = run(&env, &["configure"], b"");
    out.ok();
    assert!(out.stdout.contains("was \"desktop\""), "{out:?}");
    assert_eq!(
        read(&config),
        read_golden("configure/docker-credsstore.json")
    );
    assert_eq!(mode(&config), 0o640, "the file keeps its mode");
    let backup = env.docker_config_dir().join("config.json.bak");
    assert_eq!(read(&backup), input, "the original is backed up");

    // A second configure changes nothing.
    let out = run(&env, &["configure"], b"");
    out.ok();
    assert!(out.stdout.contains("nothing changed"), "{out:?}");

    run(&env, &["unconfigure"], b"").ok();
    assert_eq!(
        read(&config),
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
        read(&config),
        read_golden("configure/docker-registries.json")
    );
    run(&env, &["unconfigure", "-r", "quay.io"], b"").ok();
    let partial: serde_json::Value = serde_json::from_str(&read(&config)).unwrap();
    assert!(partial["credHelpers"].get("quay.io").is_none());
    assert_eq!(partial["credHelpers"]["localhost:5000"], "keyring");
    assert_eq!(partial["credHelpers"]["gcr.io"], "gcloud");
    run(&env, &["unconfigure"], b"").ok();
    assert_eq!(read(&config), input);
    assert_eq!(read(&backup), input, "the backup keeps the original");
}

#[test]
fn configure_dry_run_prints_the_diff_and_changes_nothing() {
    let env = Env::new(Backend::File);
    let config = docker_config(&env);
    write(&config, &read_golden("configure/docker-input.json"));
    let out = run(&env, &["configure", "--dry-run"], b"");
    out.ok();
    let shown = out.stdout.replace(&config.display().to_string(), "CONFIG");
    assert_eq!(shown, read_golden("configure/docker-credsstore.diff"));
    assert_eq!(read(&config), read_golden("configure/docker-input.json"));
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
    assert!(!docker_config(&env).exists());
}

#[test]
fn configure_creates_a_private_file_when_there_is_none() {
    let env = Env::new(Backend::File);
    run(&env, &["configure", "-q"], b"").ok();
    let config = docker_config(&env);
    assert_eq!(read(&config), "{\n\t\"credsStore\": \"keyring\"\n}");
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
    write(&real, "{\"psFormat\": \"x\"}");
    std::fs::create_dir_all(env.docker_config_dir()).unwrap();
    let link = docker_config(&env);
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
        read(&real),
        "{\n\t\"psFormat\": \"x\",\n\t\"credsStore\": \"keyring\"\n}"
    );
    run(&env, &["unconfigure", "-q"], b"").ok();
    assert_eq!(read(&real), "{\n\t\"psFormat\": \"x\"\n}");
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
    assert!(read(&runtime).contains("\"quay.io\": \"keyring\""));
    assert!(out.stderr.contains("emptied when you log out"), "{out:?}");
    // Nor XDG_RUNTIME_DIR: ~/.config/containers/auth.json.
    let mut cmd = human_command(&env, &["configure", "--podman", "-r", "quay.io"]);
    cmd.env_remove("REGISTRY_AUTH_FILE")
        .env_remove("XDG_RUNTIME_DIR");
    let out = common::run_command(cmd, b"");
    assert_eq!(out.code, 0, "{out:?}");
    assert!(read(&env.home().join(".config/containers/auth.json")).contains("keyring"));
    assert!(out.stderr.is_empty(), "{out:?}");
}

#[test]
fn unconfigure_leaves_alone_what_the_user_changed_since() {
    let env = Env::new(Backend::File);
    let config = docker_config(&env);
    run(&env, &["configure", "-q"], b"").ok();
    write(&config, "{\"credsStore\": \"pass\"}");
    let out = run(&env, &["unconfigure"], b"");
    out.ok();
    assert!(out.stderr.contains("left credsStore alone"), "{out:?}");
    assert_eq!(
        read(&config),
        "{\"credsStore\": \"pass\"}",
        "nothing written"
    );
}

#[test]
fn unconfigure_without_a_record_removes_only_keyring_members() {
    let env = Env::new(Backend::File);
    let config = docker_config(&env);
    write(
        &config,
        r#"{"credsStore":"keyring","credHelpers":{"a.io":"keyring","b.io":"pass"},"auths":{}}"#,
    );
    run(&env, &["unconfigure", "-q"], b"").ok();
    assert_eq!(
        read(&config),
        "{\n\t\"credHelpers\": {\n\t\t\"b.io\": \"pass\"\n\t},\n\t\"auths\": {}\n}"
    );
}

#[test]
fn configure_podman_writes_cred_helpers_for_stored_registries() {
    let env = Env::new(Backend::File);
    let file = env.containers_auth_file();
    write(&file, &read_golden("configure/podman-input.json"));
    let out = run(&env, &["configure", "--podman"], b"");
    assert_eq!(out.code, 1, "no registries and nothing stored: {out:?}");
    assert!(out.stderr.contains("--registry"), "{out:?}");

    assert_no_secret(&login(&env, "quay.io", "alice", secret(0), &["-q"]));
    assert_no_secret(&login(
        &env,
        "https://index.docker.io/v1/",
        "bob",
        secret(1),
        &["-q"],
    ));
    run(&env, &["configure", "--podman", "-q"], b"").ok();
    assert_eq!(read(&file), read_golden("configure/podman-configured.json"));
    assert!(
        !docker_config(&env).exists(),
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
        read(&file),
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
    assert!(!docker_config(&env).exists(), "nothing written");

    let mut cmd = env.command(&["configure", "--force", "-q"]);
    cmd.env("PATH", empty_path(&env));
    let out = common::run_command(cmd, b"");
    assert_eq!(out.code, 0, "{out:?}");
    assert!(docker_config(&env).exists());
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
    let config = docker_config(&env);
    write(&config, "{\"auths\": {");
    let out = run(&env, &["configure"], b"");
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("is not valid JSON"), "{out:?}");
    assert_eq!(read(&config), "{\"auths\": {");
}

// ------------------------------------------------------------------ migrate

fn plaintext_config() -> String {
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

backend_tests!(migrate_moves_plaintext_entries_into_the_store);
fn migrate_moves_plaintext_entries_into_the_store(backend: Backend) {
    let env = Env::new(backend);
    let config = docker_config(&env);
    write(&config, &plaintext_config());
    let bak = env.docker_config_dir().join("config.json.bak");
    write(&bak, &plaintext_config());

    let out = run(&env, &["migrate", "--dry-run"], b"");
    out.ok();
    assert!(out.stdout.contains("3 credential(s) would move"), "{out:?}");
    assert_eq!(read(&config), plaintext_config());

    let out = run(&env, &["migrate", "--json"], b"");
    out.ok();
    let summary: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(summary.as_array().unwrap().len(), 3, "{summary}");
    assert_eq!(summary[0]["store"], backend.name());

    assert_eq!(env.secret("quay.io").as_deref(), Some(secret(0)));
    assert_eq!(
        env.secret("https://index.docker.io/v1/").as_deref(),
        Some(secret(1))
    );
    assert_eq!(env.secret("docker.io").as_deref(), Some(secret(1)));
    let got = env.get("registry.example.com");
    assert!(
        got.stdout.contains(r#""Username":"\u003ctoken\u003e""#),
        "{got:?}"
    );
    assert_eq!(
        env.secret("registry.example.com").as_deref(),
        Some(secret(2))
    );

    let after = read(&config);
    assert_eq!(
            after,
            "{\n\t\"auths\": {\n\t\t\"quay.io\": {},\n\t\t\"https://index.docker.io/v1/\": {\n\t\t\t\"email\": \"bob@example.com\"\n\t\t},\n\t\t\"registry.example.com\": {},\n\t\t\"already.example.com\": {}\n\t},\n\t\"credsStore\": \"keyring\"\n}"
        );
    let backup = read(&bak);
    for (user, pass) in SECRETS {
        assert!(!after.contains(pass) && !after.contains(&auth_b64(user, pass)));
        assert!(
            !backup.contains(pass) && !backup.contains(&auth_b64(user, pass)),
            "{backup}"
        );
    }
    let ls = run(&env, &["ls", "--json"], b"");
    ls.ok();
    assert!(ls.stdout.contains("\"identityToken\": true"), "{ls:?}");

    // Nothing left: a second run says so.
    let out = run(&env, &["migrate"], b"");
    out.ok();
    assert!(out.stdout.contains("No plaintext credentials"), "{out:?}");
    for key in ["quay.io", "docker.io", "registry.example.com"] {
        env.erase(key).ok();
    }
}

#[test]
fn migrate_reads_the_containers_auth_file_too() {
    let env = Env::new(Backend::File);
    let file = env.containers_auth_file();
    write(
        &file,
        &format!(
            r#"{{"auths":{{"podman.example.com":{{"auth":"{}"}}}},"credHelpers":{{"podman.example.com":"keyring"}}}}"#,
            auth_b64("dave", secret(4))
        ),
    );
    run(&env, &["migrate", "-q"], b"").ok();
    assert_eq!(env.secret("podman.example.com").as_deref(), Some(secret(4)));
    assert_eq!(
        read(&file),
        "{\n\t\"auths\": {\n\t\t\"podman.example.com\": {}\n\t},\n\t\"credHelpers\": {\n\t\t\"podman.example.com\": \"keyring\"\n\t}\n}"
    );
}

#[test]
fn migrate_refuses_when_docker_would_lose_the_credentials() {
    let env = Env::new(Backend::File);
    let config = docker_config(&env);
    let text =
        plaintext_config().replace("\t\"credsStore\": \"keyring\"\n", "\t\"psFormat\": \"x\"\n");
    write(&config, &text);
    let out = run(&env, &["migrate"], b"");
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr.contains("docker-credential-keyring configure"),
        "{out:?}"
    );
    assert_eq!(read(&config), text, "untouched");
    assert!(env.list().is_empty(), "nothing stored");

    // credsStore is ours but a credHelpers entry sends quay.io elsewhere.
    let text = plaintext_config().replace(
        "\t\"credsStore\": \"keyring\"\n",
        "\t\"credsStore\": \"keyring\",\n\t\"credHelpers\": {\"quay.io\": \"pass\"}\n",
    );
    write(&config, &text);
    let out = run(&env, &["migrate"], b"");
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr
            .contains("run `docker-credential-keyring configure --registry quay.io` first"),
        "{out:?}"
    );
    assert_eq!(read(&config), text, "untouched");
}

#[test]
fn migrate_with_a_failing_store_leaves_the_file_untouched() {
    let env = Env::new(Backend::File);
    let config = docker_config(&env);
    write(&config, &plaintext_config());
    // The Secret Service chosen explicitly, and no bus: every store fails.
    let mut cmd = human_command(&env, &["migrate"]);
    cmd.env("DOCKER_CREDENTIAL_KEYRING_STORE", "secret-service")
        .env_remove("DBUS_SESSION_BUS_ADDRESS");
    let out = common::run_command(cmd, b"");
    assert_no_secret(&out);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr.contains("the config files were left untouched"),
        "{out:?}"
    );
    assert_eq!(read(&config), plaintext_config());
    assert!(env.list().is_empty());
}

#[test]
fn migrate_refuses_two_different_credentials_for_one_registry() {
    let env = Env::new(Backend::File);
    write(&docker_config(&env), &plaintext_config());
    let file = env.containers_auth_file();
    let text = format!(
        r#"{{"auths":{{"quay.io":{{"auth":"{}"}}}},"credHelpers":{{"quay.io":"keyring"}}}}"#,
        auth_b64("dave", secret(4))
    );
    write(&file, &text);
    let out = run(&env, &["migrate"], b"");
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("quay.io has two different credentials"),
        "{out:?}"
    );
    assert_eq!(read(&file), text);
    assert_eq!(read(&docker_config(&env)), plaintext_config());
}

// ------------------------------------------------------------------- import

/// `import` of docker's config.json after `configure`: its `{}` entries only
/// mark secrets a credential helper holds. Each is skipped naming the helper
/// and what to use instead (it used to say "no auth, username or password in
/// the entry"), exit 0 (nothing to import is not bad input), nothing stored;
/// a `--registry` naming one is not refused; and the command shown for
/// another helper copies its credential here as shown.
#[test]
fn import_of_a_configured_config_names_the_helper_holding_each_entry() {
    let env = Env::new(Backend::File);
    run(&env, &["configure"], b"").ok();
    let config = docker_config(&env);
    let mut root: serde_json::Value = serde_json::from_str(&read(&config)).unwrap();
    root["auths"] = serde_json::json!({"quay.io": {}, "ghcr.io": {}});
    root["credHelpers"] = serde_json::json!({"ghcr.io": "other"});
    write(&config, &root.to_string());
    let path = config.to_str().unwrap();
    let out = run(&env, &["import", path], b"");
    out.ok();
    let copy = "echo ghcr.io | docker-credential-other get | docker-credential-keyring store";
    assert_eq!(
        out.stdout,
        format!(
            "skipped  quay.io: held by the credential helper `keyring` (credsStore), this one: nothing to import (`export` makes a pull secret from the store)\n\
             skipped  ghcr.io: held by the credential helper `other` (credHelpers), not in the file: copy it into this store with `{copy}`\n\
             0 added, 0 replaced, 2 skipped (2 held by a credential helper)\n"
        )
    );
    assert!(env.list().is_empty());
    let out = run(&env, &["import", path, "--registry", "quay.io", "-q"], b"");
    out.ok();
    assert_eq!(
        out.stdout,
        "0 added, 0 replaced, 2 skipped (2 held by a credential helper)\n"
    );

    // The other helper, as docker-credential-helpers answer `get`.
    let stubs = env.home().join("stubs");
    std::fs::create_dir_all(&stubs).unwrap();
    let helper = stubs.join("docker-credential-other");
    write(
        &helper,
        "#!/bin/sh\n[ \"$1\" = get ] || exit 1\nread -r server\nprintf '{\"ServerURL\":\"%s\",\"Username\":\"bot\",\"Secret\":\"copied-pw\"}\\n' \"$server\"\n",
    );
    chmod(&helper, 0o755);
    let mut sh = Command::new("sh");
    sh.args(["-c", copy]);
    env.apply(&mut sh);
    let path_var = std::env::var("PATH").unwrap_or_default();
    sh.env(
        "PATH",
        format!("{}:{}:{path_var}", stubs.display(), bin_dir().display()),
    );
    common::run_command(sh, b"").ok();
    assert_eq!(env.secret("ghcr.io").as_deref(), Some("copied-pw"));
}

// ------------------------------------------------------------------- doctor

fn doctor(env: &Env, extra: &[(&str, &str)]) -> Run {
    let mut cmd = human_command(env, &["doctor"]);
    for (k, v) in extra {
        cmd.env(k, v);
    }
    let out = common::run_command(cmd, b"");
    assert_no_secret(&out);
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
    assert_no_secret(&login(&env, "quay.io", "alice", secret(0), &["-q"]));
    let mut cmd = env.command(&["doctor"]);
    let path = std::env::var("PATH").unwrap_or_default();
    cmd.env("PATH", format!("{}:{path}", bin_dir().display()))
        .env("DOCKER_CREDENTIAL_KEYRING_STORE", "file")
        .env_remove("DBUS_SESSION_BUS_ADDRESS");
    let out = common::run_command(cmd, b"");
    assert_no_secret(&out);
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
    assert_no_secret(&login(
        &env,
        "paired.example.com",
        "alice",
        secret(0),
        &["-q"],
    ));
    // Two pairs in the index: one whose registry has a credential, one without.
    let store = env.store_file();
    let mut db: serde_json::Value = serde_json::from_str(&read(&store)).unwrap();
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
    assert_no_secret(&login(&env, "quay.io", "alice", secret(0), &["-q"]));
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
    write(&docker_config(&env), &plaintext_config());
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
    assert_no_secret(&out);
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
    write(&bak, &plaintext_config());
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

// -------------------------------------------------------------- login/logout

backend_tests!(login_reads_the_secret_from_stdin);
fn login_reads_the_secret_from_stdin(backend: Backend) {
    let env = Env::new(backend);
    let out = run(
        &env,
        &[
            "login",
            "--no-verify",
            "Registry.Example.com:5000",
            "-u",
            "carol",
            "--password-stdin",
            "--email",
            "c@example.com",
        ],
        format!("{}\r\n", secret(3)).as_bytes(),
    );
    out.ok();
    assert!(
        out.stdout.contains("Stored registry.example.com:5000"),
        "{out:?}"
    );
    assert!(
        out.stderr.contains("configure"),
        "notes that docker does not use it yet: {out:?}"
    );
    assert_eq!(
        env.secret("registry.example.com:5000").as_deref(),
        Some(secret(3))
    );
    let ls = run(&env, &["ls"], b"");
    assert!(
        ls.stdout.contains("registry.example.com:5000  carol"),
        "{ls:?}"
    );

    let out = run(&env, &["logout", "registry.example.com:5000"], b"");
    out.ok();
    assert!(out.stdout.contains("Removed"), "{out:?}");
    assert_eq!(env.secret("registry.example.com:5000"), None);
    let out = run(&env, &["logout", "registry.example.com:5000"], b"");
    out.ok();
    assert!(out.stdout.contains("Not logged in"), "{out:?}");
}

/// Runs `login ARGS` on a real terminal (a pty from `script`), answering each
/// prompt in turn; returns everything the terminal showed.
fn login_on_a_terminal(env: &Env, args: &str, answers: &[(&str, &str)]) -> Run {
    use std::io::{Read, Write};
    let mut cmd = Command::new("script");
    cmd.args(["-q", "-e", "-c"])
        .arg(format!("{} login --no-verify {args}", common::BIN))
        .arg("/dev/null");
    env.apply(&mut cmd);
    let mut child = cmd
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("script (bsdutils) runs the command on a pty");
    let mut stdout = child.stdout.take().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut seen = Vec::new();
    let mut byte = [0u8; 1];
    for (prompt, answer) in answers {
        while !String::from_utf8_lossy(&seen).contains(prompt) {
            assert_eq!(
                stdout.read(&mut byte).unwrap(),
                1,
                "no prompt {prompt:?}: {}",
                String::from_utf8_lossy(&seen)
            );
            seen.push(byte[0]);
        }
        stdin.write_all(format!("{answer}\n").as_bytes()).unwrap();
    }
    drop(stdin);
    stdout.read_to_end(&mut seen).unwrap();
    let status = child.wait().unwrap();
    Run {
        code: status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&seen).into_owned(),
        stderr: String::new(),
    }
}

/// The interactive prompt on a real terminal: the secret is read without
/// echo and stored.
#[test]
fn login_prompts_on_a_terminal_without_echo() {
    let env = Env::new(Backend::File);
    let out = login_on_a_terminal(
        &env,
        "quay.io -u carol",
        &[("Password for carol@quay.io: ", secret(3))],
    );
    assert_eq!(out.code, 0, "{out:?}");
    assert_no_secret(&out);
    assert!(out.stdout.contains("Stored quay.io"), "{out:?}");
    assert_eq!(env.secret("quay.io").as_deref(), Some(secret(3)));
}

/// After the prompt the terminal echoes again (the shell's `stty -a` after
/// login, on the same pty, shows `echo`, not `-echo`).
#[test]
fn login_restores_echo_after_the_prompt() {
    let env = Env::new(Backend::File);
    let out = login_on_a_terminal(
        &env,
        "quay.io -u carol; stty -a",
        &[("Password for carol@quay.io: ", secret(3))],
    );
    assert_eq!(out.code, 0, "{out:?}");
    assert_no_secret(&out);
    let settings = out.stdout.split("without checking").nth(1).unwrap_or("");
    assert!(settings.contains(" echo "), "{out:?}");
    assert!(!settings.contains("-echo "), "{out:?}");
}

/// Without --username, login asks for it on the terminal (as `docker login`
/// does), echoed, then for the password without echo.
#[test]
fn login_asks_for_the_username_on_a_terminal() {
    let env = Env::new(Backend::File);
    let out = login_on_a_terminal(
        &env,
        "quay.io",
        &[
            ("Username for quay.io: ", "dave"),
            ("Password for dave@quay.io: ", secret(4)),
        ],
    );
    assert_eq!(out.code, 0, "{out:?}");
    assert_no_secret(&out);
    assert!(
        out.stdout.contains("dave"),
        "the username is echoed: {out:?}"
    );
    assert_eq!(env.list()["quay.io"], "dave");
    assert_eq!(env.secret("quay.io").as_deref(), Some(secret(4)));
    // No terminal, or stdin taken by the password: a clear error, nothing stored.
    let env = Env::new(Backend::File);
    let out = run(&env, &["login", "quay.io"], b"");
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(
        out.stderr,
        "error: no terminal to ask for the username: pass --username\n"
    );
    let out = run(&env, &["login", "quay.io", "--password-stdin"], b"pw");
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(out.stderr, "error: --password-stdin needs --username\n");
    assert!(env.list().is_empty());
}

/// docker's and oc's `-p/--password VALUE`, in every spelling (before the
/// registry, glued, with `=`, without a value, a value starting with `-`), is
/// exit 2 with a pointer to --password-stdin and the prompt, never shows the
/// value and stores nothing (clap used to say "to pass '-p' as a value, use
/// '-- -p'").
#[test]
fn login_never_takes_the_password_from_argv() {
    let env = Env::new(Backend::File);
    let (pw, dash) = (secret(0), "-dash-Secret-0");
    for args in [
        vec!["login", "quay.io", "-u", "a", "--password", pw],
        vec!["login", "quay.io", "-u", "a", "-p", pw],
        vec!["login", "-p", pw, "quay.io", "-u", "a"],
        vec!["login", "quay.io", "-u", "a", &format!("--password={pw}")],
        vec!["login", "quay.io", "-u", "a", &format!("-p{pw}")],
        vec!["login", "quay.io", "-u", "a", "--password-stdin", "-p", pw],
        vec!["login", "quay.io", "-u", "a", "-p", dash],
        vec!["login", "quay.io", "-u", "a", "-p"],
        vec!["login", "quay.io", "--password"],
    ] {
        let out = run(&env, &args, format!("{pw}\n").as_bytes());
        assert_eq!(out.code, 2, "{args:?}: {out:?}");
        assert_eq!(out.stdout, "", "{args:?}: {out:?}");
        assert!(!out.stderr.contains(dash), "{args:?}: {out:?}");
        assert!(
            out.stderr
                .starts_with("error: login does not take the password on the command line")
                && out.stderr.contains("--password-stdin")
                && out.stderr.contains("no-echo prompt"),
            "{args:?}: {out:?}"
        );
    }
    let out = run(&env, &["login", "quay.io", "-u", "a"], b"");
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(
        out.stderr,
        "error: no terminal to ask for the password: use --password-stdin\n"
    );
    let out = run(
        &env,
        &["login", "quay.io", "-u", "a", "--password-stdin"],
        b"",
    );
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("no password on standard input"),
        "{out:?}"
    );
    assert!(env.list().is_empty());
    let help = run(&env, &["login", "--help"], b"");
    help.ok();
    assert!(
        !help.stdout.contains("--password <") && !help.stdout.contains("  -p, "),
        "hidden from the options: {help:?}"
    );
    assert!(
        help.stdout
            .contains("`-p`/`--password`, as docker and oc take it, is refused (exit 2)"),
        "explained in the after-help: {help:?}"
    );
    assert!(help.stdout.contains("Exit codes:"), "{help:?}");
}

// -------------------------------------------------------------- completions

#[test]
fn completions_and_man_page() {
    let env = Env::new(Backend::File);
    for (shell, marker) in [
        (
            "bash",
            "-o bashdefault -o default docker-credential-keyring",
        ),
        ("zsh", "#compdef docker-credential-keyring"),
        ("fish", "complete -c docker-credential-keyring"),
        ("elvish", "docker-credential-keyring"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let out = run(&env, &["completions", shell], b"");
        out.ok();
        assert!(
            out.stdout.contains(marker),
            "{shell}: {}",
            &out.stdout[..200.min(out.stdout.len())]
        );
        assert!(
            out.stdout.contains("configure"),
            "{shell} completes subcommands"
        );
    }
    let out = run(&env, &["completions", "man"], b"");
    out.ok();
    assert!(
        out.stdout.contains(".TH docker-credential-keyring 1"),
        "{}",
        &out.stdout[..300]
    );
    for section in [
        ".SH COMMANDS",
        ".SS \"configure\"",
        ".SS \"doctor\"",
        ".SH \"EXIT STATUS\"",
        ".SH FILES",
    ] {
        assert!(out.stdout.contains(section), "{section}");
    }
    assert!(
        out.stdout.contains("\\-\\-password\\-stdin"),
        "options are listed"
    );
    let out = run(&env, &["completions", "tcsh"], b"");
    assert_eq!(out.code, 2);
}

// ------------------------------------------------------------ secret sweep

backend_tests!(no_output_ever_shows_a_secret);
/// Every human command, on success and failure paths, with secrets in the
/// store and in the config files: none of their outputs may show a secret.
fn no_output_ever_shows_a_secret(backend: Backend) {
    let env = Env::new(backend);
    assert_no_secret(&login(&env, "quay.io", "alice", secret(0), &["-q"]));
    assert_no_secret(&login(
        &env,
        "registry.example.com",
        "<token>",
        secret(2),
        &["-q"],
    ));
    // Plaintext secrets in both files, docker's not configured yet.
    let config = docker_config(&env);
    write(
        &config,
        &plaintext_config().replace(",\n\t\"credsStore\": \"keyring\"", ""),
    );
    write(
        &env.containers_auth_file(),
        &format!(
            r#"{{"auths":{{"podman.example.com":{{"auth":"{}"}}}}}}"#,
            auth_b64("dave", secret(4))
        ),
    );
    let mut outputs: Vec<Run> = Vec::new();
    for args in [
        &["ls"][..],
        &["ls", "--json"],
        &["ls", "-q"],
        &["doctor"],
        &["doctor", "--json"],
        &["configure", "--dry-run"],
        &["configure", "--podman", "--dry-run"],
        &["migrate", "--dry-run"],
        &["migrate"],
        &["migrate", "--json", "--force"],
        &["configure"],
        &["configure", "--podman"],
        &["unconfigure", "--dry-run"],
        &["login", "--help"],
        &["logout", "--help"],
        &["migrate", "--help"],
        &["doctor", "--help"],
        &["configure", "--help"],
        &["login", "bad host", "-u", "x", "--password-stdin"],
        &["logout", "--all"],
        &["ls"],
    ] {
        let out = common::run_command(
            human_command(&env, args),
            format!("{}\n", secret(3)).as_bytes(),
        );
        outputs.push(out);
    }
    for out in &outputs {
        assert_no_secret(out);
    }
    // The sweep did exercise the paths that handle secrets.
    assert!(
        outputs[8].code == 1,
        "migrate refused before configure: {:?}",
        outputs[8]
    );
    assert!(outputs[9].code == 0, "{:?}", outputs[9]);
    assert!(
        outputs[5]
            .stdout
            .contains("\"identitytoken\": \"REDACTED\""),
        "diff context redacts: {:?}",
        outputs[5]
    );
    let file = read(&config);
    for (user, pass) in SECRETS {
        assert!(
            !file.contains(pass) && !file.contains(&auth_b64(user, pass)),
            "{file}"
        );
    }
}
