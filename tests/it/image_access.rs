//! `check --image` against real registries on 127.0.0.1: distribution with
//! token auth from tests/e2e/token_server.py granting scopes per user
//! (`--acl`), and an htpasswd one. Users who may pull, who may push, who log
//! in but may do nothing, a wrong password, a missing repository and tag,
//! the registry stopped: each verdict and exit code right, skopeo agreeing
//! with each, the digest the one skopeo reads, no secret in any output, no
//! upload left behind by `--push`.

use crate::common;
use crate::common::registry;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::time::{self, bound};
use common::{tool, Backend, Env, Run};
use registry::*;

const PULLER: (&str, &str) = ("puller", "pull-Secret-pw-1");
const PUSHER: (&str, &str) = ("pusher", "push-Secret-pw-2");
const NOBODY: (&str, &str) = ("nobody", "none-Secret-pw-3");
const PUSH_ONLY: (&str, &str) = ("pushonly", "pushonly-Secret-pw-4");
const ACL: &str =
    "puller team/app pull\npusher team/* pull,push,delete\npushonly team/app pull,push\n";

/// An OCI layout of a tiny image (tests/e2e/oci_layout.py): (dir, manifest digest).
fn layout() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/e2e/oci_layout.py");
    let out = Command::new(tool("python3", "python3"))
        .arg(script)
        .arg(dir.path())
        .arg("latest")
        .output()
        .unwrap();
    assert!(out.status.success(), "oci_layout.py: {out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    let digest = text.split_whitespace().next().unwrap().to_owned();
    (dir, digest)
}

/// skopeo with the test's throwaway credentials (only skopeo gets them in argv).
fn skopeo(args: &[&str]) -> Run {
    let home = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(tool("skopeo", "skopeo"));
    cmd.args(args)
        .env("HOME", home.path())
        .env("REGISTRY_AUTH_FILE", home.path().join("auth.json"))
        .env("XDG_RUNTIME_DIR", home.path());
    common::run_command_within(cmd, b"", Duration::from_secs(60))
}

fn skopeo_push(layout: &Path, user: (&str, &str), dest: &str) -> Run {
    let creds = format!("{}:{}", user.0, user.1);
    let source = format!("oci:{}:latest", layout.display());
    skopeo(&[
        "copy",
        "--quiet",
        "--dest-tls-verify=false",
        "--dest-creds",
        &creds,
        &source,
        &format!("docker://{dest}"),
    ])
}

fn skopeo_inspect(user: (&str, &str), image: &str) -> Run {
    let creds = format!("{}:{}", user.0, user.1);
    skopeo(&[
        "inspect",
        "--tls-verify=false",
        "--raw",
        "--creds",
        &creds,
        &format!("docker://{image}"),
    ])
}

/// The digest skopeo computes for what it pulls (`--raw` is the manifest).
fn sha256_of(bytes: &[u8]) -> String {
    let mut cmd = Command::new("sha256sum");
    cmd.stdout(std::process::Stdio::piped());
    let out = common::run_command(cmd, bytes);
    format!("sha256:{}", out.stdout.split_whitespace().next().unwrap())
}

/// A file store holding `user`'s credential for `registry`.
fn env_with(registry: &str, user: (&str, &str)) -> Env {
    let env = Env::new(Backend::File);
    env.store(registry, user.0, user.1).ok();
    env
}

/// `check --image ...` within a bound that catches hangs; no secret shown.
fn check(env: &Env, args: &[&str]) -> Run {
    let mut all = vec!["check", "--timeout", "20"];
    all.extend(args);
    let run = common::run_command_within(env.command(&all), b"", Duration::from_secs(60));
    for (_, secret) in [
        PULLER,
        PUSHER,
        NOBODY,
        PUSH_ONLY,
        ("", PASSWORD),
        ("", "wrong-Secret-pw"),
    ] {
        assert!(
            !run.stdout.contains(secret) && !run.stderr.contains(secret),
            "a secret in the output: {run:?}"
        );
    }
    run
}

