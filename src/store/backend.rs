//! The OS keyring stores (the [`Keyring`] implementation of the storage
//! seam): the Secret Service through our own D-Bus calls
//! ([`super::secret_service`], Linux), the macOS Keychain and Windows
//! Credential Manager through keyring-core and its store crates.
//!
//! Every call runs on a worker thread and is bounded in time
//! (`DOCKER_CREDENTIAL_KEYRING_TIMEOUT`, default 5 s): a missing bus, a locked
//! collection waiting on a prompt, or a hung provider becomes a clear error
//! instead of a hung docker. Connections are made on first use and kept for
//! the life of the process, so a batch (`import`, `logout --all`) talks over
//! one connection instead of connecting and disconnecting back to back.

use std::collections::HashMap;
use std::sync::mpsc;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use keyring_core::api::CredentialStore;
use keyring_core::{Entry, Error as KeyringError};

use super::secrets::{Found, Known, SecretStore};
use super::StoreKind;
use crate::secret::Secret;

/// The default `service` attribute of every item we create in a keyring.
pub(crate) const SERVICE_NAME: &str = "docker-credential-keyring";

/// Environment variable naming another `service` attribute: separate
/// namespaces in one keyring (test runs, CI jobs sharing a desktop keyring).
pub(crate) const SERVICE_ENV: &str = "DOCKER_CREDENTIAL_KEYRING_SERVICE";

/// The keyring `service` attribute in use.
pub(crate) fn service_name() -> String {
    std::env::var(SERVICE_ENV)
        .ok()
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| SERVICE_NAME.to_owned())
}

/// Environment variable: seconds a keyring call may take before we give up.
pub(crate) const TIMEOUT_ENV: &str = "DOCKER_CREDENTIAL_KEYRING_TIMEOUT";

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a keyring call failed. Never carries secret bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum BackendError {
    /// No keyring of that kind exists here: not in this build or platform, no
    /// D-Bus session bus, or nothing owns the Secret Service's bus name and
    /// none can be activated. The only failure on which `auto` uses the file
    /// store (see [`BackendError::means_absent`]).
    Absent { kind: StoreKind, reason: String },
    /// The keyring exists but could not be reached for another reason.
    Unavailable { kind: StoreKind, reason: String },
    /// The keyring is locked and was not unlocked (prompt dismissed or impossible).
    Locked { kind: StoreKind },
    /// The Secret Service has no default collection to create items in (a
    /// fresh headless gnome-keyring: creating one needs a password prompt).
    NoCollection { kind: StoreKind },
    /// The call did not finish within the bound.
    Timeout { kind: StoreKind, waited: Duration },
    /// The secret is longer than the store keeps in one item.
    TooLong {
        kind: StoreKind,
        len: usize,
        max: usize,
    },
    /// A secret kept across several items (`store::chunked`) whose items do
    /// not add up: a part missing or changed. Storing or erasing the
    /// credential again replaces it.
    Corrupt { kind: StoreKind, reason: String },
    /// Anything else the keyring reported.
    Failed { kind: StoreKind, reason: String },
}

impl std::fmt::Display for BackendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BackendError::Absent { kind, reason } | BackendError::Unavailable { kind, reason } => write!(
                f,
                "the {kind} store is not available ({reason}); start it, or use the file store with {}=file",
                super::STORE_ENV
            ),
            BackendError::Locked { kind } => write!(
                f,
                "the {kind} store is locked; unlock it (log in to the desktop, or from a script `gnome-keyring-daemon --replace --unlock` with the password on stdin), or use {}=file",
                super::STORE_ENV
            ),
            BackendError::NoCollection { kind } => write!(
                f,
                "the {kind} store has no default keyring to keep secrets in, and creating one needs a desktop password prompt; log in to the desktop once, or create it from a script (`gnome-keyring-daemon --replace --unlock` reads the new keyring's password on stdin), or use {}=file",
                super::STORE_ENV
            ),
            BackendError::Timeout { kind, waited } => write!(
                f,
                "the {kind} store did not answer within {:.1}s (a hung provider or an unanswered unlock prompt?); raise {TIMEOUT_ENV} or use {}=file",
                waited.as_secs_f64(),
                super::STORE_ENV
            ),
            BackendError::TooLong { kind, len, max } => write!(
                f,
                "the secret is {len} bytes, more than the {max} bytes the {kind} store keeps in one credential; keep it in the file store (`configure --store file`, or {}=file)",
                super::STORE_ENV
            ),
            BackendError::Corrupt { kind, reason } => write!(
                f,
                "the {kind} store holds a damaged secret: {reason}; store the credential again (`docker login`), or erase it"
            ),
            BackendError::Failed { kind, reason } => write!(f, "the {kind} store failed: {reason}"),
        }
    }
}

