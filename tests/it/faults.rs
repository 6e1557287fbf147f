//! Faults: a helper killed mid-write, a full disk, a store file others can
//! read, and a Secret Service that is absent, locked or hung. Each must end
//! in a clear error within the documented bound
//! (`DOCKER_CREDENTIAL_KEYRING_TIMEOUT`) with nothing lost. And the call order
//! that keeps gnome-keyring itself from aborting.
//!
//! The Secret Service cases run their own private D-Bus daemon (and their own
//! gnome-keyring), so locking or freezing it never disturbs the shared one of
//! `tests/with-secret-service`.

// Unix only (signals, file modes and a private D-Bus); the Windows build is checked by tests/windows/run.
#![cfg(unix)]

use crate::common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::private_bus::PrivateBus;
use common::time::{self, bound, wait_until};
use common::{run_command, Backend, Env, Run};

/// A tiny deterministic PRNG (xorshift): the seed is printed so a failure replays.
struct Rng(u64);

impl Rng {
    fn from_time() -> Rng {
        let seed = std::env::var("DCK_FAULT_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_nanos() as u64
                    | 1
            });
        eprintln!("fault seed: DCK_FAULT_SEED={seed}");
        Rng(seed)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
}

fn store_json(server: &str, user: &str, secret: &str) -> Vec<u8> {
    serde_json::json!({"ServerURL": server, "Username": user, "Secret": secret})
        .to_string()
        .into_bytes()
}

/// Files left in the store directory other than the store and its locks
/// (the writers' lock and the gate in front of it).
fn stray_files(env: &Env) -> Vec<String> {
    let dir = env.store_file().parent().unwrap().to_path_buf();
    fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !["store.json", "store.lock", "store.gate.lock"].contains(&n.as_str()))
        .collect()
}

backend_tests!(sigkill_during_store_never_corrupts_or_loses);
/// SIGKILL at random points during `store`, 200 times: the store stays
/// readable and keeps every credential acknowledged before.
fn sigkill_during_store_never_corrupts_or_loses(backend: Backend) {
    let mut rng = Rng::from_time();
    let env = Env::new(backend);
    env.store("first.example.com", "u", "first-secret").ok();
    // How long one store takes here: kill points are spread over it.
    let start = Instant::now();
    env.store("second.example.com", "u", "second-secret").ok();
    let span = start.elapsed().as_micros() as u64 * 3 / 2 + 200;
    let mut acked: Vec<(String, String)> = vec![
        ("first.example.com".into(), "first-secret".into()),
        ("second.example.com".into(), "second-secret".into()),
    ];
    let mut killed = 0;
    for i in 0..200 {
        let host = format!("kill{i}.example.com");
        let secret = format!("secret-{i}-{}", rng.below(1 << 30));
        let mut cmd = env.command(&["store"]);
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let mut child = cmd.spawn().unwrap();
        {
            use std::io::Write;
            let mut stdin = child.stdin.take().unwrap();
            let _ = stdin.write_all(&store_json(&host, "u", &secret));
        }
        std::thread::sleep(Duration::from_micros(rng.below(span)));
        let _ = child.kill(); // SIGKILL
        let status = child.wait().unwrap();
        if status.success() {
            acked.push((host, secret));
        } else {
            killed += 1;
        }
        // The store is readable and holds every acknowledged credential.
        let list = env.run(&["list"], b"");
        assert_eq!(list.code, 0, "{backend:?} iteration {i}: {list:?}");
        let list: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(&list.stdout).expect("list is JSON");
        for (host, _) in &acked {
            assert!(
                list.contains_key(host),
                "{backend:?} iteration {i}: lost {host}"
            );
        }
    }
    eprintln!("{backend:?}: {killed} of 200 stores killed mid-way");
    assert!(
        killed > 0,
        "no store was ever interrupted: the test is void"
    );
    for (host, secret) in &acked {
        assert_eq!(
            env.secret(host).as_deref(),
            Some(secret.as_str()),
            "{backend:?} {host}"
        );
    }
    // Every killed store either landed whole or not at all.
    for (host, _) in env.list() {
        assert!(
            env.secret(&host).is_some(),
            "{backend:?}: {host} is half there"
        );
    }
    // The next successful write sweeps temporary files killed writers left.
    env.store("last.example.com", "u", "last").ok();
    assert_eq!(stray_files(&env), Vec::<String>::new(), "{backend:?}");
}

