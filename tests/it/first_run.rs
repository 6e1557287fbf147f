//! What a new user meets first, through the real binary: a mistyped command
//! is named with the closest one (the protocol verbs stay byte-exact), every
//! `--help` states its exit codes, README's first command leaves nothing
//! behind, `version` names the store it would use, `ls` on an empty store
//! says how to add one, `configure --podman` covers later logins and
//! `unconfigure --podman` puts the auth file back; and `tests/install-deps`
//! installs only the tests' packages without leaving services behind.
//! Unix only (file modes, ptys, shell scripts); tests/windows covers Windows.
#![cfg(unix)]

use crate::common;

use std::path::Path;

use common::docs::{anchors, links};
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
        ("auidt", "audit"),
        ("exprot", "export"),
        ("improt", "import"),
        ("piar", "pair"),
        ("confgure", "configure"),
        ("unconfigur", "unconfigure"),
        ("migarte", "migrate"),
        ("docter", "doctor"),
        ("completion", "completions"),
        ("grant-pul", "grant-pull"),
        ("kubelet-credential-provder", "kubelet-credential-provider"),
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
        assert!(!env.docker_config().exists());
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

/// Every relative link of the user and developer documents resolves: the
/// file exists, and an anchor names one of its headings (as GitHub makes
/// anchors), so moving a section cannot leave a link pointing at nothing.
#[test]
fn document_links_and_anchors_resolve() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files: Vec<String> = [
        "README.md",
        "SECURITY.md",
        "packaging/README.md",
        "fuzz/README.md",
    ]
    .map(String::from)
    .to_vec();
    for entry in std::fs::read_dir(root.join("docs")).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if name.ends_with(".md") {
            files.push(format!("docs/{name}"));
        }
    }
    let mut checked = 0;
    for file in &files {
        let dir = Path::new(file).parent().unwrap();
        for target in links(&repo_file(file)) {
            if target.contains("://") || target.starts_with("mailto:") {
                continue;
            }
            let (path, anchor) = target.split_once('#').unwrap_or((&target, ""));
            let linked = if path.is_empty() {
                root.join(file)
            } else {
                root.join(dir).join(path)
            };
            assert!(linked.exists(), "{file}: the link {target} names nothing");
            if !anchor.is_empty() {
                let text = std::fs::read_to_string(&linked).unwrap();
                assert!(
                    anchors(&text).iter().any(|a| a == anchor),
                    "{file}: the link {target}: no heading of {} has the anchor #{anchor}",
                    linked.display()
                );
            }
            checked += 1;
        }
    }
    assert!(
        checked > 50,
        "only {checked} links found: is the link reader broken?"
    );
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
    // The upstream helpers bench/run compares with are a test need since
    // the switching tests migrate from them (bench/run installs both lists).
    for pkg in ["golang-docker-credential-helpers", "pass", "gnupg"] {
        assert!(
            tests.contains(&pkg.to_owned()),
            "the switching tests need {pkg}"
        );
    }
}

/// A fake Debian for `tests/install-deps`: stub `dpkg-query`, `apt-get`,
/// `systemctl` and `sudo` first on PATH, over a package database of plain
/// files, so the script runs for real without root or apt. `installed` lists
/// installed packages, `files/P` what P ships, `deps/P` what installing P pulls
/// in, `enables/P` the units P's postinst enables, `enabled` the enabled units
/// (`system U` or `user U`), `log` every apt and systemctl call.
struct FakeDebian {
    env: Env,
    dir: std::path::PathBuf,
}

const DPKG_QUERY_STUB: &str = r#"case "$1" in
  -W) if [ $# -eq 3 ]; then
        grep -qx -- "$3" "$M/installed" || { echo "dpkg-query: no packages found matching $3" >&2; exit 1; }
        echo "install ok installed"
      else
        sed 's/$/ install ok installed/' "$M/installed"
      fi ;;
  -L) cat "$M/files/$2" 2>/dev/null || { echo "dpkg-query: package '$2' is not installed" >&2; exit 1; } ;;
  *) exit 2 ;;
esac
"#;

