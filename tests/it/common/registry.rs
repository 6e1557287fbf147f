//! A real registry side for the tests that talk to registries: Debian's
//! `docker-registry` on 127.0.0.1 (htpasswd, optionally TLS with a private CA
//! made by openssl) and tests/e2e/token_server.py (token auth on 127.0.0.2,
//! accepting only the SSO user). Each process is killed on drop.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::time::wait_until;
use super::{run_command, tool};

pub const USER: &str = "alice";
pub const PASSWORD: &str = "reg-Secret-pw-7";
pub const SSO_USER: &str = "sso-bob";
pub const SSO_PASSWORD: &str = "sso-Secret-pw-9";
/// The refresh token (identity token) the token server knows, for the SSO user.
pub const REFRESH_TOKEN: &str = "rt-Secret-identity-5";

pub fn free_port(host: &str) -> u16 {
    TcpListener::bind((host, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Waits (bounded: 20 s) until something listens on `host:port`.
pub fn wait_listening(host: &str, port: u16, what: &str) {
    let listening = format!("{what} listening on {host}:{port}");
    wait_until(Duration::from_secs(20), &listening, || {
        TcpStream::connect((host, port)).is_ok()
    });
}

pub fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new(tool("openssl", "openssl"))
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "openssl {args:?}: {out:?}");
}

/// A CA and a server certificate for 127.0.0.1 signed by it: (ca.crt, srv.crt, srv.key).
pub fn private_ca(dir: &Path, ip: &str) -> (PathBuf, PathBuf, PathBuf) {
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
        format!("subjectAltName=IP:{ip}\nextendedKeyUsage=serverAuth\n"),
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

/// A self-signed certificate for the IP `san` made the way many admins make
/// one (`openssl req -x509`, which sets CA:TRUE), also written as `ca.crt`
/// (what goes in certs.d): (srv.crt, srv.key).
pub fn self_signed(dir: &Path, san: &str) -> (PathBuf, PathBuf) {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            "srv.key",
            "-out",
            "srv.crt",
            "-days",
            "2",
            "-subj",
            &format!("/CN={san}"),
            "-addext",
            &format!("subjectAltName=IP:{san}"),
        ],
    );
    std::fs::copy(dir.join("srv.crt"), dir.join("ca.crt")).unwrap();
    (dir.join("srv.crt"), dir.join("srv.key"))
}

/// How the registry authenticates.
pub enum Auth {
    Htpasswd,
    /// Token auth: realm URL, the token signing certificate.
    Token(String, PathBuf),
}

/// A `docker-registry` process (on 127.0.0.1 unless told); killed on drop.
pub struct Registry {
    child: Child,
    pub ip: String,
    pub port: u16,
    dir: tempfile::TempDir,
}

impl Registry {
    pub fn start(auth: Auth, tls: bool) -> Registry {
        Registry::start_on("127.0.0.1", auth, tls)
    }

    /// A registry listening on `ip` (a certificate for it when `tls`).
    pub fn start_on(ip: &str, auth: Auth, tls: bool) -> Registry {
        let dir = tempfile::tempdir().unwrap();
        let cert = tls.then(|| {
            let (_, crt, key) = private_ca(dir.path(), ip);
            (crt, key)
        });
        Registry::launch(dir, ip, auth, cert)
    }

    /// A registry on 127.0.0.1 serving a [`self_signed`] certificate for the
    /// IP `san` (its own `ca.crt`, see [`Registry::certs_d`]).
    pub fn start_self_signed(auth: Auth, san: &str) -> Registry {
        let dir = tempfile::tempdir().unwrap();
        let cert = self_signed(dir.path(), san);
        Registry::launch(dir, "127.0.0.1", auth, Some(cert))
    }

