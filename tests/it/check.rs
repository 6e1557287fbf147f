//! `check` over many stored credentials against real registries on
//! 127.0.0.1 (three htpasswd `docker-registry`s, one with token auth through
//! tests/e2e/token_server.py), some wrong, one registry unreachable, one
//! secret an expired JWT: every verdict right, in bounded time, no secret
//! shown, and the exit code tells ok (0) from rejected or expired (1) from
//! could not ask (3).

use crate::common;
use crate::common::registry;

use std::time::{Duration, Instant};

use common::jwt::{jwt, now};
use common::time::{self, bound};
use common::{Backend, Env};
use registry::*;

#[test]
#[ignore = "needs docker-registry, apache2-utils, openssl and python3-cryptography"]
fn check_over_a_hundred_credentials() {
    let _machine = time::timed();
    let registries: Vec<Registry> = (0..3)
        .map(|_| Registry::start(Auth::Htpasswd, false))
        .collect();
    let tokens = TokenServer::start();
    let delegating = Registry::start(Auth::Token(tokens.realm(), tokens.cert()), false);
    let env = Env::new(Backend::File);
    let dead = format!("127.0.0.1:{}", free_port("127.0.0.1"));

    // (key, expected status, expected "by")
    let mut expected: Vec<(String, &str, Option<&str>)> = Vec::new();
    let mut secrets: Vec<String> = vec![PASSWORD.to_owned(), SSO_PASSWORD.to_owned()];
    for i in 0..96 {
        let registry = &registries[i % 3];
        let key = format!("{}/team{i}", registry.host());
        let wrong = i % 7 == 3;
        let secret = if wrong {
            format!("wrong-{i}")
        } else {
            PASSWORD.to_owned()
        };
        if wrong {
            secrets.push(secret.clone());
        }
        env.store(&key, USER, &secret).ok();
        expected.push((
            key,
            if wrong { "rejected" } else { "ok" },
            wrong.then_some("registry"),
        ));
    }
    // Unreachable, expired, a wrong JWT expiring in two days.
    env.store(&dead, USER, PASSWORD).ok();
    expected.push((dead.clone(), "unreachable", None));
    let expired = format!("{}/expired", registries[0].host());
    env.store(&expired, USER, &jwt(now() - 3600)).ok();
    expected.push((expired.clone(), "expired", None));
    let soon = format!("{}/soon", registries[1].host());
    let soon_jwt = jwt(now() + 2 * 86_400);
    env.store(&soon, USER, &soon_jwt).ok();
    expected.push((soon.clone(), "rejected", Some("registry")));
    secrets.push(soon_jwt);
    // A pair: the token comes from the auth server with its own credential.
    let paired = delegating.host();
    env.store(&paired, USER, PASSWORD).ok();
    env.store(&tokens.auth_server(), SSO_USER, SSO_PASSWORD)
        .ok();
    env.run(
        &[
            "pair",
            "add",
            &paired,
            &tokens.auth_server(),
            "--use-auth-credential",
        ],
        b"",
    )
    .ok();
    expected.push((paired.clone(), "ok", None));
    expected.push((tokens.auth_server(), "not-checkable", None));
    assert_eq!(expected.len(), 101);

    let started = Instant::now();
    let run = env.run(&["check", "--json", "--timeout", "20"], b"");
    let took = started.elapsed();
    assert_eq!(run.code, 1, "some are rejected: {run:?}");
    assert!(took < bound(Duration::from_secs(25)), "check took {took:?}");
    for secret in &secrets {
        assert!(
            !run.stdout.contains(secret.as_str()) && !run.stderr.contains(secret.as_str()),
            "a secret in the output"
        );
    }
    let rows: Vec<serde_json::Value> = serde_json::from_str(&run.stdout).expect("JSON");
    assert_eq!(rows.len(), expected.len(), "{}", run.stdout);
    for (key, status, by) in &expected {
        let row = rows
            .iter()
            .find(|r| r["server"] == key.as_str())
            .unwrap_or_else(|| panic!("no row for {key}"));
        assert_eq!(row["status"], *status, "{key}: {row}");
        if let Some(by) = by {
            assert_eq!(row["by"], *by, "{key}: {row}");
            assert_eq!(row["httpStatus"], 401, "{key}: {row}");
        }
    }
    let soon_row = rows.iter().find(|r| r["server"] == soon.as_str()).unwrap();
    assert_eq!(soon_row["expiresSoon"], true, "{soon_row}");
    assert!(tokens.log().contains(&format!("issued {SSO_USER}")));

    // The same as lines: one per credential, the warning on stderr.
    let run = env.run(&["check", "--timeout", "20"], b"");
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(run.stdout.lines().count(), expected.len(), "{run:?}");
    assert!(
        run.stdout.contains("rejected by registry (401 at http://"),
        "{run:?}"
    );
    assert!(
        run.stderr
            .contains(&format!("warning: the secret of {soon} (a JWT) expires")),
        "{run:?}"
    );

    // Named ones only; all good: exit 0. The auth server's own credential,
    // checked through its registry, does not count as "could not ask".
    let good = &expected[0].0;
    let run = env.run(&["check", good, &paired, &tokens.auth_server()], b"");
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.stdout.lines().count(), 3, "{run:?}");
    // None rejected, one unreachable: exit 3; expired counts as rejected.
    let run = env.run(&["check", good, &dead, "--timeout", "5"], b"");
    assert_eq!(run.code, 3, "{run:?}");
    let run = env.run(&["check", good, &expired, &dead, "--timeout", "5"], b"");
    assert_eq!(run.code, 1, "{run:?}");
}

