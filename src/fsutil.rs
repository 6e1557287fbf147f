//! File-system primitives every writer shares: private directories, atomic
//! replacement of a file, and an exclusive lock between concurrent helpers.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

/// Creates `dir` (and parents) if needed and makes sure it is mode 0700, whatever the umask.
pub(crate) fn ensure_private_dir(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        if !dir.is_dir() {
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .with_context(|| format!("cannot create directory {}", dir.display()))?;
        }
        let mode = fs::metadata(dir)
            .with_context(|| format!("cannot read {}", dir.display()))?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
                .with_context(|| format!("cannot make {} private (chmod 700)", dir.display()))?;
        }
    }
    #[cfg(not(unix))]
    fs::create_dir_all(dir)
        .with_context(|| format!("cannot create directory {}", dir.display()))?;
    Ok(())
}

/// Writes `bytes` to `path` atomically: a temporary file in the same directory
/// with `mode`, fsync, rename over the target, fsync of the directory. Readers see
/// the old file or the new one, never a mix; a crash leaves the old file intact.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    // Windows has no mode bits: the file inherits the profile directory's ACL.
    #[cfg(not(unix))]
    let _ = mode;
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    let tmp = temp_path(path);
    let result = (|| -> io::Result<()> {
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(mode);
        }
        let mut file = options.open(&tmp)?;
        #[cfg(unix)]
        {
            // The umask may have removed bits we asked for; set them exactly.
            use std::os::unix::fs::PermissionsExt;
            file.set_permissions(fs::Permissions::from_mode(mode))?;
        }
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        fs::rename(&tmp, path)?;
        sync_dir(dir);
        Ok(())
    })();
    if let Err(err) = result {
        let _ = fs::remove_file(&tmp);
        return Err(err).with_context(|| {
            format!(
                "cannot write {} (nothing was changed; is the disk full or read-only?)",
                path.display()
            )
        });
    }
    // Tests count these lines: batches must write the index once.
    crate::debug!("wrote {}", path.display());
    Ok(())
}

fn temp_prefix(path: &Path) -> String {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    format!(".{name}.tmp.")
}

fn temp_path(path: &Path) -> PathBuf {
    path.with_file_name(format!("{}{}", temp_prefix(path), std::process::id()))
}

/// Removes temporary files a killed writer of `path` left behind (they may
/// hold secrets that were erased since, and a reused pid would collide with
/// one). Call only while holding the lock every writer of `path` takes.
pub(crate) fn remove_stale_temps(path: &Path) {
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    let prefix = temp_prefix(path);
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        if entry.file_name().to_string_lossy().starts_with(&prefix) {
            let _ = fs::remove_file(entry.path());
        }
    }
}

fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}

/// An advisory lock (exclusive or shared) on a lock file, released on drop (and by the
/// kernel if the process dies), so a killed helper never leaves a stale lock.
#[derive(Debug)]
pub(crate) struct LockGuard {
    _file: File,
}

/// Error returned when another process holds the lock for longer than we wait.
/// Callers can retry: nothing was changed.
#[derive(Debug)]
pub(crate) struct LockTimeout {
    pub(crate) path: PathBuf,
    pub(crate) waited: Duration,
}

impl std::fmt::Display for LockTimeout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "another docker-credential-keyring process held the lock {} for {:.1}s; nothing was changed, try again",
            self.path.display(),
            self.waited.as_secs_f64()
        )
    }
}

impl std::error::Error for LockTimeout {}

/// Takes the exclusive lock at `path`, waiting up to `wait`.
pub(crate) fn lock_exclusive(path: &Path, wait: Duration) -> Result<LockGuard> {
    lock(path, wait, false)
}

/// Takes a shared lock at `path`, waiting up to `wait`: readers that must
/// see a writer's several steps all or not at all hold it together, while
/// [`lock_exclusive`] holders wait for them (and they for it).
pub(crate) fn lock_shared(path: &Path, wait: Duration) -> Result<LockGuard> {
    lock(path, wait, true)
}

/// Takes the exclusive lock at `path` if no one holds it, without waiting:
/// `None` when someone does (for work that can as well be left undone).
pub(crate) fn try_lock_exclusive(path: &Path) -> Result<Option<LockGuard>> {
    let file = open_lock_file(path)?;
    match file.try_lock() {
        Ok(()) => Ok(Some(LockGuard { _file: file })),
        Err(fs::TryLockError::WouldBlock) => Ok(None),
        Err(fs::TryLockError::Error(err)) => {
            Err(err).with_context(|| format!("cannot lock {}", path.display()))
        }
    }
}