/// The one JSON row of a `check --image --json` run.
fn row(run: &Run) -> serde_json::Value {
    let rows: serde_json::Value =
        serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {run:?}"));
    assert_eq!(rows.as_array().map(Vec::len), Some(1), "{run:?}");
    rows[0].clone()
}

fn assert_verdict(run: &Run, code: i32, verdict: &str, detail: &str) -> serde_json::Value {
    let row = row(run);
    assert_eq!(run.code, code, "{run:?}");
    assert_eq!(row["verdict"], verdict, "{run:?}");
    let text = row["detail"].as_str().unwrap_or_default();
    assert!(text.contains(detail), "detail {text:?} lacks {detail:?}");
    row
}

#[test]
#[ignore = "needs docker-registry, skopeo, apache2-utils, openssl and python3-cryptography"]
fn per_repository_permissions_behind_a_token_server() {
    let tokens = TokenServer::start_with_acl(&[PULLER, PUSHER, NOBODY, PUSH_ONLY], ACL);
    let registry = Registry::start(Auth::Token(tokens.realm(), tokens.cert()), false);
    let host = registry.host();
    let (layout, digest) = layout();
    let app = format!("{host}/team/app:v1");
    skopeo_push(layout.path(), PUSHER, &app).ok();
    assert_eq!(registry.stored_tags("team/app"), ["v1"]);

    // May pull: the digest is the one of the manifest skopeo reads.
    let puller = env_with(&host, PULLER);
    let run = check(&puller, &["--image", &app, "--json"]);
    let ok = assert_verdict(&run, 0, "ok", "may pull team/app");
    assert_eq!(ok["digest"], digest.as_str());
    assert_eq!(ok["registry"], host.as_str());
    assert_eq!(ok["repository"], "team/app");
    assert_eq!(ok["reference"], app.as_str());
    let raw = skopeo_inspect(PULLER, &app);
    raw.ok();
    assert_eq!(sha256_of(raw.stdout.as_bytes()), digest);
    assert!(
        tokens.log().contains("issued puller team/app:pull"),
        "{}",
        tokens.log()
    );
    // The human line: reference, user, verdict and digest.
    let run = check(&puller, &["--image", &app]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout.starts_with(&app) && run.stdout.contains(&format!("puller  ok {digest}")),
        "{run:?}"
    );

    // Pull but not push: denied, as skopeo's push is.
    let run = check(&puller, &["--image", &app, "--push", "--json"]);
    assert_verdict(&run, 4, "denied", "no push access");
    assert_ne!(
        skopeo_push(layout.path(), PULLER, &format!("{host}/team/app:p")).code,
        0
    );

    // Logs in, but the token server grants nothing: denied, not rejected.
    let nobody = env_with(&host, NOBODY);
    let run = check(&nobody, &["--image", &app, "--json"]);
    assert_verdict(&run, 4, "denied", "token server granted no pull access");
    assert_ne!(skopeo_inspect(NOBODY, &app).code, 0);
    let run = check(&nobody, &["--image", &app]);
    assert!(run.stdout.contains("nobody  denied: "), "{run:?}");

    // A wrong password: the credential itself is rejected.
    let wrong = env_with(&host, (PULLER.0, "wrong-Secret-pw"));
    let run = check(&wrong, &["--image", &app, "--json"]);
    assert_verdict(&run, 1, "rejected", "refused the credential");
    assert_ne!(skopeo_inspect((PULLER.0, "wrong-Secret-pw"), &app).code, 0);

    // May push: an upload started and cancelled, nothing left, no tag added.
    let pusher = env_with(&host, PUSHER);
    let run = check(&pusher, &["--image", &app, "--push", "--json"]);
    let ok = assert_verdict(&run, 0, "ok", "may push to team/app");
    assert_eq!(ok["digest"], digest.as_str());
    assert_eq!(registry.uploads_in_progress("team/app"), 0);
    assert_eq!(registry.stored_tags("team/app"), ["v1"]);
    assert!(
        tokens.log().contains("issued pusher team/app:delete"),
        "the cancel asked for the delete action: {}",
        tokens.log()
    );

    // Push without delete: push proven, but distribution keeps the upload
    // (its DELETE needs the delete action): said, not hidden.
    let push_only = env_with(&host, PUSH_ONLY);
    let run = check(&push_only, &["--image", &app, "--push", "--json"]);
    assert_verdict(&run, 0, "ok", "could not be cancelled");
    assert_eq!(registry.uploads_in_progress("team/app"), 1);
    skopeo_push(layout.path(), PUSH_ONLY, &format!("{host}/team/app:v1")).ok();

    // Missing repository and missing tag: not found, told apart; skopeo agrees.
    let missing = format!("{host}/team/missing:v1");
    let run = check(&pusher, &["--image", &missing, "--json"]);
    assert_verdict(
        &run,
        5,
        "not-found",
        "repository team/missing not found (NAME_UNKNOWN)",
    );
    let sk = skopeo_inspect(PUSHER, &missing);
    assert!(sk.code != 0 && sk.stderr.contains("unknown"), "{sk:?}");
    let no_tag = format!("{host}/team/app:nope");
    let run = check(&pusher, &["--image", &no_tag, "--json"]);
    assert_verdict(
        &run,
        5,
        "not-found",
        "tag nope not found in team/app (MANIFEST_UNKNOWN)",
    );
    let sk = skopeo_inspect(PUSHER, &no_tag);
    assert!(sk.code != 0 && sk.stderr.contains("unknown"), "{sk:?}");
    let by_digest = format!("{host}/team/app@{digest}");
    let run = check(&pusher, &["--image", &by_digest, "--json"]);
    assert_eq!(
        assert_verdict(&run, 0, "ok", "may pull")["digest"],
        digest.as_str()
    );
    // A new repository may be pushed to before it exists.
    let fresh = format!("{host}/team/fresh:v1");
    let run = check(&pusher, &["--image", &fresh, "--push", "--json"]);
    assert_verdict(&run, 0, "ok", "nothing to pull yet");
    assert!(registry.stored_tags("team/fresh").is_empty());
    skopeo_push(layout.path(), PUSHER, &fresh).ok();

    // Several images share one run; the most severe verdict decides the code.
    let run = check(
        &puller,
        &[
            "--image", &app, "--image", &missing, "--image", &no_tag, "--json",
        ],
    );
    let rows: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let verdicts: Vec<&str> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["verdict"].as_str().unwrap())
        .collect();
    // The puller may not pull team/missing: the registry does not say whether it exists.
    assert_eq!(verdicts, ["ok", "denied", "not-found"], "{run:?}");
    assert_eq!(run.code, 4, "{run:?}");
}

