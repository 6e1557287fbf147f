//! What a new user meets first, through the real binary: a mistyped command
//! is named with the closest one (the protocol verbs stay byte-exact), every
//! `--help` states its exit codes, README's first command leaves nothing
//! behind, `version` names the store it would use, `ls` on an empty store
//! says how to add one, `configure --podman` covers later logins and
//! `unconfigure --podman` puts the auth file back; and `tests/install-deps`
//! installs only the tests' packages without leaving services behind.
//! Unix only (file modes, ptys, shell scripts); tests/windows covers Windows.
#![cfg(unix)]

mod common;

use std::path::Path;

use common::golden::repo_file;
use common::human::{human_command, login};
use common::{Backend, Env, Run};

const BIN_NAME: &str = "docker-credential-keyring";

/// The subcommand names listed under "Commands:" in `args --help`, without `help`.
fn subcommands(env: &Env, args: &[&str]) -> Vec<String> {
    let mut argv = args.to_vec();
    argv.push("--help");
    let run = env.run(&argv, b"");
    run.ok();
    run.stdout
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_owned)
        .collect()
}

/// Every human command, found from `--help` (so a new one is covered too).
fn human_commands(env: &Env) -> Vec<String> {
    let names = subcommands(env, &[]);
    assert!(names.len() >= 12, "{names:?}");
    names
}

/// Asserts `run` is clap's "unrecognized subcommand" on stderr, exit 2,
/// nothing on stdout, naming `suggestion` when given.
fn assert_unknown_command(what: &str, run: &Run, suggestion: Option<&str>) {
    assert_eq!(run.code, 2, "{what}: {run:?}");
    assert!(run.stdout.is_empty(), "{what}: stdout stays empty: {run:?}");
    assert!(
        run.stderr.starts_with("error: unrecognized subcommand"),
        "{what}: {run:?}"
    );
    if let Some(name) = suggestion {
        assert!(run.stderr.contains("tip: "), "{what}: {run:?}");
        assert!(
            run.stderr.contains(&format!("'{name}'")),
            "{what}: suggests {name}: {run:?}"
        );
    }
}

/// Near-misses of every human command and protocol verb get clap's message
/// with the closest name on stderr, exit 2 (what docker, gh and kubectl do).
#[test]
fn typos_of_every_command_name_the_closest_one() {
    let env = Env::new(Backend::File);
    let table: &[(&str, &str)] = &[
        ("lgoin", "login"),
        ("logn", "login"),
        ("logut", "logout"),
        ("lss", "ls"),
        ("chekc", "check"),
        ("chekc", "check"),
        ("exprot", "export"),
        ("improt", "import"),
        ("piar", "pair"),
        ("confgure", "configure"),
        ("unconfigur", "unconfigure"),
        ("migarte", "migrate"),
        ("docter", "doctor"),
        ("completion", "completions"),
        ("grant-pul", "grant-pull"),
        ("stor", "store"),
        ("gett", "get"),
        ("eraes", "erase"),
        ("lsit", "list"),
        ("verison", "version"),
    ];
    let mut targets: Vec<String> = human_commands(&env);
    targets.extend(
        ["store", "get", "erase", "list", "version"]
            .iter()
            .map(|v| v.to_string()),
    );
    for name in &targets {
        assert!(
            table.iter().any(|(_, want)| want == name),
            "no typo row for {name}"
        );
    }
    for (typo, want) in table {
        let run = env.run(&[typo], b"quay.io");
        assert_unknown_command(typo, &run, Some(want));
        assert!(!env.store_file().exists(), "{typo}: no store created");
    }
    // Nothing close: still a clear message, no tip.
    for word in ["frobnicate", "STORE", ""] {
        assert_unknown_command(word, &env.run(&[word], b""), None);
    }
}

