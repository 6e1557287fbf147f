//! Delegated-auth pairs through the real binary: `pair add/rm/ls/discover`,
//! `login --auth-server/--discover`, the get/list/erase/logout semantics, on
//! the file store and on the real Secret Service. `pair discover` talks to
//! small HTTP servers this test starts on 127.0.0.1.

use crate::common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use common::human::login_with;
use common::time::{self, bound};
use common::{run_command, Backend, Env};

const NOT_FOUND: &str = "credentials not found in native keychain";

/// `pair ls --json` parsed.
fn pairs_json(env: &Env) -> Vec<serde_json::Value> {
    let run = env.run(&["pair", "ls", "--json"], b"");
    run.ok();
    serde_json::from_str(&run.stdout).expect("pair ls --json prints JSON")
}

fn paired(env: &Env) -> Vec<(String, String)> {
    pairs_json(env)
        .iter()
        .map(|p| {
            (
                p["registry"].as_str().unwrap().to_owned(),
                p["authServer"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// `get` answered with this username and secret.
fn assert_get(env: &Env, server: &str, user: &str, secret: &str) {
    let run = env.get(server);
    assert_eq!(run.code, 0, "{:?} get {server}: {run:?}", env.backend);
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(v["ServerURL"], server, "{run:?}");
    assert_eq!(v["Username"], user, "{:?} get {server}", env.backend);
    assert_eq!(v["Secret"], secret, "{:?} get {server}", env.backend);
}

fn assert_not_found(env: &Env, server: &str) {
    let run = env.get(server);
    assert_eq!(
        (run.code, run.stdout.as_str()),
        (1, &*format!("{NOT_FOUND}\n")),
        "{:?} get {server}",
        env.backend
    );
}

// ---------------------------------------------------------------- semantics

backend_tests!(auth_server_answers_with_its_registrys_credential);
fn auth_server_answers_with_its_registrys_credential(backend: Backend) {
    let env = &Env::new(backend);
    login_with(
        env,
        &[
            "registry.connect.example.com",
            "-u",
            "alice",
            "--password-stdin",
            "--auth-server",
            "sso.example.com",
        ],
        "reg-pw\n",
    );
    assert_get(env, "registry.connect.example.com", "alice", "reg-pw");
    assert_get(env, "sso.example.com", "alice", "reg-pw");
    assert_get(env, "https://sso.example.com/", "alice", "reg-pw");
    // Another host, port or scheme is not the auth server.
    assert_not_found(env, "sso.example.com:8443");
    assert_not_found(env, "http://sso.example.com");
    let list = env.list();
    assert_eq!(list.len(), 2, "{list:?}");
    assert_eq!(list["sso.example.com"], "alice");
    assert_eq!(list["registry.connect.example.com"], "alice");
    assert_eq!(
        paired(env),
        [(
            "registry.connect.example.com".to_owned(),
            "sso.example.com".to_owned()
        )]
    );
    // The auth server's own credential wins once stored.
    env.store("sso.example.com", "sso-user", "sso-pw").ok();
    assert_get(env, "sso.example.com", "sso-user", "sso-pw");
    assert_get(env, "registry.connect.example.com", "alice", "reg-pw");
    assert_eq!(env.list().len(), 2);
}

backend_tests!(auth_server_key_with_a_realm_path_answers_for_its_host);
fn auth_server_key_with_a_realm_path_answers_for_its_host(backend: Backend) {
    let env = &Env::new(backend);
    env.store("reg.example.com", "u", "p").ok();
    env.run(
        &[
            "pair",
            "add",
            "reg.example.com",
            "https://sso.example.com/auth/realms/rh",
        ],
        b"",
    )
    .ok();
    assert_eq!(
        paired(env),
        [(
            "reg.example.com".to_owned(),
            "sso.example.com/auth/realms/rh".to_owned()
        )]
    );
    assert_get(env, "sso.example.com", "u", "p");
    assert_get(env, "sso.example.com/auth/realms/rh/protocol", "u", "p");
    assert_not_found(env, "sso.example.com/other");
}

backend_tests!(registries_that_disagree_leave_the_auth_server_unanswered);
fn registries_that_disagree_leave_the_auth_server_unanswered(backend: Backend) {
    let env = &Env::new(backend);
    let pair = |reg: &str| {
        env.run(&["pair", "add", reg, "sso.example.com"], b"").ok();
    };
    // Same username, same secret: they agree.
    env.store("a.example.com", "alice", "pw").ok();
    env.store("b.example.com", "alice", "pw").ok();
    pair("a.example.com");
    pair("b.example.com");
    assert_get(env, "sso.example.com", "alice", "pw");

    // Same username, different secret: conflict; `list` (index only) still shows it.
    env.store("b.example.com", "alice", "other-pw").ok();
    assert_not_found(env, "sso.example.com");
    assert_eq!(env.list()["sso.example.com"], "alice");
    let ls = pairs_json(env);
    assert_eq!(ls[0]["authServerAnswer"]["kind"], "conflict", "{ls:?}");
    assert_eq!(ls[0]["authServerAnswer"]["reason"], "secret");

    // Different usernames: conflict, not listed.
    env.store("b.example.com", "bob", "pw").ok();
    assert_not_found(env, "sso.example.com");
    assert!(!env.list().contains_key("sso.example.com"));
    let ls = pairs_json(env);
    assert_eq!(ls[1]["authServerAnswer"]["reason"], "username", "{ls:?}");
    assert_eq!(
        ls[1]["authServerAnswer"]["registries"],
        serde_json::json!(["a.example.com", "b.example.com"])
    );
    let table = env.run(&["pair", "ls"], b"");
    table.ok();
    assert!(
        table
            .stdout
            .contains("CONFLICT: a.example.com, b.example.com have different usernames"),
        "{}",
        table.stdout
    );
    assert!(!table.stdout.contains("pw"), "no secret in pair ls");

    // A paired registry without a credential does not take part.
    env.erase("b.example.com").ok();
    assert_get(env, "sso.example.com", "alice", "pw");

    // The auth server's own credential settles any conflict.
    env.store("b.example.com", "bob", "pw").ok();
    env.store("sso.example.com", "carol", "sso-pw").ok();
    assert_get(env, "sso.example.com", "carol", "sso-pw");
}

backend_tests!(erase_removes_only_the_registry_credential);
fn erase_removes_only_the_registry_credential(backend: Backend) {
    let env = &Env::new(backend);
    env.store("reg.example.com", "u", "p").ok();
    env.store("sso.example.com", "s", "sp").ok();
    env.run(&["pair", "add", "reg.example.com", "sso.example.com"], b"")
        .ok();
    env.erase("reg.example.com").ok();
    assert_not_found(env, "reg.example.com");
    assert_get(env, "sso.example.com", "s", "sp");
    assert_eq!(paired(env).len(), 1, "erase keeps the pair");
    // Without its own credential the auth server now has nothing...
    env.erase("sso.example.com").ok();
    assert_not_found(env, "sso.example.com");
    assert!(env.list().is_empty());
    // ...until the registry logs in again.
    env.store("reg.example.com", "u2", "p2").ok();
    assert_get(env, "sso.example.com", "u2", "p2");
}

backend_tests!(logout_cascades_to_the_pair_and_an_unshared_auth_server);
fn logout_cascades_to_the_pair_and_an_unshared_auth_server(backend: Backend) {
    let env = &Env::new(backend);
    // Two registries share sso.example.com, which has its own credential.
    login_with(
        env,
        &[
            "a.example.com",
            "-u",
            "alice",
            "--password-stdin",
            "--auth-server",
            "sso.example.com",
            "--auth-username",
            "sso-alice",
            "--auth-password-stdin",
        ],
        "a-pw\nsso-pw\n",
    );
    assert_get(env, "a.example.com", "alice", "a-pw");
    assert_get(env, "sso.example.com", "sso-alice", "sso-pw");
    // b agrees to use the auth server's credential a stored: they share it.
    login_with(
        env,
        &[
            "b.example.com",
            "-u",
            "alice",
            "--password-stdin",
            "--auth-server",
            "sso.example.com",
            "--use-auth-credential",
        ],
        "b-pw",
    );
    // c names the same auth server without agreeing: told, and not a user of it.
    let run = login_with(
        env,
        &[
            "c.example.com",
            "-u",
            "carol",
            "--password-stdin",
            "--auth-server",
            "sso.example.com",
        ],
        "c-pw",
    );
    assert!(
        run.stderr.contains("sso.example.com already holds a credential of its own (username sso-alice); it is not tied to c.example.com"),
        "{run:?}"
    );
    env.store("other.example.com", "o", "op").ok();

    let run = env.run(&["logout", "a.example.com"], b"");
    run.ok();
    assert!(
        run.stdout
            .contains("Kept auth server sso.example.com: still paired with b.example.com"),
        "{run:?}"
    );
    assert_not_found(env, "a.example.com");
    assert_get(env, "sso.example.com", "sso-alice", "sso-pw");
    assert_eq!(
        paired(env),
        [
            ("b.example.com".to_owned(), "sso.example.com".to_owned()),
            ("c.example.com".to_owned(), "sso.example.com".to_owned()),
        ]
    );
    let run = env.run(&["logout", "c.example.com"], b"");
    run.ok();
    assert!(
        run.stdout
            .contains("Kept the credential for sso.example.com: it was not stored with this pair"),
        "{run:?}"
    );
    assert_get(env, "sso.example.com", "sso-alice", "sso-pw");

    let run = env.run(&["logout", "b.example.com"], b"");
    run.ok();
    assert!(
        run.stdout
            .contains("Removed the credential for auth server sso.example.com"),
        "{run:?}"
    );
    assert_not_found(env, "b.example.com");
    assert_not_found(env, "sso.example.com");
    assert!(paired(env).is_empty());
    // Unrelated credentials stay.
    assert_get(env, "other.example.com", "o", "op");
    assert_eq!(env.list().len(), 1);
}

backend_tests!(logout_leaves_no_pair_without_credentials);
/// `logout --all` removes every credential and every pair (a pair whose
/// registry never logged in included), so `doctor` has nothing to warn about.
/// `logout AUTH_SERVER` removes the pairs left with no credential on either
/// side, and keeps those whose registry still answers.
fn logout_leaves_no_pair_without_credentials(backend: Backend) {
    let env = &Env::new(backend);
    login_with(
        env,
        &[
            "a.example.com",
            "-u",
            "alice",
            "--password-stdin",
            "--auth-server",
            "sso.example.com",
            "--auth-username",
            "sso-alice",
            "--auth-password-stdin",
        ],
        "a-pw\nsso-pw\n",
    );
    // Paired ahead of its login: no credential of its own.
    env.run(
        &["pair", "add", "later.example.com", "sso.example.com"],
        b"",
    )
    .ok();
    env.run(
        &["pair", "add", "c.example.com", "other-sso.example.com"],
        b"",
    )
    .ok();
    env.store("other-sso.example.com", "o", "op").ok();

    // The auth server's own logout: c.example.com's pair has nothing left.
    let run = env.run(&["logout", "other-sso.example.com"], b"");
    run.ok();
    assert!(
        run.stdout.contains(
            "Removed the pair c.example.com -> other-sso.example.com: no credential is left for it"
        ),
        "{run:?}"
    );
    assert_eq!(
        paired(env),
        [
            ("a.example.com".to_owned(), "sso.example.com".to_owned()),
            ("later.example.com".to_owned(), "sso.example.com".to_owned()),
        ]
    );

    let run = env.run(&["logout", "--all"], b"");
    run.ok();
    for line in [
        "Removed the credential for a.example.com",
        "Removed the credential for sso.example.com",
        "Removed the pair a.example.com -> sso.example.com",
        "Removed the pair later.example.com -> sso.example.com",
    ] {
        assert!(run.stdout.contains(line), "{line}: {run:?}");
    }
    assert!(env.list().is_empty());
    assert!(paired(env).is_empty());
    assert_not_found(env, "sso.example.com");
    let doctor = env.run(&["doctor"], b"");
    assert!(!doctor.stdout.contains("pairs:"), "{doctor:?}");
    let run = env.run(&["logout", "--all"], b"");
    assert_eq!(run.stdout, "No stored credentials\n", "{run:?}");
}

#[test]
fn pair_add_rm_and_their_errors() {
    let env = Env::new(Backend::File);
    let add = |r: &str, a: &str| env.run(&["pair", "add", r, a], b"");
    let run = add("https://Reg.example.com/v2/", "SSO.example.com");
    run.ok();
    assert_eq!(
        run.stdout,
        "Paired reg.example.com with auth server sso.example.com\n"
    );
    assert!(add("reg.example.com", "sso.example.com")
        .stdout
        .contains("already paired"));
    let run = add("reg.example.com", "sso2.example.com");
    run.ok();
    assert!(run.stdout.contains("(was sso.example.com)"), "{run:?}");
    for (r, a, needle) in [
        ("x.example.com", "x.example.com", "with itself"),
        ("sso2.example.com", "y.example.com", "is the auth server of"),
        ("z.example.com", "reg.example.com", "is itself a registry"),
        ("bad host", "sso.example.com", "invalid server URL"),
        (
            "w.example.com",
            "index.docker.io",
            "is Docker Hub's registry, not an auth server",
        ),
        (
            "w.example.com",
            "http://registry-1.docker.io",
            "is Docker Hub's registry",
        ),
    ] {
        let run = add(r, a);
        assert_eq!(run.code, 1, "{run:?}");
        assert!(run.stderr.starts_with("error: "), "{run:?}");
        assert!(run.stderr.contains(needle), "{needle}: {run:?}");
        assert_eq!(run.stderr.lines().count(), 1, "{run:?}");
    }
    assert_eq!(
        paired(&env),
        [("reg.example.com".to_owned(), "sso2.example.com".to_owned())]
    );
    // Reusing an auth server's credential needs one, and is the user's to name.
    let run = env.run(
        &[
            "pair",
            "add",
            "v.example.com",
            "sso3.example.com",
            "--use-auth-credential",
        ],
        b"",
    );
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr
            .contains("sso3.example.com holds no credential to use"),
        "{run:?}"
    );
    let run = env.run(
        &[
            "login",
            "v.example.com",
            "--discover",
            "--use-auth-credential",
            "-u",
            "u",
            "--password-stdin",
        ],
        b"pw\n",
    );
    assert_eq!(run.code, 2, "clap refuses it: {run:?}");
    env.run(&["pair", "rm", "reg.example.com"], b"").ok();
    assert!(paired(&env).is_empty());
    let run = env.run(&["pair", "rm", "reg.example.com"], b"");
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("is not paired"), "{run:?}");
    let run = env.run(&["pair", "ls"], b"");
    run.ok();
    assert!(run.stdout.starts_with("No pairs"), "{run:?}");
}

#[test]
fn login_auth_password_stdin_needs_two_lines() {
    let env = Env::new(Backend::File);
    let run = env.run(
        &[
            "login",
            "reg.example.com",
            "-u",
            "u",
            "--password-stdin",
            "--auth-server",
            "sso.example.com",
            "--auth-username",
            "s",
            "--auth-password-stdin",
        ],
        b"only-one-line\n",
    );
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("two non-empty lines"), "{run:?}");
    assert!(!run.stderr.contains("only-one-line"));
    assert!(env.list().is_empty(), "nothing stored on error");
    assert!(paired(&env).is_empty());
}

backend_tests!(concurrent_pair_adds_lose_nothing);
fn concurrent_pair_adds_lose_nothing(backend: Backend) {
    let env = Env::new(backend);
    let children: Vec<_> = (0..16)
        .map(|i| {
            let (cmd, input) = if i % 4 == 3 {
                // Credential writes race with the pair writes.
                let json = format!(
                    r#"{{"ServerURL":"reg{i}.example.com","Username":"u{i}","Secret":"s{i}"}}"#
                );
                (env.command(&["store"]), json)
            } else {
                let reg = format!("reg{i}.example.com");
                let auth = format!("sso{}.example.com", i % 2);
                (env.command(&["pair", "add", &reg, &auth]), String::new())
            };
            thread::spawn(move || run_command(cmd, input.as_bytes()))
        })
        .collect();
    for child in children {
        let run = child.join().unwrap();
        assert_eq!(run.code, 0, "{backend:?}: {run:?}");
    }
    let pairs = paired(&env);
    let want: Vec<(String, String)> = {
        let mut v: Vec<_> = (0..16)
            .filter(|i| i % 4 != 3)
            .map(|i| {
                (
                    format!("reg{i}.example.com"),
                    format!("sso{}.example.com", i % 2),
                )
            })
            .collect();
        v.sort();
        v
    };
    assert_eq!(pairs, want, "{backend:?}");
    for i in [3, 7, 11, 15] {
        assert_get(
            &env,
            &format!("reg{i}.example.com"),
            &format!("u{i}"),
            &format!("s{i}"),
        );
    }
}

// ---------------------------------------------------------------- discovery

/// How a test server answers.
#[derive(Clone, Copy)]
enum Mode {
    /// `401` with these `WWW-Authenticate` header lines.
    Challenge(&'static [&'static str]),
    /// `301` to another host.
    Redirect,
    /// Accepts, then never answers.
    Silent,
    /// Answers a TLS ClientHello with a fatal handshake_failure alert.
    TlsAlert,
}

/// A tiny HTTP/1.1 server on 127.0.0.1; records the request lines it got.
struct Server {
    port: u16,
    requests: Arc<Mutex<Vec<String>>>,
}

impl Server {
    fn start(mode: Mode) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let log = requests.clone();
        thread::spawn(move || {
            let mut held = Vec::new();
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                match mode {
                    Mode::Silent => held.push(conn),
                    _ => {
                        let log = log.clone();
                        thread::spawn(move || answer(conn, mode, &log));
                    }
                }
            }
        });
        Server { port, requests }
    }

    fn registry(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}

