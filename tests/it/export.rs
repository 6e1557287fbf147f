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
use common::{Backend, Env, Run};
use serde_json::{json, Value};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

fn export(env: &Env, args: &[&str]) -> Run {
    let mut all = vec!["export"];
    all.extend(args);
    env.run(&all, b"")
}

fn fails(run: &Run, needle: &str) {
    assert_eq!(run.code, 1, "expected failure: {run:?}");
    assert!(
        run.stdout.is_empty(),
        "nothing on stdout on failure: {run:?}"
    );
    assert!(
        run.stderr.starts_with("error: ") && run.stderr.contains(needle),
        "stderr should say {needle:?}: {run:?}"
    );
    assert_eq!(run.stderr.lines().count(), 1, "one-line error: {run:?}");
}

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

/// A store with Docker Hub (email), a repository-scoped key and quay.io.
fn seeded(backend: common::Backend) -> Env {
    let env = Env::new(backend);
    login(
        &env,
        "docker.io",
        "hubuser",
        "hub&pass",
        &["-q", "--email", "hub@example.com"],
    );
    login(&env, "quay.io", "robot+ci", "s3cret", &["-q"]);
    login(&env, "quay.io/repository-main", "alice", "al<ice>", &["-q"]);
    env
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

/// Passwords and annotation text whose JSON escapes differ between
/// encoders: Go 1.22's `\b` and `\f`, HTML-safe `<>&`, U+2028/2029, non-ASCII.
const ESCAPE_TABLE: &[&str] = &[
    "b\u{8}f\u{c}",
    "ls\u{2028}ps\u{2029}",
    "<script>&amp;</script>",
    "é€😀",
    "\u{1}\u{1f}\u{7f}\t\n\r\"\\/",
];

/// `--merge` of a Secret as kubectl prints it writes kubectl's bytes back
/// (only the server-owned `creationTimestamp` goes): the payload and the
/// JSON manifest use Go's escaping, for every entry of [`ESCAPE_TABLE`].
#[test]
#[ignore = "needs kubectl"]
fn merged_secret_json_is_byte_equal_to_kubectl() {
    kubestub::require_kubectl();
    for text in ESCAPE_TABLE {
        let env = Env::new(common::Backend::File);
        env.store("quay.io", "u", text).ok();
        let password = format!("--docker-password={text}");
        let created = common::run_command(
            {
                let mut cmd = std::process::Command::new("kubectl");
                cmd.args([
                    "create",
                    "secret",
                    "docker-registry",
                    "ps",
                    "--docker-server=quay.io",
                    "--docker-username=u",
                    &password,
                    "--dry-run=client",
                    "-o",
                    "json",
                ]);
                cmd
            },
            b"",
        );
        created.ok();
        let note = format!("note={text}");
        let annotated = common::run_command(
            {
                let mut cmd = std::process::Command::new("kubectl");
                cmd.args(["annotate", "--local", "-f", "-", &note, "-o", "json"]);
                cmd
            },
            created.stdout.as_bytes(),
        );
        annotated.ok();
        let theirs = &annotated.stdout;
        assert!(theirs.contains("\"note\""), "{theirs}");
        let ours = env.run(
            &["export", "--merge", "-", "--registry", "quay.io"],
            theirs.as_bytes(),
        );
        ours.ok();
        let mut expected = theirs.replace("        \"creationTimestamp\": null,\n", "");
        if !expected.ends_with('\n') {
            expected.push('\n');
        }
        assert_eq!(ours.stdout, expected, "{text:?}");
    }
}

#[test]
fn grant_pull_golden_files() {
    let env = Env::new(common::Backend::File);
    let sa = env.run(
        &[
            "grant-pull",
            "--from-namespace",
            "project-a",
            "--to-namespace",
            "project-b",
        ],
        b"",
    );
    assert_golden("rolebinding-sa.json", &sa.ok().stdout);
    let sa: Value = serde_json::from_str(&sa.stdout).unwrap();
    assert_eq!(sa["roleRef"]["name"], "system:image-puller");
    assert_eq!(sa["roleRef"]["kind"], "ClusterRole");
    assert_eq!(
        sa["subjects"][0],
        json!({"kind":"ServiceAccount","name":"default","namespace":"project-a"})
    );
    let group = env.run(
        &[
            "grant-pull",
            "--from-namespace",
            "project-a",
            "--all-service-accounts",
            "--to-namespace",
            "project-b",
            "--yaml",
        ],
        b"",
    );
    assert_golden("rolebinding-group.yaml", &group.ok().stdout);
    assert!(group
        .stdout
        .contains("- apiGroup: rbac.authorization.k8s.io\n  kind: Group\n  name: system:serviceaccounts:project-a\n"));
    let custom = env.run(
        &[
            "grant-pull",
            "--from-namespace",
            "a",
            "--service-account",
            "builder",
            "--to-namespace",
            "b",
            "--name",
            "pull-from-b",
        ],
        b"",
    );
    let custom: Value = serde_json::from_str(&custom.ok().stdout).unwrap();
    assert_eq!(
        custom["metadata"],
        json!({"name":"pull-from-b","namespace":"b"})
    );
    assert_eq!(custom["subjects"][0]["name"], "builder");
    fails(
        &env.run(
            &[
                "grant-pull",
                "--from-namespace",
                "Bad_NS",
                "--to-namespace",
                "b",
            ],
            b"",
        ),
        "--from-namespace \"Bad_NS\" is not a valid Kubernetes name",
    );
    let both = env.run(
        &[
            "grant-pull",
            "--from-namespace",
            "a",
            "--to-namespace",
            "b",
            "--service-account",
            "x",
            "--all-service-accounts",
        ],
        b"",
    );
    assert_eq!(both.code, 2, "{both:?}");
    // Several subjects: one RoleBinding each, in a List; --name only for one.
    let grant = |args: &[&str]| {
        let mut all = vec!["grant-pull", "--to-namespace", "b"];
        all.extend(args);
        env.run(&all, b"")
    };
    let several = grant(&[
        "--from-namespace",
        "a",
        "--service-account",
        "x",
        "--service-account",
        "y",
        "--user",
        "system:serviceaccount:c:z",
        "--group",
        "devs",
    ]);
    let list: Value = serde_json::from_str(&several.ok().stdout).unwrap();
    assert_eq!(list["kind"], "List");
    let names: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "image-puller.sa.a.x",
            "image-puller.sa.a.y",
            "image-puller.sa.c.z",
            "image-puller.group.devs"
        ]
    );
    for item in list["items"].as_array().unwrap() {
        assert_eq!(item["subjects"].as_array().unwrap().len(), 1, "{item}");
    }
    fails(
        &grant(&["--user", "a", "--group", "b", "--name", "x"]),
        "--name names one RoleBinding, but 2 subjects are given",
    );
    fails(&grant(&[]), "name who pulls");
    fails(
        &grant(&["--service-account", "x"]),
        "need --from-namespace NAMESPACE",
    );
    fails(&grant(&["--group", "a/b"]), "is not a user or group name");
    let user: Value = serde_json::from_str(&grant(&["--user", "Alice"]).ok().stdout).unwrap();
    assert_eq!(
        user["subjects"][0],
        json!({"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": "Alice"})
    );
    assert!(user["metadata"]["name"]
        .as_str()
        .unwrap()
        .starts_with("image-puller.user-h."));
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