#[test]
#[ignore = "needs docker-registry, skopeo, apache2-utils, openssl and python3-cryptography"]
fn basic_auth_registry_the_manifest_answer_decides() {
    let registry = Registry::start(Auth::Htpasswd, false);
    let host = registry.host();
    let (layout, digest) = layout();
    let app = format!("{host}/team/app:v1");
    skopeo_push(layout.path(), (USER, PASSWORD), &app).ok();
    // The credential stored for the repository path wins over the host's.
    let env = env_with(&host, ("someone", "wrong-Secret-pw"));
    env.store(&format!("{host}/team"), USER, PASSWORD).ok();
    let run = check(&env, &["--image", &app, "--push", "--json"]);
    let ok = assert_verdict(&run, 0, "ok", "may push to team/app");
    assert_eq!(ok["digest"], digest.as_str());
    assert_eq!(ok["credential"], format!("{host}/team"));
    assert_eq!(registry.uploads_in_progress("team/app"), 0);
    let run = check(
        &env,
        &["--image", &format!("{host}/team/none:v1"), "--json"],
    );
    assert_verdict(&run, 5, "not-found", "repository team/none not found");
    let sk = skopeo_inspect((USER, PASSWORD), &format!("{host}/team/none:v1"));
    assert_ne!(sk.code, 0, "{sk:?}");
    // Elsewhere the host's (wrong) credential is used: rejected.
    let run = check(
        &env,
        &["--image", &format!("{host}/other/app:v1"), "--json"],
    );
    assert_verdict(&run, 1, "rejected", "refused the credential");
    assert_ne!(skopeo_inspect(("someone", "wrong-Secret-pw"), &app).code, 0);
}

