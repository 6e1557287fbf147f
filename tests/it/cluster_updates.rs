//! Updating live objects with the documented flows (`docs/kubernetes.md`),
//! through the real kubectl against the stateful stub API server
//! (`tests/kubestub/state.rs`): a concurrent writer's change is never lost
//! (the write gets 409 and a rerun succeeds), after a password rotation the
//! old password is nowhere in what the server holds, the OpenShift release
//! credential is replaced only with `--replace`, the file route works, the
//! link script links as `oc secrets link` does, and `grant-pull` bindings
//! never rewrite each other. `openshift_page_runs_as_written` runs every
//! command of `docs/openshift.md` as the page gives it.

use crate::common;
use crate::common::kubestub;

use base64::Engine;
use common::docs::{commands, fenced_blocks};
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
    // The documented retry: the whole pipeline again, from a fresh read.
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

/// The one-pipeline link flow: the live ServiceAccount read, another writer
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

/// The three-command link flow: `export | kubectl create`, then
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

/// The file route: the payload read with kubectl's template,
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
    std::os::unix::fs::symlink(
        common::tool(
            "kubectl",
            "kubernetes.io, 1.30 or later (no Debian package is recent enough)",
        ),
        bin.path().join("oc"),
    )
    .unwrap();
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
    bindings_in(stub, "target")
        .into_iter()
        .map(|(name, binding)| (name, binding["subjects"].clone()))
        .collect()
}