fn decode_secret_payload(secret: &Value) -> Value {
    let data = secret["data"][".dockerconfigjson"].as_str().unwrap();
    serde_json::from_slice(&B64.decode(data).unwrap()).unwrap()
}

/// Checks a merged OpenShift pull secret against the original; `kept`: the
/// server-set metadata fields the merge keeps.
fn check_merged(original: &Value, merged: &Value, kept: &[&str]) {
    let before = decode_secret_payload(original);
    let after = decode_secret_payload(merged);
    for key in [
        "cloud.openshift.com",
        "quay.io",
        "registry.connect.redhat.com",
    ] {
        assert_eq!(after["auths"][key], before["auths"][key], "{key} kept");
    }
    // Under the key export writes; the document's `https://` spelling is gone.
    assert!(after["auths"]
        .get("https://privateregistry.example.com")
        .is_none());
    let ours = &after["auths"]["privateregistry.example.com"];
    assert_eq!(ours["username"], "me");
    assert_eq!(ours["password"], "pw");
    assert_eq!(ours["auth"], B64.encode("me:pw"));
    assert_eq!(ours["email"], "priv@example.com", "email kept");
    assert_eq!(ours["x-note"], "keep me", "unknown field kept");
    assert!(ours.get("identitytoken").is_none(), "stale token dropped");
    assert_eq!(after["auths"].as_object().unwrap().len(), 4);
    assert_eq!(merged["metadata"]["labels"], original["metadata"]["labels"]);
    assert_eq!(
        merged["metadata"]["annotations"],
        original["metadata"]["annotations"]
    );
    assert_eq!(merged["metadata"]["namespace"], "openshift-config");
    assert_eq!(merged["type"], "kubernetes.io/dockerconfigjson");
    for field in [
        "resourceVersion",
        "uid",
        "creationTimestamp",
        "managedFields",
    ] {
        assert_eq!(
            merged["metadata"].get(field),
            kept.contains(&field).then(|| &original["metadata"][field]),
            "{field}"
        );
    }
}

backend_tests!(merge_into_openshift_pull_secret_keeps_everything_else);
fn merge_into_openshift_pull_secret_keeps_everything_else(backend: Backend) {
    let original_text = std::fs::read_to_string(golden_path("openshift-pull-secret.json")).unwrap();
    let original: Value = serde_json::from_str(&original_text).unwrap();
    let env = Env::new(backend);
    login(&env, "privateregistry.example.com", "me", "pw", &["-q"]);
    login(&env, "other.example.com", "not", "selected", &["-q"]);
    // The document's entry belongs to username "old": replacing it is asked for.
    let args = [
        "export",
        "--merge",
        "-",
        "--registry",
        "privateregistry.example.com",
        "--replace",
        "privateregistry.example.com",
    ];
    // JSON in, JSON out (as `oc get ... -o json` prints it).
    let run = env.run(&args, original_text.as_bytes());
    run.ok();
    assert_eq!(
        run.stderr,
        "merge: privateregistry.example.com: replaced username old with me; other spellings removed: https://privateregistry.example.com\n"
    );
    assert_golden("openshift-pull-secret.merged.json", &run.stdout);
    let merged: Value = serde_json::from_str(&run.stdout).unwrap();
    // The write preconditions stay, so a stale write gets 409.
    const GUARDED: &[&str] = &["resourceVersion", "uid"];
    check_merged(&original, &merged, GUARDED);
    // --keep-metadata keeps the server's fields.
    let mut keep = args.to_vec();
    keep.push("--keep-metadata");
    let kept: Value =
        serde_json::from_str(&env.run(&keep, original_text.as_bytes()).ok().stdout).unwrap();
    check_merged(
        &original,
        &kept,
        &[
            "resourceVersion",
            "uid",
            "creationTimestamp",
            "managedFields",
        ],
    );
    // --last-writer-wins drops the preconditions too.
    let mut unguarded = args.to_vec();
    unguarded.push("--last-writer-wins");
    let run = env.run(&unguarded, original_text.as_bytes());
    check_merged(
        &original,
        &serde_json::from_str(&run.ok().stdout).unwrap(),
        &[],
    );
    // YAML in, YAML out.
    let yaml_in = docker_credential_keyring::export::yaml::to_string(&original);
    let run = env.run(&args, yaml_in.as_bytes());
    run.ok();
    assert!(run.stdout.starts_with("apiVersion: v1\n"), "{run:?}");
    let merged = docker_credential_keyring::export::yaml::parse(&run.stdout).unwrap();
    check_merged(&original, &merged, GUARDED);
    // From a file too.
    let file = env.home().join("ps.json");
    std::fs::write(&file, &original_text).unwrap();
    let from_file = env.run(
        &[
            "export",
            "--merge",
            file.to_str().unwrap(),
            "--registry",
            "privateregistry.example.com",
            "--replace",
            "privateregistry.example.com",
        ],
        b"",
    );
    assert_eq!(
        from_file.ok().stdout,
        env.run(&args, original_text.as_bytes()).stdout
    );
    // --patch: the JSON merge patch carrying the same payload.
    let mut patch_args = args.to_vec();
    patch_args.push("--patch");
    let patch = env.run(&patch_args, original_text.as_bytes());
    let patch: Value = serde_json::from_str(&patch.ok().stdout).unwrap();
    assert_eq!(
        patch["metadata"],
        json!({"resourceVersion": "12345"}),
        "the patch is guarded by the version read"
    );
    assert_eq!(patch.as_object().unwrap().len(), 2);
    assert_eq!(patch["data"], merged_data(&env, &args, &original_text));
    patch_args.push("--last-writer-wins");
    let patch = env.run(&patch_args, original_text.as_bytes());
    let patch: Value = serde_json::from_str(&patch.ok().stdout).unwrap();
    assert_eq!(patch.as_object().unwrap().len(), 1, "{patch}");
}

