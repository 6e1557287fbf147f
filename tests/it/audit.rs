//! `audit`: deployed pull secrets against the store and real registries
//! (Debian's `docker-registry` with htpasswd on 127.0.0.1). A Secret
//! exported here is ok; after a rotation in the store it is stale (exit 6);
//! after a rotation on the registry it is rejected (exit 1); a `List` mixing
//! them gets each finding per Secret and entry; YAML reads the same; 10,000
//! entries ask each distinct credential once, in bounded time. Offline runs
//! (no registry) cover unknown, invalid, expiry, pairs, bad input and the
//! rule that no secret is ever printed; the real kubectl (against
//! common/kubestub) runs the operator's loop and the fix for a stale Secret.

use crate::common;
use crate::common::kubestub;
use crate::common::registry;

use std::time::{Duration, Instant};

use base64::Engine;
use common::human::{assert_no_secret, auth_b64, login};
use common::jwt::{jwt, now};
use common::time::{self, bound};
use common::{run_command, run_command_within, Backend, Env, Run};
use kubestub::Stub;
use registry::*;
use serde_json::{json, Value};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// A password rotated in the store, or on the registry.
const NEW_PASSWORD: &str = "rotated-Secret-pw-8";

fn audit(env: &Env, args: &[&str], stdin: &[u8]) -> Run {
    let mut all = vec!["audit"];
    all.extend_from_slice(args);
    run_command_within(env.command(&all), stdin, Duration::from_secs(120))
}

/// `audit --json` of `doc` on stdin: the exit code and the findings.
fn audit_json(env: &Env, extra: &[&str], doc: &str) -> (i32, Vec<Value>, Run) {
    let mut args = vec!["--json"];
    args.extend_from_slice(extra);
    args.push("-");
    let run = audit(env, &args, doc.as_bytes());
    let rows: Vec<Value> = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("audit --json prints a JSON array ({e}): {run:?}"));
    (run.code, rows, run)
}

