//! Updating a live pull secret with the README's flows, through the real
//! kubectl against the stateful stub API server (`tests/kubestub/state.rs`):
//! a concurrent writer's change is never lost (the write gets 409 and a
//! rerun succeeds), after a password rotation the old password is
//! nowhere in what the server holds, the OpenShift release credential is
//! replaced only with `--replace`, and the README's file route works.

mod common;
mod kubestub;

use base64::Engine;
use common::human::login;
use common::pull_secret::{openshift_global_payload, openshift_global_secret, RELEASE_USER};
use common::{Backend, Env, Run};
use kubestub::state::holds;
use kubestub::Stub;
use serde_json::{json, Value};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;
const PATH: &str = "/api/v1/namespaces/openshift-config/secrets/pull-secret";
const GET: &[&str] = &[
    "get",
    "secret/pull-secret",
    "-n",
    "openshift-config",
    "-o",
    "json",
];

fn payload_of(secret: &Value) -> Value {
    let data = secret["data"][".dockerconfigjson"].as_str().unwrap();
    serde_json::from_slice(&B64.decode(data).unwrap()).unwrap()
}

fn with_payload(mut secret: Value, payload: &Value) -> Value {
    secret["data"][".dockerconfigjson"] = json!(B64.encode(payload.to_string()));
    secret
}

/// The cluster's pull secret, holding one foreign entry.
fn cluster() -> Stub {
    let payload = json!({"auths": {"cloud.openshift.com": {"auth": B64.encode("cloud:cloudpw")}}});
    let secret = json!({"apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "pull-secret", "namespace": "openshift-config"},
        "type": "kubernetes.io/dockerconfigjson"});
    Stub::stateful(vec![(PATH.to_owned(), with_payload(secret, &payload))])
}

/// Another writer adds `mirror.internal:5000` to the live pull secret.
fn add_mirror(stub: &Stub) {
    stub.modify(PATH, |secret| {
        let mut payload = payload_of(secret);
        payload["auths"]["mirror.internal:5000"] = json!({"auth": B64.encode("m:mirrorpw")});
        *secret = with_payload(secret.clone(), &payload);
    });
}

/// The documented flows, from the `get` output to the cluster write.
#[derive(Debug, Clone, Copy)]
enum Flow {
    /// `get | export --merge - | kubectl replace -f -`
    Replace,
    /// `kubectl patch --type=merge -p "$(get | export --merge - --patch)"`
    Patch,
}

/// Runs `flow`'s write for the Secret as `read` (the earlier `get`'s output).
fn write(stub: &Stub, env: &Env, flow: Flow, read: &str, extra: &[&str]) -> (Run, Run) {
    let mut args = vec!["export", "--merge", "-", "--registry", "quay.io"];
    args.extend(extra);
    if matches!(flow, Flow::Patch) {
        args.push("--patch");
    }
    let ours = env.run(&args, read.as_bytes());
    ours.ok();
    let kubectl = match flow {
        Flow::Replace => stub.kubectl(
            // The stub serves no OpenAPI document to validate against.
            &["replace", "--validate=false", "-f", "-"],
            ours.stdout.as_bytes(),
        ),
        Flow::Patch => stub.kubectl(
            &[
                "patch",
                "secret/pull-secret",
                "-n",
                "openshift-config",
                "--type=merge",
                "-p",
                ours.stdout.trim_end(),
            ],
            b"",
        ),
    };
    (ours, kubectl)
}

fn read(stub: &Stub) -> String {
    let run = stub.kubectl(GET, b"");
    run.ok();
    run.stdout
}

fn live_payload(stub: &Stub) -> Value {
    payload_of(&stub.object(PATH).unwrap())
}

fn concurrent_change_is_refused_and_a_rerun_succeeds(flow: Flow) {
    kubestub::require_kubectl();
    let stub = cluster();
    let env = Env::new(Backend::File);
    login(&env, "quay.io", "robot", "quaypw", &["-q"]);
    let before = read(&stub);
    add_mirror(&stub);
    let (_, kubectl) = write(&stub, &env, flow, &before, &[]);
    assert_ne!(
        kubectl.code, 0,
        "{flow:?}: stale write accepted: {kubectl:?}"
    );
    assert!(
        kubectl.stderr.contains("Conflict") || kubectl.stderr.contains("has been modified"),
        "{flow:?}: {kubectl:?}"
    );
    let live = live_payload(&stub);
    assert!(
        live["auths"].get("mirror.internal:5000").is_some(),
        "{live}"
    );
    assert!(live["auths"].get("quay.io").is_none(), "{live}");
    // The README's retry: the whole pipeline again, from a fresh read.
    let (_, kubectl) = write(&stub, &env, flow, &read(&stub), &[]);
    kubectl.ok();
    let live = live_payload(&stub);
    for key in ["mirror.internal:5000", "cloud.openshift.com", "quay.io"] {
        assert!(live["auths"].get(key).is_some(), "{flow:?}: {key}: {live}");
    }
    assert_eq!(live["auths"]["quay.io"]["auth"], B64.encode("robot:quaypw"));
}

#[test]
#[ignore = "needs kubectl"]
fn replace_flow_refuses_a_concurrent_change() {
    concurrent_change_is_refused_and_a_rerun_succeeds(Flow::Replace);
}

#[test]
#[ignore = "needs kubectl"]
fn patch_flow_refuses_a_concurrent_change() {
    concurrent_change_is_refused_and_a_rerun_succeeds(Flow::Patch);
}

