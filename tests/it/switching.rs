//! Switching from another credential helper without losing a credential
//! (docs/switching.md): `migrate` moves what the helpers named by docker's
//! config.json hold (through their own `list`/`get`), all or nothing, then
//! points the config at us; `configure` refuses to strand credentials;
//! `unconfigure --move-back` returns what was stored since.
//!
//! The helpers are real: Debian's `docker-credential-secretservice` on the
//! private gnome-keyring and `docker-credential-pass` over a throwaway GnuPG
//! key (both `#[ignore]`d, run through tests/with-secret-service), and a
//! fake helper script (python3, a JSON file as its store) that can fail
//! mid-`list`, fail a `get` or an `erase`, hang (alone or with a child
//! holding its stdout), print garbage, flood stderr, or rewrite config.json
//! mid-migrate as a `docker login` does.
//!
//! Plaintext credentials (the `auths` of docker's config.json and podman's
//! auth file) move into the store too: all or nothing, refused when docker
//! would lose them or when one registry has two different credentials, the
//! file untouched when the store fails.

#![cfg(unix)]

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::human::{
    assert_no_test_secret, auth_b64, bin_dir, human_command, plaintext_config, run, secret, SECRETS,
};
use common::time::{self, bound, wait_until};
use common::{read_file, write_file, Backend, Env, Run};
use serde_json::{json, Value};

const FAKE_HELPER: &str = r#"#!/usr/bin/env python3
import json, os, sys, time
# docker-credential-fake keeps FAKE_HELPER_DB; a copy named otherwise, its own file.
name = os.path.basename(sys.argv[0])
db = os.environ["FAKE_HELPER_DB"] + ("" if name == "docker-credential-fake" else "." + name)
mode = os.environ.get("FAKE_HELPER_MODE", "")
action = sys.argv[1]
data = json.load(open(db)) if os.path.exists(db) else {}
given = sys.stdin.read()
# Temporary files named per process: migrate runs several `get`s at once,
# and two of them may each play the login (a shared name lost one rename).
tmp = "." + str(os.getpid()) + ".tmp"
def save():
    with open(db + tmp, "w") as f:
        json.dump(data, f)
    os.replace(db + tmp, db)
def docker_login_meanwhile():
    # What `docker login late.example` does with credsStore set: the
    # credential into the helper, an empty auths entry into config.json.
    data["late.example"] = {"ServerURL": "late.example", "Username": "l", "Secret": "late-Secret-0"}
    save()
    config = os.path.join(os.environ["DOCKER_CONFIG"], "config.json")
    doc = json.load(open(config))
    doc.setdefault("auths", {})["late.example"] = {}
    open(config + tmp, "w").write(json.dumps(doc))
    os.replace(config + tmp, config)
if mode == "hang-" + action:
    time.sleep(3600)
if mode == "fork-hang-" + action:
    import subprocess
    child = subprocess.Popen(["sleep", "3600"])
    open(db + ".child", "w").write(str(child.pid))
    time.sleep(3600)
if mode == "daemon-" + action:
    # A daemon started on the way (as gpg starts gpg-agent) that keeps
    # the helper's stderr open long after the helper answered and exited.
    import subprocess
    child = subprocess.Popen(["sleep", "3600"], stdout=subprocess.DEVNULL)
    open(db + ".child", "w").write(str(child.pid))
if mode == "flood-stderr-" + action:
    # As a Go helper does: a write to a closed fd 2 kills it (SIGPIPE).
    import signal
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    for _ in range(1000):
        os.write(2, b"log line\n" * 11_000)
if action == "list":
    if mode == "garbage-list":
        print("<html>not json " + next(iter(data.values()))["Secret"])
        sys.exit(0)
    if mode == "fail-list":
        sys.stdout.write('{"a.example":')
        sys.stdout.flush()
        sys.stderr.write("list broke midway\n")
        sys.exit(1)
    print(json.dumps({k: v["Username"] for k, v in data.items()}))
    if mode == "login-during-list":
        docker_login_meanwhile()
elif action == "get":
    key = given.strip()
    if mode == "login-during-get" and "late.example" not in data:
        docker_login_meanwhile()
    if mode == "fail-get" and key == os.environ.get("FAKE_HELPER_FAIL"):
        print(data[key]["Secret"])
        sys.stderr.write("cannot decrypt the item\n")
        sys.exit(1)
    if key not in data:
        print("credentials not found in native keychain")
        sys.exit(1)
    if mode == "garbage-get":
        print("Secret=" + data[key]["Secret"])
        sys.exit(0)
    print(json.dumps(data[key]))
elif action == "store":
    c = json.loads(given)
    data[c["ServerURL"]] = c
    save()
elif action == "erase":
    if mode == "fail-erase" and given.strip() == os.environ.get("FAKE_HELPER_FAIL"):
        sys.stderr.write("the item is locked\n")
        sys.exit(1)
    data.pop(given.strip(), None)
    save()
"#;

/// A user environment with `docker-credential-fake` on PATH (its store a
/// JSON file) and this binary's directory on PATH.
struct Fake {
    env: Env,
    bin: PathBuf,
    db: PathBuf,
    mode: String,
}

impl Fake {
    fn new(held: &[(&str, &str, &str)]) -> Fake {
        let env = Env::new(Backend::File);
        let bin = env.home().join("fakebin");
        std::fs::create_dir_all(&bin).unwrap();
        write_executable(&bin.join("docker-credential-fake"), FAKE_HELPER);
        let db = env.home().join("fake-helper.json");
        let data: serde_json::Map<String, Value> = held
            .iter()
            .map(|(server, user, secret)| {
                let c = json!({"ServerURL": server, "Username": user, "Secret": secret});
                (server.to_string(), c)
            })
            .collect();
        std::fs::write(&db, Value::Object(data).to_string()).unwrap();
        Fake {
            env,
            bin,
            db,
            mode: String::new(),
        }
    }

    fn command(&self, program: &Path, args: &[&str]) -> Command {
        let mut cmd = Command::new(program);
        cmd.args(args);
        self.env.apply(&mut cmd);
        let path = std::env::var("PATH").unwrap_or_default();
        cmd.env(
            "PATH",
            format!("{}:{}:{path}", self.bin.display(), bin_dir().display()),
        )
        .env("FAKE_HELPER_DB", &self.db)
        .env("FAKE_HELPER_MODE", &self.mode)
        .env_remove("DBUS_SESSION_BUS_ADDRESS");
        cmd
    }

