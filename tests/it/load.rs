//! Load: 50 parallel writers x 20 operations each (store, erase, get, list
//! interleaved, plus stores to one key they all share), on each store.
//!
//! Each writer owns three keys and keeps a model of them. Promises checked:
//! - every acknowledged store is readable afterwards (by `get` and `list`)
//!   unless the same writer erased it later; every acknowledged erase stays
//!   erased: the writer's own reads always match its model (read-your-writes);
//! - `list` never shows a torn state: it is always one JSON object, and every
//!   entry's username belongs to that entry's key;
//! - the only failure allowed is the retryable lock timeout
//!   (`fsutil::LockTimeout`: "... try again"), which must change nothing;
//! - the shared key ends with one writer's username and that same write's secret.

use crate::common;

use std::collections::HashMap;
use std::sync::Arc;
use std::thread;

use common::time;
use common::{Backend, Env, Run};

const WRITERS: usize = 50;
const OPS: usize = 20;
const KEYS: usize = 3;
const NOT_FOUND: &str = "credentials not found in native keychain";
const SHARED: &str = "shared.load.example.com";

fn host(w: usize, k: usize) -> String {
    format!("w{w}-k{k}.load.example.com")
}

fn is_lock_timeout(run: &Run) -> bool {
    run.code == 1 && run.stdout.contains("held the lock") && run.stdout.contains("try again")
}

/// The username an entry must have: it names its own key (a torn entry would not).
fn username_fits(key: &str, user: &str) -> bool {
    if key == SHARED {
        return user.starts_with('w') && user.contains("-shared-v");
    }
    let prefix = key.trim_end_matches(".load.example.com");
    user.starts_with(&format!("{prefix}-v"))
}

fn check_list(run: &Run, what: &str) -> serde_json::Map<String, serde_json::Value> {
    assert_eq!(run.code, 0, "{what}: {run:?}");
    let list: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("{what}: list is not one JSON object ({e}): {run:?}"));
    for (key, user) in &list {
        let user = user.as_str().expect("usernames are strings");
        assert!(
            username_fits(key, user),
            "{what}: torn entry {key} -> {user}"
        );
    }
    list
}

/// What one writer saw: lock timeouts, its acknowledged shared writes, and the
/// final state of its own keys (key -> username and secret, `None` if erased).
struct Outcome {
    lock_timeouts: usize,
    shared: Vec<(String, String)>,
    model: HashMap<String, Option<(String, String)>>,
}

fn writer(env: &Env, w: usize) -> Outcome {
    let mut model: HashMap<String, Option<(String, String)>> =
        (0..KEYS).map(|k| (host(w, k), None)).collect();
    let mut seed = (w as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let mut next = |n: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % n as u64) as usize
    };
    let mut lock_timeouts = 0;
    let mut shared = Vec::new();
    for op in 0..OPS {
        let k = next(KEYS);
        let key = host(w, k);
        let what = format!("{:?} writer {w} op {op}", env.backend);
        match next(20) {
            0..=7 => {
                let user = format!("w{w}-k{k}-v{op}");
                let secret = format!("secret-{w}-{op}");
                let run = env.store(&key, &user, &secret);
                if run.code == 0 {
                    model.insert(key, Some((user, secret)));
                } else {
                    assert!(is_lock_timeout(&run), "{what}: store: {run:?}");
                    lock_timeouts += 1;
                }
            }
            8..=11 => {
                let run = env.erase(&key);
                if run.code == 0 {
                    model.insert(key, None);
                } else {
                    assert!(is_lock_timeout(&run), "{what}: erase: {run:?}");
                    lock_timeouts += 1;
                }
            }
            12..=15 => {
                let run = env.get(&key);
                match &model[&key] {
                    Some((user, secret)) => {
                        assert_eq!(run.code, 0, "{what}: get {key}: {run:?}");
                        let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
                        assert_eq!(v["Username"], user.as_str(), "{what}");
                        assert_eq!(v["Secret"], secret.as_str(), "{what}");
                    }
                    None => assert_eq!(
                        (run.code, run.stdout.trim()),
                        (1, NOT_FOUND),
                        "{what}: erased {key} came back"
                    ),
                }
            }
            16..=18 => {
                let list = check_list(&env.run(&["list"], b"unused"), &what);
                for (key, state) in &model {
                    match state {
                        Some((user, _)) => assert_eq!(
                            list.get(key).and_then(|v| v.as_str()),
                            Some(user.as_str()),
                            "{what}: list lost {key}"
                        ),
                        None => assert!(!list.contains_key(key), "{what}: list shows erased {key}"),
                    }
                }
            }
            _ => {
                let user = format!("w{w}-shared-v{op}");
                let secret = format!("shared-secret-of-{user}");
                let run = env.store(SHARED, &user, &secret);
                if run.code == 0 {
                    shared.push((user, secret));
                } else {
                    assert!(is_lock_timeout(&run), "{what}: shared store: {run:?}");
                    lock_timeouts += 1;
                }
            }
        }
    }
    Outcome {
        lock_timeouts,
        shared,
        model,
    }
}

