//! The `certs.d` CAs of a registry host, as docker and the containers tools
//! keep them: `*.crt` (PEM) in `certs.d/HOST[:PORT]/` under `/etc/docker`,
//! `/etc/containers` and `~/.config/containers`, or the directories listed in
//! [`CERTS_D_ENV`].
//!
//! The files are outside input: only regular files are read (a symlink counts
//! when it resolves to one), each at most [`MAX_CA_FILE`] bytes, and the
//! reading happens on a worker thread bounded by the client's deadline. A
//! FIFO, device, directory, oversized or unreadable file is skipped with a
//! warning naming it and why: a FIFO named `ca.crt` once hung `login`, and a
//! symlink to `/dev/zero` read until memory ran out.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Instant;

use rustls::pki_types::CertificateDer;

/// Colon-separated `certs.d` directories to search instead of the defaults
/// (for tests, and for admins who keep registry CAs elsewhere).
pub(crate) const CERTS_D_ENV: &str = "DOCKER_CREDENTIAL_KEYRING_CERTS_D";

/// Largest CA file read: a CA bundle is a few KiB (the whole Mozilla bundle
/// is about 200 KiB).
pub(crate) const MAX_CA_FILE: u64 = 1024 * 1024;

/// The deadline passed before the directories were read.
#[derive(Debug)]
pub(crate) struct TimedOut;

/// The `certs.d` directory name of a host: `HOST:PORT` when the URL names a
/// port, else `HOST` (docker's rule).
pub(crate) fn dir_name(host: &str, port: u16, explicit_port: bool) -> String {
    if explicit_port {
        format!("{host}:{port}")
    } else {
        host.to_owned()
    }
}

/// The CAs for the `certs.d` directory `name` in every root, read on a worker
/// thread so that a file system that hangs cannot hold the command past
/// `deadline`.
pub(crate) fn load(
    name: &str,
    deadline: Instant,
) -> Result<Vec<CertificateDer<'static>>, TimedOut> {
    let left = deadline
        .checked_duration_since(Instant::now())
        .filter(|d| !d.is_zero())
        .ok_or(TimedOut)?;
    let (tx, rx) = mpsc::channel();
    let dirs: Vec<PathBuf> = roots().into_iter().map(|r| r.join(name)).collect();
    std::thread::spawn(move || {
        let _ = tx.send(dirs.iter().flat_map(|d| read_dir(d)).collect());
    });
    rx.recv_timeout(left).map_err(|_| TimedOut)
}

/// Where a host's CA (or self-signed certificate) goes, for advice:
/// `/etc/docker/certs.d/NAME/ca.crt (or ...)` over the roots searched.
pub(crate) fn ca_file_advice(name: &str) -> String {
    let files: Vec<String> = roots()
        .iter()
        .map(|r| r.join(name).join("ca.crt").display().to_string())
        .collect();
    match files.split_first() {
        Some((first, [])) => first.clone(),
        Some((first, rest)) => format!("{first} (or {})", rest.join(", ")),
        None => format!("certs.d/{name}/ca.crt"),
    }
}

/// The `certs.d` roots searched, in order.
fn roots() -> Vec<PathBuf> {
    if let Some(list) = std::env::var_os(CERTS_D_ENV).filter(|v| !v.is_empty()) {
        return std::env::split_paths(&list).collect();
    }
    let mut roots = vec![
        PathBuf::from("/etc/docker/certs.d"),
        PathBuf::from("/etc/containers/certs.d"),
    ];
    if let Some(home) = std::env::var_os("HOME").filter(|h| !h.is_empty()) {
        roots.push(PathBuf::from(home).join(".config/containers/certs.d"));
    }
    roots
}

