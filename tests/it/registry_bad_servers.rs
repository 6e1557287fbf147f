//! Registries and token servers that misbehave (fakes on 127.0.0.1, each a
//! thread answering raw bytes): one that hangs, huge or malformed headers,
//! garbage instead of HTTP, a token response that is not JSON, has no token or
//! is huge, a realm that redirects to another host. `login` fails with a clear
//! error in bounded time, never panics, stores nothing and never shows the
//! secret; a redirect to another host never gets the credential. A certs.d
//! directory of files that must not be read (a FIFO, `/dev/zero`, a huge
//! sparse file) costs a warning each, not a hang. No message shows the query,
//! fragment or user information of a realm or a redirect. A limit that is hit
//! (response headers, body) is named; a 900 KB token is sent back.

use crate::common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use common::time::{self, bound};
use common::{Backend, Env, Run};

const SECRET: &str = "bad-server-Secret-3";

/// What a fake server answers to one request head.
type Answer = Box<dyn Fn(&str) -> Option<Vec<u8>> + Send + Sync>;

/// A fake server on `ip`; returns its port and the request heads it saw.
fn serve(ip: &str, answer: Answer) -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind((ip, 0)).unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let answer = Arc::new(answer);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let answer = answer.clone();
            let log = log.clone();
            std::thread::spawn(move || handle(stream, &answer, &log));
        }
    });
    (port, seen)
}

fn handle(mut stream: TcpStream, answer: &Answer, log: &Mutex<Vec<String>>) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    // Heads up to 4 MiB: a test sends a 900 KB token back.
    let mut reader = std::io::BufReader::new(stream.try_clone().unwrap());
    while !head.ends_with(b"\r\n\r\n") && head.len() < 4 << 20 {
        match reader.read(&mut byte) {
            // A TLS ClientHello: close, as a plain-HTTP server's peer sees it
            // (the client then falls back to plain HTTP for a loopback host).
            Ok(1) if head.is_empty() && byte[0] == 0x16 => return,
            Ok(1) => head.push(byte[0]),
            _ => return,
        }
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    log.lock().unwrap().push(head.clone());
    match answer(&head) {
        Some(bytes) => {
            let _ = stream.write_all(&bytes);
        }
        // Hang: hold the connection open without answering.
        None => std::thread::sleep(Duration::from_secs(30)),
    }
}