fn merged_data(env: &Env, args: &[&str], input: &str) -> Value {
    let merged: Value = serde_json::from_str(&env.run(args, input.as_bytes()).ok().stdout).unwrap();
    merged["data"].clone()
}

backend_tests!(merge_raw_and_dockercfg_keep_their_shape);
fn merge_raw_and_dockercfg_keep_their_shape(backend: Backend) {
    let env = Env::new(backend);
    login(&env, "quay.io", "u", "p", &["-q", "--email", "u@x"]);
    // Raw dockerconfigjson, as downloaded from the cluster manager.
    let raw = r#"{"auths":{"cloud.openshift.com":{"auth":"YTpi","email":"o@x"},"quay.io":{"auth":"b2xkOm9sZA==","email":"old@x","custom":[1,2]}},"extra":true}"#;
    let merge = ["export", "--merge", "-", "--registry", "quay.io"];
    let run = env.run(
        &[&merge[..], &["--replace", "quay.io"]].concat(),
        raw.as_bytes(),
    );
    assert_eq!(
        run.ok().stdout,
        r#"{"auths":{"cloud.openshift.com":{"auth":"YTpi","email":"o@x"},"quay.io":{"username":"u","password":"p","email":"u@x","auth":"dTpw","custom":[1,2]}},"extra":true}"#
    );
    // Legacy dockercfg map.
    let cfg = r#"{"other.io":{"auth":"YTpi","email":"o@x"}}"#;
    let run = env.run(&merge, cfg.as_bytes());
    assert_eq!(
        run.ok().stdout,
        r#"{"other.io":{"auth":"YTpi","email":"o@x"},"quay.io":{"username":"u","password":"p","email":"u@x","auth":"dTpw"}}"#
    );
    // A stringData Secret stays a stringData Secret.
    let manifest = format!(
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: regcred\ntype: kubernetes.io/dockerconfigjson\nstringData:\n  .dockerconfigjson: '{cfg_json}'\n",
            cfg_json = r#"{"auths":{"other.io":{"auth":"YTpi"}}}"#
        );
    let run = env.run(&merge, manifest.as_bytes());
    let merged = docker_credential_keyring::export::yaml::parse(&run.ok().stdout).unwrap();
    assert!(merged.get("data").is_none(), "{merged}");
    assert_eq!(
        merged["stringData"][".dockerconfigjson"],
        r#"{"auths":{"other.io":{"auth":"YTpi"},"quay.io":{"username":"u","password":"p","email":"u@x","auth":"dTpw"}}}"#
    );
    // Merge refuses flags that would change the shape.
    fails(
        &env.run(
            &[&merge[..], &["--format", "secret"]].concat(),
            raw.as_bytes(),
        ),
        "--format cannot be used with --merge",
    );
    fails(&env.run(&merge, b"{not json"), "not valid JSON");
    fails(
        &env.run(
            &[
                "export",
                "--merge",
                "/nonexistent/ps.json",
                "--registry",
                "quay.io",
            ],
            b"",
        ),
        "cannot read /nonexistent/ps.json",
    );
}

/// `run` with its stdout left out: the report and errors on stderr must not
/// show a secret, while stdout is the pull secret itself.
fn stderr_of(run: &Run) -> Run {
    Run {
        code: run.code,
        stdout: String::new(),
        stderr: run.stderr.clone(),
    }
}

backend_tests!(merge_never_replaces_another_users_credential_unasked);
/// The OpenShift global pull secret's `quay.io` entry is the cluster's
/// release credential: a merge of a personal quay.io login refuses to
/// replace it (naming both usernames and the flag), and with `--replace
/// quay.io` replaces it and says so; every other entry stays as it was.
fn merge_never_replaces_another_users_credential_unasked(backend: Backend) {
    use common::pull_secret::{
        openshift_global_payload, openshift_global_secret, RELEASE_USER, SECRETS,
    };
    let env = Env::new(backend);
    login(&env, "quay.io", "me", "personal-pw", &["-q"]);
    let original = openshift_global_payload();
    let input = openshift_global_secret(&original).to_string();
    let args = ["export", "--merge", "-", "--registry", "quay.io"];
    let refused = env.run(&args, input.as_bytes());
    fails(&refused, "--replace quay.io");
    for needle in [RELEASE_USER, "yours is me", "nothing was written"] {
        assert!(refused.stderr.contains(needle), "{needle}: {refused:?}");
    }
    common::human::assert_no_secret(&refused, SECRETS);
    common::human::assert_no_secret(&refused, &[("me", "personal-pw")]);
    // --patch is refused the same way: nothing on stdout for `kubectl patch -p`.
    fails(
        &env.run(&[&args[..], &["--patch"]].concat(), input.as_bytes()),
        "--replace quay.io",
    );

    let replaced = env.run(
        &[&args[..], &["--replace", "quay.io"]].concat(),
        input.as_bytes(),
    );
    replaced.ok();
    assert_eq!(
        replaced.stderr,
        format!("merge: quay.io: replaced username {RELEASE_USER} with me\n")
    );
    let stderr = stderr_of(&replaced);
    common::human::assert_no_secret(&stderr, SECRETS);
    common::human::assert_no_secret(&stderr, &[("me", "personal-pw")]);
    let after = decode_secret_payload(&serde_json::from_str(&replaced.stdout).unwrap());
    assert_eq!(after["auths"]["quay.io"]["username"], "me");
    assert_eq!(
        after["auths"]["quay.io"]["auth"],
        B64.encode("me:personal-pw")
    );
    assert_eq!(after["auths"]["quay.io"]["email"], "ops@example.com");
    let mut rest = after["auths"].as_object().unwrap().clone();
    rest.remove("quay.io");
    let mut before = original["auths"].as_object().unwrap().clone();
    before.remove("quay.io");
    assert_eq!(rest, before, "the other entries are untouched");
}