fn assert_one_line_error(run: &Run, needle: &str, what: &str) {
    assert_eq!(run.code, 1, "{what}: {run:?}");
    assert_eq!(run.stdout.lines().count(), 1, "{what}: {run:?}");
    assert!(
        run.stdout.contains(needle),
        "{what}: want {needle:?}: {run:?}"
    );
    assert!(!run.stderr.contains("panicked"), "{what}: {run:?}");
}

backend_tests!(
    full_disk_during_store_keeps_the_old_store,
    ignore = "needs root to mount a tmpfs"
);
/// A full disk (a 256 KiB tmpfs holding the store) during `store`: a clear
/// error, the old store intact, no temporary file left.
fn full_disk_during_store_keeps_the_old_store(backend: Backend) {
    let env = Env::new(backend);
    let disk = SmallDisk::mount(&env);
    env.store("old.example.com", "old-user", "old-secret").ok();
    let filler = disk.fill();
    let before = env.store_bytes().unwrap();
    let big = "n".repeat(8 * 1024);
    for (server, user) in [
        ("new.example.com", "new-user"),
        ("old.example.com", "replaced-user"),
    ] {
        let run = env.run(&["store"], &store_json(server, user, &big));
        assert_one_line_error(&run, "is the disk full", &format!("{backend:?} {server}"));
        assert!(run.stdout.contains("No space left"), "{run:?}");
        assert_eq!(
            env.store_bytes().unwrap(),
            before,
            "{backend:?}: store changed"
        );
        assert_eq!(stray_files(&env), Vec::<String>::new(), "{backend:?}");
    }
    // Nothing lost: the old credential, its username and its secret.
    let got = env.get("old.example.com");
    got.ok();
    let v: serde_json::Value = serde_json::from_str(&got.stdout).unwrap();
    assert_eq!(
        (v["Username"].as_str(), v["Secret"].as_str()),
        (Some("old-user"), Some("old-secret")),
        "{backend:?}"
    );
    assert_eq!(env.secret("new.example.com"), None, "{backend:?}");
    // Space back: the store works again.
    fs::remove_file(&filler).unwrap();
    env.store("new.example.com", "new-user", &big).ok();
    assert_eq!(env.secret("new.example.com"), Some(big.clone()));
}

/// A 256 KiB tmpfs mounted over the test environment's data directory (where
/// the store lives), unmounted when dropped.
struct SmallDisk(PathBuf);

