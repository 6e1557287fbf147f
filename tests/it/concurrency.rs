//! Concurrent helpers never lose an update: docker runs one helper process per
//! registry, and CI systems run many at once.

use crate::common;

use std::thread;

use common::time;
use common::{run_command, Backend, Env};

backend_tests!(twenty_parallel_stores_all_land);
fn twenty_parallel_stores_all_land(backend: Backend) {
    // Twenty helpers at once.
    let _machine = time::alone();
    let env = Env::new(backend);
    let children: Vec<_> = (0..20)
        .map(|i| {
            let cmd = env.command(&["store"]);
            let input = format!(
                r#"{{"ServerURL":"reg{i}.example.com","Username":"user{i}","Secret":"secret{i}"}}"#
            );
            thread::spawn(move || run_command(cmd, input.as_bytes()))
        })
        .collect();
    for child in children {
        let run = child.join().unwrap();
        assert_eq!(run.code, 0, "{backend:?}: {run:?}");
    }
    let list = env.list();
    assert_eq!(list.len(), 20, "{backend:?}: {list:?}");
    for i in 0..20 {
        let host = format!("reg{i}.example.com");
        assert_eq!(list[&host], format!("user{i}"));
        assert_eq!(
            env.secret(&host),
            Some(format!("secret{i}")),
            "{backend:?} {host}"
        );
    }
}

backend_tests!(parallel_store_erase_mix_ends_consistent);
fn parallel_store_erase_mix_ends_consistent(backend: Backend) {
    // Twenty helpers at once.
    let _machine = time::alone();
    let env = Env::new(backend);
    // Keys 0..10 are stored then erased; keys 10..20 are stored twice.
    for i in 0..10 {
        env.store(&format!("mix{i}.example.com"), "u", "old").ok();
    }
    let children: Vec<_> = (0..20)
        .map(|i| {
            let host = format!("mix{i}.example.com");
            let (cmd, input) = if i < 10 {
                (env.command(&["erase"]), host)
            } else {
                (
                    env.command(&["store"]),
                    format!(r#"{{"ServerURL":"{host}","Username":"u{i}","Secret":"new{i}"}}"#),
                )
            };
            thread::spawn(move || run_command(cmd, input.as_bytes()))
        })
        .collect();
    for child in children {
        let run = child.join().unwrap();
        assert_eq!(run.code, 0, "{backend:?}: {run:?}");
    }
    let list = env.list();
    assert_eq!(list.len(), 10, "{backend:?}: {list:?}");
    for i in 0..20 {
        let host = format!("mix{i}.example.com");
        let want = (i >= 10).then(|| format!("new{i}"));
        assert_eq!(env.secret(&host), want, "{backend:?} {host}");
    }
}

/// On a keyring store the username is in the index and the secret in the
/// keyring, written one after the other: a `get` running while another helper
/// stores the same key must still return a username and secret that belong
/// together (never the old username with the new secret).
#[test]
#[ignore = "needs the Secret Service (run through tests/with-secret-service)"]
fn get_during_store_never_mixes_old_username_with_new_secret() {
    // Four readers and a writer flooding the shared keyring.
    let _machine = time::alone();
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    common::require_secret_service();
    let env = Arc::new(Env::new(common::Backend::SecretService));
    let host = "mixed.example.com";
    let pairs = [("alice", "alice-secret-1"), ("bob", "bob-secret-2")];
    env.store(host, pairs[0].0, pairs[0].1).ok();
    let done = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..4)
        .map(|_| {
            let (env, done) = (Arc::clone(&env), Arc::clone(&done));
            thread::spawn(move || {
                let mut seen = 0;
                while !done.load(Ordering::SeqCst) {
                    let run = env.get(host);
                    assert_eq!(run.code, 0, "get failed: {run:?}");
                    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
                    let pair = (v["Username"].as_str().unwrap(), v["Secret"].as_str().unwrap());
                    assert!(
                        pairs.contains(&pair),
                        "get returned a username and a secret that were never stored together: {pair:?}"
                    );
                    seen += 1;
                }
                seen
            })
        })
        .collect();
    for i in 1..=80 {
        let (user, secret) = pairs[i % 2];
        env.store(host, user, secret).ok();
    }
    done.store(true, Ordering::SeqCst);
    let seen: usize = readers.into_iter().map(|r| r.join().unwrap()).sum();
    assert!(
        seen >= 20,
        "the readers ran only {seen} gets during the writes"
    );
}

/// The pid owning `org.freedesktop.secrets` on the session bus.
fn secret_service_pid() -> String {
    let out = std::process::Command::new("dbus-send")
        .args([
            "--session",
            "--print-reply",
            "--dest=org.freedesktop.DBus",
            "/",
            "org.freedesktop.DBus.GetConnectionUnixProcessID",
            "string:org.freedesktop.secrets",
        ])
        .output()
        .expect("dbus-send (apt-get install dbus)");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .last()
        .unwrap_or_default()
        .to_owned()
}

/// gnome-keyring-daemon aborts when a new client's first call, `OpenSession`,
/// is dispatched before the daemon has a record of that client (see
/// docs/stores.md, "Parallel helpers on gnome-keyring"); parallel helpers (`docker build`,
/// CI jobs) make that likely. Many parallel `get`s, from two users of the same
/// bus with different data directories and keyring namespaces, must all
/// succeed and leave the same daemon running. Without that call order, CI
/// saw this test kill the daemon.
#[test]
#[ignore = "needs the Secret Service (run through tests/with-secret-service)"]
fn parallel_gets_on_one_bus_leave_the_secret_service_running() {
    // Sixteen readers flooding the shared keyring.
    let _machine = time::alone();
    use std::sync::Arc;

    common::require_secret_service();
    let daemon = secret_service_pid();
    let envs: Vec<Arc<Env>> = (0..2)
        .map(|_| Arc::new(Env::new(common::Backend::SecretService)))
        .collect();
    for (i, env) in envs.iter().enumerate() {
        env.store(
            "burst.example.com",
            &format!("user{i}"),
            &format!("secret{i}"),
        )
        .ok();
    }
    let readers: Vec<_> = (0..16)
        .map(|t| {
            let (i, env) = (t % 2, Arc::clone(&envs[t % 2]));
            thread::spawn(move || {
                for _ in 0..100 {
                    let run = env.get("burst.example.com");
                    assert_eq!(run.code, 0, "get failed: {run:?}");
                    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
                    assert_eq!(v["Secret"], format!("secret{i}"));
                }
            })
        })
        .collect();
    for reader in readers {
        reader.join().unwrap();
    }
    assert_eq!(
        secret_service_pid(),
        daemon,
        "the Secret Service provider was replaced (gnome-keyring-daemon crashed?)"
    );
}