const APT_GET_STUB: &str = r#"echo "apt-get $*" >> "$M/log"
case "$1" in
  update) [ ! -e "$M/fail-update" ] || { echo "E: Failed to fetch" >&2; exit 100; } ;;
  install)
    "$M/policy-rc.d" some-service start; echo "policy-rc.d says $?" >> "$M/log"
    shift
    for pkg; do
      case "$pkg" in -*) continue ;; esac
      for p in "$pkg" $(cat "$M/deps/$pkg" 2>/dev/null); do
        grep -qx -- "$p" "$M/installed" || echo "$p" >> "$M/installed"
        cat "$M/enables/$p" >> "$M/enabled" 2>/dev/null
      done
      [ ! -e "$M/fail-install" ] || { echo "E: Sub-process /usr/bin/dpkg returned an error code (1)" >&2; exit 100; }
    done ;;
esac
"#;

const SYSTEMCTL_STUB: &str = r#"echo "systemctl $*" >> "$M/log"
scope=system; [ "$1" != --global ] || { scope=user; shift; }
case "$1" in
  is-enabled) grep -qx -- "$scope $2" "$M/enabled" 2>/dev/null || { echo disabled; exit 1; }; echo enabled ;;
  disable) [ ! -e "$M/fail-disable" ] || { echo "Failed to disable unit: Access denied" >&2; exit 1; }
    unit=${!#}; { grep -vx -- "$scope $unit" "$M/enabled" || true; } > "$M/enabled.new"; mv "$M/enabled.new" "$M/enabled" ;;
esac
"#;

impl FakeDebian {
    fn new() -> FakeDebian {
        use std::os::unix::fs::PermissionsExt;
        let env = Env::new(Backend::File);
        let dir = env.home().join("mock");
        for sub in ["bin", "files", "deps", "enables"] {
            std::fs::create_dir_all(dir.join(sub)).unwrap();
        }
        for (name, body) in [
            ("dpkg-query", DPKG_QUERY_STUB),
            ("apt-get", APT_GET_STUB),
            ("systemctl", SYSTEMCTL_STUB),
            ("sudo", r#"exec "$@""#),
        ] {
            let path = dir.join("bin").join(name);
            let text = format!("#!/bin/bash\nM='{}'\n{body}", dir.display());
            std::fs::write(&path, text).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        std::fs::write(dir.join("installed"), "").unwrap();
        std::fs::write(dir.join("enabled"), "").unwrap();
        FakeDebian { env, dir }
    }

    /// Declares package `name`: what it ships, what installing it pulls in,
    /// the units (`system U`, `user U`) its postinst enables, and whether it
    /// is installed already (then those units are enabled already).
    fn package(
        &self,
        name: &str,
        files: &[&str],
        deps: &[&str],
        enables: &[&str],
        installed: bool,
    ) {
        let lines = |items: &[&str]| items.iter().map(|i| format!("{i}\n")).collect::<String>();
        std::fs::write(self.dir.join("files").join(name), lines(files)).unwrap();
        std::fs::write(self.dir.join("deps").join(name), lines(deps)).unwrap();
        std::fs::write(self.dir.join("enables").join(name), lines(enables)).unwrap();
        if installed {
            self.append("installed", &lines(&[name]));
            self.append("enabled", &lines(enables));
        }
    }

    fn append(&self, file: &str, text: &str) {
        let mut old = self.read(file);
        old.push_str(text);
        std::fs::write(self.dir.join(file), old).unwrap();
    }

    fn read(&self, file: &str) -> String {
        std::fs::read_to_string(self.dir.join(file)).unwrap_or_default()
    }

    /// Makes `what` (`update`, `install`, `disable`) fail from now on.
    fn fail(&self, what: &str) {
        std::fs::write(self.dir.join(format!("fail-{what}")), "").unwrap();
    }

    /// The policy-rc.d the script manages here (`DCK_POLICY_RC_D`).
    fn policy(&self) -> std::path::PathBuf {
        self.dir.join("policy-rc.d")
    }

    /// Puts an executable policy-rc.d holding `text` in place.
    fn set_policy(&self, text: &str) {
        use std::os::unix::fs::PermissionsExt;
        std::fs::write(self.policy(), text).unwrap();
        std::fs::set_permissions(self.policy(), std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    /// `tests/install-deps LIST` with `packages` in LIST and the stubs first on PATH.
    fn install_deps(&self, packages: &[&str]) -> Run {
        let list = self.dir.join("packages");
        std::fs::write(&list, format!("# a list\n{}\n", packages.join("\n"))).unwrap();
        let mut cmd = std::process::Command::new(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/install-deps"),
        );
        let path = std::env::var("PATH").unwrap_or_default();
        cmd.arg(&list)
            .env("PATH", format!("{}:{path}", self.dir.join("bin").display()))
            .env("DCK_POLICY_RC_D", self.policy());
        self.env.apply(&mut cmd);
        common::run_command(cmd, b"")
    }

    /// The enabled units, sorted.
    fn enabled(&self) -> Vec<String> {
        let mut units: Vec<String> = self.read("enabled").lines().map(str::to_owned).collect();
        units.sort();
        units
    }
}

/// An installed package with an enabled unit (not ours to touch).
fn old_package(deb: &FakeDebian) {
    deb.package(
        "oldpkg",
        &["/lib/systemd/system/old.service"],
        &[],
        &["system old.service"],
        true,
    );
}

/// `newpkg`: system units in /lib and /usr/lib, a template, a global user
/// unit, all but the template enabled by its postinst.
fn new_package(deb: &FakeDebian) {
    deb.package(
        "newpkg",
        &[
            "/usr/bin/newd",
            "/lib/systemd/system/new.service",
            "/usr/lib/systemd/system/new.socket",
            "/lib/systemd/system/new@.service",
            "/usr/lib/systemd/user/new-agent.socket",
        ],
        &["libdep"],
        &[
            "system new.service",
            "system new.socket",
            "user new-agent.socket",
        ],
        false,
    );
    deb.package(
        "libdep",
        &["/lib/systemd/system/dep.timer"],
        &[],
        &["system dep.timer"],
        false,
    );
}

/// Nothing missing: no apt, no systemctl, no policy-rc.d, nothing printed.
#[test]
fn install_deps_with_nothing_missing_does_nothing() {
    let deb = FakeDebian::new();
    old_package(&deb);
    let out = deb.install_deps(&["oldpkg"]);
    out.ok();
    assert_eq!(out.stderr, "", "{out:?}");
    assert_eq!(deb.read("log"), "", "no apt, no systemctl");
    assert!(!deb.policy().exists());
    assert_eq!(deb.enabled(), ["system old.service"]);
}

/// `PACKAGE unless COMMAND`: the package only where the command is missing
/// (the docker CLI: the machine's own, else Debian's docker.io).
#[test]
fn install_deps_skips_a_package_whose_command_is_there() {
    let deb = FakeDebian::new();
    deb.package("clipkg", &["/usr/bin/cli"], &[], &[], false);
    deb.package("otherpkg", &["/usr/bin/other"], &[], &[], false);
    let out = deb.install_deps(&["clipkg unless sh", "otherpkg unless dck-no-such-command"]);
    out.ok();
    assert!(out.stderr.contains("installing otherpkg\n"), "{out:?}");
    assert!(!deb.read("installed").contains("clipkg"), "sh is on PATH");
}

/// A fresh machine: the first and the last new packages ship no unit (the
/// unit search used to end the script there, exit 1, units left enabled).
/// Service starts are refused while apt runs; afterwards every unit the new
/// packages enabled, dependencies' and global user units included, is
/// disabled again, each named; the installed package's unit is left alone.
#[test]
fn install_deps_on_a_fresh_machine_exits_0_and_leaves_no_new_unit_enabled() {
    let deb = FakeDebian::new();
    old_package(&deb);
    new_package(&deb);
    deb.package("apkg", &["/usr/bin/a"], &[], &[], false);
    deb.package("zpkg", &["/usr/share/doc/zpkg/copyright"], &[], &[], false);
    let out = deb.install_deps(&["oldpkg", "apkg", "newpkg", "zpkg"]);
    out.ok();
    assert!(
        out.stderr.contains("installing apkg newpkg zpkg"),
        "{out:?}"
    );
    let log = deb.read("log");
    assert!(log.contains("policy-rc.d says 101"), "{log}");
    assert_eq!(deb.enabled(), ["system old.service"], "{out:?}\n{log}");
    for unit in ["new.service", "new.socket", "new-agent.socket", "dep.timer"] {
        assert!(
            out.stderr.contains(&format!("disabling {unit} ")),
            "{unit}: {out:?}"
        );
    }
    assert!(!out.stderr.contains("old.service"), "{out:?}");
    assert!(
        !log.contains("new@.service"),
        "templates are not enabled units: {log}"
    );
    assert!(
        !deb.policy().exists(),
        "the temporary policy-rc.d is removed"
    );
}

/// apt fails: the script fails with apt's code and says which step and
/// packages failed; the policy-rc.d that was there is back; what was
/// installed before the failure has its units disabled too.
#[test]
fn install_deps_names_a_failing_apt_and_puts_the_policy_back() {
    let original = "#!/bin/sh\nexit 0\n";
    let deb = FakeDebian::new();
    new_package(&deb);
    deb.package("zpkg", &[], &[], &[], false);
    deb.set_policy(original);
    deb.fail("update");
    let out = deb.install_deps(&["newpkg", "zpkg"]);
    assert_eq!(out.code, 100, "{out:?}");
    assert!(
        out.stderr.contains("apt-get update failed (exit 100)"),
        "{out:?}"
    );
    assert!(
        !deb.read("log").contains("apt-get install"),
        "{}",
        deb.read("log")
    );
    assert_eq!(std::fs::read_to_string(deb.policy()).unwrap(), original);

    std::fs::remove_file(deb.dir.join("fail-update")).unwrap();
    deb.fail("install");
    let out = deb.install_deps(&["newpkg", "zpkg"]);
    assert_eq!(out.code, 100, "apt's failure is the script's: {out:?}");
    assert!(
        out.stderr
            .contains("apt-get install failed (exit 100) for newpkg zpkg"),
        "{out:?}"
    );
    assert!(deb.read("log").contains("policy-rc.d says 101"));
    assert_eq!(std::fs::read_to_string(deb.policy()).unwrap(), original);
    assert_eq!(deb.enabled(), Vec::<String>::new(), "{out:?}");
    assert!(!deb.dir.join("policy-rc.d.dck-install-deps-saved").exists());
}

/// A unit that cannot be disabled fails the script, named with the command
/// that does it, after the others were tried.
#[test]
fn install_deps_names_a_unit_it_could_not_disable() {
    let deb = FakeDebian::new();
    new_package(&deb);
    deb.fail("disable");
    let out = deb.install_deps(&["newpkg"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("could not disable"), "{out:?}");
    assert!(
        out.stderr.contains("systemctl disable new.service"),
        "{out:?}"
    );
    assert!(
        out.stderr
            .contains("systemctl --global disable new-agent.socket"),
        "{out:?}"
    );
    assert!(!deb.policy().exists());
}

/// A run killed while apt ran left its refusing policy-rc.d in place and the
/// original beside it: the next run puts the original back, even with
/// nothing to install.
#[test]
fn install_deps_repairs_the_policy_a_killed_run_left() {
    let original = "#!/bin/sh\nexit 0\n";
    let deb = FakeDebian::new();
    old_package(&deb);
    deb.set_policy(
        "#!/bin/sh\n# tests/install-deps: no service starts during its install.\nexit 101\n",
    );
    std::fs::write(deb.dir.join("policy-rc.d.dck-install-deps-saved"), original).unwrap();
    let out = deb.install_deps(&["oldpkg"]);
    out.ok();
    assert_eq!(std::fs::read_to_string(deb.policy()).unwrap(), original);
    assert!(!deb.dir.join("policy-rc.d.dck-install-deps-saved").exists());
    assert!(out.stderr.contains("restored"), "{out:?}");
}
