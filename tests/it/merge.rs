//! `export --merge`: our entries merged into a pull secret the cluster
//! already holds, everything else kept (an OpenShift global pull secret, raw
//! and `.dockercfg` payloads, an Opaque Secret, a missing `--output` file),
//! another user's credential never replaced unasked (`--replace`), no old
//! password left under any spelling after a rotation, and kubectl's bytes
//! written back. Then the documented flows (`docs/kubernetes.md`) through the
//! real kubectl against the stateful stub API server
//! (`common/kubestub/state.rs`): a concurrent writer's change is never lost
//! (the write gets 409 and a rerun succeeds), after a rotation the old
//! password is nowhere on the server, the OpenShift release credential is
//! replaced only with `--replace`, and the file route works.

use base64::Engine;
use serde_json::{json, Value};

use crate::common::golden::{assert_golden, golden_path};
use crate::common::human::login;
use crate::common::kubestub::{self, state::holds, Stub};
use crate::common::pull_secret::{
    export, openshift_global_payload, openshift_global_secret, payload_of, with_payload, B64,
    GLOBAL_PATH, RELEASE_USER,
};
use crate::common::{self, fails, Backend, Env, Run};

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

/// Checks a merged OpenShift pull secret against the original; `kept`: the
/// server-set metadata fields the merge keeps.
fn check_merged(original: &Value, merged: &Value, kept: &[&str]) {
    let before = payload_of(original);
    let after = payload_of(merged);
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
    let after = payload_of(&serde_json::from_str(&replaced.stdout).unwrap());
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
    let after = payload_of(&merged);
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

// ------------------------------------------ the documented flows, with kubectl

const GET: &[&str] = &[
    "get",
    "secret/pull-secret",
    "-n",
    "openshift-config",
    "-o",
    "json",
];

/// The cluster's pull secret, holding one foreign entry.
fn cluster() -> Stub {
    let payload = json!({"auths": {"cloud.openshift.com": {"auth": B64.encode("cloud:cloudpw")}}});
    let secret = json!({"apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "pull-secret", "namespace": "openshift-config"},
        "type": "kubernetes.io/dockerconfigjson"});
    Stub::stateful(vec![(
        GLOBAL_PATH.to_owned(),
        with_payload(secret, &payload),
    )])
}

/// Another writer adds `mirror.internal:5000` to the live pull secret.
fn add_mirror(stub: &Stub) {
    stub.modify(GLOBAL_PATH, |secret| {
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
    payload_of(&stub.object(GLOBAL_PATH).unwrap())
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
        let live = stub.object(GLOBAL_PATH).unwrap();
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
        let live = stub.object(GLOBAL_PATH).unwrap();
        assert!(holds(&live, "new-quay-pw"), "{flow:?}: {live}");
        assert!(!holds(&live, "old-quay-pw"), "{flow:?}: {live}");
        assert!(holds(&live, "cloudpw"), "{flow:?}: the other entry stays");
    }
}

/// A stateful stub holding the OpenShift global pull secret (release
/// credential on `quay.io`, see `common::pull_secret`).
fn openshift_cluster() -> Stub {
    let mut secret = openshift_global_secret(&openshift_global_payload());
    secret["metadata"]
        .as_object_mut()
        .unwrap()
        .remove("resourceVersion");
    Stub::stateful(vec![(GLOBAL_PATH.to_owned(), secret)])
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
        let before = stub.object(GLOBAL_PATH).unwrap();
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
        assert_eq!(
            stub.object(GLOBAL_PATH).unwrap(),
            before,
            "{flow:?}: no write"
        );

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