/// `--merge` without `--registry` would write every stored credential
/// (imported tokens, unrelated registries) into the cluster: refused, unless
/// `--all-registries` asks for exactly that.
#[test]
fn merge_needs_registry_or_all_registries() {
    let env = Env::new(Backend::File);
    login(&env, "quay.io", "me", "pw", &["-q"]);
    login(&env, "personal.example.com", "me", "pw2", &["-q"]);
    let doc = r#"{"auths":{"cloud.openshift.com":{"auth":"YTpi"}}}"#;
    let refused = env.run(&["export", "--merge", "-"], doc.as_bytes());
    fails(&refused, "--merge needs --registry");
    assert!(refused.stderr.contains("--all-registries"), "{refused:?}");
    let all = env.run(
        &["export", "--merge", "-", "--all-registries"],
        doc.as_bytes(),
    );
    all.ok();
    assert_eq!(
        all.stderr,
        "merge: personal.example.com: added (username me)\nmerge: quay.io: added (username me)\n"
    );
    let payload: Value = serde_json::from_str(&all.stdout).unwrap();
    assert_eq!(payload["auths"].as_object().unwrap().len(), 3, "{payload}");
    for bad in [
        &[
            "export",
            "--merge",
            "-",
            "--all-registries",
            "--registry",
            "quay.io",
        ][..],
        &["export", "--all-registries"][..],
        &["export", "--replace", "quay.io"][..],
    ] {
        let run = env.run(bad, doc.as_bytes());
        assert_eq!(run.code, 2, "{bad:?}: {run:?}");
        assert!(run.stdout.is_empty(), "{run:?}");
    }
    fails(
        &env.run(
            &[
                "export",
                "--merge",
                "-",
                "--registry",
                "quay.io",
                "--replace",
                "*.io",
            ],
            doc.as_bytes(),
        ),
        "name one registry, not a glob",
    );
    fails(
        &env.run(
            &[
                "export",
                "--merge",
                "-",
                "--registry",
                "quay.io",
                "--replace",
                "qauy.io",
            ],
            doc.as_bytes(),
        ),
        "--replace qauy.io: this merge does not write qauy.io",
    );
}

backend_tests!(rotation_leaves_no_old_password_under_any_spelling);
/// After a rotation, every spelling kubelet (or docker) would use for the
/// merged registry ends with the new password or is gone: no old password
/// anywhere in the payload. Another scope on the same host stays, and the
/// report names what went and what stayed; a second merge is "unchanged".
fn rotation_leaves_no_old_password_under_any_spelling(backend: Backend) {
    let env = Env::new(backend);
    login(&env, "reg.example.com", "me", "new-pw", &["-q"]);
    let old = |extra: Value| {
        let mut entry = json!({"auth": B64.encode("me:old-pw"), "password": "old-pw"});
        entry
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        entry
    };
    let payload = json!({"auths": {
        "http://reg.example.com": old(json!({})),
        "reg.example.com/": old(json!({})),
        "HTTPS://REG.EXAMPLE.COM": old(json!({})),
        "reg.example.com": old(json!({"email": "me@example.com", "x-keep": [1]})),
        "reg.example.com/team": {"auth": B64.encode("team:team-pw")},
        "other.example.com": {"auth": B64.encode("o:other-pw")},
    }});
    let secret = json!({"apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "regcred", "namespace": "ns", "resourceVersion": "7"},
        "type": "kubernetes.io/dockerconfigjson",
        "data": {".dockerconfigjson": B64.encode(payload.to_string())}});
    let args = ["export", "--merge", "-", "--registry", "reg.example.com"];
    let run = env.run(&args, secret.to_string().as_bytes());
    run.ok();
    assert_eq!(
        run.stderr,
        "merge: reg.example.com: updated (username me, new password); other spellings removed: http://reg.example.com, reg.example.com/, HTTPS://REG.EXAMPLE.COM; kept reg.example.com/team (another scope)\n"
    );
    common::human::assert_no_secret(
        &stderr_of(&run),
        &[("me", "new-pw"), ("me", "old-pw"), ("team", "team-pw")],
    );
    let merged: Value = serde_json::from_str(&run.stdout).unwrap();
    let after = decode_secret_payload(&merged);
    let text = after.to_string();
    for gone in common::human::secret_forms("me", "old-pw") {
        assert!(!text.contains(&gone), "{gone} left in {text}");
    }
    let keys: Vec<&String> = after["auths"].as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "other.example.com",
            "reg.example.com",
            "reg.example.com/team"
        ]
    );
    let ours = &after["auths"]["reg.example.com"];
    assert_eq!(ours["auth"], B64.encode("me:new-pw"));
    assert_eq!(ours["email"], "me@example.com");
    assert_eq!(ours["x-keep"], json!([1]));
    assert_eq!(
        after["auths"]["reg.example.com/team"],
        payload["auths"]["reg.example.com/team"]
    );
    // The same merge again: nothing to change.
    let again = env.run(&args, run.stdout.as_bytes());
    again.ok();
    assert_eq!(
        again.stderr,
        "merge: reg.example.com: unchanged (username me); kept reg.example.com/team (another scope)\n"
    );
    assert_eq!(again.stdout, run.stdout);
}

