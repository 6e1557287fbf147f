//! `login`: it checks the credential with a real registry before storing it
//! (Debian's `docker-registry` on 127.0.0.1 with htpasswd over plain HTTP, over
//! HTTPS with a private CA found only through a certs.d directory, and with
//! token auth delegated to a token server, tests/e2e/token_server.py on
//! 127.0.0.2, that accepts only the SSO credential); it reads the secret from
//! stdin or a no-echo prompt on a real terminal, never from argv; `logout`
//! removes what it stored.

use crate::common;
use crate::common::registry;

use std::path::Path;
use std::process::Command;

use common::human::{run, secret};
use common::{tool, Backend, Env, Run};
use registry::*;

fn assert_no_secret(run: &Run) {
    for needle in [
        PASSWORD,
        SSO_PASSWORD,
        "WRONG-pw",
        REFRESH_TOKEN,
        "rt-wrong",
    ] {
        assert!(
            !run.stdout.contains(needle) && !run.stderr.contains(needle),
            "secret in output: {run:?}"
        );
    }
}

fn login(env: &Env, args: &[&str], stdin: &str, extra_env: &[(&str, &Path)]) -> Run {
    let mut all = vec!["login"];
    all.extend(args);
    let mut cmd = env.command(&all);
    cmd.env_remove("HTTPS_PROXY")
        .env_remove("https_proxy")
        .env_remove("HTTP_PROXY")
        .env_remove("http_proxy")
        // No machine-wide certs.d leaks into the test.
        .env(
            "DOCKER_CREDENTIAL_KEYRING_CERTS_D",
            env.home().join("no-certs.d"),
        );
    for (name, value) in extra_env {
        cmd.env(name, value);
    }
    let run = common::run_command(cmd, stdin.as_bytes());
    assert_no_secret(&run);
    run
}

#[test]
#[ignore = "needs docker-registry and apache2-utils"]
fn htpasswd_over_http_right_password_is_stored_wrong_one_refused() {
    let registry = Registry::start(Auth::Htpasswd, false);
    let env = Env::new(Backend::File);
    let host = registry.host();
    let args = ["-u", USER, "--password-stdin", host.as_str()];

    let wrong = login(&env, &args, "WRONG-pw\n", &[]);
    assert_eq!(wrong.code, 1, "{wrong:?}");
    assert!(!wrong.stdout.contains("Login Succeeded"), "{wrong:?}");
    assert!(
        wrong.stderr.contains("registry")
            && wrong.stderr.contains("refused")
            && wrong.stderr.contains("401"),
        "{wrong:?}"
    );
    assert_eq!(
        env.secret(&host),
        None,
        "nothing stored after a refused login"
    );

    let right = login(&env, &args, &format!("{PASSWORD}\n"), &[]);
    right.ok();
    assert!(right.stdout.contains("Login Succeeded"), "{right:?}");
    assert_eq!(env.secret(&host).as_deref(), Some(PASSWORD));

    // A later wrong login changes nothing: the good credential stays.
    let before = env.store_bytes();
    let wrong = login(&env, &args, "WRONG-pw\n", &[]);
    assert_eq!(wrong.code, 1, "{wrong:?}");
    assert_eq!(env.store_bytes(), before, "the store was touched");
    assert_eq!(env.secret(&host).as_deref(), Some(PASSWORD));
}

#[test]
#[ignore = "needs docker-registry, apache2-utils and openssl"]
fn https_with_a_private_ca_from_certs_d() {
    let registry = Registry::start(Auth::Htpasswd, true);
    let env = Env::new(Backend::File);
    let host = registry.host();
    let args = ["-u", USER, "--password-stdin", host.as_str()];
    let pw = format!("{PASSWORD}\n");

    // Without the CA: a TLS failure that says where the CA would go. A
    // loopback registry may fall back to plain HTTP, which this one refuses.
    let untrusted = login(&env, &args, &pw, &[]);
    assert_eq!(untrusted.code, 1, "{untrusted:?}");
    assert!(untrusted.stderr.contains("TLS"), "{untrusted:?}");
    assert!(untrusted.stderr.contains("certs.d"), "{untrusted:?}");
    assert_eq!(env.secret(&host), None);

    let certs_d = registry.certs_d();
    let certs = [("DOCKER_CREDENTIAL_KEYRING_CERTS_D", certs_d.as_path())];
    let wrong = login(&env, &args, "WRONG-pw\n", &certs);
    assert_eq!(wrong.code, 1, "{wrong:?}");
    assert!(
        wrong.stderr.contains("https://") && wrong.stderr.contains("401"),
        "{wrong:?}"
    );
    assert_eq!(env.secret(&host), None);

    let right = login(&env, &args, &pw, &certs);
    right.ok();
    assert!(right.stdout.contains("Login Succeeded"), "{right:?}");
    assert_eq!(env.secret(&host).as_deref(), Some(PASSWORD));
}

