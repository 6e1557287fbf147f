//! A private D-Bus session bus with no service activation (so nothing starts
//! on demand), optionally with a gnome-keyring and a `dbus-monitor` of its
//! own: for the tests that break a keyring (lock, freeze, no collection) or
//! count its calls, without touching the shared one of
//! `tests/with-secret-service` that other tests use beside them. Unix only.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::time::wait_until;

/// The bus, and what runs on it; all of it is killed on drop.
pub struct PrivateBus {
    dir: tempfile::TempDir,
    daemon: Child,
    keyring: Option<Child>,
    monitor: Option<Child>,
}

impl PrivateBus {
    /// Starts `dbus-daemon` on a socket in a temporary directory; fails the
    /// test, naming the package, when the tools are missing.
    pub fn start() -> PrivateBus {
        super::tool("dbus-daemon", "dbus");
        super::tool("dbus-send", "dbus");
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("bus");
        let config = dir.path().join("bus.conf");
        fs::write(
            &config,
            format!(
                "<busconfig><type>session</type><listen>unix:path={}</listen>\
                 <auth>EXTERNAL</auth><policy context=\"default\">\
                 <allow send_destination=\"*\" eavesdrop=\"true\"/><allow eavesdrop=\"true\"/>\
                 <allow own=\"*\"/></policy></busconfig>",
                socket.display()
            ),
        )
        .unwrap();
        let daemon = Command::new("dbus-daemon")
            .arg(format!("--config-file={}", config.display()))
            .arg("--nofork")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("dbus-daemon (apt-get install dbus)");
        let bus = PrivateBus {
            dir,
            daemon,
            keyring: None,
            monitor: None,
        };
        wait_until(Duration::from_secs(5), "the private bus socket", || {
            socket.exists()
        });
        bus
    }

    /// The bus address for `DBUS_SESSION_BUS_ADDRESS`.
    pub fn address(&self) -> String {
        format!("unix:path={}", self.dir.path().join("bus").display())
    }

    /// Starts gnome-keyring (unlocked, password "test-password") on this bus.
    pub fn start_keyring(&mut self) {
        self.start_keyring_with(Some(b"test-password"));
    }

    /// Starts gnome-keyring on this bus; without a password it has no
    /// collection at all, like a fresh headless daemon started by D-Bus activation.
    pub fn start_keyring_with(&mut self, password: Option<&[u8]>) {
        super::tool("gnome-keyring-daemon", "gnome-keyring");
        let home = self.dir.path().join("keyring-home");
        let runtime = self.dir.path().join("run");
        fs::create_dir_all(home.join("data")).unwrap();
        fs::create_dir_all(&runtime).unwrap();
        fs::set_permissions(&runtime, fs::Permissions::from_mode(0o700)).unwrap();
        let mut args = vec!["--foreground", "--components=secrets"];
        if password.is_some() {
            args.push("--unlock");
        }
        let mut child = Command::new("gnome-keyring-daemon")
            .args(&args)
            .env("DBUS_SESSION_BUS_ADDRESS", self.address())
            .env("HOME", &home)
            .env("XDG_DATA_HOME", home.join("data"))
            .env("XDG_RUNTIME_DIR", &runtime)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("gnome-keyring-daemon (apt-get install gnome-keyring)");
        {
            use std::io::Write;
            let mut stdin = child.stdin.take().unwrap();
            if let Some(password) = password {
                stdin.write_all(password).unwrap();
            }
        }
        self.keyring = Some(child);
        wait_until(
            Duration::from_secs(5),
            "gnome-keyring on the private bus",
            || self.has_provider(),
        );
    }

    /// Whether something owns `org.freedesktop.secrets` on this bus.
    pub fn has_provider(&self) -> bool {
        self.send(&[
            "--dest=org.freedesktop.DBus",
            "/",
            "org.freedesktop.DBus.NameHasOwner",
            "string:org.freedesktop.secrets",
        ])
        .contains("boolean true")
    }

    /// The keyring's process id (to freeze or kill it).
    pub fn keyring_pid(&self) -> u32 {
        self.keyring.as_ref().expect("a keyring was started").id()
    }

    /// Starts `dbus-monitor` with `rules` (none: everything), its output
    /// line-buffered into [`monitor_log`](Self::monitor_log), and waits until
    /// it sees every message.
    pub fn start_monitor(&mut self, rules: &[&str]) {
        super::tool("dbus-monitor", "dbus");
        super::tool("stdbuf", "coreutils");
        let monitor = Command::new("stdbuf")
            .args(["-oL", "dbus-monitor", "--address", &self.address()])
            .args(rules)
            .stdout(fs::File::create(self.monitor_log()).unwrap())
            .stderr(Stdio::null())
            .spawn()
            .expect("dbus-monitor (apt-get install dbus)");
        self.monitor = Some(monitor);
        // Becoming a monitor drops its own name: from then on it sees everything.
        wait_until(Duration::from_secs(5), "dbus-monitor", || {
            fs::read_to_string(self.monitor_log()).is_ok_and(|t| t.contains("NameLost"))
        });
    }

    /// What the monitor has written so far goes here.
    pub fn monitor_log(&self) -> PathBuf {
        self.dir.path().join("monitor.log")
    }

    /// `dbus-send --print-reply ARGS` on this bus; its output.
    pub fn send(&self, args: &[&str]) -> String {
        let out = Command::new("dbus-send")
            .args(["--session", "--print-reply"])
            .args(args)
            .env("DBUS_SESSION_BUS_ADDRESS", self.address())
            .output()
            .expect("dbus-send");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for PrivateBus {
    fn drop(&mut self) {
        if let Some(keyring) = &self.keyring {
            // A frozen keyring must be woken to die.
            let pid = keyring.id().to_string();
            let _ = Command::new("kill").args(["-CONT", &pid]).status();
        }
        for mut child in [self.monitor.take(), self.keyring.take()]
            .into_iter()
            .flatten()
        {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = self.daemon.kill();
        let _ = self.daemon.wait();
    }
}
