//! One Secret Service conversation at a time per session bus.
//!
//! gnome-keyring-daemon (42 in Debian 12, still 50.0) aborts when several new
//! clients open sessions at once: its client record is created by an idle
//! callback that races the method call, and `OpenSession` then dereferences a
//! missing client (`gkd_secret_service_get_pkcs11_session: assertion 'client'
//! failed`, then `g_variant_new: expected GVariant of type 'v'`; upstream
//! gnome-keyring issues 190, 196, 199). Docker, CI jobs and `docker build` start
//! many helpers at once, so parallel `get`s killed the daemon in our own tests
//! (and D-Bus activation then started an empty, locked one). Helpers therefore
//! take turns: a process holds this lock from before it connects to the
//! Secret Service until after it disconnects (`backend` owns the connection's
//! lifetime), and the next one starts [`SETTLE`] after the last one ended, so
//! the daemon has handled the last client's departure before the next
//! arrives. Measured here (16 helpers x 100 parallel `get`s, 1600 short-lived
//! clients per run): without the lock a third to two thirds of runs killed the
//! daemon; with turns but no pause, 1 of 8; with a 0.5 ms pause, 2 of 8; with
//! 1 ms, none of 24 (nor with 2 or 3 ms, or with whole processes serialised). A conversation takes a few milliseconds, so a queue of helpers
//! costs little next to a crashed keyring, and a helper that finds the bus idle
//! does not wait at all.
//!
//! The lock file lives in a private per-user directory under the temp dir
//! (`/tmp/docker-credential-keyring-UID/`, checked like tmux checks its socket
//! directory) and is named after the bus address, so helpers with different
//! data directories or keyring namespaces on one bus take turns too, while
//! separate buses do not wait for each other. Where the directory is not
//! usable (owned by someone else, group/world-accessible) helpers go on
//! without the lock rather than fail: it protects the daemon, not our data.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, FileExt, MetadataExt, OpenOptionsExt};
use std::path::PathBuf;
use std::time::Duration;

/// The pause between one helper's disconnect and the next helper's connect
/// (see the module doc for the measurement). Sequential helpers (`docker
/// build`'s sweep) are 1.3 ms or more apart here (exit, spawn, start-up), so
/// they do not wait; a longer pause would cost each of them the difference.
pub const SETTLE: Duration = Duration::from_millis(1);

/// Held for the length of one Secret Service conversation; released on drop
/// (or when the process ends, however it ends: it is an `flock`). On drop it
/// records when the conversation ended, for the next holder's settle.
#[derive(Debug)]
pub struct BusLock {
    file: File,
}

impl Drop for BusLock {
    fn drop(&mut self) {
        // Best effort: without the record, the next holder just does not wait.
        let _ = self.file.write_at(&monotonic_nanos().to_le_bytes(), 0);
    }
}

/// Waits for this bus's lock. `None` when it cannot be had (see the module
/// doc); the caller goes on without it. Blocking: callers run it on the
/// bounded keyring worker, so a stuck holder becomes the usual timeout.
pub fn acquire(bus_address: &str) -> Option<BusLock> {
    match try_acquire(bus_address) {
        Ok(lock) => Some(lock),
        Err(err) => {
            crate::debug!("going on without the Secret Service turn lock: {err}");
            None
        }
    }
}

fn try_acquire(bus_address: &str) -> io::Result<BusLock> {
    let dir = private_dir()?;
    let path = dir.join(format!("secret-service-{:016x}.lock", fnv1a(bus_address)));
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(&path)?;
    file.lock()?;
    settle_after_previous(&file);
    Ok(BusLock { file })
}