impl SmallDisk {
    /// Fails the calling (ignored by default) test where mounting is not
    /// possible (not root, or no mount rights); the RLIMIT_FSIZE tests cover
    /// the same paths without root.
    fn mount(env: &Env) -> SmallDisk {
        let data = env.home().join("data");
        fs::create_dir_all(&data).unwrap();
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=256k,mode=0700", "tmpfs"])
            .arg(&data)
            .stderr(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        assert!(
            mounted,
            "this test needs root to mount a tmpfs (mount -t tmpfs failed)"
        );
        SmallDisk(data)
    }

    /// Fills the rest of the disk; returns the filler file.
    fn fill(&self) -> PathBuf {
        use std::io::Write;
        let filler = self.0.join("filler");
        let mut f = fs::File::create(&filler).unwrap();
        let chunk = vec![0u8; 4096];
        while f.write_all(&chunk).is_ok() {}
        let _ = f.sync_all();
        filler
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

backend_tests!(file_size_limit_during_store_keeps_the_old_store);
/// The same as a full disk without root: RLIMIT_FSIZE below the new store's
/// size (SIGXFSZ ignored, so the write fails with EFBIG instead of killing).
fn file_size_limit_during_store_keeps_the_old_store(backend: Backend) {
    let env = Env::new(backend);
    env.store("old.example.com", "old-user", "old-secret").ok();
    let before = env.store_bytes().unwrap();
    let limit = before.len() + 64;
    let mut cmd = Command::new("sh");
    cmd.arg("-c").arg(format!(
        "trap '' XFSZ; exec prlimit --fsize={limit}:{limit} -- {} store",
        common::BIN
    ));
    env.apply(&mut cmd);
    // A long username (within the 1,024-byte limit): it lands in the index on every store.
    let long_user = "n".repeat(1000);
    let run = run_command(
        cmd,
        &store_json("old.example.com", &long_user, "new-secret"),
    );
    assert_one_line_error(&run, "cannot write", &format!("{backend:?}"));
    assert!(run.stdout.contains("too large"), "{run:?}");
    assert_eq!(env.store_bytes().unwrap(), before, "{backend:?}");
    assert_eq!(stray_files(&env), Vec::<String>::new(), "{backend:?}");
    let v: serde_json::Value = serde_json::from_str(&env.get("old.example.com").stdout).unwrap();
    assert_eq!(
        (v["Username"].as_str(), v["Secret"].as_str()),
        (Some("old-user"), Some("old-secret")),
        "{backend:?}: a failed store must not change the credential"
    );
}

/// A store file someone made readable by others is refused by every command
/// that reads it, with the fix in the message, and left as it is.
#[test]
fn world_or_group_readable_store_is_refused() {
    for mode in [0o644, 0o640, 0o604, 0o660] {
        let env = Env::new(Backend::File);
        env.store("quay.io", "u", "s").ok();
        let file = env.store_file();
        fs::set_permissions(&file, fs::Permissions::from_mode(mode)).unwrap();
        let before = env.store_bytes();
        let protocol: &[(&[&str], &[u8])] = &[
            (&["get"], b"quay.io"),
            (&["list"], b""),
            (&["erase"], b"quay.io"),
            (
                &["store"],
                br#"{"ServerURL":"x.io","Username":"u","Secret":"s"}"#,
            ),
        ];
        for (args, stdin) in protocol {
            let run = env.run(args, stdin);
            assert_one_line_error(
                &run,
                "refusing to use the credential store",
                &format!("{mode:o} {args:?}"),
            );
            assert!(run.stdout.contains("chmod 600"), "{run:?}");
        }
        let import = br#"{"auths":{"i.io":{"username":"u","password":"p"}}}"#;
        for (args, stdin) in [
            (&["ls"][..], &b""[..]),
            (&["logout", "quay.io"][..], b""),
            (
                &[
                    "login",
                    "--no-verify",
                    "x.io",
                    "-u",
                    "u",
                    "--password-stdin",
                ][..],
                b"pw",
            ),
            (
                &[
                    "login",
                    "--no-verify",
                    "x.io",
                    "-u",
                    "u",
                    "--password-stdin",
                    "--auth-server",
                    "sso.io",
                ][..],
                b"pw",
            ),
            (&["import", "-"][..], import),
            (&["export"][..], b""),
            (
                &["export", "--registry", "quay.io", "--merge", "-"][..],
                import,
            ),
            (&["pair", "add", "quay.io", "sso.io"][..], b""),
            (&["pair", "rm", "quay.io"][..], b""),
            (&["pair", "ls"][..], b""),
        ] {
            let run = env.run(args, stdin);
            assert_eq!(run.code, 1, "{mode:o} {args:?}: {run:?}");
            assert!(
                run.stderr
                    .starts_with("error: refusing to use the credential store"),
                "{run:?}"
            );
            assert!(run.stdout.is_empty(), "{run:?}");
        }
        assert_eq!(env.store_bytes(), before);
        assert_eq!(
            fs::metadata(&file).unwrap().permissions().mode() & 0o777,
            mode,
            "the helper must not silently change a mode the user set"
        );
        // The advice works.
        fs::set_permissions(&file, fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(env.secret("quay.io").as_deref(), Some("s"));
    }
}

// ---------------------------------------------------------------------------
// Secret Service faults, on a private bus.

/// The bound these tests set, and the slack allowed for process start and exit.
const BOUND_SECS: u64 = 1;
const SLACK: Duration = Duration::from_secs(3);

/// What these tests do with a private bus ([`PrivateBus`]): break its
/// keyring, and run the binary on it with a short bound.
trait Faults {
    /// A bus with gnome-keyring and one credential stored in it (quay.io,
    /// secret "kept"), for the tests that then break the keyring.
    fn with_kept_credential() -> (PrivateBus, Env);
    /// Locks the login collection through the Secret Service API itself.
    fn lock(&self);
    /// Freezes the provider: it keeps the bus name but never answers.
    fn freeze(&self);
    /// The binary's environment on this bus.
    fn env(&self) -> Env;
    /// Runs the binary on this bus with [`BOUND_SECS`] as its keyring bound.
    fn run(&self, env: &Env, args: &[&str], stdin: &[u8]) -> (Run, Duration);
}

impl Faults for PrivateBus {
    fn with_kept_credential() -> (PrivateBus, Env) {
        let mut bus = PrivateBus::start();
        bus.start_keyring();
        let env = bus.env();
        let (run, _) = bus.run(&env, &["store"], &store_json("quay.io", "u", "kept"));
        run.ok();
        (bus, env)
    }

    fn lock(&self) {
        let text = self.send(&[
            "--dest=org.freedesktop.secrets",
            "/org/freedesktop/secrets",
            "org.freedesktop.Secret.Service.Lock",
            "array:objpath:/org/freedesktop/secrets/collection/login",
        ]);
        assert!(text.contains("collection/login"), "lock failed: {text:?}");
    }

    fn freeze(&self) {
        assert!(Command::new("kill")
            .args(["-STOP", &self.keyring_pid().to_string()])
            .status()
            .unwrap()
            .success());
    }

    fn env(&self) -> Env {
        Env::new(Backend::SecretService)
    }

    fn run(&self, env: &Env, args: &[&str], stdin: &[u8]) -> (Run, Duration) {
        let mut cmd = env.command(args);
        cmd.env("DBUS_SESSION_BUS_ADDRESS", self.address())
            .env("DOCKER_CREDENTIAL_KEYRING_TIMEOUT", BOUND_SECS.to_string());
        let start = Instant::now();
        let run = run_command(cmd, stdin);
        (run, start.elapsed())
    }
}

/// Fails the calling (ignored by default) test unless the tools that start a
/// private bus and keyring are installed.
fn require_secret_service_tools() {
    common::tool("dbus-daemon", "dbus");
    common::tool("gnome-keyring-daemon", "gnome-keyring");
    common::tool("dbus-send", "dbus");
}

fn assert_bounded(run: &Run, took: Duration, needle: &str, what: &str) {
    assert!(
        took < bound(Duration::from_secs(BOUND_SECS) + SLACK),
        "{what}: took {took:?}, bound {BOUND_SECS}s: {run:?}"
    );
    assert_one_line_error(run, needle, what);
}

/// No bus at all, or a bus address that leads nowhere: a fast, clear error.
#[test]
fn secret_service_absent_fails_fast() {
    let _machine = time::timed();
    let env = Env::new(Backend::SecretService);
    let stdin = store_json("quay.io", "u", "s");
    for (what, address) in [
        ("no bus", None),
        ("dead bus address", Some("unix:path=/nonexistent/dck/bus")),
    ] {
        let mut cmd = env.command(&["store"]);
        match address {
            None => cmd.env_remove("DBUS_SESSION_BUS_ADDRESS"),
            Some(a) => cmd.env("DBUS_SESSION_BUS_ADDRESS", a),
        };
        cmd.env("DOCKER_CREDENTIAL_KEYRING_TIMEOUT", BOUND_SECS.to_string());
        let start = Instant::now();
        let run = run_command(cmd, &stdin);
        assert_bounded(&run, start.elapsed(), "store is not available", what);
    }
    assert!(env.list().is_empty());
    // `auto` falls back to the file store instead of failing.
    let mut cmd = env.command(&["store"]);
    cmd.env("DOCKER_CREDENTIAL_KEYRING_STORE", "auto")
        .env_remove("DBUS_SESSION_BUS_ADDRESS");
    run_command(cmd, &stdin).ok();
    assert_eq!(env.list()["quay.io"], "u");
}

/// A bus with no Secret Service provider on it.
#[test]
#[ignore = "needs dbus-daemon and gnome-keyring (tests/install-deps)"]
fn secret_service_without_provider_fails_fast() {
    let _machine = time::timed();
    require_secret_service_tools();
    let bus = PrivateBus::start();
    let env = bus.env();
    let (run, took) = bus.run(&env, &["store"], &store_json("quay.io", "u", "s"));
    assert_bounded(
        &run,
        took,
        "no Secret Service provider",
        "store without provider",
    );
    assert!(env.list().is_empty());
}

/// A locked collection: the unlock prompt cannot be shown, so every keyring
/// verb fails within the bound, and nothing changes.
#[test]
#[ignore = "needs dbus-daemon and gnome-keyring (tests/install-deps)"]
fn secret_service_locked_fails_within_the_bound() {
    let _machine = time::timed();
    require_secret_service_tools();
    let (bus, env) = PrivateBus::with_kept_credential();
    bus.lock();
    let before = env.store_bytes();
    for (args, stdin) in [
        (&["get"][..], b"quay.io".to_vec()),
        (&["store"][..], store_json("quay.io", "u2", "new")),
        (&["store"][..], store_json("other.example.com", "u", "s")),
        (&["erase"][..], b"quay.io".to_vec()),
    ] {
        let (run, took) = bus.run(&env, args, &stdin);
        assert!(
            run.stdout.contains("is locked") || run.stdout.contains("did not answer"),
            "{args:?}: {run:?}"
        );
        assert_bounded(
            &run,
            took,
            "secret-service store",
            &format!("locked {args:?}"),
        );
        assert_eq!(
            env.store_bytes(),
            before,
            "locked {args:?} changed the store"
        );
    }
    // list reads only the index: it still answers.
    let (run, _) = bus.run(&env, &["list"], b"");
    assert_eq!(run.stdout, "{\"quay.io\":\"u\"}\n");
}

/// A fresh headless gnome-keyring has no default collection, and creating one
/// needs a password prompt it cannot show: `store` says so and how to fix it,
/// and changes nothing; `auto` refuses too (a keyring exists, so it never
/// falls back to the file store); `doctor` says why stores fail.
#[test]
#[ignore = "needs dbus-daemon and gnome-keyring (tests/install-deps)"]
fn secret_service_without_a_collection_explains_and_auto_refuses() {
    let _machine = time::timed();
    require_secret_service_tools();
    let mut bus = PrivateBus::start();
    bus.start_keyring_with(None);
    let env = bus.env();
    let (run, took) = bus.run(&env, &["store"], &store_json("quay.io", "u", "s"));
    assert_bounded(
        &run,
        took,
        "no default keyring",
        "store without a collection",
    );
    assert!(run.stdout.contains("--replace --unlock"), "{run:?}");
    assert!(env.list().is_empty(), "a failed store left a record");

    let auto = |args: &[&str], stdin: &[u8]| {
        let mut cmd = env.command(args);
        cmd.env("DBUS_SESSION_BUS_ADDRESS", bus.address())
            .env("DOCKER_CREDENTIAL_KEYRING_STORE", "auto");
        run_command(cmd, stdin)
    };
    let run = auto(&["store"], &store_json("quay.io", "u", "s"));
    assert_one_line_error(&run, "no default keyring", "auto without a collection");
    assert!(run.stdout.contains("STORE=file"), "{run:?}");
    assert!(env.list().is_empty(), "auto fell back to the file store");
    let doctor = auto(&["doctor"], b"");
    assert!(
        doctor.stdout.contains("[FAIL] store: auto")
            && doctor.stdout.contains("no default keyring")
            && doctor.stdout.contains("never falls back"),
        "{doctor:?}"
    );
}

/// `auto` with gnome-keyring running but its collection locked, or the daemon
/// hung: `store` fails on stdout with exit 1, saying how to unlock or how to
/// choose the file store, and nothing lands in the file store. Choosing
/// `file` explicitly still works.
#[test]
#[ignore = "needs dbus-daemon and gnome-keyring (tests/install-deps)"]
fn auto_never_downgrades_a_locked_or_hung_keyring_to_the_file_store() {
    let _machine = time::timed();
    require_secret_service_tools();
    for hung in [false, true] {
        let (bus, env) = PrivateBus::with_kept_credential();
        if hung {
            bus.freeze();
        } else {
            bus.lock();
        }
        let what = if hung { "hung" } else { "locked" };
        let before = env.store_bytes();
        let with_store = |store: &str, args: &[&str], stdin: &[u8]| {
            let mut cmd = env.command(args);
            cmd.env("DBUS_SESSION_BUS_ADDRESS", bus.address())
                .env("DOCKER_CREDENTIAL_KEYRING_TIMEOUT", BOUND_SECS.to_string())
                .env("DOCKER_CREDENTIAL_KEYRING_STORE", store);
            let start = Instant::now();
            (run_command(cmd, stdin), start.elapsed())
        };
        let (run, took) = with_store("auto", &["store"], &store_json("new.example.com", "u", "s"));
        let needle = if hung { "did not answer" } else { "is locked" };
        assert_bounded(&run, took, needle, &format!("auto store, {what}"));
        assert!(
            run.stdout.contains("DOCKER_CREDENTIAL_KEYRING_STORE=file"),
            "{run:?}"
        );
        assert_eq!(
            env.store_bytes(),
            before,
            "auto store ({what}) changed the index"
        );
        let (run, _) = with_store(
            "auto",
            &[
                "login",
                "--no-verify",
                "new.example.com",
                "-u",
                "u",
                "--password-stdin",
            ],
            b"pw",
        );
        assert_eq!(run.code, 1, "{what}: {run:?}");
        assert!(
            run.stderr.starts_with("error: ") && run.stderr.contains(needle),
            "{run:?}"
        );
        assert_eq!(
            env.store_bytes(),
            before,
            "auto login ({what}) changed the index"
        );
        // `version` names the keyring auto uses (and, when it does not answer,
        // why it cannot now), never the file store auto no longer falls back to.
        let (run, _) = with_store("auto", &["version"], b"");
        assert_eq!(run.code, 0, "{what}: {run:?}");
        assert!(
            run.stdout
                .contains("(store: secret-service, chosen by auto")
                && !run.stdout.contains("(store: file"),
            "version, {what}: {run:?}"
        );
        if hung {
            assert!(
                run.stdout.contains("not usable now: ") && run.stdout.contains(needle),
                "version, {what}: {run:?}"
            );
        }
        let (run, _) = with_store("file", &["store"], &store_json("new.example.com", "u", "s"));
        run.ok();
        let db: serde_json::Value = serde_json::from_slice(&env.store_bytes().unwrap()).unwrap();
        assert_eq!(
            db["credentials"]["new.example.com"]["store"], "file",
            "{db}"
        );
    }
}

/// `auto` on a bus where nothing provides the Secret Service (and nothing can
/// be activated), or with a bus address that leads nowhere: the file store.
#[test]
#[ignore = "needs dbus-daemon and gnome-keyring (tests/install-deps)"]
fn auto_uses_the_file_store_when_no_secret_service_exists() {
    require_secret_service_tools();
    let bus = PrivateBus::start();
    let env = bus.env();
    for (what, address) in [
        ("bus without provider", bus.address()),
        (
            "dead bus address",
            "unix:path=/nonexistent/dck/bus".to_owned(),
        ),
    ] {
        let mut cmd = env.command(&["store"]);
        cmd.env("DBUS_SESSION_BUS_ADDRESS", &address)
            .env("DOCKER_CREDENTIAL_KEYRING_STORE", "auto");
        run_command(cmd, &store_json("quay.io", what, "s")).ok();
        assert_eq!(env.list()["quay.io"], what);
        let db: serde_json::Value = serde_json::from_slice(&env.store_bytes().unwrap()).unwrap();
        assert_eq!(
            db["credentials"]["quay.io"]["store"], "file",
            "{what}: {db}"
        );
    }
}

/// gnome-keyring aborts when a new client's first call, `OpenSession`, runs
/// before the daemon has made that client's record (see docs/stores.md,
/// "Parallel helpers on gnome-keyring"). Every connection a helper makes
/// (one per run of `store`, `get` and `erase`) must read a property first.
/// Watched on the bus with dbus-monitor: deterministic, where
/// the crash itself is a race (the concurrency module provokes that).
#[test]
#[ignore = "needs dbus-daemon and gnome-keyring (tests/install-deps)"]
fn every_secret_service_connection_reads_a_property_before_opening_a_session() {
    require_secret_service_tools();
    let mut bus = PrivateBus::start();
    bus.start_keyring();
    bus.start_monitor(&["destination='org.freedesktop.secrets'"]);
    let log = bus.monitor_log();
    let env = bus.env();
    bus.run(&env, &["store"], &store_json("quay.io", "u", "s"))
        .0
        .ok();
    bus.run(&env, &["get"], b"quay.io").0.ok();
    bus.run(&env, &["erase"], b"quay.io").0.ok();
    // The erase's last call reaching the monitor: so has every call before it.
    wait_until(
        Duration::from_secs(5),
        "dbus-monitor seeing the erase's Delete",
        || fs::read_to_string(&log).is_ok_and(|text| text.contains("member=Delete")),
    );

    // "method call time=... sender=:1.7 -> destination=... member=OpenSession"
    let text = fs::read_to_string(&log).unwrap();
    let mut first_calls: Vec<(String, String)> = Vec::new();
    let mut sessions = 0;
    for line in text.lines().filter(|l| l.starts_with("method call")) {
        let field = |name: &str| {
            line.split([' ', ';'])
                .find_map(|part| part.strip_prefix(name))
                .unwrap_or_default()
                .to_owned()
        };
        let (sender, member) = (field("sender="), field("member="));
        sessions += usize::from(member == "OpenSession");
        if !first_calls.iter().any(|(s, _)| *s == sender) {
            first_calls.push((sender, format!("{}.{member}", field("interface="))));
        }
    }
    assert!(
        sessions >= 2 && first_calls.len() >= 2,
        "expected the store and get connections to open sessions: {text}"
    );
    for (sender, first) in &first_calls {
        assert_eq!(
            first, "org.freedesktop.DBus.Properties.Get",
            "connection {sender} began with {first}"
        );
    }
}

/// A provider that owns the bus name but never answers (frozen with SIGSTOP).
#[test]
#[ignore = "needs dbus-daemon and gnome-keyring (tests/install-deps)"]
fn secret_service_hung_fails_within_the_bound() {
    let _machine = time::timed();
    require_secret_service_tools();
    let (bus, env) = PrivateBus::with_kept_credential();
    bus.freeze();
    let before = env.store_bytes();
    for (args, stdin) in [
        (&["get"][..], b"quay.io".to_vec()),
        (&["store"][..], store_json("quay.io", "u2", "new")),
        (&["erase"][..], b"quay.io".to_vec()),
        (
            &[
                "login",
                "--no-verify",
                "hung.example.com",
                "-u",
                "u",
                "--password-stdin",
            ][..],
            b"pw".to_vec(),
        ),
        (
            &["import", "-"][..],
            br#"{"auths":{"hung.example.com":{"username":"u","password":"p"}}}"#.to_vec(),
        ),
        (&["export", "--registry", "quay.io"][..], b"".to_vec()),
    ] {
        let (run, took) = bus.run(&env, args, &stdin);
        let human = !matches!(args[0], "get" | "store" | "erase");
        let text = if human { &run.stderr } else { &run.stdout };
        assert!(
            text.contains("did not answer within 1.0s"),
            "{args:?}: {run:?}"
        );
        assert!(
            took < bound(Duration::from_secs(BOUND_SECS) + SLACK),
            "{args:?}: took {took:?}"
        );
        assert_eq!(run.code, 1, "{args:?}: {run:?}");
        assert_eq!(text.lines().count(), 1, "{args:?}: {run:?}");
        assert_eq!(env.store_bytes(), before, "hung {args:?} changed the store");
    }
    // doctor probes the keyring (a few calls, each bounded) and says why it failed.
    let (run, took) = bus.run(&env, &["doctor"], b"");
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        format!("{}{}", run.stdout, run.stderr).contains("did not answer"),
        "{run:?}"
    );
    assert!(
        took < bound(Duration::from_secs(3 * BOUND_SECS) + SLACK),
        "doctor took {took:?}"
    );
    let (run, took) = bus.run(&env, &["list"], b"");
    assert_eq!(run.stdout, "{\"quay.io\":\"u\"}\n");
    assert!(
        took < bound(Duration::from_secs(1)),
        "list must not touch the keyring"
    );
}

/// `DOCKER_CREDENTIAL_KEYRING_TIMEOUT` is the bound a hung provider meets,
/// whatever its value: each D-Bus call once gave up after a fixed 2 s, so a
/// longer setting never helped a slow provider, and a hung one was reported
/// as absent ("start it") instead of as not answering in time.
#[test]
#[ignore = "needs dbus-daemon and gnome-keyring (tests/install-deps)"]
fn a_longer_timeout_setting_is_the_bound_of_each_secret_service_call() {
    let _machine = time::timed();
    require_secret_service_tools();
    let (bus, env) = PrivateBus::with_kept_credential();
    bus.freeze();
    let secs = 3;
    let mut cmd = env.command(&["get"]);
    cmd.env("DBUS_SESSION_BUS_ADDRESS", bus.address())
        .env("DOCKER_CREDENTIAL_KEYRING_TIMEOUT", secs.to_string());
    let start = Instant::now();
    let run = run_command(cmd, b"quay.io");
    let took = start.elapsed();
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stdout
            .contains(&format!("did not answer within {secs}.0s")),
        "{run:?}"
    );
    assert!(
        took >= Duration::from_secs(secs),
        "gave up after {took:?}: {run:?}"
    );
    assert!(
        took < bound(Duration::from_secs(secs) + SLACK),
        "took {took:?}: {run:?}"
    );
}

backend_tests!(failed_import_batch_leaves_store_and_keyring_unchanged);
/// `import` is one batch: when the index cannot be saved (file size limit, as
/// a full disk), every keyring write of the batch is undone: the replaced
/// credential keeps its old secret and no item is left for the new keys.
fn failed_import_batch_leaves_store_and_keyring_unchanged(backend: Backend) {
    use base64::Engine as _;
    let env = Env::new(backend);
    env.store("old.example.com", "old-user", "old-secret").ok();
    let before = env.store_bytes().unwrap();
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let long_user = "n".repeat(1000);
    let secret = serde_json::json!({"auths": {
        "old.example.com": {"auth": b64("old-user:replaced-secret")},
        "new1.example.com": {"auth": b64(&format!("{long_user}:new1-secret"))},
        "new2.example.com": {"auth": b64(&format!("{long_user}:new2-secret"))},
    }});
    let file = env.home().join("pull-secret.json");
    fs::write(&file, secret.to_string()).unwrap();
    let limit = before.len() + 64;
    let mut cmd = Command::new("sh");
    cmd.arg("-c").arg(format!(
        "trap '' XFSZ; exec prlimit --fsize={limit}:{limit} -- {} import {}",
        common::BIN,
        file.display()
    ));
    env.apply(&mut cmd);
    let run = run_command(cmd, b"");
    assert_eq!(run.code, 1, "{backend:?}: {run:?}");
    assert!(run.stderr.contains("nothing was imported"), "{run:?}");
    assert_eq!(env.store_bytes().unwrap(), before, "{backend:?}");
    assert_eq!(env.secret("old.example.com").as_deref(), Some("old-secret"));
    assert_eq!(env.secret("new1.example.com"), None);
    if backend == Backend::SecretService {
        for key in ["new1.example.com", "new2.example.com"] {
            let out = Command::new("secret-tool")
                .args(["lookup", "service", env.service(), "username", key])
                .output()
                .unwrap();
            assert!(
                out.stdout.is_empty(),
                "{key}: the keyring kept an item from the failed batch"
            );
        }
    }
}

backend_tests!(
    failed_logout_all_puts_everything_back,
    ignore = "needs root to mount a tmpfs"
);
/// `logout --all` is one transaction: when the index cannot be saved (a full
/// disk), the keyring secrets it already removed are put back and the index
/// is unchanged, so every credential still reads back.
fn failed_logout_all_puts_everything_back(backend: Backend) {
    let env = Env::new(backend);
    let disk = SmallDisk::mount(&env);
    for i in 0..3 {
        env.store(&format!("r{i}.example.com"), "u", &format!("secret-{i}"))
            .ok();
    }
    let filler = disk.fill();
    let before = env.store_bytes().unwrap();
    let run = env.run(&["logout", "--all"], b"");
    assert_eq!(run.code, 1, "{backend:?}: {run:?}");
    assert!(run.stderr.contains("is the disk full"), "{run:?}");
    assert_eq!(env.store_bytes().unwrap(), before, "{backend:?}");
    for i in 0..3 {
        assert_eq!(
            env.secret(&format!("r{i}.example.com")),
            Some(format!("secret-{i}")),
            "{backend:?}: a failed logout --all lost a secret"
        );
    }
    fs::remove_file(&filler).unwrap();
    env.run(&["logout", "--all"], b"").ok();
    assert!(env.list().is_empty(), "{backend:?}");
}