impl std::error::Error for BackendError {}

impl BackendError {
    /// Whether the error says there is no such keyring at all (rather than
    /// one that is locked, prompting, hung or failing): the one rule for when
    /// `auto` may keep secrets in the file store instead.
    pub(crate) fn means_absent(&self) -> bool {
        matches!(self, BackendError::Absent { .. })
    }

    /// What an overwrite or removal keeps to put back if its batch fails:
    /// the secret read, or nothing when the one stored is damaged
    /// ([`BackendError::Corrupt`]), so a damaged secret never blocks its
    /// own replacement or removal.
    pub(crate) fn unless_corrupt<T: Default>(read: BackendResult<T>) -> BackendResult<T> {
        match read {
            Err(BackendError::Corrupt { kind, .. }) => {
                crate::debug!(
                    "a damaged {kind} secret is replaced or removed; nothing to put back"
                );
                Ok(T::default())
            }
            other => other,
        }
    }
}

type BackendResult<T> = Result<T, BackendError>;

/// The bound on each keyring call.
pub(crate) fn timeout() -> Duration {
    crate::settings::seconds_from_env(TIMEOUT_ENV, DEFAULT_TIMEOUT)
}

/// The secret stored under `key`, `None` if there is none.
pub(crate) fn get(kind: StoreKind, key: &str) -> BackendResult<Option<Secret>> {
    get_at(kind, key, None).map(|found| found.secret)
}

/// [`get`], looking first at `item` (see [`SecretStore::get_at`]): only the
/// Secret Service has items here; the other keyrings are asked by key.
pub(crate) fn get_at(kind: StoreKind, key: &str, item: Option<&str>) -> BackendResult<Found> {
    let key = key.to_owned();
    #[cfg(target_os = "linux")]
    if kind == StoreKind::SecretService {
        let item = item.map(str::to_owned);
        return run_bounded(kind, move || {
            super::secret_service::get(&key, item.as_deref())
        });
    }
    let _ = item;
    let secret = bounded(kind, move |store| {
        let entry = entry(kind, &store, &key, None)?;
        match entry.get_secret() {
            Ok(bytes) => decode(kind, bytes).map(Some),
            Err(KeyringError::NoEntry) => Ok(None),
            Err(KeyringError::Ambiguous(entries)) => match entries.first() {
                Some(first) => {
                    decode(kind, first.get_secret().map_err(|e| map_error(kind, e))?).map(Some)
                }
                None => Ok(None),
            },
            Err(err) => Err(map_error(kind, err)),
        }
    })?;
    Ok(Found { secret, item: None })
}

/// The most bytes Windows Credential Manager keeps in one credential
/// (`CRED_MAX_CREDENTIAL_BLOB_SIZE`). Longer secrets (ECR and ACR tokens)
/// are cut into parts of this size by `store::chunked`, which the Windows
/// store goes through (`store::secrets::of_kind`); this cap is the guard
/// underneath.
const WINDOWS_MAX_SECRET_BYTES: usize = super::chunked::PART_MAX;

/// Refuses a secret longer than the store of `kind` keeps in one item, with
/// an error naming the limit. Checked here, before the store is touched, so
/// nothing changes and the rule holds whatever the store crate or the
/// platform (Wine, in CI) enforce themselves.
fn check_fits(kind: StoreKind, secret: &Secret) -> BackendResult<()> {
    let max = match kind {
        StoreKind::Windows => WINDOWS_MAX_SECRET_BYTES,
        StoreKind::File | StoreKind::SecretService | StoreKind::Keychain => return Ok(()),
    };
    let len = secret.expose().len();
    if len > max {
        return Err(BackendError::TooLong { kind, len, max });
    }
    Ok(())
}

/// Stores `secret` under `key`, replacing any earlier secret.
pub(crate) fn set(kind: StoreKind, key: &str, label: &str, secret: &Secret) -> BackendResult<()> {
    set_at(kind, key, label, secret, Known::Nothing).map(|_| ())
}