fn answer(mut conn: TcpStream, mode: Mode, log: &Mutex<Vec<String>>) {
    conn.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut head = Vec::new();
    let mut buf = [0u8; 2048];
    loop {
        let Ok(n) = conn.read(&mut buf) else { return };
        if n == 0 {
            return;
        }
        head.extend_from_slice(&buf[..n]);
        if head[0] == 0x16 {
            // A TLS ClientHello.
            let reply: &[u8] = match mode {
                Mode::TlsAlert => &[0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28],
                // A plain HTTP server answers TLS with 400, as Go's does.
                _ => b"HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n",
            };
            let _ = conn.write_all(reply);
            log.lock().unwrap().push("TLS".into());
            return;
        }
        if head.windows(4).any(|w| w == b"\r\n\r\n") {
            break;
        }
    }
    let text = String::from_utf8_lossy(&head).into_owned();
    log.lock()
        .unwrap()
        .push(text.lines().next().unwrap_or_default().to_owned());
    if let Mode::Challenge(headers) = mode {
        let mut reply =
            String::from("HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\n");
        for h in headers {
            reply.push_str(&format!("WWW-Authenticate: {h}\r\n"));
        }
        let body = r#"{"errors":[{"code":"UNAUTHORIZED"}]}"#;
        reply.push_str(&format!(
            "Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ));
        let _ = conn.write_all(reply.as_bytes());
    }
    if let Mode::Redirect = mode {
        let _ = conn.write_all(
            b"HTTP/1.1 301 Moved Permanently\r\nLocation: https://elsewhere.example.test/v2/\r\nContent-Length: 0\r\n\r\n",
        );
    }
}

const RH_LIKE: &[&str] = &[
    r#"Bearer realm="https://sso.example.test/auth/realms/rhcc/protocol/redhat-docker-v2/auth",service="docker-registry:5000,x",scope="repository:a/b:pull""#,
];

#[test]
fn discover_records_the_realm_host() {
    let server = Server::start(Mode::Challenge(RH_LIKE));
    let env = Env::new(Backend::File);
    let reg = server.registry();
    let run = env.run(&["pair", "discover", &reg, "--timeout", "10"], b"");
    run.ok();
    assert_eq!(
        run.stdout,
        format!("Paired {reg} with auth server sso.example.test (realm https://sso.example.test/auth/realms/rhcc/protocol/redhat-docker-v2/auth)\n")
    );
    // HTTPS was tried first; loopback then fell back to plain HTTP.
    assert!(run.stderr.contains("does not speak TLS"), "{run:?}");
    assert_eq!(server.requests(), ["TLS", "GET /v2/ HTTP/1.1"]);
    assert_eq!(paired(&env), [(reg.clone(), "sso.example.test".to_owned())]);
}

#[test]
fn discover_dry_run_prints_and_records_nothing() {
    let server = Server::start(Mode::Challenge(&[
        r#"Basic realm="registry""#,
        r#"Bearer realm="http://auth.example.test:8080/token",service="reg""#,
    ]));
    let env = Env::new(Backend::File);
    let reg = server.registry();
    let run = env.run(&["pair", "discover", &reg, "--dry-run"], b"");
    run.ok();
    assert!(
        run.stdout
            .contains("realm:       http://auth.example.test:8080/token"),
        "{run:?}"
    );
    assert!(run.stdout.contains("service:     reg\n"), "{run:?}");
    assert!(
        run.stdout
            .contains("auth server: http://auth.example.test:8080\n"),
        "{run:?}"
    );
    assert!(paired(&env).is_empty());
    assert!(env.store_bytes().is_none(), "dry run writes nothing");
}

/// A registry's challenge is untrusted text: a realm or service holding a
/// bidi override (U+202E) or an 8-bit CSI (U+009B) is printed escaped.
#[test]
fn discover_dry_run_escapes_control_and_bidi_characters() {
    let server = Server::start(Mode::Challenge(&[
        "Bearer realm=\"http://auth.example.test:8080/\u{202e}nekot\u{9b}31m\",service=\"re\u{202e}g\u{2066}\"",
    ]));
    let env = Env::new(Backend::File);
    let reg = server.registry();
    let run = env.run(&["pair", "discover", &reg, "--dry-run"], b"");
    run.ok();
    let all = format!("{}{}", run.stdout, run.stderr);
    assert!(
        !all.contains(['\u{202e}', '\u{9b}', '\u{2066}']),
        "raw control or bidi character: {run:?}"
    );
    assert!(
        run.stdout
            .contains("realm:       http://auth.example.test:8080/\\u{202e}nekot\\u{9b}31m\n"),
        "{run:?}"
    );
    assert!(
        run.stdout.contains("service:     re\\u{202e}g\\u{2066}\n"),
        "{run:?}"
    );
}

#[test]
fn discover_refuses_a_registry_that_does_not_delegate() {
    let env = Env::new(Backend::File);
    for (headers, needle) in [
        (
            &[r#"Basic realm="Registry Realm""#][..],
            "uses Basic authentication",
        ),
        (&[][..], "without a Bearer challenge"),
        (
            &[r#"Bearer realm="unterminated"#][..],
            "malformed WWW-Authenticate header",
        ),
    ] {
        let server = Server::start(Mode::Challenge(headers));
        let run = env.run(&["pair", "discover", &server.registry()], b"");
        assert_eq!(run.code, 1, "{run:?}");
        assert!(run.stdout.is_empty(), "{run:?}");
        let err = run.stderr.lines().last().unwrap_or_default();
        assert!(
            err.starts_with("error: ") && err.contains(needle),
            "{needle}: {run:?}"
        );
    }
    let server = Server::start(Mode::Redirect);
    let run = env.run(&["pair", "discover", &server.registry()], b"");
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr
            .contains("redirects (301) to https://elsewhere.example.test/v2/"),
        "{run:?}"
    );
    assert!(paired(&env).is_empty());
}

#[test]
fn discover_times_out_within_its_bound() {
    let _machine = time::timed();
    let server = Server::start(Mode::Silent);
    let env = Env::new(Backend::File);
    let start = Instant::now();
    let run = env.run(
        &["pair", "discover", &server.registry(), "--timeout", "1"],
        b"",
    );
    let took = start.elapsed();
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("timed out after 1s"), "{run:?}");
    assert!(took < bound(Duration::from_secs(5)), "took {took:?}");
    assert!(paired(&env).is_empty());
}

#[test]
fn discover_reports_tls_failures() {
    let server = Server::start(Mode::TlsAlert);
    let env = Env::new(Backend::File);
    let run = env.run(&["pair", "discover", &server.registry()], b"");
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.contains("TLS failure talking to 127.0.0.1"),
        "{run:?}"
    );
    assert!(paired(&env).is_empty());
}

#[test]
fn discover_never_uses_plain_http_off_loopback_unasked() {
    let env = Env::new(Backend::File);
    let run = env.run(
        &["pair", "discover", "http://registry.example.invalid"],
        b"",
    );
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("refusing plain HTTP"), "{run:?}");
    let run = env.run(
        &["pair", "discover", "reg.example.com", "--timeout", "0"],
        b"",
    );
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("--timeout must be"), "{run:?}");
}

