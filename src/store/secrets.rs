//! The storage seam: where a credential's secret lives.
//!
//! [`Credentials`](super::Credentials) keeps the index, the locks and the undo
//! of a failed batch; a [`SecretStore`] only keeps secrets by index key. The
//! OS keyrings ([`Keyring`](super::backend::Keyring)), the embedded file store
//! ([`FileStore`](super::file::FileStore)) and, in unit tests, an in-memory
//! store (`store::memory::MemoryStore`) implement it.

use super::backend::{BackendError, Keyring};
use super::chunked::Chunked;
use super::file::FileStore;
use super::StoreKind;
use crate::secret::Secret;

/// A place that keeps secrets by index key. The index records which kind of
/// store holds each secret; [`of_kind`] maps it back. Every call is bounded
/// in time by the implementation; errors never carry secret bytes.
pub(crate) trait SecretStore: Send + Sync {
    /// Whether the secret lives in the index record itself (the file store):
    /// then it is read with the record, lock-free, and saved with the index,
    /// and [`get`](Self::get), [`set`](Self::set) and [`delete`](Self::delete)
    /// have nothing to do.
    fn in_index(&self) -> bool {
        false
    }

    /// The secret kept under `key`, `None` if there is none.
    fn get(&self, key: &str) -> Result<Option<Secret>, BackendError>;

    /// Keeps `secret` under `key`, replacing any earlier one. `label` is the
    /// item's human name, for stores that show one.
    fn set(&self, key: &str, label: &str, secret: &Secret) -> Result<(), BackendError>;

    /// Removes the secret under `key`. Returns whether there was one.
    fn delete(&self, key: &str) -> Result<bool, BackendError>;
}

/// Credential Manager keeps 2,560 bytes a credential: longer secrets are
/// kept across several ([`Chunked`]).
static WINDOWS: Chunked<Keyring> = Chunked::new(StoreKind::Windows, Keyring(StoreKind::Windows));

/// The store this build uses for secrets of `kind`.
pub(crate) fn of_kind(kind: StoreKind) -> &'static dyn SecretStore {
    match kind {
        StoreKind::File => &FileStore,
        StoreKind::SecretService => &Keyring(StoreKind::SecretService),
        StoreKind::Keychain => &Keyring(StoreKind::Keychain),
        StoreKind::Windows => &WINDOWS,
    }
}

/// The item label of a credential's secret in a keyring.
pub(crate) fn label(server_url: &str) -> String {
    format!("docker-credential-keyring: {server_url}")
}
