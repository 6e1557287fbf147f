//! The embedded file store as a [`SecretStore`]: its secrets live in the
//! index file itself (`store.json`, 0600 in a 0700 directory), in each
//! record's `secret` field, so they change in the same atomic file replace as
//! the rest of the record and need no call of their own.

use super::backend::BackendError;
use super::secrets::SecretStore;
use crate::secret::Secret;

/// Secrets kept in the index records (see the module header).
#[derive(Clone, Copy)]
pub(crate) struct FileStore;

impl SecretStore for FileStore {
    fn in_index(&self) -> bool {
        true
    }

    /// Nothing outside the record: the secret is read with it.
    fn get(&self, _key: &str) -> Result<Option<Secret>, BackendError> {
        Ok(None)
    }

    /// Nothing to write: the secret is saved with the index.
    fn set(&self, _key: &str, _label: &str, _secret: &Secret) -> Result<(), BackendError> {
        Ok(())
    }

    /// Nothing to remove: the secret goes with its record.
    fn delete(&self, _key: &str) -> Result<bool, BackendError> {
        Ok(false)
    }
}
