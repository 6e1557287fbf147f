//! `kubelet-credential-provider`, run as the kubelet runs it: the request
//! bytes the kubelet writes on stdin (golden files under
//! tests/golden/kubelet/, v1 and v1beta1), the response pinned byte for byte,
//! the cache duration bound by a JWT's expiry, a registry we hold nothing
//! for, bad input, pairs, and the returned credential used by the real
//! skopeo against distribution with htpasswd auth.

use crate::common;
use crate::common::registry;

use common::golden::{assert_golden, read_golden};
use common::jwt::{jwt, now};
use common::{Backend, Env, Run};

const V1: &str = "credentialprovider.kubelet.k8s.io/v1";
const V1BETA1: &str = "credentialprovider.kubelet.k8s.io/v1beta1";

/// A request as the kubelet's encoder writes it (TypeMeta first, a newline after).
fn request(api_version: &str, image: &str) -> String {
    format!(
        "{{\"kind\":\"CredentialProviderRequest\",\"apiVersion\":\"{api_version}\",\"image\":\"{image}\"}}\n"
    )
}

fn provide(env: &Env, request: &str) -> Run {
    env.run(&["kubelet-credential-provider"], request.as_bytes())
}

/// The response of a successful run, parsed.
fn answer_of(run: &Run) -> serde_json::Value {
    run.ok();
    assert!(run.stdout.ends_with("}\n"), "one line: {run:?}");
    serde_json::from_str(&run.stdout).unwrap()
}

/// Go's duration string of whole seconds back to seconds ("1h2m3s" -> 3723).
fn seconds(duration: &str) -> i64 {
    let (mut total, mut number) = (0, 0);
    for c in duration.chars() {
        match c {
            '0'..='9' => number = number * 10 + i64::from(c as u8 - b'0'),
            'h' => (total, number) = (total + number * 3600, 0),
            'm' => (total, number) = (total + number * 60, 0),
            's' => (total, number) = (total + number, 0),
            _ => panic!("not a Go duration: {duration}"),
        }
    }
    total
}

fn stored(env: &Env) {
    env.store("registry.example.com:5000", "alice", "pw-<alice>&")
        .ok();
    env.store("https://registry.example.com:5000/team/", "bob", "pw-bob")
        .ok();
    env.store("registry.example.com", "carol", "pw-other-port")
        .ok();
    env.store("https://index.docker.io/v1/", "hubuser", "hub-pw")
        .ok();
    // Far in the future: the cache duration is the one-hour cap.
    env.store("jwt.example.com", "robot", &jwt(4_102_444_800))
        .ok();
}

backend_tests!(v1_and_v1beta1_requests_get_golden_responses);
fn v1_and_v1beta1_requests_get_golden_responses(backend: Backend) {
    let env = &Env::new(backend);
    stored(env);
    for name in [
        "v1",
        "v1beta1",
        "v1-service-account",
        "jwt",
        "unknown-registry",
    ] {
        let request = read_golden(&format!("kubelet/{name}.request.json"));
        let run = provide(env, &request);
        run.ok();
        assert_eq!(run.stderr, "", "{name}");
        assert_golden(&format!("kubelet/{name}.response.json"), &run.stdout);
    }
}

/// Every golden response is what the kubelet's strict decoder accepts: the
/// fields of its version only, the request's apiVersion, cacheKeyType Registry.
#[test]
fn golden_responses_have_only_the_fields_of_their_version() {
    for name in [
        "v1",
        "v1beta1",
        "v1-service-account",
        "jwt",
        "unknown-registry",
    ] {
        let request: serde_json::Value =
            serde_json::from_str(&read_golden(&format!("kubelet/{name}.request.json"))).unwrap();
        let response: serde_json::Value =
            serde_json::from_str(&read_golden(&format!("kubelet/{name}.response.json"))).unwrap();
        assert_eq!(response["apiVersion"], request["apiVersion"], "{name}");
        assert_eq!(response["kind"], "CredentialProviderResponse");
        assert_eq!(response["cacheKeyType"], "Registry");
        let mut allowed = vec![
            "kind",
            "apiVersion",
            "cacheKeyType",
            "cacheDuration",
            "auth",
        ];
        if request["apiVersion"] == V1 {
            allowed.push("serviceAccountTokenCacheType");
        }
        for key in response.as_object().unwrap().keys() {
            assert!(allowed.contains(&key.as_str()), "{name}: {key}");
        }
        for (key, entry) in response["auth"].as_object().into_iter().flatten() {
            let fields: Vec<&String> = entry.as_object().unwrap().keys().collect();
            assert_eq!(fields, ["username", "password"], "{name}: {key}");
        }
    }
}

