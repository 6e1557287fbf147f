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
/// 30 s: tests/load.rs (50 writers on a 2-core machine, each keyring write a
/// few D-Bus calls under the lock) saw 10 s run out; docker waits for us anyway.
const LOCK_WAIT: Duration = Duration::from_secs(30);

/// Lock file of the writers' turnstile, next to the index (see `gate_path`).
const GATE_FILE: &str = "store.gate.lock";

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

/// One credential for [`Credentials::put_all`].
#[derive(Debug, Clone, Copy)]
pub struct Put<'a> {
    pub key: &'a ServerKey,
    pub credential: &'a Credential,
    /// `Some` replaces the record's email (`Some(None)` clears it); `None` keeps it.
    pub email: Option<&'a Option<String>>,
}

/// A keyring write of [`Credentials::put_all`], with what to put back if the batch fails.
struct Written {
    key: String,
    kind: StoreKind,
    previous: Option<Record>,
    old_secret: Option<Secret>,
}

/// Puts back what a failed batch wrote to keyrings: the old secret where the
/// same keyring held one, else removes the new item. The file store needs
/// nothing: its secrets live in the index, which was not saved.
fn undo_keyring_writes(written: &[Written]) {
    for w in written.iter().rev().filter(|w| w.kind != StoreKind::File) {
        let restored = match (&w.previous, &w.old_secret) {
            (Some(prev), Some(old)) if prev.store == w.kind => {
                let label = format!("docker-credential-keyring: {}", prev.server_url);
                backend::set(w.kind, &w.key, &label, old)
            }
            _ => backend::delete(w.kind, &w.key).map(|_| ()),
        };
        if let Err(undo) = restored {
            crate::debug!(
                "could not undo the {} write for {}: {undo:#}",
                w.kind,
                w.key
            );
        }
    }
}

/// The keyring removals of one [`Credentials::update_removing`], with what to
/// put back if it fails.
#[derive(Default)]
pub(crate) struct Removals {
    undo: Vec<Written>,
}

