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
//! protocol and the human commands use. It owns the index, the locks and the
//! undo of a failed batch; where a secret lives is behind the
//! [`SecretStore`] seam (the keyrings, the file store, an in-memory store).

pub(crate) mod backend;
pub(crate) mod choice;
pub(crate) mod chunked;
pub(crate) mod db;
pub(crate) mod file;
#[cfg(test)]
pub(crate) mod memory;
#[cfg(target_os = "linux")]
pub(crate) mod secret_service;
pub(crate) mod secrets;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};

pub(crate) use backend::{BackendError, TIMEOUT_ENV};
pub(crate) use choice::{StoreChoice, StoreKind, STORE_ENV};
pub(crate) use db::{AuthCredential, Database, Record};
#[cfg(test)]
pub(crate) use memory::MemoryStore;
pub(crate) use secrets::SecretStore;
use secrets::{Found, Known};

use crate::registry::ServerKey;
use crate::secret::Secret;

/// How long a writer waits for another helper's lock before giving up (retryable).
/// 30 s: tests/it/load.rs (50 writers on a 2-core machine, each keyring write a
/// few D-Bus calls under the lock) saw 10 s run out; docker waits for us anyway.
const LOCK_WAIT: Duration = Duration::from_secs(30);

/// Lock file of the writers' turnstile, next to the index (see `gate_path`).
const GATE_FILE: &str = "store.gate.lock";

/// A full credential as the protocol moves it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Credential {
    /// The spelling the client used (`list` reports it back).
    pub(crate) server_url: String,
    pub(crate) username: String,
    pub(crate) secret: Secret,
}

pub(crate) use crate::registry::IDENTITY_TOKEN_USER;

/// One credential for [`Credentials::put_all`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Put<'a> {
    pub(crate) key: &'a ServerKey,
    pub(crate) credential: &'a Credential,
    /// `Some` replaces the record's email (`Some(None)` clears it); `None` keeps it.
    pub(crate) email: Option<&'a Option<String>>,
}

/// The rules every writer meets (protocol `store`, `login`, `import`,
/// `migrate`), checked before anything is locked or written: the server URL
/// and username within the lengths this helper stores, and no control
/// character in a username (it would corrupt `ls` output and terminals).
fn check_put(put: &Put<'_>) -> Result<()> {
    crate::registry::check_server_url_length(&put.credential.server_url)?;
    crate::registry::check_server_url_length(put.key.as_str())?;
    let username = &put.credential.username;
    crate::registry::check_username_length(username)
        .map_err(|e| anyhow::anyhow!("{}: {e}", put.key))?;
    if username.chars().any(char::is_control) {
        anyhow::bail!(
            "invalid username for {}: it contains control characters",
            put.key
        );
    }
    Ok(())
}

/// A secret-store write of [`Credentials::put_all`] (or removal of
/// [`Removals::delete_in`]), with what to put back if the batch fails.
struct Written {
    key: String,
    kind: StoreKind,
    previous: Option<Record>,
    old_secret: Option<Secret>,
}

/// The secret-store removals of one [`Credentials::update_removing`], with
/// what to put back if it fails.
pub(crate) struct Removals<'s> {
    store: &'s Credentials,
    undo: Vec<Written>,
}

impl Removals<'_> {
    /// Removes the credential under the index key `key` from `db`, and its
    /// secret from the store that holds it (read first, to put back if the
    /// transaction fails). Returns whether there was one.
    pub(crate) fn delete_in(&mut self, db: &mut Database, key: &str) -> Result<bool> {
        let Some(record) = db.credentials.remove(key) else {
            return Ok(false);
        };
        let secrets = self.store.secrets(record.store);
        let erase = || -> Result<Option<Secret>, BackendError> {
            let old = BackendError::unless_corrupt(secrets.get_at(key, record.item.as_deref()))?;
            secrets.delete(key)?;
            Ok(old.secret)
        };
        let old_secret =
            erase().with_context(|| format!("cannot erase the credential for {key}"))?;
        self.undo.push(Written {
            key: key.to_owned(),
            kind: record.store,
            previous: Some(record),
            old_secret,
        });
        Ok(true)
    }
}