    /// Runs this binary (killed and failing the test after 60 s).
    fn ours(&self, args: &[&str]) -> Run {
        let cmd = self.command(Path::new(common::BIN), args);
        common::run_command_within(cmd, b"", Duration::from_secs(60))
    }

    /// What the fake helper holds: server -> (username, secret).
    fn held(&self) -> Value {
        serde_json::from_slice(&std::fs::read(&self.db).unwrap()).unwrap()
    }

    fn docker_config(&self) -> PathBuf {
        self.env.docker_config()
    }

    fn write_docker_config(&self, config: Value) {
        std::fs::create_dir_all(self.env.docker_config_dir()).unwrap();
        std::fs::write(self.docker_config(), config.to_string()).unwrap();
    }

    fn read_docker_config(&self) -> Value {
        serde_json::from_slice(&std::fs::read(self.docker_config()).unwrap()).unwrap()
    }

    /// `get` through this binary: (username, secret), None when not found.
    fn ours_get(&self, server: &str) -> Option<(String, String)> {
        let mut cmd = self.command(Path::new(common::BIN), &["get"]);
        cmd.env_remove("FAKE_HELPER_MODE");
        let run = common::run_command(cmd, server.as_bytes());
        if run.code == 1 && run.stdout.trim() == "credentials not found in native keychain" {
            return None;
        }
        assert_eq!(run.code, 0, "get {server}: {run:?}");
        let v: Value = serde_json::from_str(&run.stdout).unwrap();
        Some((
            v["Username"].as_str().unwrap().to_owned(),
            v["Secret"].as_str().unwrap().to_owned(),
        ))
    }
}

/// The process a fake helper forked (its pid in this file), killed when
/// the test ends, passed or not.
struct ChildOfHelper(PathBuf);

impl Drop for ChildOfHelper {
    fn drop(&mut self) {
        if let Ok(pid) = std::fs::read_to_string(&self.0) {
            let _ = Command::new("kill").arg(pid.trim()).status();
        }
    }
}