/// `(namespace/name, registry, finding)` of each row.
fn findings(rows: &[Value]) -> Vec<(String, String, String)> {
    rows.iter()
        .map(|r| {
            (
                format!(
                    "{}/{}",
                    r["namespace"].as_str().unwrap_or("-"),
                    r["name"].as_str().unwrap_or("-")
                ),
                r["registry"].as_str().unwrap().to_owned(),
                r["finding"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn row(secret: &str, registry: &str, finding: &str) -> (String, String, String) {
    (secret.into(), registry.into(), finding.into())
}

/// `export --format secret` of `registry` as `namespace/name`, parsed.
fn exported(env: &Env, registry: &str, namespace: &str, name: &str) -> Value {
    let run = env.run(
        &[
            "export",
            "--format",
            "secret",
            "--registry",
            registry,
            "--name",
            name,
            "-n",
            namespace,
        ],
        b"",
    );
    serde_json::from_str(&run.ok().stdout).unwrap()
}

/// A `kubernetes.io/dockerconfigjson` Secret holding `auths`.
fn secret(namespace: &str, name: &str, auths: Value) -> Value {
    let payload = B64.encode(json!({ "auths": auths }).to_string());
    json!({"apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": name, "namespace": namespace, "resourceVersion": "7"},
        "type": "kubernetes.io/dockerconfigjson",
        "data": {".dockerconfigjson": payload}})
}

fn list(items: Vec<Value>) -> String {
    json!({"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""}, "items": items})
        .to_string()
}

fn entry(user: &str, password: &str) -> Value {
    json!({"username": user, "password": password, "auth": auth_b64(user, password)})
}

#[test]
#[ignore = "needs docker-registry and apache2-utils"]
fn exported_then_rotated_here_then_rotated_on_the_registry() {
    let mut registry = Registry::start(Auth::Htpasswd, false);
    let host = registry.host();
    let env = Env::new(Backend::File);
    login(&env, &host, USER, PASSWORD, &["-q"]);
    let deployed = exported(&env, &host, "team-a", "pull").to_string();
    let secrets = [(USER, PASSWORD), (USER, NEW_PASSWORD)];

    // As exported: ok, asked of the registry.
    let (code, rows, run) = audit_json(&env, &[], &deployed);
    assert_eq!(code, 0, "{run:?}");
    assert_eq!(findings(&rows), [row("team-a/pull", &host, "ok")]);
    assert_eq!(rows[0]["username"], USER);
    assert_no_secret(&run, &secrets);

    // Rotated in the store, not deployed: stale; the registry still takes the old one.
    env.store(&host, USER, NEW_PASSWORD).ok();
    let (code, rows, run) = audit_json(&env, &[], &deployed);
    assert_eq!(code, 6, "{run:?}");
    assert_eq!(findings(&rows), [row("team-a/pull", &host, "stale")]);
    assert_eq!(rows[0]["detail"], "the store holds a different password");
    assert!(run.stderr.contains("fix: stale:"), "{run:?}");
    assert_no_secret(&run, &secrets);

    // Rotated on the registry: the deployed credential is refused.
    registry.rotate_htpasswd(USER, NEW_PASSWORD);
    let (code, rows, run) = audit_json(&env, &[], &deployed);
    assert_eq!(code, 1, "{run:?}");
    assert_eq!(findings(&rows), [row("team-a/pull", &host, "rejected")]);
    let detail = rows[0]["detail"].as_str().unwrap();
    assert!(
        detail.starts_with("rejected by registry (401 at http://")
            && detail.ends_with("; the store holds a different password"),
        "{detail}"
    );
    assert_no_secret(&run, &secrets);

    // Offline, the same Secret is only compared: stale.
    let (code, rows, _) = audit_json(&env, &["--offline"], &deployed);
    assert_eq!((code, findings(&rows)[0].2.as_str()), (6, "stale"));

    // Re-exported: ok again, in the table too.
    let fresh = exported(&env, &host, "team-a", "pull").to_string();
    let run = audit(&env, &["-"], fresh.as_bytes());
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.starts_with("SECRET       REGISTRY"), "{run:?}");
    assert!(
        run.stdout
            .contains("1 entry in 1 pull secret: 1 ok; 1 distinct credential asked"),
        "{run:?}"
    );
    assert_no_secret(&run, &secrets);
}

#[test]
#[ignore = "needs docker-registry and apache2-utils"]
fn a_list_mixing_findings_and_its_yaml() {
    let one = Registry::start(Auth::Htpasswd, false);
    let two = Registry::start(Auth::Htpasswd, false);
    let (h1, h2) = (one.host(), two.host());
    let dead = format!("127.0.0.1:{}", free_port("127.0.0.1"));
    let env = Env::new(Backend::File);
    login(&env, &h1, USER, PASSWORD, &["-q"]);
    login(&env, &h2, USER, NEW_PASSWORD, &["-q"]);
    login(&env, &dead, USER, PASSWORD, &["-q"]);
    let scoped = format!("{h1}/team-b");
    let items = vec![
        // ok, and the same credential under another spelling: ok, asked once.
        secret(
            "a",
            "pull",
            json!({ &h1: entry(USER, PASSWORD), format!("http://{h1}/"): entry(USER, PASSWORD) }),
        ),
        // stale: registry two takes PASSWORD, the store holds NEW_PASSWORD.
        secret("b", "pull", json!({ &h2: entry(USER, PASSWORD) })),
        // rejected (a password neither side holds), unknown (nothing for that scope here).
        secret(
            "c",
            "pull",
            json!({ &h1: entry(USER, "wrong-pw"), &scoped: entry(USER, PASSWORD) }),
        ),
        // unreachable.
        secret("d", "pull", json!({ &dead: entry(USER, PASSWORD) })),
        // Not a pull secret: skipped.
        json!({"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/service-account-token",
            "metadata": {"name": "token", "namespace": "a"}, "data": {"token": "dG9r"}}),
    ];
    let doc = list(items);
    let (code, rows, run) = audit_json(&env, &[], &doc);
    assert_eq!(
        code, 1,
        "rejected wins over stale, unreachable and unknown: {run:?}"
    );
    assert_eq!(
        findings(&rows),
        [
            row("a/pull", &h1, "ok"),
            row("a/pull", &format!("http://{h1}/"), "ok"),
            row("b/pull", &h2, "stale"),
            row("c/pull", &h1, "rejected"),
            row("c/pull", &scoped, "unknown"),
            row("d/pull", &dead, "unreachable"),
        ]
    );
    assert!(run
        .stderr
        .contains("note: 1 item(s) of the List are no pull secrets: skipped"));
    assert_no_secret(
        &run,
        &[(USER, PASSWORD), (USER, NEW_PASSWORD), (USER, "wrong-pw")],
    );

    // The table and its summary: four distinct credentials asked for six entries.
    let run = audit(&env, &["-"], doc.as_bytes());
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stdout.contains(
            "6 entries in 4 pull secrets: 1 rejected, 1 stale, 1 unreachable, 1 unknown, 2 ok; 5 distinct credentials asked"
        ),
        "{run:?}"
    );
    for fix in ["rejected", "stale", "unreachable", "unknown"] {
        assert!(run.stderr.contains(&format!("fix: {fix}:")), "{run:?}");
    }

    // Without the rejected Secret stale wins; without it unreachable; then unknown.
    let without = |skip: &[&str]| {
        let kept: Vec<Value> = serde_json::from_str::<Value>(&doc).unwrap()["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| !skip.contains(&s["metadata"]["namespace"].as_str().unwrap()))
            .cloned()
            .collect();
        audit(&env, &["--json", "-"], list(kept).as_bytes()).code
    };
    assert_eq!(without(&["c"]), 6);
    assert_eq!(without(&["b", "c"]), 3);
    assert_eq!(without(&["a", "b", "d"]), 1);

    // YAML: the export of two namespaces is a List; both ok.
    let run = env.run(
        &[
            "export",
            "--format",
            "secret",
            "--registry",
            &h1,
            "-n",
            "x",
            "-n",
            "y",
            "--yaml",
        ],
        b"",
    );
    let yaml = run.ok().stdout.clone();
    assert!(yaml.starts_with("apiVersion: v1\nitems:"), "{yaml}");
    let (code, rows, run) = audit_json(&env, &[], &yaml);
    assert_eq!(code, 0, "{run:?}");
    assert_eq!(
        findings(&rows),
        [
            row("x/pull-secret", &h1, "ok"),
            row("y/pull-secret", &h1, "ok")
        ]
    );
}

#[test]
#[ignore = "needs docker-registry and apache2-utils"]
fn ten_thousand_entries_ask_each_distinct_credential_once() {
    let _machine = time::timed();
    let registry = Registry::start(Auth::Htpasswd, false);
    let host = registry.host();
    let env = Env::new(Backend::File);
    let keys: Vec<String> = ["", "/app", "/web", "/ops", "/ci"]
        .iter()
        .map(|p| format!("{host}{p}"))
        .collect();
    for key in &keys {
        env.store(key, USER, PASSWORD).ok();
    }
    // 2,000 Secrets x 5 entries; every 100th Secret's first entry a wrong password.
    let items: Vec<Value> = (0..2000)
        .map(|i| {
            let mut auths = serde_json::Map::new();
            for (k, key) in keys.iter().enumerate() {
                let password = if k == 0 && i % 100 == 0 {
                    "wrong-pw"
                } else {
                    PASSWORD
                };
                auths.insert(key.clone(), entry(USER, password));
            }
            secret(&format!("ns-{i}"), "pull", Value::Object(auths))
        })
        .collect();
    let doc = list(items);
    let started = Instant::now();
    let run = audit(&env, &["-"], doc.as_bytes());
    let took = started.elapsed();
    eprintln!(
        "audit of 10,000 entries ({} KiB): {took:?}",
        doc.len() / 1024
    );
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stdout.contains(
            "10000 entries in 2000 pull secrets: 20 rejected, 9980 ok; 6 distinct credentials asked"
        ),
        "{}",
        run.stdout.lines().last().unwrap_or_default()
    );
    // Generous: catches a check per copy (10,000 bcrypt logins), not a slow machine.
    assert!(took < bound(Duration::from_secs(60)), "took {took:?}");
}

backend_tests!(offline_audit_compares_with_the_store);
fn offline_audit_compares_with_the_store(backend: Backend) {
    let env = Env::new(backend);
    let soon = jwt(now() + 2 * 86_400);
    let gone = jwt(now() - 3600);
    env.store("reg.example.com", USER, PASSWORD).ok();
    env.store("quay.io", "robot", &soon).ok();
    env.store("ghcr.io", "ci", &gone).ok();
    let doc = list(vec![
        secret(
            "apps",
            "pull",
            json!({
                "https://reg.example.com/v2/": entry(USER, PASSWORD),
                "quay.io": entry("robot", &soon),
                "ghcr.io": entry("ci", &gone),
            }),
        ),
        secret(
            "old",
            "pull",
            json!({
                "reg.example.com": entry("bob", PASSWORD),
                "other.example.com": entry(USER, PASSWORD),
                "empty.example.com": {},
            }),
        ),
        json!({"kind": "Secret", "type": "kubernetes.io/dockerconfigjson",
            "metadata": {"name": "broken", "namespace": "old"},
            "data": {".dockerconfigjson": "not base64!"}}),
    ]);
    let (code, rows, run) = audit_json(&env, &["--offline"], &doc);
    assert_eq!(code, 1, "{run:?}");
    assert_eq!(
        findings(&rows),
        [
            row("apps/pull", "https://reg.example.com/v2/", "ok"),
            row("apps/pull", "quay.io", "expiring"),
            row("apps/pull", "ghcr.io", "expired"),
            row("old/pull", "reg.example.com", "stale"),
            row("old/pull", "other.example.com", "unknown"),
            row("old/pull", "empty.example.com", "invalid"),
            row("old/broken", "-", "invalid"),
        ]
    );
    assert_eq!(
        rows[3]["detail"],
        "the store holds username alice for it; not asked (--offline)"
    );
    assert!(
        rows[6]["detail"]
            .as_str()
            .unwrap()
            .contains("not valid base64"),
        "{:?}",
        rows[6]
    );
    assert_no_secret(&run, &[(USER, PASSWORD), ("robot", &soon), ("ci", &gone)]);
    assert!(!run.stdout.contains(&soon[..40]) && !run.stderr.contains(&soon[..40]));

    // Each code alone: expiring 8, unknown 7, stale 6, ok 0.
    let only =
        |auths: Value| audit_json(&env, &["--offline"], &secret("n", "s", auths).to_string()).0;
    assert_eq!(only(json!({"quay.io": entry("robot", &soon)})), 8);
    assert_eq!(only(json!({"other.example.com": entry(USER, PASSWORD)})), 7);
    assert_eq!(only(json!({"reg.example.com": entry(USER, "old-pw")})), 6);
    assert_eq!(only(json!({"reg.example.com": entry(USER, PASSWORD)})), 0);
    // An identity token stored here cannot be deployed: unknown, not stale.
    env.store("token.example.com", "<token>", "refresh-Secret-1")
        .ok();
    let (code, rows, _) = audit_json(
        &env,
        &["--offline"],
        &secret(
            "n",
            "s",
            json!({"token.example.com": entry(USER, PASSWORD)}),
        )
        .to_string(),
    );
    assert_eq!(code, 7);
    assert!(rows[0]["detail"]
        .as_str()
        .unwrap()
        .contains("identity token"));

    // A bare payload, as a file.
    let path = env.home().join("config.json");
    std::fs::write(
        &path,
        json!({"auths": {"reg.example.com": entry(USER, PASSWORD)}}).to_string(),
    )
    .unwrap();
    let run = audit(&env, &["--offline", path.to_str().unwrap()], b"");
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout.contains("-       reg.example.com  alice     ok"),
        "{run:?}"
    );
}

backend_tests!(paired_auth_server_entries_compare_with_what_export_writes);
fn paired_auth_server_entries_compare_with_what_export_writes(backend: Backend) {
    let env = Env::new(backend);
    login(&env, "registry.example.com", USER, PASSWORD, &["-q"]);
    env.run(
        &["pair", "add", "registry.example.com", "sso.example.com"],
        b"",
    )
    .ok();
    let deployed = exported(&env, "registry.example.com", "apps", "pull").to_string();
    let (code, rows, run) = audit_json(&env, &["--offline"], &deployed);
    assert_eq!(code, 0, "{run:?}");
    assert_eq!(
        findings(&rows),
        [
            row("apps/pull", "registry.example.com", "ok"),
            row("apps/pull", "sso.example.com", "ok"),
        ]
    );
    // Rotated here: the auth server's entry (answered through the pair) is stale too.
    login(&env, "registry.example.com", USER, NEW_PASSWORD, &["-q"]);
    let (code, rows, _) = audit_json(&env, &["--offline"], &deployed);
    assert_eq!(code, 6);
    assert_eq!(
        findings(&rows)
            .iter()
            .map(|r| r.2.as_str())
            .collect::<Vec<_>>(),
        ["stale", "stale"]
    );
}

#[test]
fn bad_input_is_a_clear_error_without_the_input() {
    let env = Env::new(Backend::File);
    let leaky = r#"{"kind":"List","items":[{"kind":"Secret","data":{".dockerconfigjson":"c2VjcmV0LXZhbHVl"}"#;
    let run = audit(&env, &["-"], leaky.as_bytes());
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr
            .starts_with("error: the input is not valid JSON:"),
        "{run:?}"
    );
    assert!(run.stderr.contains("line 1"), "{run:?}");
    assert!(!run.stderr.contains("c2VjcmV0"), "{run:?}");
    assert!(run.stdout.is_empty(), "{run:?}");
    let run = audit(&env, &["-"], b"kind: ConfigMap\n");
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.contains("a ConfigMap is not a pull secret"),
        "{run:?}"
    );
    let run = audit(&env, &["/nonexistent/secrets.json"], b"");
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.contains("cannot read /nonexistent/secrets.json"),
        "{run:?}"
    );
    let run = audit(&env, &[], b"");
    assert_eq!(run.code, 2, "{run:?}");
    // Past the 128 MiB bound (a sparse file): the error says what to do.
    let huge = env.home().join("huge.json");
    std::fs::File::create(&huge)
        .unwrap()
        .set_len(128 * 1024 * 1024 + 1)
        .unwrap();
    let run = audit(&env, &[huge.to_str().unwrap()], b"");
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr
            .contains("is larger than 128 MiB: audit fewer Secrets at a time"),
        "{run:?}"
    );
    // An empty List: nothing to audit, nothing wrong.
    let run = audit(&env, &["--offline", "-"], list(Vec::new()).as_bytes());
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout
            .contains("0 entries in 0 pull secrets: nothing to audit"),
        "{run:?}"
    );
}

