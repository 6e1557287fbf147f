//! The OS keyring stores, reached through keyring-core and its store crates
//! (the [`Keyring`] implementation of the storage seam).
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
#[cfg(target_os = "linux")]
use std::sync::{Mutex, PoisonError};
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
        return run_bounded(kind, move || secret_service_get(&key, item.as_deref()));
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
            secret_service_set(&key, &label, &secret, known)
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
        return run_bounded(kind, move || secret_service_delete(&key));
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
    use dbus_secret_service::Error;
    with_plain_session(|ss| match ss.get_default_collection() {
        Ok(collection) => collection
            .is_locked()
            .map(Some)
            .map_err(secret_service_error),
        Err(Error::NoResult) => Ok(None),
        Err(err) => Err(secret_service_error(err)),
    })
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

fn decode(kind: StoreKind, bytes: Vec<u8>) -> BackendResult<Secret> {
    String::from_utf8(bytes)
        .map(Secret::new)
        .map_err(|_| BackendError::Failed {
            kind,
            reason: "the stored secret is not UTF-8 text".to_owned(),
        })
}

/// Maps keyring-core errors without ever formatting secret bytes they may carry.
fn map_error(kind: StoreKind, err: KeyringError) -> BackendError {
    match err {
        KeyringError::NoStorageAccess(inner) => {
            // The Secret Service store wraps the D-Bus layer's own error: map
            // it by variant, as `secret_service_error` does, plus `NoResult`,
            // which here means no default collection to create items in.
            #[cfg(target_os = "linux")]
            if let Some(service_error) = inner.downcast_ref::<dbus_secret_service::Error>() {
                use dbus_secret_service::Error as E;
                match service_error {
                    E::NoResult => return BackendError::NoCollection { kind },
                    E::Locked | E::Prompt => return BackendError::Locked { kind },
                    _ => {}
                }
            }
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

/// The plain-session connection of `get` and `doctor` (see
/// [`secret_service_get`]), made on first use and kept for the process.
#[cfg(target_os = "linux")]
static PLAIN_SESSION: Mutex<Option<dbus_secret_service::SecretService>> = Mutex::new(None);

/// Runs `op` with the plain-session connection, connecting first if needed.
#[cfg(target_os = "linux")]
fn with_plain_session<T>(
    op: impl FnOnce(&dbus_secret_service::SecretService) -> BackendResult<T>,
) -> BackendResult<T> {
    use dbus_secret_service::{EncryptionType, SecretService};
    let mut plain = PLAIN_SESSION.lock().unwrap_or_else(PoisonError::into_inner);
    let ss = match &mut *plain {
        Some(ss) => ss,
        None => {
            set_session_bus_env()?;
            let ss = SecretService::connect(EncryptionType::Plain)
                .map_err(|err| connect_failure(&err))?;
            plain.insert(ss)
        }
    };
    op(ss)
}

/// The process-wide connection to the store of `kind`, made on first use.
fn connect(kind: StoreKind) -> BackendResult<Arc<CredentialStore>> {
    static SECRET_SERVICE: OnceLock<BackendResult<Arc<CredentialStore>>> = OnceLock::new();
    static NATIVE: OnceLock<BackendResult<Arc<CredentialStore>>> = OnceLock::new();
    let cell = match kind {
        StoreKind::SecretService => &SECRET_SERVICE,
        _ => &NATIVE,
    };
    cell.get_or_init(|| open(kind)).clone()
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

#[cfg(target_os = "linux")]
fn open_secret_service() -> BackendResult<Arc<CredentialStore>> {
    set_session_bus_env()?;
    match dbus_secret_service_keyring_store::Store::new() {
        Ok(store) => Ok(store as Arc<CredentialStore>),
        Err(err) => Err(describe_connect_error(err)),
    }
}

/// Makes sure libdbus finds the session bus (see [`super::choice::session_bus_address`]).
#[cfg(target_os = "linux")]
fn set_session_bus_env() -> BackendResult<()> {
    let Some(address) = super::choice::session_bus_address() else {
        return Err(BackendError::Absent {
            kind: StoreKind::SecretService,
            reason: "no D-Bus session bus: DBUS_SESSION_BUS_ADDRESS is not set and there is no $XDG_RUNTIME_DIR/bus".to_owned(),
        });
    };
    if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_none() {
        // libdbus only reads the variable; without it, it would try X11 autolaunch.
        // SAFETY: set before any D-Bus use, on the only thread that uses D-Bus.
        unsafe { std::env::set_var("DBUS_SESSION_BUS_ADDRESS", &address) };
    }
    Ok(())
}

/// `get` on the Secret Service, the hot path (`docker build` calls it for every
/// registry), through the store crate's own D-Bus layer with a *plain* session.
///
/// Why not through keyring-core like every other call: its store always opens
/// a Diffie-Hellman session, and that key exchange (two 1024-bit modular
/// exponentiations here plus one in the daemon) was half of a `get`
/// (callgrind and the timestamps of `strace -f`; see docs/benchmarks.md). It
/// protects the secret only from someone reading the session bus, and that is
/// the same user (or root), who can ask the Secret Service for the secret
/// directly anyway.
///
/// The round trips after connecting (Hello, then the property read of the
/// vendored fix that keeps gnome-keyring from aborting:
/// `vendor/dbus-secret-service/PATCHED.md`): OpenSession, then, when the
/// index kept the item's path, its `Attributes` and `GetSecret` sent together
/// ([`read_kept_item`]): two. Without a kept path, or when it no longer
/// holds this credential, a search on the same attributes (`service`,
/// `username`: see `dbus-secret-service-keyring-store`'s `Specifier`), an
/// Unlock only when the item is locked, GetSecret. Several matches: the first
/// wins, as in [`get`]'s `Ambiguous` arm.
#[cfg(target_os = "linux")]
fn secret_service_get(key: &str, item: Option<&str>) -> BackendResult<Found> {
    with_plain_session(|ss| {
        if let Some(path) = item {
            if let Some(secret) = read_kept_item(ss, key, path)? {
                return Ok(Found {
                    secret: Some(secret),
                    item: Some(path.to_owned()),
                });
            }
        }
        search_and_read(ss, key)
    })
}

/// The secret of the item at `path` if that item still is `key`'s (its
/// `service` and `username` attributes; gnome-keyring reuses the paths of
/// deleted items), else `None`, for the caller to search: the item was
/// deleted, replaced, is locked, or belongs to someone else. Its attributes
/// and secret are asked for together (one round trip); a secret that turns
/// out not to be ours is wiped unread.
#[cfg(target_os = "linux")]
fn read_kept_item(
    ss: &dbus_secret_service::SecretService,
    key: &str,
    path: &str,
) -> BackendResult<Option<Secret>> {
    let Ok(path) = dbus_secret_service::Path::new(path.to_owned()) else {
        crate::debug!("the index keeps no valid item path for {key}; searching");
        return Ok(None);
    };
    let item = dbus_secret_service::Item::new(ss, path);
    let (attributes, bytes) = match item.get_attributes_and_secret() {
        Ok(read) => read,
        Err(err) => {
            crate::debug!("the item the index keeps for {key} cannot be read ({err}); searching");
            return Ok(None);
        }
    };
    let mut bytes = zeroize::Zeroizing::new(bytes);
    if !holds(&attributes, key) {
        crate::debug!("the item the index keeps for {key} now holds another secret; searching");
        return Ok(None);
    }
    decode(StoreKind::SecretService, std::mem::take(&mut *bytes)).map(Some)
}

/// Whether an item's attributes are those of `key`'s secret: what a search
/// for it matches (other attributes, such as libsecret's `xdg:schema`, do
/// not matter).
#[cfg(target_os = "linux")]
fn holds(attributes: &HashMap<String, String>, key: &str) -> bool {
    attributes.get("username").map(String::as_str) == Some(key)
        && attributes.get("service") == Some(&service_name())
}

/// The search side of [`secret_service_get`]: the first item with `key`'s
/// attributes (an unlocked one, else a locked one unlocked first).
#[cfg(target_os = "linux")]
fn search_and_read(ss: &dbus_secret_service::SecretService, key: &str) -> BackendResult<Found> {
    let service = service_name();
    let attributes = HashMap::from([("service", service.as_str()), ("username", key)]);
    let found = ss.search_items(attributes).map_err(secret_service_error)?;
    let item = match (found.unlocked.first(), found.locked.first()) {
        (Some(item), _) => item,
        (None, Some(item)) => {
            item.unlock().map_err(secret_service_error)?;
            item
        }
        (None, None) => return Ok(Found::default()),
    };
    let bytes = item.get_secret().map_err(secret_service_error)?;
    Ok(Found {
        secret: Some(decode(StoreKind::SecretService, bytes)?),
        item: Some(item.path.to_string()),
    })
}

/// The content type keyring-core's Secret Service store gives every secret
/// it writes; ours are written the same way, so that versions that wrote
/// through it and this one read each other's items.
#[cfg(target_os = "linux")]
const CONTENT_TYPE: &str = "application/octet-stream";

/// `store` on the Secret Service, on the plain session of [`secret_service_get`]
/// (see there for why plain): the item `known` names gets the new secret
/// (one round trip: `put` has just read the old one from it); else an
/// existing item with `key`'s attributes does (a search, duplicates beyond
/// the first deleted, as [`set`]'s `Ambiguous` arm does), or a new one is
/// created in the default collection, unlocking it first. New items get
/// exactly what keyring-core's `dbus-secret-service-keyring-store` gives
/// them (label, `service` and `username` attributes, [`CONTENT_TYPE`],
/// replacing an identical one), and `CreateItem` answers with the item's
/// path, which is returned for the index.
#[cfg(target_os = "linux")]
fn secret_service_set(
    key: &str,
    label: &str,
    secret: &Secret,
    known: Known,
) -> BackendResult<Option<String>> {
    use dbus_secret_service::{Item, Path};
    with_plain_session(|ss| {
        let set = |path: &str| -> Result<(), dbus_secret_service::Error> {
            let item = Item::new(ss, Path::new(path.to_owned())?);
            item.set_secret(secret.expose().as_bytes(), CONTENT_TYPE)
        };
        let existing = match known {
            Known::At(path) => match set(&path) {
                Ok(()) => return Ok(Some(path)),
                Err(err) => {
                    crate::debug!(
                        "cannot write {key}'s secret where it was read ({err}); searching"
                    );
                    find_for_write(ss, key)?
                }
            },
            Known::Absent => None,
            Known::Nothing => find_for_write(ss, key)?,
        };
        match existing {
            Some(path) => set(&path).map(|()| Some(path)).map_err(write_error),
            None => create_item(ss, key, label, secret).map(Some),
        }
    })
}

/// The item a write of `key` replaces: the first with its attributes
/// ([`items_of`]), the others deleted.
#[cfg(target_os = "linux")]
fn find_for_write(
    ss: &dbus_secret_service::SecretService,
    key: &str,
) -> BackendResult<Option<String>> {
    let items = items_of(ss, key)?;
    let mut items = items.iter();
    let first = items.next().map(|item| item.path.to_string());
    for extra in items {
        // Duplicates left by another tool: keep one, update it.
        let _ = extra.delete();
    }
    Ok(first)
}

/// `erase` on the Secret Service, on the plain session of
/// [`secret_service_get`]: every item with `key`'s attributes is deleted
/// ([`items_of`]), as keyring-core's `Ambiguous` arm in [`delete`] does.
#[cfg(target_os = "linux")]
fn secret_service_delete(key: &str) -> BackendResult<bool> {
    with_plain_session(|ss| {
        let items = items_of(ss, key)?;
        for item in &items {
            item.delete().map_err(secret_service_error)?;
        }
        Ok(!items.is_empty())
    })
}

/// Every item with `key`'s attributes, unlocked ones first; locked ones are
/// unlocked (a prompt) as keyring-core's store does before it writes.
#[cfg(target_os = "linux")]
fn items_of<'s>(
    ss: &'s dbus_secret_service::SecretService,
    key: &str,
) -> BackendResult<Vec<dbus_secret_service::Item<'s>>> {
    let service = service_name();
    let attributes = HashMap::from([("service", service.as_str()), ("username", key)]);
    let mut found = ss.search_items(attributes).map_err(write_error)?;
    if !found.locked.is_empty() {
        let locked: Vec<_> = found.locked.iter().collect();
        ss.unlock_all(&locked).map_err(write_error)?;
    }
    found.unlocked.append(&mut found.locked);
    Ok(found.unlocked)
}

/// A new item for `key` in the default collection (see [`secret_service_set`]).
#[cfg(target_os = "linux")]
fn create_item(
    ss: &dbus_secret_service::SecretService,
    key: &str,
    label: &str,
    secret: &Secret,
) -> BackendResult<String> {
    let collection = ss.get_default_collection().map_err(write_error)?;
    if collection.is_locked().map_err(write_error)? {
        collection.unlock().map_err(write_error)?;
    }
    let service = service_name();
    let attributes = HashMap::from([("service", service.as_str()), ("username", key)]);
    let item = collection
        .create_item(
            label,
            attributes,
            secret.expose().as_bytes(),
            true,
            CONTENT_TYPE,
        )
        .map_err(write_error)?;
    Ok(item.path.to_string())
}

/// Maps a write's errors: [`secret_service_error`], plus no default
/// collection to create items in ([`BackendError::NoCollection`]).
#[cfg(target_os = "linux")]
fn write_error(err: dbus_secret_service::Error) -> BackendError {
    match err {
        dbus_secret_service::Error::NoResult => BackendError::NoCollection {
            kind: StoreKind::SecretService,
        },
        other => secret_service_error(other),
    }
}

/// Maps the D-Bus layer's errors like [`map_error`] maps keyring-core's.
#[cfg(target_os = "linux")]
fn secret_service_error(err: dbus_secret_service::Error) -> BackendError {
    use dbus_secret_service::Error as E;
    let kind = StoreKind::SecretService;
    match err {
        E::Locked | E::Prompt => BackendError::Locked { kind },
        E::Unavailable | E::Dbus(_) => match connect_failure(&err) {
            absent @ BackendError::Absent { .. } => absent,
            _ => BackendError::Failed {
                kind,
                reason: err.to_string(),
            },
        },
        other => BackendError::Failed {
            kind,
            reason: other.to_string(),
        },
    }
}

/// D-Bus errors that mean no Secret Service exists on this session: no bus
/// behind the address, or nothing owns `org.freedesktop.secrets` and no
/// service file can start a provider (`Spawn.*`: activation failed).
#[cfg(target_os = "linux")]
const ABSENT_DBUS_ERRORS: &[&str] = &[
    "org.freedesktop.DBus.Error.ServiceUnknown",
    "org.freedesktop.DBus.Error.NameHasNoOwner",
    "org.freedesktop.DBus.Error.NoServer",
    "org.freedesktop.DBus.Error.FileNotFound",
    "org.freedesktop.DBus.Error.Spawn.",
];

/// Maps a failure to connect to the Secret Service: [`BackendError::Absent`]
/// when the bus says there is none, else [`BackendError::Unavailable`].
#[cfg(target_os = "linux")]
fn connect_failure(err: &dbus_secret_service::Error) -> BackendError {
    use dbus_secret_service::Error as E;
    let kind = StoreKind::SecretService;
    let name = match err {
        E::Dbus(inner) => inner.name().unwrap_or_default(),
        E::Unavailable => {
            return BackendError::Absent {
                kind,
                reason: err.to_string(),
            }
        }
        _ => "",
    };
    if !ABSENT_DBUS_ERRORS
        .iter()
        .any(|absent| name.starts_with(absent))
    {
        return BackendError::Unavailable {
            kind,
            reason: err.to_string(),
        };
    }
    let reason = if name.ends_with("ServiceUnknown")
        || name.ends_with("NameHasNoOwner")
        || name.contains(".Spawn.")
    {
        "no Secret Service provider (gnome-keyring, KWallet, KeePassXC) on the session bus"
            .to_owned()
    } else {
        format!("no D-Bus session bus: {err}")
    };
    BackendError::Absent { kind, reason }
}

#[cfg(target_os = "linux")]
fn describe_connect_error(err: KeyringError) -> BackendError {
    let kind = StoreKind::SecretService;
    match &err {
        KeyringError::PlatformFailure(inner) | KeyringError::NoStorageAccess(inner) => {
            match inner.downcast_ref::<dbus_secret_service::Error>() {
                Some(service_error) => connect_failure(service_error),
                None => BackendError::Unavailable {
                    kind,
                    reason: inner.to_string(),
                },
            }
        }
        _ => BackendError::Unavailable {
            kind,
            reason: "cannot connect".to_owned(),
        },
    }
}

#[cfg(not(target_os = "linux"))]
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