/// One line of `list`: no secret in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Listed {
    pub(crate) key: String,
    pub(crate) server_url: String,
    pub(crate) username: String,
    pub(crate) store: StoreKind,
}

/// The credential store: the index file plus the secret stores it points to.
#[derive(Debug, Clone)]
pub(crate) struct Credentials {
    dir: PathBuf,
    choice: StoreChoice,
    /// A store standing in for the keyring of its kind in unit tests
    /// ([`MemoryStore`], or one wrapped as that keyring is); `None`: the
    /// real ones.
    #[cfg(test)]
    stand_in: Option<StandIn>,
}

/// A unit test's store standing in for the keyring of `kind`.
#[cfg(test)]
#[derive(Clone, Copy)]
struct StandIn {
    kind: StoreKind,
    secrets: &'static dyn SecretStore,
}

#[cfg(test)]
impl std::fmt::Debug for StandIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "StandIn({})", self.kind)
    }
}

impl Credentials {
    /// Opens the store configured for this user (env var, then config file, then `auto`).
    /// Touches no keyring and reads no secret.
    pub(crate) fn open() -> Result<Self> {
        let choice = StoreChoice::configured()?;
        Ok(Credentials::at(crate::paths::data_dir()?, choice))
    }

    /// Opens a store in an explicit directory with an explicit choice (tests, tools).
    pub(crate) fn at(dir: PathBuf, choice: StoreChoice) -> Self {
        Credentials {
            dir,
            choice,
            #[cfg(test)]
            stand_in: None,
        }
    }

    /// Opens a store in `dir` whose secrets go to `secrets` (a leaked
    /// [`MemoryStore`]), standing in for the keyring of its kind.
    #[cfg(test)]
    pub(crate) fn with_secret_store(dir: PathBuf, secrets: &'static MemoryStore) -> Self {
        Credentials::with_stand_in(dir, secrets.kind(), secrets)
    }

    /// Opens a store in `dir` whose secrets of `kind` go to `secrets`.
    #[cfg(test)]
    pub(crate) fn with_stand_in(
        dir: PathBuf,
        kind: StoreKind,
        secrets: &'static dyn SecretStore,
    ) -> Self {
        Credentials {
            dir,
            choice: StoreChoice::Fixed(kind),
            stand_in: Some(StandIn { kind, secrets }),
        }
    }