/// `--last-writer-wins` is what it says: the stale write goes through.
#[test]
#[ignore = "needs kubectl"]
fn last_writer_wins_overwrites_a_concurrent_change() {
    kubestub::require_kubectl();
    for flow in [Flow::Replace, Flow::Patch] {
        let stub = cluster();
        let env = Env::new(Backend::File);
        login(&env, "quay.io", "robot", "quaypw", &["-q"]);
        let before = read(&stub);
        add_mirror(&stub);
        let (_, kubectl) = write(&stub, &env, flow, &before, &["--last-writer-wins"]);
        kubectl.ok();
        let live = live_payload(&stub);
        assert!(live["auths"].get("quay.io").is_some(), "{flow:?}: {live}");
        if matches!(flow, Flow::Replace) {
            assert!(
                live["auths"].get("mirror.internal:5000").is_none(),
                "the replace overwrote it: {live}"
            );
        }
    }
}

/// A password rotation through each documented flow, on a Secret first
/// written by client-side `kubectl apply` (which keeps the whole Secret in
/// its last-applied annotation): the old password is gone from everything
/// the server holds, base64 or not.
#[test]
#[ignore = "needs kubectl"]
fn rotation_leaves_no_old_password_on_the_server() {
    kubestub::require_kubectl();
    for flow in [Flow::Replace, Flow::Patch] {
        let stub = cluster();
        let env = Env::new(Backend::File);
        login(&env, "quay.io", "robot", "old-quay-pw", &["-q"]);
        // The old way in: the merged Secret through client-side apply.
        let first = env.run(
            &[
                "export",
                "--merge",
                "-",
                "--registry",
                "quay.io",
                "--last-writer-wins",
            ],
            read(&stub).as_bytes(),
        );
        first.ok();
        stub.kubectl(
            &["apply", "--validate=false", "-f", "-"],
            first.stdout.as_bytes(),
        )
        .ok();
        let live = stub.object(PATH).unwrap();
        assert!(
            live["metadata"]["annotations"]
                .get("kubectl.kubernetes.io/last-applied-configuration")
                .is_some(),
            "client-side apply keeps a copy: {live}"
        );
        assert!(holds(&live, "old-quay-pw"));
        // Rotation, through the documented flow.
        login(&env, "quay.io", "robot", "new-quay-pw", &["-q"]);
        let (ours, kubectl) = write(&stub, &env, flow, &read(&stub), &[]);
        kubectl.ok();
        assert!(
            ours.stderr.contains(
                "note: removed the kubectl.kubernetes.io/last-applied-configuration annotation"
            ),
            "{ours:?}"
        );
        let live = stub.object(PATH).unwrap();
        assert!(holds(&live, "new-quay-pw"), "{flow:?}: {live}");
        assert!(!holds(&live, "old-quay-pw"), "{flow:?}: {live}");
        assert!(holds(&live, "cloudpw"), "{flow:?}: the other entry stays");
    }
}