/// Unknown flags are a bad command line too, at the top level and after a command.
#[test]
fn unknown_flags_are_exit_2_on_stderr() {
    let env = Env::new(Backend::File);
    for args in [&["--frob"][..], &["--hepl"], &["-x"], &["ls", "--frob"]] {
        let run = env.run(args, b"");
        assert_eq!(run.code, 2, "{args:?}: {run:?}");
        assert!(run.stdout.is_empty(), "{args:?}: {run:?}");
        assert!(
            run.stderr.starts_with("error: unexpected argument"),
            "{args:?}: {run:?}"
        );
    }
    let run = env.run(&["--hepl"], b"");
    assert!(run.stderr.contains("'--help'"), "suggests --help: {run:?}");
}

/// The protocol's own answers are unchanged: no argument, or a verb with
/// extra words, is the usage on stdout with exit 1; verbs still work.
#[test]
fn protocol_usage_and_verbs_are_unchanged() {
    let env = Env::new(Backend::File);
    for args in [
        &[][..],
        &["get", "extra"],
        &["store", "a", "b"],
        &["list", "--json"],
        &["version", "x"],
    ] {
        let run = env.run(args, b"quay.io");
        assert_eq!(run.code, 1, "{args:?}: {run:?}");
        assert!(
            run.stdout
                .starts_with("Usage: docker-credential-keyring <store|get|erase|list|version>\n"),
            "{args:?}: {run:?}"
        );
        assert!(run.stderr.is_empty(), "{args:?}: {run:?}");
    }
    env.store("quay.io", "u", "s").ok();
    assert_eq!(env.secret("quay.io").as_deref(), Some("s"));
    assert_eq!(
        env.run(&["list"], b"unused").stdout,
        "{\"quay.io\":\"u\"}\n"
    );
    env.erase("quay.io").ok();
    assert_eq!(env.secret("quay.io"), None);
}

/// Every command's `--help`, nested ones included, states its exit codes.
#[test]
fn every_help_has_an_exit_codes_line() {
    let env = Env::new(Backend::File);
    let mut pending: Vec<Vec<String>> = vec![vec![]];
    let mut seen = 0;
    while let Some(path) = pending.pop() {
        let args: Vec<&str> = path.iter().map(String::as_str).collect();
        let mut argv = args.clone();
        argv.push("--help");
        let run = env.run(&argv, b"");
        run.ok();
        assert!(
            run.stdout.lines().any(|l| l.starts_with("Exit codes")),
            "`{}` lacks the exit codes: {run:?}",
            argv.join(" ")
        );
        seen += 1;
        for sub in subcommands(&env, &args) {
            let mut next = path.clone();
            next.push(sub);
            pending.push(next);
        }
    }
    assert!(seen >= 17, "top level, 12 commands and pair's 4: {seen}");
}

#[test]
fn ls_on_an_empty_store_says_how_to_add_one() {
    let env = Env::new(Backend::File);
    let run = env.run(&["ls"], b"");
    run.ok();
    assert!(run.stdout.starts_with("No credentials stored."), "{run:?}");
    assert!(
        run.stdout.contains(&format!("{BIN_NAME} login REGISTRY")),
        "{run:?}"
    );
    assert!(!run.stdout.contains("SERVER"), "no bare header: {run:?}");
    // Scripts get nothing rather than prose.
    assert_eq!(env.run(&["ls", "-q"], b"").stdout, "");
    assert_eq!(env.run(&["ls", "--json"], b"").stdout, "[]\n");
    // With a credential, the table.
    env.store("quay.io", "u", "s").ok();
    let run = env.run(&["ls"], b"");
    assert!(run.stdout.starts_with("SERVER"), "{run:?}");
}