fn write_executable(path: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn assert_no_secret(run: &Run, secrets: &[&str]) {
    for secret in secrets {
        assert!(
            !run.stdout.contains(secret) && !run.stderr.contains(secret),
            "a secret was shown: {run:?}"
        );
    }
}

const HUB: &str = "https://index.docker.io/v1/";

fn three_held() -> [(&'static str, &'static str, &'static str); 3] {
    [
        ("a.example", "alice", "a-Secret-1"),
        ("https://b.example:5000", "bob", "b-Secret-2"),
        (HUB, "<token>", "hub-Identity-Token-3"),
    ]
}

/// configure refuses and names migrate; migrate --dry-run changes nothing;
/// A replaced helper that cannot be asked (not installed here) does not stop
/// `configure`, but the user is told its credentials were not moved.
#[test]
fn configure_over_a_helper_that_cannot_be_asked_says_so() {
    let fake = Fake::new(&[]);
    fake.write_docker_config(json!({"credsStore": "absent-helper"}));
    let run = fake.ours(&["configure"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(fake.read_docker_config()["credsStore"], "keyring");
    assert!(
        run.stderr.contains(
            "note: credsStore named \"absent-helper\", which could not be asked what it holds (docker-credential-absent-helper is not on PATH"
        ) && run.stderr.contains("`unconfigure` switches back"),
        "{run:?}"
    );
}

/// migrate moves every credential (the identity token as one), points
/// credsStore at us, and leaves the old helper's copies; a credential stored
/// since goes back with `unconfigure --move-back`, which restores credsStore.
#[test]
fn fake_helper_credentials_move_here_and_back() {
    let fake = Fake::new(&three_held());
    fake.write_docker_config(json!({"credsStore": "fake"}));
    let before = std::fs::read(fake.docker_config()).unwrap();
    let secrets = ["a-Secret-1", "b-Secret-2", "hub-Identity-Token-3"];

    let refused = fake.ours(&["configure"]);
    assert_eq!(refused.code, 1, "{refused:?}");
    assert!(
        refused
            .stderr
            .contains("3 credential(s) in docker-credential-fake (credsStore)")
            && refused
                .stderr
                .contains("`docker-credential-keyring migrate --from fake`"),
        "{refused:?}"
    );
    assert_eq!(std::fs::read(fake.docker_config()).unwrap(), before);
    let dry = fake.ours(&["configure", "--dry-run"]);
    assert_eq!(dry.code, 0, "{dry:?}");
    assert!(dry.stderr.contains("note: without --dry-run: "), "{dry:?}");
    assert!(dry.stderr.contains("migrate --from fake"), "{dry:?}");

    let dry = fake.ours(&["migrate", "--dry-run"]);
    assert_eq!(dry.code, 0, "{dry:?}");
    assert!(dry.stdout.contains("3 credential(s) would move"), "{dry:?}");
    assert!(dry.stdout.contains("Would set credsStore"), "{dry:?}");
    assert_no_secret(&dry, &secrets);
    assert_eq!(std::fs::read(fake.docker_config()).unwrap(), before);
    assert_eq!(fake.ours_get("a.example"), None);

    // With debug logging on: still no secret on screen.
    let mut cmd = fake.command(Path::new(common::BIN), &["migrate"]);
    cmd.env("DOCKER_CREDENTIAL_KEYRING_LOG", "debug");
    let run = common::run_command_within(cmd, b"", Duration::from_secs(60));
    assert_eq!(run.code, 0, "{run:?}");
    assert_no_secret(&run, &secrets);
    assert!(run.stdout.contains("3 credential(s) moved"), "{run:?}");
    assert!(
        run.stderr
            .contains("debug: running docker-credential-fake get"),
        "{run:?}"
    );
    for (server, user, secret) in three_held() {
        assert_eq!(
            fake.ours_get(server),
            Some((user.to_owned(), secret.to_owned())),
            "{server}"
        );
    }
    // podman's spelling of Docker Hub finds the identity token too.
    assert_eq!(
        fake.ours_get("docker.io").map(|c| c.0).as_deref(),
        Some("<token>")
    );
    assert_eq!(fake.read_docker_config()["credsStore"], "keyring");
    assert_eq!(
        fake.held().as_object().unwrap().len(),
        3,
        "kept without --erase-old"
    );

    // A login while switched, then the way back.
    let mut store = fake.command(Path::new(common::BIN), &["store"]);
    store.env_remove("FAKE_HELPER_MODE");
    let new = json!({"ServerURL": "new.example", "Username": "nina", "Secret": "n-Secret-4"});
    common::run_command(store, new.to_string().as_bytes()).ok();
    let back = fake.ours(&["unconfigure", "--move-back"]);
    assert_eq!(back.code, 0, "{back:?}");
    assert!(
        back.stdout
            .contains("Handed new.example back to docker-credential-fake (read back)"),
        "{back:?}"
    );
    assert!(
        !back.stdout.contains("a.example"),
        "unchanged ones are not re-stored: {back:?}"
    );
    assert!(
        back.stdout.contains(
            "3 credential(s) the restored helpers already hold unchanged: nothing to hand back"
        ),
        "unchanged ones are counted: {back:?}"
    );
    assert_eq!(fake.read_docker_config()["credsStore"], "fake");
    assert_eq!(fake.held()["new.example"]["Secret"], "n-Secret-4");
    assert_no_secret(&back, &["n-Secret-4"]);
}

/// `--erase-old` empties the old helper, only after our store holds them;
/// a credHelpers entry for the helper points at us afterwards.
#[test]
fn erase_old_empties_the_old_helper_and_cred_helpers_follow() {
    let fake = Fake::new(&three_held()[..1]);
    fake.write_docker_config(json!({"credHelpers": {"a.example": "fake"}}));
    let run = fake.ours(&["migrate", "--erase-old"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        fake.ours_get("a.example"),
        Some(("alice".to_owned(), "a-Secret-1".to_owned()))
    );
    assert_eq!(fake.held(), json!({}));
    assert_eq!(
        fake.read_docker_config()["credHelpers"]["a.example"],
        "keyring"
    );
    assert!(run.stdout.contains("Erased the 1 credential(s)"), "{run:?}");
}

/// A helper that fails mid-`list`, fails one `get`, hangs, or prints
/// garbage: exit 1 with an error naming the helper, nothing stored, the
/// config untouched, no secret shown.
#[test]
fn a_broken_helper_moves_nothing_and_changes_nothing() {
    let _machine = time::timed();
    for (mode, expected) in [
        (
            "fail-list",
            "docker-credential-fake list failed (exit status 1): list broke midway",
        ),
        (
            "fail-get",
            "docker-credential-fake get failed (exit status 1): cannot decrypt the item",
        ),
        (
            "hang-get",
            "docker-credential-fake get did not answer within 1s and was stopped",
        ),
        (
            "hang-list",
            "docker-credential-fake list did not answer within 1s and was stopped",
        ),
        (
            "garbage-list",
            "docker-credential-fake list did not answer a JSON object",
        ),
        (
            "garbage-get",
            "did not answer JSON {\"ServerURL\",\"Username\",\"Secret\"}",
        ),
    ] {
        let mut fake = Fake::new(&three_held());
        fake.mode = mode.to_owned();
        fake.write_docker_config(json!({"credsStore": "fake", "auths": {"a.example": {}}}));
        let before = std::fs::read(fake.docker_config()).unwrap();
        let mut cmd = fake.command(Path::new(common::BIN), &["migrate"]);
        cmd.env("FAKE_HELPER_FAIL", "https://b.example:5000");
        // Only the hanging modes get the 1 s bound: a python helper can take
        // longer than that to start on a loaded machine.
        if mode.starts_with("hang-") {
            cmd.env("DOCKER_CREDENTIAL_KEYRING_HELPER_TIMEOUT", "1");
        }
        let started = Instant::now();
        let run = common::run_command_within(cmd, b"", Duration::from_secs(60));
        assert_eq!(run.code, 1, "{mode}: {run:?}");
        assert!(run.stderr.contains(expected), "{mode}: {run:?}");
        assert!(
            run.stderr.contains("nothing was changed"),
            "{mode}: {run:?}"
        );
        assert_no_secret(&run, &["a-Secret-1", "b-Secret-2", "hub-Identity-Token-3"]);
        assert!(
            started.elapsed() < bound(Duration::from_secs(30)),
            "{mode}: bounded"
        );
        assert_eq!(
            std::fs::read(fake.docker_config()).unwrap(),
            before,
            "{mode}"
        );
        assert_eq!(fake.ours_get("a.example"), None, "{mode}: nothing stored");
        assert_eq!(fake.held().as_object().unwrap().len(), 3, "{mode}");
    }
}

/// Two spellings of one registry with different credentials are refused
/// (which one docker used is not ours to guess).
#[test]
fn two_different_credentials_for_one_registry_are_refused() {
    let fake = Fake::new(&[
        ("quay.example", "q1", "q-Secret-1"),
        ("https://quay.example", "q2", "q-Secret-2"),
    ]);
    fake.write_docker_config(json!({"credsStore": "fake"}));
    let run = fake.ours(&["migrate"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr
            .contains("quay.example has two different credentials"),
        "{run:?}"
    );
    assert_no_secret(&run, &["q-Secret-1", "q-Secret-2"]);
    assert_eq!(fake.read_docker_config()["credsStore"], "fake");
}

/// A helper named by the config is looked up on PATH as docker does: a
/// relative PATH entry (`.`) is skipped, so a `docker-credential-NAME` in
/// the current directory (a cloned repository) never runs; migrate and
/// configure report the helper as not installed.
#[test]
fn a_helper_in_the_current_directory_never_runs() {
    let fake = Fake::new(&[]);
    fake.write_docker_config(
        json!({"credsStore": "planted", "credHelpers": {"q.example": "planted"}}),
    );
    let here = fake.env.home().join("cloned-repo");
    std::fs::create_dir_all(&here).unwrap();
    let ran = fake.env.home().join("planted-helper-ran");
    let planted = format!(
        "#!/bin/sh\ntouch '{}'\necho '{{\"q.example\": \"x\"}}'\n",
        ran.display()
    );
    write_executable(&here.join("docker-credential-planted"), &planted);
    let before = std::fs::read(fake.docker_config()).unwrap();
    for args in [
        &["migrate"][..],
        &["configure", "--leave-credentials", "--dry-run"],
        &["configure"],
    ] {
        let mut cmd = fake.command(Path::new(common::BIN), args);
        let path = std::env::var("PATH").unwrap_or_default();
        cmd.current_dir(&here).env(
            "PATH",
            format!(".:cloned-repo:{}:{path}", bin_dir().display()),
        );
        let run = common::run_command_within(cmd, b"", Duration::from_secs(60));
        assert!(
            !ran.exists(),
            "{args:?} ran ./docker-credential-planted: {run:?}"
        );
        if args == ["migrate"] {
            assert_eq!(run.code, 0, "{run:?}");
            assert!(
                run.stderr
                    .contains("docker-credential-planted is not on PATH"),
                "{run:?}"
            );
            assert_eq!(std::fs::read(fake.docker_config()).unwrap(), before);
        }
    }
}

/// A helper that writes far more to stderr than we keep (100 MB of debug
/// logging) still answers: the rest is read and dropped, not cut off (a
/// closed pipe would kill it mid-write).
#[test]
fn a_helper_that_floods_stderr_still_answers() {
    let mut fake = Fake::new(&three_held()[..1]);
    fake.mode = "flood-stderr-list".to_owned();
    fake.write_docker_config(json!({"credsStore": "fake"}));
    let run = fake.ours(&["migrate"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("1 credential(s) moved"), "{run:?}");
    assert!(run.stderr.len() < 64 * 1024, "the flood is not echoed");
    assert_eq!(fake.read_docker_config()["credsStore"], "keyring");
}

/// A helper that hangs after forking a child that inherits (and so holds
/// open) its stdout: the deadline still holds, nothing changes.
#[test]
fn a_hung_helper_whose_child_holds_its_stdout_is_stopped_in_time() {
    let _machine = time::timed();
    let mut fake = Fake::new(&three_held());
    fake.mode = "fork-hang-list".to_owned();
    fake.write_docker_config(json!({"credsStore": "fake"}));
    let before = std::fs::read(fake.docker_config()).unwrap();
    let mut cmd = fake.command(Path::new(common::BIN), &["migrate"]);
    cmd.env("DOCKER_CREDENTIAL_KEYRING_HELPER_TIMEOUT", "5");
    let child = ChildOfHelper(fake.db.with_extension("json.child"));
    let started = Instant::now();
    let run = common::run_command_within(cmd, b"", Duration::from_secs(60));
    assert!(child.0.exists(), "the helper forked its child");
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr
            .contains("docker-credential-fake list did not answer within 5s"),
        "{run:?}"
    );
    assert!(
        started.elapsed() < bound(Duration::from_secs(30)),
        "bounded"
    );
    assert_eq!(std::fs::read(fake.docker_config()).unwrap(), before);
}

/// A helper that answers and exits but leaves a daemon holding its stderr
/// (as gpg-agent may): the call ends when the helper does, not at the
/// deadline (60 s by default, per call).
#[test]
fn a_daemon_left_holding_stderr_does_not_stall_each_call() {
    let _machine = time::timed();
    let mut fake = Fake::new(&three_held()[..1]);
    fake.mode = "daemon-list".to_owned();
    fake.write_docker_config(json!({"credsStore": "fake"}));
    let _daemon = ChildOfHelper(fake.db.with_extension("json.child"));
    let started = Instant::now();
    let run = fake.ours(&["migrate"]);
    let elapsed = started.elapsed();
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("1 credential(s) moved"), "{run:?}");
    assert!(elapsed < bound(Duration::from_secs(30)), "took {elapsed:?}");
}

/// A `docker login` while migrate reads the helpers (it rewrites
/// config.json, and its credential went to the old helper, already listed):
/// no config file is switched, so that credential is not stranded; the
/// login's change stays; running migrate again finishes the job.
#[test]
fn a_login_during_migrate_is_not_stranded() {
    let mut fake = Fake::new(&three_held()[..2]);
    fake.mode = "login-during-get".to_owned();
    fake.write_docker_config(json!({"credsStore": "fake"}));
    let run = fake.ours(&["migrate"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr
            .contains("was changed by another program (a `docker login`?)")
            && run.stderr.contains("run migrate again"),
        "{run:?}"
    );
    let config = fake.read_docker_config();
    assert_eq!(config["credsStore"], "fake", "not switched");
    assert_eq!(
        config["auths"]["late.example"],
        json!({}),
        "the login's change kept"
    );
    fake.mode.clear();
    let again = fake.ours(&["migrate"]);
    assert_eq!(again.code, 0, "{again:?}");
    let config = fake.read_docker_config();
    assert_eq!(config["credsStore"], "keyring");
    assert_eq!(config["auths"]["late.example"], json!({}));
    assert_eq!(
        fake.ours_get("late.example"),
        Some(("l".to_owned(), "late-Secret-0".to_owned())),
        "the login's credential moved too"
    );
}

/// The same for `configure`: the helper held nothing when asked, a
/// `docker login` put a credential there meanwhile: configure does not
/// switch (that credential would be stranded) and says to run it again,
/// which then refuses and names migrate.
#[test]
fn a_login_during_configure_is_not_stranded() {
    let mut fake = Fake::new(&[]);
    fake.mode = "login-during-list".to_owned();
    fake.write_docker_config(json!({"credsStore": "fake"}));
    let run = fake.ours(&["configure"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr
            .contains("was changed by another program (a `docker login`?)")
            && run.stderr.contains("run configure again"),
        "{run:?}"
    );
    let config = fake.read_docker_config();
    assert_eq!(config["credsStore"], "fake", "not switched");
    assert_eq!(
        config["auths"]["late.example"],
        json!({}),
        "the login's change kept"
    );
    fake.mode.clear();
    let again = fake.ours(&["configure"]);
    assert_eq!(again.code, 1, "{again:?}");
    assert!(again.stderr.contains("migrate --from fake"), "{again:?}");
}

/// `--erase-old` when one erase fails: everything is in this store and the
/// config switched (exit 0); the failure is reported with the command that
/// finishes the job, and that command does.
#[test]
fn a_failed_erase_is_reported_with_the_command_that_finishes_it() {
    let mut fake = Fake::new(&three_held()[..2]);
    fake.mode = "fail-erase".to_owned();
    fake.write_docker_config(json!({"credsStore": "fake"}));
    let mut cmd = fake.command(Path::new(common::BIN), &["migrate", "--erase-old"]);
    cmd.env("FAKE_HELPER_FAIL", "https://b.example:5000");
    let run = common::run_command_within(cmd, b"", Duration::from_secs(60));
    assert_eq!(run.code, 0, "{run:?}");
    let finish = "echo https://b.example:5000 | docker-credential-fake erase";
    assert!(
        run.stderr
            .contains("could not be erased from docker-credential-fake")
            && run.stderr.contains("the item is locked")
            && run.stderr.contains(finish),
        "{run:?}"
    );
    assert_eq!(
        fake.held().as_object().unwrap().keys().collect::<Vec<_>>(),
        ["https://b.example:5000"]
    );
    assert_eq!(
        fake.ours_get("https://b.example:5000"),
        Some(("bob".to_owned(), "b-Secret-2".to_owned()))
    );
    let mut sh = fake.command(Path::new("sh"), &["-c", finish]);
    sh.env_remove("FAKE_HELPER_MODE");
    assert_eq!(common::run_command(sh, b"").code, 0);
    assert_eq!(fake.held(), json!({}));
}

/// `unconfigure --move-back` hands the restored helper only what it
/// served: quay.example came from docker-credential-other through podman's
/// credHelpers, so restoring docker's credsStore (fake, which never held
/// it) does not copy that secret into fake; podman still finds it here.
#[test]
fn move_back_hands_a_helper_only_what_it_served() {
    let fake = Fake::new(&three_held()[..1]);
    write_executable(&fake.bin.join("docker-credential-other"), FAKE_HELPER);
    let other_db = PathBuf::from(format!("{}.docker-credential-other", fake.db.display()));
    let quay = json!({"ServerURL": "quay.example", "Username": "quser", "Secret": "q-Secret-9"});
    std::fs::write(&other_db, json!({"quay.example": quay}).to_string()).unwrap();
    fake.write_docker_config(json!({"credsStore": "fake"}));
    let auth = fake.env.containers_auth_file();
    std::fs::create_dir_all(auth.parent().unwrap()).unwrap();
    std::fs::write(
        &auth,
        json!({"credHelpers": {"quay.example": "other"}}).to_string(),
    )
    .unwrap();

    let run = fake.ours(&["migrate"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("2 credential(s) moved"), "{run:?}");
    let podman: Value = serde_json::from_slice(&std::fs::read(&auth).unwrap()).unwrap();
    assert_eq!(podman["credHelpers"]["quay.example"], "keyring");

    let back = fake.ours(&["unconfigure", "--move-back"]);
    assert_eq!(back.code, 0, "{back:?}");
    assert!(
        back.stderr.contains(
            "quay.example was not handed to docker-credential-fake: another config file sent it to docker-credential-other"
        ),
        "{back:?}"
    );
    assert_eq!(fake.read_docker_config()["credsStore"], "fake");
    assert_eq!(
        fake.held().as_object().unwrap().keys().collect::<Vec<_>>(),
        ["a.example"],
        "fake never held quay.example and does not now"
    );
    assert_eq!(
        fake.ours_get("quay.example"),
        Some(("quser".to_owned(), "q-Secret-9".to_owned()))
    );
    assert_no_secret(&back, &["q-Secret-9", "a-Secret-1"]);
}

/// `list` keys that are no registry address (userinfo, a query, a
/// fragment) are left in the helper and named without what could be a
/// secret; the registries beside them move.
#[test]
fn list_keys_with_userinfo_or_a_query_are_named_without_them() {
    let fake = Fake::new(&[
        ("https://u:ui-Secret-5@x.example", "u", "x-Secret-5"),
        (
            "https://y.example/v2?access_token=qs-Secret-6",
            "u",
            "y-Secret-6",
        ),
        ("https://z.example#fr-Secret-7", "u", "z-Secret-7"),
        ("a.example", "alice", "a-Secret-1"),
    ]);
    fake.write_docker_config(json!({"credsStore": "fake"}));
    let run = fake.ours(&["migrate"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("1 credential(s) moved"), "{run:?}");
    for shown in [
        "https://***@x.example",
        "https://y.example/v2?***",
        "https://z.example#***",
    ] {
        assert!(
            run.stderr
                .contains(&format!("{shown:?}, which is not a registry address")),
            "{shown}: {run:?}"
        );
    }
    assert_no_secret(
        &run,
        &[
            "ui-Secret-5",
            "qs-Secret-6",
            "fr-Secret-7",
            "x-Secret-5",
            "a-Secret-1",
        ],
    );
}

/// `migrate --from NAME` of a helper no config file uses (leftovers after
/// switching): a registry this store already holds a different credential
/// for keeps ours (docker uses it; the helper's is a stale copy), and
/// `--erase-old` leaves the stale one where it is; the others move.
#[test]
fn from_an_unused_helper_never_replaces_a_live_credential() {
    let fake = Fake::new(&three_held()[..2]);
    fake.write_docker_config(json!({"credsStore": "keyring"}));
    let mut store = fake.command(Path::new(common::BIN), &["store"]);
    store.env_remove("FAKE_HELPER_MODE");
    let live = json!({"ServerURL": "a.example", "Username": "alice", "Secret": "live-Secret-8"});
    assert_eq!(
        common::run_command(store, live.to_string().as_bytes()).code,
        0
    );

    let run = fake.ours(&["migrate", "--from", "fake", "--erase-old"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stderr.contains(
            "docker-credential-fake holds a different credential for a.example than this store"
        ),
        "{run:?}"
    );
    assert!(run.stdout.contains("1 credential(s) moved"), "{run:?}");
    assert_eq!(
        fake.ours_get("a.example"),
        Some(("alice".to_owned(), "live-Secret-8".to_owned()))
    );
    assert_eq!(
        fake.ours_get("https://b.example:5000"),
        Some(("bob".to_owned(), "b-Secret-2".to_owned()))
    );
    assert_eq!(
        fake.held()["a.example"]["Secret"],
        "a-Secret-1",
        "left there"
    );
    assert!(
        fake.held().get("https://b.example:5000").is_none(),
        "erased"
    );
    assert_no_secret(&run, &["live-Secret-8", "a-Secret-1", "b-Secret-2"]);
}

/// Round trips with credHelpers entries naming several helpers (and one
/// that mints credentials): migrate switches every member of a helper it
/// moved from, unconfigure restores the file exactly, and again.
#[test]
fn round_trips_with_several_helpers_restore_the_file_exactly() {
    let fake = Fake::new(&three_held()[..2]);
    write_executable(&fake.bin.join("docker-credential-other"), FAKE_HELPER);
    let other_db = PathBuf::from(format!("{}.docker-credential-other", fake.db.display()));
    let quay = json!({"ServerURL": "quay.example", "Username": "quser", "Secret": "q-Secret-9"});
    std::fs::write(&other_db, json!({"quay.example": quay}).to_string()).unwrap();
    let original = json!({
        "credsStore": "fake",
        "credHelpers": {"a.example": "fake", "quay.example": "other", "gcr.io": "gcr"},
        "auths": {"a.example": {}}
    });
    fake.write_docker_config(original.clone());
    for round in 0..2 {
        let run = fake.ours(&["migrate"]);
        assert_eq!(run.code, 0, "{round}: {run:?}");
        assert!(
            run.stdout.contains("3 credential(s) moved"),
            "{round}: {run:?}"
        );
        assert!(
            run.stderr.contains("docker-credential-gcr mints"),
            "{round}: {run:?}"
        );
        let switched = fake.read_docker_config();
        assert_eq!(switched["credsStore"], "keyring", "{round}");
        assert_eq!(
            switched["credHelpers"],
            json!({"a.example": "keyring", "quay.example": "keyring", "gcr.io": "gcr"}),
            "{round}"
        );
        assert_eq!(
            fake.ours_get("quay.example"),
            Some(("quser".to_owned(), "q-Secret-9".to_owned()))
        );
        let back = fake.ours(&["unconfigure", "--move-back"]);
        assert_eq!(back.code, 0, "{round}: {back:?}");
        assert!(!back.stdout.contains("Handed"), "nothing new: {back:?}");
        assert_eq!(fake.read_docker_config(), original, "{round}");
        let refused = fake.ours(&["configure"]);
        assert_eq!(refused.code, 1, "{round}: {refused:?}");
        assert_eq!(fake.read_docker_config(), original, "{round}");
    }
}

/// Ctrl-C while migrate writes a config file and the record `unconfigure`
/// reads: the signal acts once both are written (the command still dies of
/// it), so `unconfigure` restores the old helper. Killed between the two,
/// docker's config said `keyring` with no record of what it replaced.
#[test]
fn an_interrupt_while_switching_acts_after_the_record() {
    use std::os::unix::process::ExitStatusExt;
    let fake = Fake::new(&three_held()[..1]);
    fake.write_docker_config(json!({"credsStore": "fake"}));
    let flag = fake.env.home().join("migrate-paused");
    let mut cmd = fake.command(Path::new(common::BIN), &["migrate"]);
    cmd.env("DOCKER_CREDENTIAL_KEYRING_TEST_PAUSE_AT", &flag)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let (lines, stderr_lines) = std::sync::mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stderr).lines() {
            let _ = lines.send(line.unwrap_or_default());
        }
    });
    wait_until(
        Duration::from_secs(60),
        "migrate reaching the pause",
        || flag.exists(),
    );
    let pid = child.id().to_string();
    assert!(Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap()
        .success());
    // The pause ends once the signal is noted (its notice printed), or
    // once the command died of it.
    let mut stderr = String::new();
    while let Ok(line) = stderr_lines.recv_timeout(bound(Duration::from_secs(60))) {
        stderr.push_str(&line);
        stderr.push('\n');
        if line.contains("interrupted: finishing the writes") {
            break;
        }
    }
    std::fs::remove_file(&flag).unwrap();
    let status = child.wait().unwrap();
    stderr.extend(stderr_lines.iter().map(|l| l + "\n"));
    assert_eq!(status.signal(), Some(2), "died of SIGINT: {stderr}");
    assert_eq!(fake.read_docker_config()["credsStore"], "keyring");
    let back = fake.ours(&["unconfigure"]);
    assert_eq!(back.code, 0, "{back:?}");
    assert_eq!(fake.read_docker_config()["credsStore"], "fake", "{back:?}");
    assert!(
        stderr.contains("interrupted: finishing the writes"),
        "{stderr}"
    );
}

/// A Secret Service environment with a throwaway GnuPG key and `pass`
/// store, both helpers from Debian, and this binary on PATH.
struct RealHelpers {
    env: Env,
    gnupg: tempfile::TempDir,
}

impl RealHelpers {
    fn new() -> RealHelpers {
        common::require_secret_service();
        common::tool(
            "docker-credential-secretservice",
            "golang-docker-credential-helpers",
        );
        common::tool("docker-credential-pass", "golang-docker-credential-helpers");
        common::tool("pass", "pass");
        let env = Env::new(Backend::SecretService);
        // A short path: gpg-agent's socket lives in GNUPGHOME.
        let gnupg = tempfile::Builder::new()
            .prefix("dckg")
            .tempdir_in("/tmp")
            .unwrap();
        let helpers = RealHelpers { env, gnupg };
        let gpg = common::tool("gpg", "gnupg");
        let mut cmd = helpers.command(&gpg, &["--batch", "--passphrase", "", "--quick-gen-key"]);
        cmd.args([
            "dck test <dck@example.invalid>",
            "default",
            "default",
            "never",
        ]);
        common::run_command(cmd, b"").ok();
        let pass = helpers.command(Path::new("pass"), &["init", "dck@example.invalid"]);
        common::run_command(pass, b"").ok();
        helpers
    }

    fn command(&self, program: &Path, args: &[&str]) -> Command {
        let mut cmd = Command::new(program);
        cmd.args(args);
        self.env.apply(&mut cmd);
        common::human::put_bin_on_path(&mut cmd);
        cmd.env("GNUPGHOME", self.gnupg.path())
            .env("PASSWORD_STORE_DIR", self.env.home().join("password-store"));
        cmd
    }

    /// Runs `docker-credential-NAME action` (or this binary for `keyring`).
    fn helper(&self, name: &str, action: &str, stdin: &str) -> Run {
        let program = if name == "keyring" {
            PathBuf::from(common::BIN)
        } else {
            PathBuf::from(format!("docker-credential-{name}"))
        };
        let cmd = self.command(&program, &[action]);
        common::run_command_within(cmd, stdin.as_bytes(), Duration::from_secs(120))
    }

    fn store_in(&self, name: &str, server: &str, user: &str, secret: &str) {
        let json = json!({"ServerURL": server, "Username": user, "Secret": secret});
        let run = self.helper(name, "store", &json.to_string());
        assert_eq!(run.code, 0, "{name} store {server}: {run:?}");
    }

    /// `get` through `name`: (username, secret), None when not found.
    fn get_from(&self, name: &str, server: &str) -> Option<(String, String)> {
        let run = self.helper(name, "get", server);
        if run.code != 0 && run.stdout.trim() == "credentials not found in native keychain" {
            return None;
        }
        assert_eq!(run.code, 0, "{name} get {server}: {run:?}");
        let v: Value = serde_json::from_str(&run.stdout).unwrap();
        Some((
            v["Username"].as_str().unwrap().to_owned(),
            v["Secret"].as_str().unwrap().to_owned(),
        ))
    }

    fn ours(&self, args: &[&str]) -> Run {
        let cmd = self.command(Path::new(common::BIN), args);
        common::run_command_within(cmd, b"", Duration::from_secs(600))
    }

    fn docker_config(&self) -> PathBuf {
        self.env.docker_config()
    }

    /// Erases every `docker-credential-secretservice` item (the keyring is shared).
    fn empty_secretservice(&self) {
        let run = self.helper("secretservice", "list", "");
        let listed: serde_json::Map<String, Value> = serde_json::from_str(&run.stdout).unwrap();
        for server in listed.keys() {
            self.helper("secretservice", "erase", server).ok();
        }
    }
}

impl Drop for RealHelpers {
    fn drop(&mut self) {
        let kill = self.command(Path::new("gpgconf"), &["--kill", "gpg-agent"]);
        let _ = common::run_command(kill, b"");
    }
}

const SS_HELD: [(&str, &str, &str); 3] = [
    (HUB, "hubuser", "hub-Secret-ss-1"),
    ("registry.example:5000", "bob", "reg-Secret-ss-2"),
    ("https://ghcr.example", "<token>", "ghcr-Identity-ss-3"),
];
const PASS_HELD: (&str, &str, &str) = ("quay.io", "quser", "quay-Secret-pass-4");

/// Three credentials in docker-credential-secretservice (credsStore) and
/// quay.io in docker-credential-pass (credHelpers): the README's three
/// commands, then every credential answers `get` through keyring and the
/// real docker CLI, skopeo and podman find them; the old stores keep them. Then a
/// login while switched goes back with `unconfigure --move-back`.
#[test]
#[ignore = "needs the Secret Service (tests/with-secret-service), golang-docker-credential-helpers, pass, gnupg, docker, skopeo, podman"]
fn real_helpers_switch_with_the_readme_commands_and_back() {
    // The shared gnome-keyring's `docker-credential-secretservice` items are
    // listed and erased whole: no other test may use them meanwhile.
    let _machine = time::alone();
    let real = RealHelpers::new();
    real.empty_secretservice();
    for (server, user, secret) in SS_HELD {
        real.store_in("secretservice", server, user, secret);
    }
    let (server, user, secret) = PASS_HELD;
    real.store_in("pass", server, user, secret);
    std::fs::create_dir_all(real.env.docker_config_dir()).unwrap();
    let config = json!({"credsStore": "secretservice", "credHelpers": {"quay.io": "pass"}});
    std::fs::write(real.docker_config(), config.to_string()).unwrap();
    let all: Vec<(&str, &str, &str)> = SS_HELD.into_iter().chain([PASS_HELD]).collect();
    let secrets: Vec<&str> = all.iter().map(|c| c.2).collect();

    // The README's "Switching from another helper" commands.
    for args in [
        &["migrate", "--dry-run"][..],
        &["migrate"],
        &["configure", "--podman"],
    ] {
        let run = real.ours(args);
        assert_eq!(run.code, 0, "{args:?}: {run:?}");
        assert_no_secret(&run, &secrets);
    }
    for (server, user, secret) in &all {
        let want = Some((user.to_string(), secret.to_string()));
        assert_eq!(
            real.get_from("keyring", server),
            want,
            "keyring get {server}"
        );
        assert_eq!(
            real.get_from("secretservice", server).is_some(),
            !server.contains("quay")
        );
    }
    assert!(real.get_from("pass", "quay.io").is_some(), "pass keeps it");
    let docker_config: Value =
        serde_json::from_slice(&std::fs::read(real.docker_config()).unwrap()).unwrap();
    assert_eq!(
        docker_config,
        json!({"credsStore": "keyring", "credHelpers": {"quay.io": "keyring"}})
    );

    // The real docker CLI, skopeo and podman find them through keyring.
    let docker = common::tool("docker", "docker.io");
    for (host, user) in [
        ("", "hubuser"),
        ("registry.example:5000", "bob"),
        ("quay.io", "quser"),
    ] {
        let mut cmd = real.command(&docker, &["login"]);
        if !host.is_empty() {
            cmd.arg(host);
        }
        let run = common::run_command_within(cmd, b"", Duration::from_secs(120));
        assert!(
            run.stderr.contains(&format!(
                "Authenticating with existing credentials... [Username: {user}]"
            )),
            "docker login {host}: {run:?}"
        );
        assert_no_secret(&run, &secrets);
    }
    let skopeo = common::tool("skopeo", "skopeo");
    let podman = common::tool("podman", "podman");
    for (host, user) in [
        ("docker.io", "hubuser"),
        ("registry.example:5000", "bob"),
        ("quay.io", "quser"),
    ] {
        for program in [&skopeo, &podman] {
            let cmd = real.command(program, &["login", "--get-login", host]);
            let run = common::run_command_within(cmd, b"", Duration::from_secs(120));
            assert_eq!(
                (run.code, run.stdout.trim()),
                (0, user),
                "{program:?} {host}: {run:?}"
            );
        }
    }

    // A login while switched, then the way back.
    real.store_in("keyring", "new.example:5000", "nina", "new-Secret-5");
    let back = real.ours(&["unconfigure", "--move-back"]);
    assert_eq!(back.code, 0, "{back:?}");
    assert!(
        back.stdout.contains(
            "Handed new.example:5000 back to docker-credential-secretservice (read back)"
        ),
        "{back:?}"
    );
    assert_eq!(
        real.get_from("secretservice", "new.example:5000"),
        Some(("nina".to_owned(), "new-Secret-5".to_owned()))
    );
    let docker_config: Value =
        serde_json::from_slice(&std::fs::read(real.docker_config()).unwrap()).unwrap();
    // (docker's logins above added their empty `auths` markers.)
    assert_eq!(docker_config["credsStore"], config["credsStore"]);
    assert_eq!(docker_config["credHelpers"], config["credHelpers"]);
    real.empty_secretservice();
}

/// Many credentials out of docker-credential-secretservice in one migrate,
/// all then answered by keyring; the time is printed. 300 by default
/// (gnome-keyring's writes grow with its size: 1,000 take over two minutes
/// here); `DCK_MIGRATE_COUNT=1000` for the figure in docs/switching.md.
/// `bench/run` times 1,000 into the file store.
#[test]
#[ignore = "needs the Secret Service (tests/with-secret-service) and golang-docker-credential-helpers; slow"]
fn many_credentials_move_from_secretservice() {
    let count: usize = std::env::var("DCK_MIGRATE_COUNT")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(300);
    // The shared gnome-keyring's `docker-credential-secretservice` items are
    // listed and erased whole: no other test may use them meanwhile.
    let _machine = time::alone();
    let real = RealHelpers::new();
    real.empty_secretservice();
    let server = |i: usize| format!("r{i:04}.example:5000");
    for i in 0..count {
        real.store_in(
            "secretservice",
            &server(i),
            &format!("u{i}"),
            &format!("s-Secret-{i}"),
        );
    }
    std::fs::create_dir_all(real.env.docker_config_dir()).unwrap();
    std::fs::write(real.docker_config(), r#"{"credsStore":"secretservice"}"#).unwrap();
    let started = Instant::now();
    let run = real.ours(&["migrate", "-q"]);
    let took = started.elapsed();
    assert_eq!(run.code, 0, "{run:?}");
    println!("migrate of {count} credentials from docker-credential-secretservice: {took:.1?}");
    let listed = real.env.list();
    assert_eq!(listed.len(), count, "all in keyring's list");
    for i in [0, 1, count / 2, count - 2, count - 1] {
        assert_eq!(
            real.get_from("keyring", &server(i)),
            Some((format!("u{i}"), format!("s-Secret-{i}")))
        );
    }
    real.empty_secretservice();
}

// ------------------------------------------- plaintext credentials (`auths`)

backend_tests!(migrate_moves_plaintext_entries_into_the_store);
fn migrate_moves_plaintext_entries_into_the_store(backend: Backend) {
    let env = Env::new(backend);
    let config = env.docker_config();
    write_file(&config, &plaintext_config());
    let bak = env.docker_config_dir().join("config.json.bak");
    write_file(&bak, &plaintext_config());

    let out = run(&env, &["migrate", "--dry-run"], b"");
    out.ok();
    assert!(out.stdout.contains("3 credential(s) would move"), "{out:?}");
    assert_eq!(read_file(&config), plaintext_config());

    let out = run(&env, &["migrate", "--json"], b"");
    out.ok();
    let summary: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(summary.as_array().unwrap().len(), 3, "{summary}");
    assert_eq!(summary[0]["store"], backend.name());

    assert_eq!(env.secret("quay.io").as_deref(), Some(secret(0)));
    assert_eq!(
        env.secret("https://index.docker.io/v1/").as_deref(),
        Some(secret(1))
    );
    assert_eq!(env.secret("docker.io").as_deref(), Some(secret(1)));
    let got = env.get("registry.example.com");
    assert!(
        got.stdout.contains(r#""Username":"\u003ctoken\u003e""#),
        "{got:?}"
    );
    assert_eq!(
        env.secret("registry.example.com").as_deref(),
        Some(secret(2))
    );

    let after = read_file(&config);
    assert_eq!(
            after,
            "{\n\t\"auths\": {\n\t\t\"quay.io\": {},\n\t\t\"https://index.docker.io/v1/\": {\n\t\t\t\"email\": \"bob@example.com\"\n\t\t},\n\t\t\"registry.example.com\": {},\n\t\t\"already.example.com\": {}\n\t},\n\t\"credsStore\": \"keyring\"\n}"
        );
    let backup = read_file(&bak);
    for (user, pass) in SECRETS {
        assert!(!after.contains(pass) && !after.contains(&auth_b64(user, pass)));
        assert!(
            !backup.contains(pass) && !backup.contains(&auth_b64(user, pass)),
            "{backup}"
        );
    }
    let ls = run(&env, &["ls", "--json"], b"");
    ls.ok();
    assert!(ls.stdout.contains("\"identityToken\": true"), "{ls:?}");

    // Nothing left: a second run says so.
    let out = run(&env, &["migrate"], b"");
    out.ok();
    assert!(out.stdout.contains("No plaintext credentials"), "{out:?}");
    for key in ["quay.io", "docker.io", "registry.example.com"] {
        env.erase(key).ok();
    }
}

#[test]
fn migrate_reads_the_containers_auth_file_too() {
    let env = Env::new(Backend::File);
    let file = env.containers_auth_file();
    write_file(
        &file,
        &format!(
            r#"{{"auths":{{"podman.example.com":{{"auth":"{}"}}}},"credHelpers":{{"podman.example.com":"keyring"}}}}"#,
            auth_b64("dave", secret(4))
        ),
    );
    run(&env, &["migrate", "-q"], b"").ok();
    assert_eq!(env.secret("podman.example.com").as_deref(), Some(secret(4)));
    assert_eq!(
        read_file(&file),
        "{\n\t\"auths\": {\n\t\t\"podman.example.com\": {}\n\t},\n\t\"credHelpers\": {\n\t\t\"podman.example.com\": \"keyring\"\n\t}\n}"
    );
}

#[test]
fn migrate_refuses_when_docker_would_lose_the_credentials() {
    let env = Env::new(Backend::File);
    let config = env.docker_config();
    let text =
        plaintext_config().replace("\t\"credsStore\": \"keyring\"\n", "\t\"psFormat\": \"x\"\n");
    write_file(&config, &text);
    let out = run(&env, &["migrate"], b"");
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr.contains("docker-credential-keyring configure"),
        "{out:?}"
    );
    assert_eq!(read_file(&config), text, "untouched");
    assert!(env.list().is_empty(), "nothing stored");

    // credsStore is ours but a credHelpers entry sends quay.io elsewhere.
    let text = plaintext_config().replace(
        "\t\"credsStore\": \"keyring\"\n",
        "\t\"credsStore\": \"keyring\",\n\t\"credHelpers\": {\"quay.io\": \"pass\"}\n",
    );
    write_file(&config, &text);
    let out = run(&env, &["migrate"], b"");
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr
            .contains("run `docker-credential-keyring configure --registry quay.io` first"),
        "{out:?}"
    );
    assert_eq!(read_file(&config), text, "untouched");
}

#[test]
fn migrate_with_a_failing_store_leaves_the_file_untouched() {
    let env = Env::new(Backend::File);
    let config = env.docker_config();
    write_file(&config, &plaintext_config());
    // The Secret Service chosen explicitly, and no bus: every store fails.
    let mut cmd = human_command(&env, &["migrate"]);
    cmd.env("DOCKER_CREDENTIAL_KEYRING_STORE", "secret-service")
        .env_remove("DBUS_SESSION_BUS_ADDRESS");
    let out = common::run_command(cmd, b"");
    assert_no_test_secret(&out);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr.contains("the config files were left untouched"),
        "{out:?}"
    );
    assert_eq!(read_file(&config), plaintext_config());
    assert!(env.list().is_empty());
}

#[test]
fn migrate_refuses_two_different_credentials_for_one_registry() {
    let env = Env::new(Backend::File);
    write_file(&env.docker_config(), &plaintext_config());
    let file = env.containers_auth_file();
    let text = format!(
        r#"{{"auths":{{"quay.io":{{"auth":"{}"}}}},"credHelpers":{{"quay.io":"keyring"}}}}"#,
        auth_b64("dave", secret(4))
    );
    write_file(&file, &text);
    let out = run(&env, &["migrate"], b"");
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("quay.io has two different credentials"),
        "{out:?}"
    );
    assert_eq!(read_file(&file), text);
    assert_eq!(read_file(&env.docker_config()), plaintext_config());
}
