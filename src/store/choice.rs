//! Which store holds new secrets: `auto` (the OS keyring, or the file store
//! when there is no keyring at all), or one named by `DOCKER_CREDENTIAL_KEYRING_STORE` or by the config
//! file `$XDG_CONFIG_HOME/docker-credential-keyring/config.json` (`{"store": "file"}`).

use std::fmt;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

use super::BackendError;

/// Environment variable that overrides the store choice.
pub(crate) const STORE_ENV: &str = "DOCKER_CREDENTIAL_KEYRING_STORE";

/// A concrete store. The index records, per credential, which one holds its secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum StoreKind {
    /// The embedded file store (secrets in the 0600 index file).
    #[default]
    File,
    /// Linux/BSD desktop keyring over D-Bus (gnome-keyring, KWallet, KeePassXC).
    SecretService,
    /// macOS Keychain.
    Keychain,
    /// Windows Credential Manager.
    Windows,
}

impl StoreKind {
    pub(crate) fn name(self) -> &'static str {
        match self {
            StoreKind::File => "file",
            StoreKind::SecretService => "secret-service",
            StoreKind::Keychain => "keychain",
            StoreKind::Windows => "windows",
        }
    }

    /// The platform keyring of this build, if any.
    pub(crate) fn native() -> Option<StoreKind> {
        if cfg!(target_os = "macos") {
            Some(StoreKind::Keychain)
        } else if cfg!(target_os = "windows") {
            Some(StoreKind::Windows)
        } else if cfg!(target_os = "linux") {
            Some(StoreKind::SecretService)
        } else {
            None
        }
    }

    fn parse(word: &str) -> Option<StoreKind> {
        Some(match word.trim().to_ascii_lowercase().as_str() {
            "file" => StoreKind::File,
            "secret-service" | "secretservice" | "secret_service" => StoreKind::SecretService,
            "keychain" | "osxkeychain" => StoreKind::Keychain,
            "windows" | "wincred" => StoreKind::Windows,
            _ => return None,
        })
    }
}

impl fmt::Display for StoreKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The user's choice of store for new secrets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum StoreChoice {
    /// The OS keyring; the file store only when there is none (see [`auto_fallback`]).
    #[default]
    Auto,
    Fixed(StoreKind),
}

impl StoreChoice {
    /// Parses `auto`, `file`, `secret-service`, `keychain` or `windows`.
    pub(crate) fn parse(word: &str) -> Result<StoreChoice> {
        if word.trim().eq_ignore_ascii_case("auto") {
            return Ok(StoreChoice::Auto);
        }
        match StoreKind::parse(word) {
            Some(kind) => Ok(StoreChoice::Fixed(kind)),
            None => {
                bail!("unknown store {word:?}: use auto, file, secret-service, keychain or windows")
            }
        }
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            StoreChoice::Auto => "auto",
            StoreChoice::Fixed(kind) => kind.name(),
        }
    }

    /// Where the choice comes from and what it is: env var, then config file, then auto.
    pub(crate) fn configured() -> Result<StoreChoice> {
        Ok(Self::configured_with_source()?.0)
    }

    /// The choice and a human description of where it came from (for `doctor`).
    pub(crate) fn configured_with_source() -> Result<(StoreChoice, String)> {
        if let Ok(value) = std::env::var(STORE_ENV) {
            if !value.trim().is_empty() {
                let choice = StoreChoice::parse(&value)
                    .with_context(|| format!("in the environment variable {STORE_ENV}"))?;
                return Ok((choice, format!("environment variable {STORE_ENV}")));
            }
        }
        let path = crate::settings::path()?;
        if let Some(config) = crate::settings::HelperConfig::load(&path)? {
            if let Some(store) = config.store {
                let choice = StoreChoice::parse(&store)
                    .with_context(|| format!("in the config file {}", path.display()))?;
                return Ok((choice, format!("config file {}", path.display())));
            }
        }
        Ok((StoreChoice::Auto, "default".to_owned()))
    }
}

impl fmt::Display for StoreChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The keyring `auto` tries first, or `None` when there is clearly none to try
/// (no D-Bus session bus on Linux: servers, CI, containers).
pub(crate) fn auto_candidate() -> Option<StoreKind> {
    let native = StoreKind::native()?;
    if native == StoreKind::SecretService && session_bus_address().is_none() {
        return None;
    }
    Some(native)
}

/// `auto`'s one rule, given why the keyring it tried failed: the file store
/// when that keyring does not exist here at all, else the error (a locked,
/// prompting or hung keyring never silently sends secrets to the file store;
/// the user can still choose `file` explicitly).
pub(crate) fn auto_fallback(err: BackendError) -> Result<StoreKind, BackendError> {
    if err.means_absent() {
        Ok(StoreKind::File)
    } else {
        Err(err)
    }
}

/// The session bus address: `DBUS_SESSION_BUS_ADDRESS`, or the systemd user
/// bus socket `$XDG_RUNTIME_DIR/bus` when it exists. `None` means no bus.
pub(crate) fn session_bus_address() -> Option<String> {
    if let Ok(addr) = std::env::var("DBUS_SESSION_BUS_ADDRESS") {
        if !addr.trim().is_empty() {
            return Some(addr);
        }
    }
    let runtime = std::env::var_os("XDG_RUNTIME_DIR")?;
    let socket = PathBuf::from(runtime).join("bus");
    socket
        .exists()
        .then(|| format!("unix:path={}", socket.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_choices() {
        assert_eq!(StoreChoice::parse("auto").unwrap(), StoreChoice::Auto);
        assert_eq!(
            StoreChoice::parse("FILE").unwrap(),
            StoreChoice::Fixed(StoreKind::File)
        );
        assert_eq!(
            StoreChoice::parse("secretservice").unwrap(),
            StoreChoice::Fixed(StoreKind::SecretService)
        );
        let err = StoreChoice::parse("pass").unwrap_err().to_string();
        assert!(err.contains("unknown store"), "{err}");
    }

    #[test]
    fn kind_names_round_trip_through_serde() {
        for kind in [
            StoreKind::File,
            StoreKind::SecretService,
            StoreKind::Keychain,
            StoreKind::Windows,
        ] {
            let json = serde_json::to_string(&kind).unwrap();
            assert_eq!(json, format!("\"{}\"", kind.name()));
            assert_eq!(serde_json::from_str::<StoreKind>(&json).unwrap(), kind);
        }
    }
}