/// A credential stored only under `http://HOST` is the one the kubelet and
/// docker use for `HOST/...` (they match keys without the scheme): `check
/// --image` uses it too, after the https key of the same scope.
#[test]
#[ignore = "needs docker-registry, skopeo, apache2-utils, openssl and python3-cryptography"]
fn a_credential_stored_under_http_serves_the_host() {
    let registry = Registry::start(Auth::Htpasswd, false);
    let host = registry.host();
    let (layout, _) = layout();
    let app = format!("{host}/team/app:v1");
    skopeo_push(layout.path(), (USER, PASSWORD), &app).ok();
    let env = env_with(&format!("http://{host}"), (USER, PASSWORD));
    let run = check(&env, &["--image", &app, "--json"]);
    let ok = assert_verdict(&run, 0, "ok", "may pull team/app");
    assert_eq!(ok["credential"], format!("http://{host}"));
    // The https key of the same scope comes first.
    env.store(&host, "someone", "wrong-Secret-pw").ok();
    let run = check(&env, &["--image", &app, "--json"]);
    let refused = assert_verdict(&run, 1, "rejected", "refused the credential");
    assert_eq!(refused["credential"], host.as_str());
}

#[test]
#[ignore = "needs docker-registry, skopeo, apache2-utils, openssl and python3-cryptography"]
fn a_stopped_registry_is_unreachable() {
    let _machine = time::timed();
    let tokens = TokenServer::start_with_acl(&[PULLER], ACL);
    let registry = Registry::start(Auth::Token(tokens.realm(), tokens.cert()), false);
    let host = registry.host();
    drop(registry);
    let env = env_with(&host, PULLER);
    let app = format!("{host}/team/app:v1");
    let started = Instant::now();
    let run = check(&env, &["--image", &app, "--json"]);
    assert_verdict(&run, 3, "unreachable", "cannot connect");
    assert!(
        started.elapsed() < bound(Duration::from_secs(30)),
        "{run:?}"
    );
    assert_ne!(skopeo_inspect(PULLER, &app).code, 0);
}