/// `import` reads into the local store: skipping an identity token is
/// explained in those terms (not a cluster's), pointing at `migrate`.
#[test]
fn import_explains_a_skipped_identity_token_for_the_local_store() {
    let env = Env::new(Backend::File);
    let doc =
        r#"{"auths":{"token.example.com":{"identitytoken":"tok"},"quay.io":{"auth":"dTpw"}}}"#;
    let run = env.run(&["import", "-"], doc.as_bytes());
    run.ok();
    let line = run
        .stdout
        .lines()
        .find(|l| l.starts_with("skipped  token.example.com"))
        .unwrap_or_else(|| panic!("{run:?}"));
    assert!(line.contains("import does not copy"), "{line}");
    assert!(line.contains("migrate"), "{line}");
    assert!(!line.contains("kubelet"), "{line}");
    assert_eq!(env.secret("quay.io").as_deref(), Some("p"));
    assert!(!run.stdout.contains("tok\""), "{run:?}");
}

/// `version` with `auto` (and no configured store) under `env`, on one line.
fn auto_version(cmd: &mut std::process::Command) -> String {
    cmd.env("DOCKER_CREDENTIAL_KEYRING_STORE", "auto");
    let run = common::run_command(
        std::mem::replace(cmd, std::process::Command::new("true")),
        b"",
    );
    run.ok();
    assert_eq!(run.stdout.lines().count(), 1, "one line: {run:?}");
    // (dbus-daemon may log on the shared stderr; the protocol answer is stdout.)
    assert!(!run.stderr.contains(BIN_NAME), "{run:?}");
    run.stdout
}

/// A D-Bus session bus with nothing on it (no service activation either, so
/// the machine's gnome-keyring cannot be started on it).
const EMPTY_BUS_CONFIG: &str = r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:tmpdir=/tmp</listen>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"#;

/// `version` names the store a `store` would use: the configured one, or
/// what `auto` decides here and why.
#[test]
fn version_names_the_store_it_would_use() {
    let env = Env::new(Backend::File);
    let run = env.run(&["version"], b"");
    assert_eq!(
        run.stdout,
        format!("{BIN_NAME} {} (store: file)\n", env!("CARGO_PKG_VERSION"))
    );

    let mut cmd = env.command(&["version"]);
    cmd.env("DOCKER_CREDENTIAL_KEYRING_STORE", "secret-service");
    let run = common::run_command(cmd, b"");
    assert!(run.stdout.ends_with("(store: secret-service)\n"), "{run:?}");

    // auto, no session bus: the file store, and why.
    let mut cmd = env.command(&["version"]);
    cmd.env_remove("DBUS_SESSION_BUS_ADDRESS");
    let out = auto_version(&mut cmd);
    assert!(
        out.ends_with(
            "(store: file, chosen by auto: no D-Bus session bus, so no Secret Service)\n"
        ),
        "{out}"
    );

    // auto, a session bus with no Secret Service on it: the file store, and why.
    let config = env.home().join("empty-bus.conf");
    std::fs::write(&config, EMPTY_BUS_CONFIG).unwrap();
    let mut cmd = std::process::Command::new("dbus-run-session");
    cmd.arg("--config-file")
        .arg(&config)
        .arg("--")
        .arg(common::BIN)
        .arg("version");
    env.apply(&mut cmd);
    cmd.env_remove("DBUS_SESSION_BUS_ADDRESS");
    let out = auto_version(&mut cmd);
    assert!(
        out.contains("(store: file, chosen by auto: no Secret Service provider (gnome-keyring, KWallet, KeePassXC) on the session bus)"),
        "{out}"
    );
    assert!(!env.store_file().exists(), "version writes nothing");
}

/// Under `auto` with a Secret Service answering, `version` names it.
#[test]
#[ignore = "needs the Secret Service (run through tests/with-secret-service)"]
fn version_under_auto_names_a_running_secret_service() {
    common::require_secret_service();
    let env = Env::new(Backend::SecretService);
    let out = auto_version(&mut env.command(&["version"]));
    assert!(
        out.ends_with("(store: secret-service, chosen by auto)\n"),
        "{out}"
    );
}

/// The binary with its directory on PATH (as after `cargo install`), no bus.
fn human(env: &Env, args: &[&str], stdin: &[u8]) -> Run {
    common::run_command(human_command(env, args), stdin)
}

