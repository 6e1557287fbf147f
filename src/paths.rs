//! Where our files live: the XDG data dir (the store) and config dir (the store choice).

use std::path::PathBuf;

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
