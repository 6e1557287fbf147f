//! Hostile and broken input, one table over the real binary: every protocol
//! verb and every human command that reads input. Each row says what the
//! binary must answer; every row also checks that nothing panicked and that
//! the store is unchanged (byte compare of `store.json`, `list`, and the
//! seeded credential's secret), on the file store and the Secret Service.
//!
//! Streams and exit codes (the contract this table pins down):
//! - protocol verbs: one error line on **stdout**, stderr empty, exit 1;
//!   an unknown action or extra arguments print the usage on stdout, exit 1
//!   (as docker-credential-helpers do).
//! - human commands: `error: <one line>` on **stderr**, stdout empty, exit 1;
//!   a command-line (clap) usage error is exit 2, its first stderr line is
//!   `error: ...`, followed by clap's usage hint.
//!
//! Adding a command: append rows in [`human_cases`] (or a new `*_cases`
//! function chained in [`cases`]), e.g. for `import`:
//! `Case::human("import: not JSON", &["import", "-"], b"{", "not valid JSON")`.
//! Rows that must succeed use [`Case::accepted`] with the stdout they expect
//! and, when they change the store, a check of the change (run in a fresh store).

use crate::common;

use common::{Backend, Env, Run};

/// A seeded credential every row must leave untouched.
const SEED_URL: &str = "keep.example.com";
const SEED_SECRET: &str = "seed-secret-do-not-lose";
/// A seeded pair (registry -> auth server) every row must leave untouched.
const SEED_PAIRED: &str = "paired.example.com";
const SEED_AUTH: &str = "sso.example.com";

