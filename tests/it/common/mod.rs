//! Test harness: runs the real binary the way docker does (argv, stdin, stdout,
//! exit code) in an isolated HOME/XDG/DOCKER_CONFIG, on the file store or on
//! the real Secret Service (gnome-keyring on a private D-Bus session, started
//! by `tests/with-secret-service`).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

#[cfg(unix)] // read by the Unix-only first_run and openshift_page
pub mod docs;
pub mod golden;
pub mod human;
pub mod jwt;
pub mod kubestub;
#[cfg(unix)]
pub mod private_bus;
pub mod pull_secret;
pub mod registry;
pub mod time;

pub const BIN: &str = env!("CARGO_BIN_EXE_docker-credential-keyring");

/// The stores a test runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    File,
    SecretService,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::File => "file",
            Backend::SecretService => "secret-service",
        }
    }
}

/// Fails the calling test, saying how to run it, unless it runs inside
/// `tests/with-secret-service` (which sets `DCK_SECRET_SERVICE=1`). Tests that
/// call it are `#[ignore]`d, so this fires only when they are asked for.
pub fn require_secret_service() {
    assert!(
        std::env::var("DCK_SECRET_SERVICE").as_deref() == Ok("1"),
        "this test needs the Secret Service: run it through tests/with-secret-service \
         (tests/run does)"
    );
}

/// The path of `name` on PATH; a missing one fails the (ignored by default)
/// test with the fix.
pub fn tool(name: &str, package: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!("{name} is missing: it comes from {package} (tests/install-deps installs the Debian packages of tests/packages)")
        })
}

/// An isolated user environment for the binary.
pub struct Env {
    pub dir: tempfile::TempDir,
    pub backend: Backend,
    service: String,
}

/// What one run of the binary did.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn ok(&self) -> &Self {
        assert_eq!(self.code, 0, "expected success: {self:?}");
        self
    }
}

impl Env {
    pub fn new(backend: Backend) -> Env {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let service = format!("dck-test-{}-{n}", std::process::id());
        let dir = tempfile::tempdir().expect("tempdir");
        Env {
            dir,
            backend,
            service,
        }
    }

    /// The keyring `service` attribute this environment's items carry.
    pub fn service(&self) -> &str {
        &self.service
    }

    pub fn home(&self) -> &Path {
        self.dir.path()
    }

    /// Where the file store / index lives.
    pub fn store_file(&self) -> PathBuf {
        self.home()
            .join("data/docker-credential-keyring/store.json")
    }

    /// podman's and skopeo's auth file (`REGISTRY_AUTH_FILE`).
    pub fn containers_auth_file(&self) -> PathBuf {
        self.home().join("containers-auth.json")
    }

    pub fn docker_config_dir(&self) -> PathBuf {
        self.home().join(".docker")
    }

    /// docker's `config.json`.
    pub fn docker_config(&self) -> PathBuf {
        self.docker_config_dir().join("config.json")
    }

    /// A command for the binary with the environment set.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(BIN);
        cmd.args(args);
        self.apply(&mut cmd);
        cmd
    }

    /// Sets this environment's variables on `cmd` (for other programs too).
    pub fn apply(&self, cmd: &mut Command) {
        let home = self.home();
        cmd.env("HOME", home)
            .env("XDG_DATA_HOME", home.join("data"))
            .env("XDG_CONFIG_HOME", home.join("config"))
            .env("XDG_RUNTIME_DIR", home.join("run"))
            .env("DOCKER_CONFIG", self.docker_config_dir())
            .env("REGISTRY_AUTH_FILE", self.containers_auth_file())
            .env("DOCKER_CREDENTIAL_KEYRING_STORE", self.backend.name())
            .env("DOCKER_CREDENTIAL_KEYRING_SERVICE", &self.service)
            .env_remove("DOCKER_CREDENTIAL_KEYRING_LOG")
            .env_remove("DOCKER_CREDENTIAL_KEYRING_KUBECTL");
    }

    /// Runs the binary with `args` and `stdin`.
    pub fn run(&self, args: &[&str], stdin: &[u8]) -> Run {
        run_command(self.command(args), stdin)
    }

    pub fn store(&self, server: &str, user: &str, secret: &str) -> Run {
        let json = serde_json::json!({"ServerURL": server, "Username": user, "Secret": secret});
        self.run(&["store"], json.to_string().as_bytes())
    }

    pub fn get(&self, server: &str) -> Run {
        self.run(&["get"], server.as_bytes())
    }

    pub fn erase(&self, server: &str) -> Run {
        self.run(&["erase"], server.as_bytes())
    }

    /// `list` parsed as a JSON object.
    pub fn list(&self) -> serde_json::Map<String, serde_json::Value> {
        let run = self.run(&["list"], b"unused");
        assert_eq!(run.code, 0, "list failed: {run:?}");
        serde_json::from_str(&run.stdout).expect("list prints a JSON object")
    }

    /// The secret `get` returns for `server`, or None when not found.
    pub fn secret(&self, server: &str) -> Option<String> {
        let run = self.get(server);
        if run.code == 1 && run.stdout.trim() == "credentials not found in native keychain" {
            return None;
        }
        assert_eq!(run.code, 0, "get {server} failed: {run:?}");
        let v: serde_json::Value = serde_json::from_str(&run.stdout).expect("get prints JSON");
        Some(v["Secret"].as_str().expect("Secret is a string").to_owned())
    }

    /// The bytes of the store file (for before/after comparisons).
    pub fn store_bytes(&self) -> Option<Vec<u8>> {
        std::fs::read(self.store_file()).ok()
    }
}

