//! `export`, `import` and `grant-pull` through the real binary, on the file
//! store and the real Secret Service: kubectl byte-equality (golden files made
//! with kubectl, and kubectl itself when on PATH), golden files for every
//! format, merge round trips, import of each input kind, bad input, and
//! kubectl client-side dry runs of every manifest against a discovery stub.

use crate::common;
use crate::common::kubestub;

use base64::Engine;
use common::golden::{assert_golden, golden_path};
use common::human::login;
use common::pull_secret::{export, payload_of, seeded, B64};
use common::{fails, Backend, Env};
use serde_json::{json, Value};

/// The kubectl reference cases (tests/golden/make-kubectl-golden makes the files).
/// (golden name, server, user, password, email)
const KUBECTL_CASES: &[(&str, &str, &str, &str, &str)] = &[
    (
        "hub",
        "https://index.docker.io/v1/",
        "a<b>&c",
        "p&w<>\"\\",
        "me@example.com",
    ),
    ("quay", "quay.io", "robot+ci", "s3cret", ""),
    (
        "scoped",
        "quay.io/repository-main",
        "alice",
        "tab\tline\u{2028}sep\u{2029}é",
        "",
    ),
    ("port", "localhost:5000", "bob", "pa:ss:word", "b@x"),
    ("http", "http://insecure.example.com:8080", "carol", "x", ""),
    (
        "controls",
        "controls.example.com",
        "dé<>&",
        "b\u{8}f\u{c}ls\u{2028}ps\u{2029}<>&é€😀\u{1}\u{7f}/",
        "",
    ),
    (
        "html",
        "html.example.com",
        "a&b",
        "<script>&amp;</script>",
        "h<t>&m@x",
    ),
];

/// The decoded `.dockerconfigjson` kubectl makes for one entry.
fn kubectl_payload(server: &str, user: &str, password: &str, email: &str) -> String {
    let mut cmd = std::process::Command::new("kubectl");
    cmd.args([
        "create",
        "secret",
        "docker-registry",
        "x",
        "--docker-server",
        server,
        "--docker-username",
        user,
        "--docker-password",
        password,
        "--dry-run=client",
        "-o",
        "json",
    ]);
    if !email.is_empty() {
        cmd.args(["--docker-email", email]);
    }
    let run = common::run_command(cmd, b"");
    run.ok();
    let secret: Value = serde_json::from_str(&run.stdout).unwrap();
    let bytes = B64
        .decode(secret["data"][".dockerconfigjson"].as_str().unwrap())
        .unwrap();
    String::from_utf8(bytes).unwrap()
}

backend_tests!(dockerconfigjson_bytes_equal_the_kubectl_golden_files);
fn dockerconfigjson_bytes_equal_the_kubectl_golden_files(backend: Backend) {
    dockerconfigjson_bytes_equal(backend, false);
}

/// The golden files are what the real kubectl writes (checked live here).
#[test]
#[ignore = "needs kubectl"]
fn dockerconfigjson_bytes_equal_kubectl() {
    kubestub::require_kubectl();
    dockerconfigjson_bytes_equal(Backend::File, true);
}

/// `export` of each kubectl case equals its golden file (and, when `live`,
/// what `kubectl create secret docker-registry` writes), bare and in a Secret.
fn dockerconfigjson_bytes_equal(backend: Backend, live: bool) {
    for (name, server, user, password, email) in KUBECTL_CASES {
        let env = Env::new(backend);
        let email = (!email.is_empty()).then_some(*email);
        let mut extra = vec!["-q"];
        extra.extend(email.iter().flat_map(|e| ["--email", e]));
        if password.chars().any(|c| c.is_control() && c != '\t') {
            // `login` refuses control characters on stdin: docker's path.
            assert!(email.is_none(), "{name}: the protocol store takes no email");
            env.store(server, user, password).ok();
        } else {
            login(&env, server, user, password, &extra);
        }
        let run = export(&env, &["--registry", server]);
        run.ok();
        let golden =
            std::fs::read_to_string(golden_path(&format!("kubectl-{name}.dockerconfigjson")))
                .unwrap();
        assert_eq!(run.stdout, golden, "{name} on {backend:?}");
        if live {
            assert_eq!(
                run.stdout,
                kubectl_payload(server, user, password, email.unwrap_or("")),
                "{name}: live kubectl"
            );
        }
        // The Secret carries the same bytes, base64-encoded.
        let secret: Value =
            serde_json::from_str(&export(&env, &["--format", "secret"]).ok().stdout).unwrap();
        let data = B64
            .decode(secret["data"][".dockerconfigjson"].as_str().unwrap())
            .unwrap();
        assert_eq!(String::from_utf8(data).unwrap(), golden);
    }
}