/// What a row expects.
#[derive(Debug, Clone)]
enum Expect {
    /// A protocol error: exit 1, exactly one line on stdout containing the text, stderr empty.
    ProtocolError(&'static str),
    /// Protocol usage: exit 1, usage on stdout.
    ProtocolUsage,
    /// A human-command error: exit 1, one `error: ...` line on stderr containing the text.
    HumanError(&'static str),
    /// A clap usage error: exit 2, first stderr line `error: ...` containing the text.
    CommandLine(&'static str),
    /// Success (exit 0) with stdout containing the text; the store may change
    /// only as the row says (checked by the row's `after`).
    Accepted(&'static str),
}

struct Case {
    name: String,
    args: Vec<String>,
    stdin: Vec<u8>,
    expect: Expect,
    /// Extra check after an accepted row (the store is not compared then).
    after: Option<fn(&Env)>,
    /// Text that must appear in neither stdout nor stderr (a secret of the input).
    hidden: Vec<String>,
}

impl Case {
    fn new(name: &str, args: &[&str], stdin: impl Into<Vec<u8>>, expect: Expect) -> Case {
        Case {
            name: name.to_owned(),
            args: args.iter().map(|s| s.to_string()).collect(),
            stdin: stdin.into(),
            expect,
            after: None,
            hidden: Vec::new(),
        }
    }

    fn protocol(verb: &str, what: &str, stdin: impl Into<Vec<u8>>, needle: &'static str) -> Case {
        Case::new(
            &format!("{verb}: {what}"),
            &[verb],
            stdin,
            Expect::ProtocolError(needle),
        )
    }

    fn human(name: &str, args: &[&str], stdin: impl Into<Vec<u8>>, needle: &'static str) -> Case {
        Case::new(name, args, stdin, Expect::HumanError(needle))
    }

    fn accepted(
        name: &str,
        args: &[&str],
        stdin: impl Into<Vec<u8>>,
        stdout: &'static str,
        after: Option<fn(&Env)>,
    ) -> Case {
        let mut case = Case::new(name, args, stdin, Expect::Accepted(stdout));
        case.after = after;
        case
    }
}

fn too_big() -> Vec<u8> {
    vec![b'a'; 1024 * 1024 + 1]
}

fn deeply_nested(prefix: &str) -> Vec<u8> {
    let mut v = prefix.as_bytes().to_vec();
    v.extend(std::iter::repeat_n(b'[', 100_000));
    v.extend(std::iter::repeat_n(b']', 100_000));
    v.push(b'}');
    v
}

fn big_secret() -> String {
    "s".repeat(100 * 1024)
}

/// The longest server URL and username the helper stores, in bytes.
const MAX_URL: usize = 4096;
const MAX_USER: usize = 1024;

/// A server URL of exactly `len` bytes.
fn url_of(len: usize) -> String {
    format!("long.example.com/{}", "p".repeat(len - 17))
}

/// A protocol `store` request for `url` and `user`.
fn store_request(url: &str, user: &str) -> Vec<u8> {
    serde_json::json!({"ServerURL": url, "Username": user, "Secret": "s"})
        .to_string()
        .into_bytes()
}

/// A pull secret with one entry for `url` and `user`.
fn pull_secret(url: &str, user: &str) -> Vec<u8> {
    let auth = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        format!("{user}:pw"),
    );
    serde_json::json!({"auths": {url: {"auth": auth}}})
        .to_string()
        .into_bytes()
}

/// Server URLs and usernames over the limits: refused by `store`, `login`
/// and `import` with the limit named, nothing stored; at the limits, stored.
fn length_cases() -> Vec<Case> {
    let (long_url, long_user) = (url_of(MAX_URL + 1), "u".repeat(MAX_USER + 1));
    let login = |url: &str, user: &str| {
        vec!["login", "--no-verify", url, "-u", user, "--password-stdin"]
            .into_iter()
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    let human = |name: &str, args: Vec<String>, stdin: Vec<u8>, needle| {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        Case::human(name, &args, stdin, needle)
    };
    vec![
        Case::protocol(
            "store",
            "a 4,097-byte URL",
            store_request(&long_url, "u"),
            "stores at most 4096",
        ),
        Case::protocol(
            "store",
            "a 1,025-byte username",
            store_request("x.io", &long_user),
            "stores at most 1024",
        ),
        human(
            "login: a 4,097-byte registry",
            login(&long_url, "u"),
            b"pw".to_vec(),
            "stores at most 4096",
        ),
        human(
            "login: a 1,025-byte username",
            login("x.io", &long_user),
            b"pw".to_vec(),
            "stores at most 1024",
        ),
        Case::human(
            "import: a 4,097-byte key",
            &["import", "-"],
            pull_secret(&long_url, "u"),
            "stores at most 4096",
        ),
        Case::human(
            "import: a 1,025-byte username",
            &["import", "-"],
            pull_secret("x.io", &long_user),
            "stores at most 1024",
        ),
        Case::accepted(
            "store: a 4,096-byte URL and a 1,024-byte username are stored",
            &["store"],
            store_request(&url_of(MAX_URL), &"u".repeat(MAX_USER)),
            "",
            Some(|env| assert_eq!(env.list()[&url_of(MAX_URL)], "u".repeat(MAX_USER))),
        ),
        Case::accepted(
            "import: a 4,096-byte key and a 1,024-byte username are imported",
            &["import", "-"],
            pull_secret(&url_of(MAX_URL), &"u".repeat(MAX_USER)),
            "1 added",
            Some(|env| assert_eq!(env.secret(&url_of(MAX_URL)).as_deref(), Some("pw"))),
        ),
    ]
}

/// Every row, protocol verbs first.
fn cases() -> Vec<Case> {
    let mut all = store_cases();
    all.extend(url_verb_cases("get"));
    all.extend(url_verb_cases("erase"));
    all.extend(ignored_stdin_cases());
    all.extend(argv_cases());
    all.extend(human_cases());
    all.extend(import_cases(&["import", "-"], "import"));
    all.extend(import_cases(
        &["export", "--registry", SEED_URL, "--merge", "-"],
        "export --merge",
    ));
    all.extend(pair_cases());
    all.extend(service_account_cases());
    all.extend(reader_cases());
    all.extend(length_cases());
    all
}

/// `export` reading the live ServiceAccounts on stdin.
const SERVICE_ACCOUNTS_ARGS: &[&str] = &[
    "export",
    "--registry",
    SEED_URL,
    "--format",
    "secret",
    "-n",
    "a",
    "--link-service-account",
    "default",
    "--service-accounts",
    "-",
];

/// The live ServiceAccounts on stdin (`export --link-service-account SA --service-accounts -`).
fn service_account_cases() -> Vec<Case> {
    const ARGS: &[&str] = SERVICE_ACCOUNTS_ARGS;
    let row = |name: &str, stdin: &[u8], needle| {
        Case::human(
            &format!("export --service-accounts: {name}"),
            ARGS,
            stdin.to_vec(),
            needle,
        )
    };
    let mut rows = document_input_rows(
        row,
        br#"{"kind":"ServiceAccount","x":"#,
        "the ServiceAccount input is empty",
    );
    rows.extend([
        row("not JSON", b"{", "not valid JSON"),
        row("a JSON array", b"[]", "expected a ServiceAccount"),
        row("YAML garbage", b"kind: [unclosed\n", "not valid JSON or YAML"),
        row(
            "a Secret instead",
            br#"{"kind":"Secret","apiVersion":"v1"}"#,
            "got kind \"Secret\"",
        ),
        row(
            "not the linked ServiceAccount",
            br#"{"kind":"ServiceAccount","apiVersion":"v1","metadata":{"name":"builder","namespace":"a"}}"#,
            "no such ServiceAccount",
        ),
        row(
            "imagePullSecrets of the wrong shape",
            br#"{"kind":"ServiceAccount","apiVersion":"v1","metadata":{"name":"default","namespace":"a"},"imagePullSecrets":"x"}"#,
            "not a list",
        ),
    ]);
    rows
}

/// The rows every reader of a document on stdin (pull secret, config,
/// ServiceAccounts) must refuse the same way: empty, the 16 MiB bound, not
/// UTF-8, NUL bytes and deep nesting inside a document that starts as
/// `open` (an object left open after a key), and `empty` as the message of
/// an empty input.
fn document_input_rows(
    row: impl Fn(&str, &[u8], &'static str) -> Case,
    open: &[u8],
    empty: &'static str,
) -> Vec<Case> {
    let mut nul = open.to_vec();
    nul.extend(b"\0}");
    let mut nested = open.to_vec();
    nested.extend(deeply_nested("").iter().take(200_000));
    nested.push(b'}');
    vec![
        row("empty stdin", b"", empty),
        row("whitespace only", b" \n\t\n", empty),
        row(
            "16 MiB + 1 byte (the input bound)",
            &vec![b'a'; 16 * 1024 * 1024 + 1],
            "larger than 16 MiB",
        ),
        row("invalid UTF-8", &[b'{', 0xff, 0xfe, b'}'], "UTF-8"),
        row("NUL bytes", &nul, "not valid JSON"),
        row(
            "deeply nested JSON",
            &nested,
            "nesting deeper than 64 levels",
        ),
    ]
}

/// A pull secret / config document on stdin (`import -`, `export --merge -`).
fn import_cases(args: &'static [&'static str], what: &str) -> Vec<Case> {
    let row = |name: &str, stdin: &[u8], needle| {
        Case::human(&format!("{what}: {name}"), args, stdin.to_vec(), needle)
    };
    let mut rows = document_input_rows(
        row,
        br#"{"auths":{"a.io":{"auth":"YTpi"}},"x":"#,
        "the input is empty",
    );
    rows.extend([
        row("not JSON", b"{", "not valid JSON"),
        row("a JSON array", b"[]", "wrong shape"),
        row("a JSON string", b"\"x\"", "wrong shape"),
        row("auths of the wrong type", br#"{"auths":5}"#, "auths"),
        row("YAML garbage", b"key: [unclosed\n", "not valid YAML"),
        row(
            "a Secret of an unknown type",
            b"apiVersion: v1\nkind: Secret\ntype: Opaque\ndata: {}\n",
            "Opaque",
        ),
    ]);
    // `export --merge` keeps the document's other entries as they are (it
    // does not read them); `import` reads every one.
    if what == "import" {
        rows.extend([
            row(
                "auth is not base64",
                br#"{"auths":{"a.io":{"auth":"!!not-base64!!"}}}"#,
                "not valid base64",
            ),
            row(
                "auth without ':'",
                br#"{"auths":{"a.io":{"auth":"bm9jb2xvbg=="}}}"#,
                "no ':'",
            ),
            row(
                "password of the wrong type",
                br#"{"auths":{"a.io":{"username":"u","password":5}}}"#,
                "not a string",
            ),
        ]);
    }
    rows
}

/// The password planted in the reader rows: no output may show it.
const PLANTED: &str = "YmlSeCrEt42";

/// The document readers (`import -`, `export --merge -`, `export
/// --service-accounts -`): whatever the input's shape, an error shows no
/// secret of it (type tags, anchors and aliases, merge keys, keys holding
/// credentials, base64 payloads), and deep nesting in any form is refused
/// before a parser reads it.
fn reader_cases() -> Vec<Case> {
    use base64::Engine as _;
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let auth = b64(&format!("u:{PLANTED}"));
    let payload = b64(&format!(r#"{{"auths":{{"x.io":{{"auth":"{auth}"}}}}}}"#));
    let secret_yaml = |data: &str| {
        format!("apiVersion: v1\nkind: Secret\ntype: kubernetes.io/dockerconfigjson\nmetadata:\n  name: ps\n{data}")
    };
    let hide = |mut case: Case| {
        case.hidden = vec![PLANTED.to_owned(), auth.clone(), payload.clone()];
        case
    };
    const TAG_MISMATCH: &str = "does not match its type tag (remove the";
    const ALIAS: &str = "a YAML alias (*name): aliases are not read";
    let mut rows = Vec::new();
    for (args, what) in [
        (&["import", "-"][..], "import"),
        (
            &["export", "--registry", SEED_URL, "--merge", "-"][..],
            "export --merge",
        ),
    ] {
        let row = |name: &str, stdin: String, needle: &'static str| {
            hide(Case::human(&format!("{what}: {name}"), args, stdin, needle))
        };
        for tag in [
            "!!int",
            "!!float",
            "!!bool",
            "!!null",
            "!<tag:yaml.org,2002:int>",
        ] {
            // The exact reproduction, for each tag that makes the parser check the value.
            rows.push(row(
                &format!("{tag} on a password"),
                format!("auths:\n  x.io:\n    password: {tag} {PLANTED}\n    username: u\n"),
                TAG_MISMATCH,
            ));
        }
        rows.extend([
            row(
                "!!int on a quoted password",
                format!("auths:\n  x.io: {{username: u, password: !!int \"{PLANTED}\"}}\n"),
                TAG_MISMATCH,
            ),
            row(
                "!!int on data..dockerconfigjson (the whole base64 payload)",
                secret_yaml(&format!("data:\n  .dockerconfigjson: !!int {payload}\n")),
                TAG_MISMATCH,
            ),
            row(
                "!!bool on stringData..dockerconfigjson",
                secret_yaml(&format!(
                    "stringData:\n  .dockerconfigjson: !!bool '{{\"auths\":{{\"x.io\":{{\"auth\":\"{auth}\"}}}}}}'\n"
                )),
                TAG_MISMATCH,
            ),
            row(
                "a custom tag on a password",
                format!("auths:\n  x.io: {{username: u, password: !vault {PLANTED}}}\n"),
                "a value JSON cannot hold",
            ),
            row(
                "a tagged anchor the entry aliases",
                format!("creds: &c !!float {PLANTED}\nauths:\n  x.io: {{username: u, password: *c}}\n"),
                ALIAS,
            ),
            row(
                "an alias named like the password, no anchor",
                format!("auths:\n  x.io: {{username: u, password: *{PLANTED}}}\n"),
                ALIAS,
            ),
            row(
                "a merge key with a tagged password",
                format!("auths:\n  x.io:\n    <<: !!int {PLANTED}\n"),
                TAG_MISMATCH,
            ),
            row(
                "a merge key of an anchor inside itself",
                format!("auths:\n  x.io: &{PLANTED}\n    <<: *{PLANTED}\n"),
                ALIAS,
            ),
            row(
                "1.5 million short YAML values (the parser would hold each event in memory)",
                format!(
                    "password: {PLANTED}\na: [{}]\n",
                    vec!["x"; 1_500_000].join(",")
                ),
                "more than 1000000 YAML values, keys and indicators",
            ),
            row(
                "20,000 aliases of a 10,000-item list (80 KB that expands to 200 million items)",
                format!(
                    "a: &a [{}]\nb: [{}]\npassword: {PLANTED}\n",
                    vec!["x"; 10_000].join(","),
                    vec!["*a"; 20_000].join(",")
                ),
                ALIAS,
            ),
            row(
                "a key that is a sequence holding the password",
                format!("auths:\n  ? [{PLANTED}]\n  : {{}}\n"),
                "a value JSON cannot hold",
            ),
            row(
                "JSON with the password where a ',' belongs",
                format!(r#"{{"auths":{{"x.io":{{"password":"p" {PLANTED}}}}}}}"#),
                "syntax error (expected `,` or `}`)",
            ),
            row(
                "a key holding user:password@ whose entry is not an object",
                format!(r#"{{"auths":{{"u:{PLANTED}@x.io":5}}}}"#),
                "entry \"***@x.io\" is not a JSON object",
            ),
            row(
                "a base64 payload that is not JSON, holding the password",
                secret_yaml(&format!("data:\n  .dockerconfigjson: {}\n", b64(&format!("{{\"p\":\"{PLANTED}\" x}}")))),
                "does not decode to JSON: syntax error",
            ),
        ]);
        rows.extend(nesting_rows(|name, stdin| {
            Case::human(
                &format!("{what}: {name}"),
                args,
                stdin,
                "nesting deeper than 64 levels",
            )
        }));
    }
    rows.push(hide(Case::human(
        "import: a key holding user:password@",
        &["import", "-"],
        format!(r#"{{"auths":{{"https://u:{PLANTED}@x.io":{{"auth":"{auth}"}}}}}}"#),
        "entry \"https://***@x.io\": invalid server URL: it must not contain user@",
    )));
    rows.push(hide(Case::human(
        "export --service-accounts: !!int on a name",
        SERVICE_ACCOUNTS_ARGS,
        format!("kind: ServiceAccount\nmetadata:\n  name: !!int {PLANTED}\n"),
        TAG_MISMATCH,
    )));
    rows.extend(nesting_rows(|name, stdin| {
        Case::human(
            &format!("export --service-accounts: {name}"),
            SERVICE_ACCOUNTS_ARGS,
            stdin,
            "nesting deeper than 64 levels",
        )
    }));
    rows
}

/// 1 MiB documents nested as deep as their form allows, JSON and YAML flow
/// and block forms: each is refused by the depth pre-scan (no timing here;
/// bench/ records how long the refusal takes).
fn nesting_rows(row: impl Fn(&str, Vec<u8>) -> Case) -> Vec<Case> {
    const MIB: usize = 1024 * 1024;
    let fill = |prefix: &str, unit: &str| {
        let mut text = prefix.to_owned();
        while text.len() + unit.len() <= MIB {
            text.push_str(unit);
        }
        text.into_bytes()
    };
    let indented = {
        let mut text = String::new();
        let mut depth = 0;
        while text.len() + depth + 3 <= MIB {
            text.push_str(&" ".repeat(depth));
            text.push_str("a:\n");
            depth += 1;
        }
        text.into_bytes()
    };
    vec![
        row("1 MiB of JSON arrays", fill(r#"{"a":"#, "[")),
        row("1 MiB of JSON objects", fill("{", r#"{"a":"#)),
        row("1 MiB of YAML flow sequences", fill("a: ", "[")),
        row("1 MiB of YAML flow mappings", fill("a: ", "{a: ")),
        row("1 MiB of YAML block sequences", fill("", "- ")),
        row("1 MiB of YAML indentation", indented),
        row("YAML flow sequences over lines", fill("a:\n", "[\n")),
    ]
}

/// `pair add/rm/discover` and the pairing options of `login`.
fn pair_cases() -> Vec<Case> {
    let none = || b"".to_vec();
    vec![
        Case::human(
            "pair add: control character in the registry",
            &["pair", "add", "a\x01.io", "sso.io"],
            none(),
            "spaces or control characters",
        ),
        Case::human(
            "pair add: unsupported scheme of the auth server",
            &["pair", "add", "a.io", "ftp://sso.io"],
            none(),
            "unsupported scheme",
        ),
        Case::human(
            "pair add: a registry paired with itself",
            &["pair", "add", "a.io", "https://a.io/"],
            none(),
            "with itself",
        ),
        Case::human(
            "pair add: an auth server as a paired registry (chain)",
            &["pair", "add", SEED_AUTH, "other.example.com"],
            none(),
            "is the auth server of",
        ),
        Case::human(
            "pair add: a paired registry as an auth server (chain)",
            &["pair", "add", "x.example.com", SEED_PAIRED],
            none(),
            "is itself a registry paired",
        ),
        Case::human(
            "pair rm: spaces in the registry",
            &["pair", "rm", "a b.io"],
            none(),
            "spaces or control characters",
        ),
        Case::human(
            "pair discover: nothing listens",
            &["pair", "discover", "127.0.0.1:1", "--timeout", "5"],
            none(),
            "cannot connect",
        ),
        Case::human(
            "pair discover: unsupported scheme",
            &["pair", "discover", "ftp://a.io"],
            none(),
            "unsupported scheme",
        ),
        Case::new(
            "argv pair add with one argument",
            &["pair", "add", "a.io"],
            none(),
            Expect::CommandLine("required"),
        ),
        Case::human(
            "login --auth-password-stdin: one line instead of two",
            &[
                "login",
                "new.example.com",
                "-u",
                "u",
                "--password-stdin",
                "--auth-server",
                "auth.example.com",
                "--auth-username",
                "au",
                "--auth-password-stdin",
            ],
            b"only-one-line\n".to_vec(),
            "two non-empty lines",
        ),
        Case::human(
            "login --auth-server: the registry itself",
            &[
                "login",
                "new.example.com",
                "-u",
                "u",
                "--password-stdin",
                "--auth-server",
                "new.example.com",
            ],
            b"pw".to_vec(),
            "with itself",
        ),
        Case::human(
            "export --output: an unwritable place",
            &["export", "--registry", SEED_URL, "--output", "/proc/nope/x"],
            none(),
            "cannot write /proc/nope/x",
        ),
    ]
}

/// `store`: JSON `{"ServerURL","Username","Secret"}` on stdin.
fn store_cases() -> Vec<Case> {
    let p = |what: &str, stdin: &[u8], needle| Case::protocol("store", what, stdin, needle);
    vec![
        p("empty stdin", b"", "no credentials on standard input"),
        p("whitespace only", b" \n\t\r\n", "no credentials on standard input"),
        Case::protocol("store", "1 MiB + 1 byte", too_big(), "input too large"),
        p("invalid UTF-8", &[0xff, 0xfe, b'{', b'}'], "not valid UTF-8"),
        p("truncated UTF-8", b"{\"ServerURL\":\"\xc3", "not valid UTF-8"),
        p(
            "raw NUL inside a string",
            b"{\"ServerURL\":\"a\0b\",\"Username\":\"u\",\"Secret\":\"s\"}",
            "invalid credentials JSON",
        ),
        p("NUL bytes only", b"\0\0\0", "invalid credentials JSON"),
        p("not JSON", b"{not json", "invalid credentials JSON"),
        p("JSON array", b"[]", "expected an object"),
        p("JSON string", b"\"x\"", "expected an object"),
        p("JSON number", b"42", "expected an object"),
        p("JSON null", b"null", "expected an object"),
        p("ServerURL a number", br#"{"ServerURL": 5}"#, "ServerURL must be a string"),
        p(
            "Username an object",
            br#"{"ServerURL":"x.io","Username":{},"Secret":"s"}"#,
            "Username must be a string",
        ),
        p(
            "Secret an array",
            br#"{"ServerURL":"x.io","Username":"u","Secret":["s"]}"#,
            "Secret must be a string",
        ),
        p(
            "duplicate keys, the last one bad (last wins, like Go)",
            br#"{"ServerURL":"ok.example.com","serverurl":"ftp://x","Username":"u","Secret":"s"}"#,
            "unsupported scheme",
        ),
        p(
            "duplicate keys, the last username empty",
            br#"{"ServerURL":"ok.example.com","Username":"u","USERNAME":"","Secret":"s"}"#,
            "no credentials username",
        ),
        Case::protocol(
            "store",
            "deeply nested JSON in a known key",
            deeply_nested(r#"{"ServerURL":"#),
            "invalid credentials JSON",
        ),
        Case::protocol(
            "store",
            "deeply nested JSON in an unknown key",
            deeply_nested(r#"{"ServerURL":"x.io","Username":"u","Secret":"s","x":"#),
            "invalid credentials JSON",
        ),
        p(
            "trailing garbage",
            br#"{"ServerURL":"x.io","Username":"u","Secret":"s"} {"#,
            "invalid credentials JSON",
        ),
        p(
            "control character in the username",
            br#"{"ServerURL":"x.io","Username":"a\u0007b","Secret":"s"}"#,
            "control characters",
        ),
        p(
            "NUL in the username",
            br#"{"ServerURL":"x.io","Username":"a\u0000b","Secret":"s"}"#,
            "control characters",
        ),
        p(
            "escape sequence in the username",
            br#"{"ServerURL":"x.io","Username":"\u001b[2Jevil","Secret":"s"}"#,
            "control characters",
        ),
        p(
            "control character in the URL",
            br#"{"ServerURL":"x\u0001.io","Username":"u","Secret":"s"}"#,
            "spaces or control characters",
        ),
        p(
            "newline inside the URL",
            br#"{"ServerURL":"x.io\nevil.io","Username":"u","Secret":"s"}"#,
            "spaces or control characters",
        ),
        p(
            "unsupported scheme",
            br#"{"ServerURL":"ftp://x","Username":"u","Secret":"s"}"#,
            "unsupported scheme",
        ),
        p(
            "user@ in the URL",
            br#"{"ServerURL":"me@x.io","Username":"u","Secret":"s"}"#,
            "user@",
        ),
        p(
            "empty ServerURL",
            br#"{"ServerURL":"","Username":"u","Secret":"s"}"#,
            "no credentials server URL",
        ),
        p(
            "missing Username",
            br#"{"ServerURL":"x.io","Secret":"s"}"#,
            "no credentials username",
        ),
        Case::accepted(
            "store: a 100 KB secret is accepted and round-trips",
            &["store"],
            serde_json::json!({"ServerURL": "big.example.com", "Username": "u", "Secret": big_secret()})
                .to_string(),
            "",
            Some(|env| assert_eq!(env.secret("big.example.com"), Some(big_secret()))),
        ),
        Case::accepted(
            "store: duplicate keys, last wins like Go's encoding/json",
            &["store"],
            br#"{"ServerURL":"first.example.com","serverURL":"last.example.com","Username":"u","Secret":"s"}"#.to_vec(),
            "",
            Some(|env| {
                assert_eq!(env.secret("last.example.com").as_deref(), Some("s"));
                assert_eq!(env.secret("first.example.com"), None);
            }),
        ),
    ]
}

/// `get` and `erase`: the raw server URL on stdin.
fn url_verb_cases(verb: &'static str) -> Vec<Case> {
    let p = |what: &str, stdin: &[u8], needle| Case::protocol(verb, what, stdin, needle);
    let mut rows = vec![
        p("empty stdin", b"", "no credentials server URL"),
        p("whitespace only", b" \n\t\r\n", "no credentials server URL"),
        Case::protocol(verb, "1 MiB + 1 byte", too_big(), "input too large"),
        p("invalid UTF-8", &[0xc3, 0x28], "not valid UTF-8"),
        p("NUL bytes", b"quay.io\0", "spaces or control characters"),
        p("NUL only", b"\0", "spaces or control characters"),
        p(
            "control character",
            b"qu\x07ay.io",
            "spaces or control characters",
        ),
        p(
            "escape sequence",
            b"\x1b[2Jquay.io",
            "spaces or control characters",
        ),
        p("JSON array", b"[]", "bad host name"),
        p("JSON object", br#"{"ServerURL": 5}"#, "invalid server URL"),
        p("space inside", b"quay .io", "spaces or control characters"),
        p("unsupported scheme", b"ftp://x", "unsupported scheme"),
        p("query string", b"quay.io?x=1", "'?' or '#'"),
        p("port out of range", b"quay.io:65536", "bad port"),
        Case::protocol(
            verb,
            "deeply nested JSON",
            deeply_nested("{"),
            "bad host name",
        ),
    ];
    // A long but well-formed host: `get` finds nothing, `erase` has nothing to do.
    let long_url = big_secret();
    rows.push(if verb == "get" {
        Case::protocol(verb, "a 100 KB URL", long_url, "credentials not found")
    } else {
        Case::accepted("erase: a 100 KB URL", &[verb], long_url, "", None)
    });
    rows
}

/// `list` and `version` ignore stdin: garbage there must not change their answer.
fn ignored_stdin_cases() -> Vec<Case> {
    let mut v = Vec::new();
    for (what, stdin) in [
        ("1 MiB + 1 byte", too_big()),
        ("invalid UTF-8", vec![0xff, 0xfe]),
        ("NUL bytes", vec![0, 0, 0]),
        ("JSON array", b"[]".to_vec()),
    ] {
        v.push(Case::accepted(
            &format!("list: ignores {what}"),
            &["list"],
            stdin.clone(),
            "\"keep.example.com\":\"seed-user\"",
            None,
        ));
        v.push(Case::accepted(
            &format!("version: ignores {what}"),
            &["version"],
            stdin,
            "docker-credential-keyring ",
            None,
        ));
    }
    v
}

/// Unknown actions and extra arguments.
fn argv_cases() -> Vec<Case> {
    let usage = |args: &[&str]| {
        Case::new(
            &format!("argv {args:?}"),
            args,
            b"quay.io".to_vec(),
            Expect::ProtocolUsage,
        )
    };
    vec![
        usage(&[]),
        usage(&["get", "extra"]),
        usage(&["store", "a", "b"]),
        usage(&["erase", "quay.io"]),
        usage(&["list", "--json"]),
        usage(&["version", "x"]),
    ]
}

/// Human commands that read input (stdin or arguments). Add new commands here.
fn human_cases() -> Vec<Case> {
    const LOGIN: &[&str] = &[
        "login",
        "--no-verify",
        "new.example.com",
        "-u",
        "u",
        "--password-stdin",
    ];
    let login = |what: &str, stdin: &[u8], needle| {
        Case::human(
            &format!("login --password-stdin: {what}"),
            LOGIN,
            stdin,
            needle,
        )
    };
    let cli = |args: &[&str], needle| {
        Case::new(
            &format!("argv {args:?}"),
            args,
            b"pw".to_vec(),
            Expect::CommandLine(needle),
        )
    };
    vec![
        login("empty stdin", b"", "no password on standard input"),
        login("a bare newline", b"\n", "no password on standard input"),
        login("whitespace only", b" \t \r\n", "only whitespace"),
        Case::human(
            "login --password-stdin: 1 MiB + 1 byte",
            LOGIN,
            too_big(),
            "input too large",
        ),
        login("invalid UTF-8", &[0xff, 0xfe], "not valid UTF-8"),
        login("NUL bytes", b"pass\0word", "control characters"),
        login("escape sequence", b"\x1b[2Jpw\n", "control characters"),
        Case::human(
            "login: control character in the username",
            &[
                "login",
                "new.example.com",
                "-u",
                "a\x07b",
                "--password-stdin",
            ],
            b"pw".to_vec(),
            "control characters",
        ),
        Case::human(
            "login: control character in the registry",
            &[
                "login",
                "new\x01.example.com",
                "-u",
                "u",
                "--password-stdin",
            ],
            b"pw".to_vec(),
            "spaces or control characters",
        ),
        Case::human(
            "login: unsupported scheme",
            &["login", "ftp://x", "-u", "u", "--password-stdin"],
            b"pw".to_vec(),
            "unsupported scheme",
        ),
        Case::human(
            "login: empty username",
            &["login", "new.example.com", "-u", "", "--password-stdin"],
            b"pw".to_vec(),
            "username is empty",
        ),
        Case::human(
            "login without a terminal or --password-stdin",
            &["login", "new.example.com", "-u", "u"],
            b"pw".to_vec(),
            "use --password-stdin",
        ),
        Case::accepted(
            "login --password-stdin: a tab inside the password is accepted",
            LOGIN,
            b"tab\there\n".to_vec(),
            "without checking",
            Some(|env| assert_eq!(env.secret("new.example.com").as_deref(), Some("tab\there"))),
        ),
        Case::accepted(
            "login --password-stdin: a 100 KB secret is accepted",
            LOGIN,
            big_secret(),
            "without checking",
            Some(|env| assert_eq!(env.secret("new.example.com"), Some(big_secret()))),
        ),
        Case::human(
            "logout: control character in the registry",
            &["logout", "keep\x01.example.com"],
            b"".to_vec(),
            "spaces or control characters",
        ),
        Case::human(
            "logout: unsupported scheme",
            &["logout", "ftp://keep.example.com"],
            b"".to_vec(),
            "unsupported scheme",
        ),
        cli(
            &["login", "new.example.com", "extra", "-u", "u"],
            "unexpected argument",
        ),
        cli(&["login"], "required"),
        Case::human(
            "login: no username and no terminal to ask",
            &["login", "new.example.com"],
            b"".to_vec(),
            "pass --username",
        ),
        cli(
            &["login", "-u", "u", "--password", "x", "r.io"],
            "--password-stdin",
        ),
        cli(&["logout"], "required"),
        cli(&["logout", "a.io", "--all"], "cannot be used with"),
        cli(&["ls", "extra"], "unexpected argument"),
        cli(&["ls", "--bogus"], "unexpected argument"),
    ]
}

/// The observable state of the store: file bytes, `list`, and the seed's secret.
fn snapshot(env: &Env) -> (Option<Vec<u8>>, String, Option<String>) {
    let list = env.run(&["list"], b"");
    (env.store_bytes(), list.stdout, env.secret(SEED_URL))
}

fn check(case: &Case, run: &Run) {
    let name = &case.name;
    assert!(
        !run.stderr.contains("panicked") && run.code != 101,
        "{name}: panic: {run:?}"
    );
    for hidden in &case.hidden {
        assert!(
            !run.stdout.contains(hidden.as_str()) && !run.stderr.contains(hidden.as_str()),
            "{name}: the output shows {hidden:?}: {run:?}"
        );
    }
    match case.expect {
        Expect::ProtocolError(needle) => {
            assert_eq!(run.code, 1, "{name}: {run:?}");
            assert_eq!(run.stdout.lines().count(), 1, "{name}: one line: {run:?}");
            assert!(run.stdout.ends_with('\n'), "{name}: {run:?}");
            assert!(
                run.stdout.contains(needle),
                "{name}: want {needle:?}: {run:?}"
            );
            assert!(
                run.stderr.is_empty(),
                "{name}: stderr must be empty: {run:?}"
            );
        }
        Expect::ProtocolUsage => {
            assert_eq!(run.code, 1, "{name}: {run:?}");
            assert!(
                run.stdout
                    .starts_with("Usage: docker-credential-keyring <store|get|erase|list|version>"),
                "{name}: {run:?}"
            );
            assert!(run.stderr.is_empty(), "{name}: {run:?}");
        }
        Expect::HumanError(needle) => {
            assert_eq!(run.code, 1, "{name}: {run:?}");
            assert_eq!(run.stderr.lines().count(), 1, "{name}: one line: {run:?}");
            assert!(run.stderr.starts_with("error: "), "{name}: {run:?}");
            assert!(
                run.stderr.contains(needle),
                "{name}: want {needle:?}: {run:?}"
            );
            assert!(
                run.stdout.is_empty(),
                "{name}: stdout must be empty: {run:?}"
            );
        }
        Expect::CommandLine(needle) => {
            assert_eq!(run.code, 2, "{name}: {run:?}");
            let first = run.stderr.lines().next().unwrap_or_default();
            assert!(first.starts_with("error: "), "{name}: {run:?}");
            assert!(
                run.stderr.contains(needle),
                "{name}: want {needle:?}: {run:?}"
            );
            assert!(run.stdout.is_empty(), "{name}: {run:?}");
        }
        Expect::Accepted(needle) => {
            assert_eq!(run.code, 0, "{name}: {run:?}");
            assert!(
                run.stdout.contains(needle),
                "{name}: want {needle:?}: {run:?}"
            );
        }
    }
}

backend_tests!(bad_input_table);
fn bad_input_table(backend: Backend) {
    let cases = cases();
    // One environment per backend; accepted rows that change the store get their own.
    let env = Env::new(backend);
    env.store(SEED_URL, "seed-user", SEED_SECRET).ok();
    env.run(&["pair", "add", SEED_PAIRED, SEED_AUTH], b"").ok();
    let before = snapshot(&env);
    assert_eq!(before.2.as_deref(), Some(SEED_SECRET));
    for case in &cases {
        let changes_store = case.after.is_some();
        let fresh;
        let target = if changes_store {
            fresh = Env::new(backend);
            fresh.store(SEED_URL, "seed-user", SEED_SECRET).ok();
            &fresh
        } else {
            &env
        };
        let args: Vec<&str> = case.args.iter().map(String::as_str).collect();
        let run = target.run(&args, &case.stdin);
        check(case, &run);
        match case.after {
            Some(after) => {
                after(target);
                assert_eq!(target.secret(SEED_URL).as_deref(), Some(SEED_SECRET));
            }
            None => assert_eq!(
                snapshot(&env),
                before,
                "{}: {backend:?}: the store changed",
                case.name
            ),
        }
    }
}

/// The table covers every protocol verb and every human command that reads input.
/// Keys and usernames beyond the limits, stored before them (or by an
/// edited index): every reader lists them, tables cut them with `…`, nothing
/// panics (`ls` and `check` used to exit 101 in `format!`'s width, over
/// 65,535 characters), and `erase` still removes one.
#[test]
fn entries_beyond_the_length_limits_list_without_a_panic() {
    let env = Env::new(Backend::File);
    env.store(SEED_URL, "seed-user", SEED_SECRET).ok();
    let long_key = format!("127.0.0.1:9/{}", "k".repeat(70_000));
    let long_user = "u".repeat(70_000);
    let file = env.store_file();
    let mut db: serde_json::Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    for (key, user) in [
        (long_key.as_str(), "u"),
        ("user.example.com", long_user.as_str()),
    ] {
        db["credentials"][key] =
            serde_json::json!({"serverURL": key, "username": user, "store": "file", "secret": "s"});
    }
    std::fs::write(&file, db.to_string()).unwrap();
    let list = env.list();
    assert_eq!(list[&long_key], "u");
    assert_eq!(list["user.example.com"], long_user.as_str());
    let head = |run: &Run| format!("code {}, stderr {:.500}", run.code, run.stderr);
    for args in [
        &["ls"][..],
        &["ls", "--json"],
        &["ls", "-q"],
        &["check", "--timeout", "1"],
        &["doctor"],
        &["export"],
        &["pair", "ls"],
    ] {
        let run = env.run(args, b"");
        assert!(
            run.code != 101 && !run.stderr.contains("panicked"),
            "{args:?}: {}",
            head(&run)
        );
    }
    let ls = env.run(&["ls"], b"");
    ls.ok();
    assert!(
        ls.stdout.lines().all(|l| l.chars().count() < 1000),
        "{}",
        head(&ls)
    );
    assert!(
        ls.stdout.contains("127.0.0.1:9/kkk") && ls.stdout.contains("kk…"),
        "{}",
        head(&ls)
    );
    assert!(env.run(&["ls", "-q"], b"").stdout.contains(&long_key));
    assert!(env.run(&["ls", "--json"], b"").stdout.contains(&long_user));
    let check = env.run(&["check", "--timeout", "1"], b"");
    assert!(
        check.stdout.lines().all(|l| l.chars().count() < 1000),
        "{}",
        head(&check)
    );
    env.erase(&long_key).ok();
    assert!(!env.list().contains_key(&long_key));
    assert_eq!(env.secret(SEED_URL).as_deref(), Some(SEED_SECRET));
}

#[test]
fn table_covers_every_verb_and_input_command() {
    let cases = cases();
    for verb in ["store", "get", "erase", "list", "version"] {
        assert!(
            cases
                .iter()
                .any(|c| c.args.first().map(String::as_str) == Some(verb)),
            "no row for {verb}"
        );
    }
    for command in ["login", "logout", "ls", "import", "export", "pair"] {
        assert!(
            cases
                .iter()
                .any(|c| c.args.first().map(String::as_str) == Some(command)),
            "no row for {command}"
        );
    }
}

backend_tests!(config_commands_refuse_corrupt_files_and_leave_them_untouched);
/// `configure`, `unconfigure` and `migrate` against a corrupt docker
/// `config.json` or containers `auth.json`: one clear line, exit 1, the file
/// byte-identical (no backup written either) and the store unchanged.
fn config_commands_refuse_corrupt_files_and_leave_them_untouched(backend: Backend) {
    let corrupt: [(&str, &[u8], &str); 5] = [
        ("not JSON", b"{\"auths\": {", "is not valid JSON"),
        ("a JSON array", b"[]", "is not a JSON object"),
        (
            "invalid UTF-8",
            b"{\"a\":\"\xff\xfe\"}",
            "is not valid JSON",
        ),
        ("NUL bytes", b"{\"auths\":\0}", "is not valid JSON"),
        (
            "deeply nested",
            &deeply_nested("{\"x\":"),
            "is not valid JSON",
        ),
    ];
    let commands: [(&[&str], bool); 6] = [
        (&["configure", "--force"], false),
        (&["unconfigure"], false),
        (&["migrate"], false),
        (&["configure", "--force", "--podman"], true),
        (&["unconfigure", "--podman"], true),
        (&["migrate"], true),
    ];
    let env = Env::new(backend);
    env.store(SEED_URL, "seed-user", SEED_SECRET).ok();
    let before = snapshot(&env);
    for (what, bytes, needle) in &corrupt {
        for (args, podman) in &commands {
            let file = if *podman {
                env.containers_auth_file()
            } else {
                env.docker_config()
            };
            std::fs::create_dir_all(file.parent().unwrap()).unwrap();
            std::fs::write(&file, bytes).unwrap();
            let mut cmd = env.command(args);
            common::human::put_bin_on_path(&mut cmd);
            let run = common::run_command(cmd, b"");
            let case = Case::human(
                &format!("{args:?} on a {what} {}", file.display()),
                args,
                b"".to_vec(),
                needle,
            );
            check(&case, &run);
            assert!(
                run.stderr.contains("left untouched"),
                "{}: {run:?}",
                case.name
            );
            assert_eq!(
                std::fs::read(&file).unwrap(),
                *bytes,
                "{}: file changed",
                case.name
            );
            let mut bak = file.clone().into_os_string();
            bak.push(".bak");
            assert!(
                !std::path::Path::new(&bak).exists(),
                "{}: backup written",
                case.name
            );
            assert_eq!(snapshot(&env), before, "{}: the store changed", case.name);
            std::fs::remove_file(&file).unwrap();
        }
    }
}

/// An index whose format `version` this build does not know (newer, or one
/// no build writes) is refused alike by every command that reads it: the
/// protocol verbs with one line on stdout, the human commands with
/// `error: ...` on stderr, exit 1 each, and the file is left as it was.
#[test]
fn unknown_index_version_is_refused_by_every_command() {
    let protocol: [(&str, &[u8]); 4] = [
        ("list", b""),
        ("get", b"quay.io"),
        ("erase", b"quay.io"),
        (
            "store",
            br#"{"ServerURL":"new.example.com","Username":"u","Secret":"s"}"#,
        ),
    ];
    let human: [(&[&str], &[u8]); 6] = [
        (&["ls"], b""),
        (&["ls", "--json"], b""),
        (&["logout", "quay.io"], b""),
        (&["logout", "--all"], b""),
        (
            &[
                "login",
                "--no-verify",
                "new.example.com",
                "-u",
                "u",
                "--password-stdin",
            ],
            b"pw",
        ),
        (&["pair", "ls"], b""),
    ];
    for (version, needle) in [
        ("2", "newer docker-credential-keyring"),
        ("0", "has format 0"),
        // Written twice: `get`'s lean reader must refuse it as the others do.
        ("99, \"version\": 1", "is corrupt"),
    ] {
        let env = Env::new(common::Backend::File);
        env.store("quay.io", "u", "kept").ok();
        let file = env.store_file();
        let text = std::fs::read_to_string(&file)
            .unwrap()
            .replace("\"version\": 1", &format!("\"version\": {version}"));
        assert!(text.contains(&format!("\"version\": {version}")), "{text}");
        std::fs::write(&file, &text).unwrap();
        for (verb, stdin) in protocol {
            let run = env.run(&[verb], stdin);
            let case = Case::protocol(verb, &format!("index version {version}"), stdin, needle);
            check(&case, &run);
        }
        for (args, stdin) in human {
            let run = env.run(args, stdin);
            let case = Case::human(
                &format!("{args:?}: index version {version}"),
                args,
                stdin,
                needle,
            );
            check(&case, &run);
        }
        assert_eq!(
            std::fs::read_to_string(&file).unwrap(),
            text,
            "version {version}"
        );
    }
}

/// `export --output` writes only a regular file it may replace; streams the
/// user clearly means are written to without being replaced; everything else
/// is refused with a clear error and left as it was. Run as root in CI,
/// where replacing `/dev/null` would succeed if it were tried.
#[test]
#[cfg(unix)] // FIFOs, sockets, /dev and /proc
fn export_output_never_replaces_what_is_not_a_file() {
    use std::os::unix::fs::FileTypeExt;
    let env = Env::new(common::Backend::File);
    env.store(SEED_URL, "seed-user", SEED_SECRET).ok();
    let export = |output: &str| env.run(&["export", "--registry", SEED_URL, "-o", output], b"");
    let expected = env
        .run(&["export", "--registry", SEED_URL], b"")
        .ok()
        .stdout
        .clone();
    let kind = |path: &str| std::fs::symlink_metadata(path).unwrap().file_type();

    // Standard output, however it is spelled.
    for spelling in ["-", "/dev/stdout", "/dev/fd/1", "/proc/self/fd/1"] {
        let run = export(spelling);
        assert_eq!(run.code, 0, "{spelling}: {run:?}");
        assert_eq!(run.stdout, expected, "{spelling}");
    }
    assert!(kind("/dev/stdout").is_symlink());

    // /dev/null: written to, still the device.
    export("/dev/null").ok();
    assert!(kind("/dev/null").is_char_device());

    // A FIFO, directly and through a symlink: the reader gets the pull secret.
    let dir = env.home();
    let fifo = dir.join("fifo");
    assert!(std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let link = dir.join("fifo-link");
    std::os::unix::fs::symlink(&fifo, &link).unwrap();
    for target in [&fifo, &link] {
        let reader = {
            let fifo = fifo.clone();
            std::thread::spawn(move || std::fs::read_to_string(fifo).unwrap())
        };
        export(target.to_str().unwrap()).ok();
        assert_eq!(reader.join().unwrap(), expected, "{}", target.display());
        assert!(kind(fifo.to_str().unwrap()).is_fifo());
    }

    // bash's process substitution passes /dev/fd/N.
    let got = dir.join("from-process-substitution");
    let mut cmd = std::process::Command::new("bash");
    cmd.arg("-c")
        .arg(r#""$0" export --registry "$1" -o >(cat > "$2"); wait"#)
        .arg(common::BIN)
        .arg(SEED_URL)
        .arg(&got);
    env.apply(&mut cmd);
    let run = common::run_command(cmd, b"");
    assert_eq!(run.code, 0, "{run:?}");
    // `cat` may still be writing when bash exits.
    let output = "the process substitution's output";
    common::time::wait_until(std::time::Duration::from_secs(5), output, || {
        std::fs::read_to_string(&got).unwrap_or_default() == expected
    });

    // Refused, and left as they were.
    let socket_path = dir.join("socket");
    let _socket = std::os::unix::net::UnixListener::bind(&socket_path).unwrap();
    let proc_link = dir.join("proc-link");
    std::os::unix::fs::symlink("/proc/self/status", &proc_link).unwrap();
    let dev_link = dir.join("dev-link");
    std::os::unix::fs::symlink("/dev/zero", &dev_link).unwrap();
    // A symlink in /dev/shm to a regular file elsewhere: replacing the name
    // would leave the secret in /dev.
    let elsewhere = dir.join("elsewhere.json");
    std::fs::write(&elsewhere, "{}").unwrap();
    let shm_link =
        std::path::PathBuf::from(format!("/dev/shm/dck-test-link-{}", std::process::id()));
    let _ = std::fs::remove_file(&shm_link);
    std::os::unix::fs::symlink(&elsewhere, &shm_link).unwrap();
    struct RemoveOnDrop<'a>(&'a std::path::Path);
    impl Drop for RemoveOnDrop<'_> {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(self.0);
        }
    }
    let _remove = RemoveOnDrop(&shm_link);
    for (target, needle) in [
        (shm_link.to_str().unwrap(), "a name in /dev/shm"),
        (dir.to_str().unwrap(), "a directory"),
        (socket_path.to_str().unwrap(), "a socket"),
        ("/dev/zero", "a device"),
        (dev_link.to_str().unwrap(), "a device"),
        (proc_link.to_str().unwrap(), "a kernel file"),
        ("/dev/dck-test-new-file", "a new name in /dev"),
        ("/dev/fd/97", "no such open descriptor"),
    ] {
        let before = std::fs::symlink_metadata(target)
            .ok()
            .map(|m| (m.file_type(), m.len()));
        let run = export(target);
        let case = Case::human(&format!("export -o {target}"), &[], b"".to_vec(), needle);
        check(&case, &run);
        assert!(!run.stderr.contains(SEED_SECRET), "{run:?}");
        let after = std::fs::symlink_metadata(target)
            .ok()
            .map(|m| (m.file_type(), m.len()));
        assert_eq!(before, after, "{target} changed");
    }
    assert!(std::fs::symlink_metadata("/dev/dck-test-new-file").is_err());
    assert!(kind(shm_link.to_str().unwrap()).is_symlink());
    assert_eq!(std::fs::read_to_string(&elsewhere).unwrap(), "{}");
    assert!(kind("/dev/zero").is_char_device());
    assert!(kind(socket_path.to_str().unwrap()).is_socket());
}