backend_tests!(login_discover_links_in_one_step);
fn login_discover_links_in_one_step(backend: Backend) {
    let server = Server::start(Mode::Challenge(RH_LIKE));
    let env = &Env::new(backend);
    let reg = server.registry();
    let run = env.run(
        &[
            "login",
            "--no-verify",
            &reg,
            "-u",
            "alice",
            "--password-stdin",
            "--discover",
        ],
        b"reg-pw\n",
    );
    run.ok();
    assert!(run.stdout.contains("without checking"), "{run:?}");
    assert!(
        run.stdout
            .contains(&format!("Paired {reg} with auth server sso.example.test")),
        "{run:?}"
    );
    assert_get(env, &reg, "alice", "reg-pw");
    assert_get(env, "sso.example.test", "alice", "reg-pw");
}

/// `login --discover` at a registry that does not delegate stores nothing.
#[test]
fn login_discover_at_a_basic_auth_registry_stores_nothing() {
    let basic = Server::start(Mode::Challenge(&[r#"Basic realm="r""#]));
    let env = Env::new(Backend::File);
    let run = env.run(
        &[
            "login",
            &basic.registry(),
            "-u",
            "a",
            "--password-stdin",
            "--discover",
        ],
        b"pw\n",
    );
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("uses Basic authentication"), "{run:?}");
    assert!(env.list().is_empty());
}

// ---------------------------------------------------------------- HTTPS

/// A CA and a server certificate for 127.0.0.1 signed by it (openssl CLI).
fn make_certs(dir: &std::path::Path) {
    let sh = |script: &str| {
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(script)
            .current_dir(dir)
            .output()
            .expect("openssl (Debian package openssl)");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    sh(
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -keyout ca.key -out ca.pem -days 2 -subj /CN=dck-test-ca \
        -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign 2>&1",
    );
    sh("openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -keyout server.key -out server.csr -subj /CN=127.0.0.1 2>&1 && \
        printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\nbasicConstraints=CA:FALSE\\nextendedKeyUsage=serverAuth\\n' > ext && \
        openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
        -out server.pem -days 2 -extfile ext 2>&1");
}

/// How a test server answers one request, from its head (request line and headers).
type Respond = Arc<dyn Fn(&str) -> String + Send + Sync>;

/// An HTTPS server on 127.0.0.1 (the certificate of [`make_certs`]) whose
/// answers `respond` writes; logs `TLS <request line>`.
fn start_tls_with(dir: &std::path::Path, respond: Respond) -> Server {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(dir.join("server.pem"))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let key = PrivateKeyDer::from_pem_file(dir.join("server.key")).unwrap();
    let config = Arc::new(
        rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap(),
    );
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let requests = Arc::new(Mutex::new(Vec::new()));
    let log = requests.clone();
    thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(tcp) = conn else { continue };
            let (config, log, respond) = (config.clone(), log.clone(), respond.clone());
            thread::spawn(move || {
                tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
                let conn = rustls::ServerConnection::new(config).unwrap();
                let mut tls = rustls::StreamOwned::new(conn, tcp);
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match tls.read(&mut buf) {
                        Ok(0) | Err(_) => {
                            log.lock().unwrap().push("TLS handshake failed".into());
                            return;
                        }
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let head = String::from_utf8_lossy(&head).into_owned();
                let line = head.lines().next().unwrap().to_owned();
                log.lock().unwrap().push(format!("TLS {line}"));
                let _ = tls.write_all(respond(&head).as_bytes());
                tls.conn.send_close_notify();
                let _ = tls.flush();
            });
        }
    });
    Server { port, requests }
}

/// An HTTPS server on 127.0.0.1 answering `/v2/` with a Bearer challenge.
fn start_tls_server(dir: &std::path::Path) -> Server {
    start_tls_with(
        dir,
        Arc::new(|_| {
            "HTTP/1.1 401 Unauthorized\r\nWww-Authenticate: Bearer realm=\"https://tls-sso.example.test/token\",service=\"s\"\r\nContent-Length: 0\r\n\r\n".into()
        }),
    )
}

#[test]
fn discover_over_https_checks_the_certificate_against_the_roots() {
    let certs = tempfile::tempdir().unwrap();
    make_certs(certs.path());
    let server = start_tls_server(certs.path());
    let env = Env::new(Backend::File);
    let reg = server.registry();

    // Our CA is not a system root: the certificate is refused, no HTTP fallback.
    let run = env.run(&["pair", "discover", &reg], b"");
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("TLS failure talking to"), "{run:?}");
    assert!(!run.stderr.contains("does not speak TLS"), "{run:?}");
    assert!(paired(&env).is_empty());

    // With the CA as the root store (SSL_CERT_FILE), HTTPS succeeds.
    let mut cmd = env.command(&["pair", "discover", &reg]);
    cmd.env("SSL_CERT_FILE", certs.path().join("ca.pem"));
    let run = run_command(cmd, b"");
    run.ok();
    assert!(run.stderr.is_empty(), "{run:?}");
    assert_eq!(paired(&env), [(reg, "tls-sso.example.test".to_owned())]);
    assert_eq!(
        server.requests().last().map(String::as_str),
        Some("TLS GET /v2/ HTTP/1.1")
    );
}

backend_tests!(login_with_auth_server_then_export_carries_both_entries);
/// The pairs workflow end to end: `login REGISTRY --auth-server SSO` then `export`
/// gives a pull secret with both entries, and `--no-auth-servers` leaves SSO out.
fn login_with_auth_server_then_export_carries_both_entries(backend: Backend) {
    let env = &Env::new(backend);
    login_with(
        env,
        &[
            "privateregistry.example.com",
            "-u",
            "svc",
            "--password-stdin",
            "--auth-server",
            "sso.redhat.com",
        ],
        "pa:ss\n",
    );
    let run = env.run(
        &["export", "--registry", "privateregistry.example.com"],
        b"",
    );
    run.ok();
    let payload: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let auths = payload["auths"].as_object().expect("auths");
    let keys: Vec<&str> = auths.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        ["privateregistry.example.com", "sso.redhat.com"],
        "{:?}",
        env.backend
    );
    for entry in auths.values() {
        assert_eq!(entry["username"], "svc");
        assert_eq!(entry["password"], "pa:ss");
        assert_eq!(entry["auth"], "c3ZjOnBhOnNz"); // base64("svc:pa:ss")
    }
    let run = env.run(
        &[
            "export",
            "--registry",
            "privateregistry.example.com",
            "--no-auth-servers",
        ],
        b"",
    );
    run.ok();
    let payload: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(
        payload["auths"].as_object().unwrap().len(),
        1,
        "{}",
        run.stdout
    );
}