/// `--merge FILE -o FILE` starts from an empty pull secret when FILE is
/// missing (as `oc registry login --to=FILE`), writing it 0600 with only our
/// entry; a missing `--merge` file is still an error otherwise.
#[test]
fn merge_into_a_missing_file_named_by_output_creates_it() {
    let env = Env::new(Backend::File);
    login(&env, "quay.io", "me", "pw", &["-q"]);
    let file = env.home().join("pull-secret.json");
    let name = file.to_str().unwrap();
    // Missing, and no -o naming it (or another -o): refused, nothing written.
    fails(
        &export(&env, &["--merge", name, "--registry", "quay.io"]),
        "cannot read",
    );
    let other = env.home().join("other.json");
    fails(
        &export(
            &env,
            &[
                "--merge",
                name,
                "--registry",
                "quay.io",
                "-o",
                other.to_str().unwrap(),
            ],
        ),
        "cannot read",
    );
    assert!(!file.exists() && !other.exists());
    let run = export(
        &env,
        &["--merge", name, "--registry", "quay.io", "-o", name],
    );
    run.ok();
    assert!(run.stdout.is_empty(), "{run:?}");
    assert!(
        run.stderr
            .contains("does not exist: starting from an empty pull secret"),
        "{run:?}"
    );
    assert!(
        run.stderr.contains("merge: quay.io: added (username me)"),
        "{run:?}"
    );
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        r#"{"auths":{"quay.io":{"username":"me","password":"pw","auth":"bWU6cHc="}}}"#
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // Now it exists: merged like any other document.
    let again = export(
        &env,
        &["--merge", name, "--registry", "quay.io", "-o", name],
    );
    again.ok();
    assert_eq!(again.stderr, "merge: quay.io: unchanged (username me)\n");
}

fn import(env: &Env, args: &[&str], stdin: &[u8]) -> Run {
    let mut all = vec!["import"];
    all.extend(args);
    env.run(&all, stdin)
}

backend_tests!(import_each_input_kind);
fn import_each_input_kind(backend: Backend) {
    let payload = json!({"auths": {
        "https://index.docker.io/v1/": {"auth": B64.encode("hub:hubpw"), "email": "h@x"},
        "registry.example.com:5000": {"username": "ru", "password": "rp"},
        "quay.io/repository-main": {"auth": B64.encode("q:p:w")},
        "helper.example.com": {},
        "token.example.com": {"identitytoken": "tok"},
        "colon.example.com": {"username": "a:b", "password": "colonpw"},
    }});
    let payload_text = payload.to_string();
    let secret = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "x"},
        "type": "kubernetes.io/dockerconfigjson",
        "data": {".dockerconfigjson": B64.encode(&payload_text)}});
    let dockercfg = payload["auths"].to_string();
    let legacy_secret = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "x"},
        "type": "kubernetes.io/dockercfg", "data": {".dockercfg": B64.encode(&dockercfg)}});
    let config_json =
        json!({"auths": payload["auths"], "credsStore": "desktop", "HttpHeaders": {}});
    let inputs = [
        ("raw", payload_text.clone()),
        ("secret-json", secret.to_string()),
        (
            "secret-yaml",
            docker_credential_keyring::export::yaml::to_string(&secret),
        ),
        ("dockercfg", dockercfg.clone()),
        ("legacy-secret", legacy_secret.to_string()),
        (
            "config.json",
            serde_json::to_string_pretty(&config_json).unwrap(),
        ),
    ];
    for (kind, input) in &inputs {
        let env = Env::new(backend);
        env.store("quay.io/repository-main", "before", "x").ok();
        let run = import(&env, &["-"], input.as_bytes());
        run.ok();
        // config.json's credsStore holds the secret of its `{}` entry.
        let (summary, empty_entry) = match *kind {
            "config.json" => (
                "2 added, 1 replaced, 3 skipped (1 held by a credential helper)\n",
                "skipped  helper.example.com: held by the credential helper `desktop` (credsStore)",
            ),
            _ => (
                "2 added, 1 replaced, 3 skipped\n",
                "skipped  helper.example.com: no auth",
            ),
        };
        assert!(run.stdout.ends_with(summary), "{kind}: {run:?}");
        // What export would refuse, import does not take in.
        assert!(
            run.stdout
                .contains("skipped  colon.example.com: the username contains ':'"),
            "{run:?}"
        );
        assert!(!env.list().contains_key("colon.example.com"), "{kind}");
        assert!(run.stdout.contains(empty_entry), "{run:?}");
        assert!(run
            .stdout
            .contains("skipped  token.example.com: only an identity token"));
        assert!(!run.stdout.contains("hubpw"));
        assert_eq!(env.secret("docker.io").as_deref(), Some("hubpw"), "{kind}");
        assert_eq!(
            env.secret("registry.example.com:5000").as_deref(),
            Some("rp")
        );
        assert_eq!(
            env.secret("quay.io/repository-main").as_deref(),
            Some("p:w")
        );
        assert_eq!(env.list()["quay.io/repository-main"], "q");
        // The email came along.
        let out: Value =
            serde_json::from_str(&export(&env, &["--registry", "docker.io"]).ok().stdout).unwrap();
        assert_eq!(out["auths"]["https://index.docker.io/v1/"]["email"], "h@x");
    }
    // A file, with --registry filters.
    let env = Env::new(backend);
    let file = env.home().join("pull-secret.txt");
    std::fs::write(&file, &payload_text).unwrap();
    let run = import(
        &env,
        &[file.to_str().unwrap(), "--registry", "*.example.com:*"],
        b"",
    );
    assert!(
        run.ok()
            .stdout
            .ends_with("1 added, 0 replaced, 3 skipped\n"),
        "{run:?}"
    );
    assert_eq!(env.list().len(), 1);
    fails(
        &import(
            &env,
            &[file.to_str().unwrap(), "--registry", "ghcr.io"],
            b"",
        ),
        "--registry \"ghcr.io\" matches no importable entry",
    );
}

