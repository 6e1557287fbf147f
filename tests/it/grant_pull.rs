//! `grant-pull`: the RoleBindings that let service accounts of other
//! namespaces pull a namespace's images (golden files, the refusals), and
//! bindings applied one after another with the real kubectl against the
//! stateful stub API server never taking each other's subjects.

use serde_json::{json, Value};

use crate::common::golden::assert_golden;
use crate::common::kubestub::{self, bindings_in, Stub};
use crate::common::{self, fails, Backend, Env};

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

/// The RoleBindings in namespace `target`, by name, with their subjects.
fn role_bindings(stub: &Stub) -> Vec<(String, Value)> {
    bindings_in(stub, "target")
        .into_iter()
        .map(|(name, binding)| (name, binding["subjects"].clone()))
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
