//! The real clients against a real registry: `configure`, then the real
//! `docker login --password-stdin` / `docker logout` (the docker CLI logs in
//! client-side when no daemon answers, so no daemon is needed), and skopeo
//! through `configure --podman`, all going through this helper. The registry
//! is Debian's `docker-registry` with an htpasswd file, on a free 127.0.0.1
//! port, started and killed by the test (`common::registry`).

use crate::common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::human::{put_bin_on_path, secret_forms};
use common::registry::{Auth, Registry, PASSWORD, USER};
use common::{tool, Backend, Env, Run};

/// A client command in the test environment with our binary first on PATH.
fn client(env: &Env, program: PathBuf, args: &[&str]) -> Command {
    let mut cmd = Command::new(program);
    cmd.args(args);
    env.apply(&mut cmd);
    put_bin_on_path(&mut cmd);
    cmd
}

fn ours(env: &Env, args: &[&str], stdin: &[u8]) -> Run {
    let cmd = client(env, PathBuf::from(common::BIN), args);
    let out = common::run_command(cmd, stdin);
    assert_no_secret(&out);
    out
}

fn assert_no_secret(run: &Run) {
    common::human::assert_no_secret(run, &[(USER, PASSWORD)]);
}

fn assert_file_has_no_secret(path: &Path) {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let [password, auth] = secret_forms(USER, PASSWORD);
    assert!(
        !text.contains(&password) && !text.contains(&auth),
        "{}: {text}",
        path.display()
    );
}

backend_tests!(
    docker_login_and_logout_go_through_the_helper,
    ignore = "needs docker, docker-registry and htpasswd (tests/install-deps)"
);
fn docker_login_and_logout_go_through_the_helper(backend: Backend) {
    let registry = Registry::start(Auth::Htpasswd, false);
    let host = registry.host();
    let docker = tool("docker", "docker-ce-cli (or docker.io)");
    let env = Env::new(backend);
    ours(&env, &["configure", "-q"], b"").ok();
    let config = env.docker_config();

    // Real docker login, secret on stdin.
    let out = common::run_command(
        client(
            &env,
            docker.clone(),
            &["login", &host, "-u", USER, "--password-stdin"],
        ),
        PASSWORD.as_bytes(),
    );
    assert_no_secret(&out);
    assert_eq!(out.code, 0, "{backend:?}: {out:?}");
    assert!(out.stdout.contains("Login Succeeded"), "{out:?}");
    assert_eq!(env.secret(&host).as_deref(), Some(PASSWORD), "{backend:?}");
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&config).unwrap()).unwrap();
    assert_eq!(saved["auths"][&host], serde_json::json!({}), "{saved}");
    assert_eq!(saved["credsStore"], "keyring");
    assert_file_has_no_secret(&config);
    let ls = ours(&env, &["ls"], b"");
    assert!(ls.stdout.contains(&format!("{host}  {USER}")), "{ls:?}");

    // A wrong password fails at the registry and leaves the stored one alone.
    let out = common::run_command(
        client(
            &env,
            docker.clone(),
            &["login", &host, "-u", USER, "--password-stdin"],
        ),
        b"wrong-password",
    );
    assert_ne!(out.code, 0, "{out:?}");
    assert_eq!(env.secret(&host).as_deref(), Some(PASSWORD));

    // docker logout erases through the helper.
    let out = common::run_command(client(&env, docker.clone(), &["logout", &host]), b"");
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(env.secret(&host), None, "{backend:?}");

    // The quick start: our login, then docker uses the stored credential.
    ours(
        &env,
        &["login", &host, "-u", USER, "--password-stdin", "-q"],
        format!("{PASSWORD}\n").as_bytes(),
    )
    .ok();
    let mut cmd = client(&env, docker.clone(), &["login", &host]);
    cmd.stdin(Stdio::null());
    let out = common::run_command(cmd, b"");
    assert_no_secret(&out);
    // docker read it through `get`. (Verifying stored credentials is done by
    // the daemon only, so without one this login then stops; the
    // --password-stdin logins above are verified client-side.)
    assert!(
        out.stderr.contains(&format!(
            "Authenticating with existing credentials... [Username: {USER}]"
        )),
        "docker found the helper's credential: {out:?}"
    );
    assert_file_has_no_secret(&config);
    env.erase(&host).ok();
}

backend_tests!(
    skopeo_login_goes_through_the_helper_after_configure_podman,
    ignore = "needs skopeo, docker-registry and htpasswd (tests/install-deps)"
);
fn skopeo_login_goes_through_the_helper_after_configure_podman(backend: Backend) {
    let registry = Registry::start(Auth::Htpasswd, false);
    let host = registry.host();
    let skopeo = tool("skopeo", "skopeo");
    let env = Env::new(backend);
    let auth = env.containers_auth_file();
    ours(&env, &["configure", "--podman", "-r", &host, "-q"], b"").ok();

    let out = common::run_command(
        client(
            &env,
            skopeo.clone(),
            &[
                "login",
                "--tls-verify=false",
                "-u",
                USER,
                "--password-stdin",
                &host,
            ],
        ),
        PASSWORD.as_bytes(),
    );
    assert_no_secret(&out);
    assert_eq!(out.code, 0, "{backend:?}: {out:?}");
    assert_eq!(env.secret(&host).as_deref(), Some(PASSWORD), "{backend:?}");
    assert_file_has_no_secret(&auth);

    // Existing credentials are found through the helper and accepted by the registry.
    let out = common::run_command(
        client(
            &env,
            skopeo.clone(),
            &["login", "--tls-verify=false", &host],
        ),
        b"",
    );
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("Already logged in"), "{out:?}");

    let out = common::run_command(client(&env, skopeo.clone(), &["logout", &host]), b"");
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(env.secret(&host), None);
}
