//! Where things live: our XDG data dir (the store) and config dir (the
//! store choice), and programs on `PATH` (found as a shell finds them).

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

fn project_dirs() -> Result<directories::ProjectDirs> {
    directories::ProjectDirs::from("", "", crate::BINARY_NAME).context(
        "cannot find a home directory for the credential store: set HOME (or XDG_DATA_HOME)",
    )
}

/// The directory holding the store file (`$XDG_DATA_HOME/docker-credential-keyring`).
pub(crate) fn data_dir() -> Result<PathBuf> {
    Ok(project_dirs()?.data_dir().to_path_buf())
}

/// The directory holding `config.json` (`$XDG_CONFIG_HOME/docker-credential-keyring`).
pub(crate) fn config_dir() -> Result<PathBuf> {
    Ok(project_dirs()?.config_dir().to_path_buf())
}

/// The executable `name` (`name.exe` on Windows) in the first directory of
/// `path` (a `PATH` value) that holds one, as docker looks it up. Relative
/// entries (`.`, `bin`, an empty one) are skipped, as Go's `exec.LookPath`
/// refuses them: docker never runs a helper from the current directory, and
/// neither do we (a `docker-credential-NAME` in a cloned repository would
/// otherwise run, and read every credential, when `migrate` runs there).
pub(crate) fn find_program(path: Option<&OsStr>, name: &str) -> Option<PathBuf> {
    let file = format!("{name}{}", std::env::consts::EXE_SUFFIX);
    std::env::split_paths(path?)
        .filter(|dir| dir.is_absolute())
        .map(|dir| dir.join(&file))
        .find(|candidate| is_executable(candidate))
}

/// [`find_program`] on this process's `PATH`.
pub(crate) fn program_on_path(name: &str) -> Option<PathBuf> {
    find_program(std::env::var_os("PATH").as_deref(), name)
}

fn is_executable(path: &Path) -> bool {
    let Ok(meta) = std::fs::metadata(path) else {
        return false;
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        meta.is_file() && meta.permissions().mode() & 0o111 != 0
    }
    #[cfg(not(unix))]
    meta.is_file()
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    /// A relative entry naming a directory that holds the program (`..`s up
    /// from the current directory, which is never changed here) is skipped;
    /// the same directory named absolutely is searched.
    #[test]
    fn relative_path_entries_are_skipped() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let name = "docker-credential-here";
        let program = dir.path().join(name);
        std::fs::write(&program, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755)).unwrap();
        let absolute = dir.path().as_os_str().to_owned();
        assert_eq!(find_program(Some(&absolute), name), Some(program.clone()));
        let cwd = std::env::current_dir().unwrap();
        let up = "../".repeat(cwd.components().count());
        let relative = format!("{up}{}", dir.path().strip_prefix("/").unwrap().display());
        assert!(Path::new(&relative).join(name).is_file(), "{relative}");
        assert_eq!(find_program(Some(OsStr::new(&relative)), name), None);
        let both = format!("{relative}:{}", dir.path().display());
        assert_eq!(find_program(Some(OsStr::new(&both)), name), Some(program));
    }
}
