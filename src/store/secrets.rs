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

    /// [`get`](Self::get), looking first at `item`, where the index says the
    /// store kept it (a Secret Service item's path): a store that can reach
    /// an item directly checks that it still holds `key`'s secret and falls
    /// back to its search when not. [`Found::item`] says where the secret
    /// was, for the index to keep. Stores without items ignore `item`.
    fn get_at(&self, key: &str, _item: Option<&str>) -> Result<Found, BackendError> {
        Ok(Found {
            secret: self.get(key)?,
            item: None,
        })
    }

    /// [`set`](Self::set), told what a lookup of `key` under the same lock
    /// just found ([`Known`]), so a store with items writes there without
    /// searching again. Returns the item now holding the secret, for the
    /// index to keep (`None`: the store has no items).
    fn set_at(
        &self,
        key: &str,
        label: &str,
        secret: &Secret,
        _known: Known,
    ) -> Result<Option<String>, BackendError> {
        self.set(key, label, secret).map(|()| None)
    }
}

/// A secret read by [`SecretStore::get_at`], and the item it was read from.
#[derive(Debug, Default)]
pub(crate) struct Found {
    pub(crate) secret: Option<Secret>,
    /// Where the store keeps it (a Secret Service item's D-Bus path); `None`
    /// when it has no secret for the key or no items at all.
    pub(crate) item: Option<String>,
}

/// What a writer knows about where a store keeps the secret it replaces
/// (see [`SecretStore::set_at`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Known {
    /// Nothing: the store looks for an existing secret first, as `set` does.
    Nothing,
    /// A lookup under the writers' lock found no secret: create one.
    Absent,
    /// A lookup under the writers' lock found it in this item.
    At(String),
}

impl Known {
    /// What the lookup that gave `found` tells a writer.
    pub(crate) fn from_found(found: &Found) -> Known {
        match (&found.secret, &found.item) {
            (Some(_), Some(item)) => Known::At(item.clone()),
            (Some(_), None) => Known::Nothing,
            (None, _) => Known::Absent,
        }
    }
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