#[test]
fn a_jwt_bounds_the_cache_duration_and_an_expired_one_is_left_out() {
    let env = &Env::new(Backend::File);
    env.store("soon.example.com", "robot", &jwt(now() + 1800))
        .ok();
    env.store("soon.example.com/other", "plain", "plain-pw")
        .ok();
    let response = answer_of(&provide(env, &request(V1, "soon.example.com/app")));
    // 30 minutes left, less the one-minute margin, less the seconds this took.
    let cache = seconds(response["cacheDuration"].as_str().unwrap());
    assert!((1700..=1740).contains(&cache), "{response}");
    assert_eq!(response["auth"]["soon.example.com"]["username"], "robot");
    assert_eq!(
        response["auth"]["soon.example.com/other"]["password"],
        "plain-pw"
    );

    // Inside the margin: still valid, so sent, but not cached.
    env.store("brief.example.com", "robot", &jwt(now() + 20))
        .ok();
    let response = answer_of(&provide(env, &request(V1, "brief.example.com/app")));
    assert_eq!(response["cacheDuration"], "0s", "{response}");
    assert_eq!(response["auth"]["brief.example.com"]["username"], "robot");

    // Expired: left out with a warning that names the key, never the token.
    let expired = jwt(now() - 60);
    env.store("old.example.com", "robot", &expired).ok();
    let run = provide(env, &request(V1BETA1, "old.example.com/app:1"));
    let response = answer_of(&run);
    assert_eq!(response.get("auth"), None, "{response}");
    assert_eq!(response["cacheDuration"], "0s");
    assert!(
        run.stderr
            .starts_with("warning: old.example.com: left out: its secret (a JWT) expired"),
        "{run:?}"
    );
    assert!(!run.stderr.contains(&expired), "{run:?}");
}

#[test]
fn a_registry_we_hold_nothing_for_gets_a_valid_answer_without_auth() {
    let env = &Env::new(Backend::File);
    // No store at all yet, then a store without that registry.
    for _ in 0..2 {
        let run = provide(env, &request(V1, "ghcr.io/org/app"));
        assert_eq!(
            run.stdout,
            format!("{{\"kind\":\"CredentialProviderResponse\",\"apiVersion\":\"{V1}\",\"cacheKeyType\":\"Registry\",\"cacheDuration\":\"0s\"}}\n")
        );
        assert_eq!((run.code, run.stderr.as_str()), (0, ""));
        env.store("quay.io", "u", "p").ok();
    }
}

#[test]
fn an_identity_token_is_left_out_with_a_warning() {
    let env = &Env::new(Backend::File);
    env.store("tokens.example.com", "<token>", "rt-Secret-refresh")
        .ok();
    let run = provide(env, &request(V1, "tokens.example.com/app"));
    let response = answer_of(&run);
    assert_eq!(response.get("auth"), None, "{response}");
    assert!(
        run.stderr
            .contains("tokens.example.com: left out: it holds an identity token"),
        "{run:?}"
    );
    assert!(!run.stderr.contains("rt-Secret"), "{run:?}");
}