    fn launch(
        dir: tempfile::TempDir,
        ip: &str,
        auth: Auth,
        cert: Option<(PathBuf, PathBuf)>,
    ) -> Registry {
        let htpasswd = dir.path().join("htpasswd");
        let mut cmd = Command::new(tool("htpasswd", "apache2-utils"));
        cmd.args(["-B", "-i", "-c"]).arg(&htpasswd).arg(USER);
        let out = run_command(cmd, PASSWORD.as_bytes());
        assert_eq!(out.code, 0, "htpasswd: {out:?}");
        let port = free_port(ip);
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
        let tls = match cert {
            Some((crt, key)) => format!(
                "  tls:\n    certificate: {}\n    key: {}\n",
                crt.display(),
                key.display()
            ),
            None => String::new(),
        };
        let config = dir.path().join("config.yml");
        std::fs::write(
            &config,
            format!(
                "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: {ip}:{port}\n{tls}auth:\n{auth}",
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
        let registry = Registry {
            child,
            ip: ip.to_owned(),
            port,
            dir,
        };
        wait_listening(ip, port, "docker-registry");
        registry
    }

    pub fn host(&self) -> String {
        format!("{}:{}", self.ip, self.port)
    }

    /// A certs.d root holding this registry's CA (or its self-signed
    /// certificate) under `IP:PORT/`.
    pub fn certs_d(&self) -> PathBuf {
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
pub struct TokenServer {
    child: Child,
    pub port: u16,
    dir: tempfile::TempDir,
}

impl TokenServer {
    /// The token server knowing [`SSO_USER`] and its refresh token
    /// ([`REFRESH_TOKEN`]), granting every scope asked for.
    pub fn start() -> TokenServer {
        TokenServer::launch(
            &[(SSO_USER, SSO_PASSWORD)],
            None,
            Some(&format!("{REFRESH_TOKEN} {SSO_USER}\n")),
        )
    }

    /// tests/e2e/token_server.py on 127.0.0.2 knowing `users` (name,
    /// password), granting by `acl` (its `--acl` lines: `USER REPOSITORY
    /// ACTIONS`, `*` globs; every scope without), with `refresh` as its
    /// `--refresh-tokens` file; killed on drop.
    fn launch(users: &[(&str, &str)], acl: Option<&str>, refresh: Option<&str>) -> TokenServer {
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
        let lines: String = users
            .iter()
            .map(|(user, password)| {
                let digest = Command::new("python3")
                    .args([
                        "-c",
                        "import hashlib,sys; print(hashlib.sha256(sys.stdin.read().encode()).hexdigest())",
                    ])
                    .stdin(Stdio::piped())
                    .stdout(Stdio::piped())
                    .spawn()
                    .and_then(|mut child| {
                        use std::io::Write;
                        child.stdin.take().unwrap().write_all(password.as_bytes())?;
                        child.wait_with_output()
                    })
                    .unwrap();
                format!("{user}:{}", String::from_utf8_lossy(&digest.stdout))
            })
            .collect();
        std::fs::write(dir.path().join("users"), lines).unwrap();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/e2e/token_server.py");
        let port_file = dir.path().join("port");
        let mut cmd = Command::new(tool("python3", "python3"));
        cmd.arg(script)
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
            .stdin(Stdio::null());
        if let Some(acl) = acl {
            std::fs::write(dir.path().join("acl"), acl).unwrap();
            cmd.arg("--acl").arg(dir.path().join("acl"));
        }
        if let Some(refresh) = refresh {
            std::fs::write(dir.path().join("refresh"), refresh).unwrap();
            cmd.arg("--refresh-tokens").arg(dir.path().join("refresh"));
        }
        let child = cmd.spawn().expect("start token_server.py");
        wait_until(
            Duration::from_secs(20),
            "token_server.py writing its port (it needs python3-cryptography)",
            || port_file.exists(),
        );
        let port = std::fs::read_to_string(&port_file)
            .unwrap()
            .trim()
            .parse::<u16>()
            .unwrap();
        TokenServer { child, port, dir }
    }

    pub fn host(&self) -> String {
        format!("127.0.0.2:{}", self.port)
    }

    pub fn realm(&self) -> String {
        format!("http://{}/token", self.host())
    }

    /// The auth-server key of [`realm`](Self::realm): `http://` as the realm
    /// (an `https` key's own credential never goes to a plain-HTTP realm).
    pub fn auth_server(&self) -> String {
        format!("http://{}", self.host())
    }

    pub fn cert(&self) -> PathBuf {
        self.dir.path().join("token.crt")
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("log")).unwrap_or_default()
    }
}

impl Drop for TokenServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// This machine's first non-loopback IPv4 address (for the proxy tests: Go's
/// client, docker and this helper never proxy loopback hosts).
pub fn non_loopback_ip() -> String {
    let out = Command::new("hostname")
        .arg("-I")
        .output()
        .expect("hostname -I");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .find(|a| {
            a.parse::<std::net::Ipv4Addr>()
                .is_ok_and(|ip| !ip.is_loopback())
        })
        .expect("the proxy tests need a non-loopback IPv4 address on this machine")
        .to_owned()
}

/// Debian's `tinyproxy` on 127.0.0.1 (CONNECT to any port), logging every
/// connection; killed on drop.
pub struct Tinyproxy {
    child: Child,
    pub port: u16,
    dir: tempfile::TempDir,
}

impl Tinyproxy {
    pub fn start() -> Tinyproxy {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port("127.0.0.1");
        let config = dir.path().join("tinyproxy.conf");
        std::fs::write(
            &config,
            format!(
                "Port {port}\nListen 127.0.0.1\nTimeout 30\nMaxClients 50\nAllow 127.0.0.1\nLogLevel Connect\nLogFile \"{}\"\n",
                dir.path().join("log").display()
            ),
        )
        .unwrap();
        let child = Command::new(tool("tinyproxy", "tinyproxy-bin"))
            .arg("-d")
            .arg("-c")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start tinyproxy");
        wait_listening("127.0.0.1", port, "tinyproxy");
        Tinyproxy { child, port, dir }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// How many CONNECT requests for `authority` the proxy has seen.
    pub fn connects_to(&self, authority: &str) -> usize {
        std::fs::read_to_string(self.dir.path().join("log"))
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains("CONNECT") && l.contains(authority))
            .count()
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("log")).unwrap_or_default()
    }
}

impl Drop for Tinyproxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl TokenServer {
    /// tests/e2e/token_server.py on 127.0.0.2 knowing `users` (name,
    /// password) and granting per-repository actions by `acl` (its `--acl`
    /// lines: `USER REPOSITORY ACTIONS`, `*` globs); killed on drop.
    pub fn start_with_acl(users: &[(&str, &str)], acl: &str) -> TokenServer {
        TokenServer::launch(users, Some(acl), None)
    }
}

impl Registry {
    /// Blob uploads in progress in `repository`: `_uploads/UUID` with its
    /// `startedat` or `data` (distribution 2.8 leaves an empty
    /// `hashstates/sha256/0` of a cancelled upload behind, nothing else).
    pub fn uploads_in_progress(&self, repository: &str) -> usize {
        let dir = self
            .dir
            .path()
            .join("data/docker/registry/v2/repositories")
            .join(repository)
            .join("_uploads");
        std::fs::read_dir(dir).map_or(0, |d| {
            d.filter_map(Result::ok)
                .filter(|e| e.path().join("startedat").exists() || e.path().join("data").exists())
                .count()
        })
    }

    /// Tags of `repository` in the registry's storage.
    pub fn stored_tags(&self, repository: &str) -> Vec<String> {
        let dir = self
            .dir
            .path()
            .join("data/docker/registry/v2/repositories")
            .join(repository)
            .join("_manifests/tags");
        let mut tags: Vec<String> = std::fs::read_dir(dir)
            .map(|d| {
                d.filter_map(|e| e.ok()?.file_name().into_string().ok())
                    .collect()
            })
            .unwrap_or_default();
        tags.sort();
        tags
    }
}

impl Registry {
    /// A rotation on the registry: its htpasswd now lets `user` in with
    /// `password` only. distribution 2.8 reads htpasswd once, at start, so
    /// the registry is restarted on the same address with the new file.
    pub fn rotate_htpasswd(&mut self, user: &str, password: &str) {
        let htpasswd = self.dir.path().join("htpasswd");
        let mut cmd = Command::new(tool("htpasswd", "apache2-utils"));
        cmd.args(["-B", "-i", "-c"]).arg(&htpasswd).arg(user);
        let out = run_command(cmd, password.as_bytes());
        assert_eq!(out.code, 0, "htpasswd: {out:?}");
        let _ = self.child.kill();
        let _ = self.child.wait();
        let log = std::fs::OpenOptions::new()
            .append(true)
            .open(self.dir.path().join("registry.log"))
            .unwrap();
        self.child = Command::new(tool("docker-registry", "docker-registry"))
            .arg("serve")
            .arg(self.dir.path().join("config.yml"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("restart docker-registry");
        wait_listening(&self.ip, self.port, "docker-registry");
    }
}