fn cred_helpers(env: &Env) -> serde_json::Value {
    let text = std::fs::read_to_string(env.containers_auth_file()).unwrap();
    serde_json::from_str::<serde_json::Value>(&text).unwrap()["credHelpers"].clone()
}

/// `configure --podman` (no --registry) sets podman up for the stored
/// registries and for each later `login`, touches nothing of docker's, and
/// `unconfigure --podman` leaves the auth file as it was: absent, or
/// byte-identical.
#[test]
fn podman_round_trip_follows_logins_and_unconfigure_restores_the_file() {
    let before: [Option<&str>; 2] = [None, Some("{\n\t\"auths\": {}\n}")];
    for original in before {
        let env = Env::new(Backend::File);
        if let Some(text) = original {
            std::fs::write(env.containers_auth_file(), text).unwrap();
        }
        login(&env, "quay.io", "me", "pw", &[]);
        let run = human(&env, &["configure", "--podman"], b"");
        run.ok();
        assert!(
            run.stdout.contains("docker's config is unchanged"),
            "{run:?}"
        );
        assert!(!env.docker_config_dir().join("config.json").exists());
        assert_eq!(
            cred_helpers(&env),
            serde_json::json!({"quay.io": "keyring"})
        );

        let run = login(&env, "new.example.com:5000", "me", "pw", &[]);
        assert!(
            run.stdout
                .contains("Set credHelpers.new.example.com:5000 = \"keyring\""),
            "{run:?}"
        );
        assert_eq!(
            cred_helpers(&env),
            serde_json::json!({"quay.io": "keyring", "new.example.com:5000": "keyring"})
        );
        // Logging in again changes nothing more.
        let run = login(&env, "new.example.com:5000", "me", "pw", &[]);
        assert!(!run.stdout.contains("Set credHelpers"), "{run:?}");

        let run = human(&env, &["unconfigure", "--podman"], b"");
        run.ok();
        match original {
            None => {
                assert!(!env.containers_auth_file().exists(), "{run:?}");
                assert!(run.stdout.contains("Removed"), "{run:?}");
            }
            Some(text) => {
                assert_eq!(
                    std::fs::read_to_string(env.containers_auth_file()).unwrap(),
                    text
                );
            }
        }
        let bak = env.home().join("containers-auth.json.bak");
        match original {
            None => assert!(!bak.exists(), "no backup of our own file"),
            Some(text) => assert_eq!(std::fs::read_to_string(&bak).unwrap(), text),
        }
        // After unconfigure, logins no longer touch the file.
        login(&env, "later.example.com", "me", "pw", &[]);
        match original {
            None => assert!(!env.containers_auth_file().exists()),
            Some(text) => assert_eq!(
                std::fs::read_to_string(env.containers_auth_file()).unwrap(),
                text
            ),
        }
    }
}

/// `configure --podman --registry R` chose its registries: a later `login`
/// elsewhere leaves the file alone and says how to add it.
#[test]
fn podman_configured_for_named_registries_notes_a_new_login() {
    let env = Env::new(Backend::File);
    human(
        &env,
        &["configure", "--podman", "--registry", "quay.io"],
        b"",
    )
    .ok();
    let before = std::fs::read(env.containers_auth_file()).unwrap();
    let run = login(&env, "other.example.com", "me", "pw", &[]);
    assert!(
        run.stderr.contains(
            "run `docker-credential-keyring configure --podman --registry other.example.com`"
        ),
        "{run:?}"
    );
    assert_eq!(std::fs::read(env.containers_auth_file()).unwrap(), before);
    // Quiet means quiet.
    let run = human(
        &env,
        &[
            "login",
            "--no-verify",
            "third.example.com",
            "-u",
            "me",
            "--password-stdin",
            "-q",
        ],
        b"pw\n",
    );
    run.ok();
    assert!(run.stdout.is_empty() && run.stderr.is_empty(), "{run:?}");
}