/// [`set`], told where the secret it replaces is (see
/// [`SecretStore::set_at`]); returns the item now holding it (the Secret
/// Service's; the other keyrings have none here).
pub(crate) fn set_at(
    kind: StoreKind,
    key: &str,
    label: &str,
    secret: &Secret,
    known: Known,
) -> BackendResult<Option<String>> {
    check_fits(kind, secret)?;
    let key = key.to_owned();
    let label = label.to_owned();
    let secret = secret.clone();
    #[cfg(target_os = "linux")]
    if kind == StoreKind::SecretService {
        return run_bounded(kind, move || {
            super::secret_service::set(&key, &label, &secret, known).map(Some)
        });
    }
    let _ = known;
    bounded(kind, move |store| {
        let entry = entry(kind, &store, &key, Some(&label))?;
        match entry.set_secret(secret.expose().as_bytes()) {
            Ok(()) => Ok(()),
            Err(KeyringError::Ambiguous(entries)) => {
                // Duplicates left by another tool: keep one, update it.
                for extra in entries.iter().skip(1) {
                    let _ = extra.delete_credential();
                }
                entries
                    .first()
                    .map(|e| e.set_secret(secret.expose().as_bytes()))
                    .unwrap_or(Ok(()))
                    .map_err(|e| map_error(kind, e))
            }
            Err(err) => Err(map_error(kind, err)),
        }
    })
    .map(|()| None)
}

/// Removes the secret under `key`. Returns whether there was one.
pub(crate) fn delete(kind: StoreKind, key: &str) -> BackendResult<bool> {
    let key = key.to_owned();
    #[cfg(target_os = "linux")]
    if kind == StoreKind::SecretService {
        return run_bounded(kind, move || super::secret_service::delete(&key));
    }
    bounded(kind, move |store| {
        let entry = entry(kind, &store, &key, None)?;
        match entry.delete_credential() {
            Ok(()) => Ok(true),
            Err(KeyringError::NoEntry) => Ok(false),
            Err(KeyringError::Ambiguous(entries)) => {
                for e in &entries {
                    e.delete_credential().map_err(|e| map_error(kind, e))?;
                }
                Ok(true)
            }
            Err(err) => Err(map_error(kind, err)),
        }
    })
}

/// An OS keyring (Secret Service, macOS Keychain, Windows Credential
/// Manager) as a [`SecretStore`]: the functions above, for its kind.
#[derive(Clone, Copy)]
pub(crate) struct Keyring(pub(crate) StoreKind);

impl SecretStore for Keyring {
    fn get(&self, key: &str) -> BackendResult<Option<Secret>> {
        get(self.0, key)
    }

    fn set(&self, key: &str, label: &str, secret: &Secret) -> BackendResult<()> {
        set(self.0, key, label, secret)
    }

    fn delete(&self, key: &str) -> BackendResult<bool> {
        delete(self.0, key)
    }

    fn get_at(&self, key: &str, item: Option<&str>) -> BackendResult<Found> {
        get_at(self.0, key, item)
    }

    fn set_at(
        &self,
        key: &str,
        label: &str,
        secret: &Secret,
        known: Known,
    ) -> BackendResult<Option<String>> {
        set_at(self.0, key, label, secret, known)
    }
}

/// Checks that the store connects and answers a lookup (for `doctor` and `auto`).
pub(crate) fn probe(kind: StoreKind) -> BackendResult<()> {
    get(kind, "docker-credential-keyring-probe").map(|_| ())
}

/// Whether the Secret Service's default collection (where items go) is locked,
/// `None` when there is no default collection. For `doctor`; bounded like every call.
pub(crate) fn secret_service_locked() -> BackendResult<Option<bool>> {
    run_bounded(StoreKind::SecretService, default_collection_state)
}

#[cfg(target_os = "linux")]
fn default_collection_state() -> BackendResult<Option<bool>> {
    super::secret_service::default_collection_locked()
}

#[cfg(not(target_os = "linux"))]
fn default_collection_state() -> BackendResult<Option<bool>> {
    connect(StoreKind::SecretService).map(|_| None)
}