#[test]
#[ignore = "needs docker-registry, openssl and python3-cryptography"]
fn a_pair_logs_in_through_the_auth_server_with_its_own_credential() {
    let tokens = TokenServer::start();
    let registry = Registry::start(Auth::Token(tokens.realm(), tokens.cert()), false);
    let env = Env::new(Backend::File);
    let host = registry.host();
    let auth = tokens.auth_server();

    // The registry credential alone: the auth server refuses it, nothing stored.
    let alone = login(
        &env,
        &[
            "-u",
            USER,
            "--password-stdin",
            &host,
            "--auth-server",
            &auth,
        ],
        &format!("{PASSWORD}\n"),
        &[],
    );
    assert_eq!(alone.code, 1, "{alone:?}");
    assert!(
        alone.stderr.contains("auth server")
            && alone.stderr.contains("refused")
            && alone.stderr.contains("401"),
        "{alone:?}"
    );
    assert!(env.list().is_empty(), "nothing stored, nothing paired");
    let pairs = env.run(&["pair", "ls", "--json"], b"");
    assert_eq!(pairs.stdout.trim(), "[]", "{pairs:?}");

    // A wrong SSO password: refused by the auth server too.
    let wrong = login(
        &env,
        &[
            "-u",
            USER,
            "--password-stdin",
            &host,
            "--auth-server",
            &auth,
            "--auth-username",
            SSO_USER,
            "--auth-password-stdin",
        ],
        &format!("{PASSWORD}\nWRONG-pw\n"),
        &[],
    );
    assert_eq!(wrong.code, 1, "{wrong:?}");
    assert!(wrong.stderr.contains("auth server"), "{wrong:?}");
    assert!(env.list().is_empty());

    // With the auth server's own credential: the token comes from it.
    let paired = login(
        &env,
        &[
            "-u",
            USER,
            "--password-stdin",
            &host,
            "--auth-server",
            &auth,
            "--auth-username",
            SSO_USER,
            "--auth-password-stdin",
        ],
        &format!("{PASSWORD}\n{SSO_PASSWORD}\n"),
        &[],
    );
    paired.ok();
    assert!(paired.stdout.contains("Login Succeeded"), "{paired:?}");
    assert!(paired.stdout.contains("Paired"), "{paired:?}");
    assert!(
        tokens.log().contains(&format!("issued {SSO_USER}")),
        "{}",
        tokens.log()
    );
    assert_eq!(env.secret(&host).as_deref(), Some(PASSWORD));
    assert_eq!(env.secret(&auth).as_deref(), Some(SSO_PASSWORD));

    // A later login of the paired registry goes through the stored SSO credential.
    let again = login(
        &env,
        &["-u", USER, "--password-stdin", &host],
        &format!("{PASSWORD}\n"),
        &[],
    );
    again.ok();
    assert!(again.stdout.contains("Login Succeeded"), "{again:?}");
}

#[test]
#[ignore = "needs docker-registry and apache2-utils"]
fn discover_proves_the_pair_before_recording_it() {
    let tokens = TokenServer::start();
    let registry = Registry::start(Auth::Token(tokens.realm(), tokens.cert()), false);
    let env = Env::new(Backend::File);
    let host = registry.host();
    let refused = login(
        &env,
        &["-u", USER, "--password-stdin", &host, "--discover"],
        &format!("{PASSWORD}\n"),
        &[],
    );
    assert_eq!(refused.code, 1, "{refused:?}");
    assert!(refused.stderr.contains("auth server"), "{refused:?}");
    let pairs = env.run(&["pair", "ls", "--json"], b"");
    assert_eq!(pairs.stdout.trim(), "[]", "no pair recorded: {pairs:?}");

    let ok = login(
        &env,
        &[
            "-u",
            USER,
            "--password-stdin",
            &host,
            "--discover",
            "--auth-username",
            SSO_USER,
            "--auth-password-stdin",
        ],
        &format!("{PASSWORD}\n{SSO_PASSWORD}\n"),
        &[],
    );
    ok.ok();
    assert!(ok.stdout.contains("Paired"), "{ok:?}");
}