// ---------------------------------------------------------------- trust

/// A plain-HTTP server on 127.0.0.1 whose answers `respond` writes; logs each request head.
fn start_plain_with(respond: Respond) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let requests = Arc::new(Mutex::new(Vec::new()));
    let log = requests.clone();
    thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            let (log, respond) = (log.clone(), respond.clone());
            thread::spawn(move || {
                conn.set_read_timeout(Some(Duration::from_secs(10)))
                    .unwrap();
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match conn.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                    if head[0] == 0x16 {
                        // A TLS ClientHello: answered as Go's plain HTTP server does.
                        let _ = conn.write_all(b"HTTP/1.0 400 Bad Request\r\n\r\n");
                        return;
                    }
                }
                let head = String::from_utf8_lossy(&head).into_owned();
                log.lock().unwrap().push(head.clone());
                let _ = conn.write_all(respond(&head).as_bytes());
            });
        }
    });
    Server { port, requests }
}

fn reply(status: &str, headers: &str, body: &str) -> String {
    format!(
        "HTTP/1.1 {status}\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().find_map(|l| {
        let (n, v) = l.split_once(':')?;
        n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

const HONEST_USER: &str = "honest-user";
const HONEST_PW: &str = "honest-Secret-pw-3";
/// The token the honest registry mints for its user's credential.
const HONEST_TOKEN: &str = "tok-minted-for-honest-user";

/// An honest TLS registry whose token realm is on itself: `/token` mints
/// [`HONEST_TOKEN`] for exactly [`HONEST_USER`]'s credential; `/v2/` accepts it.
fn start_honest_registry(certs: &std::path::Path) -> Server {
    let good = format!("Basic {}", common::human::auth_b64(HONEST_USER, HONEST_PW));
    let port = Arc::new(Mutex::new(0u16));
    let realm_port = port.clone();
    let server = start_tls_with(
        certs,
        Arc::new(move |head| {
            let auth = header(head, "authorization").unwrap_or_default();
            if head.starts_with("GET /token") {
                return if auth == good {
                    reply("200 OK", "", &format!(r#"{{"token":"{HONEST_TOKEN}"}}"#))
                } else {
                    reply("401 Unauthorized", "", "")
                };
            }
            if auth == format!("Bearer {HONEST_TOKEN}") {
                return reply("200 OK", "", "{}");
            }
            let p = *realm_port.lock().unwrap();
            reply(
                "401 Unauthorized",
                &format!("Www-Authenticate: Bearer realm=\"https://127.0.0.1:{p}/token\",service=\"honest\"\r\n"),
                "",
            )
        }),
    );
    *port.lock().unwrap() = server.port;
    server
}

/// A hostile registry (plain HTTP on loopback) whose challenge names the
/// honest registry's token URL, with a push scope; it accepts any token and
/// logs every request head (what it was handed).
fn start_hostile_registry(honest_port: u16) -> Server {
    start_plain_with(Arc::new(move |head| {
        if header(head, "authorization").is_some() {
            return reply("200 OK", "", "{}");
        }
        reply(
            "401 Unauthorized",
            &format!("Www-Authenticate: Bearer realm=\"https://127.0.0.1:{honest_port}/token\",service=\"honest\",scope=\"repository:victim/app:push\"\r\n"),
            "",
        )
    }))
}

/// The adversarial reproduction: a registry whose challenge names the token
/// realm of a host the user holds an unrelated credential for never gets a
/// token minted with it, and that credential is not exported, not deleted
/// and still checked on its own.
#[test]
fn a_hostile_realm_never_picks_another_credential() {
    let certs = tempfile::tempdir().unwrap();
    make_certs(certs.path());
    let honest = start_honest_registry(certs.path());
    let hostile = start_hostile_registry(honest.port);
    let env = Env::new(Backend::File);
    let run_with_ca = |args: &[&str], stdin: &str| {
        let mut cmd = common::human::human_command(&env, args);
        cmd.env("SSL_CERT_FILE", certs.path().join("ca.pem")).env(
            "DOCKER_CREDENTIAL_KEYRING_CERTS_D",
            certs.path().join("none"),
        );
        for var in ["HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"] {
            cmd.env_remove(var);
        }
        run_command(cmd, stdin.as_bytes())
    };
    let (h, e) = (honest.registry(), hostile.registry());
    // The user's own, verified login to the honest registry.
    run_with_ca(
        &["login", &h, "-u", HONEST_USER, "--password-stdin"],
        &format!("{HONEST_PW}\n"),
    )
    .ok();
    let never_handed_over = |what: &str| {
        for head in hostile.requests() {
            assert!(
                !head.contains(HONEST_TOKEN),
                "{what}: the hostile registry got the honest token: {head}"
            );
        }
    };

    // login --discover at the hostile registry: the honest credential is not
    // sent for it; its own goes to the realm it names, and is refused there.
    let run = run_with_ca(
        &["login", &e, "-u", "eve", "--password-stdin", "--discover"],
        "eve-pw\n",
    );
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.contains(&format!("{h} already holds a credential of its own (username {HONEST_USER}); it is not tied to {e}")),
        "{run:?}"
    );
    assert!(run.stderr.contains("refused the credential"), "{run:?}");
    never_handed_over("login");
    assert!(paired(&env).is_empty(), "nothing stored on refusal");

    // Recorded unchecked, the pair still never reaches the other credential.
    run_with_ca(
        &[
            "login",
            "--no-verify",
            &e,
            "-u",
            "eve",
            "--password-stdin",
            "--discover",
        ],
        "eve-pw\n",
    )
    .ok();
    assert_eq!(paired(&env), [(e.clone(), h.clone())]);
    assert_eq!(pairs_json(&env)[0]["authCredential"], "registry");

    let export = env.run(&["export", "--registry", &e], b"");
    export.ok();
    let payload: serde_json::Value = serde_json::from_str(&export.stdout).unwrap();
    assert_eq!(
        payload["auths"]
            .as_object()
            .unwrap()
            .keys()
            .collect::<Vec<_>>(),
        [&e],
        "{export:?}"
    );
    assert!(
        export
            .stderr
            .contains(&format!("{h}: auth server of {e} left out")),
        "{export:?}"
    );
    common::human::assert_no_secret(&export, &[(HONEST_USER, HONEST_PW)]);

    let doctor = env.run(&["doctor"], b"");
    assert!(
        doctor.stdout.contains(&format!(
            "{e} is paired with {h}, which holds a credential of its own (username {HONEST_USER}) not tied to {e}"
        )),
        "{doctor:?}"
    );

    let check = run_with_ca(&["check", "--json", "--timeout", "20"], "");
    let rows: Vec<serde_json::Value> =
        serde_json::from_str(&check.stdout).unwrap_or_else(|_| panic!("{check:?}"));
    let row = |server: &str| rows.iter().find(|r| r["server"] == server).unwrap().clone();
    assert_eq!(
        row(&h)["status"],
        "ok",
        "the honest credential is checked on its own: {check:?}"
    );
    assert_eq!(row(&e)["status"], "rejected", "{check:?}");
    never_handed_over("check");
    common::human::assert_no_secret(&check, &[(HONEST_USER, HONEST_PW)]);

    let logout = env.run(&["logout", &e], b"");
    logout.ok();
    assert!(
        logout
            .stdout
            .contains(&format!("Kept the credential for {h}")),
        "{logout:?}"
    );
    assert_get(&env, &h, HONEST_USER, HONEST_PW);
}

backend_tests!(repairing_with_another_spelling_removes_what_the_old_pair_owned);
/// Re-pairing a registry with another spelling of its auth server (another
/// key) removes the auth-server credential the old pair stored; `logout`
/// then removes the new one, and nothing else.
fn repairing_with_another_spelling_removes_what_the_old_pair_owned(backend: Backend) {
    let env = &Env::new(backend);
    let login_paired = |auth: &str, pw: &str| {
        login_with(
            env,
            &[
                "reg.example.com",
                "-u",
                "alice",
                "--password-stdin",
                "--auth-server",
                auth,
                "--auth-username",
                "sso-alice",
                "--auth-password-stdin",
            ],
            &format!("reg-pw\n{pw}\n"),
        )
    };
    env.store("unrelated.example.com", "u", "p").ok();
    login_paired("localhost:5999", "old-sso-pw");
    assert_get(env, "localhost:5999", "sso-alice", "old-sso-pw");
    let run = login_paired("http://localhost:5999", "new-sso-pw");
    assert!(
        run.stdout.contains(
            "Removed the credential for auth server localhost:5999 (stored with the replaced pair)"
        ),
        "{run:?}"
    );
    assert_not_found(env, "localhost:5999");
    assert_get(env, "http://localhost:5999", "sso-alice", "new-sso-pw");
    assert_eq!(
        paired(env),
        [(
            "reg.example.com".to_owned(),
            "http://localhost:5999".to_owned()
        )]
    );
    let run = env.run(&["check", "--timeout", "2"], b"");
    assert!(
        !run.stdout.lines().any(|l| l.starts_with("localhost:5999 ")),
        "the old key is gone: {run:?}"
    );
    env.run(&["logout", "reg.example.com"], b"").ok();
    assert_not_found(env, "http://localhost:5999");
    assert!(paired(env).is_empty());
    assert_eq!(env.list().len(), 1, "only the unrelated credential stays");
    assert_get(env, "unrelated.example.com", "u", "p");
}

/// A login never replaces a credential the auth-server key already holds
/// that no pair stored (the OpenShift release credential on quay.io, say),
/// whether the registry's challenge named the host or the user did.
#[test]
fn a_paired_login_never_replaces_an_unrelated_credential() {
    let certs = tempfile::tempdir().unwrap();
    make_certs(certs.path());
    let honest = start_honest_registry(certs.path());
    let hostile = start_hostile_registry(honest.port);
    let env = Env::new(Backend::File);
    let h = honest.registry();
    env.store(&h, HONEST_USER, HONEST_PW).ok();
    let mut cmd = common::human::human_command(
        &env,
        &[
            "login",
            "--no-verify",
            &hostile.registry(),
            "-u",
            "eve",
            "--password-stdin",
            "--discover",
            "--auth-username",
            "eve2",
            "--auth-password-stdin",
        ],
    );
    cmd.env("SSL_CERT_FILE", certs.path().join("ca.pem"));
    let run = run_command(cmd, b"eve-pw\neve2-pw\n");
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr
            .contains("not replacing it for a registry's challenge"),
        "{run:?}"
    );
    let named = common::human::human_command(
        &env,
        &[
            "login",
            "--no-verify",
            "reg.example.com",
            "-u",
            "eve",
            "--password-stdin",
            "--auth-server",
            &h,
            "--auth-username",
            "eve2",
            "--auth-password-stdin",
        ],
    );
    let run = run_command(named, b"eve-pw\neve2-pw\n");
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.contains("that no pair stored: not replacing it"),
        "{run:?}"
    );
    assert_get(&env, &h, HONEST_USER, HONEST_PW);
    assert!(paired(&env).is_empty());
}

backend_tests!(a_tie_lapses_when_another_user_logs_in_to_the_auth_server);
/// The pair ties the auth-server credential it stored, by username: a later
/// `docker login` of the auth server as someone else is not used for the
/// registry, and `logout REGISTRY` leaves it.
fn a_tie_lapses_when_another_user_logs_in_to_the_auth_server(backend: Backend) {
    let env = &Env::new(backend);
    login_with(
        env,
        &[
            "reg.example.com",
            "-u",
            "alice",
            "--password-stdin",
            "--auth-server",
            "sso.example.com",
            "--auth-username",
            "bob",
            "--auth-password-stdin",
        ],
        "reg-pw\nbob-pw\n",
    );
    assert_eq!(pairs_json(env)[0]["authCredential"], "owned");
    env.store("sso.example.com", "carol", "carol-pw").ok();
    assert_eq!(pairs_json(env)[0]["authCredential"], "registry");
    let export = env.run(&["export", "--registry", "reg.example.com"], b"");
    assert!(
        export
            .ok()
            .stderr
            .contains("sso.example.com: auth server of reg.example.com left out"),
        "{export:?}"
    );
    let run = env.run(&["logout", "reg.example.com"], b"");
    assert!(
        run.ok()
            .stdout
            .contains("Kept the credential for sso.example.com"),
        "{run:?}"
    );
    assert_get(env, "sso.example.com", "carol", "carol-pw");
}

/// `--merge` writes only what `--registry` names: a paired auth server is not
/// merged along (a note names it), so a pair cannot change another entry of
/// someone else's pull secret.
#[test]
fn a_merge_never_writes_an_unnamed_auth_server() {
    let env = Env::new(Backend::File);
    login_with(
        &env,
        &[
            "evil.example.com",
            "-u",
            "alice",
            "--password-stdin",
            "--auth-server",
            "registry.redhat.io",
        ],
        "evil-pw\n",
    );
    let theirs = common::human::auth_b64("alice", "their-pw");
    let doc = serde_json::json!({"auths": {"registry.redhat.io": {"auth": theirs}}});
    let run = env.run(
        &["export", "--merge", "-", "--registry", "evil.example.com"],
        doc.to_string().as_bytes(),
    );
    run.ok();
    let merged: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(
        merged["auths"]["registry.redhat.io"]["auth"], theirs,
        "{run:?}"
    );
    assert!(
        run.stderr
            .contains("registry.redhat.io: auth server of evil.example.com not merged"),
        "{run:?}"
    );
    // Named, it is merged (and reported).
    let run = env.run(
        &[
            "export",
            "--merge",
            "-",
            "--registry",
            "evil.example.com",
            "--registry",
            "registry.redhat.io",
        ],
        doc.to_string().as_bytes(),
    );
    assert!(
        run.ok()
            .stderr
            .contains("merge: registry.redhat.io: updated"),
        "{run:?}"
    );
}