/// The operator's loop with the real kubectl: `kubectl get secrets -A
/// --field-selector ... -o json` into `audit -`, then the documented fix for
/// a stale Secret (`kubectl get` | `export --merge -` | `kubectl replace -f -`)
/// and the Secret audited again.
#[test]
#[ignore = "needs kubectl"]
fn the_operators_loop_through_kubectl() {
    kubestub::require_kubectl();
    let env = Env::new(Backend::File);
    env.store("registry.example.com", USER, NEW_PASSWORD).ok();
    let stale = secret(
        "team-b",
        "pull",
        json!({"registry.example.com": entry(USER, PASSWORD)}),
    );
    let fresh = secret(
        "team-a",
        "pull",
        json!({"registry.example.com": entry(USER, NEW_PASSWORD)}),
    );
    let listing = json!({"kind": "SecretList", "apiVersion": "v1",
        "metadata": {"resourceVersion": "9"}, "items": [fresh, stale.clone()]});
    let stub = Stub::with_objects(vec![("/api/v1/secrets".into(), listing.to_string())]);
    let got = stub.kubectl(
        &[
            "get",
            "secrets",
            "-A",
            "--field-selector",
            "type=kubernetes.io/dockerconfigjson",
            "-o",
            "json",
        ],
        b"",
    );
    assert_eq!(got.code, 0, "{got:?}");
    let (code, rows, run) = audit_json(&env, &["--offline"], &got.stdout);
    assert_eq!(code, 6, "{run:?}");
    assert_eq!(
        findings(&rows),
        [
            row("team-a/pull", "registry.example.com", "ok"),
            row("team-b/pull", "registry.example.com", "stale"),
        ]
    );

    // The fix command audit printed for the stale Secret, run as printed,
    // then the audit again (the stub serves no OpenAPI document for kubectl
    // to validate against).
    let printed = "kubectl get secret -n team-b pull -o json \
        | docker-credential-keyring export --merge - --registry registry.example.com \
        | kubectl replace -f -";
    let fix_line = run
        .stderr
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("kubectl get secret -n team-b pull"))
        .unwrap_or_else(|| panic!("no fix command for team-b/pull: {run:?}"));
    assert_eq!(fix_line, printed, "{run:?}");
    assert!(!run.stderr.contains("-n team-a"), "{run:?}");
    const PATH: &str = "/api/v1/namespaces/team-b/secrets/pull";
    let live = Stub::stateful(vec![(PATH.to_owned(), stale)]);
    let fix = fix_line.replace(
        "kubectl replace -f -",
        "kubectl replace --validate=false -f -",
    );
    let mut sh = std::process::Command::new("bash");
    sh.args(["-o", "pipefail", "-c", &fix]);
    env.apply(&mut sh);
    common::human::put_bin_on_path(&mut sh);
    sh.env("KUBECONFIG", &live.kubeconfig);
    let run = run_command(sh, b"");
    assert_eq!(run.code, 0, "{run:?}");
    let got = live.kubectl(
        &["get", "secret", "-n", "team-b", "pull", "-o", "json"],
        b"",
    );
    let (code, rows, run) = audit_json(&env, &["--offline"], &got.stdout);
    assert_eq!(code, 0, "{run:?}");
    assert_eq!(
        findings(&rows),
        [row("team-b/pull", "registry.example.com", "ok")]
    );
}