#[test]
fn bad_references_are_refused_before_any_network_io() {
    let env = Env::new(Backend::File);
    for (reference, why) in [
        ("127.0.0.1:9/Team/App", "lowercase"),
        ("127.0.0.1:9/app@sha256:1234", "64"),
        ("https://127.0.0.1:9/app", "no scheme"),
    ] {
        let run = check(&env, &["--image", reference]);
        assert_eq!(run.code, 2, "{run:?}");
        assert!(
            run.stderr.contains("invalid image reference") && run.stderr.contains(why),
            "{run:?}"
        );
    }
    let run = check(&env, &["--push"]);
    assert_eq!(run.code, 2, "--push without --image: {run:?}");
    let run = check(&env, &["reg.example.com", "--image", "reg.example.com/app"]);
    assert_eq!(run.code, 2, "registries and images at once: {run:?}");
    // No credential for the image: named, with the fix, before asking anyone.
    let run = check(&env, &["--image", "127.0.0.1:9/team/app"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stdout.contains("no-credential"), "{run:?}");
    assert!(run.stdout.contains("login 127.0.0.1:9"), "{run:?}");
    // An expired JWT is not sent: expired, exit 1, whatever the registry.
    use base64::Engine;
    let e = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
    let expired = format!("{}.{}.c2ln", e(r#"{"alg":"RS256"}"#), e(r#"{"exp":1000}"#));
    let (port, seen) = fake_server("127.0.0.1", |_| reply("500 Oops", ""));
    let host = format!("127.0.0.1:{port}");
    env.store(&host, "ci", &expired).ok();
    let run = check(&env, &["--image", &format!("{host}/team/app"), "--json"]);
    assert_verdict(&run, 1, "expired", "log in again");
    assert!(seen.lock().unwrap().is_empty(), "the registry was asked");
    assert!(!run.stdout.contains(&expired));
}

#[test]
#[ignore = "needs docker-registry, skopeo, apache2-utils, openssl and python3-cryptography"]
fn a_paired_registry_asks_with_the_credential_the_trust_rule_gives() {
    let sso = (SSO_USER, SSO_PASSWORD);
    let acl = format!("{SSO_USER} team/app pull\n{ACL}");
    let tokens = TokenServer::start_with_acl(&[NOBODY, PUSHER, sso], &acl);
    let registry = Registry::start(Auth::Token(tokens.realm(), tokens.cert()), false);
    let host = registry.host();
    let (layout, digest) = layout();
    let app = format!("{host}/team/app:v1");
    skopeo_push(layout.path(), PUSHER, &app).ok();
    // The registry's own credential may do nothing; the auth server's may pull.
    let env = env_with(&host, NOBODY);
    let run = check(&env, &["--image", &app, "--json"]);
    assert_verdict(&run, 4, "denied", "no pull access");
    env.store(&tokens.auth_server(), SSO_USER, SSO_PASSWORD)
        .ok();
    let pair = ["pair", "add", &host, &tokens.auth_server()];
    env.run(&pair, b"").ok();
    // Paired without tying the auth server's credential: still the registry's own.
    let run = check(&env, &["--image", &app, "--json"]);
    assert_verdict(&run, 4, "denied", "no pull access");
    assert!(
        !tokens.log().contains(&format!("issued {SSO_USER}")),
        "{}",
        tokens.log()
    );
    // Tied: the auth server's credential gets the token, as skopeo with it.
    env.run(
        &[
            "pair",
            "add",
            &host,
            &tokens.auth_server(),
            "--use-auth-credential",
        ],
        b"",
    )
    .ok();
    let run = check(&env, &["--image", &app, "--json"]);
    assert_eq!(
        assert_verdict(&run, 0, "ok", "may pull")["digest"],
        digest.as_str()
    );
    assert!(
        tokens
            .log()
            .contains(&format!("issued {SSO_USER} team/app:pull")),
        "{}",
        tokens.log()
    );
    skopeo_inspect(sso, &app).ok();
    assert!(!run.stdout.contains(SSO_PASSWORD) && !run.stderr.contains(SSO_PASSWORD));
}

/// A fake server on `ip` answering each request head with `answer(head)`
/// (a whole HTTP/1.1 response); returns its port and the heads it saw.
fn fake_server(
    ip: &str,
    answer: impl Fn(&str) -> String + Send + Sync + 'static,
) -> (u16, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use std::io::{BufRead, Write};
    let listener = std::net::TcpListener::bind((ip, 0)).unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let mut reader = std::io::BufReader::new(stream.try_clone().unwrap());
            let mut head = String::new();
            while !head.ends_with("\r\n\r\n") {
                if reader.read_line(&mut head).unwrap_or(0) == 0 {
                    break;
                }
            }
            log.lock().unwrap().push(head.clone());
            let _ = stream.write_all(answer(&head).as_bytes());
        }
    });
    (port, seen)
}

fn reply(status: &str, headers: &str) -> String {
    format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n{headers}\r\n")
}

