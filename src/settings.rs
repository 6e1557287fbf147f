//! The helper's own config file,
//! `$XDG_CONFIG_HOME/docker-credential-keyring/config.json` (`{"store": "file"}`):
//! where it is and what it holds. The store choice reads it typed and lean
//! (it is read on every `get`); `configure --store` edits it through
//! `config::setup::helper_store`, which keeps keys written by other versions.
//! A leaf module, so that `store` depends on no command-side module.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::Deserialize;

/// Name of the file in the config dir.
const FILE_NAME: &str = "config.json";

/// The member that names the store for new secrets.
pub(crate) const STORE_KEY: &str = "store";

/// The file's content as read. Unknown keys are ignored (forward compatible).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct HelperConfig {
    /// The store for new secrets, as written (parsed by the store choice).
    #[serde(default)]
    pub(crate) store: Option<String>,
}

/// `$XDG_CONFIG_HOME/docker-credential-keyring/config.json`.
pub(crate) fn path() -> Result<PathBuf> {
    Ok(crate::paths::config_dir()?.join(FILE_NAME))
}

impl HelperConfig {
    /// Reads the file at `path`; `None` when there is none.
    pub(crate) fn load(path: &Path) -> Result<Option<HelperConfig>> {
        let Some(bytes) = crate::fsutil::read_if_exists(path)? else {
            return Ok(None);
        };
        let config = serde_json::from_slice(&bytes).with_context(|| {
            format!(
                "the config file {} is not valid JSON like {{\"store\": \"file\"}}",
                path.display()
            )
        })?;
        Ok(Some(config))
    }
}

/// A time bound set in seconds by the environment variable `var` (such as
/// `DOCKER_CREDENTIAL_KEYRING_TIMEOUT=2.5`); `default` when it is unset, not
/// a positive number, or too large for a `Duration`.
pub(crate) fn seconds_from_env(var: &str, default: std::time::Duration) -> std::time::Duration {
    seconds(std::env::var(var).ok().as_deref(), default)
}

/// `value` read as a positive number of seconds, else `default`.
fn seconds(value: Option<&str>, default: std::time::Duration) -> std::time::Duration {
    value
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|s| *s > 0.0)
        .and_then(|s| std::time::Duration::try_from_secs_f64(s).ok())
        .unwrap_or(default)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn seconds_fall_back_on_anything_unusable() {
        let default = Duration::from_secs(5);
        for (value, want) in [
            (Some("2.5"), Duration::from_millis(2500)),
            (Some(" 3 "), Duration::from_secs(3)),
            (Some("0"), default),
            (Some("-1"), default),
            (Some("NaN"), default),
            (Some("inf"), default),
            (Some("1e30"), default),
            (Some("soon"), default),
            (None, default),
        ] {
            assert_eq!(seconds(value, default), want, "{value:?}");
        }
    }
}
