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
/// `path` (a `PATH` value) that holds one, as docker and a shell look it up.
pub(crate) fn find_program(path: Option<&OsStr>, name: &str) -> Option<PathBuf> {
    let file = format!("{name}{}", std::env::consts::EXE_SUFFIX);
    std::env::split_paths(path?)
        .filter(|dir| !dir.as_os_str().is_empty())
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