fn open_lock_file(path: &Path) -> Result<File> {
    let mut options = OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options
        .open(path)
        .with_context(|| format!("cannot open lock file {}", path.display()))
}

fn lock(path: &Path, wait: Duration, shared: bool) -> Result<LockGuard> {
    let file = open_lock_file(path)?;
    let start = Instant::now();
    let tried = if shared {
        file.try_lock_shared()
    } else {
        file.try_lock()
    };
    match tried {
        Ok(()) => return Ok(LockGuard { _file: file }),
        Err(fs::TryLockError::WouldBlock) => {}
        Err(fs::TryLockError::Error(err)) => {
            return Err(err).with_context(|| format!("cannot lock {}", path.display()))
        }
    }
    // Wait in the kernel, on a helper thread so the wait stays bounded: the
    // kernel hands the lock on as it is released, where polling with sleeps
    // starved some of 50 parallel writers past the bound. If we give up, the
    // thread's late lock is dropped (released) when it cannot hand it over.
    let (tx, rx) = mpsc::channel();
    std::thread::Builder::new()
        .name("store-lock".to_owned())
        .spawn(move || {
            let locked = if shared {
                file.lock_shared()
            } else {
                file.lock()
            };
            let _ = tx.send(locked.map(|()| file));
        })
        .context("cannot start the lock thread")?;
    match rx.recv_timeout(wait) {
        Ok(Ok(file)) => Ok(LockGuard { _file: file }),
        Ok(Err(err)) => Err(err).with_context(|| format!("cannot lock {}", path.display())),
        Err(_) => bail!(LockTimeout {
            path: path.to_path_buf(),
            waited: start.elapsed(),
        }),
    }
}

/// Reads a whole file, `Ok(None)` when it does not exist.
pub(crate) fn read_if_exists(path: &Path) -> Result<Option<Vec<u8>>> {
    match fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(err).with_context(|| format!("cannot read {}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_and_sets_mode() {
        let dir = std::env::temp_dir().join(format!("dck-fsutil-{}", std::process::id()));
        ensure_private_dir(&dir).unwrap();
        let file = dir.join("f.json");
        write_atomic(&file, b"one", 0o600).unwrap();
        write_atomic(&file, b"two", 0o600).unwrap();
        assert_eq!(fs::read(&file).unwrap(), b"two");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                fs::metadata(&file).unwrap().permissions().mode() & 0o777,
                0o600
            );
            assert_eq!(
                fs::metadata(&dir).unwrap().permissions().mode() & 0o777,
                0o700
            );
        }
        // No temporary file is left behind; a killed writer's is swept.
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 1);
        fs::write(dir.join(".f.json.tmp.1"), b"stale").unwrap();
        fs::write(dir.join("other"), b"keep").unwrap();
        remove_stale_temps(&file);
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 2);
        fs::remove_file(dir.join("other")).unwrap();
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn second_lock_times_out_with_retryable_error() {
        let dir = std::env::temp_dir().join(format!("dck-lock-{}", std::process::id()));
        ensure_private_dir(&dir).unwrap();
        let path = dir.join("lock");
        let _held = lock_exclusive(&path, Duration::from_secs(1)).unwrap();
        let err = lock_exclusive(&path, Duration::from_millis(30)).unwrap_err();
        assert!(err.downcast_ref::<LockTimeout>().is_some(), "{err:#}");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn shared_locks_share_and_exclude_the_writer() {
        let dir = std::env::temp_dir().join(format!("dck-shlock-{}", std::process::id()));
        ensure_private_dir(&dir).unwrap();
        let path = dir.join("lock");
        let one = lock_shared(&path, Duration::from_secs(1)).unwrap();
        let two = lock_shared(&path, Duration::from_millis(30)).unwrap();
        let err = lock_exclusive(&path, Duration::from_millis(30)).unwrap_err();
        assert!(err.downcast_ref::<LockTimeout>().is_some(), "{err:#}");
        drop((one, two));
        let writer = lock_exclusive(&path, Duration::from_secs(1)).unwrap();
        let err = lock_shared(&path, Duration::from_millis(30)).unwrap_err();
        assert!(err.downcast_ref::<LockTimeout>().is_some(), "{err:#}");
        drop(writer);
        fs::remove_dir_all(&dir).unwrap();
    }
}