backend_tests!(every_format_matches_its_golden_file);
fn every_format_matches_its_golden_file(backend: Backend) {
    let env = seeded(backend);
    let cases: &[(&str, &[&str])] = &[
        ("export.dockerconfigjson", &[]),
        ("export.dockercfg", &["--format", "dockercfg"]),
        ("secret.json", &["--format", "secret"]),
        ("secret.yaml", &["--format", "secret", "--yaml"]),
        (
            "secret-legacy.json",
            &[
                "--format", "secret", "--legacy", "--name", "legacy", "-n", "team-a",
            ],
        ),
        (
            "secret-legacy.yaml",
            &["--format", "secret", "--legacy", "--yaml"],
        ),
        (
            "list.json",
            &["--format", "secret", "-n", "team-a", "-n", "team-b"],
        ),
        (
            "list.yaml",
            &[
                "--format", "secret", "-n", "team-a", "-n", "team-b", "--yaml",
            ],
        ),
        (
            "link-commands.sh",
            &[
                "--format",
                "secret",
                "-n",
                "team-a",
                "-n",
                "team-b",
                "--link-service-account",
                "default",
                "--link-commands",
            ],
        ),
    ];
    for (golden, args) in cases {
        let run = export(&env, args);
        run.ok();
        assert!(run.stderr.is_empty(), "{golden}: {run:?}");
        assert_golden(golden, &run.stdout);
    }
    // With --kubectl oc: the same script, every call through oc.
    let link = |program: &str| {
        let args = [
            "--format",
            "secret",
            "-n",
            "team-a",
            "--link-service-account",
            "default",
            "--link-commands",
            "--kubectl",
            program,
        ];
        export(&env, &args).ok().stdout.clone()
    };
    let (kubectl, oc) = (link("kubectl"), link("oc"));
    assert!(
        oc.contains("\ndck_link oc team-a default pull 60 pull-secret"),
        "{oc}"
    );
    assert_eq!(oc.replace("dck_link oc ", "dck_link kubectl "), kubectl);
    // With the live ServiceAccounts piped in: one List to apply, holding
    // the Secrets and the ServiceAccounts with their entries kept.
    let live = r#"{"kind":"List","apiVersion":"v1","items":[
            {"kind":"ServiceAccount","apiVersion":"v1","metadata":{"name":"default","namespace":"team-a","resourceVersion":"7"},"imagePullSecrets":[{"name":"default-dockercfg-a"}]},
            {"kind":"ServiceAccount","apiVersion":"v1","metadata":{"name":"default","namespace":"team-b","resourceVersion":"9"}}]}"#;
    let run = env.run(
        &[
            "export",
            "--format",
            "secret",
            "-n",
            "team-a",
            "-n",
            "team-b",
            "--link-service-account",
            "default",
            "--service-accounts",
            "-",
            "--yaml",
        ],
        live.as_bytes(),
    );
    run.ok();
    assert!(run.stderr.is_empty(), "{run:?}");
    assert_golden("linked-list.yaml", &run.stdout);
    // Without --link-commands: the List on stdout, the link commands on stderr.
    let run = export(
        &env,
        &[
            "--format",
            "secret",
            "-n",
            "team-a",
            "--link-service-account",
            "default",
        ],
    );
    let list: Value = serde_json::from_str(&run.ok().stdout).unwrap();
    assert_eq!(list["kind"], "List");
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert!(run.stderr.contains("atomic list"), "{run:?}");
    assert!(
        run.stderr
            .contains("\ndck_link kubectl team-a default pull 60 pull-secret || dck_rc=1\n"),
        "{run:?}"
    );
    let run = export(
        &env,
        &[
            "--format",
            "secret",
            "-n",
            "a",
            "--link-service-account",
            "other/default",
            "--link-commands",
        ],
    );
    fails(&run, "the Secret is not exported to namespace \"other\"");
    let run = export(
        &env,
        &[
            "--format",
            "secret",
            "--link-service-account",
            "ns1/builder",
            "--link-commands",
        ],
    );
    assert!(
        run.ok().stdout.ends_with(
            "\ndck_link kubectl ns1 builder pull 60 pull-secret || dck_rc=1\nexit \"$dck_rc\"\n)\n"
        ),
        "{run:?}"
    );
    // Docker Hub goes out under the key kubelet and docker read.
    let payload: Value = serde_json::from_str(&export(&env, &[]).ok().stdout).unwrap();
    assert!(payload["auths"]["https://index.docker.io/v1/"].is_object());
    assert!(payload["auths"]["quay.io/repository-main"].is_object());
}

