//! `import` through the real binary, on the file store and the real Secret
//! Service: every input kind (a raw payload, `.dockercfg`, a Secret as JSON
//! or YAML, the legacy Secret type, docker's config.json), bad input naming
//! the entry and importing nothing, export then import then export (a List
//! too) giving the same bytes, and docker's config.json after `configure`,
//! whose `{}` entries name the credential helper holding them.

use base64::Engine;
use serde_json::{json, Value};

use crate::common::human::login;
use crate::common::pull_secret::{export, seeded, B64};
use crate::common::{fails, Backend, Env, Run};

fn import(env: &Env, args: &[&str], stdin: &[u8]) -> Run {
    let mut all = vec!["import"];
    all.extend(args);
    env.run(&all, stdin)
}

backend_tests!(import_each_input_kind);
fn import_each_input_kind(backend: Backend) {
    let payload = json!({"auths": {
        "https://index.docker.io/v1/": {"auth": B64.encode("hub:hubpw"), "email": "h@x"},
        "registry.example.com:5000": {"username": "ru", "password": "rp"},
        "quay.io/repository-main": {"auth": B64.encode("q:p:w")},
        "helper.example.com": {},
        "token.example.com": {"identitytoken": "tok"},
        "colon.example.com": {"username": "a:b", "password": "colonpw"},
    }});
    let payload_text = payload.to_string();
    let secret = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "x"},
        "type": "kubernetes.io/dockerconfigjson",
        "data": {".dockerconfigjson": B64.encode(&payload_text)}});
    let dockercfg = payload["auths"].to_string();
    let legacy_secret = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "x"},
        "type": "kubernetes.io/dockercfg", "data": {".dockercfg": B64.encode(&dockercfg)}});
    let config_json =
        json!({"auths": payload["auths"], "credsStore": "desktop", "HttpHeaders": {}});
    let inputs = [
        ("raw", payload_text.clone()),
        ("secret-json", secret.to_string()),
        (
            "secret-yaml",
            docker_credential_keyring::export::yaml::to_string(&secret),
        ),
        ("dockercfg", dockercfg.clone()),
        ("legacy-secret", legacy_secret.to_string()),
        (
            "config.json",
            serde_json::to_string_pretty(&config_json).unwrap(),
        ),
    ];
    for (kind, input) in &inputs {
        let env = Env::new(backend);
        env.store("quay.io/repository-main", "before", "x").ok();
        let run = import(&env, &["-"], input.as_bytes());
        run.ok();
        // config.json's credsStore holds the secret of its `{}` entry.
        let (summary, empty_entry) = match *kind {
            "config.json" => (
                "2 added, 1 replaced, 3 skipped (1 held by a credential helper)\n",
                "skipped  helper.example.com: held by the credential helper `desktop` (credsStore)",
            ),
            _ => (
                "2 added, 1 replaced, 3 skipped\n",
                "skipped  helper.example.com: no auth",
            ),
        };
        assert!(run.stdout.ends_with(summary), "{kind}: {run:?}");
        // What export would refuse, import does not take in.
        assert!(
            run.stdout
                .contains("skipped  colon.example.com: the username contains ':'"),
            "{run:?}"
        );
        assert!(!env.list().contains_key("colon.example.com"), "{kind}");
        assert!(run.stdout.contains(empty_entry), "{run:?}");
        assert!(run
            .stdout
            .contains("skipped  token.example.com: only an identity token"));
        assert!(!run.stdout.contains("hubpw"));
        assert_eq!(env.secret("docker.io").as_deref(), Some("hubpw"), "{kind}");
        assert_eq!(
            env.secret("registry.example.com:5000").as_deref(),
            Some("rp")
        );
        assert_eq!(
            env.secret("quay.io/repository-main").as_deref(),
            Some("p:w")
        );
        assert_eq!(env.list()["quay.io/repository-main"], "q");
        // The email came along.
        let out: Value =
            serde_json::from_str(&export(&env, &["--registry", "docker.io"]).ok().stdout).unwrap();
        assert_eq!(out["auths"]["https://index.docker.io/v1/"]["email"], "h@x");
    }
    // A file, with --registry filters.
    let env = Env::new(backend);
    let file = env.home().join("pull-secret.txt");
    std::fs::write(&file, &payload_text).unwrap();
    let run = import(
        &env,
        &[file.to_str().unwrap(), "--registry", "*.example.com:*"],
        b"",
    );
    assert!(
        run.ok()
            .stdout
            .ends_with("1 added, 0 replaced, 3 skipped\n"),
        "{run:?}"
    );
    assert_eq!(env.list().len(), 1);
    fails(
        &import(
            &env,
            &[file.to_str().unwrap(), "--registry", "ghcr.io"],
            b"",
        ),
        "--registry \"ghcr.io\" matches no importable entry",
    );
}