backend_tests!(an_auth_server_answers_through_its_pair_and_its_own_credential_stays_out);
fn an_auth_server_answers_through_its_pair_and_its_own_credential_stays_out(backend: Backend) {
    let env = &Env::new(backend);
    env.store("reg.example.com", "alice", "reg-pw").ok();
    env.run(&["pair", "add", "reg.example.com", "sso.example.com"], b"")
        .ok();
    // The auth server's host answers with its registry's credential, as `get` does.
    let response = answer_of(&provide(env, &request(V1, "sso.example.com/app")));
    assert_eq!(
        response["auth"]["sso.example.com"],
        serde_json::json!({"username": "alice", "password": "reg-pw"})
    );
    // The registry's image carries the registry's own credential only.
    env.store("sso.example.com", "sso-user", "sso-pw").ok();
    let run = provide(env, &request(V1, "reg.example.com/app"));
    let response = answer_of(&run);
    assert_eq!(
        response["auth"],
        serde_json::json!({"reg.example.com": {"username": "alice", "password": "reg-pw"}})
    );
    assert!(!run.stdout.contains("sso-pw"));

    // Tied to the registry's token requests, the auth server's credential
    // still never rides on the registry's images.
    env.store("reg2.example.com", "alice", "reg2-pw").ok();
    env.run(
        &[
            "pair",
            "add",
            "reg2.example.com",
            "sso.example.com",
            "--use-auth-credential",
        ],
        b"",
    )
    .ok();
    let run = provide(env, &request(V1, "reg2.example.com/app"));
    assert_eq!(
        answer_of(&run)["auth"],
        serde_json::json!({"reg2.example.com": {"username": "alice", "password": "reg2-pw"}})
    );
    assert!(!run.stdout.contains("sso-pw"));
}

#[test]
fn bad_input_fails_with_nothing_on_stdout_and_loses_nothing() {
    let env = &Env::new(Backend::File);
    env.store("quay.io", "u", "p").ok();
    let before = env.store_bytes();
    let token = "sa-Secret-token-3";
    let big = format!(
        "{{\"kind\":\"CredentialProviderRequest\",\"apiVersion\":\"{V1}\",\"image\":\"quay.io/a\",\"pad\":\"{}\"}}",
        "x".repeat(1024 * 1024)
    );
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (b"".to_vec(), "no CredentialProviderRequest on standard input"),
        (format!("{{\"image\":\"{token}\"").into_bytes(), "invalid CredentialProviderRequest JSON"),
        (b"[]".to_vec(), "expected a JSON object"),
        (deep.into_bytes(), "invalid CredentialProviderRequest JSON"),
        (big.into_bytes(), "input too large"),
        (vec![0xff, 0xfe, b'{'], "not valid UTF-8"),
        (request("credentialprovider.kubelet.k8s.io/v1alpha1", "quay.io/a").into_bytes(), "unsupported CredentialProviderRequest apiVersion"),
        (request("v1", "quay.io/a").into_bytes(), "unsupported CredentialProviderRequest apiVersion"),
        (request(V1, "").into_bytes(), "image is missing or empty"),
        (request(V1, "https://quay.io/a").into_bytes(), "not an image reference"),
        (request(V1, "quay.io:http/a").into_bytes(), "not an image reference"),
        (
            format!("{{\"kind\":\"CredentialProviderResponse\",\"apiVersion\":\"{V1}\",\"image\":\"quay.io/a\",\"serviceAccountToken\":\"{token}\"}}").into_bytes(),
            "kind must be \"CredentialProviderRequest\"",
        ),
        (
            format!("{{\"kind\":\"CredentialProviderRequest\",\"apiVersion\":\"{V1}\",\"image\":[\"{token}\"]}}").into_bytes(),
            "image must be a string",
        ),
    ];
    for (input, needle) in cases {
        let run = env.run(&["kubelet-credential-provider"], &input);
        assert_eq!(run.code, 1, "{needle}: {run:?}");
        assert_eq!(run.stdout, "", "{needle}");
        assert!(run.stderr.starts_with("error: "), "{run:?}");
        assert!(run.stderr.contains(needle), "{needle}: {run:?}");
        assert_eq!(run.stderr.lines().count(), 1, "{run:?}");
        assert!(!run.stderr.contains(token), "{run:?}");
    }
    assert_eq!(env.store_bytes(), before, "the store changed");
}