#[test]
fn unreachable_registry_is_a_clear_error_and_no_verify_stores() {
    let env = Env::new(Backend::File);
    let port = free_port("127.0.0.1");
    let host = format!("127.0.0.1:{port}");
    let args = [
        "-u",
        USER,
        "--password-stdin",
        host.as_str(),
        "--timeout",
        "5",
    ];
    let run = login(&env, &args, &format!("{PASSWORD}\n"), &[]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.contains("cannot check the credential"),
        "{run:?}"
    );
    assert!(run.stderr.contains("--no-verify"), "{run:?}");
    assert_eq!(env.secret(&host), None);

    let mut no_verify = args.to_vec();
    no_verify.push("--no-verify");
    let stored = login(&env, &no_verify, &format!("{PASSWORD}\n"), &[]);
    stored.ok();
    assert!(stored.stdout.contains("without checking"), "{stored:?}");
    assert!(!stored.stdout.contains("Succeeded"), "{stored:?}");
    assert_eq!(env.secret(&host).as_deref(), Some(PASSWORD));
}

#[test]
#[ignore = "needs docker-registry, openssl and python3-cryptography"]
fn an_identity_token_is_checked_with_the_refresh_token_grant() {
    let tokens = TokenServer::start();
    let registry = Registry::start(Auth::Token(tokens.realm(), tokens.cert()), false);
    let env = Env::new(Backend::File);
    let host = registry.host();
    let args = ["-u", "<token>", "--password-stdin", host.as_str()];

    let wrong = login(&env, &args, "rt-wrong\n", &[]);
    assert_eq!(wrong.code, 1, "{wrong:?}");
    assert!(
        wrong.stderr.contains("auth server") && wrong.stderr.contains("400"),
        "{wrong:?}"
    );
    assert!(env.list().is_empty());

    let right = login(&env, &args, &format!("{REFRESH_TOKEN}\n"), &[]);
    right.ok();
    assert!(right.stdout.contains("Login Succeeded"), "{right:?}");
    assert!(
        tokens
            .log()
            .contains(&format!("issued {SSO_USER} (refresh token)")),
        "{}",
        tokens.log()
    );
    assert_eq!(env.secret(&host).as_deref(), Some(REFRESH_TOKEN));
    let check = env.run(&["check", &host], b"");
    assert_eq!(check.code, 0, "{check:?}");
    assert!(check.stdout.contains(" ok"), "{check:?}");
}