backend_tests!(bad_import_input_names_the_entry_and_imports_nothing);
fn bad_import_input_names_the_entry_and_imports_nothing(backend: Backend) {
    let good = format!(
        "\"good.example.com\":{{\"auth\":\"{}\"}}",
        B64.encode("u:p")
    );
    let cases: Vec<(String, &str)> = vec![
        ("".into(), "the input is empty"),
        ("{not json".into(), "not valid JSON: syntax error (key must be a string) at line 1, column 2"),
        ("- just\n- a list\n".into(), "wrong shape"),
        ("[1,2]".into(), "wrong shape"),
        ("kind: ConfigMap\napiVersion: v1\n".into(), "a ConfigMap is not a pull secret"),
        (r#"{"auths":[]}"#.into(), "wrong shape"),
        (r#"{"auths":{"a.io":"x"}}"#.into(), "entry \"a.io\" is not a JSON object"),
        (format!(r#"{{"auths":{{{good},"bad.example.com":{{"auth":"%%%"}}}}}}"#), "entry \"bad.example.com\": \"auth\" is not valid base64"),
        (
            format!(r#"{{"auths":{{{good},"nocolon.example.com":{{"auth":"{}"}}}}}}"#, B64.encode("nocolon")),
            "entry \"nocolon.example.com\": \"auth\" does not decode to username:password",
        ),
        (format!(r#"{{"auths":{{{good},"bad host":{{"auth":"dTpw"}}}}}}"#), "entry \"bad host\": invalid server URL"),
        (
            r#"{"kind":"Secret","type":"kubernetes.io/dockerconfigjson","metadata":{"name":"ps"},"data":{".dockerconfigjson":"!!"}}"#.into(),
            "Secret \"ps\": data..dockerconfigjson is not valid base64",
        ),
        (
            format!(r#"{{"kind":"Secret","type":"kubernetes.io/dockerconfigjson","metadata":{{"name":"ps"}},"data":{{".dockerconfigjson":"{}"}}}}"#, B64.encode("nope")),
            "Secret \"ps\": data..dockerconfigjson does not decode to JSON",
        ),
        (
            r#"{"kind":"Secret","type":"Opaque","metadata":{"name":"ps"},"data":{}}"#.into(),
            "Secret \"ps\" has type \"Opaque\"",
        ),
        (
            format!(r#"{{"auths":{{"quay.io":{{"auth":"{}"}},"https://quay.io":{{"auth":"{}"}}}}}}"#, B64.encode("a:1"), B64.encode("a:2")),
            "same registry (quay.io) with different credentials",
        ),
    ];
    for (input, needle) in &cases {
        let env = Env::new(backend);
        env.store("keep.example.com", "k", "kp").ok();
        let before = env.store_bytes();
        let run = import(&env, &["-"], input.as_bytes());
        fails(&run, needle);
        assert_eq!(env.store_bytes(), before, "store untouched for {input:?}");
        assert_eq!(env.secret("good.example.com"), None);
        assert!(!run.stderr.contains("kp"));
    }
}

backend_tests!(export_import_export_gives_the_same_bytes);
fn export_import_export_gives_the_same_bytes(backend: Backend) {
    let first = seeded(backend);
    login(
        &first,
        "localhost:5000",
        "bob",
        "pa:ss",
        &["-q", "--email", "b@x"],
    );
    for args in [
        vec![],
        vec!["--format", "dockercfg"],
        vec!["--format", "secret", "--yaml"],
        // A List of the same Secret in two namespaces imports each registry once.
        vec!["--format", "secret", "-n", "a", "-n", "b"],
    ] {
        let exported = export(&first, &args).ok().stdout.clone();
        let second = Env::new(backend);
        let run = import(&second, &["-", "-q"], exported.as_bytes());
        assert_eq!(run.ok().stdout, "4 added, 0 replaced, 0 skipped\n");
        assert_eq!(export(&second, &args).ok().stdout, exported, "{args:?}");
        // Importing again replaces, and changes nothing.
        let again = import(&second, &["-", "-q"], exported.as_bytes());
        assert_eq!(again.ok().stdout, "0 added, 4 replaced, 0 skipped\n");
        assert_eq!(export(&second, &args).ok().stdout, exported);
    }
}

/// Runs a printed link script with `sh`, against a stand-in `kubectl` that
/// answers `get secret` (present unless `secret_missing`) and `get
/// serviceaccount` with resourceVersion 41 and `names`, one a line (None: the
/// SA has no imagePullSecrets); not OpenShift (`get --raw` fails). Returns the kubectl invocations (without the
/// leading `-n NAMESPACE`) and the exit code.
fn run_link_command(
    command: &str,
    names: Option<&str>,
    secret_missing: bool,
) -> (Vec<String>, i32) {
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("kubectl");
    std::fs::write(
        &bin,
        r#"#!/bin/sh
[ "$1" = -n ] && shift 2
printf '%s\n' "$*" >> "$FAKE_LOG"
case "$1 $2" in
  'get secret') [ -f "$FAKE_NO_SECRET" ] && exit 1; echo secret/x; exit 0 ;;
  'get serviceaccount')
    # A jsonpath filter by name: the names equal to it, as kubectl prints them.
    want=$(printf '%s' "$*" | sed -n 's/.*@\.name=="\([^"]*\)".*/\1/p')
    if [ -n "$want" ]; then
      [ -f "$FAKE_STATE" ] && grep -xF -- "$want" "$FAKE_STATE" | tr '\n' ' ' | sed 's/ $//'
      exit 0
    fi
    printf '41\n'; [ -f "$FAKE_STATE" ] && cat "$FAKE_STATE"; exit 0 ;;
  'get --raw') exit 1 ;;
esac
exit 0
"#,
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let state = dir.path().join("state");
    if let Some(names) = names {
        std::fs::write(&state, names).unwrap();
    }
    let no_secret = dir.path().join("no-secret");
    if secret_missing {
        std::fs::write(&no_secret, "").unwrap();
    }
    let log = dir.path().join("log");
    let mut cmd = std::process::Command::new("sh");
    cmd.args(["-c", command])
        .env(
            "PATH",
            format!(
                "{}:{}",
                dir.path().display(),
                std::env::var("PATH").unwrap()
            ),
        )
        .env("FAKE_LOG", &log)
        .env("FAKE_STATE", &state)
        .env("FAKE_NO_SECRET", &no_secret);
    let run = common::run_command(cmd, b"");
    let calls = std::fs::read_to_string(&log)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect();
    (calls, run.code)
}

#[test]
fn link_commands_append_create_or_do_nothing() {
    let env = seeded(common::Backend::File);
    let run = export(
        &env,
        &[
            "--format",
            "secret",
            "-n",
            "team-a",
            "--link-service-account",
            "default",
            "--link-commands",
        ],
    );
    let command = run.ok().stdout.clone();
    // The calls after the Secret's and the ServiceAccount's lookups: the patches.
    let patches = |names: Option<&str>| {
        let (calls, code) = run_link_command(&command, names, false);
        assert_eq!(code, 0, "{calls:?}");
        assert!(
            calls[0].starts_with("get secret pull-secret -o name"),
            "{calls:?}"
        );
        assert!(
            calls
                .iter()
                .any(|c| c.starts_with("get serviceaccount default -o jsonpath=")),
            "{calls:?}"
        );
        calls
            .into_iter()
            .filter(|c| c.starts_with("patch "))
            .collect::<Vec<_>>()
    };
    let guard = r#"[{"op":"replace","path":"/metadata/resourceVersion","value":"41"},"#;
    // Already linked: only the lookups run.
    assert_eq!(patches(Some("default-dockercfg-x\npull-secret\n")), [""; 0]);
    // A list without it: one append, which keeps the other entries.
    let calls = patches(Some("default-dockercfg-x\n"));
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert!(calls[0].contains(&format!(
        r#"{guard}{{"op":"add","path":"/imagePullSecrets/-","value":{{"name":"pull-secret"}}}}]"#
    )));
    // A name that only contains ours is not a match.
    assert_eq!(patches(Some("pull-secret-old\n")).len(), 1);
    // Nor is a name holding ours among others, or a glob.
    assert_eq!(patches(Some("x pull-secret y\n*\n")).len(), 1);
    // No list yet: the create, guarded by the version read.
    let calls = patches(None);
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert!(calls[0].contains(&format!(
        r#"{guard}{{"op":"add","path":"/imagePullSecrets","value":[{{"name":"pull-secret"}}]}}]"#
    )), "{calls:?}");
    // No Secret on the cluster: refused before the ServiceAccount is read.
    let (calls, code) = run_link_command(&command, None, true);
    assert_ne!(code, 0);
    assert_eq!(calls.len(), 1, "{calls:?}");
}

/// The service-account linking workflow with the real kubectl against the stub API server:
/// `kubectl get serviceaccount ... -o json | export --link-service-account
/// default --service-accounts - | kubectl apply -f -` creates the Secret and
/// patches the ServiceAccount with the live imagePullSecrets kept and ours
/// added. If the ServiceAccount changed after the `get`, kubectl's patch
/// carries the old resourceVersion, which the API server refuses (409
/// Conflict) instead of dropping the entry someone else just added.
#[test]
#[ignore = "needs kubectl"]
fn linking_through_kubectl_apply_keeps_the_existing_pull_secrets() {
    kubestub::require_kubectl();
    let live = |version: &str| {
        format!(
            r#"{{"kind":"ServiceAccount","apiVersion":"v1","metadata":{{"name":"default","namespace":"project-a","resourceVersion":"{version}","uid":"7"}},"secrets":[{{"name":"default-token-x"}}],"imagePullSecrets":[{{"name":"default-dockercfg-x"}}]}}"#
        )
    };
    let env = seeded(common::Backend::File);
    login(&env, "quay.io", "me", "pw", &["-q"]);
    // What `kubectl get serviceaccount default -n project-a -o json` printed.
    let exported = env
        .run(
            &[
                "export",
                "--format",
                "secret",
                "-n",
                "project-a",
                "--registry",
                "quay.io",
                "--link-service-account",
                "default",
                "--service-accounts",
                "-",
            ],
            live("100").as_bytes(),
        )
        .ok()
        .stdout
        .clone();
    // Without --namespace the Secret would land in kubectl's current
    // namespace, maybe not the ServiceAccount's: refused.
    for link in ["default", "project-a/default"] {
        let run = env.run(
            &[
                "export",
                "--format",
                "secret",
                "--link-service-account",
                link,
                "--service-accounts",
                "-",
            ],
            live("100").as_bytes(),
        );
        assert_eq!(run.code, 1, "{run:?}");
        assert!(run.stderr.contains("pass --namespace"), "{run:?}");
    }
    let sa_path = "/api/v1/namespaces/project-a/serviceaccounts/default";
    let apply = |live_now: String| {
        let stub = kubestub::Stub::with_objects(vec![(sa_path.to_owned(), live_now)]);
        let run = stub.kubectl(
            &["apply", "--validate=false", "-f", "-"],
            exported.as_bytes(),
        );
        assert_eq!(run.code, 0, "{run:?}");
        assert!(
            run.stdout.contains("serviceaccount/default configured"),
            "{run:?}"
        );
        let writes = stub.writes();
        assert!(
            writes
                .iter()
                .any(|w| w.method == "POST" && w.path == "/api/v1/namespaces/project-a/secrets"),
            "the Secret was not created: {writes:?}"
        );
        let patch = writes
            .iter()
            .find(|w| w.method == "PATCH" && w.path == sa_path)
            .unwrap_or_else(|| panic!("no ServiceAccount patch: {writes:?}"));
        serde_json::from_str::<serde_json::Value>(&patch.body).unwrap()
    };
    let unchanged = apply(live("100"));
    assert_eq!(
        unchanged["imagePullSecrets"],
        serde_json::json!([{"name": "default-dockercfg-x"}, {"name": "pull-secret"}]),
        "{unchanged}"
    );
    assert!(
        unchanged.get("secrets").is_none(),
        "the patch touches only imagePullSecrets: {unchanged}"
    );
    let changed = apply(live("101"));
    assert_eq!(
        changed["metadata"]["resourceVersion"], "100",
        "a ServiceAccount changed since the get must be patched with the old resourceVersion (a 409 precondition): {changed}"
    );
}

#[test]
fn link_for_and_unlink_flag_rules() {
    let env = seeded(common::Backend::File);
    let base = [
        "--format",
        "secret",
        "-n",
        "team-a",
        "--link-service-account",
        "default",
    ];
    let with = |extra: &[&str]| {
        let mut args = base.to_vec();
        args.extend(extra);
        export(&env, &args)
    };
    // --unlink only prints commands; a bad --for value is a bad command line.
    assert_eq!(with(&["--unlink"]).code, 2);
    assert_eq!(with(&["--link-commands", "--for", "push"]).code, 2);
    fails(
        &with(&["--for", "mount", "--service-accounts", "/dev/null"]),
        "--service-accounts links for pull only",
    );
    let mount = with(&["--link-commands", "--for", "mount"]);
    let mount = mount.ok();
    // What each list gets is run in cluster_updates' link_commands_table.
    assert!(
        mount
            .stdout
            .contains("\ndck_link kubectl team-a default mount 60 pull-secret || dck_rc=1\n"),
        "{mount:?}"
    );
    let unlink = with(&["--link-commands", "--unlink"]);
    let unlink = unlink.ok();
    assert!(
        unlink
            .stdout
            .contains("\ndck_unlink kubectl team-a default pull pull-secret || dck_rc=1\n"),
        "{unlink:?}"
    );
}

/// A hand-made `Opaque` Secret holding a payload is read by its data key,
/// for `import` and `--merge`, with a note that kubelet will not use it.
#[test]
fn opaque_secrets_with_a_payload_are_read_with_a_note() {
    let env = Env::new(Backend::File);
    login(&env, "quay.io", "u", "p", &["-q"]);
    for (key, payload) in [
        (
            ".dockerconfigjson",
            json!({"auths": {"other.io": {"auth": B64.encode("o:op")}}}),
        ),
        (
            ".dockercfg",
            json!({"other.io": {"auth": B64.encode("o:op")}}),
        ),
    ] {
        let secret = json!({"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
            "metadata": {"name": "seed"}, "data": {key: B64.encode(payload.to_string())}});
        let merged = env.run(
            &["export", "--merge", "-", "--registry", "quay.io"],
            secret.to_string().as_bytes(),
        );
        merged.ok();
        assert!(
            merged
                .stderr
                .contains("note: Secret \"seed\" has type Opaque"),
            "{merged:?}"
        );
        let out: Value = serde_json::from_str(&merged.stdout).unwrap();
        assert_eq!(out["type"], "Opaque");
        let bytes = B64.decode(out["data"][key].as_str().unwrap()).unwrap();
        let text = String::from_utf8(bytes).unwrap();
        assert!(
            text.contains("other.io") && text.contains("quay.io"),
            "{key}: {text}"
        );
        let import = Env::new(Backend::File);
        let run = import.run(&["import", "-"], secret.to_string().as_bytes());
        run.ok();
        assert!(run.stderr.contains("has type Opaque"), "{run:?}");
        let got = import.get("other.io");
        assert!(got.ok().stdout.contains("\"op\""), "{got:?}");
    }
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
        let payload = decode_secret_payload(item);
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

/// The program the link script calls: `--kubectl`, then
/// `DOCKER_CREDENTIAL_KEYRING_KUBECTL`, then `kubectl`, or `oc` when only
/// `oc` is on `PATH`; anything but a program name or path is refused.
#[test]
fn link_script_program_from_flag_environment_or_path() {
    let env = Env::new(Backend::File);
    login(&env, "quay.io", "robot", "quaypw", &["-q"]);
    let args = [
        "export",
        "--link-service-account",
        "team-a/default",
        "--link-commands",
    ];
    let line = |program: &str| {
        format!("\ndck_link {program} team-a default pull 60 pull-secret || dck_rc=1\n")
    };
    let run_with = |extra: &[&str], vars: &[(&str, &std::ffi::OsStr)]| {
        let mut cmd = env.command(&args);
        cmd.args(extra);
        for (name, value) in vars {
            cmd.env(name, value);
        }
        common::run_command(cmd, b"")
    };
    let var = "DOCKER_CREDENTIAL_KEYRING_KUBECTL";
    let from_env = run_with(&[], &[(var, "/opt/oc 4.16/bin/oc".as_ref())]);
    fails(&from_env, "is not a program name or path");
    let from_env = run_with(&[], &[(var, "/opt/oc-4.16/bin/oc".as_ref())]);
    assert!(
        from_env.ok().stdout.contains(&line("/opt/oc-4.16/bin/oc")),
        "{from_env:?}"
    );
    let flag_wins = run_with(&["--kubectl", "kubectl"], &[(var, "oc".as_ref())]);
    assert!(
        flag_wins.ok().stdout.contains(&line("kubectl")),
        "{flag_wins:?}"
    );
    // A PATH with a fake oc and no kubectl: oc.
    let bin = tempfile::tempdir().unwrap();
    let oc = bin.path().join("oc");
    std::fs::write(&oc, "#!/bin/sh\n").unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&oc, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let oc_only = run_with(&[], &[("PATH", bin.path().as_os_str())]);
    assert!(oc_only.ok().stdout.contains(&line("oc")), "{oc_only:?}");
    let store = env.store_bytes();
    for bad in ["k;rm -rf ~", "$(id)", "-n", "a b"] {
        let flag = format!("--kubectl={bad}");
        fails(&run_with(&[&flag], &[]), "is not a program name or path");
    }
    assert_eq!(env.store_bytes(), store);
    let unlinked = env.run(&["export", "--kubectl", "oc"], b"");
    assert_eq!(unlinked.code, 2, "--kubectl needs a link: {unlinked:?}");
}
