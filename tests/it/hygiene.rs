//! Secret hygiene: with debug logging on, no command prints a secret anywhere
//! except where the protocol asks for it (`get`'s stdout), not even in its
//! errors; secrets never travel in argv; files and directories the helper
//! creates are private whatever the umask; and every human command, on
//! success and failure paths, with secrets in the store and in the config
//! files, shows none of them.
//!
//! Adding a command: append a row to [`COMMANDS`] (its args and stdin; use
//! `SECRET` wherever the command takes the secret).

// Unix only (file modes and /proc); the Windows build is checked by tests/windows/run.
#![cfg(unix)]

use crate::common;

use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use common::human::{
    assert_no_test_secret, auth_b64, human_command, login, plaintext_config, secret, SECRETS,
};
use common::{read_file, run_command, write_file, Backend, Env, Run};

/// Distinctive secrets: none is a substring of anything else the tests print.
const SECRET: &str = "Zq7-hygiene-secret-Vx9";
const SECRET2: &str = "Kp4-second-secret-Lm2";

/// Every command, run with debug logging on: (args, stdin). `SECRET` in stdin
/// is replaced by the secret. `get` rows are checked separately.
const COMMANDS: &[(&[&str], &str)] = &[
    (
        &["store"],
        r#"{"ServerURL":"h.example.com","Username":"u","Secret":"SECRET"}"#,
    ),
    (&["list"], "unused"),
    (&["version"], ""),
    (&["erase"], "h.example.com"),
    (
        &["store"],
        r#"{"ServerURL":"h.example.com","Username":"u","Secret":"SECRET"}"#,
    ),
    // Failing requests that carry the secret: the error must not quote it.
    (
        &["store"],
        r#"{"ServerURL":"h.example.com","Username":"u","Secret":"SECRET""#,
    ),
    (
        &["store"],
        r#"{"ServerURL":"h.example.com","Username":"u","Secret":"SECRET",}"#,
    ),
    (
        &["store"],
        r#"{"ServerURL":"ftp://h","Username":"u","Secret":"SECRET"}"#,
    ),
    (
        &["store"],
        r#"{"ServerURL":"h.example.com","Username":"","Secret":"SECRET"}"#,
    ),
    (
        &["store"],
        r#"{"ServerURL":"h.example.com","Username":"u","Secret":["SECRET"]}"#,
    ),
    (&["store"], r#"["SECRET"]"#),
    (&["store"], r#""SECRET""#),
    (&["store"], r#"{"Secret":"SECRET" "ServerURL":"x"}"#),
    (&["get"], "SECRET"),
    (&["erase"], "SECRET"),
    (
        &[
            "login",
            "--no-verify",
            "l.example.com",
            "-u",
            "u",
            "--password-stdin",
        ],
        "SECRET\n",
    ),
    (
        &["login", "ftp://l", "-u", "u", "--password-stdin"],
        "SECRET\n",
    ),
    (
        &["login", "l.example.com", "-u", "u\u{7}", "--password-stdin"],
        "SECRET\n",
    ),
    (
        &[
            "login",
            "--no-verify",
            "l.example.com",
            "-u",
            "u",
            "--password-stdin",
        ],
        "SECRET\u{1}\n",
    ),
    (&["ls"], ""),
    (&["ls", "--json"], ""),
    (&["ls", "-q"], ""),
    (&["logout", "l.example.com"], ""),
    (&["--help"], ""),
    (&["login", "--help"], ""),
    // import: a pull secret carrying the secret, accepted and refused.
    (
        &["import", "-"],
        r#"{"auths":{"i.example.com":{"username":"u","password":"SECRET"}}}"#,
    ),
    (
        &["import", "-"],
        r#"{"auths":{"i.example.com":{"auth":"SECRET"}}}"#,
    ),
    (
        &["import", "-"],
        r#"{"auths":{"i.example.com":{"username":"u","password":"SECRET"}"#,
    ),
    (
        &["import", "-"],
        r#"{"auths":{"i.example.com":{"username":5,"password":"SECRET"}}}"#,
    ),
    (&["import", "-"], "password: SECRET: [\n"),
    (
        &["import", "-"],
        "apiVersion: v1\nkind: Secret\ndata:\n  x: SECRET\n",
    ),
    // export --merge of a document whose other entries carry a secret, refused.
    (
        &["export", "--registry", "i.example.com", "--merge", "-"],
        r#"{"auths":{"o.example.com":{"password":"SECRET"}},"#,
    ),
    (
        &[
            "export",
            "--registry",
            "i.example.com",
            "--output",
            "/proc/nope/x",
        ],
        "",
    ),
    // pairs, and a login that stores the auth server's own secret.
    (&["pair", "add", "p.example.com", "sso.example.com"], ""),
    (&["pair", "ls"], ""),
    (&["pair", "discover", "127.0.0.1:1", "--timeout", "2"], ""),
    (
        &[
            "login",
            "--no-verify",
            "p.example.com",
            "-u",
            "u",
            "--password-stdin",
            "--auth-server",
            "sso.example.com",
            "--auth-username",
            "au",
            "--auth-password-stdin",
        ],
        "SECRET\nSECRET\n",
    ),
    (
        &[
            "login",
            "--no-verify",
            "p.example.com",
            "-u",
            "u",
            "--password-stdin",
            "--auth-server",
            "sso.example.com",
            "--auth-username",
            "au",
            "--auth-password-stdin",
        ],
        "SECRET\n",
    ),
    (&["ls"], ""),
    (&["pair", "rm", "p.example.com"], ""),
    (&["configure", "--force"], ""),
    (&["configure", "--force", "--podman"], ""),
    (&["migrate", "--dry-run"], ""),
    (&["migrate", "--json"], ""),
    (&["doctor"], ""),
    (&["unconfigure"], ""),
    (&["unconfigure", "--podman"], ""),
    (&["completions", "bash"], ""),
    (
        &["grant-pull", "--from-namespace", "a", "--to-namespace", "b"],
        "",
    ),
    (&["import", "--help"], ""),
    (&["export", "--help"], ""),
];

fn leaks(run: &Run) -> bool {
    [SECRET, SECRET2]
        .iter()
        .any(|s| run.stdout.contains(s) || run.stderr.contains(s))
}

fn debug_env(env: &Env, args: &[&str]) -> Command {
    let mut cmd = env.command(args);
    cmd.env("DOCKER_CREDENTIAL_KEYRING_LOG", "debug");
    cmd
}

backend_tests!(no_command_prints_a_secret_even_with_debug_logging);
fn no_command_prints_a_secret_even_with_debug_logging(backend: Backend) {
    let env = Env::new(backend);
    let mut saw_debug = false;
    for (args, stdin) in COMMANDS {
        let stdin = stdin.replace("SECRET", SECRET);
        let run = run_command(debug_env(&env, args), stdin.as_bytes());
        saw_debug |= run.stderr.contains("debug:");
        assert!(
            !leaks(&run),
            "{backend:?} {args:?} printed the secret: {run:?}"
        );
    }
    assert!(saw_debug, "debug logging printed nothing: the test is void");
    // Replacing a secret, erasing it, and the not-found path.
    env.store("h.example.com", "u", SECRET2).ok();
    for (args, stdin) in [
        (&["erase"][..], "h.example.com"),
        (&["get"][..], "h.example.com"),
        (&["list"][..], ""),
    ] {
        let run = run_command(debug_env(&env, args), stdin.as_bytes());
        assert!(!leaks(&run), "{backend:?} {args:?}: {run:?}");
    }
    // `get` prints the secret on stdout (the protocol) and nowhere else.
    env.store("g.example.com", "u", SECRET).ok();
    let run = run_command(debug_env(&env, &["get"]), b"g.example.com");
    run.ok();
    assert!(run.stdout.contains(SECRET), "{run:?}");
    assert!(!run.stderr.contains(SECRET), "{backend:?}: {run:?}");
    assert!(run.stderr.contains("debug:") || run.stderr.is_empty());
}

/// Secrets never travel in argv (visible to every user in /proc/<pid>/cmdline):
/// no command has a flag that takes one, and the obvious ones are refused.
#[test]
fn no_secret_flags_exist() {
    let env = Env::new(common::Backend::File);
    let help = env.run(&["login", "--help"], b"");
    help.ok();
    assert!(help.stdout.contains("--password-stdin"), "{help:?}");
    for flag in ["--password ", "--password=", "-p ", "--secret", "--token"] {
        assert!(
            !help.stdout.contains(flag),
            "login offers {flag:?}: {help:?}"
        );
    }
    for args in [
        &["login", "r.example.com", "-u", "u", "--password", SECRET][..],
        &["login", "r.example.com", "-u", "u", "-p", SECRET][..],
        &[
            "login",
            "r.example.com",
            "-u",
            "u",
            &format!("--password={SECRET}"),
        ][..],
    ] {
        let run = env.run(args, b"");
        assert_eq!(run.code, 2, "{args:?}: {run:?}");
        assert!(env.list().is_empty());
    }
    // The protocol verbs take exactly one argument: nothing else can ride along.
    let run = env.run(&["store", SECRET], b"");
    assert_eq!(run.code, 1);
    assert!(!run.stdout.contains(SECRET));
}

backend_tests!(files_are_private_whatever_the_umask);
/// Files and directories the helper creates are 0600/0700 whatever the umask,
/// and a directory someone opened up is closed again on the next write.
fn files_are_private_whatever_the_umask(backend: Backend) {
    for umask in ["000", "022", "077"] {
        let env = Env::new(backend);
        let mut cmd = Command::new("sh");
        cmd.arg("-c").arg(format!(
            "umask {umask}; exec {} login --no-verify p.example.com -u u --password-stdin",
            common::BIN
        ));
        env.apply(&mut cmd);
        run_command(cmd, SECRET.as_bytes()).ok();
        let dir = env.store_file().parent().unwrap().to_path_buf();
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir), 0o700, "{backend:?} umask {umask}: dir");
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            assert_eq!(
                mode(&path),
                0o600,
                "{backend:?} umask {umask}: {}",
                path.display()
            );
        }
        // Someone opens the directory up: the next write closes it again.
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        env.store("q.example.com", "u", "s").ok();
        assert_eq!(mode(&dir), 0o700, "{backend:?}: dir not re-closed");
    }
}