#[test]
fn thousands_of_distinct_secrets_of_one_user_are_grouped_in_bounded_time() {
    let _machine = time::timed();
    // ECR's `AWS` or GCR's `oauth2accesstoken`: one username, a different
    // 2 KiB token in each namespace. Grouping copies must not compare every
    // pair of them. Port 1 refuses at once: the network part is quick.
    let env = Env::new(Backend::File);
    let host = "127.0.0.1:1";
    // Written out directly: building 20 MiB through `json!` is slow in a debug build.
    let items: Vec<String> = (0..3000)
        .map(|i| {
            let token = format!("{i:08}").repeat(256);
            let auths = format!(
                r#"{{"auths":{{"{host}":{{"username":"AWS","password":"{token}"}}}}}}"#
            );
            format!(
                r#"{{"apiVersion":"v1","kind":"Secret","metadata":{{"name":"pull","namespace":"ns-{i}"}},"type":"kubernetes.io/dockerconfigjson","data":{{".dockerconfigjson":"{}"}}}}"#,
                B64.encode(auths)
            )
        })
        .collect();
    let doc = format!(
        r#"{{"apiVersion":"v1","kind":"List","items":[{}]}}"#,
        items.join(",")
    );
    let started = Instant::now();
    let run = audit(&env, &["--timeout", "5", "-"], doc.as_bytes());
    let took = started.elapsed();
    assert!(
        run.stdout.contains("3000 entries in 3000 pull secrets")
            && run.stdout.contains("3000 distinct credentials asked"),
        "{}",
        run.stdout.lines().last().unwrap_or_default()
    );
    eprintln!("audit of 3,000 distinct tokens of one user: {took:?}");
    // Generous: comparing every pair took over two minutes here (a debug
    // build); grouping them takes a few seconds.
    assert!(took < bound(Duration::from_secs(60)), "took {took:?}");
}

