//! `docs/openshift.md` run as written (Unix: its commands are shell), against
//! the stateful stub API server, so the page cannot rot.

#![cfg(unix)]

use base64::Engine;
use serde_json::{json, Value};

use crate::common::docs::{commands, fenced_blocks, Block};
use crate::common::kubestub::{self, bindings_in, openshift_image_api, Stub};
use crate::common::pull_secret::{
    openshift_global_payload, openshift_global_secret, payload_of, with_payload, B64, GLOBAL_PATH,
};
use crate::common::{self, Backend, Env, Run};

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
/// of `login` is tested in the `login` module). The passwords the page
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
            (GLOBAL_PATH.to_owned(), global),
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
        payload_of(&self.stub.object(GLOBAL_PATH).unwrap())["auths"].clone()
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
    std::fs::write(env.docker_config(), config.to_string()).unwrap();
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
    page.stub.modify(GLOBAL_PATH, |secret| {
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
        serde_json::from_str::<Value>(&page.env.get(key).ok().stdout).unwrap()["Username"].clone()
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