/// The real `docker login` (client-side: the docker CLI verifies the
/// credential itself when no daemon answers) against the same registries:
/// ours accepts exactly when docker does.
#[test]
#[ignore = "needs the docker CLI, docker-registry, apache2-utils, openssl and python3-cryptography"]
fn ours_accepts_exactly_when_docker_login_does() {
    let docker = tool("docker", "docker.io (or the docker CLI)");
    let basic = Registry::start(Auth::Htpasswd, false);
    let tokens = TokenServer::start();
    let delegating = Registry::start(Auth::Token(tokens.realm(), tokens.cert()), false);
    let table = [
        (basic.host(), USER, PASSWORD.to_owned()),
        (basic.host(), USER, "WRONG-pw".to_owned()),
        (basic.host(), "mallory", PASSWORD.to_owned()),
        (basic.host(), USER, PASSWORD.to_uppercase()),
        (delegating.host(), SSO_USER, SSO_PASSWORD.to_owned()),
        (delegating.host(), USER, PASSWORD.to_owned()),
        (delegating.host(), SSO_USER, "WRONG-pw".to_owned()),
    ];
    for (host, user, password) in &table {
        // A fresh docker config each time (nothing to reuse) that stores
        // through this helper, in an environment of its own.
        let env = Env::new(Backend::File);
        let theirs_env = Env::new(Backend::File);
        std::fs::create_dir_all(theirs_env.docker_config_dir()).unwrap();
        std::fs::write(theirs_env.docker_config(), r#"{"credsStore":"keyring"}"#).unwrap();
        let mut cmd = Command::new(&docker);
        cmd.args(["login", "-u", user, "--password-stdin", host]);
        theirs_env.apply(&mut cmd);
        let bin_dir = Path::new(common::BIN)
            .parent()
            .unwrap()
            .display()
            .to_string();
        cmd.env(
            "PATH",
            format!("{bin_dir}:{}", std::env::var("PATH").unwrap_or_default()),
        );
        cmd.env_remove("HTTPS_PROXY").env_remove("HTTP_PROXY");
        cmd.env_remove("https_proxy").env_remove("http_proxy");
        let theirs = common::run_command(cmd, format!("{password}\n").as_bytes());
        let ours = login(
            &env,
            &["-u", user, "--password-stdin", host],
            &format!("{password}\n"),
            &[],
        );
        let docker_accepts = theirs.code == 0 && theirs.stdout.contains("Login Succeeded");
        assert_eq!(
            ours.code == 0,
            docker_accepts,
            "{user}@{host}: ours {ours:?}, docker {theirs:?}"
        );
    }
}

/// A pair recorded with another auth server than the realm the registry
/// names: the auth server's own credential is not sent to the realm's host;
/// the login fails, says why, and stores nothing.
#[test]
#[ignore = "needs docker-registry, openssl and python3-cryptography"]
fn a_realm_on_another_host_than_the_recorded_auth_server_is_named() {
    let tokens = TokenServer::start();
    let registry = Registry::start(Auth::Token(tokens.realm(), tokens.cert()), false);
    let env = Env::new(Backend::File);
    let host = registry.host();
    let run = login(
        &env,
        &[
            "-u",
            USER,
            "--password-stdin",
            &host,
            "--auth-server",
            "sso.elsewhere.example",
            "--auth-username",
            SSO_USER,
            "--auth-password-stdin",
        ],
        &format!("{PASSWORD}\n{SSO_PASSWORD}\n"),
        &[],
    );
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.contains(&format!(
            "names its token realm on http://{}, not on its recorded auth server sso.elsewhere.example: not sending",
            tokens.host()
        )),
        "{run:?}"
    );
    assert!(!run.stderr.contains(SSO_PASSWORD), "{run:?}");
    let ls = env.run(&["ls", "--json"], b"");
    assert!(!ls.stdout.contains(&host), "nothing stored: {ls:?}");
}

/// `openssl req -x509` makes a CA:TRUE certificate; many registries serve one
/// as their own. Docker trusts it from the host's certs.d: so does `login`,
/// for that host only.
#[test]
#[ignore = "needs docker-registry, apache2-utils and openssl"]
fn a_self_signed_ca_certificate_is_trusted_from_its_own_hosts_certs_d_only() {
    let registry = Registry::start_self_signed(Auth::Htpasswd, "127.0.0.1");
    let env = Env::new(Backend::File);
    let host = registry.host();
    let args = ["-u", USER, "--password-stdin", host.as_str()];
    let pw = format!("{PASSWORD}\n");

    // Not in certs.d: refused, naming the file to put it in.
    let refused = login(&env, &args, &pw, &[]);
    assert_eq!(refused.code, 1, "{refused:?}");
    let advice = env.home().join("no-certs.d").join(&host).join("ca.crt");
    assert!(
        refused.stderr.contains("CA:TRUE")
            && refused
                .stderr
                .contains(&format!("put it in {}", advice.display())),
        "{refused:?}"
    );
    assert_eq!(env.secret(&host), None);

    // In the certs.d of another host (the same IP, another port): refused.
    let elsewhere = env.home().join("elsewhere.d");
    let other = elsewhere.join(format!("127.0.0.1:{}", free_port("127.0.0.1")));
    std::fs::create_dir_all(&other).unwrap();
    std::fs::copy(
        registry.certs_d().join(&host).join("ca.crt"),
        other.join("ca.crt"),
    )
    .unwrap();
    let refused = login(
        &env,
        &args,
        &pw,
        &[("DOCKER_CREDENTIAL_KEYRING_CERTS_D", &elsewhere)],
    );
    assert_eq!(refused.code, 1, "{refused:?}");
    assert!(refused.stderr.contains("CA:TRUE"), "{refused:?}");
    assert_eq!(env.secret(&host), None);

    // In its own host's certs.d: trusted.
    let certs_d = registry.certs_d();
    let right = login(
        &env,
        &args,
        &pw,
        &[("DOCKER_CREDENTIAL_KEYRING_CERTS_D", &certs_d)],
    );
    right.ok();
    assert!(right.stdout.contains("Login Succeeded"), "{right:?}");
    assert_eq!(env.secret(&host).as_deref(), Some(PASSWORD));
}