/// The RoleBindings in `namespace`, by name.
fn bindings_in(stub: &Stub, namespace: &str) -> Vec<(String, Value)> {
    let prefix = format!("/apis/rbac.authorization.k8s.io/v1/namespaces/{namespace}/rolebindings/");
    stub.objects()
        .into_iter()
        .filter_map(|(path, object)| Some((path.strip_prefix(&prefix)?.to_owned(), object)))
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

// ------------------------------------------------------------ docs/openshift.md

/// `docs/openshift.md` run as written (Unix: its commands are shell).
#[cfg(unix)]
mod openshift_page {
    use super::*;
    use common::docs::Block;

    /// The operators' page, `docs/openshift.md`, run as written, so it cannot rot.
    ///
    /// The convention its editors follow (also stated at the top of the page):
    /// - every fenced block whose info string is `sh` is run, in page order; the
    ///   page's own `oc` commands (Red Hat's, shown for comparison) go in
    ///   `shell` blocks, which are not run and may not call our binary;
    /// - each command of a block (`common::docs::commands`: continuation
    ///   lines, pipelines and `$(...)` kept together) runs with
    ///   `bash -o pipefail -c` (dash has no pipefail, and without it a failure of
    ///   ours in the middle of `oc get | ours | oc replace` would pass unseen:
    ///   `oc replace` of empty input exits 0), in the home directory of an
    ///   isolated `Env` holding the fixture files the page names, and must exit 0;
    /// - a block right after a `<!-- test: fails -->` comment must fail instead,
    ///   and change nothing on the cluster;
    /// - every `sh` block holds at least one command of ours, and every section
    ///   (the heading above its blocks) has an entry in [`PAGE_SECTIONS`], whose
    ///   check asserts the cluster's (or the store's) state after it.
    ///
    /// `PATH` starts with two wrappers: `oc`, the real kubectl against the
    /// stateful stub (with `--validate=false` for `create`, `apply` and
    /// `replace`, as the stub serves no OpenAPI document; `create serviceaccount`
    /// sent as JSON, as the stub reads no protobuf; and `oc set data`, which
    /// kubectl lacks, sent as the strategic merge patch of `data` it is),
    /// and `docker-credential-keyring`, our binary with `login` made
    /// `--no-verify` (the page's registries do not exist here; the registry side
    /// of `login` is tested in `tests/registry_*.rs`). The passwords the page
    /// reads from the environment are set.
    #[test]
    #[ignore = "needs kubectl"]
    fn openshift_page_runs_as_written() {
        kubestub::require_kubectl();
        let page = Page::new();
        let doc = common::golden::repo_file("docs/openshift.md");
        let blocks = fenced_blocks(&doc);
        for block in blocks.iter().filter(|b| b.info != "sh") {
            assert!(
                !block.text.contains(OURS),
                "line {}: a ```{} block calls {OURS} but is not run: make it ```sh",
                block.line,
                block.info
            );
        }
        let runnable: Vec<&Block> = blocks.iter().filter(|b| b.info == "sh").collect();
        assert!(
            !runnable.is_empty(),
            "docs/openshift.md has no ```sh block: nothing would be tested"
        );
        let sections = page_sections(&runnable);
        let mut ours = 0;
        for heading in &sections {
            let section = PAGE_SECTIONS
                .iter()
                .find(|s| s.heading == heading.as_str())
                .unwrap_or_else(|| {
                    panic!("no check for section {heading:?}: add one to PAGE_SECTIONS")
                });
            if let Some(before) = section.before {
                before(&page);
            }
            for block in runnable.iter().filter(|b| &b.heading == heading) {
                ours += page.run_block(block);
            }
            (section.after)(&page);
        }
        for section in PAGE_SECTIONS {
            assert!(
                sections.iter().any(|h| h == section.heading),
                "PAGE_SECTIONS checks {:?}, which has no ```sh block on the page",
                section.heading
            );
        }
        assert!(ours >= sections.len(), "{ours} commands of ours");
    }

    /// The headings of the sections that hold `sh` blocks, in page order (each
    /// section's blocks must be together under one heading).
    fn page_sections(runnable: &[&Block]) -> Vec<String> {
        let mut sections: Vec<String> = Vec::new();
        for block in runnable {
            if sections.last() != Some(&block.heading) {
                assert!(
                    !sections.contains(&block.heading),
                    "two sections are headed {:?}",
                    block.heading
                );
                sections.push(block.heading.clone());
            }
        }
        sections
    }

    const OURS: &str = "docker-credential-keyring";
    const QUAY_PW: &str = "quay-developer-pw";
    const REPO_MAIN_PW: &str = "repository-main-pw";
    const DOCKERCFG_PW: &str = "legacy-deployer-pw";
    const REGISTRY_PW: &str = "registry-deployer-pw";
    const PRIVATE_PW: &str = "private-registry-pw";
    /// The new owner's pull secret (`~/Downloads/pull-secret.txt`).
    const NEW_RELEASE: (&str, &str) = ("openshift-release-dev+ocm_access_9f8e7d", "new-release-tk");
    const NEW_REDHAT: (&str, &str) = ("uhc-pool-7a6b", "new-redhat-jwt");
    const PROJECT_A_SA: &str = "/api/v1/namespaces/project-a/serviceaccounts/default";
    const DEPLOYER_SA: &str = "/api/v1/namespaces/project-a/serviceaccounts/deployer";

    /// What the page's run shares: the cluster, the user's environment, the
    /// wrappers on `PATH`, and threads standing in for cluster controllers.
    struct Page {
        stub: std::sync::Arc<Stub>,
        env: Env,
        bin: tempfile::TempDir,
        controllers: std::sync::Mutex<Vec<std::thread::JoinHandle<()>>>,
    }

    /// A section of the page: its heading, what the cluster does before its
    /// commands run, and the check of the state after them.
    struct PageSection {
        heading: &'static str,
        before: Option<fn(&Page)>,
        after: fn(&Page),
    }

    #[rustfmt::skip]
    const PAGE_SECTIONS: &[PageSection] = &[
        PageSection { heading: "Before you start", before: None, after: page_logged_in },
        PageSection { heading: "1. Let a project's pods pull images from another project", before: None, after: page_bound_one_account },
        PageSection { heading: "2. Let every service account of a project pull from another", before: None, after: page_bound_the_group },
        PageSection { heading: "3. A new service account: wait for it before creating pods", before: Some(page_controller_provisions_deployer), after: page_deployer_linked_after_provisioning },
        PageSection { heading: "4. A pull secret from an existing .dockercfg", before: None, after: page_dockercfg_secret },
        PageSection { heading: "5. A pull secret from your docker config.json", before: None, after: page_quay_secret },
        PageSection { heading: "6. A pull secret without a file", before: None, after: page_registry_secret },
        PageSection { heading: "7. Link the pull secret to the pod's service account", before: None, after: page_default_linked },
        PageSection { heading: "8. A registry that delegates its login: two Secrets", before: None, after: page_two_secrets_linked },
        PageSection { heading: "Through a pipeline (recommended)", before: None, after: page_global_gained_the_registry },
        PageSection { heading: "As a patch", before: Some(page_reset_global), after: page_global_gained_the_registry },
        PageSection { heading: "Through a file, as the documentation does", before: Some(page_reset_global), after: page_file_route_done },
        PageSection { heading: "When quay.io holds the release credential", before: None, after: page_release_credential_kept },
        PageSection { heading: "On your workstation", before: None, after: page_imported_for_workstation },
        PageSection { heading: "When the cluster changes owner", before: None, after: page_owner_changed },
    ];

    impl Page {
        /// The cluster (OpenShift's image API, `project-a`'s provisioned default
        /// account, the global pull secret), the fixture files, the wrappers.
        fn new() -> Page {
            let mut global = openshift_global_secret(&openshift_global_payload());
            global["metadata"]
                .as_object_mut()
                .unwrap()
                .remove("resourceVersion");
            let default_sa = json!({"apiVersion": "v1", "kind": "ServiceAccount",
                "metadata": {"name": "default", "namespace": "project-a", "annotations":
                    {"openshift.io/internal-registry-pull-secret-ref": "default-dockercfg-abc"}},
                "imagePullSecrets": [{"name": "default-dockercfg-abc"}]});
            let stub = Stub::stateful(vec![
                openshift_image_api(),
                (PROJECT_A_SA.to_owned(), default_sa),
                (PATH.to_owned(), global),
            ]);
            let env = Env::new(Backend::File);
            page_files(&env);
            let bin = tempfile::tempdir().unwrap();
            page_wrappers(bin.path());
            Page {
                stub: std::sync::Arc::new(stub),
                env,
                bin,
                controllers: std::sync::Mutex::new(Vec::new()),
            }
        }

        /// Runs every command of `block`; returns how many were ours.
        fn run_block(&self, block: &Block) -> usize {
            let fails = match block.mark.as_deref() {
                None => false,
                Some("fails") => true,
                Some(other) => panic!("line {}: unknown mark `test: {other}`", block.line),
            };
            let commands = commands(&block.text);
            assert!(
                commands.iter().any(|c| c.contains(OURS)),
                "line {}: a ```sh block without a command of ours",
                block.line
            );
            for command in &commands {
                let before = self.stub.objects();
                let run = self.run(command);
                for (_, secret) in page_secrets() {
                    assert!(
                        !run.stdout.contains(secret) && !run.stderr.contains(secret),
                        "line {}: a password in the output of {command}: {run:?}",
                        block.line
                    );
                }
                if fails {
                    assert_ne!(run.code, 0, "line {}: meant to fail: {command}", block.line);
                    assert_eq!(
                        self.stub.objects(),
                        before,
                        "line {}: a refused command changed the cluster: {command}",
                        block.line
                    );
                } else {
                    assert_eq!(run.code, 0, "line {}: {command}\n{run:?}", block.line);
                }
            }
            commands.iter().filter(|c| c.contains(OURS)).count()
        }

        /// One command of the page, as a user's shell runs it.
        fn run(&self, command: &str) -> Run {
            let mut cmd = std::process::Command::new("bash");
            cmd.args(["-o", "pipefail", "-c", command])
                .current_dir(self.env.home());
            self.env.apply(&mut cmd);
            let path = std::env::var("PATH").unwrap_or_default();
            cmd.env("PATH", format!("{}:{path}", self.bin.path().display()))
                .env("KUBECONFIG", &self.stub.kubeconfig)
                .env("QUAY_PASSWORD", QUAY_PW)
                .env("REGISTRY_PASSWORD", REGISTRY_PW)
                .env("PRIVATE_REGISTRY_PASSWORD", PRIVATE_PW)
                .env_remove("DBUS_SESSION_BUS_ADDRESS");
            common::run_command_within(cmd, b"", std::time::Duration::from_secs(60))
        }

        /// The live Secret `name` in `project-a`.
        fn secret(&self, name: &str) -> Value {
            let path = format!("/api/v1/namespaces/project-a/secrets/{name}");
            self.stub
                .object(&path)
                .unwrap_or_else(|| panic!("no Secret {name} in project-a"))
        }

        /// The live global pull secret's `auths`.
        fn global(&self) -> Value {
            payload_of(&self.stub.object(PATH).unwrap())["auths"].clone()
        }
    }

    /// Every password of the page's fixtures, by user.
    fn page_secrets() -> Vec<(&'static str, &'static str)> {
        use common::pull_secret::SECRETS;
        let mut all = vec![
            ("developer", QUAY_PW),
            ("repository-main+puller", REPO_MAIN_PW),
            ("deployer", DOCKERCFG_PW),
            ("deployer", REGISTRY_PW),
            ("developer@example.com", PRIVATE_PW),
            NEW_RELEASE,
            NEW_REDHAT,
        ];
        all.extend_from_slice(SECRETS);
        all
    }

    /// The files the page names, in the user's home: `~/.dockercfg` (step 4),
    /// `~/.docker/config.json` as the documentation shows it (step 5), and the
    /// new owner's `~/Downloads/pull-secret.txt` (step 10).
    fn page_files(env: &Env) {
        let entry = |user: &str, password: &str, email: &str| json!({"auth": B64.encode(format!("{user}:{password}")), "email": email});
        let home = env.home();
        let dockercfg = json!({"registry.example.com:5000":
            entry("deployer", DOCKERCFG_PW, "deployer@example.com")});
        std::fs::write(home.join(".dockercfg"), dockercfg.to_string()).unwrap();
        let config = json!({"auths": {
            "cloud.openshift.com": entry("developer", "cloud-pw", "you@example.com"),
            "quay.io": entry("developer", QUAY_PW, "you@example.com"),
            "quay.io/repository-main": entry("repository-main+puller", REPO_MAIN_PW, "you@example.com"),
        }});
        std::fs::create_dir_all(env.docker_config_dir()).unwrap();
        std::fs::write(
            env.docker_config_dir().join("config.json"),
            config.to_string(),
        )
        .unwrap();
        let (release, redhat) = (NEW_RELEASE, NEW_REDHAT);
        let downloaded = json!({"auths": {
            "cloud.openshift.com": entry(release.0, release.1, "new-owner@example.com"),
            "quay.io": entry(release.0, release.1, "new-owner@example.com"),
            "registry.connect.redhat.com": entry(redhat.0, redhat.1, "new-owner@example.com"),
            "registry.redhat.io": entry(redhat.0, redhat.1, "new-owner@example.com"),
        }});
        std::fs::create_dir_all(home.join("Downloads")).unwrap();
        std::fs::write(
            home.join("Downloads/pull-secret.txt"),
            downloaded.to_string(),
        )
        .unwrap();
    }

    /// `oc` (the real kubectl, see [`openshift_page_runs_as_written`]) and our
    /// binary with an offline `login`, as executable scripts in `dir`.
    fn page_wrappers(dir: &std::path::Path) {
        use std::os::unix::fs::PermissionsExt;
        let oc = r#"#!/bin/sh
    case "$1" in
    create | apply | replace)
      verb=$1
      shift
      if [ "$verb" = create ] && [ "$1" = serviceaccount ]; then
        kubectl create "$@" --dry-run=client -o json | kubectl create --validate=false -f -
        exit
      fi
      exec kubectl "$verb" --validate=false "$@"
      ;;
    set)
      [ "$2" = data ] || { echo "oc (test wrapper): only 'set data' is mapped" >&2; exit 2; }
      target=$3
      shift 3
      ns=
      while [ $# -gt 0 ]; do
        case "$1" in
        -n) ns=$2; shift 2 ;;
        --from-file=*) spec=${1#--from-file=}; key=${spec%%=*}; file=${spec#*=}; shift ;;
        *) echo "oc (test wrapper): unexpected $1" >&2; exit 2 ;;
        esac
      done
      data=$(base64 -w0 "$file") || exit 1
      exec kubectl patch "$target" -n "$ns" --type=strategic -p "{\"data\":{\"$key\":\"$data\"}}"
      ;;
    esac
    exec kubectl "$@"
    "#;
        let ours = format!(
            "#!/bin/sh\nif [ \"$1\" = login ]; then shift; exec '{bin}' login --no-verify \"$@\"; fi\nexec '{bin}' \"$@\"\n",
            bin = common::BIN
        );
        for (name, text) in [("oc", oc.to_owned()), (OURS, ours)] {
            let path = dir.join(name);
            std::fs::write(&path, text).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
    }

    /// The `user:password` an entry's `auth` holds.
    fn auth_of(entry: &Value) -> String {
        let auth = entry["auth"]
            .as_str()
            .unwrap_or_else(|| panic!("no auth: {entry}"));
        String::from_utf8(B64.decode(auth).unwrap()).unwrap()
    }

    /// A pull Secret's entries: the `auths` of a `.dockerconfigjson`, or a
    /// `.dockercfg` map.
    fn entries_of(secret: &Value) -> Value {
        let data = &secret["data"];
        let decode = |key: &str| -> Option<Value> {
            let text = data[key].as_str()?;
            Some(serde_json::from_slice(&B64.decode(text).unwrap()).unwrap())
        };
        match decode(".dockerconfigjson") {
            Some(payload) => payload["auths"].clone(),
            None => decode(".dockercfg").unwrap_or_else(|| panic!("not a pull secret: {secret}")),
        }
    }

    /// The keys and `user:password` of a pull Secret's entries.
    fn credentials_of(secret: &Value) -> Vec<(String, String)> {
        let entries = entries_of(secret);
        entries
            .as_object()
            .unwrap()
            .iter()
            .map(|(key, entry)| (key.clone(), auth_of(entry)))
            .collect()
    }

    /// The names in a ServiceAccount's `field` list.
    fn names_in(stub: &Stub, path: &str, field: &str) -> Vec<String> {
        stub.object(path).unwrap()[field]
            .as_array()
            .map(|list| {
                list.iter()
                    .map(|r| r["name"].as_str().unwrap().to_owned())
                    .collect()
            })
            .unwrap_or_default()
    }

    fn pair(key: &str, credential: &str) -> (String, String) {
        (key.to_owned(), credential.to_owned())
    }

    fn page_logged_in(page: &Page) {
        assert_eq!(page.env.secret("quay.io").as_deref(), Some(QUAY_PW));
    }

    fn page_bound_one_account(page: &Page) {
        let bindings = bindings_in(&page.stub, "project-b");
        let (_, binding) = bindings
            .iter()
            .find(|(name, _)| name == "image-puller.sa.project-a.default")
            .unwrap_or_else(|| panic!("{bindings:?}"));
        assert_eq!(binding["roleRef"]["name"], "system:image-puller");
        assert_eq!(
            binding["subjects"],
            json!([{"kind": "ServiceAccount", "name": "default", "namespace": "project-a"}])
        );
    }

    fn page_bound_the_group(page: &Page) {
        let bindings = bindings_in(&page.stub, "project-b");
        let names: Vec<&str> = bindings.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "image-puller.sa.project-a.default",
                "image-puller.sas.project-a"
            ]
        );
        assert_eq!(
            bindings[1].1["subjects"],
            json!([{"kind": "Group", "apiGroup": "rbac.authorization.k8s.io",
                "name": "system:serviceaccounts:project-a"}])
        );
    }

    /// OpenShift's controller: once the link script has looked at the new
    /// account twice (two GETs a look) and found no pull secret of its own, it
    /// provisions one, replacing the list: a link made without waiting is lost.
    fn page_controller_provisions_deployer(page: &Page) {
        let stub = std::sync::Arc::clone(&page.stub);
        let controller = std::thread::spawn(move || {
            stub.wait_for_requests("GET", DEPLOYER_SA, 4);
            stub.modify(DEPLOYER_SA, |sa| {
                sa["metadata"]["annotations"] = json!({
                    "openshift.io/internal-registry-pull-secret-ref": "deployer-dockercfg-x7k2p"});
                sa["imagePullSecrets"] = json!([{"name": "deployer-dockercfg-x7k2p"}]);
            });
        });
        page.controllers.lock().unwrap().push(controller);
    }

    fn page_deployer_linked_after_provisioning(page: &Page) {
        for controller in page.controllers.lock().unwrap().drain(..) {
            controller.join().expect("the controller thread");
        }
        assert_eq!(
            names_in(&page.stub, DEPLOYER_SA, "imagePullSecrets"),
            ["deployer-dockercfg-x7k2p", "deployer-pull"]
        );
        assert_eq!(
            credentials_of(&page.secret("deployer-pull")),
            [pair("quay.io", &format!("developer:{QUAY_PW}"))]
        );
    }

    fn page_dockercfg_secret(page: &Page) {
        let secret = page.secret("legacy-registry-pull");
        assert_eq!(secret["type"], "kubernetes.io/dockercfg");
        assert_eq!(
            credentials_of(&secret),
            [pair(
                "registry.example.com:5000",
                &format!("deployer:{DOCKERCFG_PW}")
            )]
        );
    }

    fn page_quay_secret(page: &Page) {
        assert_eq!(
            credentials_of(&page.secret("quay-pull")),
            [
                pair("quay.io", &format!("developer:{QUAY_PW}")),
                pair(
                    "quay.io/repository-main",
                    &format!("repository-main+puller:{REPO_MAIN_PW}")
                ),
            ]
        );
    }

    fn page_registry_secret(page: &Page) {
        let secret = page.secret("registry-example-pull");
        assert_eq!(
            credentials_of(&secret),
            [pair(
                "registry.example.com",
                &format!("deployer:{REGISTRY_PW}")
            )]
        );
        assert_eq!(
            entries_of(&secret)["registry.example.com"]["email"],
            "deployer@example.com"
        );
    }

    fn page_default_linked(page: &Page) {
        assert_eq!(
            names_in(&page.stub, PROJECT_A_SA, "imagePullSecrets"),
            ["default-dockercfg-abc", "registry-example-pull"]
        );
        assert_eq!(
            names_in(&page.stub, PROJECT_A_SA, "secrets"),
            Vec::<String>::new(),
            "linked for mount, then unlinked from that list"
        );
    }

    fn page_two_secrets_linked(page: &Page) {
        let developer = format!("developer@example.com:{PRIVATE_PW}");
        assert_eq!(
            credentials_of(&page.secret("redhat-connect-sso")),
            [pair("sso.redhat.com", &developer)]
        );
        assert_eq!(
            credentials_of(&page.secret("private-registry")),
            [pair("privateregistry.example.com", &developer)]
        );
        assert_eq!(
            names_in(&page.stub, PROJECT_A_SA, "imagePullSecrets"),
            [
                "default-dockercfg-abc",
                "registry-example-pull",
                "redhat-connect-sso",
                "private-registry"
            ]
        );
    }

    /// The cluster manager's entries as they were, plus the private registry
    /// and its paired auth server.
    fn page_global_gained_the_registry(page: &Page) {
        let live = page.global();
        let original = openshift_global_payload()["auths"].clone();
        for (key, entry) in original.as_object().unwrap() {
            assert_eq!(&live[key], entry, "{key} changed");
        }
        let developer = format!("developer@example.com:{PRIVATE_PW}");
        for key in ["privateregistry.example.com", "sso.redhat.com"] {
            assert_eq!(auth_of(&live[key]), developer, "{key}: {live}");
        }
        assert_eq!(live.as_object().unwrap().len(), 6, "{live}");
    }

    /// The global pull secret as the cluster manager filled it, so the next
    /// way of adding a registry is seen to add it.
    fn page_reset_global(page: &Page) {
        page.stub.modify(PATH, |secret| {
            *secret = with_payload(secret.clone(), &openshift_global_payload());
        });
    }

    fn page_file_route_done(page: &Page) {
        page_global_gained_the_registry(page);
        assert!(
            !page.env.home().join("pull-secret.json").exists(),
            "the file holding every password is removed"
        );
    }

    fn page_release_credential_kept(page: &Page) {
        let live = page.global();
        assert_eq!(
            live["quay.io"],
            openshift_global_payload()["auths"]["quay.io"]
        );
        assert_eq!(
            auth_of(&live["quay.io/repository-main"]),
            format!("repository-main+puller:{REPO_MAIN_PW}")
        );
        assert!(live.get("privateregistry.example.com").is_some(), "{live}");
    }

    fn page_imported_for_workstation(page: &Page) {
        let user = |key: &str| -> Value {
            serde_json::from_str::<Value>(&page.env.get(key).ok().stdout).unwrap()["Username"]
                .clone()
        };
        assert_eq!(user("registry.redhat.io"), NEW_REDHAT.0);
        assert_eq!(user("registry.connect.redhat.com"), NEW_REDHAT.0);
        assert_eq!(user("quay.io"), "developer", "your own quay.io login stays");
    }

    fn page_owner_changed(page: &Page) {
        let live = page.global();
        let release = format!("{}:{}", NEW_RELEASE.0, NEW_RELEASE.1);
        let redhat = format!("{}:{}", NEW_REDHAT.0, NEW_REDHAT.1);
        for (key, credential) in [
            ("cloud.openshift.com", &release),
            ("quay.io", &release),
            ("registry.connect.redhat.com", &redhat),
            ("registry.redhat.io", &redhat),
        ] {
            assert_eq!(&auth_of(&live[key]), credential, "{key}");
        }
        for key in [
            "privateregistry.example.com",
            "sso.redhat.com",
            "quay.io/repository-main",
        ] {
            assert!(live.get(key).is_some(), "{key} was dropped: {live}");
        }
    }
}

