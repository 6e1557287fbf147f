//! An in-memory [`SecretStore`] for unit tests, standing in for a keyring:
//! the protocol and the transactions of [`Credentials`](super::Credentials)
//! (locks, undo, the item paths the index keeps) are tested on it without a
//! desktop keyring. The integration tests run the real stores through the
//! built binary.

use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};

use super::backend::BackendError;
use super::secrets::{Found, Known, SecretStore};
use super::StoreKind;
use crate::secret::Secret;

/// Secrets in a map, recorded in the index as the keyring of `kind`. Each
/// secret is kept in an item (`mem/N`), as the Secret Service keeps them.
pub(crate) struct MemoryStore {
    kind: StoreKind,
    secrets: Mutex<BTreeMap<String, Secret>>,
    items: Mutex<Items>,
    /// A key whose `set` fails, to test what a failed write leaves behind.
    failing: Mutex<Option<String>>,
}

/// Which item holds each key's secret, and how lookups found them.
#[derive(Debug, Default)]
pub(crate) struct Items {
    by_key: BTreeMap<String, String>,
    made: usize,
    /// Lookups that read the item they were told about.
    pub(crate) direct: usize,
    /// Lookups that had to search (no item named, or not this key's).
    pub(crate) searched: usize,
    /// What the last [`SecretStore::set_at`] was told.
    pub(crate) last_known: Option<Known>,
}

impl Items {
    fn new_item(&mut self, key: &str) -> String {
        self.made += 1;
        let item = format!("mem/{}", self.made);
        self.by_key.insert(key.to_owned(), item.clone());
        item
    }
}

impl MemoryStore {
    /// An empty store standing in for the keyring of `kind` (not the file store).
    pub(crate) fn new(kind: StoreKind) -> Self {
        assert!(kind != StoreKind::File, "the file store is not a keyring");
        MemoryStore {
            kind,
            secrets: Mutex::new(BTreeMap::new()),
            items: Mutex::new(Items::default()),
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

    /// The items and the lookup counts.
    pub(crate) fn items(&self) -> std::sync::MutexGuard<'_, Items> {
        self.items.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Moves `key`'s secret to a new item, as another client deleting and
    /// recreating it would; returns the new item.
    pub(crate) fn move_item(&self, key: &str) -> String {
        self.items().new_item(key)
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
        self.items().by_key.remove(key);
        Ok(self.map().remove(key).is_some())
    }

    fn get_at(&self, key: &str, item: Option<&str>) -> Result<Found, BackendError> {
        let secret = self.get(key)?;
        let mut items = self.items();
        let held = items.by_key.get(key).cloned();
        if item.is_some() && item == held.as_deref() {
            items.direct += 1;
        } else {
            items.searched += 1;
        }
        let item = secret.is_some().then_some(held).flatten();
        Ok(Found { secret, item })
    }

    fn set_at(
        &self,
        key: &str,
        label: &str,
        secret: &Secret,
        known: Known,
    ) -> Result<Option<String>, BackendError> {
        self.set(key, label, secret)?;
        let mut items = self.items();
        let item = match (&known, items.by_key.get(key)) {
            (Known::At(at), Some(held)) if at == held => held.clone(),
            (Known::Nothing, Some(held)) => held.clone(),
            _ => items.new_item(key),
        };
        items.last_known = Some(known);
        Ok(Some(item))
    }
}