#[test]
#[ignore = "needs kubectl"]
fn secret_json_and_yaml_match_kubectl_objects() {
    kubestub::require_kubectl();
    let env = Env::new(common::Backend::File);
    login(&env, "quay.io", "u", "p<&>", &["-q", "--email", "e@x"]);
    fn parse_json(s: &str) -> Value {
        serde_json::from_str(s).unwrap()
    }
    fn parse_yaml(s: &str) -> Value {
        docker_credential_keyring::export::yaml::parse(s).unwrap()
    }
    for (flag, parse) in [
        ("json", parse_json as fn(&str) -> Value),
        ("yaml", parse_yaml),
    ] {
        let mut cmd = std::process::Command::new("kubectl");
        cmd.args([
            "create",
            "secret",
            "docker-registry",
            "pull-secret",
            "-n",
            "ns1",
            "--docker-server=quay.io",
            "--docker-username=u",
            "--docker-password=p<&>",
            "--docker-email=e@x",
            "--dry-run=client",
            "-o",
            flag,
        ]);
        let theirs = common::run_command(cmd, b"");
        theirs.ok();
        let mut theirs = parse(&theirs.stdout);
        theirs["metadata"]
            .as_object_mut()
            .unwrap()
            .remove("creationTimestamp");
        let mut args = vec!["--format", "secret", "-n", "ns1"];
        if flag == "yaml" {
            args.push("--yaml");
        }
        let ours = parse(&export(&env, &args).ok().stdout);
        assert_eq!(ours, theirs, "{flag}");
    }
}

#[test]
#[ignore = "needs kubectl"]
fn manifests_pass_kubectl_client_dry_runs() {
    kubestub::require_kubectl();
    let stub = kubestub::Stub::start();
    let env = seeded(common::Backend::File);
    login(&env, "privateregistry.example.com", "me", "pw", &["-q"]);
    let merged = env.run(
        &[
            "export",
            "--merge",
            "-",
            "--registry",
            "privateregistry.example.com",
            "--replace",
            "privateregistry.example.com",
        ],
        &std::fs::read(golden_path("openshift-pull-secret.json")).unwrap(),
    );
    let outputs: Vec<(String, usize)> = vec![
        (export(&env, &["--format", "secret"]).ok().stdout.clone(), 1),
        (
            export(&env, &["--format", "secret", "--yaml", "--legacy"])
                .ok()
                .stdout
                .clone(),
            1,
        ),
        (
            export(
                &env,
                &[
                    "--format",
                    "secret",
                    "-n",
                    "a",
                    "-n",
                    "b",
                    "--link-service-account",
                    "default",
                ],
            )
            .ok()
            .stdout
            .clone(),
            2,
        ),
        (
            export(
                &env,
                &["--format", "secret", "-n", "a", "-n", "b", "--yaml"],
            )
            .ok()
            .stdout
            .clone(),
            2,
        ),
        (merged.ok().stdout.clone(), 1),
        (
            env.run(
                &["grant-pull", "--from-namespace", "a", "--to-namespace", "b"],
                b"",
            )
            .ok()
            .stdout
            .clone(),
            1,
        ),
        (
            env.run(
                &[
                    "grant-pull",
                    "--from-namespace",
                    "a",
                    "--to-namespace",
                    "b",
                    "--all-service-accounts",
                    "--yaml",
                ],
                b"",
            )
            .ok()
            .stdout
            .clone(),
            1,
        ),
    ];
    for (manifest, objects) in &outputs {
        for verb in ["apply", "create"] {
            let run = stub.kubectl(
                &[verb, "--dry-run=client", "--validate=false", "-f", "-"],
                manifest.as_bytes(),
            );
            assert_eq!(run.code, 0, "kubectl {verb}: {run:?}\n{manifest}");
            assert_eq!(
                run.stdout.matches("created (dry run)").count(),
                *objects,
                "kubectl {verb}: {run:?}"
            );
        }
    }
    // The check can fail: a broken manifest is refused by the same command.
    let broken = outputs[0].0.replace("\"Secret\"", "\"Secrt\"");
    let run = stub.kubectl(
        &["apply", "--dry-run=client", "--validate=false", "-f", "-"],
        broken.as_bytes(),
    );
    assert_ne!(run.code, 0, "{run:?}");
}