/// The README's link flow: the live ServiceAccount read, another writer
/// adds an image pull secret, then our List goes through `kubectl apply`:
/// the ServiceAccount write is refused (its old resourceVersion), the other
/// writer's entry survives, and a rerun links the Secret next to it.
#[test]
#[ignore = "needs kubectl"]
fn service_account_link_flow_refuses_a_concurrent_change() {
    kubestub::require_kubectl();
    const SA: &str = "/api/v1/namespaces/team-a/serviceaccounts/default";
    let stub = Stub::stateful(vec![(
        SA.to_owned(),
        json!({"apiVersion": "v1", "kind": "ServiceAccount",
            "metadata": {"name": "default", "namespace": "team-a"},
            "imagePullSecrets": [{"name": "default-dockercfg-abc"}]}),
    )]);
    let env = Env::new(Backend::File);
    login(&env, "quay.io", "robot", "quaypw", &["-q"]);
    let get_sa = [
        "get",
        "serviceaccount",
        "default",
        "-n",
        "team-a",
        "-o",
        "json",
    ];
    let link = |live: &str| -> Run {
        let ours = env.run(
            &[
                "export",
                "--format",
                "secret",
                "-n",
                "team-a",
                "--link-service-account",
                "default",
                "--service-accounts",
                "-",
            ],
            live.as_bytes(),
        );
        ours.ok();
        stub.kubectl(
            &["apply", "--validate=false", "-f", "-"],
            ours.stdout.as_bytes(),
        )
    };
    let before = stub.kubectl(&get_sa, b"");
    before.ok();
    stub.modify(SA, |sa| {
        sa["imagePullSecrets"]
            .as_array_mut()
            .unwrap()
            .push(json!({"name": "mirror-pull"}));
    });
    let names = || -> Vec<String> {
        stub.object(SA).unwrap()["imagePullSecrets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["name"].as_str().unwrap().to_owned())
            .collect()
    };
    let stale = link(&before.stdout);
    assert_ne!(
        stale.code, 0,
        "stale ServiceAccount write accepted: {stale:?}"
    );
    assert!(
        stale.stderr.contains("Conflict") || stale.stderr.contains("modified"),
        "{stale:?}"
    );
    assert_eq!(names(), ["default-dockercfg-abc", "mirror-pull"]);
    let fresh = stub.kubectl(&get_sa, b"");
    fresh.ok();
    link(&fresh.stdout).ok();
    assert_eq!(
        names(),
        ["default-dockercfg-abc", "mirror-pull", "pull-secret"]
    );
}

/// The `--link-commands` output run by `sh` with the real kubectl against
/// the stateful stub (strict RFC 6902), for each starting state of the
/// ServiceAccount and each `--for` / `--unlink`.
#[test]
#[ignore = "needs kubectl"]
fn link_commands_table() {
    kubestub::require_kubectl();
    const SA: &str = "/api/v1/namespaces/team-a/serviceaccounts/default";
    const SECRET: &str = "/api/v1/namespaces/team-a/secrets/pull-secret";
    let env = Env::new(Backend::File);
    login(&env, "quay.io", "robot", "quaypw", &["-q"]);
    let command = |extra: &[&str]| -> String {
        let mut args = vec![
            "export",
            "--format",
            "secret",
            "-n",
            "team-a",
            "--link-service-account",
            "default",
            "--link-commands",
        ];
        args.extend(extra);
        let run = env.run(&args, b"");
        run.ok().stdout.trim_end().to_owned()
    };
    type List<'a> = Option<&'a [&'a str]>;
    struct Case<'a> {
        name: &'a str,
        args: &'a [&'a str],
        secret: bool,
        pull: List<'a>,
        mount: List<'a>,
        succeeds: bool,
        pull_after: List<'a>,
        mount_after: List<'a>,
    }
    let x: &[&str] = &["default-dockercfg-x"];
    let x_ps: &[&str] = &["default-dockercfg-x", "pull-secret"];
    let ps: &[&str] = &["pull-secret"];
    let ps_x: &[&str] = &["pull-secret", "default-dockercfg-x"];
    let none: &[&str] = &[];
    #[rustfmt::skip]
    let cases = [
        Case { name: "pull, no list yet", args: &[], secret: true, pull: None, mount: None, succeeds: true, pull_after: Some(ps), mount_after: None },
        Case { name: "pull, empty list", args: &[], secret: true, pull: Some(none), mount: None, succeeds: true, pull_after: Some(ps), mount_after: None },
        Case { name: "pull, others listed", args: &[], secret: true, pull: Some(x), mount: Some(x), succeeds: true, pull_after: Some(x_ps), mount_after: Some(x) },
        Case { name: "pull, already linked", args: &[], secret: true, pull: Some(ps), mount: None, succeeds: true, pull_after: Some(ps), mount_after: None },
        Case { name: "pull, missing Secret", args: &[], secret: false, pull: Some(x), mount: None, succeeds: false, pull_after: Some(x), mount_after: None },
        Case { name: "pull, missing Secret, no list", args: &[], secret: false, pull: None, mount: None, succeeds: false, pull_after: None, mount_after: None },
        Case { name: "mount", args: &["--for", "mount"], secret: true, pull: Some(x), mount: Some(x), succeeds: true, pull_after: Some(x), mount_after: Some(x_ps) },
        Case { name: "mount, no list yet", args: &["--for", "mount"], secret: true, pull: None, mount: None, succeeds: true, pull_after: None, mount_after: Some(ps) },
        Case { name: "pull,mount", args: &["--for", "pull,mount"], secret: true, pull: Some(x), mount: None, succeeds: true, pull_after: Some(x_ps), mount_after: Some(ps) },
        Case { name: "unlink pull", args: &["--unlink"], secret: false, pull: Some(ps_x), mount: Some(ps), succeeds: true, pull_after: Some(x), mount_after: Some(ps) },
        Case { name: "unlink pull,mount", args: &["--unlink", "--for", "pull,mount"], secret: true, pull: Some(x_ps), mount: Some(ps_x), succeeds: true, pull_after: Some(x), mount_after: Some(x) },
        Case { name: "unlink, not linked", args: &["--unlink"], secret: true, pull: Some(x), mount: None, succeeds: true, pull_after: Some(x), mount_after: None },
        Case { name: "unlink, no list", args: &["--unlink"], secret: true, pull: None, mount: None, succeeds: true, pull_after: None, mount_after: None },
    ];
    for case in &cases {
        let name = case.name;
        let mut sa = json!({"apiVersion": "v1", "kind": "ServiceAccount",
            "metadata": {"name": "default", "namespace": "team-a"}});
        for (field, list) in [("imagePullSecrets", case.pull), ("secrets", case.mount)] {
            if let Some(list) = list {
                sa[field] = list.iter().map(|n| json!({"name": n})).collect();
            }
        }
        let mut objects = vec![(SA.to_owned(), sa)];
        if case.secret {
            objects.push((
                SECRET.to_owned(),
                json!({"apiVersion": "v1", "kind": "Secret",
                    "metadata": {"name": "pull-secret", "namespace": "team-a"}}),
            ));
        }
        let stub = Stub::stateful(objects);
        let version = stub.object(SA).unwrap()["metadata"]["resourceVersion"].clone();
        let mut sh = std::process::Command::new("sh");
        sh.args(["-c", &command(case.args)])
            .env("KUBECONFIG", &stub.kubeconfig)
            .env("HOME", stub.kubeconfig.parent().unwrap());
        let run = common::run_command(sh, b"");
        assert_eq!(run.code == 0, case.succeeds, "{name}: {run:?}");
        let live = stub.object(SA).unwrap();
        let names = |field: &str| -> Option<Vec<String>> {
            live.get(field).map(|list| {
                list.as_array()
                    .unwrap()
                    .iter()
                    .map(|r| r["name"].as_str().unwrap().to_owned())
                    .collect()
            })
        };
        let want = |list: List| list.map(|l| l.iter().map(|n| n.to_string()).collect::<Vec<_>>());
        assert_eq!(
            names("imagePullSecrets"),
            want(case.pull_after),
            "{name}: {live}"
        );
        assert_eq!(names("secrets"), want(case.mount_after), "{name}: {live}");
        if case.succeeds {
            // The first link too: nothing on stderr.
            assert!(run.stderr.is_empty(), "{name}: {run:?}");
        } else {
            assert!(run.stderr.contains("not found"), "{name}: {run:?}");
        }
        let unchanged = case.pull == case.pull_after && case.mount == case.mount_after;
        if unchanged {
            assert_eq!(
                live["metadata"]["resourceVersion"], version,
                "{name}: no write"
            );
        }
    }
}