fn response(status: &str, headers: &[String], body: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for h in headers {
        out.push_str(h);
        out.push_str("\r\n");
    }
    out.push_str("\r\n");
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

/// A registry whose /v2/ sends clients to `realm` (a Bearer challenge).
fn bearer_registry(realm: String) -> u16 {
    serve(
        "127.0.0.1",
        Box::new(move |_| {
            Some(response(
                "401 Unauthorized",
                &[format!(
                    r#"WWW-Authenticate: Bearer realm="{realm}",service="fake""#
                )],
                b"{}",
            ))
        }),
    )
    .0
}

fn login(env: &Env, host: &str) -> (Run, Duration) {
    let mut cmd = env.command(&[
        "login",
        "-u",
        "alice",
        "--password-stdin",
        host,
        "--timeout",
        "3",
    ]);
    for name in ["HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"] {
        cmd.env_remove(name);
    }
    let started = Instant::now();
    let run = common::run_command(cmd, format!("{SECRET}\n").as_bytes());
    let took = started.elapsed();
    let b64 = base64::engine::general_purpose::STANDARD.encode(format!("alice:{SECRET}"));
    for needle in [SECRET, b64.as_str()] {
        assert!(
            !run.stdout.contains(needle) && !run.stderr.contains(needle),
            "secret shown: {run:?}"
        );
    }
    assert!(!run.stderr.contains("panicked"), "{run:?}");
    assert!(env.list().is_empty(), "nothing stored: {run:?}");
    (run, took)
}

fn assert_fails(env: &Env, host: &str, needle: &str) {
    let (run, took) = login(env, host);
    assert_eq!(run.code, 1, "{needle}: {run:?}");
    assert!(run.stderr.starts_with("error: "), "{run:?}");
    assert_eq!(run.stderr.lines().count(), 1, "one line: {run:?}");
    assert!(run.stderr.contains(needle), "want {needle:?}: {run:?}");
    assert!(
        took < bound(Duration::from_secs(8)),
        "{needle}: took {took:?}"
    );
}

#[test]
fn misbehaving_registries_give_clear_errors_in_bounded_time() {
    let _machine = time::timed();
    let env = Env::new(Backend::File);

    let (hang, _) = serve("127.0.0.1", Box::new(|_| None));
    assert_fails(&env, &format!("127.0.0.1:{hang}"), "timed out after 3s");

    let (huge, _) = serve(
        "127.0.0.1",
        Box::new(|_| {
            Some(response(
                "401 Unauthorized",
                &[format!("X-Big: {}", "a".repeat(900_000))],
                b"",
            ))
        }),
    );
    assert_fails(
        &env,
        &format!("127.0.0.1:{huge}"),
        &format!("the response headers of http://127.0.0.1:{huge}/v2/ exceed the 64 KiB limit"),
    );

    let (malformed, _) = serve(
        "127.0.0.1",
        Box::new(|_| {
            Some(response(
                "401 Unauthorized",
                &[r#"WWW-Authenticate: Bearer realm="unterminated"#.to_owned()],
                b"",
            ))
        }),
    );
    assert_fails(
        &env,
        &format!("127.0.0.1:{malformed}"),
        "malformed WWW-Authenticate",
    );

    let (garbage, _) = serve(
        "127.0.0.1",
        Box::new(|_| Some(b"SSH-2.0-OpenSSH_9.2\r\n\r\n".to_vec())),
    );
    assert_fails(&env, &format!("127.0.0.1:{garbage}"), "127.0.0.1");
}

#[test]
fn misbehaving_token_servers_give_clear_errors() {
    let _machine = time::timed();
    let env = Env::new(Backend::File);
    for (body, needle) in [
        (b"<html>not json</html>".to_vec(), "is not JSON"),
        (br#"{"expires_in":60}"#.to_vec(), "holds no token"),
        (
            vec![b' '; 2 * 1024 * 1024],
            "/token exceeds the 1 MiB limit",
        ),
    ] {
        let (tokens, _) = serve(
            "127.0.0.2",
            Box::new(move |_| {
                Some(response(
                    "200 OK",
                    &["Content-Type: application/json".into()],
                    &body,
                ))
            }),
        );
        let registry = bearer_registry(format!("http://127.0.0.2:{tokens}/token"));
        assert_fails(&env, &format!("127.0.0.1:{registry}"), needle);
    }
}

#[test]
fn a_realm_redirecting_elsewhere_never_gets_the_credential_there() {
    let env = Env::new(Backend::File);
    // The other host: records what it was sent, refuses.
    let (thief, thief_seen) = serve(
        "127.0.0.3",
        Box::new(|_| Some(response("401 Unauthorized", &[], b"{}"))),
    );
    let (tokens, tokens_seen) = serve(
        "127.0.0.2",
        Box::new(move |_| {
            Some(response(
                "302 Found",
                &[format!("Location: http://127.0.0.3:{thief}/token")],
                b"",
            ))
        }),
    );
    let registry = bearer_registry(format!("http://127.0.0.2:{tokens}/token"));
    let (run, _) = login(&env, &format!("127.0.0.1:{registry}"));
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.contains("auth server") && run.stderr.contains("401"),
        "{run:?}"
    );
    let realm_heads = tokens_seen.lock().unwrap().clone();
    assert!(
        realm_heads
            .iter()
            .any(|h| h.to_ascii_lowercase().contains("authorization: basic")),
        "the realm itself gets the credential: {realm_heads:?}"
    );
    let heads = thief_seen.lock().unwrap().clone();
    assert!(!heads.is_empty(), "the redirect was followed");
    for head in heads {
        assert!(
            !head.to_ascii_lowercase().contains("authorization"),
            "{head}"
        );
    }
}

#[test]
fn a_refresh_token_post_redirected_elsewhere_keeps_its_body_home() {
    // The identity token travels in the POST body, not in a header: a realm
    // that redirects the POST to another host must not get it re-sent there.
    for status in ["302 Found", "307 Temporary Redirect"] {
        let env = Env::new(Backend::File);
        let (thief, thief_seen) = serve(
            "127.0.0.3",
            Box::new(|_| Some(response("401 Unauthorized", &[], b"{}"))),
        );
        let (tokens, _) = serve(
            "127.0.0.2",
            Box::new(move |_| {
                Some(response(
                    status,
                    &[format!("Location: http://127.0.0.3:{thief}/token")],
                    b"",
                ))
            }),
        );
        let registry = bearer_registry(format!("http://127.0.0.2:{tokens}/token"));
        let mut cmd = env.command(&[
            "login",
            "-u",
            "<token>",
            "--password-stdin",
            &format!("127.0.0.1:{registry}"),
            "--timeout",
            "3",
        ]);
        for name in ["HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"] {
            cmd.env_remove(name);
        }
        let run = common::run_command(cmd, format!("{SECRET}\n").as_bytes());
        assert_eq!(run.code, 1, "{status}: {run:?}");
        assert!(!run.stderr.contains(SECRET), "{run:?}");
        for head in thief_seen.lock().unwrap().iter() {
            let head = head.to_ascii_lowercase();
            assert!(
                head.starts_with("get ") && !head.contains("content-length"),
                "{status}: the refresh token's body went to the other host: {head}"
            );
        }
    }
}

#[test]
fn a_realm_off_the_paired_auth_server_never_gets_its_own_credential() {
    // The pair names 127.0.0.2 as the auth server, with its own credential;
    // the registry's realm is on 127.0.0.3. The SSO credential must not go
    // there (the registry's own credential may, as docker sends it).
    const SSO_SECRET: &str = "sso-Secret-9";
    let env = Env::new(Backend::File);
    let (elsewhere, seen) = serve(
        "127.0.0.3",
        Box::new(|_| Some(response("401 Unauthorized", &[], b"{}"))),
    );
    let registry = bearer_registry(format!("http://127.0.0.3:{elsewhere}/token"));
    let mut cmd = env.command(&[
        "login",
        "-u",
        "alice",
        "--password-stdin",
        "--auth-server",
        "127.0.0.2:9",
        "--auth-username",
        "sso-user",
        "--auth-password-stdin",
        &format!("127.0.0.1:{registry}"),
        "--timeout",
        "3",
    ]);
    for name in ["HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"] {
        cmd.env_remove(name);
    }
    let run = common::run_command(cmd, format!("{SECRET}\n{SSO_SECRET}\n").as_bytes());
    assert_eq!(run.code, 1, "{run:?}");
    assert!(!run.stderr.contains(SSO_SECRET), "{run:?}");
    assert!(run.stderr.contains("not sending"), "{run:?}");
    let sso_basic = base64::engine::general_purpose::STANDARD
        .encode(format!("sso-user:{SSO_SECRET}"))
        .to_ascii_lowercase();
    for head in seen.lock().unwrap().iter() {
        let head = head.to_ascii_lowercase();
        assert!(
            !head.contains(&sso_basic) && !head.contains("sso-user"),
            "the auth server's credential went to another host: {head}"
        );
    }
    let ls = env.run(&["ls", "--json"], b"");
    assert!(!ls.stdout.contains("127.0.0.1"), "nothing stored: {ls:?}");
}

/// A registry on 127.0.0.1 with a Basic challenge that accepts alice:SECRET.
#[cfg(unix)]
fn basic_registry() -> u16 {
    let good = base64::engine::general_purpose::STANDARD.encode(format!("alice:{SECRET}"));
    serve(
        "127.0.0.1",
        Box::new(move |head| {
            let authorized = head
                .lines()
                .any(|l| l.eq_ignore_ascii_case(&format!("authorization: basic {good}")));
            Some(if authorized {
                response("200 OK", &[], b"{}")
            } else {
                response(
                    "401 Unauthorized",
                    &[r#"WWW-Authenticate: Basic realm="fake""#.to_owned()],
                    b"{}",
                )
            })
        }),
    )
    .0
}

#[cfg(unix)]
#[test]
fn certs_d_files_that_are_not_small_regular_files_are_skipped_with_a_warning() {
    let _machine = time::timed();
    // A FIFO once hung `login --timeout 3` for ever; /dev/zero read until
    // memory ran out.
    let env = Env::new(Backend::File);
    let host = format!("127.0.0.1:{}", basic_registry());
    let certs_d = env.home().join("certs.d");
    let dir = certs_d.join(&host);
    std::fs::create_dir_all(dir.join("directory.crt")).unwrap();
    let fifo = dir.join("fifo.crt");
    assert!(std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    std::os::unix::fs::symlink("/dev/zero", dir.join("zero.crt")).unwrap();
    std::fs::File::create(dir.join("huge.crt"))
        .unwrap()
        .set_len(16 << 30)
        .unwrap();
    let expected = [
        ("directory.crt", "a directory"),
        ("fifo.crt", "a FIFO"),
        ("huge.crt", "larger than the 1 MiB limit"),
        ("zero.crt", "a character device"),
    ];
    let run = |args: &[&str], stdin: &str| {
        let mut cmd = env.command(args);
        cmd.env("DOCKER_CREDENTIAL_KEYRING_CERTS_D", &certs_d);
        for name in ["HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"] {
            cmd.env_remove(name);
        }
        let started = Instant::now();
        let run = common::run_command_within(cmd, stdin.as_bytes(), Duration::from_secs(20));
        assert!(started.elapsed() < bound(Duration::from_secs(5)), "{run:?}");
        for (file, why) in expected {
            let warning = format!("warning: skipping {}: ", dir.join(file).display());
            let line = run.stderr.lines().find(|l| l.starts_with(&warning));
            assert!(line.is_some_and(|l| l.contains(why)), "{file}: {run:?}");
        }
        assert_eq!(
            run.stderr.matches("warning: skipping").count(),
            4,
            "once each: {run:?}"
        );
        run
    };
    let login = run(
        &[
            "login",
            "-u",
            "alice",
            "--password-stdin",
            &host,
            "--timeout",
            "3",
        ],
        &format!("{SECRET}\n"),
    );
    assert_eq!(login.code, 0, "{login:?}");
    assert!(login.stdout.contains("Login Succeeded"), "{login:?}");
    let check = run(&["check", "--timeout", "3"], "");
    assert_eq!(check.code, 0, "{check:?}");
    assert!(check.stdout.contains(" ok"), "{check:?}");
}

#[test]
fn urls_in_messages_carry_no_query_fragment_or_user_information() {
    let _machine = time::timed();
    // What the realm and a redirect carry must not reach an error, a check
    // row or a debug line: the realm's query (here a secret; in real token
    // URLs `account=USERNAME`), a fragment, the user:password of a Location.
    let leaks = [
        "REALM-SECRET",
        "account=",
        "FRAG-SECRET",
        "LOCATION-PW",
        "bob:",
    ];
    let env = Env::new(Backend::File);
    let run = |args: &[&str]| {
        let mut cmd = env.command(args);
        cmd.env("DOCKER_CREDENTIAL_KEYRING_LOG", "debug");
        for name in ["HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"] {
            cmd.env_remove(name);
        }
        let run = common::run_command(cmd, format!("{SECRET}\n").as_bytes());
        assert_eq!(run.code, 1, "{run:?}");
        for leak in leaks {
            assert!(
                !run.stdout.contains(leak) && !run.stderr.contains(leak),
                "{leak} shown: {run:?}"
            );
        }
        run
    };
    let login = |host: &str| {
        run(&[
            "login",
            "-u",
            "alice",
            "--password-stdin",
            host,
            "--timeout",
            "3",
        ])
    };

    // A realm with a query and a fragment that answers garbage.
    let (garbage, _) = serve(
        "127.0.0.2",
        Box::new(|_| Some(b"SSH-2.0-OpenSSH_9.2\r\n\r\n".to_vec())),
    );
    let registry = bearer_registry(format!(
        "http://127.0.0.2:{garbage}/token?secret=REALM-SECRET#FRAG-SECRET"
    ));
    let failed = login(&format!("127.0.0.1:{registry}"));
    assert!(
        failed
            .stderr
            .contains(&format!("http://127.0.0.2:{garbage}/token did not answer")),
        "{failed:?}"
    );

    // A realm redirecting to a Location with user information and a query.
    let (redirecting, _) = serve(
        "127.0.0.2",
        Box::new(|_| {
            Some(response(
                "302 Found",
                &["Location: http://bob:LOCATION-PW@127.0.0.3:9/token?x=REALM-SECRET".into()],
                b"",
            ))
        }),
    );
    let registry = bearer_registry(format!(
        "http://127.0.0.2:{redirecting}/token?secret=REALM-SECRET"
    ));
    let host = format!("127.0.0.1:{registry}");
    let failed = login(&host);
    assert!(
        failed.stderr.contains(&format!(
            "http://127.0.0.2:{redirecting}/token redirects to \"http://127.0.0.3:9/token\""
        )),
        "{failed:?}"
    );

    // A check row and its JSON: a realm that refuses, with a query.
    let (refusing, _) = serve(
        "127.0.0.2",
        Box::new(|_| Some(response("401 Unauthorized", &[], b"{}"))),
    );
    let registry = bearer_registry(format!(
        "http://127.0.0.2:{refusing}/token?secret=REALM-SECRET#FRAG-SECRET"
    ));
    let host = format!("127.0.0.1:{registry}");
    env.store(&host, "alice", SECRET).ok();
    let rows = run(&["check", "--json", "--timeout", "3"]);
    assert!(
        rows.stdout
            .contains(&format!("\"url\": \"http://127.0.0.2:{refusing}/token\"")),
        "{rows:?}"
    );
    run(&["check", "--timeout", "3"]);
}

#[test]
fn a_900_kb_token_is_sent_back_as_docker_sends_it() {
    // It fits the 1 MiB body limit, so it must fit the request too (it was
    // reported as "did not answer with valid HTTP/1.x").
    let token = "t".repeat(900_000);
    let body = format!(r#"{{"token":"{token}"}}"#);
    let (tokens, _) = serve(
        "127.0.0.2",
        Box::new(move |_| Some(response("200 OK", &[], body.as_bytes()))),
    );
    let realm = format!("http://127.0.0.2:{tokens}/token");
    let bearer = format!("authorization: bearer {token}");
    let (registry, _) = serve(
        "127.0.0.1",
        Box::new(move |head| {
            Some(if head.lines().any(|l| l.eq_ignore_ascii_case(&bearer)) {
                response("200 OK", &[], b"{}")
            } else {
                response(
                    "401 Unauthorized",
                    &[format!(
                        r#"WWW-Authenticate: Bearer realm="{realm}",service="fake""#
                    )],
                    b"{}",
                )
            })
        }),
    );
    let env = Env::new(Backend::File);
    let host = format!("127.0.0.1:{registry}");
    let mut cmd = env.command(&[
        "login",
        "-u",
        "alice",
        "--password-stdin",
        &host,
        "--timeout",
        "5",
    ]);
    for name in ["HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"] {
        cmd.env_remove(name);
    }
    let run = common::run_command(cmd, format!("{SECRET}\n").as_bytes());
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("Login Succeeded"), "{run:?}");
}

#[test]
fn a_socks_proxy_is_refused_not_bypassed() {
    // ureq's own connector chain panicked on a SOCKS proxy setting.
    let env = Env::new(Backend::File);
    let mut cmd = env.command(&[
        "login",
        "-u",
        "alice",
        "--password-stdin",
        "192.0.2.1:5000",
        "--timeout",
        "3",
    ]);
    cmd.env("HTTPS_PROXY", "socks5://127.0.0.1:9")
        .env("HTTP_PROXY", "socks5://127.0.0.1:9")
        .env_remove("https_proxy")
        .env_remove("http_proxy")
        .env_remove("NO_PROXY")
        .env_remove("no_proxy");
    let run = common::run_command(cmd, format!("{SECRET}\n").as_bytes());
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.starts_with("error: ") && run.stderr.lines().count() == 1,
        "{run:?}"
    );
    assert!(
        run.stderr.contains("socks5://127.0.0.1:9 is a SOCKS proxy"),
        "{run:?}"
    );
}