// The reader of fenced blocks and shell commands the page test relies on
// (`common::docs`).

#[test]
fn commands_follow_continuations_quotes_and_substitutions() {
    let block = "# a comment\none --flag\n\ntwo \\\n  --more | three\nfour |\n  five\n\
                 six -p \"$(\n  seven 'a \"(' \\\n    | eight)\"\n(umask 077; nine \\\n  > f)\n";
    assert_eq!(
        commands(block),
        [
            "one --flag",
            "two \\\n  --more | three",
            "four |\n  five",
            "six -p \"$(\n  seven 'a \"(' \\\n    | eight)\"",
            "(umask 077; nine \\\n  > f)",
        ]
    );
}

#[test]
fn blocks_carry_their_heading_info_and_mark() {
    let page = "# Top\n\n## One\n\n```sh\na\n```\n\n<!-- test: fails -->\n```sh\nb\n```\n\n\
                ### Two\n```shell\nc\n```\n";
    let blocks = fenced_blocks(page);
    let got: Vec<_> = blocks
        .iter()
        .map(|b| {
            (
                b.info.as_str(),
                b.heading.as_str(),
                b.mark.as_deref(),
                b.text.as_str(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("sh", "One", None, "a\n"),
            ("sh", "One", Some("fails"), "b\n"),
            ("shell", "Two", None, "c\n"),
        ]
    );
}