impl Removals {
    /// Removes the credential under the index key `key` from `db`, and its
    /// secret from the keyring that holds it (read first, to put back if the
    /// transaction fails). Returns whether there was one.
    pub(crate) fn delete_in(&mut self, db: &mut Database, key: &str) -> Result<bool> {
        let Some(record) = db.credentials.remove(key) else {
            return Ok(false);
        };
        if record.store != StoreKind::File {
            let kind = record.store;
            let erase = || -> Result<Option<Secret>, BackendError> {
                let old_secret = backend::get(kind, key)?;
                backend::delete(kind, key)?;
                Ok(old_secret)
            };
            let old_secret =
                erase().with_context(|| format!("cannot erase the credential for {key}"))?;
            self.undo.push(Written {
                key: key.to_owned(),
                kind,
                previous: Some(record),
                old_secret,
            });
        }
        Ok(true)
    }
}

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

    /// The turnstile in front of the lock: flock grants a shared lock even
    /// while a writer waits, so keyring readers (see [`get_in`](Self::get_in))
    /// arriving back to back could starve writers. A writer holds the gate
    /// while it waits for the lock, which stops new readers; readers hold it
    /// (shared) only while they take their shared lock.
    fn gate_path(&self) -> PathBuf {
        self.dir.join(GATE_FILE)
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
        self.update_removing(|db, _| change(db))
    }

    /// [`update`](Self::update) for changes that also remove credentials
    /// ([`Removals::delete_in`]): one lock and one index save however many go
    /// (`logout --all`), and if `change` or the save fails, the keyring
    /// secrets already removed are put back and the index is not changed.
    pub(crate) fn update_removing<T>(
        &self,
        change: impl FnOnce(&mut Database, &mut Removals) -> Result<T>,
    ) -> Result<T> {
        let _lock = self.lock()?;
        let mut db = self.load()?;
        let before = db.clone();
        let mut removals = Removals::default();
        let out = change(&mut db, &mut removals).and_then(|out| {
            if db != before {
                db.save(&self.db_path())?;
            }
            Ok(out)
        });
        if out.is_err() {
            undo_keyring_writes(&removals.undo);
        }
        out
    }

    /// Takes the writers' lock (creating the private directory) and sweeps
    /// temporary files a killed writer left.
    fn lock(&self) -> Result<crate::fsutil::LockGuard> {
        crate::fsutil::ensure_private_dir(&self.dir)?;
        let gate = crate::fsutil::lock_exclusive(&self.gate_path(), LOCK_WAIT)?;
        let lock = crate::fsutil::lock_exclusive(&self.lock_path(), LOCK_WAIT)?;
        drop(gate);
        crate::fsutil::remove_stale_temps(&self.db_path());
        Ok(lock)
    }

    /// The readers' shared lock (through the writers' gate): held, no writer
    /// is between its keyring write and its index save.
    fn read_lock(&self) -> Result<crate::fsutil::LockGuard> {
        let gate = crate::fsutil::lock_shared(&self.gate_path(), LOCK_WAIT)?;
        let lock = crate::fsutil::lock_shared(&self.lock_path(), LOCK_WAIT)?;
        drop(gate);
        Ok(lock)
    }

    /// The credential stored under `key`, `None` when there is none.
    /// Reads only that record from the index ([`db::find_record`]): `get` is the hot path.
    pub fn get(&self, key: &ServerKey) -> Result<Option<Credential>> {
        match db::find_record(&self.db_path(), key.as_str())? {
            Some(record) => self.credential_of(record, key.as_str()),
            None => Ok(None),
        }
    }

    /// The credential stored under the index key `key` of an already loaded
    /// index (callers that resolve pairs read the index once).
    pub fn get_in(&self, db: &Database, key: &str) -> Result<Option<Credential>> {
        match db.credentials.get(key) {
            Some(record) => self.credential_of(record.clone(), key),
            None => Ok(None),
        }
    }

    /// Completes an index record with its secret from the store that holds it.
    ///
    /// A file-store record is complete as read, lock-free (its username and
    /// secret change together in one atomic file replace). A keyring record's
    /// username is in the index and its secret in the keyring, and `put`
    /// writes the secret first: read lock-free, a `get` racing another
    /// helper's `store` could return the old username with the new secret. So
    /// for those only, take the writers' lock shared, re-read the record under
    /// it, then read the secret.
    fn credential_of(&self, record: Record, key: &str) -> Result<Option<Credential>> {
        if record.store == StoreKind::File {
            return Ok(file_credential(&record));
        }
        let _lock = self.read_lock()?;
        let Some(record) = db::find_record(&self.db_path(), key)? else {
            return Ok(None);
        };
        if record.store == StoreKind::File {
            return Ok(file_credential(&record));
        }
        let kind = record.store;
        let Some(secret) = backend::get(kind, key)? else {
            crate::debug!("index lists {key} in {kind} but the keyring has no secret");
            return Ok(None);
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
        let kinds = self.put_all(&[Put {
            key,
            credential,
            email: None,
        }])?;
        Ok(kinds[0])
    }

    /// Stores several credentials at once, all or nothing: one lock, one index
    /// save (so importing thousands costs one file write, not thousands). If
    /// any keyring write or the save fails, the keyring secrets already written
    /// are put back as they were and the index is not changed.
    pub fn put_all(&self, puts: &[Put<'_>]) -> Result<Vec<StoreKind>> {
        // One rule for every writer (protocol `store`, `login`, `import`): a
        // control character in a username would corrupt `ls` output and terminals.
        if let Some(bad) = puts
            .iter()
            .find(|p| p.credential.username.chars().any(char::is_control))
        {
            anyhow::bail!(
                "invalid username for {}: it contains control characters",
                bad.key
            );
        }
        // The keyring is reached under the lock on purpose: 50 helpers opening
        // Secret Service sessions at once overloaded gnome-keyring past the
        // call bound in tests/load.rs; serialised, they wait for the lock instead.
        let _lock = self.lock()?;
        let mut db = self.load()?;
        let mut written: Vec<Written> = Vec::with_capacity(puts.len());
        for put in puts {
            let key = put.key;
            let previous = db.credentials.get(key.as_str()).cloned();
            // The keyring secret this store overwrites, kept to put back if a
            // later step fails (full disk): a failed store changes nothing.
            let old_secret = match &previous {
                Some(prev) if prev.store != StoreKind::File => {
                    match backend::get(prev.store, key.as_str())
                        .with_context(|| format!("cannot store the credential for {key}"))
                    {
                        Ok(secret) => secret,
                        Err(err) => {
                            undo_keyring_writes(&written);
                            return Err(err);
                        }
                    }
                }
                _ => None,
            };
            let kind = match self.write_secret(key, put.credential) {
                Ok(kind) => kind,
                Err(err) => {
                    undo_keyring_writes(&written);
                    return Err(err);
                }
            };
            let mut record = previous.clone().unwrap_or_default();
            record.server_url = put.credential.server_url.clone();
            record.username = put.credential.username.clone();
            record.store = kind;
            record.secret = (kind == StoreKind::File).then(|| put.credential.secret.clone());
            if let Some(email) = put.email {
                record.email = email.clone();
            }
            db.credentials.insert(key.as_str().to_owned(), record);
            written.push(Written {
                key: key.as_str().to_owned(),
                kind,
                previous,
                old_secret,
            });
        }
        if let Err(err) = db.save(&self.db_path()) {
            undo_keyring_writes(&written);
            return Err(err);
        }
        for w in &written {
            if let Some(prev) = &w.previous {
                if prev.store != w.kind && prev.store != StoreKind::File {
                    // The secret moved stores: do not leave a stale copy behind.
                    if let Err(err) = backend::delete(prev.store, &w.key) {
                        crate::debug!(
                            "could not remove old copy of {} from {}: {err:#}",
                            w.key,
                            prev.store
                        );
                    }
                }
            }
        }
        Ok(written.iter().map(|w| w.kind).collect())
    }

    /// Writes the secret to the chosen keyring store (the file store's secret
    /// goes into the index instead); under `auto` uses the file store only
    /// when there is no keyring at all ([`choice::auto_fallback`]).
    fn write_secret(&self, key: &ServerKey, credential: &Credential) -> Result<StoreKind> {
        let (kind, auto) = match self.choice {
            StoreChoice::Fixed(kind) => (kind, false),
            StoreChoice::Auto => match choice::auto_candidate() {
                Some(kind) => (kind, true),
                None => (StoreKind::File, false),
            },
        };
        if kind == StoreKind::File {
            return Ok(kind);
        }
        let label = format!("docker-credential-keyring: {}", credential.server_url);
        let written = match backend::set(kind, key.as_str(), &label, &credential.secret) {
            Ok(()) => Ok(kind),
            Err(err) if auto => choice::auto_fallback(err).inspect(|_| {
                crate::debug!("auto: no {kind} here; using the file store");
            }),
            Err(err) => Err(err),
        };
        written.with_context(|| format!("cannot store the credential for {key}"))
    }

    /// Removes the credential under `key`. Returns whether there was one.
    pub fn delete(&self, key: &ServerKey) -> Result<bool> {
        self.update_removing(|db, removals| removals.delete_in(db, key.as_str()))
    }

    /// The index's bytes for `list`, the hot path: [`db::IndexBytes::listed`]
    /// borrows every line from them. No keyring call, no secret.
    pub fn list_index(&self) -> Result<db::IndexBytes> {
        db::IndexBytes::read(&self.db_path())
    }

    /// Every stored credential's key, ServerURL spelling, username and store.
    /// Reads only the index: no keyring call, no secret.
    pub fn list(&self) -> Result<Vec<Listed>> {
        Ok(Self::listed(self.index_view()?))
    }

    /// The index without secrets (credential metadata and pairs), one file read.
    pub fn index_view(&self) -> Result<db::IndexView> {
        db::read_index_view(&self.db_path())
    }

    /// The credentials of an index view, as [`list`](Self::list) reports them.
    pub fn listed(view: db::IndexView) -> Vec<Listed> {
        view.credentials
            .into_iter()
            .map(|(key, meta)| Listed {
                key,
                server_url: meta.server_url,
                username: meta.username,
                store: meta.store,
            })
            .collect()
    }
}

/// The credential of a file-store record (its secret is in the index).
fn file_credential(record: &Record) -> Option<Credential> {
    Some(Credential {
        server_url: record.server_url.clone(),
        username: record.username.clone(),
        secret: record.secret.clone()?,
    })
}