fn entry(
    kind: StoreKind,
    store: &Arc<CredentialStore>,
    key: &str,
    label: Option<&str>,
) -> BackendResult<Entry> {
    let mut modifiers = HashMap::new();
    if let (Some(label), StoreKind::SecretService) = (label, kind) {
        modifiers.insert("label", label);
    }
    let modifiers = (!modifiers.is_empty()).then_some(&modifiers);
    store
        .build(&service_name(), key, modifiers)
        .map_err(|e| map_error(kind, e))
}

/// A keyring secret's bytes as text (docker's secrets are strings).
pub(crate) fn decode(kind: StoreKind, bytes: Vec<u8>) -> BackendResult<Secret> {
    String::from_utf8(bytes).map(Secret::new).map_err(|err| {
        // The error holds the secret's bytes: wiped, not just dropped.
        zeroize::Zeroize::zeroize(&mut err.into_bytes());
        BackendError::Failed {
            kind,
            reason: "the stored secret is not UTF-8 text".to_owned(),
        }
    })
}

/// Maps keyring-core errors without ever formatting secret bytes they may carry.
fn map_error(kind: StoreKind, err: KeyringError) -> BackendError {
    match err {
        KeyringError::NoStorageAccess(inner) => {
            // Other stores: their message says whether the keychain is locked.
            let reason = inner.to_string();
            let lower = reason.to_ascii_lowercase();
            if lower.contains("lock") || lower.contains("prompt") {
                BackendError::Locked { kind }
            } else {
                BackendError::Unavailable { kind, reason }
            }
        }
        KeyringError::PlatformFailure(inner) => BackendError::Failed {
            kind,
            reason: inner.to_string(),
        },
        KeyringError::TooLong(what, max) => BackendError::Failed {
            kind,
            reason: format!("the {what} is longer than this store allows ({max})"),
        },
        KeyringError::BadEncoding(_) | KeyringError::BadDataFormat(_, _) => BackendError::Failed {
            kind,
            reason: "the stored secret could not be decoded".to_owned(),
        },
        KeyringError::Invalid(what, why) => BackendError::Failed {
            kind,
            reason: format!("invalid {what}: {why}"),
        },
        KeyringError::NoEntry => BackendError::Failed {
            kind,
            reason: "no such item".to_owned(),
        },
        other => BackendError::Failed {
            kind,
            reason: format!("{:?}", std::mem::discriminant(&other))
                .replace("Discriminant", "error"),
        },
    }
}

/// Runs `op` against the connected store of `kind` on a worker thread,
/// waiting at most [`timeout`]. A timed-out worker is abandoned; the process
/// exits soon after, which ends it.
fn bounded<T: Send + 'static>(
    kind: StoreKind,
    op: impl FnOnce(Arc<CredentialStore>) -> BackendResult<T> + Send + 'static,
) -> BackendResult<T> {
    run_bounded(kind, move || connect(kind).and_then(op))
}

/// Runs `op` on a worker thread, waiting at most [`timeout`] (see [`bounded`]).
fn run_bounded<T: Send + 'static>(
    kind: StoreKind,
    op: impl FnOnce() -> BackendResult<T> + Send + 'static,
) -> BackendResult<T> {
    let waited = timeout();
    let (tx, rx) = mpsc::channel();
    let worker = std::thread::Builder::new()
        .name(format!("keyring-{kind}"))
        .spawn(move || {
            let _ = tx.send(op());
        })
        .map_err(|e| BackendError::Failed {
            kind,
            reason: format!("cannot start a worker thread: {e}"),
        })?;
    match rx.recv_timeout(waited) {
        Ok(result) => {
            // It has answered and is ending: let it end before the process
            // does (Wine kills a process that exits while a thread is still
            // leaving a Credential Manager call).
            let _ = worker.join();
            result
        }
        Err(mpsc::RecvTimeoutError::Timeout) => Err(BackendError::Timeout { kind, waited }),
        Err(mpsc::RecvTimeoutError::Disconnected) => Err(BackendError::Failed {
            kind,
            reason: "the keyring worker stopped unexpectedly".to_owned(),
        }),
    }
}

/// The process-wide connection to the store of `kind`, made on first use.
/// (The Secret Service never comes through keyring-core: see
/// [`open_secret_service`].)
fn connect(kind: StoreKind) -> BackendResult<Arc<CredentialStore>> {
    static NATIVE: OnceLock<BackendResult<Arc<CredentialStore>>> = OnceLock::new();
    match kind {
        StoreKind::SecretService => open_secret_service(),
        _ => NATIVE.get_or_init(|| open(kind)).clone(),
    }
}