/// Pinned does not mean any name: the certificate in certs.d is still checked
/// against the host asked.
#[test]
#[ignore = "needs docker-registry, apache2-utils and openssl"]
fn a_self_signed_certificate_in_certs_d_for_another_name_is_refused() {
    let registry = Registry::start_self_signed(Auth::Htpasswd, "127.0.0.2");
    let env = Env::new(Backend::File);
    let host = registry.host();
    let certs_d = registry.certs_d();
    let refused = login(
        &env,
        &["-u", USER, "--password-stdin", host.as_str()],
        &format!("{PASSWORD}\n"),
        &[("DOCKER_CREDENTIAL_KEYRING_CERTS_D", &certs_d)],
    );
    assert_eq!(refused.code, 1, "{refused:?}");
    assert!(
        refused.stderr.contains("TLS failure") && refused.stderr.contains("not valid for name"),
        "{refused:?}"
    );
    assert_eq!(env.secret(&host), None);
}

// ------------------------------------------- the secret: stdin, terminal, never argv

backend_tests!(login_reads_the_secret_from_stdin);
fn login_reads_the_secret_from_stdin(backend: Backend) {
    let env = Env::new(backend);
    let out = run(
        &env,
        &[
            "login",
            "--no-verify",
            "Registry.Example.com:5000",
            "-u",
            "carol",
            "--password-stdin",
            "--email",
            "c@example.com",
        ],
        format!("{}\r\n", secret(3)).as_bytes(),
    );
    out.ok();
    assert!(
        out.stdout.contains("Stored registry.example.com:5000"),
        "{out:?}"
    );
    assert!(
        out.stderr.contains("configure"),
        "notes that docker does not use it yet: {out:?}"
    );
    assert_eq!(
        env.secret("registry.example.com:5000").as_deref(),
        Some(secret(3))
    );
    let ls = run(&env, &["ls"], b"");
    assert!(
        ls.stdout.contains("registry.example.com:5000  carol"),
        "{ls:?}"
    );

    let out = run(&env, &["logout", "registry.example.com:5000"], b"");
    out.ok();
    assert!(out.stdout.contains("Removed"), "{out:?}");
    assert_eq!(env.secret("registry.example.com:5000"), None);
    let out = run(&env, &["logout", "registry.example.com:5000"], b"");
    out.ok();
    assert!(out.stdout.contains("Not logged in"), "{out:?}");
}

/// Runs `login ARGS` on a real terminal (a pty from `script`), answering each
/// prompt in turn; returns everything the terminal showed.
#[cfg(unix)] // a pty from `script`
fn login_on_a_terminal(env: &Env, args: &str, answers: &[(&str, &str)]) -> Run {
    use std::io::{Read, Write};
    let mut cmd = Command::new("script");
    cmd.args(["-q", "-e", "-c"])
        .arg(format!("{} login --no-verify {args}", common::BIN))
        .arg("/dev/null");
    env.apply(&mut cmd);
    let mut child = cmd
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("script (bsdutils) runs the command on a pty");
    let mut stdout = child.stdout.take().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut seen = Vec::new();
    let mut byte = [0u8; 1];
    for (prompt, answer) in answers {
        while !String::from_utf8_lossy(&seen).contains(prompt) {
            assert_eq!(
                stdout.read(&mut byte).unwrap(),
                1,
                "no prompt {prompt:?}: {}",
                String::from_utf8_lossy(&seen)
            );
            seen.push(byte[0]);
        }
        stdin.write_all(format!("{answer}\n").as_bytes()).unwrap();
    }
    drop(stdin);
    stdout.read_to_end(&mut seen).unwrap();
    let status = child.wait().unwrap();
    Run {
        code: status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&seen).into_owned(),
        stderr: String::new(),
    }
}

/// The interactive prompt on a real terminal: the secret is read without
/// echo and stored.
#[test]
#[cfg(unix)] // a pty from `script`
fn login_prompts_on_a_terminal_without_echo() {
    let env = Env::new(Backend::File);
    let out = login_on_a_terminal(
        &env,
        "quay.io -u carol",
        &[("Password for carol@quay.io: ", secret(3))],
    );
    assert_eq!(out.code, 0, "{out:?}");
    common::human::assert_no_test_secret(&out);
    assert!(out.stdout.contains("Stored quay.io"), "{out:?}");
    assert_eq!(env.secret("quay.io").as_deref(), Some(secret(3)));
}

