//! Minimal debug logging to stderr, switched on by `DOCKER_CREDENTIAL_KEYRING_LOG=debug`.
//!
//! Never pass a secret to [`debug!`]: secrets are wrapped in [`crate::secret::Secret`],
//! whose `Debug` and `Display` print `<redacted>`.

use std::sync::OnceLock;

/// The environment variable that turns on debug output.
pub(crate) const LOG_ENV: &str = "DOCKER_CREDENTIAL_KEYRING_LOG";

/// Whether debug logging is on (read once per process).
pub(crate) fn debug_enabled() -> bool {
    static ENABLED: OnceLock<bool> = OnceLock::new();
    *ENABLED.get_or_init(|| {
        std::env::var(LOG_ENV)
            .map(|v| v.eq_ignore_ascii_case("debug") || v.eq_ignore_ascii_case("trace"))
            .unwrap_or(false)
    })
}

/// Prints a debug line to stderr when [`debug_enabled`].
#[macro_export]
macro_rules! debug {
    ($($arg:tt)*) => {
        if $crate::log::debug_enabled() {
            eprintln!("docker-credential-keyring: debug: {}", format_args!($($arg)*));
        }
    };
}