backend_tests!(output_file_is_private_and_replaced_atomically);
fn output_file_is_private_and_replaced_atomically(backend: Backend) {
    let env = seeded(backend);
    let path = env.home().join("out.json");
    std::fs::write(&path, "old").unwrap();
    let run = export(&env, &["--output", path.to_str().unwrap()]);
    run.ok();
    assert!(run.stdout.is_empty());
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        export(&env, &[]).ok().stdout
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let leftovers: Vec<_> = std::fs::read_dir(env.home())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp."))
        .collect();
    assert!(leftovers.is_empty());
}

backend_tests!(selection_globs_and_errors);
fn selection_globs_and_errors(backend: Backend) {
    let env = seeded(backend);
    login(&env, "a.example.com", "u1", "p1", &["-q"]);
    login(&env, "b.c.example.com:5000", "u2", "p2", &["-q"]);
    let keys = |args: &[&str]| -> Vec<String> {
        let v: Value = serde_json::from_str(&export(&env, args).ok().stdout).unwrap();
        v["auths"].as_object().unwrap().keys().cloned().collect()
    };
    assert_eq!(keys(&["--registry", "*.example.com"]), ["a.example.com"]);
    assert_eq!(
        keys(&[
            "--registry",
            "*.example.com",
            "--registry",
            "*.example.com:*"
        ]),
        ["a.example.com", "b.c.example.com:5000"]
    );
    assert_eq!(
        keys(&["--registry", "docker.io"]),
        ["https://index.docker.io/v1/"]
    );
    assert_eq!(
        keys(&["--registry", "https://index.docker.io/v1/"]),
        ["https://index.docker.io/v1/"]
    );
    assert_eq!(
        keys(&["--registry", "quay.io/*"]),
        ["quay.io/repository-main"]
    );
    fails(
        &export(&env, &["--registry", "nothere.example.com"]),
        "--registry \"nothere.example.com\" matches no stored credential",
    );
    fails(
        &export(&env, &["--registry", "bad host"]),
        "--registry \"bad host\"",
    );
    fails(
        &export(&env, &["--name", "x"]),
        "--name needs --format secret",
    );
    fails(
        &export(&env, &["--format", "secret", "--name", "Bad_Name"]),
        "not a valid Kubernetes name",
    );
}

#[test]
fn export_of_an_empty_store_fails() {
    let empty = Env::new(common::Backend::File);
    fails(&export(&empty, &[]), "no credentials are stored");
}

backend_tests!(colon_in_username_is_skipped_from_all_and_refused_by_name);
fn colon_in_username_is_skipped_from_all_and_refused_by_name(backend: Backend) {
    let env = seeded(backend);
    env.store("colon.example.com", "team:bot", "colonpw").ok();
    // Export of everything: the others go out, the bad one is skipped by name.
    let run = export(&env, &[]);
    run.ok();
    let v: Value = serde_json::from_str(&run.stdout).unwrap();
    let auths = v["auths"].as_object().unwrap();
    assert!(auths.contains_key("quay.io"), "{run:?}");
    assert!(auths.contains_key("https://index.docker.io/v1/"), "{run:?}");
    assert!(!auths.contains_key("colon.example.com"), "{run:?}");
    assert!(!run.stdout.contains("colonpw"), "{run:?}");
    assert!(
        run.stderr
            .contains("warning: colon.example.com: skipped: the username contains ':'"),
        "{run:?}"
    );
    assert!(!run.stderr.contains("colonpw"), "{run:?}");
    // A glob is not a choice by name either.
    fails(
        &export(&env, &["--registry", "*.example.com"]),
        "nothing to export: every selected credential was skipped (colon.example.com: skipped",
    );
    // Asked for by name: an error naming it, even next to a good registry.
    fails(
        &export(
            &env,
            &["--registry", "quay.io", "--registry", "colon.example.com"],
        ),
        "colon.example.com: the username contains ':'",
    );
    export(&env, &["--registry", "quay.io"]).ok();
}