#[test]
#[ignore = "needs docker-registry, openssl and python3-cryptography"]
fn check_names_the_auth_server_when_it_refuses() {
    let tokens = TokenServer::start();
    let delegating = Registry::start(Auth::Token(tokens.realm(), tokens.cert()), false);
    let env = Env::new(Backend::File);
    let reg = delegating.host();
    // Paired, but the auth server has no credential of its own: it gets the
    // registry's, which it does not know.
    env.store(&reg, USER, PASSWORD).ok();
    env.run(&["pair", "add", &reg, &tokens.auth_server()], b"")
        .ok();
    let run = env.run(&["check", "--json"], b"");
    assert_eq!(run.code, 1, "{run:?}");
    let rows: Vec<serde_json::Value> = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(rows[0]["status"], "rejected", "{rows:?}");
    assert_eq!(rows[0]["by"], "auth-server", "{rows:?}");
    assert!(!run.stdout.contains(PASSWORD));
}

#[test]
fn check_exits_3_when_a_registry_could_not_be_asked() {
    // A script must tell "all good" (0) from "could not ask" (3).
    let env = Env::new(Backend::File);
    let dead = format!("127.0.0.1:{}", free_port("127.0.0.1"));
    env.store(&dead, USER, PASSWORD).ok();
    let run = env.run(&["check", "--json", "--timeout", "5"], b"");
    assert_eq!(run.code, 3, "{run:?}");
    let rows: Vec<serde_json::Value> = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(rows[0]["status"], "unreachable", "{rows:?}");
    assert!(!run.stdout.contains(PASSWORD) && !run.stderr.contains(PASSWORD));
    let help = env.run(&["check", "--help"], b"");
    assert!(
        help.stdout
            .contains("3  none rejected, but some could not be asked"),
        "{help:?}"
    );
}

#[test]
fn check_with_nothing_stored_says_so() {
    let env = Env::new(Backend::File);
    let run = env.run(&["check"], b"");
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("No credentials stored"), "{run:?}");
    let run = env.run(&["check", "nothing.example.com"], b"");
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr
            .starts_with("error: no credential is stored for nothing.example.com"),
        "{run:?}"
    );
}
