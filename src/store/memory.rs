//! An in-memory [`SecretStore`] for unit tests, standing in for a keyring:
//! the protocol and the transactions of [`Credentials`](super::Credentials)
//! (locks, undo) are tested on it without a desktop keyring. The integration
//! tests run the real stores through the built binary.

use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};

use super::backend::BackendError;
use super::secrets::SecretStore;
use super::StoreKind;
use crate::secret::Secret;

/// Secrets in a map, recorded in the index as the keyring of `kind`.
pub(crate) struct MemoryStore {
    kind: StoreKind,
    secrets: Mutex<BTreeMap<String, Secret>>,
    /// A key whose `set` fails, to test what a failed write leaves behind.
    failing: Mutex<Option<String>>,
}

impl MemoryStore {
    /// An empty store standing in for the keyring of `kind` (not the file store).
    pub(crate) fn new(kind: StoreKind) -> Self {
        assert!(kind != StoreKind::File, "the file store is not a keyring");
        MemoryStore {
            kind,
            secrets: Mutex::new(BTreeMap::new()),
            failing: Mutex::new(None),
        }
    }

    /// Makes every later `set` of `key` fail (`None`: none fails).
    pub(crate) fn fail_set_of(&self, key: Option<&str>) {
        *self.failing.lock().unwrap_or_else(PoisonError::into_inner) = key.map(str::to_owned);
    }

    /// The keyring kind it stands in for.
    pub(crate) fn kind(&self) -> StoreKind {
        self.kind
    }

    /// The keys that hold a secret, sorted.
    pub(crate) fn keys(&self) -> Vec<String> {
        self.map().keys().cloned().collect()
    }

    fn map(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Secret>> {
        self.secrets.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Names the kind and how many secrets it holds, never a secret.
impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryStore")
            .field("kind", &self.kind)
            .field("secrets", &self.map().len())
            .finish()
    }
}

impl SecretStore for MemoryStore {
    fn get(&self, key: &str) -> Result<Option<Secret>, BackendError> {
        Ok(self.map().get(key).cloned())
    }

    fn set(&self, key: &str, _label: &str, secret: &Secret) -> Result<(), BackendError> {
        let failing = self.failing.lock().unwrap_or_else(PoisonError::into_inner);
        if failing.as_deref() == Some(key) {
            return Err(BackendError::Failed {
                kind: self.kind,
                reason: "refused by the test".to_owned(),
            });
        }
        self.map().insert(key.to_owned(), secret.clone());
        Ok(())
    }

    fn delete(&self, key: &str) -> Result<bool, BackendError> {
        Ok(self.map().remove(key).is_some())
    }
}
