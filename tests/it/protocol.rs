//! The credential-helper protocol through the real binary, as docker calls it,
//! on the file store and on the real Secret Service.

use crate::common;

use common::{Backend, Env};

const NOT_FOUND: &str = "credentials not found in native keychain";

backend_tests!(store_get_list_erase_round_trip);
fn store_get_list_erase_round_trip(backend: Backend) {
    let env = &Env::new(backend);
    env.store("quay.io", "alice", "s3cret").ok();
    let run = env.get("quay.io");
    run.ok();
    assert_eq!(
        run.stdout, "{\"ServerURL\":\"quay.io\",\"Username\":\"alice\",\"Secret\":\"s3cret\"}\n",
        "{:?}",
        env.backend
    );
    assert!(run.stderr.is_empty(), "stderr must stay empty: {run:?}");
    let list = env.list();
    assert_eq!(list.len(), 1);
    assert_eq!(list["quay.io"], "alice");
    env.erase("quay.io").ok();
    assert_eq!(env.secret("quay.io"), None);
    assert!(env.list().is_empty());
}

backend_tests!(not_found_is_the_exact_upstream_string_on_stdout);
fn not_found_is_the_exact_upstream_string_on_stdout(backend: Backend) {
    let env = &Env::new(backend);
    let run = env.get("missing.example.com");
    assert_eq!(run.code, 1);
    assert_eq!(run.stdout, format!("{NOT_FOUND}\n"));
    assert!(run.stderr.is_empty());
}

backend_tests!(empty_list_is_an_empty_object);
fn empty_list_is_an_empty_object(backend: Backend) {
    let env = &Env::new(backend);
    let run = env.run(&["list"], b"unused");
    run.ok();
    assert_eq!(run.stdout, "{}\n");
}

backend_tests!(store_keys_are_case_insensitive_and_identity_token_user_kept);
fn store_keys_are_case_insensitive_and_identity_token_user_kept(backend: Backend) {
    let env = &Env::new(backend);
    let input = r#"{"serverurl":"registry.example.com","USERNAME":"\u003ctoken\u003e","secret":"refresh-tok","Other":true}"#;
    env.run(&["store"], input.as_bytes()).ok();
    let run = env.get("registry.example.com");
    run.ok();
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(v["Username"], "<token>");
    assert_eq!(v["Secret"], "refresh-tok");
    // Go clients escape <>; so do we, byte for byte.
    assert!(
        run.stdout.contains(r#""Username":"\u003ctoken\u003e""#),
        "{}",
        run.stdout
    );
}

backend_tests!(get_and_erase_trim_the_url);
fn get_and_erase_trim_the_url(backend: Backend) {
    let env = &Env::new(backend);
    env.store("quay.io", "u", "p").ok();
    let run = env.run(&["get"], b"  quay.io\n");
    run.ok();
    assert!(
        run.stdout.contains("\"ServerURL\":\"quay.io\""),
        "{}",
        run.stdout
    );
    env.run(&["erase"], b"quay.io\r\n").ok();
    assert_eq!(env.secret("quay.io"), None);
}

backend_tests!(erase_of_a_missing_key_succeeds);
fn erase_of_a_missing_key_succeeds(backend: Backend) {
    let env = &Env::new(backend);
    let run = env.erase("never-stored.example.com");
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.is_empty());
}

backend_tests!(empty_secret_is_allowed);
fn empty_secret_is_allowed(backend: Backend) {
    let env = &Env::new(backend);
    env.store("empty.example.com", "u", "").ok();
    assert_eq!(env.secret("empty.example.com").as_deref(), Some(""));
}

backend_tests!(missing_server_url_and_username_use_upstream_strings);
fn missing_server_url_and_username_use_upstream_strings(backend: Backend) {
    let env = &Env::new(backend);
    let run = env.run(
        &["store"],
        br#"{"ServerURL":"","Username":"u","Secret":"s"}"#,
    );
    assert_eq!(
        (run.code, run.stdout.as_str()),
        (1, "no credentials server URL\n")
    );
    let run = env.run(
        &["store"],
        br#"{"ServerURL":"quay.io","Username":"","Secret":"s"}"#,
    );
    assert_eq!(
        (run.code, run.stdout.as_str()),
        (1, "no credentials username\n")
    );
    let run = env.run(&["get"], b"");
    assert_eq!(
        (run.code, run.stdout.as_str()),
        (1, "no credentials server URL\n")
    );
    let run = env.run(&["erase"], b"  ");
    assert_eq!(
        (run.code, run.stdout.as_str()),
        (1, "no credentials server URL\n")
    );
    assert!(env.list().is_empty());
}

// Bad input (empty, oversized, non-UTF-8, wrong JSON, unknown actions, extra
// arguments, ...) is one table in the bad_input module.