#[test]
fn an_upload_location_on_another_host_never_gets_the_credential() {
    let (elsewhere, stolen) = fake_server("127.0.0.2", |_| reply("204 No Content", ""));
    let digest = format!("sha256:{}", "ab".repeat(32));
    let shown = digest.clone();
    let (port, seen) = fake_server("127.0.0.1", move |head| {
        let line = head.lines().next().unwrap_or_default().to_owned();
        match line.split(' ').take(2).collect::<Vec<_>>()[..] {
            ["GET", "/v2/"] if !head.contains("Authorization") => reply(
                "401 Unauthorized",
                "WWW-Authenticate: Basic realm=\"x\"\r\n",
            ),
            ["HEAD", "/v2/team/app/manifests/v1"] => {
                reply("200 OK", &format!("Docker-Content-Digest: {shown}\r\n"))
            }
            ["POST", "/v2/team/app/blobs/uploads/"] => reply(
                "202 Accepted",
                &format!("Location: http://127.0.0.2:{elsewhere}/v2/team/app/blobs/uploads/u1\r\n"),
            ),
            _ => reply("404 Not Found", ""),
        }
    });
    let host = format!("127.0.0.1:{port}");
    let env = env_with(&host, (USER, PASSWORD));
    let run = check(
        &env,
        &[
            "--image",
            &format!("{host}/team/app:v1"),
            "--push",
            "--json",
        ],
    );
    let row = assert_verdict(&run, 3, "not-checkable", "not sending the credential there");
    assert_eq!(
        row["detail"].as_str().unwrap().matches("127.0.0.2").count(),
        1
    );
    assert!(
        stolen.lock().unwrap().is_empty(),
        "the other host was asked"
    );
    let heads = seen.lock().unwrap().clone();
    // Asked for every manifest and index type; never a PUT, never a DELETE.
    let head = heads
        .iter()
        .find(|h| h.starts_with("HEAD "))
        .expect("a HEAD");
    for media_type in [
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
    ] {
        assert!(head.contains(media_type), "{head}");
    }
    assert!(heads
        .iter()
        .all(|h| !h.starts_with("PUT ") && !h.starts_with("DELETE ")));
    // Without --push the same registry proves pull, with its digest.
    let run = check(&env, &["--image", &format!("{host}/team/app:v1"), "--json"]);
    assert_eq!(
        assert_verdict(&run, 0, "ok", "may pull")["digest"],
        digest.as_str()
    );
}

/// A registry whose `HEAD` answers `digest_header` (a whole header line, or
/// none) for any manifest, behind Basic auth; returns `host:port`.
fn registry_answering_digest(digest_header: &'static str) -> String {
    let (port, _) = fake_server("127.0.0.1", move |head| {
        let line = head.lines().next().unwrap_or_default().to_owned();
        match line.split(' ').take(2).collect::<Vec<_>>()[..] {
            ["GET", "/v2/"] if !head.contains("Authorization") => reply(
                "401 Unauthorized",
                "WWW-Authenticate: Basic realm=\"x\"\r\n",
            ),
            ["HEAD", path] if path.starts_with("/v2/team/app/manifests/") => {
                reply("200 OK", digest_header)
            }
            _ => reply("404 Not Found", ""),
        }
    });
    format!("127.0.0.1:{port}")
}

#[test]
fn a_registry_answering_another_digest_than_the_one_asked_proves_nothing() {
    let other = "Docker-Content-Digest: sha256:cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd\r\n";
    let host = registry_answering_digest(other);
    let env = env_with(&host, (USER, PASSWORD));
    let asked = format!("sha256:{}", "ab".repeat(32));
    let run = check(
        &env,
        &["--image", &format!("{host}/team/app@{asked}"), "--json"],
    );
    let row = assert_verdict(&run, 3, "not-checkable", "another digest");
    assert_eq!(row["digest"], serde_json::Value::Null, "{run:?}");
    assert!(row["detail"].as_str().unwrap().contains(&asked), "{run:?}");
    // By tag, any well-formed digest is the answer.
    let run = check(&env, &["--image", &format!("{host}/team/app:v1"), "--json"]);
    assert_eq!(
        assert_verdict(&run, 0, "ok", "may pull")["digest"],
        "sha256:cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd"
    );
}

