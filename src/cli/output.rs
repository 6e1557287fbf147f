//! Where `--output PATH` writes, decided before anything is written.
//!
//! A regular file (or a new name) is replaced atomically, mode 0600
//! ([`crate::fsutil::write_atomic`]). Something that is not a file is never
//! replaced: the streams a user clearly means are written to as they are
//! (`-` and `/dev/stdout`: standard output; `/dev/stderr`; `/dev/fd/N` as
//! bash's `>(cmd)` passes it: that descriptor; a FIFO; `/dev/null`), and
//! everything else (a directory, a socket, another device, a name inside
//! `/dev`, `/proc` or `/sys`) is refused. So no secret is ever left in `/dev`.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};

/// Where the output goes.
#[derive(Debug, PartialEq, Eq)]
enum Target {
    Stdout,
    Stderr,
    /// An open descriptor of this process other than 1 and 2 (`/dev/fd/N`).
    #[cfg(unix)]
    Descriptor(i32),
    /// A FIFO or `/dev/null`: opened for writing, never created or truncated.
    #[cfg(unix)]
    Stream(PathBuf),
    /// A regular file or a new name: replaced atomically, mode 0600.
    File(PathBuf),
}

/// Writes `bytes` where `--output PATH` says (see the module doc).
pub(crate) fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    match target(path)? {
        Target::Stdout => write_stream(&mut std::io::stdout().lock(), bytes)
            .map_err(|e| anyhow!("cannot write to standard output: {e}")),
        Target::Stderr => write_stream(&mut std::io::stderr().lock(), bytes)
            .map_err(|e| anyhow!("cannot write to standard error: {e}")),
        #[cfg(unix)]
        Target::Descriptor(fd) => {
            // SAFETY: `target` saw /dev/fd/N exist, so N is open; it is only
            // borrowed to duplicate it.
            let borrowed = unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) };
            let mut file = std::fs::File::from(
                borrowed
                    .try_clone_to_owned()
                    .with_context(|| format!("cannot write {}", path.display()))?,
            );
            write_stream(&mut file, bytes)
                .with_context(|| format!("cannot write {}", path.display()))
        }
        #[cfg(unix)]
        Target::Stream(stream) => std::fs::OpenOptions::new()
            .write(true)
            .open(&stream)
            .and_then(|mut f| write_stream(&mut f, bytes))
            .with_context(|| format!("cannot write {}", path.display())),
        Target::File(file) => crate::fsutil::write_atomic(&file, bytes, 0o600),
    }
}

/// Whether `a` and `b` name the same file, whether or not it exists yet:
/// their directories resolved (symlinks, `..`), then the file names compared.
pub(crate) fn same_file(a: &Path, b: &Path) -> bool {
    fn resolved(path: &Path) -> Option<PathBuf> {
        if let Ok(full) = std::fs::canonicalize(path) {
            return Some(full);
        }
        let parent = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        Some(std::fs::canonicalize(parent).ok()?.join(path.file_name()?))
    }
    match (resolved(a), resolved(b)) {
        (Some(a), Some(b)) => a == b,
        _ => a == b,
    }
}

fn write_stream(out: &mut impl Write, bytes: &[u8]) -> std::io::Result<()> {
    out.write_all(bytes)?;
    out.flush()
}

/// The descriptor a path names as the process's own (`/dev/stdout`,
/// `/dev/fd/N`, `/proc/self/fd/N`), by its spelling.
fn descriptor_of(path: &Path) -> Option<i32> {
    let text = path.to_str()?;
    match text {
        "/dev/stdout" => return Some(1),
        "/dev/stderr" => return Some(2),
        _ => {}
    }
    let number = text
        .strip_prefix("/dev/fd/")
        .or_else(|| text.strip_prefix("/proc/self/fd/"))?;
    number.parse().ok().filter(|n: &i32| *n >= 0)
}

/// Whether a resolved path lies in a kernel file system, where a file must never be created or replaced.
fn in_system_dir(resolved: &Path) -> bool {
    ["/dev", "/proc", "/sys"]
        .iter()
        .any(|dir| resolved.starts_with(dir))
}

fn refuse(path: &Path, what: &str) -> anyhow::Error {
    anyhow!(
        "cannot write {}: it is {what}, which --output never replaces; name a regular file, or use `-o -` (or no --output) for standard output",
        path.display()
    )
}