/// Sleeps out what is left of [`SETTLE`] since the previous holder ended.
fn settle_after_previous(file: &File) {
    let mut ended = [0u8; 8];
    if !matches!(file.read_at(&mut ended, 0), Ok(8)) {
        return;
    }
    let ended = u64::from_le_bytes(ended);
    // A record from before a reboot (the clock restarted) is in the "future": ignore it.
    let Some(since) = monotonic_nanos().checked_sub(ended) else {
        return;
    };
    if let Some(left) = SETTLE.checked_sub(Duration::from_nanos(since)) {
        crate::debug!(
            "another helper left the Secret Service {} us ago: waiting {} us",
            since / 1000,
            left.as_micros()
        );
        std::thread::sleep(left);
    }
}

/// CLOCK_MONOTONIC in nanoseconds: one clock for every process since boot.
fn monotonic_nanos() -> u64 {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is a valid timespec to write; CLOCK_MONOTONIC always exists on Linux.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut now) };
    (now.tv_sec as u64)
        .saturating_mul(1_000_000_000)
        .saturating_add(now.tv_nsec as u64)
}

/// `$TMPDIR/docker-credential-keyring-UID`, created 0700; an existing one must
/// be a real directory owned by us that nobody else can enter. `doctor`
/// reports it (errors name the directory).
pub fn private_dir() -> io::Result<PathBuf> {
    // SAFETY: geteuid has no preconditions and cannot fail.
    let uid = unsafe { libc::geteuid() };
    let dir = std::env::temp_dir().join(format!("docker-credential-keyring-{uid}"));
    let named = |err: io::Error| io::Error::new(err.kind(), format!("{}: {err}", dir.display()));
    match fs::DirBuilder::new().mode(0o700).create(&dir) {
        Ok(()) => {}
        Err(err) if err.kind() == io::ErrorKind::AlreadyExists => {}
        Err(err) => return Err(named(err)),
    }
    let meta = fs::symlink_metadata(&dir).map_err(named)?;
    if !meta.is_dir() || meta.uid() != uid || meta.mode() & 0o077 != 0 {
        return Err(io::Error::other(format!(
            "{} is not a private directory of this user (it must be a directory owned by uid {uid}, mode 0700)",
            dir.display()
        )));
    }
    Ok(dir)
}

/// FNV-1a: a stable name for the bus (std's hasher may change between Rust
/// releases, and helpers of two builds must agree).
fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bus_names_are_stable_and_distinct() {
        // FNV-1a's published test vector: the name must not change between builds.
        assert_eq!(fnv1a("a"), 0xaf63_dc4c_8601_ec8c);
        assert_ne!(
            fnv1a("unix:path=/run/user/1000/bus"),
            fnv1a("unix:path=/run/user/1001/bus")
        );
    }

    #[test]
    fn second_holder_waits_for_the_first() {
        let address = format!("unix:path=/test/bus-{}", std::process::id());
        let first = try_acquire(&address).expect("lock");
        let (tx, rx) = std::sync::mpsc::channel();
        let address2 = address.clone();
        let waiter = std::thread::spawn(move || {
            let second = try_acquire(&address2).expect("lock");
            tx.send(()).unwrap();
            drop(second);
        });
        assert!(
            rx.recv_timeout(std::time::Duration::from_millis(200))
                .is_err(),
            "a second holder got the lock while the first held it"
        );
        drop(first);
        rx.recv_timeout(std::time::Duration::from_secs(5))
            .expect("the second holder gets the lock once the first lets go");
        waiter.join().unwrap();
        // A holder right after another waits out the settle time.
        drop(try_acquire(&address).expect("lock"));
        let ended = std::time::Instant::now();
        let next = try_acquire(&address).expect("lock");
        assert!(
            ended.elapsed() >= SETTLE,
            "the next holder started {:?} after the previous one ended",
            ended.elapsed()
        );
        drop(next);
        let dir = private_dir().unwrap();
        let mode = fs::metadata(&dir).unwrap().mode() & 0o777;
        assert_eq!(mode, 0o700, "{}", dir.display());
        let _ = fs::remove_file(dir.join(format!("secret-service-{:016x}.lock", fnv1a(&address))));
    }
}