/// The README's three-command link flow: `export | kubectl create`, then
/// the `--link-commands` run by `sh`: the ServiceAccount keeps its entries
/// and gains the Secret, and no annotation holds a copy of the payload
/// (the password is in `data` and nowhere else on the Secret).
#[test]
#[ignore = "needs kubectl"]
fn three_command_link_flow_leaves_no_payload_copy() {
    kubestub::require_kubectl();
    const SA: &str = "/api/v1/namespaces/team-a/serviceaccounts/default";
    const SECRET: &str = "/api/v1/namespaces/team-a/secrets/pull-secret";
    let stub = Stub::stateful(vec![(
        SA.to_owned(),
        json!({"apiVersion": "v1", "kind": "ServiceAccount",
            "metadata": {"name": "default", "namespace": "team-a"},
            "imagePullSecrets": [{"name": "default-dockercfg-abc"}]}),
    )]);
    let env = Env::new(Backend::File);
    login(&env, "quay.io", "robot", "quaypw", &["-q"]);
    let secret = env.run(&["export", "--format", "secret", "-n", "team-a"], b"");
    stub.kubectl(
        &["create", "--validate=false", "-f", "-"],
        secret.ok().stdout.as_bytes(),
    )
    .ok();
    let commands = env.run(
        &[
            "export",
            "--format",
            "secret",
            "-n",
            "team-a",
            "--link-service-account",
            "default",
            "--link-commands",
        ],
        b"",
    );
    let mut sh = std::process::Command::new("sh");
    sh.args(["-c", commands.ok().stdout.trim_end()])
        .env("KUBECONFIG", &stub.kubeconfig)
        .env("HOME", stub.kubeconfig.parent().unwrap());
    common::run_command(sh, b"").ok();
    let names: Vec<Value> = stub.object(SA).unwrap()["imagePullSecrets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].clone())
        .collect();
    assert_eq!(
        names,
        [json!("default-dockercfg-abc"), json!("pull-secret")]
    );
    let mut live = stub.object(SECRET).expect("the Secret was created");
    assert!(holds(&live["data"], "quaypw"), "{live}");
    live.as_object_mut().unwrap().remove("data");
    assert!(!holds(&live, "quaypw"), "a copy of the payload: {live}");
}

/// A stateful stub holding the OpenShift global pull secret (release
/// credential on `quay.io`, see `common::pull_secret`).
fn openshift_cluster() -> Stub {
    let mut secret = openshift_global_secret(&openshift_global_payload());
    secret["metadata"]
        .as_object_mut()
        .unwrap()
        .remove("resourceVersion");
    Stub::stateful(vec![(PATH.to_owned(), secret)])
}

/// Both documented flows on the real OpenShift layout: a personal quay.io
/// login merged without `--replace` is refused before anything reaches the
/// cluster (the live Secret is untouched, the release credential intact);
/// with `--replace quay.io` it replaces exactly that entry.
#[test]
#[ignore = "needs kubectl"]
fn release_credential_is_replaced_only_when_asked() {
    kubestub::require_kubectl();
    for flow in [Flow::Replace, Flow::Patch] {
        let stub = openshift_cluster();
        let env = Env::new(Backend::File);
        login(&env, "quay.io", "me", "personal-pw", &["-q"]);
        let before = stub.object(PATH).unwrap();
        let refused = env.run(
            &["export", "--merge", "-", "--registry", "quay.io"],
            read(&stub).as_bytes(),
        );
        assert_eq!(refused.code, 1, "{flow:?}: {refused:?}");
        assert!(refused.stdout.is_empty(), "{flow:?}: {refused:?}");
        assert!(
            refused.stderr.contains(RELEASE_USER) && refused.stderr.contains("--replace quay.io"),
            "{flow:?}: {refused:?}"
        );
        // The pipeline's next command gets nothing, so it writes nothing
        // (`kubectl replace -f -` of empty input even exits 0).
        match flow {
            Flow::Replace => stub.kubectl(&["replace", "--validate=false", "-f", "-"], b""),
            Flow::Patch => stub.kubectl(
                &[
                    "patch",
                    "secret/pull-secret",
                    "-n",
                    "openshift-config",
                    "--type=merge",
                    "-p",
                    "",
                ],
                b"",
            ),
        };
        assert_eq!(stub.object(PATH).unwrap(), before, "{flow:?}: no write");

        let (ours, kubectl) = write(&stub, &env, flow, &read(&stub), &["--replace", "quay.io"]);
        kubectl.ok();
        assert_eq!(
            ours.stderr,
            format!("merge: quay.io: replaced username {RELEASE_USER} with me\n"),
            "{flow:?}"
        );
        let live = live_payload(&stub);
        assert_eq!(
            live["auths"]["quay.io"]["auth"],
            B64.encode("me:personal-pw")
        );
        let original = openshift_global_payload();
        for key in [
            "cloud.openshift.com",
            "registry.redhat.io",
            "registry.connect.redhat.com",
        ] {
            assert_eq!(
                live["auths"][key], original["auths"][key],
                "{flow:?}: {key}"
            );
        }
    }
}

/// The README's file route: the payload read with kubectl's template,
/// merged in place (`--merge f -o f`), written back as `oc set data` writes
/// it (a strategic merge patch of `data`, no resourceVersion): the new
/// registry is added and the cluster manager's entries are untouched.
#[test]
#[ignore = "needs kubectl"]
fn file_route_adds_a_registry_and_keeps_the_rest() {
    kubestub::require_kubectl();
    let stub = openshift_cluster();
    let env = Env::new(Backend::File);
    login(
        &env,
        "privateregistry.example.com",
        "me",
        "private-pw",
        &["-q"],
    );
    let got = stub.kubectl(
        &[
            "get",
            "secret/pull-secret",
            "-n",
            "openshift-config",
            r#"--template={{index .data ".dockerconfigjson" | base64decode}}"#,
        ],
        b"",
    );
    got.ok();
    let file = env.home().join("pull-secret.json");
    std::fs::write(&file, &got.stdout).unwrap();
    let name = file.to_str().unwrap();
    let merged = env.run(
        &[
            "export",
            "--merge",
            name,
            "-o",
            name,
            "--registry",
            "privateregistry.example.com",
        ],
        b"",
    );
    merged.ok();
    assert_eq!(
        merged.stderr,
        "merge: privateregistry.example.com: added (username me)\n"
    );
    let bytes = std::fs::read(&file).unwrap();
    let patch = json!({"data": {".dockerconfigjson": B64.encode(&bytes)}});
    stub.kubectl(
        &[
            "patch",
            "secret/pull-secret",
            "-n",
            "openshift-config",
            "--type=strategic",
            "-p",
            &patch.to_string(),
        ],
        b"",
    )
    .ok();
    let live = live_payload(&stub);
    let mut expected = openshift_global_payload();
    expected["auths"]["privateregistry.example.com"] = json!({"username": "me",
        "password": "private-pw", "auth": B64.encode("me:private-pw")});
    assert_eq!(live, expected);
}

const TEAM_A_SA: &str = "/api/v1/namespaces/team-a/serviceaccounts/default";
const TEAM_A_SECRET: &str = "/api/v1/namespaces/team-a/secrets/pull-secret";

/// A ServiceAccount `default` in `team-a` whose `imagePullSecrets` holds `names`.
fn service_account(names: &[&str]) -> Value {
    json!({"apiVersion": "v1", "kind": "ServiceAccount",
        "metadata": {"name": "default", "namespace": "team-a"},
        "imagePullSecrets": names.iter().map(|n| json!({"name": n})).collect::<Vec<_>>()})
}

/// A Secret `name` in `team-a`.
fn team_a_secret(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": name, "namespace": "team-a"}})
}

/// The names in the live ServiceAccount's `imagePullSecrets`.
fn pull_names(stub: &Stub, path: &str) -> Vec<String> {
    stub.object(path).unwrap()["imagePullSecrets"]
        .as_array()
        .map(|list| {
            list.iter()
                .map(|r| r["name"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// The `--link-commands` script for `default` in `team-a`, with `extra` flags.
fn link_script(env: &Env, extra: &[&str]) -> String {
    let mut args = vec![
        "export",
        "--format",
        "secret",
        "-n",
        "team-a",
        "--link-service-account",
        "default",
        "--link-commands",
    ];
    args.extend(extra);
    env.run(&args, b"").ok().stdout.clone()
}

/// Names read from the live ServiceAccount are cluster data: the script
/// never word-splits or globs them. A name `*`, in a directory holding a
/// file named like our Secret, once made the old script report "already
/// linked" and patch nothing; a name with a space, or one that looks like a
/// command substitution, must be neither split nor run.
#[test]
#[ignore = "needs kubectl"]
fn link_commands_never_split_or_glob_cluster_names() {
    kubestub::require_kubectl();
    let hostile = ["*", "a b", "$(touch x)"];
    let stub = Stub::stateful(vec![
        (TEAM_A_SA.to_owned(), service_account(&hostile)),
        (TEAM_A_SECRET.to_owned(), team_a_secret("pull-secret")),
    ]);
    let env = Env::new(Backend::File);
    login(&env, "quay.io", "robot", "quaypw", &["-q"]);
    let script = link_script(&env, &[]);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("pull-secret"), "").unwrap();
    let run = stub.sh(&script, dir.path(), None);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        pull_names(&stub, TEAM_A_SA),
        ["*", "a b", "$(touch x)", "pull-secret"]
    );
    assert!(
        !dir.path().join("x").exists(),
        "a name was run as a command"
    );
    let version = stub.object(TEAM_A_SA).unwrap()["metadata"]["resourceVersion"].clone();
    let again = stub.sh(&script, dir.path(), None);
    assert_eq!(again.code, 0, "{again:?}");
    assert!(again.stdout.contains("already linked"), "{again:?}");
    assert_eq!(
        stub.object(TEAM_A_SA).unwrap()["metadata"]["resourceVersion"],
        version,
        "the second run wrote"
    );
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

/// The API server does not validate `imagePullSecrets[].name`: a name holding
/// a newline neither passes for ours when linking nor makes an unlink remove
/// another entry (the removal is guarded by a test of the name).
#[test]
#[ignore = "needs kubectl"]
fn a_name_with_a_newline_never_passes_for_ours() {
    kubestub::require_kubectl();
    let stub = Stub::stateful(vec![
        (TEAM_A_SA.to_owned(), service_account(&["pull-secret\nx"])),
        (TEAM_A_SECRET.to_owned(), team_a_secret("pull-secret")),
    ]);
    let env = Env::new(Backend::File);
    login(&env, "quay.io", "robot", "quaypw", &["-q"]);
    let dir = tempfile::tempdir().unwrap();
    let run = stub.sh(&link_script(&env, &[]), dir.path(), None);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(!run.stdout.contains("already linked"), "{run:?}");
    assert_eq!(
        pull_names(&stub, TEAM_A_SA),
        ["pull-secret\nx", "pull-secret"]
    );

    let names = ["evil\npull-secret-x", "pull-secret", "victim-dockercfg"];
    let stub = Stub::stateful(vec![
        (TEAM_A_SA.to_owned(), service_account(&names)),
        (TEAM_A_SECRET.to_owned(), team_a_secret("pull-secret")),
    ]);
    let run = stub.sh(&link_script(&env, &["--unlink"]), dir.path(), None);
    assert_ne!(run.code, 0, "the guarded removal fails: {run:?}");
    assert_eq!(pull_names(&stub, TEAM_A_SA), names, "nothing else removed");
}

/// On a workstation with `oc` and no `kubectl` on `PATH`, export picks `oc`
/// and the script links through it (here `oc` is the real kubectl under
/// that name, with nothing else on `PATH` but what the script runs).
#[cfg(unix)]
#[test]
#[ignore = "needs kubectl"]
fn link_script_runs_with_oc_alone_on_path() {
    kubestub::require_kubectl();
    let bin = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(common::tool("kubectl", "kubectl"), bin.path().join("oc")).unwrap();
    for tool in ["sh", "sed", "grep", "sleep"] {
        std::os::unix::fs::symlink(common::tool(tool, "coreutils"), bin.path().join(tool)).unwrap();
    }
    let stub = Stub::stateful(vec![
        (
            TEAM_A_SA.to_owned(),
            service_account(&["default-dockercfg-x"]),
        ),
        (TEAM_A_SECRET.to_owned(), team_a_secret("pull-secret")),
    ]);
    let env = Env::new(Backend::File);
    login(&env, "quay.io", "robot", "quaypw", &["-q"]);
    let mut export = env.command(&[
        "export",
        "--link-service-account",
        "team-a/default",
        "--link-commands",
    ]);
    export.env("PATH", bin.path());
    let script = common::run_command(export, b"");
    assert!(
        script
            .ok()
            .stdout
            .contains("\ndck_link oc team-a default pull 60 pull-secret"),
        "{script:?}"
    );
    let run = stub.sh(&script.stdout, bin.path(), Some(bin.path().as_os_str()));
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        pull_names(&stub, TEAM_A_SA),
        ["default-dockercfg-x", "pull-secret"]
    );
}

/// The OpenShift API group the script looks for (`get --raw`), served by the stub.
const OPENSHIFT_IMAGE_API: &str = "/apis/image.openshift.io";

fn openshift_image_api() -> (String, Value) {
    (
        OPENSHIFT_IMAGE_API.to_owned(),
        json!({"kind": "APIGroup", "apiVersion": "v1", "name": "image.openshift.io", "metadata": {}}),
    )
}

/// Runs `script` with `sh` in a fresh directory against `stub`.
fn run_script(stub: &Stub, script: &str) -> Run {
    let dir = tempfile::tempdir().unwrap();
    stub.sh(script, dir.path(), None)
}

/// A ServiceAccount created only after the script started (it has polled
/// for it and got NotFound) is waited for, then linked.
#[test]
#[ignore = "needs kubectl"]
fn link_script_waits_for_a_service_account_created_later() {
    kubestub::require_kubectl();
    let stub = Stub::stateful(vec![(
        TEAM_A_SECRET.to_owned(),
        team_a_secret("pull-secret"),
    )]);
    let env = Env::new(Backend::File);
    login(&env, "quay.io", "robot", "quaypw", &["-q"]);
    let script = link_script(&env, &["--wait", "30"]);
    let run = std::thread::scope(|scope| {
        let creator = scope.spawn(|| {
            stub.wait_for_requests("GET", TEAM_A_SA, 1);
            stub.create(TEAM_A_SA, service_account(&["default-dockercfg-x"]));
        });
        let run = run_script(&stub, &script);
        creator.join().unwrap();
        run
    });
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        pull_names(&stub, TEAM_A_SA),
        ["default-dockercfg-x", "pull-secret"]
    );
}

/// A ServiceAccount that never appears: the script gives up after `--wait`
/// seconds with a message naming the account and the fix, and writes nothing.
#[test]
#[ignore = "needs kubectl"]
fn link_script_fails_when_the_service_account_never_appears() {
    kubestub::require_kubectl();
    let stub = Stub::stateful(vec![(
        TEAM_A_SECRET.to_owned(),
        team_a_secret("pull-secret"),
    )]);
    let env = Env::new(Backend::File);
    login(&env, "quay.io", "robot", "quaypw", &["-q"]);
    let script = link_script(&env, &["--wait", "2"]);
    let started = std::time::Instant::now();
    let run = run_script(&stub, &script);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.contains(
            "error: serviceaccount default not found in namespace team-a after 2s: create it, or wait longer with --wait SECONDS"
        ),
        "{run:?}"
    );
    assert!(stub.requests("GET", TEAM_A_SA) >= 3, "it polled");
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
    assert!(stub.writes().is_empty(), "{:?}", stub.writes());
    // --wait 0 does not wait: one look, the same message.
    let run = run_script(&stub, &link_script(&env, &["--wait", "0"]));
    assert!(run.stderr.contains("after 0s"), "{run:?}");
}

/// On OpenShift the script waits until the controller has provisioned the
/// account's own image pull secret (the annotation, with its
/// `*-dockercfg-*` entry), then links after it; on a cluster that never
/// provisions one it warns after `--wait` and links anyway.
#[test]
#[ignore = "needs kubectl"]
fn link_script_waits_for_openshifts_own_pull_secret() {
    kubestub::require_kubectl();
    let stub = Stub::stateful(vec![
        openshift_image_api(),
        (TEAM_A_SA.to_owned(), service_account(&[])),
        (TEAM_A_SECRET.to_owned(), team_a_secret("pull-secret")),
    ]);
    let env = Env::new(Backend::File);
    login(&env, "quay.io", "robot", "quaypw", &["-q"]);
    let script = link_script(&env, &["--wait", "30"]);
    let run = std::thread::scope(|scope| {
        let controller = scope.spawn(|| {
            // The script has looked at the account twice and found no secret.
            stub.wait_for_requests("GET", TEAM_A_SA, 4);
            stub.modify(TEAM_A_SA, |sa| {
                sa["metadata"]["annotations"] = json!({
                    "openshift.io/internal-registry-pull-secret-ref": "default-dockercfg-abc"});
                sa["imagePullSecrets"]
                    .as_array_mut()
                    .unwrap()
                    .push(json!({"name": "default-dockercfg-abc"}));
            });
        });
        let run = run_script(&stub, &script);
        controller.join().unwrap();
        run
    });
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stderr.is_empty(), "{run:?}");
    assert_eq!(
        pull_names(&stub, TEAM_A_SA),
        ["default-dockercfg-abc", "pull-secret"],
        "linked after the controller's entry, not before"
    );
    // Never provisioned (no internal registry): a warning, then the link.
    let stub = Stub::stateful(vec![
        openshift_image_api(),
        (TEAM_A_SA.to_owned(), service_account(&[])),
        (TEAM_A_SECRET.to_owned(), team_a_secret("pull-secret")),
    ]);
    let run = run_script(&stub, &link_script(&env, &["--wait", "1"]));
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stderr
            .contains("has no OpenShift image pull secret after 1s (a cluster without the internal image registry never provisions one): linking anyway"),
        "{run:?}"
    );
    assert_eq!(pull_names(&stub, TEAM_A_SA), ["pull-secret"]);
}