#[test]
fn a_malformed_digest_header_is_not_reported_as_the_digest() {
    let host = registry_answering_digest("Docker-Content-Digest: latest; see https://x\r\n");
    let env = env_with(&host, (USER, PASSWORD));
    let run = check(&env, &["--image", &format!("{host}/team/app:v1"), "--json"]);
    let row = assert_verdict(&run, 0, "ok", "not a digest");
    assert_eq!(row["digest"], serde_json::Value::Null, "{run:?}");
    let run = check(&env, &["--image", &format!("{host}/team/app:v1")]);
    assert!(!run.stdout.contains("see https"), "{run:?}");
}

#[test]
fn an_image_without_a_stored_credential_does_not_hide_the_others() {
    let digest = "Docker-Content-Digest: sha256:cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd\r\n";
    let host = registry_answering_digest(digest);
    let env = env_with(&host, (USER, PASSWORD));
    let image = format!("{host}/team/app:v1");
    let run = check(
        &env,
        &[
            "--image",
            "nothing.example.com/team/app",
            "--image",
            &image,
            "--json",
        ],
    );
    assert_eq!(run.code, 1, "{run:?}");
    let rows: Vec<serde_json::Value> = serde_json::from_str(&run.stdout).expect("JSON rows");
    assert_eq!(rows.len(), 2, "{run:?}");
    assert_eq!(rows[0]["verdict"], "no-credential", "{run:?}");
    assert!(rows[0]["credential"].is_null(), "{run:?}");
    assert!(rows[0]["username"].is_null(), "{run:?}");
    assert_eq!(rows[1]["username"], USER, "{run:?}");
    assert!(rows[0]["detail"]
        .as_str()
        .unwrap()
        .contains("login nothing.example.com"));
    assert_eq!(rows[1]["verdict"], "ok", "{run:?}");
    assert!(rows[1]["digest"].as_str().unwrap().starts_with("sha256:cd"));
    // The table too: one line each, the missing one naming the fix.
    let run = check(
        &env,
        &["--image", "nothing.example.com/team/app", "--image", &image],
    );
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(run.stdout.lines().count(), 2, "{run:?}");
    assert!(run.stdout.contains("  -  no-credential"), "{run:?}");
}

#[test]
fn a_manifest_redirect_to_another_host_is_not_followed_with_the_credential() {
    let (elsewhere, stolen) = fake_server("127.0.0.2", |_| reply("200 OK", ""));
    let (port, _) = fake_server("127.0.0.1", move |head| {
        let line = head.lines().next().unwrap_or_default().to_owned();
        match line.split(' ').take(2).collect::<Vec<_>>()[..] {
            ["GET", "/v2/"] if !head.contains("Authorization") => reply(
                "401 Unauthorized",
                "WWW-Authenticate: Basic realm=\"x\"\r\n",
            ),
            ["HEAD", _] => reply(
                "307 Temporary Redirect",
                &format!("Location: http://127.0.0.2:{elsewhere}/v2/team/app/manifests/v1\r\n"),
            ),
            _ => reply("404 Not Found", ""),
        }
    });
    let host = format!("127.0.0.1:{port}");
    let env = env_with(&host, (USER, PASSWORD));
    let run = check(&env, &["--image", &format!("{host}/team/app:v1"), "--json"]);
    let row = assert_verdict(&run, 3, "not-checkable", "answered 307");
    assert_eq!(row["digest"], serde_json::Value::Null);
    assert!(
        stolen.lock().unwrap().is_empty(),
        "the other host was asked"
    );
}