fn target(path: &Path) -> Result<Target> {
    if path.as_os_str() == "-" {
        return Ok(Target::Stdout);
    }
    match descriptor_of(path) {
        Some(1) => return Ok(Target::Stdout),
        Some(2) => return Ok(Target::Stderr),
        #[cfg(unix)]
        Some(fd) if std::fs::metadata(path).is_ok() => return Ok(Target::Descriptor(fd)),
        Some(_) => bail!("cannot write {}: no such open descriptor", path.display()),
        None => {}
    }
    // A file target replaces the name `path` itself (a symlink included), so
    // the directory that name is in must not be /dev, /proc or /sys.
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let name_dir = std::fs::canonicalize(parent)
        .ok()
        .filter(|dir| in_system_dir(dir));
    let meta = match std::fs::metadata(path) {
        Ok(meta) => meta,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            // A new name (or a dangling symlink): refused inside /dev, /proc
            // or /sys; elsewhere write_atomic creates it (and says why if it
            // cannot).
            if let Some(dir) = name_dir {
                return Err(refuse(path, &format!("a new name in {}", dir.display())));
            }
            return Ok(Target::File(path.to_path_buf()));
        }
        Err(err) => return Err(err).with_context(|| format!("cannot write {}", path.display())),
    };
    let resolved = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let kind = meta.file_type();
    if kind.is_dir() {
        return Err(refuse(path, "a directory"));
    }
    if kind.is_file() {
        if in_system_dir(&resolved) {
            return Err(refuse(
                path,
                &format!("a kernel file ({})", resolved.display()),
            ));
        }
        if let Some(dir) = name_dir {
            return Err(refuse(path, &format!("a name in {}", dir.display())));
        }
        return Ok(Target::File(path.to_path_buf()));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if kind.is_fifo() {
            return Ok(Target::Stream(resolved));
        }
        if kind.is_char_device() && resolved == Path::new("/dev/null") {
            return Ok(Target::Stream(resolved));
        }
        if kind.is_socket() {
            return Err(refuse(path, "a socket"));
        }
    }
    Err(refuse(path, &format!("a device ({})", resolved.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptor_names() {
        assert_eq!(descriptor_of(Path::new("/dev/stdout")), Some(1));
        assert_eq!(descriptor_of(Path::new("/dev/stderr")), Some(2));
        assert_eq!(descriptor_of(Path::new("/dev/fd/63")), Some(63));
        assert_eq!(descriptor_of(Path::new("/proc/self/fd/1")), Some(1));
        assert_eq!(descriptor_of(Path::new("/dev/fd/x")), None);
        assert_eq!(descriptor_of(Path::new("out.json")), None);
    }

    #[test]
    fn same_file_whether_or_not_it_exists() {
        let dir = tempfile::tempdir().unwrap();
        let new = dir.path().join("new.json");
        let other = dir.path().join("sub/../new.json");
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        assert!(same_file(&new, &other));
        assert!(!same_file(&new, &dir.path().join("other.json")));
        std::fs::write(&new, "x").unwrap();
        assert!(same_file(&new, &other));
        assert!(!same_file(&new, Path::new("-")));
    }

    #[test]
    fn targets() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(target(Path::new("-")).unwrap(), Target::Stdout);
        let new = dir.path().join("new.json");
        assert_eq!(target(&new).unwrap(), Target::File(new.clone()));
        assert!(target(dir.path())
            .unwrap_err()
            .to_string()
            .contains("a directory"));
        #[cfg(target_os = "linux")]
        {
            assert_eq!(
                target(Path::new("/dev/null")).unwrap(),
                Target::Stream("/dev/null".into())
            );
            let err = target(Path::new("/dev/zero")).unwrap_err().to_string();
            assert!(err.contains("a device"), "{err}");
            let err = target(Path::new("/dev/dck-new")).unwrap_err().to_string();
            assert!(err.contains("a new name in /dev"), "{err}");
            // A symlink in /dev/shm to a regular file elsewhere: replacing it
            // would leave the secret in /dev.
            let file = dir.path().join("elsewhere.json");
            std::fs::write(&file, "x").unwrap();
            let link = Path::new("/dev/shm").join(format!("dck-link-{}", std::process::id()));
            let _ = std::fs::remove_file(&link);
            std::os::unix::fs::symlink(&file, &link).unwrap();
            let err = target(&link).unwrap_err().to_string();
            std::fs::remove_file(&link).unwrap();
            assert!(err.contains("a name in /dev/shm"), "{err}");
            let err = target(Path::new("/proc/self/status"))
                .unwrap_err()
                .to_string();
            assert!(err.contains("a kernel file"), "{err}");
        }
    }
}