/// README's command 1: the line after the `# 1.` comment (and its
/// continuation comment lines) in the first shell block.
fn readme_command_1() -> String {
    let readme = repo_file("README.md");
    let block = readme
        .split("```sh\n")
        .nth(1)
        .expect("README has a sh block");
    let mut lines = block
        .lines()
        .skip_while(|l| !l.starts_with("# 1."))
        .skip_while(|l| l.starts_with('#'));
    lines.next().expect("a command after `# 1.`").to_owned()
}

/// README's first command, run as written (its `cargo build --release` part
/// replaced by the binary this test run built, at the path it names) with
/// HOME and the XDG dirs isolated: it prints the credential and leaves
/// nothing in any store, nor in the temp directory it used.
#[test]
fn readme_command_1_round_trips_and_leaves_nothing_behind() {
    let env = Env::new(Backend::File);
    let command = readme_command_1();
    let rest = command
        .strip_prefix("cargo build --release && ")
        .unwrap_or_else(|| panic!("command 1 builds first: {command}"));
    let checkout = env.home().join("checkout");
    let release = checkout.join("target/release");
    std::fs::create_dir_all(&release).unwrap();
    std::os::unix::fs::symlink(common::BIN, release.join(BIN_NAME)).unwrap();
    let tmp = env.home().join("tmp");
    std::fs::create_dir_all(&tmp).unwrap();

    let mut cmd = std::process::Command::new("sh");
    cmd.arg("-c").arg(rest).current_dir(&checkout);
    env.apply(&mut cmd);
    // As a user's shell: no store chosen, the machine's bus (if any), and
    // our own TMPDIR to see that the throwaway directory is gone.
    cmd.env_remove("DOCKER_CREDENTIAL_KEYRING_STORE")
        .env("TMPDIR", &tmp);
    let run = common::run_command(cmd, b"");
    run.ok();
    assert_eq!(
        run.stdout,
        "{\"ServerURL\":\"registry.example.com\",\"Username\":\"me\",\"Secret\":\"s3cret\"}\n",
        "{run:?}"
    );
    assert!(run.stderr.is_empty(), "{run:?}");
    assert!(
        !env.store_file().exists(),
        "the user's file store is untouched"
    );
    assert_eq!(
        std::fs::read_dir(&tmp).unwrap().count(),
        0,
        "the throwaway store is removed"
    );
    // The user's real store does not have it either (whatever `auto` picks).
    let mut get = env.command(&["get"]);
    get.env_remove("DOCKER_CREDENTIAL_KEYRING_STORE");
    let run = common::run_command(get, b"registry.example.com");
    assert_eq!(run.stdout, "credentials not found in native keychain\n");
}

/// `tests/packages` holds what the tests use, not packaging's or the
/// benchmark's (they install their own lists).
#[test]
fn test_packages_leave_packaging_and_bench_to_their_own_lists() {
    let names = |file: &str| -> Vec<String> {
        repo_file(file)
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .map(|l| l.trim().to_owned())
            .collect()
    };
    let tests = names("tests/packages");
    for pkg in [
        "dbus",
        "gnome-keyring",
        "docker-registry",
        "podman",
        "skopeo",
    ] {
        assert!(tests.contains(&pkg.to_owned()), "tests need {pkg}");
    }
    for other in ["packaging/packages", "bench/packages"] {
        for pkg in names(other) {
            if pkg != "python3" {
                assert!(
                    !tests.contains(&pkg),
                    "{pkg} ({other}) is not for the tests"
                );
            }
        }
    }
    for pkg in ["rpm", "rpmlint", "ruby", "musl-tools", "dpkg-dev", "jq"] {
        assert!(
            names("packaging/packages").contains(&pkg.to_owned()),
            "{pkg}"
        );
    }
    assert!(names("bench/packages").contains(&"golang-docker-credential-helpers".to_owned()));
}