#[test]
fn an_image_is_read_by_dockers_reference_grammar() {
    let env = &Env::new(Backend::File);
    env.store("quay.io", "u", "p-Secret-quay").ok();
    env.store("localhost:5000", "l", "p-Secret-local").ok();
    // What the kubelet sends (the normalised repository) is answered.
    for (image, key) in [
        ("quay.io/team/app", "quay.io"),
        ("Quay.IO/team/app", "quay.io"),
        ("localhost:5000/team/app", "localhost:5000"),
    ] {
        let answer = answer_of(&provide(env, &request(V1, image)));
        assert!(
            answer["auth"][key]["username"].is_string(),
            "{image}: {answer}"
        );
    }
    // No image reference by docker's grammar (`check --image` refuses the
    // same): nothing is handed out for it.
    for image in [
        "quay.io/Team/app",
        "quay.io/team//app",
        "quay.io/-app",
        "quay.io/team/app@sha256:abc",
        "quay.io/team/app:-bad",
    ] {
        let run = provide(env, &request(V1, image));
        assert_eq!(run.code, 1, "{image}: {run:?}");
        assert_eq!(run.stdout, "", "{image}");
        assert!(
            run.stderr.contains("not an image reference"),
            "{image}: {run:?}"
        );
    }
}

backend_tests!(
    skopeo_pulls_with_the_returned_credential,
    ignore = "needs skopeo, docker-registry and htpasswd (tests/install-deps)"
);
fn skopeo_pulls_with_the_returned_credential(backend: Backend) {
    use registry::{Auth, Registry, PASSWORD, USER};
    let skopeo = common::tool("skopeo", "skopeo");
    let registry = Registry::start(Auth::Htpasswd, false);
    let host = registry.host();
    let layout = tempfile::tempdir().unwrap();
    let mut make = std::process::Command::new("python3");
    make.arg(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/e2e/oci_layout.py"
    ))
    .arg(layout.path())
    .arg("v1");
    assert_eq!(common::run_command(make, b"").code, 0);
    let image = format!("docker://{host}/kubelet/hello:v1");
    let skopeo_run = |args: &[&str]| {
        let mut cmd = std::process::Command::new(&skopeo);
        cmd.args(args).env("HOME", layout.path());
        common::run_command(cmd, b"")
    };
    // The test's own throwaway credential, to push the image.
    let creds = format!("{USER}:{PASSWORD}");
    let source = format!("oci:{}:v1", layout.path().display());
    let push = skopeo_run(&[
        "copy",
        "--dest-tls-verify=false",
        "--dest-creds",
        &creds,
        &source,
        &image,
    ]);
    assert_eq!(push.code, 0, "{push:?}");
    // Without a credential the registry refuses: the pull below proves the answer.
    let anonymous = skopeo_run(&["inspect", "--tls-verify=false", "--no-creds", &image]);
    assert_ne!(anonymous.code, 0, "{anonymous:?}");

    let env = &Env::new(backend);
    env.store(&host, USER, PASSWORD).ok();
    let response = answer_of(&provide(
        env,
        &request(V1, &format!("{host}/kubelet/hello")),
    ));
    let auth = &response["auth"][&host];
    let creds = format!(
        "{}:{}",
        auth["username"].as_str().unwrap(),
        auth["password"].as_str().unwrap()
    );
    let inspect = skopeo_run(&["inspect", "--tls-verify=false", "--creds", &creds, &image]);
    assert_eq!(inspect.code, 0, "{inspect:?}");
    assert!(inspect.stdout.contains("\"v1\""), "{inspect:?}");
}

#[test]
fn help_names_the_kubelet_configuration() {
    let env = &Env::new(Backend::File);
    let run = env.run(&["kubelet-credential-provider", "--help"], b"");
    run.ok();
    assert!(run.stdout.contains("CredentialProviderRequest"), "{run:?}");
    assert!(run.stdout.contains("Exit codes:"), "{run:?}");
    // Extra words are clap's to judge, never a silent protocol answer.
    let run = env.run(&["kubelet-credential-provider", "extra"], b"");
    assert_eq!(run.code, 2, "{run:?}");
    assert_eq!(run.stdout, "");
}