    /// The store that keeps secrets of `kind`. Not inlined: a dozen call
    /// sites each carrying the match grew the release binary.
    #[inline(never)]
    fn secrets(&self, kind: StoreKind) -> &'static dyn SecretStore {
        #[cfg(test)]
        if let Some(stand_in) = self.stand_in.filter(|s| s.kind == kind) {
            return stand_in.secrets;
        }
        secrets::of_kind(kind)
    }

    /// Puts back what a failed batch wrote: the old secret where the same
    /// store held one, else removes the new one. Nothing for the file store:
    /// its secrets live in the index, which was not saved.
    fn undo(&self, written: &[Written]) {
        for w in written.iter().rev() {
            let secrets = self.secrets(w.kind);
            let restored = match (&w.previous, &w.old_secret) {
                (Some(prev), Some(old)) if prev.store == w.kind => {
                    secrets.set(&w.key, &secrets::label(&prev.server_url), old)
                }
                _ => secrets.delete(&w.key).map(|_| ()),
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

    pub(crate) fn dir(&self) -> &std::path::Path {
        &self.dir
    }

    /// Path of the index/file-store file.
    pub(crate) fn db_path(&self) -> PathBuf {
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

    /// Reads the whole index (a consistent snapshot: writers replace it atomically).
    pub(crate) fn load(&self) -> Result<Database> {
        Database::load(&self.db_path())
    }

    /// Runs `change` on the index under the exclusive lock and saves the result
    /// if it returns Ok. Either every change lands or none does.
    pub(crate) fn update<T>(&self, change: impl FnOnce(&mut Database) -> Result<T>) -> Result<T> {
        self.update_removing(|db, _| change(db))
    }

    /// [`update`](Self::update) for changes that also remove credentials
    /// ([`Removals::delete_in`]): one lock and one index save however many go
    /// (`logout --all`), and if `change` or the save fails, the keyring
    /// secrets already removed are put back and the index is not changed.
    pub(crate) fn update_removing<T>(
        &self,
        change: impl FnOnce(&mut Database, &mut Removals<'_>) -> Result<T>,
    ) -> Result<T> {
        let _lock = self.lock()?;
        let mut db = self.load()?;
        let before = db.clone();
        let mut removals = Removals {
            store: self,
            undo: Vec::new(),
        };
        let out = change(&mut db, &mut removals).and_then(|out| {
            if db != before {
                db.save(&self.db_path())?;
            }
            Ok(out)
        });
        if out.is_err() {
            self.undo(&removals.undo);
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
    pub(crate) fn get(&self, key: &ServerKey) -> Result<Option<Credential>> {
        match db::find_record_pinned(&self.db_path(), key.as_str())? {
            (Some(record), pinned) => self.credential_of(record, key.as_str(), pinned),
            (None, _) => Ok(None),
        }
    }

    /// The credential stored under the index key `key` of an already loaded
    /// index (callers that resolve pairs read the index once).
    pub(crate) fn get_in(&self, db: &Database, key: &str) -> Result<Option<Credential>> {
        match db.credentials.get(key) {
            Some(record) => self.credential_of(record.clone(), key, None),
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
    /// it (unless the index read, `pinned`, is still the file on disk: no
    /// writer came between), then read the secret.
    fn credential_of(
        &self,
        record: Record,
        key: &str,
        pinned: Option<db::Pinned>,
    ) -> Result<Option<Credential>> {
        if self.secrets(record.store).in_index() {
            return Ok(in_index_credential(&record));
        }
        let lock = self.read_lock()?;
        let unchanged = pinned.is_some_and(|pinned| pinned.still_current(&self.db_path()));
        let record = if unchanged {
            record
        } else {
            match db::find_record(&self.db_path(), key)? {
                Some(record) => record,
                None => return Ok(None),
            }
        };
        let secrets = self.secrets(record.store);
        if secrets.in_index() {
            return Ok(in_index_credential(&record));
        }
        let found = secrets.get_at(key, record.item.as_deref())?;
        drop(lock);
        let Some(secret) = found.secret else {
            let kind = record.store;
            crate::debug!("index lists {key} in {kind} but the keyring has no secret");
            return Ok(None);
        };
        if found.item.is_some() && found.item != record.item {
            self.remember_item(key, &record, found.item);
        }
        Ok(Some(Credential {
            server_url: record.server_url,
            username: record.username,
            secret,
        }))
    }

    /// Keeps in the index the item where a lookup found `key`'s secret when
    /// the index named another one or none (a record written before items
    /// were kept, or an item another client replaced), so the next `get`
    /// reads it directly. Best effort and never waited for: skipped when a
    /// writer holds the lock or the record changed since it was read (that
    /// writer records the item itself); the next lookup tries again.
    fn remember_item(&self, key: &str, seen: &Record, item: Option<String>) {
        let remembered = || -> Result<bool> {
            let Some(_lock) = crate::fsutil::try_lock_exclusive(&self.lock_path())? else {
                return Ok(false);
            };
            let mut db = self.load()?;
            match db.credentials.get_mut(key) {
                Some(record) if record.store == seen.store && record.item == seen.item => {
                    record.item = item;
                    db.save(&self.db_path())?;
                    Ok(true)
                }
                _ => Ok(false),
            }
        };
        match remembered() {
            Ok(true) => crate::debug!("recorded where the keyring keeps {key}"),
            Ok(false) => crate::debug!("left recording where the keyring keeps {key} for later"),
            Err(err) => crate::debug!("could not record where the keyring keeps {key}: {err:#}"),
        }
    }

    /// Stores `credential` under `key`, replacing any earlier one. Returns the
    /// store that now holds the secret.
    pub(crate) fn put(&self, key: &ServerKey, credential: &Credential) -> Result<StoreKind> {
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
    pub(crate) fn put_all(&self, puts: &[Put<'_>]) -> Result<Vec<StoreKind>> {
        Ok(self.put_all_with(puts, |_, _| Ok(()))?.0)
    }

    /// [`put_all`](Self::put_all), plus `change` to the index in the same
    /// transaction (under the lock, on the index as it was before the batch;
    /// it may remove credentials through [`Removals::delete_in`]): `login`
    /// records a pair with its credentials this way, and drops what a
    /// replaced pair owned. If `change`, a write or the save fails, nothing
    /// is stored and nothing removed.
    pub(crate) fn put_all_with<T>(
        &self,
        puts: &[Put<'_>],
        change: impl FnOnce(&mut Database, &mut Removals<'_>) -> Result<T>,
    ) -> Result<(Vec<StoreKind>, T)> {
        puts.iter().try_for_each(check_put)?;
        // The keyring is reached under the lock on purpose: 50 helpers opening
        // Secret Service sessions at once overloaded gnome-keyring past the
        // call bound in tests/it/load.rs; serialised, they wait for the lock instead.
        let _lock = self.lock()?;
        let mut db = self.load()?;
        let mut removals = Removals {
            store: self,
            undo: Vec::new(),
        };
        // The change sees the index as it was before the batch (a pair is
        // planned against the credentials already there, not the ones it brings).
        let changed = match change(&mut db, &mut removals) {
            Ok(changed) => changed,
            Err(err) => {
                self.undo(&removals.undo);
                return Err(err);
            }
        };
        let mut written: Vec<Written> = Vec::with_capacity(puts.len());
        let stored = puts
            .iter()
            .try_for_each(|put| self.put_in(&mut db, put, &mut written))
            .and_then(|()| db.save(&self.db_path()));
        if let Err(err) = stored {
            self.undo(&written);
            self.undo(&removals.undo);
            return Err(err);
        }
        for w in &written {
            if let Some(prev) = &w.previous {
                if prev.store != w.kind {
                    // The secret moved stores: do not leave a stale copy behind.
                    if let Err(err) = self.secrets(prev.store).delete(&w.key) {
                        crate::debug!(
                            "could not remove old copy of {} from {}: {err:#}",
                            w.key,
                            prev.store
                        );
                    }
                }
            }
        }
        Ok((written.iter().map(|w| w.kind).collect(), changed))
    }

    /// One credential of [`put_all_with`](Self::put_all_with)'s batch: its
    /// secret written (the old one kept in `written` to put back), its record
    /// in `db`.
    fn put_in(&self, db: &mut Database, put: &Put<'_>, written: &mut Vec<Written>) -> Result<()> {
        let key = put.key;
        let previous = db.credentials.get(key.as_str()).cloned();
        // The keyring secret this store overwrites, kept to put back if a
        // later step fails (full disk): a failed store changes nothing. The
        // lookup also tells the write where that secret is.
        let old = match &previous {
            Some(prev) => BackendError::unless_corrupt(
                self.secrets(prev.store)
                    .get_at(key.as_str(), prev.item.as_deref()),
            )
            .with_context(|| format!("cannot store the credential for {key}"))?,
            None => Found::default(),
        };
        let known = match &previous {
            Some(prev) => (prev.store, Known::from_found(&old)),
            None => (StoreKind::File, Known::Nothing),
        };
        let (kind, item) = self.write_secret(key, put.credential, known)?;
        let mut record = previous.clone().unwrap_or_default();
        record.server_url = put.credential.server_url.clone();
        record.username = put.credential.username.clone();
        record.store = kind;
        record.item = item;
        record.secret = self
            .secrets(kind)
            .in_index()
            .then(|| put.credential.secret.clone());
        if let Some(email) = put.email {
            record.email = email.clone();
        }
        db.credentials.insert(key.as_str().to_owned(), record);
        written.push(Written {
            key: key.as_str().to_owned(),
            kind,
            previous,
            old_secret: old.secret,
        });
        Ok(())
    }

    /// Writes the secret to the chosen store (the file store's goes into the
    /// index record instead, see [`SecretStore::in_index`]); under `auto` uses
    /// the file store only when there is no keyring at all
    /// ([`choice::auto_fallback`]). `known` is what a lookup in the store
    /// holding the old secret found (used when that is the chosen store).
    /// Returns the store written and the item it keeps the secret in.
    fn write_secret(
        &self,
        key: &ServerKey,
        credential: &Credential,
        known: (StoreKind, Known),
    ) -> Result<(StoreKind, Option<String>)> {
        let (kind, auto) = match self.choice {
            StoreChoice::Fixed(kind) => (kind, false),
            StoreChoice::Auto => match choice::auto_candidate() {
                Some(kind) => (kind, true),
                None => (StoreKind::File, false),
            },
        };
        let (old_store, known) = known;
        let known = if old_store == kind {
            known
        } else {
            Known::Nothing
        };
        let label = secrets::label(&credential.server_url);
        let written =
            match self
                .secrets(kind)
                .set_at(key.as_str(), &label, &credential.secret, known)
            {
                Ok(item) => Ok((kind, item)),
                Err(err) if auto => choice::auto_fallback(err).map(|kind| {
                    crate::debug!("auto: no {kind} here; using the file store");
                    (kind, None)
                }),
                Err(err) => Err(err),
            };
        written.with_context(|| format!("cannot store the credential for {key}"))
    }

    /// Removes the credential under `key`. Returns whether there was one.
    pub(crate) fn delete(&self, key: &ServerKey) -> Result<bool> {
        self.update_removing(|db, removals| removals.delete_in(db, key.as_str()))
    }

    /// The index's bytes for `list`, the hot path: [`db::IndexBytes::listed`]
    /// borrows every line from them. No keyring call, no secret.
    pub(crate) fn list_index(&self) -> Result<db::IndexBytes> {
        db::IndexBytes::read(&self.db_path())
    }

    /// Every stored credential's key, ServerURL spelling, username and store.
    /// Reads only the index: no keyring call, no secret.
    pub(crate) fn list(&self) -> Result<Vec<Listed>> {
        Ok(Self::listed(self.index_view()?))
    }

    /// The index without secrets (credential metadata and pairs), one file read.
    pub(crate) fn index_view(&self) -> Result<db::IndexView> {
        db::read_index_view(&self.db_path())
    }

    /// The credentials of an index view, as [`list`](Self::list) reports them.
    pub(crate) fn listed(view: db::IndexView) -> Vec<Listed> {
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

/// The credential of a record that holds its own secret (the file store's).
fn in_index_credential(record: &Record) -> Option<Credential> {
    Some(Credential {
        server_url: record.server_url.clone(),
        username: record.username.clone(),
        secret: record.secret.clone()?,
    })
}

/// A store for unit tests: the index in a temporary directory, the secrets
/// in a [`MemoryStore`] standing in for the Secret Service.
#[cfg(test)]
pub(crate) fn memory_store() -> (tempfile::TempDir, &'static MemoryStore, Credentials) {
    let dir = tempfile::tempdir().unwrap();
    let secrets = Box::leak(Box::new(MemoryStore::new(StoreKind::SecretService)));
    let store = Credentials::with_secret_store(dir.path().to_path_buf(), secrets);
    (dir, secrets, store)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn credential(user: &str, secret: &str) -> Credential {
        Credential {
            server_url: format!("{user}.example"),
            username: user.to_owned(),
            secret: Secret::from(secret),
        }
    }

    fn key(s: &str) -> ServerKey {
        ServerKey::parse(s).unwrap()
    }

    #[test]
    fn a_failed_batch_puts_back_every_secret_it_wrote_and_saves_no_index() {
        let (_dir, secrets, store) = memory_store();
        let (a, b, c) = (key("a.example"), key("b.example"), key("c.example"));
        store.put(&a, &credential("a", "old-a")).unwrap();
        secrets.fail_set_of(Some("c.example"));
        let (new_a, new_b, new_c) = (
            credential("a", "new-a"),
            credential("b", "new-b"),
            credential("c", "new-c"),
        );
        let puts = [(&a, &new_a), (&b, &new_b), (&c, &new_c)].map(|(key, credential)| Put {
            key,
            credential,
            email: None,
        });
        let err = format!("{:#}", store.put_all(&puts).unwrap_err());
        assert!(
            err.contains("cannot store the credential for c.example"),
            "{err}"
        );
        assert!(!err.contains("new-"), "{err}");
        // a's old secret is back, b's new one is gone, the index is unchanged.
        assert_eq!(secrets.keys(), ["a.example"]);
        assert_eq!(store.get(&a).unwrap(), Some(credential("a", "old-a")));
        assert_eq!(store.list().unwrap().len(), 1);
    }

    /// Every writer meets the length limits: a batch with one entry over
    /// them stores nothing, the good entries included.
    /// The index keeps the item each keyring secret is in: a `get` reads it
    /// directly and writes nothing; an overwrite tells the store where the
    /// old secret is; a secret moved behind our back is found by the
    /// store's search and the index records its new item, once.
    #[test]
    fn the_index_keeps_each_secrets_item_and_repairs_a_stale_one_once() {
        let (_dir, secrets, store) = memory_store();
        let a = key("a.example");
        store.put(&a, &credential("a", "s1")).unwrap();
        let item = store.load().unwrap().credentials["a.example"].item.clone();
        assert_eq!(item.as_deref(), Some("mem/1"));
        let bytes = std::fs::read(store.db_path()).unwrap();
        assert_eq!(store.get(&a).unwrap(), Some(credential("a", "s1")));
        assert_eq!(secrets.items().direct, 1);
        assert_eq!(
            std::fs::read(store.db_path()).unwrap(),
            bytes,
            "a get wrote"
        );

        store.put(&a, &credential("a", "s2")).unwrap();
        assert_eq!(secrets.items().last_known, Some(Known::At("mem/1".into())));
        assert_eq!(secrets.items().searched, 0);

        let moved = secrets.move_item("a.example");
        assert_eq!(store.get(&a).unwrap(), Some(credential("a", "s2")));
        assert_eq!(secrets.items().searched, 1);
        let record = &store.load().unwrap().credentials["a.example"];
        assert_eq!(record.item.as_deref(), Some(moved.as_str()));
        let bytes = std::fs::read(store.db_path()).unwrap();
        assert_eq!(store.get(&a).unwrap(), Some(credential("a", "s2")));
        assert_eq!(
            std::fs::read(store.db_path()).unwrap(),
            bytes,
            "repaired twice"
        );
        assert_eq!(secrets.items().searched, 1);
    }

    /// The repair is never waited for and never undoes a writer's work: it
    /// is skipped while a writer holds the lock, and when the record changed
    /// since the `get` read it.
    #[test]
    fn an_item_repair_leaves_the_index_to_writers() {
        let (_dir, secrets, store) = memory_store();
        let a = key("a.example");
        store.put(&a, &credential("a", "s1")).unwrap();
        let seen = store.load().unwrap().credentials["a.example"].clone();
        let moved = secrets.move_item("a.example");
        {
            let _writer = store.lock().unwrap();
            store.remember_item("a.example", &seen, Some(moved.clone()));
        }
        let kept =
            |store: &Credentials| store.load().unwrap().credentials["a.example"].item.clone();
        assert_eq!(kept(&store), seen.item, "repaired under a writer's lock");
        // A writer stored it again in the meantime: its item stands.
        store.put(&a, &credential("a", "s2")).unwrap();
        let written = kept(&store);
        assert_ne!(written, seen.item);
        store.remember_item("a.example", &seen, Some("mem/stale".into()));
        assert_eq!(kept(&store), written);
        // Unchanged since read, no writer: recorded.
        let seen = store.load().unwrap().credentials["a.example"].clone();
        let moved = secrets.move_item("a.example");
        store.remember_item("a.example", &seen, Some(moved.clone()));
        assert_eq!(kept(&store), Some(moved));
    }

    #[test]
    fn a_batch_over_the_length_limits_stores_nothing() {
        let (_dir, secrets, store) = memory_store();
        let long_url = format!(
            "a.example/{}",
            "p".repeat(crate::registry::MAX_SERVER_URL_BYTES)
        );
        let (good, long) = (key("good.example"), key(&long_url));
        let ok = credential("g", "s");
        let mut long_credential = credential("l", "s");
        long_credential.server_url = long_url.clone();
        let mut long_user = credential("u", "s");
        long_user.username = "u".repeat(crate::registry::MAX_USERNAME_BYTES + 1);
        for (bad_key, bad, needle) in [
            (&long, &long_credential, "server URL is 4106 bytes long"),
            (
                &good,
                &long_user,
                "good.example: the username is 1025 bytes long",
            ),
        ] {
            let puts = [(&good, &ok), (bad_key, bad)].map(|(key, credential)| Put {
                key,
                credential,
                email: None,
            });
            let err = format!("{:#}", store.put_all(&puts).unwrap_err());
            assert!(err.contains(needle), "{err}");
            assert!(secrets.keys().is_empty());
            assert!(store.list().unwrap().is_empty());
        }
    }

    #[test]
    fn a_failed_index_change_stores_none_of_the_batch() {
        let (_dir, secrets, store) = memory_store();
        let (a, b) = (key("a.example"), key("b.example"));
        store.put(&a, &credential("a", "old-a")).unwrap();
        let (new_a, new_b) = (credential("a", "new-a"), credential("b", "new-b"));
        let puts = [(&a, &new_a), (&b, &new_b)].map(|(key, credential)| Put {
            key,
            credential,
            email: None,
        });
        let failed = store.put_all_with(&puts, |db, _| -> Result<()> {
            // The change sees the index as it was before the batch...
            assert!(!db.credentials.contains_key("b.example"));
            anyhow::bail!("the pair cannot be recorded")
        });
        assert!(failed.is_err());
        // ...and when it fails, nothing of the batch is kept.
        assert_eq!(secrets.keys(), ["a.example"]);
        assert_eq!(store.get(&a).unwrap(), Some(credential("a", "old-a")));
        assert_eq!(store.get(&b).unwrap(), None);
        let (kinds, linked) = store
            .put_all_with(&puts, |db, _| {
                db.pairs.insert(
                    "a.example".into(),
                    db::Pair {
                        auth_server: "b.example".into(),
                        auth_credential: AuthCredential::Registry,
                        auth_username: None,
                    },
                );
                Ok("linked")
            })
            .unwrap();
        assert_eq!((kinds.len(), linked), (2, "linked"));
        assert!(store.load().unwrap().pairs.contains_key("a.example"));
    }

    #[test]
    fn a_failed_removal_puts_the_removed_secrets_back() {
        let (_dir, secrets, store) = memory_store();
        store
            .put(&key("a.example"), &credential("a", "sa"))
            .unwrap();
        store
            .put(&key("b.example"), &credential("b", "sb"))
            .unwrap();
        let failed = store.update_removing(|db, removals| -> Result<()> {
            assert!(removals.delete_in(db, "a.example")?);
            assert!(removals.delete_in(db, "b.example")?);
            assert!(!removals.delete_in(db, "c.example")?);
            anyhow::bail!("later step failed")
        });
        assert!(failed.is_err());
        assert_eq!(secrets.keys(), ["a.example", "b.example"]);
        assert_eq!(
            store.get(&key("b.example")).unwrap(),
            Some(credential("b", "sb"))
        );
        assert!(store.delete(&key("a.example")).unwrap());
        assert_eq!(secrets.keys(), ["b.example"]);
    }

    #[test]
    fn moving_a_credential_between_stores_leaves_no_stale_copy() {
        let (dir, secrets, store) = memory_store();
        let a = key("a.example");
        store.put(&a, &credential("a", "in-keyring")).unwrap();
        let file = Credentials::at(
            dir.path().to_path_buf(),
            StoreChoice::Fixed(StoreKind::File),
        );
        let file = Credentials {
            stand_in: store.stand_in,
            ..file
        };
        assert_eq!(
            file.put(&a, &credential("a", "in-file")).unwrap(),
            StoreKind::File
        );
        assert!(secrets.keys().is_empty());
        assert_eq!(store.get(&a).unwrap(), Some(credential("a", "in-file")));
        // And back: the index record no longer holds the secret.
        assert_eq!(
            store.put(&a, &credential("a", "again")).unwrap(),
            StoreKind::SecretService
        );
        assert_eq!(store.load().unwrap().credentials["a.example"].secret, None);
        assert_eq!(secrets.keys(), ["a.example"]);
    }

    /// The Windows store as this build wraps it ([`chunked::Chunked`]) over
    /// a [`MemoryStore`], under a [`Credentials`] of its own.
    fn chunked_store() -> (
        tempfile::TempDir,
        &'static chunked::Chunked<MemoryStore>,
        Credentials,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let kind = StoreKind::Windows;
        let secrets = Box::leak(Box::new(chunked::Chunked::new(
            kind,
            MemoryStore::new(kind),
        )));
        let store = Credentials::with_stand_in(dir.path().to_path_buf(), kind, secrets);
        (dir, secrets, store)
    }

    fn remove_a_part(secrets: &chunked::Chunked<MemoryStore>) {
        let keys = secrets.items().keys();
        let part = keys.iter().find(|k| k.contains("#dck-part-")).unwrap();
        assert!(secrets.items().delete(part).unwrap());
    }

    #[test]
    fn a_damaged_long_secret_is_an_error_that_store_and_erase_get_past() {
        let (_dir, secrets, store) = chunked_store();
        let a = key("ecr.example");
        store.put(&a, &credential("a", &"x".repeat(6000))).unwrap();
        assert_eq!(secrets.items().keys().len(), 1 + 3);
        remove_a_part(secrets);
        let err = format!("{:#}", store.get(&a).unwrap_err());
        assert!(err.contains("damaged secret"), "{err}");
        assert!(err.contains("part 1 of 3 is missing"), "{err}");
        assert!(!err.contains("xxx"), "{err}");
        // A store replaces it (nothing to put back)...
        let new = credential("a", &"y".repeat(9000));
        store.put(&a, &new).unwrap();
        assert_eq!(store.get(&a).unwrap(), Some(new));
        // ...and an erase removes it, every part.
        remove_a_part(secrets);
        assert!(store.delete(&a).unwrap());
        assert!(secrets.items().keys().is_empty());
        assert!(store.list().unwrap().is_empty());
    }

    #[test]
    fn a_failed_batch_puts_back_a_long_secret_and_leaves_no_part_of_the_new_one() {
        let (_dir, secrets, store) = chunked_store();
        let (a, b) = (key("a.example"), key("b.example"));
        let old = credential("a", &"o".repeat(6000));
        store.put(&a, &old).unwrap();
        let before = secrets.items().keys();
        secrets.items().fail_set_of(Some("b.example"));
        let (new_a, new_b) = (credential("a", &"n".repeat(20_000)), credential("b", "s"));
        let puts = [(&a, &new_a), (&b, &new_b)].map(|(key, credential)| Put {
            key,
            credential,
            email: None,
        });
        assert!(store.put_all(&puts).is_err());
        assert_eq!(store.get(&a).unwrap(), Some(old));
        // The old secret is back in the other slot: as many items, none new.
        assert_eq!(secrets.items().keys().len(), before.len());
        assert_eq!(store.list().unwrap().len(), 1);
    }
}