/// `tests/install-deps` with apt, dpkg and systemctl replaced by stubs that log
/// what they are asked: during the install a policy-rc.d refuses service starts
/// (exit 101); afterwards the one that was there is back (or none), also when
/// apt fails; a unit the new package enabled is disabled again.
#[test]
fn install_deps_blocks_service_starts_and_puts_everything_back() {
    use std::os::unix::fs::PermissionsExt;
    let env = Env::new(Backend::File);
    let dir = env.home().join("mock");
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let stub = |name: &str, body: &str| {
        let path = bin.join(name);
        std::fs::write(&path, format!("#!/bin/bash\nM='{}'\n{body}", dir.display())).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    };
    stub(
        "dpkg-query",
        r#"if [ "$1" = -W ] && [ $# -eq 3 ]; then
  [ "$3" = newpkg ] && [ ! -e "$M/installed" ] && exit 1; echo "install ok installed"; exit 0
fi
if [ "$1" = -W ]; then echo "oldpkg install ok installed"; [ -e "$M/installed" ] && echo "newpkg install ok installed"; exit 0; fi
if [ "$1" = -L ] && [ "$2" = newpkg ]; then printf '/lib/systemd/system/new.service\n/usr/lib/systemd/user/user.service\n'; fi
"#,
    );
    stub(
        "apt-get",
        r#"echo "apt-get $1" >> "$M/log"
if [ "$1" = install ]; then
  "$M/policy-rc.d" docker-registry start; echo "policy-rc.d says $?" >> "$M/log"
  [ -e "$M/fail" ] && exit 100
  touch "$M/installed"
fi
"#,
    );
    stub(
        "systemctl",
        r#"echo "systemctl $*" >> "$M/log"; [ "$1" = is-enabled ] && echo enabled; exit 0"#,
    );
    stub("sudo", r#"exec "$@""#);
    std::fs::write(dir.join("packages"), "# a list\noldpkg\nnewpkg\n").unwrap();
    let policy = dir.join("policy-rc.d");
    // tests/install-deps on the mock package list, with the stubs first on PATH.
    let install_deps = || {
        let mut cmd = std::process::Command::new(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/install-deps"),
        );
        let path = std::env::var("PATH").unwrap_or_default();
        cmd.arg(dir.join("packages"))
            .env("PATH", format!("{}:{path}", bin.display()))
            .env("DCK_POLICY_RC_D", &policy);
        cmd
    };
    let run = |original: Option<&str>, fail: bool| -> (Run, String) {
        for f in ["installed", "log", "fail", "policy-rc.d"] {
            let _ = std::fs::remove_file(dir.join(f));
        }
        if let Some(text) = original {
            std::fs::write(&policy, text).unwrap();
            std::fs::set_permissions(&policy, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        if fail {
            std::fs::write(dir.join("fail"), "").unwrap();
        }
        let out = common::run_command(install_deps(), b"");
        let log = std::fs::read_to_string(dir.join("log")).unwrap_or_default();
        (out, log)
    };

    let (out, log) = run(None, false);
    out.ok();
    assert!(out.stderr.contains("installing newpkg"), "{out:?}");
    assert!(log.contains("policy-rc.d says 101"), "{log}");
    assert!(
        log.contains("systemctl disable --quiet new.service"),
        "{log}"
    );
    assert!(
        !log.contains("user.service"),
        "user units are left alone: {log}"
    );
    assert!(!policy.exists(), "the temporary policy-rc.d is removed");

    let original = "#!/bin/sh\nexit 0\n";
    let (out, log) = run(Some(original), true);
    assert_eq!(out.code, 100, "apt's failure is the script's: {out:?}");
    assert!(log.contains("policy-rc.d says 101"), "{log}");
    assert_eq!(std::fs::read_to_string(&policy).unwrap(), original);

    // Nothing missing: nothing done.
    std::fs::write(dir.join("installed"), "").unwrap();
    let _ = std::fs::remove_file(dir.join("log"));
    common::run_command(install_deps(), b"").ok();
    assert!(!dir.join("log").exists(), "no apt, no systemctl");
}