/// A write refused with 409 Conflict (another writer changed the account
/// between the script's read and its patch) is retried from a fresh read:
/// both entries end up listed, nothing forced.
#[test]
#[ignore = "needs kubectl"]
fn link_script_retries_a_conflict() {
    kubestub::require_kubectl();
    let stub = Stub::stateful(vec![
        (
            TEAM_A_SA.to_owned(),
            service_account(&["default-dockercfg-x"]),
        ),
        (TEAM_A_SECRET.to_owned(), team_a_secret("pull-secret")),
    ]);
    stub.before_next_write(TEAM_A_SA, |sa| {
        sa["imagePullSecrets"]
            .as_array_mut()
            .unwrap()
            .push(json!({"name": "mirror-pull"}));
    });
    let env = Env::new(Backend::File);
    login(&env, "quay.io", "robot", "quaypw", &["-q"]);
    let run = run_script(&stub, &link_script(&env, &[]));
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        stub.requests("PATCH", TEAM_A_SA),
        2,
        "one refused, one retried"
    );
    assert_eq!(
        pull_names(&stub, TEAM_A_SA),
        ["default-dockercfg-x", "mirror-pull", "pull-secret"]
    );
}

/// OpenShift's delegated-auth layout: two Secrets (`--split`), both linked
/// to one ServiceAccount, through the link script and through the
/// one-pipeline `--service-accounts` flow. The account ends with both in
/// `imagePullSecrets` after its own entry, and nothing else of it changed.
#[test]
#[ignore = "needs kubectl"]
fn split_secrets_are_all_linked() {
    kubestub::require_kubectl();
    let env = Env::new(Backend::File);
    login(&env, "registry.connect.redhat.com", "rh", "rhpw", &["-q"]);
    login(&env, "sso.redhat.com", "rh", "rhpw", &["-q"]);
    let split = [
        "export",
        "--format",
        "secret",
        "-n",
        "team-a",
        "--split",
        "private-registry=registry.connect.redhat.com",
        "--split",
        "redhat-connect-sso=sso.redhat.com",
    ];
    let with = |extra: &[&str], stdin: &[u8]| {
        let mut args = split.to_vec();
        args.extend(extra);
        let run = env.run(&args, stdin);
        run.ok();
        run.stdout.clone()
    };
    let mut original = service_account(&["default-dockercfg-x"]);
    original["secrets"] = json!([{"name": "default-token-x"}]);
    original["metadata"]["labels"] = json!({"team": "a"});
    // The account less what a write changes: its version, and the last-applied
    // annotation that client-side apply adds.
    let rest = |mut sa: Value| {
        let meta = sa["metadata"].as_object_mut().unwrap();
        for field in ["resourceVersion", "uid", "creationTimestamp", "annotations"] {
            meta.remove(field);
        }
        sa.as_object_mut().unwrap().remove("imagePullSecrets");
        sa
    };
    let check = |stub: &Stub| {
        assert_eq!(
            pull_names(stub, TEAM_A_SA),
            [
                "default-dockercfg-x",
                "private-registry",
                "redhat-connect-sso"
            ]
        );
        let live = stub.object(TEAM_A_SA).unwrap();
        assert_eq!(
            rest(live),
            rest(original.clone()),
            "only imagePullSecrets changed"
        );
    };
    // Create the Secrets, then the link script.
    let stub = Stub::stateful(vec![(TEAM_A_SA.to_owned(), original.clone())]);
    stub.kubectl(
        &["create", "--validate=false", "-f", "-"],
        with(&[], b"").as_bytes(),
    )
    .ok();
    let script = with(
        &["--link-service-account", "default", "--link-commands"],
        b"",
    );
    let run = run_script(&stub, &script);
    assert_eq!(run.code, 0, "{run:?}");
    check(&stub);
    // One pipeline: the live account in, one apply.
    let stub = Stub::stateful(vec![(TEAM_A_SA.to_owned(), original.clone())]);
    let live = stub.kubectl(
        &[
            "get",
            "serviceaccount",
            "default",
            "-n",
            "team-a",
            "-o",
            "json",
        ],
        b"",
    );
    let list = with(
        &[
            "--link-service-account",
            "default",
            "--service-accounts",
            "-",
        ],
        live.ok().stdout.as_bytes(),
    );
    stub.kubectl(&["apply", "--validate=false", "-f", "-"], list.as_bytes())
        .ok();
    check(&stub);
    for name in ["private-registry", "redhat-connect-sso"] {
        let path = format!("/api/v1/namespaces/team-a/secrets/{name}");
        assert!(stub.object(&path).is_some(), "{name} was created");
    }
}