/// `login` says at once that such a username cannot go into a pull secret.
#[test]
fn login_warns_about_a_colon_in_the_username() {
    let env = Env::new(Backend::File);
    let run = env.run(
        &[
            "login",
            "--no-verify",
            "colon.example.com",
            "-u",
            "team:bot",
            "--password-stdin",
        ],
        b"pw\n",
    );
    run.ok();
    assert!(
        run.stderr
            .contains("warning: colon.example.com: the username contains ':'")
            && run.stderr.contains("`export` will skip"),
        "{run:?}"
    );
    let run = env.run(
        &[
            "login",
            "--no-verify",
            "plain.example.com",
            "-u",
            "bot",
            "--password-stdin",
        ],
        b"pw\n",
    );
    run.ok();
    assert!(!run.stderr.contains("warning"), "{run:?}");
}

backend_tests!(identity_tokens_are_skipped_with_a_warning_or_included);
fn identity_tokens_are_skipped_with_a_warning_or_included(backend: Backend) {
    let env = seeded(backend);
    env.store("token.example.com", "<token>", "refresh-tok")
        .ok();
    let run = export(&env, &[]);
    run.ok();
    assert!(!run.stdout.contains("token.example.com"), "{run:?}");
    assert!(
        run.stderr.contains("warning: token.example.com: skipped")
            && run.stderr.contains("--include-tokens"),
        "{run:?}"
    );
    assert!(!run.stderr.contains("refresh-tok"));
    let run = export(&env, &["--include-tokens"]);
    let v: Value = serde_json::from_str(&run.ok().stdout).unwrap();
    assert_eq!(
        v["auths"]["token.example.com"],
        json!({"identitytoken":"refresh-tok"})
    );
    fails(
        &export(&env, &["--registry", "token.example.com"]),
        "nothing to export",
    );
}

backend_tests!(email_from_login_or_export_flag);
fn email_from_login_or_export_flag(backend: Backend) {
    let env = seeded(backend);
    let v: Value = serde_json::from_str(&export(&env, &[]).ok().stdout).unwrap();
    assert_eq!(
        v["auths"]["https://index.docker.io/v1/"]["email"],
        "hub@example.com"
    );
    assert!(v["auths"]["quay.io"].get("email").is_none());
    let v: Value =
        serde_json::from_str(&export(&env, &["--email", "all@example.com"]).ok().stdout).unwrap();
    for entry in v["auths"].as_object().unwrap().values() {
        assert_eq!(entry["email"], "all@example.com");
    }
}

/// Adds a pair to the index the way the pairs code stores it.
fn pair(env: &Env, registry: &str, auth_server: &str) {
    let path = env.store_file();
    let mut db: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    db["pairs"][registry] = json!({"authServer": auth_server});
    std::fs::write(&path, serde_json::to_vec_pretty(&db).unwrap()).unwrap();
}