backend_tests!(export_prints_secrets_only_in_the_pull_secret_and_migrate_never);
/// `export` prints secrets by design, in the pull secret on stdout (or the
/// `--output` file, 0600) and nowhere else: never in stderr or debug lines.
/// `migrate` moves a plaintext secret out of config.json without printing it.
fn export_prints_secrets_only_in_the_pull_secret_and_migrate_never(backend: Backend) {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    let env = Env::new(backend);
    env.store("e.example.com", "u", SECRET).ok();
    let export = |args: &[&str], stdin: &str| {
        let mut all = vec!["export", "--registry", "e.example.com"];
        all.extend_from_slice(args);
        let run = run_command(debug_env(&env, &all), stdin.as_bytes());
        run.ok();
        assert!(
            !run.stderr.contains(SECRET) && !run.stderr.contains(SECRET2),
            "{backend:?} export {args:?}: secret on stderr: {run:?}"
        );
        run
    };
    // The raw payloads carry the password in clear; the Secret base64s it.
    for format in ["dockerconfigjson", "dockercfg"] {
        let run = export(&["--format", format], "");
        assert!(run.stdout.contains(SECRET), "{format}: {run:?}");
    }
    let run = export(&["--format", "secret", "--yaml"], "");
    assert!(run.stdout.contains("kind: Secret"), "{run:?}");
    assert!(
        !run.stdout.contains(SECRET),
        "the Secret's data is base64: {run:?}"
    );
    // Merging into a document that holds someone else's secret.
    let foreign = format!(r#"{{"auths":{{"o.example.com":{{"password":"{SECRET2}"}}}}}}"#);
    let run = export(&["--merge", "-"], &foreign);
    assert!(
        run.stdout.contains(SECRET) && run.stdout.contains(SECRET2),
        "{run:?}"
    );
    // --output: the secret goes to a private file, not to stdout.
    let out = env.home().join("pull.json");
    let run = export(&["--output", out.to_str().unwrap()], "");
    assert!(!run.stdout.contains(SECRET), "{run:?}");
    assert!(std::fs::read_to_string(&out).unwrap().contains(SECRET));
    let mode = std::fs::metadata(&out).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "{backend:?}: export --output file mode");

    // migrate: a plaintext secret in config.json moves without being printed.
    let config = env.docker_config();
    std::fs::create_dir_all(config.parent().unwrap()).unwrap();
    let auth = b64.encode(format!("mu:{SECRET2}"));
    std::fs::write(
        &config,
        format!(r#"{{"auths":{{"m.example.com":{{"auth":"{auth}"}}}}}}"#),
    )
    .unwrap();
    for args in [
        &["migrate", "--dry-run", "--force"][..],
        &["migrate", "--force"][..],
    ] {
        let run = run_command(debug_env(&env, args), b"");
        run.ok();
        assert!(!leaks(&run), "{backend:?} {args:?}: {run:?}");
        assert!(
            !run.stdout.contains(&auth) && !run.stderr.contains(&auth),
            "{run:?}"
        );
    }
    let left = std::fs::read_to_string(&config).unwrap();
    assert!(!left.contains(&auth), "migrate left the secret: {left}");
    assert_eq!(env.secret("m.example.com").as_deref(), Some(SECRET2));
    let run = run_command(debug_env(&env, &["doctor"]), b"");
    assert!(!leaks(&run), "{backend:?} doctor: {run:?}");
}

backend_tests!(closed_standard_descriptors_never_receive_output);
/// A helper started with its standard descriptors closed (some launchers do
/// that) stores normally, and no file it opens becomes fd 1 or 2 and
/// collects debug output or errors: every file it leaves holds only what it
/// should, and the credential reads back. The `auto` case prints its
/// fallback diagnostic while the index lock is held: without `start`
/// reopening closed descriptors on /dev/null, that line lands in the lock file.
fn closed_standard_descriptors_never_receive_output(backend: Backend) {
    let mut cases: Vec<(Env, Vec<(&str, &str)>)> = vec![(Env::new(backend), vec![])];
    // `auto` falling back to the file store, once (it never reaches a keyring).
    if backend == Backend::File {
        cases.push((
            Env::new(common::Backend::File),
            vec![
                ("DOCKER_CREDENTIAL_KEYRING_STORE", "auto"),
                ("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/dck/bus"),
            ],
        ));
    }
    for (env, extra) in &cases {
        let what = format!("{:?} {extra:?}", env.backend);
        let mut cmd = std::process::Command::new("sh");
        cmd.arg("-c")
            .arg(r#"exec "$0" store 1>&- 2>&-"#)
            .arg(common::BIN);
        env.apply(&mut cmd);
        cmd.env("DOCKER_CREDENTIAL_KEYRING_LOG", "debug")
            .envs(extra.iter().copied());
        let run = common::run_command(
            cmd,
            br#"{"ServerURL":"closed.example.com","Username":"u","Secret":"fd-secret"}"#,
        );
        assert_eq!(run.code, 0, "{what}: {run:?}");
        assert_eq!(
            env.secret("closed.example.com").as_deref(),
            Some("fd-secret"),
            "{what}"
        );
        let dir = env.store_file().parent().unwrap().to_path_buf();
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
            assert!(
                !text.contains("debug:"),
                "{what}: diagnostics went into {}: {text:?}",
                path.display()
            );
            if path != env.store_file() {
                assert!(text.is_empty(), "{what}: {} holds {text:?}", path.display());
            }
        }
    }
}

/// A reader that goes away (`list | head -0`) is a write error, reported with
/// exit code 1, never a death by SIGPIPE (which docker would see as a crash).
#[test]
fn closed_pipe_is_an_error_not_a_signal() {
    let env = Env::new(common::Backend::File);
    env.store("pipe.example.com", "u", "s").ok();
    for _ in 0..20 {
        let mut cmd = std::process::Command::new("bash");
        cmd.arg("-c")
            .arg(r#""$0" list | true; echo "status ${PIPESTATUS[0]}""#)
            .arg(common::BIN);
        env.apply(&mut cmd);
        let run = common::run_command(cmd, b"");
        assert!(
            run.stdout.trim_end().ends_with("status 0")
                || run.stdout.trim_end().ends_with("status 1"),
            "list into a closed pipe: {run:?}"
        );
    }
}

/// Output into a pipe whose reader has already gone (EPIPE, SIGPIPE being
/// ignored) is an exit code, never a panic: the protocol usage, help and
/// version included.
#[test]
fn a_reader_gone_before_the_first_write_is_no_panic() {
    let env = Env::new(common::Backend::File);
    for args in ["", "list --help", "--help", "version", "ls"] {
        let mut cmd = std::process::Command::new("bash");
        // The reader closes its end at once; the helper starts writing later.
        cmd.arg("-c")
            .arg(r#"(sleep 0.3; exec "$0" $1) | (exec 0<&-; sleep 1); echo "status ${PIPESTATUS[0]}""#)
            .arg(common::BIN)
            .arg(args);
        env.apply(&mut cmd);
        let run = common::run_command(cmd, b"");
        assert!(!run.stderr.contains("panicked"), "{args:?}: {run:?}");
        let status = run.stdout.trim_end().rsplit(' ').next().unwrap_or("");
        assert!(
            ["0", "1", "2"].contains(&status),
            "{args:?}: not an exit code clients expect: {run:?}"
        );
    }
}

backend_tests!(human_output_escapes_control_and_bidi_characters);
/// Characters that drive a terminal (C0/C1 controls, DEL) or reorder what it
/// shows (bidi overrides and isolates, marks) never reach human output raw:
/// a stored name holding them is shown with each escaped visibly
/// (`\u{202e}`), in tables, `ls -q`, notes and error lines, while the
/// protocol's `list` answer stays byte-exact JSON.
fn human_output_escapes_control_and_bidi_characters(backend: Backend) {
    const RLO: char = '\u{202e}';
    let hostile_chars = [
        '\u{202e}', '\u{2066}', '\u{200f}', '\u{061c}', '\u{9b}', '\u{1b}', '\u{7f}',
    ];
    let raw = |run: &Run| {
        format!("{}{}", run.stdout, run.stderr)
            .chars()
            .find(|c| hostile_chars.contains(c))
    };
    let env = Env::new(backend);
    let url = format!("evil.io/{RLO}oi.yauq");
    let user = format!("ad{RLO}min\u{2066}x\u{200f}");
    env.store(&url, &user, "s").ok();
    // The protocol answer keeps the bytes as stored.
    let list = env.run(&["list"], b"");
    assert!(
        list.stdout.contains(&url) && list.stdout.contains(&user),
        "{list:?}"
    );

    let ls = env.run(&["ls"], b"");
    ls.ok();
    assert_eq!(raw(&ls), None, "{backend:?} ls: {ls:?}");
    assert!(ls.stdout.contains("evil.io/\\u{202e}oi.yauq"), "{ls:?}");
    assert!(
        ls.stdout.contains("ad\\u{202e}min\\u{2066}x\\u{200f}"),
        "{ls:?}"
    );
    // (args, whether the output shows a stored or given name).
    for (args, shows_name) in [
        (&["ls", "-q"][..], true),
        (&["pair", "add", &url, "sso.example.com"], true),
        (&["pair", "ls"], true),
        (&["doctor"], false),
        (&["pair", "rm", &format!("other.io/{RLO}x")], true),
        (&["logout", "bad\u{061c}.io?"], false),
        (&["logout", &url], true),
    ] {
        let run = env.run(args, b"");
        assert_eq!(raw(&run), None, "{backend:?} {args:?}: {run:?}");
        assert!(
            !shows_name || format!("{}{}", run.stdout, run.stderr).contains("\\u{"),
            "{backend:?} {args:?} shows the name escaped: {run:?}"
        );
    }
    // A protocol error line (stdout) escapes too; the verb's answer stays one line.
    let erase = env.run(&["erase"], format!("x.io/{RLO}?q").as_bytes());
    assert_eq!(erase.code, 1, "{erase:?}");
    assert_eq!(raw(&erase), None, "{erase:?}");
}

/// A helper never dumps core: while `get` waits for its input (about to
/// hold a secret), its core size limit is 0 (and it has made itself
/// non-dumpable, see `start.rs`), whatever limit it was started with.
#[test]
#[cfg(target_os = "linux")]
fn helper_runs_with_core_dumps_disabled() {
    use std::io::Write;
    let env = Env::new(common::Backend::File);
    let mut cmd = Command::new("prlimit");
    cmd.args(["--core=unlimited", "--"])
        .arg(common::BIN)
        .arg("get");
    env.apply(&mut cmd);
    let mut child = cmd
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("prlimit (util-linux)");
    let limits = format!("/proc/{}/limits", child.id());
    let mut core_line = String::new();
    // Inherited limits first, then prlimit's unlimited, then the helper's.
    let limit_0 = "the helper's core limit 0";
    common::time::wait_until(std::time::Duration::from_secs(2), limit_0, || {
        let text = std::fs::read_to_string(&limits).unwrap_or_default();
        core_line = text
            .lines()
            .find(|l| l.starts_with("Max core file size"))
            .unwrap_or_default()
            .to_owned();
        core_line.split_whitespace().skip(4).take(2).eq(["0", "0"])
    });
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"none.example.com")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let fields: Vec<&str> = core_line.split_whitespace().collect();
    assert_eq!(fields.get(4..6), Some(&["0", "0"][..]), "{core_line:?}");
}

/// A config file whose keys and URLs carry `user:password@` (an `auths` key, a
/// proxy URL): `doctor`, `migrate`, `migrate --dry-run` and the diff of
/// `configure --dry-run` name them with `***@`, never the password.
#[test]
fn user_information_in_config_keys_and_urls_is_never_shown() {
    const IN_KEY: &str = "KeyPassw0rdInTheKey";
    const IN_URL: &str = "UrlPassw0rdInTheProxy";
    let env = Env::new(common::Backend::File);
    let dir = env.docker_config_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let config = format!(
        r#"{{"auths":{{"u:{IN_KEY}@x.io":{{"auth":"dTpwdw=="}},"bad:{IN_KEY}@y.io":[]}},"proxies":{{"default":{{"httpProxy":"http://u:{IN_URL}@proxy:3128"}}}}}}"#
    );
    std::fs::write(dir.join("config.json"), &config).unwrap();
    let mut saw = Vec::new();
    for args in [
        &["doctor"][..],
        &["migrate", "--dry-run"],
        &["migrate"],
        &["configure", "--dry-run", "--force"],
    ] {
        let run = env.run(args, b"");
        for text in [&run.stdout, &run.stderr] {
            assert!(
                !text.contains(IN_KEY) && !text.contains(IN_URL),
                "{args:?} showed user information: {run:?}"
            );
        }
        saw.push(run.stdout.contains("***@") || run.stderr.contains("***@"));
    }
    // Each command named the entry (with its user information hidden), so the
    // check above looked at the place a leak would be.
    assert_eq!(saw, [true; 4], "some command did not name the entry");
    // Nothing was changed by the refused migrate.
    assert_eq!(
        std::fs::read_to_string(dir.join("config.json")).unwrap(),
        config
    );
}

// ------------------------------------------------ human commands

backend_tests!(no_output_ever_shows_a_secret);
/// Every human command, on success and failure paths, with secrets in the
/// store and in the config files: none of their outputs may show a secret.
fn no_output_ever_shows_a_secret(backend: Backend) {
    let env = Env::new(backend);
    assert_no_test_secret(&login(&env, "quay.io", "alice", secret(0), &["-q"]));
    assert_no_test_secret(&login(
        &env,
        "registry.example.com",
        "<token>",
        secret(2),
        &["-q"],
    ));
    // Plaintext secrets in both files, docker's not configured yet.
    let config = env.docker_config();
    write_file(
        &config,
        &plaintext_config().replace(",\n\t\"credsStore\": \"keyring\"", ""),
    );
    write_file(
        &env.containers_auth_file(),
        &format!(
            r#"{{"auths":{{"podman.example.com":{{"auth":"{}"}}}}}}"#,
            auth_b64("dave", secret(4))
        ),
    );
    let mut outputs: Vec<Run> = Vec::new();
    for args in [
        &["ls"][..],
        &["ls", "--json"],
        &["ls", "-q"],
        &["doctor"],
        &["doctor", "--json"],
        &["configure", "--dry-run"],
        &["configure", "--podman", "--dry-run"],
        &["migrate", "--dry-run"],
        &["migrate"],
        &["migrate", "--json", "--force"],
        &["configure"],
        &["configure", "--podman"],
        &["unconfigure", "--dry-run"],
        &["login", "--help"],
        &["logout", "--help"],
        &["migrate", "--help"],
        &["doctor", "--help"],
        &["configure", "--help"],
        &["login", "bad host", "-u", "x", "--password-stdin"],
        &["logout", "--all"],
        &["ls"],
    ] {
        let out = common::run_command(
            human_command(&env, args),
            format!("{}\n", secret(3)).as_bytes(),
        );
        outputs.push(out);
    }
    for out in &outputs {
        assert_no_test_secret(out);
    }
    // The sweep did exercise the paths that handle secrets.
    assert!(
        outputs[8].code == 1,
        "migrate refused before configure: {:?}",
        outputs[8]
    );
    assert!(outputs[9].code == 0, "{:?}", outputs[9]);
    assert!(
        outputs[5]
            .stdout
            .contains("\"identitytoken\": \"REDACTED\""),
        "diff context redacts: {:?}",
        outputs[5]
    );
    let file = read_file(&config);
    for (user, pass) in SECRETS {
        assert!(
            !file.contains(pass) && !file.contains(&auth_b64(user, pass)),
            "{file}"
        );
    }
}
