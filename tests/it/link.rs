//! Linking pull secrets to service accounts: the link commands
//! `export --link-service-account` prints (append, create or do nothing; `--for`
//! and `--unlink`), the link script (cluster names never split or globbed, a
//! service account created later or never, OpenShift's own pull secret
//! awaited, a conflict retried, `oc` alone on PATH, `--split`), and the
//! linking flows through the real kubectl against the stub API server (the
//! live imagePullSecrets kept, a concurrent change refused, no payload copy
//! left behind).

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::common::human::login;
use crate::common::kubestub::{self, openshift_image_api, state::holds, Stub};
use crate::common::pull_secret::{export, seeded};
use crate::common::time::{self, bound};
use crate::common::{self, fails, Backend, Env, Run};

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
    // What each list gets is run in link_commands_table below.
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

// ------------------------------------ the linking flows through kubectl

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

// --------------------------------------------------------- the link script

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
    let _machine = time::timed();
    kubestub::require_kubectl();
    let stub = Stub::stateful(vec![(
        TEAM_A_SECRET.to_owned(),
        team_a_secret("pull-secret"),
    )]);
    let env = Env::new(Backend::File);
    login(&env, "quay.io", "robot", "quaypw", &["-q"]);
    let script = link_script(&env, &["--wait", "2"]);
    let started = Instant::now();
    let run = run_script(&stub, &script);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.contains(
            "error: serviceaccount default not found in namespace team-a after 2s: create it, or wait longer with --wait SECONDS"
        ),
        "{run:?}"
    );
    assert!(stub.requests("GET", TEAM_A_SA) >= 3, "it polled");
    assert!(started.elapsed() < bound(Duration::from_secs(20)));
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
