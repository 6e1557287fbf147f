//! `login` checks the credential with a real registry before storing it:
//! Debian's `docker-registry` on 127.0.0.1 with htpasswd over plain HTTP, over
//! HTTPS with a private CA found only through a certs.d directory, and with
//! token auth delegated to a token server (tests/e2e/token_server.py on
//! 127.0.0.2) that accepts only the SSO credential.

mod common;

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{Backend, Env, Run};

const USER: &str = "alice";
const PASSWORD: &str = "reg-Secret-pw-7";
const SSO_USER: &str = "sso-bob";
const SSO_PASSWORD: &str = "sso-Secret-pw-9";

/// The path of a required tool; a missing one fails the test with the fix.
fn tool(name: &str, package: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!("{name} is missing: apt-get install {package} (tests/install-deps does it)")
        })
}

fn free_port(host: &str) -> u16 {
    TcpListener::bind((host, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wait_listening(host: &str, port: u16, what: &str) {
    let start = Instant::now();
    while TcpStream::connect((host, port)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "{what} did not listen on {host}:{port}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new(tool("openssl", "openssl"))
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "openssl {args:?}: {out:?}");
}

/// A CA and a server certificate for 127.0.0.1 signed by it: (ca.crt, srv.crt, srv.key).
fn private_ca(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    let mut ca = vec!["req", "-x509"];
    ca.extend(ec);
    ca.extend([
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
        "-days",
        "2",
        "-subj",
        "/CN=dck test CA",
    ]);
    openssl(dir, &ca);
    let mut csr = vec!["req"];
    csr.extend(ec);
    csr.extend([
        "-keyout",
        "srv.key",
        "-out",
        "srv.csr",
        "-subj",
        "/CN=127.0.0.1",
    ]);
    openssl(dir, &csr);
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "srv.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "srv.crt",
            "-days",
            "2",
            "-extfile",
            "ext.cnf",
        ],
    );
    (dir.join("ca.crt"), dir.join("srv.crt"), dir.join("srv.key"))
}

/// How the registry authenticates.
enum Auth {
    Htpasswd,
    /// Token auth: realm URL, the token signing certificate.
    Token(String, PathBuf),
}

/// A `docker-registry` process on 127.0.0.1; killed on drop.
struct Registry {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl Registry {
    fn start(auth: Auth, tls: bool) -> Registry {
        let dir = tempfile::tempdir().unwrap();
        let htpasswd = dir.path().join("htpasswd");
        let mut cmd = Command::new(tool("htpasswd", "apache2-utils"));
        cmd.args(["-B", "-i", "-c"]).arg(&htpasswd).arg(USER);
        let out = common::run_command(cmd, PASSWORD.as_bytes());
        assert_eq!(out.code, 0, "htpasswd: {out:?}");
        let port = free_port("127.0.0.1");
        let auth = match auth {
            Auth::Htpasswd => format!(
                "  htpasswd:\n    realm: test-realm\n    path: {}\n",
                htpasswd.display()
            ),
            Auth::Token(realm, cert) => format!(
                "  token:\n    realm: {realm}\n    service: dck-test-registry\n    issuer: dck-test-issuer\n    rootcertbundle: {}\n",
                cert.display()
            ),
        };
        let tls = if tls {
            let (_, crt, key) = private_ca(dir.path());
            format!(
                "  tls:\n    certificate: {}\n    key: {}\n",
                crt.display(),
                key.display()
            )
        } else {
            String::new()
        };
        let config = dir.path().join("config.yml");
        std::fs::write(
            &config,
            format!(
                "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:{port}\n{tls}auth:\n{auth}",
                dir.path().join("data").display(),
            ),
        )
        .unwrap();
        let log = std::fs::File::create(dir.path().join("registry.log")).unwrap();
        let child = Command::new(tool("docker-registry", "docker-registry"))
            .arg("serve")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start docker-registry");
        let registry = Registry { child, port, dir };
        wait_listening("127.0.0.1", port, "docker-registry");
        registry
    }

    fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// A certs.d root holding this registry's CA under `127.0.0.1:PORT/`.
    fn certs_d(&self) -> PathBuf {
        let root = self.dir.path().join("certs.d");
        let dir = root.join(self.host());
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::copy(self.dir.path().join("ca.crt"), dir.join("ca.crt")).unwrap();
        root
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// tests/e2e/token_server.py on 127.0.0.2, knowing only the SSO user; killed on drop.
struct TokenServer {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl TokenServer {
    fn start() -> TokenServer {
        let dir = tempfile::tempdir().unwrap();
        openssl(
            dir.path(),
            &[
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                "token.key",
                "-out",
                "token.crt",
                "-days",
                "2",
                "-subj",
                "/CN=dck-test-issuer",
            ],
        );
        let digest = Command::new("python3")
            .args([
                "-c",
                "import hashlib,sys; print(hashlib.sha256(sys.argv[1].encode()).hexdigest())",
                SSO_PASSWORD,
            ])
            .output()
            .unwrap();
        std::fs::write(
            dir.path().join("users"),
            format!("{SSO_USER}:{}", String::from_utf8_lossy(&digest.stdout)),
        )
        .unwrap();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/e2e/token_server.py");
        let port_file = dir.path().join("port");
        let child = Command::new(tool("python3", "python3"))
            .arg(script)
            .args(["--listen", "127.0.0.2:0", "--port-file"])
            .arg(&port_file)
            .arg("--users")
            .arg(dir.path().join("users"))
            .arg("--key")
            .arg(dir.path().join("token.key"))
            .arg("--cert")
            .arg(dir.path().join("token.crt"))
            .args([
                "--issuer",
                "dck-test-issuer",
                "--service",
                "dck-test-registry",
            ])
            .arg("--log")
            .arg(dir.path().join("log"))
            .stdin(Stdio::null())
            .spawn()
            .expect("start token_server.py");
        let start = Instant::now();
        let port = loop {
            if let Ok(text) = std::fs::read_to_string(&port_file) {
                break text.trim().parse::<u16>().unwrap();
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "token_server.py did not start (needs python3-cryptography)"
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        TokenServer { child, port, dir }
    }

    fn host(&self) -> String {
        format!("127.0.0.2:{}", self.port)
    }

    fn realm(&self) -> String {
        format!("http://{}/token", self.host())
    }

    fn cert(&self) -> PathBuf {
        self.dir.path().join("token.crt")
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("log")).unwrap_or_default()
    }
}

impl Drop for TokenServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn assert_no_secret(run: &Run) {
    for needle in [PASSWORD, SSO_PASSWORD, "WRONG-pw"] {
        assert!(
            !run.stdout.contains(needle) && !run.stderr.contains(needle),
            "secret in output: {run:?}"
        );
    }
}

fn login(env: &Env, args: &[&str], stdin: &str, extra_env: &[(&str, &Path)]) -> Run {
    let mut all = vec!["login"];
    all.extend(args);
    let mut cmd = env.command(&all);
    cmd.env_remove("HTTPS_PROXY")
        .env_remove("https_proxy")
        .env_remove("HTTP_PROXY")
        .env_remove("http_proxy")
        // No machine-wide certs.d leaks into the test.
        .env(
            "DOCKER_CREDENTIAL_KEYRING_CERTS_D",
            env.home().join("no-certs.d"),
        );
    for (name, value) in extra_env {
        cmd.env(name, value);
    }
    let run = common::run_command(cmd, stdin.as_bytes());
    assert_no_secret(&run);
    run
}

#[test]
#[ignore = "needs docker-registry and apache2-utils"]
fn htpasswd_over_http_right_password_is_stored_wrong_one_refused() {
    let registry = Registry::start(Auth::Htpasswd, false);
    let env = Env::new(Backend::File);
    let host = registry.host();
    let args = ["-u", USER, "--password-stdin", host.as_str()];

    let wrong = login(&env, &args, "WRONG-pw\n", &[]);
    assert_eq!(wrong.code, 1, "{wrong:?}");
    assert!(!wrong.stdout.contains("Login Succeeded"), "{wrong:?}");
    assert!(
        wrong.stderr.contains("registry")
            && wrong.stderr.contains("refused")
            && wrong.stderr.contains("401"),
        "{wrong:?}"
    );
    assert_eq!(
        env.secret(&host),
        None,
        "nothing stored after a refused login"
    );

    let right = login(&env, &args, &format!("{PASSWORD}\n"), &[]);
    right.ok();
    assert!(right.stdout.contains("Login Succeeded"), "{right:?}");
    assert_eq!(env.secret(&host).as_deref(), Some(PASSWORD));

    // A later wrong login changes nothing: the good credential stays.
    let before = env.store_bytes();
    let wrong = login(&env, &args, "WRONG-pw\n", &[]);
    assert_eq!(wrong.code, 1, "{wrong:?}");
    assert_eq!(env.store_bytes(), before, "the store was touched");
    assert_eq!(env.secret(&host).as_deref(), Some(PASSWORD));
}

#[test]
#[ignore = "needs docker-registry, apache2-utils and openssl"]
fn https_with_a_private_ca_from_certs_d() {
    let registry = Registry::start(Auth::Htpasswd, true);
    let env = Env::new(Backend::File);
    let host = registry.host();
    let args = ["-u", USER, "--password-stdin", host.as_str()];
    let pw = format!("{PASSWORD}\n");

    // Without the CA: a TLS failure that says where the CA would go. A
    // loopback registry may fall back to plain HTTP, which this one refuses.
    let untrusted = login(&env, &args, &pw, &[]);
    assert_eq!(untrusted.code, 1, "{untrusted:?}");
    assert!(untrusted.stderr.contains("TLS"), "{untrusted:?}");
    assert!(untrusted.stderr.contains("certs.d"), "{untrusted:?}");
    assert_eq!(env.secret(&host), None);

    let certs_d = registry.certs_d();
    let certs = [("DOCKER_CREDENTIAL_KEYRING_CERTS_D", certs_d.as_path())];
    let wrong = login(&env, &args, "WRONG-pw\n", &certs);
    assert_eq!(wrong.code, 1, "{wrong:?}");
    assert!(
        wrong.stderr.contains("https://") && wrong.stderr.contains("401"),
        "{wrong:?}"
    );
    assert_eq!(env.secret(&host), None);

    let right = login(&env, &args, &pw, &certs);
    right.ok();
    assert!(right.stdout.contains("Login Succeeded"), "{right:?}");
    assert_eq!(env.secret(&host).as_deref(), Some(PASSWORD));
}

#[test]
#[ignore = "needs docker-registry, openssl and python3-cryptography"]
fn a_pair_logs_in_through_the_auth_server_with_its_own_credential() {
    let tokens = TokenServer::start();
    let registry = Registry::start(Auth::Token(tokens.realm(), tokens.cert()), false);
    let env = Env::new(Backend::File);
    let host = registry.host();
    let auth = tokens.host();

    // The registry credential alone: the auth server refuses it, nothing stored.
    let alone = login(
        &env,
        &[
            "-u",
            USER,
            "--password-stdin",
            &host,
            "--auth-server",
            &auth,
        ],
        &format!("{PASSWORD}\n"),
        &[],
    );
    assert_eq!(alone.code, 1, "{alone:?}");
    assert!(
        alone.stderr.contains("auth server")
            && alone.stderr.contains("refused")
            && alone.stderr.contains("401"),
        "{alone:?}"
    );
    assert!(env.list().is_empty(), "nothing stored, nothing paired");
    let pairs = env.run(&["pair", "ls", "--json"], b"");
    assert_eq!(pairs.stdout.trim(), "[]", "{pairs:?}");

    // A wrong SSO password: refused by the auth server too.
    let wrong = login(
        &env,
        &[
            "-u",
            USER,
            "--password-stdin",
            &host,
            "--auth-server",
            &auth,
            "--auth-username",
            SSO_USER,
            "--auth-password-stdin",
        ],
        &format!("{PASSWORD}\nWRONG-pw\n"),
        &[],
    );
    assert_eq!(wrong.code, 1, "{wrong:?}");
    assert!(wrong.stderr.contains("auth server"), "{wrong:?}");
    assert!(env.list().is_empty());

    // With the auth server's own credential: the token comes from it.
    let paired = login(
        &env,
        &[
            "-u",
            USER,
            "--password-stdin",
            &host,
            "--auth-server",
            &auth,
            "--auth-username",
            SSO_USER,
            "--auth-password-stdin",
        ],
        &format!("{PASSWORD}\n{SSO_PASSWORD}\n"),
        &[],
    );
    paired.ok();
    assert!(paired.stdout.contains("Login Succeeded"), "{paired:?}");
    assert!(paired.stdout.contains("Paired"), "{paired:?}");
    assert!(
        tokens.log().contains(&format!("issued {SSO_USER}")),
        "{}",
        tokens.log()
    );
    assert_eq!(env.secret(&host).as_deref(), Some(PASSWORD));
    assert_eq!(env.secret(&auth).as_deref(), Some(SSO_PASSWORD));

    // A later login of the paired registry goes through the stored SSO credential.
    let again = login(
        &env,
        &["-u", USER, "--password-stdin", &host],
        &format!("{PASSWORD}\n"),
        &[],
    );
    again.ok();
    assert!(again.stdout.contains("Login Succeeded"), "{again:?}");
}

#[test]
#[ignore = "needs docker-registry and apache2-utils"]
fn discover_proves_the_pair_before_recording_it() {
    let tokens = TokenServer::start();
    let registry = Registry::start(Auth::Token(tokens.realm(), tokens.cert()), false);
    let env = Env::new(Backend::File);
    let host = registry.host();
    let refused = login(
        &env,
        &["-u", USER, "--password-stdin", &host, "--discover"],
        &format!("{PASSWORD}\n"),
        &[],
    );
    assert_eq!(refused.code, 1, "{refused:?}");
    assert!(refused.stderr.contains("auth server"), "{refused:?}");
    let pairs = env.run(&["pair", "ls", "--json"], b"");
    assert_eq!(pairs.stdout.trim(), "[]", "no pair recorded: {pairs:?}");

    let ok = login(
        &env,
        &[
            "-u",
            USER,
            "--password-stdin",
            &host,
            "--discover",
            "--auth-username",
            SSO_USER,
            "--auth-password-stdin",
        ],
        &format!("{PASSWORD}\n{SSO_PASSWORD}\n"),
        &[],
    );
    ok.ok();
    assert!(ok.stdout.contains("Paired"), "{ok:?}");
}

#[test]
fn unreachable_registry_is_a_clear_error_and_no_verify_stores() {
    let env = Env::new(Backend::File);
    let port = free_port("127.0.0.1");
    let host = format!("127.0.0.1:{port}");
    let args = [
        "-u",
        USER,
        "--password-stdin",
        host.as_str(),
        "--timeout",
        "5",
    ];
    let run = login(&env, &args, &format!("{PASSWORD}\n"), &[]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.contains("cannot check the credential"),
        "{run:?}"
    );
    assert!(run.stderr.contains("--no-verify"), "{run:?}");
    assert_eq!(env.secret(&host), None);

    let mut no_verify = args.to_vec();
    no_verify.push("--no-verify");
    let stored = login(&env, &no_verify, &format!("{PASSWORD}\n"), &[]);
    stored.ok();
    assert!(stored.stdout.contains("without checking"), "{stored:?}");
    assert!(!stored.stdout.contains("Succeeded"), "{stored:?}");
    assert_eq!(env.secret(&host).as_deref(), Some(PASSWORD));
}
