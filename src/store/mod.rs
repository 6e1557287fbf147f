//! Where credentials live.
//!
//! One JSON file in the XDG data dir (`store.json`, 0600 in a 0700 directory)
//! is the index of every credential: its key, the ServerURL spelling the client
//! used, the username and which store holds the secret. Secrets of the embedded
//! file store live in that same file; secrets of keyring stores (Secret Service,
//! Keychain, Credential Manager) live in the keyring. So `list` reads one small
//! file and never touches a keyring or a secret, and `get` needs one keyring
//! call at most.
//!
//! [`Credentials`] is the four-method interface (get, put, delete, list) the
//! protocol and the human commands use.

pub mod backend;
pub mod choice;
pub mod db;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};

pub use backend::{BackendError, SERVICE_NAME, TIMEOUT_ENV};
pub use choice::{StoreChoice, StoreKind, STORE_ENV};
pub use db::{Database, Record};

use crate::registry::ServerKey;
use crate::secret::Secret;

/// How long a writer waits for another helper's lock before giving up (retryable).
const LOCK_WAIT: Duration = Duration::from_secs(10);

/// A full credential as the protocol moves it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    /// The spelling the client used (`list` reports it back).
    pub server_url: String,
    pub username: String,
    pub secret: Secret,
}

/// Username that marks the secret as an identity (refresh) token.
pub const IDENTITY_TOKEN_USER: &str = "<token>";

/// One line of `list`: no secret in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub key: String,
    pub server_url: String,
    pub username: String,
    pub store: StoreKind,
}

/// The credential store: the index file plus the keyring stores it points to.
#[derive(Debug, Clone)]
pub struct Credentials {
    dir: PathBuf,
    choice: StoreChoice,
}

impl Credentials {
    /// Opens the store configured for this user (env var, then config file, then `auto`).
    /// Touches no keyring and reads no secret.
    pub fn open() -> Result<Self> {
        let choice = StoreChoice::configured()?;
        Ok(Credentials {
            dir: crate::paths::data_dir()?,
            choice,
        })
    }

    /// Opens a store in an explicit directory with an explicit choice (tests, tools).
    pub fn at(dir: PathBuf, choice: StoreChoice) -> Self {
        Credentials { dir, choice }
    }

    pub fn dir(&self) -> &std::path::Path {
        &self.dir
    }

    /// Path of the index/file-store file.
    pub fn db_path(&self) -> PathBuf {
        self.dir.join(db::DB_FILE)
    }

    fn lock_path(&self) -> PathBuf {
        self.dir.join(db::LOCK_FILE)
    }

    pub fn choice(&self) -> StoreChoice {
        self.choice
    }

    /// Reads the whole index (a consistent snapshot: writers replace it atomically).
    pub fn load(&self) -> Result<Database> {
        Database::load(&self.db_path())
    }

    /// Runs `change` on the index under the exclusive lock and saves the result
    /// if it returns Ok. Either every change lands or none does.
    pub fn update<T>(&self, change: impl FnOnce(&mut Database) -> Result<T>) -> Result<T> {
        crate::fsutil::ensure_private_dir(&self.dir)?;
        let _lock = crate::fsutil::lock_exclusive(&self.lock_path(), LOCK_WAIT)?;
        let mut db = self.load()?;
        let before = db.clone();
        let out = change(&mut db)?;
        if db != before {
            db.save(&self.db_path())?;
        }
        Ok(out)
    }

    /// The credential stored under `key`, `None` when there is none.
    /// Reads only that record from the index ([`db::find_record`]): `get` is the hot path.
    pub fn get(&self, key: &ServerKey) -> Result<Option<Credential>> {
        let Some(record) = db::find_record(&self.db_path(), key.as_str())? else {
            return Ok(None);
        };
        let secret = match record.store {
            StoreKind::File => match record.secret {
                Some(secret) => secret,
                None => return Ok(None),
            },
            kind => match backend::get(kind, key.as_str())? {
                Some(secret) => secret,
                None => {
                    crate::debug!("index lists {key} in {kind} but the keyring has no secret");
                    return Ok(None);
                }
            },
        };
        Ok(Some(Credential {
            server_url: record.server_url,
            username: record.username,
            secret,
        }))
    }

    /// Stores `credential` under `key`, replacing any earlier one. Returns the
    /// store that now holds the secret.
    pub fn put(&self, key: &ServerKey, credential: &Credential) -> Result<StoreKind> {
        self.update(|db| {
            let kind = self.write_secret(key, credential)?;
            let previous = db.credentials.get(key.as_str()).cloned();
            if let Some(prev) = &previous {
                if prev.store != kind && prev.store != StoreKind::File {
                    // The secret moved stores: do not leave a stale copy behind.
                    if let Err(err) = backend::delete(prev.store, key.as_str()) {
                        crate::debug!(
                            "could not remove old copy of {key} from {}: {err:#}",
                            prev.store
                        );
                    }
                }
            }
            let mut record = previous.unwrap_or_default();
            record.server_url = credential.server_url.clone();
            record.username = credential.username.clone();
            record.store = kind;
            record.secret = (kind == StoreKind::File).then(|| credential.secret.clone());
            db.credentials.insert(key.as_str().to_owned(), record);
            Ok(kind)
        })
    }

    /// Writes the secret to the chosen keyring store (not the index); under `auto`
    /// falls back to the file store when no keyring is usable.
    fn write_secret(&self, key: &ServerKey, credential: &Credential) -> Result<StoreKind> {
        let kind = match self.choice {
            StoreChoice::Fixed(kind) => kind,
            StoreChoice::Auto => match choice::auto_candidate() {
                None => StoreKind::File,
                Some(kind) => {
                    let label = format!("docker-credential-keyring: {}", credential.server_url);
                    match backend::set(kind, key.as_str(), &label, &credential.secret) {
                        Ok(()) => return Ok(kind),
                        Err(err) => {
                            crate::debug!(
                                "auto: {kind} not usable ({err:#}); using the file store"
                            );
                            StoreKind::File
                        }
                    }
                }
            },
        };
        if kind != StoreKind::File {
            let label = format!("docker-credential-keyring: {}", credential.server_url);
            backend::set(kind, key.as_str(), &label, &credential.secret)
                .with_context(|| format!("cannot store the credential for {key}"))?;
        }
        Ok(kind)
    }

    /// Removes the credential under `key`. Returns whether there was one.
    pub fn delete(&self, key: &ServerKey) -> Result<bool> {
        self.update(|db| {
            let Some(record) = db.credentials.get(key.as_str()) else {
                return Ok(false);
            };
            if record.store != StoreKind::File {
                backend::delete(record.store, key.as_str())
                    .with_context(|| format!("cannot erase the credential for {key}"))?;
            }
            db.credentials.remove(key.as_str());
            Ok(true)
        })
    }

    /// The index's bytes for `list`, the hot path: [`db::IndexBytes::listed`]
    /// borrows every line from them. No keyring call, no secret.
    pub fn list_index(&self) -> Result<db::IndexBytes> {
        db::IndexBytes::read(&self.db_path())
    }

    /// Every stored credential's key, ServerURL spelling, username and store.
    /// Reads only the index: no keyring call, no secret.
    pub fn list(&self) -> Result<Vec<Listed>> {
        Ok(db::list_index(&self.db_path())?
            .into_iter()
            .map(|(key, meta)| Listed {
                key,
                server_url: meta.server_url,
                username: meta.username,
                store: meta.store,
            })
            .collect())
    }
}