#[test]
fn help_exits_zero() {
    let env = Env::new(Backend::File);
    let run = env.run(&["--help"], b"");
    assert_eq!(run.code, 0);
    assert!(run.stdout.contains("Exit codes"), "{run:?}");
}

#[test]
fn version_is_one_line_with_the_store() {
    let env = Env::new(Backend::File);
    for word in ["version", "--version", "-v"] {
        let run = env.run(&[word], b"");
        run.ok();
        assert_eq!(run.stdout.lines().count(), 1);
        assert!(
            run.stdout.starts_with("docker-credential-keyring 0."),
            "{run:?}"
        );
        assert!(run.stdout.contains("store: file"), "{run:?}");
    }
}

backend_tests!(server_url_spellings_find_the_same_credential);
/// Registry-key rules through the binary: each group is one credential.
fn server_url_spellings_find_the_same_credential(backend: Backend) {
    let groups: &[&[&str]] = &[
        &[
            "https://index.docker.io/v1/",
            "index.docker.io",
            "docker.io",
            "registry-1.docker.io",
            "https://registry-1.docker.io/v2/",
        ],
        &["https://index.docker.io/v1/access-token"],
        &["https://index.docker.io/v1/refresh-token"],
        &[
            "quay.io",
            "https://quay.io",
            "https://quay.io/",
            "quay.io/v2/",
            "QUAY.IO",
        ],
        &["quay.io:8443"],
        &["quay.io/repository-main"],
        &["localhost:5000"],
        &["127.0.0.1:5000"],
        &["[::1]:5000"],
        &["http://insecure.example.com"],
        &["insecure.example.com", "https://insecure.example.com"],
    ];
    let env = &Env::new(backend);
    for (i, group) in groups.iter().enumerate() {
        env.store(group[0], &format!("user{i}"), &format!("secret{i}"))
            .ok();
    }
    for (i, group) in groups.iter().enumerate() {
        for spelling in *group {
            assert_eq!(
                env.secret(spelling),
                Some(format!("secret{i}")),
                "{spelling} on {:?}",
                env.backend
            );
        }
    }
    // list reports the spelling each client stored, so list-then-get finds all.
    let list = env.list();
    assert_eq!(list.len(), groups.len(), "{list:?}");
    for (i, group) in groups.iter().enumerate() {
        assert_eq!(list[group[0]], format!("user{i}"));
    }
    for url in list.keys() {
        assert!(env.secret(url).is_some(), "list-then-get must find {url}");
    }
}

backend_tests!(latest_spelling_replaces_the_credential);
fn latest_spelling_replaces_the_credential(backend: Backend) {
    let env = &Env::new(backend);
    env.store("https://index.docker.io/v1/", "a", "one").ok();
    env.store("docker.io", "b", "two").ok();
    let list = env.list();
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list["docker.io"], "b");
    assert_eq!(
        env.secret("https://index.docker.io/v1/").as_deref(),
        Some("two")
    );
}

backend_tests!(special_characters_survive);
fn special_characters_survive(backend: Backend) {
    let env = &Env::new(backend);
    let secret = "p\"a'ss\\w:o rd<&>é☃\u{2028}";
    let user = "user:with\"quote";
    env.store("chars.example.com", user, secret).ok();
    let run = env.get("chars.example.com");
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(v["Secret"], secret);
    assert_eq!(v["Username"], user);
}

backend_tests!(large_secret_round_trips);
fn large_secret_round_trips(backend: Backend) {
    let env = &Env::new(backend);
    let secret: String = "x".repeat(100 * 1024);
    env.store("big.example.com", "u", &secret).ok();
    assert_eq!(
        env.secret("big.example.com").as_deref(),
        Some(secret.as_str())
    );
}

#[test]
#[ignore = "needs the Secret Service (run through tests/with-secret-service)"]
fn secret_service_store_is_recorded_in_the_index_not_the_secret() {
    common::require_secret_service();
    let env = Env::new(Backend::SecretService);
    env.store("ss.example.com", "u", "only-in-keyring").ok();
    let bytes = env.store_bytes().expect("index exists");
    let text = String::from_utf8(bytes).unwrap();
    assert!(
        !text.contains("only-in-keyring"),
        "secret leaked into the index: {text}"
    );
    assert!(text.contains("secret-service"), "{text}");
}

#[cfg(unix)]
#[test]
fn file_store_permissions_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let env = Env::new(Backend::File);
    // A permissive umask must not leak into our files.
    let mut cmd = std::process::Command::new("sh");
    cmd.arg("-c")
        .arg(format!("umask 000; exec {} store", common::BIN));
    env.apply(&mut cmd);
    let run = common::run_command(
        cmd,
        br#"{"ServerURL":"p.example.com","Username":"u","Secret":"s"}"#,
    );
    run.ok();
    let file = std::fs::metadata(env.store_file())
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    let dir = std::fs::metadata(env.store_file().parent().unwrap())
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!((file, dir), (0o600, 0o700));
}