backend_tests!(fifty_writers_twenty_ops_each);
fn fifty_writers_twenty_ops_each(backend: Backend) {
    // Fifty helpers at once.
    let _machine = time::alone();
    let env = Arc::new(Env::new(backend));
    let start = std::time::Instant::now();
    let handles: Vec<_> = (0..WRITERS)
        .map(|w| {
            let env = Arc::clone(&env);
            thread::spawn(move || writer(&env, w))
        })
        .collect();
    let mut lock_timeouts = 0;
    let mut finals = HashMap::new();
    let mut shared_acked = Vec::new();
    for h in handles {
        let outcome = h.join().expect("a writer failed");
        lock_timeouts += outcome.lock_timeouts;
        shared_acked.extend(outcome.shared);
        finals.extend(outcome.model);
    }
    eprintln!(
        "{backend:?}: {WRITERS}x{OPS} ops in {:.1}s, {lock_timeouts} retryable lock timeouts",
        start.elapsed().as_secs_f64()
    );
    // Every acknowledged store is readable now, every acknowledged erase stays erased.
    let list = check_list(&env.run(&["list"], b""), "final");
    for (key, state) in &finals {
        if let Some((user, secret)) = state {
            let (user, secret) = (user.as_str(), secret.as_str());
            let run = env.get(key);
            let v: serde_json::Value = serde_json::from_str(&run.stdout)
                .unwrap_or_else(|_| panic!("{backend:?}: lost {key}: {run:?}"));
            assert_eq!(
                (v["Username"].as_str(), v["Secret"].as_str()),
                (Some(user), Some(secret))
            );
            assert_eq!(list[key], user);
        } else {
            assert_eq!(env.secret(key), None, "{backend:?}: erased {key} came back");
            assert!(!list.contains_key(key));
        }
    }
    // The shared key holds one acknowledged write, username and secret together.
    if !shared_acked.is_empty() {
        let run = env.get(SHARED);
        let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
        let got = (
            v["Username"].as_str().unwrap().to_owned(),
            v["Secret"].as_str().unwrap().to_owned(),
        );
        assert!(
            shared_acked.contains(&got),
            "{backend:?}: shared key is torn: {got:?}"
        );
    }
    // A lock timeout is allowed (retryable, nothing changed) but must stay
    // rare at this load with the 30 s lock wait.
    assert!(
        lock_timeouts * 20 <= WRITERS * OPS,
        "{backend:?}: {lock_timeouts} lock timeouts in {} ops",
        WRITERS * OPS
    );
}

/// Lines of `DOCKER_CREDENTIAL_KEYRING_LOG=debug` output saying the index was
/// written (fsutil::write_atomic logs each replace).
fn index_writes(run: &Run) -> usize {
    run.stderr
        .lines()
        .filter(|l| l.contains("debug: wrote ") && l.ends_with("store.json"))
        .count()
}

backend_tests!(logout_all_and_migrate_write_the_index_once);
/// `logout --all` and `migrate` are one index transaction each: however many
/// credentials, the index is replaced once (counted, not timed), and the
/// result is complete.
fn logout_all_and_migrate_write_the_index_once(backend: Backend) {
    use base64::Engine;
    let env = Env::new(backend);
    let count = match backend {
        common::Backend::File => 3000,
        common::Backend::SecretService => 60,
    };
    let auths: serde_json::Map<String, serde_json::Value> = (0..count)
        .map(|i| {
            let auth = base64::engine::general_purpose::STANDARD.encode(format!("u{i}:p{i}"));
            (
                format!("r{i}.bulk.example.com"),
                serde_json::json!({ "auth": auth }),
            )
        })
        .collect();
    let config = env.docker_config();
    std::fs::create_dir_all(env.docker_config_dir()).unwrap();
    std::fs::write(&config, serde_json::json!({ "auths": auths }).to_string()).unwrap();
    let debug = |args: &[&str]| {
        let mut cmd = env.command(args);
        cmd.env("DOCKER_CREDENTIAL_KEYRING_LOG", "debug");
        common::run_command(cmd, b"")
    };
    let run = debug(&["migrate", "--force", "-q"]);
    assert_eq!(run.code, 0, "{backend:?} migrate: {run:?}");
    assert_eq!(index_writes(&run), 1, "{backend:?} migrate");
    assert_eq!(env.list().len(), count, "{backend:?} migrate");
    assert_eq!(env.secret("r7.bulk.example.com").as_deref(), Some("p7"));

    let run = debug(&["logout", "--all", "-q"]);
    assert_eq!(run.code, 0, "{backend:?} logout --all: {run:?}");
    assert_eq!(index_writes(&run), 1, "{backend:?} logout --all");
    assert!(env.list().is_empty(), "{backend:?} logout --all");
    assert_eq!(env.secret("r7.bulk.example.com"), None);
}