backend_tests!(bad_import_input_names_the_entry_and_imports_nothing);
fn bad_import_input_names_the_entry_and_imports_nothing(backend: Backend) {
    let good = format!(
        "\"good.example.com\":{{\"auth\":\"{}\"}}",
        B64.encode("u:p")
    );
    let cases: Vec<(String, &str)> = vec![
        ("".into(), "the input is empty"),
        ("{not json".into(), "not valid JSON: syntax error (key must be a string) at line 1, column 2"),
        ("- just\n- a list\n".into(), "wrong shape"),
        ("[1,2]".into(), "wrong shape"),
        ("kind: ConfigMap\napiVersion: v1\n".into(), "a ConfigMap is not a pull secret"),
        (r#"{"auths":[]}"#.into(), "wrong shape"),
        (r#"{"auths":{"a.io":"x"}}"#.into(), "entry \"a.io\" is not a JSON object"),
        (format!(r#"{{"auths":{{{good},"bad.example.com":{{"auth":"%%%"}}}}}}"#), "entry \"bad.example.com\": \"auth\" is not valid base64"),
        (
            format!(r#"{{"auths":{{{good},"nocolon.example.com":{{"auth":"{}"}}}}}}"#, B64.encode("nocolon")),
            "entry \"nocolon.example.com\": \"auth\" does not decode to username:password",
        ),
        (format!(r#"{{"auths":{{{good},"bad host":{{"auth":"dTpw"}}}}}}"#), "entry \"bad host\": invalid server URL"),
        (
            r#"{"kind":"Secret","type":"kubernetes.io/dockerconfigjson","metadata":{"name":"ps"},"data":{".dockerconfigjson":"!!"}}"#.into(),
            "Secret \"ps\": data..dockerconfigjson is not valid base64",
        ),
        (
            format!(r#"{{"kind":"Secret","type":"kubernetes.io/dockerconfigjson","metadata":{{"name":"ps"}},"data":{{".dockerconfigjson":"{}"}}}}"#, B64.encode("nope")),
            "Secret \"ps\": data..dockerconfigjson does not decode to JSON",
        ),
        (
            r#"{"kind":"Secret","type":"Opaque","metadata":{"name":"ps"},"data":{}}"#.into(),
            "Secret \"ps\" has type \"Opaque\"",
        ),
        (
            format!(r#"{{"auths":{{"quay.io":{{"auth":"{}"}},"https://quay.io":{{"auth":"{}"}}}}}}"#, B64.encode("a:1"), B64.encode("a:2")),
            "same registry (quay.io) with different credentials",
        ),
    ];
    for (input, needle) in &cases {
        let env = Env::new(backend);
        env.store("keep.example.com", "k", "kp").ok();
        let before = env.store_bytes();
        let run = import(&env, &["-"], input.as_bytes());
        fails(&run, needle);
        assert_eq!(env.store_bytes(), before, "store untouched for {input:?}");
        assert_eq!(env.secret("good.example.com"), None);
        assert!(!run.stderr.contains("kp"));
    }
}

backend_tests!(export_import_export_gives_the_same_bytes);
fn export_import_export_gives_the_same_bytes(backend: Backend) {
    let first = seeded(backend);
    login(
        &first,
        "localhost:5000",
        "bob",
        "pa:ss",
        &["-q", "--email", "b@x"],
    );
    for args in [
        vec![],
        vec!["--format", "dockercfg"],
        vec!["--format", "secret", "--yaml"],
        // A List of the same Secret in two namespaces imports each registry once.
        vec!["--format", "secret", "-n", "a", "-n", "b"],
    ] {
        let exported = export(&first, &args).ok().stdout.clone();
        let second = Env::new(backend);
        let run = import(&second, &["-", "-q"], exported.as_bytes());
        assert_eq!(run.ok().stdout, "4 added, 0 replaced, 0 skipped\n");
        assert_eq!(export(&second, &args).ok().stdout, exported, "{args:?}");
        // Importing again replaces, and changes nothing.
        let again = import(&second, &["-", "-q"], exported.as_bytes());
        assert_eq!(again.ok().stdout, "0 added, 4 replaced, 0 skipped\n");
        assert_eq!(export(&second, &args).ok().stdout, exported);
    }
}

/// `import` of docker's config.json after `configure`: its `{}` entries only
/// mark secrets a credential helper holds. Each is skipped naming the helper
/// and what to use instead (it used to say "no auth, username or password in
/// the entry"), exit 0 (nothing to import is not bad input), nothing stored;
/// a `--registry` naming one is not refused; and the command shown for
/// another helper copies its credential here as shown.
#[test]
#[cfg(unix)] // the other helper is a shell script
fn import_of_a_configured_config_names_the_helper_holding_each_entry() {
    let env = Env::new(Backend::File);
    crate::common::human::run(&env, &["configure"], b"").ok();
    let config = env.docker_config();
    let mut root: serde_json::Value =
        serde_json::from_str(&crate::common::read_file(&config)).unwrap();
    root["auths"] = serde_json::json!({"quay.io": {}, "ghcr.io": {}});
    root["credHelpers"] = serde_json::json!({"ghcr.io": "other"});
    crate::common::write_file(&config, &root.to_string());
    let path = config.to_str().unwrap();
    let out = crate::common::human::run(&env, &["import", path], b"");
    out.ok();
    let copy = "echo ghcr.io | docker-credential-other get | docker-credential-keyring store";
    assert_eq!(
        out.stdout,
        format!(
            "skipped  quay.io: held by the credential helper `keyring` (credsStore), this one: nothing to import (`export` makes a pull secret from the store)\n\
             skipped  ghcr.io: held by the credential helper `other` (credHelpers), not in the file: copy it into this store with `{copy}`\n\
             0 added, 0 replaced, 2 skipped (2 held by a credential helper)\n"
        )
    );
    assert!(env.list().is_empty());
    let out =
        crate::common::human::run(&env, &["import", path, "--registry", "quay.io", "-q"], b"");
    out.ok();
    assert_eq!(
        out.stdout,
        "0 added, 0 replaced, 2 skipped (2 held by a credential helper)\n"
    );

    // The other helper, as docker-credential-helpers answer `get`.
    let stubs = env.home().join("stubs");
    std::fs::create_dir_all(&stubs).unwrap();
    let helper = stubs.join("docker-credential-other");
    crate::common::write_file(
        &helper,
        "#!/bin/sh\n[ \"$1\" = get ] || exit 1\nread -r server\nprintf '{\"ServerURL\":\"%s\",\"Username\":\"bot\",\"Secret\":\"copied-pw\"}\\n' \"$server\"\n",
    );
    crate::common::chmod(&helper, 0o755);
    let mut sh = std::process::Command::new("sh");
    sh.args(["-c", copy]);
    env.apply(&mut sh);
    let path_var = std::env::var("PATH").unwrap_or_default();
    sh.env(
        "PATH",
        format!(
            "{}:{}:{path_var}",
            stubs.display(),
            crate::common::human::bin_dir().display()
        ),
    );
    crate::common::run_command(sh, b"").ok();
    assert_eq!(env.secret("ghcr.io").as_deref(), Some("copied-pw"));
}