/// An auth server's entry is checked through its paired registry's entry
/// of the same Secret; alone, nothing vouches for it.
#[test]
#[ignore = "needs docker-registry and apache2-utils"]
fn an_auth_servers_entry_is_checked_only_through_its_registrys_entry() {
    let mut registry = Registry::start(Auth::Htpasswd, false);
    let host = registry.host();
    let env = Env::new(Backend::File);
    login(&env, &host, USER, PASSWORD, &["-q"]);
    env.run(&["pair", "add", &host, "sso.example.com"], b"")
        .ok();
    let deployed = exported(&env, &host, "apps", "pull");
    let (code, rows, run) = audit_json(&env, &[], &deployed.to_string());
    assert_eq!(code, 0, "{run:?}");
    assert_eq!(
        findings(&rows),
        [
            row("apps/pull", &host, "ok"),
            row("apps/pull", "sso.example.com", "ok"),
        ]
    );
    assert_eq!(
        rows[1]["detail"],
        format!("an auth server's entry: checked through {host}'s entry, which holds the same credential")
    );

    // The auth server's entry alone: not asked, so not ok.
    let alone = secret(
        "apps",
        "sso-only",
        json!({"sso.example.com": entry(USER, PASSWORD)}),
    );
    let (code, rows, run) = audit_json(&env, &[], &alone.to_string());
    assert_eq!(code, 7, "{run:?}");
    assert_eq!(
        findings(&rows),
        [row("apps/sso-only", "sso.example.com", "unknown")]
    );
    assert!(
        run.stderr
            .contains("for an auth server's entry alone, merge its registry's entry beside it"),
        "{run:?}"
    );
    assert!(
        rows[0]["detail"].as_str().unwrap().starts_with(
            "not asked: an auth server's entry is checked through a paired registry's entry"
        ),
        "{rows:?}"
    );

    // Refused by the registry: the auth server's entry shares the verdict.
    registry.rotate_htpasswd(USER, NEW_PASSWORD);
    let (code, rows, run) = audit_json(&env, &[], &deployed.to_string());
    assert_eq!(code, 1, "{run:?}");
    assert_eq!(
        findings(&rows)
            .iter()
            .map(|r| r.2.as_str())
            .collect::<Vec<_>>(),
        ["rejected", "rejected"]
    );
    assert_no_secret(&run, &[(USER, PASSWORD), (USER, NEW_PASSWORD)]);
}