fn open(kind: StoreKind) -> BackendResult<Arc<CredentialStore>> {
    let unavailable = |reason: String| BackendError::Absent { kind, reason };
    match kind {
        StoreKind::File => Err(unavailable("the file store is not a keyring".to_owned())),
        StoreKind::SecretService => open_secret_service(),
        StoreKind::Keychain => open_keychain(),
        StoreKind::Windows => open_windows(),
    }
}

/// keyring-core reaches no Secret Service in any build: on Linux it is
/// `store::secret_service`'s ([`get_at`], [`set_at`], [`delete`] never come
/// here for it), elsewhere there is none.
fn open_secret_service() -> BackendResult<Arc<CredentialStore>> {
    Err(BackendError::Absent {
        kind: StoreKind::SecretService,
        reason: "this build has no Secret Service support".to_owned(),
    })
}

#[cfg(target_os = "macos")]
fn open_keychain() -> BackendResult<Arc<CredentialStore>> {
    apple_native_keyring_store::keychain::Store::new()
        .map(|s| s as Arc<CredentialStore>)
        .map_err(|e| map_error(StoreKind::Keychain, e))
}

#[cfg(not(target_os = "macos"))]
fn open_keychain() -> BackendResult<Arc<CredentialStore>> {
    Err(BackendError::Absent {
        kind: StoreKind::Keychain,
        reason: "the macOS Keychain exists only on macOS".to_owned(),
    })
}

#[cfg(target_os = "windows")]
fn open_windows() -> BackendResult<Arc<CredentialStore>> {
    windows_native_keyring_store::Store::new()
        .map(|s| s as Arc<CredentialStore>)
        .map_err(|e| map_error(StoreKind::Windows, e))
}

#[cfg(not(target_os = "windows"))]
fn open_windows() -> BackendResult<Arc<CredentialStore>> {
    Err(BackendError::Absent {
        kind: StoreKind::Windows,
        reason: "the Windows Credential Manager exists only on Windows".to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret_of(len: usize, ch: char) -> Secret {
        Secret::new(std::iter::repeat_n(ch, len).collect())
    }

    #[test]
    fn windows_keeps_secrets_up_to_its_blob_cap_in_bytes() {
        assert!(check_fits(StoreKind::Windows, &secret_of(2560, 'x')).is_ok());
        // The cap is in bytes of the stored UTF-8, not in characters.
        assert!(check_fits(StoreKind::Windows, &secret_of(1280, 'é')).is_ok());
        for long in [
            secret_of(2561, 'x'),
            secret_of(1281, 'é'),
            secret_of(641, '😀'),
        ] {
            let err = check_fits(StoreKind::Windows, &long).unwrap_err();
            let len = long.expose().len();
            assert_eq!(
                err,
                BackendError::TooLong {
                    kind: StoreKind::Windows,
                    len,
                    max: 2560
                }
            );
        }
    }

    #[test]
    fn other_stores_have_no_such_cap() {
        let long = secret_of(100 * 1024, 'x');
        for kind in [
            StoreKind::File,
            StoreKind::SecretService,
            StoreKind::Keychain,
        ] {
            assert!(check_fits(kind, &long).is_ok(), "{kind}");
        }
    }

    #[test]
    fn too_long_names_the_limit_and_the_way_out_never_the_secret() {
        let long = Secret::new(format!("SECRET-{}", "y".repeat(3000)));
        let text = check_fits(StoreKind::Windows, &long)
            .unwrap_err()
            .to_string();
        assert!(text.contains("3007 bytes"), "{text}");
        assert!(text.contains("2560 bytes the windows store"), "{text}");
        assert!(text.contains("file store"), "{text}");
        assert!(
            text.contains("DOCKER_CREDENTIAL_KEYRING_STORE=file"),
            "{text}"
        );
        assert!(!text.contains("SECRET-"), "{text}");
    }

    /// The check comes before the store is opened: on any platform, even one
    /// without Credential Manager, a long secret gets the limit, not
    /// "unavailable".
    #[test]
    fn set_refuses_before_touching_the_store() {
        let err = set(StoreKind::Windows, "k", "label", &secret_of(2561, 'x')).unwrap_err();
        assert!(matches!(err, BackendError::TooLong { .. }), "{err:?}");
    }
}