/// Fails unless `run` is a human command's failure: exit 1, nothing on
/// stdout, one `error:` line on stderr that says `needle`.
pub fn fails(run: &Run, needle: &str) {
    assert_eq!(run.code, 1, "expected failure: {run:?}");
    assert!(
        run.stdout.is_empty(),
        "nothing on stdout on failure: {run:?}"
    );
    assert!(
        run.stderr.starts_with("error: ") && run.stderr.contains(needle),
        "stderr should say {needle:?}: {run:?}"
    );
    assert_eq!(run.stderr.lines().count(), 1, "one-line error: {run:?}");
}

// File helpers of the Unix-only modules (the Windows build has no user of them).

/// Writes `text` to `path`, creating its directory.
#[cfg(unix)]
pub fn write_file(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// The text of `path`; a missing file fails the test, naming it.
#[cfg(unix)]
pub fn read_file(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The permission bits of `path`.
#[cfg(unix)]
pub fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// Sets the permission bits of `path`.
#[cfg(unix)]
pub fn chmod(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

pub fn run_command(mut cmd: Command, stdin: &[u8]) -> Run {
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn");
    {
        let mut pipe = child.stdin.take().expect("stdin");
        // The binary may stop reading early (oversized input): ignore EPIPE.
        let _ = pipe.write_all(stdin);
    }
    let Output {
        status,
        stdout,
        stderr,
    } = child.wait_with_output().expect("wait");
    Run {
        code: status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    }
}

/// [`run_command`], but a run still going after [`time::bound`]`(limit)` is
/// killed and fails the test (a hang must fail, not hold the test run forever).
pub fn run_command_within(mut cmd: Command, stdin: &[u8], limit: Duration) -> Run {
    use std::io::Read;
    let limit = time::bound(limit);
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn");
    let _ = child.stdin.take().expect("stdin").write_all(stdin);
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut text = Vec::new();
            let _ = pipe.read_to_end(&mut text);
            String::from_utf8_lossy(&text).into_owned()
        })
    };
    let stdout = drain(Box::new(child.stdout.take().expect("stdout")));
    let stderr = drain(Box::new(child.stderr.take().expect("stderr")));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "still running after {limit:?}, killed: stderr so far: {}",
                stderr.join().unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Run {
        code: status.code().unwrap_or(-1),
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    }
}

/// Declares the test `fn NAME(backend: Backend)` (written right after) once
/// per store: `NAME::file` always runs (or is ignored for the reason given);
/// `NAME::secret_service` is ignored by default and fails when run outside
/// `tests/with-secret-service`.
#[macro_export]
macro_rules! backend_tests {
    ($name:ident) => {
        mod $name {
            #[test]
            fn file() {
                super::$name($crate::common::Backend::File);
            }

            $crate::backend_tests!(@secret_service $name);
        }
    };
    ($name:ident, ignore = $reason:literal) => {
        mod $name {
            #[test]
            #[ignore = $reason]
            fn file() {
                super::$name($crate::common::Backend::File);
            }

            $crate::backend_tests!(@secret_service $name);
        }
    };
    (@secret_service $name:ident) => {
        #[test]
        #[ignore = "needs the Secret Service (run through tests/with-secret-service)"]
        fn secret_service() {
            $crate::common::require_secret_service();
            super::$name($crate::common::Backend::SecretService);
        }
    };
}