/// After the prompt the terminal echoes again (the shell's `stty -a` after
/// login, on the same pty, shows `echo`, not `-echo`).
#[test]
#[cfg(unix)] // a pty from `script`
fn login_restores_echo_after_the_prompt() {
    let env = Env::new(Backend::File);
    let out = login_on_a_terminal(
        &env,
        "quay.io -u carol; stty -a",
        &[("Password for carol@quay.io: ", secret(3))],
    );
    assert_eq!(out.code, 0, "{out:?}");
    common::human::assert_no_test_secret(&out);
    let settings = out.stdout.split("without checking").nth(1).unwrap_or("");
    assert!(settings.contains(" echo "), "{out:?}");
    assert!(!settings.contains("-echo "), "{out:?}");
}

/// Without --username, login asks for it on the terminal (as `docker login`
/// does), echoed, then for the password without echo.
#[test]
#[cfg(unix)] // a pty from `script`
fn login_asks_for_the_username_on_a_terminal() {
    let env = Env::new(Backend::File);
    let out = login_on_a_terminal(
        &env,
        "quay.io",
        &[
            ("Username for quay.io: ", "dave"),
            ("Password for dave@quay.io: ", secret(4)),
        ],
    );
    assert_eq!(out.code, 0, "{out:?}");
    common::human::assert_no_test_secret(&out);
    assert!(
        out.stdout.contains("dave"),
        "the username is echoed: {out:?}"
    );
    assert_eq!(env.list()["quay.io"], "dave");
    assert_eq!(env.secret("quay.io").as_deref(), Some(secret(4)));
    // No terminal, or stdin taken by the password: a clear error, nothing stored.
    let env = Env::new(Backend::File);
    let out = run(&env, &["login", "quay.io"], b"");
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(
        out.stderr,
        "error: no terminal to ask for the username: pass --username\n"
    );
    let out = run(&env, &["login", "quay.io", "--password-stdin"], b"pw");
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(out.stderr, "error: --password-stdin needs --username\n");
    assert!(env.list().is_empty());
}

/// docker's and oc's `-p/--password VALUE`, in every spelling (before the
/// registry, glued, with `=`, without a value, a value starting with `-`), is
/// exit 2 with a pointer to --password-stdin and the prompt, never shows the
/// value and stores nothing (clap used to say "to pass '-p' as a value, use
/// '-- -p'").
#[test]
fn login_never_takes_the_password_from_argv() {
    let env = Env::new(Backend::File);
    let (pw, dash) = (secret(0), "-dash-Secret-0");
    for args in [
        vec!["login", "quay.io", "-u", "a", "--password", pw],
        vec!["login", "quay.io", "-u", "a", "-p", pw],
        vec!["login", "-p", pw, "quay.io", "-u", "a"],
        vec!["login", "quay.io", "-u", "a", &format!("--password={pw}")],
        vec!["login", "quay.io", "-u", "a", &format!("-p{pw}")],
        vec!["login", "quay.io", "-u", "a", "--password-stdin", "-p", pw],
        vec!["login", "quay.io", "-u", "a", "-p", dash],
        vec!["login", "quay.io", "-u", "a", "-p"],
        vec!["login", "quay.io", "--password"],
    ] {
        let out = run(&env, &args, format!("{pw}\n").as_bytes());
        assert_eq!(out.code, 2, "{args:?}: {out:?}");
        assert_eq!(out.stdout, "", "{args:?}: {out:?}");
        assert!(!out.stderr.contains(dash), "{args:?}: {out:?}");
        assert!(
            out.stderr
                .starts_with("error: login does not take the password on the command line")
                && out.stderr.contains("--password-stdin")
                && out.stderr.contains("no-echo prompt"),
            "{args:?}: {out:?}"
        );
    }
    let out = run(&env, &["login", "quay.io", "-u", "a"], b"");
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(
        out.stderr,
        "error: no terminal to ask for the password: use --password-stdin\n"
    );
    let out = run(
        &env,
        &["login", "quay.io", "-u", "a", "--password-stdin"],
        b"",
    );
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("no password on standard input"),
        "{out:?}"
    );
    assert!(env.list().is_empty());
    let help = run(&env, &["login", "--help"], b"");
    help.ok();
    assert!(
        !help.stdout.contains("--password <") && !help.stdout.contains("  -p, "),
        "hidden from the options: {help:?}"
    );
    assert!(
        help.stdout
            .contains("`-p`/`--password`, as docker and oc take it, is refused (exit 2)"),
        "explained in the after-help: {help:?}"
    );
    assert!(help.stdout.contains("Exit codes:"), "{help:?}");
}