/// The RoleBindings in namespace `target`, by name, with their subjects.
fn role_bindings(stub: &Stub) -> Vec<(String, Value)> {
    const PREFIX: &str = "/apis/rbac.authorization.k8s.io/v1/namespaces/target/rolebindings/";
    stub.objects()
        .into_iter()
        .filter_map(|(path, object)| {
            let name = path.strip_prefix(PREFIX)?.to_owned();
            Some((name, object["subjects"].clone()))
        })
        .collect()
}

/// The old names collided: the grant to service account `b-c` of namespace
/// `a` and the grant to every service account of namespace `a-b-c` were both
/// `image-puller-a-b-c`, so applying the second took the first's subject
/// away. Applied one after the other with the real kubectl, both keep theirs;
/// several subjects at once are one binding each, in a List.
#[test]
#[ignore = "needs kubectl"]
fn grant_pull_bindings_never_rewrite_each_other() {
    kubestub::require_kubectl();
    let stub = Stub::stateful(Vec::new());
    let env = Env::new(Backend::File);
    let apply = |args: &[&str]| {
        let mut all = vec!["grant-pull", "--to-namespace", "target"];
        all.extend(args);
        let run = env.run(&all, b"");
        stub.kubectl(
            &["apply", "--validate=false", "-f", "-"],
            run.ok().stdout.as_bytes(),
        )
        .ok();
    };
    apply(&["--from-namespace", "a", "--service-account", "b-c"]);
    apply(&["--from-namespace", "a-b-c", "--all-service-accounts"]);
    let sa = json!([{"kind": "ServiceAccount", "name": "b-c", "namespace": "a"}]);
    let group = json!([{"kind": "Group", "apiGroup": "rbac.authorization.k8s.io",
        "name": "system:serviceaccounts:a-b-c"}]);
    assert_eq!(
        role_bindings(&stub),
        [
            ("image-puller.sa.a.b-c".to_owned(), sa.clone()),
            ("image-puller.sas.a-b-c".to_owned(), group.clone()),
        ]
    );
    // Several subjects: one binding each; applying again changes nothing.
    for _ in 0..2 {
        apply(&[
            "--from-namespace",
            "a",
            "--service-account",
            "b-c",
            "--user",
            "alice@example.com",
            "--group",
            "release",
        ]);
    }
    let all = role_bindings(&stub);
    assert_eq!(all.len(), 4, "{all:?}");
    assert!(all.contains(&("image-puller.sa.a.b-c".to_owned(), sa)));
    assert!(all.contains(&("image-puller.sas.a-b-c".to_owned(), group)));
    assert!(all.contains(&(
        "image-puller.group.release".to_owned(),
        json!([{"kind": "Group", "apiGroup": "rbac.authorization.k8s.io", "name": "release"}])
    )));
    let (_, alice) = all
        .iter()
        .find(|(name, _)| name.starts_with("image-puller.user-h."))
        .expect("alice's binding");
    assert_eq!(
        alice,
        &json!([{"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": "alice@example.com"}])
    );
}