/// The certificates of every `*.crt` in `dir` (none when `dir` is missing).
fn read_dir(dir: &Path) -> Vec<CertificateDer<'static>> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "crt"))
        .collect();
    files.sort();
    let mut out = Vec::new();
    for file in files {
        let pem = match read_file(&file) {
            Ok(pem) => pem,
            Err(why) => {
                crate::errln!("warning: skipping {}: {why}", file.display());
                continue;
            }
        };
        let certs: Vec<_> = ureq::tls::parse_pem(&pem)
            .filter_map(|item| match item {
                Ok(ureq::tls::PemItem::Certificate(c)) => {
                    Some(CertificateDer::from(c.der().to_vec()))
                }
                _ => None,
            })
            .collect();
        if certs.is_empty() {
            crate::errln!(
                "warning: skipping {}: it holds no PEM certificate",
                file.display()
            );
            continue;
        }
        crate::debug!("http: {} CA(s) from {}", certs.len(), file.display());
        out.extend(certs);
    }
    out
}

/// The bytes of `path` if it is a regular file (after symlinks) of at most
/// [`MAX_CA_FILE`] bytes; else why it is skipped.
fn read_file(path: &Path) -> Result<Vec<u8>, String> {
    // Judged before opening: opening a FIFO for reading waits for a writer.
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot read it: {e}"))?;
    check_kind(&meta)?;
    let mut file = open(path).map_err(|e| format!("cannot read it: {e}"))?;
    // Judged again on what was opened, in case the name changed meanwhile.
    check_kind(
        &file
            .metadata()
            .map_err(|e| format!("cannot read it: {e}"))?,
    )?;
    let bytes = crate::input::read_limited(&mut file, MAX_CA_FILE as usize)
        .map_err(|e| format!("cannot read it: {e}"))?;
    if bytes.len() as u64 > MAX_CA_FILE {
        return Err(too_large());
    }
    Ok(bytes.to_vec())
}

/// Refuses what is not a regular file, or one larger than [`MAX_CA_FILE`].
fn check_kind(meta: &std::fs::Metadata) -> Result<(), String> {
    if !meta.is_file() {
        return Err(format!(
            "not a regular file ({}); only regular files are read as CAs",
            kind(&meta.file_type())
        ));
    }
    if meta.len() > MAX_CA_FILE {
        return Err(too_large());
    }
    Ok(())
}

fn too_large() -> String {
    format!(
        "larger than the {} MiB limit for a CA file",
        MAX_CA_FILE / (1024 * 1024)
    )
}

/// What a file that is not a regular file is, for the warning.
fn kind(file_type: &std::fs::FileType) -> &'static str {
    if file_type.is_dir() {
        return "a directory";
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_fifo() {
            return "a FIFO";
        }
        if file_type.is_char_device() {
            return "a character device";
        }
        if file_type.is_block_device() {
            return "a block device";
        }
        if file_type.is_socket() {
            return "a socket";
        }
    }
    "a special file"
}

/// Opens without waiting: a FIFO swapped in after the check does not block.
fn open(path: &Path) -> io::Result<File> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    options.open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_small_regular_files_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let small = dir.path().join("ok.crt");
        std::fs::write(&small, "not pem").unwrap();
        assert_eq!(read_file(&small).unwrap(), b"not pem");

        let sub = dir.path().join("sub.crt");
        std::fs::create_dir(&sub).unwrap();
        let err = read_file(&sub).unwrap_err();
        assert!(err.contains("a directory"), "{err}");

        let huge = dir.path().join("huge.crt");
        File::create(&huge)
            .unwrap()
            .set_len(MAX_CA_FILE + 1)
            .unwrap();
        let err = read_file(&huge).unwrap_err();
        assert!(err.contains("larger than the 1 MiB limit"), "{err}");

        let err = read_file(&dir.path().join("missing.crt")).unwrap_err();
        assert!(err.contains("cannot read it"), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn devices_and_fifos_are_not_opened() {
        let dir = tempfile::tempdir().unwrap();
        let zero = dir.path().join("zero.crt");
        std::os::unix::fs::symlink("/dev/zero", &zero).unwrap();
        let err = read_file(&zero).unwrap_err();
        assert!(err.contains("a character device"), "{err}");

        let fifo = dir.path().join("fifo.crt");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        let err = read_file(&fifo).unwrap_err();
        assert!(err.contains("a FIFO"), "{err}");
    }

    #[test]
    fn a_deadline_already_past_reads_nothing() {
        assert!(load("registry.example:5000", Instant::now()).is_err());
    }
}