backend_tests!(paired_auth_servers_come_along);
fn paired_auth_servers_come_along(backend: Backend) {
    let env = seeded(backend);
    login(
        &env,
        "registry.connect.redhat.com",
        "rh",
        "rhpw",
        &["-q", "--email", "rh@x"],
    );
    pair(&env, "registry.connect.redhat.com", "sso.redhat.com");
    let v: Value = serde_json::from_str(
        &export(&env, &["--registry", "registry.connect.redhat.com"])
            .ok()
            .stdout,
    )
    .unwrap();
    let auths = v["auths"].as_object().unwrap();
    assert_eq!(auths.len(), 2, "{v}");
    assert_eq!(
        auths["sso.redhat.com"],
        auths["registry.connect.redhat.com"]
    );
    let v: Value = serde_json::from_str(
        &export(
            &env,
            &[
                "--registry",
                "registry.connect.redhat.com",
                "--no-auth-servers",
            ],
        )
        .ok()
        .stdout,
    )
    .unwrap();
    assert_eq!(v["auths"].as_object().unwrap().len(), 1);
    // The auth server by its own name: answered through the pair, as `get` does.
    let v: Value =
        serde_json::from_str(&export(&env, &["--registry", "sso.redhat.com"]).ok().stdout).unwrap();
    let auths = v["auths"].as_object().unwrap();
    assert_eq!(auths.len(), 1, "{v}");
    assert_eq!(auths["sso.redhat.com"]["username"], "rh");
    assert_eq!(auths["sso.redhat.com"]["auth"], B64.encode("rh:rhpw"));
    let v: Value =
        serde_json::from_str(&export(&env, &["--registry", "sso.*.com"]).ok().stdout).unwrap();
    assert_eq!(v["auths"].as_object().unwrap().len(), 1, "{v}");
    // An auth server with a credential of its own that the pair does not tie
    // stays out of the registry's export (a registry never picks another of
    // your credentials), with a warning...
    login(&env, "sso.redhat.com", "sso", "ssopw", &["-q"]);
    let run = export(&env, &["--registry", "registry.connect.redhat.com"]);
    let v: Value = serde_json::from_str(&run.ok().stdout).unwrap();
    assert_eq!(v["auths"].as_object().unwrap().len(), 1, "{v}");
    assert!(
        run.stderr.contains("sso.redhat.com: auth server of registry.connect.redhat.com left out: it holds a credential of its own (username sso) that is not tied to registry.connect.redhat.com"),
        "{run:?}"
    );
    // ...and comes along with its own credential once the user ties it.
    env.run(
        &[
            "pair",
            "add",
            "registry.connect.redhat.com",
            "sso.redhat.com",
            "--use-auth-credential",
        ],
        b"",
    )
    .ok();
    let v: Value = serde_json::from_str(
        &export(&env, &["--registry", "registry.connect.redhat.com"])
            .ok()
            .stdout,
    )
    .unwrap();
    assert_eq!(v["auths"]["sso.redhat.com"]["username"], "sso");
}

/// `--split`: the seed's delegated-auth layout, one Secret for the registry
/// and one for its auth server (answered through the pair), each holding
/// only its own entry.
#[test]
fn split_writes_one_secret_per_registry() {
    let env = seeded(Backend::File);
    login(&env, "registry.connect.redhat.com", "rh", "rhpw", &["-q"]);
    pair(&env, "registry.connect.redhat.com", "sso.redhat.com");
    let run = export(
        &env,
        &[
            "--format",
            "secret",
            "-n",
            "team-a",
            "--split",
            "private-registry=registry.connect.redhat.com",
            "--split",
            "redhat-connect-sso=sso.redhat.com",
        ],
    );
    let list: Value = serde_json::from_str(&run.ok().stdout).unwrap();
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{list}");
    for (item, name, key) in [
        (&items[0], "private-registry", "registry.connect.redhat.com"),
        (&items[1], "redhat-connect-sso", "sso.redhat.com"),
    ] {
        assert_eq!(item["metadata"]["name"], name);
        assert_eq!(item["metadata"]["namespace"], "team-a");
        let payload = payload_of(item);
        let auths = payload["auths"].as_object().unwrap();
        assert_eq!(auths.keys().collect::<Vec<_>>(), [key], "{payload}");
        assert_eq!(auths[key]["auth"], B64.encode("rh:rhpw"));
    }
    fails(
        &export(&env, &["--split", "a=quay.io"]),
        "--split needs --format secret",
    );
    fails(
        &export(&env, &["--format", "secret", "--split", "a=*.io"]),
        "not a glob",
    );
    fails(
        &export(&env, &["--format", "secret", "--split", "Bad=quay.io"]),
        "not a valid Kubernetes name",
    );
    fails(
        &export(&env, &["--format", "secret", "--split", "quay.io"]),
        "expected NAME=REGISTRY",
    );
    // Two Secrets of one name: `kubectl apply` would keep only the last.
    fails(
        &export(
            &env,
            &[
                "--format",
                "secret",
                "--split",
                "a=quay.io",
                "--split",
                "a=registry.connect.redhat.com",
            ],
        ),
        "--split names Secret \"a\" twice",
    );
    let both = export(
        &env,
        &[
            "--format",
            "secret",
            "--split",
            "a=quay.io",
            "--registry",
            "quay.io",
        ],
    );
    assert_eq!(both.code, 2, "{both:?}");
    // Each split Secret is named by its NAME=: a --name would be ignored.
    let named = export(
        &env,
        &["--format", "secret", "--split", "a=quay.io", "--name", "x"],
    );
    assert_eq!(named.code, 2, "{named:?}");
    assert!(named.stderr.contains("--name"), "{named:?}");
}
